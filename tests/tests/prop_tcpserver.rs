//! Hostile input for the ucspi-tcp programs, as properties checked on the real binaries:
//! tcprules source text, damaged cdb files read by tcprulescheck and by tcpserver `-x`,
//! garbage (PROXY lines, broken records) before a TLS ClientHello, client command streams
//! through dotls's STARTTLS emulation (smtp, pop3, imap), and rblsmtpd's refused session.
//!
//! Each property: no panic, no hang (every run is bounded by a timeout), the documented
//! exit code and message, and nothing on disk changed but what the program is for.
//! `PROPTEST_CASES` raises the case counts; failures are kept in
//! `prop_tcpserver.proptest-regressions` beside this file.

mod tls_support;

use blackbox::prop::{config, damage, exited, mutate, runner, Damage, Snapshot};
use blackbox::Cmd;
use proptest::collection::vec;
use proptest::prelude::*;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::Duration;
use tls_support::{s_client, script, tmp, Pki, Server};

/// How long one connection may take before the property counts it as a hang.
const BOUND: Duration = Duration::from_secs(20);

const GOOD_RULES: &str = "127.0.0.1:allow,X=\"one\"\n127.0.0.:allow,X=\"two\",!Y\n\
                          10.0.0.0/8:deny\n=host.example:allow,X=/three/\n\
                          info@127.0.0.2:allow,X=\"four\"\n:allow,X=\"last\"\n";

fn tcprules(dir: &Path, input: &[u8]) -> blackbox::Output {
    Cmd::bin("tcprules")
        .clean_env()
        .cwd(dir)
        .args(["r.cdb", "r.tmp"])
        .stdin(input.to_vec())
        .timeout(BOUND)
        .run()
}

/// Lines of the rules language, well-formed or nearly.
fn rules_line() -> impl Strategy<Value = String> {
    let addr = prop_oneof![
        Just(String::new()),
        Just("=".to_string()),
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}\\.?",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,5}-[0-9]{1,5}",
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}/[0-9]{1,3}",
        "[0-9a-f:]{2,20}(/[0-9]{1,3})?",
        "=\\.?[a-z.]{1,12}",
        "[a-z]{1,6}@=?[a-z0-9.]{1,12}",
    ];
    let var = prop_oneof![
        "[A-Z]{1,6}=\"[ -!#-~]{0,8}\"",
        "[A-Z]{1,6}=([ -~])[ -~]{0,8}",
        "![A-Z]{0,6}",
        "[ -~]{0,8}",
    ];
    (
        addr,
        prop_oneof![
            Just("allow".to_string()),
            Just("deny".to_string()),
            "[a-z]{0,5}"
        ],
        vec(var, 0..3),
    )
        .prop_map(|(a, i, vars)| {
            let mut l = format!("{a}:{i}");
            for v in vars {
                l.push(',');
                l.push_str(&v);
            }
            l
        })
}

proptest! {
    #![proptest_config(config(48))]

    /// tcprules on any input: exit 0 and a new cdb, or 100 (`unable to parse this line:`)
    /// or 111 (`Unable to find colon`) with the old cdb untouched; nothing but `r.cdb` and
    /// `r.tmp` ever changes.
    #[test]
    fn tcprules_any_input(
        lines in vec(rules_line(), 0..10),
        edits in vec((any::<usize>(), any::<u8>()), 0..4),
        tail in vec(any::<u8>(), 0..32),
    ) {
        let t = tmp();
        tcprules(t.path(), GOOD_RULES.as_bytes()).assert(0, "", "");
        fs::write(t.path().join("other"), "x").unwrap();
        let mut input: Vec<u8> = lines.join("\n").into_bytes();
        for (at, b) in edits {
            let at = at % (input.len() + 1);
            input.insert(at, b);
        }
        input.extend_from_slice(&tail);
        let before = Snapshot::of(t.path());
        let out = tcprules(t.path(), &input);
        let after = Snapshot::of(t.path());
        let changed = before.changes(&after, |p| p == Path::new("r.cdb") || p == Path::new("r.tmp"));
        prop_assert!(changed.is_empty(), "changed {changed:?}");
        let err = out.stderr_str();
        match out.code {
            Some(0) => {
                prop_assert_eq!(&err, "");
                prop_assert!(!t.path().join("r.tmp").exists());
                let check = Cmd::bin("tcprulescheck")
                    .clean_env()
                    .env("TCPREMOTEIP", "127.0.0.1")
                    .cwd(t.path())
                    .arg("r.cdb")
                    .timeout(BOUND)
                    .run();
                prop_assert_eq!(check.code, Some(0), "{:?}", check);
            }
            Some(100) => {
                prop_assert!(err.starts_with("tcprules: fatal: unable to parse this line: "), "{}", err);
                prop_assert_eq!(before.0.get(Path::new("r.cdb")), after.0.get(Path::new("r.cdb")));
            }
            Some(111) => {
                prop_assert_eq!(&err, "tcprules: fatal: Unable to find colon on non-empty line.\n");
                prop_assert_eq!(before.0.get(Path::new("r.cdb")), after.0.get(Path::new("r.cdb")));
            }
            _ => prop_assert!(false, "unexpected {:?}", out),
        }
    }
}

