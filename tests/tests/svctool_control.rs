//! `--config=qmail` as a whole (every control file, the global_vars links, the shared
//! library files, backup.conf, the host address from ipmeprint), `--fixsharedlibs`, and
//! the bogofilter aliases of `--config=indimail`, in scratch roots whose libraries and
//! programs the tests lay out.

mod svctool_common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use svctool_common::*;

/// A Debian-like root with libindimail, MariaDB's client library and mariadbd.
fn libs_root() -> Root {
    let r = Root::new();
    r.write("etc/debian_version", "12.0\n");
    r.write("usr/lib/x86_64-linux-gnu/libindimail.so.3.0.0", "");
    r.write("usr/lib/x86_64-linux-gnu/libmariadb.so.3", "");
    r.script("usr/sbin/mariadbd", "#!/bin/sh\n");
    r
}

#[test]
fn config_qmail_writes_every_control_file() {
    let r = libs_root();
    // ipmeprint: loopback and docker's bridge are skipped, the first other address wins
    r.script(
        "usr/libexec/indimail/ipmeprint",
        "#!/bin/sh\necho '0 ipv4 127.0.0.1'\necho '1 ipv4 172.17.0.1'\necho '2 ipv4 192.0.2.10'\necho '3 ipv4 192.0.2.11'\n",
    );
    let out = r.svctool(&[
        "--config=qmail",
        "--servicedir=/service",
        "--default-domain=example.com",
        "--postmaster=postmaster@example.com",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        "hostip [192.0.2.10]\n\
         updating /etc/indimail/control/libindimail with /usr/lib/x86_64-linux-gnu/libindimail.so.3.0.0\n\
         updating /etc/indimail/control/libmysql with /usr/lib/x86_64-linux-gnu/libmariadb.so.3\n\
         Creating catch-all alias (/var/indimail/alias/Maildir) for all system users\n"
    );
    for f in ["smtp", "qmtp", "qmqp"] {
        let cdb = format!("etc/indimail/tcp/tcp.{f}.cdb");
        assert!(r.path(&cdb).is_file(), "{cdb}");
        fs::remove_file(r.path(&cdb)).unwrap();
    }
    golden("config_qmail", &tree(r.dir.path()));

    // a second run keeps everything and has nothing to say
    let before = tree(r.dir.path());
    let out = r.svctool(&[
        "--config=qmail",
        "--servicedir=/service",
        "--default-domain=example.com",
        "--nolog",
    ]);
    assert_eq!((out.code, out.stdout_str()), (Some(0), String::new()));
    for f in ["smtp", "qmtp", "qmqp"] {
        fs::remove_file(r.path(&format!("etc/indimail/tcp/tcp.{f}.cdb"))).unwrap();
    }
    let after = tree(r.dir.path());
    // .qmail_control records the latest command
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.contains("/usr/sbin/svctool --config"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&after), strip(&before));
}

