//! Black-box tests of the small UCSPI tools (docs/ucspi-tcp.md#the-small-tools, acceptance check 62):
//! addcr, delcr, fixcrio, recordio, argv0 (djb's rts expectations, byte for byte),
//! mconnect-io, and the wrapper scripts mconnect, tcpcat, who@, date@, finger@, http@
//! against servers written in the test.

mod tcpclient_support;

use blackbox::{is_root, sh, skip, Cmd, Output};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;
use tcpclient_support::*;

fn tool(name: &str) -> Cmd {
    Cmd::bin(name).clean_env().env("DNSCACHEIP", NO_DNS)
}

/// A shell pipeline run with the workspace binaries first in PATH.
fn pipeline(script: &str) -> Output {
    Cmd::new("sh")
        .clean_env()
        .env("DNSCACHEIP", NO_DNS)
        .args(["-c", script])
        .run()
}

/// A wrapper script from the source tree, with the clean environment.
fn run_script(name: &str) -> Cmd {
    Cmd::new(script(name)).clean_env().env("DNSCACHEIP", NO_DNS)
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tcpclient/scripts")
        .join(name)
}

// ----------------------------------------------------------------------------------------
// check 62: the djb rts expectations

#[test]
fn check62_addcr() {
    tool("addcr").stdin("").run().assert(0, "", "");
    tool("addcr").stdin("test").run().assert(0, "test", "");
    tool("addcr")
        .stdin("test\n")
        .run()
        .assert(0, "test\r\n", "");
    tool("addcr")
        .stdin("test\ntest2\n")
        .run()
        .assert(0, "test\r\ntest2\r\n", "");
    tool("addcr")
        .stdin("t\0st\n")
        .run()
        .assert(0, "t\0st\r\n", "");
}

#[test]
fn check62_delcr() {
    tool("delcr").stdin("").run().assert(0, "", "");
    tool("delcr").stdin("test\n").run().assert(0, "test\n", "");
    tool("delcr")
        .stdin("test\r\n")
        .run()
        .assert(0, "test\n", "");
    tool("delcr")
        .stdin("test\r\r\n")
        .run()
        .assert(0, "test\r\n", "");
    tool("delcr").stdin("test\r").run().assert(0, "test\r", "");
    tool("delcr").stdin("test").run().assert(0, "test", "");
    tool("delcr")
        .stdin("t\0st\n")
        .run()
        .assert(0, "t\0st\n", "");
    // A CR split from its LF across reads still goes.
    tool("delcr")
        .stdin("a\rb\r\r\r\n")
        .run()
        .assert(0, "a\rb\r\r\n", "");
}

#[test]
fn filters_report_write_errors() {
    let out = pipeline("yes | head -c 300000 | addcr >/dev/full");
    assert_eq!(out.code, Some(111), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "addcr: fatal: unable to write output: out of disk space\n"
    );
}

#[test]
fn check62_fixcrio() {
    // fixcrio's copier outlives the program it runs; the trailing `cat` reads until the
    // copier closes stdout, so the harness's process-group kill cannot cut the output.
    let out = pipeline("printf '\\nhi\\nthere\\r\\n' | fixcrio sh -c 'cat; echo bye' | cat");
    out.assert(0, "\r\nhi\r\nthere\r\nbye\r\n", "");
    tool("fixcrio")
        .run()
        .assert(100, "", "fixcrio: usage: fixcrio program [ arg ... ]\n");
}

/// recordio's stderr with the pid replaced by `...`, as the rts does.
fn recorded(input: &str) -> String {
    let out = pipeline(&format!(
        "( printf '{input}'; sleep 1 ) | recordio cat 2>&1 >/dev/null"
    ));
    out.assert_code(0);
    out.stdout_str()
        .lines()
        .map(|l| {
            format!(
                "...{}\n",
                l.trim_start_matches(|c: char| c.is_ascii_digit())
            )
        })
        .collect()
}

#[test]
fn check62_recordio() {
    assert_eq!(
        recorded("test\\n"),
        "... < test \n... > test \n... < [EOF]\n... > [EOF]\n"
    );
    assert_eq!(
        recorded("test\\ntest2\\n"),
        "... < test \n... < test2 \n... > test \n... > test2 \n... < [EOF]\n... > [EOF]\n"
    );
    assert_eq!(
        recorded("test"),
        "... < test+\n... > test+\n... < [EOF]\n... > [EOF]\n"
    );
    tool("recordio")
        .run()
        .assert(100, "", "recordio: usage: recordio program [ arg ... ]\n");
}

#[test]
fn recordio_pid_is_the_programs_and_output_survives_a_deaf_program() {
    // The logged pid is the program's own ($$ of the shell recordio execs).
    let out = tool("recordio").stdin("").args(sh("echo $$")).run();
    out.assert_code(0);
    let pid = out.stdout_str().trim().to_string();
    assert!(
        out.stderr_str().contains(&format!("{pid} > {pid} \n")),
        "{out:?}"
    );
    // A program that never reads its input still gets its output through.
    let out = pipeline("yes | head -c 1000000 | recordio sh -c 'echo done' 2>/dev/null");
    out.assert(0, "done\n", "");
}

