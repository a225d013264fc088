//! Black-box suite for svscan and svscanboot: acceptance checks 30–36 of
//! docs/daemontools.md#acceptance-checks, the rest of #svscan (options, pid file, exports, `.svars`, SCANLOG,
//! INITCMD, SETSID, shutdown variants, the run-fs rename), docs/decisions.md#d5 and #d6, and the
//! reliability tests of the svscan issue (no log line lost across 50 log restarts, pid 1
//! in a pid namespace, service directories removed/renamed/replaced/unreadable).
//!
//! Every test builds its own scan directory and runs svscan in a process group of its own
//! with `DISABLE_RUN=1`, so nothing global is touched. The run-fs tests (root only) run
//! svscan inside `unshare --mount` with a private tmpfs on /run; the pid-1 tests (root only)
//! inside `unshare --pid --fork --mount-proc`.

use blackbox::{bin, is_root, skip, test_path, Cmd, Output};
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long any condition may take to come true before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

const SLEEP_RUN: &str = "#!/bin/sh\nexec sleep 1000\n";
const CAT_LOG: &str = "#!/bin/sh\nexec cat >> out\n";

// ----- fixtures -----

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::Builder::new()
            .prefix("svscan-test")
            .tempdir()
            .expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Tree { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn script(&self, rel: &str, body: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, body).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A service directory with an executable `run`.
    fn service(&self, name: &str, run: &str) {
        self.script(&format!("{name}/run"), run);
    }

    /// A service built aside and renamed into the scan directory in one step, so that no
    /// scan can see it half made.
    fn add_service(&self, name: &str, run: &str) {
        let aside = self.path(&format!(".new-{name}"));
        fs::create_dir_all(&aside).unwrap();
        fs::write(aside.join("run"), run).unwrap();
        fs::set_permissions(aside.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::rename(aside, self.path(name)).unwrap();
    }

    fn write(&self, rel: &str, data: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    fn svstat(&self, dir: &str) -> Output {
        Cmd::bin("svstat")
            .cwd(self.root())
            .env("PATH", test_path())
            .arg(dir)
            .run()
    }

    /// The pid in `NAME/supervise/status` (the service when up).
    fn status_pid(&self, name: &str) -> Option<u32> {
        let b = fs::read(self.path(&format!("{name}/supervise/status"))).ok()?;
        (b.len() == 21).then(|| u32::from_le_bytes(b[12..16].try_into().unwrap()))
    }

    fn is_up(&self, name: &str) -> bool {
        let b = fs::read(self.path(&format!("{name}/supervise/status"))).unwrap_or_default();
        b.len() == 21 && b[20] == 1
    }

    fn chown_all(&self, uid: u32, gid: u32) {
        let out = blackbox::command("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(self.root())
            .status()
            .unwrap();
        assert!(out.success());
    }
}

/// A running svscan, in a process group of its own; dropping it kills the group.
struct Svscan {
    child: Child,
    err: PathBuf,
    /// Process groups to kill on drop (svscan's own, and any session it made).
    groups: Vec<i32>,
    reaped: Option<Option<i32>>,
    /// svscan is a child of the direct child (a shell, unshare, svscanboot).
    indirect: bool,
}

#[derive(Default)]
struct Opts<'a> {
    args: &'a [&'a str],
    env: &'a [(&'a str, &'a str)],
    user: Option<(u32, u32)>,
    /// Run as `sh -c 'svscan ... & wait'` so that svscan is not a group leader (SETSID).
    under_shell: bool,
    /// Run in a user namespace allowed no inotify instance: svscan's periodic fallback.
    no_inotify: bool,
}

impl Svscan {
    /// `svscan ARGS DIR` with PATH, DISABLE_RUN=1 and `env`.
    fn start(t: &Tree, args: &[&str], env: &[(&str, &str)]) -> Svscan {
        Svscan::start_with(
            t,
            Opts {
                args,
                env,
                ..Opts::default()
            },
        )
    }

    fn start_with(t: &Tree, o: Opts) -> Svscan {
        let err = t.path("svscan.err");
        let out = t.path("svscan.out");
        let mut cmd = if o.under_shell {
            let mut c = blackbox::command("/bin/sh");
            c.arg("-c")
                .arg("\"$@\" & wait")
                .arg("sh")
                .arg(bin("svscan"))
                .args(o.args)
                .arg(t.root());
            c
        } else if o.no_inotify {
            let mut c = blackbox::command("unshare");
            c.args(["--user", "--map-root-user", "/bin/sh", "-c"])
                .arg("echo 0 > /proc/sys/user/max_inotify_instances && exec \"$0\" \"$@\"")
                .arg(bin("svscan"))
                .args(o.args)
                .arg(t.root());
            c
        } else {
            let mut c = blackbox::command(bin("svscan"));
            c.args(o.args).arg(t.root());
            c
        };
        cmd.current_dir(t.root())
            .env_clear()
            .env("PATH", test_path())
            .env("DISABLE_RUN", "1")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .process_group(0);
        for (k, v) in o.env {
            cmd.env(k, v);
        }
        if let Some((uid, gid)) = o.user {
            cmd.uid(uid).gid(gid);
        }
        let child = cmd.spawn().expect("start svscan");
        let pgid = child.id() as i32;
        Svscan {
            child,
            err,
            groups: vec![pgid],
            reaped: None,
            indirect: o.under_shell,
        }
    }

    /// svscan's pid (the shell's child when started under a shell).
    fn pid(&self) -> u32 {
        let me = self.child.id();
        if !self.indirect {
            return me;
        }
        let mut found = None;
        wait_until("svscan under the shell", || {
            found = children(me)
                .into_iter()
                .find(|(p, _)| comm(*p).as_deref() == Some("svscan"))
                .map(|(p, _)| p);
            found.is_some()
        });
        found.unwrap()
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn signal(&self, sig: i32) {
        kill(self.pid(), sig);
    }

    /// The pid of svscan's child running exactly `cmdline` (e.g. `supervise log a`).
    fn child_running(&self, cmdline: &str) -> Option<u32> {
        children(self.pid())
            .into_iter()
            .find(|(_, c)| c == cmdline)
            .map(|(p, _)| p)
    }

    fn wait_child(&self, cmdline: &str) -> u32 {
        let mut pid = None;
        wait_until(&format!("svscan's child `{cmdline}`"), || {
            pid = self.child_running(cmdline);
            pid.is_some()
        });
        pid.unwrap()
    }

    /// Wait for svscan (or its shell) to exit; its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        if let Some(code) = self.reaped {
            return code;
        }
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.reaped = Some(st.code());
                return st.code();
            }
            assert!(
                start.elapsed() < PATIENCE,
                "svscan did not exit; stderr: {}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Svscan {
    fn drop(&mut self) {
        for g in &self.groups {
            // SAFETY: kill(2) to process groups this test created.
            unsafe { libc::kill(-g, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) to a process this test started (directly or through svscan).
    unsafe { libc::kill(pid as i32, sig) };
}

fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z")
}

/// Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, ...
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

fn cmdline(pid: u32) -> String {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Live (non-zombie) children of `ppid` with their command lines.
fn children(ppid: u32) -> Vec<(u32, String)> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(f) = stat_fields(pid) {
            if f[1] == ppid.to_string() && f[0] != "Z" {
                v.push((pid, cmdline(pid)));
            }
        }
    }
    v
}

fn zombie_children(ppid: u32) -> usize {
    let mut n = 0;
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(f) = stat_fields(pid) {
            if f[1] == ppid.to_string() && f[0] == "Z" {
                n += 1;
            }
        }
    }
    n
}

fn environ(pid: u32) -> HashMap<String, String> {
    let raw = fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|&b| b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

fn nobody() -> (u32, u32) {
    let (uid, gid, _) = blackbox::user("nobody").expect("user nobody");
    (uid, gid)
}

// ----- options and startup errors -----

#[test]
fn usage_errors_exit_100() {
    let t = Tree::new();
    let usage = "svscan: fatal: usage: svscan [-sv] [directory]\n";
    Cmd::bin("svscan")
        .clean_env()
        .arg("-x")
        .cwd(t.root())
        .run()
        .assert(100, "", &format!("svscan: illegal option -- x\n{usage}"));
    Cmd::bin("svscan")
        .clean_env()
        .arg("-n")
        .cwd(t.root())
        .run()
        .assert(
            100,
            "",
            &format!("svscan: option requires an argument -- n\n{usage}"),
        );
    Cmd::bin("svscan")
        .clean_env()
        .args(["-n", "lots"])
        .cwd(t.root())
        .run()
        .assert(100, "", usage);
    assert!(!t.exists(".svscan.pid"));
}

#[test]
fn missing_scan_directory_exits_111() {
    let t = Tree::new();
    let missing = t.path("nonexistent");
    Cmd::bin("svscan")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .arg(&missing)
        .run()
        .assert(
            111,
            "",
            &format!(
                "svscan: fatal: unable to chdir to {}: file does not exist\n",
                missing.display()
            ),
        );
}

// ----- check 30: the log pipe, the supervise pair and their environment -----

#[test]
fn check30_log_pipe_pair_and_exports() {
    let t = Tree::new();
    t.service("a", "#!/bin/sh\necho hello\nexec sleep 1000\n");
    t.script("a/log/run", "#!/bin/sh\nexec cat > out\n");
    let sv = Svscan::start(&t, &["-v", "-s"], &[]);
    wait_until("hello in a/log/out", || t.read("a/log/out") == "hello\n");
    let main = sv.wait_child("supervise a");
    let log = sv.wait_child("supervise log a");
    let me = sv.pid().to_string();
    let root = t.root().to_string_lossy().into_owned();
    let env = environ(main);
    assert_eq!(env.get("MAIN_SV").map(String::as_str), Some("a"));
    assert_eq!(env.get("SV_PWD"), None);
    for (k, v) in [
        ("PPID", me.as_str()),
        ("SCANDIR", root.as_str()),
        ("PWD", root.as_str()),
        ("VERBOSE", "1"),
        ("SILENT", "1"),
    ] {
        assert_eq!(
            env.get(k).map(String::as_str),
            Some(v),
            "{k} of supervise a"
        );
    }
    let env = environ(log);
    assert_eq!(env.get("SV_PWD").map(String::as_str), Some("a"));
    assert_eq!(env.get("MAIN_SV"), None);
    assert_eq!(env.get("SCANDIR").map(String::as_str), Some(root.as_str()));
    // svscan started it in the service directory, `supervise log` went into log/.
    assert_eq!(
        fs::read_link(format!("/proc/{log}/cwd")).unwrap(),
        t.path("a/log")
    );
    // The pipe: main supervise's stdout, log supervise's stdin, the same pipe.
    let out = fs::read_link(format!("/proc/{main}/fd/1")).unwrap();
    let inp = fs::read_link(format!("/proc/{log}/fd/0")).unwrap();
    assert!(out.to_string_lossy().starts_with("pipe:"), "{out:?}");
    assert_eq!(out, inp);
}

#[test]
fn service_without_log_inherits_svscans_stdout() {
    let t = Tree::new();
    t.service("a", "#!/bin/sh\necho to-stdout\nexec sleep 1000\n");
    let _sv = Svscan::start(&t, &[], &[]);
    wait_until("the service's output in svscan's stdout", || {
        t.read("svscan.out") == "to-stdout\n"
    });
}

// ----- check 31: the pid file -----

#[test]
fn check31_pid_file_and_second_instance() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start(&t, &[], &[]);
    let pid = sv.pid() as i32;
    wait_until("the pid file", || t.exists(".svscan.pid"));
    let mut want = pid.to_ne_bytes().to_vec();
    want.extend_from_slice(format!("\n{pid}\n").as_bytes());
    assert_eq!(fs::read(t.path(".svscan.pid")).unwrap(), want);
    assert_eq!(
        fs::metadata(t.path(".svscan.pid")).unwrap().mode() & 0o777,
        0o644
    );
    Cmd::bin("svscan")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .arg(t.root())
        .run()
        .assert(111, "", "svscan: fatal: [svscan] already running\n");
    // The refused instance left the file alone.
    assert_eq!(fs::read(t.path(".svscan.pid")).unwrap(), want);
}

#[test]
fn stale_pid_files_are_replaced() {
    for holder in ["dead", "not-svscan", "torn"] {
        let t = Tree::new();
        t.service("a", SLEEP_RUN);
        let content = match holder {
            // A pid above any pid_max.
            "dead" => {
                let mut b = 0x7fff_fff0i32.to_ne_bytes().to_vec();
                b.extend_from_slice(b"\n2147483632\n");
                b
            }
            // This test process: alive, but its comm is not `svscan`.
            "not-svscan" => (std::process::id() as i32).to_ne_bytes().to_vec(),
            _ => b"\x01".to_vec(),
        };
        fs::write(t.path(".svscan.pid"), content).unwrap();
        let sv = Svscan::start(&t, &[], &[]);
        let pid = sv.pid() as i32;
        sv.wait_child("supervise a");
        let b = fs::read(t.path(".svscan.pid")).unwrap();
        assert_eq!(&b[..4], &pid.to_ne_bytes(), "{holder}");
    }
}

// ----- check 32: dot directories and .svscan/log -----

#[test]
fn check32_dot_directories_and_svscan_log() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service(".hidden", "#!/bin/sh\ntouch ran\nexec sleep 1000\n");
    t.script(".svscan/log/run", "#!/bin/sh\nexec cat > out\n");
    t.write("plainfile", "not a service\n");
    let sv = Svscan::start(&t, &[], &[]);
    let log = sv.wait_child("supervise log .svscan");
    assert_eq!(
        environ(log).get("SV_PWD").map(String::as_str),
        Some(".svscan")
    );
    sv.wait_child("supervise a");
    assert_eq!(sv.child_running("supervise .svscan"), None);
    thread::sleep(Duration::from_millis(500));
    let kids: Vec<String> = children(sv.pid()).into_iter().map(|(_, c)| c).collect();
    assert!(
        !kids
            .iter()
            .any(|c| c.contains("hidden") || c.contains("plainfile")),
        "{kids:?}"
    );
    assert!(!t.exists(".hidden/ran"));
}

