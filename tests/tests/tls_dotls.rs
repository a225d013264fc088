//! Black-box tests of dotls (docs/ucspi-tcp.md#dotls, checks 57-58 of #acceptance-checks, docs/decisions.md#u10, #u14): behind
//! our tcpserver, with `openssl s_client` as the TLS peer and small shell daemons that
//! know nothing of TLS in front of it: immediate TLS, STARTTLS for smtp, pop3 and imap,
//! pipelined commands, the NOTLS bypass, a failed handshake that never starts the
//! program, a client stalled in the handshake.

mod tls_support;

use blackbox::{skip, Cmd};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;
use tls_support::{openssl_available, s_client, script, tmp, Pki, Server};

const SMTPD: &str = r#"#!/bin/sh
printf '220 fake ESMTP\r\n'
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  printf '%s\n' "$line" >> seen
  case $(printf '%s' "$line" | cut -d' ' -f1 | tr a-z A-Z) in
    EHLO) printf '250-fake\r\n250-PIPELINING\r\n250 8BITMIME\r\n';;
    QUIT) printf '221 bye [%s]\r\n' "$TLS_PROVIDER"; exit 0;;
    *) printf '250 ok %s [%s]\r\n' "$line" "$TLS_PROVIDER";;
  esac
done
"#;

const POP3D: &str = r#"#!/bin/sh
printf '+OK fake pop3\r\n'
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  case $(printf '%s' "$line" | cut -d' ' -f1 | tr a-z A-Z) in
    CAPA) printf '+OK caps\r\nUSER\r\n.\r\n';;
    QUIT) printf '+OK bye [%s]\r\n' "$TLS_PROVIDER"; exit 0;;
    *) printf '+OK %s\r\n' "$line";;
  esac
done
"#;

const IMAPD: &str = r#"#!/bin/sh
printf '* OK [CAPABILITY IMAP4rev1 IDLE] fake\r\n'
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  set -- $line
  case $(printf '%s' "$2" | tr a-z A-Z) in
    CAPABILITY) printf '* CAPABILITY IMAP4rev1 IDLE\r\n%s OK done\r\n' "$1";;
    LOGOUT) printf '* BYE\r\n%s OK bye [%s]\r\n' "$1" "$TLS_PROVIDER"; exit 0;;
    *) printf '%s OK %s done\r\n' "$1" "$2";;
  esac
done
"#;

const PRINT: &str = "#!/bin/sh\necho \"TLS_PROVIDER=$TLS_PROVIDER\"\necho \"TLS_CLIENT_VERIFY=$TLS_CLIENT_VERIFY\"\n: > \"${0%/*}/started\"\nread line\necho \"got $line\"\n";

fn ready() -> bool {
    if !openssl_available() {
        skip("openssl is not installed");
        return false;
    }
    true
}

/// tcpserver running dotls with `dotls_args` in front of `prog`.
fn serve(dir: &Path, dotls_args: &[&str], prog: &str, env: &[(&str, &str)]) -> Server {
    let mut args = vec!["-1", "-v", "-H", "-R", "-l", "L", "127.0.0.1", "0", "dotls"];
    args.extend_from_slice(dotls_args);
    args.push(prog);
    let certdir = dir.to_string_lossy().into_owned();
    let mut all = vec![("CERTDIR", certdir.as_str())];
    all.extend_from_slice(env);
    Server::start(dir, &args, &all)
}

/// Read CRLF replies until one starts with `code ` (an SMTP final line).
fn smtp_until(r: &mut impl BufRead, code: &str) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "closed after {all:?}");
        all.push_str(&line);
        if line.starts_with(&format!("{code} ")) {
            return all;
        }
    }
}

