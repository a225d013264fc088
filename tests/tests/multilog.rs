//! Black-box tests of multilog, the tai64n tools and qfilelog.
//!
//! `checkNN_*` tests are acceptance checks NN of docs/daemontools.md#acceptance-checks; the rest cover
//! #multilog, #the-tai64n-tools and #the-helpers (qfilelog), docs/decisions.md#d10 and #d11, the error paths, hostile input and the
//! reliability tests of the multilog issue (kill -9 while rotating, disk full). The kill -9
//! and disk-full tests are in tests/tests/multilog_reliability.rs.
//!
//! Every test works in its own temporary directory with umask 022 and an environment
//! holding only PATH (see `Cmd::clean_env`). Only Debian tools are used: sh, seq, tr, sed,
//! tail, cat, ls, strace.

use blackbox::{Cmd, Running};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("multilog.")
        .tempdir()
        .expect("create temp dir")
}

/// A workspace program run in `dir` with the clean environment.
fn tool(name: &str, dir: &Path) -> Cmd {
    Cmd::bin(name).clean_env().cwd(dir)
}

/// A system program (sh, strace) run in `dir` with the clean environment.
fn system(name: &str, dir: &Path) -> Cmd {
    Cmd::new(name).clean_env().cwd(dir)
}

fn multilog(dir: &Path, args: &[&str]) -> Cmd {
    tool("multilog", dir).args(args)
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The names in a directory, sorted (none while it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Is `name` an archive name `@` + 24 lowercase hex digits + `.` + `code`?
fn is_archive(name: &str, code: char) -> bool {
    let b = name.as_bytes();
    b.len() == 27
        && b[0] == b'@'
        && b[1..25]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && b[25] == b'.'
        && b[26] == code as u8
}

/// Archives with `code` in `dir`, oldest first.
fn archives(dir: &Path, code: char) -> Vec<PathBuf> {
    names(dir)
        .into_iter()
        .filter(|n| is_archive(n, code))
        .map(|n| dir.join(n))
        .collect()
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn read_str(p: &Path) -> String {
    String::from_utf8_lossy(&read(p)).into_owned()
}

/// Poll until `cond` holds; panic with `what` after `secs` seconds.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn contains(p: &Path, needle: &str) -> bool {
    fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: plain kill(2) of a child the test started and has not reaped.
    assert_eq!(
        unsafe { libc::kill(pid as libc::pid_t, sig) },
        0,
        "kill {pid}"
    );
}

/// True while a signal sent to `pid` is still waiting to be delivered.
fn signal_pending(pid: u32) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|v| !v.trim_start_matches('0').is_empty())
        })
}

/// Send `sig` and wait until the process has taken it (its handler has run).
fn signal(run: &Running, sig: i32) {
    kill(run.pid(), sig);
    wait_for(10, "signal delivery", || !signal_pending(run.pid()));
}

/// A line of `stamp` output: `@` + 24 lowercase hex digits + space.
fn has_label(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 26
        && b[0] == b'@'
        && b[1..25]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && b[25] == b' '
}

// ---------------------------------------------------------------------------------------
// Acceptance checks 37-47

#[test]
fn check37_alerts_and_selection() {
    let t = tmp();
    multilog(t.path(), &["e"])
        .stdin("one\ntwo")
        .run()
        .assert(0, "", "one\ntwo\n");
    multilog(t.path(), &["-*", "+one", "e"])
        .stdin("one\ntwo\n")
        .run()
        .assert(0, "", "one\n");
}

#[test]
fn check38_timestamped_alert() {
    let t = tmp();
    let out = multilog(t.path(), &["t", "e"]).stdin("x\n").run();
    out.assert_code(0);
    let err = out.stderr_str();
    assert!(
        has_label(&err) && err.len() == 28 && err.ends_with(" x\n"),
        "{out:?}"
    );
}

#[test]
fn check39_new_log_directory() {
    let t = tmp();
    let input: String = (1..=10).map(|i| format!("{i}\n")).collect();
    multilog(t.path(), &["./L"])
        .stdin(input.clone())
        .run()
        .assert(0, "", "");
    let l = t.path().join("L");
    assert_eq!(mode(&l), 0o755);
    assert_eq!(read_str(&l.join("current")), input);
    assert_eq!(mode(&l.join("current")), 0o744);
    assert_eq!(mode(&l.join("lock")), 0o600);
    assert_eq!(mode(&l.join("state")), 0o644);
    assert_eq!(names(&l), ["current", "lock", "state"]);
    // The new directory's mode follows the caller's umask (D11).
    multilog(t.path(), &["./M"])
        .umask(0o027)
        .stdin("x\n")
        .run()
        .assert_code(0);
    assert_eq!(mode(&t.path().join("M")), 0o750);
}