#[test]
fn config_qmail_verbose_lists_what_it_sets_and_pins() {
    let r = Root::new();
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_HOSTIP", "198.51.100.7")
        .env("SVCTOOL_LIBINDIMAIL", "/opt/lib/libindimail.so.4.1.0")
        .env("SVCTOOL_LIBMYSQL", "/opt/lib/libmysqlclient.so.21.2.0")
        .args(["--config=qmail", "--servicedir=/service", "--verbose"])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    let o = out.stdout_str();
    assert!(
        o.starts_with("Creating Default qmail Control Files\nme\nlocaliphost\n"),
        "{o}"
    );
    assert!(o.contains(
        "Setting control files (if not existing) to defaults\nlocals\nrcpthosts\ndefaultdelivery\n"
    ));
    assert!(
        o.contains("tlsclientmethod\nprocmailrc\nlibindimail\nlibmysql\nhostip [198.51.100.7]\n")
    );
    assert!(
        o.ends_with("Creating /etc/indimail/backup.conf file\n"),
        "{o}"
    );
    let c = "etc/indimail/control";
    assert_eq!(r.read(&format!("{c}/hostip")), "198.51.100.7\n");
    assert_eq!(r.read(&format!("{c}/greylist.white")), "198.51.100.7\n");
    assert_eq!(
        r.read(&format!("{c}/libindimail")),
        "/opt/lib/libindimail.so.4.1.0\n"
    );
    assert_eq!(
        r.read(&format!("{c}/libmysql")),
        "/opt/lib/libmysqlclient.so.21.2.0\n"
    );
    // no MySQL anywhere, nothing pinned: the reference's message, the file stays away
    let r = Root::new();
    let out = r.svctool(&["--config=qmail", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "check_libmysqlclient_lib: Couldn't figure out mysqlPrefix. Specify --mysqlPrefix\n"
    );
    assert!(!r.exists("etc/indimail/control/libmysql"));
    assert!(!r.exists("etc/indimail/control/libindimail"));
    assert_eq!(r.read("etc/indimail/control/hostip"), "127.0.0.1\n");
}

#[test]
fn fixsharedlibs_updates_keeps_and_removes() {
    let r = libs_root();
    let c = "etc/indimail/control";
    let out = r.svctool(&["--fixsharedlibs"]);
    assert_eq!(
        (out.code, out.stdout_str(), out.stderr_str()),
        (
            Some(0),
            "updating /etc/indimail/control/libindimail with /usr/lib/x86_64-linux-gnu/libindimail.so.3.0.0\n\
             updating /etc/indimail/control/libmysql with /usr/lib/x86_64-linux-gnu/libmariadb.so.3\n"
                .into(),
            String::new()
        )
    );
    // an immediate option: not logged
    assert!(!r.exists("var/log/svc/svctool.log"));
    // unchanged: silent
    let out = r.svctool(&["--fixsharedlibs"]);
    assert_eq!((out.code, out.stdout_str()), (Some(0), String::new()));
    // a file naming an existing library is kept, even when a newer one appears
    r.write("usr/lib/x86_64-linux-gnu/libmariadb.so.4", "");
    assert_eq!(r.svctool(&["--fixsharedlibs"]).stdout_str(), "");
    assert_eq!(
        r.read(&format!("{c}/libmysql")),
        "/usr/lib/x86_64-linux-gnu/libmariadb.so.3\n"
    );
    // ... and replaced once it is gone; libindimail removed with its library
    fs::remove_file(r.path("usr/lib/x86_64-linux-gnu/libmariadb.so.3")).unwrap();
    fs::remove_file(r.path("usr/lib/x86_64-linux-gnu/libindimail.so.3.0.0")).unwrap();
    let out = r.svctool(&["--fixsharedlibs"]);
    assert_eq!(
        out.stdout_str(),
        "removing /etc/indimail/control/libindimail\n\
         updating /etc/indimail/control/libmysql with /usr/lib/x86_64-linux-gnu/libmariadb.so.4\n"
    );
    assert!(!r.exists(&format!("{c}/libindimail")));
    // --silent, --cntrldir and --mysqlPrefix given before it count; the highest major wins
    let r = Root::new();
    r.write("opt/mysql/lib64/libmysqlclient.so.18.0.0", "");
    r.write("opt/mysql/lib64/libmysqlclient.so.21.2.3", "");
    r.write("opt/mysql/lib/libmysqlclient.so.20.1.1", "");
    let out = r.svctool(&[
        "--silent",
        "--cntrldir=/etc/qmail",
        "--mysqlPrefix=/opt/mysql",
        "--fixsharedlibs",
        "--bogus-after-it-is-never-parsed",
    ]);
    assert_eq!(
        (out.code, out.stdout_str(), out.stderr_str()),
        (Some(0), String::new(), String::new())
    );
    assert_eq!(
        r.read("etc/qmail/libmysql"),
        "/opt/mysql/lib64/libmysqlclient.so.21.2.3\n"
    );
    // CONTROLDIR from the environment, relative to the sysconfdir
    let out = r
        .cmd("svctool")
        .env("CONTROLDIR", "ctl2")
        .args(["--mysqlPrefix=/opt/mysql", "--fixsharedlibs"])
        .run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(r.path("etc/indimail/ctl2/libmysql").is_file());
    // no prefix to be found: exit 1 with the reference's message
    let r = Root::new();
    let out = r.svctool(&["--fixsharedlibs"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (
            Some(1),
            "check_libmysqlclient_lib: Couldn't figure out mysqlPrefix. Specify --mysqlPrefix\n"
                .into()
        )
    );
    // a prefix but no library: said, and a stale file removed
    let r = Root::new();
    r.mkdir("usr/lib/mysql");
    r.write(
        "etc/indimail/control/libmysql",
        "/gone/libmysqlclient.so.1.0.0\n",
    );
    let out = r.svctool(&["--fixsharedlibs"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "Sorry: Couldn't figure out mysql shared library. Manually edit /etc/indimail/control/libmysql\n"
    );
    assert_eq!(
        out.stdout_str(),
        "removing /etc/indimail/control/libmysql\n"
    );
}

#[test]
fn config_indimail_writes_bogofilter_aliases_when_installed() {
    let r = Root::new();
    let out = r.svctool(&["--config=indimail", "--mysqlsocket=/run/mysqld/mysqld.sock"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!r.exists("var/indimail/alias"));
    r.script("usr/bin/bogofilter", "#!/bin/sh\n");
    let out = r.svctool(&["--config=indimail", "--mysqlsocket=/run/mysqld/mysqld.sock"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    for i in ["spam", "ham", "register-spam", "register-ham"] {
        assert_eq!(
            r.read(&format!("var/indimail/alias/.qmail-B{i}")),
            format!("|/usr/libexec/indimail/bogofilter-qfe\n/var/indimail/alias/{i}/\n")
        );
        for d in ["", "/cur", "/new", "/tmp"] {
            let m = fs::metadata(r.path(&format!("var/indimail/alias/{i}{d}"))).unwrap();
            assert!(m.is_dir());
            assert_eq!(m.permissions().mode() & 0o7777, 0o775, "{i}{d}");
        }
    }
}

#[test]
fn check_certs_validity_and_purpose() {
    let r = Root::new();
    let out = r.svctool(&[
        "--config=cert",
        "--postmaster=postmaster@example.com",
        "--common_name=mail.example.com",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let certs = "/etc/indimail/certs";
    let out = r.svctool(&["--check-certs"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(0), String::new()),
        "{out:?}"
    );
    let o = out.stdout_str();
    assert!(o.starts_with(&format!("Checking {certs}/servercert.pem\nChecking {certs}/clientcert.pem\nAll Certificates found OK. Press ENTER to view Certificates\n==== Certificate {certs}/servercert.pem =========\nNot After : ")), "{o}");
    assert!(
        o.contains("Purposes  : SSL client : Yes, SSL server : Yes\n-----BEGIN CERTIFICATE-----\n")
    );
    assert!(o.ends_with(&format!("-----END CERTIFICATE-----\n================================================================\n\n==== Certificate {certs}/clientcert.pem =========\nLinked to servercert.pem\n================================================================\n\n")), "{o}");
    assert!(!o.contains("PRIVATE KEY"), "the key is never shown");

    // in the year 2100 it has expired: disabled (the client link then leads nowhere)
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_NOW", "4102444800")
        .arg("--check-certs")
        .run();
    assert_eq!(out.code, Some(1), "{out:?}");
    let e = out.stderr_str();
    assert!(
        e.starts_with("expiry ")
            && e.ends_with(&format!(
                " GMT\n{certs}/servercert.pem has EXPIRED. Disabling\n"
            )),
        "{e}"
    );
    assert!(r.exists("etc/indimail/certs/EXPIRED-servercert.pem"));
    assert!(!r.exists("etc/indimail/certs/servercert.pem"));

    // not a certificate at all
    r.write("etc/indimail/certs/client.pem", "garbage\n");
    let out = r.svctool(&["--check-certs=/etc/indimail/certs/client.pem"]);
    assert_eq!(
        (out.code, out.stdout_str(), out.stderr_str()),
        (
            Some(1),
            format!("Checking {certs}/client.pem\n"),
            format!("{certs}/client.pem is a broken cert. Disabled\n")
        )
    );
    assert!(r.exists("etc/indimail/certs/BROKEN-client.pem"));

    // a client-only certificate named as a server's (made by openssl)
    let key = r.path("k.pem");
    let crt = r.path("etc/indimail/certs/server.pem");
    let made = blackbox::Cmd::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .args([
            "-days",
            "30",
            "-subj",
            "/CN=client",
            "-addext",
            "extendedKeyUsage=clientAuth",
        ])
        .run();
    if made.code != Some(0) {
        blackbox::skip(&format!("openssl could not make a certificate: {made:?}"));
        return;
    }
    let out = r.svctool(&["--check-certs=/etc/indimail/certs/server.pem"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (
            Some(1),
            format!("Purpose SSL client : Yes, SSL server : No\n{certs}/server.pem is NOT a server cert. Disabled\n")
        )
    );
    assert!(r.exists("etc/indimail/certs/NOT-A-SERVER-CERT-server.pem"));
}
