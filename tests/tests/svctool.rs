//! Black-box suite for svctool: the acceptance checks of docs/svctool.md#acceptance-checks (each a golden
//! tree under tests/golden/svctool/ plus the facts the check names), the seed command of
//! #the-seed-command, error paths (#command-line, #exit-codes-and-failures, docs/decisions.md#s3, #s4), and `sh -n` on every generated script.
//!
//! Every test renders into a scratch root of its own through the host-facts layer
//! (SVCTOOL_ROOT; docs/decisions.md#s6): `/service/...` lands in `ROOT/service/...` with the
//! contents unchanged. Dates, the host triple, the host name and user/group ids are pinned
//! (SVCTOOL_DATE, SVCTOOL_HOST, SVCTOOL_HOSTNAME, SVCTOOL_IDS), so trees are byte-for-byte
//! reproducible. Owners are compared when the suite runs as root (only root can chown).
//!
//! Goldens are regenerated with `UPDATE_GOLDEN=1`; every golden was checked line by line
//! against docs/svctool.md#service-kinds, #the-seed-command, #acceptance-checks and the decisions listed in COMPATIBILITY.md.

mod svctool_common;

use blackbox::{is_root, Cmd};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use svctool_common::*;

// ----- docs/svctool.md#the-seed-command and #acceptance-checks -----

#[test]
fn check01_qmqp_seed() {
    let r = Root::new();
    let out = check_golden("check01_qmqp_seed", &r, SEED);
    assert_eq!(
        out.stdout_str(),
        "Creating QMQP Listener Port 628, Service /service, Queue Base /var/indimail/queue, Queue Count 5, Queue Start 1\n"
    );
    let v = r.vars("qmail-qmqpd.628");
    let names: Vec<&str> = v.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            ".envdir",
            ".options",
            "CONTROLDIR",
            "HIDE_HOST",
            "LOCALIP",
            "LOGFILTER",
            "MAXDAEMONS",
            "MAXPERIP",
            "MIN_FREE",
            "PATH",
            "PORT",
            "QHPSI",
            "QMAILQUEUE",
            "QUEUEDIR",
            "QUEUE_BASE",
            "QUEUE_COUNT",
            "QUEUE_START",
            "SOFT_MEM",
            "SPAMFILTER",
            "USE_FSYNC",
            "USE_SYNCDIR"
        ]
    );
    assert_vars(
        &v,
        &[
            (".envdir", "/etc/indimail/control/global_vars"),
            (".options", OPTS),
            ("CONTROLDIR", "/etc/indimail/control"),
            ("HIDE_HOST", "∅"),
            ("LOCALIP", "0"),
            ("LOGFILTER", "∅"),
            ("MAXDAEMONS", "75"),
            ("MAXPERIP", "25"),
            ("MIN_FREE", "52428800"),
            ("PATH", "/bin:/usr/bin:/usr/sbin:/sbin"),
            ("PORT", "628"),
            ("QHPSI", "∅"),
            ("QMAILQUEUE", "/usr/sbin/qmail-multi"),
            ("QUEUEDIR", "∅"),
            ("QUEUE_BASE", "/var/indimail/queue"),
            ("QUEUE_COUNT", "5"),
            ("QUEUE_START", "1"),
            ("SOFT_MEM", "104857600"),
            ("SPAMFILTER", "∅"),
            ("USE_FSYNC", "1"),
            ("USE_SYNCDIR", "1"),
        ],
    );
    let run = r.read("service/qmail-qmqpd.628/run");
    let body: Vec<&str> = run.lines().collect();
    assert_eq!(body[0], "#!/bin/sh");
    assert_eq!(body[4], format!("# {OPTS}"));
    assert!(run.ends_with(
        "-x /etc/indimail/tcp/tcp.qmqp.cdb \\\n-c ./variables/MAXDAEMONS -o -b \\$MAXDAEMONS \\\n-u $MYUID -g $MYGID \\$LOCALIP \\$PORT \\\n/usr/sbin/qmail-qmqpd\"\n"
    ));
    assert!(r.read("service/qmail-qmqpd.628/log/run").ends_with(
        "\nexec /usr/bin/setuidgid qmaill \\\n  /usr/sbin/multilog t /var/log/svc/qmqpd.628\n"
    ));
    let g = "etc/indimail/control/global_vars";
    assert_eq!(r.read(&format!("{g}/CONFSPLIT")), "151\n");
    assert_eq!(r.read(&format!("{g}/BIGTODO")), "0\n");
    assert_eq!(r.read(&format!("{g}/USE_FDATASYNC")), "1\n");
    assert_eq!(r.read(&format!("{g}/USE_SYNCDIR")), "1\n");
    assert!(!r.exists(&format!("{g}/USE_FSYNC")));
    assert_eq!(
        r.read("var/log/svc/svctool.log"),
        format!("{DATE} {OPTS}\n")
    );
    let m = fs::metadata(r.path("service/qmail-qmqpd.628/variables")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o550);
}

#[test]
fn check02_qmtp() {
    let r = Root::new();
    check_golden(
        "check02_qmtp",
        &r,
        &[
            "--qmtp=209",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=5",
            "--qstart=1",
            "--cntrldir=control",
            "--localip=0",
            "--maxdaemons=75",
            "--maxperip=25",
            "--memory=104857600",
            "--min-free=52428800",
        ],
    );
    let v = r.vars("qmail-qmtpd.209");
    assert_vars(&v, &[("PORT", "209")]);
    assert_absent(&v, &["USE_FSYNC", "USE_SYNCDIR", "USE_FDATASYNC"]);
    let run = r.read("service/qmail-qmtpd.209/run");
    assert!(
        run.contains("-x /etc/indimail/tcp/tcp.qmtp.cdb \\\n")
            && run.ends_with("/usr/sbin/qmail-qmtpd\"\n")
    );
    assert!(r
        .read("service/qmail-qmtpd.209/log/run")
        .ends_with("/var/log/svc/qmtpd.209\n"));
    for f in ["USE_FSYNC", "USE_FDATASYNC", "USE_SYNCDIR"] {
        assert_eq!(
            r.read(&format!("etc/indimail/control/global_vars/{f}")),
            "",
            "{f}"
        );
    }
}

fn queue_fix_stub(r: &Root) {
    r.stub("usr/bin/queue-fix");
}

#[test]
fn check03_minimal_smtp_with_queues() {
    let r = Root::new();
    queue_fix_stub(&r);
    let out = check_golden(
        "check03_smtp25",
        &r,
        &[
            "--smtp=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=1",
            "--qstart=1",
        ],
    );
    assert_eq!(
        out.stdout_str(),
        "Creating 1 queues\nCreating Queue /var/indimail/queue/nqueue\nCreating Queue /var/indimail/queue/queue1\nCreating SMTP Listener Port 25, Service /service, Queue Base /var/indimail/queue, Queue Count 1, Queue Start 1\n"
    );
    let q = r.path("var/indimail/queue");
    assert_eq!(
        r.read("calls"),
        format!(
            "queue-fix -s 151 -b 0 {0}/nqueue\nqueue-fix -s 151 -b 0 {0}/queue1\n",
            q.display()
        )
    );
    assert_eq!(
        r.read("etc/indimail/control/queue_base"),
        "/var/indimail/queue\n"
    );
    let s = r.vars("qmail-smtpd.25");
    assert_vars(
        &s,
        &[
            ("MAXDAEMONS", "150"),
            ("MAXPERIP", "10"),
            ("SOFT_MEM", "52428800"),
            ("LOCALIP", "0"),
            ("QMAILQUEUE", "/usr/sbin/qmail-multi"),
            ("QUEUEDIR", "∅"),
            ("QUEUE_BASE", "/var/indimail/queue"),
            ("QUEUE_COUNT", "1"),
            ("QUEUE_START", "1"),
            ("NODNSCHECK", "\"\""),
            ("DISABLE_VRFY", "\"\""),
            ("DISABLE_PLUGIN", "\"\""),
            ("ENVHEADERS", "\"\""),
            ("STRIP_DOMAIN", "1"),
            ("AUTHMODULES", "∅"),
            ("STARTTLS", "∅"),
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V5): CHECKRELAY only with --chkrelay
            ("CHECKRELAY", "∅"),
        ],
    );
    assert_absent(&s, &["CERTDIR"]);
    let run = r.read("service/qmail-smtpd.25/run");
    assert!(run.contains("/usr/bin/tcpserver -v -H -R -l $HOSTNAME \\\n"));
    assert!(run.ends_with("\n/usr/sbin/qmail-smtpd\"\n"));
    let d = r.vars("qmail-send.25");
    assert_vars(
        &d,
        &[
            ("SOFT_MEM", "83886080"),
            ("MSGQSIZE", "8388608"),
            ("START_PLUGIN", "startup.so"),
            ("DISABLE_CNAME_LOOKUP", "1"),
            ("LOGLOCK", "\"\""),
            ("MAILDIRSIZE_MAX_SIZE", "8192"),
            ("MAILDIRSIZE_MAX_AGE", "43200"),
            ("FAST_QUOTA", "∅"),
        ],
    );
    assert!(r
        .read("service/qmail-send.25/run")
        .ends_with("/usr/sbin/qscheduler -s $defaultdelivery\"\n"));
    assert!(r
        .read("service/qmail-send.25/log/run")
        .ends_with("/var/log/svc/deliver.25\n"));
}

