//! `tai64n` and `tai64nlocal`: the multilog workload's 1,000,000 lines of 100 bytes
//! through `tai64n` (target: at least 2 times Debian's throughput), and `tai64nlocal` over
//! the labelled result (the ratio is reported). Both run with only PATH in the
//! environment, so local time comes from the system's zone file.

use std::path::Path;

use super::multilog::{interleaved, print_speed, timed_run, write_input, LINES, LINE_BYTES};
use crate::error::{BenchError, Result};
use crate::side::Side;
use crate::tempdir::TempDir;

const TARGET_SPEEDUP: f64 = 2.0;
/// Bytes a label adds (`@` + 24 hex digits + space) and a local time adds over a label
/// (`YYYY-MM-DD HH:MM:SS.nnnnnnnnn` is 29 bytes where the label was 25).
const LABEL_BYTES: u64 = 26;
const LOCAL_EXTRA: u64 = 4;

fn check_size(side: &Side, program: &str, path: &Path, want: u64) -> Result<()> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len != want {
        return Err(BenchError::Fatal(format!(
            "{}: {program} wrote {len} bytes, want {want}",
            side.label
        )));
    }
    Ok(())
}

pub fn tai64n_report(ours: &Side, theirs: &Side, rounds: u32, verbose: bool) -> Result<bool> {
    for side in [ours, theirs] {
        side.require(&["tai64n"])?;
    }
    let tmp = TempDir::new("bench-tai64n")?;
    let input = write_input(tmp.path())?;
    let output = tmp.path().join("output");
    let want = LINES * (LINE_BYTES + LABEL_BYTES);
    let totals = interleaved([ours, theirs], rounds, verbose, |side| {
        let run = timed_run(side, "tai64n", &[], tmp.path(), &input, &output)?;
        check_size(side, "tai64n", &output, want)?;
        Ok(run)
    })?;
    Ok(print_speed(
        &format!("tai64n ({LINES} lines of {LINE_BYTES} bytes)"),
        &totals,
        [ours.label, theirs.label],
        Some(TARGET_SPEEDUP),
    ))
}

pub fn tai64nlocal_report(ours: &Side, theirs: &Side, rounds: u32, verbose: bool) -> Result<bool> {
    for side in [ours, theirs] {
        side.require(&["tai64n", "tai64nlocal"])?;
    }
    let tmp = TempDir::new("bench-tai64nlocal")?;
    let input = write_input(tmp.path())?;
    // The same labelled file for both sides, made by the C tai64n.
    let labelled = tmp.path().join("labelled");
    timed_run(theirs, "tai64n", &[], tmp.path(), &input, &labelled)?;
    let output = tmp.path().join("output");
    let want = LINES * (LINE_BYTES + LABEL_BYTES + LOCAL_EXTRA);
    let totals = interleaved([ours, theirs], rounds, verbose, |side| {
        let run = timed_run(side, "tai64nlocal", &[], tmp.path(), &labelled, &output)?;
        check_size(side, "tai64nlocal", &output, want)?;
        Ok(run)
    })?;
    print_speed(
        &format!("tai64nlocal ({LINES} labelled lines)"),
        &totals,
        [ours.label, theirs.label],
        None,
    );
    Ok(true)
}
