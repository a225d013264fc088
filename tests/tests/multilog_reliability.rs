//! Reliability tests of multilog (the multilog issue): nothing lost, nothing torn.
//!
//! * `kill_9_two_hundred_times_while_rotating`: numbered lines stream through one pipe
//!   while multilog, with a processor, is killed with SIGKILL at 200 random moments and
//!   restarted on the same directory each time. At each kill the test measures how far the
//!   input was consumed; afterwards the archives and `current` must hold, of each killed
//!   process's share of the input, a prefix (what it had read and not yet written is the
//!   only loss: at most one read and the start of a line), the whole of the last share,
//!   nothing twice, nothing out of order; and the processor's `state` must match the `.s`
//!   archives.
//! * `disk_full_pauses_and_loses_nothing` (root): a 1 MiB tmpfs fills up; multilog warns,
//!   pauses, and once space is freed writes everything.
//! * `disk_full_status_file_and_qfilelog` (root): the same for an `=file`, and qfilelog's
//!   warning, pause and TERM on a full disk.

use blackbox::tmpfs::{fill, Tmpfs};
use blackbox::{bin, is_root, skip, SYSTEM_PATH};
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
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

/// What one line of an archive or of `current` holds: `@label NNNNNNNN`, prefixed with `P`
/// when it went through the processor.
enum Line {
    Whole(u64),
    /// Digits without their line number's start: the end of a line whose start a killed
    /// multilog had read.
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

/// Input line n is the 9 bytes `{n:08}\n` at offset 9n.
const LINE: u64 = 9;

/// The input writer: a non-blocking pipe, with what it has written counted under a lock
/// that the kill loop holds while it measures (so the count and the pipe agree).
struct Feed {
    written: u64,
    stop: bool,
}

fn unread(fd: &OwnedFd) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD on a pipe we hold writes one int.
    assert_eq!(
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) },
        0
    );
    n as u64
}