// ----- check 33: rescans (D6) -----

/// Without inotify (its instant pickup is an extension), check 33 as the reference has it.
#[test]
fn check33_new_service_on_sighup_not_before() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start_with(
        &t,
        Opts {
            args: &["-v"],
            env: &[("SCANINTERVAL", "3600")],
            no_inotify: true,
            ..Opts::default()
        },
    );
    sv.wait_child("supervise a");
    assert!(
        sv.stderr()
            .contains("svscan: info: inotify unavailable (process cannot open more files): scanning every 3600 seconds\n"),
        "{}",
        sv.stderr()
    );
    t.add_service("b", SLEEP_RUN);
    thread::sleep(Duration::from_secs(2));
    assert_eq!(sv.child_running("supervise b"), None);
    sv.signal(libc::SIGHUP);
    sv.wait_child("supervise b");
    let err = sv.stderr();
    assert!(err.contains("svscan: info: got sighup\n"), "{err}");
    assert!(
        err.contains(&format!(
            "svscan: info: Scanning directory {}\n",
            t.root().display()
        )),
        "{err}"
    );
}

#[test]
fn check33_periodic_rescan_with_and_without_autoscan() {
    for env in [
        &[("AUTOSCAN", "1"), ("SCANINTERVAL", "1")][..],
        &[("SCANINTERVAL", "1")][..],
    ] {
        let t = Tree::new();
        t.service("a", SLEEP_RUN);
        let sv = Svscan::start_with(
            &t,
            Opts {
                env,
                no_inotify: true,
                ..Opts::default()
            },
        );
        sv.wait_child("supervise a");
        t.add_service("b", SLEEP_RUN);
        sv.wait_child("supervise b");
    }
}

