//! Black-box suite for the PROXY protocol (issue 16 point 4): tcpserver behind a real
//! HAProxy (`send-proxy`, `send-proxy-v2`), TLS after the header, headers from peers the
//! rules do not trust (data, never read), malformed and cut headers (v1 and v2), a slow
//! header, `-C` counted per real client, and tcpclient `-P` as the sender.
//!
//! Addresses: 127.0.0.3 is the balancer the rules trust, 127.0.0.1 and 127.0.0.2 are
//! clients, 127.0.0.4 a stranger. Everything listens on 127.0.0.1.

mod net_support;
mod tcpclient_support;
mod tls_support;

use blackbox::{test_path, Cmd};
use net_support::{connect_from, read_all, read_until, rules, Haproxy};
use std::io::Write;
use std::net::Shutdown;
use std::path::Path;
use tls_support::{openssl_available, s_client, script, tmp, Pki, Server};

const RULES: &str = "127.0.0.3:allow,PROXY_PROTOCOL=\"\"\n\
127.0.0.5:deny,PROXY_PROTOCOL=\"\"\n\
127.0.0.2:allow,WHO=\"two\"\n\
127.0.0.1:allow,WHO=\"one\"\n\
:allow,WHO=\"other\"\n";

/// The program: the connection's variables, READY, then the first 16 bytes of its input
/// in hex (what reached the program, header or not).
fn program(dir: &Path) -> String {
    script(
        dir,
        "print",
        "#!/bin/sh\nenv | grep -E '^(TCP|WHO|PROXY_PROTOCOL|TLS_PROVIDER)' | sort\necho READY\n\
         head -c 16 | od -An -tx1 | tr -d ' \\n'; echo\n",
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// tcpserver -v with the rules and `extra` options, on 127.0.0.1.
fn server(dir: &Path, rules_text: &str, extra: &[&str]) -> Server {
    let r = rules(dir, rules_text);
    let prog = program(dir);
    let mut args = vec!["-v", "-1", "-HR", "-l0", "-x", &r];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0", &prog]);
    Server::start(dir, &args, &[])
}

/// Connect from `src` to `port`, send 16 bytes, and read what the program says.
fn exchange(src: [u8; 4], port: u16, data: &[u8]) -> (String, u16) {
    let mut s = connect_from(src, port);
    let mine = s.local_addr().unwrap().port();
    s.write_all(data).unwrap();
    (read_all(&mut s), mine)
}

const DATA: &[u8; 16] = b"0123456789abcdef";

#[test]
fn haproxy_send_proxy_v1_and_v2_give_the_real_client() {
    let d = tmp();
    let srv = server(d.path(), RULES, &[]);
    let ha = Haproxy::start(
        d.path(),
        srv.port,
        "127.0.0.3",
        &["send-proxy", "send-proxy-v2"],
    );
    for (version, port) in [(1, ha.ports[0]), (2, ha.ports[1])] {
        let (out, mine) = exchange([127, 0, 0, 2], port, DATA);
        let want = format!(
            "TCPLOCALHOST=0\nTCPLOCALIP=127.0.0.1\nTCPLOCALPORT={port}\nTCPREMOTEIP=127.0.0.2\n\
             TCPREMOTEPORT={mine}\nWHO=two\nREADY\n{}\n",
            hex(DATA)
        );
        assert_eq!(out, want, "v{version}");
        let log = srv.wait_log(&format!("[127.0.0.2]:{mine}:maxperip=20"));
        assert!(
            log.contains(&format!(
                " from 127.0.0.3 v{version} 127.0.0.2:{mine} to 127.0.0.1:{port}\n"
            )),
            "{log}"
        );
        assert!(log.contains("un-encrypted session, pid="), "{log}");
        assert!(log.contains(", IP 127.0.0.2\n"), "{log}");
    }
}

#[test]
fn tls_starts_after_the_header() {
    if !openssl_available() {
        return blackbox::skip("openssl is not installed");
    }
    let d = tmp();
    let pki = Pki::new(d.path());
    pki.server("server.pem", "localhost", &["localhost"]);
    let cert = pki.path("server.pem");
    let srv = server(d.path(), RULES, &["-n", &cert]);
    let ha = Haproxy::start(d.path(), srv.port, "127.0.0.3", &["send-proxy-v2"]);
    let out = s_client(ha.ports[0], &["-quiet"], DATA);
    let text = out.stdout_str();
    assert!(text.contains("TCPREMOTEIP=127.0.0.1\n"), "{out:?}");
    assert!(
        text.contains("WHO=one\n") && text.contains("TLS_PROVIDER="),
        "{out:?}"
    );
    assert!(!text.contains("PROXY_PROTOCOL"), "{out:?}");
    assert!(text.contains(&hex(DATA)), "{out:?}");
    srv.wait_log("encrypted session");
}

#[test]
fn a_header_from_an_untrusted_peer_is_data() {
    let d = tmp();
    let srv = server(d.path(), RULES, &[]);
    // By hand, v1.
    let header = b"PROXY TCP4 9.9.9.9 1.1.1.1 1 2\r\n";
    let (out, mine) = exchange([127, 0, 0, 4], srv.port, header);
    assert!(
        out.contains("TCPREMOTEIP=127.0.0.4\n") && out.contains("WHO=other\n"),
        "{out}"
    );
    assert!(out.contains(&format!("TCPREMOTEPORT={mine}\n")), "{out}");
    assert!(
        out.ends_with(&format!("READY\n{}\n", hex(&header[..16]))),
        "{out}"
    );
    // tcpclient -P 2 claiming another client from an untrusted address.
    let out = Cmd::bin("tcpclient")
        .env("PATH", test_path())
        .env("TCPREMOTEIP", "9.9.9.9")
        .env("TCPREMOTEPORT", "1")
        .env("TCPLOCALIP", "1.1.1.1")
        .env("TCPLOCALPORT", "25")
        .args([
            "-HR",
            "-i",
            "127.0.0.4",
            "-P",
            "2",
            "127.0.0.1",
            &srv.port.to_string(),
        ])
        .args(["sh", "-c", "cat <&6"])
        .run();
    let text = out.stdout_str();
    assert!(text.contains("TCPREMOTEIP=127.0.0.4\n"), "{out:?}");
    assert!(
        text.ends_with("READY\n0d0a0d0a000d0a515549540a2111000c\n"),
        "{out:?}"
    );
    // A balancer the rules deny is denied; its header is never read.
    let (out, _) = exchange([127, 0, 0, 5], srv.port, header);
    assert_eq!(out, "");
    let log = srv.wait_log("deny ");
    assert!(
        !log.contains("PROXY header") && !log.contains(" v1 "),
        "{log}"
    );
}

#[test]
fn tcpclient_sends_both_versions_to_a_trusting_server() {
    let d = tmp();
    let srv = server(d.path(), RULES, &[]);
    for v in ["1", "2"] {
        let out = Cmd::bin("tcpclient")
            .env("PATH", test_path())
            .env("TCPREMOTEIP", "192.0.2.7")
            .env("TCPREMOTEPORT", "4455")
            .env("TCPLOCALIP", "192.0.2.1")
            .env("TCPLOCALPORT", "25")
            .args([
                "-HR",
                "-i",
                "127.0.0.3",
                "-P",
                v,
                "127.0.0.1",
                &srv.port.to_string(),
            ])
            .args(["sh", "-c", "printf 0123456789abcdef >&7; cat <&6"])
            .run();
        assert_eq!(
            out.stdout_str(),
            format!(
                "TCPLOCALHOST=0\nTCPLOCALIP=192.0.2.1\nTCPLOCALPORT=25\nTCPREMOTEIP=192.0.2.7\n\
                 TCPREMOTEPORT=4455\nWHO=other\nREADY\n{}\n",
                hex(DATA)
            ),
            "v{v}: {out:?}"
        );
    }
    // Outside a UCSPI server, tcpclient names its own connection.
    let out = Cmd::bin("tcpclient")
        .env("PATH", test_path())
        .args([
            "-HR",
            "-i",
            "127.0.0.3",
            "-P",
            "1",
            "127.0.0.1",
            &srv.port.to_string(),
        ])
        .args(["sh", "-c", "printf 0123456789abcdef >&7; cat <&6"])
        .run();
    let text = out.stdout_str();
    assert!(
        text.contains("TCPREMOTEIP=127.0.0.3\nTCPREMOTEPORT="),
        "{out:?}"
    );
    assert!(text.contains("PROXY_PROTOCOL=\n"), "{out:?}");
    assert!(
        text.contains(&format!("TCPLOCALPORT={}\n", srv.port)),
        "{out:?}"
    );
    Cmd::bin("tcpclient")
        .args(["-P", "3", "127.0.0.1", "1", "true"])
        .run()
        .assert_code(100);
}

/// A version 2 header for 1.2.3.4:1 -> 5.6.7.8:2 (PROXY, TCP over IPv4).
fn v2() -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    h.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]);
    h
}

