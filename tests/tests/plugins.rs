//! Black-box tests of tcpserver's plugin host (docs/ucspi-tcp.md#plugins and #rblsmtpd, acceptance
//! checks 49-52 of #acceptance-checks, docs/decisions.md#u12, issue 8): C plugins compiled here with gcc (the
//! documented example tcpserver/examples/plugins/hello.c among them), rblsmtpd.so and
//! the Rust example plugin built by cargo as this suite's dependencies.
//!
//! Every server listens on 127.0.0.1, on a port the kernel picks, in a process group of
//! its own that is killed when the test ends.

mod tls_support;

use blackbox::{bin, bin_dir, test_path, Cmd};
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};
use tls_support::{tmp, Server, PATIENCE};

/// The documented example plugin.
const HELLO_C: &str = include_str!("../../tcpserver/examples/plugins/hello.c");

/// Compile `source` into `dir/name.so` with gcc (`extra`: more compiler arguments).
fn cc(dir: &Path, name: &str, source: &str, extra: &[&str]) -> String {
    let src = dir.join(format!("{name}.c"));
    fs::write(&src, source).unwrap();
    let out = dir.join(format!("{name}.so"));
    let run = Cmd::new("gcc")
        .args(["-Wall", "-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&src)
        .args(extra)
        .run();
    assert_eq!(
        run.code,
        Some(0),
        "gcc (package gcc, in TEST_PACKAGES_tcpserver) failed: {run:?}"
    );
    out.to_string_lossy().into_owned()
}

/// The example plugin as `dir/hello.so`.
fn hello(dir: &Path) -> String {
    cc(dir, "hello", HELLO_C, &[])
}

/// A Rust plugin cargo built for this suite (`lib<name>.so`), linked as `dir/<as_name>`:
/// the entry is named after the file.
fn rust_plugin(dir: &Path, lib: &str, as_name: &str) -> String {
    let file = format!("lib{lib}.so");
    let built = [bin_dir().join("deps").join(&file), bin_dir().join(&file)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{file} not found under {}: it is built with this suite (cargo test -p blackbox)",
                bin_dir().display()
            )
        });
    let link = dir.join(as_name);
    std::os::unix::fs::symlink(&built, &link).unwrap();
    link.to_string_lossy().into_owned()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Connect, send `input`, close our side, read until the server closes.
fn talk(port: u16, input: &[u8]) -> String {
    let mut s = connect(port);
    s.write_all(input).unwrap();
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn fetch(port: u16) -> String {
    talk(port, b"")
}

/// The value of `name=` in a hello.so report.
#[track_caller]
fn field<'a>(report: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    report
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name}= in the report:\n{report}"))
}

/// The `env:` lines of a hello.so report.
fn env_of(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("env:"))
        .collect()
}