#[test]
fn check40_size_rotation_and_pruning() {
    let t = tmp();
    let input: String = (1..=100000).map(|i| format!("{i}\n")).collect();
    multilog(t.path(), &["s4096", "n3", "./L"])
        .stdin(input.clone())
        .run()
        .assert(0, "", "");
    let l = t.path().join("L");
    let s = archives(&l, 's');
    assert_eq!(s.len(), 2, "{:?}", names(&l));
    assert_eq!(names(&l).len(), 5, "{:?}", names(&l));
    for f in s.iter().chain([&l.join("current")]) {
        let b = read(f);
        assert!(b.len() <= 4096, "{} is {} bytes", f.display(), b.len());
        assert!(b.is_empty() || b.ends_with(b"\n"), "{}", f.display());
        assert_eq!(mode(f), 0o744);
    }
    // What is kept is the end of the input, in order.
    let kept: Vec<u8> = s
        .iter()
        .chain([&l.join("current")])
        .flat_map(|f| read(f))
        .collect();
    assert!(input.as_bytes().ends_with(&kept));
    assert!(kept.len() > 2 * 2096);
}

#[test]
fn check41_alarm_rotates_nonempty_logs() {
    let t = tmp();
    let l = t.path().join("L");
    let mut run = multilog(t.path(), &["./L"]).stdin_pipe().spawn();
    run.write_stdin(b"a\nb\nc\n");
    wait_for(10, "three lines in current", || {
        contains(&l.join("current"), "c\n")
    });
    signal(&run, libc::SIGALRM);
    wait_for(10, "an archive", || archives(&l, 's').len() == 1);
    let s = archives(&l, 's');
    assert_eq!(read_str(&s[0]), "a\nb\nc\n");
    assert_eq!(mode(&s[0]), 0o744);
    wait_for(10, "an empty current", || {
        read(&l.join("current")).is_empty()
    });
    // A second ALRM with nothing written: no new archive. The line written after it is
    // read after the ALRM was handled, so once it is in current the check is safe.
    signal(&run, libc::SIGALRM);
    run.write_stdin(b"d\n");
    wait_for(10, "d in current", || contains(&l.join("current"), "d\n"));
    assert_eq!(archives(&l, 's').len(), 1, "{:?}", names(&l));
    run.close_stdin();
    run.wait().assert(0, "", "");
    assert_eq!(read_str(&l.join("current")), "d\n");
}

#[test]
fn check41_no_size_limit_by_default() {
    let t = tmp();
    let line = format!("{}\n", "y".repeat(99));
    let input = line.repeat(100_000);
    multilog(t.path(), &["./L"])
        .stdin(input.clone())
        .run()
        .assert(0, "", "");
    let l = t.path().join("L");
    assert_eq!(names(&l), ["current", "lock", "state"]);
    assert_eq!(
        fs::metadata(l.join("current")).unwrap().len(),
        input.len() as u64
    );
    // `s0` is unlimited too.
    multilog(t.path(), &["s0", "./M"])
        .stdin(input)
        .run()
        .assert_code(0);
    assert_eq!(names(&t.path().join("M")), ["current", "lock", "state"]);
}

#[test]
fn check42_second_multilog_on_a_locked_dir() {
    let t = tmp();
    let l = t.path().join("L");
    let mut first = multilog(t.path(), &["./L"]).stdin_pipe().spawn();
    first.write_stdin(b"x\n");
    wait_for(10, "the first multilog", || {
        contains(&l.join("current"), "x\n")
    });
    multilog(t.path(), &["./L"]).stdin("y\n").run().assert(
        111,
        "",
        "multilog: fatal: unable to lock directory ./L: temporary failure\n",
    );
    first.close_stdin();
    first.wait().assert(0, "", "");
    assert_eq!(read_str(&l.join("current")), "x\n");
}

#[test]
fn check43_unclean_current_becomes_u_archive() {
    let t = tmp();
    let l = t.path().join("L");
    multilog(t.path(), &["./L"])
        .stdin("old\n")
        .run()
        .assert_code(0);
    fs::set_permissions(l.join("current"), fs::Permissions::from_mode(0o644)).unwrap();
    multilog(t.path(), &["./L"])
        .stdin("new\n")
        .run()
        .assert(0, "", "");
    let u = archives(&l, 'u');
    assert_eq!(u.len(), 1, "{:?}", names(&l));
    assert_eq!(read_str(&u[0]), "old\n");
    assert_eq!(read_str(&l.join("current")), "new\n");
    // A clean current is appended to instead.
    multilog(t.path(), &["./L"])
        .stdin("more\n")
        .run()
        .assert_code(0);
    assert_eq!(read_str(&l.join("current")), "new\nmore\n");
    assert_eq!(archives(&l, 'u').len(), 1);
}

