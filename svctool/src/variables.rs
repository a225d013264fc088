//! Variable actions and the `.variables` exchange format (docs/svctool.md#the-variables-exchange-format), the IMAP/POP3
//! `.courier_variables` import (docs/svctool.md#imap-and-pop3), `--queueParam` (#queue-parameters), `--print-variables`,
//! `--print-all-variables` and `--dumpconfig`.

use crate::render::{self, Ctx, Val};
use crate::{fsx, Stop};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Owner, group and mode of files the variable actions write (`--owner --group --mode`,
/// defaults root, 0, 0640). The reference's `--mode` sets the group; here it sets the mode.
struct Perm {
    owner: String,
    group: String,
    mode: String,
}

impl Perm {
    fn from(ctx: &Ctx) -> Perm {
        Perm {
            owner: ctx.o.get("--owner").unwrap_or("root").into(),
            group: ctx.o.get("--group").unwrap_or("0").into(),
            mode: ctx.o.get("--mode").unwrap_or("0640").into(),
        }
    }

    fn mode_bits(&self) -> u32 {
        u32::from_str_radix(&self.mode, 8).unwrap_or(0o640)
    }

    fn apply(&self, ctx: &Ctx, p: &Path) -> Result<(), Stop> {
        fsx::chmod(p, self.mode_bits())?;
        ctx.host.chown(p, &self.owner, &self.group);
        Ok(())
    }
}

/// Non-dot file names of a directory in C (byte) order, as `ls` lists them.
pub fn ls_pub(dir: &Path) -> Vec<String> {
    ls(dir)
}

fn ls(dir: &Path) -> Vec<String> {
    crate::fsx::sorted_names(dir, false)
}

/// The `.variables` text of a directory: `NAME=value`, `NAME=""`, `NAME=`.
pub fn export_text(dir: &Path) -> String {
    let mut out = String::new();
    for n in ls(dir) {
        let p = dir.join(&n);
        if !p.is_file() {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap_or_default();
        if bytes.is_empty() {
            out.push_str(&format!("{n}=\n"));
            continue;
        }
        let value = String::from_utf8_lossy(&bytes);
        let value = value.trim_end_matches('\n');
        if value.is_empty() {
            out.push_str(&format!("{n}=\"\"\n"));
        } else {
            out.push_str(&format!("{n}={value}\n"));
        }
    }
    out
}

fn export(ctx: &Ctx, dir: &Path, file: &Path, perm: &Perm, force: bool) -> Result<(), Stop> {
    if !dir.is_dir() {
        return Err(Stop::fail(
            1,
            format!("{}: No such file or directory", dir.display()),
        ));
    }
    if !force && file.is_file() {
        return Err(Stop::fail(
            1,
            format!("{} exists and --force not specified", file.display()),
        ));
    }
    let text = export_text(dir);
    if text.is_empty() {
        return fsx::remove(file);
    }
    fsx::write(file, text.as_bytes(), perm.mode_bits())?;
    perm.apply(ctx, file)
}

/// Import `KEY=VALUE` lines into `dir` (restore: also delete what the file does not name).
fn import(
    ctx: &Ctx,
    dir: &Path,
    logical: &str,
    file: &Path,
    restore: bool,
    perm: &Perm,
    force: bool,
) -> Result<(), Stop> {
    let mut silent = ctx.o.flag("--silent");
    let text = std::fs::read_to_string(file).map_err(|e| Stop::io("read", file, &e))?;
    if !silent {
        if restore {
            println!("Restoring {logical:<40} from {}", ctx.host.logical(file));
            silent = true;
        } else {
            println!("importing {logical:<40} from {}", ctx.host.logical(file));
        }
    }
    let mut named = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_start_matches([' ', '\t']);
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, raw_value) = line.split_once('=').unwrap_or((line, ""));
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        named.push(name.to_string());
        let path = dir.join(name);
        if !restore && !force && path.is_file() {
            if !silent {
                eprintln!("importing variables without --force. not replacing variable {name}");
            }
            continue;
        }
        let value = raw_value.replace('"', "");
        if value.is_empty() && raw_value.is_empty() {
            let len = std::fs::metadata(&path).map(|m| m.len());
            if !matches!(len, Ok(0)) {
                if !silent {
                    println!("unset env variable {name}");
                }
                render::write_var(dir, name, &Val::Unset, perm.mode_bits())?;
            }
        } else {
            let cur = std::fs::read(&path).ok();
            let want = format!("{value}\n");
            let same = matches!(&cur, Some(c) if !c.is_empty() && c.as_slice() == want.as_bytes());
            if !same {
                if !silent {
                    println!("updating {}/{name} with {value}", logical);
                }
                fsx::write(&path, want.as_bytes(), perm.mode_bits())?;
                if !silent {
                    println!("set env variable {name}=[{value}]");
                }
            }
        }
        perm.apply(ctx, &path)?;
    }
    if restore {
        for n in ls(dir) {
            if !named.contains(&n) {
                fsx::remove(&dir.join(n))?;
            }
        }
    }
    Ok(())
}

