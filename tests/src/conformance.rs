//! Conformance harness: the same case run through IndiMail's reference C programs and through
//! ours, compared on what an administrator or a script observes.
//!
//! # Writing cases
//!
//! A case is a shell script (bash) with an id `program.what` (the program before the first dot
//! is the one the README counts the case for):
//!
//! ```no_run
//! use blackbox::conformance::{case, check};
//! check(vec![
//!     case("envdir.usage", "envdir"),
//!     case("svstat.down", "mkdir s; ... svstat s").mask(r"\d+ seconds", "N seconds"),
//! ]);
//! ```
//!
//! Write the call as `case("ID", ...)` (or a helper whose name ends in `case`, such as
//! `dcase("ID", ...)`) with the id as a string literal: the table check and the README count
//! find cases by that text in `tests/tests/conformance_*.rs`.
//!
//! Each side runs the script once, in a scratch directory of its own (the working directory),
//! with an environment holding only `PATH` (that side's programs first, then the system's),
//! `LC_ALL=C`, `REF` (the reference's prefix, for scripts that need a fixed tool on both
//! sides) and `DNSD` (the `conformance-dns` server: `$DNSD TABLE [LOG] &` answers on
//! 127.0.0.1:53, the address `/etc/resolv.conf` names in the case). The script runs in
//! private namespaces: network (only `lo`, up, so fixed ports are safe), mount (`/run` and
//! `/var/tmp` are empty tmpfs, host programs named like ours (Debian's daemontools and
//! ucspi-tcp) are hidden, `/etc/resolv.conf` says `nameserver 127.0.0.1` where nothing answers) and pid
//! (`/proc` is private; whatever the script leaves running is killed when it ends). Nothing on
//! the host (`/run/svscan`, `/service`, `/etc`) is read or written.
//!
//! What is compared: the script's exit code, stdout and stderr, after normalisation: the
//! scratch directory's path becomes `$TMP`, the directories holding a side's programs `$BIN`
//! (ours are laid out as `make install` does, from `scripts/install-layout`),
//! and each [`Case::mask`] (a regex and its replacement, applied in order) is applied to both
//! sides. Mask only what truly varies (pids, ports, times). The script shows files itself; the
//! [`PRELUDE`] functions help (`show`, `await_listen`, `await_file`, `await_grep`, `status`).
//!
//! # The table of deliberate differences
//!
//! `tests/conformance/differences.tsv`: `case-id<TAB>COMPATIBILITY-row-id<TAB>note` per line,
//! `#` comments. A case that differs must be listed; a listed case that no longer differs
//! fails too (stale entry). `conformance_table.rs` checks that every row id exists in
//! COMPATIBILITY.md, that every listed case exists, and that the README's case counts are true.
//!
//! The reference is `$INDI_REF` or `/opt/indimail-ref` (`make conformance` builds it).
//! `CONFORMANCE_SHOW=1` prints what the reference did in every case (with `--nocapture`);
//! `CONFORMANCE_ONLY=TEXT` runs only the cases whose id contains TEXT.

pub use crate::workspace_root;
use crate::{bin_dir, Cmd, Output, SYSTEM_PATH};
use regex::{Regex, RegexBuilder};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A regex with ASCII classes (`\d`, `\s`, `\w`: what varies in outputs is ASCII); a
/// pattern that could then match a non-UTF-8 byte (`.`, `[^x]`) is built as it is.
pub fn ascii_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .or_else(|_| Regex::new(pattern))
}

