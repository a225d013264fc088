//! Black-box tests of tcpclient (docs/ucspi-tcp.md#tcpclient, acceptance checks 48 and 53–56).
//!
//! Servers are written in the test (std::net on loopback); DNS goes to a fake server on a
//! loopback address of its own ([`FakeDns`], needs root for port 53) or to a dead loopback
//! address, never to the machine's resolver.

mod tcpclient_support;

use blackbox::{is_root, sh, skip, Cmd, Output};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::sync::mpsc;
use std::time::Duration;
use tcpclient_support::*;

const USAGE: &str = "usage: tcpclient [ -46hHrRdDqQmvz ]
 [ -i localip ]
 [ -p localport ]
 [ -l localname ]
 [ -T timeoutconn ]
 [ -t timeoutinfo ]
 [ -a timeoutdata ]
 [ -n clientcert ]
 [ -C certdir ] 
 [ -c cafile ] 
 [ -L crlfile ] 
 [ -s starttlsType (smtp|pop3|imap) ]
 [ -f cipherlist ]
 [ -M TLS method ] 
 host port [program]
";

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// tcpclient with only PATH set and the resolver pointed at a dead loopback address.
fn client() -> Cmd {
    Cmd::bin("tcpclient").clean_env().env("DNSCACHEIP", NO_DNS)
}

/// A server that sends `greeting`, then records what the client sends until EOF.
fn greeter(ip: IpAddr, greeting: &'static [u8]) -> (Server, mpsc::Receiver<(u16, Vec<u8>)>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = Server::start(ip, 0, move |mut s: TcpStream| {
        let peer = s.peer_addr().unwrap().port();
        let _ = s.write_all(greeting);
        let got = read_all(&mut s);
        let _ = tx.lock().unwrap().send((peer, got));
    })
    .expect("bind a loopback port");
    (server, rx)
}

