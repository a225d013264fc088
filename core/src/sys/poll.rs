//! The one poller: poll(2) until a deadline.
//!
//! A program waits on its descriptors and its signal self-pipe together; an interrupted
//! poll returns 0 ready descriptors, so the loop looks at its signals and polls again.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

pub use rustix::event::{PollFd, PollFlags};

/// poll(2) until `deadline` (None: no deadline); the number of ready descriptors, 0 when
/// the deadline passed or a caught signal interrupted the wait.
pub fn poll(fds: &mut [PollFd<'_>], deadline: Option<Instant>) -> io::Result<usize> {
    poll_for(
        fds,
        deadline.map(|d| d.saturating_duration_since(Instant::now())),
    )
}

/// poll(2) for at most `timeout` (None: no limit), as [`poll`].
pub fn poll_for(fds: &mut [PollFd<'_>], timeout: Option<Duration>) -> io::Result<usize> {
    let ts = timeout.map(|t| rustix::time::Timespec {
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    match rustix::event::poll(fds, ts.as_ref()) {
        Err(rustix::io::Errno::INTR) => Ok(0),
        r => Ok(r?),
    }
}

/// ppoll(2): poll(2) for at most `timeout` (None: no limit) with the signal mask `mask` in
/// force for the wait only, set and restored atomically; a signal blocked outside the wait
/// and caught ([`super::signal::catch_quietly`]) always ends it, even one that came just
/// before. The number of ready descriptors, 0 when the time passed or a signal came.
pub fn ppoll(
    fds: &mut [PollFd<'_>],
    timeout: Option<Duration>,
    mask: &super::signal::Mask,
) -> io::Result<usize> {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().try_into().unwrap_or(libc::time_t::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
    // rustix's PollFd is the kernel's pollfd (its own poll hands the slice to the kernel).
    const _: () = assert!(size_of::<PollFd<'_>>() == size_of::<libc::pollfd>());
    // SAFETY: `fds` is a valid array of pollfd-shaped entries for its length, the timespec
    // and the mask outlive the call.
    let r = unsafe { libc::ppoll(fds.as_mut_ptr().cast(), fds.len() as _, tsp, &mask.0) };
    if r >= 0 {
        return Ok(r as usize);
    }
    let e = io::Error::last_os_error();
    match super::errno(&e) {
        Some(rustix::io::Errno::INTR) => Ok(0),
        _ => Err(e),
    }
}

/// Wait until `fd` is readable (or hung up) or `deadline` passes; whether it is.
pub fn readable(fd: impl AsFd, deadline: Option<Instant>) -> io::Result<bool> {
    let mut fds = [PollFd::from_borrowed_fd(fd.as_fd(), PollFlags::IN)];
    Ok(poll(&mut fds, deadline)? > 0 && !fds[0].revents().is_empty())
}

/// A descriptor to poll: `fd` waiting for `events`.
pub fn watch(fd: BorrowedFd<'_>, events: PollFlags) -> PollFd<'_> {
    PollFd::from_borrowed_fd(fd, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_and_readiness() {
        let (r, w) = crate::sys::io::pipe().unwrap();
        let soon = Instant::now() + Duration::from_millis(1);
        assert!(!readable(&r, Some(soon)).unwrap());
        let past = Instant::now() - Duration::from_secs(1);
        assert!(!readable(&r, Some(past)).unwrap());
        crate::sys::io::write_all(&w, b"x").unwrap();
        assert!(readable(&r, None).unwrap());
        let mut fds = [
            watch(r.as_fd(), PollFlags::IN),
            watch(w.as_fd(), PollFlags::OUT),
        ];
        assert_eq!(poll_for(&mut fds, Some(Duration::ZERO)).unwrap(), 2);
        assert!(fds[0].revents().contains(PollFlags::IN));
        assert!(fds[1].revents().contains(PollFlags::OUT));
        let mask = crate::sys::signal::Mask::current();
        assert_eq!(ppoll(&mut fds, Some(Duration::ZERO), &mask).unwrap(), 2);
        assert!(fds[0].revents().contains(PollFlags::IN));
        let mut one = [watch(r.as_fd(), PollFlags::IN)];
        let mut buf = [0u8; 1];
        crate::sys::io::read(&r, &mut buf).unwrap();
        assert_eq!(
            ppoll(&mut one, Some(Duration::from_millis(1)), &mask).unwrap(),
            0
        );
        assert_eq!(ppoll(&mut [], Some(Duration::ZERO), &mask).unwrap(), 0);
    }
}
