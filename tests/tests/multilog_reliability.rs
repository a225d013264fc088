//! Reliability tests of multilog (the multilog issue): nothing lost, nothing torn.
//!
//! * `kill_9_fifty_times_while_rotating`: numbered lines stream through one pipe while
//!   multilog, with a processor, is killed with SIGKILL at 50 random moments and restarted
//!   on the same directory each time. Afterwards the archives and `current` must hold the
//!   lines in order, without duplicates, whole (except the last line of a `.u` archive),
//!   missing only what a kill caught between read and write (one read per kill), and the
//!   processor's `state` must match the `.s` archives.
//! * `disk_full_pauses_and_loses_nothing` (root): a 1 MiB tmpfs fills up; multilog warns,
//!   pauses, and once space is freed writes everything.
//! * `disk_full_status_file_and_qfilelog` (root): the same for an `=file`, and qfilelog's
//!   warning, pause and TERM on a full disk.

use blackbox::{bin, is_root, skip, SYSTEM_PATH};
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The most one kill may lose: one read, which with `s4096` is at most half of 4096 bytes
/// (multilog reads at most half the room left before the next size rotation).
const MAX_READ: usize = 2048;

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors that we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are new and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Process groups to kill when the test ends, whatever happened (orphaned processors).
struct Groups(Vec<u32>);

impl Drop for Groups {
    fn drop(&mut self) {
        for &g in &self.0 {
            // SAFETY: kill(2) of a process group this test created.
            unsafe { libc::kill(-(g as libc::pid_t), libc::SIGKILL) };
        }
    }
}

/// A tiny generator for the kill moments (its seed is printed with the results).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Start a workspace program in `cwd` with only PATH in its environment, in a process
/// group of its own (killed when `groups` is dropped).
fn spawn(
    program: &str,
    args: &[&str],
    cwd: &Path,
    stdin: OwnedFd,
    stderr: File,
    groups: &mut Groups,
) -> Child {
    let child = blackbox::command(bin(program))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    groups.0.push(child.id());
    child
}

/// Start multilog on `dir`/L reading `input`, stderr appended to `dir`/stderr.
fn start(dir: &Path, input: &OwnedFd, args: &[&str], groups: &mut Groups) -> Child {
    let err = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr"))
        .unwrap();
    spawn(
        "multilog",
        args,
        dir,
        input.try_clone().unwrap(),
        err,
        groups,
    )
}

/// Wait for `child` to exit; fail with `what` after `secs` seconds.
fn wait_exit(child: &mut Child, secs: u64, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "{what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Fill a mounted tmpfs to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut f = File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&[0]);
    filler
}