#[test]
fn malformed_headers_from_the_balancer_are_refused() {
    let d = tmp();
    let srv = server(d.path(), RULES, &[]);
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.resize(130, b'x');
    let patch = |at: usize, b: u8| {
        let mut h = v2();
        h[at] = b;
        h
    };
    let mut cut = v2();
    cut.truncate(20);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"GET / HTTP/1.0\r\n\r\n".to_vec(), "no PROXY signature"),
        (
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
            "version 1 family unknown",
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n".to_vec(),
            "version 1 port is not a number from 0 to 65535",
        ),
        (
            b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n".to_vec(),
            "version 1 address is not IPv4",
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n".to_vec(),
            "version 1 line not ended by CRLF",
        ),
        (long, "version 1 line too long"),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2".to_vec(),
            "connection closed",
        ),
        (patch(12, 0x31), "version 2 signature with another version"),
        (patch(12, 0x2f), "version 2 command unknown"),
        (patch(13, 0x41), "version 2 family or transport unknown"),
        (patch(15, 4), "version 2 IPv4 addresses cut short"),
        (cut, "connection closed"),
    ];
    for (i, (bytes, why)) in cases.iter().enumerate() {
        let mut s = connect_from([127, 0, 0, 3], srv.port);
        s.write_all(bytes).unwrap();
        let _ = s.shutdown(Shutdown::Write);
        assert_eq!(read_all(&mut s), "", "case {i}: the program must not run");
        srv.wait_log(&format!("bad PROXY header from 127.0.0.3: {why}"));
    }
    // Fuzz-ish: a fixed sequence of random tails after each signature; whatever the
    // verdict, the program never runs with the balancer's bytes as a client.
    let mut seed: u32 = 0x1600_0004;
    let mut next = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (seed >> 16) as u8
    };
    for i in 0..24 {
        let mut bytes = if i % 2 == 0 {
            v2()[..13].to_vec()
        } else {
            b"PROXY ".to_vec()
        };
        let n = 3 + usize::from(next()) % 40;
        bytes.extend((0..n).map(|_| next()));
        let mut s = connect_from([127, 0, 0, 3], srv.port);
        s.write_all(&bytes).unwrap();
        let _ = s.shutdown(Shutdown::Write);
        let out = read_all(&mut s);
        assert!(!out.contains("TCPREMOTEIP=127.0.0.3"), "fuzz {i}: {out}");
    }
    // The address-less forms: the balancer stands for itself, with its own rule.
    for local in [
        b"PROXY UNKNOWN\r\n".to_vec(),
        b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".to_vec(),
    ] {
        let mut bytes = local.clone();
        bytes.extend_from_slice(DATA);
        let (out, _) = exchange([127, 0, 0, 3], srv.port, &bytes);
        assert!(
            out.contains("TCPREMOTEIP=127.0.0.3\n") && out.contains("PROXY_PROTOCOL=\n"),
            "{out}"
        );
        assert!(out.ends_with(&format!("READY\n{}\n", hex(DATA))), "{out}");
    }
    srv.wait_log("v2 local");
}