/// Without inotify and without SCANINTERVAL, the scan runs every 5 seconds (D6).
#[test]
fn without_inotify_the_default_periodic_scan_picks_up() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start_with(
        &t,
        Opts {
            no_inotify: true,
            ..Opts::default()
        },
    );
    sv.wait_child("supervise a");
    t.add_service("b", SLEEP_RUN);
    sv.wait_child("supervise b");
    assert!(alive(sv.pid()));
}

// ----- instant pickup (inotify) -----

/// Well below any scan interval these tests set (3600 s), and above what a loaded machine
/// needs to start a supervise.
const PICKUP: Duration = Duration::from_secs(10);

fn wait_within(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// svscan's voluntary context switches: unchanged means it did not wake up at all.
fn wakeups(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// The cwd of each live `supervise NAME` child of svscan.
fn supervisor_dirs(sv: &Svscan, name: &str) -> Vec<PathBuf> {
    let cmd = format!("supervise {name}");
    children(sv.pid())
        .into_iter()
        .filter(|(_, c)| *c == cmd)
        .filter_map(|(p, _)| fs::read_link(format!("/proc/{p}/cwd")).ok())
        .collect()
}

/// With SCANINTERVAL=3600 and no SIGHUP: a service moved in or symlinked in (as
/// administrators add services) is up at once; one made in place is held until it has
/// settled, so that a `log` made a moment after the directory still gets its pipe; and the
/// live `down` file works without any scan being due.
#[test]
fn pickup_of_services_moved_linked_or_made_in_place() {
    let t = Tree::new();
    let elsewhere = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start(&t, &["-v"], &[("SCANINTERVAL", "3600")]);
    sv.wait_child("supervise a");

    t.add_service("moved", SLEEP_RUN);
    wait_within("moved up", PICKUP, || t.is_up("moved"));

    elsewhere.service("linked", SLEEP_RUN);
    std::os::unix::fs::symlink(elsewhere.path("linked"), t.path("linked")).unwrap();
    wait_within("linked up", PICKUP, || t.is_up("linked"));
    assert!(elsewhere.is_up("linked"));

    // Made in place, step by step, its log a moment after the directory.
    fs::create_dir(t.path("made")).unwrap();
    thread::sleep(Duration::from_millis(300));
    t.script("made/log/run", CAT_LOG);
    t.service("made", "#!/bin/sh\necho made here\nexec sleep 1000\n");
    wait_within("made up", PICKUP, || t.is_up("made"));
    sv.wait_child("supervise log made");
    wait_until("made's line in its log", || {
        t.read("made/log/out") == "made here\n"
    });

    // The live down file, with no scan due.
    wait_until("a up", || t.is_up("a"));
    t.write("a/down", "");
    wait_within("a down", PICKUP, || t.svstat("a").code == Some(1));
    fs::remove_file(t.path("a/down")).unwrap();
    wait_within("a up again", PICKUP, || t.svstat("a").code == Some(0));
    // The same held the other way: a service linked in the down state stays down.
    elsewhere.service("linkdown", SLEEP_RUN);
    elsewhere.write("linkdown/down", "");
    std::os::unix::fs::symlink(elsewhere.path("linkdown"), t.path("linkdown")).unwrap();
    wait_within("linkdown supervised", PICKUP, || {
        t.svstat("linkdown").code == Some(1)
    });
    // Touching down inside a symlinked service is seen through the link.
    fs::remove_file(elsewhere.path("linkdown/down")).unwrap();
    wait_within("linkdown up", PICKUP, || t.is_up("linkdown"));

    let err = sv.stderr();
    for s in ["moved", "linked", "made", "linkdown"] {
        assert!(
            err.contains(&format!("svscan: info: Starting service {s}\n")),
            "{err}"
        );
    }
    // Only the first scan: everything after it came from inotify, not from a rescan.
    assert_eq!(err.matches("Scanning directory").count(), 1, "{err}");
    assert!(!err.contains("svscan: warning"), "{err}");
}

/// With inotify and SCANINTERVAL unset, an idle svscan never wakes up (no periodic scan);
/// a `down` symlink, whose target can change without an event, brings the periodic scan
/// (every 5 s) back, and its toggles are seen; an explicit SCANINTERVAL keeps it.
#[test]
fn idle_without_wakeups_and_periodic_scan_only_where_needed() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service("b", SLEEP_RUN);
    let sv = Svscan::start(&t, &[], &[]);
    wait_until("a and b up", || t.is_up("a") && t.is_up("b"));
    // Past the supervisors' start-up (their `supervise/` directories, status files).
    thread::sleep(Duration::from_secs(1));
    let before = wakeups(sv.pid());
    thread::sleep(Duration::from_secs(6));
    assert_eq!(wakeups(sv.pid()), before, "svscan woke up while idle");

    // b's down becomes a symlink to a flag outside the tree.
    let flags = Tree::new();
    std::os::unix::fs::symlink(flags.path("flag-b"), t.path("b/down")).unwrap();
    flags.write("flag-b", "");
    wait_until("b down", || t.svstat("b").code == Some(1));
    fs::remove_file(flags.path("flag-b")).unwrap();
    wait_until("b up", || t.svstat("b").code == Some(0));
    drop(sv);

    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start(&t, &[], &[("SCANINTERVAL", "1")]);
    wait_until("a up", || t.is_up("a"));
    thread::sleep(Duration::from_secs(1));
    let before = wakeups(sv.pid());
    wait_until("a periodic scan", || wakeups(sv.pid()) > before);
}

/// A service removed is handled as before: its supervise is left running, and once it is
/// gone it is not started again; the others never notice.
#[test]
fn removed_service_is_left_alone_then_forgotten() {
    let t = Tree::new();
    t.service("keep", SLEEP_RUN);
    t.service("gone", SLEEP_RUN);
    t.script("gone/log/run", CAT_LOG);
    let sv = Svscan::start(&t, &[], &[]);
    let keep = sv.wait_child("supervise keep");
    let gone = sv.wait_child("supervise gone");
    let gone_log = sv.wait_child("supervise log gone");
    // Both supervisors past their start-up (one whose directory vanishes while it makes its
    // `supervise/` exits 111, rightly): only then is the service removed.
    wait_until("gone up", || t.is_up("gone") && t.is_up("gone/log"));
    fs::remove_dir_all(t.path("gone")).unwrap();
    thread::sleep(Duration::from_millis(1500));
    assert!(
        alive(gone) && alive(gone_log),
        "svscan stopped a removed service"
    );
    kill(gone, libc::SIGKILL);
    kill(gone_log, libc::SIGKILL);
    thread::sleep(Duration::from_millis(2500));
    assert_eq!(sv.child_running("supervise gone"), None);
    assert_eq!(sv.child_running("supervise log gone"), None);
    assert_eq!(sv.child_running("supervise keep"), Some(keep));
    wait_until("no zombies", || zombie_children(sv.pid()) == 0);
    // The name made again is a new service.
    t.add_service("gone", SLEEP_RUN);
    wait_within("gone again", PICKUP, || t.is_up("gone"));
}

/// Remove a link or a directory tree from the scan directory, again while a supervise just
/// started there keeps adding its `supervise/` files under it (ENOTEMPTY).
fn remove_entry(path: &Path) {
    for _ in 0..1000 {
        if fs::remove_file(path).is_ok() || fs::remove_dir_all(path).is_ok() {
            return;
        }
        if fs::symlink_metadata(path).is_err() {
            return;
        }
    }
    panic!("{} cannot be removed", path.display());
}

/// Services moved in, linked in, made in place and removed again as fast as the test can:
/// at the end every service present has a supervise running in its directory, and svscan
/// is alive.
#[test]
fn storm_of_services_added_and_removed() {
    let t = Tree::new();
    let elsewhere = Tree::new();
    let sv = Svscan::start(&t, &[], &[("SCANINTERVAL", "3600")]);
    let mut present = Vec::new();
    for round in 0..5 {
        for i in 0..40 {
            let name = format!("s{i:02}");
            let path = t.path(&name);
            remove_entry(&path);
            match (round + i) % 4 {
                0 => t.add_service(&name, SLEEP_RUN),
                1 => {
                    let target = elsewhere.path(&format!("{name}-{round}"));
                    elsewhere.service(&format!("{name}-{round}"), SLEEP_RUN);
                    std::os::unix::fs::symlink(target, &path).unwrap();
                }
                2 => t.service(&name, SLEEP_RUN),
                _ => {}
            }
            // Every third one goes again at once (a link, a directory or nothing).
            if i % 3 == round % 3 {
                remove_entry(&path);
            }
        }
    }
    for i in 0..40 {
        let name = format!("s{i:02}");
        if fs::metadata(t.path(&name)).is_ok() {
            present.push(name);
        }
    }
    assert!(present.len() > 10, "{present:?}");
    for name in &present {
        let dir = fs::canonicalize(t.path(name)).unwrap();
        wait_within(
            &format!("{name} supervised in its directory"),
            PICKUP,
            || supervisor_dirs(&sv, name).contains(&dir),
        );
    }
    assert!(alive(sv.pid()));
    let err = sv.stderr();
    assert!(!err.contains("svscan: fatal"), "{err}");
}

/// Events lost to a full inotify queue (IN_Q_OVERFLOW) make a full scan: a service moved
/// in while svscan was stopped and the queue was flooded is still started.
#[test]
fn inotify_queue_overflow_means_a_full_scan() {
    let max: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start(&t, &["-v"], &[("SCANINTERVAL", "3600")]);
    sv.wait_child("supervise a");
    sv.signal(libc::SIGSTOP);
    for i in 0..max + 10 {
        // Each file made in the scan directory is one event.
        fs::write(t.path(&format!("f{i}")), "").unwrap();
    }
    t.add_service("b", SLEEP_RUN);
    sv.signal(libc::SIGCONT);
    wait_within("b up", PICKUP, || t.is_up("b"));
    let err = sv.stderr();
    assert!(
        err.contains("svscan: info: inotify lost events: rescanning\n"),
        "{err}"
    );
}

// ----- check 34: the live down file -----

#[test]
fn check34_down_file_toggles_a_running_service() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start(&t, &["-v"], &[("SCANINTERVAL", "3600")]);
    let sup = sv.wait_child("supervise a");
    wait_until("a up", || t.is_up("a"));
    t.write("a/down", "");
    sv.signal(libc::SIGHUP);
    wait_until("a down", || t.svstat("a").code == Some(1));
    let out = t.svstat("a").stdout_str();
    assert!(out.starts_with("a: down "), "{out}");
    fs::remove_file(t.path("a/down")).unwrap();
    sv.signal(libc::SIGHUP);
    wait_until("a up again", || t.svstat("a").code == Some(0));
    // The same supervise did both: svscan wrote to its control FIFO.
    assert_eq!(sv.child_running("supervise a"), Some(sup));
    let err = sv.stderr();
    assert!(
        err.contains("svscan: info: Stopping service a which was up\n"),
        "{err}"
    );
    assert!(
        err.contains("svscan: info: Starting service a which was down\n"),
        "{err}"
    );
}