#[test]
fn immediate_tls_13_and_12_program_sees_plaintext() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "print", PRINT);
    let srv = serve(t.path(), &["-v", "-z"], &prog, &[]);
    let out = s_client(srv.port, &["-quiet"], b"hello\n");
    let text = out.stdout_str();
    assert!(
        text.contains(
            "TLS_PROVIDER=dotls, TLS Server=TLSv1.3, Client=TLSv1.3, Ciphers=TLS_AES_256_GCM_SHA384\n"
        ),
        "{out:?}"
    );
    assert!(
        text.contains("TLS_CLIENT_VERIFY=NONE\n") && text.contains("got hello\n"),
        "{out:?}"
    );
    let out = s_client(srv.port, &["-quiet", "-tls1_2"], b"again\n");
    assert!(
        out.stdout_str().contains(
            "TLS_PROVIDER=dotls, TLS Server=TLSv1.3, Client=TLSv1.2, Ciphers=ECDHE-ECDSA-AES256-GCM-SHA384\n"
        ),
        "{out:?}"
    );
    let log = srv.wait_log("exiting...");
    assert!(log.contains("dotls: pid "), "{log}");
    assert!(log.contains(" from 127.0.0.1 TLS Server=TLSv1.3, Client=TLSv1.3, Ciphers=TLS_AES_256_GCM_SHA384, bits=256\n"), "{log}");
}

#[test]
fn without_z_the_provider_is_the_bare_name() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "print", PRINT);
    let srv = serve(t.path(), &[], &prog, &[]);
    let out = s_client(srv.port, &["-quiet"], b"x\n");
    assert!(
        out.stdout_str().contains("TLS_PROVIDER=dotls, \n"),
        "{out:?}"
    );
}

#[test]
fn check57_smtp_starttls_advertised_before_the_last_line() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "smtpd", SMTPD);
    let srv = serve(t.path(), &["-s", "smtp"], &prog, &[]);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(smtp_until(&mut r, "220"), "220 fake ESMTP\r\n");
    s.write_all(b"EHLO me\r\n").unwrap();
    assert_eq!(
        smtp_until(&mut r, "250"),
        "250-fake\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
    );
    s.write_all(b"NOOP\r\n").unwrap();
    assert_eq!(
        smtp_until(&mut r, "250"),
        "250 ok NOOP [dotls, starttls]\r\n"
    );
    s.write_all(b"QUIT\r\n").unwrap();
    assert_eq!(smtp_until(&mut r, "221"), "221 bye [dotls, starttls]\r\n");
}

#[test]
fn pipelined_commands_are_answered_without_more_input() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "smtpd", SMTPD);
    let srv = serve(t.path(), &["-s", "smtp", "-D", "30"], &prog, &[]);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    smtp_until(&mut r, "220");
    // One packet: an intercepted command and two after it; nothing more is sent.
    s.write_all(b"EHLO me\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")
        .unwrap();
    smtp_until(&mut r, "250");
    assert_eq!(
        smtp_until(&mut r, "250"),
        "250 ok MAIL FROM:<a@b> [dotls, starttls]\r\n"
    );
    assert_eq!(
        smtp_until(&mut r, "250"),
        "250 ok RCPT TO:<c@d> [dotls, starttls]\r\n"
    );
}

#[test]
fn check58_openssl_starttls_smtp_then_the_program_sees_commands() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "smtpd", SMTPD);
    let srv = serve(t.path(), &["-v", "-s", "smtp"], &prog, &[]);
    let out = s_client(
        srv.port,
        &["-quiet", "-starttls", "smtp"],
        b"EHLO again\r\nNOOP secret\r\nQUIT\r\n",
    );
    let text = out.stdout_str();
    assert!(
        text.contains("250 ok NOOP secret [dotls, starttls]\r\n"),
        "{out:?}"
    );
    assert!(text.contains("221 bye [dotls, starttls]\r\n"), "{out:?}");
    // After TLS nothing is intercepted: the program's own EHLO reply, no STARTTLS.
    assert!(!text.contains("250-STARTTLS"), "{out:?}");
    srv.wait_log("exiting...");
    let seen = std::fs::read_to_string(t.path().join("seen")).unwrap();
    // openssl's EHLO before STARTTLS, then the commands sent over TLS; never STARTTLS.
    assert!(
        seen.ends_with("EHLO again\nNOOP secret\nQUIT\n"),
        "{seen:?}"
    );
    assert!(!seen.to_ascii_uppercase().contains("STARTTLS"), "{seen:?}");
}

