//! Black-box suite for supervise, svc, svstat and svok: acceptance checks 1–29 of
//! docs/daemontools.md#acceptance-checks, the reliability tests of the supervise issue, and svstat on
//! djb and encore status files.
//!
//! Every test builds its own scan directory, runs `supervise` in a process group of its
//! own with DISABLE_RUN=1 (the run-fs mirror is tested separately, in a private mount
//! namespace), and asserts on what an administrator sees: files and modes, the status
//! bytes, svstat lines, exit codes, stderr, and what the run script recorded.

use blackbox::{bin, is_root, skip, test_path, Cmd, Output};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The run script of docs/daemontools.md#acceptance-checks: record the arguments, then sleep.
const RUN: &str = "#!/bin/sh\necho \"$@\" >>args\nexec sleep 1000\n";

/// How long any condition may take to come true before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

// ----- fixtures -----

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            dir: tempfile::Builder::new()
                .prefix("sv-test")
                .tempdir()
                .expect("temp dir"),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A service directory with an executable `run`.
    fn service(&self, name: &str, run: &str) -> PathBuf {
        let d = self.path(name);
        fs::create_dir_all(&d).unwrap();
        self.script(&format!("{name}/run"), run);
        d
    }

    fn write(&self, rel: &str, data: &str) {
        fs::write(self.path(rel), data).unwrap();
    }

    fn script(&self, rel: &str, body: &str) {
        let p = self.path(rel);
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    fn lines(&self, rel: &str) -> Vec<String> {
        self.read(rel).lines().map(str::to_string).collect()
    }

    /// The file's lines once it has at least `n`: supervise marks a service up when it
    /// forks, before `run` has written anything.
    #[track_caller]
    fn lines_when(&self, rel: &str, n: usize) -> Vec<String> {
        wait_until(&format!("{rel} has {n} lines"), || {
            self.read(rel).lines().count() >= n
        });
        self.lines(rel)
    }

    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    fn status(&self, name: &str) -> Vec<u8> {
        fs::read(self.path(&format!("{name}/supervise/status"))).unwrap_or_default()
    }

    /// A client program run in the scan directory.
    fn tool(&self, prog: &str) -> Cmd {
        Cmd::bin(prog)
            .cwd(self.dir.path())
            .env("PATH", test_path())
            .timeout(Duration::from_secs(30))
    }

    fn svc(&self, args: &[&str]) -> Output {
        self.tool("svc").args(args).run()
    }

    fn svstat(&self, name: &str) -> Output {
        self.tool("svstat").arg(name).run()
    }

    fn supervise(&self, name: &str) -> Sup {
        self.supervise_with(&[name], &[])
    }

    /// Start `supervise args...` in the scan directory, stderr into a file.
    fn supervise_with(&self, args: &[&str], env: &[(&str, &str)]) -> Sup {
        let tag = args.join("_").replace('/', "_");
        let err_path = self.path(&format!("supervise-{tag}.err"));
        let err = fs::File::create(&err_path).unwrap();
        let mut cmd = blackbox::command(bin("supervise"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("PATH", test_path())
            .env("DISABLE_RUN", "1")
            .env_remove("SETPGID")
            .env_remove("SHUTDOWN_SIGNAL")
            .env_remove("VERBOSE")
            .env_remove("SILENT")
            .env_remove("SCANDIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start supervise");
        Sup {
            pid: child.id() as i32,
            child,
            err: err_path,
            extra_groups: Vec::new(),
        }
    }
}

/// A running supervise. Dropping it kills its process group (and any group a test
/// registered) so that nothing outlives the test.
struct Sup {
    child: Child,
    pid: i32,
    err: PathBuf,
    extra_groups: Vec<i32>,
}

impl Sup {
    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Wait for supervise to exit; its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let end = Instant::now() + PATIENCE;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("supervise did not exit; stderr: {}", self.stderr());
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// True once supervise has exited (without reaping it).
    fn exited_now(&self) -> bool {
        blackbox::prop::exited(self.pid as u32)
    }
}

impl Drop for Sup {
    fn drop(&mut self) {
        for g in std::iter::once(self.pid).chain(self.extra_groups.iter().copied()) {
            // SAFETY: plain kill(2) of a process group this test created.
            unsafe { libc::kill(-g, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll until `f` is true; panic with `what` after [`PATIENCE`].
#[track_caller]
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while Instant::now() < end {
        if f() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting until {what}");
}

/// The decoded fields of a 21-byte status file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct St {
    secs: u64,
    nanos: u32,
    pid: u32,
    paused: u8,
    want: u8,
    wait: i16,
    up: u8,
}

/// The status timestamp as Unix seconds.
fn when(s: &St) -> f64 {
    (s.secs - 0x400000000000000a) as f64 + f64::from(s.nanos) / 1e9
}

fn decode(b: &[u8]) -> St {
    assert_eq!(b.len(), 21, "status must be 21 bytes: {b:?}");
    St {
        secs: u64::from_be_bytes(b[..8].try_into().unwrap()),
        nanos: u32::from_be_bytes(b[8..12].try_into().unwrap()),
        pid: u32::from_le_bytes(b[12..16].try_into().unwrap()),
        paused: b[16],
        want: b[17],
        wait: i16::from_ne_bytes([b[18], b[19]]),
        up: b[20],
    }
}

/// Wait until service `name` is up with a run pid other than `not`; that pid.
#[track_caller]
fn wait_up(t: &Tree, name: &str, sup: &Sup, not: u32) -> u32 {
    let mut pid = 0;
    wait_until(&format!("{name} is up (not pid {not})"), || {
        let b = t.status(name);
        if b.len() != 21 {
            return false;
        }
        let s = decode(&b);
        pid = s.pid;
        s.up == 1 && s.pid != sup.pid as u32 && s.pid != not
    });
    pid
}

#[track_caller]
fn wait_down(t: &Tree, name: &str) {
    wait_until(&format!("{name} is down"), || {
        let b = t.status(name);
        b.len() == 21 && decode(&b).up == 0
    });
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: plain kill(2).
    unsafe { libc::kill(pid as i32, sig) };
}

fn alive(pid: u32) -> bool {
    // A zombie counts as dead.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(pid: u32, n: usize) -> Option<String> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(')')?.1;
    after.split_whitespace().nth(n - 3).map(str::to_string)
}

/// When each run process was created (seconds since boot), from the start times the
/// run script copied out of /proc/$$/stat: the moment of the fork, however late the
/// script itself got to run on a loaded machine.
fn start_times(t: &Tree) -> Vec<f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    t.lines("s/starts")
        .iter()
        .map(|l| l.trim().parse::<f64>().unwrap() / hz)
        .collect()
}

/// Children of `ppid`, from /proc.
fn children(ppid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if stat_field(pid, 4).and_then(|p| p.parse::<u32>().ok()) == Some(ppid) {
            out.push((pid, stat_field(pid, 3).unwrap_or_default()));
        }
    }
    out
}

fn matches_line(line: &str, re_like: &[&str]) -> bool {
    // A tiny matcher: the line must be the concatenation of the parts, where "N" stands
    // for one or more digits and "N.N" for digits, a dot, digits.
    let mut rest = line;
    for part in re_like {
        match *part {
            "N" => {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return false;
                }
                rest = &rest[n..];
            }
            "N.N" => {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 || !rest[n..].starts_with('.') {
                    return false;
                }
                rest = &rest[n + 1..];
                let m = rest.bytes().take_while(u8::is_ascii_digit).count();
                if m == 0 {
                    return false;
                }
                rest = &rest[m..];
            }
            lit => match rest.strip_prefix(lit) {
                Some(r) => rest = r,
                None => return false,
            },
        }
    }
    rest.is_empty()
}

// ----- checks 1–4: command line, startup failures, the lock -----

#[test]
fn check01_usage() {
    let t = Tree::new();
    for args in [&[][..], &["a", "b", "c"][..]] {
        t.tool("supervise").args(args).run().assert(
            100,
            "",
            "supervise: usage: supervise dir [parent_ident]\n",
        );
    }
}

/// D1: any relative or absolute path is accepted, as djb's supervise does.
#[test]
fn check02_any_path_is_accepted() {
    let t = Tree::new();
    t.service("s", RUN);
    let abs = t.path("s");
    let mut sup = t.supervise_with(&[abs.to_str().unwrap()], &[]);
    wait_up(&t, "s", &sup, 0);
    assert_eq!(
        t.lines_when("s/args", 1),
        [format!("{} auto startup", abs.display())]
    );
    t.svc(&["-dx", "s"]).assert_code(0);
    assert_eq!(sup.wait_exit(), Some(0));

    t.service("x", RUN);
    let sup = t.supervise_with(&["./x"], &[]);
    wait_up(&t, "x", &sup, 0);
    assert_eq!(t.lines_when("x/args", 1), ["./x auto startup"]);
}

#[test]
fn check03_missing_run_is_fatal() {
    let t = Tree::new();
    fs::create_dir(t.path("nosuchrun")).unwrap();
    t.tool("supervise").arg("nosuchrun").run().assert(
        111,
        "",
        "nosuchrun: supervise: fatal: unable to stat nosuchrun/run: file does not exist\n",
    );
    t.tool("supervise").arg("nonexistent").run().assert(
        111,
        "",
        "nonexistent: supervise: fatal: unable to chdir to nonexistent: file does not exist\n",
    );
}

#[test]
fn check04_second_supervise_exits_100() {
    let t = Tree::new();
    t.service("s", RUN);
    let sup = t.supervise("s");
    wait_up(&t, "s", &sup, 0);
    t.tool("supervise").arg("s").run().assert(
        100,
        "",
        "s: supervise: fatal: unable to acquire s/supervise/lock: temporary failure\n",
    );
    // The first one is undisturbed.
    assert!(alive(sup.pid as u32));
    t.svstat("s").assert_code(0);
}

// ----- checks 5–8: the state directory, the status bytes, run's arguments, svstat -----

#[test]
fn check05_to_08_state_directory_status_args_svstat() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\ntr '\\0' '\\n' </proc/$$/environ | grep '^PPID=' >ppid\nexec sleep 1000\n",
    );
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);

    // 5: modes and file types.
    let mode = |rel: &str| fs::symlink_metadata(t.path(rel)).unwrap().mode();
    assert_eq!(mode("s/supervise") & 0o7777, 0o700);
    assert!(fs::symlink_metadata(t.path("s/supervise"))
        .unwrap()
        .is_dir());
    for fifo in ["control", "ok", "up", "dn"] {
        let m = fs::symlink_metadata(t.path(&format!("s/supervise/{fifo}"))).unwrap();
        assert!(m.file_type().is_fifo(), "{fifo} is a FIFO");
        assert_eq!(m.mode() & 0o7777, 0o600, "{fifo} mode");
    }
    let st = fs::symlink_metadata(t.path("s/supervise/status")).unwrap();
    assert!(st.is_file());
    assert_eq!(st.mode() & 0o7777, 0o644);
    assert_eq!(st.len(), 21);

    // 6: the bytes while up.
    let s = decode(&t.status("s"));
    assert_eq!(
        (s.pid, s.paused, s.want, s.wait, s.up),
        (pid, 0, b'u', 0, 1)
    );
    let secs = s.secs - 0x400000000000000a;
    assert!(secs.abs_diff(unix_now()) <= 2, "timestamp {secs} is now");
    assert!(s.nanos < 1_000_000_000);

    // 7: run's arguments and PPID.
    wait_until("run recorded PPID", || t.exists("s/ppid"));
    assert_eq!(t.lines("s/args"), ["s auto startup"]);
    wait_until("ppid written", || !t.read("s/ppid").is_empty());
    assert_eq!(t.read("s/ppid"), format!("PPID={}\n", sup.pid));

    // 8: svstat.
    let out = t.svstat("s");
    out.assert_code(0);
    let line = out.stdout_str();
    assert!(
        matches_line(
            line.trim_end_matches('\n'),
            &["s: up ", "N.N", " seconds  pid ", &pid.to_string(), " "]
        ),
        "svstat line: {line:?}"
    );
    assert!(line.ends_with(" \n"));
    assert_eq!(out.stderr_str(), "");
}