fn service_dir(ctx: &Ctx) -> Result<(String, PathBuf), Stop> {
    let s = ctx
        .o
        .get("--service-name")
        .ok_or_else(|| Stop::usage("service name not specified"))?;
    let logical = format!("{}/{s}", ctx.servicedir);
    let disk = ctx.host.disk(&logical);
    if !disk.is_dir() {
        return Err(Stop::fail(
            1,
            format!("{logical}: No such file or directory"),
        ));
    }
    Ok((logical, disk))
}

/// `--set-variable`, `--modify-variable`, `--unset-variable`, `--remove-variable`.
pub fn set_action(ctx: &Ctx, action: &str) -> Result<(), Stop> {
    let o = ctx.o;
    let (logical, dir) = service_dir(ctx)?;
    let name = o
        .get(action)
        .ok_or_else(|| Stop::usage("variable name not specified"))?;
    let vars = dir.join("variables");
    fsx::mkdir_p(&vars, 0o755)?;
    let _w = fsx::Writable::new(&vars)?;
    let file = vars.join(name);
    let force = o.flag("--force");
    match action {
        "--set-variable" if !force && file.is_file() => {
            return Err(Stop::usage(format!(
                "{name} exists. Use --force to overwrite"
            )))
        }
        "--modify-variable" if !force && !file.is_file() => {
            return Err(Stop::usage(format!(
                "{name} does not exists. Use --force to create"
            )))
        }
        "--unset-variable" => {
            println!("unsetting env variable {name}");
            fsx::write(&file, b"", 0o640)?;
        }
        "--remove-variable" => {
            println!("removing env variable {name}");
            fsx::remove(&file)?;
        }
        _ => {}
    }
    let perm = Perm::from(ctx);
    if matches!(action, "--set-variable" | "--modify-variable") {
        match o.get("--variable-value") {
            Some(v) => {
                println!("setting env variable {name}=[{v}]");
                fsx::write(&file, format!("{v}\n").as_bytes(), perm.mode_bits())?;
            }
            None => {
                println!("setting env variable {name}");
                fsx::write(&file, b"\n", perm.mode_bits())?;
            }
        }
    }
    if !o.flag("--silent") {
        let base = Path::new(&logical)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        println!(
            "export {base:<35} {} {} {}",
            perm.owner, perm.group, perm.mode
        );
    }
    export(ctx, &vars, &vars.join(".variables"), &perm, true)?;
    if action != "--remove-variable" {
        perm.apply(ctx, &file)?;
    }
    Ok(())
}

/// `--restore-variables`, `--import-variables=FILE`, `--export-variables=FILE`.
pub fn file_action(ctx: &Ctx, action: &str) -> Result<(), Stop> {
    let (logical, dir) = service_dir(ctx)?;
    let vars = dir.join("variables");
    let vlogical = format!("{logical}/variables");
    let perm = Perm::from(ctx);
    let force = ctx.o.flag("--force");
    let _w = fsx::Writable::new(&vars)?;
    match action {
        "--restore-variables" => {
            let f = vars.join(".variables");
            if !f.is_file() {
                let s = ctx.o.get("--service-name").unwrap_or("");
                return Err(Stop::usage(format!(
                    "env file for {s} (.variables) doesn't exist"
                )));
            }
            import(ctx, &vars, &vlogical, &f, true, &perm, true)
        }
        "--import-variables" => {
            let f = ctx.o.val("--import-variables").unwrap_or("");
            let disk = ctx.host.disk(f);
            if !disk.is_file() {
                return Err(Stop::usage(format!("{f}: No such file or directory")));
            }
            import(ctx, &vars, &vlogical, &disk, false, &perm, force)
        }
        _ => {
            let f = ctx.o.val("--export-variables").unwrap_or("");
            if !ctx.o.flag("--silent") {
                println!(
                    "export {logical:<35} {} {} {}",
                    perm.owner, perm.group, perm.mode
                );
            }
            let own = vars.join(".variables");
            let target = ctx.host.disk(f);
            if std::fs::canonicalize(&target).ok() == std::fs::canonicalize(&own).ok()
                && own.exists()
            {
                export(ctx, &vars, &own, &perm, force)
            } else {
                export(ctx, &vars, &target, &perm, true)
            }
        }
    }
}

