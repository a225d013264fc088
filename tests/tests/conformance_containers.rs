//! Side by side with the reference (`/opt/indimail-ref`, or `$INDI_REF`): svstatd, rsvc,
//! docker-entrypoint, runpod and minisvc given the same input, their exit codes, stdout and
//! stderr compared after the normalisation each case names. A case whose outputs differ
//! must be listed in `tests/conformance/differences_containers.tsv` (`case-id<TAB>
//! COMPATIBILITY-row<TAB>note`), and a listed case must still differ: the table says
//! exactly where we are not the reference.
//!
//! A minimal runner of its own until the shared conformance harness lands; its table uses
//! the shared format, so the cases fold into it.

use blackbox::{bin, bin_dir, is_root, skip, Cmd, Output};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn reference() -> Option<PathBuf> {
    let dir = std::env::var_os("INDI_REF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/indimail-ref"));
    dir.join("sbin/svstatd").is_file().then_some(dir)
}

/// The table: case id -> COMPATIBILITY row.
fn table() -> BTreeMap<String, String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/differences_containers.tsv");
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let compat =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../COMPATIBILITY.md"))
            .unwrap();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 3, "malformed line: {l:?}");
            let row = format!("| {} |", f[1]);
            assert!(
                compat.contains(&row),
                "{}: no row {} in COMPATIBILITY.md",
                f[0],
                f[1]
            );
            (f[0].to_string(), f[1].to_string())
        })
        .collect()
}

/// What of two outputs is compared.
#[derive(Clone, Copy)]
enum Compare {
    /// Exit code, stdout and stderr.
    All,
    /// Exit code and the first line of stderr (usage texts are our own words).
    FirstErrLine,
    /// Exit code only.
    Code,
}

