//! Black-box tests of tcpserver's TLS (docs/ucspi-tcp.md#tls-in-tcpserver, checks 42-47 of #acceptance-checks, docs/decisions.md#u9 to #u11)
//! with `openssl s_client` as the real peer: TLS 1.3 and 1.2, what the program sees,
//! the log lines, the idle timeout, every startup error, SNI, certificate reload on
//! SIGHUP and on file change (open connections keep going), client certificates
//! (optional and mandatory: missing, expired, untrusted, revoked), a stalled handshake,
//! no renegotiation, and tcpclient against it with verification on and off.

mod tls_support;

use blackbox::{is_root, skip, Cmd, Output};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use tls_support::{openssl_available, s_client, script, tmp, Pki, Server, PATIENCE};

/// The program: what TLS told it, then one line echoed.
const PRINT: &str = "#!/bin/sh\necho \"TLS_PROVIDER=$TLS_PROVIDER\"\n\
echo \"TLS_CLIENT_VERIFY=$TLS_CLIENT_VERIFY\"\necho \"TLS_CLIENT_DN=$TLS_CLIENT_DN\"\n\
: > \"${0%/*}/started\"\nread line\necho \"got $line\"\n";

fn ready() -> bool {
    if !openssl_available() {
        skip("openssl is not installed");
        return false;
    }
    true
}

/// tcpserver -n servercert.pem (in `dir`, the certificate directory) with `args` first.
fn serve(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    serve_with(dir, args, env, "print", PRINT)
}

/// As [`serve`], with the program `name` whose script is `body`.
fn serve_with(dir: &Path, args: &[&str], env: &[(&str, &str)], name: &str, body: &str) -> Server {
    let prog = script(dir, name, body);
    let mut all = vec!["-1", "-v", "-H", "-R", "-l", "L"];
    all.extend_from_slice(args);
    all.extend(["127.0.0.1", "0", &prog]);
    let certdir = dir.to_string_lossy().into_owned();
    let mut e = vec![("CERTDIR", certdir.as_str())];
    e.extend_from_slice(env);
    Server::start(dir, &all, &e)
}

/// tcpserver's startup with `args` (program `true`): its exit and messages.
fn startup(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Cmd::bin("tcpserver")
        .env("CERTDIR", dir)
        .cwd(dir)
        .args(args)
        .args(["127.0.0.1", "0", "true"]);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.timeout(Duration::from_secs(20)).run()
}

/// The subject s_client reports for the certificate it was served.
fn served_subject(port: u16, extra: &[&str]) -> String {
    let out = s_client(port, extra, b"x\n");
    out.stdout_str()
        .lines()
        .find_map(|l| l.strip_prefix("subject="))
        .unwrap_or_else(|| panic!("no subject: {out:?}"))
        .to_string()
}

