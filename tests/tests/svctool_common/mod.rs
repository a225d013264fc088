//! Helpers shared by the svctool suites: the scratch root with pinned host facts, tree
//! listings, goldens, `sh -n` on every generated script.
#![allow(dead_code)]

use blackbox::{bin_dir, is_root, Cmd, Output};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const DATE: &str = "Sun Nov 22 07:50:45 UTC 2026";
pub const IDS: &str = "indimail=1555,qmail=1556,qmaild=1557,qmaill=1558,nofiles=1559,qcerts=1560,qscand=1561,qmails=1562,alias=1563,mysql=1564";

/// The seed command of docs/svctool.md#the-seed-command.
pub const SEED: &[&str] = &[
    "--qmqp=628",
    "--servicedir=/service",
    "--maxdaemons=75",
    "--maxperip=25",
    "--qbase=/var/indimail/queue",
    "--qcount=5",
    "--qstart=1",
    "--cntrldir=control",
    "--localip=0",
    "--fsync",
    "--syncdir",
    "--memory=104857600",
    "--min-free=52428800",
];

pub const OPTS: &str = r#"/usr/sbin/svctool --qmqp="628" --servicedir="/service" --maxdaemons="75" --maxperip="25" --qbase="/var/indimail/queue" --qcount="5" --qstart="1" --cntrldir="control" --localip="0" --fsync --syncdir --memory="104857600" --min-free="52428800""#;

/// A scratch root with the environment of docs/svctool.md#acceptance-checks: imapmodules present, no auth modules, no
/// plugins, no mysqld.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Default for Root {
    fn default() -> Root {
        Root::new()
    }
}

impl Root {
    pub fn new() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("svctool.")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let r = Root { dir };
        for m in [
            "authindi",
            "authshadow",
            "authpam",
            "authgeneric",
            "authtest",
        ] {
            r.write(&format!("usr/libexec/indimail/imapmodules/{m}"), "");
        }
        r
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel.trim_start_matches('/'))
    }

    pub fn write(&self, rel: &str, data: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.path(rel)).is_ok()
    }

    /// A program in the scratch root that records its arguments in `ROOT/calls`.
    pub fn stub(&self, rel: &str) {
        let calls = self.path("calls");
        self.write(
            rel,
            &format!(
                "#!/bin/sh\necho \"{} $*\" >> {}\n",
                Path::new(rel).file_name().unwrap().to_string_lossy(),
                calls.display()
            ),
        );
        fs::set_permissions(self.path(rel), fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// An executable file with `body`.
    pub fn script(&self, rel: &str, body: &str) {
        self.write(rel, body);
        fs::set_permissions(self.path(rel), fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A symlink `rel -> target`.
    pub fn symlink(&self, target: &str, rel: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    pub fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.path(rel)).unwrap();
    }

    /// What the stubs recorded (see [`Root::stub`]).
    pub fn calls(&self) -> String {
        fs::read_to_string(self.path("calls")).unwrap_or_default()
    }

    /// svctool with the pinned host facts.
    pub fn cmd(&self, prog: &str) -> Cmd {
        Cmd::bin(prog)
            .clean_env()
            .env("SVCTOOL_ROOT", self.dir.path())
            .env("SVCTOOL_DATE", DATE)
            .env("SVCTOOL_HOST", "x86_64-pc-linux-gnu")
            .env("SVCTOOL_HOSTNAME", "mail.example.com")
            .env("SVCTOOL_IDS", IDS)
            .env("SVCTOOL_BINDIR", bin_dir())
            .env("SVCTOOL_SLEEP", "0")
    }

    pub fn svctool(&self, args: &[&str]) -> Output {
        self.cmd("svctool").args(args).run()
    }

    /// The variables of a service: name -> exact content.
    pub fn vars(&self, svc: &str) -> BTreeMap<String, String> {
        let d = self.path(&format!("service/{svc}/variables"));
        fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect()
    }
}

/// `name -> content` assertions: `x` means `x\n`, `""` means `\n`, `∅` means empty.
#[track_caller]
pub fn assert_vars(vars: &BTreeMap<String, String>, want: &[(&str, &str)]) {
    for (k, v) in want {
        let expect = match *v {
            "∅" => String::new(),
            "\"\"" => "\n".to_string(),
            other => format!("{other}\n"),
        };
        assert_eq!(vars.get(*k), Some(&expect), "variable {k}");
    }
}

#[track_caller]
pub fn assert_absent(vars: &BTreeMap<String, String>, names: &[&str]) {
    for n in names {
        assert!(
            !vars.contains_key(*n),
            "variable {n} should not exist: {:?}",
            vars.get(*n)
        );
    }
}

fn owner_names() -> BTreeMap<u32, String> {
    let mut m: BTreeMap<u32, String> = IDS
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (v.parse().unwrap(), k.to_string()))
        .collect();
    m.insert(0, "root".into());
    m
}

/// A listing of everything under `root` but the fixtures (`usr/`, `calls`): type, mode,
/// owner (as root) and content.
pub fn tree(root: &Path) -> String {
    let mut paths = Vec::new();
    collect(root, root, &mut paths);
    listing(root, paths)
}

/// A listing like [`tree`] of the given paths under `root` (and everything below them),
/// `usr/` included.
pub fn tree_of(root: &Path, subs: &[&str]) -> String {
    let mut paths = Vec::new();
    for sub in subs {
        let p = root.join(sub);
        if fs::symlink_metadata(&p).is_err() {
            continue;
        }
        paths.push(sub.to_string());
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            collect_all(root, &p, &mut paths);
        }
    }
    listing(root, paths)
}

