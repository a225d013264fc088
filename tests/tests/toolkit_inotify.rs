//! Black-box suite for inotify: the event lines a run script reads, the copy of standard
//! input to standard error and the end it makes, SIGTERM, and the usage messages.

use blackbox::Cmd;
use std::fs;
use std::path::Path;

#[path = "toolkit_common/mod.rs"]
mod toolkit_common;
use toolkit_common::*;

/// Rename cookies vary: `renamed[123]` becomes `renamed[N]`.
fn without_cookies(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("renamed[") {
        let (head, tail) = rest.split_at(i + "renamed[".len());
        out.push_str(head);
        let end = tail.find(']').unwrap_or(0);
        out.push('N');
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn inotify_prints_one_line_per_event_in_the_watched_directory() {
    let d = tempfile::tempdir().unwrap();
    let watched = d.path().join("w");
    fs::create_dir(&watched).unwrap();
    let out = d.path().join("events");
    // stdout to a file, so the lines can be read while it runs
    let r = Cmd::new("/bin/sh")
        .clean_env()
        .args(["-c", "exec inotify -n \"$0\" >\"$1\""])
        .arg(&watched)
        .arg(&out)
        .spawn();
    // inotify is watching once an event in the directory is reported
    wait_for("the watch", || {
        fs::write(watched.join("probe"), "").unwrap();
        read(&out).contains("/probe closed\n")
    });
    fs::remove_file(watched.join("probe")).unwrap();
    wait_for("the probe's removal", || {
        read(&out).ends_with("/probe deleted\n")
    });
    let before = read(&out).len();
    fs::write(watched.join("a"), "x").unwrap();
    fs::create_dir(watched.join("sub")).unwrap();
    fs::rename(watched.join("a"), watched.join("b")).unwrap();
    fs::remove_file(watched.join("b")).unwrap();
    fs::remove_dir(watched.join("sub")).unwrap();
    let w = watched.display();
    let want = format!(
        "file {w}/a created\nfile {w}/a opened\nfile {w}/a closed\ndir  {w}/sub created\n\
         file {w}/a oldname renamed[N]\nfile {w}/b newname renamed[N]\nfile {w}/b deleted\n\
         dir  {w}/sub deleted\n"
    );
    wait_for("the events", || {
        without_cookies(&read(&out)[before..]) == want
    });
    // SAFETY: kill(2) on the pid of a child we have not reaped yet.
    unsafe { libc::kill(r.pid() as libc::pid_t, libc::SIGTERM) };
    let o = r.wait();
    assert_eq!((o.code, o.stderr_str()), (Some(1), String::new()));
}

#[test]
fn inotify_copies_its_input_to_stderr_and_stops_at_its_end() {
    let d = tempfile::tempdir().unwrap();
    let mut r = Cmd::bin("inotify")
        .clean_env()
        .arg(d.path())
        .stdin_pipe()
        .spawn();
    r.write_stdin(b"hello from the client\n");
    r.close_stdin();
    r.wait()
        .assert(0, "", "hello from the client\nshutting down\n");
}

#[test]
fn inotify_usage_and_missing_paths() {
    let usage = "usage: inotify [-n] path1..path2\n";
    Cmd::bin("inotify").clean_env().run().assert(100, "", usage);
    Cmd::bin("inotify")
        .clean_env()
        .args(["-n", "-d", "5"])
        .run()
        .assert(100, "", usage);
    Cmd::bin("inotify")
        .clean_env()
        .args(["-n", "-d"])
        .run()
        .assert(
            100,
            "",
            &format!("inotify: option requires an argument -- d\n{usage}"),
        );
    // an unknown option is reported and ignored
    Cmd::bin("inotify")
        .clean_env()
        .args(["-x", "-n", "/nonexistent/dir"])
        .run()
        .assert(
            111,
            "",
            "inotify: illegal option -- x\ninotify: fatal: /nonexistent/dir: file does not exist\n",
        );
}

#[test]
fn inotify_accepts_a_data_timeout() {
    let d = tempfile::tempdir().unwrap();
    for timeout in ["1", "-1", "0", "junk"] {
        Cmd::bin("inotify")
            .clean_env()
            .env("DATA_TIMEOUT", timeout)
            .arg(d.path())
            .stdin("x\n")
            .run()
            .assert(0, "", "x\nshutting down\n");
    }
    Cmd::bin("inotify")
        .clean_env()
        .args(["-d", "2"])
        .arg(d.path())
        .stdin("")
        .run()
        .assert(0, "", "shutting down\n");
}

// ----- svctool's resolvconf service -----

#[path = "svctool_common/mod.rs"]
mod svctool_common;

/// `svctool --svscanlog --resolvconf` with a dnscache service, svctool finding its tools
/// in `bindir`, then `path`.
fn resolvconf_tree(bindir: &Path, path: &str) -> svctool_common::Root {
    use std::os::unix::fs::PermissionsExt;
    let r = svctool_common::Root::new();
    r.write("service/dnscache/run", "#!/bin/sh\n");
    fs::set_permissions(
        r.path("service/dnscache/run"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_BINDIR", bindir)
        .env("PATH", path)
        .args(["--svscanlog", "--servicedir=/service", "--resolvconf"])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    r
}

#[test]
fn svctool_creates_the_resolvconf_service_with_our_inotify() {
    if !Path::new("/usr/bin/unshare").exists() {
        return blackbox::skip("/usr/bin/unshare missing");
    }
    // our inotify next to svctool, none under the tree's prefix
    let r = resolvconf_tree(&blackbox::bin_dir(), blackbox::SYSTEM_PATH);
    assert!(!r.exists("usr/bin/inotify"));
    let run = r.read("service/resolvconf/run");
    assert!(run.contains("inotify -n $dir | while read line\n"), "{run}");
    assert!(r.exists("service/resolvconf/log/run"));
    // without any inotify there is no such service
    let empty = tempfile::tempdir().unwrap();
    let r = resolvconf_tree(empty.path(), blackbox::SYSTEM_PATH);
    assert!(!r.exists("service/resolvconf"));
    assert!(r.exists("service/.svscan/run"));
    // or in PATH
    let r = resolvconf_tree(empty.path(), &blackbox::test_path());
    assert!(r.exists("service/resolvconf/run"));
}
