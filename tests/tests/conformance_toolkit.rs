//! Conformance: the toolkit programs (spipe, multipipe, teepipe, logselect, qlogselect,
//! inotify, installer, uinstaller, instcheck) against IndiMail's own.

use blackbox::conformance::{case, check, Case};

/// `label SECS NANOS`: a TAI64N label; `tree PATH...`: every file under PATH (type, mode,
/// owner, name, link target) with the contents of regular files; `qlogselect`: the side's
/// qlogselect, the reference's Perl script run by the system's perl (its `#!` names a perl
/// under the reference's prefix).
const TOOLS: &str = r#"
label() { printf '@%016x%08x' $((0x400000000000000a + $1)) "$2"; }
tree() {
  find "$@" -printf '%y %m %U:%G %p %l\n' | LC_ALL=C sort
  find "$@" -type f | LC_ALL=C sort | while IFS= read -r _f; do echo "== $_f"; cat -v "$_f"; done
}
qlogselect() {
  _q=$(type -P qlogselect)
  case $(head -c 2 "$_q") in '#!') perl "$_q" "$@" ;; *) "$_q" "$@" ;; esac
}
"#;

fn tcase(id: &str, script: &str) -> Case {
    case(id, &format!("{TOOLS}\n{script}"))
}

/// Multilog directories with labelled lines around the times 1000 (`start`) and 2000
/// (`stop`), and a file `late` stamped 1550.
const LOG_TREE: &str = r#"
mkdir logs
{ echo "$(label 800 0) old"; echo "$(label 999 5) just before"; } > "logs/$(label 900 0).s"
{ echo "$(label 1000 0) start"; echo unstamped; echo "$(label 1400 0) in"; } > "logs/$(label 1500 0).u"
{ echo "$(label 1600 0) in too"; echo @short; echo "$(label 2000 0) stop"; echo "$(label 2100 0) late"; } > logs/current
touch -d @1000 start; touch -d @2000 stop; touch -d @1550 late
"#;

/// A qmail-send log.
const QLOG: &str = r#"
cat > log <<'Q'
1700000000.100000 status: local 0/10 remote 0/20
garbage line
1700000001.000000 new msg 101
1700000001.100000 info msg 101: bytes 300 from <alice@example.com> qp 55 uid 1000
1700000001.200000 starting delivery 1: msg 101 to local bob@example.com
1700000001.300000 status: local 1/10 remote 0/20
1700000002.000000 new msg 102
1700000002.100000 info msg 102: bytes 400 from <Owner-L@VGER.rutgers.edu> qp 56 uid 1001
1700000002.200000 starting delivery 2: msg 102 to remote x@y.org
1700000002.500000 delivery 1: success: did_0+1+0/
1700000003.000000 end msg 101
1700000003.500000 delivery 2: deferral: Connection_refused/
1700000004.000000 bounce msg 102 qp 77
1700000004.100000 end msg 102
1700000005.000000  status: local 0/10 remote 0/20
Q
printf '1700000006.0 new msg 103' >> log
export TZ=UTC
"#;

/// An installer list with every kind of line, and the source file it copies.
const LIST: &str = r#"
cat > list <<'L'
# comment
d:::0755:/a::
d:root:root:0700:/a/b::
f:::0640:/a/:copy:source
f::::/a/:nomode:source
?f:::0644:/a/:optional:nosource
z:::0600:/a/:zeros:10:
p:::0620:/a/:fifo::
l:::0755:/a/:link:copy
x:::0755:/a/:unknown::
d:::-1:/a/nomode-dir::
L
echo hello > source
"#;

/// [`LIST`] installed by the side's installer, one file's mode then changed.
const INSTALLED: &str = r#"
installer -m "$PWD/root" < list > /dev/null || echo "installing the fixture failed"
chmod 666 root/a/copy
"#;

#[test]
#[rustfmt::skip]
fn pipelines() {
    check(vec![
        tcase("spipe.usage", "spipe; echo $?"),
        tcase("multipipe.nodir", "multipipe /nonexistent/dir; echo $?"),
        tcase("teepipe.usage", "teepipe; echo $?"),
        tcase("teepipe.copy", "printf 'a\\nb\\n' | teepipe sed s/^/p:/; echo $?"),
        tcase("teepipe.exit", "echo x | teepipe sh -c 'cat >/dev/null; exit 7'; echo $?"),
        tcase("teepipe.crash", "teepipe sh -c 'kill -9 $$' < /dev/null; echo $?"),
        tcase("teepipe.noexec", "teepipe /nonexistent/program < /dev/null; echo $?"),
    ]);
}