#[test]
fn a_slow_header_times_out() {
    let d = tmp();
    let srv = server(d.path(), "127.0.0.3:allow,PROXY_PROTOCOL=\"1\"\n", &[]);
    let mut s = connect_from([127, 0, 0, 3], srv.port);
    s.write_all(b"PROXY TCP4 1.2.").unwrap();
    // The server gives up and closes; the program never ran.
    assert_eq!(read_all(&mut s), "");
    srv.wait_log("bad PROXY header from 127.0.0.3: timed out");
}

#[test]
fn per_host_limits_count_real_clients_behind_the_balancer() {
    let d = tmp();
    let srv = server(d.path(), RULES, &["-C", "1"]);
    let ha = Haproxy::start(d.path(), srv.port, "127.0.0.3", &["send-proxy-v2"]);
    let front = ha.ports[0];
    // A client holds its connection open.
    let mut first = connect_from([127, 0, 0, 2], front);
    assert!(read_until(&mut first, "READY").contains("TCPREMOTEIP=127.0.0.2\n"));
    // The balancer itself has a connection whose header has not arrived yet, so its own
    // address is at the -C limit: it must still not be refused as one client.
    let mut pending = connect_from([127, 0, 0, 3], srv.port);
    pending.write_all(b"PROXY ").unwrap();
    // The same client again: refused, as it would be when connecting directly.
    let mut second = connect_from([127, 0, 0, 2], front);
    assert_eq!(read_all(&mut second), "");
    srv.wait_log("end 127.0.0.2 perIPlimit 1");
    // Another client through the same balancer is served.
    let mut third = connect_from([127, 0, 0, 1], front);
    assert!(read_until(&mut third, "READY").contains("TCPREMOTEIP=127.0.0.1\n"));
    assert!(
        !srv.log_text().contains("end 127.0.0.3 perIPlimit"),
        "{}",
        srv.log_text()
    );
    drop((first, pending, third));
}