fn env_lines(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = out
        .stdout_str()
        .lines()
        .filter(|l| l.starts_with("PROTO=") || l.starts_with("TCP"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

// ----------------------------------------------------------------------------------------
// Usage and option errors

#[test]
fn usage_without_host_or_port() {
    client().run().assert(100, "", USAGE);
    client().arg("127.0.0.1").run().assert(100, "", USAGE);
}

#[test]
fn illegal_options_print_usage() {
    let out = client().args(["-V", "0", "0"]).run();
    out.assert(100, "", &format!("tcpclient: illegal option -- V\n{USAGE}"));
    // -C certdir, in the usage text, is accepted (U13; the reference refuses it).
    let out = client().args(["-C"]).run();
    out.assert(
        100,
        "",
        &format!("tcpclient: option requires an argument -- C\n{USAGE}"),
    );
    let out = client().arg("-t").run();
    out.assert(
        100,
        "",
        &format!("tcpclient: option requires an argument -- t\n{USAGE}"),
    );
    client()
        .args(["-s", "ftp", "0", "25"])
        .run()
        .assert(100, "", USAGE);
    client()
        .args(["-i", "nonsense", "0", "25"])
        .run()
        .assert(100, "", USAGE);
}

#[test]
fn quiet_silences_even_usage() {
    client().arg("-q").run().assert(100, "", "");
}

#[test]
fn check48_starttls_requires_a_certificate() {
    let out = client().args(["-s", "smtp", "0", "25"]).run();
    out.assert(
        100,
        "",
        "tcpclient: fatal: STARTTLS options require Certificates\n",
    );
}

#[test]
fn unknown_port_names_and_out_of_range_ports() {
    let out = client().args(["0", "nonexistentport", "true"]).run();
    out.assert(
        111,
        "",
        "tcpclient: fatal: unable to figure out port number for nonexistentport\n",
    );
    let out = client().args(["0", "65536", "true"]).run();
    out.assert(
        111,
        "",
        "tcpclient: fatal: unable to figure out port number for 65536\n",
    );
}

#[test]
fn service_names_are_looked_up() {
    // "smtp" is port 25 in every /etc/services; nothing listens there on ::1 in tests.
    let out = client()
        .args(["-H", "-R", "-l0", "::1", "smtp", "true"])
        .run();
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(out.stderr_str().contains("port 25: "), "{out:?}");
}

// ----------------------------------------------------------------------------------------
// Connection failures (checks 54, 55)

#[test]
fn check54_refused_on_the_default_host() {
    let port = free_port();
    let p = format!("0{port}");
    let out = client().args(["0", &p, "echo", "x"]).run();
    out.assert(
        111,
        "",
        &format!("tcpclient: unable to connect to ::1 port {port}: connection refused\n"),
    );
    let out = client().args(["-4", "0", &p, "echo", "x"]).run();
    out.assert(
        111,
        "",
        &format!("tcpclient: unable to connect to 127.0.0.1 port {port}: connection refused\n"),
    );
    let out = client().args(["", &p, "echo", "x"]).run();
    out.assert(
        111,
        "",
        &format!("tcpclient: unable to connect to ::1 port {port}: connection refused\n"),
    );
    client()
        .args(["-q", "0", &p, "echo", "x"])
        .run()
        .assert(111, "", "");
}

#[test]
fn no_program_is_not_a_usage_error() {
    let port = free_port();
    let out = client().args(["0", &port.to_string()]).run();
    out.assert(
        111,
        "",
        &format!("tcpclient: unable to connect to ::1 port {port}: connection refused\n"),
    );
}

#[test]
fn check55_names_appear_in_the_message() {
    let port = free_port();
    let t = tempfile::tempdir().unwrap();
    let rules = t.path().join("rewrite");
    std::fs::write(&rules, "").unwrap();
    let out = client()
        .env("DNSREWRITEFILE", &rules)
        .args(["127.000.000.001", &format!("0{port}"), "echo", "x"])
        .run();
    out.assert(
        111,
        "",
        &format!(
            "tcpclient: unable to connect to host 127.000.000.001 ip 127.0.0.1 port {port}: connection refused\n"
        ),
    );
}

#[test]
fn bracketed_and_malformed_names() {
    let out = client().args(["[127.0.0.1]", "25", "true"]).run();
    out.assert(111, "", "tcpclient: fatal: no IP address for [127.0.0.1]\n");
    let long = format!("{}.example", "x".repeat(64));
    let out = client().args([long.as_str(), "25", "true"]).run();
    out.assert(
        111,
        "",
        &format!("tcpclient: fatal: temporarily unable to figure out IP address for {long}: protocol error\n"),
    );
}

#[test]
fn unreachable_resolver_is_a_temporary_failure() {
    let t = tempfile::tempdir().unwrap();
    let rules = t.path().join("rewrite");
    std::fs::write(&rules, "").unwrap();
    let out = client()
        .env("DNSREWRITEFILE", &rules)
        .args(["mail.example", "25", "true"])
        .run();
    out.assert(
        111,
        "",
        "tcpclient: fatal: temporarily unable to figure out IP address for mail.example: connection refused\n",
    );
}

/// A listener whose accept queue is full: further SYNs are dropped, so connects hang.
fn black_hole() -> (TcpListener, Vec<TcpStream>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) again on our own socket to shrink its backlog.
    unsafe { libc::listen(l.as_raw_fd(), 0) };
    let addr = l.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            held.push(s);
        }
    }
    (l, held)
}

#[test]
fn connect_timeout_is_reported() {
    let (l, _held) = black_hole();
    let port = l.local_addr().unwrap().port();
    let out = client()
        .args([
            "-T",
            "1+0",
            "-H",
            "-R",
            "-l0",
            "127.0.0.1",
            &port.to_string(),
            "true",
        ])
        .run();
    out.assert(
        111,
        "",
        &format!("tcpclient: unable to connect to 127.0.0.1 port {port}: timed out\n"),
    );
}

