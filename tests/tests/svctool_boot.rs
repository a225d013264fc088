//! svscan at boot (`--config=add-boot`, `rm-boot`, `inittab`) for every init system and
//! `--enable-service` / `--disable-service`, in scratch roots: the init system is probed
//! from marker files under the root (or pinned with SVCTOOL_INIT), the boot files are
//! compared with goldens, the links and rc.conf lines the init tools would make are
//! checked, `--check-install` sees the start-up, and `rm-boot` takes it all away again.

mod svctool_common;

use std::fs;
use svctool_common::*;

/// One init system: markers to create, extra environment, what add-boot prints, the
/// paths the golden lists, and what `--check-install --verbose` then says about start-up.
struct Case {
    name: &'static str,
    markers: &'static [&'static str],
    dirs: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    stdout: &'static str,
    listed: &'static [&'static str],
    startup: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "systemd",
        markers: &["bin/systemctl"],
        dirs: &["lib/systemd/system", "etc/init.d"],
        env: &[],
        stdout: "svscan startup enabled in systemd /lib/systemd/system/svscan.service\n",
        listed: &["lib/systemd", "etc", "service"],
        startup: "svscan service is configured to run via systemd\n",
    },
    Case {
        name: "upstart",
        markers: &["sbin/initctl"],
        dirs: &["etc/init"],
        env: &[],
        stdout: "svscan startup enabled in /etc/init/svscan.conf\n",
        listed: &["etc", "service"],
        startup: "svscan service is configured to run via upstart\n",
    },
    Case {
        name: "upstart_eventd",
        markers: &[],
        dirs: &["etc/event.d"],
        env: &[],
        stdout: "svscan startup enabled in /etc/event.d/svscan\n",
        listed: &["etc", "service"],
        startup: "svscan service is configured to run via upstart\n",
    },
    Case {
        name: "freebsd_rcd",
        markers: &["etc/rc.subr"],
        dirs: &["etc/rc.d"],
        env: &[("SVCTOOL_UNAME", "FreeBSD")],
        stdout: "svscan startup enabled in rc /usr/local/etc/rc.d/svscan\n",
        listed: &["etc", "usr/local/etc", "service"],
        startup: "svscan service is configured to run via rc.d\n",
    },
    Case {
        name: "darwin_launchd",
        markers: &[],
        dirs: &["Library/LaunchDaemons"],
        env: &[("SVCTOOL_UNAME", "Darwin")],
        stdout: "Creating /service in /etc/synthetic.conf\nsvscan startup enabled in /Library/LaunchDaemons/org.indimail.svscan.plist\n",
        listed: &["etc", "Library", "service"],
        startup: "svscan service is configured to run via launchd\n",
    },
    Case {
        name: "openrc",
        markers: &["sbin/openrc-run"],
        dirs: &["etc/init.d"],
        env: &[],
        stdout: "svscan startup enabled in rc /etc/init.d/svscan\n",
        listed: &["etc", "service"],
        startup: "svscan service is configured to run via openrc\n",
    },
    Case {
        name: "inittab",
        markers: &["etc/inittab"],
        dirs: &[],
        env: &[],
        stdout: "svscan startup enabled in /etc/inittab\n",
        listed: &["etc", "service"],
        startup: "Checking /etc/inittab\nsvscan is configured to run via /etc/inittab\n",
    },
    Case {
        name: "inittab_busybox",
        markers: &["etc/inittab", "etc/alpine-release"],
        dirs: &[],
        env: &[],
        stdout: "svscan startup enabled in /etc/inittab\n",
        listed: &["etc", "service"],
        startup: "Checking /etc/inittab\nsvscan is configured to run via /etc/inittab\n",
    },
    Case {
        name: "sysv",
        markers: &[],
        dirs: &["etc/init.d"],
        env: &[],
        stdout: "svscan startup enabled in /etc/init.d/svscan\n",
        listed: &["etc", "service"],
        startup: "indimail service is configured to run through rc scripts\n",
    },
];

fn setup(c: &Case) -> Root {
    let r = Root::new();
    for m in c.markers {
        r.write(
            m,
            if *m == "etc/inittab" {
                "id:3:initdefault:\n"
            } else {
                ""
            },
        );
    }
    for d in c.dirs {
        r.mkdir(d);
    }
    if c.name == "freebsd_rcd" {
        r.write("etc/rc.conf", "hostname=\"mail\"\nsshd_enable=\"YES\"\n");
    }
    r
}