#[test]
fn check44_status_file() {
    let t = tmp();
    multilog(t.path(), &["=st"])
        .stdin("hi\n")
        .run()
        .assert(0, "", "");
    let mut want = b"hi".to_vec();
    want.resize(1001, b'\n');
    assert_eq!(read(&t.path().join("st")), want);
    assert_eq!(mode(&t.path().join("st")), 0o600);
    // The last selected line wins; a longer earlier line leaves no trace.
    multilog(t.path(), &["-*", "+keep*", "=st"])
        .stdin("keep a much longer line than the last\nkeep me\nskip me\n")
        .run()
        .assert_code(0);
    let mut want = b"keep me".to_vec();
    want.resize(1001, b'\n');
    assert_eq!(read(&t.path().join("st")), want);
}

#[test]
fn check45_long_alert_is_cut() {
    let t = tmp();
    let line = "z".repeat(300);
    let out = multilog(t.path(), &["e"]).stdin(format!("{line}\n")).run();
    out.assert(0, "", &format!("{}...\n", &line[..200]));
    let exact = "w".repeat(200);
    multilog(t.path(), &["e"])
        .stdin(exact.clone())
        .run()
        .assert(0, "", &format!("{exact}\n"));
}

#[test]
fn check46_processor() {
    let t = tmp();
    let input: String = (1..=2000).map(|i| format!("line {i}\n")).collect();
    multilog(t.path(), &["!tr a-z A-Z", "s4096", "n100", "./L"])
        .stdin(input.clone())
        .run()
        .assert(0, "", "");
    let l = t.path().join("L");
    let s = archives(&l, 's');
    assert!(s.len() >= 3, "{:?}", names(&l));
    let mut all = String::new();
    for f in &s {
        all.push_str(&read_str(f));
    }
    all.push_str(&read_str(&l.join("current")));
    // Archives went through the processor; current has not yet.
    let cur = read_str(&l.join("current"));
    assert_eq!(
        all[..all.len() - cur.len()],
        input[..input.len() - cur.len()].to_uppercase()
    );
    assert!(input.ends_with(&cur));
    assert!(l.join("state").exists());
    for leftover in ["previous", "processed", "newstate"] {
        assert!(!l.join(leftover).exists(), "{leftover} left behind");
    }
}

#[test]
fn check47_tai_conversions() {
    let t = tmp();
    let label = "@400000003b4a39c23294b13c fatal\n";
    tool("tai64nlocal", t.path())
        .env("TZ", "UTC")
        .stdin(label)
        .run()
        .assert(0, "2001-07-09 23:09:44.848605500 fatal\n", "");
    tool("tai64nunix", t.path())
        .stdin(label)
        .run()
        .assert(0, "994720184.848605500 fatal\n", "");
    tool("tai64n2tai", t.path())
        .stdin(label)
        .run()
        .assert(0, "0994720194.848605500 fatal\n", "");
    tool("tai2tai64n", t.path())
        .stdin("0994720194.848605500 fatal\n")
        .run()
        .assert(0, label, "");
}

// ---------------------------------------------------------------------------------------
// multilog: lines, patterns, actions

#[test]
fn patterns_are_djb_match() {
    let t = tmp();
    let input =
        "named[135]: Cleaned cache of 3121 RRs.\nnamed[x]y]: Cleaned cache z\nhello\nhello world\n";
    let out = multilog(
        t.path(),
        &["-*", "+named[*]: Cleaned cache *", "+hello", "e"],
    )
    .stdin(input)
    .run();
    // The star stops at the first `]`: no backtracking, so the second line does not match.
    out.assert(0, "", "named[135]: Cleaned cache of 3121 RRs.\nhello\n");
    // Patterns see the label with `t`: the man page's `* fatal: *` has its first star
    // stop at the space after the label, so only a line starting with `fatal: ` matches.
    let out = multilog(t.path(), &["t", "-*", "+* fatal: *", "e"])
        .stdin("fatal: yes\nx fatal: no\n")
        .run();
    let err = out.stderr_str();
    assert_eq!(err.lines().count(), 1, "{out:?}");
    assert!(err.ends_with(" fatal: yes\n") && has_label(&err), "{out:?}");
}

#[test]
fn actions_apply_in_order_to_each_dir() {
    let t = tmp();
    multilog(
        t.path(),
        &["./all", "-*", "+b*", "./b", "+c*", "./bc", "-*", "e"],
    )
    .stdin("a1\nb1\nc1\n")
    .run()
    .assert(0, "", "");
    assert_eq!(read_str(&t.path().join("all/current")), "a1\nb1\nc1\n");
    assert_eq!(read_str(&t.path().join("b/current")), "b1\n");
    assert_eq!(read_str(&t.path().join("bc/current")), "b1\nc1\n");
}