// ----- checks 9–11: down file, svc -u, svc -o -----

#[test]
fn check09_down_file_then_check10_svc_u() {
    let t = Tree::new();
    t.service("s", RUN);
    t.write("s/down", "");
    let sup = t.supervise("s");
    wait_until("status written", || t.status("s").len() == 21);
    thread::sleep(Duration::from_millis(300));
    assert!(!t.exists("s/args"), "run must not start with a down file");
    let s = decode(&t.status("s"));
    assert_eq!((s.want, s.up, s.pid), (b'd', 0, sup.pid as u32));
    let out = t.svstat("s");
    out.assert_code(1);
    assert!(
        matches_line(
            out.stdout_str().trim_end_matches('\n'),
            &[
                "s: down ",
                "N.N",
                " seconds spid ",
                &sup.pid.to_string(),
                " "
            ]
        ),
        "{out:?}"
    );
    t.svc(&["-W", "s"])
        .assert(0, "", "waiting for s to be down ... ok\n");

    // 10
    t.svc(&["-u", "s"]).assert(0, "", "");
    wait_up(&t, "s", &sup, 0);
    assert_eq!(t.lines_when("s/args", 1), ["s manual startup"]);
    t.svstat("s").assert_code(0);
}

#[test]
fn check11_svc_o_runs_once() {
    let t = Tree::new();
    t.service("s", RUN);
    t.write("s/down", "");
    let sup = t.supervise("s");
    wait_until("status written", || t.status("s").len() == 21);
    t.svc(&["-o", "s"]).assert_code(0);
    let pid = wait_up(&t, "s", &sup, 0);
    assert_eq!(t.lines_when("s/args", 1), ["s one-time startup"]);
    assert_eq!(decode(&t.status("s")).want, 0);
    kill(pid, libc::SIGTERM);
    wait_down(&t, "s");
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(t.lines("s/args").len(), 1, "not restarted");
    let out = t.svstat("s");
    out.assert_code(1);
    assert!(out.stdout_str().starts_with("s: down "), "{out:?}");
}

// ----- checks 12–16: deaths, alert, shutdown, restart -----

#[test]
fn check12_exit_0_restarts_throttled() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\ncut -d' ' -f22 /proc/$$/stat >>starts\nsleep 0.2\nexit 0\n",
    );
    let sup = t.supervise("s");
    wait_until("three starts", || t.lines("s/starts").len() >= 3);
    let args = t.lines("s/args");
    assert_eq!(args[0], "s auto startup");
    assert_eq!(args[1], "s abnormal startup");
    let starts = start_times(&t);
    for w in starts.windows(2) {
        assert!(
            w[1] - w[0] >= 0.95,
            "restarts must be at least 1 s apart: {starts:?}"
        );
    }
    let err = sup.stderr();
    assert!(
        err.lines().any(|l| matches_line(
            l,
            &["s: supervise: warning: pid ", "N", " exited with status=0"]
        )),
        "stderr: {err}"
    );
}

#[test]
fn check13_alert_gets_the_death() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\nif [ -f crash ]; then rm -f crash; exit 3; fi\nexec sleep 1000\n",
    );
    // alert records its arguments, then lingers so the restart must wait for it.
    t.script(
        "s/alert",
        "#!/bin/sh\nsleep 0.5\necho \"$@\" >>alerts\ndate +%s.%N >>alert-end\n",
    );
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    kill(pid, libc::SIGKILL);
    let pid2 = wait_up(&t, "s", &sup, pid);
    assert_eq!(
        t.lines("s/alerts"),
        [format!("s {pid} 9 stopped/signalled")]
    );
    // The restart came after alert had finished.
    assert_eq!(t.lines_when("s/args", 2)[1], "s abnormal startup");

    t.write("s/crash", "");
    thread::sleep(Duration::from_millis(1100));
    kill(pid2, libc::SIGKILL);
    wait_until("second alert", || t.lines("s/alerts").len() >= 2);
    assert_eq!(
        t.lines("s/alerts")[1],
        format!("s {pid2} 9 stopped/signalled")
    );
    // The third run exits 3 at once (crash file), alert says so.
    wait_until("third alert", || t.lines("s/alerts").len() >= 3);
    let third = &t.lines("s/alerts")[2];
    assert!(
        matches_line(third, &["s ", "N", " 3 exited"]),
        "alert line {third:?}"
    );
}

#[test]
fn check14_shutdown_script_before_the_signal() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\ntrap 'date +%s.%N >>term-at; echo TERM >>sigs; exit 0' TERM\ntrap 'echo CONT >>sigs' CONT\nwhile :; do sleep 0.1; done\n",
    );
    t.script(
        "s/shutdown",
        "#!/bin/sh\necho \"$@\" >>shutdown-args\nsleep 2\ndate +%s.%N >>shutdown-end\n",
    );
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    t.svc(&["-d", "s"]).assert(0, "", "");
    wait_down(&t, "s");
    assert_eq!(t.lines("s/shutdown-args"), [format!("s {pid}")]);
    let end: f64 = t.read("s/shutdown-end").trim().parse().unwrap();
    let term: f64 = t.read("s/term-at").trim().parse().unwrap();
    assert!(
        term >= end,
        "TERM ({term}) only after shutdown finished ({end})"
    );
    thread::sleep(Duration::from_millis(1200));
    assert_eq!(t.lines("s/args").len(), 1, "no restart after svc -d");
    let out = t.svstat("s");
    out.assert_code(1);
    assert!(out.stdout_str().starts_with("s: down "));
}

