//! The filters that rewrite a TAI64N label at the start of each line: tai64nlocal (local
//! date and time), tai64nunix (Unix seconds) and tai64n2tai (the older TAI text form).
//! Lines without a label, and labels that are malformed or not representable, pass
//! through unchanged.

use crate::io::{find, Input, Output};
use crate::stamp::{parse_label, put_decimal, put_unix, LocalClock, LABEL_LEN};
use std::io;

/// What a label becomes.
pub enum Form {
    /// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` in local time (24 lowercase hex digits).
    Local(LocalClock),
    /// Unix seconds (at least 9 digits) `.` nanoseconds (at least 9 digits).
    Unix,
    /// tai64n2tai: `@40000000` and 16 hex digits of either case become 10 digits of the
    /// label's low 32 seconds bits (the offset 10 kept) `.` 9 digits of nanoseconds.
    Tai,
}

/// Why a conversion stopped.
pub enum Error {
    Read(io::Error),
    Write(io::Error),
}

fn tai_form(head: &[u8], out: &mut Vec<u8>) -> bool {
    if head.len() < LABEL_LEN || &head[..9] != b"@40000000" {
        return false;
    }
    let hex = |s: &[u8]| {
        s.iter().try_fold(0u64, |n, &b| {
            let d = (b as char).to_digit(16)?;
            Some(n << 4 | u64::from(d))
        })
    };
    let (Some(secs), Some(nanos)) = (hex(&head[9..17]), hex(&head[17..25])) else {
        return false;
    };
    put_decimal(out, secs, 10);
    out.push(b'.');
    // Exactly 9 digits, as the reference's fixed-width formatter.
    put_decimal(out, nanos % 1_000_000_000, 9);
    true
}

/// The line-start state: collecting a possible label, or copying the rest of a line.
struct Converter {
    form: Form,
    /// Bytes of a line's start while it may still be a label.
    head: [u8; LABEL_LEN],
    headlen: usize,
    /// Inside a line whose start is settled.
    in_rest: bool,
}

impl Converter {
    /// Settle the collected head: convert it if it is a label, else copy it.
    fn settle(&mut self, out: &mut Output) -> io::Result<()> {
        let head = &self.head[..self.headlen];
        let converted = match (&mut self.form, parse_label(head)) {
            (Form::Tai, _) => tai_form(head, out.pending()),
            (Form::Local(clock), Some(label)) => clock.put_local(out.pending(), label),
            (Form::Unix, Some(label)) => {
                put_unix(out.pending(), label);
                true
            }
            (_, None) => false,
        };
        if !converted {
            out.put(head)?;
        }
        out.spill()?;
        self.headlen = 0;
        self.in_rest = true;
        Ok(())
    }

    fn feed(&mut self, mut data: &[u8], out: &mut Output) -> io::Result<()> {
        while !data.is_empty() {
            if !self.in_rest {
                if self.headlen == 0 && data[0] != b'@' {
                    self.in_rest = true;
                    continue;
                }
                // Collect up to a label's length, stopping before a newline.
                let want = LABEL_LEN - self.headlen;
                let take = data[..data.len().min(want)]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(data.len().min(want));
                self.head[self.headlen..self.headlen + take].copy_from_slice(&data[..take]);
                self.headlen += take;
                data = &data[take..];
                if self.headlen == LABEL_LEN || !data.is_empty() {
                    self.settle(out)?;
                }
                continue;
            }
            let end = find(b'\n', data).map_or(data.len(), |i| i + 1);
            out.put(&data[..end])?;
            if data[end - 1] == b'\n' {
                self.in_rest = false;
            }
            data = &data[end..];
        }
        Ok(())
    }
}

/// Convert stdin to stdout until end of input.
pub fn convert(form: Form) -> Result<(), Error> {
    let mut input = Input::stdin();
    let mut out = Output::new(1, 128 * 1024);
    let mut conv = Converter {
        form,
        head: [0; LABEL_LEN],
        headlen: 0,
        in_rest: false,
    };
    loop {
        out.flush().map_err(Error::Write)?;
        let data = input.read().map_err(Error::Read)?;
        if data.is_empty() {
            if conv.headlen > 0 {
                conv.settle(&mut out).map_err(Error::Write)?;
                out.flush().map_err(Error::Write)?;
            }
            return Ok(());
        }
        conv.feed(data, &mut out).map_err(Error::Write)?;
    }
}
