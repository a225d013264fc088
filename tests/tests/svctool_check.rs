//! `--check-install` on a complete installation in a scratch root (directories, queues
//! checked by a queue-fix stub, users, the packages' instcheck programs, start-up through
//! systemd, a real svscan whose pid file is found, a real supervise behind port 25,
//! sendmail links) and on each thing that can be wrong with it.

mod svctool_common;

use blackbox::{bin, Cmd, Running};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use svctool_common::*;

const MANDATORY: &[&str] = &[
    "qmail-send.25",
    "qmail-smtpd.25",
    "qmail-smtpd.366",
    "qmail-smtpd.465",
    "qmail-smtpd.587",
    "qmail-daned.1998",
    "qmail-logfifo",
    "udplogger.3000",
    "greylist.1999",
];

const USERS: &[&str] = &[
    "alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails", "mysql", "indimail",
    "qscand",
];

/// Everything a healthy installation has, under a scratch root.
fn installation() -> Root {
    let r = Root::new();
    for d in [
        "var/indimail/alias",
        "var/indimail/bin",
        "var/indimail/qscanq",
        "var/indimail/sbin",
        "usr/share/indimail/boot",
        "usr/share/indimail/doc",
        "etc/indimail/control",
        "etc/indimail/users",
        "usr/lib/indimail/plugins",
    ] {
        r.mkdir(d);
    }
    for q in [
        "queue1", "queue2", "queue3", "queue4", "queue5", "nqueue", "slowq",
    ] {
        r.mkdir(&format!("var/indimail/queue/{q}"));
    }
    r.stub("usr/bin/queue-fix");
    let passwd: String = USERS
        .iter()
        .map(|u| {
            let home = if *u == "alias" {
                "/var/indimail/alias"
            } else {
                "/var/indimail"
            };
            format!("{u}:x:1000:1000::{home}:/bin/false\n")
        })
        .collect();
    r.write("etc/passwd", &passwd);
    r.write(
        "etc/group",
        "qmail:x:1:\nnofiles:x:2:\nindimail:x:3:\nqscand:x:4:\n",
    );
    for p in ["indimail-mta", "daemontools", "ucspi-tcp"] {
        r.stub(&format!("usr/libexec/indimail/instcheck.{p}"));
    }
    r.write("etc/indimail/control/defaultdelivery", "./Maildir/\n");
    for s in MANDATORY {
        r.script(&format!("service/{s}/run"), "#!/bin/sh\nexec sleep 600\n");
        r.script(&format!("service/{s}/log/run"), "#!/bin/sh\nexec cat\n");
    }
    r.write("bin/systemctl", "");
    r.write("lib/systemd/system/svscan.service", "[Unit]\n");
    r.symlink(
        "/lib/systemd/system/svscan.service",
        "etc/systemd/system/multi-user.target.wants/svscan.service",
    );
    r.write("etc/indimail/tcp/tcp.smtp", "127.:allow\n");
    r.write("etc/indimail/tcp/tcp.smtp.cdb", "");
    for a in ["root", "postmaster", "mailer-daemon"] {
        r.write(&format!("var/indimail/alias/.qmail-{a}"), "&me\n");
    }
    r.script("usr/bin/sendmail", "#!/bin/sh\n");
    r.symlink("/usr/bin/sendmail", "usr/sbin/sendmail");
    r.symlink("../bin/sendmail", "usr/lib/sendmail");
    r
}

fn check(r: &Root, extra: &[&str]) -> blackbox::Output {
    let mut args = vec!["--check-install", "--servicedir=/service", "--nolog"];
    args.extend_from_slice(extra);
    r.svctool(&args)
}

const NOT_RUNNING: &str = "'! svscan /service' doesn't seem to be running. ignoring...\n";

/// A LISTEN socket on port 25 in the root's `/proc/net/tcp`.
fn port25(r: &Root) {
    r.write(
        "proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4712 1 0000000000000000 100 0 0 10 0\n",
    );
}