/// Every `SERVICEDIR/*/variables` plus `.svscan/variables` (logical paths).
fn all_variable_dirs(ctx: &Ctx) -> Vec<String> {
    let sd = ctx.host.disk(&ctx.servicedir);
    let mut v: Vec<String> = ls(&sd)
        .into_iter()
        .filter(|n| sd.join(n).join("variables").is_dir())
        .map(|n| format!("{}/{n}/variables", ctx.servicedir))
        .collect();
    if sd.join(".svscan/variables").is_dir() {
        v.push(format!("{}/.svscan/variables", ctx.servicedir));
    }
    v
}

/// `--save-variables`.
pub fn save_all(ctx: &Ctx) -> Result<(), Stop> {
    let perm = Perm::from(ctx);
    let force = ctx.o.flag("--force");
    for d in all_variable_dirs(ctx) {
        let disk = ctx.host.disk(&d);
        if !ctx.o.flag("--silent") {
            let parent = Path::new(&d)
                .parent()
                .unwrap_or(Path::new("/"))
                .display()
                .to_string();
            println!(
                "export {parent:<35} {} {} {}",
                perm.owner, perm.group, perm.mode
            );
        }
        let _w = fsx::Writable::new(&disk)?;
        if let Err(s) = export(ctx, &disk, &disk.join(".variables"), &perm, force) {
            eprintln!("{}", s.msg);
        }
    }
    let q = format!("{}/control/defaultqueue", ctx.sysconfdir());
    let qd = ctx.host.disk(&q);
    if qd.is_dir() {
        let qp = Perm {
            owner: "indimail".into(),
            group: "qmail".into(),
            mode: "0644".into(),
        };
        if !ctx.o.flag("--silent") {
            println!("export {q:<35} {} {} {}", perm.owner, perm.group, perm.mode);
        }
        if let Err(s) = export(ctx, &qd, &qd.join(".variables"), &qp, force) {
            eprintln!("{}", s.msg);
        }
    }
    Ok(())
}

/// `--restore-all-variables`.
pub fn restore_all(ctx: &Ctx) -> Result<(), Stop> {
    let perm = Perm::from(ctx);
    for d in all_variable_dirs(ctx) {
        let disk = ctx.host.disk(&d);
        let f = disk.join(".variables");
        if !f.is_file() || std::fs::metadata(&f).map(|m| m.len() == 0).unwrap_or(true) {
            continue;
        }
        let _w = fsx::Writable::new(&disk)?;
        import(ctx, &disk, &d, &f, true, &perm, true)?;
    }
    let q = format!("{}/control/defaultqueue", ctx.sysconfdir());
    let qd = ctx.host.disk(&q);
    if qd.join(".variables").is_file() {
        let qp = Perm {
            owner: "indimail".into(),
            group: "qmail".into(),
            mode: "0644".into(),
        };
        import(ctx, &qd, &q, &qd.join(".variables"), true, &qp, true)?;
    }
    Ok(())
}

/// The environment `envdir -c DIR env` would produce: `.envdir` chain first, own files win.
pub fn effective_env(ctx: &Ctx, dir: &Path) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut seen = Vec::new();
    load(ctx, dir, &mut seen, &mut env);
    env.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn load(
    ctx: &Ctx,
    dir: &Path,
    seen: &mut Vec<PathBuf>,
    env: &mut BTreeMap<String, Option<String>>,
) {
    let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if seen.contains(&canon) {
        return;
    }
    seen.push(canon);
    let e = dir.join(".envdir");
    if e.is_dir() {
        load(ctx, &e, seen, env);
    } else if let Ok(text) = std::fs::read_to_string(&e) {
        for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let p = if l.starts_with('/') {
                ctx.host.disk(l)
            } else {
                dir.join(l)
            };
            load(ctx, &p, seen, env);
        }
    }
    for n in ls(dir) {
        if let Ok(b) = std::fs::read(dir.join(&n)) {
            env.insert(n, render::envdir_value(&b));
        }
    }
}

