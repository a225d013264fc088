//! Signals as flags, delivered only while the program waits for input.
//!
//! The reference blocks its signals and unblocks them around `read()`, which leaves a
//! window where a signal that arrives just before the read is noticed only after the next
//! input. Here the signals stay blocked all the time and [`Catcher::wait_input`] waits in
//! `ppoll` with them unblocked atomically, so a signal always ends the wait. The handlers
//! and the wait are `indicore::sys::signal`'s and `indicore::sys::poll`'s.

use indicore::sys::io::inherited;
use indicore::sys::poll::{self, PollFlags};
use indicore::sys::signal::{self as os, Mask};
use std::io;
use std::os::fd::RawFd;

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

impl Signal {
    fn os(self) -> os::Signal {
        match self {
            Signal::Term => os::Signal::TERM,
            Signal::Alarm => os::Signal::ALARM,
            Signal::Hangup => os::Signal::HUP,
            Signal::Interrupt => os::Signal::INT,
        }
    }

    /// True (once) if the signal arrived since the last call.
    pub fn take(self) -> bool {
        os::take(self.os())
    }
}

/// The caught signals and the mask to wait with.
pub struct Catcher {
    caught: Mask,
    wait_mask: Mask,
}

impl Catcher {
    /// Block `sigs` and catch them into flags; a wait ends on any of them.
    pub fn install(sigs: &[Signal]) -> Catcher {
        let caught = sigs.iter().fold(Mask::empty(), |m, s| m.with(s.os()));
        let wait_mask = sigs.iter().fold(caught.block(), |m, s| m.without(s.os()));
        for s in sigs {
            let _ = os::catch_quietly(&[s.os()]);
        }
        Catcher { caught, wait_mask }
    }

    /// Wait until `fd` is readable or a caught signal arrives (then `Ok(false)`).
    /// `timeout` of `None` waits for ever; `fd` of `None` waits only for signals.
    pub fn wait_input(
        &self,
        fd: Option<RawFd>,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<bool> {
        let ready = match fd {
            Some(fd) => {
                let mut fds = [poll::watch(inherited(fd), PollFlags::IN)];
                poll::ppoll(&mut fds, timeout, &self.wait_mask)?
            }
            None => poll::ppoll(&mut [], timeout, &self.wait_mask)?,
        };
        Ok(ready > 0)
    }

    /// In a forked child before exec: default dispositions (SIGPIPE included, see
    /// [`ignore_sigpipe`]) and nothing blocked, so the program started sees these signals
    /// as any program would.
    pub fn reset_in_child(&self) {
        // sigaction and sigprocmask only: async-signal-safe.
        let _ = os::default(os::Signal::PIPE);
        for s in ALL {
            let _ = os::default(s.os());
        }
        self.caught.unblock();
    }
}

/// A logger must outlive whatever reads its stderr: a write to a closed pipe then fails
/// with EPIPE (and is ignored) instead of killing the process.
pub fn ignore_sigpipe() {
    let _ = os::ignore(os::Signal::PIPE);
}
