//! svctool's configuration and maintenance actions (docs/svctool.md#actions, #the-variables-exchange-format, #qmailctl) and
//! qmailctl: control files and tcp rules with cdbs built by the workspace's tcprules,
//! boot start-up, users, the in-process certificate, the variable exchange format,
//! `--print-all-variables`, `--dumpconfig`, `--check-install`, and `qmailctl cdb` /
//! `help` / the svc-driven commands. All in scratch roots (SVCTOOL_ROOT).

mod svctool_common;

use blackbox::{is_root, skip, Cmd};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use svctool_common::*;

fn mode(r: &Root, rel: &str) -> u32 {
    fs::symlink_metadata(r.path(rel))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn config_qmail_writes_control_files_rules_and_cdbs() {
    let r = Root::new();
    let out = r.svctool(&[
        "--config=qmail",
        "--servicedir=/service",
        "--default-domain=example.com",
        "--databytes=1000000",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let c = "etc/indimail/control";
    for (f, v) in [
        ("me", "mail.example.com\n"),
        ("defaulthost", "mail.example.com\n"),
        ("defaultdomain", "example.com\n"),
        ("servicedir.conf", "/service\n"),
        ("defaultdelivery", "./Maildir/\n"),
        ("smtpgreeting", "mail.example.com\n"),
        ("databytes", "1000000\n"),
        ("timeoutsmtpd", "300\n"),
        ("timeoutremote", "300\n"),
        ("chkrcptdomains", "example.com\n"),
        ("chksenderdomains", "example.com\n"),
        ("locals", "localhost\n"),
        ("rcpthosts", "localhost\n"),
        ("dnsbllist", "zen.spamhaus.org\n"),
        ("hostip", "127.0.0.1\n"),
        ("greylist.white", "127.0.0.1\n"),
    ] {
        assert_eq!(r.read(&format!("{c}/{f}")), v, "{f}");
    }
    assert!(r
        .read(&format!("{c}/nodnscheck"))
        .ends_with("@aol.com\n@mail.example.com\n"));
    assert_eq!(r.read("etc/indimail/users/assign"), ".\n");
    for (l, t) in [
        ("DEFAULT_DOMAIN", "../defaultdomain"),
        ("QMAILDEFAULTHOST", "../defaulthost"),
        ("TLS_CIPHER_SUITE", "../serverciphersuite"),
        ("TLS_CIPHER_LIST", "../servercipherlist"),
    ] {
        assert_eq!(
            fs::read_link(r.path(&format!("{c}/global_vars/{l}")))
                .unwrap()
                .to_str(),
            Some(t),
            "{l}"
        );
    }
    assert_eq!(
        r.read("etc/indimail/tcp/tcp.smtp"),
        "#127.:allow,RELAYCLIENT=\"\"\n#::1:allow,RELAYCLIENT=\"\"\n#=:allow,GREYIP=\"127.0.0.1:1999\"\n#:allow,GREYIP=\"127.0.0.1:1999\",RBLSMTPD=\"-No DNS PTR Record - MTA Misconfigured.\"\n"
    );
    assert_eq!(r.read("etc/indimail/tcp/tcp.qmqp"), ":deny\n");
    assert_eq!(r.read("etc/indimail/tcp/tcp.qmtp"), ":deny\n");
    for cdb in ["smtp", "qmtp", "qmqp"] {
        let p = r.path(&format!("etc/indimail/tcp/tcp.{cdb}.cdb"));
        assert!(p.is_file(), "tcp.{cdb}.cdb built by tcprules");
        // the :deny rule is in the database: tcprulescheck agrees
        if cdb != "smtp" {
            let out = Cmd::bin("tcprulescheck")
                .clean_env()
                .env("TCPREMOTEIP", "10.1.2.3")
                .arg(&p)
                .run();
            assert!(out.stdout_str().contains("deny"), "{out:?}");
        }
    }
    // the second run keeps what exists and rebuilds nothing
    let before = fs::metadata(r.path("etc/indimail/tcp/tcp.qmqp.cdb"))
        .unwrap()
        .mtime_nsec();
    fs::write(r.path(&format!("{c}/me")), "other.example.com\n").unwrap();
    assert_eq!(r.svctool(&["--config=qmail"]).code, Some(0));
    assert_eq!(r.read(&format!("{c}/me")), "other.example.com\n");
    assert_eq!(
        fs::metadata(r.path("etc/indimail/tcp/tcp.qmqp.cdb"))
            .unwrap()
            .mtime_nsec(),
        before
    );
}

#[test]
fn config_indimail_rules_host_mysql_domains() {
    let r = Root::new();
    let out = r.svctool(&["--config=indimail", "--mysqlsocket=/run/mysqld/mysqld.sock"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out
        .stdout_str()
        .starts_with("Creating Default IndiMail Control Files\nhost.mysql\n"));
    assert!(out
        .stdout_str()
        .contains("Creating CDB /etc/indimail/tcp/tcp.imap.cdb\n"));
    assert_eq!(
        r.read("etc/indimail/tcp/tcp.imap"),
        "127.:allow,IMAPCLIENT=\"\"\n::1:allow,IMAPCLIENT=\"\"\n"
    );
    assert_eq!(
        r.read("etc/indimail/tcp/tcp.pop3"),
        "127.:allow,POP3CLIENT=\"\"\n::1:allow,POP3CLIENT=\"\"\n"
    );
    assert_eq!(
        r.read("etc/indimail/tcp/tcp.poppass"),
        "127.:allow\n::1:allow\n"
    );
    for f in ["imap", "pop3", "poppass"] {
        assert!(r.path(&format!("etc/indimail/tcp/tcp.{f}.cdb")).is_file());
    }
    assert_eq!(
        r.read("etc/indimail/control/host.mysql"),
        "localhost:indimail:ssh-1.5-:/run/mysqld/mysqld.sock\n"
    );
    assert_eq!(mode(&r, "etc/indimail/control/host.mysql"), 0o640);
    assert_eq!(mode(&r, "var/indimail/domains"), 0o775);
}

#[test]
fn qmailctl_cdb_rebuilds_only_stale_and_deletes_orphans() {
    let r = Root::new();
    r.write(
        "etc/indimail/tcp/tcp.smtp",
        "127.:allow,RELAYCLIENT=\"\"\n:allow\n",
    );
    r.write("etc/indimail/tcp/tcp.imap", "127.:allow\n");
    r.write("etc/indimail/tcp.pop3.cdb", "legacy");
    let out = r.cmd("qmailctl").arg("cdb").run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        format!(
            "{:<59}[  OK  ]\n{:<59}[  OK  ]\n{:<59}[  OK  ]\n",
            "building /etc/indimail/tcp/tcp.smtp.cdb: ",
            "building /etc/indimail/tcp/tcp.imap.cdb: ",
            "deleting /etc/indimail/tcp.pop3.cdb: "
        )
    );
    assert!(!r.exists("etc/indimail/tcp.pop3.cdb"));
    assert_eq!(mode(&r, "etc/indimail/tcp/tcp.smtp.cdb"), 0o664);
    let out = r.cmd("qmailctl").arg("cdb").run();
    assert_eq!((out.code, out.stdout_str()), (Some(0), String::new()));
    // tcprules cannot write its temporary file: FAILED and exit 1
    r.write("etc/indimail/tcp/tcp.qmtp", ":deny\n");
    fs::create_dir_all(r.path("etc/indimail/tcp/tcp.qmtp.tmp/x")).unwrap();
    let out = r.cmd("qmailctl").arg("cdb").run();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout_str().contains("tcp.qmtp.cdb: ") && out.stdout_str().contains("[FAILED]"));
}

#[test]
fn qmailctl_help_usage_and_svc_commands() {
    let r = Root::new();
    let out = r.cmd("qmailctl").arg("help").run();
    assert_eq!(out.code, Some(0));
    assert!(out
        .stdout_str()
        .contains("    cdb -- rebuilds the tcpserver cdb files"));
    let out = r.cmd("qmailctl").arg("bogus").run();
    assert_eq!(out.code, Some(1));
    assert!(out.stdout_str().starts_with("Usage: qmailctl {start|stop|condrestart|restart|shut|kill|flush|rotate|reload|stat|queue|pause|cont|cdb|help}\n"));
    // svc on services nobody supervises: each reported FAILED, exit 1
    for s in ["qmail-send.25", "qmail-smtpd.25"] {
        fs::create_dir_all(r.path(&format!("service/{s}/log"))).unwrap();
    }
    let out = r
        .cmd("qmailctl")
        .arg("pause")
        .env("SVCTOOL_SERVICEDIR", "/service")
        .run();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        format!(
            "{:<59}[FAILED]\n{:<59}[FAILED]\n",
            "pausing /service/qmail-send.25: ", "pausing /service/qmail-smtpd.25: "
        )
    );
    let out = r
        .cmd("qmailctl")
        .arg("rotate")
        .env("SVCTOOL_SERVICEDIR", "/service")
        .run();
    assert!(out
        .stdout_str()
        .starts_with("Rotating /service/qmail-send.25: "));
}

#[test]
fn qmailctl_svc_commands_reach_supervise() {
    let r = Root::new();
    let svc = r.path("service/qmail-send.25");
    fs::create_dir_all(&svc).unwrap();
    fs::write(svc.join("run"), "#!/bin/sh\nexec sleep 1000\n").unwrap();
    fs::set_permissions(svc.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
    let sup = Cmd::bin("supervise")
        .clean_env()
        .env("DISABLE_RUN", "1")
        .arg(&svc)
        .spawn();
    let ok = r.path("service/qmail-send.25/supervise/ok");
    let t = std::time::Instant::now();
    while !ok.exists() {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "supervise did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for (cmd, verb) in [
        ("pause", "pausing"),
        ("cont", "continuing"),
        ("reload", "sending HUP signal to"),
    ] {
        let out = r
            .cmd("qmailctl")
            .arg(cmd)
            .env("SVCTOOL_SERVICEDIR", "/service")
            .run();
        assert_eq!(out.code, Some(0), "{cmd}: {out:?}");
        assert_eq!(
            out.stdout_str(),
            format!(
                "{:<59}[  OK  ]\n",
                format!("{verb} /service/qmail-send.25: ")
            )
        );
    }
    let out = r
        .cmd("qmailctl")
        .arg("stop")
        .env("SVCTOOL_SERVICEDIR", "/service")
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = Cmd::bin("svc").arg("-x").arg(&svc).run();
    assert_eq!(out.code, Some(0));
    drop(sup);
}

#[test]
fn config_cert_in_process_self_signed() {
    let r = Root::new();
    let args = [
        "--config=cert",
        "--postmaster=postmaster@example.com",
        "--common_name=mail.example.com",
        "--validity_days=30",
    ];
    let out = r.svctool(&args);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout_str().starts_with(
        "Creating SSL Configuration email=postmaster@example.com cn=mail.example.com\n"
    ));
    let pem = r.read("etc/indimail/certs/servercert.pem");
    let key = pem.find("-----BEGIN PRIVATE KEY-----").expect("key");
    let cert = pem
        .find("-----BEGIN CERTIFICATE-----")
        .expect("certificate");
    assert!(key < cert, "key first, then the certificate");
    assert_eq!(mode(&r, "etc/indimail/certs/servercert.pem"), 0o640);
    assert_eq!(
        fs::read_link(r.path("etc/indimail/certs/clientcert.pem"))
            .unwrap()
            .to_str(),
        Some("servercert.pem")
    );
    assert!(r
        .read("etc/indimail/certs/servercert.cnf")
        .contains("CN=mail.example.com\nemailAddress=postmaster@example.com\n"));
    if std::path::Path::new("/usr/bin/openssl").exists() {
        let out = Cmd::new("/usr/bin/openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-ext",
                "subjectAltName",
                "-in",
            ])
            .arg(r.path("etc/indimail/certs/servercert.pem"))
            .run();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout_str().contains("CN = mail.example.com")
                && out.stdout_str().contains("DNS:mail.example.com"),
            "{out:?}"
        );
        let out = Cmd::new("/usr/bin/openssl")
            .args(["x509", "-noout", "-checkend", "2500000", "-in"])
            .arg(r.path("etc/indimail/certs/servercert.pem"))
            .run();
        assert_eq!(out.code, Some(0), "valid for 30 days: {out:?}");
    }
    let out = r.svctool(&args);
    out.assert(
        1,
        "",
        "/etc/indimail/certs/servercert.pem exists. Remove to create new\n",
    );
    let out = r.svctool(&["--config=cert", "--common_name=x"]);
    out.assert(1, "", "postmaster not specified\n");
}

