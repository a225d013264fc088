//! `qmailctl COMMAND`: start, stop and inspect the IndiMail services through svc and
//! svstat, and rebuild stale tcp rules databases (`cdb`, docs/svctool.md#qmailctl).

use crate::host::Host;
use indicore::sys::{process, signal::Signal};
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const PROG: Prog = Prog("qmailctl");

const COMMANDS: &str =
    "start|stop|condrestart|restart|shut|kill|flush|rotate|reload|stat|queue|pause|cont|cdb|help";

const HELP: &str = "\
  start -- starts mail service (smtp connections accepted, mail can go out)
   stop -- stops mail service (smtp connections refused, nothing goes out)
restart -- stops and restarts the services
   kill -- sends a kill signal to tcpserver, supervise and qmail-send processes
   shut -- shuts down the entire svscan service
  flush -- schedules queued messages for immediate delivery
 reload -- sends qmail-send a HUP, re-reading locals and virtualdomains
   stat -- status of the svscan process and the services
 rotate -- rotates all log files (ALRM to multilog)
  queue -- shows the status of the queue
  pause -- temporarily stops mail service (connections accepted, nothing goes out)
   cont -- continues a paused mail service
    cdb -- rebuilds the tcpserver cdb files for smtp, qmtp, qmqp, imap, pop3 and poppass
";

struct Ctl {
    host: Host,
    svc: Option<PathBuf>,
    color: bool,
    ret: i32,
}

impl Ctl {
    fn service(&self) -> PathBuf {
        self.host.disk(&self.host.servicedir)
    }

    /// `SERVICE/<prefix>*` (non-dot), sorted.
    fn services(&self, prefixes: &[&str]) -> Vec<PathBuf> {
        let sd = self.service();
        let mut v: Vec<PathBuf> = std::fs::read_dir(&sd)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        !n.starts_with('.')
                            && (prefixes.is_empty() || prefixes.iter().any(|p| n.starts_with(p)))
                    })
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// `MSG` then `[  OK  ]` or `[FAILED]` at column 60, as the reference's init scripts.
    fn report(&mut self, msg: &str, ok: bool) {
        let (word, color) = if ok {
            ("  OK  ", "\x1b[1;32m")
        } else {
            ("FAILED", "\x1b[1;31m")
        };
        let line = if self.color {
            format!("{msg}\x1b[60G[{color}{word}\x1b[0;39m]\r\n")
        } else {
            format!("{msg:<59}[{word}]\n")
        };
        print!("{line}");
        let _ = std::io::stdout().flush();
        if !ok {
            self.ret += 1;
        }
    }

    fn svc(&mut self, msg: &str, flag: &str, dir: &Path) {
        let ok = match &self.svc {
            Some(svc) => Command::new(svc)
                .arg(flag)
                .arg(dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false),
            None => {
                eprintln!("qmailctl: svc not found");
                false
            }
        };
        self.report(msg, ok);
    }
}

/// Processes whose command name is one of `names`.
fn pids_named(names: &[&str]) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if names.contains(&comm.trim()) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            out.push((pid, cmd.trim().to_string()));
        }
    }
    out
}

fn signal_all(names: &[&str], sig: Signal) -> bool {
    let pids = pids_named(names);
    !pids.is_empty()
        && pids
            .iter()
            .all(|(p, _)| process::pid(*p).is_some_and(|p| process::kill(p, sig).is_ok()))
}

fn mtime(p: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| m.mtime()).unwrap_or(0)
}

/// `qmailctl cdb`: delete legacy cdbs whose source is gone, rebuild stale ones.
fn cdb(c: &mut Ctl) {
    let s = c.host.disk(&c.host.sysconfdir);
    let tcp = s.join("tcp");
    let list = |dir: &Path, pred: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| pred(&e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    for i in ["smtp", "qmtp", "qmqp", "imap", "pop3", "poppass"] {
        let suffix = format!(".{i}.cdb");
        for j in list(&s, &|n: &str| n.starts_with("tcp") && n.ends_with(&suffix)) {
            let name = j.to_string_lossy().into_owned();
            let src = PathBuf::from(&name[..name.len() - 4]);
            if !src.is_file() {
                let ok = std::fs::remove_file(&j).is_ok();
                c.report(&format!("deleting {}: ", display(&c.host, &j)), ok);
            }
        }
        let suffix = format!(".{i}");
        for j in list(&tcp, &|n: &str| {
            n.starts_with("tcp") && n.ends_with(&suffix)
        }) {
            let cdbf = PathBuf::from(format!("{}.cdb", j.display()));
            if mtime(&j) <= mtime(&cdbf) && cdbf.exists() {
                continue;
            }
            let tmp = PathBuf::from(format!("{}.tmp", j.display()));
            let ok = match (c.host.tool("tcprules"), std::fs::File::open(&j)) {
                (Some(t), Ok(input)) => Command::new(t)
                    .arg(&cdbf)
                    .arg(&tmp)
                    .stdin(input)
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false),
                (None, _) => {
                    eprintln!("qmailctl: tcprules not found");
                    false
                }
                _ => false,
            };
            if ok {
                let _ = crate::fsx::chmod(&cdbf, 0o664);
                c.host.chown(&cdbf, "indimail", "indimail");
            }
            c.report(&format!("building {}.cdb: ", display(&c.host, &j)), ok);
        }
    }
}

/// A disk path as the administrator knows it (without the scratch root).
fn display(host: &Host, p: &Path) -> String {
    match p.strip_prefix(&host.root) {
        Ok(r) if host.root != Path::new("/") => format!("/{}", r.display()),
        _ => p.display().to_string(),
    }
}