/// Wait until `path` holds `text`, or fail after `secs` seconds.
fn wait_text(path: &Path, text: &str, secs: u64) {
    let start = Instant::now();
    while !fs::read_to_string(path).unwrap_or_default().contains(text) {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "no {text:?} in {}",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// One line of an archive or of current: `@label NNNNNNNN`, prefixed with `P` when it
/// went through the processor.
enum Line {
    Whole(u64),
    /// The end of a line whose start a killed multilog had read: `@label` + its last digits.
    Tail(String),
    Bad,
}

fn parse_line(line: &str, processed: bool) -> Line {
    let raw = match (processed, line.strip_prefix('P')) {
        (false, _) => line,
        (true, Some(raw)) => raw,
        (true, None) => return Line::Bad,
    };
    let b = raw.as_bytes();
    let labelled = b.len() >= 26
        && b[0] == b'@'
        && b[1..25].iter().all(|c| c.is_ascii_hexdigit())
        && b[25] == b' ';
    let digits = raw.get(26..).unwrap_or("x");
    if !labelled || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Line::Bad;
    }
    match digits.len() {
        8 => Line::Whole(digits.parse().expect("digits")),
        0..8 => Line::Tail(digits.to_string()),
        _ => Line::Bad,
    }
}

#[test]
fn kill_9_fifty_times_while_rotating() {
    const KILLS: usize = 50;
    // Marks each line with `P` and appends the batch's last line to the state, through
    // descriptors only (an orphaned processor must not touch the directory by name).
    const PROCESSOR: &str =
        "!cat <&4 >&5 && last= && while IFS= read -r l; do printf 'P%s\\n' \"$l\"; \
                             last=$l; done && printf '%s\\n' \"$last\" >&5";
    let args = ["t", PROCESSOR, "s4096", "n1000000", "./L"];
    // MULTILOG_KEEP=1 keeps the directory for a post-mortem.
    let t = tempfile::Builder::new()
        .prefix("multilog-kill.")
        .disable_cleanup(std::env::var_os("MULTILOG_KEEP").is_some())
        .tempdir()
        .unwrap();
    let dir = t.path();
    let l = dir.join("L");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill_9_fifty_times_while_rotating: seed {seed}");
    let mut rng = Rng(seed);
    let mut groups = Groups(Vec::new());

    let (read_end, write_end) = pipe();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut pipe = File::from(write_end);
            let mut n: u64 = 0;
            let mut batch = String::new();
            while !stop.load(Ordering::Relaxed) {
                batch.clear();
                for _ in 0..50 {
                    batch.push_str(&format!("{n:08}\n"));
                    n += 1;
                }
                pipe.write_all(batch.as_bytes()).expect("write to multilog");
            }
            n
        })
    };

    let mut kills = 0;
    let mut lock_busy = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while kills < KILLS {
        assert!(Instant::now() < deadline, "the kill loop takes too long");
        let mut child = start(dir, &read_end, &args, &mut groups);
        thread::sleep(Duration::from_millis(5 + rng.below(150)));
        if let Some(status) = child.try_wait().unwrap() {
            // A processor left behind by the previous kill may still hold the lock for
            // the moment between its fork and its exec: multilog refuses and exits 111.
            assert_eq!(status.code(), Some(111), "multilog ended early");
            lock_busy += 1;
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    // The last one runs to the end of the input.
    let mut last = loop {
        let mut child = start(dir, &read_end, &args, &mut groups);
        thread::sleep(Duration::from_millis(200));
        match child.try_wait().unwrap() {
            None => break child,
            Some(status) => assert_eq!(status.code(), Some(111), "multilog ended early"),
        }
    };
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    drop(read_end);
    assert_eq!(
        wait_exit(&mut last, 60, "multilog did not finish").code(),
        Some(0)
    );

    // Only lock refusals were reported.
    let err = fs::read_to_string(dir.join("stderr")).unwrap();
    for line in err.lines() {
        assert_eq!(
            line,
            "multilog: fatal: unable to lock directory ./L: temporary failure"
        );
    }
    assert_eq!(err.lines().count(), lock_busy);

    // The directory is in its clean state: archives, current (0744), lock, state.
    let mut names: Vec<String> = fs::read_dir(&l)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut files: Vec<(PathBuf, bool, bool)> = Vec::new(); // (path, processed, unclean)
    for n in &names {
        match n.as_str() {
            "current" | "lock" | "state" => {}
            _ => {
                let b = n.as_bytes();
                let code = b.get(26).copied();
                assert!(
                    b.len() == 27
                        && b[0] == b'@'
                        && b[25] == b'.'
                        && matches!(code, Some(b's' | b'u')),
                    "unexpected {n} in the log directory"
                );
                files.push((l.join(n), code == Some(b's'), code == Some(b'u')));
            }
        }
    }
    assert!(names.iter().any(|n| n == "state"));
    let current = l.join("current");
    assert_eq!(
        fs::metadata(&current).unwrap().permissions().mode() & 0o777,
        0o744
    );
    files.push((current, false, false));

    // Lines: in order, no duplicates, whole except the last line of a `.u` archive (cut by
    // a kill while written) and the first line a restarted multilog read when the killed
    // one had read that line's start (input read from a pipe cannot be put back).
    let mut seen: Vec<u64> = Vec::new();
    let mut last_of_s: Vec<String> = Vec::new();
    let (mut torn, mut tails) = (0, 0);
    let mut tail: Option<String> = None;
    for (path, processed, unclean) in &files {
        let text = fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let whole = line.ends_with('\n');
            match parse_line(line.trim_end_matches('\n'), *processed) {
                Line::Whole(n) if whole => {
                    let prev = seen.last().copied();
                    if let Some(prev) = prev {
                        assert!(n > prev, "{n} after {prev} in {}", path.display());
                    }
                    if let Some(t) = tail.take() {
                        let from = prev.map_or(0, |p| p + 1);
                        assert!(
                            (from..n).any(|m| format!("{m:08}").ends_with(&t)),
                            "{t:?} before {n} is not the end of a lost line"
                        );
                    }
                    seen.push(n);
                }
                Line::Tail(t) if whole && tail.is_none() => {
                    tail = Some(t);
                    tails += 1;
                }
                _ => {
                    assert!(
                        *unclean && i + 1 == lines.len(),
                        "torn line {line:?} in {}",
                        path.display()
                    );
                    torn += 1;
                }
            }
        }
        if *processed {
            let last = lines.last().expect("empty archive");
            last_of_s.push(
                last.trim_end_matches('\n')
                    .trim_start_matches('P')
                    .to_string(),
            );
        }
    }
    // Missing lines: only where a kill fell, at most one read's worth each. A gap can span
    // several kills (a restarted multilog killed before its first write), so each gap
    // needs at least gap/read kills of its own.
    let line_len = 35; // label, space, 8 digits, newline
    let max_per_kill = (MAX_READ / 9 + 1) as u64; // the input had 9 bytes a line
    let (mut gaps, mut kills_needed) = (0, 0);
    let mut expect = 0;
    for &n in &seen {
        if n != expect {
            gaps += 1;
            kills_needed += (n - expect).div_ceil(max_per_kill);
        }
        expect = n + 1;
    }
    assert_eq!(expect, written, "the end of the input is missing");
    assert!(
        kills_needed <= kills as u64,
        "{gaps} gaps need {kills_needed} kills of one read each; there were {kills}"
    );
    assert!(
        torn <= kills && tails <= kills,
        "{torn} torn, {tails} tails, {kills} kills"
    );
    // The processor's state lists the last line of every `.s` archive, in order: state
    // survived every crash and matches the archives exactly.
    let state = fs::read_to_string(l.join("state")).unwrap();
    assert_eq!(state.lines().collect::<Vec<_>>(), last_of_s);
    eprintln!(
        "{written} lines, {} archives, {kills} kills ({lock_busy} lock refusals), {gaps} gaps, \
         {} lines lost, {torn} torn, {tails} tails, {} bytes logged",
        files.len() - 1,
        written - seen.len() as u64,
        seen.len() * line_len
    );
}