#[test]
fn check15_shutdown_signal_env() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\ntrap 'echo INT >>sigs; exit 0' INT\ntrap 'echo TERM >>sigs' TERM\nwhile :; do sleep 0.1; done\n",
    );
    let sup = t.supervise_with(&["s"], &[("SHUTDOWN_SIGNAL", "2")]);
    wait_up(&t, "s", &sup, 0);
    t.svc(&["-d", "s"]).assert_code(0);
    wait_down(&t, "s");
    assert_eq!(t.lines("s/sigs"), ["INT"]);
}

#[test]
fn check16_svc_r_restarts_without_alert() {
    let t = Tree::new();
    t.service("s", RUN);
    t.script("s/alert", "#!/bin/sh\necho \"$@\" >>alerts\n");
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    thread::sleep(Duration::from_millis(1100));
    t.svc(&["-r", "s"]).assert_code(0);
    let pid2 = wait_up(&t, "s", &sup, pid);
    assert_ne!(pid, pid2);
    assert!(!alive(pid));
    assert_eq!(
        t.lines_when("s/args", 2),
        ["s auto startup", "s manual restart"]
    );
    assert!(!t.exists("s/alerts"), "svc -r does not run alert");

    // On a down service, -r starts it at once.
    t.svc(&["-d", "s"]).assert_code(0);
    wait_down(&t, "s");
    t.svc(&["-r", "s"]).assert_code(0);
    wait_up(&t, "s", &sup, pid2);
    assert_eq!(t.lines_when("s/args", 3)[2], "s manual restart");
}

// ----- checks 17–20: signals, pause, exit, process groups -----

#[test]
fn check17_signal_letters() {
    let t = Tree::new();
    let mut run = String::from("#!/bin/sh\n");
    for s in ["ALRM", "HUP", "INT", "TERM", "QUIT", "USR1", "USR2"] {
        run.push_str(&format!("trap 'echo {s} >>sigs' {s}\n"));
    }
    run.push_str("echo ready >>sigs\nwhile :; do sleep 0.05; done\n");
    t.service("s", &run);
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    wait_until("traps set", || t.read("s/sigs").contains("ready"));
    let want = [
        ("-a", "ALRM"),
        ("-h", "HUP"),
        ("-i", "INT"),
        ("-t", "TERM"),
        ("-q", "QUIT"),
        ("-1", "USR1"),
        ("-U", "USR1"),
        ("-2", "USR2"),
    ];
    for (i, (opt, name)) in want.iter().enumerate() {
        t.svc(&[opt, "s"]).assert(0, "", "");
        wait_until(&format!("{name} delivered"), || {
            t.lines("s/sigs").len() == i + 2
        });
        assert_eq!(t.lines("s/sigs")[i + 1], *name);
    }
    // -w and -W send nothing.
    t.svc(&["-wT", "2", "s"]).assert_code(0);
    t.svc(&["-WT", "1", "s"]).assert_code(3);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(t.lines("s/sigs").len(), want.len() + 1);
    assert!(alive(pid));
    t.svc(&["-k", "s"]).assert_code(0);
    wait_until("killed", || !alive(pid));
    wait_up(&t, "s", &sup, pid);
}

#[test]
fn check18_pause_and_continue() {
    let t = Tree::new();
    t.service("s", RUN);
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    t.svc(&["-p", "s"]).assert_code(0);
    wait_until("stopped", || stat_field(pid, 3).as_deref() == Some("T"));
    let out = t.svstat("s");
    out.assert_code(3);
    assert!(out.stdout_str().contains(", paused"), "{out:?}");
    assert_eq!(decode(&t.status("s")).paused, 1);
    t.svc(&["-c", "s"]).assert_code(0);
    wait_until("running", || stat_field(pid, 3).as_deref() == Some("S"));
    let out = t.svstat("s");
    out.assert_code(0);
    assert!(!out.stdout_str().contains("paused"));
}

#[test]
fn check19_exit_after_down() {
    let t = Tree::new();
    t.service("s", RUN);
    let mut sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    t.svc(&["-x", "s"]).assert_code(0);
    thread::sleep(Duration::from_millis(300));
    assert!(!sup.exited(), "supervise stays while the service runs");
    t.tool("svok").arg("s").run().assert_code(0);
    t.svc(&["-d", "s"]).assert_code(0);
    assert_eq!(sup.wait_exit(), Some(0));
    assert!(!alive(pid));
    t.tool("svok").arg("s").run().assert(100, "", "");
}

#[test]
fn check20_setpgid_and_group_signals() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\nsh -c 'trap \"echo child >>sigs; exit 0\" TERM; while :; do sleep 0.05; done' &\ntrap 'echo parent >>sigs; exit 0' TERM\necho ready >>sigs\nwhile :; do sleep 0.05; done\n",
    );
    let mut sup = t.supervise_with(&["s"], &[("SETPGID", "1")]);
    let pid = wait_up(&t, "s", &sup, 0);
    sup.extra_groups.push(pid as i32);
    assert_eq!(stat_field(pid, 5), Some(pid.to_string()), "pgid = pid");
    wait_until("ready", || t.read("s/sigs").contains("ready"));
    thread::sleep(Duration::from_millis(200));
    t.svc(&["-Gt", "s"]).assert_code(0);
    wait_until("both got TERM", || {
        let l = t.lines("s/sigs");
        l.contains(&"child".to_string()) && l.contains(&"parent".to_string())
    });
}

/// `G` persists until a signal is sent: `svc -tG` sends t to the process only, and the
/// next signal goes to the group.
#[test]
fn g_flag_applies_to_the_next_command() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\nsh -c 'trap \"echo child-$$ HUP >>sigs\" HUP; trap \"echo child-$$ USR1 >>sigs\" USR1; while :; do sleep 0.05; done' &\ntrap 'echo parent HUP >>sigs' HUP\ntrap 'echo parent USR1 >>sigs' USR1\necho ready >>sigs\nwhile :; do sleep 0.05; done\n",
    );
    let mut sup = t.supervise_with(&["s"], &[("SETPGID", "1")]);
    let pid = wait_up(&t, "s", &sup, 0);
    sup.extra_groups.push(pid as i32);
    wait_until("ready", || t.read("s/sigs").contains("ready"));
    thread::sleep(Duration::from_millis(200));
    t.svc(&["-hG", "s"]).assert_code(0);
    wait_until("parent HUP", || t.read("s/sigs").contains("parent HUP"));
    thread::sleep(Duration::from_millis(300));
    let child_got = |sig: &str| {
        t.lines("s/sigs")
            .iter()
            .any(|l| l.starts_with("child-") && l.ends_with(sig))
    };
    assert!(!child_got(" HUP"), "h went to the process only");
    t.svc(&["-1", "s"]).assert_code(0);
    wait_until("group USR1", || {
        t.read("s/sigs").contains("parent USR1") && child_got(" USR1")
    });
}

// ----- checks 21–24: clients without supervise -----

#[test]
fn check21_svc_on_a_service_without_supervise() {
    let t = Tree::new();
    fs::create_dir_all(t.path("nonrunning/supervise")).unwrap();
    let st = blackbox::command("mkfifo")
        .arg(t.path("nonrunning/supervise/control"))
        .status()
        .unwrap();
    assert!(st.success());
    t.svc(&["-u", "nonrunning"]).assert(
        2,
        "",
        "svc: warning: unable to control nonrunning: supervise not running: \n",
    );
    // A missing directory is only warned about; the first failure decides the exit code.
    let out = t.svc(&["-u", "missing", "nonrunning"]);
    out.assert(
        2,
        "",
        "svc: warning: unable to chdir to directory missing: file does not exist\n\
         svc: warning: unable to control nonrunning: supervise not running: \n",
    );
}

#[test]
fn check22_svc_wait_with_timeout() {
    let t = Tree::new();
    t.service("s", RUN);
    t.write("s/down", "");
    let sup = t.supervise("s");
    wait_until("status written", || t.status("s").len() == 21);
    t.svc(&["-wT", "2", "s"])
        .assert(3, "", "waiting for s to be up ... timed out\n");
    t.svc(&["-u", "s"]).assert_code(0);
    wait_up(&t, "s", &sup, 0);
    t.svc(&["-wT", "2", "s"])
        .assert(0, "", "waiting for s to be up ... ok\n");
    // -u with -w: sent, then waited for.
    t.svc(&["-d", "s"]).assert_code(0);
    t.svc(&["-uwT", "5", "s"])
        .assert(0, "", "waiting for s to be up ... ok\n");
}

