//! A multilog command line: each argument is one action, told apart by its first byte.
//! `s`, `n` and `!` set what the following directory actions get; `t` counts only first.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Smallest and largest `s` values; 0 means unlimited (the reference's default).
pub const MIN_SIZE: u64 = 4096;
pub const MAX_SIZE: u64 = 16_777_215;
/// Default and smallest `n`.
pub const DEFAULT_NUM: u64 = 10;
pub const MIN_NUM: u64 = 2;

/// One automatically rotated log directory, with the settings in force where it was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSpec {
    pub path: Vec<u8>,
    /// Rotate near this many bytes; 0 = never by size.
    pub size: u64,
    /// Keep fewer than this many archives.
    pub num: u64,
    pub processor: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `-pattern`
    Deselect(Vec<u8>),
    /// `+pattern`
    Select(Vec<u8>),
    /// `e...`: selected lines to stderr.
    Alert,
    /// `=file`: the last selected line, padded to 1001 bytes.
    Status(Vec<u8>),
    /// `./dir` or `/dir`.
    Dir(DirSpec),
    /// `r<secs>`: a SIGALRM every secs seconds, aligned to multiples of secs.
    Timer(u64),
    /// `t`, `s`, `n`, `!` and unknown actions: nothing to do per line.
    Setting,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The first action starts with `t`: lines get a TAI64N label.
    pub timestamps: bool,
    pub actions: Vec<Action>,
}

/// djb's scan_ulong: the leading decimal digits (none = 0), saturating instead of wrapping.
pub fn leading_number(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
}

impl Script {
    pub fn parse(args: &[OsString]) -> Script {
        let mut size = 0;
        let mut num = DEFAULT_NUM;
        let mut processor: Option<Vec<u8>> = None;
        let mut actions = Vec::with_capacity(args.len());
        for arg in args {
            let a = arg.as_bytes();
            let rest = a.get(1..).unwrap_or_default();
            let action = match a.first() {
                Some(b'-') => Action::Deselect(rest.to_vec()),
                Some(b'+') => Action::Select(rest.to_vec()),
                Some(b'e') => Action::Alert,
                Some(b'=') => Action::Status(rest.to_vec()),
                Some(b'.' | b'/') => Action::Dir(DirSpec {
                    path: a.to_vec(),
                    size,
                    num,
                    processor: processor.clone(),
                }),
                Some(b'r') => Action::Timer(leading_number(rest).max(1)),
                Some(b's') => {
                    size = match leading_number(rest) {
                        0 => 0,
                        n => n.clamp(MIN_SIZE, MAX_SIZE),
                    };
                    Action::Setting
                }
                Some(b'n') => {
                    num = leading_number(rest).max(MIN_NUM);
                    Action::Setting
                }
                Some(b'!') => {
                    processor = Some(rest.to_vec());
                    Action::Setting
                }
                _ => Action::Setting,
            };
            actions.push(action);
        }
        let timestamps = args
            .first()
            .is_some_and(|a| a.as_bytes().first() == Some(&b't'));
        Script {
            timestamps,
            actions,
        }
    }

    pub fn dirs(&self) -> impl Iterator<Item = &DirSpec> {
        self.actions.iter().filter_map(|a| match a {
            Action::Dir(d) => Some(d),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Script {
        Script::parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn settings_apply_to_later_dirs() {
        let s = parse(&[
            "t",
            "s100",
            "./a",
            "n1",
            "!cat",
            "s99999999",
            "/b",
            "s0",
            "./c",
        ]);
        assert!(s.timestamps);
        let d: Vec<_> = s.dirs().cloned().collect();
        assert_eq!(
            (d[0].size, d[0].num, d[0].processor.is_none()),
            (4096, 10, true)
        );
        assert_eq!((d[1].size, d[1].num), (MAX_SIZE, 2));
        assert_eq!(d[1].processor.as_deref(), Some(&b"cat"[..]));
        assert_eq!(d[2].size, 0);
    }

    #[test]
    fn first_byte_decides() {
        let s = parse(&["x", "t", "elephant", "=st", "-a*", "+b", "r0", "r30", ""]);
        assert!(!s.timestamps);
        assert_eq!(
            s.actions,
            vec![
                Action::Setting,
                Action::Setting,
                Action::Alert,
                Action::Status(b"st".to_vec()),
                Action::Deselect(b"a*".to_vec()),
                Action::Select(b"b".to_vec()),
                Action::Timer(1),
                Action::Timer(30),
                Action::Setting,
            ]
        );
        assert_eq!(parse(&["sabc", "./x"]).dirs().next().unwrap().size, 0);
        assert_eq!(leading_number(b"99999999999999999999999"), u64::MAX);
    }
}
