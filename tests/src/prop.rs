//! Helpers for the black-box property suites (`tests/tests/prop_*.rs`).
//!
//! * [`config`]: a proptest configuration with a case count that suits a suite running
//!   real binaries, raised (or lowered) by `PROPTEST_CASES`; failures are recorded in
//!   `tests/tests/SUITE.proptest-regressions` and replayed first on every run.
//! * [`Snapshot`]: every file, directory and symlink under a directory (type, mode,
//!   contents, target), to show that a program changed nothing but what it is for.
//! * [`mutate`]: byte-level damage to a valid input (flips, cuts, insertions, overwrites
//!   with extreme 32-bit values), for parsers of binary files.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The configuration of a black-box property: `default` cases unless `PROPTEST_CASES` says
/// otherwise, shrinking bounded to a minute. Failures are kept, as proptest does by default,
/// beside the suite in `SUITE.proptest-regressions` and replayed first on every run.
pub fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        max_shrink_time: 60_000,
        ..Config::default()
    }
}

/// A runner for a property checked against one long-lived process (a server started once
/// for all cases): `runner(n, file!())`. Failures are kept as with [`config`].
pub fn runner(default: u32, source_file: &'static str) -> TestRunner {
    TestRunner::new(Config {
        source_file: Some(source_file),
        ..config(default)
    })
}

/// True once our child `pid` has exited (it is not reaped: the pid stays ours).
pub fn exited(pid: u32) -> bool {
    // SAFETY: all-zero is a valid siginfo_t; waitid with WNOWAIT only inspects the child.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is valid to read for a WEXITED report (0 when nothing happened).
    rc != 0 || unsafe { info.si_pid() } != 0
}

/// What one path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        mode: u32,
        bytes: Vec<u8>,
    },
    Dir {
        mode: u32,
    },
    Link(PathBuf),
    /// A FIFO, socket or device: its type bits and mode.
    Other {
        mode: u32,
    },
}

/// Every path below a directory (relative to it), without following symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<PathBuf, Node>);

impl Snapshot {
    pub fn of(root: &Path) -> Snapshot {
        let mut map = BTreeMap::new();
        walk(root, Path::new(""), &mut map);
        Snapshot(map)
    }

    /// The paths that differ (added, removed or changed), except those `allowed` accepts.
    pub fn changes(&self, after: &Snapshot, allowed: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (p, n) in &self.0 {
            if after.0.get(p) != Some(n) && !allowed(p) {
                out.push(p.clone());
            }
        }
        for p in after.0.keys() {
            if !self.0.contains_key(p) && !allowed(p) {
                out.push(p.clone());
            }
        }
        out
    }
}

fn walk(root: &Path, rel: &Path, map: &mut BTreeMap<PathBuf, Node>) {
    let path = root.join(rel);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o7777;
    let ft = meta.file_type();
    let node = if ft.is_symlink() {
        Node::Link(fs::read_link(&path).unwrap_or_default())
    } else if ft.is_dir() {
        if let Ok(entries) = fs::read_dir(&path) {
            for e in entries.flatten() {
                walk(root, &rel.join(e.file_name()), map);
            }
        }
        Node::Dir { mode }
    } else if ft.is_file() {
        Node::File {
            mode,
            bytes: fs::read(&path).unwrap_or_default(),
        }
    } else {
        Node::Other { mode: meta.mode() }
    };
    map.insert(rel.to_path_buf(), node);
}

/// One way to damage a binary file.
#[derive(Debug, Clone)]
pub enum Damage {
    /// Cut the file at this fraction (per mille) of its length.
    Truncate(u16),
    /// Flip one bit at this position (modulo the length).
    Flip(usize, u8),
    /// Overwrite 4 bytes at this position (modulo the length) with a little-endian value.
    Word(usize, u32),
    /// Insert bytes at this position (modulo the length + 1).
    Insert(usize, Vec<u8>),
}

/// A strategy for damage: few, small steps, with the 32-bit values that break readers
/// (0, 1, huge, the file's own length region, all ones).
pub fn damage() -> impl Strategy<Value = Damage> {
    let word = prop_oneof![
        Just(0u32),
        Just(1u32),
        Just(2048u32),
        Just(0x7fff_ffff),
        Just(0xffff_fff8),
        Just(u32::MAX),
        0u32..4096,
        any::<u32>(),
    ];
    prop_oneof![
        (0u16..1000).prop_map(Damage::Truncate),
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Damage::Flip(p, b)),
        (any::<usize>(), word).prop_map(|(p, w)| Damage::Word(p, w)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(p, v)| Damage::Insert(p, v)),
    ]
}

/// Apply damage to `bytes`.
pub fn mutate(bytes: &mut Vec<u8>, damage: &[Damage]) {
    for d in damage {
        let len = bytes.len();
        match d {
            Damage::Truncate(per_mille) => bytes.truncate(len * *per_mille as usize / 1000),
            Damage::Flip(p, bit) if len > 0 => bytes[p % len] ^= 1 << bit,
            Damage::Word(p, w) if len >= 4 => {
                // Aligned like the format's own words, most of the time.
                let at = (p % (len - 3)) & !3;
                bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
            Damage::Insert(p, v) => {
                let at = p % (len + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            _ => {}
        }
    }
}
