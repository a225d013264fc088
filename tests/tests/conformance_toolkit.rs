//! Conformance of the toolkit programs: every case runs once through the reference's
//! program (`$INDI_REF`, default `/opt/indimail-ref`) and once through ours, in the same
//! scratch directory, and the two must agree on exit code, standard output, standard
//! error and the files left behind. A case listed in `tests/conformance/differences.tsv`
//! (`case-id<TAB>COMPATIBILITY-row<TAB>note`) is a documented difference: it is run and
//! shown, not compared.
//!
//! This is a minimal local runner, written to be folded into the shared conformance
//! harness: a case is data (program, arguments, input, environment, set-up).

use blackbox::{bin_dir, skip, Cmd, Output, SYSTEM_PATH};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[path = "toolkit_common/mod.rs"]
mod toolkit_common;
use toolkit_common::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Reference,
    Ours,
}

/// Prepares the scratch directory for one side (fixtures, links to that side's tools).
type Setup = fn(&Path, Side);

struct Case {
    id: &'static str,
    prog: &'static str,
    args: Vec<String>,
    stdin: Vec<u8>,
    env: Vec<(&'static str, String)>,
    setup: Setup,
    /// Compare the scratch directory's tree too.
    files: bool,
    /// Run this path (relative to the scratch directory, made by the set-up) instead of
    /// the program's own, so that both sides see the same `argv[0]`.
    run_as: Option<&'static str>,
}

fn case(id: &'static str, prog: &'static str, args: &[&str]) -> Case {
    Case {
        id,
        prog,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        env: Vec::new(),
        setup: |_, _| {},
        files: false,
        run_as: None,
    }
}

impl Case {
    fn stdin(mut self, s: &str) -> Case {
        self.stdin = s.as_bytes().to_vec();
        self
    }
    fn env(mut self, k: &'static str, v: &str) -> Case {
        self.env.push((k, v.to_string()));
        self
    }
    fn setup(mut self, f: Setup) -> Case {
        self.setup = f;
        self
    }
    fn files(mut self) -> Case {
        self.files = true;
        self
    }
    fn run_as(mut self, path: &'static str) -> Case {
        self.run_as = Some(path);
        self
    }
}

fn reference_root() -> PathBuf {
    std::env::var_os("INDI_REF").map_or_else(|| PathBuf::from("/opt/indimail-ref"), PathBuf::from)
}

/// A program of one side: the reference's from its bin, sbin or libexec.
fn program(side: Side, prog: &str) -> PathBuf {
    match side {
        Side::Ours => bin_dir().join(prog),
        Side::Reference => {
            let root = reference_root();
            ["bin", "sbin", "libexec"]
                .iter()
                .map(|d| root.join(d).join(prog))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("reference has no {prog}"))
        }
    }
}

fn side_path(side: Side) -> String {
    match side {
        Side::Ours => format!("{}:{SYSTEM_PATH}", bin_dir().display()),
        Side::Reference => {
            let r = reference_root();
            let r = r.display();
            format!("{r}/bin:{r}/sbin:{r}/libexec:{SYSTEM_PATH}")
        }
    }
}

/// Every file under `dir`: type, mode, owner, size and content (or link target).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let what = if m.file_type().is_symlink() {
                let target = fs::read_link(&p).unwrap().display().to_string();
                // links the set-up made to either side's programs read the same
                let target = target
                    .replace(&bin_dir().display().to_string(), "{bin}")
                    .replace(&format!("{}/libexec", reference_root().display()), "{bin}");
                format!("link -> {target}")
            } else if m.is_dir() {
                "dir".to_string()
            } else if m.is_file() {
                format!("file {:?}", String::from_utf8_lossy(&fs::read(&p).unwrap()))
            } else {
                "special".to_string()
            };
            let desc = format!("{what} mode {:o} owner {}:{}", m.mode(), m.uid(), m.gid());
            out.insert(rel, desc);
            if m.is_dir() && !m.file_type().is_symlink() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What one side did.
#[derive(Debug, PartialEq)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    files: BTreeMap<String, String>,
}

fn run_side(c: &Case, side: Side, dir: &Path) -> Run {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    (c.setup)(dir, side);
    let prog = c
        .run_as
        .map_or_else(|| program(side, c.prog), PathBuf::from);
    let mut cmd = if side == Side::Reference && c.prog == "qlogselect" {
        // the reference's Perl script names a perl under its own prefix
        Cmd::new("perl").arg(&prog)
    } else {
        Cmd::new(&prog)
    };
    let here = dir.display().to_string();
    cmd = cmd
        .env_clear()
        .env("PATH", side_path(side))
        .cwd(dir)
        .args(c.args.iter().map(|a| a.replace("{dir}", &here)))
        .stdin(c.stdin.clone());
    for (k, v) in &c.env {
        cmd = cmd.env(k, v.replace("{dir}", &here));
    }
    let o: Output = cmd.run();
    let files = if c.files { tree(dir) } else { BTreeMap::new() };
    let _ = fs::remove_dir_all(dir);
    Run {
        code: o.code,
        stdout: o.stdout_str(),
        stderr: o.stderr_str(),
        files,
    }
}

