//! Conformance: supervise, svc, svstat, svok and svps against IndiMail's daemontools-x.
//!
//! Most client cases fake a running supervise: a FIFO whose read end the script holds open is
//! what "supervise is running" means to svc, svstat and svok, and a status file written by the
//! script fixes the state. Cases that start the real supervise run in the case's private
//! namespaces (an empty `/run`, so no `/run/svscan` mirror unless the case makes one).

use blackbox::conformance::{case, check, Case};

/// Shell helpers for these cases: `fake DIR` makes DIR a service whose supervise "runs" (its
/// ok and control FIFOs held open by the script); `mkstatus FILE PID PAUSED WANT WAIT UP
/// [AGE]` writes an IndiMail status file (21 bytes) stamped AGE seconds ago (default 0).
const FAKE: &str = r#"
fake() {
  mkdir -p "$1/supervise" && mkfifo "$1/supervise/ok" "$1/supervise/control"
  exec {_fd}<>"$1/supervise/ok" {_fd}<>"$1/supervise/control"
}
le() { # N BYTES: N little-endian
  _v=$1; _i=0; while [ $_i -lt $2 ]; do printf "\\$(printf %03o $((_v % 256)))"; _v=$((_v / 256)); _i=$((_i+1)); done
}
be() { # N BYTES: N big-endian
  _v=$1; _i=$(($2 - 1)); while [ $_i -ge 0 ]; do printf "\\$(printf %03o $(((_v >> (8 * _i)) & 255)))"; _i=$((_i-1)); done
}
mkstatus() {
  { be $((0x400000000000000a + $(date +%s) - ${7:-0})) 8; be 0 4; le "$2" 4; le "$3" 1; printf '%s' "$4"; le "$5" 2; le "$6" 1; } > "$1"
}
"#;

/// A case using [`FAKE`], with svstat's elapsed time masked.
fn fcase(id: &str, script: &str) -> Case {
    case(id, &format!("{FAKE}\n{script}")).mask(r"\d+\.\d+ seconds", "T seconds")
}

