//! Conformance: svscan and svscanboot against IndiMail's daemontools-x. Each case has a
//! private `/run` (empty: svscan makes `/run/svscan` itself, as on a host).

use blackbox::conformance::{case, check, Case};

/// A service tree `sv`: `a` logs through `a/log` into `a.log`, `b` is down.
const TREE: &str = r#"
mksv() { # DIR SCRIPT
  mkdir -p "$1"; printf '#!/bin/sh\n%s\n' "$2" > "$1/run"; chmod 755 "$1/run"
}
mksv sv/a 'echo "a started $*"; exec sleep 100'
mksv sv/a/log "exec cat > $PWD/a.log"
mksv sv/b 'exec sleep 100'
touch sv/b/down
wait_tree() { for d in sv/a sv/a/log sv/b; do await_cmd svok $d; done; await_grep started a.log; }
st() { svstat "$@" | sed 's/ [0-9.]* seconds/ T seconds/; s/pid [0-9]*/pid P/'; }
# The processes by name, counted. ps runs alone: in a pipeline, a stage bash has forked but
# not yet exec'd shows up as one more `bash`.
procs() { ps -eo comm= > ps.out; grep -v '^ps$' ps.out | sort | uniq -c; }
"#;

fn scase(id: &str, script: &str) -> Case {
    case(id, &format!("{TREE}\n{script}"))
        .mask(r"pid: \d+", "pid: P")
        .mask(r"pid \d+", "pid P")
        .mask(r"PID \d+", "PID P")
}

#[test]
fn svscan() {
    check(vec![
        scase("svscan.bad-option", "svscan -Z; echo $?"),
        scase("svscan.missing-dir", "svscan nodir; echo $?"),
        scase(
            "svscan.main",
            r#"
svscan sv 2>err & p=$!
wait_tree
cat a.log
st sv/a sv/a/log sv/b
show -n /run/svscan
sed -n '$p' /run/svscan/.svscan.pid | grep -qx $p && echo "pid file names svscan"
wc -l < /run/svscan/.svscan.pid
kill -TERM $p; wait $p; echo "svscan exit $?"
svok sv/a; echo "supervise left running: $?"
cat err
test -e /run/svscan/.svscan.pid && echo "pid file left"
"#,
        ),
        scase(
            "svscan.cwd",
            r#"
cd sv && { svscan 2>../err & p=$!; cd ..; }
wait_tree
st sv/a
kill -TERM $p; wait $p; echo "svscan exit $?"
"#,
        ),
        scase(
            "svscan.already-running",
            r#"
svscan sv 2>err & p=$!
wait_tree
svscan sv; echo $?
kill -TERM $p; wait $p
"#,
        ),
        scase(
            "svscan.stale-pid-file",
            r#"
mkdir /run/svscan; printf 'abcd\n99999\n' > /run/svscan/.svscan.pid
svscan sv 2>err & p=$!
wait_tree
sed -n '$p' /run/svscan/.svscan.pid | grep -qx $p && echo "pid file rewritten"
kill -TERM $p; wait $p; echo "svscan exit $?"
"#,
        ),
        scase(
            "svscan.disable-run",
            r#"
DISABLE_RUN=1 svscan sv 2>err & p=$!
wait_tree
ls -a sv | sort; ls -A /run
show -n sv/a/supervise
kill -TERM $p; wait $p; echo "svscan exit $?"
"#,
        ),
        scase(
            "svscan.new-service",
            r#"
svscan sv 2>err & p=$!
wait_tree
mksv sv/c "echo c started > $PWD/c.out; exec sleep 100"
kill -HUP $p
await_cmd svok sv/c; await_file c.out
cat c.out; st sv/c
kill -TERM $p; wait $p; echo "svscan exit $?"
"#,
        ),
        scase(
            "svscan.removed-service",
            r#"
svscan sv 2>err & p=$!
wait_tree
mv sv/b removed-b
kill -HUP $p
st removed-b
kill -TERM $p; wait $p; echo "svscan exit $?"
"#,
        ),
        scase(
            "svscan.verbose",
            r#"
VERBOSE=1 svscan sv 2>err & p=$!
wait_tree
kill -TERM $p; wait $p; echo "svscan exit $?"
sort err
"#,
        ),
        scase(
            "svscan.scanlog",
            r#"
mksv sv/.svscan/log "exec cat > $PWD/scan.log"
SCANLOG=1 VERBOSE=1 svscan sv 2>err & p=$!
wait_tree; await_cmd svok sv/.svscan/log
await_grep Starting scan.log
kill -TERM $p; wait $p; echo "svscan exit $?"
sort scan.log | sed 's/^@[0-9a-f]* //'
"#,
        ),
        scase(
            "svscan.svars",
            r#"
mksv sv/e "echo \"E=\$E\" > $PWD/e.out; exec sleep 100"
mkdir sv/e/.svars; echo value > sv/e/.svars/E
svscan sv 2>err & p=$!
wait_tree; await_file e.out
cat e.out
kill -TERM $p; wait $p
"#,
        ),
    ]);
}

#[test]
fn svscanboot() {
    check(vec![
        scase(
            "svscanboot.one-dir",
            r#"
svscanboot $PWD/sv & p=$!
wait_tree
st sv/a sv/b
procs
"#,
        ),
        scase(
            "svscanboot.scanlog",
            r#"
mkdir -p sv/.svscan/variables; echo 1 > sv/.svscan/variables/SCANLOG; echo there > sv/.svscan/variables/FROMVARS
mksv sv/.svscan/log "exec cat > $PWD/scan.log"
mksv sv/v "echo \"FROMVARS=\$FROMVARS\" > $PWD/v.out; exec sleep 100"
svscanboot $PWD/sv & p=$!
wait_tree; await_file v.out
cat v.out
procs
"#,
        ),
        scase(
            "svscanboot.stops-leftovers",
            r#"
mkdir -p sv2; mksv sv2/x 'exec sleep 100'
(cd sv2 && exec supervise x >/dev/null 2>&1) & q=$!
await_cmd svok sv2/x
svscanboot $PWD/sv2 & p=$!
wait $q; echo "old supervise exit $?"
await_cmd svok sv2/x
"#,
        ),
    ]);
}

/// qmailctl acts on `/service` with systemd's say-so; both are hidden here (no `/service` on
/// the machine, systemctl not executable), so these cases cover its own answers.
#[test]
#[rustfmt::skip]
fn qmailctl() {
    const NO_SYSTEMD: &str = "[ -e /usr/bin/systemctl ] && mount --bind /dev/null /usr/bin/systemctl";
    let qcase = |id: &str, script: &str| case(id, &format!("{NO_SYSTEMD}\n{script}"));
    check(vec![
        qcase("qmailctl.not-root", "setpriv --reuid=nobody --regid=nogroup --clear-groups qmailctl stat; echo $?"),
        qcase("qmailctl.no-args", "qmailctl; echo $?"),
        qcase("qmailctl.help", "qmailctl help; echo $?"),
        qcase("qmailctl.unknown", "qmailctl bogus; echo $?"),
        qcase("qmailctl.stat-no-services", "qmailctl stat; echo $?"),
        qcase("qmailctl.rotate-no-services", "qmailctl rotate; echo $?"),
    ]);
}
