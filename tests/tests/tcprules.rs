//! Black-box tests of tcprules and tcprulescheck: acceptance checks 28-41 of
//! docs/ucspi-tcp.md#acceptance-checks, the byte-exact vectors of #the-records, atomic replacement, damaged
//! cdb files, and interoperability with Debian's ucspi-tcp (djb 0.88) both ways.
//!
//! Debian's programs (package ucspi-tcp, installed by `make test`) are used as an
//! oracle where djb and the reference agree; without them those parts are skipped.

use blackbox::tmpfs::{fill, Tmpfs};
use blackbox::{is_root, skip, Cmd, Output};
use std::fs;
use std::path::{Path, PathBuf};

const TCPRULES_USAGE: &str = "tcprules: usage: tcprules rules.cdb rules.tmp\n";
const DEBIAN_TCPRULES: &str = "/usr/bin/tcprules";
const DEBIAN_TCPRULESCHECK: &str = "/usr/bin/tcprulescheck";

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tcprules.")
        .tempdir()
        .unwrap()
}

/// Run our tcprules in `dir` on `rules`, building `cdb` through `cdb.tmp`.
fn tcprules(dir: &Path, cdb: &str, rules: &str) -> Output {
    Cmd::bin("tcprules")
        .clean_env()
        .cwd(dir)
        .args([cdb, &format!("{cdb}.tmp")])
        .stdin(rules)
        .run()
}

/// Our tcprulescheck on `cdb` for the client described by `env`.
fn check(dir: &Path, cdb: &str, env: &[(&str, &str)]) -> Output {
    check_with(Cmd::bin("tcprulescheck"), dir, cdb, env)
}

fn check_with(cmd: Cmd, dir: &Path, cdb: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = cmd.clean_env().cwd(dir).arg(cdb);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

fn sha256(path: &Path) -> String {
    let out = Cmd::new("sha256sum").arg(path).run();
    out.assert_code(0);
    out.stdout_str()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn debian() -> bool {
    Path::new(DEBIAN_TCPRULES).is_file() && Path::new(DEBIAN_TCPRULESCHECK).is_file()
}

#[test]
fn check28_usage() {
    let t = tmp();
    let out = Cmd::bin("tcprules")
        .clean_env()
        .cwd(t.path())
        .arg("t.cdb")
        .run();
    out.assert(100, "", TCPRULES_USAGE);
    let out = Cmd::bin("tcprules").clean_env().cwd(t.path()).run();
    out.assert(100, "", TCPRULES_USAGE);
    let out = Cmd::bin("tcprulescheck").clean_env().cwd(t.path()).run();
    out.assert(100, "", "tcprulescheck: usage: tcprulescheck rules.cdb\n");
}

#[test]
fn check29_30_create_and_move_errors() {
    let t = tmp();
    let out = Cmd::bin("tcprules")
        .clean_env()
        .cwd(t.path())
        .args(["t.cdb", "/dev/nonexistent/tmp"])
        .stdin("1.2.3.4:deny\n")
        .run();
    out.assert(
        111,
        "",
        "tcprules: fatal: unable to create /dev/nonexistent/tmp: file does not exist\n",
    );
    let out = Cmd::bin("tcprules")
        .clean_env()
        .cwd(t.path())
        .args(["/dev/nonexistent/cdb", "t.tmp"])
        .stdin("1.2.3.4:deny\n")
        .run();
    out.assert(
        111,
        "",
        "tcprules: fatal: unable to move t.tmp to /dev/nonexistent/cdb: file does not exist\n",
    );
}

#[test]
fn check31_32_one_rule_vector() {
    let t = tmp();
    tcprules(t.path(), "one.cdb", "1.2.3.4:deny\n").assert(0, "", "");
    let cdb = t.path().join("one.cdb");
    assert_eq!(fs::metadata(&cdb).unwrap().len(), 2081);
    assert_eq!(
        sha256(&cdb),
        "d5a60ae0956f0497b3318c3e718b95fdc40acf58d6dc5e995ebfbed0384a876c"
    );
    assert!(!t.path().join("one.cdb.tmp").exists());
    let bytes = fs::read(&cdb).unwrap();
    assert_eq!(&bytes[2048..2065], b"\x07\0\0\0\x02\0\0\x001.2.3.4D\0");
    check(t.path(), "one.cdb", &[("TCPREMOTEIP", "1.2.3.4")]).assert(
        0,
        "rule 1.2.3.4:\ndeny connection\n",
        "",
    );
    check(t.path(), "one.cdb", &[("TCPREMOTEIP", "1.2.3.5")]).assert(
        0,
        "default:\nallow connection\n",
        "",
    );
}

const RTS_RULES: &str = "joe@127.0.0.1:allow,which=/first/\n18.23.0.32:allow,which=\"second\"\n\
127.:allow,which=+third+\n:allow,which==fourth=\n";

#[test]
fn check33_rts_vector_and_lookups() {
    let t = tmp();
    tcprules(t.path(), "rts.cdb", RTS_RULES).assert(0, "", "");
    let cdb = t.path().join("rts.cdb");
    assert_eq!(fs::metadata(&cdb).unwrap().len(), 2225);
    assert_eq!(
        sha256(&cdb),
        "94d827dd2abf4b97b7de1f63c29925d0c1675bef5b7fef2a48cbac933ae0f058"
    );
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("TCPREMOTEIP", "127.0.0.1"), ("TCPREMOTEINFO", "joe")],
            "rule joe@127.0.0.1:\nset environment variable which=first\nallow connection\n",
        ),
        (
            &[("TCPREMOTEIP", "18.23.0.32")],
            "rule 18.23.0.32:\nset environment variable which=second\nallow connection\n",
        ),
        (
            &[("TCPREMOTEIP", "127.0.0.1"), ("TCPREMOTEINFO", "bill")],
            "rule 127.:\nset environment variable which=third\nallow connection\n",
        ),
        (
            &[("TCPREMOTEIP", "10.119.75.39")],
            "rule :\nset environment variable which=fourth\nallow connection\n",
        ),
    ];
    for (env, want) in cases {
        check(t.path(), "rts.cdb", env).assert(0, want, "");
    }
}