#[test]
fn check42_tls13_with_z_the_program_sees_plaintext_and_details() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-z", "-n", ""], &[]);
    let out = s_client(srv.port, &["-quiet"], b"hello\n");
    assert_eq!(
        out.stdout_str(),
        "TLS_PROVIDER=tcpserver, TLS Server=TLSv1.3, Client=TLSv1.3, \
         Ciphers=TLS_AES_256_GCM_SHA384, bits=256\nTLS_CLIENT_VERIFY=NONE\nTLS_CLIENT_DN=\n\
         got hello\n",
        "{out:?}"
    );
    let log = srv.wait_log("sigchild");
    assert!(
        log.contains("tcpserver: status: 0/40 startup, pid="),
        "{log}"
    );
    assert!(log.contains(", TLS=enabled, use sql=NO\n"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("encrypted session"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.starts_with("tcpserver: status: 1/40 encrypted session, sslpid="),
        "{line}"
    );
    assert!(
        line.ends_with(
            ", IP 127.0.0.1, TLS Server=TLSv1.3, Client=TLSv1.3, \
             Ciphers=TLS_AES_256_GCM_SHA384, bits=256"
        ),
        "{line}"
    );
    assert!(line.contains(", childpid="), "{line}");
}

#[test]
fn check43_without_z_and_tls12() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-s"], &[]);
    let out = s_client(srv.port, &["-quiet"], b"a\n");
    assert!(
        out.stdout_str().starts_with("TLS_PROVIDER=tcpserver, \n"),
        "{out:?}"
    );
    let out = s_client(srv.port, &["-quiet", "-tls1_2"], b"b\n");
    assert!(out.stdout_str().contains("got b\n"), "{out:?}");
    let log = srv.wait_log("Client=TLSv1.2");
    assert!(
        log.contains(
            "TLS Server=TLSv1.3, Client=TLSv1.2, Ciphers=ECDHE-ECDSA-AES256-GCM-SHA384, bits=256\n"
        ),
        "{log}"
    );
    // -M TLSv1_2 caps the version; a TLS 1.3-only client is refused.
    let srv = serve(t.path(), &["-s", "-z", "-M", "TLSv1_2"], &[]);
    let out = s_client(srv.port, &["-quiet"], b"c\n");
    assert!(
        out.stdout_str()
            .starts_with("TLS_PROVIDER=tcpserver, TLS Server=TLSv1.2, Client=TLSv1.2"),
        "{out:?}"
    );
    let out = s_client(srv.port, &["-quiet", "-tls1_3"], b"d\n");
    assert!(!out.stdout_str().contains("got d"), "{out:?}");
    // A TLS 1.3 suite chosen by name.
    let srv = serve(
        t.path(),
        &["-s", "-z"],
        &[("TLS_CIPHER_SUITE", "TLS_CHACHA20_POLY1305_SHA256")],
    );
    let out = s_client(srv.port, &["-quiet"], b"e\n");
    assert!(
        out.stdout_str()
            .contains("Ciphers=TLS_CHACHA20_POLY1305_SHA256, bits=256\n"),
        "{out:?}"
    );
}

#[test]
fn check44_idle_timeout_closes_the_connection() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-s", "-T", "2"], &[]);
    let mut client = Cmd::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{}", srv.port),
        ])
        .stdin_pipe()
        .timeout(Duration::from_secs(30))
        .spawn();
    let log = srv.wait_log("timeout reached without output from child");
    assert!(
        log.contains("timeout reached without input from network\n"),
        "{log}"
    );
    client.close_stdin();
    let out = client.wait();
    assert!(
        out.stdout_str().starts_with("TLS_PROVIDER=tcpserver, \n"),
        "{out:?}"
    );
    assert!(!out.stdout_str().contains("got"), "{out:?}");
}

