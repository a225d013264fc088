//! The one renderer: turns a [`Kind`] of the catalogue plus the command line into a
//! service directory (variables, run, log/run, extra files, modes, owners), the way docs/svctool.md#service-directories
//! describes every service.

use crate::host::Host;
use crate::options::Opts;
use crate::{fsx, Stop};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The content of one envdir variable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// `VALUE\n`.
    Set(String),
    /// `\n`: set to the empty string (`""`).
    Empty,
    /// zero bytes: removed from the environment (`∅`).
    Unset,
    /// the file is deleted.
    Remove,
}

/// How a variable's value follows from the command line: the catalogue's vocabulary.
#[derive(Clone, Copy)]
pub enum Rule {
    /// Always this value.
    Lit(&'static str),
    /// Always `""`.
    Empty,
    /// Always `∅`.
    Unset,
    /// The option's value, else the default.
    Opt(&'static str, &'static str),
    /// The option's value, else `∅`.
    OptOrUnset(&'static str),
    /// The option's value, else no file.
    OptIfGiven(&'static str),
    /// `""` with the flag, else `∅`.
    FlagEmpty(&'static str),
    /// `∅` with the flag, else `""`.
    FlagUnset(&'static str),
    /// `1` with the flag, else `∅`.
    FlagOne(&'static str),
    /// `1` only with the flag (no file otherwise).
    OnlyIfFlag(&'static str),
    /// A derived value of the context (see [`Ctx::key`]).
    Key(&'static str),
    /// Several variables decided together.
    Group(fn(&Ctx, &mut Vars)),
}

/// One entry of a kind's variable table.
#[derive(Clone, Copy)]
pub struct Var(pub &'static str, pub Rule);

/// Variables in the order they are written.
pub type Vars = Vec<(String, Val)>;

pub fn set(vars: &mut Vars, name: &str, v: Val) {
    vars.push((name.to_string(), v));
}

/// How a directory or log is named.
#[derive(Clone, Copy)]
pub enum Name {
    /// `PREFIX.TAG` (TAG = `--servicetag` or the port).
    Tagged(&'static str),
    Fixed(&'static str),
    Custom(fn(&Ctx) -> String),
}

/// A file besides run and log/run.
#[derive(Clone, Copy)]
pub struct Extra {
    pub file: &'static str,
    /// A script body (the header is added) when `script`, else the whole content.
    pub body: &'static str,
    pub script: bool,
    pub mode: u32,
}

/// Side effects of a kind after its directory is written.
pub type AfterHook = fn(&mut Ctx, &Path) -> Result<(), Stop>;

/// A service kind: everything docs/svctool.md#service-kinds says about one kind of directory.
pub struct Kind {
    pub id: &'static str,
    pub dir: Name,
    pub vars_mode: u32,
    /// Group of the variables directory (owner is root); empty: root's.
    pub vars_group: &'static str,
    /// `link_with_global` and `.envdir` (all kinds but clamd, freshclam, mrtg, mysql).
    pub global: bool,
    pub log: Name,
    pub vars: &'static [Var],
    /// Run script body (template, see [`template`]).
    pub run: &'static str,
    /// The run script is written only when this condition holds (`.svscan/run`).
    pub run_if: Option<&'static str>,
    pub extras: &'static [Extra],
    /// Derived template keys.
    pub prepare: Option<fn(&mut Ctx)>,
    /// Side effects after the directory is written (wait/down files, config files).
    pub after: Option<AfterHook>,
}

/// Everything one action needs: host facts, options, resolved directories.
pub struct Ctx<'a> {
    pub host: &'a Host,
    pub o: &'a Opts,
    /// `$C`, the resolved control directory.
    pub cntrldir: String,
    pub servicedir: String,
    pub logdir: String,
    /// The command recorded in `.options` (the logfifo quirk replaces it).
    pub prog_args: String,
    /// The port (or name) of the service being created.
    pub port: String,
    /// Kind-specific template keys.
    pub keys: HashMap<&'static str, String>,
    /// Passwords from svctool.cnf (`ADMIN_PASS`, ...).
    pub secrets: HashMap<String, String>,
}

impl<'a> Ctx<'a> {
    pub fn tag(&self) -> String {
        self.o
            .get("--servicetag")
            .map(str::to_string)
            .unwrap_or_else(|| self.port.clone())
    }

    pub fn name(&self, n: &Name) -> String {
        match n {
            Name::Tagged(p) => format!("{p}.{}", self.tag()),
            Name::Fixed(s) => s.to_string(),
            Name::Custom(f) => f(self),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.host.prefix
    }

    pub fn sysconfdir(&self) -> &str {
        &self.host.sysconfdir
    }

    pub fn qbase(&self) -> &str {
        self.o.val("--qbase").unwrap_or("")
    }

    /// `/run` (or its fallback) as the generated scripts use it.
    pub fn rundir(&self) -> &'static str {
        self.host.rundir_base()
    }

    /// A template key's value.
    pub fn key(&self, k: &str) -> String {
        if let Some(v) = self.keys.get(k) {
            return v.clone();
        }
        if k.starts_with("--") {
            return self.o.val(k).unwrap_or("").to_string();
        }
        match k {
            "P" => self.host.prefix.clone(),
            "S" => self.host.sysconfdir.clone(),
            "C" => self.cntrldir.clone(),
            "L" => self.logdir.clone(),
            "Q" => self.host.qmaildir.clone(),
            "LIBEXEC" => self.host.libexecdir.clone(),
            "ENVDIROPTS" => self.o.val("--envdiropts").unwrap_or("-c").to_string(),
            "SERVICEDIR" => self.servicedir.clone(),
            "PORT" => self.port.clone(),
            "TAG" => self.tag(),
            "FALSE" => self.host.false_path().to_string(),
            "CHOWN" => self.host.chown_path().to_string(),
            "RUNDIR" => self.rundir().to_string(),
            "IDPROG" => self.host.id_prog.clone(),
            // the qmail group's gid (macOS has no getent)
            "GROUPQUERY" => if self.host.uname_s == "Darwin" {
                "dscl . -read /Groups/qmail PrimaryGroupID|awk '{print $2}'"
            } else {
                "/usr/bin/getent group qmail|awk -F: '{print $3}'"
            }
            .to_string(),
            "ADMIN_PASS" => self.secret("ADMIN_PASS"),
            _ => String::new(),
        }
    }

    pub fn secret(&self, name: &str) -> String {
        self.secrets.get(name).cloned().unwrap_or_else(|| {
            match name {
                "MYSQL_PASS" => "ssh-1.5-",
                "PRIV_PASS" => "4-57343-",
                "ADMIN_PASS" => "benhur20",
                "REPL_PASS" => "slaveserver",
                _ => "",
            }
            .to_string()
        })
    }

    /// A template condition: an option given (flag, or a non-empty value), or a derived
    /// key that is non-empty and not `0`.
    pub fn cond(&self, c: &str) -> bool {
        if let Some(v) = self.keys.get(c) {
            return !v.is_empty() && v != "0";
        }
        if c.starts_with("--") {
            return self.o.flag(c) || self.o.get(c).is_some();
        }
        false
    }

    /// The variables a rule yields.
    pub fn eval(&self, var: &Var, out: &mut Vars) {
        let Var(name, rule) = *var;
        let o = self.o;
        let v = match rule {
            Rule::Lit(s) => Val::Set(s.into()),
            Rule::Empty => Val::Empty,
            Rule::Unset => Val::Unset,
            Rule::Opt(opt, d) => Val::Set(o.get(opt).unwrap_or(d).into()),
            Rule::OptOrUnset(opt) => match o.get(opt) {
                Some(v) => Val::Set(v.into()),
                None => Val::Unset,
            },
            Rule::OptIfGiven(opt) => match o.get(opt) {
                Some(v) => Val::Set(v.into()),
                None => return,
            },
            Rule::FlagEmpty(f) => flag(self.cond(f), Val::Empty, Val::Unset),
            Rule::FlagUnset(f) => flag(self.cond(f), Val::Unset, Val::Empty),
            Rule::FlagOne(f) => flag(self.cond(f), Val::Set("1".into()), Val::Unset),
            Rule::OnlyIfFlag(f) => {
                if !self.cond(f) {
                    return;
                }
                Val::Set("1".into())
            }
            Rule::Key(k) => Val::Set(self.key(k)),
            Rule::Group(g) => return g(self, out),
        };
        out.push((name.to_string(), v));
    }
}

fn flag(on: bool, yes: Val, no: Val) -> Val {
    if on {
        yes
    } else {
        no
    }
}

/// Expand a template: `@KEY@` is replaced by [`Ctx::key`]; a line starting `?cond?` is kept
/// (without the marker) only when `cond` holds, `?!cond?` only when it does not.
pub fn template(ctx: &Ctx, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 256);
    for line in body.split_inclusive('\n') {
        let mut line = line;
        if let Some(rest) = line.strip_prefix('?') {
            if let Some((cond, text)) = rest.split_once('?') {
                let (neg, cond) = match cond.strip_prefix('!') {
                    Some(c) => (true, c),
                    None => (false, cond),
                };
                if ctx.cond(cond) == neg {
                    continue;
                }
                line = text;
            }
        }
        let mut rest = line;
        while let Some(i) = rest.find('@') {
            let after = &rest[i + 1..];
            match after.find('@') {
                Some(j)
                    if j > 0
                        && after[..j]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) =>
                {
                    out.push_str(&rest[..i]);
                    out.push_str(&ctx.key(&after[..j]));
                    rest = &after[j + 1..];
                }
                _ => {
                    out.push_str(&rest[..=i]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
    }
    out
}

/// The five header lines and the blank line every generated script starts with.
pub fn header(ctx: &Ctx, what: &str) -> String {
    format!(
        "#!/bin/sh\n{}\n# generated {what} script for {} at {}\n# by the below command\n# {}\n\n",
        ctx.o.rcsid(),
        ctx.host.host_triple,
        ctx.host.date(),
        ctx.prog_args
    )
}

/// The log/run script for log name `logname`.
pub fn log_run(ctx: &Ctx, logname: &str) -> String {
    format!(
        "{}exec {p}/bin/setuidgid {} \\\n  {p}/sbin/multilog t {}/{logname}\n",
        header(ctx, "log"),
        ctx.host.log_user,
        ctx.logdir,
        p = ctx.prefix()
    )
}

/// Write one variable in directory `dir` (on disk).
pub fn write_var(dir: &Path, name: &str, v: &Val, mode: u32) -> Result<(), Stop> {
    let path = dir.join(name);
    match v {
        Val::Remove => fsx::remove(&path),
        Val::Set(s) => fsx::rewrite(&path, format!("{s}\n").as_bytes(), mode),
        Val::Empty => fsx::rewrite(&path, b"\n", mode),
        Val::Unset => fsx::rewrite(&path, b"", mode),
    }
}

/// The value a variable has through `.envdir` alone (the global chain), as indimail's
/// envdir resolves it: `.envdir` is a directory (or a link to one) or a file listing
/// directories; listed directories are read first, a directory's own files win.
pub fn inherited(host: &Host, dir: &Path, name: &str) -> Option<String> {
    let mut seen = Vec::new();
    let mut env = HashMap::new();
    load_envdir_chain(host, dir, &mut seen, &mut env);
    env.remove(name).flatten()
}

fn load_dir(
    host: &Host,
    dir: &Path,
    seen: &mut Vec<PathBuf>,
    env: &mut HashMap<String, Option<String>>,
) {
    let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if seen.contains(&canon) {
        return;
    }
    seen.push(canon);
    load_envdir_chain(host, dir, seen, env);
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with('.') {
            continue;
        }
        if let Ok(bytes) = std::fs::read(e.path()) {
            env.insert(n, envdir_value(&bytes));
        }
    }
}

fn load_envdir_chain(
    host: &Host,
    dir: &Path,
    seen: &mut Vec<PathBuf>,
    env: &mut HashMap<String, Option<String>>,
) {
    let e = dir.join(".envdir");
    if e.is_dir() {
        load_dir(host, &e, seen, env);
    } else if let Ok(text) = std::fs::read_to_string(&e) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let p = if line.starts_with('/') {
                host.disk(line)
            } else {
                dir.join(line)
            };
            load_dir(host, &p, seen, env);
        }
    }
}

/// envdir's reading of a file: empty removes; else the first line without trailing blanks.
pub fn envdir_value(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(b"");
    let s = String::from_utf8_lossy(line);
    Some(s.trim_end_matches([' ', '\t']).replace('\0', "\n"))
}

/// docs/svctool.md#global-side-effects: the global side effects of creating any service, and `.envdir`.
pub fn link_with_global(ctx: &Ctx, vars_disk: &Path) -> Result<(), Stop> {
    let logical = format!("{}/control/global_vars", ctx.sysconfdir());
    let g = ctx.host.disk(&logical);
    let minisvc = ctx.o.program == "minisvc";
    if !g.is_dir() {
        fsx::mkdir_p(&g, 0o755)?;
        // minisvc runs where the mail suite (and its qmail group) may be missing
        let group = if minisvc && ctx.host.gid("qmail").is_none() {
            "0"
        } else {
            "qmail"
        };
        ctx.host.chown(&g, "root", group);
        fsx::chmod(&g, 0o755)?;
    }
    if minisvc {
        // minisvc: .envdir always; the queue settings only where qmail-send is installed
        let envdir = vars_disk.join(".envdir");
        if std::fs::symlink_metadata(&envdir).is_err() {
            fsx::write(&envdir, format!("{logical}\n").as_bytes(), 0o644)?;
        }
        if !ctx
            .host
            .is_executable(&format!("{}/sbin/qmail-send", ctx.host.prefix))
        {
            return Ok(());
        }
    }
    if !minisvc && !g.join("CONFSPLIT").exists() {
        fsx::write(&g.join("CONFSPLIT"), b"151\n", 0o644)?;
    }
    if !minisvc && !g.join("BIGTODO").exists() {
        fsx::write(&g.join("BIGTODO"), b"0\n", 0o644)?;
    }
    let o = ctx.o;
    if o.flag("--fsync") || o.flag("--fdatasync") {
        fsx::write(&g.join("USE_FDATASYNC"), b"1\n", 0o644)?;
    } else {
        fsx::write(&g.join("USE_FSYNC"), b"", 0o644)?;
        fsx::write(&g.join("USE_FDATASYNC"), b"", 0o644)?;
    }
    let syncdir: &[u8] = if o.flag("--syncdir") && ctx.host.uname_s == "Linux" {
        b"1\n"
    } else {
        b""
    };
    fsx::write(&g.join("USE_SYNCDIR"), syncdir, 0o644)?;
    let envdir = vars_disk.join(".envdir");
    if std::fs::symlink_metadata(&envdir).is_err() {
        fsx::write(&envdir, format!("{logical}\n").as_bytes(), 0o644)?;
    }
    Ok(())
}

/// Create the log directory if it is missing (owned qmaill:nofiles).
pub fn ensure_logdir(ctx: &Ctx) -> Result<(), Stop> {
    let d = ctx.host.disk(&ctx.logdir);
    if !d.is_dir() {
        fsx::mkdir_p(&d, 0o755)?;
        ctx.host.chown(&d, &ctx.host.log_user, "nofiles");
    }
    Ok(())
}

/// Render one kind into its service directory. Returns the service directory (logical).
pub fn render(ctx: &mut Ctx, kind: &Kind) -> Result<String, Stop> {
    if let Some(prep) = kind.prepare {
        prep(ctx);
    }
    let name = ctx.name(&kind.dir);
    let svc = format!("{}/{name}", ctx.servicedir);
    let svc_disk = ctx.host.disk(&svc);
    let vars = svc_disk.join("variables");
    if ctx.o.flag("--nooverwrite") && vars.is_dir() {
        return Ok(svc);
    }
    // --run-file-only: the variables are set aside, the service written, then they come
    // back (the reference's variables.bak), so only the scripts change
    let kept = if ctx.o.run_file_only && vars.is_dir() {
        let bak = svc_disk.join("variables.bak");
        if bak.exists() {
            remove_tree(&bak)?;
        }
        std::fs::rename(&vars, &bak).map_err(|e| Stop::io("rename", &vars, &e))?;
        Some(bak)
    } else {
        None
    };
    let r = render_dir(ctx, kind, &svc_disk, &vars);
    if let Some(bak) = kept {
        if vars.exists() {
            remove_tree(&vars)?;
        }
        std::fs::rename(&bak, &vars).map_err(|e| Stop::io("rename", &bak, &e))?;
    }
    r.map(|()| svc)
}

/// Remove a directory tree this process may have made read-only.
fn remove_tree(p: &Path) -> Result<(), Stop> {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
        if let Ok(rd) = std::fs::read_dir(&d) {
            stack.extend(rd.flatten().filter(|e| e.path().is_dir()).map(|e| e.path()));
        }
    }
    std::fs::remove_dir_all(p).map_err(|e| Stop::io("remove", p, &e))
}

fn render_dir(ctx: &mut Ctx, kind: &Kind, svc_disk: &Path, vars: &Path) -> Result<(), Stop> {
    let vars = vars.to_path_buf();
    fsx::mkdir_p(&svc_disk.join("log"), 0o755)?;
    fsx::mkdir_p(&vars, 0o755)?;
    let _writable = fsx::Writable::new(&vars)?;
    if kind.global {
        link_with_global(ctx, &vars)?;
    }
    let mut list = Vars::new();
    for v in kind.vars {
        ctx.eval(v, &mut list);
    }
    for (n, v) in &list {
        write_var(&vars, n, v, 0o644)?;
    }
    if kind.run_if.map_or(true, |c| ctx.cond(c)) {
        let run = format!("{}{}", header(ctx, "run"), template(ctx, kind.run));
        fsx::rewrite_script(&svc_disk.join("run"), run.as_bytes())?;
    }
    for x in kind.extras {
        let body = template(ctx, x.body);
        let text = if x.script {
            format!("{}{body}", header(ctx, "run"))
        } else {
            body
        };
        fsx::write(&svc_disk.join(x.file), text.as_bytes(), x.mode)?;
    }
    ensure_logdir(ctx)?;
    let logname = ctx.name(&kind.log);
    fsx::rewrite_script(&svc_disk.join("log/run"), log_run(ctx, &logname).as_bytes())?;
    fsx::rewrite(
        &vars.join(".options"),
        format!("{}\n", ctx.prog_args).as_bytes(),
        0o644,
    )?;
    if ctx.o.flag("--down") {
        // S2 (COMPATIBILITY.md#svctool-and-qmailctl V2): --down creates the down file it promises
        fsx::write(&svc_disk.join("down"), b"", 0o644)?;
    }
    drop(_writable);
    fsx::chmod(&vars, kind.vars_mode)?;
    if !kind.vars_group.is_empty() {
        ctx.host.chown(&vars, "root", kind.vars_group);
    }
    if let Some(after) = kind.after {
        after(ctx, svc_disk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_lines_and_keys() {
        let host = Host::from_env();
        let o = Opts::parse(&["--ssl".to_string()], "/usr").unwrap();
        let mut ctx = Ctx {
            host: &host,
            o: &o,
            cntrldir: "/etc/indimail/control".into(),
            servicedir: "/service".into(),
            logdir: "/var/log/svc".into(),
            prog_args: String::new(),
            port: "25".into(),
            keys: HashMap::new(),
            secrets: HashMap::new(),
        };
        ctx.keys.insert("X", "x@y".into());
        let t = "a @PORT@ b\n?--ssl?ssl @X@\n?!--ssl?plain\nmail@host @ alone\n";
        assert_eq!(template(&ctx, t), "a 25 b\nssl x@y\nmail@host @ alone\n");
    }

    #[test]
    fn envdir_values() {
        assert_eq!(envdir_value(b""), None);
        assert_eq!(envdir_value(b"\n"), Some(String::new()));
        assert_eq!(envdir_value(b"a b \t\nsecond"), Some("a b".into()));
    }
}