const CHECK4: &[&str] = &[
    "--smtp=25",
    "--servicedir=/service",
    "--qbase=/var/indimail/queue",
    "--qcount=5",
    "--qstart=1",
    "--query-cache",
    "--dnscheck",
    "--password-cache",
    "--cntrldir=control",
    "--localip=0",
    "--maxdaemons=75",
    "--maxperip=25",
    "--persistdb",
    "--starttls",
    "--memory=104857600",
    "--chkrecipient",
    "--chkrelay",
    "--masquerade",
    "--min-free=52428800",
    "--content-filter",
    "--virus-filter",
    "--dmasquerade",
    "--infifo=infifo",
    "--dkverify=dkim",
    "--dksign=dkim",
    "--private_key=/etc/indimail/control/domainkeys/%/default",
    "--spamfilter=/usr/bin/bogofilter -p -d /etc/indimail",
    "--logfilter=/run/indimail/logfifo",
    "--rejectspam=0",
    "--spamexitcode=0",
    "--remote-authsmtp=plain",
    "--localfilter",
    "--remotefilter",
    "--deliverylimit-count=-1",
    "--deliverylimit-size=-1",
    "--rbl=-rzen.spamhaus.org",
    "--rbl=-rdnsbl-1.uceprotect.net",
    "--dmemory=104857600",
    "--setgroups",
    "--utf8",
    "--setuser-priv",
];

#[test]
fn check04_full_port25() {
    let r = Root::new();
    queue_fix_stub(&r);
    let out = check_golden("check04_smtp25_full", &r, CHECK4);
    assert!(out.stdout_str().ends_with("Creating SMTP Listener Port 25, Service /service, Queue Base /var/indimail/queue, Queue Count 5, Queue Start 1\n"));
    let s = r.vars("qmail-smtpd.25");
    assert_vars(
        &s,
        &[
            (
                "QMAILQUEUE",
                "/usr/sbin/qmail-spamfilter /usr/sbin/qmail-dkim",
            ),
            ("DKIMVERIFY", "\"\""),
            ("UNSIGNED_SUBJECT", "\"\""),
            ("UNSIGNED_FROM", "∅"),
            ("SPAMFILTER", "/usr/bin/bogofilter -p -d /etc/indimail"),
            ("MAKE_SEEKABLE", "1"),
            ("SPAMEXITCODE", "0"),
            ("REJECTSPAM", "0"),
            ("BODYCHECK", "\"\""),
            ("VIRUSCHECK", "1"),
            ("PASSWD_CACHE", "\"\""),
            ("QUERY_CACHE", "\"\""),
            ("NODNSCHECK", "∅"),
            ("MASQUERADE", "\"\""),
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V3): --chkrecipient is not clobbered
            ("CHECKRECIPIENT", "1"),
            ("STARTTLS", "\"\""),
            ("CERTDIR", "/etc/indimail/certs"),
            ("INFIFO", "infifo"),
            ("INFIFODIR", "/run/indimail/inlookup"),
            ("LOGFILTER", "/run/indimail/logfifo"),
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V7): command-line order, no trailing blank
            (
                "RBLCOMMAND",
                "/usr/bin/rblsmtpd -rzen.spamhaus.org -rdnsbl-1.uceprotect.net",
            ),
            ("UTF8", "\"\""),
            ("CHECKRELAY", "\"\""),
        ],
    );
    assert!(r
        .read("service/qmail-smtpd.25/run")
        .contains("/usr/bin/tcpserver -v -h -R -l $HOSTNAME \\\n"));
    let d = r.vars("qmail-send.25");
    assert_vars(
        &d,
        &[
            ("DKIMSIGN", "/etc/indimail/control/domainkeys/%/default"),
            ("AUTH_SMTP", "plain"),
            ("QMAILLOCAL", "/usr/sbin/spawn-filter"),
            ("QMAILREMOTE", "/usr/sbin/spawn-filter"),
            ("RATELIMIT_DIR", "\"\""),
            ("ROUTE_NULL_USER", "postmaster"),
            ("AUTHSELF", "\"\""),
            ("MAILCOUNT_LIMIT", "-1"),
            ("MAILSIZE_LIMIT", "-1"),
            ("USE_SETGROUPS", "1"),
            ("SETUSER_PRIVILEGES", "1"),
            ("UTF8", "1"),
            ("CERTDIR", "/etc/indimail/certs"),
            ("SOFT_MEM", "104857600"),
        ],
    );
    assert_eq!(
        r.read("etc/indimail/control/filterargs"),
        "*:remote:/usr/sbin/qmail-dkim:DKIMQUEUE=/usr/bin/qcat\n"
    );
    let l = r.vars("qmail-logfifo");
    let synthetic =
        "/usr/sbin/svctool --fifologger=\"/run/indimail/logfifo\" --servicedir=\"/service\"";
    assert_vars(
        &l,
        &[
            ("LOGFILTER", "/run/indimail/logfifo"),
            (".options", synthetic),
        ],
    );
    assert!(r
        .read("service/qmail-logfifo/log/run")
        .ends_with("/var/log/svc/logfifo\n"));
    assert_eq!(
        r.read("var/log/svc/svctool.log"),
        format!("{DATE} {synthetic}\n")
    );
}

#[test]
fn check05_smtps_465() {
    let r = Root::new();
    check_golden(
        "check05_smtps465",
        &r,
        &[
            "--starttls",
            "--smtp=465",
            "--servicedir=/service",
            "--skipsend",
            "--authsmtp",
            "--ssl",
            "--utf8",
            "--rbl=-rzen.spamhaus.org",
        ],
    );
    assert!(!r.exists("service/qmail-send.465") && !r.exists("var/indimail/queue"));
    let s = r.vars("qmail-smtpd.465");
    assert_vars(
        &s,
        &[
            ("SMTPS", "\"\""),
            ("STARTTLS", "∅"),
            ("CERTDIR", "/etc/indimail/certs"),
            ("AUTHMODULES", "\"\""),
        ],
    );
    assert_absent(&s, &["DISABLE_VRFY"]);
    assert!(r
        .read("service/qmail-smtpd.465/run")
        .ends_with("\n/usr/sbin/qmail-smtpd $HOSTNAME \\$AUTHMODULES /bin/false\"\n"));
    assert!(r
        .read("service/qmail-smtpd.465/log/run")
        .ends_with("/var/log/svc/smtpd.465\n"));
}

#[test]
fn check06_submission_587() {
    let r = Root::new();
    check_golden(
        "check06_submission587",
        &r,
        &[
            "--smtp=587",
            "--servicedir=/service",
            "--skipsend",
            "--forceauthsmtp",
            "--antispoof",
            "--forcetls",
            "--utf8",
            "--secureauth",
            "--starttls",
        ],
    );
    let s = r.vars("qmail-smtpd.587");
    assert_vars(
        &s,
        &[
            ("REQUIREAUTH", "\"\""),
            ("AUTH_ALL", "∅"),
            ("CHECKRELAY", "∅"),
            ("FORCE_TLS", "\"\""),
            ("STARTTLS", "\"\""),
            ("SECURE_AUTH", "1"),
            ("ANTISPOOFING", "\"\""),
            ("CERTDIR", "/etc/indimail/certs"),
            ("RBLCOMMAND", "∅"),
        ],
    );
    assert!(r
        .read("service/qmail-smtpd.587/run")
        .contains("tcpserver -v -H -R"));
}

