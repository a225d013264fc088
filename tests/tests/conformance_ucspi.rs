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

fn dcase(id: &str, script: &str) -> Case {
    case(id, &format!("{DNS}\n{CLIENT}\n{script}"))
        .mask(r"pid \d+", "pid P")
        .mask(r"pid=\d+", "pid=P")
        .mask(r"tcpserver: (ok|deny|end|done) \d+ ", "tcpserver: $1 P ")
}

/// `talk PORT [INPUT]`: connect to 127.0.0.1:PORT from port 40000 with the reference's
/// tcpclient (the same client for both sides), send INPUT, print what the server sent.
/// `serve ARGS...`: start the side's tcpserver with ARGS in the background, its stderr
/// in `server.log`, and wait until it listens on the port (the argument before the program:
/// cases put the port third from the end or name it with `PORT=`).
const CLIENT: &str = r#"
talk() { printf '%b' "${2:-}" | "$REF/bin/tcpclient" -RHl0 -p 40000 127.0.0.1 "$1" sh -c 'exec 3<&0; cat <&3 >&7 & cat <&6'; }
serve() { tcpserver "$@" 2>server.log & SERVER=$!; await_listen "$PORT"; }
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null; }
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
    let c = dcase;
    check(vec![
        c("tcpserver.no-args", "tcpserver; echo $?"),
        c("tcpserver.bad-option", "tcpserver -Z 0 1 true; echo $?"),
        c("tcpserver.quiet-bad-option", "tcpserver -q -Z 0 1 true; echo $?"),
        c("tcpserver.quiet-no-args", "tcpserver -q; echo $?; tcpserver -q 0; echo $?; tcpserver -q 0 1; echo $?"),
        c("tcpserver.quiet-bad-port", "tcpserver -q 127.0.0.1 nosuchport true; echo $?"),
        c("tcpserver.missing-arg", "tcpserver -c; echo $?"),
        c("tcpserver.bad-port", "tcpserver 127.0.0.1 nosuchport true; echo $?"),
        c("tcpserver.unknown-host", "tcpserver nonexistent.local. 50000 true; echo $?"),
        c("tcpserver.server-failure", "tcpserver broken.example.org 50000 true; echo $?"),
        c("tcpserver.no-dns", "kill %1; wait; tcpserver www.example.org 50000 true; echo $?"),
        c("tcpserver.non-local", "tcpserver 1.2.3.4 50000 true; echo $?"),
        c("tcpserver.used-port", "PORT=50000; serve 127.0.0.1 50000 true; tcpserver 127.0.0.1 50000 true; echo $?; stop"),
        c("tcpserver.main", r#"PORT=50000; serve -v -c 5 -l here 127.0.0.1 50000 sh -c 'echo hello; env | grep -E "^(PROTO|TCP)" | sort; head -n 1'
talk 50000 'line\n'; stop; echo "exit $?"; cat server.log"#),
        c("tcpserver.hostnames", r#"PORT=50000; serve -v 127.0.0.1 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort'
talk 50000; stop; cat server.log"#),
        c("tcpserver.paranoid", r#"PORT=50000; serve -p -R 127.0.0.1 50000 sh -c 'env | grep -E "^TCP(REMOTEHOST|REMOTEIP|PARANOID)" | sort'
for i in 127.0.0.1 127.0.0.2 127.0.0.3; do "$REF/bin/tcpclient" -RHl0 -i $i 127.0.0.1 50000 sh -c 'cat <&6'; done; stop"#),
        c("tcpserver.no-names", r#"PORT=50000; serve -H -R -l0 127.0.0.1 50000 sh -c 'env | grep -E "^TCP" | sort'
talk 50000; stop"#),
        c("tcpserver.dnscacheip", r#"cp dns.table t2; $DNSD t2 dns2.log 127.0.0.53 & await_cmd sh -c 'grep -q ":0035 " /proc/net/udp'
kill %1
PORT=50000; DNSCACHEIP=127.0.0.53 serve www.example.org 50000 sh -c 'env | grep -E "^TCP(LOCAL|REMOTE)HOST" | sort'
talk 50000; stop; sort dns2.log"#),
        c("tcpserver.localdomain", r#"PORT=50000; LOCALDOMAIN=example.org serve -H -R www 50000 echo bound
talk 50000; stop; sort dns.log"#),
        c("tcpserver.dnsrewrite", r#"printf '?:.example.org\n' > rewrite; PORT=50000; DNSREWRITEFILE=$PWD/rewrite serve -H -R mail 50000 echo bound
talk 50000; stop; sort dns.log"#),
        c("tcpserver.rules", r#"printf '127.0.0.1:allow,WHO="local",X=1\n:deny\n' | tcprules r.cdb r.tmp
PORT=50000; serve -v -H -R -x r.cdb 127.0.0.1 50000 sh -c 'echo "WHO=$WHO X=$X"'
talk 50000; stop; cat server.log"#),
        c("tcpserver.rules-deny", r#"printf '127.0.0.1:deny\n' | tcprules r.cdb r.tmp
PORT=50000; serve -v -H -R -x r.cdb 127.0.0.1 50000 echo never
talk 50000; echo "client $?"; stop; cat server.log"#),
        c("tcpserver.rules-missing", r#"PORT=50000; serve -v -H -R -x nosuch.cdb 127.0.0.1 50000 echo ok
talk 50000; stop; cat server.log"#),
        c("tcpserver.rules-bad", r#"echo garbage > bad.cdb; PORT=50000; serve -v -H -R -x bad.cdb 127.0.0.1 50000 echo ok
talk 50000; stop; cat server.log"#),
        c("tcpserver.banner-short", r#"PORT=50000; serve -H -R -B hi 127.0.0.1 50000 echo prog
talk 50000; stop"#),
        c("tcpserver.banner-long", r#"PORT=50000; serve -H -R -B 'a banner of more than sixteen bytes ' 127.0.0.1 50000 echo prog
talk 50000; stop"#),
        c("tcpserver.unable-to-run", r#"PORT=50000; serve -v -H -R 127.0.0.1 50000 ./nonexistent
talk 50000; stop; cat server.log"#),
        c("tcpserver.unknown-user", "tcpserver -u nosuchuser 127.0.0.1 50000 true; echo $?"),
        c("tcpserver.unknown-group", "tcpserver -g nosuchgroup 127.0.0.1 50000 true; echo $?"),
        c("tcpserver.user-unknown-group", "tcpserver -u nobody -g nosuchgroup 127.0.0.1 50000 true; echo $?"),
        c("tcpserver.user", r#"PORT=50000; serve -H -R -u daemon 127.0.0.1 50000 id
talk 50000; stop"#),
        c("tcpserver.user-groups", r#"PORT=50000; serve -H -R -u nobody -g adm,7 127.0.0.1 50000 id
talk 50000; stop"#),
        c("tcpserver.numeric-ids", r#"PORT=50000; serve -H -R -u 65534 -g 65534 127.0.0.1 50000 id
talk 50000; stop"#),
        c("tcpserver.env-ids", r#"env UID=1 GID=1 tcpserver -H -R -U 127.0.0.1 50000 id & await_listen 50000
talk 50000; kill %2"#),
        c("tcpserver.qpwgr", r#"printf 'ghost:x:65534:65534::/:/bin/sh\n' > passwd; printf 'ghosts:x:1234:ghost\n' > group
PORT=50000; USE_QPWGR=1 PASSWD_FILE=$PWD/passwd GROUP_FILE=$PWD/group serve -H -R -u ghost 127.0.0.1 50000 id
talk 50000; stop"#),
        c("tcpserver.qpwgr-files", r#"printf '# accounts\n\nghost:x:65534:65534::/:/bin/sh\nshort:x:1\nlate:x:1:1::/:/bin/sh\n' > passwd
printf 'a:x:1234: ghost\nb:x:1235:x,ghost\nc:x:1236\nd:x:1237:ghost\n' > group
export USE_QPWGR=1 PASSWD_FILE=$PWD/passwd GROUP_FILE=$PWD/group
PORT=50000; serve -H -R -u ghost -g adm 127.0.0.1 50000 id
talk 50000; stop
tcpserver -u late 127.0.0.1 50000 true; echo $?
printf '' > passwd; tcpserver -u late 127.0.0.1 50000 true; echo $?
printf 'late:x:1:1::/:/bin/sh' > passwd; tcpserver -u late 127.0.0.1 50000 true; echo $?
printf 'late:x:1:1::/:/bin/sh\n' > passwd; GROUP_FILE=/nonexistent serve -H -R -u late 127.0.0.1 50000 id
talk 50000; stop"#),
        c("tcpserver.qpwgr-not-root", r#"printf 'ghost:x:65534:65534::/:/bin/sh\n' > passwd
setpriv --reuid=nobody --regid=nogroup --clear-groups env USE_QPWGR=1 PASSWD_FILE=$PWD/passwd tcpserver -u ghost 127.0.0.1 50000 true; echo $?"#),
        c("tcpserver.qpwgr-missing-file", "USE_QPWGR=1 PASSWD_FILE=/nonexistent tcpserver -u nobody 127.0.0.1 50000 true; echo $?"),
        c("tcpserver.qpwgr-unset", "PASSWD_FILE=/nonexistent tcpserver -u nosuchuser 127.0.0.1 50000 true; echo $?"),
        c("tcpserver.limit", r#"PORT=50000; serve -v -H -R -c 1 127.0.0.1 50000 sh -c 'echo busy; sleep 100'
"$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c 'cat <&6 > first' & await_grep busy first
timeout 1 "$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c 'cat <&6'; echo "second client $?"; stop; grep -c 'status: 1/1' server.log"#),
        c("tcpserver.per-host-limit", r#"PORT=50000; serve -v -H -R -C 1 127.0.0.1 50000 sh -c 'echo busy; sleep 100'
"$REF/bin/tcpclient" -RHl0 127.0.0.1 50000 sh -c 'cat <&6 > first' & await_grep busy first
talk 50000; echo "client $?"; stop; grep -v 'status\|^tcpserver: pid\|ok ' server.log"#),
        c("tcpserver.quiet", r#"PORT=50000; serve -q -H -R 127.0.0.1 50000 ./nonexistent
talk 50000; stop; cat server.log"#),
        c("tcpserver.ipv6", r#"PORT=50000; serve -v -H -R ::1 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort'
"$REF/bin/tcpclient" -RHl0 -p 40000 ::1 50000 sh -c 'cat <&6'; stop; cat server.log"#),
        c("tcpserver.dual-stack", r#"PORT=50000; serve -v -H -R 0 50000 sh -c 'env | grep -E "^(PROTO|TCP)" | sort'
talk 50000; stop; cat server.log"#),
        c("tcpserver.local-port-zero", r#"tcpserver -1 -H -R 127.0.0.1 0 true > port & p=$!; await_file port; sleep 0.2; kill $p; grep -c '^[0-9][0-9]*$' port"#),
    ]);
}
