//! Diagnostics the way djb's strerr prints them: `PROG: fatal: parts...: errno-text\n`,
//! with libqmail's errno wording and the 100/111 exit-code convention.

use std::fmt::Display;
use std::io::{self, Write};

/// Usage error or permanent failure.
pub const EXIT_USAGE: i32 = 100;
/// Temporary or system failure.
pub const EXIT_TEMP: i32 = 111;

/// Why a program stops before (or instead of) doing its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Printed verbatim (plus a newline) on stderr; exit 100.
    Usage(String),
    /// Printed as `PROG: fatal: msg\n`; exit with `code`.
    Fatal { code: i32, msg: String },
    /// Exit with `code`, printing nothing.
    Silent(i32),
}

impl Failure {
    pub fn usage(text: impl Into<String>) -> Self {
        Failure::Usage(text.into())
    }

    /// A temporary failure (111) with a plain message.
    pub fn temp(msg: impl Into<String>) -> Self {
        Failure::Fatal {
            code: EXIT_TEMP,
            msg: msg.into(),
        }
    }

    /// A temporary failure (111): `msg` followed by the djb text for `err`.
    pub fn temp_sys(msg: impl Display, err: &io::Error) -> Self {
        Failure::Fatal {
            code: EXIT_TEMP,
            msg: format!("{msg}{}", errstr(err)),
        }
    }

    /// `unable to run PROG: errno-text`, the message every chain-loader prints when exec fails.
    pub fn exec(prog: impl Display, err: &io::Error) -> Self {
        Self::temp_sys(format_args!("unable to run {prog}: "), err)
    }
}

/// A program's name, used as the prefix of its diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct Prog(pub &'static str);

impl Prog {
    pub fn name(&self) -> &'static str {
        self.0
    }

    /// `PROG: warning: msg`.
    pub fn warn(&self, msg: impl Display) {
        emit(format_args!("{}: warning: {msg}\n", self.0));
    }

    /// `PROG: info: msg`.
    pub fn info(&self, msg: impl Display) {
        emit(format_args!("{}: info: {msg}\n", self.0));
    }

    /// Print what `failure` calls for and exit with its code.
    pub fn die(&self, failure: Failure) -> ! {
        let code = match failure {
            Failure::Usage(text) => {
                emit(format_args!("{text}\n"));
                EXIT_USAGE
            }
            Failure::Fatal { code, msg } => {
                emit(format_args!("{}: fatal: {msg}\n", self.0));
                code
            }
            Failure::Silent(code) => code,
        };
        std::process::exit(code)
    }

    /// A whole `main`: run with the command line `args` (from the C entry point, see
    /// `program!`), then exit as the run says.
    pub fn main(
        &self,
        args: Vec<std::ffi::OsString>,
        run: fn(&[std::ffi::OsString]) -> Result<i32, Failure>,
    ) -> ! {
        self.finish(run(&args))
    }

    /// The end of every `main`: exit with the code a run returned, or die of its failure.
    pub fn finish(&self, result: Result<i32, Failure>) -> ! {
        match result {
            Ok(code) => std::process::exit(code),
            Err(failure) => self.die(failure),
        }
    }
}

/// Write one diagnostic with a single write(2), so concurrent writers never interleave inside a line.
pub fn emit(args: std::fmt::Arguments<'_>) {
    let line = args.to_string();
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// libqmail's `error_str`: the wording every djb-derived program prints for an errno.
pub fn errstr(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(n) => errno_str(n),
        None => match err.kind() {
            io::ErrorKind::NotFound => errno_str(libc::ENOENT),
            io::ErrorKind::PermissionDenied => errno_str(libc::EACCES),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => errno_str(libc::EINVAL),
            io::ErrorKind::OutOfMemory => errno_str(libc::ENOMEM),
            io::ErrorKind::UnexpectedEof => errno_str(libc::EIO),
            _ => "unknown error",
        },
    }
}