fn wait_for(p: &Path) {
    let t = Instant::now();
    while !p.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_complete_installation_looks_good() {
    let r = installation();
    port25(&r);
    // a real svscan (on an empty scan directory) whose pid file is the root's
    let scan = tempfile::tempdir().unwrap();
    let _svscan: Running = Cmd::bin("svscan")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .arg(scan.path())
        .spawn();
    let pidfile = scan.path().join(".svscan.pid");
    wait_for(&pidfile);
    std::thread::sleep(Duration::from_millis(50));
    let pid = fs::read(&pidfile).unwrap();
    fs::create_dir_all(r.path("run/svscan")).unwrap();
    fs::write(r.path("run/svscan/.svscan.pid"), pid).unwrap();
    // qmail-smtpd.25 under a real supervise: what listens on port 25 is ours
    let smtpd = r.path("service/qmail-smtpd.25");
    let supervise = Cmd::new(bin("supervise")).clean_env().arg(&smtpd).spawn();
    wait_for(&smtpd.join("supervise/ok"));

    let out = check(&r, &["--verbose"]);
    let stop = Cmd::bin("svc").arg("-dx").arg(&smtpd).run();
    assert_eq!(stop.code, Some(0), "{stop:?}");
    supervise.wait();
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(0), String::new()),
        "{out:?}"
    );
    let o = out.stdout_str();
    for want in [
        "Checking IndiMail Home\n/var/indimail exists\nChecking Critical IndiMail directories\nalias\n/var/indimail/alias exists\n",
        "plugins\n/usr/lib/indimail/plugins exists\n/usr/libexec/indimail\n/usr/libexec/indimail exists\n",
        "queue /var/indimail/queue/queue5 looks OK\nqueue /var/indimail/queue/nqueue looks OK\nqueue /var/indimail/queue/slowq looks OK\n",
        "Checking IndiMail Installation Permission\ninstcheck.indimail-mta from indimail-mta is installed. Executing...\n",
        "Checking svscan Startup\nsvscan service is configured to run via systemd\nChecking svscan\nsvscan /service is running\n",
        "Checking Sendmail Status\n/service/qmail-smtpd.25 is running\n/usr/lib/sendmail exists\n/usr/sbin/sendmail exists\n",
    ] {
        assert!(o.contains(want), "missing {want:?} in\n{o}");
    }
    assert!(
        o.ends_with("Congratulations, your IndiMail installation in /var/indimail looks good!\n")
    );
    let calls = r.calls();
    let root = r.dir.path().display();
    for want in [
        format!("instcheck.indimail-mta {root}/var/indimail\n"),
        format!("instcheck.ucspi-tcp {root}/var/indimail\n"),
        format!("queue-fix -N {root}/var/indimail/queue/queue1\n"),
        format!("queue-fix -N -r {root}/var/indimail/queue/slowq\n"),
    ] {
        assert!(calls.contains(&want), "missing {want:?} in\n{calls}");
    }
}