#[test]
fn check34_address_ranges() {
    let t = tmp();
    tcprules(
        t.path(),
        "r.cdb",
        "127.0-5.:allow,which=/first/,where=/whatever/\n",
    )
    .assert(0, "", "");
    for ip in ["127.0.0.1", "127.1.0.1", "127.5.0.1"] {
        check(t.path(), "r.cdb", &[("TCPREMOTEIP", ip)]).assert(
            0,
            &format!(
                "rule {}:\nset environment variable which=first\n\
                 set environment variable where=whatever\nallow connection\n",
                &ip[..ip.len() - 3]
            ),
            "",
        );
    }
    check(t.path(), "r.cdb", &[("TCPREMOTEIP", "127.6.0.1")]).assert(
        0,
        "default:\nallow connection\n",
        "",
    );
}

const ORDER_RULES: [&str; 11] = [
    "xyz@86.75.30.9:allow,which=/first/",
    "xyz@=one.two.three:allow,which=/second/",
    "86.75.30.9:allow,which=/third/",
    "=one.two.three:allow,which=/fourth/",
    "86.75.30.:allow,which=/fifth/",
    "86.75.:allow,which=/sixth/",
    "86.:allow,which=/seventh/",
    "=.two.three:allow,which=/eighth/",
    "=.three:allow,which=/ninth/",
    "=:allow,which=/tenth/",
    ":allow,which=/eleventh/",
];

