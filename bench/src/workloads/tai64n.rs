//! `tai64n` and `tai64nlocal`: the multilog workload's lines through `tai64n` (ours
//! against djb's, IndiMail's and s6's `s6-tai64n`), and `tai64nlocal` over the labelled
//! result. All run with only PATH in the environment, so local time comes from the
//! system's zone file. No target of issue 17 applies.

use std::path::Path;

use super::multilog::{lines, throughput, timed_run, write_input, LINE_BYTES};
use crate::cli::Options;
use crate::error::{BenchError, Result};
use crate::peers::Peers;
use crate::results::Target;
use crate::side::{Flavor, Side};
use crate::tempdir::TempDir;

/// Bytes a label adds (`@` + 24 hex digits + space) and a local time adds over a label
/// (`YYYY-MM-DD HH:MM:SS.nnnnnnnnn` is 29 bytes where the label was 25).
const LABEL_BYTES: u64 = 26;
const LOCAL_EXTRA: u64 = 4;

/// `name` as this side calls it (s6 prefixes its programs).
fn program(side: &Side, name: &'static str) -> String {
    match side.flavor {
        Flavor::S6 => format!("s6-{name}"),
        _ => name.to_string(),
    }
}

/// Ours, djb's, IndiMail's and s6's, those that have the program.
fn sides<'a>(peers: &'a Peers, name: &'static str) -> Result<Vec<&'a Side>> {
    let mut v = peers.daemontools();
    v.push(&peers.s6);
    for side in &v {
        side.require(&[&program(side, name)])?;
    }
    Ok(v)
}

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

/// Every side's `name` over `input`, whose output must be `want` bytes.
fn report(
    peers: &Peers,
    opts: &Options,
    name: &'static str,
    title: &str,
    input: &Path,
    want: u64,
) -> Result<()> {
    let sides = sides(peers, name)?;
    let dir = input.parent().unwrap_or(Path::new("/tmp"));
    let output = dir.join("output");
    throughput(
        title,
        &sides,
        lines(opts),
        opts,
        |_| Target::None,
        |side| {
            let program = program(side, name);
            let run = timed_run(side, &program, &[], dir, input, &output)?;
            check_size(side, &program, &output, want)?;
            Ok(run)
        },
    )
}

pub fn tai64n_report(peers: &Peers, opts: &Options) -> Result<()> {
    let lines = lines(opts);
    let tmp = TempDir::new("bench-tai64n")?;
    let input = write_input(tmp.path(), lines)?;
    let title = format!("tai64n ({lines} lines of {LINE_BYTES} bytes)");
    let want = lines * (LINE_BYTES + LABEL_BYTES);
    report(peers, opts, "tai64n", &title, &input, want)
}

pub fn tai64nlocal_report(peers: &Peers, opts: &Options) -> Result<()> {
    let lines = lines(opts);
    let tmp = TempDir::new("bench-tai64nlocal")?;
    let input = write_input(tmp.path(), lines)?;
    // The same labelled file for every side, made by djb's tai64n.
    let labelled = tmp.path().join("labelled");
    timed_run(
        &peers.daemontools,
        "tai64n",
        &[],
        tmp.path(),
        &input,
        &labelled,
    )?;
    let title = format!("tai64nlocal ({lines} labelled lines)");
    let want = lines * (LINE_BYTES + LABEL_BYTES + LOCAL_EXTRA);
    report(peers, opts, "tai64nlocal", &title, &labelled, want)
}
