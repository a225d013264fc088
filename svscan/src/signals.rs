//! Signals into the poll loop: each caught signal bumps a counter and writes a byte to a
//! self-pipe. Counting (not flags) keeps two quick SIGUSR1s from collapsing into one toggle.
//!
//! Caught: SIGCHLD (reap, restart), SIGHUP (rescan), SIGTERM (shutdown), SIGUSR1/SIGUSR2
//! (verbose/silent toggles), and as pid 1 SIGRTMIN+3 and SIGINT (counted as SIGTERM). SIGPIPE is caught
//! with no action, so that a control FIFO whose supervise vanished gives EPIPE instead of
//! killing svscan; a caught signal is reset by exec, so children still get the default.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a caught signal means to svscan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Child = 0,
    Hup = 1,
    Term = 2,
    Usr1 = 3,
    Usr2 = 4,
}

static COUNTS: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];

pub struct Signals {
    pipe: File,
    seen: [usize; 5],
    caught: Vec<libc::c_int>,
    /// The mask svscan started with, given back to children.
    original_mask: libc::sigset_t,
}

impl Signals {
    /// Install the handlers. `pid1` adds SIGRTMIN+3 (systemd's "halt") and SIGINT as SIGTERM.
    pub fn install(pid1: bool) -> io::Result<Signals> {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        let mut caught = vec![
            libc::SIGCHLD,
            libc::SIGHUP,
            libc::SIGTERM,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ];
        let kinds = [Sig::Child, Sig::Hup, Sig::Term, Sig::Usr1, Sig::Usr2];
        let mut pairs: Vec<(libc::c_int, Sig)> = caught.iter().copied().zip(kinds).collect();
        if pid1 {
            // systemd's "halt", and ^C of `podman run -it` (pid 1 ignores an uncaught one)
            for sig in [libc::SIGRTMIN() + 3, libc::SIGINT] {
                caught.push(sig);
                pairs.push((sig, Sig::Term));
            }
        }
        for (sig, kind) in pairs {
            let counter = &COUNTS[kind as usize];
            // SAFETY: the action only does an atomic add, which is async-signal-safe.
            unsafe {
                signal_hook::low_level::register(sig, move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                })?;
            }
            signal_hook::low_level::pipe::register(sig, w.try_clone()?)?;
        }
        // SAFETY: an empty action is async-signal-safe.
        unsafe { signal_hook::low_level::register(libc::SIGPIPE, || {})? };
        caught.push(libc::SIGPIPE);
        // SAFETY: sigprocmask only reads the current mask into a set we own.
        let mut original_mask: libc::sigset_t = unsafe { std::mem::zeroed() };
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), &mut original_mask) };
        Ok(Signals {
            pipe: File::from(r),
            seen: [0; 5],
            caught,
            original_mask,
        })
    }

    /// Every signal svscan catches (children get their default actions back).
    pub fn caught(&self) -> &[libc::c_int] {
        &self.caught
    }

    /// The self-pipe, to poll on.
    pub fn fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Empty the self-pipe.
    pub fn drain(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
    }

    /// How many `kind` signals arrived since the last call.
    pub fn take(&mut self, kind: Sig) -> usize {
        let now = COUNTS[kind as usize].load(Ordering::SeqCst);
        let n = now.wrapping_sub(self.seen[kind as usize]);
        self.seen[kind as usize] = now;
        n
    }

    /// Whether `kind` arrived since the last `take`, without consuming it.
    pub fn pending(&self, kind: Sig) -> bool {
        COUNTS[kind as usize].load(Ordering::SeqCst) != self.seen[kind as usize]
    }

    /// Wait up to `timeout_ms` (-1: for ever) for a signal.
    pub fn wait(&mut self, timeout_ms: i32) {
        self.wait_also(timeout_ms, None);
    }

    /// Wait up to `timeout_ms` (-1: for ever) for a signal or for `other` to be readable.
    pub fn wait_also(&mut self, timeout_ms: i32, other: Option<RawFd>) {
        let fd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // poll(2) skips a negative descriptor.
        let mut fds = [fd(self.fd()), fd(other.unwrap_or(-1))];
        // SAFETY: two pollfds we own.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        self.drain();
    }

    /// Block every signal around a fork; returns the mask to restore in the parent.
    pub fn block_all(&self) -> libc::sigset_t {
        // SAFETY: sigfillset/sigprocmask on sets we own.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old);
            old
        }
    }

    /// Restore a mask saved by [`Signals::block_all`].
    pub fn restore(&self, old: &libc::sigset_t) {
        // SAFETY: sigprocmask with a set we own.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
    }

    /// In a forked child: default actions for everything svscan catches, then svscan's
    /// original mask, so the program exec'd starts as svscan itself did.
    pub fn reset_in_child(&self, extra_block: Option<libc::c_int>) {
        // SAFETY: signal(2) and sigprocmask(2) in the child; no memory is shared with them.
        unsafe {
            for &sig in &self.caught {
                libc::signal(sig, libc::SIG_DFL);
            }
            let mut mask = self.original_mask;
            if let Some(sig) = extra_block {
                libc::sigaddset(&mut mask, sig);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
        }
    }
}