#[test]
fn unix_socket_missing() {
    let out = client().args(["/nonexistent/sock", "true"]).run();
    out.assert(
        111,
        "",
        "tcpclient: fatal: unable to connect to socket /nonexistent/sock: file does not exist\n",
    );
}

#[test]
fn exec_failure() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .args([
            "-H",
            "-R",
            "-l0",
            "127.0.0.1",
            &server.port.to_string(),
            "/nonexistent/prog",
        ])
        .run();
    out.assert(
        111,
        "",
        "tcpclient: fatal: unable to run /nonexistent/prog: file does not exist\n",
    );
}

#[test]
fn tls_with_a_missing_certificate_fails_before_connecting() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .args([
            "-n",
            "/nonexistent/clientcert.pem",
            "-H",
            "-R",
            "-l0",
            "127.0.0.1",
            &server.port.to_string(),
            "true",
        ])
        .run();
    assert_eq!(out.code, Some(111), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "tcpclient: unable to load certificate: /nonexistent/clientcert.pem: file does not exist\n\
         tcpclient: fatal: unable to initialize TLS\n",
        "{out:?}"
    );
}

// ----------------------------------------------------------------------------------------
// The connection and its environment (checks 56, 8)

#[test]
fn check56_verbose_messages() {
    let Some(server) = Server::start(IpAddr::V6(Ipv6Addr::LOCALHOST), 0, |_s| {}) else {
        return skip("no IPv6 loopback");
    };
    let port = server.port;
    let out = client()
        .args(["-v", "-R", "-H", "::1", &port.to_string(), "true"])
        .run();
    out.assert(
        0,
        "",
        &format!(
            "tcpclient: using un-encrypted connection\ntcpclient: trying  ip ::1 port {port}\ntcpclient: connected to ::1 port {port}\n"
        ),
    );
}

#[test]
fn ipv4_environment_descriptors_and_data() {
    let (server, rx) = greeter(LOCALHOST, b"hello\n");
    let port = server.port;
    let script = "env; head -n 1 <&6; echo reply >&7";
    let out = client()
        .args(["-H", "-R", "-l", "Local", "127.0.0.1", &port.to_string()])
        .args(sh(script))
        .run();
    out.assert_code(0);
    let (peer, got) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(got, b"reply\n");
    assert_eq!(
        env_lines(&out),
        vec![
            "PROTO=TCP".to_string(),
            "TCPLOCALHOST=Local".into(),
            "TCPLOCALIP=127.0.0.1".into(),
            format!("TCPLOCALPORT={peer}"),
            "TCPREMOTEIP=127.0.0.1".into(),
            format!("TCPREMOTEPORT={port}"),
        ]
    );
    assert!(out.stdout_str().ends_with("hello\n"), "{out:?}");
}

#[test]
fn inherited_connection_variables_are_replaced_or_removed() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .env("TCPREMOTEHOST", "stale")
        .env("TCPREMOTEINFO", "stale")
        .env("TCPLOCALHOST", "stale")
        .args(["-H", "-R", "127.0.0.1", &server.port.to_string(), "env"])
        .run();
    out.assert_code(0);
    let text = out.stdout_str();
    // No PTR (the resolver is dead): TCPLOCALHOST goes too.
    assert!(!text.contains("stale"), "{out:?}");
}

#[test]
fn ipv6_environment() {
    let Some(server) = Server::start(IpAddr::V6(Ipv6Addr::LOCALHOST), 0, |_s| {}) else {
        return skip("no IPv6 loopback");
    };
    let out = client()
        .args(["-H", "-R", "-l0", "::1", &server.port.to_string(), "env"])
        .run();
    out.assert_code(0);
    let lines = env_lines(&out);
    assert!(lines.contains(&"PROTO=TCP6".to_string()), "{lines:?}");
    assert!(lines.contains(&"TCPREMOTEIP=::1".to_string()), "{lines:?}");
    assert!(lines.contains(&"TCPLOCALIP=::1".to_string()), "{lines:?}");
    assert!(lines.contains(&"TCPLOCALHOST=0".to_string()), "{lines:?}");
    assert!(!lines.iter().any(|l| l.starts_with("TCP6")), "{lines:?}");
}