fn notes(dir: &Path) -> String {
    let mut out = String::new();
    let e = dir.join(".envdir");
    if let Ok(t) = std::fs::read_link(&e) {
        out.push_str(&format!(
            "NOTE: additional variables were obtained from {}\n\n",
            t.display()
        ));
    } else if e.is_file() {
        out.push_str("NOTE: additional variables were obtained from .envdir\n");
        out.push_str(&std::fs::read_to_string(&e).unwrap_or_default());
        out.push('\n');
    }
    let f = dir.join(".envfile");
    if f.is_file() {
        out.push_str("NOTE: additional variables were obtained from .envfile\n");
        out.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn env_lines(env: &BTreeMap<String, String>) -> String {
    env.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// `--print-variables`.
pub fn print_one(ctx: &Ctx) -> Result<(), Stop> {
    let (svc, envdir) = (ctx.o.get("--service-name"), ctx.o.get("--envdir"));
    let (label, dir) = match (svc, envdir) {
        (Some(_), Some(_)) => {
            return Err(Stop::fail(
                1,
                "you cannot specify both service name and envdir both",
            ))
        }
        (None, None) => return Err(Stop::usage("service name or envdir has to be specified")),
        (Some(s), None) => {
            let l = format!("{}/{s}", ctx.servicedir);
            let d = ctx.host.disk(&l);
            if !d.is_dir() {
                return Err(Stop::fail(1, format!("{l}: No such file or directory")));
            }
            if !d.join("variables").is_dir() {
                return Err(Stop::fail(
                    1,
                    format!(
                        "------ {l} ------------\nNOTE: This service has no configured variables"
                    ),
                ));
            }
            (l, d.join("variables"))
        }
        (None, Some(e)) => {
            let d = ctx.host.disk(e);
            if !d.is_dir() {
                return Err(Stop::fail(1, format!("{e}: No such directory")));
            }
            (e.to_string(), d)
        }
    };
    let env = effective_env(ctx, &dir);
    print!(
        "------ environment variables for {label} ------------\n{}\n{}",
        env_lines(&env),
        notes(&dir)
    );
    Ok(())
}

/// `--print-all-variables`.
pub fn print_all(ctx: &Ctx) -> Result<(), Stop> {
    print!("{}", all_variables_text(ctx));
    Ok(())
}

fn all_variables_text(ctx: &Ctx) -> String {
    let mut out = String::new();
    let sd = ctx.host.disk(&ctx.servicedir);
    for n in ls(&sd) {
        let vars = sd.join(&n).join("variables");
        if !vars.is_dir() {
            continue;
        }
        let l = format!("{}/{n}", ctx.servicedir);
        let env = effective_env(ctx, &vars);
        if env.is_empty() {
            out.push_str(&format!(
                "------ {l} ------------\nNOTE: This service has no configured variables\n\n"
            ));
        } else {
            out.push_str(&format!(
                "------ environment variables for {l} ------------\n{}\n{}",
                env_lines(&env),
                notes(&vars)
            ));
        }
    }
    for l in [
        format!("{}/control/defaultqueue", ctx.sysconfdir()),
        format!("{}/control/global_vars", ctx.sysconfdir()),
        format!("{}/ezmlm/global_vars", ctx.sysconfdir()),
    ] {
        let d = ctx.host.disk(&l);
        if !d.is_dir() {
            continue;
        }
        let env = effective_env(ctx, &d);
        if env.is_empty() {
            out.push_str(&format!(
                "------ {l} ------------\nNOTE: This directory has no configured variables\n\n"
            ));
            continue;
        }
        if d.join(".envdir").exists() || d.join(".envfile").is_file() {
            out.push_str(&format!("------ {l} ------------\n{}", notes(&d)));
        }
        out.push_str(&format!(
            "------ environment variables for {l} ------------\n{}\n",
            env_lines(&env)
        ));
    }
    out
}

fn eof_line(what: &str) -> String {
    format!("- EOF -----------------{what:<20}-----------------------\n\n")
}

/// `--dumpconfig`.
pub fn dumpconfig(ctx: &Ctx) -> Result<(), Stop> {
    let sd = ctx.host.disk(&ctx.servicedir);
    if !sd.is_dir() {
        return Err(Stop::fail(1, "servicedir: No such file or directory"));
    }
    let mut out = String::new();
    out.push_str("Service Configuration ================================================\n");
    out.push_str(&format!("Service Directory {}\n", ctx.servicedir));
    let names = crate::fsx::sorted_names(&sd, true);
    for (i, j) in names.iter().enumerate() {
        out.push_str(&format!("Service {:05} {j}\n", i + 1));
        for (file, label) in [
            ("run", "Run File"),
            ("log/run", "Log Run File"),
            ("shutdown", "Shutdown File"),
        ] {
            let p = sd.join(j).join(file);
            if p.is_file() {
                out.push_str(&format!("{label} [{j}/{file}]\n"));
                out.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&p).unwrap_or_default(),
                ));
                out.push_str(&eof_line(&format!("{j}/{file}")));
            }
        }
        let vars = sd.join(j).join("variables");
        if vars.is_dir() {
            for (count, k) in ls(&vars).iter().enumerate() {
                if count == 0 {
                    out.push_str("Variables List\n");
                }
                let bytes = std::fs::read(vars.join(k)).unwrap_or_default();
                let value = if bytes.is_empty() {
                    "UNSET".to_string()
                } else {
                    let v = String::from_utf8_lossy(&bytes);
                    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
                    if v.is_empty() {
                        "SET".into()
                    } else {
                        v
                    }
                };
                out.push_str(&format!("{:<3} {k}\nValue:[{value}]\n\n", count + 1));
            }
        }
        out.push('\n');
    }
    out.push_str("\nService variables =====================================================\n");
    out.push_str(&all_variables_text(ctx));
    out.push_str("\nControl Configuration =================================================\n\n");
    print!("{out}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    match ctx.host.installed("bin", "qmail-showctl") {
        Some(p) => {
            let _ = std::process::Command::new(p)
                .env("CONTROLDIR", &ctx.cntrldir)
                .status();
        }
        None => println!("qmail-showctl: not installed"),
    }
    println!("\nIndiMail Assign File:");
    let assign = ctx.host.disk(&format!("{}/users/assign", ctx.sysconfdir()));
    print!("{}", std::fs::read_to_string(assign).unwrap_or_default());
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// IMAP / POP3 variables (docs/svctool.md#imap-and-pop3)

/// IMAPMODULES: the authentication modules installed, authpam last, without authgeneric and
/// authtest.
fn imap_modules(ctx: &Ctx) -> String {
    let mods_dir = ctx
        .host
        .disk(&format!("{}/imapmodules", ctx.host.libexecdir));
    let all = ls(&mods_dir);
    let mut mods: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|m| !matches!(*m, "authgeneric" | "authtest" | "authpam"))
        .collect();
    if all.iter().any(|m| m == "authpam") {
        mods.push("authpam");
    }
    mods.join(" ")
}