#[test]
fn config_cert_update_certs_fixes_services() {
    let r = Root::new();
    assert_eq!(
        r.svctool(&["--smtp=465", "--ssl", "--skipsend", "--servicedir=/service"])
            .code,
        Some(0)
    );
    let out = r.svctool(&[
        "--config=cert",
        "--postmaster=pm@example.com",
        "--common_name=mx",
        "--certdir=/etc/ssl/indimail",
        "--update-certs",
        "--servicedir=/service",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out
        .stdout_str()
        .contains("Fixed /service/qmail-smtpd.465/variables/CERTDIR\n"));
    assert!(out
        .stdout_str()
        .contains("Restarting service /service/qmail-smtpd.465\n"));
    assert_eq!(
        r.read("service/qmail-smtpd.465/variables/CERTDIR"),
        "/etc/ssl/indimail\n"
    );
    assert!(r.exists("etc/ssl/indimail/servercert.pem"));
}

#[test]
fn config_add_boot_and_rm_boot_systemd() {
    let r = Root::new();
    fs::create_dir_all(r.path("lib/systemd/system")).unwrap();
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_INIT", "systemd")
        .args(["--config=add-boot", "--servicedir=/service"])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        "svscan startup enabled in systemd /lib/systemd/system/svscan.service\n"
    );
    let unit = r.read("lib/systemd/system/svscan.service");
    assert!(
        unit.contains("\nExecStart=/usr/libexec/indimail/svscanboot /service\n"),
        "{unit}"
    );
    assert!(unit.contains("\n[Install]\nWantedBy=multi-user.target\n"));
    assert_eq!(
        fs::read_link(r.path("service")).unwrap().to_str(),
        Some("/run/svscan")
    );
    // unchanged unit: nothing to say
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_INIT", "systemd")
        .args(["--config=add-boot", "--servicedir=/service"])
        .run();
    assert_eq!((out.code, out.stdout_str()), (Some(0), String::new()));
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_INIT", "systemd")
        .arg("--config=rm-boot")
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "Giving svscan exactly 5 seconds to exit nicely\n"
    );
    assert!(!r.exists("lib/systemd/system/svscan.service"));
}

