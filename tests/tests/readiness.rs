//! Black-box suite for readiness and machine-readable status in the clients (issue 16 points
//! 1-3, README "Readiness and supervise/info", "svc, svstat, svok, svps", "Prometheus
//! metrics"): a tree under svscan with a service that becomes ready once the test lets it, one
//! that never does, and one without `notification-fd` (with a log service). What svstat
//! prints (`, ready`), what `svc -R` does (returns, times out), what `svstat -j` and
//! `svps -j` say (every line parsed by a real JSON parser), and what svmetrics exports
//! (`sv_ready`, `sv_restarts_total`, checked by `promtool check metrics`), across readiness,
//! `svc -r`, a crash and `svc -d`.
//!
//! Each test has its own tree; svscan and its supervisors run with `DISABLE_RUN=1`.

mod status_json;

use blackbox::{Cmd, Output, Running};
use regex::Regex;
use serde_json::Value;
use status_json::fields_in_order;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long any condition may take to come true before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

#[track_caller]
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn script(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A scan directory `sv` under svscan (with its own `.svscan/log`):
/// * `late`: `notification-fd` 3, writes its line once `late/go` exists;
/// * `never`: `notification-fd` 3, keeps the descriptor and never writes;
/// * `plain`: no `notification-fd`, with a log service `plain/log`.
struct Tree {
    dir: tempfile::TempDir,
    _svscan: Running,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::Builder::new()
            .prefix("readiness")
            .tempdir()
            .unwrap();
        let sv = dir.path().join("sv");
        for s in ["late", "never", "plain/log", ".svscan/log"] {
            fs::create_dir_all(sv.join(s)).unwrap();
        }
        script(
            &sv.join("late/run"),
            "#!/bin/sh\nwhile [ ! -e go ]; do sleep 0.05; done\necho ready >&3\nexec sleep 1000\n",
        );
        fs::write(sv.join("late/notification-fd"), "3\n").unwrap();
        script(&sv.join("never/run"), "#!/bin/sh\nexec sleep 1000\n");
        fs::write(sv.join("never/notification-fd"), "3\n").unwrap();
        script(&sv.join("plain/run"), "#!/bin/sh\nexec sleep 1000\n");
        script(
            &sv.join("plain/log/run"),
            "#!/bin/sh\nexec cat >/dev/null\n",
        );
        script(
            &sv.join(".svscan/log/run"),
            "#!/bin/sh\nexec cat >/dev/null\n",
        );
        let svscan = Cmd::bin("svscan")
            .clean_env()
            .env("SCANLOG", "1")
            .arg(&sv)
            .cwd(&sv)
            .timeout(Duration::from_secs(3600))
            .spawn();
        let t = Tree {
            dir,
            _svscan: svscan,
        };
        for s in ["late", "never", "plain", "plain/log", ".svscan/log"] {
            wait_until(&format!("{s} up"), || {
                t.tool("svstat").arg(format!("sv/{s}")).run().code == Some(0)
            });
        }
        t
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A program run in the tree's directory (so that service names are `sv/NAME`).
    fn tool(&self, prog: &str) -> Cmd {
        Cmd::bin(prog).clean_env().cwd(self.dir.path())
    }

    fn svstat(&self, name: &str) -> String {
        let out = self.tool("svstat").arg(name).run();
        out.assert_code(0);
        out.stdout_str()
    }

    fn svc(&self, args: &[&str]) -> Output {
        self.tool("svc").args(args).run()
    }

    /// `svstat -j names...`: every line parsed; the objects and the exit code.
    fn json(&self, names: &[&str]) -> (Vec<Value>, Option<i32>) {
        let out = self.tool("svstat").arg("-j").args(names).run();
        assert_eq!(out.stderr_str(), "", "{out:?}");
        (parse_lines(&out.stdout_str(), names.len()), out.code)
    }

    /// `svstat -j name` of one service.
    fn report(&self, name: &str) -> Value {
        self.json(&[name]).0.remove(0)
    }

    fn metrics(&self) -> String {
        let out = self.tool("svmetrics").args(["-s", "sv"]).run();
        out.assert_code(0);
        let text = out.stdout_str();
        let check = Cmd::new("promtool")
            .args(["check", "metrics"])
            .stdin(text.as_str())
            .run();
        assert_eq!(check.code, Some(0), "promtool: {check:?}\n{text}");
        text
    }

    /// The pid of an up service, from its JSON.
    fn pid(&self, name: &str) -> u64 {
        self.report(name)["pid"].as_u64().expect("up, with a pid")
    }
}

/// `text` as `n` lines of one JSON object each (serde_json is the parser).
#[track_caller]
fn parse_lines(text: &str, n: usize) -> Vec<Value> {
    let v: Vec<Value> = text
        .lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l:?}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect();
    assert_eq!(v.len(), n, "{text}");
    assert!(text.ends_with('\n') || text.is_empty(), "{text:?}");
    v
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn readiness_in_svstat_svc_json_and_metrics() {
    let t = Tree::new();
    let up_line =
        Regex::new(r"^sv/(late|never|plain): up \d+\.\d{9} seconds  pid (\d+) \n$").unwrap();
    let ready_line = Regex::new(r"^sv/late: up \d+\.\d{9} seconds  pid (\d+) , ready\n$").unwrap();

    // Before `late` says it is ready: no line says ready, and the lines are the reference's.
    for s in ["sv/late", "sv/never", "sv/plain"] {
        let line = t.svstat(s);
        assert!(up_line.is_match(&line), "{line:?}");
    }
    t.svc(&["-R", "-T", "1", "sv/late"]).assert(
        3,
        "",
        "waiting for sv/late to be ready ... timed out\n",
    );
    // Up is ready for a service without notification-fd.
    t.svc(&["-R", "-T", "5", "sv/plain"]).assert(
        0,
        "",
        "waiting for sv/plain to be ready ... ok\n",
    );
    let late = t.report("sv/late");
    assert_eq!(late["state"], "up");
    assert_eq!(late["ready"], Value::Bool(false));
    assert_eq!(late["restarts"], 0);
    let plain = t.report("sv/plain");
    assert_eq!(plain["ready"], Value::Null);
    assert_eq!(plain["restarts"], 0);
    assert_eq!(plain["log"]["name"], "sv/plain/log");
    assert_eq!(plain["log"]["state"], "up");
    let m = t.metrics();
    assert!(has(&m, "sv_ready{service=\"sv/late\"} 0"), "{m}");
    assert!(has(&m, "sv_ready{service=\"sv/never\"} 0"), "{m}");
    assert!(!m.contains("sv_ready{service=\"sv/plain\"}"), "{m}");
    assert!(has(&m, "# TYPE sv_restarts_total counter"), "{m}");
    assert!(has(&m, "sv_restarts_total{service=\"sv/plain\"} 0"), "{m}");
    assert!(
        has(&m, "sv_restarts_total{service=\"sv/plain/log\"} 0"),
        "{m}"
    );

    // `late` becomes ready: svstat says so after the pid, svc -R returns, JSON and metrics.
    let pid = t.pid("sv/late");
    fs::write(t.path("sv/late/go"), "").unwrap();
    wait_until("late ready", || t.svstat("sv/late").ends_with(", ready\n"));
    let line = t.svstat("sv/late");
    let caps = ready_line
        .captures(&line)
        .unwrap_or_else(|| panic!("{line:?}"));
    assert_eq!(caps[1].parse::<u64>().unwrap(), pid);
    t.svc(&["-R", "-T", "5", "sv/late"])
        .assert(0, "", "waiting for sv/late to be ready ... ok\n");
    assert_eq!(t.report("sv/late")["ready"], Value::Bool(true));
    assert!(has(&t.metrics(), "sv_ready{service=\"sv/late\"} 1"));

    // `never` stays up and not ready: -R and -w both time out.
    let line = t.svstat("sv/never");
    assert!(up_line.is_match(&line), "{line:?}");
    t.svc(&["-R", "-T", "1", "sv/never"]).assert(
        3,
        "",
        "waiting for sv/never to be ready ... timed out\n",
    );
    t.svc(&["-wT", "1", "sv/never"])
        .assert(3, "", "waiting for sv/never to be up ... timed out\n");
    assert_eq!(t.report("sv/never")["ready"], Value::Bool(false));

    // Restarts: svc -r and a crash count; a new run of `late` says ready again.
    t.svc(&["-r", "sv/late"]).assert_code(0);
    wait_until("late restarted", || t.report("sv/late")["restarts"] == 1);
    wait_until("late ready again", || {
        t.svstat("sv/late").ends_with(", ready\n")
    });
    assert_ne!(t.pid("sv/late"), pid);
    let plain_pid = t.pid("sv/plain");
    // SAFETY: plain kill(2) of the service this test started.
    unsafe { libc::kill(plain_pid as i32, libc::SIGKILL) };
    wait_until("plain restarted", || t.report("sv/plain")["restarts"] == 1);
    t.svc(&["-r", "sv/plain"]).assert_code(0);
    wait_until("plain restarted twice", || {
        t.report("sv/plain")["restarts"] == 2
    });
    let m = t.metrics();
    assert!(has(&m, "sv_restarts_total{service=\"sv/plain\"} 2"), "{m}");
    assert!(has(&m, "sv_restarts_total{service=\"sv/late\"} 1"), "{m}");
    assert!(has(&m, "sv_restarts_total{service=\"sv/never\"} 0"), "{m}");

    // Down: not ready (a service with readiness says false, the others null), -R waits.
    t.svc(&["-d", "sv/late", "sv/plain"]).assert_code(0);
    wait_until("both down", || {
        t.json(&["sv/late", "sv/plain"])
            .0
            .iter()
            .all(|r| r["state"] == "down")
    });
    let (reports, code) = t.json(&["sv/late", "sv/plain"]);
    assert_eq!(code, Some(1), "svstat's code for a down service");
    assert_eq!(reports[0]["ready"], Value::Bool(false));
    assert_eq!(reports[0]["pid"], Value::Null);
    assert_eq!(reports[1]["ready"], Value::Null);
    assert_eq!(reports[1]["want"], "down");
    let line = t.tool("svstat").arg("sv/late").run().stdout_str();
    assert!(
        !line.contains("ready") && line.starts_with("sv/late: down "),
        "{line:?}"
    );
    t.svc(&["-R", "-T", "1", "sv/late"]).assert(
        3,
        "",
        "waiting for sv/late to be ready ... timed out\n",
    );
    assert!(has(&t.metrics(), "sv_ready{service=\"sv/late\"} 0"));
    // Up again, ready at once (go is there): -uR waits for it.
    t.svc(&["-uR", "-T", "10", "sv/late"]).assert(
        0,
        "",
        "waiting for sv/late to be ready ... ok\n",
    );
    assert_eq!(t.report("sv/late")["ready"], Value::Bool(true));
}

#[test]
fn json_lines_fields_and_exit_codes() {
    let t = Tree::new();
    fs::create_dir_all(t.path("lone")).unwrap();
    // Every object, nested log included, has the documented fields in order.
    let out = t
        .tool("svstat")
        .args([
            "-j",
            "sv/plain",
            "sv/plain/log",
            "lone",
            "missing",
            "sv/late",
        ])
        .run();
    let text = out.stdout_str();
    let v = parse_lines(&text, 5);
    for l in text.lines() {
        fields_in_order(l);
    }
    let first = text.lines().next().unwrap_or_default();
    let nested = first
        .find("\"log\":{")
        .expect("sv/plain has its log inside");
    fields_in_order(&first[nested + 6..]);
    let names: Vec<&str> = v.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["sv/plain", "sv/plain/log", "lone", "missing", "sv/late"]
    );
    assert_eq!(v[1]["log"], Value::Null, "a log service has no log");
    assert_eq!(v[2]["state"], "unsupervised");
    assert_eq!(v[3]["state"], "error");
    assert_eq!(
        v[3]["error"],
        "unable to to chdir to missing: file does not exist"
    );
    assert_eq!(v[4]["state"], "up");
    assert!(v[4]["seconds"].is_u64() && v[4]["normally"] == "up" && v[4]["paused"] == false);
    // The exit code is the last service's, as without -j; stderr stays empty.
    assert_eq!(out.stderr_str(), "");
    let plain = t
        .tool("svstat")
        .args(["sv/plain", "sv/plain/log", "lone", "missing", "sv/late"])
        .run();
    assert_eq!(out.code, plain.code);
    for (names, code) in [
        (&["sv/late", "missing"][..], 111),
        (&["missing", "lone"][..], 2),
        (&["lone", "sv/plain"][..], 0),
    ] {
        let (_, got) = t.json(names);
        let without = t.tool("svstat").args(names).run().code;
        assert_eq!((got, without), (Some(code), Some(code)), "{names:?}");
    }
    let (v, code) = t.json(&[]);
    assert_eq!((v.len(), code), (0, Some(0)));
    // Paused.
    t.svc(&["-p", "sv/plain"]).assert_code(0);
    wait_until("paused", || t.report("sv/plain")["paused"] == true);
    assert_eq!(t.json(&["sv/plain"]).1, Some(3));
    t.svc(&["-c", "sv/plain"]).assert_code(0);

    // -j is an option only as the first argument: anywhere else, and any other first
    // argument, is a directory, as for the reference's svstat (which has no options).
    t.tool("svstat").arg("-x").run().assert(
        111,
        "",
        "svstat: warning: unable to to chdir to -x: file does not exist\n",
    );
    t.tool("svstat")
        .args(["sv/plain", "-j"])
        .run()
        .assert_code(111);
    fs::create_dir_all(t.path("-j")).unwrap();
    t.tool("svstat").args(["-j", "./-j"]).run().assert_code(2);

    // svps -j: every service of the scan directory, each with its log, then svscan's log;
    // the exit code of the listing.
    let scandir = fs::canonicalize(t.path("sv")).unwrap();
    let arg = format!("--servicedir={}", scandir.display());
    let out = t.tool("svps").args(["-j", &arg]).run();
    let listing = t.tool("svps").args(["-n", &arg]).run();
    assert_eq!(out.code, listing.code, "{out:?} {listing:?}");
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = parse_lines(&out.stdout_str(), 4);
    let s = scandir.display();
    let names: Vec<String> = v
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            format!("{s}/late"),
            format!("{s}/never"),
            format!("{s}/plain"),
            format!("{s}/.svscan/log"),
        ]
    );
    assert_eq!(v[2]["log"]["name"], format!("{s}/plain/log"));
    assert!(v.iter().all(|r| r["state"] == "up"), "{v:?}");
    for l in out.stdout_str().lines() {
        fields_in_order(l);
    }
    let long = t.tool("svps").args(["--json", &arg]).run();
    assert_eq!(parse_lines(&long.stdout_str(), 4).len(), 4);
    // svscan's own log down: the listing fails with svstat's code, and so does -j (which
    // still prints every object).
    t.svc(&["-d", "sv/.svscan/log"]).assert_code(0);
    wait_until("scan log down", || {
        t.tool("svstat").arg("sv/.svscan/log").run().code == Some(1)
    });
    let out = t.tool("svps").args(["-j", &arg]).run();
    let listing = t.tool("svps").args(["-n", &arg]).run();
    assert_eq!((out.code, listing.code), (Some(1), Some(1)));
    assert_eq!(parse_lines(&out.stdout_str(), 4)[3]["state"], "down");
}
