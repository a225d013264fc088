//! Black-box suite for the log selectors: logselect (a time range of a multilog directory,
//! across its rotated files) and qlogselect (the entries of a qmail-send log, by time and
//! envelope sender).

use blackbox::Cmd;
use std::fs;
use std::path::Path;

#[path = "toolkit_common/mod.rs"]
mod toolkit_common;
use toolkit_common::*;

/// A multilog directory `logs` with two rotated files and `current`, and the bound files
/// `start` (second 1000) and `stop` (second 2000).
fn log_tree() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("logselect")
        .tempdir()
        .unwrap();
    let logs = d.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let line = |s: u64, n: u32, text: &str| format!("{} {text}\n", label(s, n));
    fs::write(
        logs.join(format!("{}.s", label(900, 0))),
        line(800, 0, "too old") + &line(850, 0, "still too old"),
    )
    .unwrap();
    fs::write(
        logs.join(format!("{}.s", label(1500, 0))),
        line(999, 999_999_999, "just before")
            + &line(1000, 0, "the start")
            + &line(1200, 5, "inside")
            + "an unstamped line\n",
    )
    .unwrap();
    fs::write(
        logs.join("current"),
        line(1600, 0, "inside too")
            + "@short\n"
            + &line(2000, 0, "the stop")
            + &line(2500, 0, "later"),
    )
    .unwrap();
    fs::write(logs.join("state"), "").unwrap();
    stamp_file(&d.path().join("start"), 1000);
    stamp_file(&d.path().join("stop"), 2000);
    d
}

fn logselect(cwd: &Path, args: &[&str]) -> blackbox::Output {
    Cmd::bin("logselect").clean_env().cwd(cwd).args(args).run()
}

#[test]
fn logselect_copies_the_range_from_start_to_before_stop() {
    let d = log_tree();
    let want = format!(
        "{} the start\n{} inside\nan unstamped line\n{} inside too\n@short\n",
        label(1000, 0),
        label(1200, 5),
        label(1600, 0)
    );
    logselect(d.path(), &["logs", "start", "stop"]).assert(0, &want, "");
}

#[test]
fn logselect_range_within_the_current_file_only() {
    let d = log_tree();
    stamp_file(&d.path().join("late"), 1550);
    let want = format!("{} inside too\n@short\n", label(1600, 0));
    logselect(d.path(), &["logs", "late", "stop"]).assert(0, &want, "");
}

#[test]
fn logselect_usage_and_bad_arguments() {
    let d = log_tree();
    let usage = "logselect: usage: logselect dir start stop\n";
    logselect(d.path(), &[]).assert(111, "", usage);
    logselect(d.path(), &["logs", "start", "stop", "more"]).assert(111, "", usage);
    logselect(d.path(), &["./logs", "start", "stop"]).assert(
        111,
        "",
        "logselect: fatal: dir must not have '/' in it.\n",
    );
    let nofile = "logselect: fatal: a timestamp file does not exist.\n";
    logselect(d.path(), &["logs"]).assert(111, "", nofile);
    logselect(d.path(), &["logs", "start", "missing"]).assert(111, "", nofile);
    // no stop file: the range ends where it starts; the unstamped lines of the files
    // looked at are copied
    logselect(d.path(), &["logs", "start"]).assert(0, "an unstamped line\n", "");
    logselect(d.path(), &["nologs", "start", "stop"]).assert(
        111,
        "",
        "logselect: fatal: unable to switch to directory nologs: file does not exist\n",
    );
}

// ----- qlogselect -----

const QLOG: &str = "\
1700000000.100000 status: local 0/10 remote 0/20
garbage line
1700000001.000000 new msg 101
1700000001.100000 info msg 101: bytes 300 from <alice@example.com> qp 55 uid 1000
1700000001.200000 starting delivery 1: msg 101 to local bob@example.com
1700000001.300000 status: local 1/10 remote 0/20
1700000002.000000 new msg 102
1700000002.100000 info msg 102: bytes 400 from <Owner-List-Outgoing@VGER.rutgers.edu> qp 56 uid 1001
1700000002.200000 starting delivery 2: msg 102 to remote x@y.org
1700000002.500000 delivery 1: success: did_0+1+0/
1700000003.000000 end msg 101
1700000003.500000 delivery 2: deferral: Connection_refused/
1700000004.000000 bounce msg 102 qp 77
1700000004.100000 end msg 102
";