#[test]
fn check07_odmr_366() {
    let r = Root::new();
    let out = check_golden(
        "check07_odmr366",
        &r,
        &[
            "--smtp=366",
            "--odmr",
            "--servicedir=/service",
            "--skipsend",
            "--forceauthsmtp",
            "--starttls",
            "--query-cache",
            "--password-cache",
            "--infifo=infifo",
            "--memory=104857600",
        ],
    );
    assert_eq!(
        out.stdout_str(),
        "Creating SMTP Listener Port 366, Service /service\n"
    );
    let v = r.vars("qmail-smtpd.366");
    let names: Vec<&str> = v.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            ".envdir",
            ".options",
            "ALLOW_BARELF",
            "AUTHMODULES",
            "BADHELOCHECK",
            "CERTDIR",
            "CONTROLDIR",
            "DISABLE_PLUGIN",
            "ENABLE_CRAM",
            "ENFORCE_FQDN_HELO",
            "ENVHEADERS",
            "FORCE_TLS",
            "HIDE_HOST",
            "INFIFO",
            "INFIFODIR",
            "LOCALIP",
            "LOGFILTER",
            "MAXDAEMONS",
            "MAXPERIP",
            "MIN_FREE",
            "PASSWD_CACHE",
            "PATH",
            "PORT",
            "QMAILQUEUE",
            "QUERY_CACHE",
            "QUEUEDIR",
            "RBLCOMMAND",
            "REQUIREAUTH",
            "SECURE_AUTH",
            "SMTPS",
            "SOFT_MEM",
            "STARTTLS",
            "STRIP_DOMAIN"
        ]
    );
    assert_vars(
        &v,
        &[
            ("QMAILQUEUE", "/usr/sbin/qmail-multi"),
            ("QUEUEDIR", "∅"),
            ("REQUIREAUTH", "\"\""),
            ("STARTTLS", "\"\""),
        ],
    );
}

#[test]
fn check08_mini_smtpd_relay() {
    let r = Root::new();
    check_golden(
        "check08_mini_smtpd",
        &r,
        &[
            "--smtp=25",
            "--servicedir=/service",
            "--skipsend",
            "--no-multi",
            "--qmailqueue=/usr/sbin/qmail-qmqpc",
            "--qmailsmtpd=/usr/sbin/mini-smtpd",
            "--cntrldir=control",
            "--localip=0",
            "--maxdaemons=20",
            "--maxperip=5",
            "--memory=104857600",
            "--min-free=52428800",
            "--rbl=-rzen.spamhaus.org",
            "--rbl=-rdnsbl-1.uceprotect.net",
        ],
    );
    let v = r.vars("qmail-smtpd.25");
    assert_vars(
        &v,
        &[
            ("QMAILQUEUE", "/usr/sbin/qmail-qmqpc"),
            ("QUEUEDIR", "/queue1"),
        ],
    );
    assert_absent(&v, &["QUEUE_BASE", "QUEUE_COUNT", "QUEUE_START"]);
    let run = r.read("service/qmail-smtpd.25/run");
    assert!(run.ends_with("\n/usr/sbin/mini-smtpd\"\n") && run.contains("tcpserver -v -h"));
}

#[test]
fn check09_delivery_only() {
    let r = Root::new();
    queue_fix_stub(&r);
    let out = check_golden(
        "check09_delivery",
        &r,
        &[
            "--delivery=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=2",
            "--qstart=1",
            "--qtype=dynamic",
            "--routes=static",
            "--cname-lookup",
            "--sanitize-env=PATH,HOME",
            "--overquota_mailsize=1000",
            "--msgqsize=1000",
            "--default-domain=example.com",
            "--hide-host",
        ],
    );
    assert!(out
        .stdout_str()
        .contains("Creating Queue /var/indimail/queue/queue2\n"));
    let v = r.vars("qmail-send.25");
    assert_vars(
        &v,
        &[
            ("ROUTES", "static"),
            ("DISABLE_CNAME_LOOKUP", "∅"),
            ("SANITIZE_ENV", "PATH,HOME"),
            ("OVERQUOTA_MAILSIZE", "1000"),
            ("MSGQSIZE", "1000"),
            ("DEFAULT_DOMAIN", "example.com"),
            ("HIDE_HOST", "1"),
        ],
    );
    let run = r.read("service/qmail-send.25/run");
    assert!(run.contains("ulimit -q unlimited\n"));
    assert!(run.contains("softlimit -q \\$MSGQSIZE -m \\$SOFT_MEM -o 1024"));
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V6): the scheduler follows --qtype
    assert!(run.ends_with("/usr/sbin/qscheduler -d $defaultdelivery\"\n"));
}

const CHECK10: &[&str] = &[
    "--queueParam=defaultqueue",
    "--qbase=/var/indimail/queue",
    "--qcount=5",
    "--qstart=1",
    "--min-free=52428800",
    "--virus-filter",
    "--dkverify=none",
    "--dksign=none",
];

#[test]
fn check10_queue_parameters() {
    let r = Root::new();
    let out = r.svctool(CHECK10);
    ok(&out);
    assert_eq!(out.stdout_str(), "Creating queue envdir defaultqueue\n");
    golden("check10_queueparam", &tree(r.dir.path()));
    let d = r.path("etc/indimail/control/defaultqueue");
    assert_eq!(
        fs::metadata(&d).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    let names: Vec<String> = {
        let mut v: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names,
        [
            ".envdir",
            ".options",
            "HIDE_HOST",
            "LOGFILTER",
            "MIN_FREE",
            "QHPSI",
            "QMAILQUEUE",
            "QREGEX",
            "QUEUEDIR",
            "QUEUE_BASE",
            "QUEUE_COUNT",
            "QUEUE_START",
            "SPAMFILTER",
            "VIRUSCHECK"
        ]
    );
    for q in ["QUEUE_BASE", "QUEUE_COUNT", "QUEUE_START"] {
        let l = fs::read_link(r.path(&format!("etc/indimail/control/global_vars/{q}"))).unwrap();
        assert_eq!(l, Path::new(&format!("../defaultqueue/{q}")));
    }
    assert!(r
        .read("etc/indimail/control/global_vars/.options")
        .starts_with("/usr/sbin/svctool --queueParam=\"defaultqueue\""));
    // a later seed run inherits QUEUE_* through .envdir and writes none
    ok(&r.svctool(SEED));
    assert_absent(
        &r.vars("qmail-qmqpd.628"),
        &["QUEUE_BASE", "QUEUE_COUNT", "QUEUE_START"],
    );
}

#[test]
fn check11_slowq() {
    let r = Root::new();
    queue_fix_stub(&r);
    check_golden(
        "check11_slowq",
        &r,
        &[
            "--slowq",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--cntrldir=control",
            "--todo-proc",
            "--persistdb",
            "--starttls",
            "--dmemory=104857600",
            "--min-free=52428800",
            "--dksign=dkim",
            "--private_key=K",
            "--remote-authsmtp=plain",
            "--localfilter",
            "--remotefilter",
            "--setgroups",
            "--utf8",
            "--setuser-priv",
        ],
    );
    assert_eq!(
        r.read("calls"),
        format!(
            "queue-fix -s 151 -b 0 -r {}\n",
            r.path("var/indimail/queue/slowq").display()
        )
    );
    assert!(r.path("var/indimail/queue/slowq/ratelimit").is_dir());
    let v = r.vars("slowq-send");
    assert_vars(
        &v,
        &[
            ("QUEUEDIR", "/var/indimail/queue/slowq"),
            ("RATELIMIT_DIR", "/var/indimail/queue/slowq/ratelimit"),
            ("TODO_PROCESSOR", "1"),
            ("MYSQL_OPT_RECONNECT", "1"),
            ("DKIMSIGN", "K"),
            ("CERTDIR", "/etc/indimail/certs"),
        ],
    );
    assert!(r
        .read("service/slowq-send/run")
        .ends_with("/usr/sbin/slowq-start $defaultdelivery\"\n"));
    assert!(r
        .read("service/slowq-send/log/run")
        .ends_with("/var/log/svc/slowq\n"));
}

#[test]
fn check12_imap_starttls() {
    let r = Root::new();
    check_golden(
        "check12_imap143",
        &r,
        &[
            "--imap=143",
            "--servicedir=/service",
            "--starttls",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--infifo=infifo",
            "--query-cache",
            "--memory=524288000",
        ],
    );
    let v = r.vars("qmail-imapd.143");
    assert!(v.contains_key(".courier_variables") && v.contains_key(".variables"));
    assert_vars(
        &v,
        &[
            ("PORT", "143"),
            ("SSLPORT", "143"),
            ("IMAP_STARTTLS", "YES"),
            ("COURIERTLS", "/usr/bin/couriertls"),
            ("IMAPMODULES", "authindi authshadow authpam"),
            ("DESTPORT", "∅"),
            ("NOLASTAUTHLOGGING", "∅"),
            ("FIFOTMPDIR", "/run/indimail/inquery"),
            ("FIFO_MODE", "0660"),
            ("SOFT_MEM", "524288000"),
            ("QUERY_CACHE", "\"\""),
        ],
    );
    for f in [".variables", "PORT"] {
        let m = fs::metadata(r.path(&format!("service/qmail-imapd.143/variables/{f}"))).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o640, "{f}");
    }
    let run = r.read("service/qmail-imapd.143/run");
    assert!(run.contains("\\$LOCALIP \\$PORT \\\n$prefix/sbin/imaplogin "));
    assert!(r
        .read("service/qmail-imapd.143/log/run")
        .ends_with("/var/log/svc/imapd.143\n"));
}