#[test]
fn openssl_starttls_pop3() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "pop3d", POP3D);
    let srv = serve(t.path(), &["-s", "pop3"], &prog, &[]);
    let out = s_client(
        srv.port,
        &["-quiet", "-starttls", "pop3"],
        b"STAT\r\nQUIT\r\n",
    );
    let text = out.stdout_str();
    assert!(text.contains("+OK STAT\r\n"), "{out:?}");
    assert!(text.contains("+OK bye [dotls, starttls]\r\n"), "{out:?}");
    // CAPA in clear lists STLS.
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"CAPA\r\nQUIT\r\n").unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(
        got,
        "+OK fake pop3\r\n+OK caps\r\nUSER\r\nSTLS\r\n.\r\n+OK bye [dotls, starttls]\r\n"
    );
}

#[test]
fn openssl_starttls_imap_works() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "imapd", IMAPD);
    let srv = serve(t.path(), &["-s", "imap"], &prog, &[]);
    let out = s_client(
        srv.port,
        &["-quiet", "-starttls", "imap"],
        b"a1 NOOP\r\na2 LOGOUT\r\n",
    );
    let text = out.stdout_str();
    assert!(text.contains("a1 OK NOOP done\r\n"), "{out:?}");
    assert!(text.contains("a2 OK bye [dotls, starttls]\r\n"), "{out:?}");
    // In clear, capabilities list STARTTLS, in the greeting too.
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"c1 CAPABILITY\r\nc2 LOGOUT\r\n").unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(
        got,
        "* OK [CAPABILITY IMAP4rev1 IDLE STARTTLS] fake\r\n* CAPABILITY IMAP4rev1 IDLE STARTTLS\r\n\
         c1 OK done\r\n* BYE\r\nc2 OK bye [dotls, starttls]\r\n"
    );
}

#[test]
fn notls_from_the_rules_runs_the_program_in_clear() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "print", PRINT);
    Cmd::bin("tcprules")
        .cwd(t.path())
        .args(["r.cdb", "r.tmp"])
        .stdin("127.0.0.1:allow,NOTLS=\"\"\n")
        .run()
        .assert(0, "", "");
    let certdir = t.path().to_string_lossy().into_owned();
    let srv = Server::start(
        t.path(),
        &[
            "-1",
            "-H",
            "-R",
            "-x",
            "r.cdb",
            "127.0.0.1",
            "0",
            "dotls",
            &prog,
        ],
        &[("CERTDIR", &certdir)],
    );
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"plain\n").unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "TLS_PROVIDER=\nTLS_CLIENT_VERIFY=\ngot plain\n");
}

#[test]
fn a_failed_handshake_never_starts_the_program() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "print", PRINT);
    let srv = serve(t.path(), &[], &prog, &[]);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let log = srv.wait_log("status 111");
    assert!(log.contains("SSL_accept: "), "{log}");
    assert!(
        log.contains("dotls: fatal: unable to accept SSL connection\n"),
        "{log}"
    );
    assert!(!t.path().join("started").exists());
}

#[test]
fn a_client_stalled_in_the_handshake_costs_one_child() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "print", PRINT);
    let srv = serve(t.path(), &["-t", "2"], &prog, &[]);
    // Half a ClientHello record header, then nothing.
    let mut stalled = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01]).unwrap();
    // Others are served meanwhile.
    let out = s_client(srv.port, &["-quiet"], b"meanwhile\n");
    assert!(out.stdout_str().contains("got meanwhile\n"), "{out:?}");
    // The stalled one is dropped at the handshake timeout.
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let _ = stalled.read_to_end(&mut got);
    let log = srv.wait_log("unable to accept SSL connection");
    assert!(log.contains("SSL_accept: timed out\n"), "{log}");
}

#[test]
fn usage_and_bad_certificates() {
    let out = Cmd::bin("dotls").run();
    assert_eq!(out.code, Some(100), "{out:?}");
    assert!(
        out.stderr_str().starts_with("usage: dotls [ -qQvNCTz ]"),
        "{out:?}"
    );
    let out = Cmd::bin("dotls").args(["-s", "ftp", "true"]).run();
    assert_eq!(out.code, Some(100), "{out:?}");
    let t = tmp();
    let out = Cmd::bin("dotls").env("CERTDIR", t.path()).arg("true").run();
    out.assert(
        111,
        "",
        &format!(
            "unable to load CA certificate: {}/servercert.pem: file does not exist\n\
             dotls: fatal: unable to initialize TLS\n",
            t.path().display()
        ),
    );
}
