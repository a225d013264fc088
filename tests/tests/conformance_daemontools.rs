//! Conformance: envdir and the other chain-loaders against IndiMail's daemontools-x.

use blackbox::conformance::{case, check};

/// A user and a group for the privilege cases.
const ACCOUNT: &str = "nobody";

#[test]
fn envdir() {
    check(vec![
        case("envdir.no-args", "envdir; echo $?"),
        case("envdir.one-arg", "mkdir e; envdir e; echo $?"),
        case("envdir.bad-option", "envdir -Z e true; echo $?"),
        case("envdir.empty-dir-arg", "envdir '' true; echo $?"),
        case("envdir.empty-prog-arg", "mkdir e; envdir e ''; echo $?"),
        case("envdir.missing-dir", "envdir nodir true; echo $?"),
        case("envdir.missing-dir-w", "envdir -w nodir sh -c 'echo ran'; echo $?"),
        case("envdir.not-a-dir", "touch f; envdir f true; echo $?"),
        case("envdir.main", "mkdir e; echo hi > e/A; printf 'x\\0y\\n' > e/B; : > e/C; printf 'one\\ntwo\\n' > e/D; printf 'tail  \\t\\n' > e/E; FOO=1 C=set envdir e env | sort"),
        case("envdir.clear", "mkdir e; echo hi > e/A; FOO=1 envdir -c e /usr/bin/env | sort"),
        case("envdir.dot-files", "mkdir e; echo hi > e/.A; echo x > e/B; envdir e env | grep -E '^(\\.A|B)=' | sort"),
        case("envdir.bad-name", "mkdir e; echo hi > 'e/A=B'; envdir e env | grep '^A' ; echo $?"),
        case("envdir.unreadable", "mkdir e; echo hi > e/A; echo x > e/B; chmod 0 e/A; chmod 755 e; setpriv --reuid=nobody --regid=nogroup --clear-groups envdir e env | grep -E '^(A|B)='; echo $?"),
        case("envdir.unreadable-i", "mkdir e; echo hi > e/A; echo x > e/B; chmod 0 e/A; setpriv --reuid=nobody --regid=nogroup --clear-groups envdir -i e env | grep -E '^(A|B)='; echo $?"),
        case("envdir.unreadable-w", "mkdir e; echo hi > e/A; echo x > e/B; chmod 0 e/A; setpriv --reuid=nobody --regid=nogroup --clear-groups envdir -w e env | grep -E '^(A|B)='; echo $?"),
        case("envdir.subdir", "mkdir -p e/sub; echo hi > e/A; envdir e env | grep -E '^(A|sub)='; echo $?"),
        case("envdir.envfile", "mkdir e; printf 'X=1\\nY=two words\\n#c\\nZ\\n' > e/.envfile; envdir e env | grep -E '^[XYZ]=' | sort; echo $?"),
        case("envdir.envdir-file", "mkdir e f; echo f > e/.envdir; echo hi > f/A; envdir e env | grep -E '^A='; echo $?"),
        case("envdir.unable-to-run", "mkdir e; envdir e ./nonexistent; echo $?"),
        case("envdir.path", "mkdir e b; echo \"$PWD/b\" > e/PATH; printf '#!/bin/sh\\necho mine\\n' > b/prog; chmod 755 b/prog; envdir e prog; echo $?"),
    ]);
}

#[test]
fn envuidgid() {
    check(vec![
        case("envuidgid.no-args", "envuidgid; echo $?"),
        case(
            "envuidgid.one-arg",
            &format!("envuidgid {ACCOUNT}; echo $?"),
        ),
        case(
            "envuidgid.bad-option",
            &format!("envuidgid -Z {ACCOUNT} true; echo $?"),
        ),
        case("envuidgid.unknown", "envuidgid nosuchuser env; echo $?"),
        case(
            "envuidgid.main",
            &format!("envuidgid {ACCOUNT} env | grep -E '^(UID|GID)=' | sort; echo $?"),
        ),
        case(
            "envuidgid.unable-to-run",
            &format!("envuidgid {ACCOUNT} ./nonexistent; echo $?"),
        ),
    ]);
}

