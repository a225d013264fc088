//! What the suites reading `svstat -j`'s objects share (svstat, svps and svstatd print the
//! same object): the documented field names, in their order (README, "svc, svstat, svok,
//! svps").
#![allow(dead_code)]

/// The stable field names, in order.
pub const FIELDS: &[&str] = &[
    "name",
    "state",
    "pid",
    "seconds",
    "normally",
    "paused",
    "want",
    "remaining",
    "ready",
    "restarts",
    "error",
    "log",
];

/// Assert that the object text `line` has every field, in order (a parser's map may sort
/// them, so the text is read).
#[track_caller]
pub fn fields_in_order(line: &str) {
    let mut at = 0;
    for f in FIELDS {
        let key = format!("\"{f}\":");
        let i = line[at..]
            .find(&key)
            .unwrap_or_else(|| panic!("{f} missing or out of order in {line}"));
        at += i + key.len();
    }
}
