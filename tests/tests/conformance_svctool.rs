//! Conformance of svctool with IndiMail's own svctool.sh 2.734.
//!
//! Every case runs the same command lines twice, once with the reference script (configured
//! as a Linux package: prefix `/usr`, `/etc/indimail`, `/service`, ...) and once with our
//! svctool, each installed as `/usr/sbin/svctool` in an isolated root: a private mount
//! namespace whose `/` is an overlay of a small fixture (users, `qcat`, the auth modules,
//! stubs, our other programs in the install layout) over the real root, with its upper
//! layer on a tmpfs, so nothing real is written. What the run wrote (the upper layer:
//! names, types, modes, owners, contents, deletions) and each command's stdout, stderr and
//! exit code are compared. Only the `date` text varies from run to run and is normalised.
//!
//! A case may differ only as the shared table `tests/conformance/differences.tsv` allows
//! (read through `blackbox::conformance`): each line names a case (`svctool.NAME`, or
//! `svctool.*` for every case) and a COMPATIBILITY.md row; the row's rewrite below removes
//! exactly that difference. An entry that removes nothing fails too, so the table cannot go
//! stale. This runner is svctool's own (an isolated root per side, whole trees compared)
//! because a case here is a set of svctool command lines and the files they write, which the
//! shared runner's scripts cannot express as exactly. `CONFORMANCE_ONLY=TEXT` runs only the
//! cases whose id contains TEXT; `CONFORMANCE_KEEP=1` keeps the run directories.

use blackbox::conformance::{self, Entry};
use blackbox::{bin_dir, is_root, skip, Cmd};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

// ----- the cases -----

/// One step: svctool's arguments, or (first word absolute) another program in the root.
type Step = &'static [&'static str];

struct Case {
    name: &'static str,
    steps: &'static [Step],
    /// Extra fixture files (path, content); a content starting with `#!` is executable.
    files: &'static [(&'static str, &'static str)],
    /// Run our steps with `SVCTOOL_ROOT` set to this directory; the tree written under it
    /// is compared as if written at `/` (what the reference writes without a root).
    our_root: Option<&'static str>,
}

/// A case writing as root `root` (ours with `SVCTOOL_ROOT`), see [`Case::our_root`].
const fn root_case(name: &'static str, steps: &'static [Step], root: &'static str) -> Case {
    Case {
        name,
        steps,
        files: &[],
        our_root: Some(root),
    }
}

const fn case(name: &'static str, steps: &'static [Step]) -> Case {
    Case {
        name,
        steps,
        files: &[],
        our_root: None,
    }
}

const fn files_case(
    name: &'static str,
    steps: &'static [Step],
    files: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        name,
        steps,
        files,
        our_root: None,
    }
}

const SEED: Step = &[
    "--qmqp=628",
    "--servicedir=/service",
    "--maxdaemons=75",
    "--maxperip=25",
    "--qbase=/var/indimail/queue",
    "--qcount=5",
    "--qstart=1",
    "--cntrldir=control",
    "--localip=0",
    "--fsync",
    "--syncdir",
    "--memory=104857600",
    "--min-free=52428800",
];

const SMTP25_FULL: Step = &[
    "--smtp=25",
    "--servicedir=/service",
    "--qbase=/var/indimail/queue",
    "--qcount=2",
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
    "--dmemory=104857600",
    "--setgroups",
    "--utf8",
    "--setuser-priv",
];

/// A mysqld that is MariaDB 10 and knows a few of the flags svctool asks about.
const MARIADBD: &str = "#!/bin/sh\ncase \"$*\" in\n*--version*) echo 'mariadbd  Ver 10.11.6-MariaDB for Linux' ;;\n*) printf '  --memlock   Lock mysqld in memory\\n  --skip-name-resolve Do not resolve host names\\n  --log-warnings[=#]  Log some warnings\\n  --general-log       Log connections\\n  --slow-query-log    Log slow queries\\n  --general-log-file=name  Log file\\n  --explicit-defaults-for-timestamp  TIMESTAMP\\n' ;;\nesac\n";

const MYSQL_FILES: &[(&str, &str)] = &[
    ("opt/mysql/sbin/mariadbd", MARIADBD),
    (
        "etc/indimail/indimail.cnf",
        "[mysqld]\nsocket = /run/mysqld/mysqld.sock\n",
    ),
];

const DNSCACHE: &[(&str, &str)] = &[("service/dnscache/run", "#!/bin/sh\nexec true\n")];

