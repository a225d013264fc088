//! The action svctool's options select (docs/svctool.md), one function per action.

use crate::catalogue as cat;
use crate::render::{self, Ctx, Kind};
use crate::svctool::{refused, Done};
use crate::{check, config, manage, queue, variables, Stop};

/// What one run of svctool does: one variant per action option of `options::OPTIONS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Smtp,
    Delivery,
    SlowQueue,
    QueueParam,
    Qmqp,
    Qmtp,
    Imap,
    Pop3,
    PopPass,
    IndiSrvr,
    InLookup,
    PwdLookup,
    Mysql,
    Greylist,
    Tlsa,
    UdpLogger,
    FifoLogger,
    QScanQ,
    Clamd,
    Fetchmail,
    Mrtg,
    SvscanLog,
    RemoveService,
    EnableService,
    RefreshService,
    AutoRefresh,
    SetVariable,
    ModifyVariable,
    UnsetVariable,
    RemoveVariable,
    RestoreVariables,
    ImportVariables,
    ExportVariables,
    SaveVariables,
    RestoreAllVariables,
    PrintVariables,
    PrintAllVariables,
    DumpConfig,
    CheckInstall,
    CheckCerts,
    Backup,
    RepairTables,
    Report,
    EnableBootService,
    DisableBootService,
    Config,
}

/// Each action option with its action (every selecting option of `options::OPTIONS`).
pub const ACTIONS: &[(&str, Action)] = &[
    ("--smtp", Action::Smtp),
    ("--delivery", Action::Delivery),
    ("--slowq", Action::SlowQueue),
    ("--queueParam", Action::QueueParam),
    ("--qmqp", Action::Qmqp),
    ("--qmtp", Action::Qmtp),
    ("--imap", Action::Imap),
    ("--pop3", Action::Pop3),
    ("--poppass", Action::PopPass),
    ("--indisrvr", Action::IndiSrvr),
    ("--inlookup", Action::InLookup),
    ("--pwdlookup", Action::PwdLookup),
    ("--mysql", Action::Mysql),
    ("--greylist", Action::Greylist),
    ("--tlsa", Action::Tlsa),
    ("--udplogger", Action::UdpLogger),
    ("--fifologger", Action::FifoLogger),
    ("--qscanq", Action::QScanQ),
    ("--clamd", Action::Clamd),
    ("--fetchmail", Action::Fetchmail),
    ("--mrtg", Action::Mrtg),
    ("--svscanlog", Action::SvscanLog),
    ("--rmsvc", Action::RemoveService),
    ("--ensvc", Action::EnableService),
    ("--refreshsvc", Action::RefreshService),
    ("--autorefresh", Action::AutoRefresh),
    ("--set-variable", Action::SetVariable),
    ("--modify-variable", Action::ModifyVariable),
    ("--unset-variable", Action::UnsetVariable),
    ("--remove-variable", Action::RemoveVariable),
    ("--restore-variables", Action::RestoreVariables),
    ("--import-variables", Action::ImportVariables),
    ("--export-variables", Action::ExportVariables),
    ("--save-variables", Action::SaveVariables),
    ("--restore-all-variables", Action::RestoreAllVariables),
    ("--print-variables", Action::PrintVariables),
    ("--print-all-variables", Action::PrintAllVariables),
    ("--dumpconfig", Action::DumpConfig),
    ("--check-install", Action::CheckInstall),
    ("--check-certs", Action::CheckCerts),
    ("--backup", Action::Backup),
    ("--repair-tables", Action::RepairTables),
    ("--report", Action::Report),
    ("--enable-service", Action::EnableBootService),
    ("--disable-service", Action::DisableBootService),
    ("--config", Action::Config),
];

impl Action {
    /// The action an option selects, if it selects one.
    pub fn from_option(name: &str) -> Option<Action> {
        ACTIONS.iter().find(|(n, _)| *n == name).map(|&(_, a)| a)
    }
}

