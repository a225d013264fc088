//! Numbers read as libqmail's scanners read them: what leads the text, never an error.

/// libqmail's scan_int: an optional sign and the digits that follow it; no digits is 0
/// (`9x` is 9, `abc` is 0). Saturates instead of wrapping.
pub fn scan_int(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &b| {
            n.saturating_mul(10).saturating_add(i64::from(b - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_int_as_libqmail() {
        assert_eq!(scan_int(b"30"), 30);
        assert_eq!(scan_int(b"-7x"), -7);
        assert_eq!(scan_int(b"+5"), 5);
        assert_eq!(scan_int(b"abc"), 0);
        assert_eq!(scan_int(b""), 0);
        assert_eq!(scan_int(b"99999999999999999999999"), i64::MAX);
    }
}
