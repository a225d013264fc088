//! Black-box suite for minisvc: its option list and refusals, svscan's log service made
//! in a scratch root (the recorded command and headers name minisvc, `services.log`, the
//! global variables with and without qmail-send), variables, and a refresh that re-runs
//! minisvc itself.

mod svctool_common;

use svctool_common::{Root, DATE};

#[test]
fn options_outside_minisvcs_list_are_refused() {
    let r = Root::new();
    let out = r.cmd("minisvc").arg("--smtp=25").run();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stderr_str(), "invalid option [--smtp=25]\n");
    assert!(out.stdout_str().starts_with("Usage: minisvc [OPTION]\n"));
    // svctool's own action names are refused as minisvc refuses them.
    for bad in [
        "--cntrldir=x",
        "--qmqp=628",
        "--svscanlog=1",
        "--check-install",
    ] {
        let out = r.cmd("minisvc").arg(bad).run();
        assert_eq!(
            (out.code, out.stderr_str()),
            (Some(1), format!("invalid option [{bad}]\n")),
            "{bad}"
        );
    }
    let out = r.cmd("minisvc").arg("--config=qmail").run();
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(1), "Invalid configuration option qmail\n".to_string())
    );
    r.cmd("minisvc").arg("--version").run().assert(
        0,
        "# $Id: minisvc.rs,v 0.1.0 indimail-rs (minisvc.in 1.40 compatible) Exp $\n",
        "",
    );
    let out = r.cmd("minisvc").run();
    assert_eq!(out.code, Some(1));
    assert!(out.stdout_str().contains("--svscanlog --servicedir=DIR"));
    // Without root (and without a scratch root) nothing is done.
    blackbox::Cmd::bin("minisvc")
        .clean_env()
        .user(65534, 65534)
        .arg("--svscanlog")
        .run()
        .assert(
            100,
            "minisvc is not meant to be run by mere mortals. Use sudo to get superpowers\n",
            "",
        );
}

#[test]
fn svscanlog_in_a_scratch_root() {
    let r = Root::new();
    let out = r
        .cmd("minisvc")
        .args(["--svscanlog", "--servicedir=/service", "--scanint=60"])
        .run();
    out.assert(0, "Creating svscan log Service Service /service\n", "");
    let cmd = r#"/usr/sbin/minisvc --svscanlog --servicedir="/service" --scanint="60""#;
    assert_eq!(
        r.read("service/.svscan/variables/.options"),
        format!("{cmd}\n")
    );
    assert_eq!(r.read("service/.svscan/variables/SCANINTERVAL"), "60\n");
    assert_eq!(r.read("service/.svscan/variables/AUTOSCAN"), "1\n");
    assert_eq!(
        r.read("service/.svscan/variables/.envdir"),
        "/etc/indimail/control/global_vars\n"
    );
    let log_run = r.read("service/.svscan/log/run");
    assert_eq!(
        log_run,
        format!(
            "#!/bin/sh\n# $Id: minisvc.rs,v 0.1.0 indimail-rs (minisvc.in 1.40 compatible) Exp $\n\
             # generated log script for x86_64-pc-linux-gnu at {DATE}\n# by the below command\n\
             # {cmd}\n\nexec /usr/bin/setuidgid qmaill \\\n  /usr/sbin/multilog t /var/log/svc/svscan\n"
        )
    );
    assert!(r
        .read("service/.svscan/shutdown")
        .ends_with("exec 2>&1\n/usr/bin/svc -dx /service/*\n"));
    assert_eq!(
        r.read("var/log/svc/services.log"),
        format!("{DATE} {cmd}\n")
    );
    assert!(!r.exists("var/log/svc/svctool.log"));
    // No mail suite: the global variables directory stays empty.
    let globals: Vec<_> = std::fs::read_dir(r.path("etc/indimail/control/global_vars"))
        .unwrap()
        .collect();
    assert!(globals.is_empty(), "{globals:?}");
}

#[test]
fn with_qmail_send_installed_the_queue_settings_are_written() {
    let r = Root::new();
    r.script("usr/sbin/qmail-send", "#!/bin/sh\n");
    r.cmd("minisvc")
        .args(["--svscanlog", "--servicedir=/service"])
        .run()
        .assert_code(0);
    for (f, v) in [
        ("USE_FSYNC", ""),
        ("USE_FDATASYNC", ""),
        ("USE_SYNCDIR", ""),
    ] {
        assert_eq!(r.read(&format!("etc/indimail/control/global_vars/{f}")), v);
    }
    // svctool's two extra settings are not minisvc's.
    assert!(!r.exists("etc/indimail/control/global_vars/CONFSPLIT"));
    assert!(!r.exists("etc/indimail/control/global_vars/BIGTODO"));
}

#[test]
fn variables_and_a_refresh_by_minisvc() {
    let r = Root::new();
    r.cmd("minisvc")
        .args(["--svscanlog", "--servicedir=/service", "--scanint=60"])
        .run()
        .assert_code(0);
    let out = r
        .cmd("minisvc")
        .args([
            "--set-variable=SCANINTERVAL",
            "--variable-value=90",
            "--servicedir=/service",
            "--service-name=.svscan",
            "--force",
        ])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(r.read("service/.svscan/variables/SCANINTERVAL"), "90\n");
    let out = r
        .cmd("minisvc")
        .args(["--refreshsvc=/service/.svscan", "--servicedir=/service"])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out
        .stdout_str()
        .starts_with("Refreshing service .svscan command /usr/sbin/minisvc --svscanlog"));
    // The refresh re-ran minisvc's command: the interval it recorded is back.
    assert_eq!(r.read("service/.svscan/variables/SCANINTERVAL"), "60\n");
    let log = r.read("var/log/svc/services.log");
    assert_eq!(log.lines().count(), 4, "{log}");
}