#[test]
fn check45_and_every_startup_error() {
    let t = tmp();
    let pki = Pki::new(t.path());
    let out = startup(t.path(), &["-n", "/nonexistent.pem"], &[]);
    out.assert(
        111,
        "",
        "unable to load CA certificate: /nonexistent.pem: file does not exist\n\
         tcpserver: fatal: unable to initialize TLS\n",
    );
    // -s in an empty certificate directory.
    let empty = tmp();
    let out = startup(empty.path(), &["-s"], &[]);
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(
        out.stderr_str()
            .contains("/servercert.pem: file does not exist\n"),
        "{out:?}"
    );
    // A key that belongs to another certificate.
    let a = pki.server("a.pem", "a", &["a"]);
    let b = pki.server("b.pem", "b", &["b"]);
    let cert_a = &a[..a.find("-----BEGIN PRIVATE KEY").unwrap()];
    let key_b = &b[b.find("-----BEGIN PRIVATE KEY").unwrap()..];
    fs::write(t.path().join("mismatch.pem"), format!("{cert_a}{key_b}")).unwrap();
    let out = startup(t.path(), &["-n", "mismatch.pem"], &[]);
    out.assert(
        111,
        "",
        &format!(
            "certificate and private key do not match: {}/mismatch.pem\n\
             tcpserver: fatal: unable to initialize TLS\n",
            t.path().display()
        ),
    );
    // No key, malformed PEM, an empty file.
    fs::write(t.path().join("nokey.pem"), cert_a).unwrap();
    let out = startup(t.path(), &["-n", "nokey.pem"], &[]);
    assert!(
        out.stderr_str()
            .contains("nokey.pem: no private key in file\n"),
        "{out:?}"
    );
    assert_eq!(out.code, Some(111));
    fs::write(
        t.path().join("bad.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = startup(t.path(), &["-n", "bad.pem"], &[]);
    assert!(
        out.stderr_str().contains("bad.pem: malformed PEM"),
        "{out:?}"
    );
    assert_eq!(out.code, Some(111));
    fs::write(t.path().join("empty.pem"), "").unwrap();
    let out = startup(t.path(), &["-n", "empty.pem"], &[]);
    assert!(
        out.stderr_str()
            .contains("empty.pem: no certificate in file\n"),
        "{out:?}"
    );
    // Unknown ciphers: a -f file, the environment.
    fs::write(
        t.path().join("ciphers"),
        "TLS_AES_256_GCM_SHA384:TLS_NO_SUCH\n",
    )
    .unwrap();
    let out = startup(t.path(), &["-s", "-f", "ciphers"], &[]);
    assert_eq!(out.code, Some(111), "{out:?}");
    let err = out.stderr_str();
    assert!(
        err.contains("tls_cipher: unknown cipher TLS_NO_SUCH in "),
        "{err}"
    );
    assert!(
        err.contains("tls_cipher: supported ciphers: TLS_AES_256_GCM_SHA384, "),
        "{err}"
    );
    assert!(
        err.ends_with("tcpserver: fatal: unable to initialize TLS\n"),
        "{err}"
    );
    let out = startup(
        t.path(),
        &["-s", "-M", "TLSv1_2"],
        &[("TLS_CIPHER_LIST", "RC4-MD5")],
    );
    assert!(
        out.stderr_str()
            .contains("tls_cipher: no usable cipher in RC4-MD5\n"),
        "{out:?}"
    );
    // An invalid method, as the reference words it.
    let out = startup(t.path(), &["-s", "-M", "TLSv1_1"], &[]);
    out.assert(
        111,
        "",
        "tls_method: Invalid TLS method configured\ntls_method: Supported methods: TLSv1_2, TLSv1_3\n\
         tcpserver: fatal: unable to initialize TLS\n",
    );
    // A CA file named with -a that is missing; -q silences everything.
    let out = startup(t.path(), &["-s", "-a", "/nonexistent/ca.pem"], &[]);
    assert!(
        out.stderr_str().starts_with(
            "unable to load CA certificate: /nonexistent/ca.pem: file does not exist\n"
        ),
        "{out:?}"
    );
    startup(t.path(), &["-q", "-n", "/nonexistent.pem"], &[]).assert(111, "", "");
    if !is_root() {
        let locked = t.path().join("locked.pem");
        fs::copy(t.path().join("servercert.pem"), &locked).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let out = startup(t.path(), &["-n", "locked.pem"], &[]);
        assert!(
            out.stderr_str().contains("locked.pem: access denied\n"),
            "{out:?}"
        );
    }
}

#[test]
fn check46_plaintext_to_a_tls_port_never_starts_the_program() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-s"], &[]);
    let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.write_all(b"EHLO plain\r\n").unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let log = srv.wait_log("status 111");
    assert!(log.contains("\nSSL_accept: "), "{log}");
    assert!(
        log.contains("tcpserver: warning: dropping connection, unable to accept SSL connection\n"),
        "{log}"
    );
    assert!(!log.contains("encrypted session"), "{log}");
    assert!(!t.path().join("started").exists());
}

#[test]
fn sni_picks_the_certificate_named_after_the_server() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    pki.server(
        "mail.example.com.pem",
        "mail.example.com",
        &["mail.example.com"],
    );
    pki.server("*.example.org.pem", "wild.example.org", &["*.example.org"]);
    // Files without a key, or not named after a host, are not candidates.
    fs::copy(
        t.path().join("ca.pem"),
        t.path().join("other.example.net.pem"),
    )
    .unwrap();
    let srv = serve(t.path(), &["-s"], &[]);
    let port = srv.port;
    assert!(served_subject(port, &["-servername", "mail.example.com"])
        .contains("CN = mail.example.com"));
    assert!(served_subject(port, &["-servername", "MAIL.Example.COM"])
        .contains("CN = mail.example.com"));
    assert!(served_subject(port, &["-servername", "imap.example.org"])
        .contains("CN = wild.example.org"));
    assert!(served_subject(port, &["-servername", "other.example.net"]).contains("CN = localhost"));
    assert!(served_subject(port, &["-noservername"]).contains("CN = localhost"));
}

