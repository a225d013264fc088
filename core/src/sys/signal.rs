//! Signals into a poll loop: one static self-pipe, written from a plain sigaction handler.
//!
//! [`catch`] makes the pipe on its first call and installs the handler; nothing is
//! allocated, then or later (two descriptors and a word of flags are all the state). The
//! handler marks its signal pending and writes one byte to the pipe, which a program polls
//! with its other descriptors ([`fd`]); it then [`drain`]s the pipe and asks [`take`] which
//! signals came. Handlers are installed with SA_RESTART, as the reference programs'
//! `sig_catch` does, so only poll and the like see EINTR.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

pub use rustix::process::Signal;

static PIPE_READ: AtomicI32 = AtomicI32::new(-1);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// Bit `n` set: signal `n` came since the last [`take`] of it.
static PENDING: AtomicU64 = AtomicU64::new(0);
/// How many of signal `n` came, ever (wrapping).
static COUNTS: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];

extern "C" fn caught(sig: libc::c_int) {
    if (1..64).contains(&sig) {
        PENDING.fetch_or(1 << sig, Ordering::SeqCst);
        COUNTS[sig as usize].fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: write(2) is async-signal-safe; errno is put back for the code interrupted.
    unsafe {
        let errno = *libc::__errno_location();
        let fd = PIPE_WRITE.load(Ordering::SeqCst);
        if fd >= 0 {
            let _ = libc::write(fd, [0u8].as_ptr().cast(), 1);
        }
        *libc::__errno_location() = errno;
    }
}

extern "C" fn noted(sig: libc::c_int) {
    if (1..64).contains(&sig) {
        PENDING.fetch_or(1 << sig, Ordering::SeqCst);
    }
}

fn action(sig: Signal, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: a zeroed sigaction with an empty mask; the handler is SIG_IGN, SIG_DFL or
    // `caught`, which only does async-signal-safe things.
    let rc = unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(sig.as_raw(), &sa, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Make the self-pipe if it is not made yet (non-blocking, close-on-exec; it lives as long
/// as the process).
fn self_pipe() -> io::Result<()> {
    if PIPE_READ.load(Ordering::SeqCst) >= 0 {
        return Ok(());
    }
    let (r, w) = super::io::pipe_nonblocking()?;
    PIPE_WRITE.store(w.into_raw_fd(), Ordering::SeqCst);
    PIPE_READ.store(r.into_raw_fd(), Ordering::SeqCst);
    Ok(())
}

/// Catch `sigs`: each marks itself pending and wakes the self-pipe.
pub fn catch(sigs: &[Signal]) -> io::Result<()> {
    self_pipe()?;
    for &sig in sigs {
        action(
            sig,
            caught as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )?;
    }
    Ok(())
}

/// Catch `sigs` without waking the self-pipe: each only marks itself pending. Unlike
/// [`ignore`], an exec'd program gets the default action back, and unlike the default
/// action, the signal does not end this process (SIGPIPE: a write fails with EPIPE). A
/// program that keeps its signals blocked and waits in [`super::poll::ppoll`] with them
/// unblocked needs no self-pipe either: the signal ends the wait, then [`take`] says which.
pub fn catch_quietly(sigs: &[Signal]) -> io::Result<()> {
    for &sig in sigs {
        action(
            sig,
            noted as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )?;
    }
    Ok(())
}

/// The self-pipe's read end, to poll (None before the first [`catch`]).
pub fn fd() -> Option<BorrowedFd<'static>> {
    let fd = PIPE_READ.load(Ordering::SeqCst);
    // SAFETY: once made, the pipe is never closed.
    (fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Empty the self-pipe (its bytes only wake the poller; [`take`] says what came).
pub fn drain() {
    if let Some(fd) = fd() {
        let mut buf = [0u8; 64];
        loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(n) if n > 0 => {}
                Err(rustix::io::Errno::INTR) => {}
                _ => break,
            }
        }
    }
}

/// Whether `sig` came since the last `take` of it; clears the mark.
pub fn take(sig: Signal) -> bool {
    let bit = 1u64 << (sig.as_raw() as u32 & 63);
    PENDING.fetch_and(!bit, Ordering::SeqCst) & bit != 0
}

/// How many `sig` came since the process started (wrapping): two quick ones count two,
/// where [`take`] would see one.
pub fn count(sig: Signal) -> usize {
    COUNTS
        .get(sig.as_raw() as usize)
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

/// The real-time signal SIGRTMIN+`n` (None past SIGRTMAX).
pub fn realtime(n: i32) -> Option<Signal> {
    let sig = libc::SIGRTMIN() + n;
    // SAFETY: a real-time signal number of this C library, checked to be in its range.
    (n >= 0 && sig <= libc::SIGRTMAX()).then(|| unsafe { Signal::from_raw_unchecked(sig) })
}

/// A set of signals, as the signal mask holds them.
#[derive(Clone, Copy)]
pub struct Mask(pub(super) libc::sigset_t);

impl Mask {
    /// No signal.
    pub fn empty() -> Mask {
        // SAFETY: sigemptyset initialises the set we own.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            Mask(set)
        }
    }

    /// This thread's mask now.
    pub fn current() -> Mask {
        // SAFETY: sigprocmask only reads the mask into a set we own.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), &mut set);
            Mask(set)
        }
    }

    /// This set plus `sig`.
    pub fn with(mut self, sig: Signal) -> Mask {
        // SAFETY: sigaddset on a set we own.
        unsafe { libc::sigaddset(&mut self.0, sig.as_raw()) };
        self
    }

    /// This set without `sig`.
    pub fn without(mut self, sig: Signal) -> Mask {
        // SAFETY: sigdelset on a set we own.
        unsafe { libc::sigdelset(&mut self.0, sig.as_raw()) };
        self
    }

    /// Add this set to the mask (SIG_BLOCK); the mask before.
    pub fn block(&self) -> Mask {
        // SAFETY: sigprocmask with sets we own.
        unsafe {
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_BLOCK, &self.0, &mut old);
            Mask(old)
        }
    }

    /// Take this set out of the mask (SIG_UNBLOCK; async-signal-safe).
    pub fn unblock(&self) {
        // SAFETY: sigprocmask with a set we own.
        unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &self.0, std::ptr::null_mut()) };
    }

    /// Make this set the mask (async-signal-safe: a forked child may call it).
    pub fn set(&self) {
        // SAFETY: sigprocmask with a set we own.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }

    /// Block every signal; the mask before, to [`Mask::set`] again.
    pub fn block_all() -> Mask {
        // SAFETY: sigfillset and sigprocmask on sets we own.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old);
            Mask(old)
        }
    }

    /// Whether `sig` is in the set.
    pub fn has(&self, sig: Signal) -> bool {
        // SAFETY: sigismember reads a set we own.
        unsafe { libc::sigismember(&self.0, sig.as_raw()) == 1 }
    }
}

