//! Black-box suite for the pipeline tools: spipe (a supervised pipeline), multipipe (one
//! supervised consumer per subdirectory, each fed a copy of standard input) and teepipe
//! (standard input to standard output and to a program).
//!
//! The supervised stages run our own supervise and svc (found in PATH, as the tools find
//! them) with DISABLE_RUN=1. Tests wait for what the stages write, never for a time.

use blackbox::{Cmd, Running};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[path = "toolkit_common/mod.rs"]
mod toolkit_common;
use toolkit_common::*;

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("toolkit-pipes")
        .tempdir()
        .unwrap()
}

/// A service directory `dir/name` whose run script is `body`.
fn service(dir: &Path, name: &str, body: &str) -> PathBuf {
    let d = dir.join(name);
    fs::create_dir_all(&d).unwrap();
    let run = d.join("run");
    fs::write(&run, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn term(r: &Running) {
    // SAFETY: kill(2) on the pid of a child we have not reaped yet.
    unsafe { libc::kill(r.pid() as libc::pid_t, libc::SIGTERM) };
}

/// Is a supervise running for `dir`? (svok's answer.)
fn supervised(dir: &Path) -> bool {
    Cmd::bin("svok").clean_env().arg(dir).run().code == Some(0)
}

fn tool(name: &str, cwd: &Path) -> Cmd {
    Cmd::bin(name).clean_env().env("DISABLE_RUN", "1").cwd(cwd)
}

// ----- spipe -----

#[test]
fn spipe_without_directories_is_a_usage_error() {
    Cmd::bin("spipe").clean_env().run().assert(
        1,
        "",
        "spipe: Error: Too few command-line arguments\nusage: spipe dir1 dir2 ...\n",
    );
}

#[test]
fn spipe_pipes_each_stage_into_the_next_and_stops_them_all_on_sigterm() {
    let d = scratch();
    service(d.path(), "a", "echo one; echo two; exec sleep 1000");
    service(d.path(), "b", "exec sed -u 's/^/b:/'");
    service(d.path(), "c", "exec sed -u 's/^/c:/' >>../c.out");
    let r = tool("spipe", d.path()).args(["a", "b", "c"]).spawn();
    let out = d.path().join("c.out");
    wait_for("the last stage's output", || {
        read(&out) == "c:b:one\nc:b:two\n"
    });
    for s in ["a", "b", "c"] {
        assert!(supervised(&d.path().join(s)), "{s} is supervised");
    }
    term(&r);
    let o = r.wait();
    assert_eq!(o.code, Some(0), "{o:?}");
    for s in ["a", "b", "c"] {
        assert!(
            !supervised(&d.path().join(s)),
            "{s} still supervised after spipe exited"
        );
    }
    assert_eq!(read(&out), "c:b:one\nc:b:two\n");
}

#[test]
fn spipe_gives_its_standard_output_to_the_last_stage() {
    let d = scratch();
    service(d.path(), "a", "echo hello; exec sleep 1000");
    service(d.path(), "b", "exec sed -u 's/^/b:/' | tee -a ../b.seen");
    let r = tool("spipe", d.path()).args(["a", "b"]).spawn();
    wait_for("the consumer", || {
        read(&d.path().join("b.seen")) == "b:hello\n"
    });
    term(&r);
    let o = r.wait();
    assert_eq!((o.code, o.stdout_str()), (Some(0), "b:hello\n".to_string()));
}

// ----- multipipe -----

#[test]
fn multipipe_without_its_directory_says_so() {
    Cmd::bin("multipipe")
        .clean_env()
        .arg("/nonexistent/multipipe")
        .run()
        .assert(
            1,
            "",
            "multipipe: Error: Couldn't chdir to /nonexistent/multipipe\n",
        );
}

#[test]
fn multipipe_copies_input_to_every_consumer_and_stops_them_at_end_of_input() {
    let d = scratch();
    let top = d.path().join("fan");
    for name in ["x", "y"] {
        service(
            &top,
            name,
            &format!("exec sed -u 's/^/{name}:/' >>../{name}.out"),
        );
    }
    // ignored: dot directories, plain files, a directory named supervise
    service(&top, ".hidden", "exec cat >>../hidden.out");
    fs::create_dir_all(top.join("supervise")).unwrap();
    fs::write(top.join("file"), "").unwrap();
    let mut r = tool("multipipe", d.path()).arg("fan").stdin_pipe().spawn();
    let lines: String = (1..=300).map(|i| format!("line {i}\n")).collect();
    r.write_stdin(lines.as_bytes());
    let want = |n: &str| {
        lines
            .lines()
            .map(|l| format!("{n}:{l}\n"))
            .collect::<String>()
    };
    wait_for("both consumers", || {
        read(&top.join("x.out")) == want("x") && read(&top.join("y.out")) == want("y")
    });
    assert!(supervised(&top.join("x")) && supervised(&top.join("y")));
    r.close_stdin();
    let o = r.wait();
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(!supervised(&top.join("x")) && !supervised(&top.join("y")));
    assert!(!top.join("hidden.out").exists() && !top.join(".hidden/supervise").exists());
}

#[test]
fn multipipe_starts_a_consumer_for_a_new_directory_with_the_input_that_follows() {
    let d = scratch();
    service(d.path(), "x", "exec sed -u 's/^/x:/' >>x.out");
    let mut r = tool("multipipe", d.path()).stdin_pipe().spawn();
    r.write_stdin(b"before\n");
    wait_for("the first consumer", || {
        read(&d.path().join("x/x.out")) == "x:before\n"
    });
    service(d.path(), "z", "exec sed -u 's/^/z:/' >>z.out");
    // the rescan (every five seconds) starts supervise for z
    wait_for("the new consumer's supervise", || {
        supervised(&d.path().join("z"))
    });
    r.write_stdin(b"after\n");
    wait_for("both consumers", || {
        read(&d.path().join("z/z.out")) == "z:after\n"
            && read(&d.path().join("x/x.out")) == "x:before\nx:after\n"
    });
    term(&r);
    let o = r.wait();
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(!supervised(&d.path().join("z")));
}

// ----- teepipe -----

#[test]
fn teepipe_without_a_program_is_a_usage_error() {
    Cmd::bin("teepipe").clean_env().run().assert(
        100,
        "",
        "teepipe: warning: usage: teepipe program [args ...]: \n",
    );
}

#[test]
fn teepipe_copies_input_to_its_output_and_to_the_program_whose_output_is_our_stderr() {
    let input: String = (1..=2000).map(|i| format!("record {i}\n")).collect();
    let o = Cmd::bin("teepipe")
        .clean_env()
        .args(["sed", "s/^/program:/"])
        .stdin(input.clone())
        .run();
    let program: String = input.lines().map(|l| format!("program:{l}\n")).collect();
    o.assert(0, &input, &program);
}

#[test]
fn teepipe_exits_as_the_program_does() {
    Cmd::bin("teepipe")
        .clean_env()
        .args(["sh", "-c", "cat >/dev/null; exit 7"])
        .stdin("x\n")
        .run()
        .assert(7, "x\n", "");
    Cmd::bin("teepipe")
        .clean_env()
        .args(["sh", "-c", "kill -9 $$"])
        .run()
        .assert(111, "", "teepipe: fatal: child crashed: \n");
}

#[test]
fn teepipe_reports_a_program_it_cannot_run() {
    Cmd::bin("teepipe")
        .clean_env()
        .arg("/nonexistent/program")
        .run()
        .assert(
            111,
            "",
            "teepipe: fatal: Error executing /nonexistent/program: file does not exist\n",
        );
}