#[test]
fn check23_svok() {
    let t = Tree::new();
    t.service("s", RUN);
    let mut sup = t.supervise("s");
    wait_up(&t, "s", &sup, 0);
    t.tool("svok").arg("s").run().assert(0, "", "");
    t.svc(&["-dx", "s"]).assert_code(0);
    sup.wait_exit();
    t.tool("svok").arg("s").run().assert(100, "", "");
    t.tool("svok").arg("/nonexistent").run().assert(
        111,
        "",
        "svok: fatal: unable to chdir to /nonexistent: file does not exist\n",
    );
    t.tool("svok")
        .run()
        .assert(100, "", "svok: usage: svok dir\n");
}

#[test]
fn check24_svstat_without_supervise_and_bad_format() {
    let t = Tree::new();
    fs::create_dir(t.path("x")).unwrap();
    let out = t.svstat("x");
    out.assert_code(2);
    assert_eq!(out.stdout_str(), "");
    assert!(out.stderr_str().starts_with("svstat: warning: "), "{out:?}");

    // A supervise directory whose ok FIFO has no reader: supervise not running.
    fs::create_dir(t.path("x/supervise")).unwrap();
    blackbox::command("mkfifo")
        .arg(t.path("x/supervise/ok"))
        .status()
        .unwrap();
    t.svstat("x").assert(
        2,
        "",
        "svstat: warning: unable to open x/supervise/ok: supervise not running: device not configured\n",
    );

    // With a reader on ok, a status of a length no supervise writes is bad format.
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(t.path("x/supervise/ok"))
        .unwrap();
    fs::write(t.path("x/supervise/status"), [0u8; 10]).unwrap();
    t.svstat("x").assert(
        100,
        "",
        "svstat: warning: unable to read x/supervise/status: bad format\n",
    );
    // No status file at all: code 2.
    fs::remove_file(t.path("x/supervise/status")).unwrap();
    t.svstat("x").assert_code(2);
    // No arguments: nothing to say, exit 0.
    t.tool("svstat").run().assert(0, "", "");
}

/// D2b: djb's 18-byte and encore's 20-byte status files are read too.
#[test]
fn svstat_reads_djb_and_encore_status_files() {
    let t = Tree::new();
    let mut readers = Vec::new();
    let now = unix_now();
    let tai = |secs_ago: u64| (0x400000000000000au64 + now - secs_ago).to_be_bytes();
    let mut make = |name: &str, bytes: Vec<u8>| {
        fs::create_dir_all(t.path(&format!("{name}/supervise"))).unwrap();
        let ok = t.path(&format!("{name}/supervise/ok"));
        blackbox::command("mkfifo").arg(&ok).status().unwrap();
        readers.push(
            fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&ok)
                .unwrap(),
        );
        fs::write(t.path(&format!("{name}/supervise/status")), bytes).unwrap();
    };
    let me = std::process::id();
    // djb, up: pid set, want u.
    let mut djb_up = Vec::new();
    djb_up.extend_from_slice(&tai(100));
    djb_up.extend_from_slice(&0u32.to_be_bytes());
    djb_up.extend_from_slice(&me.to_le_bytes());
    djb_up.extend_from_slice(&[0, b'u']);
    make("djbup", djb_up.clone());
    // djb, down: pid 0, want d.
    let mut djb_down = djb_up.clone();
    djb_down[12..16].copy_from_slice(&0u32.to_le_bytes());
    djb_down[17] = b'd';
    make("djbdown", djb_down);
    // encore (20 bytes), up and paused.
    let mut enc = djb_up.clone();
    enc[16] = 1;
    enc.extend_from_slice(&[3, 0]);
    make("encore", enc.clone());
    // encore with its log record (40 bytes), down.
    let mut enc40 = djb_up.clone();
    enc40[12..16].copy_from_slice(&0u32.to_le_bytes());
    enc40.extend_from_slice(&[0, 0]);
    enc40.extend_from_slice(&enc);
    fs::write(t.path("djbdown/down"), "").unwrap();
    make("encore40", enc40);

    let out = t.svstat("djbup");
    out.assert_code(0);
    assert!(
        matches_line(
            out.stdout_str().trim_end_matches('\n'),
            &["djbup: up ", "N.N", " seconds  pid ", &me.to_string(), " "]
        ),
        "{out:?}"
    );
    let secs: u64 = out
        .stdout_str()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((99..=102).contains(&secs), "{secs}");
    let out = t.svstat("djbdown");
    out.assert_code(1);
    assert!(
        matches_line(
            out.stdout_str().trim_end_matches('\n'),
            &["djbdown: down ", "N.N", " seconds"]
        ),
        "{out:?}"
    );
    let out = t.svstat("encore");
    out.assert_code(3);
    assert!(out.stdout_str().contains(", paused  pid "), "{out:?}");
    let out = t.svstat("encore40");
    out.assert_code(1);
    assert!(out.stdout_str().starts_with("encore40: down "), "{out:?}");
    assert!(out.stdout_str().contains(", normally up"), "{out:?}");
    // svok and svc accept them too.
    t.tool("svok").arg("djbup").run().assert_code(0);
}

// ----- checks 25–28: SIGTERM, wait file, variables, init -----

#[test]
fn check25_sigterm_to_supervise() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\ntrap 'echo TERM >>sigs; exit 0' TERM\necho ready >>sigs\nwhile :; do sleep 0.05; done\n",
    );
    t.script("s/shutdown", "#!/bin/sh\necho \"$@\" >>shutdown-args\n");
    let mut sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    wait_until("traps set", || t.read("s/sigs").contains("ready"));
    kill(sup.pid as u32, libc::SIGTERM);
    assert_eq!(sup.wait_exit(), Some(0));
    wait_until("service got TERM", || t.read("s/sigs").contains("TERM"));
    wait_until("shutdown ran", || t.exists("s/shutdown-args"));
    assert_eq!(t.lines("s/shutdown-args"), [format!("s {pid}")]);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(t.lines("s/args").len(), 1, "no restart");

    // Without a child: exits 0 at once.
    t.write("s/down", "");
    let mut sup = t.supervise("s");
    wait_until("status written", || {
        t.status("s").len() == 21 && decode(&t.status("s")).pid == sup.pid as u32
    });
    kill(sup.pid as u32, libc::SIGTERM);
    assert_eq!(sup.wait_exit(), Some(0));
}

#[test]
fn check26_wait_file() {
    let t = Tree::new();
    t.service("A", RUN);
    t.write("A/down", "");
    t.service("B", RUN);
    t.write("B/wait", "5\nA\n");
    let sup_a = t.supervise("A");
    let sup_b = t.supervise("B");
    wait_until("B waits", || {
        let b = t.status("B");
        b.len() == 21 && decode(&b).wait == -2
    });
    let out = t.svstat("B");
    out.assert_code(1);
    assert!(
        matches_line(
            out.stdout_str().trim_end_matches('\n'),
            &[
                "B: wait ",
                "N.N",
                " seconds spid ",
                &sup_b.pid.to_string(),
                " "
            ]
        ),
        "{out:?}"
    );
    assert!(!t.exists("B/args"));
    t.svc(&["-u", "A"]).assert_code(0);
    wait_up(&t, "A", &sup_a, 0);
    let mut delay_began = 0.0;
    wait_until("B in its delay", || {
        let b = t.status("B");
        let ok = b.len() == 21 && decode(&b).wait == 5;
        if ok {
            delay_began = when(&decode(&b));
        }
        ok
    });
    let out = t.svstat("B");
    out.assert_code(1);
    let line = out.stdout_str();
    assert!(
        matches_line(
            line.trim_end_matches('\n'),
            &[
                "B: wait ",
                "N.N",
                " seconds spid ",
                &sup_b.pid.to_string(),
                " remaining ",
                "N",
                " seconds"
            ]
        ),
        "{line:?}"
    );
    wait_up(&t, "B", &sup_b, 0);
    let started = when(&decode(&t.status("B")));
    assert!(
        started - delay_began >= 5.0,
        "B waited its 5 s: {delay_began} -> {started}"
    );
    assert_eq!(t.lines_when("B/args", 1), ["B auto startup"]);
    assert_eq!(decode(&t.status("B")).wait, 0);
}

