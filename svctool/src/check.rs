//! `--check-install` (docs/svctool.md#checks-and-reports): directories, queues, users, groups, the installation checks
//! of the packages (instcheck, install_tables), defaultdelivery, the service directory,
//! svscan's start-up and whether it runs, the mandatory and installed services, log
//! directories, tcp rules, aliases, what listens on port 25 and the sendmail links.
//! Problems go to stderr prefixed `!`; the exit code says whether any was found
//! (docs/decisions.md#s3). Every path is looked at under the host-facts root, so a scratch root
//! (with its own `proc/net/tcp`, `proc/PID/comm`, ...) is checked like a live system.

use crate::render::Ctx;
use crate::svctool::Done;
use crate::{boot, Stop};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

struct Check<'a, 'b> {
    ctx: &'a Ctx<'b>,
    ok: bool,
    verbose: bool,
}

impl Check<'_, '_> {
    fn bad(&mut self, msg: String) {
        eprintln!("{msg}");
        self.ok = false;
    }

    fn good(&self, msg: String) {
        if self.verbose {
            println!("{msg}");
        }
    }

    fn dir(&mut self, logical: &str) {
        let d = self.ctx.host.disk(logical);
        if d.is_dir()
            || std::fs::symlink_metadata(&d)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false)
        {
            self.good(format!("{logical} exists"));
        } else {
            self.bad(format!("! Couldn't find {logical}!"));
        }
    }

    fn db(&mut self, file: &str, what: &str, names: &[&str]) {
        let text = std::fs::read_to_string(self.ctx.host.disk(&format!("/etc/{file}")))
            .unwrap_or_default();
        for n in names {
            println!("{n}");
            if text.lines().any(|l| l.split(':').next() == Some(n)) {
                self.good(format!("{n} {what} exists"));
            } else {
                self.bad(format!("! Couldn't find {n} {what} in /etc/{file}"));
            }
        }
    }
}

fn script_ok(p: &Path) -> Result<(), String> {
    let text = std::fs::read(p).map_err(|_| "file is missing".to_string())?;
    let first = text.split(|&b| b == b'\n').next().unwrap_or(b"");
    let shells: [&[u8]; 5] = [
        b"#!/bin/sh",
        b"#!/bin/bash",
        b"#!/usr/bin/sh",
        b"#!/usr/bin/bash",
        b"#!/usr/local/bin/bash",
    ];
    if !shells.contains(&first) {
        return Err(format!(
            "has bad interpreter [{}]",
            String::from_utf8_lossy(first)
        ));
    }
    let mode = std::fs::metadata(p)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o111 == 0 {
        return Err("file is not executable".into());
    }
    Ok(())
}

/// Is IndiMail (the virtual-domain package) installed? (`vadddomain`; the reference looks
/// for it in `$P`, where it never is, so also `$P/bin`.)
fn indimail_installed(ctx: &Ctx) -> bool {
    let h = ctx.host;
    h.is_file(&format!("{}/vadddomain", ctx.prefix()))
        || h.is_file(&format!("{}/bin/vadddomain", ctx.prefix()))
}

fn dirs(c: &mut Check, indimail: bool) {
    let ctx = c.ctx;
    let h = ctx.host;
    let q = h.qmaildir.clone();
    println!("Checking Critical IndiMail directories");
    let mut l1 = vec!["alias"];
    if indimail {
        l1.push("autoturn");
    }
    l1.extend(["bin", "qscanq", "sbin"]);
    for d in l1 {
        println!("{d}");
        c.dir(&format!("{q}/{d}"));
    }
    for d in ["boot", "doc"] {
        println!("{d}");
        c.dir(&format!("{}/{d}", h.shareddir));
    }
    for d in ["control", "users"] {
        println!("{d}");
        c.dir(&format!("{}/{d}", ctx.sysconfdir()));
    }
    let mut l4 = vec!["plugins"];
    if indimail {
        l4.push("modules");
    }
    for d in l4 {
        println!("{d}");
        c.dir(&format!("{}/lib/indimail/{d}", ctx.prefix()));
    }
    println!("{}", h.libexecdir);
    c.dir(&h.libexecdir.clone());
}