/// The pid of the server's `n`th connection (1-based), from its `pid P from` line.
#[track_caller]
fn child_of(server: &Server, n: usize) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let log = server.log_text();
        let pids: Vec<&str> = log
            .lines()
            .filter_map(|l| l.strip_prefix("tcpserver: pid "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        if let Some(p) = pids.get(n - 1) {
            return p.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no connection {n} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until the server has reaped `pid` (its `sigchild` line); returns the log.
#[track_caller]
fn reaped(server: &Server, pid: &str) -> String {
    server.wait_log(&format!("sigchild, pid={pid}\n"))
}

/// The real path of a binary, as /proc/self/exe shows it.
fn exe(name: &str) -> String {
    fs::canonicalize(bin(name))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// tcpserver's arguments for a plain test server: `-v`, the port printed, no lookups.
fn args<'a>(prog: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["-v", "-1", "-RHl0", "127.0.0.1", "0"];
    a.extend_from_slice(prog);
    a
}

// Check 49: the entry runs in the connection's process with argv and the built
// environment; its return value is ignored.
#[test]
fn plugin_runs_in_the_connection_process() {
    let t = tmp();
    let so = hello(t.path());
    let cdb = t.path().join("rules.cdb");
    Cmd::bin("tcprules")
        .clean_env()
        .cwd(t.path())
        .args(["rules.cdb", "rules.tmp"])
        .stdin("127.0.0.1:allow,X=\"ruled\",!GONE\n")
        .run()
        .assert(0, "", "");
    let cdb = cdb.to_string_lossy().into_owned();
    let mut a = vec!["-v", "-1", "-RHl0", "-x", &cdb, "127.0.0.1", "0"];
    a.extend([so.as_str(), "arg1"]);
    let server = Server::start(t.path(), &a, &[("GONE", "1"), ("KEPT", "yes")]);
    let report = fetch(server.port);
    let pid = child_of(&server, 1);
    assert_eq!(field(&report, "argc"), "2", "{report}");
    assert_eq!(field(&report, "argv[0]"), so);
    assert_eq!(field(&report, "argv[1]"), "arg1");
    assert_eq!(field(&report, "exe"), exe("tcpserver"), "no exec");
    assert_eq!(field(&report, "pid"), pid, "the connection's own process");
    assert!(field(&report, "fd0").starts_with("socket:["), "{report}");
    // Nothing preloaded: init never ran.
    assert_eq!(field(&report, "generation"), "-1 inits=0 calls=1");
    assert_eq!(field(&report, "SIGHUP"), "default");
    assert_eq!(field(&report, "SIGUSR1"), "default");
    assert_eq!(field(&report, "blocked"), "none");
    // envp is the connection's environment; environ stays the server's.
    assert_eq!(field(&report, "environ.TCPREMOTEIP"), "(unset)");
    let env = env_of(&report);
    for want in [
        "PROTO=TCP",
        "TCPREMOTEIP=127.0.0.1",
        "TCPLOCALIP=127.0.0.1",
        "TCPLOCALHOST=0",
        "X=ruled",
        "KEPT=yes",
    ] {
        assert!(env.contains(&want), "{want} missing from {env:?}");
    }
    assert!(!env.iter().any(|e| e.starts_with("GONE=")), "{env:?}");
    assert!(
        !env.iter().any(|e| e.starts_with("TCPREMOTEHOST=")),
        "{env:?}"
    );
    // Returning 42 is a clean exit: no `end` line.
    let log = reaped(&server, &pid);
    assert!(!log.contains(&format!("end {pid}")), "{log}");
    assert!(log.contains(&format!(
        "tcpserver: status: 1/40 un-encrypted session, pid={pid}, IP 127.0.0.1\n"
    )));
}

// Check 50: PLUGIN0_init runs once in the server with 0, every connection inherits its
// state, SIGHUP calls it with 1; PLUGIN0_dir is the server's directory from then on.
#[test]
fn preloaded_state_is_inherited_and_sighup_reinitialises() {
    let t = tmp();
    let so = hello(t.path());
    let dir = t.path().join("plugin-home");
    fs::create_dir(&dir).unwrap();
    let dir = fs::canonicalize(&dir)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let server = Server::start(
        t.path(),
        &args(&[&so]),
        &[
            ("PLUGIN0", &so),
            ("PLUGIN0_init", "hello_init"),
            ("PLUGIN0_dir", &dir),
            // Not plugin variables: ignored.
            ("PLUGINx", "/nonexistent/x.so"),
            ("PLUGIN", "/nonexistent/y.so"),
        ],
    );
    for _ in 0..3 {
        let report = fetch(server.port);
        // init ran once, in the server; each connection process has its own copy.
        assert_eq!(
            field(&report, "generation"),
            "0 inits=1 calls=1",
            "{report}"
        );
        assert_eq!(field(&report, "cwd"), dir);
        assert_ne!(field(&report, "pid"), server.child.id().to_string());
    }
    assert_eq!(
        fs::canonicalize(format!("/proc/{}/cwd", server.child.id())).unwrap(),
        Path::new(&dir),
        "the server itself changed directory"
    );
    sighup(&server, 1);
    for _ in 0..2 {
        let report = fetch(server.port);
        assert_eq!(
            field(&report, "generation"),
            "1 inits=2 calls=1",
            "{report}"
        );
    }
    sighup(&server, 2);
    sighup(&server, 3);
    assert_eq!(
        field(&fetch(server.port), "generation"),
        "1 inits=4 calls=1"
    );
}

// COMPATIBILITY.md#tcpserver-tcprules-tcprulescheck-rblsmtpd T11: a PLUGINn_dir gone by the time of a SIGHUP is a warning; that
// plugin's init is skipped and the server goes on.
#[test]
fn sighup_with_a_vanished_plugin_dir_is_a_warning() {
    let t = tmp();
    let so = hello(t.path());
    let dir = t.path().join("gone");
    fs::create_dir(&dir).unwrap();
    let dir = dir.to_string_lossy().into_owned();
    let server = Server::start(
        t.path(),
        &args(&[&so]),
        &[
            ("PLUGIN0", &so),
            ("PLUGIN0_init", "hello_init"),
            ("PLUGIN0_dir", &dir),
        ],
    );
    fs::remove_dir(&dir).unwrap();
    sighup(&server, 1);
    let log = server.log_text();
    assert!(
        log.contains(&format!(
            "tcpserver: warning: chdir: {dir}: file does not exist\ntcpserver: sighup: 0/40\n"
        )),
        "{log}"
    );
    assert_eq!(
        field(&fetch(server.port), "generation"),
        "0 inits=1 calls=1"
    );
}

/// SIGHUP to the server; returns once it has logged its `n`th `sighup:` line.
fn sighup(server: &Server, n: usize) {
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + PATIENCE;
    while server.log_text().matches("tcpserver: sighup: ").count() < n {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Two plugins with the same global names, both using libshared.so's counter.
const SHARED_C: &str = "int shared_counter;\nint bump(void) { return ++shared_counter; }\n";
fn twin_c(name: &str, id: u32) -> String {
    format!(
        r#"#include <stdio.h>
extern int bump(void);
int same_symbol;
int which(void) {{ return same_symbol; }}
int {name}_init(int reload) {{ same_symbol = {id}; bump(); return 0; }}
int {name}(int argc, char **argv, char **envp) {{
	int i;
	dprintf(1, "{name}: same_symbol=%d shared=%d\n", which(), bump());
	for (i = 0; envp[i]; i++)
		dprintf(1, "env:%s\n", envp[i]);
	return 0;
}}
"#
    )
}

/// `dir/name.so` from [`twin_c`], linked against `dir/libshared.so`.
fn twin(dir: &Path, name: &str, id: u32) -> String {
    let d = dir.to_string_lossy().into_owned();
    let link = ["-L", &d, "-lshared", &format!("-Wl,-rpath,{d}")];
    cc(dir, name, &twin_c(name, id), &link)
}

/// libshared.so, a.so and b.so in `dir`.
fn twins(dir: &Path) -> (String, String) {
    cc(dir, "libshared", SHARED_C, &[]);
    (twin(dir, "a", 1), twin(dir, "b", 2))
}

// Check 51 and the isolation the issue asks for: with USE_DLMOPEN each preloaded plugin
// has a namespace of its own (its own libshared.so), logged and exported as LMIDn, and
// connections use that namespace; without it they share the base namespace.
#[test]
fn dlmopen_gives_each_plugin_its_own_namespace() {
    let t = tmp();
    let (a, b) = twins(t.path());
    let base: Vec<(&str, &str)> = vec![
        ("PLUGIN0", &a),
        ("PLUGIN0_init", "a_init"),
        ("PLUGIN1", &b),
        ("PLUGIN1_init", "b_init"),
    ];
    let mut isolated = base.clone();
    isolated.push(("USE_DLMOPEN", "1"));

    let sa = Server::start(t.path(), &args(&[&a]), &isolated);
    let sb = Server::start(t.path(), &args(&[&b]), &isolated);
    let ra = fetch(sa.port);
    let rb = fetch(sb.port);
    // Each init bumped its own libshared once; the connection bumps it again.
    assert!(ra.starts_with("a: same_symbol=1 shared=2\n"), "{ra}");
    assert!(rb.starts_with("b: same_symbol=2 shared=2\n"), "{rb}");
    let lmid_a = format!("LMID1={a}");
    let lmid_b = format!("LMID2={b}");
    for r in [&ra, &rb] {
        let env = env_of(r);
        assert!(
            env.contains(&lmid_a.as_str()) && env.contains(&lmid_b.as_str()),
            "{env:?}"
        );
    }
    for s in [&sa, &sb] {
        let log = s.wait_log("sigchild");
        assert!(
            log.starts_with(
                "tcpserver: a.so: link map ID: 1\ntcpserver: b.so: link map ID: 2\n\
                 tcpserver: status: 0/40 startup"
            ),
            "{log}"
        );
        // The connection reused the server's namespace: no new one.
        assert_eq!(log.matches("link map ID").count(), 2, "{log}");
    }

    // The base namespace: one libshared for both plugins (init bumped it twice).
    let sa = Server::start(t.path(), &args(&[&a]), &base);
    let ra = fetch(sa.port);
    assert!(ra.starts_with("a: same_symbol=1 shared=3\n"), "{ra}");
    assert!(!ra.contains("LMID"), "{ra}");
    assert!(!sa.wait_log("sigchild").contains("link map"));

    // A plugin nobody preloaded gets a new namespace in the connection's process.
    let c = twin(t.path(), "c", 3);
    let sc = Server::start(t.path(), &args(&[&c]), &isolated);
    let rc = fetch(sc.port);
    assert!(rc.starts_with("c: same_symbol=0 shared=1\n"), "{rc}");
    let pid = child_of(&sc, 1);
    let log = reaped(&sc, &pid);
    assert!(log.contains("tcpserver: c.so: link map ID: 3\n"), "{log}");

    // An exec'd program of a server with namespaces gets LMIDn too (no fast path).
    let se = Server::start(
        t.path(),
        &args(&["sh", "-c", "env | grep ^LMID | sort"]),
        &isolated,
    );
    assert_eq!(fetch(se.port), format!("{lmid_a}\n{lmid_b}\n"));
}

// Check 52 and every other loading error: the connection's process exits 111 with the
// reference's message, the client gets nothing, the server goes on.
#[test]
fn loading_errors_cost_only_the_connection() {
    let t = tmp();
    let noentry = cc(
        t.path(),
        "noentry",
        "int something_else(void) { return 0; }\n",
        &[],
    );
    let junk = t.path().join("junk.so");
    fs::write(&junk, "not an ELF file\n".repeat(64)).unwrap();
    let junk = junk.to_string_lossy().into_owned();
    let cases: [(&str, String); 3] = [
        (
            "/nonexistent/x.so",
            "tcpserver: fatal: tcdlmopen: /nonexistent/x.so: /nonexistent/x.so: cannot open \
             shared object file: No such file or directory\n"
                .into(),
        ),
        (
            &noentry,
            format!("tcpserver: fatal: dlsym: noentry: {noentry}: undefined symbol: noentry\n"),
        ),
        (
            &junk,
            format!("tcpserver: fatal: tcdlmopen: {junk}: {junk}: invalid ELF header\n"),
        ),
    ];
    for dlmopen in [false, true] {
        let env: &[(&str, &str)] = if dlmopen {
            &[("USE_DLMOPEN", "1")]
        } else {
            &[]
        };
        for (prog, message) in &cases {
            let server = Server::start(t.path(), &args(&[prog]), env);
            for n in 1..=2 {
                assert_eq!(fetch(server.port), "", "{prog}");
                let pid = child_of(&server, n);
                let log = reaped(&server, &pid);
                assert!(log.contains(message.as_str()), "want {message:?} in\n{log}");
                assert!(
                    log.contains(&format!("tcpserver: end {pid} status 111\n")),
                    "{log}"
                );
            }
            assert_eq!(server.log_text().matches(message.as_str()).count(), 2);
        }
    }
    // Preloaded, but without the entry: the server starts, each connection fails.
    let server = Server::start(t.path(), &args(&[&noentry]), &[("PLUGIN0", &noentry)]);
    assert_eq!(fetch(server.port), "");
    let pid = child_of(&server, 1);
    let log = reaped(&server, &pid);
    assert!(log.contains(&cases[1].1), "{log}");
    assert!(
        log.contains(&format!("tcpserver: end {pid} status 111\n")),
        "{log}"
    );
}

/// tcpserver that must not start: its exit code and stderr.
fn failed_start(dir: &Path, env: &[(&str, &str)]) -> blackbox::Output {
    let mut cmd = Cmd::bin("tcpserver")
        .clean_env()
        .cwd(dir)
        .args(args(&["/bin/true"]))
        .timeout(PATIENCE);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

// docs/ucspi-tcp.md#plugins: preloading errors are fatal at startup (111), before the port is printed.
#[test]
fn preload_errors_stop_the_server() {
    let t = tmp();
    let so = hello(t.path());
    let missing = "tcpserver: fatal: tcdlmopen: /nonexistent/p.so: /nonexistent/p.so: cannot \
                   open shared object file: No such file or directory\n";
    failed_start(t.path(), &[("PLUGIN0", "/nonexistent/p.so")]).assert(111, "", missing);
    failed_start(
        t.path(),
        &[("PLUGIN3", "/nonexistent/p.so"), ("USE_DLMOPEN", "1")],
    )
    .assert(111, "", missing);
    failed_start(
        t.path(),
        &[("PLUGIN0", &so), ("PLUGIN0_init", "no_such_init")],
    )
    .assert(
        111,
        "",
        &format!("tcpserver: fatal: dlsym: no_such_init: {so}: undefined symbol: no_such_init\n"),
    );
    failed_start(
        t.path(),
        &[("PLUGIN7", &so), ("PLUGIN7_dir", "/nonexistent/dir")],
    )
    .assert(
        111,
        "",
        "tcpserver: fatal: chdir: /nonexistent/dir: file does not exist\n",
    );
    // -q: the same exit, nothing said.
    Cmd::bin("tcpserver")
        .clean_env()
        .args(["-q", "-1", "127.0.0.1", "0", "/bin/true"])
        .env("PLUGIN0", "/nonexistent/p.so")
        .timeout(PATIENCE)
        .run()
        .assert(111, "", "");
}

// A name without `/` is searched in PATH and exec'd, even when it ends in .so.
#[test]
fn so_names_without_a_slash_are_exec_d() {
    let t = tmp();
    let dir = t.path().join("bin");
    fs::create_dir(&dir).unwrap();
    tls_support::script(&dir, "prog.so", "#!/bin/sh\necho exec\\'d \"$0\"\n");
    let path = format!("{}:{}", dir.display(), test_path());
    let server = Server::start(t.path(), &args(&["prog.so"]), &[("PATH", &path)]);
    assert_eq!(
        fetch(server.port),
        format!("exec'd {}/prog.so\n", dir.display())
    );
}

/// A plugin that misbehaves on request: the first line of input says how.
const TROUBLE_C: &str = r#"#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int trouble(int argc, char **argv, char **envp) {
	char line[64] = "";
	ssize_t n = read(0, line, sizeof line - 1);
	if (n > 0) line[n] = 0;
	if (!strncmp(line, "segv", 4)) { *(volatile int *) 0 = 1; }
	if (!strncmp(line, "exit", 4)) exit(7);
	if (!strncmp(line, "loop", 4)) { write(1, "looping\n", 8); for (;;) ; }
	write(1, "fine\n", 5);
	return 0;
}
"#;

// Reliability: a plugin that crashes, exits or loops costs its own connection only.
#[test]
fn crashing_exiting_and_looping_plugins_cost_only_their_connection() {
    let t = tmp();
    let so = cc(t.path(), "trouble", TROUBLE_C, &["-O0"]);
    for preload in [false, true] {
        let env: Vec<(&str, &str)> = if preload {
            vec![("PLUGIN0", &so), ("USE_DLMOPEN", "1")]
        } else {
            vec![]
        };
        let mut a = vec!["-v", "-1", "-RHl0", "-c", "2", "127.0.0.1", "0"];
        a.push(&so);
        let server = Server::start(t.path(), &a, &env);

        assert_eq!(talk(server.port, b"segv\n"), "");
        let pid = child_of(&server, 1);
        let log = reaped(&server, &pid);
        assert!(
            log.contains(&format!("tcpserver: end {pid} killed by signal 11\n")),
            "{log}"
        );

        assert_eq!(talk(server.port, b"exit\n"), "");
        let pid = child_of(&server, 2);
        let log = reaped(&server, &pid);
        assert!(
            log.contains(&format!("tcpserver: end {pid} status 7\n")),
            "{log}"
        );

        // One connection spins; with -c 2 the other slot keeps serving.
        let mut spinning = connect(server.port);
        spinning.write_all(b"loop\n").unwrap();
        let mut buf = [0u8; 8];
        spinning.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"looping\n");
        let looper = child_of(&server, 3);
        for _ in 0..3 {
            assert_eq!(talk(server.port, b"ok\n"), "fine\n");
        }
        // SAFETY: kill(2) on the spinning connection process (in the server's group).
        unsafe { libc::kill(looper.parse().unwrap(), libc::SIGKILL) };
        let log = reaped(&server, &looper);
        assert!(
            log.contains(&format!("tcpserver: end {looper} killed by signal 9\n")),
            "{log}"
        );
        assert_eq!(talk(server.port, b"ok\n"), "fine\n");
    }
}

/// An SMTP exchange: the lines the client got.
fn smtp(port: u16, commands: &str) -> String {
    talk(port, commands.as_bytes())
}

// docs/ucspi-tcp.md#rblsmtpd: rblsmtpd.so lets the client pass and hands the connection to the next plugin in
// the same process (argv, environment, the process are the connection's).
#[test]
fn rblsmtpd_plugin_hands_on_to_the_next_plugin() {
    let t = tmp();
    let so = hello(t.path());
    let rbl = rust_plugin(t.path(), "rblsmtpd", "rblsmtpd.so");
    let server = Server::start(
        t.path(),
        &args(&[&rbl, "-r", "bl.invalid", &so, "x"]),
        &[("RBLSMTPD", "")],
    );
    let report = fetch(server.port);
    let pid = child_of(&server, 1);
    assert_eq!(field(&report, "argc"), "2", "{report}");
    assert_eq!(field(&report, "argv[0]"), so);
    assert_eq!(field(&report, "argv[1]"), "x");
    assert_eq!(field(&report, "exe"), exe("tcpserver"));
    assert_eq!(field(&report, "pid"), pid);
    assert!(
        env_of(&report).contains(&"TCPREMOTEIP=127.0.0.1"),
        "{report}"
    );
    let log = reaped(&server, &pid);
    assert!(!log.contains(&format!("end {pid}")), "{log}");

    // The exec'd rblsmtpd does the same: the .so runs inside rblsmtpd's process.
    let server = Server::start(
        t.path(),
        &args(&["rblsmtpd", "-r", "bl.invalid", &so, "y"]),
        &[("RBLSMTPD", "")],
    );
    let report = fetch(server.port);
    assert_eq!(field(&report, "exe"), exe("rblsmtpd"), "{report}");
    assert_eq!(field(&report, "argv[1]"), "y");
    assert_eq!(field(&report, "pid"), child_of(&server, 1));
}

// The configuration svctool writes: qmail_smtpd.so (here hello.so) preloaded with its
// init and directory, rblsmtpd.so preloaded, USE_DLMOPEN; the chain finds the
// preloaded namespace through LMIDn, so the init's state is there.
#[test]
fn rblsmtpd_plugin_in_the_svctool_configuration() {
    let t = tmp();
    let so = hello(t.path());
    let rbl = rust_plugin(t.path(), "rblsmtpd", "rblsmtpd.so");
    let home = fs::canonicalize(t.path())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let env = [
        ("PLUGIN0", so.as_str()),
        ("PLUGIN0_init", "hello_init"),
        ("PLUGIN0_dir", &home),
        ("PLUGIN1", &rbl),
        ("USE_DLMOPEN", "1"),
        ("RBLSMTPD", ""),
    ];
    let server = Server::start(t.path(), &args(&[&rbl, "-rbl.invalid", &so]), &env);
    let report = fetch(server.port);
    assert_eq!(
        field(&report, "generation"),
        "0 inits=1 calls=1",
        "{report}"
    );
    assert_eq!(field(&report, "exe"), exe("tcpserver"));
    let env = env_of(&report);
    assert!(env.contains(&format!("LMID1={so}").as_str()), "{env:?}");
    assert!(env.contains(&format!("LMID2={rbl}").as_str()), "{env:?}");
    let pid = child_of(&server, 1);
    let log = reaped(&server, &pid);
    assert!(
        log.starts_with(
            "tcpserver: hello.so: link map ID: 1\ntcpserver: rblsmtpd.so: link map ID: 2\n"
        ),
        "{log}"
    );
    assert_eq!(log.matches("link map ID").count(), 2, "{log}");
    server.signal(libc::SIGHUP);
    server.wait_log("sighup:");
    assert_eq!(
        field(&fetch(server.port), "generation"),
        "1 inits=2 calls=1"
    );
}

// rblsmtpd.so refusing a client: its own SMTP conversation, the next plugin never runs.
#[test]
fn rblsmtpd_plugin_refuses_listed_clients() {
    let t = tmp();
    let so = hello(t.path());
    let rbl = rust_plugin(t.path(), "rblsmtpd", "rblsmtpd.so");
    for dlmopen in [false, true] {
        let mut env = vec![("RBLSMTPD", "-blocked %IP%"), ("PLUGIN1", rbl.as_str())];
        if dlmopen {
            env.push(("USE_DLMOPEN", "1"));
        }
        let server = Server::start(t.path(), &args(&[&rbl, "-r", "bl.invalid", &so]), &env);
        let got = smtp(
            server.port,
            "HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nQUIT\r\n",
        );
        assert_eq!(
            got,
            "220 rblsmtpd.indimail\r\n250 rblsmtpd.indimail\r\n250 rblsmtpd.indimail\r\n\
             553 blocked 127.0.0.1\r\n553 blocked 127.0.0.1\r\n221 rblsmtpd.indimail\r\n"
        );
        let pid = child_of(&server, 1);
        let log = reaped(&server, &pid);
        for line in [
            format!("rblsmtpd:  pid {pid} from 127.0.0.1: 553 blocked 127.0.0.1\n"),
            format!("rblsmtpd:  pid {pid} from 127.0.0.1: Sender <a@b>\n"),
            format!("rblsmtpd:  pid {pid} from 127.0.0.1: Recipient <c@d>\n"),
        ] {
            assert!(log.contains(&line), "{line:?} missing:\n{log}");
        }
        assert!(!log.contains(&format!("end {pid}")), "{log}");
    }
}

// rblsmtpd.so's own errors: usage (100), a next plugin that does not load (111).
#[test]
fn rblsmtpd_plugin_errors() {
    let t = tmp();
    let rbl = rust_plugin(t.path(), "rblsmtpd", "rblsmtpd.so");
    let server = Server::start(t.path(), &args(&[&rbl, "/bin/true"]), &[]);
    assert_eq!(fetch(server.port), "");
    let pid = child_of(&server, 1);
    let log = reaped(&server, &pid);
    assert!(
        log.contains(
            "usage: rblsmtpd -r base [ -b ] [ -R ] [ -t timeout ] [ -a base ] [-W] [-w delay] \
             smtpd [ arg ... ]\n"
        ),
        "{log}"
    );
    assert!(
        log.contains(&format!("tcpserver: end {pid} status 100\n")),
        "{log}"
    );

    let server = Server::start(
        t.path(),
        &args(&[&rbl, "-r", "bl.invalid", "/nonexistent/next.so"]),
        &[("RBLSMTPD", "")],
    );
    assert_eq!(fetch(server.port), "");
    let pid = child_of(&server, 1);
    let log = reaped(&server, &pid);
    assert!(
        log.contains(
            "tcpserver: fatal: tcdlmopen: /nonexistent/next.so: /nonexistent/next.so: cannot \
             open shared object file: No such file or directory\n"
        ),
        "{log}"
    );
    assert!(
        log.contains(&format!("tcpserver: end {pid} status 111\n")),
        "{log}"
    );

    let server = Server::start(
        t.path(),
        &args(&[&rbl, "-r", "bl.invalid", "/nonexistent/prog"]),
        &[("RBLSMTPD", "")],
    );
    assert_eq!(fetch(server.port), "");
    let pid = child_of(&server, 1);
    let log = reaped(&server, &pid);
    assert!(
        log.contains("rblsmtpd: fatal: unable to run /nonexistent/prog: file does not exist\n"),
        "{log}"
    );
}

// The Rust example plugin (examples/hello-plugin): init reads its directory's greeting,
// connections answer from memory; in the base namespace and in its own.
#[test]
fn rust_example_plugin() {
    let t = tmp();
    let so = rust_plugin(t.path(), "hello_rs", "hello_rs.so");
    let home = t.path().join("etc");
    fs::create_dir(&home).unwrap();
    fs::write(home.join("greeting"), "Welcome\n").unwrap();
    let home = home.to_string_lossy().into_owned();
    for dlmopen in [false, true] {
        let mut env = vec![
            ("PLUGIN0", so.as_str()),
            ("PLUGIN0_init", "hello_rs_init"),
            ("PLUGIN0_dir", &home),
        ];
        if dlmopen {
            env.push(("USE_DLMOPEN", "1"));
        }
        let server = Server::start(t.path(), &args(&[&so]), &env);
        assert_eq!(
            talk(server.port, b"abc\nquit\nnot read\n"),
            "Welcome, 127.0.0.1 (generation 0)\r\nABC\nbye\r\n"
        );
        fs::write(Path::new(&home).join("greeting"), "Hi again\n").unwrap();
        // Read at init only: the file is not looked at per connection.
        assert_eq!(
            talk(server.port, b""),
            "Welcome, 127.0.0.1 (generation 0)\r\n"
        );
        server.signal(libc::SIGHUP);
        server.wait_log("sighup:");
        assert_eq!(
            talk(server.port, b"x\n"),
            "Hi again, 127.0.0.1 (generation 1)\r\nX\n"
        );
        fs::write(Path::new(&home).join("greeting"), "Welcome\n").unwrap();
    }
}

// Under TLS the plugin runs in the process the TLS step forks, on its pipes.
#[test]
fn plugin_behind_tls() {
    if !tls_support::openssl_available() {
        panic!("openssl (package openssl, in TEST_PACKAGES_tcpserver) is needed");
    }
    let t = tmp();
    let so = hello(t.path());
    let pki = tls_support::Pki::new(t.path());
    pki.server("server.pem", "localhost", &["localhost"]);
    let cert = pki.path("server.pem");
    let certdir = t.path().to_string_lossy().into_owned();
    let mut a = vec!["-v", "-1", "-RHl0", "-n", &cert, "127.0.0.1", "0"];
    a.push(&so);
    let env = [
        ("CERTDIR", certdir.as_str()),
        ("PLUGIN0", &so),
        ("PLUGIN0_init", "hello_init"),
    ];
    let server = Server::start(t.path(), &a, &env);
    let out = tls_support::s_client(server.port, &["-quiet"], b"");
    let report = out.stdout_str();
    let log = server.wait_log("encrypted session");
    let childpid = log
        .split("childpid=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .to_string();
    assert_eq!(field(&report, "pid"), childpid, "{report}\n{log}");
    assert_eq!(field(&report, "exe"), exe("tcpserver"));
    assert!(field(&report, "fd0").starts_with("pipe:["), "{report}");
    assert_eq!(field(&report, "generation"), "0 inits=1 calls=1");
    assert!(
        env_of(&report).contains(&"TLS_PROVIDER=tcpserver, "),
        "{report}"
    );
}
