//! The system calls the programs use, as small safe functions: every one retries EINTR,
//! every descriptor it opens is close-on-exec, and names are resolved relative to a
//! directory descriptor (multilog never changes its working directory).

use std::ffi::CStr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

fn retry<T: PartialOrd + Default>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let r = f();
        if r >= T::default() {
            return Ok(r);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// True when `e` says the file does not exist.
pub fn is_noent(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOENT)
}

/// openat(2) with O_CLOEXEC added.
pub fn openat(
    dir: RawFd,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: name is NUL-terminated; the returned descriptor is new and owned by us.
    let fd = retry(|| unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: fd was just returned by openat and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// fstatat(2) without following a final symlink; `None` when the name does not exist.
pub fn stat_at(dir: RawFd, name: &CStr) -> io::Result<Option<libc::stat>> {
    // SAFETY: all-zero is a valid `stat`; fstatat writes into it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: name is NUL-terminated and st is a valid out-pointer.
    match retry(|| unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })
    {
        Ok(_) => Ok(Some(st)),
        Err(e) if is_noent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn rename_at(dir: RawFd, from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    retry(|| unsafe { libc::renameat(dir, from.as_ptr(), dir, to.as_ptr()) }).map(drop)
}

pub fn link_at(dir: RawFd, from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: both names are NUL-terminated.
    retry(|| unsafe { libc::linkat(dir, from.as_ptr(), dir, to.as_ptr(), 0) }).map(drop)
}

pub fn unlink_at(dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: name is NUL-terminated.
    retry(|| unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map(drop)
}

pub fn chmod_at(dir: RawFd, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: name is NUL-terminated.
    retry(|| unsafe { libc::fchmodat(dir, name.as_ptr(), mode, 0) }).map(drop)
}

pub fn fchmod(fd: RawFd, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: plain fchmod on a descriptor.
    retry(|| unsafe { libc::fchmod(fd, mode) }).map(drop)
}

pub fn fsync(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fsync on a descriptor.
    retry(|| unsafe { libc::fsync(fd) }).map(drop)
}

/// Start writing `len` bytes at `offset` of `fd` to disk without waiting for them, so that
/// a later fsync has little left to do (Linux; a no-op elsewhere).
pub fn start_writeback(fd: RawFd, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    // SAFETY: sync_file_range only schedules I/O for a descriptor we hold.
    unsafe {
        libc::sync_file_range(
            fd,
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (fd, offset, len);
}

/// One write(2); may write less than asked.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    retry(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) }).map(|n| n as usize)
}

/// Write all of `buf`, giving up at the first error.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write(fd, buf)? {
            0 => return Err(io::Error::from_raw_os_error(libc::EIO)),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// One pwrite(2) at `offset`.
pub fn pwrite(fd: RawFd, buf: &[u8], offset: i64) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    retry(|| unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), offset) })
        .map(|n| n as usize)
}

/// One read(2).
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() writable bytes.
    retry(|| unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) }).map(|n| n as usize)
}

/// Wait until `fd` is readable (for descriptors someone else made non-blocking).
pub fn wait_readable(fd: RawFd) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    retry(|| unsafe { libc::poll(&mut pfd, 1, -1) }).map(drop)
}

/// mkdir(2) relative to the working directory.
pub fn mkdir(path: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: path is NUL-terminated.
    retry(|| unsafe { libc::mkdir(path.as_ptr(), mode) }).map(drop)
}

/// Set the umask, returning the previous one.
pub fn umask(mask: libc::mode_t) -> libc::mode_t {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask) }
}

/// Sleep the whole duration, even across interrupted sleeps (djb's `deepsleep`).
pub fn deep_sleep(secs: u64) {
    std::thread::sleep(Duration::from_secs(secs));
}

/// The names in a directory (without `.` and `..`), read through a duplicate of `dir`.
pub fn read_dir_names(dir: RawFd, mut each: impl FnMut(&CStr)) -> io::Result<()> {
    // SAFETY: dup of a descriptor we hold; the copy is handed to fdopendir, which owns it.
    let fd = retry(|| unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: fd is an open directory descriptor; on success the stream owns it.
    let stream = unsafe { libc::fdopendir(fd) };
    if stream.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so fd is still ours to close.
        unsafe { libc::close(fd) };
        return Err(e);
    }
    // Read from the start even if another reader moved the shared offset.
    // SAFETY: stream is a valid DIR*.
    unsafe { libc::rewinddir(stream) };
    let result = loop {
        // SAFETY: errno is thread-local; readdir reports end and error through it.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: stream is a valid DIR*; the entry stays valid until the next readdir.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            let e = io::Error::last_os_error();
            break if e.raw_os_error() == Some(0) {
                Ok(())
            } else {
                Err(e)
            };
        }
        // SAFETY: d_name is NUL-terminated inside the entry.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            each(name);
        }
    };
    // SAFETY: stream is valid and closed once.
    unsafe { libc::closedir(stream) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn at_functions() {
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::File::open(d.path()).unwrap();
        let fd = dir.as_raw_fd();
        assert!(stat_at(fd, c"a").unwrap().is_none());
        let f = openat(fd, c"a", libc::O_WRONLY | libc::O_CREAT, 0o600).unwrap();
        write_all(f.as_raw_fd(), b"hello").unwrap();
        fsync(f.as_raw_fd()).unwrap();
        link_at(fd, c"a", c"b").unwrap();
        assert_eq!(stat_at(fd, c"a").unwrap().unwrap().st_nlink, 2);
        rename_at(fd, c"b", c"c").unwrap();
        chmod_at(fd, c"c", 0o744).unwrap();
        assert_eq!(stat_at(fd, c"a").unwrap().unwrap().st_mode & 0o777, 0o744);
        unlink_at(fd, c"a").unwrap();
        let mut names = Vec::new();
        read_dir_names(fd, |n| names.push(n.to_bytes().to_vec())).unwrap();
        assert_eq!(names, vec![b"c".to_vec()]);
        let mut buf = [0u8; 10];
        let r = openat(fd, c"c", libc::O_RDONLY, 0).unwrap();
        assert_eq!(read(r.as_raw_fd(), &mut buf).unwrap(), 5);
        assert!(is_noent(&unlink_at(fd, c"a").unwrap_err()));
    }
}