#[test]
fn setuidgid() {
    check(vec![
        case("setuidgid.no-args", "setuidgid; echo $?"),
        case("setuidgid.one-arg", &format!("setuidgid {ACCOUNT}; echo $?")),
        case("setuidgid.bad-option", &format!("setuidgid -Z {ACCOUNT} true; echo $?")),
        case("setuidgid.unknown", "setuidgid nosuchuser id; echo $?"),
        case("setuidgid.main", &format!("setuidgid {ACCOUNT} id; echo $?")),
        case("setuidgid.s", "setuidgid -s daemon id; echo $?"),
        case("setuidgid.g", &format!("setuidgid -g nogroup,adm,7 {ACCOUNT} id; echo $?")),
        case("setuidgid.g-unknown", &format!("setuidgid -g nosuchgroup {ACCOUNT} id; echo $?")),
        case("setuidgid.s-qpwgr", r#"printf 'daemon:x:1:1::/:/bin/sh\n' > passwd; printf 'extra:x:4321:daemon\n' > group
USE_QPWGR=1 PASSWD_FILE=$PWD/passwd GROUP_FILE=$PWD/group setuidgid -s daemon id; echo $?"#),
        case("setuidgid.s-qpwgr-missing", "USE_QPWGR=1 PASSWD_FILE=/nonexistent setuidgid -s daemon id; echo $?"),
        case("setuidgid.s-qpwgr-files", r#"printf '# accounts\n\n  \ndaemon:x:1:7::/:/bin/sh\nbroken:x:2\nother:x:3:3::/:/bin/sh\n' > passwd
printf 'a:x:4001: daemon\nb:x:4002:x, daemon ,y\nc:x:4003:daemonx\nd:x:4004\ne:x:4005:daemon\n' > group
USE_QPWGR= PASSWD_FILE=$PWD/passwd GROUP_FILE=$PWD/group setuidgid -s daemon id; echo $?
printf 'daemon:x:1:1::/:/bin/sh' > passwd; USE_QPWGR=1 PASSWD_FILE=$PWD/passwd setuidgid -s daemon id; echo $?
printf 'x:1\ndaemon:x:1:1::/:/bin/sh\n' > passwd; USE_QPWGR=1 PASSWD_FILE=$PWD/passwd setuidgid -s daemon id; echo $?
printf 'daemon:x:1:1::/:/bin/sh\n' > passwd; USE_QPWGR=1 PASSWD_FILE=$PWD/passwd GROUP_FILE=/nonexistent setuidgid -s daemon id; echo $?
USE_QPWGR=1 PASSWD_FILE=$PWD/passwd setuidgid -s -g 9 -g adm,,7 daemon id; echo $?"#),
        case("setuidgid.s-qpwgr-not-listed", "printf 'other:x:5:5::/:/bin/sh\\n' > passwd; USE_QPWGR=1 PASSWD_FILE=$PWD/passwd setuidgid -s daemon id; echo $?"),
        case("setuidgid.not-root", &format!("setpriv --reuid=nobody --regid=nogroup --clear-groups setuidgid daemon id; echo $?")),
        case("setuidgid.unable-to-run", &format!("setuidgid {ACCOUNT} ./nonexistent; echo $?")),
        case("setuidgid.env", &format!("setuidgid -e {ACCOUNT} env | grep -E '^(USER|HOME|SHELL|UID|GID|LOGNAME)=' | sort; echo $?")),
    ]);
}

#[test]
fn softlimit() {
    check(vec![
        case("softlimit.no-args", "softlimit; echo $?"),
        case("softlimit.bad-option", "softlimit -Z 1 true; echo $?"),
        case("softlimit.options-only", "softlimit -m 100000000; echo $?"),
        case("softlimit.bad-number", "softlimit -m abc true; echo $?"),
        case("softlimit.main", "softlimit -m 100000000 -o 50 -c 0 -f 1000000 -s 2000000 -t 100 -p 500 -d 200000000 -a 300000000 -l 65536 -r 400000000 sh -c 'ulimit -Sn; ulimit -Sc; ulimit -Sf; ulimit -Ss; ulimit -St; ulimit -Su; ulimit -Sd; ulimit -Sv; ulimit -Sl; ulimit -Sm'; echo $?"),
        case("softlimit.equals", "softlimit -o = sh -c 'test $(ulimit -Sn) = $(ulimit -Hn) && echo hard'; echo $?"),
        case("softlimit.above-hard", "ulimit -Hn 100; softlimit -o 200 sh -c 'ulimit -Sn'; echo $?"),
        case("softlimit.unable-to-run", "softlimit -o 50 ./nonexistent; echo $?"),
    ]);
}

#[test]
fn setlock() {
    check(vec![
        case("setlock.no-args", "setlock; echo $?"),
        case("setlock.one-arg", "setlock f; echo $?"),
        case("setlock.bad-option", "setlock -Z f true; echo $?"),
        case("setlock.main", "setlock f sh -c 'echo locked'; echo $?; ls -l f | cut -c1-10"),
        case("setlock.held-n", "setlock f sleep 100 & await_file f; sleep 0.1; setlock -n f echo no; echo $?; setlock -Nn f echo no; echo $?"),
        case("setlock.held-x", "setlock f sleep 100 & await_file f; sleep 0.1; setlock -nx f echo no; echo $?; setlock -nxX f echo no; echo $?"),
        case("setlock.cannot-open", "setlock nodir/f true; echo $?; setlock -x nodir/f true; echo $?"),
        case("setlock.unable-to-run", "setlock f ./nonexistent; echo $?"),
    ]);
}

#[test]
fn small_chain_loaders() {
    check(vec![
        case("pgrphack.no-args", "pgrphack; echo $?"),
        case("pgrphack.main", "pgrphack sh -c 'ps -o pid=,pgid= -p $$ | awk \"{print (\\$1 == \\$2)}\"'; echo $?"),
        case("pgrphack.unable-to-run", "pgrphack ./nonexistent; echo $?"),
        case("fghack.no-args", "fghack; echo $?"),
        case("fghack.main", "fghack sh -c '(sleep 0.2; echo late) & echo early; exit 3'; echo $?"),
        case("fghack.signal", "fghack sh -c 'kill -9 $$'; echo $?"),
        case("fghack.unable-to-run", "fghack ./nonexistent; echo $?"),
        case("readproctitle.no-args", "readproctitle; echo $?"),
        case("readproctitle.short", "readproctitle abc; echo $?"),
        case("readproctitle.main", "printf 'hello world\\n' | readproctitle service errors: .........................; echo $?"),
        case("waitfor.no-args", "waitfor; echo $?"),
        case("waitfor.bad-option", "waitfor -Z 1; echo $?"),
        case("waitfor.option-only", "waitfor -v; echo $?"),
        case("waitfor.no-such-pid", "waitfor 99999; echo $?"),
        case("waitfor.main", "sleep 0.2 & waitfor $!; echo $?"),
        case("waitfor.verbose", "sleep 0.2 & p=$!; waitfor -v $p | sed \"s/$p/P/\"; echo $?"),
        case("waitfor.not-a-number", "waitfor abc; echo $?"),
    ]);
}