/// Replace `dir/name` atomically (write a temporary, rename), as certbot-style tools do.
fn replace(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.new"));
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, dir.join(name)).unwrap();
}

#[track_caller]
fn wait_for_subject(port: u16, want: &str) {
    let end = Instant::now() + PATIENCE;
    loop {
        let got = served_subject(port, &[]);
        if got.contains(want) {
            return;
        }
        assert!(Instant::now() < end, "still served {got:?}, want {want:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn reload_on_file_change_keeps_open_connections() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    let srv = serve(t.path(), &["-s"], &[]);
    assert!(served_subject(srv.port, &[]).contains("CN = localhost"));
    // A connection open across the change.
    let mut open = Cmd::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{}", srv.port),
        ])
        .stdin_pipe()
        .timeout(Duration::from_secs(60))
        .spawn();
    srv.wait_log("encrypted session");
    let renewed = pki.server("renewed.tmp", "renewed", &["localhost"]);
    replace(t.path(), "servercert.pem", &renewed);
    wait_for_subject(srv.port, "CN = renewed");
    assert!(srv
        .log_text()
        .contains("tcpserver: TLS certificates reloaded\n"));
    open.write_stdin(b"still here\n");
    open.close_stdin();
    let out = open.wait();
    assert!(out.stdout_str().contains("got still here\n"), "{out:?}");
    // A broken file does not replace the running certificate.
    replace(
        t.path(),
        "servercert.pem",
        "-----BEGIN CERTIFICATE-----\ngarbage\n",
    );
    let out = s_client(srv.port, &["-quiet"], b"after\n");
    assert!(out.stdout_str().contains("got after\n"), "{out:?}");
    let log = srv.wait_log("unable to reload TLS certificates");
    assert!(
        log.contains(
            "tcpserver: warning: unable to reload TLS certificates: unable to load certificate: "
        ),
        "{log}"
    );
    assert!(served_subject(srv.port, &[]).contains("CN = renewed"));
}

#[test]
fn reload_on_sighup() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    // SIGHUP reloads whatever the files hold now, changed or not.
    let srv = serve(t.path(), &["-s"], &[]);
    srv.signal(libc::SIGHUP);
    let log = srv.wait_log("sighup:");
    assert!(
        log.contains("tcpserver: TLS certificates reloaded\n"),
        "{log}"
    );
    let renewed = pki.server("renewed.tmp", "renewed-by-hup", &["localhost"]);
    fs::write(t.path().join("servercert.pem"), renewed).unwrap();
    srv.signal(libc::SIGHUP);
    wait_for_subject(srv.port, "CN = renewed-by-hup");
}

/// s_client presenting `cert` (chain and key in one file), or none.
fn with_cert(port: u16, cert: Option<&str>) -> Output {
    let mut extra = vec!["-quiet"];
    if let Some(c) = cert {
        extra.extend(["-cert", c, "-key", c]);
    }
    s_client(port, &extra, b"in\n")
}