#[test]
fn unknown_and_settings_actions_are_ignored_per_line() {
    let t = tmp();
    // `t` counts only first; `x` is unknown; an action starting with `e` is `e`.
    multilog(t.path(), &["x", "t", "elephant", "./L"])
        .stdin("plain\n")
        .run()
        .assert(0, "", "plain\n");
    assert_eq!(read_str(&t.path().join("L/current")), "plain\n");
    // No actions at all: input is read and dropped.
    multilog(t.path(), &[]).stdin("x\n").run().assert(0, "", "");
}

#[test]
fn thousand_byte_heads() {
    let t = tmp();
    let long = "q".repeat(1500);
    let out = multilog(t.path(), &["t", "=st", "e", "./L"])
        .stdin(format!("{long}\nshort"))
        .run();
    out.assert_code(0);
    // The directory gets the whole line, label included, and the final newline.
    let cur = read_str(&t.path().join("L/current"));
    let lines: Vec<&str> = cur.split_terminator('\n').collect();
    assert_eq!(lines.len(), 2);
    assert!(has_label(lines[0]) && lines[0].len() == 26 + 1500 && lines[0].ends_with(&long));
    assert!(has_label(lines[1]) && lines[1].ends_with(" short"));
    // `e` and `=` see only the first 1000 bytes (the label counts).
    let err = out.stderr_str();
    let first = err.lines().next().unwrap();
    assert_eq!(first.len(), 203);
    assert!(first.ends_with("..."));
    let st = read(&t.path().join("st"));
    assert_eq!(st.len(), 1001);
    assert!(st.starts_with(lines[1].as_bytes()));
    // A line longer than 1000 bytes never matches a pattern that needs its end.
    let line = format!("{}END", "k".repeat(1200));
    multilog(t.path(), &["-*", "+*END", "e"])
        .stdin(format!("{line}\n"))
        .run()
        .assert(0, "", "");
    multilog(t.path(), &["-*", "+k*", "e"])
        .stdin(format!("{line}\n"))
        .run()
        .assert(0, "", &format!("{}...\n", &line[..200]));
}

#[test]
fn hostile_input() {
    let t = tmp();
    // A 1 MB line, NUL bytes, binary data, no trailing newline.
    let mut input = vec![b'm'; 1 << 20];
    input.push(b'\n');
    input.extend_from_slice(b"nul\0in\0line\n\n");
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        input.push((x >> 16) as u8);
    }
    input.push(b'z');
    let out = multilog(t.path(), &["./L", "e"]).stdin(input.clone()).run();
    out.assert_code(0);
    let mut want = input.clone();
    if !want.ends_with(b"\n") {
        want.push(b'\n');
    }
    assert_eq!(read(&t.path().join("L/current")), want);
    // With labels: every line, however long, starts with one.
    multilog(t.path(), &["t", "./T"])
        .stdin(input.clone())
        .run()
        .assert(0, "", "");
    let cur = read(&t.path().join("T/current"));
    let lines: Vec<&[u8]> = cur
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let n = want.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(lines.len(), n);
    assert!(lines
        .iter()
        .all(|l| has_label(&String::from_utf8_lossy(&l[..26]))));
    assert_eq!(cur.len(), want.len() + 26 * n);
}

#[test]
fn term_finishes_the_current_line_and_leaves_the_rest() {
    let t = tmp();
    let l = t.path().join("L");
    // multilog reads a pipe that `cat` reads after it, to show what was left unread.
    let mut run = system("sh", t.path())
        .args(["-c", "multilog ./L; echo status=$? >rc; cat >rest"])
        .stdin_pipe()
        .spawn();
    // A line longer than 1000 bytes reaches the log before its end is read, which shows
    // that multilog is waiting in the middle of it.
    let long = "x".repeat(1500);
    run.write_stdin(format!("first\n{long}").as_bytes());
    wait_for(10, "the long line", || {
        fs::metadata(l.join("current")).is_ok_and(|m| m.len() == 6 + 1500)
    });
    let pid = child_of(run.pid());
    kill(pid, libc::SIGTERM);
    wait_for(10, "TERM delivery", || !signal_pending(pid));
    run.write_stdin(b"end\nnot read\n");
    wait_for(10, "multilog to exit", || t.path().join("rc").exists());
    run.close_stdin();
    run.wait().assert_code(0);
    assert_eq!(read_str(&t.path().join("rc")), "status=0\n");
    assert_eq!(read_str(&l.join("current")), format!("first\n{long}end\n"));
    assert_eq!(mode(&l.join("current")), 0o744);
    assert_eq!(read_str(&t.path().join("rest")), "not read\n");
}

