//! Black-box tests of tcpclient's TLS (docs/ucspi-tcp.md#tcpclient, checks 47-48 of #acceptance-checks, docs/decisions.md#u13) and of
//! dotls's client mode: against our TLS server (dotls under tcpserver), with the
//! server's certificate verified (CA, CRL, server name) or not, a client certificate the
//! server checks, the STARTTLS dialogues, and the stdin/stdout relay.

mod tls_support;

use blackbox::{skip, test_path, Cmd, Output};
use std::path::Path;
use std::time::Duration;
use tls_support::{openssl_available, script, tmp, Pki, Server};

/// The server's program: what it learnt of the client, then one line echoed.
const ECHO: &str = "#!/bin/sh\necho \"server: $TLS_CLIENT_VERIFY [$TLS_CLIENT_DN]\"\nread line\necho \"server got: $line\"\n";

/// The client's program: its TLS_PROVIDER, a line to the server on fd 7, the server's
/// lines from fd 6.
const TALK: &str = "echo \"client: $TLS_PROVIDER\"; echo ping >&7; cat <&6";

fn ready() -> bool {
    if !openssl_available() {
        skip("openssl is not installed");
        return false;
    }
    true
}

/// A TLS server (dotls under tcpserver) with `dotls_args` running `prog`, its
/// certificates in `dir`.
fn server(dir: &Path, dotls_args: &[&str], prog: &str) -> Server {
    let mut args = vec!["-1", "-H", "-R", "-l", "L", "127.0.0.1", "0", "dotls"];
    args.extend_from_slice(dotls_args);
    args.push(prog);
    let certdir = dir.to_string_lossy().into_owned();
    Server::start(dir, &args, &[("CERTDIR", certdir.as_str())])
}

/// tcpclient with `args` then `127.0.0.1 port`, running TALK, with CERTDIR=`certdir`.
fn client(certdir: &Path, args: &[&str], port: u16) -> Output {
    Cmd::bin("tcpclient")
        .env("CERTDIR", certdir)
        .args(["-H", "-R", "-l0"])
        .args(args)
        .args(["127.0.0.1", &port.to_string(), "sh", "-c", TALK])
        .timeout(Duration::from_secs(30))
        .run()
}

#[test]
fn check47_provider_details_and_data_on_6_and_7() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    pki.client("clientcert.pem", "client");
    let prog = script(t.path(), "echo", ECHO);
    let srv = server(t.path(), &["-c", "ca.pem"], &prog);
    let out = client(t.path(), &["-z", "-n", ""], srv.port);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        "client: tcpclient, TLS Server=TLSv1.3, Client=TLSv1.3, Ciphers=TLS_AES_256_GCM_SHA384\n\
         server: SUCCESS [/CN=client/O=Test Org]\nserver got: ping\n"
    );
    // Without -z, the bare name; TLS 1.2 on request.
    let out = client(t.path(), &["-n", "", "-M", "TLSv1_2"], srv.port);
    assert!(
        out.stdout_str().starts_with("client: tcpclient, \n"),
        "{out:?}"
    );
}

#[test]
fn verification_on_accepts_the_right_server_and_refuses_others() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "echo", ECHO);
    let srv = server(t.path(), &[], &prog);
    // The CA signs the server's certificate, which names 127.0.0.1 and localhost.
    let out = client(t.path(), &["-n", "", "-c", "ca.pem"], srv.port);
    assert!(out.stdout_str().contains("server got: ping\n"), "{out:?}");
    let out = client(
        t.path(),
        &["-n", "", "-c", "ca.pem", "-m", "localhost"],
        srv.port,
    );
    assert!(out.stdout_str().contains("server got: ping\n"), "{out:?}");
    // A name the certificate does not carry.
    let out = client(
        t.path(),
        &["-n", "", "-c", "ca.pem", "-m", "mail.example.org"],
        srv.port,
    );
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(
        out.stderr_str()
            .starts_with("tcpclient: fatal: TLS handshake failed: invalid peer certificate"),
        "{out:?}"
    );
    assert!(!out.stdout_str().contains("client:"), "{out:?}");
    // A CA that did not sign it.
    let other = tmp();
    Pki::new(other.path());
    let ca = other.path().join("ca.pem");
    let out = client(t.path(), &["-n", "", "-c", ca.to_str().unwrap()], srv.port);
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(
        out.stderr_str().contains("invalid peer certificate"),
        "{out:?}"
    );
    // Verification off (no CA): any certificate.
    let out = client(other.path(), &["-n", ""], srv.port);
    assert!(out.stdout_str().contains("server got: ping\n"), "{out:?}");
}

#[test]
fn a_revoked_server_certificate_is_refused_with_the_crl() {
    if !ready() {
        return;
    }
    let t = tmp();
    let pki = Pki::new(t.path());
    pki.revoked(
        "servercert.pem",
        "localhost",
        &["localhost", "127.0.0.1"],
        "crl.pem",
    );
    let prog = script(t.path(), "echo", ECHO);
    let srv = server(t.path(), &[], &prog);
    let out = client(t.path(), &["-n", "", "-c", "ca.pem"], srv.port);
    assert!(out.stdout_str().contains("server got: ping\n"), "{out:?}");
    let out = client(
        t.path(),
        &["-n", "", "-c", "ca.pem", "-L", "crl.pem"],
        srv.port,
    );
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(out.stderr_str().contains("Revoked"), "{out:?}");
}

