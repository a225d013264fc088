//! `supervise/info`: what supervise knows beyond the 21-byte status file (an extension, see
//! README "supervise/info"), so that the status file keeps the reference's layout byte for
//! byte. Three lines, each a name, a space and a right-aligned value, always 43 bytes, so
//! that supervise rewrites it in place with one write as it does the status file:
//!
//! ```text
//! pid       1234
//! ready 1
//! restarts          0
//! ```
//!
//! * `pid`: the pid the status file shows at the same time (the service's while up,
//!   supervise's otherwise); a reader that finds another pid in the status file read the
//!   two files across a change and reads again.
//! * `ready`: `1` the service wrote its readiness line on its `notification-fd`, `0` it has
//!   not yet, `-` readiness is not tracked (the service is down, or has no
//!   `notification-fd`).
//! * `restarts`: how many times `run` was started after the first start since this
//!   supervise began (any cause: a crash, `svc -r`, `svc -u` after `svc -d`).

use std::io::Write;
use std::path::Path;

/// Length of the file.
pub const LEN: usize = 43;

/// The record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// The pid the status file shows: the service's while up, supervise's otherwise.
    pub pid: u32,
    /// None: not tracked (down, or up without `notification-fd`).
    pub ready: Option<bool>,
    /// Starts of `run` after the first since supervise began.
    pub restarts: u32,
}

impl Info {
    /// The file's bytes.
    pub fn encode(&self) -> [u8; LEN] {
        let ready = match self.ready {
            None => '-',
            Some(false) => '0',
            Some(true) => '1',
        };
        let mut b = [0u8; LEN];
        // Fits: the widths are those of u32::MAX.
        let _ = write!(
            &mut b[..],
            "pid {:>10}\nready {ready}\nrestarts {:>10}\n",
            self.pid,
            self.restarts
        );
        b
    }

    /// Parse the file (names and order as written; any blank run between name and value).
    pub fn decode(b: &[u8]) -> Option<Info> {
        let text = std::str::from_utf8(b).ok()?;
        let mut lines = text.lines().map(|l| l.split_ascii_whitespace());
        let mut field = |name: &str| {
            let mut words = lines.next()?;
            (words.next()? == name).then_some(())?;
            words.next()
        };
        let pid = field("pid")?.parse().ok()?;
        let ready = match field("ready")? {
            "-" => None,
            "0" => Some(false),
            "1" => Some(true),
            _ => return None,
        };
        let restarts = field("restarts")?.parse().ok()?;
        Some(Info {
            pid,
            ready,
            restarts,
        })
    }
}

/// Read and decode `supervise/info` of a service directory's state (None when absent or
/// not in this format).
pub fn read(path: &Path) -> Option<Info> {
    let bytes = crate::status::read(path).ok()?;
    Info::decode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_length_round_trip() {
        for info in [
            Info {
                pid: 1,
                ready: None,
                restarts: 0,
            },
            Info {
                pid: u32::MAX,
                ready: Some(true),
                restarts: u32::MAX,
            },
            Info {
                pid: 4242,
                ready: Some(false),
                restarts: 17,
            },
        ] {
            let b = info.encode();
            assert_eq!(b.len(), LEN);
            assert_eq!(Info::decode(&b), Some(info));
        }
        assert_eq!(
            &Info {
                pid: 1234,
                ready: Some(true),
                restarts: 0
            }
            .encode(),
            b"pid       1234\nready 1\nrestarts          0\n"
        );
    }

    #[test]
    fn other_content_is_refused() {
        assert_eq!(Info::decode(b""), None);
        assert_eq!(Info::decode(b"pid 1\nready x\nrestarts 0\n"), None);
        assert_eq!(Info::decode(b"ready 1\npid 1\nrestarts 0\n"), None);
        assert_eq!(
            Info::decode(b"pid 1\nready 1\nrestarts 2\n"),
            Some(Info {
                pid: 1,
                ready: Some(true),
                restarts: 2
            })
        );
    }
}