#[test]
fn term_between_lines_exits_at_once() {
    let t = tmp();
    let l = t.path().join("L");
    let mut run = multilog(t.path(), &["./L"]).stdin_pipe().spawn();
    run.write_stdin(b"one\n");
    wait_for(10, "one", || contains(&l.join("current"), "one\n"));
    kill(run.pid(), libc::SIGTERM);
    // stdin stays open: only TERM can end it.
    let out = run.wait();
    out.assert(0, "", "");
    assert_eq!(mode(&l.join("current")), 0o744);
}

/// The only child of `pid` (waits for it to appear).
fn child_of(pid: u32) -> u32 {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let mut child = 0;
    wait_for(10, "a child process", || {
        child = fs::read_to_string(&path)
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        child != 0
    });
    child
}

#[test]
fn interrupt_and_hangup_turn_logging_off_and_on() {
    let t = tmp();
    let (l, all) = (t.path().join("L"), t.path().join("ALL"));
    // ./ALL sees every line (`+*` selects even when logging is off); ./L only while on.
    let mut run = multilog(t.path(), &["./L", "+*", "./ALL"])
        .stdin_pipe()
        .spawn();
    run.write_stdin(b"a\n");
    wait_for(10, "a", || contains(&all.join("current"), "a\n"));
    signal(&run, libc::SIGINT);
    run.write_stdin(b"b\n");
    wait_for(10, "b", || contains(&all.join("current"), "b\n"));
    signal(&run, libc::SIGHUP);
    run.write_stdin(b"c\n");
    run.close_stdin();
    run.wait().assert(0, "", "");
    assert_eq!(read_str(&l.join("current")), "a\nc\n");
    assert_eq!(read_str(&all.join("current")), "a\nb\nc\n");
}

#[test]
fn timed_rotation() {
    let t = tmp();
    let l = t.path().join("L");
    let mut run = multilog(t.path(), &["r1", "./L"]).stdin_pipe().spawn();
    run.write_stdin(b"tick\n");
    wait_for(10, "a timed rotation", || archives(&l, 's').len() == 1);
    assert_eq!(read_str(&archives(&l, 's')[0]), "tick\n");
    run.close_stdin();
    run.wait().assert(0, "", "");
}

#[test]
fn nofsync_skips_fsync() {
    // strace comes from TEST_PACKAGES_multilog (installed by `make test` as root).
    if !Path::new("/usr/bin/strace").exists() {
        return blackbox::skip("nofsync_skips_fsync needs strace");
    }
    let t = tmp();
    let input: String = (1..=3000).map(|i| format!("{i}\n")).collect();
    let count = |env: Option<&str>| {
        let mut cmd = system("strace", t.path()).args([
            "-f",
            "-qq",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            "trace",
        ]);
        if let Some(v) = env {
            cmd = cmd.args(["env", &format!("NOFSYNC={v}")]);
        }
        let out = cmd
            .arg(blackbox::bin("multilog"))
            .args(["s4096", "./L"])
            .stdin(input.clone())
            .run();
        out.assert_code(0);
        let trace = read_str(&t.path().join("trace"));
        fs::remove_dir_all(t.path().join("L")).unwrap();
        trace.lines().filter(|l| l.contains("sync(")).count()
    };
    assert!(count(None) >= 3);
    // Any value, even empty, turns fsync off (D11).
    assert_eq!(count(Some("")), 0);
    assert_eq!(count(Some("1")), 0);
}

// ---------------------------------------------------------------------------------------
// Processors and the rotation protocol

