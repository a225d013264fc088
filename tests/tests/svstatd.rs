//! Black-box suite for svstatd and rsvc: the status of supervised services asked from
//! another process over TCP (under our tcpserver, through our tcpclient or rsvc's own
//! connection), the checks on what may be asked, the JSON answers (read back with a real
//! JSON parser), container queries (a stand-in `podman` on PATH), and TLS with client
//! certificates (openssl s_client and tcpclient as the clients).
//!
//! Each test supervises its own tree with svscan and `DISABLE_RUN=1` in a temporary
//! directory; servers listen on 127.0.0.1 only.

mod status_json;
mod tls_support;

use blackbox::{bin, test_path, Cmd, Output, Running};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tls_support::{openssl_available, s_client, Pki, Server};

const PATIENCE: Duration = Duration::from_secs(20);

/// A service tree under svscan: `up` runs, `down` has a down file, `logged` has a log.
struct Tree {
    dir: tempfile::TempDir,
    _svscan: Running,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::Builder::new()
            .prefix("svstatd.")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let sv = dir.path().join("sv");
        for name in ["up", "down", "logged", "logged/log"] {
            script(&sv.join(name), "run", "#!/bin/sh\nexec sleep 1000\n");
        }
        fs::write(sv.join("down/down"), "").unwrap();
        let svscan = Cmd::bin("svscan")
            .clean_env()
            .env("DISABLE_RUN", "1")
            .arg(&sv)
            .cwd(&sv)
            .spawn();
        let t = Tree {
            dir,
            _svscan: svscan,
        };
        for (name, code) in [("up", 0), ("down", 1), ("logged", 0), ("logged/log", 0)] {
            wait_until(&format!("{name} reported"), || {
                Cmd::bin("svstat").arg(t.sv().join(name)).run().code == Some(code)
            });
        }
        t
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The scan directory, as the clients name it.
    fn sv(&self) -> PathBuf {
        self.dir.path().join("sv")
    }

    fn svs(&self) -> String {
        self.sv().to_string_lossy().into_owned()
    }
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// svstatd run directly with `request` on stdin.
fn svstatd(args: &[&str], request: &str) -> Output {
    Cmd::bin("svstatd")
        .clean_env()
        .args(args)
        .stdin(request)
        .run()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"))
}

/// tcpserver on 127.0.0.1 running svstatd `args`.
fn serve(dir: &Path, tls: &[&str], args: &[&str], env: &[(&str, &str)]) -> Server {
    let svstatd = bin("svstatd");
    let mut all = vec!["-1", "-H", "-R", "-l", "L"];
    all.extend_from_slice(tls);
    all.extend(["127.0.0.1", "0", svstatd.to_str().unwrap()]);
    all.extend_from_slice(args);
    Server::start(dir, &all, env)
}

/// `tcpclient [opts] 127.0.0.1 PORT rsvc ARGS`.
fn rsvc_via_tcpclient(port: u16, opts: &[&str], args: &[&str]) -> Output {
    Cmd::bin("tcpclient")
        .clean_env()
        .args(["-H", "-R", "-l0"])
        .args(opts)
        .args(["127.0.0.1", &port.to_string()])
        .arg(bin("rsvc"))
        .args(args)
        .run()
}

#[test]
fn rsvc_through_tcpclient_and_directly_gives_the_references_exit_codes() {
    let t = Tree::new();
    let srv = serve(t.path(), &[], &[], &[]);
    let sv = t.svs();
    let sv = sv.as_str();
    rsvc_via_tcpclient(srv.port, &[], &[sv, "up"]).assert(0, "", "");
    rsvc_via_tcpclient(srv.port, &[], &[sv, "down"]).assert(1, "", "");
    rsvc_via_tcpclient(srv.port, &[], &[sv, "nosuch"]).assert(
        111,
        "",
        &format!("svstatd: fatal: unable to access {sv}/nosuch\n"),
    );
    let log = srv.wait_log(&format!(
        "svstatd: fatal: unable to access [{sv}/nosuch]: file does not exist\n"
    ));
    assert!(!log.contains("svstat: warning"), "{log}");
    // rsvc's own connection.
    let port = srv.port.to_string();
    let direct = |args: &[&str]| {
        Cmd::bin("rsvc")
            .clean_env()
            .args(["-H", "127.0.0.1", "-p", &port])
            .args(args)
            .run()
    };
    direct(&[sv, "logged"]).assert(0, "", "");
    direct(&[sv, "logged/log"]).assert(0, "", "");
    direct(&[sv, "down"]).assert(1, "", "");
    direct(&[sv, "../sv/up"]).assert(111, "", "svstatd: fatal: invalid input\n");
    // A paused service is still up; a stopped one wants up: the reference's answers.
    Cmd::bin("svc")
        .args(["-p"])
        .arg(t.sv().join("up"))
        .run()
        .assert(0, "", "");
    direct(&[sv, "up"]).assert(0, "", "");
    // Usage, as the reference: exit 1.
    let usage = "USAGE: rsvc servicedir service [docker|podman container_id]\n";
    Cmd::bin("rsvc").arg(sv).run().assert(1, "", usage);
    Cmd::bin("rsvc")
        .args([sv, "up", "docker"])
        .run()
        .assert(1, "", usage);
    Cmd::bin("rsvc").args(["-x", sv, "up"]).run().assert(
        1,
        "",
        &format!("rsvc: illegal option -- x\n{usage}"),
    );
    // Without tcpclient's descriptors and without -H.
    Cmd::bin("rsvc").args([sv, "up"]).run().assert(
        111,
        "",
        "rsvc: fatal: unable to write to descriptor 7: file descriptor not open\n",
    );
}

#[test]
fn rsvc_reports_an_unreachable_server() {
    // A port nobody listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Cmd::bin("rsvc")
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "/service", "x"])
        .run()
        .assert(
            111,
            "",
            &format!(
                "rsvc: fatal: unable to connect to 127.0.0.1 port {port}: connection refused\n"
            ),
        );
}