/// A good rules cdb, damaged.
fn damaged_cdb(dir: &Path, how: &[Damage]) -> Vec<u8> {
    tcprules(dir, GOOD_RULES.as_bytes()).assert(0, "", "");
    let mut bytes = fs::read(dir.join("r.cdb")).unwrap();
    mutate(&mut bytes, how);
    bytes
}

fn peer_ip() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("127.0.0.1"),
        Just("127.0.0.9"),
        Just("10.1.2.3"),
        Just("::1"),
        Just("2001:db8::1"),
        Just("0.0.0.0"),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    /// tcprulescheck on a damaged cdb (cut, flipped, pointers and lengths replaced by
    /// extreme values, bytes inserted): a report (exit 0) or `unable to read r.cdb:
    /// protocol error` (111); the file is only read.
    #[test]
    fn tcprulescheck_damaged_cdb(how in vec(damage(), 1..4), ip in peer_ip(), host in any::<bool>()) {
        let t = tmp();
        let bytes = damaged_cdb(t.path(), &how);
        fs::write(t.path().join("r.cdb"), &bytes).unwrap();
        let before = Snapshot::of(t.path());
        let mut cmd = Cmd::bin("tcprulescheck")
            .clean_env()
            .env("TCPREMOTEIP", ip)
            .env("TCPREMOTEINFO", "info")
            .cwd(t.path())
            .arg("r.cdb")
            .timeout(BOUND);
        if host {
            cmd = cmd.env("TCPREMOTEHOST", "host.example");
        }
        let out = cmd.run();
        prop_assert!(Snapshot::of(t.path()) == before);
        match out.code {
            Some(0) => {
                let o = out.stdout_str();
                prop_assert!(o.starts_with("rule ") || o == "default:\nallow connection\n", "{}", o);
                prop_assert!(o.ends_with(" connection\n"), "{}", o);
            }
            Some(111) => prop_assert_eq!(
                out.stderr_str(),
                "tcprulescheck: fatal: unable to read r.cdb: protocol error\n"
            ),
            _ => prop_assert!(false, "unexpected {:?}", out),
        }
    }
}

/// Connect, send `bytes`, close the sending side, read until the server closes.
fn exchange(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("no end within {BOUND:?} ({e}); got {out:?}"),
    }
    out
}

fn assert_alive(s: &mut Server) {
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "tcpserver died: {}",
        s.log_text()
    );
    let log = s.log_text();
    assert!(
        !log.contains("panicked") && !log.contains("killed by signal"),
        "{log}"
    );
}

/// tcpserver `-x` re-reads its rules for every connection: replace them with damaged ones
/// between connections. Each connection is served by the rule found or dropped with
/// `unable to read`; the server never dies.
#[test]
fn tcpserver_x_damaged_cdb() {
    let t = tmp();
    let dir = t.path();
    tcprules(dir, GOOD_RULES.as_bytes()).assert(0, "", "");
    let good = fs::read(dir.join("r.cdb")).unwrap();
    let cdb = dir.join("r.cdb").to_string_lossy().into_owned();
    let mut s = Server::start(
        dir,
        &[
            "-1HRl0",
            "-x",
            &cdb,
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo \"x=$X\"",
        ],
        &[],
    );
    let mut runner = runner(48, file!());
    let result = runner.run(&vec(damage(), 1..4), |how| {
        let mut bytes = good.clone();
        mutate(&mut bytes, &how);
        fs::write(dir.join("new.tmp"), &bytes).unwrap();
        fs::rename(dir.join("new.tmp"), dir.join("r.cdb")).unwrap();
        let got = String::from_utf8_lossy(&exchange(s.port, b"")).into_owned();
        prop_assert!(got.is_empty() || got.starts_with("x="), "{}", got);
        prop_assert!(!exited(s.child.id()), "tcpserver died");
        Ok(())
    });
    result.unwrap();
    fs::write(dir.join("r.cdb"), &good).unwrap();
    assert_eq!(exchange(s.port, b""), b"x=one\n");
    assert_alive(&mut s);
}