#[test]
fn processor_descriptors_and_state() {
    let t = tmp();
    let l = t.path().join("L");
    // The processor runs in the log dir with 0 previous, 1 processed, 4 state, 5 newstate,
    // and none of multilog's own descriptors; state carries from one run to the next.
    let processor = "!ls -l /proc/$$/fd; pwd; echo end; cat; n=$(cat <&4); echo $((n+1)) >&5";
    let input: String = (1..=1500).map(|i| format!("{i}\n")).collect();
    let out = multilog(t.path(), &[processor, "s4096", "./L"])
        .stdin(input.clone())
        .run();
    out.assert_code(0);
    let runs = archives(&l, 's').len();
    assert!(runs >= 2);
    assert_eq!(read_str(&l.join("state")), format!("{runs}\n"));
    let dir = l.canonicalize().unwrap().display().to_string();
    let mut all = String::new();
    for archive in archives(&l, 's') {
        // Each archive: the listing, the processor's cwd, "end", then the log lines.
        let text = read_str(&archive);
        let (listing, lines) = text.split_once("\nend\n").expect("processor output");
        all.push_str(lines);
        assert!(listing.ends_with(&dir), "cwd: {listing}");
        let mut into_dir: Vec<(String, String)> = listing
            .lines()
            .filter_map(|line| {
                let w: Vec<&str> = line.split_whitespace().collect();
                let arrow = w.iter().position(|&x| x == "->")?;
                let target = w.get(arrow + 1)?;
                target
                    .starts_with(&dir)
                    .then(|| (w[arrow - 1].to_string(), target[dir.len()..].to_string()))
            })
            .collect();
        into_dir.sort();
        let want = [
            ("0", "/previous"),
            ("1", "/processed"),
            ("4", "/state"),
            ("5", "/newstate"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(into_dir, want, "{listing}");
    }
    all.push_str(&read_str(&l.join("current")));
    assert_eq!(all, input);
}

#[test]
fn failed_processor_is_rerun() {
    let t = tmp();
    let l = t.path().join("L");
    // Fails the first time, then works; multilog warns, waits 5 s and reruns it.
    let processor = "!if test -e ../ran; then tr a-z A-Z; else touch ../ran; exit 3; fi";
    let out = multilog(t.path(), &[processor, "s4096", "./L"])
        .stdin("x".repeat(3000) + "\n" + &"y".repeat(3000) + "\n")
        .run();
    out.assert(
        0,
        "",
        "multilog: warning: processor failed in ./L, pausing\n",
    );
    // Each 3001-byte line passes the 2096-byte mark and ends a file.
    let s = archives(&l, 's');
    assert_eq!(s.len(), 2);
    assert_eq!(read_str(&s[0]), "X".repeat(3000) + "\n");
    assert_eq!(read_str(&s[1]), "Y".repeat(3000) + "\n");
    assert_eq!(read_str(&l.join("current")), "");
    assert!(out.elapsed >= Duration::from_secs(5));
}

/// A log dir left by a crash: the given files, `current` unclean (0644).
fn crashed_dir(t: &Path, files: &[(&str, &str, u32)]) -> PathBuf {
    let l = t.join("L");
    fs::create_dir(&l).unwrap();
    for (name, body, mode) in files {
        fs::write(l.join(name), body).unwrap();
        fs::set_permissions(l.join(name), fs::Permissions::from_mode(*mode)).unwrap();
    }
    l
}

#[test]
fn recovery_after_a_crash_during_rotation() {
    let t = tmp();
    let l = crashed_dir(
        t.path(),
        &[("previous", "p\n", 0o744), ("current", "c\npart", 0o644)],
    );
    multilog(t.path(), &["./L"])
        .stdin("new\n")
        .run()
        .assert(0, "", "");
    let u = archives(&l, 'u');
    assert_eq!(u.len(), 2, "{:?}", names(&l));
    // previous is older than current: archive names keep the order.
    assert_eq!(read_str(&u[0]), "p\n");
    assert_eq!(read_str(&u[1]), "c\npart");
    assert_eq!(read_str(&l.join("current")), "new\n");
    assert_eq!(read_str(&l.join("state")), "");
    assert_eq!(names(&l).len(), 5);
}

#[test]
fn recovery_keeps_finished_processor_output_and_state() {
    let t = tmp();
    // The processor had finished (processed is 0744): its output becomes the archive and
    // its newstate the state; the raw previous is dropped.
    let l = crashed_dir(
        t.path(),
        &[
            ("previous", "raw\n", 0o744),
            ("processed", "RAW\n", 0o744),
            ("state", "1\n", 0o644),
            ("newstate", "2\n", 0o644),
            ("current", "c\n", 0o644),
        ],
    );
    multilog(t.path(), &["!cat", "./L"])
        .stdin("")
        .run()
        .assert(0, "", "");
    let (s, u) = (archives(&l, 's'), archives(&l, 'u'));
    assert_eq!((s.len(), u.len()), (1, 1), "{:?}", names(&l));
    assert_eq!(read_str(&s[0]), "RAW\n");
    assert_eq!(read_str(&u[0]), "c\n");
    assert_eq!(read_str(&l.join("state")), "2\n");
    assert_eq!(names(&l).len(), 5, "{:?}", names(&l));
}

#[test]
fn recovery_discards_unfinished_processor_output() {
    let t = tmp();
    let l = crashed_dir(
        t.path(),
        &[
            ("previous", "raw\n", 0o744),
            ("processed", "RA", 0o644),
            ("state", "1\n", 0o644),
            ("newstate", "", 0o644),
            ("current", "c\n", 0o644),
        ],
    );
    multilog(t.path(), &["!cat", "./L"])
        .stdin("")
        .run()
        .assert(0, "", "");
    let u = archives(&l, 'u');
    assert_eq!(u.len(), 2, "{:?}", names(&l));
    assert_eq!(read_str(&u[0]), "raw\n");
    assert_eq!(read_str(&u[1]), "c\n");
    // The state of the last successful processor run is kept.
    assert_eq!(read_str(&l.join("state")), "1\n");
    assert_eq!(names(&l).len(), 5, "{:?}", names(&l));
}

#[test]
fn recovery_does_not_archive_twice() {
    let t = tmp();
    // A crash between link and unlink: previous already has its archive (two links).
    let l = crashed_dir(t.path(), &[("previous", "p\n", 0o744)]);
    let archive = l.join("@400000003b4a39c23294b13c.u");
    fs::hard_link(l.join("previous"), &archive).unwrap();
    multilog(t.path(), &["./L"])
        .stdin("")
        .run()
        .assert(0, "", "");
    assert_eq!(archives(&l, 'u'), std::slice::from_ref(&archive));
    assert_eq!(read_str(&archive), "p\n");
    assert_eq!(fs::metadata(&archive).unwrap().nlink(), 1);
}

#[test]
fn pruning_keeps_n_minus_one_and_survives_odd_entries() {
    let t = tmp();
    let l = t.path().join("L");
    fs::create_dir(&l).unwrap();
    // A directory named like an archive cannot be removed: it is counted, skipped, warned about.
    fs::create_dir(l.join("@000000000000000000000000.s")).unwrap();
    let input: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    let out = multilog(t.path(), &["s4096", "n4", "./L"])
        .stdin(input)
        .run();
    out.assert_code(0);
    assert!(
        out.stderr_str()
            .starts_with("multilog: warning: unable to remove ./L/@000000000000000000000000.s: "),
        "{out:?}"
    );
    assert_eq!(archives(&l, 's').len(), 3, "{:?}", names(&l));
}

// ---------------------------------------------------------------------------------------
// multilog: startup errors

#[test]
fn startup_errors() {
    let t = tmp();
    fs::write(t.path().join("file"), "").unwrap();
    let fail = |args: &[&str], msg: &str| {
        multilog(t.path(), args).stdin("x\n").run().assert(
            111,
            "",
            &format!("multilog: fatal: {msg}\n"),
        );
    };
    fail(
        &["./file/L"],
        "unable to create directory ./file/L: not a directory",
    );
    fail(
        &["./file"],
        "unable to open directory ./file: not a directory",
    );
    fail(
        &["./no/such/L"],
        "unable to create directory ./no/such/L: file does not exist",
    );
    fail(&["=no/st"], "unable to create no/st: file does not exist");
    // `=` files are opened before any directory is made.
    fail(
        &["./made", "=no/st"],
        "unable to create no/st: file does not exist",
    );
    assert!(!t.path().join("made").exists());
}

// ---------------------------------------------------------------------------------------
// tai64n family

#[test]
fn tai64n_labels_every_line() {
    let t = tmp();
    let out = tool("tai64n", t.path()).stdin("a\n\nb\0c\npartial").run();
    out.assert_code(0);
    let text = out.stdout_str();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| has_label(l)));
    assert_eq!(
        lines.iter().map(|l| &l[26..]).collect::<Vec<_>>(),
        ["a", "", "b\0c", "partial"]
    );
    tool("tai64n", t.path()).run().assert(0, "", "");
    // The labels are now, and tai64nunix reads them back.
    let out = system("sh", t.path())
        .args(["-c", "echo x | tai64n | tai64nunix; date +%s"])
        .run();
    let text = out.stdout_str();
    let mut l = text.lines();
    let stamped: f64 = l
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let now: f64 = l.next().unwrap().parse().unwrap();
    assert!((now - stamped).abs() < 5.0, "{text}");
}