/// Runs the action the options selected.
pub fn dispatch(ctx: &mut Ctx) -> Result<Done, Stop> {
    let Some(name) = ctx.o.action else {
        return Err(Stop::usage("No Options Provided"));
    };
    let Some(action) = Action::from_option(name) else {
        return Err(refused(name));
    };
    use Action as A;
    match action {
        A::Smtp => create_smtp_service(ctx)?,
        A::Delivery => create_delivery_service(ctx)?,
        A::SlowQueue => create_slowq_service(ctx)?,
        A::QueueParam => create_queue_envdir(ctx)?,
        A::Qmqp | A::Qmtp => create_qmqp_or_qmtp_service(ctx, name)?,
        A::Imap => create_courier_service(ctx, "imapd", "imap", "IMAP", "IMAP4")?,
        A::Pop3 => create_courier_service(ctx, "pop3d", "pop3", "POP3", "POP3")?,
        A::PopPass => create_poppass_service(ctx)?,
        A::IndiSrvr => create_indisrvr_service(ctx)?,
        A::InLookup => create_inlookup_service(ctx)?,
        A::PwdLookup => create_pwdlookup_service(ctx)?,
        A::Mysql => create_mysql_service(ctx)?,
        A::Greylist => create_service_on_default_port(ctx, name, "1999", &cat::GREYLIST)?,
        A::Tlsa => create_service_on_default_port(ctx, name, "1998", &cat::DANED)?,
        A::UdpLogger => create_udplogger_service(ctx)?,
        A::FifoLogger => create_fifologger_service(ctx)?,
        A::QScanQ => create_qscanq_service(ctx)?,
        A::Clamd => create_clamd_service(ctx)?,
        A::Fetchmail => create_fetchmail_service(ctx)?,
        A::Mrtg => create_mrtg_service(ctx)?,
        A::SvscanLog => create_svscanlog_service(ctx)?,
        A::RemoveService => manage::rmsvc(ctx, ctx.o.val(name).unwrap_or(""))?,
        A::EnableService => manage::ensvc(ctx, ctx.o.val(name).unwrap_or(""))?,
        A::RefreshService => {
            servicedir(ctx)?;
            manage::refresh(ctx, ctx.o.val(name).unwrap_or(""))?
        }
        A::AutoRefresh => {
            servicedir(ctx)?;
            manage::autorefresh(ctx, ctx.o.val(name).unwrap_or(""))?
        }
        A::SetVariable | A::ModifyVariable | A::UnsetVariable | A::RemoveVariable => {
            variables::set_action(ctx, name)?
        }
        A::RestoreVariables | A::ImportVariables | A::ExportVariables => {
            variables::file_action(ctx, name)?
        }
        A::SaveVariables => variables::save_all(ctx)?,
        A::RestoreAllVariables => variables::restore_all(ctx)?,
        A::PrintVariables => variables::print_one(ctx)?,
        A::PrintAllVariables => variables::print_all(ctx)?,
        A::DumpConfig => variables::dumpconfig(ctx)?,
        A::CheckInstall => return check::check_install(ctx),
        A::CheckCerts => return crate::certcheck::check_certs(ctx),
        A::Config => return config::config(ctx),
        A::EnableBootService => crate::boot::os_service(ctx, true)?,
        A::DisableBootService => crate::boot::os_service(ctx, false)?,
        A::Backup | A::RepairTables | A::Report => return Err(refused(name)),
    }
    Ok(Done::Log)
}

fn create_smtp_service(ctx: &mut Ctx) -> Result<(), Stop> {
    let o = ctx.o;
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
    logfifo_after(ctx)
}

fn create_delivery_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let ident = need(ctx, "--delivery", "Queue IDENT not specified")?;
    let (qbase, qcount, qstart) = queue_args(ctx)?;
    dkim_args(ctx)?;
    println!("Creating delivery only {qcount} queues");
    queue::create(ctx, &qbase, qcount, qstart)?;
    create(ctx, &cat::SEND, &ident).map(|_| ())
}

fn create_slowq_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let qbase = need(ctx, "--qbase", "Queue Directory not specified")?;
    dkim_args(ctx)?;
    println!("Creating delivery only slowq");
    queue::create_slowq(ctx, &qbase)?;
    create(ctx, &cat::SLOWQ, "slowq").map(|_| ())
}

fn create_queue_envdir(ctx: &mut Ctx) -> Result<(), Stop> {
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
    Ok(())
}

/// `--qmqp` or `--qmtp`, named by `option`.
fn create_qmqp_or_qmtp_service(ctx: &mut Ctx, option: &str) -> Result<(), Stop> {
    servicedir(ctx)?;
    let proto = &option[2..];
    let upper = proto.to_uppercase();
    let p = port(ctx, option, &upper)?;
    let (qbase, qcount, qstart) = queue_args(ctx)?;
    println!(
        "Creating {upper} Listener Port {p}, Service {}, Queue Base {qbase}, Queue Count {qcount}, Queue Start {qstart}",
        ctx.servicedir
    );
    ctx.keys.insert("PROTO", proto.to_string());
    create(ctx, &cat::QMQPD, &p)?;
    logfifo_after(ctx)
}

/// `--imap` or `--pop3`: the courier service type, its cdb name, the name in messages about
/// the port and the protocol's name in the summary line.
fn create_courier_service(
    ctx: &mut Ctx,
    stype: &str,
    cdb: &str,
    what: &str,
    label: &str,
) -> Result<(), Stop> {
    let o = ctx.o;
    let option = format!("--{cdb}");
    let p = port(ctx, &option, what)?;
    servicedir(ctx)?;
    if o.get("--proxy").is_some() {
        if let Some(h) = o.get("--hardquota") {
            if h.parse::<u64>().map_or(true, |n| n < 500000) {
                return Err(Stop::usage("Hard Quota should be greater than 500k"));
            }
        }
    }
    println!(
        "Creating {label} Listener Port {p}, Service {} infifo {}",
        ctx.servicedir,
        o.val("--infifo").unwrap_or("")
    );
    ctx.keys.insert("STYPE", stype.to_string());
    ctx.keys.insert("CDB", cdb.to_string());
    create(ctx, &cat::COURIER, &p).map(|_| ())
}