#[test]
#[rustfmt::skip]
fn logselect() {
    let lcase = |id: &str, args: &str| tcase(id, &format!("{LOG_TREE}\nlogselect {args}; echo $?"));
    check(vec![
        lcase("logselect.range", "logs start stop"),
        lcase("logselect.current", "logs late stop"),
        lcase("logselect.empty-range", "logs stop start"),
        lcase("logselect.usage", ""),
        lcase("logselect.extra", "logs start stop x"),
        lcase("logselect.slash", "./logs start stop"),
        lcase("logselect.no-stop", "logs start"),
        lcase("logselect.no-start", "logs"),
        lcase("logselect.missing-stop", "logs start nofile"),
        lcase("logselect.nodir", "nologs start stop"),
    ]);
}

#[test]
#[rustfmt::skip]
fn qlogselect() {
    let qcase = |id: &str, args: &str| tcase(id, &format!("{QLOG}\nqlogselect {args} < log; echo $?"));
    check(vec![
        qcase("qlogselect.all", ""),
        qcase("qlogselect.strip", "stripstatus"),
        qcase("qlogselect.add", "addstatus"),
        qcase("qlogselect.from", "from owner-l@vger.rutgers.edu addstatus"),
        qcase("qlogselect.from-class", r"from '[a-z]+@example\.com'"),
        qcase("qlogselect.range", "start 1700000002 end 1700000003"),
        qcase("qlogselect.dates", "start 2023-11-14 end 2023-11-15"),
        qcase("qlogselect.future", "start 2099-01-01"),
        qcase("qlogselect.two-digit-year", "end 70-1-2"),
        qcase("qlogselect.bad-arg", "bogus"),
        qcase("qlogselect.no-time", "start"),
        qcase("qlogselect.bad-time", "end soon"),
        qcase("qlogselect.bad-month", "start 2024-13-01"),
        qcase("qlogselect.bad-day", "start 2023-02-29"),
        qcase("qlogselect.bad-pattern", "from '('"),
        qcase("qlogselect.files", "stripstatus 0 log"),
        qcase("qlogselect.missing-file", "0 log nofile"),
    ]);
}

#[test]
#[rustfmt::skip]
fn inotify() {
    check(vec![
        tcase("inotify.usage", "inotify; echo $?"),
        tcase("inotify.no-path", "inotify -n; echo $?"),
        tcase("inotify.missing-arg", "inotify -n -d; echo $?"),
        tcase("inotify.illegal", "inotify -x -n /nonexistent; echo $?"),
        tcase("inotify.stdin", "echo data | inotify \"$PWD\"; echo $?"),
        tcase("inotify.timeout", "echo x | DATA_TIMEOUT=7 inotify -d 3 \"$PWD\"; echo $?"),
    ]);
}

#[test]
#[rustfmt::skip]
fn installer() {
    let icase = |id: &str, script: &str| tcase(id, &format!("{LIST}\n{script}\necho $?; tree root"));
    check(vec![
        tcase("installer.usage", "installer -x; echo $?"),
        tcase("uinstaller.usage", "uinstaller -q; echo $?"),
        icase("installer.install", "installer \"$PWD/root\" < list"),
        icase("installer.missing-source", "rm source; installer \"$PWD/root\" < list"),
        icase("installer.missing-ok", "installer -m \"$PWD/root\" < list"),
        icase("installer.check", &format!("{INSTALLED}\ninstaller -cm \"$PWD/root\" < list")),
        icase("installer.check-missing", &format!("{INSTALLED}\ninstaller -c \"$PWD/root\" < list")),
        icase("installer.fix", &format!("{INSTALLED}\ninstaller -fm \"$PWD/root\" < list")),
        icase("installer.uninstall", &format!("{INSTALLED}\ninstaller -u \"$PWD/root\" < list")),
        tcase("installer.unknown-owner", "echo 'd:no-such-user-x::0755:/d::' | installer \"$PWD/root\"; echo $?; tree root"),
        tcase("installer.no-newline", "printf 'd:::0755:/d::' | installer \"$PWD/root\"; echo $?; tree root"),
    ]);
}