#[test]
fn tai64n_write_error() {
    let t = tmp();
    let out = system("sh", t.path())
        .args(["-c", "echo x | tai64n >/dev/full"])
        .run();
    out.assert(
        111,
        "",
        "tai64n: fatal: unable to write output: out of disk space\n",
    );
}

#[test]
fn tai64nlocal_passes_other_lines_through() {
    let t = tmp();
    let input = "no label\n@400000003b4a39c23294b13c\n@4000 short\n@400000003B4A39C23294B13C upper\n\n@400000003b4a39c23294b13cx\n@400000003b4a39c23294b13c";
    tool("tai64nlocal", t.path()).env("TZ", "UTC").stdin(input).run().assert(
        0,
        "no label\n2001-07-09 23:09:44.848605500\n@4000 short\n@400000003B4A39C23294B13C upper\n\n\
         2001-07-09 23:09:44.848605500x\n2001-07-09 23:09:44.848605500",
        "",
    );
    tool("tai64nlocal", t.path())
        .env("TZ", "Asia/Kolkata")
        .stdin("@400000003b4a39c23294b13c fatal\n")
        .run()
        .assert(0, "2001-07-10 04:39:44.848605500 fatal\n", "");
    tool("tai64nunix", t.path())
        .stdin("@4000000000000001000000ff a\n@4000 b\n")
        .run()
        .assert(0, "-000000009.000000255 a\n@4000 b\n", "");
}