#[test]
fn svstat() {
    check(vec![
        fcase("svstat.no-args", "svstat; echo $?"),
        fcase("svstat.missing-dir", "svstat nodir; echo $?"),
        fcase("svstat.no-supervise", "mkdir s; svstat s; echo $?"),
        fcase("svstat.ok-no-reader", "mkdir -p s/supervise; mkfifo s/supervise/ok; svstat s; echo $?"),
        fcase("svstat.no-status", "fake s; svstat s; echo $?"),
        fcase("svstat.short-status", "fake s; printf 'abc' > s/supervise/status; svstat s; echo $?"),
        fcase("svstat.up", "fake s; sleep 100 & mkstatus s/supervise/status $! 0 u 0 1; svstat s; echo $?")
            .mask(r"pid \d+", "pid P"),
        fcase("svstat.up-dead-pid", "fake s; mkstatus s/supervise/status 99999 0 u 0 1; svstat s; echo $?"),
        fcase("svstat.down-spid", "fake s; mkstatus s/supervise/status 4242 0 d 0 0; svstat s; echo $?"),
        fcase("svstat.down-normally-down", "fake s; touch s/down; mkstatus s/supervise/status 4242 0 d 0 0; svstat s; echo $?"),
        fcase("svstat.down-want-up", "fake s; mkstatus s/supervise/status 4242 0 u 0 0; svstat s; echo $?"),
        fcase("svstat.down-no-pid", "fake s; mkstatus s/supervise/status 0 0 u 0 0; svstat s; echo $?"),
        fcase("svstat.down-no-pid-down-file", "fake s; touch s/down; mkstatus s/supervise/status 0 0 d 0 0; svstat s; echo $?"),
        fcase("svstat.up-normally-down", "fake s; touch s/down; mkstatus s/supervise/status 99999 0 u 0 1; svstat s; echo $?"),
        fcase("svstat.paused", "fake s; mkstatus s/supervise/status 99999 1 u 0 1; svstat s; echo $?"),
        fcase("svstat.want-down", "fake s; mkstatus s/supervise/status 99999 0 d 0 1; svstat s; echo $?"),
        fcase("svstat.paused-want-down", "fake s; mkstatus s/supervise/status 99999 1 d 0 1; svstat s; echo $?"),
        fcase("svstat.wait", "fake s; mkstatus s/supervise/status 4242 0 u 30000 0; svstat s; echo $?")
            .mask(r"remaining 300\d\d seconds", "remaining R seconds"),
        fcase("svstat.wait-overdue", "fake s; mkstatus s/supervise/status 4242 0 u 10 0 100; svstat s; echo $?")
            .mask(r"remaining \d+ seconds", "remaining R seconds"),
        fcase("svstat.several", "fake a; mkstatus a/supervise/status 99999 0 u 0 1; mkdir b; svstat a nodir b a; echo $?"),
        fcase("svstat.last-decides", "fake a; mkstatus a/supervise/status 99999 0 u 0 1; svstat nodir a; echo $?"),
        fcase("svstat.not-enterable",
            "mkdir s; chmod 0600 s; setpriv --reuid=nobody --regid=nogroup --clear-groups svstat s; echo $?"),
        fcase("svstat.pid-other-user",
            "fake s; sleep 100 & mkstatus s/supervise/status $! 0 u 0 1; chmod 666 s/supervise/*; setpriv --reuid=nobody --regid=nogroup --clear-groups svstat s; echo $?")
            .mask(r"pid \d+", "pid P"),
        fcase("svstat.mirror", "mkdir -p /run/svscan s; fake /run/svscan/s; mkstatus /run/svscan/s/supervise/status 4242 0 d 0 0; svstat s; echo $?"),
        fcase("svstat.mirror-absolute", "mkdir -p /run/svscan x/s; fake /run/svscan/s; mkstatus /run/svscan/s/supervise/status 4242 0 d 0 0; svstat $PWD/x/s x/s/; echo $?"),
        fcase("svstat.mirror-missing", "mkdir -p /run/svscan s; svstat s; echo $?"),
        fcase("svstat.mirror-dot", "mkdir -p /run/svscan s; fake /run/svscan/s; mkstatus /run/svscan/s/supervise/status 4242 0 d 0 0; cd s && svstat .; echo $?"),
        fcase("svstat.mirror-log", "mkdir -p /run/svscan s/log; fake /run/svscan/s/log; mkstatus /run/svscan/s/log/supervise/status 4242 0 d 0 0; svstat s/log; echo $?"),
        fcase("svstat.own-ok-first",
            "mkdir -p /run/svscan s; fake s; fake /run/svscan/s; mkstatus /run/svscan/s/supervise/status 4242 0 d 0 0; svstat s; echo $?"),
    ]);
}

/// `got DIR`: the control bytes a fake supervise received (what is in the FIFO).
const GOT: &str = r#"
got() { dd iflag=nonblock bs=100 count=1 status=none <"$1/supervise/control" 2>/dev/null | od -An -c | tr -s ' '; }
"#;

#[test]
fn svc() {
    let gcase = |id: &str, script: &str| fcase(id, &format!("{GOT}\n{script}"));
    check(vec![
        gcase("svc.no-args", "svc; echo $?"),
        gcase("svc.bad-option", "svc -Z s; echo $?"),
        gcase("svc.options-only", "svc -u; echo $?"),
        gcase("svc.missing-dir", "svc -u nodir; echo $?"),
        gcase("svc.no-supervise", "mkdir s; svc -u s; echo $?"),
        gcase("svc.no-supervise-wait", "mkdir s; svc -w s; echo $?"),
        gcase("svc.no-supervise-u-wait", "mkdir s; svc -uw -T1 s; echo $?"),
        gcase("svc.control-no-reader", "mkdir -p s/supervise; mkfifo s/supervise/control; svc -d s; echo $?"),
        gcase("svc.control-not-fifo", "mkdir -p s/supervise; chmod 0 s/supervise; setpriv --reuid=nobody --regid=nogroup --clear-groups svc -d s; echo $?"),
        gcase("svc.send", "fake s; svc -udropchaitkqx12UG s; echo $?; got s"),
        gcase("svc.send-with-timeout", "fake s; svc -u -T 1 s; echo $?; got s"),
        gcase("svc.after-not-running", "mkdir a; fake b; svc -u a b; echo $?; got b"),
        gcase("svc.send-once-each", "fake s; svc -uuudd s; echo $?; got s"),
        gcase("svc.send-several", "fake a; fake b; svc -t a nodir b; echo $?; got a; got b"),
        gcase("svc.wait-up-ok", "fake s; mkfifo s/supervise/up; exec 5<>s/supervise/up; svc -w s; echo $?"),
        gcase("svc.wait-down-ok", "fake s; mkfifo s/supervise/dn; exec 5<>s/supervise/dn; svc -W s; echo $?"),
        gcase("svc.wait-timeout", "fake s; mkfifo s/supervise/up; svc -w -T 1 s; echo $?"),
        gcase("svc.wait-no-fifo", "fake s; svc -w -T 1 s; echo $?"),
        gcase("svc.wait-upfifo-ignored", "fake s; mkfifo s/supervise/up s/supervise/other; exec 5<>s/supervise/other; UPFIFO=other svc -w -T 1 s; echo $?"),
        gcase("svc.mirror", "mkdir -p /run/svscan s; fake /run/svscan/s; svc -h s; echo $?; got /run/svscan/s"),
        gcase("svc.mirror-missing", "mkdir -p /run/svscan s; svc -h s; echo $?"),
        gcase("svc.mirror-own-first", "mkdir -p /run/svscan s/supervise; mkfifo s/supervise/control; fake /run/svscan/s; svc -h s; echo $?; got /run/svscan/s"),
    ]);
}

