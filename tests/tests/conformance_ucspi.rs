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
3.0.0.127.in-addr.arpa PTR www.example.org
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

/// A case with the names of [`DNS`] served and the [`CLIENT`] functions.
fn dcase(id: &str, script: &str) -> Case {
    ucase(id, &format!("{DNS}\n{script}"))
}

/// A case with the [`CLIENT`] functions, pids masked.
fn ucase(id: &str, script: &str) -> Case {
    case(id, &format!("{CLIENT}\n{script}"))
        .mask(r"pid \d+", "pid P")
        .mask(r"pid=\d+", "pid=P")
        .mask(
            r"(tcpserver|tcpclient): (ok|deny|end|done) \d+ ",
            "$1: $2 P ",
        )
}

/// `talk PORT [INPUT]`: connect to 127.0.0.1:PORT from port 40000 with the reference's
/// tcpclient (the same client for both sides), send INPUT, print what the server sent.
/// `serve ARGS...`: start the side's tcpserver with ARGS in the background, its stderr
/// in `server.log`, and wait until it listens on `$PORT`; `stop` ends it once every
/// connection that ended has its `sigchild` line (under `-v`), so that a busy machine cannot
/// move the end of a connection after the shutdown in the log.
/// `peer HOST PORT PROGRAM...`: the reference's tcpserver (the same server for both sides)
/// on HOST:PORT running PROGRAM, its stderr in `peer.log`, for the client cases.
const CLIENT: &str = r#"
talk() { printf '%b' "${2:-}" | "$REF/bin/tcpclient" -RHl0 -p 40000 127.0.0.1 "$1" sh -c 'exec 3<&0; cat <&3 >&7 & cat <&6'; }
serve() { tcpserver "$@" 2>server.log & SERVER=$!; await_listen "$PORT"; }
stop() { await_cmd reaped "$SERVER"; kill "$SERVER"; wait "$SERVER" 2>/dev/null; }
reaped() {
  _live=0
  for _c in $(cat "/proc/$1/task/$1/children"); do
    [ "$(cut -d' ' -f3 "/proc/$_c/stat" 2>/dev/null)" = Z ] || _live=$((_live+1))
  done
  [ "$(grep -c sigchild server.log)" -ge $(( $(grep -c ': pid [0-9]* from ' server.log) - _live )) ]
}
peer() { _h=$1 _p=$2; shift 2; "$REF/bin/tcpserver" -HRl0 "$_h" "$_p" "$@" 2>peer.log & await_listen "$_p"; }
"#;

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