/// The errno table itself; on Linux EWOULDBLOCK is EAGAIN, so it reads "temporary failure".
pub fn errno_str(n: i32) -> &'static str {
    use libc::*;
    match n {
        0 => "no error",
        EINTR => "interrupted system call",
        ENOMEM => "out of memory",
        ENOENT => "file does not exist",
        ETXTBSY => "text busy",
        EIO => "input/output error",
        EEXIST => "file already exists",
        ETIMEDOUT => "timed out",
        EINPROGRESS => "operation in progress",
        EAGAIN => "temporary failure",
        EPIPE => "broken pipe",
        EPERM => "permission denied",
        EACCES => "access denied",
        ENXIO => "device not configured",
        EPROTO => "protocol error",
        EISDIR => "is a directory",
        ECONNREFUSED => "connection refused",
        ENOTDIR => "not a directory",
        ESRCH => "no such process",
        E2BIG => "argument list too long",
        ENOEXEC => "exec format error",
        EBADF => "file descriptor not open",
        ECHILD => "no child processes",
        EDEADLK => "operation would cause deadlock",
        EFAULT => "bad address",
        ENOTBLK => "not a block device",
        EBUSY => "device busy",
        EXDEV => "cross-device link",
        ENODEV => "device does not support operation",
        EINVAL => "invalid argument",
        ENFILE => "system cannot open more files",
        EMFILE => "process cannot open more files",
        ENOTTY => "not a tty",
        EFBIG => "file too big",
        ENOSPC => "out of disk space",
        ESPIPE => "unseekable descriptor",
        EROFS => "read-only file system",
        EMLINK => "too many links",
        EDOM => "input out of range",
        ERANGE => "output out of range",
        EALREADY => "operation already in progress",
        ENOTSOCK => "not a socket",
        EDESTADDRREQ => "destination address required",
        EMSGSIZE => "message too long",
        EPROTOTYPE => "incorrect protocol type",
        ENOPROTOOPT => "protocol not available",
        EPROTONOSUPPORT => "protocol not supported",
        ESOCKTNOSUPPORT => "socket type not supported",
        EOPNOTSUPP => "operation not supported",
        EPFNOSUPPORT => "protocol family not supported",
        EAFNOSUPPORT => "address family not supported",
        EADDRINUSE => "address already used",
        EADDRNOTAVAIL => "address not available",
        ENETDOWN => "network down",
        ENETUNREACH => "network unreachable",
        ENETRESET => "network reset",
        ECONNABORTED => "connection aborted",
        ECONNRESET => "connection reset",
        ENOBUFS => "out of buffer space",
        EISCONN => "already connected",
        ENOTCONN => "not connected",
        ESHUTDOWN => "socket shut down",
        ETOOMANYREFS => "too many references",
        ELOOP => "symbolic link loop",
        ENAMETOOLONG => "file name too long",
        EHOSTDOWN => "host down",
        EHOSTUNREACH => "host unreachable",
        ENOTEMPTY => "directory not empty",
        EUSERS => "too many users",
        EDQUOT => "disk quota exceeded",
        ESTALE => "stale NFS file handle",
        EREMOTE => "too many levels of remote in path",
        ENOLCK => "no locks available",
        ENOSYS => "system call not available",
        ENOSTR => "not a stream device",
        ETIME => "timer expired",
        ENOSR => "out of stream resources",
        ENOMSG => "no message of desired type",
        EBADMSG => "bad message type",
        EIDRM => "identifier removed",
        ENONET => "machine not on network",
        ENOLINK => "link severed",
        EADV => "advertise error",
        ESRMNT => "srmount error",
        ECOMM => "communication error",
        EMULTIHOP => "multihop attempted",
        EREMCHG => "remote address changed",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn djb_wording() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(errstr(&e), "file does not exist");
        assert_eq!(errno_str(libc::EWOULDBLOCK), "temporary failure");
        assert_eq!(errno_str(libc::EACCES), "access denied");
        assert_eq!(errno_str(libc::ELOOP), "symbolic link loop");
        assert_eq!(errno_str(9999), "unknown error");
    }

    #[test]
    fn failure_messages() {
        let e = io::Error::from_raw_os_error(libc::EISDIR);
        assert_eq!(
            Failure::exec("x", &e),
            Failure::Fatal {
                code: 111,
                msg: "unable to run x: is a directory".into()
            }
        );
    }
}