#[test]
fn config_add_boot_other_init_systems() {
    for (init, file, needle) in [
        (
            "upstart",
            "etc/init/svscan.conf",
            "exec /usr/libexec/indimail/svscanboot /service\n",
        ),
        (
            "openrc",
            "etc/init.d/svscan",
            "command=/usr/libexec/indimail/svscanboot\n",
        ),
        (
            "inittab",
            "etc/inittab",
            "SV:345:respawn:/usr/libexec/indimail/svscanboot /service\n",
        ),
        (
            "sysv",
            "etc/init.d/svscan",
            "exec /usr/bin/qmailctl \"$@\"\n",
        ),
    ] {
        let r = Root::new();
        r.write("service/.keep", "");
        let out = r
            .cmd("svctool")
            .env("SVCTOOL_INIT", init)
            .args(["--config=add-boot", "--servicedir=/service"])
            .run();
        assert_eq!(out.code, Some(0), "{init}: {out:?}");
        assert!(r.read(file).contains(needle), "{init}: {}", r.read(file));
        let out = r
            .cmd("svctool")
            .env("SVCTOOL_INIT", init)
            .arg("--config=rm-boot")
            .run();
        assert_eq!(out.code, Some(0), "{init}: {out:?}");
        assert!(
            !r.exists(file) || !r.read(file).contains("svscan"),
            "{init}"
        );
    }
}