#[test]
fn check62_argv0() {
    tool("argv0")
        .args(["sh", "zero", "-c", "echo $0"])
        .run()
        .assert(0, "zero\n", "");
    let usage = "argv0: usage: argv0 realname program [ arg ... ]\n";
    tool("argv0").arg("sh").run().assert(100, "", usage);
    tool("argv0").run().assert(100, "", usage);
    tool("argv0").args(["/nonexistent/x", "y"]).run().assert(
        111,
        "",
        "argv0: fatal: unable to run /nonexistent/x: file does not exist\n",
    );
}

// ----------------------------------------------------------------------------------------
// mconnect-io and the wrapper scripts

#[test]
fn mconnect_io_adds_cr_and_stops_when_the_server_closes() {
    // A fake SMTP server: greeting, then echo each line back until QUIT.
    let server = Server::start(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, |mut s: TcpStream| {
        let _ = s.write_all(b"220 fake\r\n");
        let mut got = Vec::new();
        let mut b = [0u8; 256];
        while let Ok(n) = s.read(&mut b) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&b[..n]);
            if got.ends_with(b"QUIT\r\n") {
                let _ = s.write_all(
                    format!("221 saw {:?}\r\n", String::from_utf8_lossy(&got)).as_bytes(),
                );
                return;
            }
        }
    })
    .unwrap();
    let out = run_script("mconnect")
        .args(["127.0.0.1", &server.port.to_string()])
        .stdin("HELO x\nQUIT\n")
        .run();
    out.assert(0, "220 fake\r\n221 saw \"HELO x\\r\\nQUIT\\r\\n\"\r\n", "");
}

#[test]
fn tcpcat_prints_what_the_server_sends() {
    let server = Server::start(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, |mut s: TcpStream| {
        let _ = s.write_all(b"quote of the day\r\n");
    })
    .unwrap();
    let out = run_script("tcpcat")
        .args(["127.0.0.1", &server.port.to_string()])
        .run();
    out.assert(0, "quote of the day\r\n", "");
}

#[test]
fn http_at_prints_the_body_only() {
    let server = Server::start(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, |mut s: TcpStream| {
        let mut req = Vec::new();
        let mut b = [0u8; 512];
        while !req.ends_with(b"\r\n\r\n") {
            match s.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&b[..n]),
            }
        }
        let req = String::from_utf8_lossy(&req).replace("\r\n", "|");
        let _ = write!(
            s,
            "HTTP/1.0 200 OK\r\nServer: t\r\n\r\nrequest {req}\r\nline 2\r\n"
        );
    })
    .unwrap();
    let port = server.port.to_string();
    let out = run_script("http@").args(["127.0.0.1", "a/b", &port]).run();
    out.assert(
        0,
        &format!("request GET /a/b HTTP/1.0|Host: 127.0.0.1:{port}||\nline 2\n"),
        "",
    );
}

/// A server on a fixed port of a loopback address of its own (root).
fn fixed_port_server(port: u16, reply: &'static [u8], echo_query: bool) -> Option<Server> {
    if !is_root() {
        skip("a server on a port below 1024 needs root");
        return None;
    }
    let ip = IpAddr::V4(unique_ip());
    let s = Server::start(ip, port, move |mut s: TcpStream| {
        if echo_query {
            let mut q = Vec::new();
            let mut b = [0u8; 64];
            while !q.ends_with(b"\n") {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => q.extend_from_slice(&b[..n]),
                }
            }
            let _ = s.write_all(b"query ");
            let _ = s.write_all(
                &q.iter()
                    .map(|&c| if c == b'\r' { b'R' } else { c })
                    .collect::<Vec<_>>(),
            );
        }
        let _ = s.write_all(reply);
    });
    if s.is_none() {
        skip("cannot bind a 127.77/16 address");
    }
    s
}

#[test]
fn who_at_and_date_at() {
    let Some(who) = fixed_port_server(11, b"root tty1\r\n\x07bell\r\n", false) else {
        return;
    };
    let out = run_script("who@").arg(who.ip.to_string()).run();
    out.assert(0, "root tty1\n^Gbell\n", "");
    let Some(date) = fixed_port_server(13, b"Mon Jan  1 00:00:00 2024\r\n", false) else {
        return;
    };
    let out = run_script("date@").arg(date.ip.to_string()).run();
    out.assert(0, "Mon Jan  1 00:00:00 2024\n", "");
}

#[test]
fn finger_at_sends_the_user_with_crlf() {
    let Some(finger) = fixed_port_server(79, b"Login: joe\r\n", true) else {
        return;
    };
    let out = run_script("finger@")
        .args([finger.ip.to_string().as_str(), "joe"])
        .run();
    out.assert(0, "query joeR\nLogin: joe\n", "");
}

#[test]
fn scripts_find_the_tools_beside_them() {
    // Installed together in one directory (as `make install` does), the scripts run the
    // tools from there even when PATH does not have them.
    let t = tempfile::tempdir().unwrap();
    for name in ["tcpclient", "delcr", "addcr"] {
        std::os::unix::fs::symlink(blackbox::bin(name), t.path().join(name)).unwrap();
    }
    std::fs::copy(script("tcpcat"), t.path().join("tcpcat")).unwrap();
    let server = Server::start(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, |mut s: TcpStream| {
        let _ = s.write_all(b"beside\n");
    })
    .unwrap();
    let out = Cmd::new(t.path().join("tcpcat"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DNSCACHEIP", NO_DNS)
        .args(["127.0.0.1", &server.port.to_string()])
        .timeout(Duration::from_secs(20))
        .run();
    out.assert(0, "beside\n", "");
}