#[test]
fn check35_proper_order_matrix_matches_djb() {
    let t = tmp();
    let env = [
        ("TCPREMOTEIP", "86.75.30.9"),
        ("TCPREMOTEHOST", "one.two.three"),
        ("TCPREMOTEINFO", "xyz"),
    ];
    let names = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth", "eleventh",
    ];
    for k in 0..ORDER_RULES.len() {
        let text: String = ORDER_RULES[k..].iter().map(|l| format!("{l}\n")).collect();
        tcprules(t.path(), "o.cdb", &text).assert(0, "", "");
        let key = ORDER_RULES[k].split(":allow").next().unwrap();
        let want = format!(
            "rule {key}:\nset environment variable which={}\nallow connection\n",
            names[k]
        );
        let ours = check(t.path(), "o.cdb", &env);
        ours.assert(0, &want, "");
        if debian() {
            let theirs = check_with(Cmd::new(DEBIAN_TCPRULESCHECK), t.path(), "o.cdb", &env);
            assert_eq!(ours.stdout, theirs.stdout, "differs from djb: {theirs:?}");
        }
    }
    if !debian() {
        skip("Debian's ucspi-tcp is not installed: djb comparison not run");
    }
}

#[test]
fn check36_host_suffix() {
    let t = tmp();
    tcprules(t.path(), "h.cdb", "=.abuser.edu:deny\n:allow\n").assert(0, "", "");
    for host in ["x.abuser.edu", "x.y.abuser.edu"] {
        check(
            t.path(),
            "h.cdb",
            &[("TCPREMOTEIP", "1.2.3.4"), ("TCPREMOTEHOST", host)],
        )
        .assert(0, "rule =.abuser.edu:\ndeny connection\n", "");
    }
    check(
        t.path(),
        "h.cdb",
        &[("TCPREMOTEIP", "1.2.3.4"), ("TCPREMOTEHOST", "abuser.edu")],
    )
    .assert(0, "rule :\nallow connection\n", "");
}

#[test]
fn check37_38_cidr_keys_literal_and_converted() {
    let t = tmp();
    tcprules(t.path(), "c.cdb", "_0bcdefgh:allow,X=\"cidr8\"\n").assert(0, "", "");
    check(t.path(), "c.cdb", &[("TCPREMOTEIP", "127.9.9.9")]).assert(
        0,
        "rule _0bcdefgh:\nset environment variable X=cidr8\nallow connection\n",
        "",
    );
    // Our tcprules converts CIDR input (U7), IPv4 and IPv6.
    tcprules(
        t.path(),
        "c.cdb",
        "127.0/8:allow,X=\"v4\"\n2001:db8::/32:allow,X=\"v6\"\n",
    )
    .assert(0, "", "");
    check(t.path(), "c.cdb", &[("TCPREMOTEIP", "127.9.9.9")]).assert(
        0,
        "rule _0bcdefgh:\nset environment variable X=v4\nallow connection\n",
        "",
    );
    check(t.path(), "c.cdb", &[("TCPREMOTEIP", "2001:db8::1")]).assert(
        0,
        "rule ^00`000000000000a0000bc0de0fgh000:\nset environment variable X=v6\nallow connection\n",
        "",
    );
    // With a host name known, the IPv6 CIDR rule still matches (U4).
    check(
        t.path(),
        "c.cdb",
        &[("TCPREMOTEIP", "2001:db8::1"), ("TCPREMOTEHOST", "h.example")],
    )
    .assert(
        0,
        "rule ^00`000000000000a0000bc0de0fgh000:\nset environment variable X=v6\nallow connection\n",
        "",
    );
    // A dotted prefix beats a CIDR rule.
    tcprules(
        t.path(),
        "c.cdb",
        "10.1.0.0/16:allow,X=\"cidr\"\n10.:allow,X=\"dot\"\n",
    )
    .assert(0, "", "");
    check(t.path(), "c.cdb", &[("TCPREMOTEIP", "10.1.2.3")]).assert(
        0,
        "rule 10.:\nset environment variable X=dot\nallow connection\n",
        "",
    );
    // Bad prefixes are parse errors.
    for bad in ["1.2.3.4/33:allow\n", "1.2.3.4/0:allow\n", "::/129:allow\n"] {
        let out = tcprules(t.path(), "c.cdb", bad);
        assert_eq!(out.code, Some(100), "{bad}: {out:?}");
    }
}