static CASES: &[Case] = &[
    // --- SMTP, QMQP, QMTP listeners
    case("svctool.qmqp-seed", &[SEED]),
    case(
        "svctool.qmtp-209",
        &[&[
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
        ]],
    ),
    case(
        "svctool.smtp-25-queues",
        &[&[
            "--smtp=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=1",
            "--qstart=1",
        ]],
    ),
    files_case(
        "svctool.smtp-25-queues-controldir",
        &[&[
            "--smtp=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=2",
            "--qstart=1",
        ]],
        &[("etc/indimail/control/me", "mail.example.com\n")],
    ),
    case("svctool.smtp-25-full", &[SMTP25_FULL]),
    case(
        "svctool.smtp-465-ssl",
        &[&[
            "--starttls",
            "--smtp=465",
            "--servicedir=/service",
            "--skipsend",
            "--authsmtp",
            "--ssl",
            "--utf8",
            "--rbl=-rzen.spamhaus.org",
        ]],
    ),
    case(
        "svctool.smtp-587-skipsend",
        &[&[
            "--smtp=587",
            "--servicedir=/service",
            "--skipsend",
            "--forceauthsmtp",
            "--antispoof",
            "--forcetls",
            "--utf8",
            "--secureauth",
            "--starttls",
        ]],
    ),
    case(
        "svctool.smtp-366-odmr",
        &[&[
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
        ]],
    ),
    case(
        "svctool.smtp-25-mini-smtpd",
        &[&[
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
        ]],
    ),
    case(
        "svctool.smtp-25-qhpsi",
        &[&[
            "--smtp=25",
            "--servicedir=/service",
            "--skipsend",
            "--qhpsi=/usr/bin/clamdscan %s --fdpass --quiet --no-summary",
        ]],
    ),
    // --- delivery and queues
    case(
        "svctool.delivery-25",
        &[&[
            "--delivery=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=2",
            "--qstart=1",
            "--qtype=static",
            "--routes=static",
            "--cname-lookup",
            "--sanitize-env=PATH,HOME",
            "--overquota_mailsize=1000",
            "--msgqsize=1000",
            "--default-domain=example.com",
            "--hide-host",
        ]],
    ),
    case(
        "svctool.queueparam",
        &[&[
            "--queueParam=defaultqueue",
            "--qbase=/var/indimail/queue",
            "--qcount=5",
            "--qstart=1",
            "--min-free=52428800",
            "--virus-filter",
            "--dkverify=none",
            "--dksign=none",
        ]],
    ),
    case(
        "svctool.queueparam-qhpsi",
        &[&[
            "--queueParam=defaultqueue",
            "--qbase=/var/indimail/queue",
            "--qcount=5",
            "--qstart=1",
            "--qhpsi=/usr/bin/clamdscan %s --fdpass --quiet --no-summary",
        ]],
    ),
    case(
        "svctool.queueparam-logfilter",
        &[&[
            "--queueParam=defaultqueue",
            "--qbase=/var/indimail/queue",
            "--qcount=5",
            "--qstart=1",
            "--logfilter=/run/indimail/logfifo",
        ]],
    ),
    case(
        "svctool.slowq",
        &[&[
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
        ]],
    ),
    // --- IMAP, POP3 and their proxies
    case(
        "svctool.imap-143",
        &[&[
            "--imap=143",
            "--servicedir=/service",
            "--starttls",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--infifo=infifo",
            "--query-cache",
            "--memory=524288000",
        ]],
    ),
    case(
        "svctool.imap-993-ssl",
        &[&[
            "--imap=993",
            "--servicedir=/service",
            "--ssl",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--infifo=infifo",
            "--query-cache",
            "--memory=524288000",
        ]],
    ),
    case(
        "svctool.pop3-110",
        &[&[
            "--pop3=110",
            "--servicedir=/service",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--query-cache",
            "--memory=524288000",
        ]],
    ),
    case(
        "svctool.pop3-995-ssl",
        &[&[
            "--pop3=995",
            "--servicedir=/service",
            "--ssl",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--infifo=infifo",
            "--memory=524288000",
        ]],
    ),
    case(
        "svctool.imap-proxy-4143",
        &[&[
            "--imap=4143",
            "--servicedir=/service",
            "--localip=0",
            "--maxdaemons=40",
            "--maxperip=25",
            "--infifo=infifo",
            "--memory=524288000",
            "--proxy=143",
            "--starttls",
        ]],
    ),
    case(
        "svctool.pop3-proxy-9110-ssl",
        &[&[
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
        ]],
    ),
    // --- lookup and helper daemons
    case(
        "svctool.inlookup",
        &[&[
            "--inlookup=infifo",
            "--servicedir=/service",
            "--cntrldir=control",
            "--threads=5",
            "--activeDays=60",
            "--query-cache",
            "--password-cache",
            "--use-btree",
            "--max-btree-count=10000",
        ]],
    ),
    case(
        "svctool.indisrvr",
        &[&[
            "--indisrvr=4000",
            "--servicedir=/service",
            "--avguserquota=2097152",
            "--hardquota=52428800",
            "--base_path=/home/mail",
            "--mysqlhost=localhost",
            "--mysqluser=indimail",
            "--mysqlpass=ssh-1.5-",
        ]],
    ),
    case(
        "svctool.pwdlookup",
        &[&[
            "--pwdlookup=/run/indimail/pwdlookup/nssd.sock",
            "--threads=5",
            "--timeout=-1",
            "--mysqlhost=localhost",
            "--mysqluser=indimail",
            "--mysqlpass=X",
            "--mysqlsocket=/run/mysqld/mysqld.sock",
            "--servicedir=/service",
        ]],
    ),
    case(
        "svctool.udplogger",
        &[&[
            "--udplogger=3000",
            "--localip=0",
            "--timeout=10",
            "--servicedir=/service",
        ]],
    ),
    case(
        "svctool.greylist",
        &[&[
            "--greylist=1999",
            "--servicedir=/service",
            "--min-resend-min=2",
            "--resend-win-hr=24",
            "--timeout-days=30",
            "--context-file=greylist.context",
            "--hash-size=65536",
            "--save-interval=5",
            "--whitelist=greylist.white",
        ]],
    ),
    case(
        "svctool.tlsa",
        &[&[
            "--tlsa=1998",
            "--servicedir=/service",
            "--timeout-days=30",
            "--context-file=tlsa.context",
            "--hash-size=65536",
            "--save-interval=5",
            "--whitelist=tlsa.white",
        ]],
    ),
    case(
        "svctool.poppass",
        &[&[
            "--poppass=106",
            "--servicedir=/service",
            "--setpassword=/usr/sbin/vsetpass",
            "--ssl",
            "--certfile=/etc/indimail/certs/servercert.pem",
            "--localip=0",
        ]],
    ),
    files_case(
        "svctool.mysql",
        &[&[
            "--mysql=3306",
            "--servicedir=/service",
            "--databasedir=/var/indimail/mysqldb",
            "--mysqlPrefix=/opt/mysql",
            "--config=/etc/indimail/indimail.cnf",
        ]],
        MYSQL_FILES,
    ),
    // --- svscan, logging, scanning, fetching
    case(
        "svctool.svscanlog",
        &[&["--svscanlog", "--servicedir=/service"]],
    ),
    files_case(
        "svctool.svscanlog-resolvconf",
        &[&[
            "--svscanlog",
            "--servicedir=/service",
            "--resolvconf",
            "--initcmd=/usr/bin/true",
            "--scanint=60",
        ]],
        DNSCACHE,
    ),
    case(
        "svctool.svscanlog-resolvconf-no-dnscache",
        &[&["--svscanlog", "--servicedir=/service", "--resolvconf"]],
    ),
    case(
        "svctool.fifologger",
        &[&[
            "--fifologger=/run/indimail/logfifo",
            "--servicedir=/service",
        ]],
    ),
    case(
        "svctool.qscanq",
        &[&["--qscanq", "--servicedir=/service", "--scanint=20"]],
    ),
    case(
        "svctool.clamd",
        &[
            &["--smtp=25", "--servicedir=/service", "--skipsend"],
            &[
                "--clamd",
                "--servicedir=/service",
                "--clamdPrefix=/usr",
                "--sysconfdir=/etc/indimail",
            ],
        ],
    ),
    case(
        "svctool.queueparam-clamd",
        &[
            &[
                "--queueParam=defaultqueue",
                "--qbase=/var/indimail/queue",
                "--qcount=5",
                "--qstart=1",
            ],
            &["--clamd", "--servicedir=/service", "--clamdPrefix=/usr"],
        ],
    ),
    case(
        "svctool.queueparam-clamd-sysconfdir-clamav",
        &[
            &[
                "--queueParam=defaultqueue",
                "--qbase=/var/indimail/queue",
                "--qcount=5",
                "--qstart=1",
            ],
            &[
                "--clamd",
                "--servicedir=/service",
                "--clamdPrefix=/usr",
                "--sysconfdir=/etc/clamav",
            ],
        ],
    ),
    case(
        "svctool.clamd-sysconfdir-clamav",
        &[&[
            "--clamd",
            "--servicedir=/service",
            "--clamdPrefix=/usr",
            "--sysconfdir=/etc/clamav",
        ]],
    ),
    case(
        "svctool.fetchmail",
        &[&["--fetchmail", "--servicedir=/service", "--silent"]],
    ),
    // --- managing services and variables
    case(
        "svctool.rmsvc-ensvc",
        &[
            SEED,
            &["--rmsvc=qmail-qmqpd.628", "--servicedir=/service"],
            &["--ensvc=qmail-qmqpd.628", "--servicedir=/service"],
        ],
    ),
    case(
        "svctool.down",
        &[&[
            "--qmtp=209",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=1",
            "--qstart=1",
            "--down",
        ]],
    ),
    case(
        "svctool.set-modify-unset-remove-variable",
        &[
            SEED,
            &[
                "--set-variable=NEWVAR",
                "--variable-value=hello",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--modify-variable=MAXDAEMONS",
                "--variable-value=80",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--unset-variable=HIDE_HOST",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--remove-variable=NEWVAR",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
        ],
    ),
    case(
        "svctool.set-variable-exists",
        &[
            SEED,
            &[
                "--set-variable=MAXDAEMONS",
                "--variable-value=80",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
        ],
    ),
    case(
        "svctool.print-variables",
        &[
            SEED,
            &[
                "--print-variables",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
        ],
    ),
    case(
        "svctool.modify-variable-refreshsvc",
        &[
            SEED,
            &[
                "--modify-variable=MAXDAEMONS",
                "--variable-value=80",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--refreshsvc=/service/qmail-qmqpd.628",
                "--servicedir=/service",
            ],
        ],
    ),
    case(
        "svctool.export-import-variables",
        &[
            SEED,
            &[
                "--export-variables=/root/qmqpd.env",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--import-variables=/root/qmqpd.env",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
        ],
    ),
    root_case(
        "svctool.export-import-variables-root",
        &[
            SEED,
            &[
                "--export-variables=/root/qmqpd.env",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--import-variables=/root/qmqpd.env",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
        ],
        "/scratch",
    ),
    case(
        "svctool.refreshsvc",
        &[
            SEED,
            &[
                "--refreshsvc=/service/qmail-qmqpd.628",
                "--servicedir=/service",
            ],
        ],
    ),
    case(
        "svctool.queueparam-then-smtp-inherits",
        &[
            &[
                "--queueParam=defaultqueue",
                "--qbase=/var/indimail/queue",
                "--qcount=5",
                "--qstart=1",
            ],
            &[
                "--smtp=25",
                "--servicedir=/service",
                "--qbase=/var/indimail/queue",
                "--qcount=5",
                "--qstart=1",
                "--skipsend",
            ],
        ],
    ),
    case(
        "svctool.save-restore-all-variables",
        &[
            SEED,
            &["--save-variables", "--servicedir=/service"],
            &[
                "--modify-variable=MAXDAEMONS",
                "--variable-value=80",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &["--restore-all-variables", "--servicedir=/service"],
        ],
    ),
    case(
        "svctool.print-all-variables",
        &[SEED, &["--print-all-variables", "--servicedir=/service"]],
    ),
    case(
        "svctool.autorefresh",
        &[
            SEED,
            &[
                "--autorefresh=0 /service/qmail-qmqpd.628",
                "--servicedir=/service",
            ],
        ],
    ),
    case(
        "svctool.nooverwrite",
        &[
            SEED,
            &[
                "--modify-variable=MAXDAEMONS",
                "--variable-value=80",
                "--servicedir=/service",
                "--service-name=qmail-qmqpd.628",
            ],
            &[
                "--qmqp=628",
                "--servicedir=/service",
                "--qbase=/var/indimail/queue",
                "--qcount=5",
                "--qstart=1",
                "--nooverwrite",
            ],
        ],
    ),
    case(
        "svctool.servicetag",
        &[&[
            "--smtp=25",
            "--servicedir=/service",
            "--skipsend",
            "--servicetag=relay",
        ]],
    ),
    case(
        "svctool.delivery-dynamic-dkim",
        &[&[
            "--delivery=25",
            "--servicedir=/service",
            "--qbase=/var/indimail/queue",
            "--qcount=1",
            "--qstart=1",
            "--qtype=dynamic",
            "--dksign=dkim",
            "--private_key=/etc/indimail/control/domainkeys/%/default",
            "--starttls",
        ]],
    ),
    case(
        "svctool.indisrvr-ssl",
        &[&[
            "--indisrvr=4000",
            "--servicedir=/service",
            "--avguserquota=2097152",
            "--hardquota=52428800",
            "--base_path=/home/mail",
            "--ssl",
            "--certfile=/etc/indimail/certs/servercert.pem",
        ]],
    ),
    case(
        "svctool.imap-proxy-993-ssl",
        &[&[
            "--imap=9143",
            "--servicedir=/service",
            "--localip=0",
            "--infifo=infifo",
            "--proxy=993",
            "--ssl",
        ]],
    ),
    case("svctool.showctl-missing", &[&["--showctl=/nonexistent"]]),
    // --- error paths
    case("svctool.no-arguments", &[&[]]),
    case("svctool.unknown-option", &[&["--no-such-option"]]),
    case("svctool.version", &[&["--version"]]),
    case("svctool.smtp-no-servicedir", &[&["--smtp=25"]]),
    case(
        "svctool.smtp-port-not-a-number",
        &[&["--smtp=abc", "--servicedir=/service", "--skipsend"]],
    ),
    case(
        "svctool.smtp-port-too-large",
        &[&["--smtp=70000", "--servicedir=/service", "--skipsend"]],
    ),
    case(
        "svctool.smtp-no-queue",
        &[&["--smtp=25", "--servicedir=/service"]],
    ),
    case("svctool.imap-no-servicedir", &[&["--imap=143"]]),
    case(
        "svctool.qmqp-no-queue",
        &[&["--qmqp=628", "--servicedir=/service"]],
    ),
    case(
        "svctool.queueparam-no-qbase",
        &[&["--queueParam=defaultqueue", "--qcount=5", "--qstart=1"]],
    ),
    case("svctool.svscanlog-no-servicedir", &[&["--svscanlog"]]),
    case(
        "svctool.set-variable-no-service",
        &[&[
            "--set-variable=X",
            "--variable-value=1",
            "--servicedir=/service",
            "--service-name=nothere",
        ]],
    ),
];

// ----- the run -----

/// Users and groups of the fixture (name, id).
const USERS: &[(&str, u32)] = &[
    ("indimail", 1555),
    ("qmail", 1556),
    ("qmaild", 1557),
    ("qmaill", 1558),
    ("qscand", 1561),
    ("qmails", 1562),
    ("alias", 1563),
    ("mysql", 1564),
    ("qmailp", 1565),
    ("qmailq", 1566),
    ("qmailr", 1567),
];
const GROUPS: &[(&str, u32)] = &[
    ("indimail", 1555),
    ("qmail", 1556),
    ("nofiles", 1559),
    ("qcerts", 1560),
    ("qscand", 1561),
    ("mysql", 1564),
];

/// Our programs as `make install` lays them out (directory, names).
const INSTALL: &[(&str, &[&str])] = &[
    (
        "/usr/sbin",
        &[
            "svscan",
            "supervise",
            "multilog",
            "readproctitle",
            "fghack",
            "pgrphack",
        ],
    ),
    (
        "/usr/bin",
        &[
            "envdir",
            "envuidgid",
            "setuidgid",
            "softlimit",
            "setlock",
            "waitfor",
            "svc",
            "svstat",
            "svok",
            "svps",
            "tai64n",
            "tai64nlocal",
            "tcpserver",
            "tcprules",
            "tcprulescheck",
            "rblsmtpd",
            "tcpclient",
            "qmailctl",
        ],
    ),
];

/// IndiMail's qcat: cat with its own message for a file it cannot find.
const QCAT: &str = "#!/bin/sh\nfor f; do\n  [ -e \"$f\" ] || { echo \"qcat: stat: $f: file does not exist\" >&2; exit 1; }\ndone\nexec cat \"$@\"\n";

/// The stub queue-fix records its calls in `/calls` (compared with the tree).
const QUEUE_FIX: &str = "#!/bin/sh\necho \"queue-fix $*\" >> /calls\n";

/// Runs the case's steps in the isolated root (as root, in a new mount namespace).
const ISOLATE: &str = r#"set -e
FIX=$1 OUT=$2 W=$2/w
mkdir -p "$W" "$OUT/up"
mount -t tmpfs -o mode=0755 tmpfs "$W"
mkdir "$W/up" "$W/wk" "$W/m"
cp -a "$FIX" "$W/fix"
mount -t overlay overlay -o "lowerdir=$W/fix:/,upperdir=$W/up,workdir=$W/wk" "$W/m"
mount --rbind /dev "$W/m/dev"
mount -t proc proc "$W/m/proc"
while read -r src dst; do mount --bind "$src" "$W/m$dst"; done < "$OUT/binds"
set +e
. "$OUT/steps"
cp -a "$W/up/." "$OUT/up/"
"#;

#[derive(Debug, Clone, PartialEq)]
struct StepOut {
    stdout: String,
    stderr: String,
    code: String,
}

/// What one side observably did: each step's output, and the files written (path ->
/// listing entry).
#[derive(Debug, Clone, PartialEq)]
struct Obs {
    steps: Vec<StepOut>,
    tree: BTreeMap<String, String>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn reference_tarball() -> Option<PathBuf> {
    let name = "indimail-mta-e95fb6c.tar.gz";
    if let Some(d) = std::env::var_os("INDIMAIL_REFERENCE") {
        return Some(Path::new(&d).join(name));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/reference").join(name))
        .find(|p| p.is_file())
}

fn host_triple() -> String {
    let m = Cmd::new("uname").arg("-m").run().stdout_str();
    format!("{}-pc-linux-gnu", m.trim().to_lowercase())
}

/// svctool.sh configured as the Linux package is.
fn configured_reference(tarball: &Path) -> String {
    let out = Cmd::new("tar")
        .args(["-xzOf"])
        .arg(tarball)
        .arg("indimail-mta-x/svctool.sh")
        .run();
    assert_eq!(out.code, Some(0), "tar: {}", out.stderr_str());
    let host = host_triple();
    // the build prepends the interpreter line (warn-auto.sh)
    let mut s = format!("#!/bin/sh\n{}", out.stdout_str());
    for (from, to) in [
        ("@prefix@", "/usr"),
        ("@sysconfdir@", "/etc/indimail"),
        ("@qsysconfdir@", "/etc/indimail"),
        ("@libexecdir@", "/usr/libexec/indimail"),
        ("@shareddir@", "/usr/share/indimail"),
        ("@logdir@", "/var/log/svc"),
        ("@qmaildir@", "/var/indimail"),
        ("@servicedir@", "/service"),
        ("@mandir@", "/usr/share/man"),
        ("@HOST@", &host),
        ("QUEUESPLIT", "151"),
    ] {
        s = s.replace(from, to);
    }
    s
}

fn write_file(root: &Path, rel: &str, data: &str) {
    let p = root.join(rel.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, data).unwrap();
    let mode = if data.starts_with("#!") { 0o755 } else { 0o644 };
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

/// The fixture both sides share, plus `/usr/sbin/svctool` (`reference`: the script; else a
/// placeholder our binary is bound onto). Returns the bind list.
fn fixture(dir: &Path, case: &Case, reference: Option<&str>) -> String {
    let mut passwd = String::from(
        "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    );
    for (n, id) in USERS {
        writeln!(passwd, "{n}:x:{id}:1556::/var/indimail:/bin/false").unwrap();
    }
    let mut group = String::from("root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n");
    for (n, id) in GROUPS {
        writeln!(group, "{n}:x:{id}:").unwrap();
    }
    write_file(dir, "etc/passwd", &passwd);
    write_file(dir, "etc/group", &group);
    write_file(dir, "usr/bin/qcat", QCAT);
    write_file(dir, "usr/bin/queue-fix", QUEUE_FIX);
    for m in [
        "authindi",
        "authshadow",
        "authpam",
        "authgeneric",
        "authtest",
    ] {
        write_file(dir, &format!("usr/libexec/indimail/imapmodules/{m}"), "");
    }
    for (p, data) in case.files {
        let at = match case.our_root {
            Some(r) if reference.is_none() => format!("{}/{p}", r.trim_start_matches('/')),
            _ => p.to_string(),
        };
        write_file(dir, &at, data);
    }
    if let (None, Some(r)) = (reference, case.our_root) {
        // the root holds what the real one has for the case: root's home
        let home = dir.join(r.trim_start_matches('/')).join("root");
        fs::create_dir_all(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut binds = String::new();
    let bins = bin_dir();
    for (d, names) in INSTALL {
        for n in *names {
            let src = bins.join(n);
            if src.is_file() {
                write_file(dir, &format!("{d}/{n}"), "");
                writeln!(binds, "{} {d}/{n}", src.display()).unwrap();
            }
        }
    }
    match reference {
        Some(script) => write_file(dir, "usr/sbin/svctool", script),
        None => {
            write_file(dir, "usr/sbin/svctool", "");
            writeln!(
                binds,
                "{} /usr/sbin/svctool",
                bins.join("svctool").display()
            )
            .unwrap();
        }
    }
    binds
}

fn steps_script(case: &Case, ours: bool) -> String {
    let mut s = String::new();
    for (i, step) in case.steps.iter().enumerate() {
        let mut cmd = String::from(
            "chroot \"$W/m\" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C",
        );
        if let (true, Some(r)) = (ours, case.our_root) {
            write!(cmd, " SVCTOOL_ROOT={r}").unwrap();
        }
        if !step.first().is_some_and(|a| a.starts_with('/')) {
            cmd.push_str(" /usr/sbin/svctool");
        }
        for a in *step {
            write!(cmd, " {}", shell_quote(a)).unwrap();
        }
        writeln!(
            cmd,
            " >\"$OUT/{i}.out\" 2>\"$OUT/{i}.err\" </dev/null; echo $? >\"$OUT/{i}.rc\""
        )
        .unwrap();
        s.push_str(&cmd);
    }
    s
}

/// Replace what `date` prints (`Sun Nov 22 07:50:45 UTC 2026`) with `<date>`.
fn normalise_dates(s: &str) -> String {
    const DAYS: [&str; 7] = ["Sun ", "Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat "];
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    'outer: while i < s.len() {
        if s.is_char_boundary(i) && DAYS.iter().any(|d| s[i..].starts_with(d)) {
            // Www Mmm dD hh:mm:ss ZONE YYYY
            let rest = &b[i + 4..];
            let ok_prefix = rest.len() >= 16
                && rest[..3].iter().all(u8::is_ascii_alphabetic)
                && rest[3] == b' '
                && (rest[4] == b' ' || rest[4].is_ascii_digit())
                && rest[5].is_ascii_digit()
                && rest[6] == b' '
                && rest[7..15].iter().enumerate().all(|(k, c)| {
                    if k % 3 == 2 {
                        *c == b':'
                    } else {
                        c.is_ascii_digit()
                    }
                })
                && rest[15] == b' ';
            if ok_prefix {
                let mut j = 16;
                while j < rest.len() && rest[j].is_ascii_alphabetic() {
                    j += 1;
                }
                if j > 16
                    && j + 5 <= rest.len()
                    && rest[j] == b' '
                    && rest[j + 1..j + 5].iter().all(u8::is_ascii_digit)
                {
                    out.push_str("<date>");
                    i += 4 + j + 5;
                    continue 'outer;
                }
            }
        }
        let c = s[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn names(list: &[(&str, u32)]) -> BTreeMap<u32, String> {
    let mut m: BTreeMap<u32, String> = list.iter().map(|(n, i)| (*i, n.to_string())).collect();
    m.insert(0, "root".into());
    m
}

/// The upper layer as listing entries: `TYPE MODE OWNER:GROUP` and the content.
fn listing(up: &Path) -> BTreeMap<String, String> {
    let users = names(USERS);
    let groups = names(GROUPS);
    let mut out = BTreeMap::new();
    let mut stack = vec![up.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(up).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            let u = users.get(&m.uid()).cloned().unwrap_or(m.uid().to_string());
            let g = groups.get(&m.gid()).cloned().unwrap_or(m.gid().to_string());
            let mode = m.permissions().mode() & 0o7777;
            let ft = m.file_type();
            let entry = if ft.is_symlink() {
                format!("l -> {}", fs::read_link(&p).unwrap().display())
            } else if ft.is_dir() {
                stack.push(p.clone());
                format!("d {mode:04o} {u}:{g}")
            } else if ft.is_char_device() && m.rdev() == 0 {
                "deleted".to_string()
            } else if ft.is_fifo() {
                format!("p {mode:04o} {u}:{g}")
            } else if ft.is_file() {
                let data = fs::read(&p).unwrap();
                format!(
                    "f {mode:04o} {u}:{g}\n{}",
                    normalise_dates(&String::from_utf8_lossy(&data))
                )
            } else {
                format!("? {mode:04o} {u}:{g}")
            };
            out.insert(rel, entry);
        }
    }
    out
}

fn run_side(case: &Case, dir: &Path, reference: Option<&str>) -> Obs {
    let fix = dir.join("fix");
    let out = dir.join("out");
    fs::create_dir_all(&fix).unwrap();
    fs::create_dir_all(&out).unwrap();
    fs::set_permissions(&fix, fs::Permissions::from_mode(0o755)).unwrap();
    let binds = fixture(&fix, case, reference);
    fs::write(out.join("binds"), binds).unwrap();
    fs::write(out.join("steps"), steps_script(case, reference.is_none())).unwrap();
    let r = Cmd::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            ISOLATE,
            "sh",
        ])
        .arg(&fix)
        .arg(&out)
        .timeout(Duration::from_secs(120))
        .run();
    assert_eq!(
        r.code,
        Some(0),
        "{}: isolation failed: {}",
        case.name,
        r.stderr_str()
    );
    let read = |n: String| normalise_dates(&fs::read_to_string(out.join(n)).unwrap_or_default());
    let steps: Vec<StepOut> = (0..case.steps.len())
        .map(|i| StepOut {
            stdout: read(format!("{i}.out")),
            stderr: read(format!("{i}.err")),
            code: read(format!("{i}.rc")).trim().to_string(),
        })
        .collect();
    let mut tree = listing(&out.join("up"));
    if let (None, Some(root)) = (reference, case.our_root) {
        tree = reroot(tree, root.trim_start_matches('/'));
    }
    Obs { steps, tree }
}

/// Entries written under `root/` as if written at `/` (the root directory itself goes).
fn reroot(tree: BTreeMap<String, String>, root: &str) -> BTreeMap<String, String> {
    let prefix = format!("{root}/");
    let mut out = BTreeMap::new();
    for (k, v) in tree {
        if k == root {
            continue;
        }
        match k.strip_prefix(&prefix) {
            Some(rest) => {
                out.insert(rest.to_string(), v);
            }
            None => {
                out.insert(format!("(outside {root}) {k}"), v);
            }
        }
    }
    out
}

// ----- comparison and the table of allowed differences -----

/// Make `ours` hold the reference's entries for the paths `pick` selects.
fn take(r: &Obs, o: &mut Obs, pick: fn(&str) -> bool) {
    o.tree.retain(|k, _| !pick(k));
    for (k, v) in &r.tree {
        if pick(k) {
            o.tree.insert(k.clone(), v.clone());
        }
    }
}

/// Remove the lines `pick` selects.
fn drop_lines(s: &mut String, pick: fn(&str) -> bool) {
    *s = s
        .split_inclusive('\n')
        .filter(|l| !pick(l.trim_end_matches('\n')))
        .collect();
}

/// Entries ours writes that the reference does not, for the paths `pick` selects.
fn drop_extra(r: &Obs, o: &mut Obs, pick: fn(&str) -> bool) {
    o.tree.retain(|k, _| r.tree.contains_key(k) || !pick(k));
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

const USAGE_HEAD: &str = "Usage: svctool [OPTION]";

/// What each COMPATIBILITY.md row allows to differ, as a rewrite of both observations that
/// removes exactly that difference.
fn allowance(row: &str) -> Option<fn(&mut Obs, &mut Obs)> {
    Some(match row {
        // the version line of generated headers
        "V1" => |_, o| {
            let theirs =
                "# $Id: svctool.sh,v 2.734 2025-10-26 10:05:59+05:30 Cprogrammer Exp mbhangui $";
            let ours = "# $Id: svctool.rs,v 0.1.0 indimail-rs (svctool.sh 2.734 compatible) Exp $";
            for v in o.tree.values_mut() {
                if v.contains(ours) {
                    *v = v.replace(ours, theirs);
                }
            }
            for s in &mut o.steps {
                s.stdout = s.stdout.replace(ours, theirs);
            }
        },
        // --down makes the down file
        "V2" => |r, o| {
            for s in &mut r.steps {
                drop_lines(&mut s.stderr, |l| l.ends_with("/down: not found"));
            }
            drop_extra(r, o, |k| file_name(k) == "down");
        },
        // CHECKRECIPIENT and CHECKSENDER from their own options
        "V3" => |r, o| {
            take(r, o, |k| {
                matches!(file_name(k), "CHECKRECIPIENT" | "CHECKSENDER")
            })
        },
        // CHECKRELAY only with --chkrelay
        "V5" => |r, o| take(r, o, |k| file_name(k) == "CHECKRELAY"),
        // RBLCOMMAND without the trailing blank
        "V7" => |r, o| take(r, o, |k| file_name(k) == "RBLCOMMAND"),
        // POP3AUTH_TLS holds the POP3 mechanisms
        "V8" => |r, o| {
            take(r, o, |k| {
                matches!(
                    file_name(k),
                    "POP3AUTH_TLS" | ".variables" | ".courier_variables"
                )
            });
            for s in r.steps.iter_mut().chain(o.steps.iter_mut()) {
                drop_lines(&mut s.stdout, |l| l.contains("POP3AUTH_TLS"));
            }
        },
        // the scheduler follows --qtype
        "V6" => |r, o| {
            for (k, v) in r.tree.iter_mut() {
                let Some(ours) = o.tree.get(k) else { continue };
                for flag in ["-d", "-cd"] {
                    let want = format!("/qscheduler {flag} $defaultdelivery");
                    if ours.contains(&want) {
                        *v = v.replace("/qscheduler -s $defaultdelivery", &want);
                    }
                }
            }
        },
        // single blanks in the greylist and udplogger command lines
        "V10" => |r, o| {
            take(r, o, |k| {
                k.ends_with("/run") && (k.contains("/greylist.") || k.contains("/udplogger."))
            })
        },
        // $P/bin/svc in .svscan/shutdown
        "V11" => |r, _| {
            if let Some(v) = r.tree.get_mut("service/.svscan/shutdown") {
                *v = v.replace("\n/bin/svc -dx ", "\n/usr/bin/svc -dx ");
            }
        },
        // a refused value: ours stops (exit 1 or 111) where the reference goes on; ours may
        // have written only what the reference wrote
        "V13" => |r, o| {
            for (t, u) in r.steps.iter().zip(o.steps.iter_mut()) {
                if t.code == "0" && u.code != "0" {
                    *u = t.clone();
                }
            }
            if o.tree.keys().all(|k| r.tree.contains_key(k)) {
                o.tree = r.tree.clone();
            }
        },
        // the help text is our own
        "V14" => |r, o| {
            for (t, u) in r.steps.iter_mut().zip(o.steps.iter_mut()) {
                if t.stdout.starts_with(USAGE_HEAD) && u.stdout.starts_with(USAGE_HEAD) {
                    t.stdout = "<usage>\n".into();
                    u.stdout = "<usage>\n".into();
                }
                drop_lines(&mut t.stderr, |l| {
                    l == "Press ENTER for options, Cntrl C to quit"
                });
            }
        },
        // IMAP/POP3 without --infifo: no basename/dirname errors
        "V20" => |r, _| {
            for s in &mut r.steps {
                drop_lines(&mut s.stderr, |l| {
                    l.starts_with("basename: missing operand")
                        || l.starts_with("dirname: missing operand")
                        || l.starts_with("Try 'basename --help'")
                        || l.starts_with("Try 'dirname --help'")
                        || l.ends_with(": [: =: unexpected operator")
                });
            }
        },
        // --showctl with a missing directory: the error, then no exec of qmail-showctl
        "V30" => |r, o| {
            for (t, u) in r.steps.iter_mut().zip(&o.steps) {
                if t.stderr.contains("qmail-showctl: not found") {
                    drop_lines(&mut t.stderr, |l| l.ends_with("qmail-showctl: not found"));
                    t.code = u.code.clone();
                }
            }
        },
        // no $TMPDIR (/tmp/indimail) is made
        "V21" => |r, _| {
            r.tree.remove("tmp/indimail");
            r.tree.remove("tmp");
        },
        // control/queue_base written even when control/ did not exist yet
        "V38" => |r, o| {
            for s in &mut r.steps {
                drop_lines(&mut s.stderr, |l| {
                    l.contains("cannot create /etc/indimail/control/queue_base")
                });
            }
            drop_extra(r, o, |k| {
                matches!(
                    k,
                    "etc"
                        | "etc/indimail"
                        | "etc/indimail/control"
                        | "etc/indimail/control/queue_base"
                )
            });
        },
        // the resolv.conf mount tests the UNSHARE that svscanboot reads
        "V39" => |r, _| {
            for k in ["service/.svscan/run", "service/.svscan/shutdown"] {
                if let Some(v) = r.tree.get_mut(k) {
                    *v = v
                        .replace(
                            "/etc/indimail/variables/UNSHARE",
                            "/service/.svscan/variables/UNSHARE",
                        )
                        .replace(
                            "/service/variables/UNSHARE",
                            "/service/.svscan/variables/UNSHARE",
                        );
                }
            }
        },
        // logrotate.mysql's postrotate refers to $mysqladmin and the prefix's mariadb-admin
        "V40" => |r, o| take(r, o, |k| k == "etc/indimail/logrotate.mysql"),
        // --clamd: no qcat errors for the scanning services that do not exist
        "V41" => |r, _| {
            for s in &mut r.steps {
                drop_lines(&mut s.stderr, |l| {
                    l.starts_with("qcat: stat: ") && l.ends_with(".options: file does not exist")
                });
            }
        },
        // --restore-all-variables leaves a missing control/defaultqueue alone
        "V42" => |r, _| {
            for s in &mut r.steps {
                drop_lines(&mut s.stdout, |l| {
                    l.starts_with("Restoring /etc/indimail/control/defaultqueue ")
                });
                drop_lines(&mut s.stderr, |l| {
                    l.contains("/etc/indimail/control/defaultqueue")
                });
            }
        },
        // variables printed in C order, not in the order the directory is listed
        "V43" => |r, o| {
            for s in r.steps.iter_mut().chain(o.steps.iter_mut()) {
                let mut l: Vec<&str> = s.stdout.lines().collect();
                l.sort_unstable();
                s.stdout = l.join("\n");
            }
        },
        _ => return None,
    })
}

/// The table's entries for svctool's cases (`svctool.NAME`, or `svctool.*` for every case).
fn table() -> Vec<&'static Entry> {
    conformance::table()
        .iter()
        .filter(|e| e.case.starts_with("svctool."))
        .collect()
}

/// A readable account of how `ours` differs from `theirs`.
fn describe(theirs: &Obs, ours: &Obs) -> String {
    let mut d = String::new();
    for (i, (t, o)) in theirs.steps.iter().zip(&ours.steps).enumerate() {
        for (what, a, b) in [
            ("stdout", &t.stdout, &o.stdout),
            ("stderr", &t.stderr, &o.stderr),
            ("exit", &t.code, &o.code),
        ] {
            if a != b {
                writeln!(d, "  step {i} {what}:").unwrap();
                d.push_str(&line_diff(a, b));
            }
        }
    }
    let keys: std::collections::BTreeSet<&String> =
        theirs.tree.keys().chain(ours.tree.keys()).collect();
    for k in keys {
        match (theirs.tree.get(k), ours.tree.get(k)) {
            (Some(a), Some(b)) if a != b => {
                writeln!(d, "  {k}:").unwrap();
                d.push_str(&line_diff(a, b));
            }
            (Some(a), None) => {
                writeln!(d, "  {k}: only the reference writes it ({})", first(a)).unwrap()
            }
            (None, Some(b)) => writeln!(d, "  {k}: only ours writes it ({})", first(b)).unwrap(),
            _ => {}
        }
    }
    d
}

fn first(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Lines of `a` (reference, `-`) and `b` (ours, `+`) around the first and last difference.
fn line_diff(a: &str, b: &str) -> String {
    let x: Vec<&str> = a.lines().collect();
    let y: Vec<&str> = b.lines().collect();
    let head = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
    let tail = x[head..]
        .iter()
        .rev()
        .zip(y[head..].iter().rev())
        .take_while(|(p, q)| p == q)
        .count();
    let mut d = String::new();
    for (sign, part) in [
        ('-', &x[head..x.len() - tail]),
        ('+', &y[head..y.len() - tail]),
    ] {
        for l in part.iter().take(12) {
            writeln!(d, "    {sign}{l}").unwrap();
        }
        if part.len() > 12 {
            writeln!(d, "    {sign}... ({} more lines)", part.len() - 12).unwrap();
        }
    }
    if d.is_empty() {
        d = "    (differ in a final newline)\n".into();
    }
    d
}

/// Compare one case; the error says what differs beyond the table, or which entry is stale.
/// Returns the rows the case needed.
fn judge(case: &str, theirs: &Obs, ours: &Obs, entries: &[&Entry]) -> Result<Vec<String>, String> {
    let rows: Vec<&str> = entries
        .iter()
        .filter(|e| e.matches(case))
        .map(|e| e.row.as_str())
        .collect();
    let apply = |skip: Option<usize>| {
        let (mut t, mut o) = (theirs.clone(), ours.clone());
        for (i, row) in rows.iter().enumerate() {
            if Some(i) != skip {
                if let Some(f) = allowance(row) {
                    f(&mut t, &mut o);
                }
            }
        }
        (t, o)
    };
    for row in &rows {
        if allowance(row).is_none() {
            return Err(format!(
                "row {row} has no rewrite in conformance_svctool.rs"
            ));
        }
    }
    let (t, o) = apply(None);
    if t != o {
        return Err(describe(&t, &o));
    }
    let mut needed = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        // a wildcard entry need not apply to every case, only to some
        let exact = entries.iter().any(|e| e.case == case && e.row == *row);
        let (t, o) = apply(Some(i));
        if t != o {
            needed.push(row.to_string());
        } else if exact {
            return Err(format!(
                "table entry {row} is stale: the case agrees without it"
            ));
        }
    }
    Ok(needed)
}

#[test]
fn svctool_matches_the_reference() {
    if !is_root() {
        return skip("not root: the isolated roots need a mount namespace");
    }
    let Some(tarball) = reference_tarball() else {
        return skip("the reference sources (shared/reference) are not here");
    };
    let script = configured_reference(&tarball);
    let filter = std::env::var("CONFORMANCE_ONLY").unwrap_or_default();
    let cases: Vec<&Case> = CASES.iter().filter(|c| c.name.contains(&filter)).collect();
    assert!(!cases.is_empty(), "no case matches {filter:?}");
    let entries = table();
    let compat =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../COMPATIBILITY.md"))
            .unwrap_or_default();
    for e in &entries {
        assert!(
            compat
                .lines()
                .any(|l| l.starts_with(&format!("| {} | svctool", e.row))),
            "differences.tsv names {}, which is no svctool row of COMPATIBILITY.md",
            e.row
        );
    }
    let work = tempfile::Builder::new()
        .prefix("conformance-svctool.")
        .tempdir()
        .unwrap();
    let failures = Mutex::new(Vec::new());
    let used = Mutex::new(std::collections::BTreeSet::new());
    let next = Mutex::new(cases.iter());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let Some(case) = next.lock().unwrap().next() else {
                    break;
                };
                let dir = work.path().join(case.name);
                let theirs = run_side(case, &dir.join("reference"), Some(&script));
                let ours = run_side(case, &dir.join("ours"), None);
                match judge(case.name, &theirs, &ours, &entries) {
                    Ok(rows) => used.lock().unwrap().extend(rows),
                    Err(e) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{}:\n{e}", case.name)),
                }
            });
        }
    });
    if std::env::var_os("CONFORMANCE_KEEP").is_some() {
        eprintln!("run directories kept in {}", work.keep().display());
    }
    let mut f = failures.into_inner().unwrap();
    f.sort();
    let used = used.into_inner().unwrap();
    if filter.is_empty() {
        for e in entries.iter().filter(|e| e.case.ends_with('*')) {
            if !used.contains(&e.row) {
                f.push(format!(
                    "table entry {} {} is stale: no case needs it",
                    e.case, e.row
                ));
            }
        }
    }
    assert!(
        f.is_empty(),
        "{} of {} cases differ from the reference:\n{}",
        f.len(),
        cases.len(),
        f.join("\n")
    );
}