#[test]
fn check27_variables_directory() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"FOO=$FOO HOME=${HOME-unset} PATH=${PATH-unset}\" >>env\nexec sleep 1000\n",
    );
    fs::create_dir(t.path("s/variables")).unwrap();
    t.write("s/variables/FOO", "bar\n");
    fs::set_permissions(t.path("s/variables"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut sup = t.supervise_with(&["s"], &[("HOME", "/home/inherited")]);
    wait_until("env recorded", || !t.read("s/env").is_empty());
    assert_eq!(
        t.lines("s/env"),
        [format!("FOO=bar HOME=/home/inherited PATH={}", test_path())]
    );
    t.svc(&["-dx", "s"]).assert_code(0);
    sup.wait_exit();

    fs::remove_file(t.path("s/env")).unwrap();
    fs::set_permissions(t.path("s/variables"), fs::Permissions::from_mode(0o750)).unwrap();
    let _sup = t.supervise_with(&["s"], &[("HOME", "/home/inherited")]);
    wait_until("env recorded", || !t.read("s/env").is_empty());
    // Cleared: no HOME; PATH unset too, so sh's default search applies.
    let env = t.read("s/env");
    assert!(env.starts_with("FOO=bar HOME=unset PATH="), "{env}");
    assert!(!env.contains("inherited"));
}

/// D3: a `variables` that is a symlink to a directory is followed; a regular file means
/// no variables, with a warning, and run still starts.
#[test]
fn variables_symlink_and_file() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"FOO=${FOO-unset}\" >>env\nexec sleep 1000\n",
    );
    fs::create_dir(t.path("vars")).unwrap();
    t.write("vars/FOO", "linked\n");
    fs::set_permissions(t.path("vars"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("../vars", t.path("s/variables")).unwrap();
    let mut sup = t.supervise("s");
    wait_until("env recorded", || !t.read("s/env").is_empty());
    assert_eq!(t.lines("s/env"), ["FOO=linked"]);
    t.svc(&["-dx", "s"]).assert_code(0);
    sup.wait_exit();

    fs::remove_file(t.path("s/env")).unwrap();
    fs::remove_file(t.path("s/variables")).unwrap();
    t.write("s/variables", "FOO=x\n");
    let sup = t.supervise("s");
    wait_until("env recorded", || !t.read("s/env").is_empty());
    assert_eq!(t.lines("s/env"), ["FOO=unset"]);
    assert!(
        sup.stderr()
            .contains("s: supervise: warning: variables is not a directory"),
        "{}",
        sup.stderr()
    );
}

/// A variables directory that cannot be loaded: the child reports it and exits 111,
/// supervise keeps going (and retries once a second).
#[test]
fn unreadable_variable_file_fails_the_start_not_supervise() {
    let t = Tree::new();
    t.service("s", RUN);
    fs::create_dir_all(t.path("s/variables/sub")).unwrap();
    let mut sup = t.supervise("s");
    wait_until("error reported", || {
        sup.stderr().contains("unable to open environment file")
    });
    assert!(!sup.exited());
    assert!(!t.exists("s/args"));
    let err = sup.stderr();
    assert!(
        err.contains(
            "s: supervise: fatal: unable to open environment file: ./variables/sub: is a directory"
        ),
        "{err}"
    );
}

#[test]
fn check28_failing_init() {
    let t = Tree::new();
    t.service("s", RUN);
    t.script("s/init", "#!/bin/sh\necho ran >>init-ran\nexit 1\n");
    let sup = t.supervise("s");
    wait_until("init failure reported", || {
        sup.stderr()
            .contains("s: supervise: warning: initialization failed for s, sleeping 60 seconds: ")
    });
    thread::sleep(Duration::from_millis(1000));
    assert!(!t.exists("s/args"), "run must wait for init");
    assert_eq!(t.lines("s/init-ran"), ["ran"]);

    // A succeeding init lets run start.
    let t = Tree::new();
    t.service("s", RUN);
    t.script("s/init", "#!/bin/sh\necho ran >>init-ran\nexit 0\n");
    let sup = t.supervise("s");
    wait_up(&t, "s", &sup, 0);
    assert_eq!(t.lines("s/init-ran"), ["ran"]);
}

// ----- one supervise per service, whatever the layouts (COMPATIBILITY S5) -----

/// Where a supervise keeps its state: the service's own `supervise/` or the mirror.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Plain,
    Mirror,
}

/// How a supervise is started: by hand, or by svscan on the tree.
#[derive(Clone, Copy, Debug)]
enum Starter {
    Standalone,
    Svscan,
}

/// Shell that starts one supervise of service `s` in the background.
fn start_line(layout: Layout, starter: Starter, tag: &str) -> String {
    let env = match layout {
        Layout::Plain => "DISABLE_RUN=1 ",
        Layout::Mirror => "",
    };
    match starter {
        Starter::Standalone => format!("{env}supervise s 2>{tag}.err & echo $! >{tag}.pid\n"),
        Starter::Svscan => {
            format!("{env}SCANINTERVAL=1 setsid svscan . 2>{tag}.err & echo $! >{tag}.pid\n")
        }
    }
}

/// Start a first supervise of `s`, then a second one in the other (or same) layout and way,
/// in a private /run with a /run/svscan. Prints the second one's exit code and stderr (a
/// standalone one), whether the first one's state files changed, how often `run` started
/// and whether the first supervise still runs.
fn lock_pair(first: (Layout, Starter), second: (Layout, Starter)) -> Output {
    let t = Tree::new();
    t.service("s", RUN);
    let second_run = match second.1 {
        Starter::Standalone => {
            let env = match second.0 {
                Layout::Plain => "DISABLE_RUN=1 ",
                Layout::Mirror => "",
            };
            format!("{env}timeout 10 supervise s 2>second.err; echo \"second exit $?\"\ncat second.err\n")
        }
        Starter::Svscan => format!(
            "{}sleep 3\ngrep -c 'unable to acquire' second.err >/dev/null && echo 'svscan: supervise refused'\nkill $(cat second.pid); wait $(cat second.pid) 2>/dev/null\n",
            start_line(second.0, second.1, "second")
        ),
    };
    // The first one's files (type, inode, mode, size, content) in both layouts.
    let script = format!(
        r#"set -u
cd {tree}
snap() {{
  for d in s/supervise /run/svscan/s/supervise; do
    [ -d "$d" ] || continue
    for f in $(ls -A "$d" | sort); do
      p="$d/$f"; h=-; [ -f "$p" ] && h=$(md5sum <"$p" | cut -c1-32)
      echo "$p $(stat -c '%F %i %a %s' "$p") $h"
    done
  done
}}
{first}i=0; until svstat s 2>/dev/null | grep -q ': up '; do
  i=$((i+1)); [ $i -gt 400 ] && {{ echo "first never up"; cat first.err; exit 1; }}; sleep 0.05; done
snap >before
{second}snap >after
if cmp -s before after; then echo "first's files untouched"; else echo "first's files changed"; diff before after; fi
echo "run started $(wc -l <s/args) time(s)"
if kill -0 $(cat first.pid) 2>/dev/null; then echo "first alive"; else echo "first gone"; fi
svc -dx s
kill $(cat first.pid) 2>/dev/null; wait
"#,
        tree = t.dir.path().display(),
        first = start_line(first.0, first.1, "first"),
        second = second_run,
    );
    Cmd::in_runfs_namespace(&script)
        .timeout(Duration::from_secs(60))
        .run()
}

const PLAIN_REFUSAL: &str =
    "s: supervise: fatal: unable to acquire s/supervise/lock: temporary failure\n";
const MIRROR_REFUSAL: &str =
    "s: supervise: fatal: unable to acquire /run/svscan/s/supervise/lock: temporary failure\n";

fn needs_namespace() -> bool {
    if !is_root() {
        skip("the layout pairs mount a private /run (needs root)");
        return false;
    }
    true
}

fn assert_refused_standalone(first: (Layout, Starter), second: Layout, message: &str) {
    let out = lock_pair(first, (second, Starter::Standalone));
    out.assert_code(0);
    assert_eq!(
        out.stdout_str(),
        format!("second exit 100\n{message}first's files untouched\nrun started 1 time(s)\nfirst alive\n"),
        "first {first:?}, second {second:?}: {out:?}"
    );
}

fn assert_refused_under_svscan(first: Layout, second: Layout) {
    let out = lock_pair((first, Starter::Standalone), (second, Starter::Svscan));
    out.assert_code(0);
    assert_eq!(
        out.stdout_str(),
        "svscan: supervise refused\nfirst's files untouched\nrun started 1 time(s)\nfirst alive\n",
        "first {first:?}, second {second:?} under svscan: {out:?}"
    );
}