/// Shell functions every case script can use.
pub const PRELUDE: &str = r#"
# await_listen PORT: until something listens on TCP PORT (any address).
await_listen() {
  _p=$(printf ':%04X' "$1"); _n=0
  until cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" {print $2}' | grep -q "$_p\$"; do
    _n=$((_n+1)); [ $_n -lt 1000 ] || { echo "await_listen $1: timed out" >&2; return 1; }; sleep 0.01
  done
}
# await_file PATH: until PATH exists.
await_file() {
  _n=0
  until [ -e "$1" ]; do
    _n=$((_n+1)); [ $_n -lt 1000 ] || { echo "await_file $1: timed out" >&2; return 1; }; sleep 0.01
  done
}
# await_grep PATTERN FILE: until FILE holds a line matching PATTERN (grep -E).
await_grep() {
  _n=0
  until grep -Eq -- "$1" "$2" 2>/dev/null; do
    _n=$((_n+1)); [ $_n -lt 1000 ] || { echo "await_grep $1 $2: timed out" >&2; return 1; }; sleep 0.01
  done
}
# await_cmd CMD...: until CMD succeeds.
await_cmd() {
  _n=0
  until "$@" >/dev/null 2>&1; do
    _n=$((_n+1)); [ $_n -lt 1000 ] || { echo "await_cmd $*: timed out" >&2; return 1; }; sleep 0.01
  done
}
# show [-n] PATH...: every file under PATH, sorted: type, octal mode, name (and, without -n,
# the contents of regular files, with cat -v).
show() {
  _c=1; [ "$1" = -n ] && { _c=0; shift; }
  find "$@" | LC_ALL=C sort | while IFS= read -r _f; do
    printf '%s %s %s\n' "$(stat -c '%F' "$_f" | sed 's/regular empty file/file/;s/regular file/file/;s/fifo/fifo/')" "$(stat -c '%a' "$_f")" "$_f"
    if [ $_c = 1 ] && [ -f "$_f" ] && [ ! -p "$_f" ]; then cat -v "$_f" | sed 's/^/  | /'; fi
  done
}
# status FILE: a supervise status file without its times and pids: size, then the bytes after
# the pid (flags), and whether the pid is zero.
status() {
  _s=$(stat -c %s "$1")
  _pid=$(od -An -tu4 -j12 -N4 "$1" | tr -d ' ')
  printf 'size=%s pid=%s flags=%s\n' "$_s" "$([ "$_pid" = 0 ] && echo 0 || echo N)" "$(od -An -tu1 -j16 "$1" | tr -s ' ' | sed 's/^ //')"
}
"#;

/// Sets up the namespaces, then runs the case script (`$1`) with bash from the prelude.
const ISOLATE: &str = r#"
ip link set lo up || exit 97
mount -t tmpfs -o mode=0755 tmpfs /run || exit 97
mount -t tmpfs -o mode=1777 tmpfs /var/tmp || exit 97
for _n in $HIDE; do
  for _d in /usr/bin /usr/sbin /usr/local/bin /usr/local/sbin; do
    [ -e "$_d/$_n" ] && { mount --bind /dev/null "$_d/$_n" || exit 97; }
  done
done
unset HIDE _n _d
printf 'nameserver 127.0.0.1\n' > /run/.resolv.conf && mount --bind /run/.resolv.conf /etc/resolv.conf && rm /run/.resolv.conf || exit 97
exec bash -c "$1" case
"#;

/// The reference's install prefix.
pub fn ref_prefix() -> PathBuf {
    std::env::var_os("INDI_REF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/indimail-ref"))
}

/// One side of a comparison.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Ref,
    Ours,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Ref => "ref",
            Side::Ours => "ours",
        }
    }

    /// Directories holding this side's programs, in PATH order.
    pub fn dirs(self) -> Vec<PathBuf> {
        match self {
            Side::Ref => {
                let p = ref_prefix();
                vec![p.join("bin"), p.join("sbin"), p.join("libexec")]
            }
            Side::Ours => {
                let root = ours_root();
                vec![
                    root.join("bin"),
                    root.join("sbin"),
                    root.join("libexec/indimail"),
                ]
            }
        }
    }

    /// The PATH a case script gets.
    pub fn path(self) -> String {
        let mut p: Vec<String> = self
            .dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        p.push(SYSTEM_PATH.to_string());
        p.push("/usr/sbin:/sbin".to_string());
        p.join(":")
    }
}