fn courier_text(ctx: &Ctx) -> String {
    let o = ctx.o;
    let imap = ctx.key("CDB") == "imap";
    let s = ctx.sysconfdir();
    let p = ctx.prefix();
    let port = &ctx.port;
    let mut t = String::from("#--------- IndiMail ---------------------------\n");
    if let Some(d) = o.get("--default-domain") {
        let global = |n: &str| {
            std::fs::read(ctx.host.disk(&format!("{s}/control/global_vars/{n}")))
                .ok()
                .and_then(|b| render::envdir_value(&b))
        };
        if global("DEFAULT_DOMAIN").as_deref() != Some(d) {
            t.push_str(&format!("DEFAULT_DOMAIN={d}\n"));
        }
        if global("QMAILDEFAULTHOST").as_deref() != Some(d) {
            t.push_str(&format!("QMAILDEFAULTHOST={d}\n"));
        }
    }
    let cdb = if imap { "imap" } else { "pop3" };
    t.push_str(&format!(
        "MIGRATEUSER={p}/bin/migrateuser\nMIGRATEFLAG=indi.txt\nTCP_FILE={s}/tcp/tcp.{cdb}\nOPEN_SMTP={s}/tcp/open-smtp\nRELAY_TABLE=relay\nMCDFILE=mcdinfo\nPORT={port}\n"
    ));
    match o.get("--infifo") {
        Some(f) => {
            let path = Path::new(f);
            let base = path
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dir = match path.parent().map(|d| d.to_string_lossy().into_owned()) {
                Some(d) if !d.is_empty() => d,
                _ => format!("{}/indimail/inlookup", ctx.rundir()),
            };
            t.push_str(&format!("INFIFO={base}\nINFIFODIR={dir}\n"));
        }
        None => t.push_str("INFIFO=\nINFIFODIR=\n"),
    }
    let ip = o.get("--localip").unwrap_or("0");
    t.push_str(&format!("LOCALIP={ip}\n"));
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V8): NOLASTAUTHLOGGING=1 for both protocols
    t.push_str(if o.flag("--nolastauth") {
        "NOLASTAUTHLOGGING=1\n"
    } else {
        "NOLASTAUTHLOGGING=\n"
    });
    if let Some(dp) = o.get("--proxy") {
        let what = if imap {
            "IMAP ---------------"
        } else {
            "POP3 ----------------"
        };
        t.push_str(&format!(
            "#--------- ADDED FOR Proxy {what}\nADMIN_HOST=localhost\nADMIN_PORT=4000\nADMIN_USER=admin\nADMIN_PASS={}\nHARD_QUOTA={}\nDATA_TIMEOUT=1\nDESTPORT={cdb}:{dp}\nLEGACY_SERVER={}\n",
            ctx.secret("ADMIN_PASS"),
            o.val("--hardquota").unwrap_or(""),
            if o.flag("--legacyserver") { "1" } else { "" }
        ));
    } else {
        t.push_str("DESTPORT=\n");
    }
    t.push_str(if imap {
        "#----------------------------------------------\n"
    } else {
        "#-----------------------------------------------\n"
    });
    t.push_str(&format!(
        "MIN_LOGIN_INTERVAL=0\nMAXDAEMONS={}\nMAXPERIP={}\n",
        o.get("--maxdaemons").unwrap_or("150"),
        o.get("--maxperip").unwrap_or("25")
    ));
    t.push_str(&format!(
        "IMAPMODULES=\"{}\"\nDEBUG_LOGIN=0\n",
        imap_modules(ctx)
    ));
    let cap = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE";
    if imap {
        t.push_str(&format!(
            "#SMAP_CAPABILITY=SMAP1\nIMAP_KEYWORDS=1\nIMAP_ACL=1\nIMAP_DISABLETHREADSORT=0\nIMAP_CHECK_ALL_FOLDERS=0\nIMAP_OBSOLETE_CLIENT=0\nIMAP_UMASK=022\nIMAP_USELOCKS=0\nIMAP_IDLE_TIMEOUT=60\nIMAP_MAILBOX_SANITY_CHECK=1\nIMAP_TRASHFOLDERNAME=Trash\nIMAP_EMPTYTRASH=Trash:7\nIMAP_MOVE_EXPUNGE_TO_TRASH=0\nIMAP_LOG_DELETIONS=0\nIMAPDEBUGFILE=imap-debug.txt\nOUTBOX=.Outbox\nSENDMAIL={p}/bin/sendmail\nHEADERFROM=X-IMAP-Sender\nIMAP_SHAREDINDEXFILE={s}/shared/index\nMAILDIRPATH=Maildir\nIMAP_CAPABILITY=\"{cap} AUTH=CRAM-MD5 AUTH=CRAM-SHA1 AUTH=CRAM-SHA256\"\nIMAP_CAPABILITY_TLS=\"{cap} AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=CRAM-SHA1 AUTH=CRAM-SHA256\"\n"
        ));
    } else {
        t.push_str("POP3AUTH=\"LOGIN PLAIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256\"\n");
    }
    let tls_prog = o
        .get("--tlsprog")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{p}/bin/couriertls"));
    let ssl_block = |t: &mut String| {
        t.push_str(&format!("SSLPORT={port}\nSSLADDRESS={ip}\n"));
        if !imap {
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V8): POP3AUTH_TLS carries the POP3AUTH list
            t.push_str("POP3AUTH_TLS=\"LOGIN PLAIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256\"\n");
        }
        t.push_str(&format!(
            "TLS_PROTOCOL=TLSv1.2\nTLS_STARTTLS_PROTOCOL=TLSv1.2\n# TLS_CIPHER_LIST=\"TLSv1:HIGH:!LOW:!MEDIUM:!EXP:!NULL:!aNULL@STRENGTH\"\n##NAME: TLS_TIMEOUT:0\n# TLS_TIMEOUT is currently not implemented, and reserved for future use.\n# This is supposed to be an inactivity timeout, but its not yet implemented.\n#\nTLS_CERTFILE={s}/certs/servercert.pem\nTLS_DHPARAMS={s}/certs/dhparams.pem\n# TLS_TRUSTCERTS=\nTLS_VERIFYPEER=NONE\nTLS_CACHEFILE={s}/certs/couriersslcache\nTLS_CACHESIZE=524288\nTLS_ALPN={cdb}\n"
        ));
        if imap {
            t.push_str("IMAP_TLS=1\n");
        }
    };
    if o.flag("--starttls") {
        let up = if imap { "IMAP" } else { "POP3" };
        t.push_str(&format!(
            "{up}_STARTTLS=YES\n{up}_TLS_REQUIRED=0\nCOURIERTLS={tls_prog}\n"
        ));
        ssl_block(&mut t);
    } else if o.flag("--ssl") {
        ssl_block(&mut t);
    }
    t
}