#[test]
fn tai64n2tai_and_back() {
    let t = tmp();
    // No NUL byte after passed-through lines (D10); either case of hex is accepted.
    let out = tool("tai64n2tai", t.path())
        .stdin(
            "plain\n@400000003B4A39C23294B13C up\n@40000001 other era\n@400000003b4a short\nlast",
        )
        .run();
    out.assert(
        0,
        "plain\n0994720194.848605500 up\n@40000001 other era\n@400000003b4a short\nlast",
        "",
    );
    tool("tai2tai64n", t.path())
        .stdin("no digits\n12.5 x\n.7\n\n99")
        .run()
        .assert(
            0,
            "@400000000000000000000000no digits\n@400000000000000c00000005 x\n\
             @400000000000000000000007\n@400000000000000000000000\n@400000000000006300000000",
            "",
        );
    let round = system("sh", t.path())
        .args([
            "-c",
            "seq 1 5 | tai64n | tai64n2tai | tai2tai64n | tai64nunix | cut -d' ' -f2",
        ])
        .run();
    round.assert(0, "1\n2\n3\n4\n5\n", "");
}

// ---------------------------------------------------------------------------------------
// qfilelog

#[test]
fn qfilelog_appends_and_exits_at_eof() {
    let t = tmp();
    let log = t.path().join("log");
    fs::write(&log, "old\n").unwrap();
    tool("qfilelog", t.path())
        .arg("log")
        .stdin("new\nlines")
        .run()
        .assert(0, "", "");
    assert_eq!(read_str(&log), "old\nnew\nlines");
    tool("qfilelog", t.path())
        .arg("fresh")
        .stdin("x\n")
        .run()
        .assert(0, "", "");
    assert_eq!(mode(&t.path().join("fresh")), 0o644);
    tool("qfilelog", t.path()).run().assert(
        1,
        "",
        "qfilelog: fatal error: usage: filelog filename\n",
    );
}

#[test]
fn qfilelog_hangup_reopens_and_term_stops() {
    let t = tmp();
    let log = t.path().join("log");
    let mut run = tool("qfilelog", t.path()).arg("log").stdin_pipe().spawn();
    run.write_stdin(b"one\n");
    wait_for(10, "one", || contains(&log, "one\n"));
    fs::rename(&log, t.path().join("log.1")).unwrap();
    signal(&run, libc::SIGHUP);
    run.write_stdin(b"two\n");
    wait_for(10, "two", || contains(&log, "two\n"));
    signal_no_wait(&run, libc::SIGTERM);
    run.wait().assert(0, "", "");
    assert_eq!(read_str(&t.path().join("log.1")), "one\n");
    assert_eq!(read_str(&log), "two\n");
}

fn signal_no_wait(run: &Running, sig: i32) {
    kill(run.pid(), sig);
}

// ---------------------------------------------------------------------------------------
// Descriptors set up by others

fn pipe(flags: i32) -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors that we then own.
    assert_eq!(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | flags) },
        0
    );
    // SAFETY: both descriptors are new and owned by nobody else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

#[test]
fn closed_stderr_does_not_stop_logging() {
    let t = tmp();
    let input: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    fs::write(t.path().join("in"), &input).unwrap();
    // stderr is a pipe nobody reads: `e` gets EPIPE, the log goes on.
    let (reader, writer) = pipe(0);
    drop(reader);
    let status = blackbox::command(blackbox::bin("multilog"))
        .args(["e", "./L"])
        .current_dir(t.path())
        .env_clear()
        .stdin(fs::File::open(t.path().join("in")).unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(read_str(&t.path().join("L/current")), input);
}

#[test]
fn filters_wait_on_a_nonblocking_stdin() {
    let t = tmp();
    for prog in ["tai64n", "tai64nlocal", "tai2tai64n"] {
        let (reader, writer) = pipe(libc::O_NONBLOCK);
        let feeder = std::thread::spawn(move || {
            use std::io::Write;
            let mut w = fs::File::from(writer);
            w.write_all(b"a\n").unwrap();
            // Leave the reader an empty non-blocking pipe for a moment (EAGAIN).
            std::thread::sleep(Duration::from_millis(100));
            w.write_all(b"b\n").unwrap();
        });
        let out = blackbox::command(blackbox::bin(prog))
            .current_dir(t.path())
            .env_clear()
            .stdin(reader)
            .output()
            .unwrap();
        feeder.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{prog}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            2,
            "{prog}: {out:?}"
        );
    }
}