/// Digits in seconds and pids replaced, so two runs a moment apart compare equal.
fn numbers(s: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in s.chars() {
        if c.is_ascii_digit() || (in_num && c == '.') {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

fn view(o: &Output, how: Compare, norm: fn(&str) -> String) -> String {
    let err = o.stderr_str();
    match how {
        Compare::All => format!(
            "exit {:?}\n--stdout--\n{}--stderr--\n{}",
            o.code,
            norm(&o.stdout_str()),
            norm(&err)
        ),
        Compare::FirstErrLine => format!("exit {:?}\n{}", o.code, err.lines().next().unwrap_or("")),
        Compare::Code => format!("exit {:?}", o.code),
    }
}

/// Collects the verdicts of a group of cases; panics at the end with all mismatches.
struct Verdicts {
    table: BTreeMap<String, String>,
    problems: Vec<String>,
}

impl Verdicts {
    fn new() -> Verdicts {
        Verdicts {
            table: table(),
            problems: Vec::new(),
        }
    }

    fn case(&mut self, id: &str, ours: &str, theirs: &str) {
        let listed = self.table.contains_key(id);
        if ours != theirs && !listed {
            self.problems.push(format!(
                "{id}: differs and is not in the table\n  reference: {theirs:?}\n  ours:      {ours:?}"
            ));
        } else if ours == theirs && listed {
            self.problems.push(format!(
                "{id}: listed in the table but no longer differs ({ours:?})"
            ));
        }
    }

    fn done(self) {
        assert!(self.problems.is_empty(), "\n{}", self.problems.join("\n"));
    }
}

fn tmp() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("conf-ctr.")
        .tempdir()
        .unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

fn script(p: &Path, body: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `ours` and `theirs` as `setup` makes them and record the verdict for `id`.
fn side_by_side(
    v: &mut Verdicts,
    id: &str,
    how: Compare,
    (ours, theirs): (PathBuf, PathBuf),
    setup: impl Fn(Cmd) -> Cmd,
) {
    let ours = setup(Cmd::new(ours)).run();
    let theirs = setup(Cmd::new(theirs)).run();
    v.case(
        id,
        &view(&ours, how, str::to_string),
        &view(&theirs, how, str::to_string),
    );
}

/// PATH with the reference's or our programs first.
fn path_of(dirs: &[&Path]) -> String {
    let mut p: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    p.push(blackbox::SYSTEM_PATH.to_string());
    p.join(":")
}

#[test]
fn svstatd_side_by_side() {
    let Some(r) = reference() else {
        return skip("the reference is not built in /opt/indimail-ref");
    };
    let t = tmp();
    let sv = t.path().join("sv");
    script(&sv.join("a/run"), "#!/bin/sh\nexec sleep 1000\n");
    script(&sv.join("b/run"), "#!/bin/sh\nexec sleep 1000\n");
    fs::write(sv.join("b/down"), "").unwrap();
    let _svscan = Cmd::bin("svscan")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .arg(&sv)
        .cwd(&sv)
        .spawn();
    for (s, code) in [("a", 0), ("b", 1)] {
        wait_until(s, || {
            Cmd::bin("svstat").arg(sv.join(s)).run().code == Some(code)
        });
    }
    let d = sv.display();
    let ours_path = path_of(&[&bin_dir()]);
    let ref_path = path_of(&[&r.join("bin")]);
    let mut v = Verdicts::new();
    for (id, input) in [
        ("svstatd.empty", String::new()),
        ("svstatd.no-newline", "x".into()),
        ("svstatd.blank-line", "\n".into()),
        ("svstatd.one-word", format!("{d}\n")),
        ("svstatd.up", format!("{d} a\n")),
        ("svstatd.down", format!("{d} b\n")),
        ("svstatd.missing", format!("{d} nosuch\n")),
        ("svstatd.dotdot", format!("{d} ../sv/a\n")),
        ("svstatd.leading-blank", " tmp\n".into()),
        ("svstatd.crlf", format!("{d} a\r\n")),
        ("svstatd.container", format!("{d} a docker web\n")),
    ] {
        let run = |prog: PathBuf, path: &str| {
            Cmd::new(prog)
                .env_clear()
                .env("PATH", path)
                .stdin(input.clone())
                .run()
        };
        let ours = run(bin("svstatd"), &ours_path);
        let theirs = run(r.join("sbin/svstatd"), &ref_path);
        v.case(
            id,
            &view(&ours, Compare::All, numbers),
            &view(&theirs, Compare::All, numbers),
        );
    }
    v.done();
}

#[test]
fn rsvc_side_by_side() {
    let Some(r) = reference() else {
        return skip("the reference is not built in /opt/indimail-ref");
    };
    let t = tmp();
    let mut v = Verdicts::new();
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("rsvc.usage-none", &[], Some("")),
        ("rsvc.usage-three", &["/service", "x", "docker"], Some("")),
        (
            "rsvc.up",
            &["/service", "x"],
            Some("/service/x: up 12.5 seconds  pid 5 \n"),
        ),
        (
            "rsvc.up-paused",
            &["/service", "x"],
            Some("/service/x: up 1.2 seconds, paused  pid 5 \n"),
        ),
        (
            "rsvc.down",
            &["/service", "x"],
            Some("/service/x: down 12.5 seconds spid 5 \n"),
        ),
        (
            "rsvc.wait",
            &["/service", "x", "docker", "c1"],
            Some("  /service/x: wait 1.5 seconds spid 5 remaining 3 seconds \n"),
        ),
        (
            "rsvc.refusal",
            &["/service", "x"],
            Some("svstatd: fatal: unable to access /service/x"),
        ),
        ("rsvc.no-answer", &["/service", "x"], Some("")),
        ("rsvc.no-descriptors", &["/service", "x"], None),
    ];
    for (id, args, answer) in cases {
        let run = |prog: PathBuf, side: &str| {
            let req = t.path().join(format!("{id}.{side}.req"));
            let ans = t.path().join(format!("{id}.ans"));
            let mut cmd = match answer {
                Some(a) => {
                    fs::write(&ans, a).unwrap();
                    Cmd::new("/bin/sh")
                        .arg("-c")
                        .arg("p=$1; shift; exec \"$p\" \"$@\" 6<\"$ANS\" 7>\"$REQ\"")
                        .arg("sh")
                        .arg(prog)
                        .env("ANS", &ans)
                        .env("REQ", &req)
                }
                None => Cmd::new(prog),
            };
            cmd = cmd.args(*args);
            let out = cmd.run();
            let sent = fs::read_to_string(&req).unwrap_or_default();
            format!(
                "{}\n--request--\n{sent}",
                view(&out, Compare::All, str::to_string)
            )
        };
        let ours = run(bin("rsvc"), "ours");
        let theirs = run(r.join("bin/rsvc"), "ref");
        v.case(id, &ours, &theirs);
    }
    v.done();
}

#[test]
fn entrypoint_side_by_side() {
    let Some(r) = reference() else {
        return skip("the reference is not built in /opt/indimail-ref");
    };
    let t = tmp();
    let mut v = Verdicts::new();
    let cases: &[(&str, &[&str], Compare)] = &[
        ("entrypoint.illegal", &["-x"], Compare::FirstErrLine),
        ("entrypoint.missing-arg", &["-d"], Compare::FirstErrLine),
        (
            "entrypoint.long-missing-arg",
            &["--timezone"],
            Compare::FirstErrLine,
        ),
        ("entrypoint.no-dashes", &["ls", "-l"], Compare::FirstErrLine),
        ("entrypoint.bad-zone", &["-t", "Nowhere/Zone"], Compare::All),
        ("entrypoint.command", &["--", "echo", "hi"], Compare::All),
    ];
    for (id, args, how) in cases {
        let progs = (bin("docker-entrypoint"), r.join("sbin/docker-entrypoint"));
        side_by_side(&mut v, id, *how, progs, |c| {
            c.env_clear()
                .env("PATH", path_of(&[]))
                .env("HOSTNAME", "mail.example.org")
                // ours keeps its files under a scratch root (nothing exists there)
                .env("SVCTOOL_ROOT", t.path())
                .args(*args)
        });
    }
    v.done();
}

#[test]
fn runpod_side_by_side() {
    let Some(r) = reference() else {
        return skip("the reference is not built in /opt/indimail-ref");
    };
    let t = tmp();
    script(
        &t.path().join("podman"),
        "#!/bin/sh\nprintf 'engine'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo\n\
         [ \"$1\" = images ] && echo 'localhost/im debian-12 abc123 2 days ago 10MB'\nexit 0\n",
    );
    // docker too: never the machine's real engine
    fs::copy(t.path().join("podman"), t.path().join("docker")).unwrap();
    let path = path_of(&[t.path()]);
    let mut v = Verdicts::new();
    let cases: &[(&str, &[&str], Compare)] = &[
        ("runpod.no-image", &[], Compare::Code),
        ("runpod.illegal", &["-x"], Compare::Code),
        (
            "runpod.indimail",
            &[
                "-i",
                "abc",
                "-n",
                "indimail",
                "-a",
                "--rm -e X=1",
                "-p",
                "25:25",
                "-C",
                "auto",
            ],
            Compare::All,
        ),
        ("runpod.defaults", &["-i", "abc"], Compare::All),
        (
            "runpod.svscan",
            &["-i", "abc", "-n", "svscan"],
            Compare::All,
        ),
        (
            "runpod.webmail",
            &["--id=abc", "--name=webmail"],
            Compare::All,
        ),
        (
            "runpod.privileged",
            &[
                "-c",
                "docker",
                "-i",
                "abc",
                "-n",
                "x",
                "-a",
                "--privileged",
                "-C",
                "NET_ADMIN",
                "-h",
                "box",
                "--",
                "ls",
                "-l",
            ],
            Compare::All,
        ),
        (
            "runpod.volume-form",
            &["-i", "abc", "-v", "/tmp:/x:ro"],
            Compare::All,
        ),
        (
            "runpod.volume-missing",
            &["-i", "abc", "-v", "/nonexistent:/x"],
            Compare::FirstErrLine,
        ),
        (
            "runpod.bad-engine",
            &["-i", "abc", "-c", "lxc"],
            Compare::FirstErrLine,
        ),
        (
            "runpod.auto",
            &["-i", "abc123", "-n", "box", "auto"],
            Compare::All,
        ),
    ];
    for (id, args, how) in cases {
        let progs = (bin("runpod"), r.join("sbin/runpod"));
        side_by_side(&mut v, id, *how, progs, |c| {
            c.env_clear().env("PATH", &path).args(*args)
        });
    }
    v.done();
}

#[test]
fn minisvc_side_by_side() {
    let Some(r) = reference() else {
        return skip("the reference is not built in /opt/indimail-ref");
    };
    if !is_root() {
        return skip("minisvc runs as root only (both)");
    }
    let t = tmp();
    let mut v = Verdicts::new();
    let cases: &[(&str, &[&str], Compare)] = &[
        ("minisvc.invalid", &["--bogus"], Compare::FirstErrLine),
        (
            "minisvc.svctool-action",
            &["--smtp=25"],
            Compare::FirstErrLine,
        ),
        (
            "minisvc.config-unknown",
            &["--config=mysql"],
            Compare::FirstErrLine,
        ),
        ("minisvc.version", &["--version"], Compare::All),
    ];
    for (id, args, how) in cases {
        let progs = (bin("minisvc"), r.join("sbin/minisvc"));
        side_by_side(&mut v, id, *how, progs, |c| {
            c.env_clear()
                .env("PATH", path_of(&[]))
                .env("TMPDIR", t.path())
                .env("SVCTOOL_ROOT", t.path())
                .args(*args)
        });
    }
    v.done();
}

/// Every file under `dir`: relative path -> content, with the header's version and date
/// lines (2 and 3 of a generated script) left out.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
                continue;
            }
            let text = fs::read_to_string(&p).unwrap_or_default();
            let text: String = if text.starts_with("#!/bin/sh\n# $Id:") {
                text.lines()
                    .enumerate()
                    .filter(|(i, _)| *i != 1 && *i != 2)
                    .map(|(_, l)| format!("{l}\n"))
                    .collect()
            } else {
                text
            };
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            out.insert(rel, text);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn minisvc_svscanlog_tree_side_by_side() {
    let Some(r) = reference() else {
        return skip("the reference is not built in /opt/indimail-ref");
    };
    if !is_root() {
        return skip("minisvc runs as root only (both); the reference needs a private /var/log");
    }
    let t = tmp();
    let (theirs, ours) = (t.path().join("ref"), t.path().join("ours"));
    let args = ["--svscanlog", "--servicedir=/service", "--scanint=60"];
    // The reference writes /var/log/svc outside its --destdir: a private tmpfs takes it.
    let out = Cmd::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /var/log && exec \"$@\"")
        .arg("sh")
        .arg(r.join("sbin/minisvc"))
        .args(args)
        .arg(format!("--destdir={}", theirs.display()))
        .env_clear()
        .env("PATH", path_of(&[]))
        .env("TMPDIR", t.path())
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let prefix = r.display().to_string();
    let sysconf = format!("{prefix}/etc");
    let out = Cmd::bin("minisvc")
        .clean_env()
        .env("SVCTOOL_PREFIX", &prefix)
        .env("SVCTOOL_SYSCONFDIR", &sysconf)
        .env("SVCTOOL_IDS", "qmaill=1558,nofiles=1559")
        .args(args)
        .arg(format!("--destdir={}", ours.display()))
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let strip = |m: BTreeMap<String, String>, root: &Path| -> BTreeMap<String, String> {
        let root = root.display().to_string();
        m.into_iter()
            .filter(|(k, _)| !k.ends_with("services.log"))
            .map(|(k, v)| (k, v.replace(&root, "DESTDIR")))
            .collect()
    };
    let mut v = Verdicts::new();
    v.case(
        "minisvc.svscanlog-tree",
        &format!("{:#?}", strip(tree(&ours), &ours)),
        &format!("{:#?}", strip(tree(&theirs), &theirs)),
    );
    v.done();
}
