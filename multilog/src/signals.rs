//! Signals as flags, delivered only while the program waits for input.
//!
//! The reference blocks its signals and unblocks them around `read()`, which leaves a
//! window where a signal that arrives just before the read is noticed only after the next
//! input. Here the signals stay blocked all the time and [`wait_input`] waits in `ppoll`
//! with them unblocked atomically, so a signal always ends the wait.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// The signals the programs catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Alarm,
    Hangup,
    Interrupt,
}

const ALL: [Signal; 4] = [
    Signal::Term,
    Signal::Alarm,
    Signal::Hangup,
    Signal::Interrupt,
];

static FLAGS: [AtomicBool; 4] = [
    AtomicBool::new(false),
    AtomicBool::new(false),
    AtomicBool::new(false),
    AtomicBool::new(false),
];

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Alarm => libc::SIGALRM,
            Signal::Hangup => libc::SIGHUP,
            Signal::Interrupt => libc::SIGINT,
        }
    }

    fn flag(self) -> &'static AtomicBool {
        &FLAGS[self as usize]
    }

    /// True (once) if the signal arrived since the last call.
    pub fn take(self) -> bool {
        self.flag().swap(false, Ordering::Relaxed)
    }
}

extern "C" fn note(sig: libc::c_int) {
    if let Some(s) = ALL.iter().find(|s| s.number() == sig) {
        s.flag().store(true, Ordering::Relaxed);
    }
}

fn set_of(sigs: &[Signal]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, s.number());
        }
        set
    }
}

/// The caught signals and the mask to wait with.
pub struct Catcher {
    caught: libc::sigset_t,
    wait_mask: libc::sigset_t,
}

impl Catcher {
    /// Block `sigs` and catch them into flags (no SA_RESTART: a wait ends on a signal).
    pub fn install(sigs: &[Signal]) -> Catcher {
        let caught = set_of(sigs);
        // SAFETY: sigprocmask and sigaction with sets and structs we own; the handler only
        // stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_BLOCK, &caught, &mut old);
            let mut wait_mask = old;
            for s in sigs {
                libc::sigdelset(&mut wait_mask, s.number());
            }
            for s in sigs {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = note as extern "C" fn(libc::c_int) as usize;
                sa.sa_mask = caught;
                sa.sa_flags = 0;
                libc::sigaction(s.number(), &sa, std::ptr::null_mut());
            }
            Catcher { caught, wait_mask }
        }
    }

    /// Wait until `fd` is readable or a caught signal arrives (then `Ok(false)`).
    /// `timeout` of `None` waits for ever; `fd` of `None` waits only for signals.
    pub fn wait_input(
        &self,
        fd: Option<RawFd>,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: fd.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs() as _,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: one valid pollfd, an optional valid timespec and a valid mask.
        let r = unsafe { libc::ppoll(&mut pfd, 1, tsp, &self.wait_mask) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(r > 0)
    }

    /// In a forked child before exec: default dispositions (SIGPIPE included, see
    /// [`ignore_sigpipe`]) and nothing blocked, so the program started sees these signals
    /// as any program would.
    pub fn reset_in_child(&self) {
        // SAFETY: signal and sigprocmask are async-signal-safe.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            for s in ALL {
                libc::signal(s.number(), libc::SIG_DFL);
            }
            libc::sigprocmask(libc::SIG_UNBLOCK, &self.caught, std::ptr::null_mut());
        }
    }
}

/// A logger must outlive whatever reads its stderr: a write to a closed pipe then fails
/// with EPIPE (and is ignored) instead of killing the process.
pub fn ignore_sigpipe() {
    // SAFETY: setting a disposition has no memory effects.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
