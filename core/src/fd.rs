//! File, lock and FIFO helpers with the reference flags and modes (libqmail's
//! open_*, lock_*, fifo_make). Every descriptor is close-on-exec unless the
//! caller clears it with [`set_cloexec`].

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn open(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    opts.custom_flags(libc::O_NONBLOCK).open(path)
}

/// O_RDONLY|O_NDELAY.
pub fn open_read(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().read(true))
}

/// O_WRONLY|O_NDELAY.
pub fn open_write(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().write(true))
}

/// O_WRONLY|O_NDELAY|O_APPEND|O_CREAT, mode 0600.
pub fn open_append(path: &Path) -> io::Result<File> {
    open(
        path,
        OpenOptions::new().append(true).create(true).mode(0o600),
    )
}

/// O_WRONLY|O_NDELAY|O_TRUNC|O_CREAT, mode 0644.
pub fn open_trunc(path: &Path) -> io::Result<File> {
    open(
        path,
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .create(true)
            .mode(0o644),
    )
}

/// mkfifo with `mode` (before umask).
pub fn fifo_make(path: &Path, mode: u32) -> io::Result<()> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(mode))
        .map_err(io::Error::from)
}

/// flock(LOCK_EX): wait for an exclusive lock.
pub fn lock_ex(fd: &impl AsRawFd) -> io::Result<()> {
    flock(fd.as_raw_fd(), libc::LOCK_EX)
}

/// flock(LOCK_EX|LOCK_NB): take an exclusive lock or fail with EAGAIN.
pub fn lock_exnb(fd: &impl AsRawFd) -> io::Result<()> {
    flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB)
}

fn flock(fd: RawFd, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor we borrow; no memory is involved.
        if unsafe { libc::flock(fd, op) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Set or clear FD_CLOEXEC.
pub fn set_cloexec(fd: &impl AsRawFd, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl F_GETFD/F_SETFD only touch the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, new) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Clear O_NONBLOCK (descriptors opened O_NDELAY to probe a FIFO, then written blocking).
pub fn set_blocking(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: fcntl F_GETFL/F_SETFL only touch the open file's status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Read a whole file, retrying EINTR (std already does) and following symlinks.
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// read(2) on a raw descriptor, retrying EINTR.
pub fn read_raw(fd: std::os::fd::RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: read into a buffer we own, at most its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// write(2) on a raw descriptor, retrying EINTR; may write less than `buf`.
pub fn write_raw(fd: std::os::fd::RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: write from a buffer we own, at most its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// All of `buf` to a blocking raw descriptor, retrying EINTR and short writes.
pub fn write_all_raw(fd: std::os::fd::RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = write_raw(fd, buf)?;
        buf = &buf[n..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    #[test]
    fn modes_and_locks() {
        let d = tempfile::tempdir().unwrap();
        let old = unsafe { libc::umask(0o022) };
        let a = d.path().join("a");
        let f = open_append(&a).unwrap();
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o600
        );
        lock_exnb(&f).unwrap();
        let g = open_append(&a).unwrap();
        assert_eq!(
            lock_exnb(&g).unwrap_err().raw_os_error(),
            Some(libc::EAGAIN)
        );
        let t = d.path().join("t");
        open_trunc(&t).unwrap();
        assert_eq!(
            std::fs::metadata(&t).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let p = d.path().join("p");
        fifo_make(&p, 0o600).unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert!(m.file_type().is_fifo());
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        set_cloexec(&f, false).unwrap();
        unsafe { libc::umask(old) };
    }
}
