//! tcpserver's log lines on fd 2 (docs/ucspi-tcp.md#log-lines): one write(2) per line, shown when the
//! verbosity (0 `-q`, 1 default, 2 `-v`) reaches the line's level.

use std::fmt::{self, Write as _};

/// Where log lines go, and how many of them.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub verbosity: u8,
}

impl Log {
    /// `tcpserver: ` followed by `args`, when `level` is shown.
    pub fn at(&self, level: u8, args: fmt::Arguments<'_>) {
        if self.verbosity < level {
            return;
        }
        let mut line = String::with_capacity(128);
        line.push_str("tcpserver: ");
        let _ = line.write_fmt(args);
        line.push('\n');
        write_all(2, line.as_bytes());
    }

    /// `tcpserver: warning: dropping connection, ...` (level 1).
    pub fn drop_connection(&self, args: fmt::Arguments<'_>) {
        self.at(1, format_args!("warning: dropping connection, {args}"));
    }
}

/// Write all of `buf` to `fd`, retrying short writes and EINTR; errors are dropped
/// (a log that cannot be written must not stop the server).
pub fn write_all(fd: i32, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: write from a live buffer of the given length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// A host, address, info or port field as the `ok`, `deny` and `status` lines print it:
/// at most 100 bytes then `...`, bytes outside 33..=126 and `%` replaced by `?`.
pub struct Safe<'a>(pub &'a [u8]);

impl fmt::Display for Safe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0.iter().take(100) {
            let c = if (33..=126).contains(&b) && b != b'%' {
                b as char
            } else {
                '?'
            };
            f.write_char(c)?;
        }
        if self.0.len() > 100 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitised_fields() {
        assert_eq!(Safe(b"a b%c\x7f\xc3").to_string(), "a?b?c??");
        let long = vec![b'x'; 120];
        assert_eq!(Safe(&long).to_string(), format!("{}...", "x".repeat(100)));
        assert_eq!(Safe(b"").to_string(), "");
    }
}