#[test]
fn answers_are_svstats_lines_and_exit_codes() {
    let t = Tree::new();
    let sv = t.svs();
    let sv = sv.as_str();
    let out = svstatd(&[], &format!("{sv} up\n"));
    assert_eq!(out.code, Some(0), "{out:?}");
    let line = out.stdout_str();
    assert!(line.starts_with(&format!("{sv}/up: up ")), "{line}");
    assert!(line.ends_with(" \n") && line.contains("  pid "), "{line}");
    let out = svstatd(&[], &format!("{sv} down\r\n"));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout_str().starts_with(&format!("{sv}/down: down ")));
    // A directory with no supervise: svstat's warning goes to the log, nothing to the
    // client, svstat's exit code.
    fs::create_dir(t.sv().join("idle")).unwrap();
    let out = svstatd(&[], &format!("{sv} idle\n"));
    assert_eq!((out.code, out.stdout_str()), (Some(2), String::new()));
    assert_eq!(
        out.stderr_str(),
        format!("svstat: warning: unable to open {sv}/idle/supervise/ok: supervise not running: file does not exist\n")
    );
}

#[test]
fn requests_outside_the_directory_are_refused() {
    let t = Tree::new();
    let sv = t.svs();
    let sv = sv.as_str();
    for name in [
        "..",
        ".",
        "../sv/up",
        "up/../../etc",
        "up/run",
        "a/b/log",
        "up/",
    ] {
        let out = svstatd(&[], &format!("{sv} {name}\n"));
        assert_eq!(
            (out.code, out.stdout_str()),
            (Some(111), "svstatd: fatal: invalid input\n".to_string()),
            "{name}"
        );
        assert_eq!(
            out.stderr_str(),
            format!("svstatd: fatal: invalid service name [{name}]\n")
        );
    }
    // Malformed lines: the reference's message on both sides.
    for request in ["", "no-newline", "\n", "onlyone\n", &format!("{sv}  up\n")] {
        let out = svstatd(&[], request);
        assert_eq!(
            (out.code, out.stdout_str()),
            (Some(111), "svstatd: fatal: invalid input\n".to_string()),
            "{request:?}"
        );
        assert!(out
            .stderr_str()
            .starts_with("svstatd: fatal: invalid input"));
    }
    // Only the directories named on the command line are served.
    let out = svstatd(&["/nonexistent", sv], &format!("{sv}/ up\n"));
    assert_eq!(out.code, Some(0), "{out:?}");
    svstatd(&["/nonexistent"], &format!("{sv} up\n")).assert(
        111,
        &format!("svstatd: fatal: unable to access {sv}/up\n"),
        &format!("svstatd: fatal: unable to access [{sv}/up]: directory not served\n"),
    );
    svstatd(&["-x"], "").assert(
        100,
        "",
        "svstatd: illegal option -- x\nsvstatd: usage: svstatd [-j] [-t timeout] [dir ...]\n",
    );
}