/// The contract the reference keeps and we keep: multilog reads, then writes what it read
/// before reading again; a SIGKILL loses exactly what the killed process had read and
/// not yet written (its last read, and the start of a line held to be decided), never
/// anything else; nothing is duplicated or reordered. The test measures, at each kill,
/// how far the input was consumed (`written - FIONREAD`), so that each process's share of
/// the input is known exactly, and checks that the log holds, of each share, a prefix, and
/// of the last share everything.
#[test]
fn kill_9_two_hundred_times_while_rotating() {
    const KILLS: usize = 200;
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
    eprintln!("kill_9_two_hundred_times_while_rotating: seed {seed}");
    let mut rng = Rng(seed);
    let mut groups = Groups(Vec::new());

    let (read_end, write_end) = pipe();
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(write_end.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let feed = Arc::new(Mutex::new(Feed {
        written: 0,
        stop: false,
    }));
    let writer = {
        let feed = feed.clone();
        thread::spawn(move || {
            let pipe = File::from(write_end);
            let mut n: u64 = 0;
            let mut batch = Vec::new();
            let mut off = 0;
            loop {
                if off == batch.len() {
                    batch.clear();
                    for _ in 0..50 {
                        batch.extend_from_slice(format!("{n:08}\n").as_bytes());
                        n += 1;
                    }
                    off = 0;
                }
                let mut f = feed.lock().unwrap();
                if f.stop {
                    assert_eq!(off, 0, "stopped between batches");
                    return;
                }
                match (&pipe).write(&batch[off..]) {
                    Ok(k) => {
                        off += k;
                        f.written += k as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        drop(f);
                        thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => panic!("write to multilog: {e}"),
                }
            }
        })
    };

    // Where each killed process's share of the input ended.
    let mut cuts: Vec<u64> = Vec::new();
    let mut lock_busy = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    while cuts.len() < KILLS {
        assert!(Instant::now() < deadline, "the kill loop takes too long");
        let mut child = start(dir, &read_end, &args, &mut groups);
        thread::sleep(Duration::from_millis(2 + rng.below(60)));
        let f = feed.lock().unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            // A processor left behind by the previous kill may still hold the lock for
            // the moment between its fork and its exec: multilog refuses and exits 111.
            assert_eq!(status.code(), Some(111), "multilog ended early");
            lock_busy += 1;
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        cuts.push(f.written - unread(&read_end));
        drop(f);
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
    thread::sleep(Duration::from_millis(100));
    feed.lock().unwrap().stop = true;
    writer.join().unwrap();
    let written = feed.lock().unwrap().written;
    assert_eq!(written % (50 * LINE), 0);
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
    let mut files: Vec<(PathBuf, bool)> = Vec::new(); // (path, processed)
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
                files.push((l.join(n), code == Some(b's')));
            }
        }
    }
    let current = l.join("current");
    assert_eq!(
        fs::metadata(&current).unwrap().permissions().mode() & 0o777,
        0o744
    );
    files.push((current, false));

    // Turn the log back into the input ranges it holds, in order: a whole line is its 9
    // bytes; a tail starts at a cut inside a line; a line without its newline (the last
    // of a `.u` archive, cut by the kill while written) holds the start of the next line.
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let mut last_of_s: Vec<String> = Vec::new();
    let mut next = 0u64; // the input offset the log has reached
    let mut torn = 0;
    for (path, processed) in &files {
        let text = fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let whole = line.ends_with('\n');
            let body = line.trim_end_matches('\n');
            let span = match parse_line(body, *processed) {
                Line::Whole(n) if whole => (n * LINE, n * LINE + LINE),
                Line::Tail(d) if whole => {
                    // It starts at the cut that ends the share before it.
                    let cut = *cuts
                        .iter()
                        .find(|&&c| {
                            c >= next && c % LINE != 0 && LINE - c % LINE == d.len() as u64 + 1
                        })
                        .unwrap_or_else(|| panic!("tail {d:?} at no cut after {next}"));
                    let n = cut / LINE;
                    assert!(
                        format!("{n:08}").ends_with(&d),
                        "tail {d:?} is not line {n}'s end"
                    );
                    (cut, n * LINE + LINE)
                }
                _ => {
                    assert!(
                        !whole && i + 1 == lines.len(),
                        "torn line {line:?} in {}",
                        path.display()
                    );
                    torn += 1;
                    let digits = body.get(26..).unwrap_or("").len() as u64;
                    (next, next + digits)
                }
            };
            assert!(
                span.0 >= next,
                "{span:?} repeats or reorders input before {next}"
            );
            next = span.1;
            if span.1 > span.0 {
                spans.push(span);
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
    // Each process's share [cut k-1, cut k): the log holds a prefix of it, and loses at
    // most its last read (with s4096, half of 4096 bytes) and the start of the line that
    // read began in; the last share is whole.
    let max_loss = MAX_READ as u64 + LINE - 1;
    let mut bounds = vec![0u64];
    bounds.extend(&cuts);
    bounds.push(written);
    let (mut lost, mut lossy_kills) = (0u64, 0usize);
    for w in bounds.windows(2) {
        let (from, to) = (w[0], w[1]);
        let mut covered = from;
        for &(a, b) in spans.iter().filter(|s| s.1 > from && s.0 < to) {
            assert_eq!(
                a.max(from),
                covered,
                "a gap inside the share [{from}, {to})"
            );
            covered = b.min(to);
        }
        let loss = to - covered;
        assert!(loss <= max_loss, "the kill at {to} lost {loss} bytes");
        if to == written {
            assert_eq!(loss, 0, "the end of the input is missing");
        }
        lost += loss;
        lossy_kills += usize::from(loss > 0);
    }
    // The processor's state lists the last line of every `.s` archive, in order: state
    // survived every crash and matches the archives exactly.
    let state = fs::read_to_string(l.join("state")).unwrap();
    assert_eq!(state.lines().collect::<Vec<_>>(), last_of_s);
    eprintln!(
        "{} lines, {} archives, {KILLS} kills ({lock_busy} lock refusals), {lossy_kills} kills \
         lost {lost} bytes ({} bytes at most per kill), {torn} torn, nothing duplicated",
        written / LINE,
        files.len() - 1,
        max_loss
    );
}

#[test]
fn disk_full_pauses_and_loses_nothing() {
    if !is_root() {
        return skip("disk_full_pauses_and_loses_nothing needs root to mount a tmpfs");
    }
    let fs1 = Tmpfs::mount("1m");
    let full = fs1.path();
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
    let fs1 = Tmpfs::mount("1m");
    let full = fs1.path();
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