/// A 1 MiB tmpfs mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("multilog-full.")
            .tempdir()
            .unwrap();
        let ok = blackbox::command("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs");
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = blackbox::command("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn disk_full_pauses_and_loses_nothing() {
    if !is_root() {
        return skip("disk_full_pauses_and_loses_nothing needs root to mount a tmpfs");
    }
    let fs1 = Tmpfs::mount();
    let full = fs1.dir.path();
    let out = tempfile::Builder::new()
        .prefix("multilog-full-out.")
        .tempdir()
        .unwrap();
    // Fill the filesystem, then free 100 kB.
    let filler = fill(full);
    let len = fs::metadata(&filler).unwrap().len();
    File::options()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len.saturating_sub(100 * 1024))
        .unwrap();
    let input: String = (0..5000)
        .map(|i| format!("{i:06} {}\n", "f".repeat(93)))
        .collect();
    let (read_end, write_end) = pipe();
    let mut groups = Groups(Vec::new());
    let err_path = out.path().join("stderr");
    let err = File::create(&err_path).unwrap();
    let mut child = spawn(
        "multilog",
        &["s100000", "n100", "./L"],
        full,
        read_end,
        err,
        &mut groups,
    );
    let writer = {
        let input = input.clone();
        thread::spawn(move || {
            let mut pipe = File::from(write_end);
            pipe.write_all(input.as_bytes()).unwrap();
        })
    };
    let warning = "multilog: warning: unable to write to ./L/current, pausing: out of disk space\n";
    wait_text(&err_path, warning, 30);
    assert!(
        child.try_wait().unwrap().is_none(),
        "multilog exited on a full disk"
    );
    // Paused, not gone: free the space and let it finish.
    fs::remove_file(&filler).unwrap();
    writer.join().unwrap();
    assert_eq!(
        wait_exit(&mut child, 60, "multilog did not resume").code(),
        Some(0)
    );
    let l = full.join("L");
    let mut names: Vec<String> = fs::read_dir(&l)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('@'))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no rotation happened");
    let mut logged = String::new();
    for n in names.iter().chain([&"current".to_string()]) {
        logged.push_str(&fs::read_to_string(l.join(n)).unwrap());
    }
    assert!(
        logged == input,
        "the log differs from the input ({} vs {} bytes)",
        logged.len(),
        input.len()
    );
    let err = fs::read_to_string(&err_path).unwrap();
    assert!(err.lines().all(|l| format!("{l}\n") == warning), "{err}");
}

#[test]
fn disk_full_status_file_and_qfilelog() {
    if !is_root() {
        return skip("disk_full_status_file_and_qfilelog needs root to mount a tmpfs");
    }
    let fs1 = Tmpfs::mount();
    let full = fs1.dir.path();
    let out = tempfile::Builder::new()
        .prefix("multilog-full-out.")
        .tempdir()
        .unwrap();
    let mut groups = Groups(Vec::new());
    // multilog's `=file` is created at start, then cannot be written: pause, retry, and
    // once there is room the last selected line is there.
    File::create(full.join("st")).unwrap();
    let filler = fill(full);
    let err = out.path().join("multilog.err");
    let (read_end, write_end) = pipe();
    let mut multilog = spawn(
        "multilog",
        &["=st"],
        full,
        read_end,
        File::create(&err).unwrap(),
        &mut groups,
    );
    let mut input = File::from(write_end);
    input.write_all(b"first\nlast\n").unwrap();
    wait_text(
        &err,
        "multilog: warning: unable to write st, pausing: out of disk space\n",
        30,
    );
    fs::remove_file(&filler).unwrap();
    drop(input);
    assert_eq!(multilog.wait().unwrap().code(), Some(0));
    let mut want = b"last".to_vec();
    want.resize(1001, b'\n');
    assert_eq!(fs::read(full.join("st")).unwrap(), want);

    // qfilelog on a full disk warns and pauses; TERM then ends it, saying what it dropped.
    let filler = fill(full);
    let err = out.path().join("qfilelog.err");
    let (read_end, write_end) = pipe();
    let mut qfilelog = spawn(
        "qfilelog",
        &["log"],
        full,
        read_end,
        File::create(&err).unwrap(),
        &mut groups,
    );
    let mut input = File::from(write_end);
    input.write_all(b"0123456789\n").unwrap();
    wait_text(
        &err,
        "qfilelog: warning: Can't write, pausing: No space left on device\n",
        30,
    );
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(qfilelog.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(qfilelog.wait().unwrap().code(), Some(0));
    wait_text(&err, "qfilelog: warning: 11 bytes not written\n", 5);
    drop((input, filler));
}