#[test]
fn config_users_in_a_scratch_root() {
    if !is_root() {
        return skip("useradd needs root");
    }
    if !std::path::Path::new("/usr/sbin/useradd").exists() {
        return skip("no /usr/sbin/useradd");
    }
    let r = Root::new();
    r.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    r.write("etc/group", "root:x:0:\n");
    r.write("etc/shadow", "root:*:19000:0:99999:7:::\n");
    r.write("etc/gshadow", "root:*::\n");
    let out = r.svctool(&["--config=users"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let passwd = r.read("etc/passwd");
    for u in [
        "mysql", "indimail", "alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails",
        "qscand",
    ] {
        assert!(
            passwd.lines().any(|l| l.starts_with(&format!("{u}:"))),
            "{u} in {passwd}"
        );
    }
    assert!(passwd.contains("indimail:x:555:555:"));
    let group = r.read("etc/group");
    for g in ["qmail", "nofiles", "indimail", "qscand", "qcerts", "mysql"] {
        assert!(
            group.lines().any(|l| l.starts_with(&format!("{g}:"))),
            "{g}"
        );
    }
    assert!(group
        .lines()
        .any(|l| l.starts_with("qcerts:") && l.contains("qmaild") && l.contains("qmailr")));
    // the real system's databases are untouched
    assert!(
        blackbox::user("qmaild").is_none()
            || std::env::var_os("SVCTOOL_SYSTEM_HAS_QMAIL").is_some()
    );
    let out = r.svctool(&["--config=users"]);
    assert!(out.stdout_str().contains("user qmaild exists\n"));
    let out = r.svctool(&["--config=rmusers"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!r.read("etc/passwd").contains("qmaild"));
}

#[test]
fn variables_export_import_restore() {
    let r = Root::new();
    assert_eq!(r.svctool(SEED).code, Some(0));
    let base = ["--servicedir=/service", "--service-name=qmail-qmqpd.628"];
    // FILE is a path inside the root, as every path svctool is given (SVCTOOL_ROOT)
    let file = r.path("exported");
    let mut args = vec!["--export-variables=/exported".to_string()];
    args.extend(base.iter().map(|s| s.to_string()));
    let out = r.cmd("svctool").args(&args).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("CONTROLDIR=/etc/indimail/control\nHIDE_HOST=\nLOCALIP=0\n"),
        "{text}"
    );
    assert!(
        text.contains("QUEUEDIR=\nQUEUE_BASE=/var/indimail/queue\n"),
        "C order: {text}"
    );
    // import: existing variables kept without --force, new ones added
    let imp = r.path("import");
    fs::write(
        &imp,
        "# comment\n\nNEWVAR=\"hello world\"\nEMPTY=\"\"\nGONE=\nPORT=999\n",
    )
    .unwrap();
    let out = r
        .cmd("svctool")
        .arg("--import-variables=/import")
        .args(base)
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "importing variables without --force. not replacing variable PORT\n"
    );
    let v = r.vars("qmail-qmqpd.628");
    assert_vars(
        &v,
        &[
            ("NEWVAR", "hello world"),
            ("EMPTY", "\"\""),
            ("GONE", "∅"),
            ("PORT", "628"),
        ],
    );
    // restore from .variables: files not named there go away
    let out = r
        .cmd("svctool")
        .args(["--set-variable=X", "--variable-value=1"])
        .args(base)
        .run();
    assert_eq!(out.code, Some(0));
    fs::remove_file(r.path("exported")).unwrap();
    let d = r.path("service/qmail-qmqpd.628/variables");
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(d.join("LATE"), "late\n").unwrap();
    let out = r.cmd("svctool").arg("--restore-variables").args(base).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let v = r.vars("qmail-qmqpd.628");
    assert!(!v.contains_key("LATE") && v.contains_key("X") && v.contains_key("NEWVAR"));
    // save-variables refuses to overwrite without --force, --force overwrites
    let out = r.svctool(&["--save-variables", "--servicedir=/service"]);
    assert!(
        out.stderr_str()
            .contains(".variables exists and --force not specified"),
        "{out:?}"
    );
    let out = r.svctool(&["--save-variables", "--servicedir=/service", "--force"]);
    assert_eq!((out.code, out.stderr_str()), (Some(0), String::new()));
    assert_eq!(
        r.svctool(&["--restore-all-variables", "--servicedir=/service"])
            .code,
        Some(0)
    );
}

#[test]
fn print_all_variables_and_dumpconfig() {
    let r = Root::new();
    assert_eq!(r.svctool(SEED).code, Some(0));
    assert_eq!(
        r.svctool(&[
            "--queueParam=defaultqueue",
            "--qbase=/var/indimail/queue",
            "--qcount=5",
            "--qstart=1"
        ])
        .code,
        Some(0)
    );
    let out = r.svctool(&["--print-all-variables", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0));
    let t = out.stdout_str();
    assert!(
        t.starts_with("------ environment variables for /service/qmail-qmqpd.628 ------------\n"),
        "{t}"
    );
    assert!(t.contains(
        "------ environment variables for /etc/indimail/control/defaultqueue ------------\n"
    ));
    assert!(t.contains("------ environment variables for /etc/indimail/control/global_vars ------------\nBIGTODO=0\nCONFSPLIT=151\n"));
    let out = r.svctool(&["--dumpconfig", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let t = out.stdout_str();
    assert!(t.starts_with("Service Configuration ================================================\nService Directory /service\nService 00001 qmail-qmqpd.628\nRun File [qmail-qmqpd.628/run]\n#!/bin/sh\n"), "{t}");
    assert!(t.contains(&format!(
        "- EOF -----------------{:<20}-----------------------\n",
        "qmail-qmqpd.628/run"
    )));
    assert!(t.contains("Variables List\n1   CONTROLDIR\nValue:[/etc/indimail/control]\n\n2   HIDE_HOST\nValue:[UNSET]\n"));
}

#[test]
fn check_install_reports_problems() {
    let r = Root::new();
    let out = r.svctool(&["--check-install", "--servicedir=/service"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let e = out.stderr_str();
    assert!(e.contains("! Couldn't find qmail's home directory, /var/indimail!\n"));
    assert!(e.contains("! /service/qmail-send.25 directory is missing\n"));
    assert!(e.ends_with(
        "! Potential problems were found with your IndiMail installation in /var/indimail\n"
    ));
    assert!(out.stdout_str().starts_with("Checking IndiMail Home\n"));
}

#[test]
fn refresh_all_and_autorefresh_all() {
    let r = Root::new();
    assert_eq!(r.svctool(SEED).code, Some(0));
    assert_eq!(
        r.svctool(&["--udplogger=3000", "--servicedir=/service"])
            .code,
        Some(0)
    );
    let out = r.svctool(&["--autorefresh=0 all", "--servicedir=/service"]);
    assert_eq!(
        out.stdout_str(),
        "Disabling auto refresh for /service/qmail-qmqpd.628\nDisabling auto refresh for /service/udplogger.3000\nDisabling auto refresh for /etc/indimail/control/defaultqueue\n"
    );
    let out = r.svctool(&["--refreshsvc=all", "--servicedir=/service"]);
    assert_eq!(
        out.stdout_str(),
        "Skip Refreshing service qmail-qmqpd.628\nSkip Refreshing service udplogger.3000\n"
    );
    let out = r.svctool(&["--autorefresh=1 all", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0));
    let out = r.svctool(&["--refreshsvc=all", "--servicedir=/service"]);
    assert!(out.stdout_str().contains("Refreshing service udplogger.3000 command /usr/sbin/svctool --udplogger=\"3000\" --servicedir=\"/service\"\n"), "{out:?}");
}

#[test]
fn refresh_run_file_only_regenerates_scripts_and_keeps_variables() {
    let r = Root::new();
    assert_eq!(r.svctool(SEED).code, Some(0));
    let svc = "service/qmail-qmqpd.628";
    let run = r.read(&format!("{svc}/run"));
    // an admin's edits: a variable changed, one added; the run script lost
    let vars = r.path(&format!("{svc}/variables"));
    fs::set_permissions(&vars, fs::Permissions::from_mode(0o750)).unwrap();
    fs::write(vars.join("MAXDAEMONS"), "9\n").unwrap();
    fs::write(vars.join("CUSTOM"), "x\n").unwrap();
    fs::set_permissions(&vars, fs::Permissions::from_mode(0o550)).unwrap();
    fs::remove_file(r.path(&format!("{svc}/run"))).unwrap();
    fs::remove_file(r.path(&format!("{svc}/log/run"))).unwrap();
    let out = r.svctool(&[
        "--refreshsvc=/service/qmail-qmqpd.628",
        "--run-file-only",
        "--servicedir=/service",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        format!("Refreshing service qmail-qmqpd.628 command {OPTS}\nCreating QMQP Listener Port 628, Service /service, Queue Base /var/indimail/queue, Queue Count 5, Queue Start 1\n")
    );
    assert_eq!(r.read(&format!("{svc}/run")), run);
    assert!(r.path(&format!("{svc}/log/run")).is_file());
    let v = r.vars("qmail-qmqpd.628");
    assert_vars(
        &v,
        &[("MAXDAEMONS", "9"), ("CUSTOM", "x"), (".options", OPTS)],
    );
    assert!(!r.exists(&format!("{svc}/variables.bak")));
    assert_eq!(mode(&r, &format!("{svc}/variables")), 0o550);
    // --run-file-only before --refreshsvc is not its modifier (the reference's rule)
    let out = r.svctool(&[
        "--run-file-only",
        "--refreshsvc=/service/qmail-qmqpd.628",
        "--servicedir=/service",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_vars(&r.vars("qmail-qmqpd.628"), &[("MAXDAEMONS", "75")]);
}