/// Write `.courier_variables`, the plain files, import (0640 root:indimail) and export.
pub fn courier_variables(ctx: &Ctx, vars: &Path) -> Result<(), Stop> {
    let _w = fsx::Writable::new(vars)?;
    let text = courier_text(ctx);
    let cv = vars.join(".courier_variables");
    fsx::write(&cv, text.as_bytes(), 0o644)?;
    let o = ctx.o;
    let plain = [
        (
            "FIFOTMPDIR",
            Val::Set(format!("{}/indimail/inquery", ctx.rundir())),
        ),
        ("FIFO_MODE", Val::Set("0660".into())),
        (
            "SOFT_MEM",
            Val::Set(o.get("--memory").unwrap_or("5242880").into()),
        ),
        (
            "DOMAIN_LIMITS",
            if o.flag("--domainlimits") {
                Val::Empty
            } else {
                Val::Unset
            },
        ),
        (
            "QUERY_CACHE",
            if o.flag("--query-cache") {
                Val::Empty
            } else {
                Val::Unset
            },
        ),
    ];
    for (n, v) in &plain {
        render::write_var(vars, n, v, 0o644)?;
    }
    let perm = Perm {
        owner: "root".into(),
        group: "indimail".into(),
        mode: "0640".into(),
    };
    let logical = format!(
        "{}/{}/variables",
        ctx.servicedir,
        vars.parent()
            .and_then(|p| p.file_name())
            .unwrap_or_default()
            .to_string_lossy()
    );
    import(ctx, vars, &logical, &cv, false, &perm, true)?;
    export(ctx, vars, &vars.join(".variables"), &perm, true)
}

