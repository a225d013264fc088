//! TAI64N text labels (`@` + 24 lowercase hex digits) without allocation, and the
//! conversions the tai64n tools print. Labels come from core's [`Label`].

use indicore::tai::{Label, UNIX_EPOCH_TAI};

/// Length of a label: `@` and 24 hex digits.
pub const LABEL_LEN: usize = 25;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `@` + 24 lowercase hex digits.
pub fn label_text(label: Label) -> [u8; LABEL_LEN] {
    let mut out = [0u8; LABEL_LEN];
    out[0] = b'@';
    for (i, b) in label.to_bytes().iter().enumerate() {
        out[1 + 2 * i] = HEX[usize::from(b >> 4)];
        out[2 + 2 * i] = HEX[usize::from(b & 15)];
    }
    out
}

/// The label of now followed by a space: the prefix `t` and tai64n put on a line.
pub fn now_prefix() -> [u8; LABEL_LEN + 1] {
    let mut out = [b' '; LABEL_LEN + 1];
    out[..LABEL_LEN].copy_from_slice(&label_text(Label::now()));
    out
}

fn hex_value(b: u8, upper_too: bool) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        b'A'..=b'F' if upper_too => Some(u64::from(b - b'A' + 10)),
        _ => None,
    }
}

fn hex_number(digits: &[u8], upper_too: bool) -> Option<u64> {
    digits
        .iter()
        .try_fold(0u64, |acc, &b| Some(acc << 4 | hex_value(b, upper_too)?))
}

/// Parse a whole label at the start of `text`: `@` and 24 lowercase hex digits
/// (tai64nlocal and tai64nunix accept only lowercase, as the reference does).
pub fn parse_label(text: &[u8]) -> Option<Label> {
    if text.len() < LABEL_LEN || text[0] != b'@' {
        return None;
    }
    let secs = hex_number(&text[1..17], false)?;
    let nanos = hex_number(&text[17..25], false)? as u32;
    Some(Label { secs, nanos })
}

/// Seconds since the Unix epoch of a label (djb's clock: no leap seconds, offset 10).
pub fn unix_secs(label: Label) -> i64 {
    label.secs.wrapping_sub(UNIX_EPOCH_TAI) as i64
}

/// Append `n` in decimal, zero-padded to at least `width` digits.
pub fn put_decimal(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    out.resize(out.len() + width.saturating_sub(len), b'0');
    out.extend_from_slice(&digits[i..]);
}

/// Append a signed number: `-` and the digits for negatives, else as [`put_decimal`].
pub fn put_signed(out: &mut Vec<u8>, n: i64, width: usize) {
    if n < 0 {
        out.push(b'-');
    }
    put_decimal(out, n.unsigned_abs(), width);
}

/// tai64nunix's form: seconds (at least 9 digits) `.` nanoseconds (at least 9 digits).
pub fn put_unix(out: &mut Vec<u8>, label: Label) {
    put_signed(out, unix_secs(label), 9);
    out.push(b'.');
    put_decimal(out, u64::from(label.nanos), 9);
}

/// Broken-down local time of a label's second, remembered for the next label of the same
/// second (a log has many lines per second; localtime is the expensive part).
#[derive(Default)]
pub struct LocalClock {
    secs: Option<i64>,
    text: Vec<u8>,
}

extern "C" {
    fn tzset();
}

impl LocalClock {
    pub fn new() -> Self {
        // SAFETY: tzset reads TZ and the zone file once; localtime_r relies on it.
        unsafe { tzset() };
        LocalClock {
            secs: None,
            text: Vec::with_capacity(32),
        }
    }

    /// Append `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`; false (nothing appended) when the label's
    /// time is outside what localtime can represent.
    pub fn put_local(&mut self, out: &mut Vec<u8>, label: Label) -> bool {
        let secs = unix_secs(label);
        if self.secs != Some(secs) {
            self.text.clear();
            if !local_text(&mut self.text, secs) {
                self.secs = None;
                return false;
            }
            self.secs = Some(secs);
        }
        out.extend_from_slice(&self.text);
        out.push(b'.');
        put_decimal(out, u64::from(label.nanos), 9);
        true
    }
}

/// The broken-down local time of `secs` (None outside what localtime can represent).
pub use indicore::sys::time::local as local_tm;

fn local_text(out: &mut Vec<u8>, secs: i64) -> bool {
    let Some(tm) = local_tm(secs) else {
        return false;
    };
    let indicore::sys::time::LocalTime {
        year,
        month,
        mday,
        hour,
        min,
        sec,
        ..
    } = tm;
    put_signed(out, year, 0);
    for (sep, v) in [
        (b'-', month),
        (b'-', mday),
        (b' ', hour),
        (b':', min),
        (b':', sec),
    ] {
        out.push(sep);
        put_decimal(out, u64::try_from(v).unwrap_or(0), 2);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip() {
        let l = Label::from_text("@400000003b4a39c23294b13c").unwrap();
        assert_eq!(&label_text(l), b"@400000003b4a39c23294b13c");
        assert_eq!(parse_label(b"@400000003b4a39c23294b13c fatal"), Some(l));
        assert_eq!(parse_label(b"@400000003B4A39C23294B13C"), None);
        assert_eq!(parse_label(b"@400000003b4a39c23294b13"), None);
        assert_eq!(unix_secs(l), 994720184);
        let p = now_prefix();
        assert_eq!((p[0], p[25]), (b'@', b' '));
    }

    #[test]
    fn numbers() {
        let mut v = Vec::new();
        put_decimal(&mut v, 42, 9);
        v.push(b' ');
        put_decimal(&mut v, 4294967295, 9);
        v.push(b' ');
        put_signed(&mut v, -5, 3);
        v.push(b' ');
        put_unix(
            &mut v,
            Label::from_text("@400000003b4a39c23294b13c").unwrap(),
        );
        assert_eq!(v, b"000000042 4294967295 -005 994720184.848605500");
    }
}
