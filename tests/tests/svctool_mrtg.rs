//! `--mrtg=HTMLDIR` (docs/svctool.md#mrtg): the mrtg service, its configuration with a graph section for
//! each thing the host runs (qmta-send, IMAP/POP3 listeners and proxies, inlookup,
//! dnscache, tinydns, MySQL, clamd, network interfaces), the index indexmaker writes and
//! the favicon, with mrtg and indexmaker stubs in a scratch root.

mod svctool_common;

use svctool_common::*;

const TEMPLATE: &str = "WorkDir: HTMLDIR\nHtmlDir: HTMLDIR HTMLDIR\nTitle[load]: load of MRTGHOSTNAME (MRTGHOSTNAME)\n\n";

/// mrtg, indexmaker (writes the page it is told to) and the configuration template.
fn mrtg_root() -> Root {
    let r = Root::new();
    r.script("usr/bin/mrtg", "#!/bin/sh\n");
    r.script(
        "usr/bin/indexmaker",
        &format!(
            "#!/bin/sh\necho \"indexmaker $*\" >> {}\nfor a; do case \"$a\" in --output=*) out=${{a#--output=}};; esac; done\nprintf '<HTML>\\n<HEAD>\\n<TITLE>IndiMail Statistics</TITLE>\\n</HEAD>\\n</HTML>\\n' > \"$out\"\n",
            r.path("calls").display()
        ),
    );
    r.write("etc/indimail/indimail.mrtg.cfg", TEMPLATE);
    r
}

#[test]
fn mrtg_service_with_every_graph_section() {
    let r = mrtg_root();
    for d in [
        "imapd.143",
        "proxyIMAP-ssl.9143",
        "pop3d.110",
        "inlookup.infifo",
        "dnscache",
        "tinydns",
        "mysql.3306",
        "clamd",
    ] {
        r.mkdir(&format!("var/log/svc/{d}"));
    }
    r.symlink(
        "/lib/systemd/system/qmta-send.service",
        "etc/systemd/system/multi-user.target.wants/qmta-send.service",
    );
    r.write(
        "proc/net/dev",
        "Inter-|   Receive                            |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 2000 20 0 0 0 0 0 0 3000 30 0 0 0 0 0 0\nvboxnet0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n",
    );
    // favicon.png is "PNG!"
    r.write("etc/indimail/favicon.base64", "UE5H\nIQ==\n");
    let out = r.svctool(&[
        "--mrtg=/var/www/mrtg",
        "--servicedir=/service",
        "--scanint=120",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout_str(),
        "Creating indimail mrtg /var/www/mrtg in /service\n"
    );
    let root = r.dir.path().display();
    assert_eq!(
        r.calls(),
        format!("indexmaker --title=IndiMail Statistics --section=title --output={root}/var/www/mrtg/index.html {root}/service/mrtg/etc/indimail.mrtg.cfg\n")
    );
    golden("kind_mrtg", &tree(r.dir.path()));
    scripts_parse(r.dir.path());
}

#[test]
fn mrtg_on_a_bare_host_and_its_failures() {
    // nothing but the template: no extra sections, no favicon
    let r = mrtg_root();
    let out = r.svctool(&["--mrtg=/var/www/mrtg", "--servicedir=/service"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        r.read("service/mrtg/etc/indimail.mrtg.cfg"),
        "WorkDir: /var/www/mrtg/\nHtmlDir: /var/www/mrtg/ HTMLDIR\nTitle[load]: load of mail.example.com (MRTGHOSTNAME)\n\n"
    );
    assert!(!r.exists("var/www/mrtg/favicon.png"));
    assert_eq!(
        r.read("var/www/mrtg/index.html"),
        "<HTML>\n<HEAD>\n<TITLE>IndiMail Statistics</TITLE>\n</HEAD>\n</HTML>\n"
    );
    // no mrtg: refused before anything is written
    let r = mrtg_root();
    std::fs::remove_file(r.path("usr/bin/mrtg")).unwrap();
    let out = r.svctool(&["--mrtg=/var/www/mrtg", "--servicedir=/service"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (
            Some(111),
            "mrtg or indexmaker missing: Have you installed mrtg?\n".into()
        )
    );
    assert!(!r.exists("service") && !r.exists("var/www"));
    // no template
    let r = mrtg_root();
    std::fs::remove_file(r.path("etc/indimail/indimail.mrtg.cfg")).unwrap();
    let out = r.svctool(&["--mrtg=/var/www/mrtg", "--servicedir=/service"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (
            Some(111),
            "/etc/indimail/indimail.mrtg.cfg: No such file or directory\n".into()
        )
    );
    assert!(!r.exists("service"));
}