#[test]
fn check13_imaps() {
    let r = Root::new();
    check_golden(
        "check13_imaps993",
        &r,
        &[
            "--imap=993",
            "--servicedir=/service",
            "--ssl",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--infifo=infifo",
            "--query-cache",
            "--memory=524288000",
        ],
    );
    let v = r.vars("qmail-imapd-ssl.993");
    assert_absent(&v, &["IMAP_STARTTLS"]);
    assert_vars(&v, &[("SSLPORT", "993"), ("IMAP_TLS", "1")]);
    let run = r.read("service/qmail-imapd-ssl.993/run");
    assert!(run.contains("\\$SSLADDRESS \\$SSLPORT \\\n$prefix/bin/couriertls -server -tcpd \\\n"));
    assert!(r
        .read("service/qmail-imapd-ssl.993/log/run")
        .ends_with("/var/log/svc/imapd-ssl.993\n"));
}

#[test]
fn check14_pop3_proxy_ssl() {
    let r = Root::new();
    check_golden(
        "check14_proxy_pop3_ssl",
        &r,
        &[
            "--pop3=9110",
            "--servicedir=/service",
            "--localip=0",
            "--infifo=infifo",
            "--maxdaemons=40",
            "--maxperip=25",
            "--query-cache",
            "--memory=524288000",
            "--proxy=110",
            "--ssl",
        ],
    );
    let v = r.vars("proxy-pop3d-ssl.9110");
    assert_vars(
        &v,
        &[
            ("DESTPORT", "pop3:110"),
            ("ADMIN_HOST", "localhost"),
            ("ADMIN_PORT", "4000"),
            ("ADMIN_USER", "admin"),
            ("ADMIN_PASS", "benhur20"),
            ("HARD_QUOTA", "∅"),
            ("DATA_TIMEOUT", "1"),
            ("LEGACY_SERVER", "∅"),
            ("POP3AUTH", "LOGIN PLAIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"),
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V8): POP3AUTH_TLS carries the list
            ("POP3AUTH_TLS", "LOGIN PLAIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"),
            ("TLS_ALPN", "pop3"),
        ],
    );
    assert!(r
        .read("service/proxy-pop3d-ssl.9110/run")
        .ends_with("\n/usr/bin/proxypop3 $bindir/pop3d Maildir\"\n"));
    assert!(r
        .read("service/proxy-pop3d-ssl.9110/log/run")
        .ends_with("/var/log/svc/proxyPOP3-ssl.9110\n"));
}

#[test]
fn check15_inlookup() {
    let r = Root::new();
    let args = [
        "--inlookup=infifo",
        "--servicedir=/service",
        "--cntrldir=control",
        "--threads=5",
        "--activeDays=60",
        "--query-cache",
        "--password-cache",
        "--use-btree",
        "--max-btree-count=10000",
    ];
    check_golden("check15_inlookup", &r, &args);
    assert_eq!(r.read("service/inlookup.infifo/wait"), "10\nmysql.3306\n");
    assert_eq!(r.read("service/inlookup.infifo/down"), "");
    let v = r.vars("inlookup.infifo");
    assert_vars(
        &v,
        &[
            ("INFIFO", "infifo"),
            ("INFIFODIR", "/run/indimail/inlookup"),
            ("THREAD_COUNT", "5"),
            ("CACHE_COUNT", "5184000"),
            ("USE_BTREE", "1"),
            ("MAX_BTREE_COUNT", "10000"),
            ("MYSQL_READ_DEFAULT_GROUP", "inlookup"),
            ("FIFO_MODE", "0660"),
        ],
    );
    let m = fs::metadata(r.path("service/inlookup.infifo/variables")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o500);
    fs::create_dir_all(r.path("service/mysql.3306")).unwrap();
    ok(&r.svctool(&args));
    assert!(!r.exists("service/inlookup.infifo/down"));
}

#[test]
fn check16_udplogger() {
    let r = Root::new();
    check_golden(
        "check16_udplogger",
        &r,
        &[
            "--udplogger=3000",
            "--localip=0",
            "--timeout=10",
            "--servicedir=/service",
        ],
    );
    let v = r.vars("udplogger.3000");
    assert_vars(
        &v,
        &[
            ("CONTROLDIR", "/etc/indimail/control"),
            ("LOCALIP", "0"),
            ("PORT", "3000"),
            ("SOFT_MEM", "52428800"),
            ("TIMEOUT", "10"),
        ],
    );
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V10): no leading blank
    assert!(r
        .read("service/udplogger.3000/run")
        .ends_with("\n/usr/sbin/udplogger -p \\$PORT -t \\$TIMEOUT \\$LOCALIP\"\n"));
    assert!(r
        .read("service/udplogger.3000/log/run")
        .ends_with("/var/log/svc/udplogger.3000\n"));
    let r2 = Root::new();
    ok(&r2.svctool(&["--udplogger=3000", "--servicedir=/service"]));
    assert_vars(
        &r2.vars("udplogger.3000"),
        &[("LOCALIP", "127.0.0.1"), ("TIMEOUT", "60")],
    );
}

#[test]
fn check17_greylist() {
    let r = Root::new();
    check_golden(
        "check17_greylist",
        &r,
        &[
            "--greylist=1999",
            "--servicedir=/service",
            "--min-resend-min=2",
            "--resend-win-hr=24",
            "--timeout-days=30",
            "--context-file=greylist.context",
            "--hash-size=65536",
            "--save-interval=5",
            "--whitelist=greylist.white",
        ],
    );
    let run = r.read("service/greylist.1999/run");
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V10): one blank after -g
    assert!(
        run.contains(
            "/usr/sbin/qmail-greyd -w /etc/indimail/control/greylist.white -t 30 -g 24 \\\n"
        ),
        "{run}"
    );
    assert!(
        run.contains("-m 2 -s 5 -h 65536 \\$LOCALIP /etc/indimail/control/greylist.context\"\n")
    );
    assert_vars(&r.vars("greylist.1999"), &[("LOCALIP", "127.0.0.1")]);
    let out = r.svctool(&[
        "--greylist=1999",
        "--servicedir=/service",
        "--context-file=/tmp/x",
    ]);
    out.assert(1, "", "context file cannot have absolute path\n");
}

#[test]
fn check18_tlsa() {
    let r = Root::new();
    check_golden(
        "check18_tlsa",
        &r,
        &[
            "--tlsa=1998",
            "--servicedir=/service",
            "--timeout-days=30",
            "--context-file=tlsa.context",
            "--hash-size=65536",
            "--save-interval=5",
            "--whitelist=tlsa.white",
        ],
    );
    assert_vars(
        &r.vars("qmail-daned.1998"),
        &[("DANEPROG", "/usr/libexec/indimail/daneprog")],
    );
    assert!(r
        .read("service/qmail-daned.1998/log/run")
        .ends_with("/var/log/svc/daned.1998\n"));
}