#[test]
fn force6_prints_mapped_addresses() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .args([
            "-6",
            "-H",
            "-R",
            "-l0",
            "127.0.0.1",
            &server.port.to_string(),
            "env",
        ])
        .run();
    let lines = env_lines(&out);
    assert!(lines.contains(&"PROTO=TCP6".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"TCPREMOTEIP=::ffff:127.0.0.1".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"TCPLOCALIP=::ffff:127.0.0.1".to_string()),
        "{lines:?}"
    );
}

#[test]
fn ipv4_only_reaches_loopback_as_127() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .args([
            "-4",
            "-H",
            "-R",
            "-l0",
            "::1",
            &server.port.to_string(),
            "env",
        ])
        .run();
    assert!(
        env_lines(&out).contains(&"TCPREMOTEIP=127.0.0.1".to_string()),
        "{out:?}"
    );
}

#[test]
fn local_address_and_port() {
    let (server, rx) = greeter(LOCALHOST, b"");
    let lport = free_port();
    let out = client()
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &lport.to_string(),
            "-D",
            "-H",
            "-R",
            "-l0",
        ])
        .args([
            "127.0.0.1",
            &server.port.to_string(),
            "sh",
            "-c",
            "echo $TCPLOCALPORT",
        ])
        .run();
    out.assert(0, &format!("{lport}\n"), "");
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().0, lport);
    // A local address the machine does not have.
    let out = client()
        .args([
            "-i",
            "192.0.2.1",
            "-H",
            "-R",
            "-l0",
            "127.0.0.1",
            &server.port.to_string(),
            "true",
        ])
        .run();
    out.assert(
        111,
        "",
        "tcpclient: fatal: unable to bind socket: address not available\n",
    );
}

#[test]
fn descriptors_6_and_7_are_the_socket() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let script = "readlink /proc/self/fd/6; readlink /proc/self/fd/7";
    let out = client()
        .args(["-H", "-R", "-l0", "127.0.0.1", &server.port.to_string()])
        .args(sh(script))
        .run();
    out.assert_code(0);
    let lines: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].starts_with("socket:["), "{out:?}");
    assert_eq!(lines[0], lines[1]);
}

#[test]
fn program_exit_code_is_tcpclients() {
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .args(["-H", "-R", "-l0", "127.0.0.1", &server.port.to_string()])
        .args(sh("exit 7"))
        .run();
    out.assert(7, "", "");
}

#[test]
fn check53_unix_socket() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("s");
    let l = UnixListener::bind(&path).unwrap();
    let th = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(b"over unix\n").unwrap();
    });
    let out = client().arg(&path).args(sh("echo $PROTO; cat <&6")).run();
    out.assert(0, "UNIX\nover unix\n", "");
    th.join().unwrap();
}

// ----------------------------------------------------------------------------------------
// Client mode (no program)

#[test]
fn client_mode_relays_and_waits_for_the_reply() {
    // The server answers only after it has read everything: EOF on stdin half-closes.
    let server = Server::start(LOCALHOST, 0, |mut s: TcpStream| {
        let got = read_all(&mut s);
        let _ = s.write_all(b"got: ");
        let _ = s.write_all(&got);
    })
    .unwrap();
    let out = client()
        .args(["-H", "-R", "-l0", "127.0.0.1", &server.port.to_string()])
        .stdin("line one\nline two\n")
        .run();
    out.assert(0, "got: line one\nline two\n", "");
}

#[test]
fn client_mode_idle_timeout() {
    let server = Server::start(LOCALHOST, 0, |mut s: TcpStream| {
        let mut b = [0u8; 1];
        let _ = s.read(&mut b);
    })
    .unwrap();
    let r = client()
        .args([
            "-a",
            "1",
            "-H",
            "-R",
            "-l0",
            "127.0.0.1",
            &server.port.to_string(),
        ])
        .stdin_pipe()
        .spawn();
    let out = {
        // Keep stdin open and idle until tcpclient gives up.
        while !r.has_exited() {
            std::thread::sleep(Duration::from_millis(50));
        }
        r.wait()
    };
    out.assert(0, "", "tcpclient: translate returned non-zero: timed out\n");
}