#[test]
fn client_certificates_optional_verdicts() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    pki.client("good.pem", "client");
    pki.expired_client("expired.pem");
    pki.untrusted("untrusted.pem", "stranger");
    pki.revoked("revoked.pem", "revoked", &[], "crl.pem");
    let srv = serve(t.path(), &["-s", "-a", "ca.pem", "-L", "crl.pem"], &[]);
    let p = |n: &str| pki.path(n);
    let out = with_cert(srv.port, Some(&p("good.pem")));
    assert!(
        out.stdout_str()
            .contains("TLS_CLIENT_VERIFY=SUCCESS\nTLS_CLIENT_DN=/CN=client/O=Test Org\ngot in\n"),
        "{out:?}"
    );
    let out = with_cert(srv.port, None);
    assert!(
        out.stdout_str()
            .contains("TLS_CLIENT_VERIFY=NONE\nTLS_CLIENT_DN=\n"),
        "{out:?}"
    );
    for (name, cn) in [
        ("expired.pem", "expired"),
        ("untrusted.pem", "stranger"),
        ("revoked.pem", "revoked"),
    ] {
        let out = with_cert(srv.port, Some(&p(name)));
        assert!(
            out.stdout_str().contains(&format!(
                "TLS_CLIENT_VERIFY=FAILED\nTLS_CLIENT_DN=/CN={cn}/O=Test Org\ngot in\n"
            )),
            "{name}: {out:?}"
        );
    }
}

#[test]
fn client_certificates_mandatory_refuse_bad_ones() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    pki.client("good.pem", "client");
    pki.expired_client("expired.pem");
    pki.untrusted("untrusted.pem", "stranger");
    pki.revoked("revoked.pem", "revoked", &[], "crl.pem");
    let srv = serve(
        t.path(),
        &["-s", "-a", "ca.pem", "-L", "crl.pem"],
        &[("TLS_CLIENT_REQUIRED", "1")],
    );
    let out = with_cert(srv.port, Some(&pki.path("good.pem")));
    assert!(
        out.stdout_str().contains("TLS_CLIENT_VERIFY=SUCCESS\n"),
        "{out:?}"
    );
    for name in [
        None,
        Some("expired.pem"),
        Some("untrusted.pem"),
        Some("revoked.pem"),
    ] {
        let _ = fs::remove_file(t.path().join("started"));
        let out = with_cert(srv.port, name.map(|n| pki.path(n)).as_deref());
        assert!(
            !out.stdout_str().contains("TLS_PROVIDER"),
            "{name:?}: {out:?}"
        );
        assert!(!t.path().join("started").exists(), "{name:?}");
    }
    // Each refusal is logged by its connection's process, which may still be writing when
    // the client has seen the alert: wait for the fourth line.
    let deadline = Instant::now() + PATIENCE;
    while srv
        .log_text()
        .matches("unable to accept SSL connection")
        .count()
        < 4
    {
        assert!(Instant::now() < deadline, "{}", srv.log_text());
        std::thread::sleep(Duration::from_millis(10));
    }
    // Mandatory for some clients only, through a rule.
    Cmd::bin("tcprules")
        .cwd(t.path())
        .args(["r.cdb", "r.tmp"])
        .stdin("127.0.0.1:allow,TLS_CLIENT_REQUIRED=\"1\"\n")
        .run()
        .assert(0, "", "");
    let srv = serve(t.path(), &["-s", "-a", "ca.pem", "-x", "r.cdb"], &[]);
    let out = with_cert(srv.port, None);
    assert!(!out.stdout_str().contains("TLS_PROVIDER"), "{out:?}");
    let out = with_cert(srv.port, Some(&pki.path("good.pem")));
    assert!(
        out.stdout_str().contains("TLS_CLIENT_VERIFY=SUCCESS\n"),
        "{out:?}"
    );
    let srv = serve(t.path(), &["-s", "-a", "ca.pem"], &[]);
    let out = with_cert(srv.port, None);
    assert!(
        out.stdout_str().contains("TLS_CLIENT_VERIFY=NONE\n"),
        "{out:?}"
    );
}

#[test]
fn a_stalled_handshake_costs_one_child_not_the_server() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-s", "-S", "2"], &[]);
    let mut stalled = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01, 0x00]).unwrap();
    let out = s_client(srv.port, &["-quiet"], b"meanwhile\n");
    assert!(out.stdout_str().contains("got meanwhile\n"), "{out:?}");
    stalled.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let _ = stalled.read_to_end(&mut got);
    let log = srv.wait_log("SSL_accept: timed out");
    assert!(log.contains("unable to accept SSL connection\n"), "{log}");
}