#[test]
fn check19_pwdlookup() {
    let r = Root::new();
    check_golden(
        "check19_pwdlookup",
        &r,
        &[
            "--pwdlookup=/run/indimail/nssd.sock",
            "--threads=5",
            "--timeout=-1",
            "--mysqlhost=localhost",
            "--mysqluser=indimail",
            "--mysqlpass=X",
            "--mysqlsocket=/run/mysqld/mysqld.sock",
            "--servicedir=/service",
        ],
    );
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V9): the socket given is the socket used
    assert_vars(
        &r.vars("pwdlookup"),
        &[("NSSD_SOCKET", "/run/indimail/nssd.sock")],
    );
    assert!(r.exists("service/pwdlookup/wait") && r.exists("service/pwdlookup/down"));
    let conf = r.read("etc/indimail/nssd.conf");
    for l in [
        "threads     5\n",
        "timeout     -1\n",
        "socket      /run/mysqld/mysqld.sock\n",
    ] {
        assert!(conf.contains(l), "{l}");
    }
    assert_eq!(
        fs::metadata(r.path("etc/indimail/nssd.conf"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o640
    );
}

#[test]
fn check20_svscanlog() {
    let r = Root::new();
    check_golden(
        "check20_svscanlog",
        &r,
        &["--svscanlog", "--servicedir=/service"],
    );
    let v = r.vars(".svscan");
    assert_vars(
        &v,
        &[
            ("AUTOSCAN", "1"),
            ("INITCMD", "\"\""),
            (
                "PATH",
                "/usr/bin:/bin:/usr/local/bin:/usr/sbin:/sbin:/usr/local/sbin",
            ),
            ("SCANINTERVAL", "300"),
            ("SCANLOG", "\"\""),
            ("UNSHARE", "∅"),
        ],
    );
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V11): $P/bin/svc
    assert!(r
        .read("service/.svscan/shutdown")
        .ends_with("\n/usr/bin/svc -dx /service/*\n"));
    assert!(r
        .read("service/.svscan/log/run")
        .ends_with("/var/log/svc/svscan\n"));
    assert!(!r.exists("service/.svscan/run"));
}

#[test]
fn check21_rmsvc() {
    let r = Root::new();
    ok(&r.svctool(SEED));
    let out = r.svctool(&["--rmsvc=/service/qmail-qmqpd.628"]);
    out.assert(
        0,
        "",
        "/service/qmail-qmqpd.628/supervise not a supervise directory\n",
    );
    assert!(r.exists("service/qmail-qmqpd.628"));
    mkfifo(&r.path("run/svscan/qmail-qmqpd.628/supervise/control"));
    let out = r.svctool(&["--rmsvc=/service/qmail-qmqpd.628"]);
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout_str(), "Removed Service qmail-qmqpd.628\n");
    assert!(r.exists("service/.qmail-qmqpd.628") && !r.exists("service/qmail-qmqpd.628"));
    assert!(r.exists("run/svscan/.qmail-qmqpd.628") && !r.exists("run/svscan/qmail-qmqpd.628"));
    let out = r.svctool(&["--rmsvc=/service/missing"]);
    out.assert(0, "", "/service/missing: No such file or directory\n");
    // and back
    let out = r.svctool(&["--ensvc=/service/.qmail-qmqpd.628"]);
    assert_eq!(out.code, Some(0));
    assert!(out
        .stdout_str()
        .starts_with("Enabled Service qmail-qmqpd.628\n"));
    assert!(r.exists("service/qmail-qmqpd.628") && !r.exists("run/svscan/.qmail-qmqpd.628"));
    let out = r.svctool(&["--ensvc=/service/qmail-qmqpd.628"]);
    out.assert(0, "", "Service /service/qmail-qmqpd.628 is not disabled (should have a '.' as the first char in qmail-qmqpd.628)\n");
}

#[test]
fn check22_print_variables() {
    let r = Root::new();
    ok(&r.svctool(SEED));
    let out = r.svctool(&[
        "--print-variables",
        "--servicedir=/service",
        "--service-name=qmail-qmqpd.628",
    ]);
    let want = "------ environment variables for /service/qmail-qmqpd.628 ------------\n\
BIGTODO=0\nCONFSPLIT=151\nCONTROLDIR=/etc/indimail/control\nLOCALIP=0\nMAXDAEMONS=75\nMAXPERIP=25\n\
MIN_FREE=52428800\nPATH=/bin:/usr/bin:/usr/sbin:/sbin\nPORT=628\nQMAILQUEUE=/usr/sbin/qmail-multi\n\
QUEUE_BASE=/var/indimail/queue\nQUEUE_COUNT=5\nQUEUE_START=1\nSOFT_MEM=104857600\nUSE_FDATASYNC=1\n\
USE_FSYNC=1\nUSE_SYNCDIR=1\n\nNOTE: additional variables were obtained from .envdir\n\
/etc/indimail/control/global_vars\n\n";
    out.assert(0, want, "");
    let out = r.svctool(&["--print-variables", "--servicedir=/service"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (
            Some(1),
            "service name or envdir has to be specified\n".into()
        )
    );
    let out = r.svctool(&[
        "--print-variables",
        "--servicedir=/service",
        "--service-name=x",
        "--envdir=/y",
    ]);
    out.assert(
        1,
        "",
        "you cannot specify both service name and envdir both\n",
    );
    let out = r.svctool(&[
        "--print-variables",
        "--servicedir=/service",
        "--service-name=nope",
    ]);
    out.assert(1, "", "/service/nope: No such file or directory\n");
}

#[test]
fn check23_set_and_unset_variable() {
    let r = Root::new();
    ok(&r.svctool(SEED));
    let args = [
        "--set-variable=GREYIP",
        "--variable-value=127.0.0.1@1999",
        "--servicedir=/service",
        "--service-name=qmail-qmqpd.628",
    ];
    let out = r.svctool(&args);
    out.assert(0, "setting env variable GREYIP=[127.0.0.1@1999]\nexport qmail-qmqpd.628                     root 0 0640\n", "");
    let p = r.path("service/qmail-qmqpd.628/variables/GREYIP");
    assert_eq!(fs::read_to_string(&p).unwrap(), "127.0.0.1@1999\n");
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let exported = r.read("service/qmail-qmqpd.628/variables/.variables");
    for l in [
        "GREYIP=127.0.0.1@1999\n",
        "HIDE_HOST=\n",
        "PORT=628\n",
        "QUEUEDIR=\n",
    ] {
        assert!(exported.contains(l), "{l} in {exported}");
    }
    let out = r.svctool(&args);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(1), "GREYIP exists. Use --force to overwrite\n".into())
    );
    ok(&r.svctool(&[
        "--unset-variable=PORT",
        "--servicedir=/service",
        "--service-name=qmail-qmqpd.628",
    ]));
    assert_eq!(r.read("service/qmail-qmqpd.628/variables/PORT"), "");
    ok(&r.svctool(&[
        "--remove-variable=GREYIP",
        "--servicedir=/service",
        "--service-name=qmail-qmqpd.628",
    ]));
    assert!(!r.exists("service/qmail-qmqpd.628/variables/GREYIP"));
}

#[test]
fn refresh_keeps_modes_and_owners_of_existing_files() {
    // files are rewritten as `echo > file` does: a refresh keeps what the administrator or
    // a variable action set (--modify-variable leaves MAXDAEMONS 0640 root:root)
    let r = Root::new();
    ok(&r.svctool(SEED));
    ok(&r.svctool(&[
        "--modify-variable=MAXDAEMONS",
        "--variable-value=80",
        "--servicedir=/service",
        "--service-name=qmail-qmqpd.628",
    ]));
    let run = r.path("service/qmail-qmqpd.628/run");
    fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).unwrap();
    ok(&r.svctool(&[
        "--refreshsvc=/service/qmail-qmqpd.628",
        "--servicedir=/service",
    ]));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let maxd = r.path("service/qmail-qmqpd.628/variables/MAXDAEMONS");
    assert_eq!(fs::read_to_string(&maxd).unwrap(), "75\n");
    assert_eq!(mode(&maxd), 0o640);
    // chmod +x of an existing script
    assert_eq!(mode(&run), 0o711);
    assert_eq!(
        mode(&r.path("service/qmail-qmqpd.628/variables/PORT")),
        0o644
    );
}

#[test]
fn queue_param_logfilter_makes_no_logfifo() {
    // the reference asks for qmail-logfifo without a service directory: it fails and the
    // request is the command svctool.log records
    let r = Root::new();
    let out = r.svctool(&[
        "--queueParam=defaultqueue",
        "--qbase=/var/indimail/queue",
        "--qcount=5",
        "--qstart=1",
        "--logfilter=/run/indimail/logfifo",
        "--servicedir=/service",
    ]);
    out.assert(
        0,
        "Creating queue envdir defaultqueue\n",
        "USAGE: create_fifologger fifo_path servicedir\n",
    );
    assert!(!r.exists("service/qmail-logfifo"));
    assert_eq!(
        r.read("etc/indimail/control/defaultqueue/LOGFILTER"),
        "/run/indimail/logfifo\n"
    );
    assert_eq!(
        r.read("var/log/svc/svctool.log"),
        format!(
            "{DATE} /usr/sbin/svctool --fifologger=\"/run/indimail/logfifo\" --servicedir=\"\"\n"
        )
    );
}

