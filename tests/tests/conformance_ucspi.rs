//! Conformance: tcpserver, tcprules, tcprulescheck, rblsmtpd, dotls, tcpclient and the small
//! UCSPI tools against IndiMail's ucspi-tcp-x. Every case has its own network namespace, so
//! fixed ports are safe, and a DNS server of its own when it needs names (`$DNSD`).

use blackbox::conformance::{case, check, Case};

/// The names the cases resolve: the loopback pair rts.tests assumes ("the DNS cache
/// translates 127.0.0.1<->localhost"), a blocklist entry for 127.0.0.2, a few more names.
const DNS: &str = r#"
cat > dns.table <<'T'
localhost A 127.0.0.1
1.0.0.127.in-addr.arpa PTR localhost
2.0.0.127.in-addr.arpa PTR two.example.org
two.example.org A 127.0.0.2
2.0.0.127.rbl.maps.vix.com TXT Blocked, see http://rbl.example/127.0.0.2
2.0.0.127.rbl.maps.vix.com A 127.0.0.2
2.0.0.127.bl.example TXT listed
2.0.0.127.bl.example A 127.0.0.2
www.example.org A 127.0.0.1
mail.example.org A 127.0.0.1
broken.example.org RCODE 2
T
$DNSD dns.table dns.log & await_listen 53
"#;

fn dcase(id: &str, script: &str) -> Case {
    case(id, &format!("{DNS}\n{script}"))
}

/// IndiMail's own ucspi-tcp-x test script, run as the build runs it (as nobody, with
/// `DISABLE_RUN`), against each side's programs. Its server sends the 6-byte banner
/// `banner`, which the reference never sends (COMPATIBILITY U1, case
/// `tcpserver.banner-short`): the banner is masked here so that the rest is compared.
#[test]
fn rts_tests() {
    check(vec![dcase(
        "tcpserver.rts-tests",
        r#"
mkdir rts; cp "$REF/share/indimail/ucspi-tcp-rts.tests" rts/rts.tests; chown -R nobody:nogroup rts
cd rts && setpriv --reuid=nobody --regid=nogroup --clear-groups \
  env - PATH="$PATH" DISABLE_RUN=1 sh rts.tests 2>&1 | cat -v
"#,
    )
    .mask(r"pid=\d+", "pid=N")
    .mask(r"(?m)^banner(PROTO=)", "$1")
    .timeout(std::time::Duration::from_secs(120))]);
}
