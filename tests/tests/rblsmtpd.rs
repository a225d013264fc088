//! Black-box tests of rblsmtpd (docs/ucspi-tcp.md#rblsmtpd, acceptance checks 59–61, decision
//! U15). Lists are served by a fake DNS server on a loopback address of its own (root, for
//! port 53); without root only the `$RBLSMTPD` paths run.

mod tcpclient_support;

use blackbox::{is_root, skip, Cmd, Output};
use std::time::Duration;
use tcpclient_support::*;

const USAGE: &str = "usage: rblsmtpd -r base [ -b ] [ -R ] [ -t timeout ] [ -a base ] [-W] [-w delay] smtpd [ arg ... ]\n";

/// rblsmtpd for a client at `ip`, with the resolver on a dead loopback address.
fn rbl(ip: &str) -> Cmd {
    Cmd::bin("rblsmtpd")
        .clean_env()
        .env("DNSCACHEIP", NO_DNS)
        .env("TCPREMOTEIP", ip)
}

/// stderr with the pid replaced by `P`.
fn log(out: &Output) -> String {
    let text = out.stderr_str();
    let mut s = String::new();
    for line in text.lines() {
        match line.strip_prefix("rblsmtpd:  pid ") {
            Some(rest) => {
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                assert!(digits > 0, "{line}");
                s.push_str("rblsmtpd:  pid P");
                s.push_str(&rest[digits..]);
            }
            None => s.push_str(line),
        }
        s.push('\n');
    }
    s
}

#[test]
fn check59_rblsmtpd_variable_refuses_with_451() {
    let out = rbl("127.0.0.2")
        .env("RBLSMTPD", "Error for %IP%")
        .stdin("help\r\nquit\r\n")
        .args(["-r", "x.invalid", "echo", "whoops"])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        "220 rblsmtpd.indimail\r\n451 Error for 127.0.0.2\r\n221 rblsmtpd.indimail\r\n"
    );
    assert_eq!(
        log(&out),
        "rblsmtpd:  pid P from 127.0.0.2: 451 Error for 127.0.0.2\n"
    );
}

#[test]
fn check60_permanent_empty_and_timeouts() {
    let out = rbl("127.0.0.2")
        .env("RBLSMTPD", "-Error")
        .stdin("help\nquit\n")
        .args(["-r", "x.invalid", "echo", "whoops"])
        .run();
    out.assert_code(0);
    assert_eq!(
        out.stdout_str(),
        "220 rblsmtpd.indimail\r\n553 Error\r\n221 rblsmtpd.indimail\r\n"
    );
    let out = rbl("127.0.0.2")
        .env("RBLSMTPD", "")
        .args(["-r", "x.invalid", "echo", "ok"])
        .run();
    out.assert(0, "ok\n", "");
    // -t0: only the error line, then the session ends.
    let out = rbl("127.0.0.2")
        .env("RBLSMTPD", "Error")
        .stdin_pipe()
        .args(["-t0", "-r", "x.invalid", "echo", "whoops"])
        .run();
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "451 Error\r\n");
    assert_eq!(
        log(&out),
        "rblsmtpd:  pid P from 127.0.0.2: 451 Error\nrblsmtpd:  pid P from 127.0.0.2: : Session terminated: quitting\n"
    );
    // -t1 with an idle client: the greeting, then a silent exit 0.
    let mut r = rbl("127.0.0.2")
        .env("RBLSMTPD", "Error")
        .stdin_pipe()
        .args(["-t1", "-r", "x.invalid", "echo", "whoops"])
        .spawn();
    r.write_stdin(b"");
    // Keep stdin open (idle) until rblsmtpd leaves by itself.
    while !r.has_exited() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = r.wait();
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "220 rblsmtpd.indimail\r\n");
    assert_eq!(log(&out), "rblsmtpd:  pid P from 127.0.0.2: 451 Error\n");
}

#[test]
fn check61_usage() {
    rbl("127.0.0.2")
        .args(["echo", "x"])
        .run()
        .assert(100, "", USAGE);
    rbl("127.0.0.2")
        .args(["-a", "x", "echo", "x"])
        .run()
        .assert(100, "", USAGE);
    rbl("127.0.0.2")
        .args(["-r", "x"])
        .run()
        .assert(100, "", USAGE);
    let out = rbl("127.0.0.2").args(["-R", "-r", "x", "echo"]).run();
    out.assert(100, "", &format!("rblsmtpd: illegal option -- R\n{USAGE}"));
    let out = rbl("127.0.0.2").args(["-r"]).run();
    out.assert(
        100,
        "",
        &format!("rblsmtpd: option requires an argument -- r\n{USAGE}"),
    );
}