#[test]
fn clamd_qhpsi_fixup_keeps_the_queue_files_owner() {
    let r = Root::new();
    ok(&r.svctool(&[
        "--queueParam=defaultqueue",
        "--qbase=/var/indimail/queue",
        "--qcount=5",
        "--qstart=1",
    ]));
    ok(&r.svctool(&["--clamd", "--servicedir=/service", "--clamdPrefix=/usr"]));
    let q = "etc/indimail/control/defaultqueue";
    let qhpsi = "/usr/bin/clamdscan %s --fdpass --quiet --no-summary";
    assert_eq!(r.read(&format!("{q}/QHPSI")), format!("{qhpsi}\n"));
    assert!(r
        .read(&format!("{q}/.options"))
        .ends_with(&format!(" --qhpsi=\"{qhpsi}\"\n")));
    if is_root() {
        use std::os::unix::fs::MetadataExt;
        for f in [".options", "QHPSI"] {
            let m = fs::metadata(r.path(&format!("{q}/{f}"))).unwrap();
            assert_eq!(
                (m.uid(), m.gid(), m.mode() & 0o7777),
                (1555, 1556, 0o644),
                "{f}"
            );
        }
    }
    // --sysconfdir names the configuration directory of the run: freshclam's too
    let r = Root::new();
    ok(&r.svctool(&[
        "--clamd",
        "--servicedir=/service",
        "--clamdPrefix=/usr",
        "--sysconfdir=/etc/clamav",
    ]));
    let fresh = r.read("service/freshclam/run");
    assert!(fresh.contains("cmp /etc/clamav/foxhole_all.cdb $dbd/foxhole_all.cdb"));
}

#[test]
fn check24_refresh_autorefresh_nooverwrite_servicetag() {
    let r = Root::new();
    ok(&r.svctool(SEED));
    let vars = "service/qmail-qmqpd.628/variables";
    let edit = |name: &str, val: &str| {
        let d = r.path(vars);
        let mode = fs::metadata(&d).unwrap().permissions().mode();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(d.join(name), val).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
    };
    edit("MAXDAEMONS", "9\n");
    edit("CUSTOM", "x\n");
    r.write("service/qmail-qmqpd.628/down", "");
    let out = r.svctool(&[
        "--refreshsvc=/service/qmail-qmqpd.628",
        "--servicedir=/service",
    ]);
    ok(&out);
    assert!(
        out.stdout_str().starts_with(&format!(
            "Refreshing service qmail-qmqpd.628 command {OPTS}\n"
        )),
        "{out:?}"
    );
    assert_eq!(r.read(&format!("{vars}/MAXDAEMONS")), "75\n");
    assert_eq!(r.read(&format!("{vars}/CUSTOM")), "x\n");
    assert!(r.exists("service/qmail-qmqpd.628/down"));
    assert_eq!(r.read("var/log/svc/svctool.log").lines().count(), 3);
    let out = r.svctool(&[
        "--autorefresh=0 /service/qmail-qmqpd.628",
        "--servicedir=/service",
    ]);
    out.assert(
        0,
        "Disabling auto refresh for /service/qmail-qmqpd.628\n",
        "",
    );
    assert!(r.exists(&format!("{vars}/.norefreshsvc")));
    edit("MAXDAEMONS", "9\n");
    let out = r.svctool(&[
        "--refreshsvc=/service/qmail-qmqpd.628",
        "--servicedir=/service",
    ]);
    out.assert(0, "Skip Refreshing service/config qmail-qmqpd.628\n", "");
    assert_eq!(r.read(&format!("{vars}/MAXDAEMONS")), "9\n");
    let mut nooverwrite: Vec<&str> = SEED.to_vec();
    nooverwrite.push("--nooverwrite");
    ok(&r.svctool(&nooverwrite));
    assert_eq!(r.read(&format!("{vars}/MAXDAEMONS")), "9\n");
    let mut tagged: Vec<&str> = SEED.to_vec();
    tagged.push("--servicetag=backup");
    ok(&r.svctool(&tagged));
    assert_vars(&r.vars("qmail-qmqpd.backup"), &[("PORT", "628")]);
    assert!(r
        .read("service/qmail-qmqpd.backup/log/run")
        .ends_with("/var/log/svc/qmqpd.backup\n"));
}

#[test]
fn check25_errors() {
    let r = Root::new();
    let out = r.svctool(&[]);
    assert_eq!((out.code, out.stderr_str()), (Some(1), String::new()));
    assert!(out.stdout_str().starts_with("Usage: svctool [OPTION]"));
    let out = r.svctool(&["--bogus"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(1), "invalid option [--bogus]\n".into())
    );
    let out = r.svctool(&["--qmqp=628", "--servicedir=/service"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(1), "Queue Directory not specified\n".into())
    );
    assert!(!r.exists("service"));
    let out = r.svctool(&["--servicedir=/service"]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(1), "No Options Provided\n".into())
    );
    let out = r.svctool(&["--spamfilter=bogofilter"]);
    out.assert(1, "", "spamfilter must be an absolute path\n");
    let out = r.svctool(&["--version"]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout_str().starts_with("# $Id: ") && out.stdout_str().ends_with(" $\n"));
    let out = r.svctool(&["--help"]);
    assert_eq!((out.code, out.stderr_str()), (Some(0), String::new()));
    assert!(out.stdout_str().contains("--queueParam=NAME"));
}

#[test]
fn not_root_is_refused() {
    if !is_root() {
        // we are a mere mortal already
        let out = Cmd::bin("svctool").clean_env().arg("--qmqp=628").run();
        out.assert(
            100,
            "svctool is not meant to be run by mere mortals. Use sudo to get superpowers\n",
            "",
        );
        return;
    }
    let (uid, gid, _) = blackbox::user("nobody").expect("nobody");
    let out = Cmd::bin("svctool")
        .clean_env()
        .user(uid, gid)
        .arg("--qmqp=628")
        .run();
    out.assert(
        100,
        "svctool is not meant to be run by mere mortals. Use sudo to get superpowers\n",
        "",
    );
}

#[test]
fn bad_ports_and_missing_options() {
    let r = Root::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--smtp=abc", "--servicedir=/service", "--skipsend"],
            "SMTP PORT should be a positive number\n",
        ),
        (
            &["--smtp=0", "--servicedir=/service", "--skipsend"],
            "SMTP PORT should be a positive number\n",
        ),
        (
            &["--smtp=70000", "--servicedir=/service", "--skipsend"],
            "SMTP PORT should be a positive number\n",
        ),
        (
            &["--qmtp=-1", "--servicedir=/service"],
            "QMTP PORT should be a positive number\n",
        ),
        (
            &[
                "--smtp=25",
                "--servicedir=/service",
                "--qbase=/q",
                "--qstart=1",
            ],
            "Queue Count not specified\n",
        ),
        (
            &[
                "--smtp=25",
                "--servicedir=/service",
                "--qbase=/q",
                "--qcount=0",
                "--qstart=1",
            ],
            "No of Queues should be a positive number\n",
        ),
        (
            &[
                "--smtp=25",
                "--servicedir=/service",
                "--qbase=/q",
                "--qcount=1",
                "--qstart=x",
            ],
            "Start Queue Number should be a positive number\n",
        ),
        (
            &[
                "--smtp=25",
                "--servicedir=/service",
                "--skipsend",
                "--dksign=dkim",
            ],
            "--private_key not specfied\n",
        ),
        (
            &[
                "--smtp=25",
                "--servicedir=/service",
                "--skipsend",
                "--dkverify=bogus",
            ],
            "invalid --dkverify=bogus\n",
        ),
        (
            &["--imap=x", "--servicedir=/service"],
            "IMAP PORT should be a positive number\n",
        ),
        (
            &["--poppass=106", "--servicedir=/service"],
            "Setpassword Command not specified\n",
        ),
        (
            &[
                "--poppass=106",
                "--servicedir=/service",
                "--setpassword=/bin/x",
                "--ssl",
            ],
            "--ssl option given and Certficate not specified\n",
        ),
        (
            &[
                "--indisrvr=4000",
                "--servicedir=/service",
                "--avguserquota=1",
                "--hardquota=600000",
                "--base_path=/home/mail",
            ],
            "Average User Quota should be greater than 500k\n",
        ),
        (
            &["--inlookup=infifo", "--servicedir=/service"],
            "Thread Count not specified\n",
        ),
        (
            &[
                "--pwdlookup=/s",
                "--servicedir=/service",
                "--threads=5",
                "--timeout=1",
                "--mysqlhost=h",
                "--mysqluser=u",
                "--mysqlpass=p",
            ],
            "MySQL Port/Socket not specified\n",
        ),
        (
            &[
                "--mysql=3306",
                "--servicedir=/service",
                "--databasedir=/d",
                "--mysqlPrefix=/usr",
            ],
            "Config file not specified\n",
        ),
        (
            &["--set-variable=X", "--servicedir=/service"],
            "service name not specified\n",
        ),
        (&["--config=bogus"], "Invalid configuration option bogus\n"),
        (
            &["--qtype=bogus"],
            "qtype must be static, dynamic or compat\n",
        ),
        (
            &["--queueParam=a/b"],
            "queuedef cannot be an absolute path\n",
        ),
        (
            &["--whitelist=/etc/x"],
            "whitelist file cannot have absolute path\n",
        ),
        (
            &["--tlsprog=couriertls"],
            "tlsprog must be an absolute path\n",
        ),
        (&["--module=x"], "--config option not specified\n"),
        (&["--rmsvc", "/service/x"], "invalid option [--rmsvc]\n"),
        (&["--fsync=1"], "invalid option [--fsync=1]\n"),
    ];
    for (args, err) in cases {
        let out = r.svctool(args);
        assert_eq!(
            (out.code, out.stderr_str()),
            (Some(1), err.to_string()),
            "{args:?}: {out:?}"
        );
    }
    assert!(!r.exists("service"), "no error path may create a service");
    // create-time failures exit non-zero (docs/decisions.md#s3)
    let out = r.svctool(&[
        "--indisrvr=4000",
        "--servicedir=/service",
        "--avguserquota=600000",
        "--hardquota=600000",
        "--base_path=/home/mail",
        "--ssl",
    ]);
    out.assert(1, "", "Certificate not specfied\n");
    let out = r.svctool(&[
        "--mysql=3306",
        "--servicedir=/service",
        "--databasedir=/d",
        "--mysqlPrefix=/usr",
        "--config=/etc/indimail/indimail.cnf",
    ]);
    assert_eq!(
        (out.code, out.stderr_str()),
        (Some(111), "mysqld: No such File or directory\n".into())
    );
}

