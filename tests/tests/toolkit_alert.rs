//! Black-box suite for svalert: the datagram a probe server receives for each way it is
//! called (supervise's `./alert`, a run script's startup type, a shutdown script's pid),
//! the filter file, and the hook as supervise runs it.

use blackbox::Cmd;
use std::fs;
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// A probe server on 127.0.0.1.
fn probe() -> (UdpSocket, String) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port().to_string();
    (s, port)
}

fn svalert(cwd: &Path, port: &str, sysconf: &Path, args: &[&str]) -> blackbox::Output {
    Cmd::bin("svalert")
        .clean_env()
        .env("PROBE_SERVER", "127.0.0.1")
        .env("SV_ALERT_PORT", port)
        .env("SYSCONFDIR", sysconf)
        .cwd(cwd)
        .args(args)
        .run()
}

/// The next datagram, with its final time stamp checked and replaced by `T`.
fn received(s: &UdpSocket) -> String {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 2048];
    let n = s.recv(&mut buf).expect("a datagram");
    let text = String::from_utf8(buf[..n].to_vec()).unwrap();
    let body = text.strip_suffix('\n').expect("a newline-terminated line");
    let (head, stamp) = body.rsplit_once(' ').unwrap();
    assert!(stamp.parse::<u64>().unwrap() > 1_600_000_000, "{text}");
    format!("{head} T")
}

/// Nothing was sent by the calls before: the next datagram is the one a run script's
/// `auto startup` alert sends now.
fn nothing_before(s: &UdpSocket, cwd: &Path, port: &str) {
    let empty = tempfile::tempdir().unwrap();
    svalert(
        cwd,
        port,
        empty.path(),
        &["/service/marker", "auto startup"],
    )
    .assert(0, "", "");
    assert!(received(s).contains(" /service/marker auto-startup "));
}

#[test]
fn svalert_sends_one_line_per_call_shape() {
    let (s, port) = probe();
    let d = tempfile::tempdir().unwrap();
    let cwd = d.path().canonicalize().unwrap();
    let w = cwd.display();
    let cases: [(&[&str], String); 4] = [
        (
            &["/service/x", "42", "1", "exited"],
            format!("svalert {w} /service/x abormal-shutdown exited 1 T"),
        ),
        (
            &["/service/x", "abnormal startup"],
            format!("svalert {w} /service/x abnormal-startup - - T"),
        ),
        (
            &["/service/x", "manual", "restart"],
            format!("svalert {w} /service/x manual-restart - - T"),
        ),
        (
            &["/service/x", "4242"],
            format!("svalert {w} /service/x normal-shutdown PID 4242 T"),
        ),
    ];
    for (args, want) in cases {
        svalert(&cwd, &port, d.path(), args).assert(0, "", "");
        assert_eq!(received(&s), want, "{args:?}");
    }
    // any other number of arguments sends nothing
    svalert(&cwd, &port, d.path(), &["/service/x"]).assert(0, "", "");
    nothing_before(&s, &cwd, &port);
}

#[test]
fn svalert_filter_suppresses_listed_events() {
    let (s, port) = probe();
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("svalerts.filter"),
        "manual-restart\nabnormal-shutdown\n",
    )
    .unwrap();
    for args in [
        &["/service/x", "manual restart"][..],
        &["/service/x", "manual", "restart"],
        &["/service/x", "42", "1", "exited"],
    ] {
        svalert(d.path(), &port, d.path(), args).assert(0, "", "");
        nothing_before(&s, d.path(), &port);
    }
    svalert(d.path(), &port, d.path(), &["/service/x", "auto startup"]).assert(0, "", "");
    assert!(received(&s).contains(" /service/x auto-startup - - "));
    // a filter word matches a whole word of the event only
    fs::write(d.path().join("svalerts.filter"), "auto\nstart\n").unwrap();
    svalert(d.path(), &port, d.path(), &["/service/x", "auto startup"]).assert(0, "", "");
    nothing_before(&s, d.path(), &port);
    svalert(d.path(), &port, d.path(), &["/service/x", "manual startup"]).assert(0, "", "");
    assert!(received(&s).contains(" /service/x manual-startup - - "));
}

#[test]
fn svalert_is_supervise_alert_hook() {
    let (s, port) = probe();
    let d = tempfile::tempdir().unwrap();
    let svc = d.path().join("svc");
    fs::create_dir(&svc).unwrap();
    let run = svc.join("run");
    // the first run fails; later ones stay up
    fs::write(
        &run,
        "#!/bin/sh\n[ -f ran ] && exec sleep 1000\ntouch ran\nexit 3\n",
    )
    .unwrap();
    fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(blackbox::bin("svalert"), svc.join("alert")).unwrap();
    let r = Cmd::bin("supervise")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .env("PROBE_SERVER", "127.0.0.1")
        .env("SV_ALERT_PORT", &port)
        .env("SYSCONFDIR", d.path())
        .arg(&svc)
        .spawn();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 2048];
    // Another test thread that forks while this one writes `run` holds a writable descriptor
    // of it until its child execs: supervise's exec of run can then fail (text file busy) and
    // run "exits" 111 before it ever ran. Such an alert is not the one under test; the next
    // start runs the script, which exits 3 (if it never does, recv times out and we fail).
    let line = loop {
        let n = s.recv(&mut buf).expect("an alert from supervise");
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !line.contains(" exited 111 ") {
            break line;
        }
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    let cwd = svc.canonicalize().unwrap();
    assert_eq!(
        &words[..6],
        &[
            "svalert",
            &cwd.display().to_string(),
            &svc.display().to_string(),
            "abormal-shutdown",
            "exited",
            "3"
        ],
        "{line}"
    );
    drop(r);
}