#[test]
fn u15_greeting_delay_is_reachable() {
    // -w and -W are accepted (the reference rejects them); an accepted client is not held.
    let out = rbl("127.0.0.2")
        .env("RBLSMTPD", "")
        .args(["-w", "5", "-W", "-r", "x", "echo", "ok"])
        .run();
    out.assert(0, "ok\n", "");
    assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
}

#[test]
fn session_commands() {
    let out = rbl("10.1.2.3")
        .env("RBLSMTPD", "Go away")
        .env("RBLGREETING", "mx.example")
        .stdin(
            "HELO x\r\nehlo y\nMAIL FROM:<\"a b\"@c>\r\nrcpt to: <u@h>\r\nVRFY u\r\nnoop\r\nrset\r\ndata\r\n\r\n",
        )
        .args(["-r", "x", "echo", "whoops"])
        .run();
    out.assert_code(0);
    assert_eq!(
        out.stdout_str(),
        "220 mx.example\r\n250 mx.example\r\n250 mx.example\r\n250 mx.example\r\n451 Go away\r\n252 mx.example\r\n250 mx.example\r\n250 mx.example\r\n451 Go away\r\n451 Go away\r\n"
    );
    assert_eq!(
        log(&out),
        "rblsmtpd:  pid P from 10.1.2.3: 451 Go away\n\
         rblsmtpd:  pid P from 10.1.2.3: Sender <a b@c>\n\
         rblsmtpd:  pid P from 10.1.2.3: Recipient <u@h>\n\
         rblsmtpd:  pid P from 10.1.2.3: : Session terminated: quitting\n"
    );
}

#[test]
fn rblehlo_advertises_extensions() {
    let out = rbl("10.1.2.3")
        .env("RBLSMTPD", "No")
        .env("RBLEHLO", "1")
        .stdin("EHLO x\r\nquit\r\n")
        .args(["-r", "x", "true"])
        .run();
    assert_eq!(
        out.stdout_str(),
        "220 rblsmtpd.indimail\r\n250-rblsmtpd.indimail\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 HELP\r\n221 rblsmtpd.indimail\r\n"
    );
}

#[test]
fn hostile_input_is_contained() {
    // A 200 kB line, binary bytes and a long message: no crash; the text is cut to 200
    // bytes and control characters show as `?`.
    let mut input = vec![b'x'; 200_000];
    input.extend_from_slice(b"\r\n\x00\xff\x01 mail\r\nMAIL FROM:<");
    input.extend_from_slice(&[b'a'; 1000]);
    input.extend_from_slice(b">\r\nquit\r\n");
    let out = rbl("10.1.2.3")
        .env(
            "RBLSMTPD",
            format!("{}\u{1}{}", "m".repeat(150), "m".repeat(150)),
        )
        .stdin(input)
        .args(["-r", "x", "true"])
        .run();
    out.assert_code(0);
    let msg = format!("451 {}?{}", "m".repeat(150), "m".repeat(49));
    assert_eq!(
        out.stdout_str(),
        format!("220 rblsmtpd.indimail\r\n{msg}\r\n{msg}\r\n250 rblsmtpd.indimail\r\n221 rblsmtpd.indimail\r\n")
    );
    assert!(
        log(&out).contains("from 10.1.2.3: MAIL with too long address\n"),
        "{out:?}"
    );
}

#[test]
fn exec_failure_and_mapped_addresses() {
    let out = rbl("::ffff:10.9.8.7")
        .env("PROTO", "TCP6")
        .env("RBLSMTPD", "bad %IP%")
        .args(["-t0", "-r", "x", "true"])
        .run();
    assert_eq!(out.stdout_str(), "451 bad 10.9.8.7\r\n");
    let out = rbl("10.1.2.3")
        .env("RBLSMTPD", "")
        .args(["-r", "x", "/nonexistent/smtpd"])
        .run();
    out.assert(
        111,
        "",
        "rblsmtpd: fatal: unable to run /nonexistent/smtpd: file does not exist\n",
    );
}

// ----------------------------------------------------------------------------------------
// With lists in DNS (root)

fn dns() -> Option<FakeDns> {
    if !is_root() {
        skip("the fake DNS server needs port 53 (root)");
        return None;
    }
    Some(FakeDns::start().expect("fake DNS"))
}

fn with_dns(dns: &FakeDns, ip: &str) -> Cmd {
    rbl(ip).env("DNSCACHEIP", dns.cache_ip())
}