// ---------------------------------------------------------------------------------------
// --queueParam (docs/svctool.md#queue-parameters)

/// `--death`: global DEATH and OSSIFIED (none for the default one day).
fn global_death(ctx: &Ctx) -> Result<(), Stop> {
    let o = ctx.o;
    let sg = ctx
        .host
        .disk(&format!("{}/control/global_vars", ctx.sysconfdir()));
    let death = o.get("--death").unwrap_or("86400");
    if death == "86400" {
        fsx::remove(&sg.join("DEATH"))?;
        fsx::remove(&sg.join("OSSIFIED"))?;
    } else {
        let cur = std::fs::read(sg.join("DEATH"))
            .ok()
            .and_then(|b| render::envdir_value(&b));
        if cur.as_deref() != Some(death) {
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V12): OSSIFIED is 1.5 × DEATH
            let d: f64 = death.parse().unwrap_or(86400.0);
            fsx::write(&sg.join("DEATH"), format!("{death}\n").as_bytes(), 0o644)?;
            fsx::write(
                &sg.join("OSSIFIED"),
                format!("{}\n", (d * 1.5).round() as i64).as_bytes(),
                0o644,
            )?;
        }
    }
    Ok(())
}

/// The queue envdir's files 0644 and all of it indimail:qmail.
fn own_queue_envdir(ctx: &Ctx, dir: &Path) -> Result<(), Stop> {
    for e in std::fs::read_dir(dir)
        .map_err(|e| Stop::io("read", dir, &e))?
        .flatten()
    {
        let p = e.path();
        if std::fs::symlink_metadata(&p)
            .map(|m| m.is_file())
            .unwrap_or(false)
        {
            fsx::chmod(&p, 0o644)?;
        }
        ctx.host.chown(&p, "indimail", "qmail");
    }
    fsx::chmod(dir, 0o755)?;
    ctx.host.chown(dir, "indimail", "qmail");
    Ok(())
}