/// One entry of the install layout.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Directory under the prefix (`bin`, `sbin`, `libexec/indimail`).
    pub dir: String,
    /// The installed name.
    pub name: String,
    pub from: Source,
}

/// What an installed name is made from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A built program of the workspace.
    Built,
    /// A file of the source tree (a script), relative to the workspace root.
    Tree(String),
    /// A symbolic link to this name beside it.
    Link(String),
}

/// The install layout, from `scripts/install-layout` (as `scripts/install` reads it).
pub fn install_layout() -> Vec<Installed> {
    let path = workspace_root().join("scripts/install-layout");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut w = line.split_whitespace();
        let (Some(dir), Some(mode)) = (w.next(), w.next()) else {
            continue;
        };
        for n in w {
            let (name, from) = match n.split_once(':') {
                Some((l, t)) if mode == "link" => (l.to_string(), Source::Link(t.to_string())),
                _ if n.contains('/') => (
                    n.rsplit('/').next().unwrap_or(n).to_string(),
                    Source::Tree(n.to_string()),
                ),
                _ => (n.to_string(), Source::Built),
            };
            out.push(Installed {
                dir: dir.to_string(),
                name,
                from,
            });
        }
    }
    out
}

/// Our programs laid out as `make install` lays them out (symbolic links into the build and
/// source trees), made once per test process in the build directory.
pub fn ours_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = bin_dir().join("conformance-root");
        let tmp = bin_dir().join(format!("conformance-root.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for i in install_layout() {
            let d = tmp.join(&i.dir);
            std::fs::create_dir_all(&d).expect("create conformance root");
            let from = match &i.from {
                Source::Built => crate::bin(&i.name),
                Source::Tree(p) => workspace_root().join(p),
                Source::Link(t) => PathBuf::from(t),
            };
            std::os::unix::fs::symlink(&from, d.join(&i.name))
                .expect("symlink into conformance root");
        }
        let _ = std::fs::remove_dir_all(&root);
        std::fs::rename(&tmp, &root).expect("rename conformance root");
        root
    })
    .clone()
}

/// Every program name both sides may provide: same-named host programs (Debian's
/// daemontools, ucspi-tcp) are hidden inside the cases so that no side picks them up.
fn hidden_names() -> String {
    install_layout()
        .into_iter()
        .map(|i| i.name)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ensure_reference() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let p = ref_prefix();
        if !p.join("bin/tcpserver").is_file() {
            panic!(
                "the reference is not installed in {} (set INDI_REF, or run `make conformance`, \
                 which builds it through scripts/reference)",
                p.display()
            );
        }
        if !crate::is_root() {
            panic!("the conformance suite needs root (it runs cases in private namespaces)");
        }
    });
}

/// One line of the table of deliberate differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A case id, or a prefix ending in `*` for every case it starts.
    pub case: String,
    /// The COMPATIBILITY.md row that allows the difference.
    pub row: String,
    pub note: String,
}

impl Entry {
    /// Whether this entry names case `id` (exactly, or by its `*` prefix).
    pub fn matches(&self, id: &str) -> bool {
        match self.case.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => self.case == id,
        }
    }
}

/// The table of deliberate differences, in file order.
pub fn table() -> &'static [Entry] {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let path = table_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        parse_table(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// The entries that name case `id`.
pub fn entries_for(id: &str) -> Vec<&'static Entry> {
    table().iter().filter(|e| e.matches(id)).collect()
}

/// Where the table lives.
pub fn table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/differences.tsv")
}