fn create_poppass_service(ctx: &mut Ctx) -> Result<(), Stop> {
    let o = ctx.o;
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
    create(ctx, &cat::POPPASS, &p).map(|_| ())
}

fn create_indisrvr_service(ctx: &mut Ctx) -> Result<(), Stop> {
    let o = ctx.o;
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
    create(ctx, &cat::INDISRVR, &p).map(|_| ())
}

fn create_inlookup_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let f = need(ctx, "--inlookup", "INFIFO not specified")?;
    let t = need(ctx, "--threads", "Thread Count not specified")?;
    println!(
        "Creating InLookup Daemon on Fifo {f}, Service {}, Threads {t} ActiveDays={}",
        ctx.servicedir,
        ctx.o.get("--activeDays").unwrap_or("7")
    );
    create(ctx, &cat::INLOOKUP, &f).map(|_| ())
}

fn create_pwdlookup_service(ctx: &mut Ctx) -> Result<(), Stop> {
    let o = ctx.o;
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
    create(ctx, &cat::PWDLOOKUP, &sock).map(|_| ())
}

fn create_mysql_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    need(ctx, "--databasedir", "Database directory not specified")?;
    need(
        ctx,
        "--mysqlPrefix",
        "MySQL Installation Prefix directory not specified",
    )?;
    let conf = ctx
        .o
        .config_file
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Stop::usage("Config file not specified"))?;
    let p = port(ctx, "--mysql", "BIND")?;
    println!(
        "Creating MySQL Service Port {p}, Service {}, conf file {conf}",
        ctx.servicedir
    );
    config::mysql_service(ctx, &p, &conf)
}

/// `--greylist` and `--tlsa`: a service whose port option has a default.
fn create_service_on_default_port(
    ctx: &mut Ctx,
    option: &str,
    default_port: &str,
    kind: &Kind,
) -> Result<(), Stop> {
    servicedir(ctx)?;
    let p = ctx.o.get(option).unwrap_or(default_port).to_string();
    create(ctx, kind, &p).map(|_| ())
}

fn create_udplogger_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let p = port(ctx, "--udplogger", "udplogger")?;
    create(ctx, &cat::UDPLOGGER, &p).map(|_| ())
}

fn create_fifologger_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let f = need(ctx, "--fifologger", "fifo path not specified")?;
    println!("Creating fifologger {f} in {}", ctx.servicedir);
    create(ctx, &cat::LOGFIFO, &f).map(|_| ())
}

fn create_qscanq_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    println!("Creating qscanq virus scanner, Service {}", ctx.servicedir);
    create(ctx, &cat::QSCANQ, "").map(|_| ())
}

fn create_clamd_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let pfx = need(
        ctx,
        "--clamdPrefix",
        "clamd Installation Prefix directory not specified",
    )?;
    let sc = ctx
        .o
        .get("--sysconfdir")
        .unwrap_or(ctx.sysconfdir())
        .to_string();
    println!(
        "Creating Virus Scanner Service ClamdPrefix {pfx}, Service {}, Sysconf {sc}",
        ctx.servicedir
    );
    create(ctx, &cat::CLAMD, "").map(|_| ())
}

fn create_fetchmail_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let (qbase, qcount, qstart) = queue_args(ctx)?;
    println!(
        "Creating FetchMail Daemon Service {}, Queue Base {qbase}, Queue Count {qcount}, Qstart {qstart}",
        ctx.servicedir
    );
    create(ctx, &cat::FETCHMAIL, "")?;
    logfifo_after(ctx)
}

fn create_mrtg_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    let h = need(ctx, "--mrtg", "your web html dir not specified")?;
    println!("Creating indimail mrtg {h} in {}", ctx.servicedir);
    crate::mrtg::check(ctx)?;
    create(ctx, &cat::MRTG, "").map(|_| ())
}

fn create_svscanlog_service(ctx: &mut Ctx) -> Result<(), Stop> {
    servicedir(ctx)?;
    println!("Creating svscan log Service Service {}", ctx.servicedir);
    config::svscan_check(ctx)?;
    create(ctx, &cat::SVSCAN, "").map(|_| ())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selecting_option_has_an_action() {
        for (name, _, selects) in crate::options::OPTIONS {
            assert_eq!(*selects, Action::from_option(name).is_some(), "{name}");
        }
        assert_eq!(Action::from_option("--smtp"), Some(Action::Smtp));
    }
}