#[test]
fn check39_ipv6_compact_and_expanded() {
    let t = tmp();
    tcprules(
        t.path(),
        "v6.cdb",
        "2001:db8::6:allow,X=\"compact\"\n2001:0db8:0000:0000:0000:0000:0000:0005:allow,X=\"expanded\"\n",
    )
    .assert(0, "", "");
    check(t.path(), "v6.cdb", &[("TCPREMOTEIP", "2001:db8::6")]).assert(
        0,
        "rule 2001:db8::6:\nset environment variable X=compact\nallow connection\n",
        "",
    );
    check(t.path(), "v6.cdb", &[("TCPREMOTEIP", "2001:db8::5")]).assert(
        0,
        "rule 2001:0db8:0000:0000:0000:0000:0000:0005:\nset environment variable X=expanded\nallow connection\n",
        "",
    );
}

#[test]
fn check40_41_line_syntax_errors() {
    let t = tmp();
    tcprules(t.path(), "s.cdb", "1.2.3.4\n").assert(
        111,
        "",
        "tcprules: fatal: Unable to find colon on non-empty line.\n",
    );
    tcprules(t.path(), "s.cdb", "  \n").assert(
        111,
        "",
        "tcprules: fatal: Unable to find colon on non-empty line.\n",
    );
    tcprules(t.path(), "s.cdb", "1.2.3.4:foo\n").assert(0, "", "");
    check(t.path(), "s.cdb", &[("TCPREMOTEIP", "1.2.3.4")]).assert(
        0,
        "default:\nallow connection\n",
        "",
    );
    tcprules(t.path(), "s.cdb", "10.0.:allow,!RELAYCLIENT=\n").assert(
        100,
        "",
        "tcprules: fatal: unable to parse this line: 10.0.:allow,!RELAYCLIENT=\n",
    );
    tcprules(t.path(), "s.cdb", "10.0.:allow,!RELAYCLIENT\n").assert(0, "", "");
    check(t.path(), "s.cdb", &[("TCPREMOTEIP", "10.0.0.1")]).assert(
        0,
        "rule 10.0.:\nunset environment variable RELAYCLIENT\nallow connection\n",
        "",
    );
    tcprules(t.path(), "s.cdb", "1.2.3.4:allow,A=xyzx\n").assert(0, "", "");
    check(t.path(), "s.cdb", &[("TCPREMOTEIP", "1.2.3.4")]).assert(
        0,
        "rule 1.2.3.4:\nset environment variable A=yz\nallow connection\n",
        "",
    );
    tcprules(t.path(), "s.cdb", "1.2.3.4:allow,A=1\n").assert(
        100,
        "",
        "tcprules: fatal: unable to parse this line: 1.2.3.4:allow,A=1\n",
    );
    // A final line without a newline is still compiled.
    tcprules(t.path(), "s.cdb", "# comment\n\n1.2.3.4:deny").assert(0, "", "");
    check(t.path(), "s.cdb", &[("TCPREMOTEIP", "1.2.3.4")]).assert(
        0,
        "rule 1.2.3.4:\ndeny connection\n",
        "",
    );
}

#[test]
fn malformed_rules_leave_the_old_cdb_untouched() {
    let t = tmp();
    tcprules(t.path(), "k.cdb", "1.2.3.4:deny\n").assert(0, "", "");
    let before = fs::read(t.path().join("k.cdb")).unwrap();
    for bad in [
        "5.6.7.8:allow\n1.2.3.4:allow,A=1\n",
        "5.6.7.8:allow\nno colon here\n",
    ] {
        let out = tcprules(t.path(), "k.cdb", bad);
        assert_ne!(out.code, Some(0), "{out:?}");
        assert_eq!(fs::read(t.path().join("k.cdb")).unwrap(), before);
    }
    check(t.path(), "k.cdb", &[("TCPREMOTEIP", "1.2.3.4")]).assert(
        0,
        "rule 1.2.3.4:\ndeny connection\n",
        "",
    );
}