#[test]
fn down_file_at_start_is_recorded_and_toggled_by_the_periodic_scan() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.write("a/down", "");
    let sv = Svscan::start(&t, &[], &[("SCANINTERVAL", "1")]);
    sv.wait_child("supervise a");
    wait_until("a down", || t.svstat("a").code == Some(1));
    // Nothing is written while the down file stays.
    thread::sleep(Duration::from_millis(2500));
    assert_eq!(t.svstat("a").code, Some(1));
    fs::remove_file(t.path("a/down")).unwrap();
    wait_until("a up", || t.svstat("a").code == Some(0));
}

/// svscan looks at `down` again only when the directory's ctime moved: a service whose
/// directory has been quiet for a while still toggles, and a `down` symlink is followed
/// every time (its target can come and go without the directory changing).
#[test]
fn down_file_toggles_after_the_directory_settled_and_through_a_symlink() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service("b", SLEEP_RUN);
    std::os::unix::fs::symlink("../flag-b", t.path("b/down")).unwrap();
    let sv = Svscan::start(&t, &[], &[("SCANINTERVAL", "1")]);
    wait_until("a and b up", || t.is_up("a") && t.is_up("b"));
    // Several scans over directories whose ctime is older than the 2 s margin.
    thread::sleep(Duration::from_millis(4500));
    t.write("a/down", "");
    wait_until("a down", || t.svstat("a").code == Some(1));
    thread::sleep(Duration::from_millis(4500));
    fs::remove_file(t.path("a/down")).unwrap();
    wait_until("a up", || t.svstat("a").code == Some(0));
    // b's directory never changes: only the symlink's target does.
    t.write("flag-b", "");
    wait_until("b down", || t.svstat("b").code == Some(1));
    fs::remove_file(t.path("flag-b")).unwrap();
    wait_until("b up", || t.svstat("b").code == Some(0));
    drop(sv);
}

// ----- check 35: a dead supervise comes back (D6: always, not only with SCANNOW) -----

#[test]
fn check35_dead_supervise_is_restarted() {
    for env in [&[("SCANNOW", "1")][..], &[][..]] {
        let t = Tree::new();
        t.service("a", SLEEP_RUN);
        t.script("a/log/run", CAT_LOG);
        let sv = Svscan::start(&t, &[], &[&[("SCANINTERVAL", "3600")][..], env].concat());
        for cmd in ["supervise a", "supervise log a"] {
            let old = sv.wait_child(cmd);
            thread::sleep(Duration::from_millis(1100));
            kill(old, libc::SIGKILL);
            wait_until(&format!("a new `{cmd}`"), || {
                sv.child_running(cmd).is_some_and(|p| p != old)
            });
        }
        // Nothing left as a zombie of svscan.
        wait_until("no zombies", || zombie_children(sv.pid()) == 0);
    }
}

#[test]
fn supervise_that_cannot_run_is_retried_once_a_second_not_in_a_loop() {
    let t = Tree::new();
    fs::create_dir_all(t.path("norun")).unwrap();
    let sv = Svscan::start(&t, &[], &[("SCANINTERVAL", "3600")]);
    let fails = || sv.stderr().matches("unable to stat norun/run").count();
    // It is retried without any scan being due...
    wait_until("three starts", || fails() >= 3);
    // ...but throttled: a busy loop would have made hundreds by now.
    let n = fails();
    assert!(n <= 6, "{n} starts: {}", sv.stderr());
    t.script("norun/run", SLEEP_RUN);
    sv.wait_child("supervise norun");
    wait_until("norun up", || t.is_up("norun"));
}

#[test]
fn supervise_missing_from_path_is_reported_and_retried() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let sv = Svscan::start(&t, &[], &[("PATH", "/nonexistent-dir")]);
    let line = "svscan: warning: unable to start supervise a: file does not exist\n";
    wait_until("two attempts", || sv.stderr().matches(line).count() >= 2);
    assert!(alive(sv.pid()));
    assert!(children(sv.pid()).is_empty());
}

// ----- check 36: SIGTERM -----

#[test]
fn check36_sigterm_leaves_services_running() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.script("a/log/run", CAT_LOG);
    let mut sv = Svscan::start(&t, &[], &[]);
    let main = sv.wait_child("supervise a");
    let log = sv.wait_child("supervise log a");
    wait_until("a up", || t.is_up("a"));
    sv.signal(libc::SIGTERM);
    assert_eq!(sv.wait_exit(), Some(0));
    assert!(!t.exists(".svscan.pid"));
    assert!(alive(main) && alive(log));
    Cmd::bin("svok")
        .cwd(t.root())
        .arg("a")
        .run()
        .assert(0, "", "");
    let me = sv.child.id();
    let err = sv.stderr();
    assert_eq!(
        err,
        format!("svscan: info: pid: {me}: shutdown in progress...\nsvscan: info: pid: {me}: exiting...\n")
    );
}

