//! File, lock and FIFO helpers with the reference flags and modes (libqmail's
//! open_*, lock_*, fifo_make). Every descriptor is close-on-exec unless the
//! caller clears it with [`set_cloexec`].

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn open(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    let nonblock = crate::sys::fs::OFlags::NONBLOCK.bits() as i32;
    opts.custom_flags(nonblock).open(path)
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
    use crate::sys::fs::{mkfifoat, Mode, CWD};
    Ok(mkfifoat(CWD, path, Mode::from_raw_mode(mode))?)
}

/// flock(LOCK_EX): wait for an exclusive lock.
pub fn lock_ex(fd: &impl AsFd) -> io::Result<()> {
    crate::sys::fs::lock(fd, crate::sys::fs::Lock::Wait)
}

/// flock(LOCK_EX|LOCK_NB): take an exclusive lock or fail with EAGAIN.
pub fn lock_exnb(fd: &impl AsFd) -> io::Result<()> {
    crate::sys::fs::lock(fd, crate::sys::fs::Lock::Try)
}

/// Set or clear FD_CLOEXEC.
pub fn set_cloexec(fd: &impl AsFd, on: bool) -> io::Result<()> {
    crate::sys::io::set_cloexec(fd, on)
}

/// Clear O_NONBLOCK (descriptors opened O_NDELAY to probe a FIFO, then written blocking).
pub fn set_blocking(fd: &impl AsFd) -> io::Result<()> {
    crate::sys::io::set_nonblocking(fd, false)
}

/// Read a whole file, retrying EINTR (std already does) and following symlinks.
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// read(2) on an inherited descriptor number, retrying EINTR ([`crate::sys::io::read`]).
pub fn read_raw(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    crate::sys::io::read(crate::sys::io::inherited(fd), buf)
}

/// write(2) on an inherited descriptor number, retrying EINTR; may write less than `buf`.
pub fn write_raw(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    crate::sys::io::write(crate::sys::io::inherited(fd), buf)
}

/// All of `buf` to a blocking inherited descriptor number, retrying EINTR and short writes.
pub fn write_all_raw(fd: RawFd, buf: &[u8]) -> io::Result<()> {
    crate::sys::io::write_all(crate::sys::io::inherited(fd), buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    #[test]
    fn modes_and_locks() {
        let d = tempfile::tempdir().unwrap();
        use crate::sys::fs::{umask, Mode};
        let old = umask(Mode::from_raw_mode(0o022));
        let a = d.path().join("a");
        let f = open_append(&a).unwrap();
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o600
        );
        lock_exnb(&f).unwrap();
        let g = open_append(&a).unwrap();
        assert_eq!(
            crate::sys::errno(&lock_exnb(&g).unwrap_err()),
            Some(crate::sys::Errno::AGAIN)
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
        umask(old);
    }
}
