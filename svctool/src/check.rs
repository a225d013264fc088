//! `--check-install` (§2.3): directories, users, groups, queues, services, log
//! directories, tcp rules, aliases and sendmail links. Problems go to stderr prefixed `!`;
//! the exit code says whether any was found (DECISIONS S3).

use crate::render::Ctx;
use crate::svctool::Done;
use crate::Stop;
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

fn script_ok(p: &Path) -> Result<(), &'static str> {
    let text = std::fs::read(p).map_err(|_| "file is missing")?;
    let first = text.split(|&b| b == b'\n').next().unwrap_or(b"");
    let shells: [&[u8]; 5] = [
        b"#!/bin/sh",
        b"#!/bin/bash",
        b"#!/usr/bin/sh",
        b"#!/usr/bin/bash",
        b"#!/usr/local/bin/bash",
    ];
    if !shells.contains(&first) {
        return Err("has bad interpreter");
    }
    let mode = std::fs::metadata(p)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o111 == 0 {
        return Err("file is not executable");
    }
    Ok(())
}

pub fn check_install(ctx: &Ctx) -> Result<Done, Stop> {
    let h = ctx.host;
    let mut c = Check {
        ctx,
        ok: true,
        verbose: ctx.o.flag("--verbose"),
    };
    let q = h.qmaildir.clone();
    println!("Checking IndiMail Home");
    if !h.is_dir(&q) {
        c.bad(format!("! Couldn't find qmail's home directory, {q}!"));
    } else {
        println!("Checking Critical IndiMail directories");
        for d in ["alias", "bin", "qscanq", "sbin"] {
            println!("{d}");
            c.dir(&format!("{q}/{d}"));
        }
        for d in ["boot", "doc"] {
            println!("{d}");
            c.dir(&format!("{}/{d}", h.shareddir));
        }
        for d in ["control", "users"] {
            println!("{d}");
            c.dir(&format!("{}/{d}", ctx.s()));
        }
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
        let mut queues: Vec<(String, bool)> = (start..start + count)
            .map(|n| (format!("{qbase}/queue{n}"), false))
            .collect();
        queues.push((format!("{qbase}/nqueue"), false));
        queues.push((format!("{qbase}/slowq"), true));
        for (queue, slow) in queues {
            let good = match &fix {
                Some(f) => {
                    let mut cmd = Command::new(f);
                    cmd.arg("-N");
                    if slow {
                        cmd.arg("-r");
                    }
                    cmd.arg(h.disk(&queue))
                        .stdout(Stdio::null())
                        .stderr(Stdio::null());
                    cmd.status().map(|s| s.success()).unwrap_or(false)
                }
                None => h.is_dir(&queue),
            };
            if good {
                c.good(format!("queue {queue} looks OK"));
            } else {
                c.bad(format!(
                    "! {queue} should be fixed. Run queue-fix -v {queue} !"
                ));
            }
        }
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
    println!("Checking defaultdelivery");
    let dd = h.disk(&format!("{}/defaultdelivery", ctx.cntrldir));
    match std::fs::metadata(&dd) {
        Err(_) => c.bad(format!("! Couldn't find {}/defaultdelivery", ctx.cntrldir)),
        Ok(m) if m.len() == 0 => c.bad(format!("! {}/defaultdelivery is empty", ctx.cntrldir)),
        Ok(_) => c.good(format!("{}/defaultdelivery looks OK", ctx.cntrldir)),
    }
    println!("Checking Service Directory");
    let sd = h.disk(&ctx.servicedir);
    if !sd.is_dir() {
        c.bad(format!("! {} directory is missing", ctx.servicedir));
    }
    println!("Checking mandatory services");
    let mut list: Vec<&str> = Vec::new();
    if h.is_executable(&format!("{}/sbin/nssd", ctx.p())) {
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
    if h.is_file(&format!("{}/vadddomain", ctx.p()))
        || h.is_file(&format!("{}/bin/vadddomain", ctx.p()))
    {
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
    if h.is_executable(&format!("{}/sbin/clamd", ctx.p()))
        || h.is_executable(&format!("{}/bin/freshclam", ctx.p()))
    {
        list.extend(["clamd", "freshclam"]);
    }
    for s in list {
        println!("{s}");
        if !sd.join(s).is_dir() {
            c.bad(format!("! {}/{s} directory is missing", ctx.servicedir));
        }
    }
    println!("Checking installed services");
    let mut names: Vec<String> = std::fs::read_dir(&sd)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for n in names.iter().filter(|n| *n != ".svscan" && *n != ".svlock") {
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
    println!("Checking Log Directories");
    let ld = h.disk(&ctx.logdir);
    let mut logs: Vec<String> = std::fs::read_dir(&ld)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    logs.sort();
    let qmaill = h.uid("qmaill");
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
                "! {logical} has wrong owner, should be qmaill\n...try: chown qmaill {logical}"
            ));
        } else if m.permissions().mode() & 0o7777 & !0o2000 != 0o755 {
            c.bad(format!(
                "! {logical} has wrong mode, should be 755\n...try: chmod 755 {logical}"
            ));
        } else {
            c.good(format!("{logical} looks OK"));
        }
    }
    println!("Checking Firewall Rules");
    let tcp = format!("{}/tcp/tcp.smtp", ctx.s());
    if !h.is_file(&tcp) {
        c.bad(format!(
            "! {tcp} is missing\n...try: echo '127.:allow,RELAYCLIENT=\"\"' >> {tcp}"
        ));
    }
    if !h.is_file(&format!("{tcp}.cdb")) {
        c.bad(format!(
            "! {tcp}.cdb is missing\n...try: {}/bin/qmailctl cdb",
            ctx.p()
        ));
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
                if !h.exists(&format!("{home}/.qmail-{a}")) {
                    c.bad(format!(
                        "! Alias for {a} is missing\n...try: echo me > {home}/.qmail-{a}"
                    ));
                }
            }
        }
    }
    // the reference runs this check only with --skip-sendmail (§6.29); here the flag skips it
    if !ctx.o.flag("--skip-sendmail") {
        println!("Checking Sendmail Status");
        for s in ["/usr/lib/sendmail", "/usr/sbin/sendmail"] {
            let d = h.disk(s);
            match std::fs::symlink_metadata(&d) {
                Ok(m) if m.file_type().is_symlink() => c.good(format!("{s} exists")),
                Ok(_) => c.bad(format!("! {s} is a file, should be a link\n...try: uninstalling current MTA or: mv {s} {s}.old; ln -s {}/bin/sendmail {s}", ctx.p())),
                Err(_) => c.bad(format!("! {s} is missing\n...try: ln -s {}/bin/sendmail {s}", ctx.p())),
            }
        }
    }
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