// ----------------------------------------------------------------------------------------
// With a resolver (root: the fake DNS server needs port 53)

fn rewrite_none() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("rewrite");
    std::fs::write(&p, "").unwrap();
    (t, p)
}

#[test]
fn names_resolve_through_dnscacheip() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    let server_ip = unique_ip();
    let Some(server) = Server::start(IpAddr::V4(server_ip), 0, |mut s: TcpStream| {
        let _ = s.write_all(b"hi\n");
    }) else {
        return skip("cannot bind a 127.77/16 address");
    };
    dns.set(
        "mail.example",
        A,
        Answer::Records(vec![a(server_ip.octets())]),
    );
    let (_t, rules) = rewrite_none();
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .env("DNSREWRITEFILE", &rules)
        .args([
            "-v",
            "-H",
            "-R",
            "-l0",
            "mail.example",
            &server.port.to_string(),
        ])
        .args(sh("cat <&6"))
        .run();
    out.assert(
        0,
        "hi\n",
        &format!(
            "tcpclient: using un-encrypted connection\ntcpclient: trying  host mail.example ip {server_ip} port {p}\ntcpclient: connected to {server_ip} port {p}\n",
            p = server.port
        ),
    );
    let asked = dns.asked();
    assert!(asked.contains(&("mail.example".into(), AAAA)), "{asked:?}");
    assert!(asked.contains(&("mail.example".into(), A)), "{asked:?}");
}

#[test]
fn every_address_is_tried_and_reported() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    let (x, y) = (unique_ip(), unique_ip());
    dns.set(
        "two.example",
        A,
        Answer::Records(vec![a(x.octets()), a(y.octets())]),
    );
    let (_t, rules) = rewrite_none();
    let port = free_port();
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .env("DNSREWRITEFILE", &rules)
        .args(["two.example", &port.to_string(), "true"])
        .run();
    assert_eq!(out.code, Some(111), "{out:?}");
    let mut lines: Vec<String> = out.stderr_str().lines().map(str::to_string).collect();
    lines.sort();
    let mut want = vec![
        format!("tcpclient: unable to connect to host two.example ip {x} port {port}: connection refused"),
        format!("tcpclient: unable to connect to host two.example ip {y} port {port}: connection refused"),
    ];
    want.sort();
    assert_eq!(lines, want);
}

#[test]
fn qualification_with_search_domains() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    let server_ip = unique_ip();
    let Some(server) = Server::start(IpAddr::V4(server_ip), 0, |_s| {}) else {
        return skip("cannot bind a 127.77/16 address");
    };
    dns.set(
        "mail.second.example",
        A,
        Answer::Records(vec![a(server_ip.octets())]),
    );
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .env("DNSREWRITEFILE", "/nonexistent/dnsrewrite")
        .env("LOCALDOMAIN", "first.example second.example")
        .args([
            "-H",
            "-R",
            "-l0",
            "mail",
            &server.port.to_string(),
            "sh",
            "-c",
            "echo $TCPREMOTEIP",
        ])
        .run();
    out.assert(0, &format!("{server_ip}\n"), "");
    let asked: Vec<String> = dns.asked().into_iter().map(|(n, _)| n).collect();
    assert!(
        asked.contains(&"mail.first.example".to_string()),
        "{asked:?}"
    );
}

#[test]
fn missing_and_failing_names() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    dns.set("broken.example", A, Answer::Rcode(2));
    dns.set("broken.example", AAAA, Answer::Rcode(2));
    let (_t, rules) = rewrite_none();
    let run = |name: &str| {
        client()
            .env("DNSCACHEIP", dns.cache_ip())
            .env("DNSREWRITEFILE", &rules)
            .args([name, "25", "true"])
            .run()
    };
    run("nonexistent.example").assert(
        111,
        "",
        "tcpclient: fatal: no IP address for nonexistent.example\n",
    );
    run("broken.example").assert(
        111,
        "",
        "tcpclient: fatal: temporarily unable to figure out IP address for broken.example: temporary failure\n",
    );
}

