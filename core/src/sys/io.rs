//! Descriptor I/O: read and write retrying EINTR, pipes, descriptor flags and duplication.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::io::{Errno, FdFlags};

/// A descriptor this process inherited by number (0, 1, 2, UCSPI's 6 and 7, a supervisor's
/// notification descriptor), borrowed for the life of the process. A number that is not
/// open only makes the calls on it fail with EBADF; a negative number is a bug (panics).
pub fn inherited(fd: RawFd) -> BorrowedFd<'static> {
    assert!(fd >= 0, "descriptor number {fd}");
    // SAFETY: the descriptor is never closed through this borrow; calls on a number that is
    // not open fail with EBADF.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Whether descriptor number `fd` is open (fcntl F_GETFD succeeds).
pub fn is_open(fd: RawFd) -> bool {
    fd >= 0 && rustix::io::fcntl_getfd(inherited(fd)).is_ok()
}

/// The bytes waiting to be read on a pipe or socket (FIONREAD).
pub fn unread(fd: impl AsFd) -> io::Result<u64> {
    Ok(rustix::io::ioctl_fionread(fd)?)
}

/// Close descriptor number `fd`, one this process inherited (0-2, UCSPI's 6 and 7) and
/// holds through no `OwnedFd`; a number that is not open is left alone.
pub fn close_inherited(fd: RawFd) {
    if is_open(fd) {
        // SAFETY: nothing in this process owns `fd` (the caller's promise); it is open.
        unsafe { rustix::io::close(fd) };
    }
}

/// read(2), retrying EINTR. 0 is the end of the file.
pub fn read(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    let fd = fd.as_fd();
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Err(Errno::INTR) => continue,
            r => return r.map_err(Into::into),
        }
    }
}

/// write(2), retrying EINTR; may write less than `buf`.
pub fn write(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    let fd = fd.as_fd();
    loop {
        match rustix::io::write(fd, buf) {
            Err(Errno::INTR) => continue,
            r => return r.map_err(Into::into),
        }
    }
}

/// pwrite(2) at `offset`, retrying EINTR; may write less than `buf`.
pub fn pwrite(fd: impl AsFd, buf: &[u8], offset: u64) -> io::Result<usize> {
    let fd = fd.as_fd();
    loop {
        match rustix::io::pwrite(fd, buf, offset) {
            Err(Errno::INTR) => continue,
            r => return r.map_err(Into::into),
        }
    }
}

/// All of `buf` to a blocking descriptor, retrying EINTR and short writes.
pub fn write_all(fd: impl AsFd, mut buf: &[u8]) -> io::Result<()> {
    let fd = fd.as_fd();
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        if n == 0 {
            return Err(Errno::IO.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// A pipe, both ends close-on-exec: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

/// A pipe, both ends close-on-exec and non-blocking.
pub fn pipe_nonblocking() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pipe::PipeFlags;
    Ok(rustix::pipe::pipe_with(
        PipeFlags::CLOEXEC | PipeFlags::NONBLOCK,
    )?)
}

/// Set or clear FD_CLOEXEC.
pub fn set_cloexec(fd: impl AsFd, on: bool) -> io::Result<()> {
    let fd = fd.as_fd();
    let mut flags = rustix::io::fcntl_getfd(fd)?;
    flags.set(FdFlags::CLOEXEC, on);
    Ok(rustix::io::fcntl_setfd(fd, flags)?)
}

/// Set or clear O_NONBLOCK on the open file.
pub fn set_nonblocking(fd: impl AsFd, on: bool) -> io::Result<()> {
    use rustix::fs::OFlags;
    let fd = fd.as_fd();
    let mut flags = rustix::fs::fcntl_getfl(fd)?;
    flags.set(OFlags::NONBLOCK, on);
    Ok(rustix::fs::fcntl_setfl(fd, flags)?)
}

/// A close-on-exec duplicate numbered `min` or above (F_DUPFD_CLOEXEC).
pub fn dup_above(fd: impl AsFd, min: RawFd) -> io::Result<OwnedFd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, min)?)
}

/// A close-on-exec duplicate (F_DUPFD_CLOEXEC from 0).
pub fn dup(fd: impl AsFd) -> io::Result<OwnedFd> {
    dup_above(fd, 0)
}

/// dup2(`fd`, `to`): `to` becomes a copy of `fd` without close-on-exec, whatever it was;
/// for putting a descriptor at a number a child program expects. Allocates nothing, so a
/// forked child may call it.
pub fn dup2(fd: impl AsFd, to: RawFd) -> io::Result<()> {
    // The target is only named, never owned: ManuallyDrop keeps it open after the call.
    // SAFETY: `to` is not -1 (checked); the OwnedFd is never dropped, so nothing is closed
    // through it.
    if to < 0 {
        return Err(Errno::BADF.into());
    }
    let mut target = std::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(to) });
    if fd.as_fd().as_raw_fd() == to {
        // dup2 onto itself keeps close-on-exec; a child expects it cleared.
        return set_cloexec(fd, false);
    }
    Ok(rustix::io::dup2(fd, &mut target)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_read_write_and_flags() {
        let (r, w) = pipe().unwrap();
        assert!(rustix::io::fcntl_getfd(&r)
            .unwrap()
            .contains(FdFlags::CLOEXEC));
        write_all(&w, b"hello").unwrap();
        assert_eq!(unread(&r).unwrap(), 5);
        assert!(is_open(r.as_raw_fd()) && !is_open(-1));
        let mut buf = [0u8; 16];
        assert_eq!(read(&r, &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        set_nonblocking(&r, true).unwrap();
        assert_eq!(
            read(&r, &mut buf).unwrap_err().raw_os_error(),
            Some(Errno::AGAIN.raw_os_error())
        );
        set_cloexec(&r, false).unwrap();
        assert!(!rustix::io::fcntl_getfd(&r)
            .unwrap()
            .contains(FdFlags::CLOEXEC));
        drop(w);
        set_nonblocking(&r, false).unwrap();
        assert_eq!(read(&r, &mut buf).unwrap(), 0);
    }

    #[test]
    fn duplicates() {
        let (r, w) = pipe_nonblocking().unwrap();
        let high = dup_above(&w, 50).unwrap();
        assert!(high.as_raw_fd() >= 50);
        let spare = dup(&r).unwrap();
        let n = spare.as_raw_fd();
        dup2(&w, n).unwrap();
        write_all(inherited(n), b"x").unwrap();
        write_all(&high, b"y").unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(read(&r, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"xy");
        assert_eq!(
            read(&r, &mut buf).unwrap_err().raw_os_error(),
            Some(Errno::AGAIN.raw_os_error())
        );
    }
}