#[test]
fn svok() {
    check(vec![
        fcase("svok.no-args", "svok; echo $?"),
        fcase("svok.two-args", "fake s; svok s s; echo $?"),
        fcase("svok.missing-dir", "svok nodir; echo $?"),
        fcase("svok.no-supervise", "mkdir s; svok s; echo $?"),
        fcase("svok.no-reader", "mkdir -p s/supervise; mkfifo s/supervise/ok; svok s; echo $?"),
        fcase("svok.running", "fake s; svok s; echo $?"),
        fcase("svok.denied", "fake s; setpriv --reuid=nobody --regid=nogroup --clear-groups svok s; echo $?"),
        fcase("svok.mirror", "mkdir -p /run/svscan s; fake /run/svscan/s; svok s; echo $?"),
        fcase("svok.mirror-missing", "mkdir -p /run/svscan s; svok s; echo $?"),
        fcase("svok.mirror-not-running", "mkdir -p /run/svscan/s/supervise s; mkfifo /run/svscan/s/supervise/ok; svok s; echo $?"),
    ]);
}

/// `sv_start DIR [ARGS]`: start the side's supervise on DIR in the background (stdout into
/// DIR.out, stderr into DIR.err) and wait until it answers; `sv_stop DIR`: `svc -dx`, then
/// wait for it to exit and print its exit code.
const REAL: &str = r#"
sv_start() { _d=$1; shift; supervise "$_d" "$@" >"$_d.out" 2>"$_d.err" & eval "_pid_$(echo $_d | tr -c 'a-z0-9\n' _)=$!"; await_cmd svok "$_d"; }
sv_stop() { svc -dx "$1"; eval "wait \$_pid_$(echo $1 | tr -c 'a-z0-9\n' _)"; echo "supervise exit $?"; }
service() { # DIR SCRIPT: a service whose run is SCRIPT
  mkdir -p "$1"; printf '#!/bin/sh\n%s\n' "$2" > "$1/run"; chmod 755 "$1/run"
}
"#;

fn rcase(id: &str, script: &str) -> Case {
    fcase(id, &format!("{REAL}\n{script}"))
        .mask(r"pid \d+", "pid P")
        .mask(r"PPID=\d+", "PPID=P")
}

