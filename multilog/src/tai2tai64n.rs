//! `tai2tai64n`: the inverse of tai64n2tai. Every line starts with `<digits>[.<digits>]`
//! (possibly empty); it becomes `@40000000` + 8 hex digits of the seconds + 8 hex digits
//! of the fraction taken as a plain integer (as the reference does), then the rest of the
//! line. Errors: `tai2tai64n: read: ...` exit 1, `... write: ...` exit 2.

use crate::io::{find, Input, Output};
use crate::stamp::LABEL_LEN;
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("tai2tai64n");

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Where in a line the parser is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Nothing of the line read yet.
    Start,
    Seconds,
    Fraction,
    /// The label is out; copying.
    Rest,
}

struct Parser {
    part: Part,
    secs: u64,
    frac: u64,
}

fn label(secs: u64, frac: u64) -> [u8; LABEL_LEN] {
    let mut out = *b"@40000000________________";
    for i in 0..8 {
        out[9 + i] = HEX[((secs >> (28 - 4 * i)) & 15) as usize];
        out[17 + i] = HEX[((frac >> (28 - 4 * i)) & 15) as usize];
    }
    out
}

impl Parser {
    fn put_label(&mut self, out: &mut Output) -> std::io::Result<()> {
        self.part = Part::Rest;
        out.put(&label(self.secs, self.frac))
    }

    fn feed(&mut self, mut data: &[u8], out: &mut Output) -> std::io::Result<()> {
        while let Some(&b) = data.first() {
            match (self.part, b) {
                (Part::Start, _) => {
                    (self.secs, self.frac) = (0, 0);
                    self.part = Part::Seconds;
                    continue;
                }
                (Part::Seconds, b'0'..=b'9') => {
                    self.secs = self.secs.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
                }
                (Part::Seconds, b'.') => self.part = Part::Fraction,
                (Part::Fraction, b'0'..=b'9') => {
                    self.frac = self.frac.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
                }
                (Part::Seconds | Part::Fraction, _) => {
                    self.put_label(out)?;
                    continue;
                }
                (Part::Rest, _) => {
                    let end = find(b'\n', data).map_or(data.len(), |i| i + 1);
                    out.put(&data[..end])?;
                    if data[end - 1] == b'\n' {
                        self.part = Part::Start;
                    }
                    data = &data[end..];
                    continue;
                }
            }
            data = &data[1..];
        }
        Ok(())
    }
}

pub fn run(_args: &[OsString]) -> Result<i32, Failure> {
    let mut input = Input::stdin();
    let mut out = Output::new(1, 128 * 1024);
    let mut parser = Parser {
        part: Part::Start,
        secs: 0,
        frac: 0,
    };
    let result = loop {
        if let Err(e) = out.flush() {
            break ("write", 2, e);
        }
        let data = match input.read() {
            Ok(d) => d,
            Err(e) => break ("read", 1, e),
        };
        if data.is_empty() {
            // A final line of only digits still gets its label.
            let done = match parser.part {
                Part::Seconds | Part::Fraction => {
                    parser.put_label(&mut out).and_then(|()| out.flush())
                }
                _ => Ok(()),
            };
            match done {
                Ok(()) => return Ok(0),
                Err(e) => break ("write", 2, e),
            }
        }
        if let Err(e) = parser.feed(data, &mut out) {
            break ("write", 2, e);
        }
    };
    let (what, code, e) = result;
    indicore::diag::emit(format_args!("tai2tai64n: {what}: {}\n", errstr(&e)));
    Err(Failure::Silent(code))
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn label_from_numbers() {
        assert_eq!(&label(994720194, 848605500), b"@400000003b4a39c23294b13c");
        assert_eq!(&label(0, 0), b"@400000000000000000000000");
        assert_eq!(&label(0x1_0000_0001, 5), b"@400000000000000100000005");
    }
}