#[test]
fn tcpserver() {
    #[rustfmt::skip]
    check(vec![
        dcase("tcpserver.no-args", "tcpserver; echo $?"),
        dcase("tcpserver.bad-option", "tcpserver -Z 0 1 true; echo $?"),
        dcase("tcpserver.quiet-bad-option", "tcpserver -q -Z 0 1 true; echo $?"),
        dcase("tcpserver.quiet-no-args", "tcpserver -q; echo $?; tcpserver -q 0; echo $?; tcpserver -q 0 1; echo $?"),
        dcase("tcpserver.quiet-bad-port", "tcpserver -q 127.0.0.1 nosuchport true; echo $?"),
        dcase("tcpserver.missing-arg", "tcpserver -c; echo $?"),
        dcase("tcpserver.bad-port", "tcpserver 127.0.0.1 nosuchport true; echo $?"),
        dcase("tcpserver.unknown-host", "tcpserver nonexistent.local. 50000 true; echo $?"),
        dcase("tcpserver.server-failure", "tcpserver broken.example.org 50000 true; echo $?"),
        dcase("tcpserver.no-dns", "kill %1; wait; tcpserver www.example.org 50000 true; echo $?"),
        dcase("tcpserver.non-local", "tcpserver 1.2.3.4 50000 true; echo $?"),
        dcase("tcpserver.used-port", "PORT=50000; serve 127.0.0.1 50000 true; tcpserver 127.0.0.1 50000 true; echo $?; stop"),
        dcase("tcpserver.main", r#"PORT=50000; serve -v -c 5 -l here 127.0.0.1 50000 sh -c 'echo hello; env | grep -E "^(PROTO|TCP)" | sort; head -n 1'
talk 50000 'line\n'; stop; echo "exit $?"; cat server.log"#),
        dcase("tcpserver.hostnames", r#"PORT=50000; serve -v 127.0.0.1 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort'
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.paranoid", r#"PORT=50000; serve -p -R 127.0.0.1 50000 sh -c 'env | grep -E "^TCP(REMOTEHOST|REMOTEIP|PARANOID)" | sort'
for i in 127.0.0.1 127.0.0.2 127.0.0.3; do "$REF/bin/tcpclient" -RHl0 -i $i 127.0.0.1 50000 sh -c 'cat <&6'; done; stop"#),
        dcase("tcpserver.no-names", r#"PORT=50000; serve -H -R -l0 127.0.0.1 50000 sh -c 'env | grep -E "^TCP" | sort'
talk 50000; stop"#),
        dcase("tcpserver.dnscacheip", r#"cp dns.table t2; $DNSD t2 dns2.log 127.0.0.53 & await_cmd sh -c 'grep -q ":0035 " /proc/net/udp'
kill %1
PORT=50000; DNSCACHEIP=127.0.0.53 serve www.example.org 50000 sh -c 'env | grep -E "^TCP(LOCAL|REMOTE)HOST" | sort'
talk 50000; stop; sort dns2.log"#),
        dcase("tcpserver.localdomain", r#"PORT=50000; LOCALDOMAIN=example.org serve -H -R www 50000 echo bound
talk 50000; stop; sort dns.log"#),
        dcase("tcpserver.dnsrewrite", r#"printf '?:.example.org\n' > rewrite; PORT=50000; DNSREWRITEFILE=$PWD/rewrite serve -H -R mail 50000 echo bound
talk 50000; stop; sort dns.log"#),
        dcase("tcpserver.rules", r#"printf '127.0.0.1:allow,WHO="local",X=1\n:deny\n' | tcprules r.cdb r.tmp
PORT=50000; serve -v -H -R -x r.cdb 127.0.0.1 50000 sh -c 'echo "WHO=$WHO X=$X"'
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.rules-deny", r#"printf '127.0.0.1:deny\n' | tcprules r.cdb r.tmp
PORT=50000; serve -v -H -R -x r.cdb 127.0.0.1 50000 echo never
talk 50000; echo "client $?"; stop; cat server.log"#),
        dcase("tcpserver.rules-missing", r#"PORT=50000; serve -v -H -R -x nosuch.cdb 127.0.0.1 50000 echo ok
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.rules-bad", r#"echo garbage > bad.cdb; PORT=50000; serve -v -H -R -x bad.cdb 127.0.0.1 50000 echo ok
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.banner-short", r#"PORT=50000; serve -H -R -B hi 127.0.0.1 50000 echo prog
talk 50000; stop"#),
        dcase("tcpserver.banner-long", r#"PORT=50000; serve -H -R -B 'a banner of more than sixteen bytes ' 127.0.0.1 50000 echo prog
talk 50000; stop"#),
        dcase("tcpserver.unable-to-run", r#"PORT=50000; serve -v -H -R 127.0.0.1 50000 ./nonexistent
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.unknown-user", "tcpserver -u nosuchuser 127.0.0.1 50000 true; echo $?"),
        dcase("tcpserver.unknown-group", "tcpserver -g nosuchgroup 127.0.0.1 50000 true; echo $?"),
        dcase("tcpserver.user-unknown-group", "tcpserver -u nobody -g nosuchgroup 127.0.0.1 50000 true; echo $?"),
        dcase("tcpserver.user", r#"PORT=50000; serve -H -R -u daemon 127.0.0.1 50000 id
talk 50000; stop"#),
        dcase("tcpserver.user-groups", r#"PORT=50000; serve -H -R -u nobody -g adm,7 127.0.0.1 50000 id
talk 50000; stop"#),
        dcase("tcpserver.numeric-ids", r#"PORT=50000; serve -H -R -u 65534 -g 65534 127.0.0.1 50000 id
talk 50000; stop"#),
        dcase("tcpserver.env-ids", r#"env UID=1 GID=1 tcpserver -H -R -U 127.0.0.1 50000 id & await_listen 50000
talk 50000; kill %2"#),
        dcase("tcpserver.qpwgr", r#"printf 'ghost:x:65534:65534::/:/bin/sh\n' > passwd; printf 'ghosts:x:1234:ghost\n' > group
PORT=50000; USE_QPWGR=1 PASSWD_FILE=$PWD/passwd GROUP_FILE=$PWD/group serve -H -R -u ghost 127.0.0.1 50000 id
talk 50000; stop"#),
        dcase("tcpserver.qpwgr-files", r#"printf '# accounts\n\nghost:x:65534:65534::/:/bin/sh\nshort:x:1\nlate:x:1:1::/:/bin/sh\n' > passwd
printf 'a:x:1234: ghost\nb:x:1235:x,ghost\nc:x:1236\nd:x:1237:ghost\n' > group
export USE_QPWGR=1 PASSWD_FILE=$PWD/passwd GROUP_FILE=$PWD/group
PORT=50000; serve -H -R -u ghost -g adm 127.0.0.1 50000 id
talk 50000; stop
tcpserver -u late 127.0.0.1 50000 true; echo $?
printf '' > passwd; tcpserver -u late 127.0.0.1 50000 true; echo $?
printf 'late:x:1:1::/:/bin/sh' > passwd; tcpserver -u late 127.0.0.1 50000 true; echo $?
printf 'late:x:1:1::/:/bin/sh\n' > passwd; GROUP_FILE=/nonexistent serve -H -R -u late 127.0.0.1 50000 id
talk 50000; stop"#),
        dcase("tcpserver.qpwgr-not-root", r#"printf 'ghost:x:65534:65534::/:/bin/sh\n' > passwd
setpriv --reuid=nobody --regid=nogroup --clear-groups env USE_QPWGR=1 PASSWD_FILE=$PWD/passwd tcpserver -u ghost 127.0.0.1 50000 true; echo $?"#),
        dcase("tcpserver.qpwgr-missing-file", "USE_QPWGR=1 PASSWD_FILE=/nonexistent tcpserver -u nobody 127.0.0.1 50000 true; echo $?"),
        dcase("tcpserver.qpwgr-unset", "PASSWD_FILE=/nonexistent tcpserver -u nosuchuser 127.0.0.1 50000 true; echo $?"),
        dcase("tcpserver.limit", r#"PORT=50000; serve -v -H -R -c 1 127.0.0.1 50000 sh -c 'echo busy; sleep 100'
"$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c 'cat <&6 > first' & await_grep busy first
timeout 1 "$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c 'cat <&6'; echo "second client $?"; stop; grep -c 'status: 1/1' server.log"#),
        dcase("tcpserver.per-host-limit", r#"PORT=50000; serve -v -H -R -C 1 127.0.0.1 50000 sh -c 'echo busy; sleep 100'
"$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c 'cat <&6 > first' & await_grep busy first
talk 50000; echo "client $?"; stop; grep -v 'status\|^tcpserver: pid\|ok ' server.log"#),
        dcase("tcpserver.quiet", r#"PORT=50000; serve -q -H -R 127.0.0.1 50000 ./nonexistent
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.ipv6", r#"PORT=50000; serve -v -H -R ::1 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort'
"$REF/bin/tcpclient" -RHl0 -p 40000 ::1 50000 sh -c 'cat <&6'; stop; cat server.log"#),
        dcase("tcpserver.dual-stack", r#"PORT=50000; serve -v -H -R 0 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort'
talk 50000; stop; cat server.log"#),
        dcase("tcpserver.local-port-zero", r#"tcpserver -1 -H -R 127.0.0.1 0 true > port & p=$!; await_file port; sleep 0.2; kill $p; grep -c '^[0-9][0-9]*$' port"#),
    ]);
}

#[test]
#[rustfmt::skip]
fn tcprules() {
    // Every kind of rule line; the cdb is compared byte for byte, then read back.
    const RULES: &str = r#"cat > rules <<'R'
# a comment
127.0.0.1:allow,WHO="local",X=/a,b/
10.1.2.3-5:deny
192.168.:allow,NET="private"
=host.example.org:allow,NAME="yes"
=.example.org:allow,DOMAIN="yes"
joe@127.0.0.2:allow,IDENT="joe"
:allow,!TCPREMOTEINFO,DEFAULT="a b"

127.0.0.9:deny
R
"#;
    check(vec![
        case("tcprules.no-args", "tcprules; echo $?"),
        case("tcprules.one-arg", "tcprules r.cdb; echo $?"),
        case("tcprules.main", &format!(r#"{RULES}tcprules r.cdb r.tmp < rules; echo $?; ls; od -An -c r.cdb | md5sum
for ip in 127.0.0.1 10.1.2.4 10.1.2.6 192.168.7.7 127.0.0.9 8.8.8.8; do TCPREMOTEIP=$ip tcprulescheck r.cdb; done
TCPREMOTEIP=1.1.1.1 TCPREMOTEHOST=host.example.org tcprulescheck r.cdb
TCPREMOTEIP=1.1.1.1 TCPREMOTEHOST=www.example.org tcprulescheck r.cdb
TCPREMOTEIP=127.0.0.2 TCPREMOTEINFO=joe tcprulescheck r.cdb"#)),
        case("tcprules.replace", "echo ':deny' | tcprules r.cdb r.tmp; echo ':allow' | tcprules r.cdb r.tmp; echo $?; TCPREMOTEIP=1.2.3.4 tcprulescheck r.cdb"),
        case("tcprules.empty", "tcprules r.cdb r.tmp < /dev/null; echo $?; od -An -c r.cdb | md5sum; TCPREMOTEIP=1.2.3.4 tcprulescheck r.cdb"),
        case("tcprules.bad-line", "printf '127.0.0.1:allow\\n127.0.0.2\\n' | tcprules r.cdb r.tmp; echo $?; ls"),
        case("tcprules.blank-line", "printf '127.0.0.1:allow\\n   \\n' | tcprules r.cdb r.tmp; echo $?; ls"),
        case("tcprules.bad-instruction", "printf '127.0.0.1:maybe\\n' | tcprules r.cdb r.tmp; echo $?; ls"),
        case("tcprules.bad-variable", "printf '127.0.0.1:allow,X\\n' | tcprules r.cdb r.tmp; echo $?; ls"),
        case("tcprules.unterminated", "printf '127.0.0.1:allow,X=\"abc\\n' | tcprules r.cdb r.tmp; echo $?; ls"),
        case("tcprules.last-line-no-newline", "printf '127.0.0.1:deny' | tcprules r.cdb r.tmp; echo $?; TCPREMOTEIP=127.0.0.1 tcprulescheck r.cdb"),
        case("tcprules.tmp-unwritable", "echo ':deny' | tcprules r.cdb nodir/r.tmp; echo $?; ls"),
        case("tcprules.cdb-unwritable", "echo ':deny' | tcprules nodir/r.cdb r.tmp; echo $?; ls"),
    ]);
}

#[test]
#[rustfmt::skip]
fn tcprulescheck() {
    check(vec![
        case("tcprulescheck.no-args", "tcprulescheck; echo $?"),
        case("tcprulescheck.missing-file", "TCPREMOTEIP=1.2.3.4 tcprulescheck nosuch.cdb; echo $?"),
        case("tcprulescheck.bad-cdb", "echo garbage > bad.cdb; TCPREMOTEIP=1.2.3.4 tcprulescheck bad.cdb; echo $?"),
        case("tcprulescheck.no-ip", "echo ':allow,X=\"1\"' | tcprules r.cdb r.tmp; tcprulescheck r.cdb; echo $?"),
        case("tcprulescheck.main", r#"printf '1.2.3.4:deny\n1.2.:allow,A="1",B="two words"\n=.example.org:allow,D="1"\n' | tcprules r.cdb r.tmp
for ip in 1.2.3.4 1.2.9.9 9.9.9.9; do TCPREMOTEIP=$ip tcprulescheck r.cdb; echo $?; done
TCPREMOTEIP=9.9.9.9 TCPREMOTEHOST=a.example.org tcprulescheck r.cdb; echo $?"#),
        case("tcprulescheck.ipv6", r#"printf '::1:allow,SIX="1"\n:deny\n' | tcprules r.cdb r.tmp
TCPREMOTEIP=::1 tcprulescheck r.cdb; echo $?; TCPREMOTEIP=::2 tcprulescheck r.cdb; echo $?"#),
    ]);
}

#[test]
#[rustfmt::skip]
fn rblsmtpd() {
    // An SMTP session a refused client would have.
    const SMTP: &str = r#"printf 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nQUIT\r\n' > smtp"#;
    let smtpcase = |id: &str, script: &str| dcase(id, &format!("{SMTP}\n{script}"));
    check(vec![
        smtpcase("rblsmtpd.no-args", "rblsmtpd; echo $?"),
        smtpcase("rblsmtpd.bad-option", "rblsmtpd -Z true; echo $?"),
        smtpcase("rblsmtpd.no-program", "rblsmtpd -r rbl.maps.vix.com; echo $?"),
        smtpcase("rblsmtpd.not-listed", "TCPREMOTEIP=127.0.0.1 rblsmtpd -r rbl.maps.vix.com echo passed < smtp; echo $?"),
        smtpcase("rblsmtpd.listed", "TCPREMOTEIP=127.0.0.2 rblsmtpd -r rbl.maps.vix.com echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.listed-b", "TCPREMOTEIP=127.0.0.2 rblsmtpd -b -r rbl.maps.vix.com echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.listed-message", "TCPREMOTEIP=127.0.0.2 rblsmtpd -r 'bl.example:go away' echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.listed-message-fail-closed", "TCPREMOTEIP=127.0.0.2 rblsmtpd -c -r 'bl.example:go away' echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.anti-list-not-listed", "TCPREMOTEIP=127.0.0.2 rblsmtpd -a nosuch.example -r rbl.maps.vix.com echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.anti-list", "TCPREMOTEIP=127.0.0.2 rblsmtpd -a bl.example -r rbl.maps.vix.com echo passed < smtp; echo $?"),
        smtpcase("rblsmtpd.env-empty", "TCPREMOTEIP=127.0.0.2 RBLSMTPD= rblsmtpd -r rbl.maps.vix.com echo passed < smtp; echo $?"),
        smtpcase("rblsmtpd.env-text", "TCPREMOTEIP=127.0.0.1 RBLSMTPD='not welcome' rblsmtpd echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.env-permanent", "TCPREMOTEIP=127.0.0.1 RBLSMTPD='-not welcome' rblsmtpd echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.no-ip", "rblsmtpd -r rbl.maps.vix.com echo passed < smtp | cat -v; echo $?"),
        smtpcase("rblsmtpd.unable-to-run", "TCPREMOTEIP=127.0.0.1 rblsmtpd -r rbl.maps.vix.com ./nonexistent < smtp; echo $?"),
        smtpcase("rblsmtpd.under-tcpserver", r#"PORT=50000; serve -H -R 127.0.0.2 50000 rblsmtpd -r rbl.maps.vix.com echo passed
printf 'HELO x\r\nQUIT\r\n' | "$REF/bin/tcpclient" -RHl0 -i 127.0.0.2 127.0.0.2 50000 sh -c 'exec 3<&0; cat <&3 >&7 & cat <&6' | cat -v; stop; cat server.log"#),
    ]);
}

#[test]
#[rustfmt::skip]
fn dotls() {
    // A certificate for the server side, and an SMTP program behind dotls.
    const CERT: &str = r#"openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out ca.pem -days 3650 -subj /CN=localhost 2>/dev/null
cat key.pem ca.pem > cert.pem; chmod 600 cert.pem
cat > smtpd <<'S'
#!/bin/sh
printf '220 ready\r\n'
while read -r l; do
  case "$l" in
    EHLO*) printf '250-me\r\n250 PIPELINING\r\n' ;;
    QUIT*) printf '221 bye\r\n'; exit 0 ;;
    *) printf '250 ok\r\n' ;;
  esac
done
S
chmod +x smtpd
chat() { "$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c '
  read -r l <&6; echo "$l"
  printf "EHLO x\r\n" >&7
  while read -r l <&6; do echo "$l"; case "$l" in 250\ *) break;; esac; done
  printf "NOOP\r\n" >&7; read -r l <&6; echo "$l"
  printf "QUIT\r\n" >&7; read -r l <&6; echo "$l"' | cat -v; }
"#;
    let tlscase = |id: &str, script: &str| ucase(id, &format!("{CERT}\n{script}"));
    check(vec![
        ucase("dotls.no-args", "dotls; echo $?"),
        ucase("dotls.bad-option", "dotls -Z true; echo $?"),
        ucase("dotls.no-certificate", "dotls -d $PWD true < /dev/null; echo $?"),
        tlscase("dotls.starttls-offered", "PORT=50000; serve -H -R 127.0.0.1 50000 dotls -d $PWD -n $PWD/cert.pem -c $PWD/ca.pem -s smtp ./smtpd\nchat; stop; cat server.log"),
        tlscase("dotls.notls", "PORT=50000; NOTLS=1 serve -H -R 127.0.0.1 50000 dotls -d $PWD -n $PWD/cert.pem -s smtp ./smtpd\nchat; stop; cat server.log"),
        tlscase("dotls.unable-to-run", "PORT=50000; serve -H -R 127.0.0.1 50000 dotls -d $PWD -n $PWD/cert.pem -c $PWD/ca.pem -s smtp ./nonexistent\nchat; stop; cat server.log"),
    ]);
}

#[test]
#[rustfmt::skip]
fn tcpclient() {
    check(vec![
        dcase("tcpclient.no-args", "tcpclient; echo $?"),
        dcase("tcpclient.bad-option", "tcpclient -Z 127.0.0.1 50000 true; echo $?"),
        dcase("tcpclient.one-arg", "tcpclient 127.0.0.1; echo $?"),
        dcase("tcpclient.bad-port", "tcpclient 127.0.0.1 nosuchport true; echo $?"),
        dcase("tcpclient.port-too-big", "tcpclient 127.0.0.1 65536 true; echo $?"),
        dcase("tcpclient.unknown-host", "tcpclient nonexistent.example.org 50000 true; echo $?"),
        dcase("tcpclient.server-failure", "tcpclient broken.example.org 50000 true; echo $?"),
        dcase("tcpclient.refused", "tcpclient -p 40000 127.0.0.1 50000 true; echo $?"),
        dcase("tcpclient.bad-local-ip", "peer 127.0.0.1 50000 echo hi; tcpclient -i 1.2.3.4 127.0.0.1 50000 true; echo $?"),
        dcase("tcpclient.main", r#"peer 127.0.0.1 50000 sh -c 'echo hello; head -n 1'
echo line | tcpclient -p 40000 127.0.0.1 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort; cat >&7; cat <&6'; echo $?"#),
        dcase("tcpclient.names", r#"peer 127.0.0.1 50000 echo hi
tcpclient -p 40000 -l me.example 127.0.0.1 50000 sh -c 'env | grep -E "^TCP" | sort; cat <&6'
tcpclient -H -R -l0 127.0.0.1 50000 sh -c 'env | grep -E "^TCP(LOCAL|REMOTE)HOST" | sort'; echo $?"#),
        dcase("tcpclient.by-name", r#"peer 127.0.0.1 50000 echo hi
tcpclient -RHl0 www.example.org 50000 sh -c 'cat <&6'; tcpclient -v -RHl0 localhost 50000 sh -c 'cat <&6'; echo $?"#),
        dcase("tcpclient.ipv6", r#"peer ::1 50000 echo hi
tcpclient -RHl0 -p 40000 ::1 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort; cat <&6'; tcpclient -RHl0 0 50000 sh -c 'cat <&6'; echo $?"#),
        dcase("tcpclient.program-exit", "peer 127.0.0.1 50000 echo hi; tcpclient -RHl0 127.0.0.1 50000 sh -c 'exit 7'; echo $?"),
        dcase("tcpclient.unable-to-run", "peer 127.0.0.1 50000 echo hi; tcpclient -RHl0 127.0.0.1 50000 ./nonexistent; echo $?"),
        dcase("tcpclient.verbose", "peer 127.0.0.1 50000 echo hi; tcpclient -v -RHl0 -p 40000 127.0.0.1 50000 sh -c 'cat <&6'; echo $?"),
    ]);
}

#[test]
#[rustfmt::skip]
fn small_tools() {
    check(vec![
        ucase("addcr.main", "printf 'a\\nb\\r\\n\\nc' | addcr | od -An -c; echo $?"),
        ucase("addcr.read-error", "addcr < /; echo $?"),
        ucase("addcr.args-ignored", "printf 'x\\n' | addcr -Z foo | od -An -c; echo $?"),
        ucase("delcr.main", "printf 'a\\r\\nb\\rc\\r\\r\\nd\\r' | delcr | od -An -c; echo $?"),
        ucase("delcr.read-error", "delcr < /; echo $?"),
        ucase("delcr.args-ignored", "printf 'x\\r\\n' | delcr -Z foo | od -An -c; echo $?"),
        ucase("fixcrio.usage", "fixcrio; echo $?"),
        ucase("fixcrio.main", r#"printf 'in1\nin2\r\n' | fixcrio sh -c 'cat | od -An -c; printf "out1\nout2\r\n"' | od -An -c; echo $?"#),
        ucase("fixcrio.unable-to-run", "fixcrio ./nonexistent < /dev/null; echo $?"),
        ucase("recordio.usage", "recordio; echo $?"),
        // One write each way, so that each direction is one chunk.
        ucase("recordio.main", r#"printf 'hello\npartial' | recordio sh -c 'cat > in; printf "out1\n\nout2 partial"; exit 3' > out 2>log; echo $?
await_grep '> \[EOF\]' log; cat in; echo; cat out; echo; sed 's/^[0-9]* /P /' log"#),
        // The copier outlives the program, so its last lines come in any order.
        ucase("recordio.unable-to-run", r#"recordio ./nonexistent < /dev/null 2>log; echo $?
await_grep '> \[EOF\]' log; await_grep '< \[EOF\]' log; sed 's/^[0-9]* /P /' log | sort"#),
        ucase("argv0.usage", "argv0; echo $?; argv0 sh; echo $?"),
        ucase("argv0.main", "argv0 sh renamed -c 'echo $0 $1' x; echo $?"),
        ucase("argv0.unable-to-run", "argv0 ./nonexistent name; echo $?"),
        ucase("mconnect-io.main", r#"peer 127.0.0.1 50000 sh -c 'echo 220 hi; head -n 2 | od -An -c'
printf 'HELO x\nQUIT\n' | "$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 mconnect-io; echo $?"#),
        ucase("mconnect-io.no-network", "mconnect-io < /dev/null; echo $?"),
    ]);
}

/// The client scripts, each against the reference's tcpserver on the port it uses.
#[test]
#[rustfmt::skip]
fn client_scripts() {
    check(vec![
        ucase("mconnect.main", r#"peer ::1 25 sh -c 'echo 220 hi; head -n 1 | od -An -c'
echo 'HELO x' | mconnect; echo $?"#),
        ucase("mconnect.host-port", r#"peer 127.0.0.1 2525 sh -c 'echo 220 hi'
mconnect 127.0.0.1 2525 < /dev/null; echo $?"#),
        ucase("mconnect.refused", "mconnect 127.0.0.1 2525 < /dev/null; echo $?"),
        ucase("tcpcat.main", r#"peer ::1 17 echo quote; tcpcat; echo $?; tcpcat 0 17; echo $?"#),
        ucase("tcpcat.refused", "tcpcat 127.0.0.1 17; echo $?"),
        ucase("who@.main", r#"peer ::1 11 printf 'root tty1\r\n\001\r\n'; who@; echo $?"#),
        ucase("who@.refused", "who@ 127.0.0.1; echo $?"),
        ucase("date@.main", r#"peer 127.0.0.1 13 printf 'Mon Jan  1 00:00:00 2024\r\n'; date@ 127.0.0.1; echo $?"#),
        ucase("date@.refused", "date@; echo $?"),
        ucase("finger@.main", r#"peer ::1 79 sh -c 'read -r l; printf "asked: %s\r\n" "$l" | od -An -c'; finger@; finger@ 0 joe; echo $?"#),
        ucase("finger@.refused", "finger@ 127.0.0.1 joe; echo $?"),
        ucase("http@.main", r#"peer ::1 80 sh -c 'head -n 3 | od -An -c > /dev/stderr; printf "HTTP/1.0 200 OK\r\nX: y\r\n\r\nbody line\r\n"' 
http@; echo $?; cat peer.log"#),
        ucase("http@.path-port", r#"peer 127.0.0.1 8080 sh -c 'head -n 3 | od -An -c > /dev/stderr; printf "HTTP/1.0 200 OK\r\n\r\nbody\r\n"'
http@ 127.0.0.1 index.html 8080; echo $?; cat peer.log"#),
        ucase("http@.refused", "http@ 127.0.0.1; echo $?"),
    ]);
}
