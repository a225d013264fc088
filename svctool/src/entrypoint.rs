//! `docker-entrypoint [-r] [-d domain] [-t timezone] [-g seconds] [-s servicedir]
//! [command [args]]`: the first program of an IndiMail container.
//!
//! It prepares the container the way the reference's script does (time zone, the podman
//! FIFO hot-fix, the mail domain, `/etc/mtab`, the webmail services) and then, for the
//! commands `svscan`, `indimail`, `indimail-mta` and `webmail` (the default), becomes
//! svscan: `envdir SERVICEDIR/.svscan/variables svscan SERVICEDIR` is exec'd, so svscan is
//! pid 1 and reaps every orphan. Any other command is exec'd as it is.
//!
//! Beyond the reference: the shutdown fits the orchestrator's grace period (`-g`, else
//! `$GRACE_PERIOD`, else 10 seconds: svscan's `KILLWAIT` is set to grace - 3 unless
//! `KILLWAIT`, `KILLWAIT1` or `KILLWAIT2` is set already), a read-only root only costs
//! warnings (`TZ` is exported when `/etc/localtime` cannot be written), and a refused
//! `svctool --config=recontrol` is a warning, not the end of the container.

use crate::host::Host;
use indicore::getopt_long::{Found, Long, Spec};
use indicore::{errstr, Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const PROG: Prog = Prog("docker-entrypoint");

/// The orchestrators' default grace period (docker stop, podman stop), seconds.
pub const DEFAULT_GRACE: u64 = 10;

/// What svscan needs after its timed shutdown: a second's pause for the logs and at most
/// a second for its own logger, plus one second of margin.
pub const SHUTDOWN_OVERHEAD: u64 = 3;

const USAGE: &str = "\
usage: docker-entrypoint [-r|--repair] [-d|--domain domain] [-t|--timezone zone]
         [-g|--grace seconds] [-s|--servicedir dir] [svscan|indimail|indimail-mta|webmail]
       docker-entrypoint [options] -- command [args]
the default command is svscan";

const SPEC: Spec = Spec {
    name: "entrypoint",
    short: "rd:t:g:s:",
    long: &[
        Long::flag("repair"),
        Long::value("domain"),
        Long::value("timezone"),
        Long::value("grace"),
        Long::value("servicedir"),
    ],
    long_only: true,
};

/// The commands that start svscan.
const SVSCAN_COMMANDS: [&str; 4] = ["indimail", "indimail-mta", "svscan", "webmail"];

struct Setup {
    host: Host,
    domain: Option<String>,
    grace: u64,
    /// `TZ` to export when the zone could not be linked.
    tz: Option<String>,
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let parsed = SPEC.parse(args);
    if !parsed.errors.is_empty() {
        for e in &parsed.errors {
            indicore::diag::emit(format_args!("{e}\n"));
        }
        return Err(Failure::usage(USAGE));
    }
    let mut setup = Setup {
        host: Host::from_env(),
        domain: None,
        grace: grace_from_env()?,
        tz: None,
    };
    for opt in &parsed.options {
        let (key, value) = match opt {
            Found::Short(c, v) => (*c, v),
            Found::Long(name, v) => (name.as_bytes()[0], v),
        };
        let value = value.as_deref().map(OsStr::to_string_lossy);
        match (key, value) {
            (b'd', Some(v)) => setup.domain = Some(v.into_owned()),
            (b't', Some(v)) => {
                if let Some(code) = set_timezone(&mut setup, &v) {
                    return Ok(code);
                }
            }
            (b'r', _) => repair_shell(),
            (b'g', Some(v)) => setup.grace = parse_grace(&v)?,
            (b's', Some(v)) => setup.host.servicedir = v.into_owned(),
            _ => return Err(Failure::usage(USAGE)),
        }
    }
    fix_podman(&setup.host);
    if let Err(e) = std::env::set_current_dir("/") {
        return Err(Failure::temp_sys("unable to chdir to /: ", &e));
    }
    if let Some(code) = recontrol(&setup) {
        return Ok(code);
    }
    let operands = &parsed.operands;
    let program = operands
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "svscan".into());
    if SVSCAN_COMMANDS.contains(&program.as_str()) {
        link_mtab(&setup.host);
        if program == "webmail" {
            if let Some(code) = start_webmail(&setup.host) {
                return Ok(code);
            }
        }
        return Err(exec_svscan(&setup, &program));
    }
    println!(
        "docker-entrypoint: executing {}",
        operands
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = io::stdout().flush();
    let env = indicore::exec::Env::inherited();
    let e = indicore::exec::pathexec(operands, &env);
    Err(exec_failure(&operands[0], &e))
}

/// `GRACE_PERIOD`, when set.
fn grace_from_env() -> Result<u64, Failure> {
    match std::env::var("GRACE_PERIOD") {
        Ok(v) if !v.is_empty() => parse_grace(&v),
        _ => Ok(DEFAULT_GRACE),
    }
}

fn parse_grace(v: &str) -> Result<u64, Failure> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Failure::Fatal {
            code: indicore::EXIT_USAGE,
            msg: format!("grace period must be a positive number of seconds: {v}"),
        }),
    }
}