#[test]
fn truncated_answers_are_asked_again_over_tcp() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    dns.truncate_udp(true);
    let server_ip = unique_ip();
    let Some(server) = Server::start(IpAddr::V4(server_ip), 0, |_s| {}) else {
        return skip("cannot bind a 127.77/16 address");
    };
    dns.set(
        "big.example",
        A,
        Answer::Records(vec![a(server_ip.octets())]),
    );
    let (_t, rules) = rewrite_none();
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .env("DNSREWRITEFILE", &rules)
        .args([
            "-H",
            "-R",
            "-l0",
            "big.example",
            &server.port.to_string(),
            "sh",
            "-c",
            "echo $TCPREMOTEIP",
        ])
        .run();
    out.assert(0, &format!("{server_ip}\n"), "");
}

#[test]
fn ptr_names_for_both_ends() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    let server_ip = unique_ip();
    let Some(server) = Server::start(IpAddr::V4(server_ip), 0, |_s| {}) else {
        return skip("cannot bind a 127.77/16 address");
    };
    let o = server_ip.octets();
    let rev = format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
    dns.set(&rev, PTR, Answer::Records(vec![ptr("Server.Example")]));
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .args([
            "-R",
            "-i",
            &server_ip.to_string(),
            &server_ip.to_string(),
            &server.port.to_string(),
        ])
        .args(sh("echo $TCPREMOTEHOST $TCPLOCALHOST"))
        .run();
    // Both ends have the same address here; names come back lowercase.
    out.assert(0, "server.example server.example\n", "");
}

#[test]
fn ident_lookup_sets_remoteinfo() {
    if !is_root() {
        return skip("the fake ident server needs port 113 (root)");
    }
    let ip = unique_ip();
    let Some(ident) = Server::start(IpAddr::V4(ip), 113, |mut s: TcpStream| {
        let mut q = [0u8; 64];
        let n = s.read(&mut q).unwrap_or(0);
        let q = String::from_utf8_lossy(&q[..n]).trim().to_string();
        let _ = write!(s, "{q} : USERID : UNIX : j o\te\r\n");
    }) else {
        return skip("cannot bind a 127.77/16 address");
    };
    let server = Server::start(IpAddr::V4(ip), 0, |_s| {}).unwrap();
    let out = client()
        .args(["-H", "-l0", &ip.to_string(), &server.port.to_string()])
        .args(sh("echo \"$TCPREMOTEINFO\""))
        .run();
    out.assert(0, "joe\n", "");
    drop(ident);
    // Without an ident server the variable is removed.
    let out = client()
        .env("TCPREMOTEINFO", "stale")
        .args(["-H", "-l0", &ip.to_string(), &server.port.to_string()])
        .args(sh("echo \"${TCPREMOTEINFO-unset}\""))
        .run();
    out.assert(0, "unset\n", "");
}

#[test]
fn names_that_start_like_addresses_are_names() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    let dns = FakeDns::start().expect("fake DNS");
    let server_ip = unique_ip();
    let Some(server) = Server::start(IpAddr::V4(server_ip), 0, |_s| {}) else {
        return skip("cannot bind a 127.77/16 address");
    };
    dns.set(
        "10.20.30.40.example",
        A,
        Answer::Records(vec![a(server_ip.octets())]),
    );
    let (_t, rules) = rewrite_none();
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .env("DNSREWRITEFILE", &rules)
        .args([
            "-H",
            "-R",
            "-l0",
            "10.20.30.40.example",
            &server.port.to_string(),
        ])
        .args(sh("echo $TCPREMOTEIP"))
        .run();
    out.assert(0, &format!("{server_ip}\n"), "");
}