#[test]
fn check36_terminate_session_stops_every_supervise() {
    let t = Tree::new();
    for s in ["a", "b"] {
        t.service(s, SLEEP_RUN);
        t.script(&format!("{s}/log/run"), CAT_LOG);
    }
    let mut sv = Svscan::start(&t, &[], &[("TERMINATE_SESSION", "1")]);
    let sups: Vec<u32> = [
        "supervise a",
        "supervise log a",
        "supervise b",
        "supervise log b",
    ]
    .iter()
    .map(|c| sv.wait_child(c))
    .collect();
    wait_until("a and b up", || t.is_up("a") && t.is_up("b"));
    let services = [t.status_pid("a").unwrap(), t.status_pid("b").unwrap()];
    sv.signal(libc::SIGTERM);
    assert_eq!(sv.wait_exit(), Some(0));
    wait_until("every supervise gone", || !sups.iter().any(|&p| alive(p)));
    wait_until("every service gone", || !services.iter().any(|&p| alive(p)));
}

#[test]
fn shutdown_script_is_waited_for() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.script(
        ".svscan/shutdown",
        "#!/bin/sh\nsleep 2\necho done > shutdown-ran\n",
    );
    let mut sv = Svscan::start(&t, &[], &[]);
    sv.wait_child("supervise a");
    sv.signal(libc::SIGTERM);
    assert_eq!(sv.wait_exit(), Some(0));
    // svscan waited: the script had finished before it exited.
    assert_eq!(t.read("shutdown-ran"), "done\n");
}

#[test]
fn shutdown_script_with_terminate_session_and_wait_is_timed() {
    let t = Tree::new();
    t.service(
        "a",
        "#!/bin/sh\ntrap 'echo bye; exit 0' TERM\necho hi\nwhile :; do sleep 1 & wait $!; done\n",
    );
    t.script("a/log/run", CAT_LOG);
    // The script runs `svc -dx` on the services (not their logs), as minisvc's does.
    t.script(
        ".svscan/shutdown",
        &format!(
            "#!/bin/sh\nsvc -dx {0}/*\ntouch {0}/shutdown-ran\n",
            t.root().display()
        ),
    );
    let mut sv = Svscan::start(
        &t,
        &["-v"],
        &[
            ("TERMINATE_SESSION", "1"),
            ("WAIT_INITCMD", "1"),
            ("KILLWAIT", "4"),
        ],
    );
    let main = sv.wait_child("supervise a");
    let log = sv.wait_child("supervise log a");
    wait_until("hi logged", || t.read("a/log/out") == "hi\n");
    sv.signal(libc::SIGTERM);
    assert_eq!(sv.wait_exit(), Some(0));
    assert!(!alive(main) && !alive(log));
    assert!(t.exists("shutdown-ran"));
    wait_until("bye logged", || t.read("a/log/out") == "hi\nbye\n");
    let err = sv.stderr();
    let me = sv.child.id();
    for line in [
        "shutdown in progress...",
        "terminating svc sessions with TERM...",
        "exiting...",
    ] {
        assert!(
            err.contains(&format!("svscan: info: pid: {me}: {line}\n")),
            "{line}: {err}"
        );
    }
}

// ----- SCANLOG, INITCMD, SETSID -----

#[test]
fn scanlog_sends_svscans_output_to_its_log_service() {
    let t = Tree::new();
    t.service("a", "#!/bin/sh\necho from-a >&2\nexec sleep 1000\n");
    t.script(".svscan/log/run", CAT_LOG);
    let mut sv = Svscan::start(&t, &["-v"], &[("SCANLOG", "")]);
    let me = sv.pid();
    wait_until("svscan's lines in .svscan/log/out", || {
        let out = t.read(".svscan/log/out");
        out.contains(&format!("svscan: info: pid: {me}: starting...\n"))
            && out.contains("svscan: info: Starting service a\n")
            && out.contains("from-a\n")
    });
    let own = fs::read_link(format!("/proc/{me}/fd/2")).unwrap();
    let log = sv.wait_child("supervise log .svscan");
    assert_eq!(fs::read_link(format!("/proc/{log}/fd/0")).unwrap(), own);
    sv.signal(libc::SIGTERM);
    assert_eq!(sv.wait_exit(), Some(0));
    // The logger recorded the shutdown, then was stopped last.
    let out = t.read(".svscan/log/out");
    assert!(
        out.contains(&format!("svscan: info: pid: {me}: exiting...\n")),
        "{out}"
    );
    wait_until("the svscan logger gone", || !alive(log));
}

#[test]
fn initcmd_runs_svscan_run_or_the_given_path() {
    // Empty INITCMD: .svscan/run, not waited for.
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.script(".svscan/run", "#!/bin/sh\necho \"$SCANDIR\" > init-ran\n");
    let sv = Svscan::start(&t, &[], &[("INITCMD", "")]);
    wait_until("init ran", || {
        t.read("init-ran") == format!("{}\n", t.root().display())
    });
    drop(sv);

    // A path that is not executable is skipped silently.
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.write("init.sh", "#!/bin/sh\ntouch init-ran\n");
    let sv = Svscan::start(&t, &[], &[("INITCMD", "./init.sh")]);
    sv.wait_child("supervise a");
    thread::sleep(Duration::from_millis(500));
    assert!(!t.exists("init-ran"));
    assert_eq!(sv.stderr(), "");
}

#[test]
fn wait_initcmd_holds_the_first_scan() {
    let t = Tree::new();
    t.service(
        "a",
        "#!/bin/sh\nif test -f ../init-done; then echo yes; else echo no; fi > ../seen\nexec sleep 1000\n",
    );
    t.script("init.sh", "#!/bin/sh\nsleep 1\ntouch init-done\n");
    let sv = Svscan::start(&t, &[], &[("INITCMD", "./init.sh"), ("WAIT_INITCMD", "1")]);
    sv.wait_child("supervise a");
    wait_until("a recorded what it saw", || t.exists("seen"));
    assert_eq!(t.read("seen"), "yes\n");
}

#[test]
fn setsid_makes_svscan_a_session_leader() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    let mut sv = Svscan::start_with(
        &t,
        Opts {
            env: &[("SETSID", "1")],
            under_shell: true,
            ..Opts::default()
        },
    );
    let pid = sv.pid();
    sv.groups.push(pid as i32);
    let sup = sv.wait_child("supervise a");
    let f = stat_fields(pid).unwrap();
    assert_eq!(
        (f[2].as_str(), f[3].as_str()),
        (&*pid.to_string(), &*pid.to_string())
    );
    assert_eq!(stat_fields(sup).unwrap()[3], pid.to_string());

    // A process group leader cannot call setsid: 111.
    let t = Tree::new();
    let mut sv = Svscan::start(&t, &[], &[("SETSID", "1")]);
    assert_eq!(sv.wait_exit(), Some(111));
    assert_eq!(
        sv.stderr(),
        "svscan: fatal: unable to become session leader: permission denied\n"
    );
    assert!(!t.exists(".svscan.pid"));
}

// ----- .svars (D5) -----

#[test]
fn svars_load_into_supervise_and_log_supervise() {
    let t = Tree::new();
    t.service(
        "a",
        "#!/bin/sh\necho \"FOO=$FOO\" > seen\nexec sleep 1000\n",
    );
    t.script(
        "a/log/run",
        "#!/bin/sh\necho \"BAR=$BAR\" > seen\nexec cat > out\n",
    );
    t.write("a/.svars/FOO", "from-svars\n");
    t.write("a/.svars/.envfile", "VIA_ENVFILE=1\n");
    t.write("a/log/.svars/BAR", "from-log-svars\n");
    let sv = Svscan::start(&t, &[], &[]);
    wait_until("a saw FOO", || t.read("a/seen") == "FOO=from-svars\n");
    wait_until("a/log saw BAR", || {
        t.read("a/log/seen") == "BAR=from-log-svars\n"
    });
    let env = environ(sv.wait_child("supervise a"));
    assert_eq!(env.get("VIA_ENVFILE").map(String::as_str), Some("1"));
    assert_eq!(env.get("BAR"), None);
    let env = environ(sv.wait_child("supervise log a"));
    assert_eq!(env.get("FOO"), None);
}

