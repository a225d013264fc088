//! `readproctitle io...`: show the most recent bytes of stdin in `ps` output, by
//! overwriting the memory of the last argument.

use indicore::{Failure, Prog};
use std::io::Read;

pub const PROG_NAME: Prog = Prog("readproctitle");

/// The shortest last argument that leaves room for a window.
pub const MIN_TITLE: usize = 5;

/// The rolling window: the first 3 bytes stay (e.g. `...`), the rest scrolls left.
pub struct Title<'a> {
    buf: &'a mut [u8],
}

impl<'a> Title<'a> {
    /// Fill `buf` with dots; `None` if it is shorter than [`MIN_TITLE`].
    pub fn new(buf: &'a mut [u8]) -> Option<Self> {
        if buf.len() < MIN_TITLE {
            return None;
        }
        buf.fill(b'.');
        Some(Title { buf })
    }

    /// Add one byte of input; NUL bytes are not shown.
    pub fn push(&mut self, b: u8) {
        if b == 0 {
            return;
        }
        let len = self.buf.len();
        self.buf.copy_within(4..len, 3);
        self.buf[len - 1] = b;
    }
}

/// Copy stdin into `title` until EOF (exit 0) or a read error (111).
pub fn run(title: Option<Title<'_>>) -> Result<i32, Failure> {
    let Some(mut title) = title else {
        return Err(Failure::Silent(100));
    };
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 256];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return Ok(0),
            Ok(n) => buf[..n].iter().for_each(|&b| title.push(b)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Failure::Silent(111)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_three_and_scrolls() {
        let mut b = *b"xxxxxxxx";
        let mut t = Title::new(&mut b).unwrap();
        for &c in b"hello\0" {
            t.push(c);
        }
        t.push(b'!');
        assert_eq!(&b, b"...ello!");
        let mut short = *b"abcd";
        assert!(Title::new(&mut short).is_none());
    }
}