/// The KILLWAIT svscan gets for a grace period: its whole shutdown then ends in time.
pub fn killwait_for(grace: u64) -> u64 {
    grace.saturating_sub(SHUTDOWN_OVERHEAD).max(1)
}

/// `-t zone`: link /etc/localtime and write /etc/timezone. Some(1) when the zone does not
/// exist (the reference's messages and code).
fn set_timezone(setup: &mut Setup, zone: &str) -> Option<i32> {
    let host = &setup.host;
    let zonefile = format!("/usr/share/zoneinfo/{zone}");
    if zone.is_empty() || !host.is_file_following(&zonefile) {
        indicore::diag::emit(format_args!(
            "ERROR: unable to open {zonefile}\nWARNING: unable to set timezone {zone}\n"
        ));
        return Some(1);
    }
    let localtime = host.disk("/etc/localtime");
    let written = crate::fsx::remove(&localtime)
        .and_then(|()| {
            std::os::unix::fs::symlink(&zonefile, &localtime)
                .map_err(|e| crate::Stop::io("create", &localtime, &e))
        })
        .and_then(|()| {
            crate::fsx::write(
                &host.disk("/etc/timezone"),
                format!("{zone}\n").as_bytes(),
                0o644,
            )
        });
    if let Err(stop) = written {
        PROG.warn(format_args!(
            "{}; TZ={zone} exported instead",
            stop.msg.trim_start_matches("svctool: ")
        ));
        setup.tz = Some(zone.to_string());
    }
    None
}

/// `-r`: an interactive shell; the container goes on when it exits.
fn repair_shell() {
    if let Err(e) = Command::new("/bin/sh").status() {
        PROG.warn(format_args!("unable to run /bin/sh: {}", errstr(&e)));
    }
}