#[test]
fn damaged_cdb_files_are_reported_not_crashed_on() {
    let t = tmp();
    tcprules(t.path(), "g.cdb", RTS_RULES).assert(0, "", "");
    let good = fs::read(t.path().join("g.cdb")).unwrap();
    for cut in [0, 100, 2047, 2100, good.len() - 5] {
        fs::write(t.path().join("bad.cdb"), &good[..cut]).unwrap();
        let out = check(t.path(), "bad.cdb", &[("TCPREMOTEIP", "10.0.0.1")]);
        assert_eq!(out.signal, None, "{out:?}");
        if out.code != Some(0) {
            out.assert(
                111,
                "",
                "tcprulescheck: fatal: unable to read bad.cdb: protocol error\n",
            );
        }
    }
    let mut garbage = good.clone();
    for (i, b) in garbage.iter_mut().enumerate().take(2048) {
        *b = (i * 37 % 256) as u8;
    }
    fs::write(t.path().join("bad.cdb"), &garbage).unwrap();
    let out = check(t.path(), "bad.cdb", &[("TCPREMOTEIP", "10.0.0.1")]);
    assert_eq!(out.signal, None, "{out:?}");
    assert!(out.code == Some(0) || out.code == Some(111), "{out:?}");
    check(t.path(), "missing.cdb", &[]).assert(
        111,
        "",
        "tcprulescheck: fatal: unable to read missing.cdb: file does not exist\n",
    );
}

/// A rules file both implementations understand (djb 0.88 has no `!` and no CIDR).
const COMMON_RULES: &str = "# interop\n1.2.3.4:deny\n10.0-3.:allow,RELAYCLIENT=\"\",X=/a,b:c/\n\
=host.example:allow,H=\"1\"\nu@5.6.7.8:allow,U=+u+\n=.example.org:deny\n:allow,D=\"default\"\n";

#[test]
fn interoperates_with_debian_ucspi_tcp() {
    if !debian() {
        return skip("Debian's ucspi-tcp is not installed (make test installs it)");
    }
    let t = tmp();
    tcprules(t.path(), "ours.cdb", COMMON_RULES).assert(0, "", "");
    Cmd::new(DEBIAN_TCPRULES)
        .clean_env()
        .cwd(t.path())
        .args(["theirs.cdb", "theirs.tmp"])
        .stdin(COMMON_RULES)
        .run()
        .assert(0, "", "");
    assert_eq!(
        fs::read(t.path().join("ours.cdb")).unwrap(),
        fs::read(t.path().join("theirs.cdb")).unwrap(),
        "cdb bytes differ from djb's"
    );
    let clients: [&[(&str, &str)]; 7] = [
        &[("TCPREMOTEIP", "1.2.3.4")],
        &[("TCPREMOTEIP", "10.2.9.9")],
        &[("TCPREMOTEIP", "10.4.9.9")],
        &[
            ("TCPREMOTEIP", "9.9.9.9"),
            ("TCPREMOTEHOST", "host.example"),
        ],
        &[("TCPREMOTEIP", "5.6.7.8"), ("TCPREMOTEINFO", "u")],
        &[
            ("TCPREMOTEIP", "9.9.9.9"),
            ("TCPREMOTEHOST", "a.example.org"),
        ],
        &[],
    ];
    // Our tcprulescheck on their cdb, their tcprulescheck on ours.
    for env in clients {
        let ours = check(t.path(), "theirs.cdb", env);
        let theirs = check_with(Cmd::new(DEBIAN_TCPRULESCHECK), t.path(), "ours.cdb", env);
        ours.assert_code(0);
        assert_eq!(ours.stdout_str(), theirs.stdout_str(), "{env:?}");
    }
}