fn queues(c: &mut Check) {
    let ctx = c.ctx;
    let h = ctx.host;
    println!("Checking IndiMail queues");
    let qbase = ctx.qbase().to_string();
    let count: u32 = ctx
        .o
        .get("--qcount")
        .and_then(|x| x.parse().ok())
        .unwrap_or(5);
    let start: u32 = ctx
        .o
        .get("--qstart")
        .and_then(|x| x.parse().ok())
        .unwrap_or(1);
    let fix = h.installed("bin", "queue-fix");
    let mut list: Vec<(String, bool)> = (start..start + count)
        .map(|n| (format!("queue{n}"), false))
        .collect();
    list.push(("nqueue".into(), false));
    list.push(("slowq".into(), true));
    for (name, slow) in list {
        let queue = format!("{qbase}/{name}");
        let Some(f) = &fix else {
            if h.is_dir(&queue) {
                eprintln!("queue-fix not installed: {queue} not checked");
            } else {
                c.bad(format!("! {queue} is missing. Run queue-fix -v {queue} !"));
            }
            continue;
        };
        let mut cmd = Command::new(f);
        cmd.arg("-N");
        if slow {
            cmd.arg("-r");
        }
        let status = cmd
            .arg(h.disk(&queue))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status.map(|s| s.code()) {
            Ok(Some(0)) => c.good(format!("queue {queue} looks OK")),
            Ok(code) => c.bad(format!(
                "status {} ! {name} should be fixed. Run queue-fix -v {queue} !",
                code.unwrap_or(-1)
            )),
            Err(e) => c.bad(format!(
                "! unable to run {}: {}",
                f.display(),
                indicore::errstr(&e)
            )),
        }
    }
}

/// The installation checks the packages ship (`instcheck.PKG`) and IndiMail's tables.
fn installation(c: &mut Check, indimail: bool) {
    let ctx = c.ctx;
    let h = ctx.host;
    println!("Checking IndiMail Installation Permission");
    for pkg in ["indimail-mta", "daemontools", "ucspi-tcp"] {
        let logical = format!("{}/instcheck.{pkg}", h.libexecdir);
        if !h.is_executable(&logical) {
            // this suite's own daemontools and ucspi-tcp ship none: nothing to run
            eprintln!("{logical} not installed: installation of {pkg} not checked");
            continue;
        }
        c.good(format!(
            "instcheck.{pkg} from {pkg} is installed. Executing..."
        ));
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let ok = Command::new(h.disk(&logical))
            .arg(h.disk(&h.qmaildir))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("instcheck.{pkg} returned non-zero exit status. Check Installation");
            c.ok = false;
        }
    }
    if !indimail {
        return;
    }
    println!("Checking IndiMail Default MySQL Tables");
    let logical = format!("{}/sbin/install_tables", ctx.prefix());
    if !h.is_executable(&logical) {
        c.bad(format!("! Couldn't find {logical}"));
        return;
    }
    c.good("install_tables from indimail is installed. Executing...".into());
    let ok = Command::new(h.disk(&logical))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        c.bad("install_tables returned non-zero exit status. Check Installation".into());
    }
}

/// svscan's pid: its pid file (the run directory's, or the scan directory's without
/// one), else (live system) a process `svscan SERVICEDIR`.
fn svscan_pid(ctx: &Ctx) -> Option<i32> {
    let h = ctx.host;
    for f in [
        format!("{}/svscan/.svscan.pid", ctx.rundir()),
        format!("{}/.svscan.pid", ctx.servicedir),
    ] {
        let Ok(b) = std::fs::read(h.disk(&f)) else {
            continue;
        };
        // raw pid_t, newline, decimal pid, newline: the last line is the pid
        let text = String::from_utf8_lossy(&b);
        if let Some(pid) = text
            .trim_end_matches('\n')
            .rsplit('\n')
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok())
        {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            return (pid > 0 && comm.trim() == "svscan").then_some(pid);
        }
    }
    if !h.live() {
        return None;
    }
    let rd = std::fs::read_dir("/proc").ok()?;
    rd.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_string_lossy().parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let mut w = cmd.split_whitespace();
        let prog = w.next()?;
        (Path::new(prog).file_name()? == "svscan" && w.next() == Some(&ctx.servicedir))
            .then_some(pid)
    })
}

fn startup(c: &mut Check) {
    let ctx = c.ctx;
    println!("Checking svscan Startup");
    for f in boot::startup_findings(ctx) {
        match f {
            Ok((msg, always)) if always => println!("{msg}"),
            Ok((msg, _)) => c.good(msg),
            Err(msg) => c.bad(msg),
        }
    }
    println!("Checking svscan");
    let sd = &ctx.servicedir;
    match svscan_pid(ctx) {
        Some(_) => c.good(format!("svscan {sd} is running")),
        // not counted as a problem, as the reference
        None => eprintln!("'! svscan {sd}' doesn't seem to be running. ignoring..."),
    }
}