fn collect_all(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            collect_all(root, &p, out);
        }
    }
}

fn listing(root: &Path, mut paths: Vec<String>) -> String {
    let names = owner_names();
    paths.sort();
    paths.dedup();
    let mut out = String::new();
    for rel in paths {
        let p = root.join(&rel);
        let m = fs::symlink_metadata(&p).unwrap();
        let owner = if is_root() {
            let n = |id: u32| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
            format!("{}:{}", n(m.uid()), n(m.gid()))
        } else {
            "-".into()
        };
        let mode = m.permissions().mode() & 0o7777;
        let ft = m.file_type();
        if ft.is_symlink() {
            out.push_str(&format!(
                "l {owner} {rel} -> {}\n",
                fs::read_link(&p).unwrap().display()
            ));
        } else if ft.is_dir() {
            out.push_str(&format!("d {mode:04o} {owner} {rel}/\n"));
        } else if ft.is_fifo() {
            out.push_str(&format!("p {mode:04o} {owner} {rel}\n"));
        } else {
            let data = fs::read(&p).unwrap();
            if data.is_empty() {
                out.push_str(&format!("f {mode:04o} {owner} {rel} [empty]\n"));
                continue;
            }
            out.push_str(&format!("f {mode:04o} {owner} {rel}\n"));
            let text = String::from_utf8_lossy(&data);
            for line in text.split_inclusive('\n') {
                match line.strip_suffix('\n') {
                    Some(l) => out.push_str(&format!("  |{l}\n")),
                    None => out.push_str(&format!("  |{line}\n  \\ no newline at end\n")),
                }
            }
        }
    }
    out
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if rel == "usr" || rel == "calls" {
            continue;
        }
        out.push(rel);
        if e.file_type().unwrap().is_dir() {
            collect(root, &p, out);
        }
    }
}

fn strip_owners(t: &str) -> String {
    t.lines()
        .map(|l| {
            let mut f: Vec<&str> = l.splitn(4, ' ').collect();
            if l.starts_with(['d', 'f', 'p']) && f.len() == 4 {
                f[2] = "-";
            } else if l.starts_with('l') && f.len() >= 3 {
                f[1] = "-";
            }
            f.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compare a tree with `tests/golden/svctool/NAME.tree` (UPDATE_GOLDEN=1 writes it).
#[track_caller]
pub fn golden(name: &str, actual: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("golden/svctool/{name}.tree"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, actual).unwrap();
        return;
    }
    let want = fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", file.display()));
    let (a, w) = if is_root() {
        (actual.to_string(), want)
    } else {
        (strip_owners(actual), strip_owners(&want))
    };
    if a != w {
        let diff: Vec<String> = a
            .lines()
            .zip(w.lines())
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .take(10)
            .map(|(i, (x, y))| format!("line {}:\n  got:  {x}\n  want: {y}", i + 1))
            .collect();
        panic!(
            "tree differs from {} ({} vs {} lines):\n{}",
            file.display(),
            a.lines().count(),
            w.lines().count(),
            diff.join("\n")
        );
    }
}

/// Every script svctool wrote (run, log/run, init, shutdown) passes `sh -n`.
#[track_caller]
pub fn scripts_parse(root: &Path) {
    let mut all = Vec::new();
    collect(root, root, &mut all);
    let mut n = 0;
    for rel in all {
        let name = Path::new(&rel)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !matches!(name.as_str(), "run" | "init" | "shutdown") {
            continue;
        }
        let p = root.join(&rel);
        if !p.is_file() {
            continue;
        }
        let out = Cmd::new("sh").arg("-n").arg(&p).run();
        assert_eq!(out.code, Some(0), "sh -n {rel}: {}", out.stderr_str());
        n += 1;
    }
    assert!(n > 0, "no scripts found under {}", root.display());
}

#[track_caller]
pub fn ok(out: &Output) {
    assert_eq!(out.code, Some(0), "{out:?}");
}

/// Run, expect success, compare the whole root with the golden, check the scripts.
#[track_caller]
pub fn check_golden(name: &str, r: &Root, args: &[&str]) -> Output {
    let out = r.svctool(args);
    ok(&out);
    golden(name, &tree(r.dir.path()));
    scripts_parse(r.dir.path());
    out
}

pub fn mkfifo(p: &Path) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}
