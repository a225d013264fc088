//! `svctool [OPTION]...`: start-up (docs/svctool.md#start-up), the selected action, and the svctool.log line
//! (docs/svctool.md#svctoollog).

use crate::catalogue as cat;
use crate::host::Host;
use crate::options::{Early, Opts};
use crate::render::{self, Ctx, Kind};
use crate::{check, config, fsx, manage, queue, usage, variables, Stop};
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
    let done = dispatch(&mut ctx);
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

/// A port: a positive number (docs/decisions.md#s3: non-numeric ports are refused).
fn port(ctx: &Ctx, opt: &str, what: &str) -> Result<String, Stop> {
    let p = ctx
        .o
        .get(opt)
        .ok_or_else(|| Stop::usage(format!("{what} PORT not specified")))?;
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(p.to_string()),
        _ => Err(Stop::usage(format!(
            "{what} PORT should be a positive number"
        ))),
    }
}

fn need(ctx: &Ctx, opt: &str, msg: &str) -> Result<String, Stop> {
    ctx.o
        .get(opt)
        .map(str::to_string)
        .ok_or_else(|| Stop::usage(msg))
}

fn servicedir(ctx: &Ctx) -> Result<(), Stop> {
    if ctx.servicedir.is_empty() {
        return Err(Stop::usage("Supervise Directory not specified"));
    }
    Ok(())
}

/// qbase, qcount, qstart: present, counts positive.
fn queue_args(ctx: &Ctx) -> Result<(String, u32, u32), Stop> {
    let qbase = need(ctx, "--qbase", "Queue Directory not specified")?;
    let qcount = need(ctx, "--qcount", "Queue Count not specified")?;
    let qstart = need(ctx, "--qstart", "Start Queue Number not specified")?;
    let pos = |s: &str, msg| match s.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Stop::usage(msg)),
    };
    let c = pos(&qcount, "No of Queues should be a positive number")?;
    let s = pos(&qstart, "Start Queue Number should be a positive number")?;
    Ok((qbase, c, s))
}

fn dkim_args(ctx: &Ctx) -> Result<(), Stop> {
    match ctx.o.val("--dkverify").unwrap_or("") {
        "dkim" | "none" | "" => {}
        v => return Err(Stop::usage(format!("invalid --dkverify={v}"))),
    }
    match ctx.o.val("--dksign").unwrap_or("") {
        "dkim" => {
            if ctx.o.get("--private_key").is_none() {
                return Err(Stop::usage("--private_key not specfied"));
            }
        }
        "none" | "" => {}
        v => return Err(Stop::usage(format!("invalid --dksign={v}"))),
    }
    Ok(())
}

fn create(ctx: &mut Ctx, kind: &Kind, port: &str) -> Result<String, Stop> {
    ctx.port = port.to_string();
    render::render(ctx, kind)
}

/// The implicit qmail-logfifo of `--logfilter` (docs/svctool.md#qmail-logfifo, with the synthetic command, #svctoollog).
fn logfifo_after(ctx: &mut Ctx) -> Result<(), Stop> {
    let Some(f) = ctx.o.get("--logfilter").map(str::to_string) else {
        return Ok(());
    };
    if ctx
        .host
        .is_file(&format!("{}/qmail-logfifo/run", ctx.servicedir))
    {
        return Ok(());
    }
    ctx.prog_args = format!(
        "{}/sbin/svctool {} {}",
        ctx.host.prefix,
        crate::options::quote_arg("--fifologger", &f),
        crate::options::quote_arg("--servicedir", &ctx.servicedir)
    );
    ctx.keys.clear();
    create(ctx, &cat::LOGFIFO, &f).map(|_| ())
}

/// `--queueParam --logfilter`: the reference asks for the qmail-logfifo service without a
/// service directory, which fails (no service is made) and leaves that request as the
/// command svctool.log records.
fn queue_param_logfifo(ctx: &mut Ctx) {
    let Some(f) = ctx.o.get("--logfilter") else {
        return;
    };
    if ctx.host.is_file("/qmail-logfifo/run") {
        return;
    }
    ctx.prog_args = format!(
        "{}/sbin/svctool {} {}",
        ctx.host.prefix,
        crate::options::quote_arg("--fifologger", f),
        crate::options::quote_arg("--servicedir", "")
    );
    eprintln!("USAGE: create_fifologger fifo_path servicedir");
}