fn qlogselect(args: &[&str], input: &str) -> blackbox::Output {
    Cmd::bin("qlogselect")
        .clean_env()
        .env("TZ", "UTC")
        .args(args)
        .stdin(input)
        .run()
}

/// The lines of QLOG with these 1-based numbers.
fn lines(nums: &[usize]) -> String {
    let all: Vec<&str> = QLOG.lines().collect();
    nums.iter().map(|&n| format!("{}\n", all[n - 1])).collect()
}

#[test]
fn qlogselect_copies_every_message_and_reports_bad_lines() {
    qlogselect(&[], QLOG).assert(
        0,
        &lines(&[1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
        "Bad line: 'garbage line'\n",
    );
}

#[test]
fn qlogselect_selects_senders_by_pattern_without_case() {
    qlogselect(
        &["from", "owner-.*-outgoing@vger.rutgers.edu", "stripstatus"],
        QLOG,
    )
    .assert(
        0,
        &lines(&[7, 8, 9, 12, 13, 14]),
        "Bad line: 'garbage line'\n",
    );
    qlogselect(&["from", "alice@example"], QLOG).assert(
        0,
        &lines(&[1, 6]),
        "Bad line: 'garbage line'\n",
    );
}

#[test]
fn qlogselect_recomputes_status_lines() {
    let want = format!(
        "{}{}1700000001.200000 status: status: local 1/? remote /?\n{}{}{}\
         1700000002.200000 status: status: local 1/? remote 1/?\n{}\
         1700000002.500000 status: status: local 0/? remote 1/?\n{}{}\
         1700000003.500000 status: status: local 0/? remote 0/?\n{}{}",
        lines(&[3]),
        lines(&[4, 5]),
        lines(&[7]),
        lines(&[8]),
        lines(&[9]),
        lines(&[10]),
        lines(&[11]),
        lines(&[12]),
        lines(&[13]),
        lines(&[14])
    );
    qlogselect(&["stripstatus", "addstatus"], QLOG).assert(0, &want, "Bad line: 'garbage line'\n");
}

#[test]
fn qlogselect_time_range() {
    // start skips silently up to the first line at or after it; end stops after it
    qlogselect(&["start", "1700000002", "end", "1700000003"], QLOG).assert(
        0,
        &lines(&[7, 8, 9]),
        "",
    );
    // 2023-11-14 is 1699920000 in UTC: from the first line; a new msg line waits for its
    // info line, which is past the end
    qlogselect(&["start", "2023-11-14", "end", "1700000001"], QLOG).assert(
        0,
        &lines(&[1]),
        "Bad line: 'garbage line'\n",
    );
    // nothing at or after the start: the script's message for an empty line
    qlogselect(&["start", "2099-01-01"], QLOG).assert(0, "", "Bad line: ''\n");
    qlogselect(&[], "").assert(0, "", "Bad line: ''\n");
}

#[test]
fn qlogselect_argument_errors_as_the_script() {
    qlogselect(&["bogus"], "").assert(1, "", "Invalid argument 'bogus'\n");
    qlogselect(&["start"], "").assert(1, "", "Invalid time: ''\n");
    qlogselect(&["end", "yesterday"], "").assert(1, "", "Invalid time: 'yesterday'\n");
    qlogselect(&["start", "2024-13-01"], "").assert(255, "", "Month '12' out of range 0..11\n");
    qlogselect(&["start", "2023-02-29"], "").assert(255, "", "Day '29' out of range 1..28\n");
    qlogselect(&["from", "("], QLOG).assert(
        255,
        &lines(&[1]),
        "Bad line: 'garbage line'\nInvalid pattern: '('\n",
    );
}

#[test]
fn qlogselect_reads_files_named_after_an_empty_argument() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("log"), QLOG).unwrap();
    let o = Cmd::bin("qlogselect")
        .clean_env()
        .cwd(d.path())
        .args(["stripstatus", "0", "log", "nofile"])
        .run();
    o.assert(
        0,
        &lines(&[3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14]),
        "Bad line: 'garbage line'\nCan't open nofile: No such file or directory.\n",
    );
}