#[test]
fn no_ptr_name_removes_the_variables() {
    if !is_root() {
        return skip("the fake DNS server needs port 53 (root)");
    }
    // The fake server answers NXDOMAIN for every PTR question.
    let dns = FakeDns::start().expect("fake DNS");
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .env("DNSCACHEIP", dns.cache_ip())
        .env("TCPREMOTEHOST", "stale")
        .env("TCPLOCALHOST", "stale")
        .args(["-R", "127.0.0.1", &server.port.to_string()])
        .args(sh("echo \"${TCPREMOTEHOST-unset} ${TCPLOCALHOST-unset}\""))
        .run();
    out.assert(0, "unset unset\n", "");
    assert!(
        dns.asked()
            .contains(&("1.0.0.127.in-addr.arpa".into(), PTR)),
        "{:?}",
        dns.asked()
    );
}

// ----------------------------------------------------------------------------------------
// Against our own tcpserver

/// Wait until `ready` holds (at most 10 s).
fn wait_for(mut ready: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("tcpserver did not come up");
}

#[test]
fn check53_with_tcpserver_on_a_unix_socket() {
    let t = tempfile::tempdir().unwrap();
    let sock = t.path().join("s");
    let pidfile = t.path().join("pid");
    let server = Cmd::bin("tcpserver")
        .clean_env()
        .arg("-e")
        .arg(&pidfile)
        .arg(&sock)
        .args(sh("echo PROTO=$PROTO UNIXLOCALPATH=$UNIXLOCALPATH"))
        .spawn();
    wait_for(|| std::os::unix::net::UnixStream::connect(&sock).is_ok());
    let out = client().arg(&sock).args(sh("echo $PROTO; cat <&6")).run();
    out.assert(
        0,
        &format!("UNIX\nPROTO=UNIX UNIXLOCALPATH={}\n", sock.display()),
        "",
    );
    drop(server);
}

#[test]
fn with_tcpserver_over_tcp() {
    let port = free_port();
    let server = Cmd::bin("tcpserver")
        .clean_env()
        .args(["-H", "-R", "-l", "L", "127.0.0.1", &port.to_string()])
        .args(sh("echo $TCPREMOTEIP:$TCPREMOTEPORT; head -n 1"))
        .spawn();
    wait_for(|| TcpStream::connect(("127.0.0.1", port)).is_ok());
    let out = client()
        .args(["-H", "-R", "-l0", "127.0.0.1", &port.to_string()])
        .args(sh("echo through >&7; echo local $TCPLOCALPORT; cat <&6"))
        .run();
    out.assert_code(0);
    let lines: Vec<&str> = out
        .stdout
        .split(|&c| c == b'\n')
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    let local = lines[0].strip_prefix("local ").unwrap();
    assert_eq!(lines[1], format!("127.0.0.1:{local}"), "{out:?}");
    assert_eq!(lines[2], "through", "{out:?}");
    drop(server);
}

#[test]
fn getaddrinfo_reads_etc_hosts() {
    // /etc/hosts maps localhost on every Debian system; nothing asks DNS.
    let (server, _rx) = greeter(LOCALHOST, b"");
    let out = client()
        .args([
            "-e",
            "-4",
            "-H",
            "-R",
            "-l0",
            "localhost",
            &server.port.to_string(),
        ])
        .args(sh("echo $TCPREMOTEIP"))
        .run();
    out.assert(0, "127.0.0.1\n", "");
}

#[test]
fn interface_scope_is_accepted() {
    let Some(server) = Server::start(IpAddr::V6(Ipv6Addr::LOCALHOST), 0, |_s| {}) else {
        return skip("no IPv6 loopback");
    };
    let out = client()
        .args([
            "-I",
            "lo",
            "-H",
            "-R",
            "-l0",
            "::1",
            &server.port.to_string(),
        ])
        .args(sh("echo $TCPREMOTEIP"))
        .run();
    out.assert(0, "::1\n", "");
}