#[test]
fn lock_plain_then_plain() {
    if needs_namespace() {
        assert_refused_standalone(
            (Layout::Plain, Starter::Standalone),
            Layout::Plain,
            PLAIN_REFUSAL,
        );
        assert_refused_standalone(
            (Layout::Plain, Starter::Svscan),
            Layout::Plain,
            PLAIN_REFUSAL,
        );
        assert_refused_under_svscan(Layout::Plain, Layout::Plain);
    }
}

/// The defect of the reference: a mirror supervise deleted the plain one's lock and FIFOs
/// and started `run` a second time.
#[test]
fn lock_plain_then_mirror() {
    if needs_namespace() {
        assert_refused_standalone(
            (Layout::Plain, Starter::Standalone),
            Layout::Mirror,
            PLAIN_REFUSAL,
        );
        assert_refused_standalone(
            (Layout::Plain, Starter::Svscan),
            Layout::Mirror,
            PLAIN_REFUSAL,
        );
        assert_refused_under_svscan(Layout::Plain, Layout::Mirror);
    }
}

#[test]
fn lock_mirror_then_plain() {
    if needs_namespace() {
        assert_refused_standalone(
            (Layout::Mirror, Starter::Standalone),
            Layout::Plain,
            PLAIN_REFUSAL,
        );
        assert_refused_standalone(
            (Layout::Mirror, Starter::Svscan),
            Layout::Plain,
            PLAIN_REFUSAL,
        );
        assert_refused_under_svscan(Layout::Mirror, Layout::Plain);
    }
}

#[test]
fn lock_mirror_then_mirror() {
    if needs_namespace() {
        assert_refused_standalone(
            (Layout::Mirror, Starter::Standalone),
            Layout::Mirror,
            MIRROR_REFUSAL,
        );
        assert_refused_standalone(
            (Layout::Mirror, Starter::Svscan),
            Layout::Mirror,
            MIRROR_REFUSAL,
        );
        assert_refused_under_svscan(Layout::Mirror, Layout::Mirror);
    }
}

/// A mirror supervise keeps the service's own `supervise/lock` (held), and only that: the
/// clients still find the state in the mirror.
#[test]
fn mirror_keeps_only_the_held_plain_lock() {
    if !needs_namespace() {
        return;
    }
    let t = Tree::new();
    t.service("s", RUN);
    fs::create_dir(t.path("s/supervise")).unwrap();
    for f in ["status", "ok", "control", "info"] {
        fs::write(t.path(&format!("s/supervise/{f}")), "stale").unwrap();
    }
    let script = format!(
        r#"cd {tree}
supervise s 2>sup.err & sp=$!
i=0; until svstat s 2>/dev/null | grep -q ': up '; do i=$((i+1)); [ $i -gt 400 ] && break; sleep 0.05; done
ls -A s/supervise
flock -n s/supervise/lock true; echo "plain lock free: $?"
ls -A /run/svscan/s/supervise | sort | tr '\n' ' '; echo
svc -dx s; wait $sp; echo "supervise $?"
"#,
        tree = t.dir.path().display()
    );
    let out = Cmd::in_runfs_namespace(&script).run();
    out.assert(
        0,
        "lock\nplain lock free: 1\ncontrol dn info lock ok status up \nsupervise 0\n",
        "",
    );
}

// ----- check 29: the /run/svscan mirror, in a private mount namespace -----

#[test]
fn check29_run_fs_mirror() {
    if !is_root() {
        return skip("the run-fs test mounts a private /run (needs root)");
    }
    if blackbox::command("unshare")
        .arg("--version")
        .output()
        .is_err()
    {
        return skip("unshare(1) is not installed");
    }
    let t = Tree::new();
    t.service("s", RUN);
    let script = format!(
        r#"set -u
mount -t tmpfs tmpfs /run || exit 97
mkdir -p /run/svscan
cd {tree}
unset DISABLE_RUN
supervise s 2>sup.err &
sp=$!
i=0; until [ -f /run/svscan/s/supervise/status ] && svstat s >/dev/null 2>&1; do
  i=$((i+1)); [ $i -gt 400 ] && {{ echo "never up"; cat sup.err; kill $sp; exit 1; }}; sleep 0.05; done
echo "status-bytes $(wc -c </run/svscan/s/supervise/status)"
echo "args $(cat s/args)"
echo "real-supervise: $(ls -A s/supervise | tr '\n' ' ')"
svstat s | sed 's/[0-9][0-9]*\.[0-9]*/N.N/; s/pid [0-9]*/pid P/'
svc -d s; echo "svc $?"
i=0; until svstat s | grep -q ': down '; do i=$((i+1)); [ $i -gt 400 ] && break; sleep 0.05; done
svstat s >/dev/null; echo "svstat-down $?"
svok s; echo "svok $?"
svc -x s
wait $sp; echo "supervise $?"
"#,
        tree = t.dir.path().display()
    );
    let out = Cmd::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("PATH", test_path())
        .run();
    out.assert_code(0);
    let abs = "/run/svscan/s";
    assert_eq!(
        out.stdout_str(),
        format!(
            "status-bytes 21\nargs {abs} auto startup\nreal-supervise: lock \ns: up N.N seconds  pid P \nsvc 0\nsvstat-down 1\nsvok 0\nsupervise 0\n"
        ),
        "{out:?}"
    );
}

// ----- readiness and supervise/info (extensions, README "Readiness") -----

/// A run that says it is ready on descriptor 3 once the test creates `go`.
const READY_ON_GO: &str = "#!/bin/sh\necho \"$@\" >>args\n\
    while [ ! -e go ]; do sleep 0.05; done\necho ready >&3\nexec sleep 1000\n";

/// The value of `key` in `name`'s supervise/info.
fn info(t: &Tree, name: &str, key: &str) -> String {
    let text = t.read(&format!("{name}/supervise/info"));
    text.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key)).then(|| w.next().unwrap_or("").to_string())
        })
        .unwrap_or_default()
}

/// Whether supervise holds `name`'s up FIFO open (a writer's non-blocking open succeeds).
fn up_fifo_open(t: &Tree, name: &str) -> bool {
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(t.path(&format!("{name}/supervise/up")))
        .is_ok()
}

#[test]
fn readiness_after_the_service_says_so() {
    let t = Tree::new();
    t.service("s", READY_ON_GO);
    t.write("s/notification-fd", "3\n");
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    wait_until("info for the run", || {
        info(&t, "s", "pid") == pid.to_string()
    });
    // Up, not ready: the status file is the reference's, `up` stays closed, svc -w waits.
    assert_eq!(info(&t, "s", "ready"), "0");
    assert_eq!(t.read("s/supervise/info").len(), 43);
    assert_eq!(decode(&t.status("s")).up, 1);
    assert!(!up_fifo_open(&t, "s"));
    t.svc(&["-wT", "1", "s"])
        .assert(3, "", "waiting for s to be up ... timed out\n");
    t.write("s/go", "");
    wait_until("ready", || info(&t, "s", "ready") == "1");
    assert!(up_fifo_open(&t, "s"));
    t.svc(&["-wT", "5", "s"])
        .assert(0, "", "waiting for s to be up ... ok\n");
    let st = decode(&t.status("s"));
    assert_eq!(
        (st.up, st.pid),
        (1, pid),
        "the status file is untouched by readiness"
    );
    assert_eq!(info(&t, "s", "restarts"), "0");
    // A new run is not ready until it says so again.
    kill(pid, libc::SIGKILL);
    let pid2 = wait_up(&t, "s", &sup, pid);
    wait_until("info for the new run", || {
        info(&t, "s", "pid") == pid2.to_string()
    });
    assert_eq!(info(&t, "s", "restarts"), "1");
    wait_until("ready again", || info(&t, "s", "ready") == "1");
}

#[test]
fn a_service_that_never_says_it_is_ready_stays_up_not_ready() {
    let t = Tree::new();
    // Closes its notification descriptor without writing.
    t.service(
        "s",
        "#!/bin/sh\nexec 3>&-\necho closed >note\nexec sleep 1000\n",
    );
    t.write("s/notification-fd", "3");
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    wait_until("run closed fd 3", || t.exists("s/note"));
    wait_until("info for the run", || {
        info(&t, "s", "pid") == pid.to_string()
    });
    assert_eq!(info(&t, "s", "ready"), "0");
    assert!(!up_fifo_open(&t, "s"));
    t.svc(&["-wT", "1", "s"])
        .assert(3, "", "waiting for s to be up ... timed out\n");
    assert!(alive(pid), "still up");
    // Down: readiness is no longer tracked.
    t.svc(&["-d", "s"]).assert_code(0);
    wait_down(&t, "s");
    wait_until("info says down", || {
        info(&t, "s", "pid") == sup.pid.to_string()
    });
    assert_eq!(info(&t, "s", "ready"), "-");
}

