//! Conformance: multilog, qfilelog and the tai64n tools against IndiMail's daemontools-x.

use blackbox::conformance::{case, check, Case};

/// A case whose TAI64N labels and archive names are masked (they are times).
fn tcase(id: &str, script: &str) -> Case {
    case(id, script)
        .mask(r"@[0-9a-f]{24}", "@LABEL")
        .mask(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+", "DATE")
}

/// Lines of a log, and `show` of a log directory without the (time-named) archives' names.
const LOGS: &str = r#"
lines() { i=0; while [ $i -lt $1 ]; do echo "line $i abcdefghijklmnopqrstuvwxyz0123456789"; i=$((i+1)); done; }
"#;

#[test]
fn multilog() {
    let mcase = |id: &str, script: &str| tcase(id, &format!("{LOGS}\n{script}"));
    check(vec![
        mcase("multilog.no-args", "echo hi | multilog; echo $?"),
        mcase("multilog.main", "lines 5 | multilog ./log; echo $?; show log"),
        mcase("multilog.timestamps", "lines 3 | multilog t ./log; echo $?; show log"),
        mcase("multilog.size-rotation", "lines 200 | multilog s4096 n3 ./log; echo $?; ls log | sed 's/@.*/@ARCHIVE/' | sort | uniq -c; wc -c < log/current; cat log/current | tail -2"),
        mcase("multilog.count-one", "lines 200 | multilog s4096 n1 ./log; echo $?; ls log | sort"),
        mcase("multilog.select", "printf 'a one\\nb two\\na three\\n' | multilog '-*' '+a*' ./log; echo $?; show log"),
        mcase("multilog.stderr", "printf 'a one\\nb two\\n' | multilog e '-a*' e; echo $?"),
        mcase("multilog.status-file", "printf 'a one\\nb two\\n' | multilog '=st'; echo $?; od -c st | head -3; wc -c < st"),
        mcase("multilog.processor", r#"lines 100 | multilog s2000 n5 '!tr a-z A-Z' ./log; echo $?; for f in log/@*; do case $f in *.s) head -1 $f;; esac; done | sort -u; ls log | sed 's/@[0-9a-f]*\./@ARCHIVE./' | sort | uniq -c; cat log/state | wc -c"#),
        mcase("multilog.processor-fails", r#"mkfifo in; exec 3<>in; multilog s2000 n5 '!exit 1' ./log <in 2>err & p=$!; lines 100 >&3; await_grep failed err; kill -9 $p; head -1 err"#),
        mcase("multilog.two-dirs", "printf 'a one\\nb two\\n' | multilog ./l1 '-a*' ./l2; echo $?; show l1 l2"),
        mcase("multilog.long-line", "head -c 3000 /dev/zero | tr '\\0' x | multilog ./log; echo $?; wc -c < log/current"),
        mcase("multilog.no-newline", "printf 'partial' | multilog ./log; echo $?; od -c log/current"),
        mcase("multilog.locked", "mkdir log; setlock log/lock sleep 100 & await_file log/lock; sleep 0.1; echo x | multilog ./log; echo $?"),
        mcase("multilog.bad-dir", "touch f; echo x | multilog ./f; echo $?"),
        mcase("multilog.append", "echo one | multilog ./log; echo two | multilog ./log; echo $?; cat log/current"),
        mcase("multilog.current-mode", "echo one | multilog ./log; ls -l log/current | cut -c1-10; ls -ld log | cut -c1-10"),
        mcase("multilog.unreadable-dir", "mkdir log; chmod 0 log; echo x | setpriv --reuid=nobody --regid=nogroup --clear-groups multilog ./log; echo $?"),
    ]);
}

#[test]
fn tai64n_tools() {
    check(vec![
        tcase("tai64n.main", "printf 'a\\nb\\n\\nlast' | tai64n; echo $?"),
        tcase("tai64n.args-ignored", "echo x | tai64n -Z foo; echo $?"),
        tcase("tai64n.empty", "tai64n </dev/null; echo $?"),
        case("tai64nlocal.main", "printf '@4000000065a1b2c3000f4240 hello\\n@400000003c675d2312345678\\nno label\\n' | TZ=UTC tai64nlocal; echo $?"),
        case("tai64nlocal.partial", "printf '@4000000065a1b2c3 short\\n@zz\\n' | TZ=UTC tai64nlocal; echo $?"),
        case("tai64nlocal.last-no-newline", "printf '@4000000065a1b2c3000f4240' | TZ=UTC tai64nlocal; echo; echo $?"),
        case("tai64nunix.main", "printf '@4000000065a1b2c3000f4240 hello\\nplain\\n' | tai64nunix; echo $?"),
        case("tai64n2tai.main", "printf '@4000000065a1b2c3000f4240 hello\\nplain\\n' | tai64n2tai; echo $?"),
        case("tai2tai64n.main", "printf '@4000000065a1b2c3 hello\\nplain\\n' | tai2tai64n; echo $?"),
        case("tai2tai64n.round-trip", "printf '@4000000065a1b2c3000f4240 hello\\n' | tai64n2tai | tai2tai64n; echo $?"),
    ]);
}

#[test]
fn qfilelog() {
    check(vec![
        case("qfilelog.no-args", "qfilelog </dev/null; echo $?"),
        case("qfilelog.main", "mkfifo in; exec 3<>in; qfilelog out <in & p=$!; printf 'a\\nb\\n' >&3; await_grep b out; kill -TERM $p; wait $p; echo $?; cat out; ls -l out | cut -c1-10"),
        case("qfilelog.append", "echo old > out; mkfifo in; exec 3<>in; qfilelog out <in & p=$!; printf 'new\\n' >&3; await_grep new out; kill -TERM $p; wait $p; echo $?; cat out"),
        case("qfilelog.hup-reopens", "mkfifo in; exec 3<>in; qfilelog out <in & p=$!; echo one >&3; await_grep one out; mv out out.1; kill -HUP $p; echo two >&3; await_grep two out; kill -TERM $p; wait $p; echo $?; cat out.1 out"),
        case("qfilelog.cannot-open", "mkfifo in; exec 3<>in; echo x >&3; qfilelog nodir/out <in 2>err & p=$!; await_grep pausing err; kill -TERM $p; wait $p; echo $?; cat err"),
    ]);
}
