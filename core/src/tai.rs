//! TAI64N labels as daemontools prints them: `@` and 24 lowercase hex digits.
//!
//! djb's clock adds only the constant 10 to the Unix seconds (no leap-second
//! table), so the seconds field is `0x400000000000000a + unix_seconds`; the
//! `tai64` crate supplies the 12-byte external format.

use std::time::{SystemTime, UNIX_EPOCH};
use tai64::{Tai64, Tai64N};

/// TAI64 seconds of the Unix epoch as daemontools counts them.
pub const UNIX_EPOCH_TAI: u64 = 0x4000_0000_0000_000a;

/// A TAI64N instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    pub secs: u64,
    pub nanos: u32,
}

impl Label {
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        Label {
            secs: UNIX_EPOCH_TAI + d.as_secs(),
            nanos: d.subsec_nanos(),
        }
    }

    /// Seconds since the Unix epoch (may be negative for labels before it).
    pub fn unix_secs(&self) -> i64 {
        self.secs.wrapping_sub(UNIX_EPOCH_TAI) as i64
    }

    /// The 12-byte external TAI64N format.
    pub fn to_bytes(self) -> [u8; 12] {
        Tai64N(Tai64(self.secs), self.nanos).to_bytes()
    }

    /// Parse the 12-byte external format (nanoseconds must be below 10^9).
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let t = Tai64N::from_slice(b).ok()?;
        Some(Label {
            secs: t.0 .0,
            nanos: t.1,
        })
    }

    /// `@` followed by 24 lowercase hex digits.
    pub fn to_text(self) -> String {
        let mut s = String::with_capacity(25);
        s.push('@');
        for b in self.to_bytes() {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Parse `@` + 24 hex digits (either case).
    pub fn from_text(s: &str) -> Option<Self> {
        let hex = s.strip_prefix('@')?;
        if hex.len() != 24 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let secs = u64::from_str_radix(&hex[..16], 16).ok()?;
        let nanos = u32::from_str_radix(&hex[16..], 16).ok()?;
        Some(Label { secs, nanos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reference_example() {
        let l = Label::from_text("@400000003b4a39c23294b13c").unwrap();
        assert_eq!(l.unix_secs(), 994720184);
        assert_eq!(l.nanos, 848605500);
        assert_eq!(l.to_text(), "@400000003b4a39c23294b13c");
        assert_eq!(Label::from_bytes(&l.to_bytes()), Some(l));
    }

    #[test]
    fn from_time_uses_the_constant_ten() {
        let t = UNIX_EPOCH + Duration::new(994720184, 848605500);
        assert_eq!(
            Label::from_system_time(t).to_text(),
            "@400000003b4a39c23294b13c"
        );
        assert!(Label::from_text("@400000003b4a39c23294b13").is_none());
        assert!(Label::from_text("400000003b4a39c23294b13cc").is_none());
    }
}
