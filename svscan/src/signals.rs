//! Signals into the poll loop: each caught signal bumps a counter and writes a byte to a
//! self-pipe. Counting (not flags) keeps two quick SIGUSR1s from collapsing into one toggle.
//!
//! Caught: SIGCHLD (reap, restart), SIGHUP (rescan), SIGTERM (shutdown), SIGUSR1/SIGUSR2
//! (verbose/silent toggles), and as pid 1 SIGRTMIN+3 and SIGINT (counted as SIGTERM). SIGPIPE is caught
//! with no action, so that a control FIFO whose supervise vanished gives EPIPE instead of
//! killing svscan; a caught signal is reset by exec, so children still get the default.

use indicore::sys::poll::{self, PollFlags};
use indicore::sys::signal::{self, Mask, Signal};
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

/// What a caught signal means to svscan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Child = 0,
    Hup = 1,
    Term = 2,
    Usr1 = 3,
    Usr2 = 4,
}

/// The signals counted as SIGTERM besides SIGTERM itself (as pid 1).
const MAX_TERMS: usize = 2;

pub struct Signals {
    pipe: BorrowedFd<'static>,
    /// The signal counts last seen, per kind.
    seen: [usize; 5],
    /// What pid 1 also counts as SIGTERM.
    terms: [Option<Signal>; MAX_TERMS],
    caught: Vec<Signal>,
    /// The mask svscan started with, given back to children.
    original_mask: Mask,
}

impl Signals {
    /// Install the handlers (the static self-pipe of `indicore::sys::signal`, whose handler
    /// counts every signal). `pid1` adds SIGRTMIN+3 (systemd's "halt") and SIGINT as SIGTERM.
    pub fn install(pid1: bool) -> io::Result<Signals> {
        let mut caught = vec![
            Signal::CHILD,
            Signal::HUP,
            Signal::TERM,
            Signal::USR1,
            Signal::USR2,
        ];
        let mut terms = [None; MAX_TERMS];
        if pid1 {
            // systemd's "halt", and ^C of `podman run -it` (pid 1 ignores an uncaught one)
            let halt =
                signal::realtime(3).ok_or_else(|| io::Error::from(indicore::sys::Errno::INVAL))?;
            terms = [Some(halt), Some(Signal::INT)];
            caught.extend([halt, Signal::INT]);
        }
        signal::catch(&caught)?;
        signal::catch_quietly(&[Signal::PIPE])?;
        caught.push(Signal::PIPE);
        let pipe = signal::fd().ok_or_else(|| io::Error::from(indicore::sys::Errno::BADF))?;
        let mut s = Signals {
            pipe,
            seen: [0; 5],
            terms,
            caught,
            original_mask: Mask::current(),
        };
        // Only what comes from now on counts.
        for kind in [Sig::Child, Sig::Hup, Sig::Term, Sig::Usr1, Sig::Usr2] {
            s.seen[kind as usize] = s.count(kind);
        }
        Ok(s)
    }

    /// All `kind` signals so far (wrapping).
    fn count(&self, kind: Sig) -> usize {
        match kind {
            Sig::Child => signal::count(Signal::CHILD),
            Sig::Hup => signal::count(Signal::HUP),
            Sig::Term => self
                .terms
                .iter()
                .flatten()
                .fold(signal::count(Signal::TERM), |n, &s| {
                    n.wrapping_add(signal::count(s))
                }),
            Sig::Usr1 => signal::count(Signal::USR1),
            Sig::Usr2 => signal::count(Signal::USR2),
        }
    }

    /// Every signal svscan catches (children get their default actions back).
    pub fn caught(&self) -> &[Signal] {
        &self.caught
    }

    /// Empty the self-pipe.
    pub fn drain(&mut self) {
        signal::drain();
    }

    /// How many `kind` signals arrived since the last call.
    pub fn take(&mut self, kind: Sig) -> usize {
        let now = self.count(kind);
        let n = now.wrapping_sub(self.seen[kind as usize]);
        self.seen[kind as usize] = now;
        n
    }

    /// Whether `kind` arrived since the last `take`, without consuming it.
    pub fn pending(&self, kind: Sig) -> bool {
        self.count(kind) != self.seen[kind as usize]
    }

    /// Wait up to `timeout_ms` (-1: for ever) for a signal.
    pub fn wait(&mut self, timeout_ms: i32) {
        self.wait_also(timeout_ms, None);
    }

    /// Wait up to `timeout_ms` (-1: for ever) for a signal or for `other` to be readable.
    pub fn wait_also(&mut self, timeout_ms: i32, other: Option<RawFd>) {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let pipe = poll::watch(self.pipe, PollFlags::IN);
        let mut fds = [pipe, poll::watch(self.pipe, PollFlags::IN)];
        let mut n = 1;
        if let Some(fd) = other.filter(|&fd| fd >= 0) {
            fds[1] = poll::watch(indicore::sys::io::inherited(fd), PollFlags::IN);
            n = 2;
        }
        let _ = poll::poll_for(&mut fds[..n], timeout);
        self.drain();
    }

    /// Block every signal around a fork; returns the mask to restore in the parent.
    pub fn block_all(&self) -> Mask {
        Mask::block_all()
    }

    /// Restore a mask saved by [`Signals::block_all`].
    pub fn restore(&self, old: &Mask) {
        old.set();
    }

    /// In a forked child: default actions for everything svscan catches, then svscan's
    /// original mask, so the program exec'd starts as svscan itself did.
    pub fn reset_in_child(&self, extra_block: Option<Signal>) {
        for &sig in &self.caught {
            let _ = signal::default(sig);
        }
        let mut mask = self.original_mask;
        if let Some(sig) = extra_block {
            mask = mask.with(sig);
        }
        mask.set();
    }
}