fn mandatory(c: &mut Check, indimail: bool) {
    let ctx = c.ctx;
    let h = ctx.host;
    println!("Checking mandatory services");
    let mut list: Vec<&str> = Vec::new();
    if h.is_executable(&format!("{}/sbin/nssd", ctx.prefix())) {
        list.push("pwdlookup");
    }
    list.extend([
        "qmail-send.25",
        "qmail-smtpd.25",
        "qmail-smtpd.366",
        "qmail-smtpd.465",
        "qmail-smtpd.587",
        "qmail-daned.1998",
        "qmail-logfifo",
        "udplogger.3000",
        "greylist.1999",
    ]);
    if h.is_file("/usr/sbin/clamd") && h.is_file("/usr/bin/clamdscan") {
        list.push("qscanq");
    }
    if indimail {
        list.extend([
            "inlookup.infifo",
            "indisrvr.4000",
            "mysql.3306",
            "qmail-poppass.106",
            "mrtg",
            "qmail-imapd.143",
            "qmail-pop3d.110",
            "qmail-imapd-ssl.993",
            "qmail-pop3d-ssl.995",
            "proxy-imapd.4143",
            "proxy-imapd-ssl.9143",
            "proxy-pop3d.4110",
            "proxy-pop3d-ssl.9110",
        ]);
    }
    if h.is_executable(&format!("{}/sbin/clamd", ctx.prefix()))
        || h.is_executable(&format!("{}/bin/freshclam", ctx.prefix()))
        || h.is_executable("/usr/sbin/clamd")
        || h.is_executable("/usr/bin/freshclam")
    {
        list.extend(["clamd", "freshclam"]);
    }
    let sd = h.disk(&ctx.servicedir);
    for s in list {
        println!("{s}");
        if !sd.join(s).is_dir() {
            c.bad(format!("! {}/{s} directory is missing", ctx.servicedir));
        }
    }
}

fn installed(c: &mut Check) {
    let ctx = c.ctx;
    println!("Checking installed services");
    let sd = ctx.host.disk(&ctx.servicedir);
    let names = crate::fsx::sorted_names(&sd, true);
    for n in names
        .iter()
        .filter(|n| *n != ".svscan" && *n != ".svlock" && *n != ".svscan.pid")
    {
        println!("{n}");
        let base = format!("{}/{n}", ctx.servicedir);
        match script_ok(&sd.join(n).join("run")) {
            Ok(()) => c.good(format!("{base}/run looks OK")),
            Err(why) => c.bad(format!("! {base}/run {why}")),
        }
        if !sd.join(n).join("log").is_dir() {
            eprintln!("No log for {base}");
            continue;
        }
        match script_ok(&sd.join(n).join("log/run")) {
            Ok(()) => c.good(format!("{base}/log/run looks OK")),
            Err(why) => c.bad(format!("! {base}/log/run {why}")),
        }
    }
}

fn logdirs(c: &mut Check) {
    let ctx = c.ctx;
    let h = ctx.host;
    println!("Checking Log Directories");
    let ld = h.disk(&ctx.logdir);
    let logs = crate::fsx::sorted_names(&ld, false);
    let qmaill = h.uid(&h.log_user);
    for n in logs
        .iter()
        .filter(|n| *n != "svctool.log" && *n != "services.log")
    {
        let p = ld.join(n);
        let logical = format!("{}/{n}", ctx.logdir);
        println!("{logical}");
        let Some(m) = std::fs::metadata(&p).ok().filter(|m| m.is_dir()) else {
            c.bad(format!(
                "! {logical} looks strange\n...try: rm -f {logical}"
            ));
            continue;
        };
        if Some(m.uid()) != qmaill {
            c.bad(format!(
                "! {logical} has wrong owner, should be {0}\n...try: chown {0} {logical}",
                h.log_user
            ));
        } else if m.permissions().mode() & 0o7777 & !0o2000 != 0o755 {
            c.bad(format!(
                "! {logical} has wrong mode, should be 755\n...try: chmod 755 {logical}"
            ));
        } else {
            c.good(format!("{logical} looks OK"));
        }
    }
}

fn rules_and_aliases(c: &mut Check) {
    let ctx = c.ctx;
    let h = ctx.host;
    println!("Checking Firewall Rules");
    let tcp = format!("{}/tcp/tcp.smtp", ctx.sysconfdir());
    if !h.is_file(&tcp) {
        c.bad(format!(
            "! {tcp} is missing\n...try: echo '127.:allow,RELAYCLIENT=\"\"' >> {tcp}"
        ));
    } else {
        c.good(format!("{tcp} exists"));
    }
    if !h.is_file(&format!("{tcp}.cdb")) {
        c.bad(format!(
            "! {tcp}.cdb is missing\n...try: {}/bin/qmailctl cdb",
            ctx.prefix()
        ));
    } else {
        c.good(format!("{tcp}.cdb exists"));
    }
    println!("Checking Alias User");
    let alias_home = std::fs::read_to_string(h.disk("/etc/passwd"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("alias:"))
        .and_then(|l| l.split(':').nth(5).map(str::to_string));
    match alias_home {
        None => c.bad("! Couldn't find user alias's home directory".into()),
        Some(home) => {
            for a in ["root", "postmaster", "mailer-daemon"] {
                println!("{a}");
                if !h.is_file_following(&format!("{home}/.qmail-{a}")) {
                    c.bad(format!(
                        "! Alias for {a} is missing\n...try: echo me > {home}/.qmail-{a}"
                    ));
                } else {
                    c.good(format!("{a} alias exists"));
                }
            }
        }
    }
}

/// Is anything listening on TCP port 25 (`/proc/net/tcp`, `tcp6` under the root)?
pub fn port25_listening(ctx: &Ctx) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(ctx.host.disk(f))
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let port = w
                    .get(1)
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                port == Some(25) && w.get(3) == Some(&"0A")
            })
    })
}