fn svctool(r: &Root, c: &Case, args: &[&str]) -> blackbox::Output {
    let mut cmd = r.cmd("svctool");
    for (k, v) in c.env {
        cmd = cmd.env(k, v);
    }
    cmd.args(args).run()
}

/// The "Checking svscan Startup" block of `--check-install --verbose`.
fn startup_block(r: &Root, c: &Case) -> (String, String) {
    let out = svctool(r, c, &["--check-install", "--verbose", "--nolog"]);
    let o = out.stdout_str();
    let from = o.find("Checking svscan Startup\n").expect("startup block") + 24;
    let to = o[from..].find("Checking svscan\n").unwrap() + from;
    let e = out.stderr_str();
    let problems = e
        .lines()
        .filter(|l| l.contains("svscan") && !l.contains("doesn't seem to be running"))
        .map(|l| format!("{l}\n"))
        .collect();
    (o[from..to].to_string(), problems)
}

#[test]
fn add_boot_and_rm_boot_for_every_init_system() {
    for c in CASES {
        let r = setup(c);
        let args: &[&str] = if c.name == "darwin_launchd" {
            &["--config=add-boot"]
        } else {
            &["--config=add-boot", "--servicedir=/service"]
        };
        let out = svctool(&r, c, args);
        assert_eq!(out.code, Some(0), "{}: {out:?}", c.name);
        assert_eq!(out.stdout_str(), c.stdout, "{}", c.name);
        // the log line of svctool.log is not part of the boot files
        fs::remove_dir_all(r.path("var")).unwrap();
        golden(
            &format!("boot_{}", c.name),
            &tree_of(r.dir.path(), c.listed),
        );
        let (said, problems) = startup_block(&r, c);
        assert_eq!(
            (said.as_str(), problems.as_str()),
            (c.startup, ""),
            "{}",
            c.name
        );

        // a second add-boot changes nothing and says nothing (macOS: the firmlink exists)
        let before = tree_of(r.dir.path(), c.listed);
        let out = svctool(&r, c, args);
        assert_eq!(out.code, Some(0), "{}: {out:?}", c.name);
        let (say, err) = match c.name {
            "inittab" | "inittab_busybox" => ("svscan startup enabled in /etc/inittab\n", ""),
            "darwin_launchd" => ("", "/service exists in /etc/synthetic.conf\n"),
            _ => ("", ""),
        };
        assert_eq!(
            (out.stdout_str().as_str(), out.stderr_str().as_str()),
            (say, err),
            "{}",
            c.name
        );
        assert_eq!(tree_of(r.dir.path(), c.listed), before, "{}", c.name);

        let out = svctool(&r, c, &["--config=rm-boot", "--servicedir=/service"]);
        assert_eq!(out.code, Some(0), "{}: {out:?}", c.name);
        assert_eq!(
            out.stderr_str(),
            "Giving svscan exactly 5 seconds to exit nicely\n",
            "{}",
            c.name
        );
        fs::remove_dir_all(r.path("var")).unwrap();
        golden(
            &format!("boot_{}_removed", c.name),
            &tree_of(r.dir.path(), c.listed),
        );
        let (_, problems) = startup_block(&r, c);
        assert!(
            !problems.is_empty(),
            "{}: start-up still configured",
            c.name
        );
    }
}