pub fn queue_param(ctx: &mut Ctx, name: &str) -> Result<(), Stop> {
    let o = ctx.o;
    let logical = format!("{}/{name}", ctx.cntrldir);
    let dir = ctx.host.disk(&logical);
    if o.flag("--nooverwrite") && dir.is_dir() {
        return Ok(());
    }
    fsx::mkdir_p(&dir, 0o755)?;
    let _w = fsx::Writable::new(&dir)?;
    render::link_with_global(ctx, &dir)?;
    let w = |n: &str, v: Val| render::write_var(&dir, n, &v, 0o644);
    if let Some(b) = o.get("--base_path") {
        w("BASE_PATH", Val::Set(b.into()))?;
    }
    let nomulti = o.flag("--no-multi");
    let qbase = ctx.qbase().to_string();
    let qmailqueue = o
        .get("--qmailqueue")
        .unwrap_or("/usr/sbin/qmail-queue")
        .to_string();
    let globals = ctx.host.disk(&format!("{}/global_vars", ctx.cntrldir));
    if nomulti {
        w("QMAILQUEUE", Val::Set(qmailqueue.clone()))?;
        w("QUEUEDIR", Val::Set(format!("{qbase}/queue1")))?;
    } else {
        for (n, opt) in [
            ("QUEUE_BASE", "--qbase"),
            ("QUEUE_COUNT", "--qcount"),
            ("QUEUE_START", "--qstart"),
        ] {
            w(n, Val::Set(o.val(opt).unwrap_or("").into()))?;
            let g = globals.join(n);
            if std::fs::symlink_metadata(&g).is_err() {
                fsx::mkdir_p(&globals, 0o755)?;
                if o.flag("--verbose") {
                    println!("global variable {n}");
                }
                std::os::unix::fs::symlink(format!("../{name}/{n}"), &g)
                    .map_err(|e| Stop::io("link", &g, &e))?;
            }
        }
    }
    w(
        "QREGEX",
        if o.flag("--qregex") {
            Val::Empty
        } else {
            Val::Unset
        },
    )?;
    let mut v = Vec::new();
    for var in QUEUEPARAM_VARS {
        ctx.eval(var, &mut v);
    }
    for (n, val) in &v {
        render::write_var(&dir, n, val, 0o644)?;
    }
    w(
        "MIN_FREE",
        Val::Set(o.get("--min-free").unwrap_or("52428800").into()),
    )?;
    w("QUEUEDIR", Val::Remove)?;
    for n in ["DKIMSIGN", "DKIMVERIFY", "DKIMQUEUE"] {
        w(n, Val::Remove)?;
    }
    let sf = o.get("--spamfilter").is_some();
    let p = ctx.prefix().to_string();
    if o.val("--dksign") == Some("dkim") {
        w(
            "DKIMSIGN",
            Val::Set(o.val("--private_key").unwrap_or("").into()),
        )?;
        let q = if sf {
            format!("{p}/sbin/qmail-spamfilter {p}/sbin/qmail-dkim")
        } else {
            format!("{p}/sbin/qmail-dkim")
        };
        w("QMAILQUEUE", Val::Set(q))?;
        if nomulti {
            w("QUEUEDIR", Val::Set(format!("{qbase}/queue1")))?;
        }
    } else if nomulti {
        w("QUEUEDIR", Val::Set(format!("{qbase}/queue1")))?;
        let q = if sf {
            format!("{p}/sbin/qmail-spamfilter")
        } else {
            qmailqueue
        };
        w("QMAILQUEUE", Val::Set(q))?;
    } else {
        w("QUEUEDIR", Val::Unset)?;
        let q = if sf {
            "qmail-spamfilter"
        } else {
            "qmail-multi"
        };
        w("QMAILQUEUE", Val::Set(format!("{p}/sbin/{q}")))?;
    }
    w(
        "HIDE_HOST",
        if o.flag("--hide-host") {
            Val::Set("1".into())
        } else {
            Val::Unset
        },
    )?;
    global_death(ctx)?;
    let opts = format!("{}\n", ctx.prog_args);
    fsx::write(&dir.join(".options"), opts.as_bytes(), 0o644)?;
    fsx::mkdir_p(&globals, 0o755)?;
    fsx::write(&globals.join(".options"), opts.as_bytes(), 0o644)?;
    w(
        "LOGFILTER",
        o.get("--logfilter")
            .map_or(Val::Unset, |f| Val::Set(f.into())),
    )?;
    drop(_w);
    own_queue_envdir(ctx, &dir)
}

use crate::catalogue::{spam_vars, sync_vars, virus_vars};
use crate::render::{Rule::*, Var};

static QUEUEPARAM_VARS: &[Var] = &[
    Var("", Group(virus_vars)),
    Var("QHPSI", OptOrUnset("--qhpsi")),
    Var("", Group(sync_vars)),
    Var("", Group(spam_vars)),
];
