//! The operating-system layer: what the programs ask of the kernel, on rustix, in one place
//! (docs/architecture.md, "The operating-system layer").
//!
//! Descriptors are typed (`OwnedFd` owns, `BorrowedFd`/`AsFd` borrows), every call that can
//! be interrupted by a caught signal is retried on EINTR where the caller wants the result
//! (`io::read`, `io::write_all`) and reported as "nothing yet" where the caller waits for a
//! signal ([`poll::poll`]), and errors come back as `std::io::Error` carrying the raw errno,
//! so `diag`'s libqmail wording applies unchanged. What rustix does not offer (sigaction,
//! fork, the account databases, the POSIX process-wide setuid family) is done here on libc,
//! so no other crate needs it.
//!
//! Nothing here allocates on the paths a forked child or a signal handler takes: rustix
//! makes the system calls directly, and the signal handler only stores a flag and writes a
//! byte to a static self-pipe.

pub mod dir;
pub mod fs;
pub mod inotify;
pub mod io;
pub mod net;
pub mod poll;
pub mod process;
pub mod signal;
pub mod time;
pub mod user;

pub use rustix::io::Errno;

/// The errno an error carries, to match on: `Some(Errno::NOENT)`.
pub fn errno(e: &std::io::Error) -> Option<Errno> {
    Errno::from_io_error(e)
}

/// An `io::Error` carrying `errno`, as a failed system call would give it.
pub fn error(errno: Errno) -> std::io::Error {
    errno.into()
}

/// The C library's text for errno `n` (strerror(3)): "No such file or directory".
pub fn strerror(n: i32) -> String {
    // SAFETY: strerror returns a NUL-terminated string, valid until the next call on this
    // thread; it is copied at once.
    unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_round_trip() {
        let e = error(Errno::NOENT);
        assert_eq!(e.raw_os_error(), Some(2));
        assert_eq!(errno(&e), Some(Errno::NOENT));
        assert!(matches!(errno(&e), Some(Errno::NOENT)));
        assert_eq!(errno(&std::io::Error::other("x")), None);
        assert_eq!(crate::errstr(&e), "file does not exist");
        assert_eq!(strerror(2), "No such file or directory");
    }
}