/// The podman FIFO hot-fix: queues whose `lock/trigger` lost its FIFO are rebuilt with
/// queue-fix (only where qmail-queue is installed).
fn fix_podman(host: &Host) {
    let qdir = format!("{}/queue", host.indimaildir);
    let is_fifo =
        |p: &str| std::fs::symlink_metadata(host.disk(p)).is_ok_and(|m| m.file_type().is_fifo());
    if !host.is_file(&format!("{}/sbin/qmail-queue", host.prefix))
        || is_fifo(&format!("{qdir}/queue1/lock/trigger"))
    {
        return;
    }
    indicore::diag::emit(format_args!(
        "Your podman/docker container suffers from named pipe bug. Applying hotfix\n"
    ));
    if !host.is_dir(&qdir) || host.is_file(&format!("{}/.svscan/run", host.servicedir)) {
        return;
    }
    let queue_fix = host
        .installed("bin", "queue-fix")
        .unwrap_or_else(|| PathBuf::from(format!("{}/bin/queue-fix", host.prefix)));
    let mut queues: Vec<(String, &str)> = std::fs::read_dir(host.disk(&qdir))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("queue"))
                .map(|n| (n, "-v"))
                .collect()
        })
        .unwrap_or_default();
    queues.sort();
    for (name, flag) in [("nqueue", "-v"), ("slowq", "-rv"), ("qmta", "-mv")] {
        queues.push((name.to_string(), flag));
    }
    for (name, flag) in queues {
        let dir = format!("{qdir}/{name}");
        let is_queue = name.starts_with("queue");
        if !host.is_dir(&dir) || (is_queue && is_fifo(&format!("{dir}/lock/trigger"))) {
            continue;
        }
        let status = Command::new(&queue_fix)
            .arg(flag)
            .arg(&name)
            .current_dir(host.disk(&qdir))
            .status();
        if let Err(e) = status {
            PROG.warn(format_args!(
                "unable to run {}: {}",
                queue_fix.display(),
                errstr(&e)
            ));
        }
    }
}

/// The mail domain: the `-d` value, else the host name less its first label when it has
/// three or more; control files follow it through svctool when the mail suite is there.
fn recontrol(setup: &Setup) -> Option<i32> {
    let host = &setup.host;
    let control = format!("{}/control", host.sysconfdir);
    if !host.is_dir(&control) {
        return None;
    }
    let domain = setup
        .domain
        .clone()
        .unwrap_or_else(|| domain_of(&host.hostname));
    let current = std::fs::read_to_string(host.disk(&format!("{control}/defaultdomain")))
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_default();
    if current == domain {
        return None;
    }
    let svctool = host
        .installed("sbin", "svctool")
        .unwrap_or_else(|| PathBuf::from(format!("{}/sbin/svctool", host.prefix)));
    let status = Command::new(&svctool)
        .arg(format!("--default-domain={domain}"))
        .arg("--config=recontrol")
        .status();
    match status {
        Ok(s) if s.success() => None,
        Ok(s) => {
            PROG.warn(format_args!(
                "svctool --config=recontrol failed (exit {}): the control files keep domain [{current}]",
                s.code().map_or_else(|| "by signal".into(), |c| c.to_string())
            ));
            None
        }
        Err(e) => {
            PROG.warn(format_args!(
                "unable to run {}: {}",
                svctool.display(),
                errstr(&e)
            ));
            None
        }
    }
}

/// `a.b.c` gives `b.c`; `a.b` and `a` stay as they are.
pub fn domain_of(hostname: &str) -> String {
    let parts: Vec<&str> = hostname.splitn(3, '.').collect();
    if parts.len() == 3 {
        format!("{}.{}", parts[1], parts[2])
    } else {
        hostname.to_string()
    }
}