#[test]
fn installation_problems_are_found() {
    // nothing wrong but svscan not running: said, not a problem
    let r = installation();
    let out = check(&r, &[]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(0), NOT_RUNNING.into()),
        "{out:?}"
    );

    // a package's instcheck fails; one that is not installed is only mentioned
    let r = installation();
    r.script(
        "usr/libexec/indimail/instcheck.ucspi-tcp",
        "#!/bin/sh\nexit 1\n",
    );
    fs::remove_file(r.path("usr/libexec/indimail/instcheck.daemontools")).unwrap();
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout_str().contains(
        "Checking IndiMail Installation Permission\ninstcheck.ucspi-tcp returned non-zero exit status. Check Installation\n"
    ));
    assert_eq!(
        out.stderr_str(),
        format!("/usr/libexec/indimail/instcheck.daemontools not installed: installation of daemontools not checked\n{NOT_RUNNING}! Potential problems were found with your IndiMail installation in /var/indimail\n")
    );

    // queue-fix finds a broken queue; without queue-fix a missing queue still shows
    let r = installation();
    r.script(
        "usr/bin/queue-fix",
        "#!/bin/sh\ncase \"$2\" in */queue2) exit 3;; esac\nexit 0\n",
    );
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr_str().starts_with(
        "status 3 ! queue2 should be fixed. Run queue-fix -v /var/indimail/queue/queue2 !\n"
    ));
    let r = installation();
    fs::remove_file(r.path("usr/bin/queue-fix")).unwrap();
    fs::remove_dir(r.path("var/indimail/queue/queue3")).unwrap();
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    let e = out.stderr_str();
    assert!(e.starts_with("queue-fix not installed: /var/indimail/queue/queue1 not checked\nqueue-fix not installed: /var/indimail/queue/queue2 not checked\n! /var/indimail/queue/queue3 is missing. Run queue-fix -v /var/indimail/queue/queue3 !\n"), "{e}");

    // IndiMail installed: its directories, services and tables are checked too
    let r = installation();
    r.script("usr/bin/vadddomain", "#!/bin/sh\n");
    r.script("usr/sbin/install_tables", "#!/bin/sh\nexit 2\n");
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    let e = out.stderr_str();
    for want in [
        "! Couldn't find /var/indimail/autoturn!\n",
        "! Couldn't find /usr/lib/indimail/modules!\n",
        "install_tables returned non-zero exit status. Check Installation\n",
        "! /service/inlookup.infifo directory is missing\n",
        "! /service/proxy-pop3d-ssl.9110 directory is missing\n",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }
    assert!(out
        .stdout_str()
        .contains("Checking IndiMail Default MySQL Tables\n"));

    // start-up not enabled, a bad run script, one without x bit
    let r = installation();
    fs::remove_file(r.path("etc/systemd/system/multi-user.target.wants/svscan.service")).unwrap();
    r.script("service/udplogger.3000/run", "#!/bin/zsh\n");
    r.write("service/greylist.1999/run", "#!/bin/sh\n");
    fs::set_permissions(
        r.path("service/greylist.1999/run"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    let e = out.stderr_str();
    for want in [
        "! svscan service not configured in systemd\n",
        "! /service/udplogger.3000/run has bad interpreter [#!/bin/zsh]\n",
        "! /service/greylist.1999/run file is not executable\n",
    ] {
        assert!(e.contains(want), "missing {want:?} in\n{e}");
    }
}

#[test]
fn port_25_and_the_sendmail_links() {
    // sendmail itself listens on 25
    let r = installation();
    port25(&r);
    r.write("proc/4242/comm", "sendmail\n");
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    assert!(out
        .stderr_str()
        .contains("! Sendmail is still running\n...try: /etc/init.d/sendmail stop\n"));
    // something that is not our supervised qmail-smtpd.25
    fs::remove_dir_all(r.path("proc/4242")).unwrap();
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr_str().contains(
        "! Something is listening on port 25 (not tcpserver/qmail-smtpd)\n...try: disabling current MTA\n"
    ));
    // nothing on 25 (only on 631): fine
    r.write(
        "proc/net/tcp",
        "  sl  local_address rem_address   st\n   1: 0100007F:0277 00000000:0000 0A 00000000:00000000\n",
    );
    assert_eq!(check(&r, &[]).code, Some(0));

    // a sendmail that is a file, a dangling link; --skip-sendmail skips the link check
    let r = installation();
    fs::remove_file(r.path("usr/sbin/sendmail")).unwrap();
    r.script("usr/sbin/sendmail", "#!/bin/sh\n");
    fs::remove_file(r.path("usr/lib/sendmail")).unwrap();
    r.symlink("/usr/bin/nosuch", "usr/lib/sendmail");
    let out = check(&r, &[]);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr_str(),
        format!("{NOT_RUNNING}! /usr/lib/sendmail is missing\n...try: ln -s /usr/bin/sendmail /usr/lib/sendmail\n! /usr/sbin/sendmail is a file, should be a link\n...try: uninstalling current MTA or: mv /usr/sbin/sendmail /usr/sbin/sendmail.old; ln -s /usr/bin/sendmail /usr/sbin/sendmail\n! Potential problems were found with your IndiMail installation in /var/indimail\n")
    );
    let out = check(&r, &["--skip-sendmail"]);
    assert_eq!((out.code, out.stderr_str()), (Some(0), NOT_RUNNING.into()));
}