#[test]
fn broken_svars_fail_that_supervise_only() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service("b", SLEEP_RUN);
    fs::create_dir_all(t.path("a/.svars/sub")).unwrap();
    let sv = Svscan::start(&t, &[], &[("SCANINTERVAL", "3600")]);
    sv.wait_child("supervise b");
    wait_until("the envdir error", || {
        sv.stderr().contains(
            "svscan: warning: unable to start supervise a: unable to open environment file: \
             a/.svars/sub: is a directory\n",
        )
    });
    assert_eq!(sv.child_running("supervise a"), None);
    fs::remove_dir(t.path("a/.svars/sub")).unwrap();
    sv.wait_child("supervise a");
}

// ----- verbosity, slots -----

#[test]
fn sigusr1_toggles_verbose_and_sigusr2_silent() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service("b", SLEEP_RUN);
    // One slot for two services: every scan warns about the second.
    let sv = Svscan::start(&t, &["-n", "1"], &[("SCANINTERVAL", "3600")]);
    let warnings = || sv.stderr().matches(": running too many services\n").count();
    wait_until("the first warning", || warnings() == 1);
    sv.signal(libc::SIGHUP);
    wait_until("the second warning", || warnings() == 2);
    assert!(!sv.stderr().contains("got sighup"));
    // Verbose on: the next SIGHUP is announced.
    sv.signal(libc::SIGUSR1);
    thread::sleep(Duration::from_millis(200));
    sv.signal(libc::SIGHUP);
    wait_until("got sighup", || {
        sv.stderr().contains("svscan: info: got sighup\n") && warnings() == 3
    });
    // Silent on: the scan runs (it is announced) but does not warn.
    sv.signal(libc::SIGUSR2);
    thread::sleep(Duration::from_millis(200));
    sv.signal(libc::SIGHUP);
    wait_until("a second announced scan", || {
        sv.stderr()
            .matches("svscan: info: Scanning directory")
            .count()
            == 2
    });
    thread::sleep(Duration::from_millis(200));
    assert_eq!(warnings(), 3, "{}", sv.stderr());
    // Both toggled back: quiet scans that warn again.
    sv.signal(libc::SIGUSR1);
    sv.signal(libc::SIGUSR2);
    thread::sleep(Duration::from_millis(200));
    sv.signal(libc::SIGHUP);
    wait_until("the fourth warning", || warnings() == 4);
    assert_eq!(
        sv.stderr()
            .matches("svscan: info: Scanning directory")
            .count(),
        2
    );
}

#[test]
fn slot_limit_refuses_extra_services() {
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service("b", SLEEP_RUN);
    let sv = Svscan::start(&t, &["-n", "1"], &[("SCANINTERVAL", "3600")]);
    wait_until("the refusal", || {
        sv.stderr().contains(": running too many services\n")
    });
    let kids: Vec<String> = children(sv.pid()).into_iter().map(|(_, c)| c).collect();
    assert_eq!(kids.len(), 1, "{kids:?}");
    let err = sv.stderr();
    assert!(
        err == "svscan: warning: unable to start a: running too many services\n"
            || err == "svscan: warning: unable to start b: running too many services\n",
        "{err}"
    );
}

// ----- reliability -----

/// 1,000 services (down, so that only their supervisors run) and one more whose supervise
/// is killed ten times: each time svscan starts a new one (at most once a second), the
/// other thousand keep their supervisors, nothing is left as a zombie, and every service
/// reports through svstat at the end.
#[test]
fn a_thousand_services_and_one_supervise_that_keeps_dying() {
    const N: usize = 1000;
    let t = Tree::new();
    for i in 0..N {
        t.service(&format!("s{i:04}"), SLEEP_RUN);
        t.write(&format!("s{i:04}/down"), "");
    }
    t.service("dying", SLEEP_RUN);
    t.write("dying/down", "");
    let sv = Svscan::start(&t, &["-n", "1001"], &[("SCANINTERVAL", "3600")]);
    let supervisors = || {
        children(sv.pid())
            .into_iter()
            .filter(|(_, c)| c.starts_with("supervise "))
            .collect::<HashMap<u32, String>>()
    };
    wait_until("1,001 supervisors", || supervisors().len() == N + 1);
    let others: Vec<u32> = {
        let mut v: Vec<u32> = supervisors()
            .into_iter()
            .filter(|(_, c)| c != "supervise dying")
            .map(|(p, _)| p)
            .collect();
        v.sort();
        v
    };
    for _ in 0..10 {
        let old = sv.wait_child("supervise dying");
        wait_until("dying's status file", || t.exists("dying/supervise/status"));
        kill(old, libc::SIGKILL);
        wait_until("a new supervise for dying", || {
            sv.child_running("supervise dying")
                .is_some_and(|p| p != old)
        });
    }
    let mut now: Vec<u32> = supervisors()
        .into_iter()
        .filter(|(_, c)| c != "supervise dying")
        .map(|(p, _)| p)
        .collect();
    now.sort();
    assert_eq!(now, others, "another service's supervise changed");
    wait_until("no zombies", || zombie_children(sv.pid()) == 0);
    assert!(alive(sv.pid()));
    let mut dirs: Vec<String> = (0..N).map(|i| format!("s{i:04}")).collect();
    dirs.push("dying".into());
    let out = Cmd::bin("svstat")
        .cwd(t.root())
        .env("PATH", test_path())
        .env("DISABLE_RUN", "1")
        .args(&dirs)
        .run();
    let lines = out.stdout_str();
    assert_eq!(lines.lines().count(), N + 1, "{}", out.stderr_str());
    assert!(lines.lines().all(|l| l.contains(": down ")), "{lines}");
    assert_eq!(out.stderr_str(), "");
    assert_eq!(sv.stderr(), "");
}

/// A service writes 100,000 numbered lines as fast as it can while its log service copies
/// three lines at a time, one line per read, and exits: 50 restarts of the log service,
/// then a plain `cat`. Every number arrives once, in order, and the writer never sees
/// EPIPE or SIGPIPE.
#[test]
fn no_log_line_lost_across_50_log_restarts() {
    const N: u32 = 100_000;
    let t = Tree::new();
    t.service(
        "w",
        &format!(
            "#!/bin/sh\ntest -f done && exec sleep 1000\nseq 1 {N}\necho $? > status\ntouch done\nexec sleep 1000\n"
        ),
    );
    t.script(
        "w/log/run",
        "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\necho $((n + 1)) > count\n\
         test \"$n\" -ge 50 && exec cat >> out\n\
         i=0\nwhile [ $i -lt 3 ] && IFS= read -r line; do echo \"$line\" >> out; i=$((i + 1)); done\n",
    );
    let _sv = Svscan::start(&t, &[], &[]);
    let start = Instant::now();
    let patience = Duration::from_secs(180);
    while t.read("w/status").is_empty() || t.read("w/log/out").lines().count() < N as usize {
        assert!(
            start.elapsed() < patience,
            "log stalled: {} lines, {} log starts",
            t.read("w/log/out").lines().count(),
            t.read("w/log/count").trim()
        );
        thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(t.read("w/status"), "0\n", "the writer saw an error");
    let count: u32 = t.read("w/log/count").trim().parse().unwrap();
    assert!(count > 50, "the log service started {count} times");
    let out = t.read("w/log/out");
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), N as usize);
    for (i, line) in got.iter().enumerate() {
        assert_eq!(*line, (i + 1).to_string(), "line {}", i + 1);
    }
}

