//! `svctool [OPTION]...`: start-up (docs/svctool.md#start-up), the selected action, and the svctool.log line
//! (docs/svctool.md#svctoollog).

use crate::host::Host;
use crate::options::{Early, Opts};
use crate::render::Ctx;
use crate::{config, fsx, usage, Stop};
use indicore::{Failure, Prog};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;

pub const PROG: Prog = Prog("svctool");

/// How a successful action ends.
pub enum Done {
    /// Append the svctool.log line (unless `--nolog`) and exit 0.
    Log,
    /// Exit with this code, logging nothing.
    Exit(i32),
}

/// What tells svctool and minisvc apart: the name in messages and recorded commands, the
/// help text, and the log each run is recorded in.
pub struct Flavour {
    pub program: &'static str,
    pub help: &'static str,
    pub log: &'static str,
}

pub const SVCTOOL: Flavour = Flavour {
    program: "svctool",
    help: usage::HELP,
    log: "svctool.log",
};

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let code = main(&SVCTOOL, &plain_args(args), Host::from_env());
    let _ = std::io::stdout().flush();
    Ok(code)
}

/// The arguments after the program name, as text.
pub fn plain_args(args: &[OsString]) -> Vec<String> {
    args.iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn print_stop(f: &Flavour, s: &Stop) -> i32 {
    if !s.msg.is_empty() {
        indicore::diag::emit(format_args!("{}\n", s.msg));
    }
    if s.usage {
        usage::show_text(f.help, s.code)
    } else {
        s.code
    }
}

/// `CONTROLDIR` resolved the reference's way: empty → `$S/control`, relative → `$S/X`.
pub fn resolve_cntrldir(host: &Host, v: Option<&str>) -> String {
    match v.filter(|s| !s.is_empty()) {
        None => format!("{}/control", host.sysconfdir),
        Some(a) if a.starts_with('/') => a.to_string(),
        Some(r) => format!("{}/{r}", host.sysconfdir),
    }
}

/// `$S/svctool.cnf`: owner 0:0 mode 400 (fixed by root if not), then its `NAME=value`
/// lines (the reference sources it as shell; only assignments are honoured here).
fn read_cnf(host: &Host) -> Result<HashMap<String, String>, i32> {
    use std::os::unix::fs::MetadataExt;
    let p = host.disk(&format!("{}/svctool.cnf", host.sysconfdir));
    let mut out = HashMap::new();
    let meta = match std::fs::metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(_) => return Err(100),
    };
    if (meta.uid(), meta.gid(), meta.mode() & 0o7777) != (0, 0, 0o400) && host.euid == 0 {
        println!("fixing permissions of svctool.cnf");
        host.chown(&p, "root", "0");
        let _ = fsx::chmod(&p, 0o400);
    }
    if let Ok(text) = std::fs::read_to_string(&p) {
        for line in text.lines() {
            let line = line.trim().trim_start_matches("export ").trim();
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().trim_matches('"').trim_matches('\'');
                out.insert(k.trim().to_string(), v.to_string());
            }
        }
    }
    Ok(out)
}

/// One run of `f.program` with `args` (without the program name).
pub fn main(f: &Flavour, args: &[String], mut host: Host) -> i32 {
    if args.is_empty() {
        return usage::show_text(f.help, 1);
    }
    if host.euid != 0 && !host.allow_user {
        println!(
            "{} is not meant to be run by mere mortals. Use sudo to get superpowers",
            f.program
        );
        return 100;
    }
    let secrets = match read_cnf(&host) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let env_cntrldir = resolve_cntrldir(&host, std::env::var("CONTROLDIR").ok().as_deref());
    let default_servicedir =
        std::fs::read_to_string(host.disk(&format!("{env_cntrldir}/servicedir.conf")))
            .ok()
            .and_then(|s| s.lines().next().map(str::trim).map(str::to_string))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| host.servicedir.clone());
    let mut o = match Opts::parse_as(f.program, args, &host.prefix) {
        Ok(o) => o,
        Err(early) => return early_exit(f, early, &host),
    };
    if let Some(d) = o.get("--destdir") {
        host.add_destdir(d);
    }
    if let Some(q) = o.get("--qmaildir") {
        host.qmaildir = q.to_string();
    }
    if let Some(q) = o.get("--indimaildir") {
        host.indimaildir = q.to_string();
    }
    let cntrldir = match o.val("--cntrldir") {
        Some(c) => resolve_cntrldir(&host, Some(c)),
        None => env_cntrldir,
    };
    // defaults the reference fills in before some actions
    if matches!(o.action, Some("--fetchmail") | Some("--check-install")) {
        let q = format!("{}/queue", host.indimaildir);
        o.values.entry("--qbase").or_insert(q);
        o.values.entry("--qcount").or_insert_with(|| "5".into());
        o.values.entry("--qstart").or_insert_with(|| "1".into());
    }
    let servicedir = o
        .val("--servicedir")
        .map(str::to_string)
        .unwrap_or(default_servicedir);
    let logdir = o.get("--logdir").unwrap_or(&host.logdir).to_string();
    let mut ctx = Ctx {
        host: &host,
        o: &o,
        cntrldir,
        servicedir,
        logdir,
        prog_args: o.prog_args.clone(),
        port: String::new(),
        keys: HashMap::new(),
        secrets,
    };
    let done = crate::actions::dispatch(&mut ctx);
    let _ = std::io::stdout().flush();
    match done {
        Ok(Done::Exit(code)) => code,
        Ok(Done::Log) => {
            if !o.flag("--nolog") {
                let d = host.disk(&ctx.logdir);
                let line = format!("{} {}\n", host.date(), ctx.prog_args);
                if fsx::mkdir_p(&d, 0o755).is_ok() {
                    if let Err(s) = fsx::append(&d.join(f.log), line.as_bytes()) {
                        return print_stop(f, &s);
                    }
                }
            }
            0
        }
        Err(stop) => print_stop(f, &stop),
    }
}

