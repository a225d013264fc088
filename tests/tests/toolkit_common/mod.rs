//! Helpers shared by the toolkit suites: waiting for what a program writes, and TAI64N
//! labels and file times for log fixtures.
#![allow(dead_code)]

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// How long any condition may take to come true before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Wait until `f` holds, failing the test after [`PATIENCE`].
#[track_caller]
pub fn wait_for(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The file's text, or nothing while it does not exist.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The TAI64N label of a Unix second and nanosecond.
pub fn label(secs: u64, nanos: u32) -> String {
    format!("@{:016x}{nanos:08x}", 0x4000_0000_0000_000a_u64 + secs)
}

/// A file whose modification time is `secs`.
pub fn stamp_file(p: &Path, secs: u64) {
    let f = std::fs::File::create(p).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}