#[test]
fn refused_options_name_themselves() {
    let r = Root::new();
    for (args, name) in [
        (&["--backup=/tmp", "--servicedir=/service"][..], "--backup"),
        (&["--report=all"], "--report"),
        (&["--repair-tables"], "--repair-tables"),
        (&["--config=mysqldb"], "--config=mysqldb"),
        (&["--config=selinux"], "--config=selinux"),
        (&["--config=clamd"], "--config=clamd"),
        (&["--config=bogofilter"], "--config=bogofilter"),
        (&["--config=snmpdconf"], "--config=snmpdconf"),
    ] {
        let out = r.svctool(args);
        assert_eq!(out.code, Some(100), "{args:?}");
        let e = out.stderr_str();
        assert!(
            e.starts_with(&format!("svctool: {name} (")) && e.contains("not supported"),
            "{e}"
        );
    }
}

#[test]
fn usage_never_reads_stdin_when_not_a_terminal() {
    let r = Root::new();
    // stdin is a pipe that never closes: the reference would block reading it
    let mut run = r.cmd("svctool").arg("--bogus").stdin_pipe().spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !run.has_exited() {
        assert!(
            std::time::Instant::now() < deadline,
            "svctool waited on stdin"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run.close_stdin();
    assert_eq!(run.wait().code, Some(1));
}

#[test]
fn options_record_is_shell_safe() {
    let r = Root::new();
    ok(&r.svctool(&[
        "--udplogger=3000",
        "--servicedir=/service",
        "--initcmd=echo \"$HOME\" `id`",
    ]));
    let o = r.vars("udplogger.3000")[".options"].clone();
    assert!(o.contains(r#"--initcmd='echo "$HOME" `id`'"#), "{o}");
    let out = Cmd::new("sh")
        .arg("-n")
        .arg(r.path("service/udplogger.3000/variables/.options"))
        .run();
    assert_eq!(out.code, Some(0));
}

#[test]
fn down_flag_creates_down_in_the_service_dir() {
    let r = Root::new();
    ok(&r.svctool(&["--imap=993", "--ssl", "--servicedir=/service", "--down"]));
    assert_eq!(r.read("service/qmail-imapd-ssl.993/down"), "");
    assert!(!r.exists("service/qmail-imapd.993"));
}

// ----- the other service kinds of docs/svctool.md#service-kinds (one golden each) -----

#[test]
fn kind_poppass_ssl() {
    let r = Root::new();
    check_golden(
        "kind_poppass",
        &r,
        &[
            "--poppass=106",
            "--servicedir=/service",
            "--setpassword=/usr/sbin/vsetpass",
            "--ssl",
            "--certfile=/etc/indimail/certs/servercert.pem",
            "--localip=0",
        ],
    );
    assert_vars(
        &r.vars("qmail-poppass.106"),
        &[
            ("PASSWORD_COMMAND", "/usr/sbin/vsetpass /bin/false"),
            ("CERTFILE", "/etc/indimail/certs/servercert.pem"),
            ("MAXPERIP", "10"),
        ],
    );
    let run = r.read("service/qmail-poppass.106/run");
    assert!(run.contains("-n \\$CERTFILE \\\n-u $MYUID -g $MYGID,qcerts \\$LOCALIP \\$PORT \\\n"));
}

#[test]
fn kind_indisrvr() {
    let r = Root::new();
    check_golden(
        "kind_indisrvr",
        &r,
        &[
            "--indisrvr=4000",
            "--servicedir=/service",
            "--avguserquota=2097152",
            "--hardquota=52428800",
            "--base_path=/home/mail",
            "--mysqlhost=localhost",
            "--mysqluser=indimail",
            "--mysqlpass=ssh-1.5-",
        ],
    );
    assert_vars(
        &r.vars("indisrvr.4000"),
        &[
            ("CNTRL_HOST", "localhost"),
            ("CNTRL_PASSWD", "ssh-1.5-"),
            ("CERTFILE", "∅"),
            ("DATA_TIMEOUT", "300"),
            ("MYSQL_OPT_RECONNECT", "∅"),
            ("MYSQL_READ_DEFAULT_FILE", "/etc/indimail/indimail.cnf"),
        ],
    );
}

#[test]
fn kind_qscanq_fetchmail_fifologger() {
    let r = Root::new();
    check_golden(
        "kind_qscanq",
        &r,
        &["--qscanq", "--servicedir=/service", "--scanint=20"],
    );
    assert!(r
        .read("service/qscanq/run")
        .ends_with("  -l -s 20 /var/indimail/qscanq/root/scanq\n"));
    assert!(r
        .read("service/qscanq/init")
        .contains("/usr/bin/chown qscand:root $svdir/qscanq/supervise\n"));
    let r = Root::new();
    check_golden(
        "kind_fetchmail",
        &r,
        &["--fetchmail", "--servicedir=/service", "--silent"],
    );
    assert_vars(
        &r.vars("fetchmail"),
        &[
            ("QUEUE_BASE", "/var/indimail/queue"),
            ("QUEUE_COUNT", "5"),
            ("SOFT_MEM", "5242880"),
            ("REJECTSPAM", "∅"),
            ("SPAMEXITCODE", "∅"),
        ],
    );
    assert!(r
        .read("service/fetchmail/run")
        .ends_with("/usr/bin/fetchmail --silent --nodetach -f /etc/indimail/fetchmailrc\"\n"));
    let r = Root::new();
    let out = check_golden(
        "kind_fifologger",
        &r,
        &[
            "--fifologger=/run/indimail/logfifo",
            "--servicedir=/service",
        ],
    );
    assert_eq!(
        out.stdout_str(),
        "Creating fifologger /run/indimail/logfifo in /service\n"
    );
    assert_eq!(
        fs::metadata(r.path("service/qmail-logfifo/variables"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o555
    );
}

#[test]
fn kind_clamd_and_freshclam() {
    let r = Root::new();
    // a scanning service without qhpsi: clamd adds it to .options and QHPSI
    ok(&r.svctool(&["--smtp=25", "--servicedir=/service", "--skipsend"]));
    check_golden(
        "kind_clamd",
        &r,
        &[
            "--clamd",
            "--servicedir=/service",
            "--clamdPrefix=/usr",
            "--sysconfdir=/etc/indimail",
        ],
    );
    let q = "/usr/bin/clamdscan %s --fdpass --quiet --no-summary";
    assert_vars(&r.vars("qmail-smtpd.25"), &[("QHPSI", q)]);
    assert!(r.vars("qmail-smtpd.25")[".options"].ends_with(&format!(" --qhpsi=\"{q}\"\n")));
    assert!(r
        .read("service/clamd/run")
        .ends_with("exec /usr/sbin/clamd \\\n  --config-file=/etc/indimail/scan.conf\n"));
    assert!(r.exists("service/freshclam/run"));
    assert!(!r.exists("service/clamd/variables/.envdir"));
}

#[test]
fn kind_mysql_with_a_stub_mysqld() {
    let r = Root::new();
    // a mysqld that is MariaDB 10 and knows a few of the flags svctool asks about
    r.write(
        "opt/mysql/sbin/mariadbd",
        "#!/bin/sh\ncase \"$*\" in\n*--version*) echo 'mariadbd  Ver 10.11.6-MariaDB for Linux' ;;\n*) printf '  --memlock   Lock mysqld in memory\\n  --skip-name-resolve Do not resolve host names\\n  --log-warnings[=#]  Log some warnings\\n  --general-log       Log connections\\n  --slow-query-log    Log slow queries\\n  --general-log-file=name  Log file\\n  --explicit-defaults-for-timestamp  TIMESTAMP\\n' ;;\nesac\n",
    );
    fs::set_permissions(
        r.path("opt/mysql/sbin/mariadbd"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    r.write(
        "etc/indimail/indimail.cnf",
        "[mysqld]\nsocket = /run/mysqld/mysqld.sock\n",
    );
    check_golden(
        "kind_mysql",
        &r,
        &[
            "--mysql=3306",
            "--servicedir=/service",
            "--databasedir=/var/indimail/mysqldb",
            "--mysqlPrefix=/opt/mysql",
            "--config=/etc/indimail/indimail.cnf",
        ],
    );
    let run = r.read("service/mysql.3306/run");
    assert!(run.contains("--memlock \\\n--skip-external-locking \\\n--skip-name-resolve \\\n"));
    assert!(run.contains("--log-warnings=2 \\\n") && run.ends_with("--pid-file=$PIDFILE 2>&1\n"));
    let m = fs::metadata(r.path("service/mysql.3306/shutdown")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o500);
    assert_eq!(
        fs::metadata(r.path("etc/indimail/logrotate.mysql"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o600
    );
    // no .envdir for mysql (docs/svctool.md#service-directories)
    assert!(!r.exists("service/mysql.3306/variables/.envdir"));
}

#[test]
fn kind_svscan_with_resolvconf() {
    if !Path::new("/usr/bin/unshare").exists() {
        return blackbox::skip("/usr/bin/unshare missing");
    }
    let r = Root::new();
    r.write("service/dnscache/run", "#!/bin/sh\n");
    fs::set_permissions(
        r.path("service/dnscache/run"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    r.stub("usr/bin/inotify");
    check_golden(
        "kind_svscan_resolvconf",
        &r,
        &[
            "--svscanlog",
            "--servicedir=/service",
            "--resolvconf",
            "--initcmd=/usr/bin/true",
            "--scanint=60",
        ],
    );
    assert!(r
        .read("service/.svscan/run")
        .contains("/usr/bin/mount --bind /etc/indimail/resolv.conf /etc/resolv.conf\n"));
    assert!(r
        .read("service/.svscan/shutdown")
        .contains("/usr/bin/umount /etc/resolv.conf\n"));
    assert!(r
        .read("etc/indimail/resolv.conf")
        .ends_with("search mail.example.com\nnameserver 127.0.0.1\n"));
    assert!(r.exists("service/resolvconf/run"));
    let r2 = Root::new();
    let out = r2.svctool(&["--svscanlog", "--servicedir=/service", "--resolvconf"]);
    out.assert(
        111,
        "Creating svscan log Service Service /service\n",
        "djb dnscache service is required for --resolvconf\n",
    );
}

#[test]
fn every_catalogue_kind_has_a_test() {
    // the kinds of docs/svctool.md#service-kinds and the tests above that render them
    let src = include_str!("svctool.rs");
    for dir in [
        "qmail-smtpd.",
        "qmail-send.",
        "slowq-send",
        "defaultqueue",
        "qmail-qmqpd.",
        "qmail-qmtpd.",
        "qmail-imapd.",
        "qmail-imapd-ssl.",
        "proxy-pop3d-ssl.",
        "qmail-poppass.",
        "indisrvr.",
        "inlookup.",
        "pwdlookup",
        "mysql.3306",
        "greylist.",
        "qmail-daned.",
        "udplogger.",
        "qmail-logfifo",
        "qscanq",
        "clamd",
        "freshclam",
        "fetchmail",
        ".svscan",
        "resolvconf",
    ] {
        assert!(src.matches(dir).count() >= 2, "no test renders {dir}");
    }
}

#[test]
fn queues_without_queue_fix_are_reported() {
    let r = Root::new();
    let out = r.svctool(&[
        "--delivery=25",
        "--servicedir=/service",
        "--qbase=/var/indimail/queue",
        "--qcount=1",
        "--qstart=3",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stderr_str(),
        "svctool: warning: queue-fix not found: /var/indimail/queue/nqueue created but not laid out; run queue-fix -s 151 -b 0 /var/indimail/queue/nqueue\n\
         svctool: warning: queue-fix not found: /var/indimail/queue/queue3 created but not laid out; run queue-fix -s 151 -b 0 /var/indimail/queue/queue3\n"
    );
    assert!(
        r.path("var/indimail/queue/nqueue").is_dir()
            && r.path("var/indimail/queue/queue3").is_dir()
    );
    assert_vars(
        &r.vars("qmail-send.25"),
        &[("QUEUE_START", "3"), ("QUEUE_COUNT", "1")],
    );
    // a failing queue-fix stops the action (exit 111, nothing created)
    let r = Root::new();
    r.write("usr/bin/queue-fix", "#!/bin/sh\nexit 3\n");
    fs::set_permissions(
        r.path("usr/bin/queue-fix"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = r.svctool(&[
        "--delivery=25",
        "--servicedir=/service",
        "--qbase=/var/indimail/queue",
        "--qcount=1",
        "--qstart=1",
    ]);
    assert_eq!(out.code, Some(111), "{out:?}");
    assert!(
        out.stderr_str()
            .starts_with("svctool: queue-fix failed for /var/indimail/queue/nqueue"),
        "{out:?}"
    );
    assert!(!r.exists("service/qmail-send.25"));
}

#[test]
fn freebsd_and_macos_run_script_differences() {
    // macOS has no getent: the qmail gid comes from dscl; its paths are /usr/local's
    let r = Root::new();
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_UNAME", "Darwin")
        .args(["--smtp=25", "--servicedir=/service", "--skipsend"])
        .run();
    ok(&out);
    let run = r.read("service/qmail-smtpd.25/run");
    assert!(
        run.contains("\nMYGID=$(dscl . -read /Groups/qmail PrimaryGroupID|awk '{print $2}')\nME=$(head -1 /usr/local/etc/indimail/control/me)\n"),
        "{run}"
    );
    assert!(run.contains("/usr/local/bin/tcpserver -v -H -R"), "{run}");
    // FreeBSD: POSIX message queues need mqueuefs mounted instead of an unlimited ulimit
    let r = Root::new();
    let out = r
        .cmd("svctool")
        .env("SVCTOOL_UNAME", "FreeBSD")
        .args([
            "--delivery=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=1",
            "--qstart=1",
            "--qtype=dynamic",
        ])
        .run();
    ok(&out);
    let run = r.read("service/qmail-send.25/run");
    assert!(run.ends_with("exec /usr/local/bin/envdir -c variables sh -c \"\nif [ ! -d /var/indimail/queue/mqueue ] ; then\n  mkdir -p /var/indimail/queue/mqueue\nfi\nmq=\\$(df /var/indimail/queue/mqueue|grep mqueue >/dev/null)\nif [ \\$? -ne 0 ] ; then\n  mount -t mqueuefs null /var/indimail/queue/mqueue\nfi\nexec /usr/local/bin/softlimit -q \\$MSGQSIZE -m \\$SOFT_MEM -o 1024 \\\n/usr/local/sbin/qscheduler -d $defaultdelivery\"\n"), "{run}");
    assert!(!run.contains("ulimit"));
    scripts_parse(r.dir.path());
}