/// Parse the table's text: `case<TAB>row<TAB>note` lines, `#` comments; a case may have
/// several rows, but no case and row twice. Errors name the line.
pub fn parse_table(text: &str) -> Result<Vec<Entry>, String> {
    let mut out: Vec<Entry> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 3 || f.iter().any(|x| x.trim().is_empty()) {
            return Err(format!(
                "line {}: want case-id<TAB>row-id<TAB>note: {line:?}",
                n + 1
            ));
        }
        if out.iter().any(|e| e.case == f[0] && e.row == f[1]) {
            return Err(format!("line {}: {} {} listed twice", n + 1, f[0], f[1]));
        }
        out.push(Entry {
            case: f[0].to_string(),
            row: f[1].to_string(),
            note: f[2].to_string(),
        });
    }
    Ok(out)
}

/// One case: a script run on both sides.
pub struct Case {
    id: String,
    script: String,
    masks: Vec<(Regex, String)>,
    timeout: Duration,
}

/// A case with id `program.what` running `script`.
pub fn case(id: &str, script: &str) -> Case {
    Case {
        id: id.to_string(),
        script: script.to_string(),
        masks: Vec::new(),
        timeout: Duration::from_secs(60),
    }
}

/// What one side observed, normalised.
#[derive(PartialEq, Eq)]
struct Seen {
    code: String,
    stdout: String,
    stderr: String,
}

impl Case {
    /// Replace every match of `pattern` (a regex) with `with` (`$1` etc. allowed) on both sides.
    pub fn mask(mut self, pattern: &str, with: &str) -> Self {
        let re = ascii_regex(pattern).unwrap_or_else(|e| panic!("{}: bad mask: {e}", self.id));
        self.masks.push((re, with.to_string()));
        self
    }

    /// Kill the script after this long (default 60 s): a timed-out script fails the case.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn run_side(&self, side: Side) -> Result<Seen, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("conf-{}-", &side.name()[..1]))
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        // Readable by the unprivileged users some cases switch to.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .map_err(|e| format!("chmod scratch dir: {e}"))?;
        let script = format!("{PRELUDE}\n{}", self.script);
        let out = Cmd::new("unshare")
            .args([
                "--net",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc",
                "--propagation",
                "private",
                "sh",
                "-c",
                ISOLATE,
                "isolate",
            ])
            .arg(&script)
            .env_clear()
            .env("PATH", side.path())
            .env("LC_ALL", "C")
            .env("REF", ref_prefix())
            .env("HIDE", hidden_names())
            .env("DNSD", crate::bin("conformance-dns"))
            .cwd(dir.path())
            .timeout(self.timeout)
            .try_run();
        let out = out.map_err(|o| format!("{}: {} side timed out: {o:?}", self.id, side.name()))?;
        if out.code == Some(97) {
            return Err(format!(
                "{}: {} side: namespace setup failed: {out:?}",
                self.id,
                side.name()
            ));
        }
        Ok(self.normalise(side, dir.path(), &out))
    }

    fn normalise(&self, side: Side, dir: &Path, out: &Output) -> Seen {
        let fix = |s: String| -> String {
            let mut s = s.replace(&dir.display().to_string(), "$TMP");
            if let Ok(real) = dir.canonicalize() {
                s = s.replace(&real.display().to_string(), "$TMP");
            }
            for d in side.dirs() {
                s = s.replace(&d.display().to_string(), "$BIN");
            }
            // bash's job notices name the script line that noticed, which is a matter of timing.
            s = job_notice().replace_all(&s, "case: line N:").into_owned();
            for (re, with) in &self.masks {
                s = re.replace_all(&s, with.as_str()).into_owned();
            }
            s
        };
        Seen {
            code: match (out.code, out.signal) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(s)) => format!("signal {s}"),
                _ => "?".into(),
            },
            stdout: fix(out.stdout_str()),
            stderr: fix(out.stderr_str()),
        }
    }

    /// Run both sides and judge against the table. Err holds the report of a failure.
    pub fn run(&self) -> Result<(), String> {
        ensure_reference();
        let r = self.run_side(Side::Ref)?;
        let o = self.run_side(Side::Ours)?;
        if std::env::var_os("CONFORMANCE_SHOW").is_some() {
            eprintln!("{} (ref):\n{}", self.id, show_seen(&r));
        }
        let rows: Vec<&str> = entries_for(&self.id)
            .iter()
            .map(|e| e.row.as_str())
            .collect();
        let exact = table().iter().any(|e| e.case == self.id);
        match (r == o, rows.is_empty()) {
            (true, _) if exact => Err(format!(
                "{}: listed in the table (COMPATIBILITY {}) but no longer differs: remove \
                 the stale entry\n{}",
                self.id,
                rows.join(", "),
                show_seen(&o)
            )),
            (true, _) => Ok(()),
            (false, false) => {
                eprintln!(
                    "{}: differs as COMPATIBILITY {} allows",
                    self.id,
                    rows.join(", ")
                );
                Ok(())
            }
            (false, true) => Err(format!(
                "{}: differs from the reference\n{}",
                self.id,
                diff(&r, &o)
            )),
        }
    }
}