#[test]
fn supervise() {
    check(vec![
        rcase("supervise.no-args", "supervise; echo $?"),
        rcase("supervise.too-many-args", "supervise a b c; echo $?"),
        rcase(
            "supervise.absolute-dir",
            "mkdir s; supervise $PWD/s; echo $?",
        ),
        rcase("supervise.dot-dir", "mkdir s; supervise ./s; echo $?"),
        rcase("supervise.missing-dir", "supervise nodir; echo $?"),
        rcase(
            "supervise.main",
            r#"
service s 'echo started; exec sleep 100'
sv_start s
await_grep started s.out
svstat s | sed 's/ [0-9.]* seconds/ T seconds/'
status s/supervise/status
show -n s/supervise
svc -d s
await_cmd sh -c 'svstat s | grep -q down'
svstat s | sed 's/ [0-9.]* seconds/ T seconds/'
status s/supervise/status
sv_stop s
cat s.out s.err
show -n s/supervise
"#,
        ),
        rcase(
            "supervise.locked",
            r#"
service s 'exec sleep 100'
sv_start s
supervise s; echo $?
sv_stop s
"#,
        ),
        rcase(
            "supervise.no-run",
            r#"
mkdir s
supervise s 2>s.err & await_grep run s.err
svc -x s; wait $!; echo "exit $?"; head -1 s.err
"#,
        ),
        rcase(
            "supervise.down-file",
            r#"
service s 'echo started; exec sleep 100'
touch s/down
sv_start s
svstat s | sed 's/ [0-9.]* seconds/ T seconds/'
status s/supervise/status
svc -o s; await_grep started s.out
svstat s | sed 's/ [0-9.]* seconds/ T seconds/'
sv_stop s
"#,
        ),
        rcase(
            "supervise.environment",
            r#"
service s 'env | sort > env.out; exec sleep 100'
sv_start s
await_file s/env.out; sleep 0.1
cat s/env.out
sv_stop s
"#,
        ),
        rcase(
            "supervise.variables",
            r#"
service s 'env | grep ^V_ | sort > env.out; exec sleep 100'
mkdir s/variables; echo one > s/variables/V_A; echo > s/variables/V_B
sv_start s
await_file s/env.out; sleep 0.1
cat s/env.out
sv_stop s
"#,
        ),
        rcase(
            "supervise.restart",
            r#"
service s 'echo started; exec sleep 100'
sv_start s
await_grep started s.out
svc -t s
await_cmd sh -c '[ $(grep -c started s.out) = 2 ]'
sv_stop s
cat s.out s.err
"#,
        ),
        rcase(
            "supervise.exit-code",
            r#"
service s 'echo run; sleep 100'
sv_start s
await_grep run s.out
svc -d s; await_cmd sh -c 'svstat s | grep -q down'
svc -x s; wait $_pid_s; echo "exit $?"
"#,
        ),
        rcase(
            "supervise.shutdown-script",
            r#"
service s 'trap "echo TERM; exit 0" TERM; echo up; while :; do sleep 0.05; done'
printf '#!/bin/sh\necho shutdown "$@" | sed "s/ [0-9][0-9]*\\$/ PID/" >> shutdown.out\n' > s/shutdown; chmod 755 s/shutdown
sv_start s
await_grep up s.out
svc -d s; await_cmd sh -c 'svstat s | grep -q down'
cat s/shutdown.out
sv_stop s
cat s.out s.err
"#,
        ),
        rcase(
            "supervise.mirror",
            r#"
mkdir /run/svscan
service s 'echo started; exec sleep 100'
sv_start s
await_grep started s.out
show -n /run/svscan s
svstat s | sed 's/ [0-9.]* seconds/ T seconds/'
sv_stop s
show -n /run/svscan
"#,
        ),
        rcase(
            "supervise.mirror-log",
            r#"
mkdir /run/svscan
service s/log 'echo logger; exec sleep 100'
(cd s && SV_PWD=s exec supervise log s >../log.out 2>../log.err) & p=$!
await_grep logger log.out
show -n /run/svscan s
svstat s/log | sed 's/ [0-9.]* seconds/ T seconds/'
svc -dx s/log; wait $p; echo "exit $?"
cat log.err
"#,
        ),
        rcase(
            "supervise.mirror-log-no-sv-pwd",
            r#"
mkdir /run/svscan
service s/log 'echo logger; exec sleep 100'
(cd s && exec supervise log s >../log.out 2>../log.err) & p=$!
await_grep logger log.out
show -n /run/svscan
kill $p; wait $p; echo "exit $?"
"#,
        ),
        rcase(
            "supervise.shutdown-signal-abc",
            r#"
service s 'trap "echo TERM" TERM; trap "echo CONT" CONT; echo up; while :; do sleep 0.05; done'
SHUTDOWN_SIGNAL=abc sv_start s
await_grep up s.out
svc -d s; await_grep CONT s.out
svstat s | sed 's/ [0-9.]* seconds/ T seconds/'
svc -k s; await_cmd sh -c 'svstat s | grep -q down'
sv_stop s
cat s.out s.err
"#,
        ),
        rcase(
            "supervise.shutdown-signal-9x",
            r#"
service s 'trap "echo TERM" TERM; echo up; while :; do sleep 0.05; done'
SHUTDOWN_SIGNAL=9x sv_start s
await_grep up s.out
svc -d s; await_cmd sh -c 'svstat s | grep -q down'
sv_stop s
cat s.out s.err
"#,
        ),
        rcase(
            "supervise.shutdown-signal-hup",
            r#"
service s 'trap "echo HUP; exit 0" HUP; echo up; while :; do sleep 0.05; done'
SHUTDOWN_SIGNAL=1 sv_start s
await_grep up s.out
svc -d s; await_cmd sh -c 'svstat s | grep -q down'
sv_stop s
cat s.out s.err
"#,
        ),
    ]);
}