fn dispatch(ctx: &mut Ctx) -> Result<Done, Stop> {
    let o = ctx.o;
    let Some(action) = o.action else {
        return Err(Stop::usage("No Options Provided"));
    };
    match action {
        "--smtp" => {
            servicedir(ctx)?;
            let p = port(ctx, "--smtp", "SMTP")?;
            let odmr = o.flag("--odmr");
            let skip = odmr || o.flag("--skipsend");
            if !odmr {
                dkim_args(ctx)?;
            }
            if !skip {
                let (qbase, qcount, qstart) = queue_args(ctx)?;
                println!("Creating {qcount} queues");
                queue::create(ctx, &qbase, qcount, qstart)?;
                create(ctx, &cat::SEND, &p)?;
                ctx.keys.clear();
            }
            if odmr {
                println!(
                    "Creating SMTP Listener Port {p}, Service {}",
                    ctx.servicedir
                );
            } else {
                println!(
                    "Creating SMTP Listener Port {p}, Service {}, Queue Base {}, Queue Count {}, Queue Start {}",
                    ctx.servicedir,
                    o.val("--qbase").unwrap_or(""),
                    o.val("--qcount").unwrap_or(""),
                    o.val("--qstart").unwrap_or("")
                );
            }
            create(ctx, &cat::SMTPD, &p)?;
            logfifo_after(ctx)?;
        }
        "--delivery" => {
            servicedir(ctx)?;
            let ident = need(ctx, "--delivery", "Queue IDENT not specified")?;
            let (qbase, qcount, qstart) = queue_args(ctx)?;
            dkim_args(ctx)?;
            println!("Creating delivery only {qcount} queues");
            queue::create(ctx, &qbase, qcount, qstart)?;
            create(ctx, &cat::SEND, &ident)?;
        }
        "--slowq" => {
            servicedir(ctx)?;
            let qbase = need(ctx, "--qbase", "Queue Directory not specified")?;
            dkim_args(ctx)?;
            println!("Creating delivery only slowq");
            queue::create_slowq(ctx, &qbase)?;
            create(ctx, &cat::SLOWQ, "slowq")?;
        }
        "--queueParam" => {
            let name = need(
                ctx,
                "--queueParam",
                "queue environment directory not specified",
            )?;
            queue_args(ctx)?;
            dkim_args(ctx)?;
            println!("Creating queue envdir {name}");
            variables::queue_param(ctx, &name)?;
            queue_param_logfifo(ctx);
        }
        "--qmqp" | "--qmtp" => {
            servicedir(ctx)?;
            let proto = &action[2..];
            let upper = proto.to_uppercase();
            let p = port(ctx, action, &upper)?;
            let (qbase, qcount, qstart) = queue_args(ctx)?;
            println!(
                "Creating {upper} Listener Port {p}, Service {}, Queue Base {qbase}, Queue Count {qcount}, Queue Start {qstart}",
                ctx.servicedir
            );
            ctx.keys.insert("PROTO", proto.to_string());
            create(ctx, &cat::QMQPD, &p)?;
            logfifo_after(ctx)?;
        }
        "--imap" | "--pop3" => {
            let (stype, cdb, what) = if action == "--imap" {
                ("imapd", "imap", "IMAP")
            } else {
                ("pop3d", "pop3", "POP3")
            };
            let p = port(ctx, action, what)?;
            servicedir(ctx)?;
            if o.get("--proxy").is_some() {
                if let Some(h) = o.get("--hardquota") {
                    if h.parse::<u64>().map_or(true, |n| n < 500000) {
                        return Err(Stop::usage("Hard Quota should be greater than 500k"));
                    }
                }
            }
            let label = if what == "IMAP" { "IMAP4" } else { "POP3" };
            println!(
                "Creating {label} Listener Port {p}, Service {} infifo {}",
                ctx.servicedir,
                o.val("--infifo").unwrap_or("")
            );
            ctx.keys.insert("STYPE", stype.into());
            ctx.keys.insert("CDB", cdb.into());
            create(ctx, &cat::COURIER, &p)?;
        }
        "--poppass" => {
            let p = port(ctx, "--poppass", "poppass")?;
            servicedir(ctx)?;
            need(ctx, "--setpassword", "Setpassword Command not specified")?;
            if o.flag("--ssl") && o.get("--certfile").is_none() {
                return Err(Stop::usage(
                    "--ssl option given and Certficate not specified",
                ));
            }
            println!(
                "Creating poppass Listener Port {p}, Service {} use_ssl={}",
                ctx.servicedir,
                u8::from(o.flag("--ssl"))
            );
            create(ctx, &cat::POPPASS, &p)?;
        }
        "--indisrvr" => {
            servicedir(ctx)?;
            let p = need(ctx, "--indisrvr", "Port not specified")?;
            let avg = need(ctx, "--avguserquota", "Average User Quota not specified")?;
            let hard = need(ctx, "--hardquota", "User Hard Quota not specified")?;
            let base = need(ctx, "--base_path", "Base Path not specified")?;
            if p.parse::<u32>().map_or(true, |n| !(1..=65535).contains(&n)) {
                return Err(Stop::usage("BIND PORT should be a positive number"));
            }
            if avg.parse::<u64>().map_or(true, |n| n < 500000) {
                return Err(Stop::usage(
                    "Average User Quota should be greater than 500k",
                ));
            }
            if hard.parse::<u64>().map_or(true, |n| n < 500000) {
                return Err(Stop::usage("Hard Quota should be greater than 500k"));
            }
            if o.get("--mysqlhost").is_some() {
                need(ctx, "--mysqluser", "MySQL User not specified")?;
                need(ctx, "--mysqlpass", "MySQL Passwd not specified")?;
            }
            if o.flag("--ssl") && o.get("--certfile").is_none() {
                return Err(Stop::fail(1, "Certificate not specfied"));
            }
            println!(
                "Creating IndiMail Admin Service Port {p}, Service {}, Base Path {base}",
                ctx.servicedir
            );
            create(ctx, &cat::INDISRVR, &p)?;
        }
        "--inlookup" => {
            servicedir(ctx)?;
            let f = need(ctx, "--inlookup", "INFIFO not specified")?;
            let t = need(ctx, "--threads", "Thread Count not specified")?;
            println!(
                "Creating InLookup Daemon on Fifo {f}, Service {}, Threads {t} ActiveDays={}",
                ctx.servicedir,
                o.get("--activeDays").unwrap_or("7")
            );
            create(ctx, &cat::INLOOKUP, &f)?;
        }
        "--pwdlookup" => {
            servicedir(ctx)?;
            let sock = need(ctx, "--pwdlookup", "socket path not specified")?;
            let t = need(ctx, "--threads", "Thread Count not specified")?;
            let to = need(ctx, "--timeout", "Listen Timeout not specified")?;
            need(ctx, "--mysqlhost", "MySQL Host not specified")?;
            let user = need(ctx, "--mysqluser", "MySQL User not specified")?;
            let pass = need(ctx, "--mysqlpass", "MySQL Passwd not specified")?;
            if o.get("--mysqlport").is_none() && o.get("--mysqlsocket").is_none() {
                return Err(Stop::usage("MySQL Port/Socket not specified"));
            }
            println!("Creating pwdLookup Daemon on socket {sock}, thread_count {t}");
            println!("  listen_timeout {to}, Service {}", ctx.servicedir);
            println!("  mysql_user {user}, mysql_pass {pass}");
            match (o.get("--mysqlport"), o.get("--mysqlsocket")) {
                (Some(p), Some(s)) => println!("  mysql_port {p}, mysql_socket {s}"),
                (None, Some(s)) => println!("  mysql_socket {s}"),
                (Some(p), None) => println!("  mysql_port {p}"),
                _ => {}
            }
            create(ctx, &cat::PWDLOOKUP, &sock)?;
        }
        "--mysql" => {
            servicedir(ctx)?;
            need(ctx, "--databasedir", "Database directory not specified")?;
            need(
                ctx,
                "--mysqlPrefix",
                "MySQL Installation Prefix directory not specified",
            )?;
            let conf = o
                .config_file
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Stop::usage("Config file not specified"))?;
            let p = port(ctx, "--mysql", "BIND")?;
            println!(
                "Creating MySQL Service Port {p}, Service {}, conf file {conf}",
                ctx.servicedir
            );
            config::mysql_service(ctx, &p, &conf)?;
        }
        "--greylist" => {
            servicedir(ctx)?;
            let p = o.get("--greylist").unwrap_or("1999").to_string();
            create(ctx, &cat::GREYLIST, &p)?;
        }
        "--tlsa" => {
            servicedir(ctx)?;
            let p = o.get("--tlsa").unwrap_or("1998").to_string();
            create(ctx, &cat::DANED, &p)?;
        }
        "--udplogger" => {
            servicedir(ctx)?;
            let p = port(ctx, "--udplogger", "udplogger")?;
            create(ctx, &cat::UDPLOGGER, &p)?;
        }
        "--fifologger" => {
            servicedir(ctx)?;
            let f = need(ctx, "--fifologger", "fifo path not specified")?;
            println!("Creating fifologger {f} in {}", ctx.servicedir);
            create(ctx, &cat::LOGFIFO, &f)?;
        }
        "--qscanq" => {
            servicedir(ctx)?;
            println!("Creating qscanq virus scanner, Service {}", ctx.servicedir);
            create(ctx, &cat::QSCANQ, "")?;
        }
        "--clamd" => {
            servicedir(ctx)?;
            let pfx = need(
                ctx,
                "--clamdPrefix",
                "clamd Installation Prefix directory not specified",
            )?;
            let sc = ctx.o.get("--sysconfdir").unwrap_or(ctx.s()).to_string();
            println!(
                "Creating Virus Scanner Service ClamdPrefix {pfx}, Service {}, Sysconf {sc}",
                ctx.servicedir
            );
            create(ctx, &cat::CLAMD, "")?;
        }
        "--fetchmail" => {
            servicedir(ctx)?;
            let (qbase, qcount, qstart) = queue_args(ctx)?;
            println!(
                "Creating FetchMail Daemon Service {}, Queue Base {qbase}, Queue Count {qcount}, Qstart {qstart}",
                ctx.servicedir
            );
            create(ctx, &cat::FETCHMAIL, "")?;
            logfifo_after(ctx)?;
        }
        "--mrtg" => {
            servicedir(ctx)?;
            let h = need(ctx, "--mrtg", "your web html dir not specified")?;
            println!("Creating indimail mrtg {h} in {}", ctx.servicedir);
            crate::mrtg::check(ctx)?;
            create(ctx, &cat::MRTG, "")?;
        }
        "--svscanlog" => {
            servicedir(ctx)?;
            println!("Creating svscan log Service Service {}", ctx.servicedir);
            config::svscan_check(ctx)?;
            create(ctx, &cat::SVSCAN, "")?;
        }
        "--rmsvc" => manage::rmsvc(ctx, o.val("--rmsvc").unwrap_or(""))?,
        "--ensvc" => manage::ensvc(ctx, o.val("--ensvc").unwrap_or(""))?,
        "--refreshsvc" => {
            servicedir(ctx)?;
            manage::refresh(ctx, o.val("--refreshsvc").unwrap_or(""))?
        }
        "--autorefresh" => {
            servicedir(ctx)?;
            manage::autorefresh(ctx, o.val("--autorefresh").unwrap_or(""))?
        }
        "--set-variable" | "--modify-variable" | "--unset-variable" | "--remove-variable" => {
            variables::set_action(ctx, action)?
        }
        "--restore-variables" | "--import-variables" | "--export-variables" => {
            variables::file_action(ctx, action)?
        }
        "--save-variables" => variables::save_all(ctx)?,
        "--restore-all-variables" => variables::restore_all(ctx)?,
        "--print-variables" => return variables::print_one(ctx).map(|_| Done::Log),
        "--print-all-variables" => variables::print_all(ctx)?,
        "--dumpconfig" => variables::dumpconfig(ctx)?,
        "--check-install" => return check::check_install(ctx),
        "--check-certs" => return crate::certcheck::check_certs(ctx),
        "--config" => return config::config(ctx),
        "--enable-service" | "--disable-service" => {
            crate::boot::os_service(ctx, action == "--enable-service")?
        }
        other => return Err(refused(other)),
    }
    Ok(Done::Log)
}