fn svscan_running(c: &Ctl) -> bool {
    let log = c.service().join(".svscan/log");
    match c.host.tool("svstat") {
        Some(s) => Command::new(s)
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false),
        None => !pids_named(&["svscan"]).is_empty(),
    }
}

fn start(c: &mut Ctl) {
    if !svscan_running(c) && pids_named(&["svscan"]).is_empty() {
        let ok = match c.host.tool("svscanboot") {
            Some(boot) => Command::new(boot)
                .arg(c.service())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .is_ok(),
            None => false,
        };
        c.report("Starting svscan: ", ok);
        return;
    }
    for i in c.services(&[]) {
        if !i.join("down").exists() {
            let msg = format!("Starting {}: ", display(&c.host, &i));
            c.svc(&msg, "-u", &i);
        }
    }
}

use std::os::unix::process::CommandExt;

fn stop(c: &mut Ctl) {
    for i in c.services(&[]) {
        let msg = format!("Stopping {}: ", display(&c.host, &i));
        c.svc(&msg, "-d", &i);
    }
}

fn each(c: &mut Ctl, prefixes: &[&str], verb: &str, flag: &str) {
    for i in c.services(prefixes) {
        let msg = format!("{verb} {}: ", display(&c.host, &i));
        c.svc(&msg, flag, &i);
    }
}

/// `status`: svscan's processes and svstat of every service; fails when svscan does not run.
fn status(c: &mut Ctl) {
    // The exit code says whether svscan (svscanboot) runs, as the reference's grep.
    let running = pids_named(&["svscanboot", "svscan"]);
    for (pid, cmd) in &running {
        println!("{pid} {cmd}");
    }
    let mut dirs = vec![c.service().join(".svscan/log")];
    let svcs = c.services(&[]);
    dirs.extend(svcs.iter().cloned());
    dirs.extend(svcs.iter().map(|s| s.join("log")).filter(|l| l.is_dir()));
    let _ = std::io::stdout().flush();
    if !dirs.iter().any(|d| d.exists()) {
        println!("No services configured under svscan");
    } else if let Some(s) = c.host.tool("svstat") {
        let _ = Command::new(s).args(&dirs).status();
    }
    if running.is_empty() {
        c.ret += 1;
    }
}

/// `queue`: qmail-qread -c.
fn queue(c: &mut Ctl) {
    let ok = match c.host.installed("bin", "qmail-qread") {
        Some(p) => Command::new(p)
            .arg("-c")
            .status()
            .map(|s| s.success())
            .unwrap_or(false),
        None => {
            eprintln!("qmailctl: qmail-qread is not installed");
            false
        }
    };
    if !ok {
        c.ret += 1;
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let host = Host::from_env();
    if host.euid != 0 && !host.allow_user {
        println!("you need to be a superpower");
        return Ok(4);
    }
    let cmd = args
        .get(1)
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut c = Ctl {
        svc: host.tool("svc"),
        color: std::io::stdout().is_terminal(),
        host,
        ret: 0,
    };
    match cmd.as_str() {
        "start" => start(&mut c),
        "stop" => stop(&mut c),
        "restart" | "force-reload" => {
            stop(&mut c);
            start(&mut c);
        }
        "condrestart" | "try-restart" => {
            let listeners = ["qmail-smtpd.", "qmail-qmqpd.", "qmail-qmtpd."];
            each(&mut c, &listeners, "Stopping", "-d");
            each(&mut c, &["qmail-send."], "Terminating", "-t");
            for i in c.services(&listeners) {
                if !i.join("down").exists() {
                    let msg = format!("Starting {}: ", display(&c.host, &i));
                    c.svc(&msg, "-u", &i);
                }
            }
        }
        "shut" => {
            let ok = signal_all(&["svscan"], Signal::TERM);
            c.report("shutdown svscan: ", ok);
        }
        "kill" => {
            let ok = signal_all(&["tcpserver", "supervise", "qmail-send"], Signal::TERM);
            c.report("killing tcpserver,supervise,qmail-send: ", ok);
        }
        "rotate" => {
            let mut dirs = c.services(&[]);
            dirs.push(c.service().join(".svscan"));
            for i in dirs {
                if i.join("log").is_dir() {
                    let msg = format!("Rotating {}: ", display(&c.host, &i));
                    c.svc(&msg, "-a", &i.join("log"));
                }
            }
        }
        "flush" => {
            let ok = match c.host.installed("sbin", "qmail-tcpok") {
                Some(p) => Command::new(p)
                    .stdout(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false),
                None => false,
            };
            c.report("Flushing timeout table + ALRM signal to qmail-send.", ok);
            each(&mut c, &["qmail-send."], "Flushing", "-a");
        }
        "status" | "stat" => status(&mut c),
        "queue" => queue(&mut c),
        "reload" => each(&mut c, &["qmail-send."], "sending HUP signal to", "-h"),
        "pause" => each(&mut c, &["qmail-send.", "qmail-smtpd."], "pausing", "-p"),
        "cont" => each(&mut c, &["qmail-send.", "qmail-smtpd."], "continuing", "-c"),
        "cdb" => cdb(&mut c),
        "help" => {
            print!("{HELP}");
            return Ok(0);
        }
        _ => {
            let me = args
                .first()
                .map(|a| {
                    Path::new(a)
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .unwrap_or_else(|| "qmailctl".into());
            print!("Usage: {me} {{{COMMANDS}}}\n{HELP}");
            return Ok(1);
        }
    }
    let _ = std::io::stdout().flush();
    Ok(i32::from(c.ret != 0))
}