/// The documented differences: case id -> COMPATIBILITY row.
fn differences() -> BTreeMap<String, String> {
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/differences.tsv");
    fs::read_to_string(table)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

fn conform(cases: Vec<Case>) {
    if !reference_root().join("bin").is_dir() {
        return skip("reference not built (../shared/reference/build.sh, or INDI_REF)");
    }
    let allowed = differences();
    // one base per group of cases: the groups run in parallel
    let first = cases.first().map_or("none", |c| c.id);
    let base = std::env::temp_dir().join(format!("tk-conformance.{}.{first}", std::process::id()));
    let mut failures = Vec::new();
    for c in cases {
        let dir = base.join(c.id);
        let reference = run_side(&c, Side::Reference, &dir);
        let ours = run_side(&c, Side::Ours, &dir);
        match (reference == ours, allowed.get(c.id)) {
            (true, Some(row)) => eprintln!("{}: now agrees; {row} may be stale", c.id),
            (true, None) => {}
            (false, Some(row)) => eprintln!("{}: differs as {row} documents", c.id),
            (false, None) => failures.push(format!(
                "{}: differs\n  reference: {reference:?}\n  ours:      {ours:?}",
                c.id
            )),
        }
    }
    let _ = fs::remove_dir_all(&base);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ----- fixtures -----

fn log_tree(dir: &Path, _: Side) {
    let logs = dir.join("logs");
    fs::create_dir(&logs).unwrap();
    let line = |s: u64, n: u32, text: &str| format!("{} {text}\n", label(s, n));
    fs::write(
        logs.join(format!("{}.s", label(900, 0))),
        line(800, 0, "old") + &line(999, 5, "just before"),
    )
    .unwrap();
    fs::write(
        logs.join(format!("{}.u", label(1500, 0))),
        line(1000, 0, "start") + "unstamped\n" + &line(1400, 0, "in"),
    )
    .unwrap();
    fs::write(
        logs.join("current"),
        line(1600, 0, "in too") + "@short\n" + &line(2000, 0, "stop") + &line(2100, 0, "late"),
    )
    .unwrap();
    stamp_file(&dir.join("start"), 1000);
    stamp_file(&dir.join("stop"), 2000);
    stamp_file(&dir.join("late"), 1550);
}

const QLOG: &str = "\
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
1700000006.0 new msg 103";

fn qlog_file(dir: &Path, _: Side) {
    fs::write(dir.join("log"), QLOG).unwrap();
}

const LIST: &str = "\
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
";

fn source_file(dir: &Path, _: Side) {
    fs::write(dir.join("source"), "hello\n").unwrap();
}

/// An installed tree, by that side's installer, to check or remove.
fn installed(dir: &Path, side: Side) {
    source_file(dir, side);
    let o = Cmd::new(program(side, "installer"))
        .cwd(dir)
        .arg("-m")
        .arg(dir.join("root"))
        .stdin(LIST)
        .run();
    assert_eq!(o.code, Some(0), "{o:?}");
    fs::set_permissions(dir.join("root/a/copy"), fs::Permissions::from_mode(0o666)).unwrap();
}

/// A build tree: INPUT, the lists, and that side's installer and instcheck.
fn build_tree(dir: &Path, side: Side) {
    fs::write(dir.join("INPUT"), "/        DIRS\n/opt/x   BIN\n").unwrap();
    fs::write(dir.join("DIRS"), "d:::0755:/opt::\nd:::0755:/opt/x::\n").unwrap();
    fs::write(
        dir.join("BIN"),
        "d:::0755:/bin::\nf:::0755:/bin/:prog:prog\n",
    )
    .unwrap();
    for p in ["installer", "instcheck"] {
        std::os::unix::fs::symlink(program(side, p), dir.join(p)).unwrap();
    }
}

fn instcheck_link(dir: &Path, side: Side) {
    std::os::unix::fs::symlink(program(side, "instcheck"), dir.join("instcheck")).unwrap();
}

// ----- cases -----

#[test]
fn pipelines() {
    conform(vec![
        case("tk-spipe-usage", "spipe", &[]),
        case("tk-multipipe-nodir", "multipipe", &["/nonexistent/dir"]),
        case("tk-teepipe-usage", "teepipe", &[]),
        case("tk-teepipe-copy", "teepipe", &["sed", "s/^/p:/"]).stdin("a\nb\n"),
        case(
            "tk-teepipe-exit",
            "teepipe",
            &["sh", "-c", "cat >/dev/null; exit 7"],
        )
        .stdin("x\n"),
        case("tk-teepipe-crash", "teepipe", &["sh", "-c", "kill -9 $$"]),
        case("tk-teepipe-noexec", "teepipe", &["/nonexistent/program"]),
    ]);
}

#[test]
fn logselect() {
    let l = |id, args: &[&str]| case(id, "logselect", args).setup(log_tree);
    conform(vec![
        l("tk-logselect-range", &["logs", "start", "stop"]),
        l("tk-logselect-current", &["logs", "late", "stop"]),
        l("tk-logselect-empty-range", &["logs", "stop", "start"]),
        l("tk-logselect-usage", &[]),
        l("tk-logselect-extra", &["logs", "start", "stop", "x"]),
        l("tk-logselect-slash", &["./logs", "start", "stop"]),
        l("tk-logselect-no-stop", &["logs", "start"]),
        l("tk-logselect-no-start", &["logs"]),
        l("tk-logselect-missing-stop", &["logs", "start", "nofile"]),
        l("tk-logselect-nodir", &["nologs", "start", "stop"]),
    ]);
}

#[test]
fn qlogselect() {
    let q = |id, args: &[&str]| {
        case(id, "qlogselect", args)
            .stdin(QLOG)
            .env("TZ", "UTC")
            .setup(qlog_file)
    };
    conform(vec![
        q("tk-qlogselect-all", &[]),
        q("tk-qlogselect-strip", &["stripstatus"]),
        q("tk-qlogselect-add", &["addstatus"]),
        q(
            "tk-qlogselect-from",
            &["from", "owner-l@vger.rutgers.edu", "addstatus"],
        ),
        q(
            "tk-qlogselect-from-class",
            &["from", "[a-z]+@example\\.com"],
        ),
        q(
            "tk-qlogselect-range",
            &["start", "1700000002", "end", "1700000003"],
        ),
        q(
            "tk-qlogselect-dates",
            &["start", "2023-11-14", "end", "2023-11-15"],
        ),
        q("tk-qlogselect-future", &["start", "2099-01-01"]),
        q("tk-qlogselect-two-digit-year", &["end", "70-1-2"]),
        q("tk-qlogselect-bad-arg", &["bogus"]),
        q("tk-qlogselect-no-time", &["start"]),
        q("tk-qlogselect-bad-time", &["end", "soon"]),
        q("tk-qlogselect-bad-month", &["start", "2024-13-01"]),
        q("tk-qlogselect-bad-day", &["start", "2023-02-29"]),
        q("tk-qlogselect-bad-pattern", &["from", "("]),
        q("tk-qlogselect-files", &["stripstatus", "0", "log"]),
        q("tk-qlogselect-missing-file", &["0", "log", "nofile"]),
    ]);
}

#[test]
fn inotify() {
    conform(vec![
        case("tk-inotify-usage", "inotify", &[]),
        case("tk-inotify-no-path", "inotify", &["-n"]),
        case("tk-inotify-missing-arg", "inotify", &["-n", "-d"]),
        case(
            "tk-inotify-illegal",
            "inotify",
            &["-x", "-n", "/nonexistent"],
        ),
        case("tk-inotify-stdin", "inotify", &["{dir}"]).stdin("data\n"),
        case("tk-inotify-timeout", "inotify", &["-d", "3", "{dir}"])
            .stdin("x\n")
            .env("DATA_TIMEOUT", "7"),
    ]);
}

#[test]
fn installer() {
    let i = |id, args: &[&str]| case(id, "installer", args).stdin(LIST).files();
    conform(vec![
        case("tk-installer-usage", "installer", &["-x"]),
        case("tk-uinstaller-usage", "uinstaller", &["-q"]),
        i("tk-installer-install", &["{dir}/root"]).setup(source_file),
        i("tk-installer-missing-source", &["{dir}/root"]),
        i("tk-installer-missing-ok", &["-m", "{dir}/root"]).setup(source_file),
        i("tk-installer-check", &["-cm", "{dir}/root"]).setup(installed),
        i("tk-installer-check-missing", &["-c", "{dir}/root"]).setup(installed),
        i("tk-installer-fix", &["-fm", "{dir}/root"]).setup(installed),
        i("tk-installer-uninstall", &["-u", "{dir}/root"]).setup(installed),
        case("tk-installer-unknown-owner", "installer", &["{dir}/root"])
            .stdin("d:no-such-user-x::0755:/d::\n")
            .files(),
        case("tk-installer-no-newline", "installer", &["{dir}/root"])
            .stdin("d:::0755:/d::")
            .files(),
    ]);
}

#[test]
fn instcheck() {
    conform(vec![
        case("tk-instcheck-no-package", "instcheck", &[]),
        case("tk-instcheck-usage", "instcheck", &["a", "b", "c"])
            .setup(instcheck_link)
            .run_as("./instcheck"),
        case("tk-instcheck-build-tree", "instcheck", &["demo", "-cm"])
            .setup(build_tree)
            .run_as("./instcheck")
            .env("DESTDIR", "{dir}/dest")
            .files(),
    ]);
}
