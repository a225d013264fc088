//! The `supervise/status` file: IndiMail's 21-byte layout, written by supervise,
//! and the djb (18-byte) and daemontools-encore (20- or 40-byte) layouts, read by
//! svstat, svok and svc.
//!
//! | offset | size | IndiMail content |
//! |---|---|---|
//! | 0 | 12 | TAI64N of the last state change |
//! | 12 | 4 | pid, little-endian: the service when up, supervise itself when down |
//! | 16 | 1 | paused |
//! | 17 | 1 | want: `u`, `d`, or 0 for once |
//! | 18 | 2 | wait: 0, -2 waiting for a dependency, >0 delay seconds (host order) |
//! | 20 | 1 | up |

use indicore::tai::Label;

/// Length of the IndiMail status file.
pub const INDIMAIL_LEN: usize = 21;

/// What the want byte says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Up,
    Down,
    /// `svc -o`: run once, do not restart.
    Once,
}

impl Want {
    fn byte(self) -> u8 {
        match self {
            Want::Up => b'u',
            Want::Down => b'd',
            Want::Once => 0,
        }
    }

    fn from_byte(b: u8) -> Want {
        match b {
            b'u' => Want::Up,
            b'd' => Want::Down,
            _ => Want::Once,
        }
    }
}

/// Which program wrote a status file, told apart by its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Djb,
    Encore,
    IndiMail,
}

/// One decoded status record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub when: Label,
    pub pid: u32,
    pub paused: bool,
    pub want: Want,
    /// 0 not waiting, -2 waiting for the dependency, >0 the post-dependency delay.
    pub wait: i16,
    pub up: bool,
    pub layout: Layout,
}

impl Status {
    /// The 21 bytes supervise writes.
    pub fn encode(&self) -> [u8; INDIMAIL_LEN] {
        let mut b = [0u8; INDIMAIL_LEN];
        b[..12].copy_from_slice(&self.when.to_bytes());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b[16] = self.paused as u8;
        b[17] = self.want.byte();
        b[18..20].copy_from_slice(&self.wait.to_ne_bytes());
        b[20] = self.up as u8;
        b
    }

    /// Decode a whole status file; `None` for one too short. Like the reference, a file
    /// longer than 21 bytes is read as its first 21 (but for encore's 40).
    pub fn decode(b: &[u8]) -> Option<Status> {
        let layout = match b.len() {
            18 => Layout::Djb,
            20 | 40 => Layout::Encore,
            n if n >= INDIMAIL_LEN => Layout::IndiMail,
            _ => return None,
        };
        let secs = u64::from_be_bytes(b[..8].try_into().ok()?);
        let nanos = u32::from_be_bytes(b[8..12].try_into().ok()?);
        let pid = u32::from_le_bytes(b[12..16].try_into().ok()?);
        let (wait, up) = match layout {
            Layout::IndiMail => (i16::from_ne_bytes([b[18], b[19]]), b[20] != 0),
            // djb and encore store pid 0 when the service is down.
            Layout::Djb | Layout::Encore => (0, pid != 0),
        };
        Some(Status {
            when: Label { secs, nanos },
            pid,
            paused: b[16] != 0,
            want: Want::from_byte(b[17]),
            wait,
            up,
            layout,
        })
    }
}

/// Read a status file. supervise rewrites it in place with one write; a read racing that
/// write could in principle copy a mix of both records, so read until two reads agree.
pub fn read(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut last = std::fs::read(path)?;
    for _ in 0..4 {
        let again = std::fs::read(path)?;
        if again == last {
            break;
        }
        last = again;
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indimail_round_trip_and_byte_positions() {
        let s = Status {
            when: Label {
                secs: 0x400000000000000a + 5,
                nanos: 7,
            },
            pid: 0x01020304,
            paused: true,
            want: Want::Up,
            wait: -2,
            up: true,
            layout: Layout::IndiMail,
        };
        let b = s.encode();
        assert_eq!(&b[12..16], &[4, 3, 2, 1]);
        assert_eq!((b[16], b[17], b[20]), (1, b'u', 1));
        assert_eq!(i16::from_ne_bytes([b[18], b[19]]), -2);
        assert_eq!(Status::decode(&b), Some(s));
    }

    #[test]
    fn djb_and_encore_files() {
        let mut djb = [0u8; 18];
        djb[..8].copy_from_slice(&(0x400000000000000au64 + 100).to_be_bytes());
        djb[17] = b'd';
        let s = Status::decode(&djb).unwrap();
        assert_eq!(
            (s.layout, s.up, s.want, s.wait),
            (Layout::Djb, false, Want::Down, 0)
        );
        let mut enc = [0u8; 40];
        enc[12..16].copy_from_slice(&42u32.to_le_bytes());
        enc[17] = b'u';
        enc[18] = 3;
        let s = Status::decode(&enc).unwrap();
        assert_eq!((s.layout, s.up, s.pid), (Layout::Encore, true, 42));
        assert!(Status::decode(&[0u8; 19]).is_none());
        assert!(Status::decode(&[]).is_none());
    }

    mod props {
        use super::*;
        use crate::svstat::{format_line, Service};
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn status() -> impl Strategy<Value = Status> {
            (
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                prop_oneof![Just(Want::Up), Just(Want::Down), Just(Want::Once)],
                any::<i16>(),
                any::<bool>(),
            )
                .prop_map(|(secs, nanos, pid, paused, want, wait, up)| Status {
                    when: Label {
                        secs,
                        nanos: nanos % 1_000_000_000,
                    },
                    pid,
                    paused,
                    want,
                    wait,
                    up,
                    layout: Layout::IndiMail,
                })
        }

        proptest! {
            /// What supervise writes reads back the same.
            #[test]
            fn round_trip(s in status()) {
                prop_assert_eq!(Status::decode(&s.encode()), Some(s));
            }

            /// Bytes of any length and content: the four lengths a supervise writes decode
            /// (into a line svstat can print, with an exit code it documents), the others
            /// are refused.
            #[test]
            fn any_bytes(
                b in prop_oneof![
                    vec(any::<u8>(), 18),
                    vec(any::<u8>(), 20),
                    vec(any::<u8>(), 21),
                    vec(any::<u8>(), 40),
                    vec(any::<u8>(), 0..64),
                ],
                now in any::<u64>(),
                down in any::<bool>(),
            ) {
                match Status::decode(&b) {
                    None => prop_assert!(![18, 20, 21, 40].contains(&b.len())),
                    Some(s) => {
                        let now = Label { secs: now, nanos: 0 };
                        let service = Service { status: s, normally_down: down, info: None };
                        let (line, code) = format_line("svc", &service, now);
                        prop_assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
                        let words: Vec<&str> = line.split_whitespace().collect();
                        prop_assert_eq!(words[0], "svc:");
                        prop_assert!(["up", "down", "wait"].contains(&words[1]));
                        prop_assert_eq!(words[3].trim_end_matches(','), "seconds");
                        prop_assert!([0, 1, 3, 5].contains(&code));
                    }
                }
            }
        }
    }
}