#[test]
fn a_client_that_sends_nothing_is_dropped() {
    let mut quiet = Cmd::bin("svstatd")
        .clean_env()
        .args(["-t", "1"])
        .stdin_pipe()
        .spawn();
    quiet.write_stdin(b"/service");
    // stdin stays open: svstatd must give up by itself.
    wait_until("svstatd to give up", || quiet.has_exited());
    quiet.wait().assert(
        111,
        "svstatd: fatal: unable to read input: timed out\n",
        "svstatd: fatal: unable to read input: timed out\n",
    );
}

#[test]
fn json_answers() {
    let t = Tree::new();
    let sv = t.svs();
    let sv = sv.as_str();
    let out = svstatd(&["-j"], &format!("{sv} logged\n"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.ends_with(b"}\n") && out.stdout_str().lines().count() == 1);
    let v = json(&out);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    status_json::fields_in_order(&out.stdout_str());
    let mut want = status_json::FIELDS.to_vec();
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(v["name"], format!("{sv}/logged"));
    assert_eq!(v["state"], "up");
    assert!(v["pid"].as_u64().unwrap() > 1);
    assert!(v["seconds"].is_u64());
    assert_eq!(v["normally"], "up");
    assert_eq!(v["paused"], false);
    assert_eq!(v["want"], "up");
    assert!(v["remaining"].is_null() && v["ready"].is_null() && v["error"].is_null());
    assert_eq!(v["log"]["name"], format!("{sv}/logged/log"));
    assert_eq!(v["log"]["state"], "up");
    assert!(v["log"]["log"].is_null());

    let out = svstatd(&["-j"], &format!("{sv} down\n"));
    assert_eq!(out.code, Some(1));
    let v = json(&out);
    assert_eq!(
        (
            &v["state"],
            &v["normally"],
            &v["want"],
            &v["pid"],
            &v["log"]
        ),
        (
            &"down".into(),
            &"down".into(),
            &"down".into(),
            &serde_json::Value::Null,
            &serde_json::Value::Null
        )
    );

    fs::create_dir(t.sv().join("idle")).unwrap();
    let out = svstatd(&["-j"], &format!("{sv} idle\n"));
    assert_eq!(out.code, Some(2));
    let v = json(&out);
    assert_eq!(v["state"], "unsupervised");
    assert_eq!(
        v["error"],
        format!(
            "unable to open {sv}/idle/supervise/ok: supervise not running: file does not exist"
        )
    );

    // Refusals are JSON too; the log keeps the reference's text.
    let out = svstatd(&["-j"], "nonsense\n");
    assert_eq!(out.code, Some(111));
    let v = json(&out);
    assert_eq!(
        (&v["state"], &v["error"]),
        (&"error".into(), &"invalid input".into())
    );
    assert_eq!(out.stderr_str(), "svstatd: fatal: invalid input\n");

    // rsvc understands JSON answers.
    let srv = serve(t.path(), &[], &["-j"], &[]);
    rsvc_via_tcpclient(srv.port, &[], &[sv, "up"]).assert(0, "", "");
    rsvc_via_tcpclient(srv.port, &[], &[sv, "down"]).assert(1, "", "");
    let out = rsvc_via_tcpclient(srv.port, &[], &[sv, "idle"]);
    assert_eq!(out.code, Some(111));
    assert!(out.stderr_str().contains("\"state\":\"unsupervised\""));
}

#[test]
fn container_queries_run_svstat_inside_the_container() {
    let t = Tree::new();
    let sv = t.svs();
    let sv = sv.as_str();
    // A stand-in podman: `podman exec ID svstat DIR` runs svstat here, as if the tree
    // were the container's.
    let fake = t.path().join("fakebin");
    let args_file = t.path().join("podman.args");
    script(
        &fake,
        "podman",
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\n[ \"$1\" = exec ] || exit 125\nshift 2\nexec \"$@\"\n",
            args_file.display()
        ),
    );
    let path = format!("{}:{}", fake.display(), test_path());
    let ask = |args: &[&str], request: String| {
        Cmd::bin("svstatd")
            .env_clear()
            .env("PATH", &path)
            .args(args)
            .stdin(request)
            .run()
    };
    let out = ask(&[], format!("{sv} up podman web-1\n"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout_str().starts_with(&format!("{sv}/up: up ")));
    assert_eq!(
        fs::read_to_string(&args_file).unwrap(),
        format!("exec web-1 svstat {sv}/up\n")
    );
    let out = ask(&["-j"], format!("{sv} down podman web-1\n"));
    assert_eq!(out.code, Some(1));
    let v = json(&out);
    assert_eq!(
        (&v["name"], &v["state"]),
        (&format!("{sv}/down").into(), &"down".into())
    );
    // Ids and commands that are not plain names never reach a shell or the engine.
    fs::remove_file(&args_file).unwrap();
    for bad in ["podman -it", "podman a;b", "lxc web-1", "podman $(id)"] {
        let out = ask(&[], format!("{sv} up {bad}\n"));
        assert_eq!(out.code, Some(111), "{bad}: {out:?}");
        assert_eq!(out.stdout_str(), "svstatd: fatal: invalid input\n");
    }
    assert!(!args_file.exists());
    // No engine installed.
    Cmd::bin("svstatd")
        .env_clear()
        .env("PATH", "/nonexistent")
        .stdin(format!("{sv} up docker web-1\n"))
        .run()
        .assert(
            111,
            &format!("svstatd: fatal: unable to exec svstat {sv}/up\n"),
            &format!("svstatd: fatal: unable to exec svstat {sv}/up: file does not exist\n"),
        );
}

#[test]
fn behind_tls_with_client_certificates() {
    if !openssl_available() {
        return blackbox::skip("openssl is not installed");
    }
    let t = Tree::new();
    let sv = t.svs();
    let sv = sv.as_str();
    let pki = Pki::new(t.path());
    pki.client("client.pem", "monitor");
    pki.untrusted("stranger.pem", "stranger");
    let certdir = t.path().to_string_lossy().into_owned();
    let srv = serve(
        t.path(),
        &["-s", "-a", "ca.pem"],
        &["-j"],
        &[("CERTDIR", &certdir), ("TLS_CLIENT_REQUIRED", "1")],
    );
    let request = format!("{sv} up\n");
    // openssl as the client, with and without a certificate the CA signed.
    let client = pki.path("client.pem");
    let ca = pki.path("ca.pem");
    let out = s_client(
        srv.port,
        &["-quiet", "-cert", &client, "-key", &client, "-CAfile", &ca],
        request.as_bytes(),
    );
    let answer = out
        .stdout_str()
        .lines()
        .find(|l| l.starts_with('{'))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no answer: {out:?}"));
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        (&v["name"], &v["state"]),
        (&format!("{sv}/up").into(), &"up".into())
    );
    for cert in [None, Some(pki.path("stranger.pem"))] {
        let mut extra = vec!["-quiet", "-CAfile", &ca];
        if let Some(c) = &cert {
            extra.extend(["-cert", c, "-key", c]);
        }
        let out = s_client(srv.port, &extra, request.as_bytes());
        assert!(!out.stdout_str().contains("\"state\""), "{cert:?}: {out:?}");
    }
    // tcpclient as the TLS client, rsvc behind it.
    rsvc_via_tcpclient(
        srv.port,
        &["-n", &client, "-c", &ca, "-m", "localhost"],
        &[sv, "up"],
    )
    .assert(0, "", "");
    rsvc_via_tcpclient(
        srv.port,
        &["-n", &client, "-c", &ca, "-m", "localhost"],
        &[sv, "down"],
    )
    .assert(1, "", "");
}