/// A running svscan (started as `.../sbin/svscan`, which svps looks for) over `sv` with
/// services `a` (and its log) and `b` (down), and svscan's own log, all answering.
const SCAN: &str = r#"
mkdir -p root/sbin sv/a/log sv/b sv/.svscan/log
ln -s "$(command -v svscan)" root/sbin/svscan
for d in sv/a sv/a/log sv/b; do printf '#!/bin/sh\nexec sleep 100\n' > $d/run; chmod 755 $d/run; done
printf '#!/bin/sh\nexec cat >/dev/null\n' > sv/.svscan/log/run; chmod 755 sv/.svscan/log/run
touch sv/b/down
SCANLOG=1 "$PWD/root/sbin/svscan" "$PWD/sv" >scan.out 2>&1 &
for d in sv/a sv/a/log sv/b sv/.svscan/log; do await_cmd svok $d; done
await_cmd sh -c 'svstat sv/a | grep -q " up "'
"#;

#[test]
fn svps() {
    let gcase = |id: &str, script: &str| {
        rcase(id, script)
            .mask(r"PID \d+", "PID N")
            .mask(r"\d+ secs", "N secs")
    };
    check(vec![
        gcase("svps.bad-option", "svps -Z </dev/null; echo $?"),
        gcase("svps.not-running", "svps -n; echo $?"),
        gcase("svps.not-running-run", "mkdir /run/svscan; svps -n; echo $?"),
        gcase("svps.stale-pidfile", "mkdir /run/svscan; printf 'abcd\n99999\n' > /run/svscan/.svscan.pid; svps -n; echo $?"),
        gcase("svps.pidfile-zero", "mkdir /run/svscan; printf 'abcd\n0\n' > /run/svscan/.svscan.pid; svps -n; echo $?"),
        gcase("svps.servicedir-missing", "mkdir sv; svps -n --servicedir=$PWD/sv; echo $?"),
        gcase("svps.not-root", "mkdir /run/svscan; sleep 100 & printf 'abcd\n%s\n' $! > /run/svscan/.svscan.pid; setpriv --reuid=nobody --regid=nogroup --clear-groups svps -n; echo $?"),
        gcase("svps.hup", r#"
mkdir /run/svscan
sleep 100 & p=$!; sleep 100 & q=$!
printf 'abcd\n%s\n' $p > /run/svscan/.svscan.pid
svps -h; echo $?
wait $p; echo "pid-file process: $?"
kill -0 $q && echo "other process alive"
"#),
        gcase("svps.list", &format!("{SCAN}\nsvps -n; echo $?; svps -a -n; echo $?; svps -l -n -d; echo $?; svps -a -d -n; echo $?"))
            .mask(r"pid +\d+", "pid N"),
        gcase("svps.list-servicedir", &format!("{SCAN}\nsvps -n -a --servicedir=$PWD/sv; echo $?"))
            .mask(r"pid +\d+", "pid N"),
        gcase("svps.list-no-scanlog", &format!("{SCAN}\nsvc -dx sv/.svscan/log; await_cmd sh -c '! svok sv/.svscan/log'; svps -n; echo $?")),
        gcase("svps.stop-resume", &format!("{SCAN}\nsvps -s; echo $?; await_cmd sh -c 'svstat sv/a | grep -q \" down \"'; show /var/tmp; svps -s; svps -r; echo $?; show /var/tmp; svps -r; echo $?")),
        gcase("svps.term", r#"
mkdir /run/svscan
sleep 100 & p=$!
printf 'abcd\n%s\n' $p > /run/svscan/.svscan.pid
svps --term; echo $?
wait $p; echo "pid-file process: $?"
"#),
    ]);
}