/// What a confused proxy or scanner sends where a ClientHello belongs.
fn tls_garbage() -> impl Strategy<Value = Vec<u8>> {
    let proxy = prop_oneof![
        Just(b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 443\r\n".to_vec()),
        Just(b"PROXY UNKNOWN\r\n".to_vec()),
        Just(b"\r\n\r\n\0\r\nQUIT\n".to_vec()),
        Just(b"GET / HTTP/1.0\r\n\r\n".to_vec()),
        Just(vec![]),
    ];
    // TLS record headers with any type, version and length, and a little body.
    let record = (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        vec(any::<u8>(), 0..64),
    )
        .prop_map(|(ty, ver, len, body)| {
            let mut r = vec![ty];
            r.extend_from_slice(&ver.to_be_bytes());
            r.extend_from_slice(&len.to_be_bytes());
            r.extend_from_slice(&body);
            r
        });
    let hello = Just(vec![
        0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03,
    ]);
    (
        proxy,
        vec(prop_oneof![record, hello, vec(any::<u8>(), 0..32)], 0..4),
    )
        .prop_map(|(p, rest)| [p, rest.concat()].concat())
}

/// Garbage before (or instead of) a ClientHello: the handshake fails, the program never
/// runs, the server lives on and the next real client gets through.
#[test]
fn tls_garbage_before_client_hello() {
    let t = tmp();
    let dir = t.path();
    Pki::new(dir);
    let prog = script(dir, "prog", "#!/bin/sh\necho ran >> ran\necho hello\n");
    let cert = dir.join("servercert.pem").to_string_lossy().into_owned();
    let mut s = Server::start(
        dir,
        &["-1HRl0", "-S", "10", "-n", &cert, "127.0.0.1", "0", &prog],
        &[],
    );
    let mut runner = runner(32, file!());
    runner
        .run(&tls_garbage(), |bytes| {
            let got = exchange(s.port, &bytes);
            prop_assert!(!got.starts_with(b"hello"), "the program ran");
            prop_assert!(!dir.join("ran").exists(), "the program ran");
            prop_assert!(!exited(s.child.id()), "tcpserver died");
            Ok(())
        })
        .unwrap();
    let out = s_client(s.port, &["-quiet"], b"");
    assert!(out.stdout_str().contains("hello"), "{out:?}");
    assert_alive(&mut s);
}

/// A fake plain-text server for dotls: greets, then answers every line (multi-line
/// answers for the commands that have them), until end of input.
const FAKE_DAEMON: &str = r#"#!/bin/sh
case "$1" in
smtp) echo "220 fake ESMTP" ;;
pop3) echo "+OK fake" ;;
imap) echo "* OK [CAPABILITY IMAP4rev1] fake" ;;
esac
while IFS= read -r line; do
  case "$1:$line" in
  smtp:EHLO*|smtp:ehlo*) printf '250-fake\r\n250 PIPELINING\r\n' ;;
  smtp:DATA*) printf '354 go\r\n' ;;
  smtp:*) printf '250 ok\r\n' ;;
  pop3:CAPA*|pop3:LIST*) printf '+OK\r\nUSER\r\n.\r\n' ;;
  pop3:*) printf '+OK\r\n' ;;
  imap:*) tag=${line%% *}; printf '* CAPABILITY IMAP4rev1\r\n%s OK done\r\n' "$tag" ;;
  esac
done
"#;