fn job_notice() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| ascii_regex(r"case: line \d+:").expect("regex"))
}

fn show_seen(s: &Seen) -> String {
    format!(
        "  {}\n  stdout:\n{}  stderr:\n{}",
        s.code,
        indent(&s.stdout),
        indent(&s.stderr)
    )
}

fn indent(s: &str) -> String {
    let mut out = String::new();
    for l in s.split_inclusive('\n') {
        let _ = write!(out, "    |{}", l.escape_debug());
        out.push('\n');
    }
    out
}

fn diff(r: &Seen, o: &Seen) -> String {
    let mut out = String::new();
    if r.code != o.code {
        let _ = writeln!(out, "  code: ref {} / ours {}", r.code, o.code);
    }
    for (name, a, b) in [
        ("stdout", &r.stdout, &o.stdout),
        ("stderr", &r.stderr, &o.stderr),
    ] {
        if a != b && a.lines().count() + b.lines().count() > 40 {
            let _ = writeln!(out, "  {name} (- ref, + ours):\n{}", line_diff(a, b));
        } else if a != b {
            let _ = writeln!(
                out,
                "  {name}, ref:\n{}  {name}, ours:\n{}",
                indent(a),
                indent(b)
            );
        }
    }
    out
}

/// The lines that differ (longest common subsequence), with two lines of context.
fn line_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|(c, _)| *c != ' ')
    };
    let mut out = String::new();
    let mut gap = false;
    for (k, (c, l)) in ops.iter().enumerate() {
        if near(k) {
            let _ = writeln!(out, "    {c}|{}", l.escape_debug());
            gap = false;
        } else if !gap {
            out.push_str("    ...\n");
            gap = true;
        }
    }
    out
}

/// Run every case (both sides each), then fail listing every case that failed.
pub fn check(cases: Vec<Case>) {
    // CONFORMANCE_ONLY=TEXT runs only the cases whose id contains TEXT (debugging).
    let only = std::env::var("CONFORMANCE_ONLY").ok();
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| only.as_deref().map_or(true, |o| c.id.contains(o)))
        .collect();
    let failures: Vec<String> = cases.iter().filter_map(|c| c.run().err()).collect();
    if !failures.is_empty() {
        panic!(
            "{} of {} conformance cases failed:\n\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}

/// Case ids found in the conformance sources (`case("ID"` literals), with the file of each.
pub fn case_ids_in_sources() -> Vec<(String, String)> {
    let re = ascii_regex(r#"\b[a-z_]*case\(\s*"([a-zA-Z0-9@._*/-]+)""#).expect("regex");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read tests/tests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("conformance_") && n.ends_with(".rs")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read conformance source");
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for c in re.captures_iter(&text) {
            out.push((c[1].to_string(), name.clone()));
        }
    }
    out
}