#[test]
fn without_notification_fd_up_is_at_exec_and_readiness_untracked() {
    let t = Tree::new();
    t.service("s", RUN);
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    wait_until("info for the run", || {
        info(&t, "s", "pid") == pid.to_string()
    });
    assert_eq!(info(&t, "s", "ready"), "-");
    t.svc(&["-wT", "5", "s"])
        .assert(0, "", "waiting for s to be up ... ok\n");
    // Restarts: a crash and svc -r count, the first start does not.
    kill(pid, libc::SIGKILL);
    let pid2 = wait_up(&t, "s", &sup, pid);
    t.svc(&["-r", "s"]).assert_code(0);
    wait_up(&t, "s", &sup, pid2);
    wait_until("two restarts", || info(&t, "s", "restarts") == "2");
}

#[test]
fn bad_notification_fd_is_warned_about_and_ignored() {
    let t = Tree::new();
    t.service("s", RUN);
    t.write("s/notification-fd", "1\n");
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    wait_until("info for the run", || {
        info(&t, "s", "pid") == pid.to_string()
    });
    assert_eq!(info(&t, "s", "ready"), "-");
    assert!(up_fifo_open(&t, "s"));
    assert!(
        sup.stderr().contains(
            "s: supervise: warning: s/notification-fd: not a descriptor above 2: ignored\n"
        ),
        "{}",
        sup.stderr()
    );
}

/// A `wait` dependency on a service with readiness waits for its readiness line.
#[test]
fn dependents_wait_for_readiness() {
    let t = Tree::new();
    t.service("A", READY_ON_GO);
    t.write("A/notification-fd", "3\n");
    t.service("B", RUN);
    t.write("B/wait", "0\nA\n");
    let sup_a = t.supervise("A");
    let sup_b = t.supervise("B");
    wait_up(&t, "A", &sup_a, 0);
    wait_until("B waits", || {
        let b = t.status("B");
        b.len() == 21 && decode(&b).wait == -2
    });
    assert!(!up_fifo_open(&t, "A"), "A not ready: its up FIFO is closed");
    assert!(!t.exists("B/args"), "B started before A was ready");
    t.write("A/go", "");
    wait_up(&t, "B", &sup_b, 0);
    assert_eq!(info(&t, "A", "ready"), "1");
    assert_eq!(t.lines_when("B/args", 1), ["B auto startup"]);
}

// ----- reliability -----

/// A run that exits at once is restarted at most once a second, with no CPU spin and no
/// zombie left behind.
#[test]
fn fast_exiting_run_is_throttled_without_spin_or_zombies() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\ncut -d' ' -f22 /proc/$$/stat >>starts\nexit 1\n",
    );
    let sup = t.supervise_with(&["s"], &[("SILENT", "1")]);
    wait_until("four starts", || t.lines("s/starts").len() >= 4);
    let starts = start_times(&t);
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= 0.95, "throttled: {starts:?}");
    }
    // CPU: supervise itself used next to nothing (clock ticks, utime + stime).
    let ticks: u64 = [14, 15]
        .iter()
        .map(|&f| {
            stat_field(sup.pid as u32, f)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert!(ticks < 50, "supervise used {ticks} ticks of CPU in ~3 s");
    // Zombies: a child that stays a zombie across two looks 300 ms apart was not reaped.
    let zombies = || -> Vec<u32> {
        children(sup.pid as u32)
            .into_iter()
            .filter(|(_, s)| s == "Z")
            .map(|(p, _)| p)
            .collect()
    };
    let first = zombies();
    thread::sleep(Duration::from_millis(300));
    let second = zombies();
    assert!(
        !first.iter().any(|p| second.contains(p)),
        "zombies left: {first:?} {second:?}"
    );
}

#[test]
fn garbage_and_floods_on_control() {
    let t = Tree::new();
    t.service("s", RUN);
    let sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    let mut control = fs::OpenOptions::new()
        .write(true)
        .open(t.path("s/supervise/control"))
        .unwrap();
    // Unknown bytes (svc -T's `T`, NUL, newlines, high bytes) are ignored.
    let mut junk = Vec::new();
    for i in 0..200_000u32 {
        let b = [b'T', 0, b'\n', 0xff, b'z', b'w', b'+', b'='][i as usize % 8];
        junk.push(b);
    }
    control.write_all(&junk).unwrap();
    drop(control);
    thread::sleep(Duration::from_millis(500));
    assert!(alive(sup.pid as u32));
    assert_eq!(decode(&t.status("s")).pid, pid, "service untouched");
    // A flood of real commands: supervise obeys and ends in the last state asked for.
    let mut control = fs::OpenOptions::new()
        .write(true)
        .open(t.path("s/supervise/control"))
        .unwrap();
    for _ in 0..2000 {
        control.write_all(b"pcpc").unwrap();
    }
    control.write_all(b"d").unwrap();
    drop(control);
    wait_down(&t, "s");
    assert!(alive(sup.pid as u32));
    t.svc(&["-u", "s"]).assert_code(0);
    wait_up(&t, "s", &sup, pid);
    t.svstat("s").assert_code(0);
}

#[test]
fn control_that_is_not_a_fifo() {
    let t = Tree::new();
    t.service("s", RUN);
    fs::create_dir_all(t.path("s/supervise")).unwrap();
    fs::write(t.path("s/supervise/control"), "").unwrap();
    t.tool("supervise")
        .arg("s")
        .env("DISABLE_RUN", "1")
        .run()
        .assert(
            111,
            "",
            "s: supervise: fatal: s/supervise/control is not a named pipe\n",
        );
    assert!(!t.exists("s/args"));
}

#[test]
fn run_removed_while_running_is_fatal_at_restart() {
    let t = Tree::new();
    t.service("s", RUN);
    let mut sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    fs::remove_file(t.path("s/run")).unwrap();
    kill(pid, libc::SIGKILL);
    assert_eq!(sup.wait_exit(), Some(111));
    assert!(
        sup.stderr()
            .contains("s: supervise: fatal: unable to stat s/run: file does not exist"),
        "{}",
        sup.stderr()
    );
}

/// Readers never see a torn status file: 10,000 reads while the service is restarted,
/// paused, continued and brought down and up.
#[test]
fn status_reads_are_never_torn() {
    let t = Tree::new();
    t.service("s", RUN);
    let sup = t.supervise("s");
    wait_up(&t, "s", &sup, 0);
    let status = t.path("s/supervise/status");
    let spid = sup.pid as u32;
    let reader = thread::spawn(move || {
        let mut bad = Vec::new();
        for _ in 0..10_000 {
            let mut b = Vec::new();
            fs::File::open(&status)
                .unwrap()
                .read_to_end(&mut b)
                .unwrap();
            if b.len() != 21 {
                bad.push(format!("length {}", b.len()));
                continue;
            }
            let s = decode(&b);
            let ok = (s.up == 0 || s.up == 1)
                && matches!(s.want, b'u' | b'd' | 0)
                && (s.paused == 0 || s.up == 1)
                && (s.up == 1) == (s.pid != spid)
                && s.secs >> 62 == 1
                && s.nanos < 1_000_000_000
                && s.wait == 0;
            if !ok {
                bad.push(format!("{s:?}"));
            }
        }
        bad
    });
    let mut control = fs::OpenOptions::new()
        .write(true)
        .open(t.path("s/supervise/control"))
        .unwrap();
    while !reader.is_finished() {
        for cmd in [&b"p"[..], b"c", b"r", b"d", b"u", b"k"] {
            control.write_all(cmd).unwrap();
            thread::sleep(Duration::from_millis(15));
        }
    }
    let bad = reader.join().unwrap();
    assert!(
        bad.is_empty(),
        "inconsistent reads: {:?}",
        &bad[..bad.len().min(5)]
    );
}

/// `kill -9` of the run process 30 times in a row: always restarted, alert called each
/// time with the right arguments.
#[test]
fn thirty_kills_thirty_alerts() {
    let t = Tree::new();
    t.service("s", RUN);
    t.script("s/alert", "#!/bin/sh\necho \"$@\" >>alerts\n");
    let sup = t.supervise_with(&["s"], &[("SILENT", "1")]);
    let mut pid = wait_up(&t, "s", &sup, 0);
    let mut killed = Vec::new();
    for i in 0..30 {
        // Kill only once run has recorded its start, so every start leaves its line.
        wait_until("run recorded its start", || {
            t.lines("s/args").len() == i + 1
        });
        kill(pid, libc::SIGKILL);
        killed.push(pid);
        pid = wait_up(&t, "s", &sup, pid);
    }
    wait_until("last start recorded", || t.lines("s/args").len() == 31);
    wait_until("30 alerts", || t.lines("s/alerts").len() >= 30);
    let want: Vec<String> = killed
        .iter()
        .map(|p| format!("s {p} 9 stopped/signalled"))
        .collect();
    assert_eq!(t.lines("s/alerts"), want);
    assert_eq!(t.lines("s/args").len(), 31);
    assert!(t.lines("s/args")[1..]
        .iter()
        .all(|l| l == "s abnormal startup"));
}

/// Sticky `run`: supervise becomes a subreaper and follows a daemon that double-forks.
#[test]
fn sticky_run_follows_a_double_forking_daemon() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\n(sh -c 'echo $$ >daemon.pid; exec sleep 1000' &)\nexit 0\n",
    );
    fs::set_permissions(t.path("s/run"), fs::Permissions::from_mode(0o1755)).unwrap();
    let mut sup = t.supervise("s");
    wait_until("daemon started", || {
        !t.read("s/daemon.pid").trim().is_empty()
    });
    let daemon: u32 = t.read("s/daemon.pid").trim().parse().unwrap();
    sup.extra_groups.push(daemon as i32);
    wait_until("double fork noticed", || {
        sup.stderr().contains("did double fork")
    });
    // Still counted as up.
    let out = t.svstat("s");
    out.assert_code(0);
    assert!(out.stdout_str().contains("?pid"), "{out:?}");
    // The daemon is supervise's child now (adopted by the subreaper).
    assert_eq!(
        stat_field(daemon, 4).unwrap(),
        sup.pid.to_string(),
        "adopted by supervise"
    );
    // Down: the signal reaches the daemon's group, and only then is the service down.
    t.svc(&["-d", "s"]).assert_code(0);
    wait_down(&t, "s");
    assert!(!alive(daemon));
    assert_eq!(t.lines("s/args").len(), 1);
}