/// `/etc/mtab` as a link to the kernel's mount table, where it is missing.
fn link_mtab(host: &Host) {
    // the link points at the kernel's /proc, so it is followed as it is, not under the root
    if std::fs::metadata(host.disk("/etc/mtab")).is_ok_and(|m| m.is_file()) {
        return;
    }
    let target = ["/proc/self/mounts", "/proc/mounts"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let Some(target) = target else {
        indicore::diag::emit(format_args!(
            "Warning /etc/mtab: No such file or directory\n"
        ));
        return;
    };
    indicore::diag::emit(format_args!("Warning  linking /etc/mtab to {target}\n"));
    let mtab = host.disk("/etc/mtab");
    if let Err(e) = std::os::unix::fs::symlink(target, &mtab) {
        PROG.warn(format_args!(
            "unable to link {}: {}",
            mtab.display(),
            errstr(&e)
        ));
    }
}

/// `webmail`: php-fpm and httpd come up with the tree, or apache is started here.
fn start_webmail(host: &Host) -> Option<i32> {
    let sd = &host.servicedir;
    let enable = |name: &str| {
        let down = format!("{sd}/{name}/down");
        if host.is_file(&down) {
            println!("enabling {sd}/{name}");
            if let Err(e) = std::fs::remove_file(host.disk(&down)) {
                PROG.warn(format_args!("unable to remove {down}: {}", errstr(&e)));
            }
        }
    };
    enable("php-fpm");
    if host.is_dir(&format!("{sd}/httpd")) {
        enable("httpd");
        return None;
    }
    let (prog, args): (&str, &[&str]) = if host.is_executable("/usr/sbin/apachectl") {
        println!("/usr/sbin/apachectl start");
        ("/usr/sbin/apachectl", &["start"])
    } else if host.is_executable("/usr/sbin/start_apache2") {
        ("/usr/sbin/start_apache2", &["-k", "start"])
    } else {
        return None;
    };
    let _ = io::stdout().flush();
    match Command::new(host.disk(prog)).args(args).status() {
        Ok(s) if s.success() => None,
        Ok(s) => Some(s.code().unwrap_or(indicore::EXIT_TEMP)),
        Err(e) => {
            PROG.warn(format_args!("unable to run {prog}: {}", errstr(&e)));
            Some(indicore::EXIT_TEMP)
        }
    }
}

/// Become svscan on the service directory (through envdir when it has variables).
fn exec_svscan(setup: &Setup, program: &str) -> Failure {
    let host = &setup.host;
    let dir = host.disk(&host.servicedir);
    let vars = dir.join(".svscan/variables");
    let find = |sub: &str, name: &str| {
        host.installed(sub, name)
            .unwrap_or_else(|| PathBuf::from(format!("{}/{sub}/{name}", host.prefix)))
    };
    let svscan = find("sbin", "svscan");
    let mut env = indicore::exec::Env::inherited();
    if ["KILLWAIT", "KILLWAIT1", "KILLWAIT2"]
        .iter()
        .all(|k| env.get(k).is_none())
    {
        env.set("KILLWAIT", killwait_for(setup.grace).to_string());
    }
    if let Some(tz) = &setup.tz {
        env.set("TZ", tz);
    }
    let mut argv: Vec<OsString> = Vec::new();
    if vars.is_dir() {
        let envdir = find("bin", "envdir");
        println!(
            "docker-entrypoint: [{program}] {} {} {} {}",
            envdir.display(),
            vars.display(),
            svscan.display(),
            dir.display()
        );
        argv.extend([envdir.into(), vars.into()]);
    } else {
        println!(
            "docker-entrypoint: [{program}] executing {} {}",
            svscan.display(),
            dir.display()
        );
    }
    argv.extend([svscan.into(), dir.into()]);
    let _ = io::stdout().flush();
    let e = indicore::exec::run(&argv, &env, None);
    exec_failure(&argv[0], &e)
}

/// 127 for a program that is not there, 126 for one that cannot run (a shell's codes, as
/// the reference's `exec` gives them).
fn exec_failure(prog: &OsStr, e: &io::Error) -> Failure {
    let code = if indicore::sys::errno(e) == Some(indicore::sys::Errno::NOENT) {
        127
    } else {
        126
    };
    Failure::Fatal {
        code,
        msg: format!("unable to run {}: {}", prog.to_string_lossy(), errstr(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(domain_of("mail.indimail.org"), "indimail.org");
        assert_eq!(domain_of("a.b.c.d"), "b.c.d");
        assert_eq!(domain_of("indimail.org"), "indimail.org");
        assert_eq!(domain_of("box"), "box");
    }

    #[test]
    fn grace_to_killwait() {
        assert_eq!(killwait_for(10), 7);
        assert_eq!(killwait_for(30), 27);
        assert_eq!(killwait_for(2), 1);
        assert!(parse_grace("0").is_err());
        assert!(parse_grace("x").is_err());
    }
}