#[test]
fn service_dirs_removed_renamed_replaced_or_unreadable() {
    let t = Tree::new();
    for s in ["keep1", "keep2", "gone", "moved", "replaced", "locked"] {
        t.service(s, SLEEP_RUN);
    }
    t.script("keep1/log/run", CAT_LOG);
    // As root, run svscan as nobody so that chmod 000 really makes a directory unreadable.
    let user = is_root().then(nobody);
    if let Some((uid, gid)) = user {
        t.chown_all(uid, gid);
    }
    let sv = Svscan::start_with(
        &t,
        Opts {
            env: &[("SCANINTERVAL", "1")],
            user,
            ..Opts::default()
        },
    );
    let mut sups = HashMap::new();
    for s in ["keep1", "keep2", "gone", "moved", "replaced", "locked"] {
        sups.insert(s, sv.wait_child(&format!("supervise {s}")));
        wait_until(&format!("{s} up"), || t.is_up(s));
    }
    let keep_log = sv.wait_child("supervise log keep1");
    let services = [
        t.status_pid("keep1").unwrap(),
        t.status_pid("keep2").unwrap(),
    ];

    fs::remove_dir_all(t.path("gone")).unwrap();
    fs::rename(t.path("moved"), t.path("moved2")).unwrap();
    fs::remove_dir_all(t.path("replaced")).unwrap();
    fs::write(t.path("replaced"), "a file now\n").unwrap();
    fs::set_permissions(t.path("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    thread::sleep(Duration::from_millis(2500));

    // The renamed directory keeps its supervise (same dev/inode); nothing was restarted.
    for (s, pid) in &sups {
        assert!(alive(*pid), "supervise {s} died");
    }
    assert_eq!(sv.child_running("supervise moved2"), None);
    // Their supervisors stopped: gone and replaced stay stopped, moved comes back under
    // its new name, locked is retried until it is readable again.
    for s in ["gone", "moved", "replaced", "locked"] {
        kill(sups[s], libc::SIGKILL);
    }
    sv.wait_child("supervise moved2");
    fs::set_permissions(t.path("locked"), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = sv.wait_child("supervise locked");
    assert_ne!(locked, sups["locked"]);
    wait_until("locked up again", || t.is_up("locked"));
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(sv.child_running("supervise gone"), None);
    assert_eq!(sv.child_running("supervise replaced"), None);
    // The others never noticed.
    assert_eq!(sv.child_running("supervise keep1"), Some(sups["keep1"]));
    assert_eq!(sv.child_running("supervise keep2"), Some(sups["keep2"]));
    assert_eq!(sv.child_running("supervise log keep1"), Some(keep_log));
    assert_eq!(
        [
            t.status_pid("keep1").unwrap(),
            t.status_pid("keep2").unwrap()
        ],
        services
    );
    assert!(sv.child_running("svscan").is_none());
    assert!(alive(sv.pid()));
    assert!(!sv.stderr().contains("svscan: fatal"), "{}", sv.stderr());
}

// ----- pid 1 -----

/// `unshare --pid --fork --mount-proc svscan -v DIR`, the way a container starts it.
fn start_as_pid1(t: &Tree, env: &[(&str, &str)]) -> (Svscan, u32) {
    let err = t.path("svscan.err");
    let mut cmd = blackbox::command("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(bin("svscan"))
        .arg("-v")
        .arg(t.root())
        .current_dir(t.root())
        .env_clear()
        .env("PATH", test_path())
        .env("DISABLE_RUN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start unshare");
    let sv = Svscan {
        groups: vec![child.id() as i32],
        child,
        err,
        reaped: None,
        indirect: true,
    };
    let pid = sv.pid();
    (sv, pid)
}

const TERM_AWARE: &str = "#!/bin/sh\ntrap 'echo bye; exit 0' TERM\necho hi\n\
                          while :; do sleep 1 & wait $!; done\n";

#[test]
fn pid1_reaps_orphans_and_shuts_down_in_order() {
    if !is_root() {
        return skip("needs root for unshare --pid");
    }
    let t = Tree::new();
    // 100 grandchildren orphaned at once: each `( sleep 1 & )` subshell exits at once.
    t.service(
        "orphans",
        "#!/bin/sh\ni=0\nwhile [ $i -lt 100 ]; do ( sleep 1 & ); i=$((i + 1)); done\nexec sleep 1000\n",
    );
    for s in ["s1", "s2"] {
        t.service(s, TERM_AWARE);
        t.script(&format!("{s}/log/run"), CAT_LOG);
    }
    let (mut sv, pid) = start_as_pid1(&t, &[("KILLWAIT", "4")]);
    wait_until("100 orphans reaped", || {
        fs::read_to_string(t.path("svscan.err"))
            .unwrap_or_default()
            .matches("svscan: info: completed last rites for orphan ")
            .count()
            >= 100
    });
    wait_until("no zombies under pid 1", || zombie_children(pid) == 0);
    wait_until("s1 and s2 logging", || {
        t.read("s1/log/out") == "hi\n" && t.read("s2/log/out") == "hi\n"
    });
    let tree: Vec<u32> = children(pid).into_iter().map(|(p, _)| p).collect();
    kill(pid, libc::SIGTERM);
    assert_eq!(sv.wait_exit(), Some(0));
    // Each service got TERM from its supervise (not the kernel's KILL) and its last words
    // reached the log before the log was stopped.
    assert_eq!(t.read("s1/log/out"), "hi\nbye\n");
    assert_eq!(t.read("s2/log/out"), "hi\nbye\n");
    assert!(tree.iter().all(|&p| !alive(p)));
    let err = sv.stderr();
    for line in [
        "pid: 1: shutdown in progress...",
        "pid: 1: terminating svc sessions with TERM...",
        "pid: 1: terminating log sessions with TERM...",
        "pid: 1: exiting...",
    ] {
        assert!(
            err.contains(&format!("svscan: info: {line}\n")),
            "{line}: {err}"
        );
    }
}

#[test]
fn pid1_takes_sigrtmin_plus_3_as_sigterm() {
    if !is_root() {
        return skip("needs root for unshare --pid");
    }
    let t = Tree::new();
    t.service("s", TERM_AWARE);
    t.script("s/log/run", CAT_LOG);
    let (mut sv, pid) = start_as_pid1(&t, &[("KILLWAIT", "2")]);
    wait_until("s logging", || t.read("s/log/out") == "hi\n");
    kill(pid, libc::SIGRTMIN() + 3);
    assert_eq!(sv.wait_exit(), Some(0));
    assert_eq!(t.read("s/log/out"), "hi\nbye\n");
    assert!(sv.stderr().contains("svscan: info: pid: 1: exiting...\n"));
}

// ----- the run fs, in a private mount namespace -----

/// svscan without DISABLE_RUN, in `unshare --mount` with a tmpfs on /run.
fn start_with_runfs(t: &Tree) -> (Svscan, u32) {
    let err = t.path("svscan.err");
    let mut cmd = blackbox::command("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /run && exec \"$0\" \"$@\"")
        .arg(bin("svscan"))
        .arg(t.root())
        .current_dir(t.root())
        .env_clear()
        .env("PATH", test_path())
        .env("SCANINTERVAL", "3600")
        .env("VERBOSE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .process_group(0);
    let child = cmd.spawn().expect("start unshare");
    let pid = child.id();
    let sv = Svscan {
        groups: vec![pid as i32],
        child,
        err,
        reaped: None,
        indirect: false,
    };
    wait_until("svscan in the namespace", || {
        comm(pid).as_deref() == Some("svscan")
    });
    (sv, pid)
}

/// A command inside svscan's mount namespace.
fn in_ns(pid: u32, prog: &str) -> Cmd {
    Cmd::new("nsenter")
        .arg(format!("--mount=/proc/{pid}/ns/mnt"))
        .arg(bin(prog))
        .env_clear()
        .env("PATH", test_path())
}

#[test]
fn check31_run_fs_pid_file_mirror_and_rename() {
    if !is_root() {
        return skip("needs root for a private /run");
    }
    let t = Tree::new();
    t.service("a", SLEEP_RUN);
    t.service("b", SLEEP_RUN);
    let (sv, pid) = start_with_runfs(&t);
    let run = PathBuf::from(format!("/proc/{pid}/root/run/svscan"));
    wait_until("the pid file in /run/svscan", || {
        run.join(".svscan.pid").exists()
    });
    let mut want = (pid as i32).to_ne_bytes().to_vec();
    want.extend_from_slice(format!("\n{pid}\n").as_bytes());
    assert_eq!(fs::read(run.join(".svscan.pid")).unwrap(), want);
    assert_eq!(fs::metadata(&run).unwrap().mode() & 0o777, 0o755);
    assert!(!t.exists(".svscan.pid"));
    in_ns(pid, "svscan").arg(t.root()).run().assert(
        111,
        "",
        "svscan: fatal: [svscan] already running\n",
    );
    // supervise keeps its state in the mirror; the tree holds only the held lock (S5).
    wait_until("a's status in the mirror", || {
        run.join("a/supervise/status").exists()
    });
    let plain: Vec<_> = fs::read_dir(t.path("a/supervise"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(plain, ["lock"]);
    wait_until("a up", || {
        in_ns(pid, "svstat").arg(t.path("a")).run().code == Some(0)
    });
    // The down file toggle writes to the mirror's control FIFO.
    t.write("a/down", "");
    kill(pid, libc::SIGHUP);
    wait_until("a down", || {
        in_ns(pid, "svstat").arg(t.path("a")).run().code == Some(1)
    });
    // `mv b .b` disables b: its mirror follows, its supervise keeps running.
    let b = sv.wait_child("supervise b");
    wait_until("b's mirror", || run.join("b").exists());
    fs::rename(t.path("b"), t.path(".b")).unwrap();
    kill(pid, libc::SIGHUP);
    wait_until("the mirror renamed", || {
        run.join(".b").exists() && !run.join("b").exists()
    });
    assert!(alive(b));
    drop(sv);
}

// ----- svscanboot -----

fn svscanboot_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../svscan/scripts/svscanboot")
}

/// A directory holding svscanboot and the programs it calls, the way `make install` lays
/// them out.
fn boot_bin(t: &Tree) -> PathBuf {
    let dir = t.path(".bin");
    fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(svscanboot_script(), dir.join("svscanboot")).unwrap();
    for p in [
        "svscan",
        "supervise",
        "svc",
        "svstat",
        "envdir",
        "readproctitle",
    ] {
        std::os::unix::fs::symlink(bin(p), dir.join(p)).unwrap();
    }
    dir
}

fn start_boot(t: &Tree, dirs: &[&Path]) -> Svscan {
    let bindir = boot_bin(t);
    let mut cmd = blackbox::command(bindir.join("svscanboot"));
    cmd.args(dirs)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DISABLE_RUN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let child = cmd.spawn().expect("start svscanboot");
    Svscan {
        groups: vec![child.id() as i32],
        child,
        err: t.path("none"),
        reaped: None,
        indirect: true,
    }
}

/// Every svscan below `root` (svscanboot's shell and pipeline in between).
fn svscans_below(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for (c, _) in children(p) {
            if comm(c).as_deref() == Some("svscan") {
                found.push(c);
            } else {
                todo.push(c);
            }
        }
    }
    found
}

#[test]
fn svscanboot_starts_svscan_with_variables_and_readproctitle() {
    let t = Tree::new();
    let scan = t.path("service");
    t.service("service/a", SLEEP_RUN);
    t.write("service/.svscan/variables/SCANINTERVAL", "3600\n");
    t.write("service/.svscan/variables/FROM_VARIABLES", "yes\n");
    // A supervise left over from before the boot is told to exit (svc -dx).
    let mut old = blackbox::command(bin("supervise"))
        .arg("a")
        .current_dir(&scan)
        .env_clear()
        .env("PATH", test_path())
        .env("DISABLE_RUN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_until("the old supervise up", || t.is_up("service/a"));
    let boot = start_boot(&t, &[&scan]);
    let mut svscan = Vec::new();
    wait_until("svscan started by svscanboot", || {
        svscan = svscans_below(boot.child.id());
        svscan.len() == 1
    });
    let pid = svscan[0];
    assert_eq!(old.wait().unwrap().code(), Some(0), "svc -dx stopped it");
    let env = environ(pid);
    assert_eq!(env.get("FROM_VARIABLES").map(String::as_str), Some("yes"));
    assert_eq!(env.get("SCANINTERVAL").map(String::as_str), Some("3600"));
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), scan);
    // No SCANLOG file: stderr goes through readproctitle.
    let err = fs::read_link(format!("/proc/{pid}/fd/2")).unwrap();
    assert!(err.to_string_lossy().starts_with("pipe:"), "{err:?}");
    let rpt = children(boot.child.id())
        .into_iter()
        .map(|(p, c)| (p, c, fs::read_link(format!("/proc/{p}/fd/0")).ok()))
        .find(|(_, c, _)| c.starts_with("readproctitle "));
    let (_, line, input) = rpt.expect("readproctitle running");
    assert!(
        line.starts_with(&format!("readproctitle {} errors: ...", scan.display())),
        "{line}"
    );
    assert_eq!(input, Some(err));
    wait_until("a up under the new supervise", || {
        children(pid).iter().any(|(_, c)| c == "supervise a") && t.is_up("service/a")
    });
}

#[test]
fn svscanboot_with_scanlog_and_several_directories() {
    let t = Tree::new();
    let one = t.path("one");
    let two = t.path("two");
    t.service("one/a", SLEEP_RUN);
    t.service("two/b", SLEEP_RUN);
    // With a SCANLOG file svscan keeps its own stderr (svscanboot's: /dev/null).
    t.write("one/.svscan/variables/SCANLOG", "\n");
    let boot = start_boot(&t, &[&one, &two]);
    let mut found = Vec::new();
    wait_until("one svscan per directory", || {
        found = svscans_below(boot.child.id());
        found.len() == 2
    });
    let mut cwds: Vec<PathBuf> = found
        .iter()
        .map(|p| fs::read_link(format!("/proc/{p}/cwd")).unwrap())
        .collect();
    cwds.sort();
    assert_eq!(cwds, [one.clone(), two]);
    let with_scanlog = found
        .iter()
        .find(|p| fs::read_link(format!("/proc/{p}/cwd")).unwrap() == one)
        .unwrap();
    assert_eq!(
        fs::read_link(format!("/proc/{with_scanlog}/fd/2")).unwrap(),
        PathBuf::from("/dev/null")
    );
    assert_eq!(
        environ(*with_scanlog).get("SCANLOG").map(String::as_str),
        Some("")
    );
}

#[test]
fn svscanboot_reads_servicedir_conf_and_unshares() {
    let t = Tree::new();
    let scan = t.path("service");
    t.service("service/a", SLEEP_RUN);
    t.write(
        "etc/control/servicedir.conf",
        &format!("{}\n", scan.display()),
    );
    let unshare = is_root();
    if unshare {
        t.write("service/.svscan/variables/UNSHARE", "1\n");
    }
    let bindir = boot_bin(&t);
    let child = blackbox::command(bindir.join("svscanboot"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DISABLE_RUN", "1")
        .env("SYSCONFDIR", t.path("etc"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let boot = Svscan {
        groups: vec![child.id() as i32],
        child,
        err: t.path("none"),
        reaped: None,
        indirect: true,
    };
    let mut found = Vec::new();
    wait_until("svscan on the configured directory", || {
        found = svscans_below(boot.child.id());
        found.len() == 1
    });
    let pid = found[0];
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), scan);
    let ns = |p: u32| fs::read_link(format!("/proc/{p}/ns/mnt")).unwrap();
    if unshare {
        assert_ne!(
            ns(pid),
            ns(std::process::id()),
            "UNSHARE: a mount namespace of its own"
        );
    } else {
        skip("needs root for the UNSHARE part");
    }
    wait_until("a up", || t.is_up("service/a"));
}
