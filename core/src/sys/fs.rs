//! Files by name: the `*at` calls relative to a directory descriptor (or [`CWD`]), modes,
//! owners, special files, locks. These are rustix's calls, which take any path type
//! (`&Path`, `&CStr`, `&str`) without allocating for short names; their errors convert into
//! `std::io::Error` with `?`.

use std::io;
use std::os::fd::AsFd;

pub use rustix::fs::{
    access, accessat, chmodat, chownat, fchmod, fchown, fstat, fsync, linkat, mkdirat, mkfifoat,
    mknodat, openat, readlinkat, renameat, statat, symlinkat, unlinkat, Access, AtFlags, FileType,
    Mode, OFlags, Stat, CWD,
};
pub use rustix::fs::{Gid, Uid};
pub use rustix::process::umask;

/// makedev(major, minor), for [`mknodat`].
pub fn makedev(major: u32, minor: u32) -> u64 {
    rustix::fs::makedev(major, minor)
}

/// Start writing `len` bytes at `offset` of `fd` to disk without waiting for them
/// (sync_file_range SYNC_FILE_RANGE_WRITE), so that a later fsync has little left to do.
/// Best effort: errors are ignored (Linux; a no-op elsewhere).
pub fn start_writeback(fd: impl AsFd, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    // SAFETY: sync_file_range only schedules I/O for a descriptor the caller holds.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::sync_file_range(
            fd.as_fd().as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (fd, offset, len);
}

/// How to take a [`lock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// flock(LOCK_EX): wait for an exclusive lock.
    Wait,
    /// flock(LOCK_EX|LOCK_NB): take an exclusive lock or fail with EAGAIN (EWOULDBLOCK).
    Try,
    /// flock(LOCK_UN).
    Release,
}

/// flock(2) on `fd`, retrying EINTR.
pub fn lock(fd: impl AsFd, how: Lock) -> io::Result<()> {
    use rustix::fs::FlockOperation as Op;
    let op = match how {
        Lock::Wait => Op::LockExclusive,
        Lock::Try => Op::NonBlockingLockExclusive,
        Lock::Release => Op::Unlock,
    };
    let fd = fd.as_fd();
    loop {
        match rustix::fs::flock(fd, op) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Whether `path` names an executable file for this process (access X_OK).
pub fn executable(path: impl rustix::path::Arg) -> bool {
    access(path, Access::EXEC_OK).is_ok()
}

/// Whether `path` exists (access F_OK, following symlinks).
pub fn exists(path: impl rustix::path::Arg) -> io::Result<()> {
    Ok(access(path, Access::EXISTS)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_calls_and_locks() {
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::File::open(d.path()).unwrap();
        mkdirat(&dir, "sub", Mode::from_raw_mode(0o750)).unwrap();
        mkfifoat(&dir, "sub/fifo", Mode::from_raw_mode(0o600)).unwrap();
        let st = statat(&dir, "sub/fifo", AtFlags::empty()).unwrap();
        assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::Fifo);
        let f = openat(
            &dir,
            "file",
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        lock(&f, Lock::Try).unwrap();
        let g = openat(
            &dir,
            "file",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let e: io::Error = lock(&g, Lock::Try).unwrap_err();
        assert_eq!(crate::sys::errno(&e), Some(rustix::io::Errno::AGAIN));
        lock(&f, Lock::Release).unwrap();
        lock(&g, Lock::Wait).unwrap();
        renameat(&dir, "file", &dir, "moved").unwrap();
        assert!(exists(d.path().join("moved")).is_ok());
        assert!(!executable(d.path().join("moved")));
        unlinkat(&dir, "moved", AtFlags::empty()).unwrap();
        assert_eq!(
            crate::sys::errno(&exists(d.path().join("moved")).unwrap_err()),
            Some(rustix::io::Errno::NOENT)
        );
    }
}