#[test]
fn starttls_dialogues_against_dotls() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let smtpd = script(
        t.path(),
        "smtpd",
        "#!/bin/sh\nprintf '220-fake\\r\\n220 ESMTP\\r\\n'\nwhile IFS= read -r l; do case $l in EHLO*|ehlo*) printf '250-x\\r\\n250 y\\r\\n';; *) printf '250 %s\\r\\n' \"$TLS_PROVIDER\"; exit 0;; esac; done\n",
    );
    let srv = server(t.path(), &["-s", "smtp"], &smtpd);
    let out = client(t.path(), &["-n", "", "-s", "smtp"], srv.port);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        "220-fake\r\n220 ESMTP\r\nclient: tcpclient, \n250 dotls, starttls\r\n"
    );
    let pop3d = script(
        t.path(),
        "pop3d",
        "#!/bin/sh\nprintf '+OK hi\\r\\n'\nread l\nprintf '+OK %s\\r\\n' \"$TLS_PROVIDER\"\n",
    );
    let srv = server(t.path(), &["-s", "pop3"], &pop3d);
    let out = client(t.path(), &["-n", "", "-s", "pop3"], srv.port);
    assert_eq!(
        out.stdout_str(),
        "+OK Begin SSL/TLS negotiation now.\r\nclient: tcpclient, \n+OK dotls, starttls\r\n",
        "{out:?}"
    );
    let imapd = script(
        t.path(),
        "imapd",
        "#!/bin/sh\nprintf '* OK hi\\r\\n'\nread t c\nprintf '%s OK %s\\r\\n' \"$t\" \"$TLS_PROVIDER\"\n",
    );
    let srv = server(t.path(), &["-s", "imap"], &imapd);
    let out = client(t.path(), &["-n", "", "-s", "imap"], srv.port);
    assert_eq!(
        out.stdout_str(),
        "STARTTLS OK Begin TLS negotiation now\r\nclient: tcpclient, \nping OK dotls, starttls\r\n",
        "{out:?}"
    );
}

#[test]
fn client_mode_relays_stdin_and_stdout() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "echo", ECHO);
    let srv = server(t.path(), &[], &prog);
    let out = Cmd::bin("tcpclient")
        .env("CERTDIR", t.path())
        .args([
            "-H",
            "-R",
            "-l0",
            "-n",
            "",
            "127.0.0.1",
            &srv.port.to_string(),
        ])
        .stdin("typed\n")
        .timeout(Duration::from_secs(30))
        .run();
    out.assert(0, "server: NONE []\nserver got: typed\n", "");
}

#[test]
fn bad_client_files_fail_before_connecting() {
    let t = tmp();
    let pki = Pki::new(t.path());
    std::fs::write(
        t.path().join("garbage.pem"),
        "-----BEGIN CERTIFICATE-----\n!!!\n",
    )
    .unwrap();
    let out = Cmd::bin("tcpclient")
        .env("CERTDIR", t.path())
        .args(["-n", "garbage.pem", "127.0.0.1", "1", "true"])
        .run();
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(
        out.stderr_str().contains("garbage.pem: malformed PEM"),
        "{out:?}"
    );
    assert!(
        out.stderr_str()
            .ends_with("tcpclient: fatal: unable to initialize TLS\n"),
        "{out:?}"
    );
    let out = Cmd::bin("tcpclient")
        .env("CERTDIR", t.path())
        .env("TLS_CIPHER_SUITE", "TLS_FAKE_SHA1")
        .args(["-n", "", "127.0.0.1", "1", "true"])
        .run();
    assert!(
        out.stderr_str().contains("unknown cipher TLS_FAKE_SHA1"),
        "{out:?}"
    );
    let _ = pki;
    // -s without -n (check 48).
    let out = Cmd::bin("tcpclient").args(["-s", "smtp", "0", "25"]).run();
    out.assert(
        100,
        "",
        "tcpclient: fatal: STARTTLS options require Certificates\n",
    );
}

#[test]
fn dotls_client_mode_under_plain_tcpclient() {
    if !ready() {
        return;
    }
    let t = tmp();
    Pki::new(t.path());
    let prog = script(t.path(), "echo", ECHO);
    let srv = server(t.path(), &[], &prog);
    // -T: the program on 0 and 1.
    let out = Cmd::bin("tcpclient")
        .env("CERTDIR", t.path())
        .args(["-H", "-R", "-l0", "127.0.0.1", &srv.port.to_string()])
        .env("PATH", test_path())
        .args([
            "dotls",
            "-T",
            "-z",
            "sh",
            "-c",
            "echo \"$TLS_PROVIDER\" >&2; echo hi; cat >&2",
        ])
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(
        out.stderr_str(),
        "dotls, TLS Server=TLSv1.3, Client=TLSv1.3, Ciphers=TLS_AES_256_GCM_SHA384\n\
         server: NONE []\nserver got: hi\n",
        "{out:?}"
    );
    // -C: the program on 6 and 7, as djb tcpclient programs expect.
    let out = Cmd::bin("tcpclient")
        .env("CERTDIR", t.path())
        .args(["-H", "-R", "-l0", "127.0.0.1", &srv.port.to_string()])
        .env("PATH", test_path())
        .args(["dotls", "-C", "sh", "-c", TALK])
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(
        out.stdout_str(),
        "client: dotls, \nserver: NONE []\nserver got: ping\n",
        "{out:?}"
    );
}