/// Whether `sig` came, leaving the mark.
pub fn pending(sig: Signal) -> bool {
    PENDING.load(Ordering::SeqCst) & (1u64 << (sig.as_raw() as u32 & 63)) != 0
}

/// Ignore `sig` (SIG_IGN; an exec'd program inherits it).
pub fn ignore(sig: Signal) -> io::Result<()> {
    action(sig, libc::SIG_IGN)
}

/// Give `sig` its default action back (SIG_DFL).
pub fn default(sig: Signal) -> io::Result<()> {
    action(sig, libc::SIG_DFL)
}

/// Whether the self-pipe is `fd` (for a forked child closing what it must not keep).
pub fn is_self_pipe(fd: &impl AsRawFd) -> bool {
    let n = fd.as_raw_fd();
    n == PIPE_READ.load(Ordering::SeqCst) || n == PIPE_WRITE.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn masks_and_realtime_signals() {
        let rt = realtime(3).unwrap();
        assert!(rt.as_raw() > Signal::SYS.as_raw());
        assert!(realtime(1000).is_none());
        let m = Mask::empty().with(Signal::HUP);
        assert!(m.has(Signal::HUP) && !m.has(Signal::TERM));
        assert!(!m.without(Signal::HUP).has(Signal::HUP));
        let blocked = Mask::empty().with(Signal::WINCH);
        let was = blocked.block();
        assert!(Mask::current().has(Signal::WINCH));
        blocked.unblock();
        assert!(!Mask::current().has(Signal::WINCH));
        was.set();
        let before = Mask::current();
        let old = Mask::block_all();
        assert!(Mask::current().has(Signal::TERM));
        old.set();
        assert_eq!(Mask::current().has(Signal::TERM), before.has(Signal::TERM));
    }

    #[test]
    fn a_caught_signal_wakes_the_poller() {
        catch(&[Signal::USR1, Signal::USR2]).unwrap();
        catch(&[Signal::USR1]).unwrap(); // a second call keeps the same pipe
        let pipe = fd().unwrap();
        drain();
        assert!(!take(Signal::USR1));
        rustix::process::kill_process(rustix::process::getpid(), Signal::USR1).unwrap();
        assert!(
            crate::sys::poll::readable(pipe, Some(Instant::now() + Duration::from_secs(10)))
                .unwrap()
        );
        assert!(pending(Signal::USR1));
        drain();
        assert!(take(Signal::USR1));
        assert!(!take(Signal::USR1));
        assert!(count(Signal::USR1) >= 1);
        assert!(!take(Signal::USR2));
        assert!(!crate::sys::poll::readable(pipe, Some(Instant::now())).unwrap());
        catch_quietly(&[Signal::USR2]).unwrap();
        rustix::process::kill_process(rustix::process::getpid(), Signal::USR2).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pending(Signal::USR2) && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(take(Signal::USR2));
        assert!(!crate::sys::poll::readable(pipe, Some(Instant::now())).unwrap());
        ignore(Signal::USR2).unwrap();
        rustix::process::kill_process(rustix::process::getpid(), Signal::USR2).unwrap();
        default(Signal::USR2).unwrap();
        assert!(!take(Signal::USR2));
    }
}