#[test]
fn high_byte_keys_found_in_either_hash_variant() {
    // djb's tcprules hashes bytes unsigned; libqmail on x86 signed. We write the djb
    // hash and read both, so a djb-built file with a UTF-8 host name works.
    let t = tmp();
    let rules = "=h\u{e9}llo.example:allow,X=\"utf8\"\n";
    tcprules(t.path(), "u.cdb", rules).assert(0, "", "");
    let env = [
        ("TCPREMOTEIP", "1.1.1.1"),
        ("TCPREMOTEHOST", "h\u{e9}llo.example"),
    ];
    check(t.path(), "u.cdb", &env).assert(
        0,
        "rule =h\u{e9}llo.example:\nset environment variable X=utf8\nallow connection\n",
        "",
    );
    if debian() {
        Cmd::new(DEBIAN_TCPRULES)
            .clean_env()
            .cwd(t.path())
            .args(["d.cdb", "d.tmp"])
            .stdin(rules)
            .run()
            .assert(0, "", "");
        check(t.path(), "d.cdb", &env).assert_code(0);
        assert!(check(t.path(), "d.cdb", &env)
            .stdout_str()
            .contains("X=utf8"));
    }
    // A file written with the signed hash (as indimail's tcprules on x86 does).
    let mut signed = PathBuf::from(t.path());
    signed.push("s.cdb");
    fs::write(
        &signed,
        signed_hash_cdb(b"=h\xc3\xa9llo.example", b"+X=signed\0"),
    )
    .unwrap();
    check(t.path(), "s.cdb", &env).assert(
        0,
        "rule =h\u{e9}llo.example:\nset environment variable X=signed\nallow connection\n",
        "",
    );
}

/// A one-record cdb hashed the way libqmail does on x86 (bytes sign-extended).
fn signed_hash_cdb(key: &[u8], data: &[u8]) -> Vec<u8> {
    let h = key.iter().fold(5381u32, |h, &b| {
        (h << 5).wrapping_add(h) ^ (i32::from(b as i8) as u32)
    });
    let mut v = vec![0u8; 2048];
    v.extend_from_slice(&(key.len() as u32).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(key);
    v.extend_from_slice(data);
    let tpos = v.len() as u32;
    let mut slots = [(0u32, 0u32); 2];
    slots[((h >> 8) % 2) as usize] = (h, 2048);
    for (a, b) in slots {
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
    }
    let end = v.len() as u32;
    for i in 0..256u32 {
        let (p, n) = match i.cmp(&(h & 255)) {
            std::cmp::Ordering::Less => (tpos, 0u32),
            std::cmp::Ordering::Equal => (tpos, 2),
            std::cmp::Ordering::Greater => (end, 0),
        };
        let at = i as usize * 8;
        v[at..at + 4].copy_from_slice(&p.to_le_bytes());
        v[at + 4..at + 8].copy_from_slice(&n.to_le_bytes());
    }
    v
}

/// The file system full, then freed (root: a small tmpfs): tcprules exits 111 saying why,
/// the old cdb stays byte for byte, and once there is room the same input compiles.
#[test]
fn full_disk_leaves_the_old_cdb_then_compiles() {
    if !is_root() {
        return skip("full_disk_leaves_the_old_cdb_then_compiles needs root to mount a tmpfs");
    }
    let fs1 = Tmpfs::mount("1m");
    let d = fs1.path();
    tcprules(d, "r.cdb", ":allow\n").assert(0, "", "");
    let old = fs::read(d.join("r.cdb")).unwrap();
    let filler = fill(d);
    let big: String = (0..3000)
        .map(|i| {
            format!(
                "10.0.{}.{}:allow,X=\"{}\"\n",
                i / 256,
                i % 256,
                "v".repeat(60)
            )
        })
        .collect();
    let out = tcprules(d, "r.cdb", &big);
    out.assert_code(111);
    let err = out.stderr_str();
    assert!(
        err == "tcprules: fatal: unable to write to r.cdb.tmp: out of disk space\n"
            || err == "tcprules: fatal: unable to create r.cdb.tmp: out of disk space\n",
        "{err}"
    );
    assert_eq!(fs::read(d.join("r.cdb")).unwrap(), old);
    fs::remove_file(filler).unwrap();
    tcprules(d, "r.cdb", &big).assert(0, "", "");
    let check = check(d, "r.cdb", &[("TCPREMOTEIP", "10.0.11.183")]);
    check.assert_code(0);
    assert!(
        check.stdout_str().starts_with("rule 10.0.11.183:\n"),
        "{check:?}"
    );
}