#[test]
#[rustfmt::skip]
fn instcheck() {
    // instcheck is run as ./instcheck, so that both sides see the same argv[0].
    const LINK: &str = r#"ln -s "$(command -v instcheck)" instcheck"#;
    check(vec![
        tcase("instcheck.no-package", "instcheck; echo $?"),
        tcase("instcheck.usage", &format!("{LINK}; ./instcheck a b c; echo $?")),
        tcase("instcheck.build-tree", &format!(r#"{LINK}; ln -s "$(command -v installer)" installer
printf '/        DIRS\n/opt/x   BIN\n' > INPUT
printf 'd:::0755:/opt::\nd:::0755:/opt/x::\n' > DIRS
printf 'd:::0755:/bin::\nf:::0755:/bin/:prog:prog\n' > BIN
DESTDIR=$PWD/dest ./instcheck demo -cm; echo $?; tree .
"#)),
    ]);
}

#[test]
#[rustfmt::skip]
fn svalert() {
    // `listen`: one datagram on 127.0.0.1:3001 into `got` (netcat); `sent`: wait for it.
    // The reference's script sends with `nc -u`, which with Debian's netcat waits for an
    // answer for ever: an `nc` first in PATH adds `-q 0` (leave at the end of input).
    const UDP: &str = r#"
export PROBE_SERVER=127.0.0.1
mkdir netcat; printf '#!/bin/sh\nexec /bin/nc.openbsd -q 0 "$@"\n' > netcat/nc; chmod +x netcat/nc
PATH=$PWD/netcat:$PATH
listen() { /bin/nc.openbsd -u -l -W 1 127.0.0.1 3001 > got & NC=$!; await_cmd sh -c 'grep -q ":0BB9 " /proc/net/udp'; }
sent() { wait $NC; cat got; echo; }
"#;
    let ucase = |id: &str, script: &str| {
        tcase(id, &format!("{UDP}\n{script}")).mask(r"\b\d{10}\b", "SECONDS")
    };
    check(vec![
        ucase("svalert.no-args", "svalert; echo $?"),
        ucase("svalert.unresolvable", ": > dns.table; $DNSD dns.table & await_listen 53; PROBE_SERVER=nosuch.invalid svalert sv 'abnormal startup'; echo $?"),
        ucase("svalert.startup", "listen; svalert sv 'abnormal startup'; echo $?; sent"),
        ucase("svalert.startup-words", "listen; svalert sv manual restart; echo $?; sent"),
        ucase("svalert.shutdown", "listen; svalert sv 4321; echo $?; sent"),
        ucase("svalert.died", "listen; svalert sv 4321 1 exited; echo $?; sent"),
        ucase("svalert.port", "listen; SV_ALERT_PORT=3001 svalert sv 4321 9 signalled; echo $?; sent"),
    ]);
}

#[test]
#[rustfmt::skip]
fn set_network_wait() {
    // Private /tmp and systemd unit directory; a stand-in systemctl that reports MANAGER
    // active and logs what it is asked.
    const SYSTEMD: &str = r#"
mount -t tmpfs tmpfs /usr/lib/systemd/system || exit 1
mount -t tmpfs tmpfs /tmp || exit 1
mkdir /tmp/fake
cat > /tmp/fake/systemctl <<'S'
#!/bin/sh
echo "systemctl $*" >> /tmp/fake/log
if [ "$1" = is-active ]; then [ "$2" = "$MANAGER.service" ] && echo active || echo inactive; fi
S
chmod +x /tmp/fake/systemctl
PATH=/tmp/fake:$PATH
show_all() { cat /tmp/fake/log; find /usr/lib/systemd/system /tmp -path /tmp/fake -prune -o -print | LC_ALL=C sort; }
"#;
    let ncase = |id: &str, script: &str| tcase(id, &format!("{SYSTEMD}\n{script}"));
    check(vec![
        ncase("set-network-wait.none-active", "MANAGER=none set-network-wait; echo $?; show_all"),
        ncase("set-network-wait.networkd", "MANAGER=systemd-networkd set-network-wait; echo $?; show_all; cat /usr/lib/systemd/system/svscan.service.d/override.conf"),
        ncase("set-network-wait.networkmanager", "MANAGER=NetworkManager set-network-wait; echo $?; show_all"),
        ncase("set-network-wait.up-to-date", "MANAGER=systemd-networkd set-network-wait > /dev/null; : > /tmp/fake/log; MANAGER=systemd-networkd set-network-wait; echo $?; show_all"),
    ]);
}