#[test]
fn renegotiation_is_refused() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    // A program that writes nothing before it reads: application data arriving in the
    // middle of the renegotiation would end s_client with "unexpected record" instead.
    let quiet = "#!/bin/sh\nread line\necho \"got $line\"\n";
    let srv = serve_with(t.path(), &["-s", "-N"], &[], "quiet", quiet);
    // Interactive s_client: a line "R" asks for renegotiation (TLS 1.2). Its input stays
    // open until it has ended on its own, so it reports the server's answer.
    let mut client = Cmd::new("openssl")
        .args([
            "s_client",
            "-tls1_2",
            "-connect",
            &format!("127.0.0.1:{}", srv.port),
        ])
        .stdin_pipe()
        .timeout(Duration::from_secs(60))
        .spawn();
    client.write_stdin(b"R\n");
    let end = Instant::now() + PATIENCE;
    while !client.has_exited() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = client.wait();
    let text = format!("{}{}", out.stdout_str(), out.stderr_str());
    assert!(text.contains("RENEGOTIATING"), "{text}");
    assert!(text.contains("no renegotiation"), "{text}");
    assert!(!srv.log_text().contains("got"));
}

#[test]
fn tcpclient_against_tcpserver_verification_on_and_off() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-s", "-z"], &[]);
    let talk = "echo \"client: $TLS_PROVIDER\"; echo ping >&7; cat <&6";
    let run = |args: &[&str]| {
        Cmd::bin("tcpclient")
            .env("CERTDIR", t.path())
            .args(["-H", "-R", "-l0"])
            .args(args)
            .args(["127.0.0.1", &srv.port.to_string(), "sh", "-c", talk])
            .timeout(Duration::from_secs(30))
            .run()
    };
    for args in [
        &["-n", ""][..],
        &["-n", "", "-c", "ca.pem", "-m", "localhost"],
    ] {
        let out = run(args);
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        let text = out.stdout_str();
        assert!(text.starts_with("client: tcpclient, \n"), "{out:?}");
        assert!(
            text.contains("TLS_PROVIDER=tcpserver, TLS Server=TLSv1.3"),
            "{out:?}"
        );
        assert!(text.ends_with("got ping\n"), "{out:?}");
    }
    let out = run(&["-n", "", "-c", "ca.pem", "-m", "wrong.example"]);
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(
        out.stderr_str().contains("invalid peer certificate"),
        "{out:?}"
    );
}

#[test]
fn tls_on_a_unix_socket() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "print", PRINT);
    let sock = t.path().join("s");
    let certdir = t.path().to_string_lossy().into_owned();
    let mut server = blackbox::command(blackbox::bin("tcpserver"))
        .args(["-s", &sock.to_string_lossy(), &prog])
        .env("CERTDIR", &certdir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The socket's file appears at bind, before listen: wait until it takes connections
    // (the probe's own connection just fails its handshake).
    let end = Instant::now() + PATIENCE;
    while std::os::unix::net::UnixStream::connect(&sock).is_err() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Cmd::bin("tcpclient")
        .env("CERTDIR", t.path())
        .args([
            "-n",
            "",
            &sock.to_string_lossy(),
            "sh",
            "-c",
            "echo unix >&7; cat <&6",
        ])
        .timeout(Duration::from_secs(30))
        .run();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
    assert!(out.stdout_str().ends_with("got unix\n"), "{out:?}");
}

#[test]
fn sessions_resume_across_connections() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let srv = serve(t.path(), &["-s"], &[]);
    // The session file lives outside the certificate directory (a new .pem there
    // would reload the certificates, and with them the ticket key).
    let other = tmp();
    let sess = other.path().join("session");
    let sess = sess.to_str().unwrap();
    let first = s_client(srv.port, &["-sess_out", sess], b"one\n");
    assert!(first.stdout_str().contains("\nNew, TLSv1.3"), "{first:?}");
    let again = s_client(srv.port, &["-sess_in", sess], b"two\n");
    assert!(
        again.stdout_str().contains("\nReused, TLSv1.3"),
        "{again:?}"
    );
    assert!(again.stdout_str().contains("got two\n"), "{again:?}");
}