#[test]
fn svc_bad_option_and_no_directory() {
    let t = Tree::new();
    let out = t.svc(&["-y", "s"]);
    out.assert_code(100);
    assert!(
        out.stderr_str()
            .starts_with("svc: illegal option -- y\nsvc options: u up, d down, r restart,"),
        "{out:?}"
    );
    // Without a directory there is nothing to do.
    t.svc(&["-u"]).assert(0, "", "");
    t.svc(&["-d", "nonexistent"]).assert(
        0,
        "",
        "svc: warning: unable to chdir to directory nonexistent: file does not exist\n",
    );
}

/// `supervise log NAME` (as svscan starts a log service) prefixes messages with `NAME/log`.
#[test]
fn log_supervise_prefix() {
    let t = Tree::new();
    t.service("a", RUN);
    fs::create_dir(t.path("a/log")).unwrap();
    t.script("a/log/run", "#!/bin/sh\nexit 5\n");
    let sup = Tree::supervise_in(&t.path("a"), &["log", "a"]);
    wait_until("death reported", || {
        sup.stderr().contains("a/log: supervise: warning: pid ")
    });
    assert!(
        sup.stderr().contains(" exited with status=5"),
        "{}",
        sup.stderr()
    );
}

impl Tree {
    /// supervise started in another directory than the scan dir.
    fn supervise_in(dir: &Path, args: &[&str]) -> Sup {
        let err_path = dir.join("supervise.err");
        let err = fs::File::create(&err_path).unwrap();
        let child = blackbox::command(bin("supervise"))
            .args(args)
            .current_dir(dir)
            .env("PATH", test_path())
            .env("DISABLE_RUN", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap();
        Sup {
            pid: child.id() as i32,
            child,
            err: err_path,
            extra_groups: Vec::new(),
        }
    }
}

/// A `run` that cannot be executed: the child reports it, exits 111, and supervise
/// treats that as a death (warning, then a throttled retry), as the reference does.
#[test]
fn run_that_cannot_be_executed() {
    let t = Tree::new();
    t.service("s", RUN);
    fs::set_permissions(t.path("s/run"), fs::Permissions::from_mode(0o644)).unwrap();
    let sup = t.supervise("s");
    wait_until("two failed starts", || {
        sup.stderr().matches("exited with status=111").count() >= 2
    });
    let err = sup.stderr();
    assert!(
        err.contains("s: supervise: fatal: unable to start ./run: access denied\n"),
        "{err}"
    );
    fs::set_permissions(t.path("s/run"), fs::Permissions::from_mode(0o755)).unwrap();
    wait_up(&t, "s", &sup, 0);
    wait_until("run recorded", || !t.read("s/args").is_empty());
    assert_eq!(t.lines("s/args"), ["s abnormal startup"]);
}

/// `run` loses its exec bit while the service is up: once the service dies, every start
/// fails with `access denied` (a death, retried at most once a second, supervise lives
/// on); the bit back, the service comes up on the next try. Then `run` disappears while
/// up: supervise exits 111 at the next start (the reference's fatal), and nothing is
/// left running.
#[test]
fn run_loses_its_exec_bit_then_disappears_while_up() {
    let t = Tree::new();
    t.service("s", RUN);
    let mut sup = t.supervise("s");
    let pid = wait_up(&t, "s", &sup, 0);
    fs::set_permissions(t.path("s/run"), fs::Permissions::from_mode(0o644)).unwrap();
    kill(pid, libc::SIGKILL);
    let denied = "s: supervise: fatal: unable to start ./run: access denied\n";
    wait_until("three refused starts", || {
        sup.stderr().matches(denied).count() >= 3
    });
    assert!(!sup.exited(), "supervise exited: {}", sup.stderr());
    assert_eq!(t.lines("s/args").len(), 1, "run ran without its exec bit");
    // Retried, not spinning: supervise itself used next to nothing (utime + stime).
    let ticks: u64 = [14, 15]
        .iter()
        .map(|&f| {
            stat_field(sup.pid as u32, f)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert!(ticks < 50, "supervise used {ticks} ticks of CPU");
    fs::set_permissions(t.path("s/run"), fs::Permissions::from_mode(0o755)).unwrap();
    let pid2 = wait_up(&t, "s", &sup, pid);
    // up is published at the fork; run records its arguments a moment later
    wait_until("the second start's arguments", || {
        t.lines("s/args").len() == 2
    });
    assert_eq!(t.lines("s/args").last().unwrap(), "s abnormal startup");
    fs::remove_file(t.path("s/run")).unwrap();
    kill(pid2, libc::SIGKILL);
    assert_eq!(sup.wait_exit(), Some(111));
    assert!(!alive(pid2));
    assert!(children(sup.pid as u32).is_empty());
}

/// A `run` without the sticky bit that double-forks a daemon and exits: supervise sees a
/// service that keeps exiting and restarts it at most once a second (each start leaves a
/// daemon, as with the reference: only a sticky `run` makes supervise follow it); `svc -d`
/// stops the restarts and supervise lives on.
#[test]
fn run_that_forks_away_is_restarted_throttled_until_down() {
    let t = Tree::new();
    t.service(
        "s",
        "#!/bin/sh\necho \"$@\" >>args\ncut -d' ' -f22 /proc/$$/stat >>starts\n(exec sleep 1000 &)\nexit 0\n",
    );
    let sup = t.supervise("s");
    wait_until("three starts", || t.lines("s/starts").len() >= 3);
    let starts = start_times(&t);
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= 0.95, "throttled: {starts:?}");
    }
    t.svc(&["-d", "s"]).assert_code(0);
    wait_down(&t, "s");
    let n = t.lines("s/starts").len();
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(t.lines("s/starts").len(), n, "restarted while down");
    assert!(!sup.exited_now(), "supervise exited");
    assert_eq!(t.lines("s/args")[0], "s auto startup");
    assert!(t.lines("s/args")[1..]
        .iter()
        .all(|l| l == "s auto startup" || l == "s abnormal startup"));
}

// ----- svps -----
// The listing, -h/-t and -s/-r are compared with the reference's script in
// conformance_supervise.rs (they need a private /run and /var/tmp).

#[test]
fn svps_refuses_bad_options_and_non_root() {
    let out = Cmd::bin("svps").arg("-z").run();
    out.assert_code(1);
    assert!(
        out.stderr_str()
            .starts_with("invalid option [-z]\nusage: svps [-a|--all | -m|--main"),
        "{out:?}"
    );
    if !is_root() {
        return skip("the non-root check needs another uid to run as");
    }
    let (uid, gid, _) = blackbox::user("nobody").expect("user nobody");
    Cmd::bin("svps")
        .user(uid, gid)
        .run()
        .assert(1, "", "You are not root\n");
}
