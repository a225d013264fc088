//! Large-buffer input and output on raw descriptors for the filters (tai64n and friends):
//! one read(2) per buffer, output collected and written before the next read, so that
//! nothing waits in a buffer while the program waits for input.

use indicore::sys::{self, io::inherited};
use std::io;
use std::os::fd::RawFd;

/// Bytes asked for per read(2): a pipe's default capacity.
pub const READ_SIZE: usize = 64 * 1024;

/// Output collected before it is written; written when full and by [`Output::flush`].
pub struct Output {
    fd: RawFd,
    buf: Vec<u8>,
    limit: usize,
}

impl Output {
    pub fn new(fd: RawFd, limit: usize) -> Self {
        Output {
            fd,
            buf: Vec::with_capacity(limit + 64),
            limit,
        }
    }

    /// The pending bytes, for callers that format in place; call [`Output::spill`] after.
    pub fn pending(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Write what is pending once the buffer has reached its limit.
    #[inline]
    pub fn spill(&mut self) -> io::Result<()> {
        if self.buf.len() >= self.limit {
            self.flush()?;
        }
        Ok(())
    }

    #[inline]
    pub fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > self.limit {
            self.flush()?;
            if bytes.len() > self.limit {
                return sys::io::write_all(inherited(self.fd), bytes);
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        let r = sys::io::write_all(inherited(self.fd), &self.buf);
        self.buf.clear();
        r
    }
}

/// Stdin read in [`READ_SIZE`] pieces.
pub struct Input {
    fd: RawFd,
    buf: Vec<u8>,
}

impl Input {
    pub fn stdin() -> Self {
        Input {
            fd: 0,
            buf: vec![0; READ_SIZE],
        }
    }

    /// The next piece of input; empty at end of file. A non-blocking stdin is waited for.
    pub fn read(&mut self) -> io::Result<&[u8]> {
        loop {
            match sys::io::read(inherited(self.fd), &mut self.buf) {
                Ok(n) => return Ok(&self.buf[..n]),
                Err(e) if sys::errno(&e) == Some(sys::Errno::AGAIN) => {
                    sys::poll::readable(inherited(self.fd), None)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Position of the first `byte` in `hay` (the memchr crate's vectorised search).
#[inline]
pub fn find(byte: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(byte, hay)
}

/// Position of the last `byte` in `hay`.
#[inline]
pub fn find_last(byte: u8, hay: &[u8]) -> Option<usize> {
    memchr::memrchr(byte, hay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finders() {
        assert_eq!(find(b'\n', b"ab\ncd\n"), Some(2));
        assert_eq!(find_last(b'\n', b"ab\ncd\n"), Some(5));
        assert_eq!(find(b'\n', b""), None);
        assert_eq!(find_last(b'x', b"abc"), None);
    }
}