#[test]
fn txt_listing_refuses_and_b_bounces() {
    let Some(dns) = dns() else { return };
    dns.set(
        "2.0.0.127.rbl.example",
        TXT,
        Answer::Records(vec![txt(&[
            b"Listed, see ",
            b"http://rbl.example/q?127.0.0.2",
        ])]),
    );
    let out = with_dns(&dns, "127.0.0.2")
        .stdin("quit\r\n")
        .args(["-r", "rbl.example", "echo", "whoops"])
        .run();
    out.assert_code(0);
    assert_eq!(
        out.stdout_str(),
        "220 rblsmtpd.indimail\r\n221 rblsmtpd.indimail\r\n"
    );
    assert_eq!(
        log(&out),
        "rblsmtpd:  pid P from 127.0.0.2: 451 Listed, see http://rbl.example/q?127.0.0.2\n"
    );
    let out = with_dns(&dns, "127.0.0.2")
        .args(["-b", "-t0", "-r", "rbl.example", "echo", "whoops"])
        .run();
    assert_eq!(
        out.stdout_str(),
        "553 Listed, see http://rbl.example/q?127.0.0.2\r\n"
    );
    // Not listed: smtpd runs.
    let out = with_dns(&dns, "127.0.0.1")
        .args(["-r", "rbl.example", "echo", "ok"])
        .run();
    out.assert(0, "ok\n", "");
}

#[test]
fn a_listing_with_own_message_and_anti_lists() {
    let Some(dns) = dns() else { return };
    dns.set(
        "5.0.0.10.a.example",
        A,
        Answer::Records(vec![a([127, 0, 0, 2])]),
    );
    dns.set(
        "5.0.0.10.white.example",
        A,
        Answer::Records(vec![a([127, 0, 0, 2])]),
    );
    let out = with_dns(&dns, "10.0.0.5")
        .args(["-t0", "-r", "a.example:blocked %IP% here", "echo", "whoops"])
        .run();
    assert_eq!(out.stdout_str(), "451 blocked 10.0.0.5 here\r\n");
    // The anti-list comes first and wins.
    let out = with_dns(&dns, "10.0.0.5")
        .args([
            "-a",
            "white.example",
            "-r",
            "a.example:blocked",
            "echo",
            "ok",
        ])
        .run();
    out.assert(0, "ok\n", "");
    // The list after the deciding anti-list is not consulted.
    let asked = dns.asked();
    let listed = asked
        .iter()
        .filter(|(n, _)| n == "5.0.0.10.a.example")
        .count();
    assert_eq!(listed, 1, "{asked:?}");
}

#[test]
fn lookup_failures_fail_open_or_closed() {
    let Some(dns) = dns() else { return };
    dns.set("3.0.0.10.bad.example", TXT, Answer::Rcode(2));
    dns.set(
        "3.0.0.10.good.example",
        TXT,
        Answer::Records(vec![txt(&[b"listed"])]),
    );
    // Fail-open: the client passes.
    let out = with_dns(&dns, "10.0.0.3")
        .args(["-r", "bad.example", "echo", "ok"])
        .run();
    out.assert(0, "ok\n", "");
    // Fail-closed: refused with the temporary message.
    let out = with_dns(&dns, "10.0.0.3")
        .args(["-c", "-t0", "-r", "bad.example", "echo", "whoops"])
        .run();
    assert_eq!(out.stdout_str(), "451 temporary RBL lookup error\r\n");
    // A failure earlier forces 451 even with -b.
    let out = with_dns(&dns, "10.0.0.3")
        .args([
            "-b",
            "-t0",
            "-r",
            "bad.example",
            "-r",
            "good.example",
            "echo",
            "whoops",
        ])
        .run();
    assert_eq!(out.stdout_str(), "451 listed\r\n");
}

#[test]
fn ipv6_clients_are_looked_up_by_nibbles() {
    let Some(dns) = dns() else { return };
    let name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.rbl6.example";
    dns.set(name, TXT, Answer::Records(vec![txt(&[b"v6 listed"])]));
    let out = with_dns(&dns, "2001:db8::1")
        .env("PROTO", "TCP6")
        .args(["-t0", "-r", "rbl6.example", "echo", "whoops"])
        .run();
    assert_eq!(out.stdout_str(), "451 v6 listed\r\n", "{:?}", dns.asked());
}

#[test]
fn greeting_delay_waits_and_logs() {
    let Some(dns) = dns() else { return };
    let out = with_dns(&dns, "10.0.0.4")
        .env("GREETDELAY", "1")
        .args(["-r", "rbl.example", "-W", "echo", "ok"])
        .run();
    out.assert_code(0);
    assert_eq!(out.stdout_str(), "ok\n");
    assert_eq!(log(&out), "rblsmtpd:  pid P from 10.0.0.4: greetdelay: 1\n");
    assert!(out.elapsed >= Duration::from_millis(900), "{out:?}");
    let out = with_dns(&dns, "10.0.0.4")
        .args(["-w", "1", "-r", "rbl.example", "echo", "ok"])
        .run();
    assert_eq!(log(&out), "rblsmtpd:  pid P from 10.0.0.4: greetdelay: 1\n");
}