#[test]
fn add_boot_uses_the_installed_boot_files_of_the_reference_package() {
    let r = Root::new();
    r.write("bin/systemctl", "");
    r.mkdir("lib/systemd/system");
    r.write(
        "usr/share/indimail/boot/systemd",
        "[Unit]\nDescription=the package's own unit\n",
    );
    let out = r.svctool(&["--config=add-boot", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        r.read("lib/systemd/system/svscan.service"),
        "[Unit]\nDescription=the package's own unit\n"
    );
}

#[test]
fn add_boot_without_init_system_and_with_initsvc() {
    let r = Root::new();
    let out = r.svctool(&["--config=add-boot", "--servicedir=/service"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (
            Some(111),
            "svctool: no supported init system found (none)\n".into()
        )
    );
    // initsvc (probed only on the live system; pinned here) does the work itself
    r.stub("usr/sbin/initsvc");
    for arg in ["add-boot", "rm-boot"] {
        let out = r
            .cmd("svctool")
            .env("SVCTOOL_INIT", "initsvc")
            .arg(format!("--config={arg}"))
            .run();
        assert_eq!(out.code, Some(0), "{out:?}");
    }
    assert_eq!(r.calls(), "initsvc -on\ninitsvc -off\n");
}

#[test]
fn config_inittab_adds_or_fixes_the_respawn_line() {
    let r = Root::new();
    r.write(
        "etc/inittab",
        "id:3:initdefault:\nSV:345:once:/usr/libexec/indimail/svscanboot /old\n",
    );
    let out = r.svctool(&["--config=inittab", "--servicedir=/service"]);
    assert_eq!((out.code, out.stdout_str()), (Some(0), String::new()));
    assert_eq!(
        r.read("etc/inittab"),
        "id:3:initdefault:\nSV:345:respawn:/usr/libexec/indimail/svscanboot /service\n"
    );
    let out = r.svctool(&["--config=inittab", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0));
    assert_eq!(
        r.read("etc/inittab"),
        "id:3:initdefault:\nSV:345:respawn:/usr/libexec/indimail/svscanboot /service\n"
    );
}

#[test]
fn enable_and_disable_service_in_each_init_system() {
    // systemd: the wants link systemctl enable makes
    let r = Root::new();
    r.write("bin/systemctl", "");
    r.write("lib/systemd/system/foo.service", "[Unit]\n");
    let out = r.svctool(&["--enable-service", "foo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let link = "etc/systemd/system/multi-user.target.wants/foo.service";
    assert_eq!(
        fs::read_link(r.path(link)).unwrap().to_str(),
        Some("/lib/systemd/system/foo.service")
    );
    assert_eq!(r.svctool(&["--disable-service", "foo"]).code, Some(0));
    assert!(!r.exists(link));

    // FreeBSD rc.d: the rc.conf line `service foo enable` writes
    let r = Root::new();
    r.write("usr/local/etc/rc.d/foo", "#!/bin/sh\n");
    r.write("etc/rc.conf", "foo_enable=\"NO\"\nsshd_enable=\"YES\"\n");
    let bsd = |args: &[&str]| {
        r.cmd("svctool")
            .env("SVCTOOL_UNAME", "FreeBSD")
            .args(args)
            .run()
    };
    assert_eq!(bsd(&["--enable-service", "foo"]).code, Some(0));
    assert_eq!(
        r.read("etc/rc.conf"),
        "sshd_enable=\"YES\"\nfoo_enable=\"YES\"\n"
    );
    assert_eq!(bsd(&["--disable-service", "foo"]).code, Some(0));
    assert_eq!(r.read("etc/rc.conf"), "sshd_enable=\"YES\"\n");

    // upstart: the override file
    let r = Root::new();
    r.write("etc/init/foo.conf", "exec foo\n");
    assert_eq!(r.svctool(&["--disable-service", "foo"]).code, Some(0));
    assert_eq!(r.read("etc/init/foo.override"), "manual\n");
    assert_eq!(r.svctool(&["--enable-service", "foo"]).code, Some(0));
    assert!(!r.exists("etc/init/foo.override"));

    // SysV: the runlevel links, several names at once; a bad name is refused
    let r = Root::new();
    r.script("etc/init.d/foo", "#!/bin/sh\n");
    r.script("etc/init.d/bar", "#!/bin/sh\n");
    let out = r.svctool(&["--enable-service", "foo", "../x", "bar"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr_str(), "svctool: invalid service name [../x]\n");
    for n in ["foo", "bar"] {
        assert_eq!(
            fs::read_link(r.path(&format!("etc/rc2.d/S20{n}")))
                .unwrap()
                .to_str(),
            Some(format!("../init.d/{n}").as_str())
        );
        assert!(r.exists(&format!("etc/rc0.d/K20{n}")));
    }
    assert_eq!(r.svctool(&["--disable-service", "foo"]).code, Some(0));
    assert!(!r.exists("etc/rc2.d/S20foo") && !r.exists("etc/rc6.d/K20foo"));
    assert!(r.exists("etc/rc2.d/S20bar"));
}