/// Is a process whose command is `name` running (`/proc/PID/comm` under the root)?
fn process_running(ctx: &Ctx, name: &str) -> bool {
    std::fs::read_dir(ctx.host.disk("/proc")).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            e.file_name().to_string_lossy().parse::<u32>().is_ok()
                && std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == name)
        })
    })
}

fn sendmail(c: &mut Check) {
    let ctx = c.ctx;
    let h = ctx.host;
    println!("Checking Sendmail Status");
    let smtpd = format!("{}/qmail-smtpd.25", ctx.servicedir);
    if port25_listening(ctx) {
        if process_running(ctx, "sendmail") {
            c.bad("! Sendmail is still running\n...try: /etc/init.d/sendmail stop".into());
        } else if h.tool("svok").is_some_and(|svok| {
            Command::new(svok)
                .arg(h.disk(&smtpd))
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        }) {
            c.good(format!("{smtpd} is running"));
        } else {
            c.bad(
                "! Something is listening on port 25 (not tcpserver/qmail-smtpd)\n...try: disabling current MTA"
                    .into(),
            );
        }
    }
    // COMPATIBILITY.md#svctool-and-qmailctl V18: the link check runs unless --skip-sendmail
    if ctx.o.flag("--skip-sendmail") {
        return;
    }
    let target = format!("{}/bin/sendmail", ctx.prefix());
    for s in ["/usr/lib/sendmail", "/usr/sbin/sendmail"] {
        let d = h.disk(s);
        let link = std::fs::symlink_metadata(&d).is_ok_and(|m| m.file_type().is_symlink());
        if !link && d.is_file() {
            c.bad(format!("! {s} is a file, should be a link\n...try: uninstalling current MTA or: mv {s} {s}.old; ln -s {target} {s}"));
        } else if !h.is_file_following(s) {
            c.bad(format!("! {s} is missing\n...try: ln -s {target} {s}"));
        } else {
            c.good(format!("{s} exists"));
        }
    }
}

pub fn check_install(ctx: &Ctx) -> Result<Done, Stop> {
    let h = ctx.host;
    let mut c = Check {
        ctx,
        ok: true,
        verbose: ctx.o.flag("--verbose"),
    };
    let q = h.qmaildir.clone();
    let indimail = indimail_installed(ctx);
    println!("Checking IndiMail Home");
    if !h.is_dir(&q) {
        eprintln!("! Couldn't find qmail's home directory, {q}!");
        c.ok = false;
    } else {
        c.good(format!("{q} exists"));
        dirs(&mut c, indimail);
        queues(&mut c);
    }
    println!("Checking IndiMail users");
    c.db(
        "passwd",
        "user",
        &[
            "alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails", "mysql",
            "indimail", "qscand",
        ],
    );
    println!("Checking IndiMail groups");
    c.db(
        "group",
        "group",
        &["qmail", "nofiles", "indimail", "qscand"],
    );
    installation(&mut c, indimail);
    println!("Checking defaultdelivery");
    let dd = h.disk(&format!("{}/defaultdelivery", ctx.cntrldir));
    match std::fs::metadata(&dd) {
        Err(_) => c.bad(format!("! Couldn't find {}/defaultdelivery", ctx.cntrldir)),
        Ok(m) if m.len() == 0 => c.bad(format!("! {}/defaultdelivery is empty", ctx.cntrldir)),
        Ok(_) => c.good(format!("{}/defaultdelivery looks OK", ctx.cntrldir)),
    }
    println!("Checking Service Directory");
    if !h.disk(&ctx.servicedir).is_dir() {
        c.bad(format!("! {} directory is missing", ctx.servicedir));
    } else {
        c.good(format!("{} directory exists", ctx.servicedir));
    }
    startup(&mut c);
    mandatory(&mut c, indimail);
    installed(&mut c);
    logdirs(&mut c);
    rules_and_aliases(&mut c);
    sendmail(&mut c);
    if c.ok {
        println!("Congratulations, your IndiMail installation in {q} looks good!");
        Ok(Done::Log)
    } else {
        Err(Stop::fail(
            1,
            format!("! Potential problems were found with your IndiMail installation in {q}"),
        ))
    }
}