const COMMANDS: &[&[u8]] = &[
    b"EHLO client\r\n",
    b"HELO client\r\n",
    b"STARTTLS\r\n",
    b"STARTTLS extra\r\n",
    b"MAIL FROM:<a@b>\r\n",
    b"DATA\r\n",
    b".\r\n",
    b"CAPA\r\n",
    b"STLS\r\n",
    b"LIST\r\n",
    b"a1 CAPABILITY\r\n",
    b"a2 STARTTLS\r\n",
    b"STARTTLS\n",
    b"a3 LOGIN {5}\r\n",
    b"a4 AUTHENTICATE PLAIN\r\n",
    b"x {999999999}\r\n",
    b"QUIT\r\n",
    b"\r\n",
];

fn client_stream() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            4 => proptest::sample::select(COMMANDS).prop_map(<[u8]>::to_vec),
            1 => vec(any::<u8>(), 0..48),
            1 => (1usize..20_000).prop_map(|n| vec![b'A'; n]),
        ],
        0..10,
    )
    .prop_map(|v| v.concat())
}

/// dotls `-s smtp|pop3|imap` in front of a plain daemon, fed any client stream (commands
/// out of order, STARTTLS followed by garbage instead of a handshake, literals that never
/// come, long lines, binary noise): every session ends once the client closes, without a
/// panic, and the server lives on.
#[test]
fn dotls_starttls_any_client_stream() {
    let t = tmp();
    let dir = t.path();
    Pki::new(dir);
    let daemon = script(dir, "daemon", FAKE_DAEMON);
    for proto in ["smtp", "pop3", "imap"] {
        let cert = dir.join("servercert.pem").to_string_lossy().into_owned();
        let mut s = Server::start(
            dir,
            &[
                "-1HRl0",
                "127.0.0.1",
                "0",
                "dotls",
                "-t",
                "10",
                "-s",
                proto,
                "-n",
                &cert,
                &daemon,
                proto,
            ],
            &[],
        );
        let mut runner = runner(24, file!());
        runner
            .run(&client_stream(), |bytes| {
                exchange(s.port, &bytes);
                prop_assert!(!exited(s.child.id()), "tcpserver died");
                let log = s.log_text();
                prop_assert!(!log.contains("panicked"), "{}", log);
                Ok(())
            })
            .unwrap();
        assert_alive(&mut s);
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// rblsmtpd's refused session against any client bytes: a 220 greeting, CRLF-ended
    /// replies only, and exit 0 when the client goes away.
    #[test]
    fn rblsmtpd_refused_session_any_client(bytes in client_stream()) {
        let out = Cmd::bin("rblsmtpd")
            .clean_env()
            .env("TCPREMOTEIP", "192.0.2.7")
            .env("RBLSMTPD", "-Go away")
            .args(["-t", "10", "-r", "x.invalid", "true"])
            .stdin(bytes)
            .timeout(BOUND)
            .run();
        prop_assert_eq!(out.code, Some(0), "{:?}", out);
        let o = out.stdout_str();
        prop_assert!(o.starts_with("220 rblsmtpd.indimail\r\n"), "{}", o);
        prop_assert!(o.ends_with("\r\n"), "{}", o);
        for line in o.split_terminator("\r\n") {
            prop_assert!(line.len() > 4 && line.as_bytes()[..3].iter().all(u8::is_ascii_digit), "{:?}", line);
        }
        prop_assert!(!out.stderr_str().contains("panicked"));
    }
}

/// Found by `dotls_starttls_any_client_stream`: a client that pipelines DATA and the
/// message, then closes its side, made dotls close the program's input before the lines
/// held behind the 354 were passed on; the session then hung until the idle timeout
/// (300 s). Now the held lines reach the program and the session ends.
#[test]
fn dotls_lines_held_behind_data_reach_the_program_after_the_client_closes() {
    let t = tmp();
    let dir = t.path();
    Pki::new(dir);
    let daemon = script(dir, "daemon", FAKE_DAEMON);
    let cert = dir.join("servercert.pem").to_string_lossy().into_owned();
    let mut s = Server::start(
        dir,
        &[
            "-1HRl0",
            "127.0.0.1",
            "0",
            "dotls",
            "-s",
            "smtp",
            "-n",
            &cert,
            &daemon,
            "smtp",
        ],
        &[],
    );
    let got = exchange(
        s.port,
        b"EHLO x\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        "220 fake ESMTP\n250-fake\r\n250-STARTTLS\r\n250 PIPELINING\r\n354 go\r\n\
         250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"
    );
    assert_alive(&mut s);
}