fn early_exit(f: &Flavour, e: Early, host: &Host) -> i32 {
    match e {
        Early::Version => {
            let o = Opts {
                program: f.program,
                ..Opts::default()
            };
            println!("{}", o.rcsid());
            0
        }
        Early::Help => usage::show_text(f.help, 0),
        Early::Usage { msg, code } => {
            indicore::diag::emit(format_args!("{msg}\n"));
            usage::show_text(f.help, code)
        }
        Early::Fail { msg, code } => {
            indicore::diag::emit(format_args!("{msg}\n"));
            code
        }
        Early::Immediate {
            name,
            value,
            before,
        } => match name {
            "--showctl" => config::showctl(host, &value),
            "--queuefix" => config::queuefix(host, &value),
            "--fixsharedlibs" => fixsharedlibs(host, &before),
            _ => print_stop(f, &refused(name)),
        },
    }
}

/// `--fixsharedlibs`: `control/libindimail` and `control/libmysql` for the libraries
/// installed now (the control directory and `--mysqlPrefix` as given before it).
fn fixsharedlibs(host: &Host, before: &Opts) -> i32 {
    let env_cntrldir = resolve_cntrldir(host, std::env::var("CONTROLDIR").ok().as_deref());
    let ctx = Ctx {
        host,
        o: before,
        cntrldir: match before.val("--cntrldir") {
            Some(c) => resolve_cntrldir(host, Some(c)),
            None => env_cntrldir,
        },
        servicedir: host.servicedir.clone(),
        logdir: host.logdir.clone(),
        prog_args: before.prog_args.clone(),
        port: String::new(),
        keys: HashMap::new(),
        secrets: HashMap::new(),
    };
    let r = crate::sharedlibs::fix_libindimail(&ctx)
        .and_then(|()| crate::sharedlibs::fix_libmysql(&ctx));
    let _ = std::io::stdout().flush();
    match r {
        Ok(()) => 0,
        Err(s) => print_stop(&SVCTOOL, &s),
    }
}

/// Options outside the service tree: parsed, then refused (COMPATIBILITY.md lists them).
pub fn refused(what: &str) -> Stop {
    let why = match what {
        "--backup" => "backups (tar and mysqldump)",
        "--repair-tables" | "--mysqlupgrade" => "MySQL maintenance",
        "--report" => "qmailanalog reports",
        "mysql" | "mysqldb" | "ssl_rsa" => "MySQL database setup",
        "selinux" | "iselinux" | "qselinux" => "SELinux policy modules",
        "clamd" | "foxhole" => "clamd and freshclam configuration files",
        "bogofilter" => "bogofilter configuration",
        "snmpdconf" => "snmpd configuration",
        "add-alt" | "remove-alt" => "sendmail alternatives",
        "recontrol" => "renaming the host in control files",
        _ => "this operation",
    };
    let name = if what.starts_with("--") {
        what.to_string()
    } else {
        format!("--config={what}")
    };
    Stop::fail(
        100,
        format!(
            "svctool: {name} ({why}) is outside the service tree and not supported by this svctool"
        ),
    )
}
