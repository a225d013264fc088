//! The catalogue: every service kind of docs/svctool.md#service-kinds, each described once — its directory and
//! log names, the mode and group of its variables, its variables (table of [`Var`] rules),
//! its run script and extra files (templates, see [`render::template`]). The one renderer
//! ([`render::render`]) writes any of them.
//!
//! Deliberate differences from the reference (docs/decisions.md#s2, listed in docs/svctool.md#fixed-defects) are
//! marked `S2` where they are made.

use crate::render::{self, set, Ctx, Extra, Kind, Name, Rule::*, Val, Var, Vars};
use crate::{fsx, Stop};
use std::path::Path;

// ---------------------------------------------------------------------------------------
// shared variable groups

fn path_vars(c: &Ctx, v: &mut Vars) {
    let p = c.prefix();
    let path = if p == "/usr" {
        "/bin:/usr/bin:/usr/sbin:/sbin".to_string()
    } else {
        format!("/bin:/usr/bin:{p}/bin:{p}/sbin")
    };
    set(v, "PATH", Val::Set(path));
}

fn infifo_parts(c: &Ctx, f: &str) -> (String, String) {
    let p = Path::new(f);
    let base = p
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = match p.parent().map(|d| d.to_string_lossy().into_owned()) {
        Some(d) if !d.is_empty() => d,
        _ => format!("{}/indimail/inlookup", c.rundir()),
    };
    (base, dir)
}

fn infifo_vars(c: &Ctx, v: &mut Vars) {
    if let Some(f) = c.o.get("--infifo") {
        let (base, dir) = infifo_parts(c, f);
        set(v, "INFIFO", Val::Set(base));
        set(v, "INFIFODIR", Val::Set(dir));
    }
}

/// `$S/control/global_vars/NAME` as a service would inherit it.
fn global_value(c: &Ctx, name: &str) -> Option<String> {
    let p = c
        .host
        .disk(&format!("{}/control/global_vars/{name}", c.sysconfdir()));
    std::fs::read(p).ok().and_then(|b| render::envdir_value(&b))
}

fn default_domain_vars(c: &Ctx, v: &mut Vars) {
    if let Some(d) = c.o.get("--default-domain") {
        if global_value(c, "DEFAULT_DOMAIN").as_deref() != Some(d) {
            set(v, "DEFAULT_DOMAIN", Val::Set(d.into()));
        }
    }
}

fn certdir(c: &Ctx) -> Val {
    Val::Set(format!("{}/certs", c.sysconfdir()))
}

fn certdir_smtp_vars(c: &Ctx, v: &mut Vars) {
    if c.cond("--ssl") || c.cond("--forcetls") || c.cond("--starttls") {
        set(v, "CERTDIR", certdir(c));
    }
}

fn certdir_send_vars(c: &Ctx, v: &mut Vars) {
    if c.cond("--ssl") || c.cond("--starttls") {
        set(v, "CERTDIR", certdir(c));
    }
}

/// QUEUEDIR / QMAILQUEUE / QUEUE_* for a service that queues mail (docs/svctool.md#qmail-smtpd).
fn queue_vars(c: &Ctx, v: &mut Vars) {
    let qbase = c.qbase();
    if c.o.flag("--no-multi") {
        let q = c.o.get("--qmailqueue").unwrap_or("/usr/sbin/qmail-queue");
        set(v, "QMAILQUEUE", Val::Set(q.into()));
        set(v, "QUEUEDIR", Val::Set(format!("{qbase}/queue1")));
    } else {
        set(v, "QUEUEDIR", Val::Unset);
        queue_counts(c, v);
    }
}

/// QUEUE_BASE/COUNT/START, written only where the inherited value differs (docs/svctool.md#queue-variables).
fn queue_counts(c: &Ctx, v: &mut Vars) {
    let vars_dir = c.host.disk(&c.key("VARSDIR"));
    for (name, opt) in [
        ("QUEUE_BASE", "--qbase"),
        ("QUEUE_COUNT", "--qcount"),
        ("QUEUE_START", "--qstart"),
    ] {
        let want = c.o.val(opt).unwrap_or("");
        set(v, name, Val::Remove);
        // as the reference's `envdir | grep | cut`: nothing inherited reads as empty
        if render::inherited(c.host, &vars_dir, name).unwrap_or_default() != want {
            set(v, name, Val::Set(want.into()));
        }
    }
}

pub(crate) fn virus_vars(c: &Ctx, v: &mut Vars) {
    let val = match c.o.get("--virus-filter") {
        Some(x) => Val::Set(x.into()),
        None if c.o.flag("--virus-filter") => Val::Set("1".into()),
        None => Val::Unset,
    };
    set(v, "VIRUSCHECK", val);
}

fn bodycheck_vars(c: &Ctx, v: &mut Vars) {
    let val = match c.o.get("--content-filter") {
        Some("1") => Val::Empty,
        Some(x) => Val::Set(x.into()),
        None if c.o.flag("--content-filter") => Val::Empty,
        None => Val::Unset,
    };
    set(v, "BODYCHECK", val);
}

pub(crate) fn sync_vars(c: &Ctx, v: &mut Vars) {
    for (f, n) in [
        ("--fsync", "USE_FSYNC"),
        ("--fdatasync", "USE_FDATASYNC"),
        ("--syncdir", "USE_SYNCDIR"),
    ] {
        if c.o.flag(f) {
            set(v, n, Val::Set("1".into()));
        }
    }
}

fn spam(c: &Ctx, v: &mut Vars, clear_all: bool) {
    match c.o.get("--spamfilter") {
        Some(sf) => {
            set(v, "SPAMFILTER", Val::Set(sf.into()));
            set(v, "MAKE_SEEKABLE", Val::Set("1".into()));
            match c.o.get("--spamexitcode") {
                Some(e) => {
                    set(v, "SPAMEXITCODE", Val::Set(e.into()));
                    let r =
                        c.o.get("--rejectspam")
                            .map_or(Val::Unset, |r| Val::Set(r.into()));
                    set(v, "REJECTSPAM", r);
                }
                None => set(v, "SPAMEXITCODE", Val::Unset),
            }
        }
        None => {
            set(v, "SPAMFILTER", Val::Unset);
            if clear_all {
                set(v, "REJECTSPAM", Val::Unset);
                set(v, "SPAMEXITCODE", Val::Unset);
            }
        }
    }
}

pub(crate) fn spam_vars(c: &Ctx, v: &mut Vars) {
    spam(c, v, false)
}

fn spam_fetchmail_vars(c: &Ctx, v: &mut Vars) {
    spam(c, v, true)
}

fn hostaccess_vars(c: &Ctx, v: &mut Vars) {
    let has = c.host.exists(&format!("{}/hostaccess", c.cntrldir));
    let f = |flag: &str| {
        if has && c.o.flag(flag) {
            Val::Empty
        } else {
            Val::Unset
        }
    };
    set(v, "PARANOID", f("--paranoid"));
    set(v, "DOMAIN_MASQUERADE", f("--dmasquerade"));
}

fn auth_vars(c: &Ctx, v: &mut Vars) {
    if c.o.flag("--forceauthsmtp") {
        set(v, "REQUIREAUTH", Val::Empty);
        set(v, "AUTH_ALL", Val::Unset);
        set(v, "CHECKRELAY", Val::Unset);
    } else {
        set(v, "REQUIREAUTH", Val::Unset);
        if c.o.flag("--authall") {
            set(v, "AUTH_ALL", Val::Empty);
            set(v, "CHECKRELAY", Val::Unset);
        } else {
            set(v, "AUTH_ALL", Val::Unset);
            // S2 (COMPATIBILITY.md#svctool-and-qmailctl V5): CHECKRELAY only with --chkrelay
            let r = if c.o.flag("--chkrelay") {
                Val::Empty
            } else {
                Val::Unset
            };
            set(v, "CHECKRELAY", r);
        }
    }
}

fn plugin(c: &Ctx, so: &str) -> Option<String> {
    let p = format!("{}/lib/indimail/plugins/{so}", c.prefix());
    c.host.is_file(&p).then_some(p)
}

fn shared_objects(c: &Ctx) -> bool {
    c.o.get("--shared-objects") == Some("1")
}

fn plugins_vars(c: &Ctx, v: &mut Vars) {
    if !shared_objects(c) {
        return;
    }
    let mut n = 0;
    if let Some(p) = plugin(c, "qmail_smtpd.so") {
        if c.o.get("--use-dlmopen") == Some("1") {
            set(v, "USE_DLMOPEN", Val::Set("1".into()));
        }
        set(v, &format!("PLUGIN{n}"), Val::Set(p));
        set(v, &format!("PLUGIN{n}_init"), Val::Set("smtp_init".into()));
        set(
            v,
            &format!("PLUGIN{n}_dir"),
            Val::Set(c.sysconfdir().into()),
        );
        n += 1;
    }
    if let Some(p) = plugin(c, "rblsmtpd.so") {
        set(v, &format!("PLUGIN{n}"), Val::Set(p));
    }
}

fn dkim_qmailqueue(c: &Ctx) -> String {
    let p = c.prefix();
    if c.o.get("--spamfilter").is_some() {
        format!("{p}/sbin/qmail-spamfilter {p}/sbin/qmail-dkim")
    } else {
        format!("{p}/sbin/qmail-dkim")
    }
}

/// The DKIM verification / QMAILQUEUE table of docs/svctool.md#qmail-smtpd.
fn dkim_verify_vars(c: &Ctx, v: &mut Vars) {
    for n in ["DKIMSIGN", "DKIMVERIFY", "DKIMQUEUE"] {
        set(v, n, Val::Remove);
    }
    let nomulti = c.o.flag("--no-multi");
    let queue1 = format!("{}/queue1", c.qbase());
    let p = c.prefix();
    match c.o.val("--dkverify").unwrap_or("") {
        mode @ ("dkim" | "dkimstrict") => {
            if mode == "dkim" {
                set(v, "DKIMVERIFY", Val::Empty);
                set(v, "UNSIGNED_SUBJECT", Val::Empty);
            } else {
                set(v, "DKIMVERIFY", Val::Set("FGHIKLMNOQRTUVWjp".into()));
                set(v, "UNSIGNED_SUBJECT", Val::Unset);
            }
            set(v, "UNSIGNED_FROM", Val::Unset);
            set(v, "QMAILQUEUE", Val::Set(dkim_qmailqueue(c)));
            if nomulti {
                set(v, "QUEUEDIR", Val::Set(queue1));
            }
        }
        _ => {
            let sf = c.o.get("--spamfilter").is_some();
            if nomulti {
                set(v, "QUEUEDIR", Val::Set(queue1));
                let q = if sf {
                    format!("{p}/sbin/qmail-spamfilter")
                } else {
                    c.o.get("--qmailqueue")
                        .unwrap_or("/usr/sbin/qmail-queue")
                        .to_string()
                };
                set(v, "QMAILQUEUE", Val::Set(q));
            } else {
                let q = if sf {
                    "qmail-spamfilter"
                } else {
                    "qmail-multi"
                };
                set(v, "QMAILQUEUE", Val::Set(format!("{p}/sbin/{q}")));
                set(v, "QUEUEDIR", Val::Unset);
            }
        }
    }
}

fn auth_modules(c: &Ctx) -> String {
    ["sys-checkpwd", "vchkpass"]
        .iter()
        .map(|m| format!("{}/sbin/{m}", c.prefix()))
        .filter(|p| c.host.is_file(p))
        .collect::<Vec<_>>()
        .join(" ")
}

fn smtp_auth(c: &Ctx) -> bool {
    c.o.flag("--authsmtp") || c.o.flag("--forceauthsmtp")
}

fn authmodules_vars(c: &Ctx, v: &mut Vars) {
    if smtp_auth(c) {
        let m = auth_modules(c);
        set(
            v,
            "AUTHMODULES",
            if m.is_empty() {
                Val::Empty
            } else {
                Val::Set(m)
            },
        );
    } else {
        set(v, "AUTHMODULES", Val::Unset);
        set(v, "DISABLE_VRFY", Val::Empty);
    }
}

const DEFAULT_RBL: &str =
    "-rzen.spamhaus.org -rdnsbl-1.uceprotect.net -rdnsbl.sorbs.net -rbl.spamcop.net";

fn rbl_vars(c: &Ctx, v: &mut Vars) {
    if c.o.rbl.is_empty() {
        set(v, "RBLCOMMAND", Val::Unset);
        return;
    }
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V7): the lists in command-line order, no trailing blank; the built-in list
    // when every --rbl was empty
    let list: Vec<&str> =
        c.o.rbl
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
    let list = if list.is_empty() {
        DEFAULT_RBL.to_string()
    } else {
        list.join(" ")
    };
    let prog = match (shared_objects(c), plugin(c, "rblsmtpd.so")) {
        (true, Some(p)) => p,
        _ => format!("{}/bin/rblsmtpd", c.prefix()),
    };
    set(v, "RBLCOMMAND", Val::Set(format!("{prog} {list}")));
}

fn logfilter_vars(c: &Ctx, v: &mut Vars) {
    let val =
        c.o.get("--logfilter")
            .map_or(Val::Unset, |f| Val::Set(f.into()));
    set(v, "LOGFILTER", val);
}

fn smtp_block_vars(c: &Ctx, v: &mut Vars) {
    let table: &[Var] = if c.o.flag("--odmr") {
        SMTP_ODMR
    } else {
        SMTP_FULL
    };
    for var in table {
        c.eval(var, v);
    }
}

/// Where mysqld may be installed below a prefix, in the order they are tried.
pub const MYSQLD_PATHS: [&str; 4] = [
    "sbin/mariadbd",
    "libexec/mysqld",
    "sbin/mysqld",
    "bin/mysqld",
];

/// MYSQL_OPT_RECONNECT's probe (docs/svctool.md#qmail-send-and-the-queues): the installed mysqld is MariaDB, MySQL < 8, or
/// 8.0.0–8.0.34.
pub fn mysql_reconnect(c: &Ctx) -> bool {
    let Some(mysqld) = MYSQLD_PATHS
        .iter()
        .map(|m| c.host.disk(&format!("/usr/{m}")))
        .find(|p| p.is_file())
    else {
        return false;
    };
    let Ok(out) = std::process::Command::new(&mysqld)
        .arg("--version")
        .output()
    else {
        return false;
    };
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let Some(ver) = text
        .lines()
        .find(|l| l.contains("Ver"))
        .and_then(|l| l.split_whitespace().nth(2))
    else {
        return false;
    };
    if ver.contains("MariaDB") {
        return true;
    }
    let n: Vec<u32> = ver
        .split(['.', '-'])
        .filter_map(|x| x.parse().ok())
        .collect();
    match n.as_slice() {
        [major, ..] if *major < 8 => true,
        [8, 0, minor2, ..] => *minor2 <= 34,
        _ => false,
    }
}

fn persistdb_vars(c: &Ctx, v: &mut Vars) {
    if c.o.flag("--persistdb") {
        set(v, "ROUTE_NULL_USER", Val::Set("postmaster".into()));
        set(v, "AUTHSELF", Val::Empty);
        let r = if mysql_reconnect(c) {
            Val::Set("1".into())
        } else {
            Val::Unset
        };
        set(v, "MYSQL_OPT_RECONNECT", r);
    } else {
        for n in ["ROUTE_NULL_USER", "AUTHSELF", "MYSQL_OPT_RECONNECT"] {
            set(v, n, Val::Unset);
        }
    }
}

fn persistdb_slowq_vars(c: &Ctx, v: &mut Vars) {
    if c.o.flag("--persistdb") {
        set(v, "ROUTE_NULL_USER", Val::Set("postmaster".into()));
        set(v, "AUTHSELF", Val::Empty);
        set(v, "MYSQL_OPT_RECONNECT", Val::Set("1".into()));
    } else {
        for n in ["ROUTE_NULL_USER", "AUTHSELF", "MYSQL_OPT_RECONNECT"] {
            set(v, n, Val::Unset);
        }
    }
}

fn spawn_filter(c: &Ctx) -> Val {
    Val::Set(format!("{}/sbin/spawn-filter", c.prefix()))
}

fn localfilter_vars(c: &Ctx, v: &mut Vars) {
    if c.o.flag("--localfilter") {
        set(v, "QMAILLOCAL", spawn_filter(c));
        set(v, "MAKE_SEEKABLE", Val::Set("1".into()));
    } else {
        set(v, "QMAILLOCAL", Val::Unset);
    }
}

fn remotefilter_vars(c: &Ctx, v: &mut Vars) {
    remote_filter(c, v, Val::Empty);
}

fn remotefilter_slowq_vars(c: &Ctx, v: &mut Vars) {
    remote_filter(c, v, Val::Set(format!("{}/slowq/ratelimit", c.qbase())));
}

/// `--remotefilter`: qmail-remote through spawn-filter, with this RATELIMIT_DIR.
fn remote_filter(c: &Ctx, v: &mut Vars, ratelimit_dir: Val) {
    if c.o.flag("--remotefilter") {
        set(v, "QMAILREMOTE", spawn_filter(c));
        set(v, "RATELIMIT_DIR", ratelimit_dir);
        set(v, "MAKE_SEEKABLE", Val::Set("1".into()));
    } else {
        set(v, "QMAILREMOTE", Val::Unset);
    }
}

fn dksign_vars(c: &Ctx, v: &mut Vars) {
    for n in ["DKIMSIGN", "DKIMVERIFY", "DKIMQUEUE"] {
        set(v, n, Val::Remove);
    }
    if c.o.val("--dksign") == Some("dkim") {
        set(
            v,
            "DKIMSIGN",
            Val::Set(c.o.val("--private_key").unwrap_or("").into()),
        );
        set(v, "UNSIGNED_SUBJECT", Val::Unset);
        set(v, "UNSIGNED_FROM", Val::Unset);
    }
}

fn send_queue_vars(c: &Ctx, v: &mut Vars) {
    if c.o.flag("--no-multi") {
        set(v, "QUEUEDIR", Val::Set(format!("{}/queue1", c.qbase())));
        set(v, "QMAILQUEUE", Val::Unset);
    } else {
        set(
            v,
            "QMAILQUEUE",
            Val::Set(format!("{}/sbin/qmail-multi", c.prefix())),
        );
        set(v, "QUEUEDIR", Val::Unset);
        queue_counts(c, v);
    }
}

fn slowq_queue_vars(c: &Ctx, v: &mut Vars) {
    set(v, "QUEUEDIR", Val::Set(format!("{}/slowq", c.qbase())));
}

fn cache_count_vars(c: &Ctx, v: &mut Vars) {
    let days: u64 =
        c.o.get("--activeDays")
            .and_then(|d| d.parse().ok())
            .unwrap_or(7);
    set(v, "CACHE_COUNT", Val::Set((days * 86400).to_string()));
}

fn mysql_reconnect_vars(c: &Ctx, v: &mut Vars) {
    let r = if mysql_reconnect(c) {
        Val::Set("1".into())
    } else {
        Val::Unset
    };
    set(v, "MYSQL_OPT_RECONNECT", r);
}

fn cntrl_vars(c: &Ctx, v: &mut Vars) {
    match c.o.get("--mysqlhost") {
        Some(h) => {
            set(v, "CNTRL_HOST", Val::Set(h.into()));
            let f = |o| c.o.get(o).map_or(Val::Unset, |x: &str| Val::Set(x.into()));
            set(v, "CNTRL_USER", f("--mysqluser"));
            set(v, "CNTRL_PASSWD", f("--mysqlpass"));
        }
        None => {
            for n in ["CNTRL_HOST", "CNTRL_USER", "CNTRL_PASSWD"] {
                set(v, n, Val::Unset);
            }
        }
    }
}

fn certfile_vars(c: &Ctx, v: &mut Vars) {
    let val = if c.o.flag("--ssl") {
        Val::Set(c.o.val("--certfile").unwrap_or("").into())
    } else {
        Val::Unset
    };
    set(v, "CERTFILE", val);
}

fn password_command_vars(c: &Ctx, v: &mut Vars) {
    let cmd =
        c.o.get("--setpassword")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/sbin/vsetpass", c.prefix()));
    set(
        v,
        "PASSWORD_COMMAND",
        Val::Set(format!("{cmd} {}", c.host.false_path())),
    );
}

fn initcmd_vars(c: &Ctx, v: &mut Vars) {
    let val =
        c.o.get("--initcmd")
            .map_or(Val::Empty, |x| Val::Set(x.into()));
    set(v, "INITCMD", val);
}

fn unshare_vars(c: &Ctx, v: &mut Vars) {
    let ok = c.o.flag("--unshare") && c.host.system_has("/usr/bin/unshare");
    set(v, "UNSHARE", if ok { Val::Empty } else { Val::Unset });
}

fn nssd_socket_vars(c: &Ctx, v: &mut Vars) {
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V9): the socket given is the socket used
    let sock =
        c.o.get("--pwdlookup")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/indimail/pwdlookup/nssd.sock", c.rundir()));
    set(v, "NSSD_SOCKET", Val::Set(sock));
}

// ---------------------------------------------------------------------------------------
// variable tables

static SMTP_FULL: &[Var] = &[
    Var("", Group(queue_vars)),
    Var("QREGEX", FlagEmpty("--qregex")),
    Var("", Group(virus_vars)),
    Var("QHPSI", OptOrUnset("--qhpsi")),
    Var("", Group(bodycheck_vars)),
    Var("", Group(sync_vars)),
    Var("", Group(spam_vars)),
    Var("MASQUERADE", FlagEmpty("--masquerade")),
    Var("DOMAIN_LIMITS", FlagEmpty("--domainlimits")),
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V3): each flag writes its own variable
    Var("CHECKRECIPIENT", FlagOne("--chkrecipient")),
    Var("CHECKSENDER", FlagOne("--chksender")),
    Var("ANTISPOOFING", FlagEmpty("--antispoof")),
    Var("CUGMAIL", FlagEmpty("--cugmail")),
    Var("NODNSCHECK", FlagUnset("--dnscheck")),
    Var("", Group(hostaccess_vars)),
    Var("SECURE_AUTH", FlagOne("--secureauth")),
    Var("", Group(auth_vars)),
    Var("UTF8", FlagEmpty("--utf8")),
];

static SMTP_ODMR: &[Var] = &[
    Var("SECURE_AUTH", FlagOne("--secureauth")),
    Var("REQUIREAUTH", FlagEmpty("--forceauthsmtp")),
];

static SMTPD_VARS: &[Var] = &[
    Var("ENVHEADERS", Empty),
    Var("LOCALIP", Opt("--localip", "0")),
    Var("PORT", Key("PORT")),
    Var("MAXDAEMONS", Opt("--maxdaemons", "150")),
    Var("", Group(infifo_vars)),
    Var("DISABLE_PLUGIN", FlagUnset("--smtp-plugin")),
    Var("MAXPERIP", Opt("--maxperip", "10")),
    Var("CONTROLDIR", Key("C")),
    Var("ENFORCE_FQDN_HELO", FlagEmpty("--helofqdn")),
    Var("BADHELOCHECK", FlagEmpty("--helocheck")),
    Var("PASSWD_CACHE", FlagEmpty("--password-cache")),
    Var("QUERY_CACHE", FlagEmpty("--query-cache")),
    Var("", Group(default_domain_vars)),
    Var("SOFT_MEM", Opt("--memory", "52428800")),
    Var("SMTPS", FlagEmpty("--ssl")),
    Var("FORCE_TLS", FlagEmpty("--forcetls")),
    Var("", Group(certdir_smtp_vars)),
    Var("STARTTLS", FlagEmpty("--starttls")),
    Var("MIN_FREE", Opt("--min-free", "52428800")),
    Var("", Group(path_vars)),
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V4): --enablecram sets ENABLE_CRAM
    Var("ENABLE_CRAM", FlagOne("--enablecram")),
    Var("", Group(smtp_block_vars)),
    Var("STRIP_DOMAIN", Lit("1")),
    Var("ALLOW_BARELF", FlagOne("--barelf")),
    Var("", Group(plugins_vars)),
    Var("", Group(dkim_verify_vars)),
    Var("", Group(authmodules_vars)),
    Var("HIDE_HOST", FlagOne("--hide-host")),
    Var("", Group(rbl_vars)),
    Var("", Group(logfilter_vars)),
];

static SEND_COMMON: &[Var] = &[Var("MIN_FREE", Opt("--min-free", "52428800"))];

static SEND_VARS: &[Var] = &[
    Var("", Group(send_queue_vars)),
    Var("MIN_FREE", Opt("--min-free", "52428800")),
    Var("MSGQSIZE", Opt("--msgqsize", "8388608")),
    Var("", Group(path_vars)),
    Var("", Group(certdir_send_vars)),
    Var("", Group(delivery_vars)),
    Var("", Group(persistdb_vars)),
    Var("AUTH_SMTP", OptOrUnset("--remote-authsmtp")),
    Var("", Group(localfilter_vars)),
    Var("", Group(remotefilter_vars)),
    Var("START_PLUGIN", Lit("startup.so")),
    Var("", Group(default_domain_vars)),
    Var("LOGLOCK", Empty),
    Var("", Group(dksign_vars)),
    Var("HIDE_HOST", FlagOne("--hide-host")),
];

fn cname_vars(c: &Ctx, v: &mut Vars) {
    let val = if c.o.flag("--cname-lookup") {
        Val::Unset
    } else {
        Val::Set("1".into())
    };
    set(v, "DISABLE_CNAME_LOOKUP", val);
}

static SLOWQ_VARS: &[Var] = &[
    Var("", Group(slowq_queue_vars)),
    Var("", Group(send_common_vars)),
    Var("", Group(path_vars)),
    Var("", Group(certdir_send_vars)),
    Var("", Group(delivery_vars)),
    Var("", Group(persistdb_slowq_vars)),
    Var("AUTH_SMTP", OptOrUnset("--remote-authsmtp")),
    Var("", Group(localfilter_vars)),
    Var("", Group(remotefilter_slowq_vars)),
    Var("TODO_PROCESSOR", FlagOne("--todo-proc")),
    Var("", Group(default_domain_vars)),
    Var("", Group(dksign_vars)),
];

/// What qmail-send and slowq-send share, in the order both write it.
static DELIVERY_VARS: &[Var] = &[
    Var("USE_SETGROUPS", FlagOne("--setgroups")),
    Var("UTF8", FlagOne("--utf8")),
    Var("ROUTES", OptOrUnset("--routes")),
    Var("", Group(cname_vars)),
    Var("SETUSER_PRIVILEGES", FlagOne("--setuser-priv")),
    Var("SANITIZE_ENV", OptOrUnset("--sanitize-env")),
    Var("CONTROLDIR", Key("C")),
    Var("MAILCOUNT_LIMIT", OptOrUnset("--deliverylimit-count")),
    Var("MAILSIZE_LIMIT", OptOrUnset("--deliverylimit-size")),
    Var("DOMAIN_LIMITS", FlagEmpty("--domainlimits")),
    Var("FAST_QUOTA", Unset),
    Var("MAILDIRSIZE_MAX_SIZE", Lit("8192")),
    Var("MAILDIRSIZE_MAX_AGE", Lit("43200")),
    Var("OVERQUOTA_MAILSIZE", OptOrUnset("--overquota_mailsize")),
    Var("", Group(sync_vars)),
    Var("SOFT_MEM", Opt("--dmemory", "83886080")),
];

fn delivery_vars(c: &Ctx, v: &mut Vars) {
    for var in DELIVERY_VARS {
        c.eval(var, v);
    }
}

fn send_common_vars(c: &Ctx, v: &mut Vars) {
    for var in SEND_COMMON {
        c.eval(var, v);
    }
}

fn hide_qmtp_vars(c: &Ctx, v: &mut Vars) {
    // qmtpd honours --hide-host; qmqpd always clears it
    let on = c.key("PROTO") == "qmtp" && c.o.flag("--hide-host");
    set(
        v,
        "HIDE_HOST",
        if on { Val::Set("1".into()) } else { Val::Unset },
    );
}

static QMQP_VARS: &[Var] = &[
    Var("LOCALIP", Opt("--localip", "0")),
    Var("PORT", Key("PORT")),
    Var("MAXDAEMONS", Opt("--maxdaemons", "150")),
    Var("MAXPERIP", Opt("--maxperip", "10")),
    Var("CONTROLDIR", Key("C")),
    Var("SOFT_MEM", Opt("--memory", "52428800")),
    Var("", Group(queue_vars)),
    Var("", Group(dkim_verify_vars)),
    Var("", Group(sync_vars)),
    Var("MIN_FREE", Opt("--min-free", "52428800")),
    Var("QHPSI", OptOrUnset("--qhpsi")),
    Var("", Group(spam_vars)),
    Var("", Group(path_vars)),
    Var("", Group(hide_qmtp_vars)),
    Var("", Group(logfilter_vars)),
];

static POPPASS_VARS: &[Var] = &[
    Var("LOCALIP", Opt("--localip", "0")),
    Var("SOFT_MEM", Opt("--memory", "52428800")),
    Var("PORT", Key("PORT")),
    Var("MAXDAEMONS", Opt("--maxdaemons", "150")),
    Var("MAXPERIP", Opt("--maxperip", "10")),
    Var("", Group(password_command_vars)),
    Var("", Group(certfile_vars)),
];

static INDISRVR_VARS: &[Var] = &[
    Var("LOCALIP", Opt("--localip", "0")),
    Var("MAXDAEMONS", Opt("--maxdaemons", "150")),
    Var("MAXPERIP", Opt("--maxperip", "10")),
    Var("MYSQL_READ_DEFAULT_FILE", Key("INDIMAIL_CNF")),
    Var("PORT", Key("PORT")),
    Var("", Group(cntrl_vars)),
    Var("AVG_USER_QUOTA", Opt("--avguserquota", "")),
    Var("HARD_QUOTA", Opt("--hardquota", "")),
    Var("BASE_PATH", Opt("--base_path", "")),
    Var("DOMAIN_LIMITS", FlagEmpty("--domainlimits")),
    Var("", Group(certfile_vars)),
    Var("", Group(mysql_reconnect_vars)),
    Var("DATA_TIMEOUT", Lit("300")),
];

static INLOOKUP_VARS: &[Var] = &[
    Var("INFIFO", Key("FIFONAME")),
    Var("INFIFODIR", Key("INFIFODIR")),
    Var("THREAD_COUNT", Opt("--threads", "")),
    Var("FIFO_MODE", Lit("0660")),
    Var("", Group(cache_count_vars)),
    Var("CONTROLDIR", Key("C")),
    Var("PASSWD_CACHE", FlagEmpty("--password-cache")),
    Var("QUERY_CACHE", FlagEmpty("--query-cache")),
    Var("USE_BTREE", FlagOne("--use-btree")),
    Var("MAX_BTREE_COUNT", Opt("--max-btree-count", "0")),
    Var("DOMAIN_LIMITS", FlagEmpty("--domainlimits")),
    Var("MYSQL_READ_DEFAULT_FILE", Key("INDIMAIL_CNF")),
    Var("MYSQL_READ_DEFAULT_GROUP", Lit("inlookup")),
    Var("", Group(mysql_reconnect_vars)),
];

static PWDLOOKUP_VARS: &[Var] = &[Var("", Group(nssd_socket_vars))];

static GREYLIST_VARS: &[Var] = &[
    Var("LOCALIP", Opt("--localip", "127.0.0.1")),
    Var("PORT", Key("PORT")),
    Var("CONTROLDIR", Key("C")),
    Var("SOFT_MEM", Opt("--memory", "52428800")),
];

static DANED_VARS: &[Var] = &[
    Var("LOCALIP", Opt("--localip", "127.0.0.1")),
    Var("CONTROLDIR", Key("C")),
    Var("PORT", Key("PORT")),
    Var("SOFT_MEM", Opt("--memory", "52428800")),
    Var("DANEPROG", Key("DANEPROG")),
];

static UDPLOGGER_VARS: &[Var] = &[
    Var("LOCALIP", Opt("--localip", "127.0.0.1")),
    Var("TIMEOUT", Opt("--timeout", "60")),
    Var("PORT", Key("PORT")),
    Var("CONTROLDIR", Key("C")),
    Var("SOFT_MEM", Opt("--memory", "52428800")),
];

static LOGFIFO_VARS: &[Var] = &[Var("LOGFILTER", Key("PORT"))];

static FETCHMAIL_VARS: &[Var] = &[
    Var("", Group(queue_vars)),
    Var("MIN_FREE", Opt("--min-free", "52428800")),
    Var("", Group(path_vars)),
    Var("CONTROLDIR", Key("C")),
    Var("", Group(sync_vars)),
    Var("SOFT_MEM", Opt("--memory", "5242880")),
    Var("", Group(spam_fetchmail_vars)),
    Var("QHPSI", OptOrUnset("--qhpsi")),
    Var("DOMAIN_LIMITS", FlagEmpty("--domainlimits")),
    Var("", Group(dkim_verify_vars)),
    Var("", Group(logfilter_vars)),
];

static SVSCAN_VARS: &[Var] = &[
    Var("", Group(initcmd_vars)),
    Var(
        "PATH",
        Lit("/usr/bin:/bin:/usr/local/bin:/usr/sbin:/sbin:/usr/local/sbin"),
    ),
    Var("SCANINTERVAL", Opt("--scanint", "300")),
    Var("SCANLOG", Empty),
    Var("", Group(unshare_vars)),
    Var("AUTOSCAN", Lit("1")),
];

static MRTG_VARS: &[Var] = &[Var("LANG", Lit("C"))];

static NONE: &[Var] = &[];

// ---------------------------------------------------------------------------------------
// run scripts (templates: @KEY@ substitutions, ?cond? / ?!cond? conditional lines)

const SMTPD_RUN: &str = r#"MYUID=$(@IDPROG@ -u qmaild)
MYGID=$(@GROUPQUERY@)
ME=$(head -1 @C@/me)
HOSTNAME=$(uname -n)

if [ -z "$MYUID" -o -z "$MYGID" -o -z "$ME" ]; then
    echo UID, GID, or ME is unset in
    echo $(pwd)/run
    sleep 5
    exit 1
fi
if [ ! -f @C@/rcpthosts ]; then
    echo "No @C@/rcpthosts!"
    echo "Refusing to start SMTP listener because it'll create an open relay"
    sleep 5
    exit 1
fi

exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
?!RBL?@P@/bin/tcpserver -v -H -R -l $HOSTNAME \
?RBL?@P@/bin/tcpserver -v -h -R -l $HOSTNAME \
-x @S@/tcp/tcp.smtp.cdb \
-c ./variables/MAXDAEMONS -o -b \$MAXDAEMONS \
-u qmaild -g qmail,indimail \$LOCALIP \$PORT \$RBLCOMMAND \
?AUTH?@SMTPD@ $HOSTNAME \$AUTHMODULES @FALSE@"
?!AUTH?@SMTPD@"
"#;

const SEND_RUN: &str = r#"exec 2>&1
if [ -s variables/CONTROLDIR ] ; then
  cntrl_dir=$(@P@/bin/qcat variables/CONTROLDIR)
else
  cntrl_dir=@S@/control
fi
if [ -f $cntrl_dir/defaultdelivery ] ; then
  defaultdelivery=$(@P@/bin/qcat $cntrl_dir/defaultdelivery)
else
  defaultdelivery="./Maildir/"
fi
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
?!DYNAMIC?exec @P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
?DYN_LINUX?# fix for linux. Haven't understood this, but this works
?DYN_LINUX?ulimit -q unlimited
?DYN_FREEBSD?if [ ! -d @Q@/queue/mqueue ] ; then
?DYN_FREEBSD?  mkdir -p @Q@/queue/mqueue
?DYN_FREEBSD?fi
?DYN_FREEBSD?mq=\$(df @Q@/queue/mqueue|grep mqueue >/dev/null)
?DYN_FREEBSD?if [ \$? -ne 0 ] ; then
?DYN_FREEBSD?  mount -t mqueuefs null @Q@/queue/mqueue
?DYN_FREEBSD?fi
?DYNAMIC?exec @P@/bin/softlimit -q \$MSGQSIZE -m \$SOFT_MEM -o 1024 \
@SCHEDULER@ $defaultdelivery"
"#;

const QMQP_RUN: &str = r#"MYUID=`@IDPROG@ -u qmaild`
MYGID=`@IDPROG@ -g qmaild`
ME=`head -1 @C@/me`
HOSTNAME=`uname -n`

if [ -z "$MYUID" -o -z "$MYGID" -o -z "$ME" ]; then
    echo UID, GID, or ME is unset in
    echo `pwd`/run
    sleep 5
    exit 1
fi

exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
@P@/bin/tcpserver -v -H -R -l $HOSTNAME \
-x @S@/tcp/tcp.@PROTO@.cdb \
-c ./variables/MAXDAEMONS -o -b \$MAXDAEMONS \
-u $MYUID -g $MYGID \$LOCALIP \$PORT \
@P@/sbin/qmail-@PROTO@d"
"#;

const COURIER_RUN: &str = r#"HOSTNAME=`uname -n`

prefix=@P@
bindir=${prefix}/bin
libexecdir=@LIBEXEC@

if [ ! -d @RUNDIR@/indimail/inquery ] ; then
  mkdir -p @RUNDIR@/indimail/inquery
  chmod 2770 @RUNDIR@/indimail/inquery
  @CHOWN@ qmaild:indimail @RUNDIR@/indimail/inquery
fi
exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
IMAPAUTHMODULES=\"\"
for f in \`echo \$IMAPMODULES\`
do
	IMAPAUTHMODULES=\"\$IMAPAUTHMODULES $libexecdir/imapmodules/\$f\"
done
exec @P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
@P@/bin/tcpserver -v -c ./variables/MAXDAEMONS -C \$MAXPERIP \
-x @S@/tcp/tcp.@CDB@.cdb -X \
?--ssl?-o -b \$MAXDAEMONS -H -l $HOSTNAME -R -u indimail -g indimail,qmail,qcerts \$SSLADDRESS \$SSLPORT \
?--ssl?$prefix/bin/couriertls -server -tcpd \
?!--ssl?-o -b \$MAXDAEMONS -H -l $HOSTNAME -R -u indimail -g indimail,qmail,qcerts \$LOCALIP \$PORT \
?!--proxy?$prefix/sbin/@CDB@login \$IMAPAUTHMODULES $bindir/@STYPE@ Maildir"
?--proxy?@P@/bin/proxy@CDB@ $bindir/@STYPE@ Maildir"
"#;

const POPPASS_RUN: &str = r#"exec 2>&1
MYUID=`@IDPROG@ -u qmaild`
MYGID=`@IDPROG@ -g indimail`
HOSTNAME=`uname -n`

if [ -z "$MYUID" -o -z "$MYGID" ]; then
    echo UID or GID is unset in
    echo `pwd`/run
    sleep 5
    exit 1
fi
if [ ! -f $CERTFILE ]; then
    echo Certificate not present
    sleep 5
    exit 1
fi

exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
@P@/bin/tcpserver -v -H -R -l $HOSTNAME \
-x @S@/tcp/tcp.poppass.cdb -X \
-c ./variables/MAXDAEMONS -C \$MAXPERIP -o -b \$MAXDAEMONS \
?--ssl?-n \$CERTFILE \
?--ssl?-u $MYUID -g $MYGID,qcerts \$LOCALIP \$PORT \
?!--ssl?-u $MYUID -g $MYGID \$LOCALIP \$PORT \
@P@/sbin/qmail-poppass $HOSTNAME @P@/sbin/vchkpass @FALSE@"
"#;

const INDISRVR_RUN: &str = r#"CERTFILE=$(@P@/bin/qcat variables/CERTFILE)
if [ ! -f $CERTFILE ]; then
    echo Certificate not present
    sleep 5
    exit 1
fi

exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
?--ssl?exec @P@/bin/setuidgid -g qcerts indimail \
?!--ssl?exec @P@/bin/setuidgid indimail \
@P@/sbin/indisrvr -i \$LOCALIP -p \$PORT -b \$MAXDAEMONS \
?--ssl?-t \$DATA_TIMEOUT -n \$CERTFILE"
?!--ssl?-t \$DATA_TIMEOUT"
"#;

const INLOOKUP_RUN: &str = r#"exec 2>&1

if [ ! -d @INFIFODIR@ ] ; then
  /bin/mkdir -p @INFIFODIR@
  @CHOWN@ indimail:qmail @INFIFODIR@
  chmod 770 @INFIFODIR@
fi
if [ ! -d @RUNDIR@/indimail/inquery ] ; then
  /bin/mkdir -p @RUNDIR@/indimail/inquery
  chmod 2770 @RUNDIR@/indimail/inquery
  @CHOWN@ qmaild:indimail @RUNDIR@/indimail/inquery
fi
if [ -f variables/THREAD_COUNT ] ; then
  count=$(@P@/bin/qcat variables/THREAD_COUNT)
else
  count=5
fi
echo "initializing fifo count=$count ..."
/bin/rm -f @INFIFODIR@/infifo.*
for i in $(seq 1 $count); do f=@INFIFODIR@/infifo.$i; mkfifo $f && /bin/chmod 660 $f && @CHOWN@ qmaild:indimail $f; done
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/setuidgid -g qmail,indimail,qcerts qmaild @P@/sbin/inlookup \
  -v -i \$THREAD_COUNT -c \$CACHE_COUNT"
"#;

/// The `init` script of inlookup and qscanq: supervise's control fifo, group-writable.
const CONTROL_INIT: &str = r#"exec 2>&1
set -e

if [ -d /run ] ; then
  svdir=/run/svscan
elif [ -d /var/run ] ; then
  svdir=/var/run/svscan
else
  svdir=@SERVICEDIR@
fi
@INIT_COMMENT@if [ ! -p $svdir/@SVC@/supervise/control ] ; then
  if [ ! -d $svdir/@SVC@/supervise ] ; then
    /bin/mkdir -p $svdir/@SVC@/supervise
  fi
  /usr/bin/mkfifo $svdir/@SVC@/supervise/control
  /bin/chmod 660 $svdir/@SVC@/supervise/control
  @CHOWN@ @CTL_OWNER@ $svdir/@SVC@/supervise/control
else
  /bin/chmod 660 $svdir/@SVC@/supervise/control
  @CHOWN@ @CTL_OWNER@ $svdir/@SVC@/supervise/control
fi
@CHOWN@ @SUP_OWNER@ $svdir/@SVC@/supervise
echo "Finished initialization"
"#;

const PWDLOOKUP_RUN: &str = r#"if [ ! -d @RUNDIR@/indimail/pwdlookup ] ; then
  mkdir -p @RUNDIR@/indimail/pwdlookup
fi
@CHOWN@ root:indimail @RUNDIR@/indimail/pwdlookup
chmod 775 @RUNDIR@/indimail/pwdlookup
exec 2>&1

exec @P@/bin/envdir @ENVDIROPTS@ variables \
@P@/bin/setuidgid -g qmail indimail @P@/sbin/nssd -d notice
"#;

const GREYLIST_RUN: &str = r#"exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/setuidgid indimail \
@P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
@GREYPROG@ -w @C@/@--whitelist@ -t @--timeout-days@ -g @--resend-win-hr@ \
?!--use-greydaemon?	-m @--min-resend-min@ -s @--save-interval@ -h @--hash-size@ \$LOCALIP @C@/@--context-file@"
?--use-greydaemon?	-m @--min-resend-min@ -s @--save-interval@ \$LOCALIP @C@/@--context-file@"
"#;

const DANED_RUN: &str = r#"exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/setuidgid indimail \
  @P@/sbin/qmail-daned -w @C@/@--whitelist@ -t @--timeout-days@ \
  -s @--save-interval@ -h @--hash-size@ \$LOCALIP @C@/@--context-file@"
"#;

const UDPLOGGER_RUN: &str = r#"exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/setuidgid indimail \
@P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
@P@/sbin/udplogger -p \$PORT -t \$TIMEOUT \$LOCALIP"
"#;

const LOGFIFO_RUN: &str = r#"exec 2>&1
LOGFILTER=$(@P@/bin/qcat variables/LOGFILTER)
LOGFIFODIR=$(dirname $LOGFILTER)
if [ ! -d $LOGFIFODIR ] ; then
  mkdir -p $LOGFIFODIR
fi
if [ ! -p $LOGFILTER ] ; then
  /bin/rm -f $LOGFILTER
  /usr/bin/mkfifo -m 666 $LOGFILTER
fi
exec @P@/bin/setuidgid indimail \
@P@/bin/qcat $LOGFILTER
"#;

const QSCANQ_RUN: &str = r#"exec 2>&1
exec @P@/bin/setuidgid qscand @P@/sbin/cleanq \
  -l -s @SCANINT@ @Q@/qscanq/root/scanq
"#;

const CLAMD_RUN: &str = r#"exec 2>&1
CLAMD_SOCK=`grep -w ^LocalSocket @CONF@/scan.conf | awk '{print $2}'`
if [ -z "$CLAMD_SOCK" ] ; then
  echo "LocalSocket not defined in @CONF@/scan.conf" 1>&2
  sleep 60
  exit 1
fi
SOCKET_DIR=`dirname $CLAMD_SOCK`
if [ ! -d "$SOCKET_DIR" ] ; then
  /bin/mkdir -p "$SOCKET_DIR"
fi
@CHOWN@ qscand:qmail "$SOCKET_DIR"
/bin/chmod 750 "$SOCKET_DIR"

# Check for a leftover socket.
if [ -e $CLAMD_SOCK ] ; then
  echo "run: WARNING: file $CLAMD_SOCK exists"
  SCAN_FILE=$0
  if @--clamdPrefix@/bin/clamdscan $SCAN_FILE --quiet --no-summary
    then
    echo "run: FATAL: clamd is already running. quitting..."
    sleep 300
    exit 1
  else
    echo "run: INFO: clamd is not running. Deleting $CLAMD_SOCK"
    /bin/rm -f $CLAMD_SOCK
  fi
fi

dbd=`grep -w "^DatabaseDirectory" @CONF@/scan.conf | awk '{print $2}'`
if [ -z "$dbd" ] ; then
  echo "DatabaseDirectory not defined in @CONF@/scan.conf" 1>&2
  sleep 10
  exit 1
fi
if [ ! -f $dbd/main.cvd -a ! -f $dbd/main.cld ] ; then
  echo "run: FATAL: no signatures found..."
  sleep 300
  exit 1
fi
fgd=`grep -w "^Foreground" @CONF@/scan.conf | awk '{print $2}'`
if [ -z "$fgd" ] ; then
  echo "Foreground not defined in @CONF@/scan.conf" 1>&2
  sleep 10
  exit 1
fi

# Run the scanner daemon.
exec @--clamdPrefix@/sbin/clamd \
  --config-file=@CONF@/scan.conf
"#;

const FRESHCLAM_RUN: &str = r#"exec 2>&1
dbd=`grep -w "^DatabaseDirectory" /etc/freshclam.conf | awk '{print $2}'`
if [ -z "$dbd" ] ; then
	echo "DatabaseDirectory not defined in /etc/freshclam.conf" 1>&2
	sleep 10
	exit 1
fi
if [ ! -d "$dbd" ] ; then
	/bin/mkdir $dbd
	@CHOWN@ qscand:qmail $dbd
	/bin/chmod 775 $dbd
fi
ans=`grep -w "^AllowSupplementaryGroups" /etc/freshclam.conf | awk '{print $2}'`
fgd=`grep -w "^Foreground" /etc/freshclam.conf | awk '{print $2}'`
if [ -z "$fgd" ] ; then
	echo "Foreground not defined in /etc/freshclam.conf" 1>&2
	sleep 10
	exit 1
fi

cmp @CONF@/foxhole_all.cdb $dbd/foxhole_all.cdb >/dev/null 2>&1
if [ $? -ne 0 ] ; then
	echo "Updating foxhole_all.cdb"
	/bin/cp @CONF@/foxhole_all.cdb $dbd
	@CHOWN@ qscand:qmail $dbd/foxhole_all.cdb
fi

if [ " $ans" = " yes" -o " $ans" = " Yes" ] ; then
  if [ " $fgd" = " yes" -o " $fgd" = " Yes" ] ; then
    exec @--clamdPrefix@/bin/freshclam -v --stdout --datadir=$dbd -d -c 2 \
      --config-file=/etc/freshclam.conf
  else
    exec @--clamdPrefix@/bin/freshclam -v --stdout --datadir=$dbd -f -d -c 2 \
      --config-file=/etc/freshclam.conf
  fi
else
  if [ " $fgd" = " yes" -o " $fgd" = " Yes" ] ; then
    exec @P@/bin/setuidgid qscand \
      @--clamdPrefix@/bin/freshclam -v --stdout --datadir=$dbd -d -c 2 \
      --config-file=/etc/freshclam.conf
  else
    exec @P@/bin/setuidgid qscand \
      @--clamdPrefix@/bin/freshclam -v --stdout --datadir=$dbd -f -d -c 2 \
      --config-file=/etc/freshclam.conf
  fi
fi
"#;

const FETCHMAIL_RUN: &str = r#"exec 2>&1
exec @P@/bin/envdir @ENVDIROPTS@ variables sh -c "
exec @P@/bin/setuidgid indimail \
@P@/bin/softlimit -m \$SOFT_MEM -o 1024 \
?--silent?@P@/bin/fetchmail --silent --nodetach -f @S@/fetchmailrc"
?!--silent?@P@/bin/fetchmail --nodetach -f @S@/fetchmailrc"
"#;

const MRTG_RUN: &str = r#"exec 2>&1
while true
do
  @P@/bin/envdir @ENVDIROPTS@ variables \
    /usr/bin/mrtg etc/indimail.mrtg.cfg
  status=$?
  echo "mrtg `pwd`/etc/indimail.mrtg.cfg status $status"
  sleep @SCANINT@
done
exit $status
"#;

// The resolv.conf mount happens only in svscan's private mount namespace (UNSHARE).
const SVSCAN_SHUTDOWN: &str = r#"exec 2>&1
?--resolvconf?if [ -s @SERVICEDIR@/.svscan/variables/UNSHARE -a -f @S@/resolv.conf ] ; then
?--resolvconf?  /usr/bin/umount /etc/resolv.conf
?--resolvconf?fi
@P@/bin/svc -dx @SERVICEDIR@/*
"#;

const SVSCAN_RUN: &str = r#"echo svscan $PPID initialization PID $$
exec 2>&1
if [ -s @SERVICEDIR@/.svscan/variables/UNSHARE -a -f @S@/resolv.conf ] ; then
  /usr/bin/mount --bind @S@/resolv.conf /etc/resolv.conf
  /usr/bin/mount -l
fi

echo "Environment Variable List"
env
echo
"#;

const RESOLVCONF_RUN: &str = r#"trap clean_up 1 2 15

function clean_up
{
	echo "shutting down"
	pkill -P $(jobs -p) inotify
	exit
}

exec 2>&1
file=$(realpath /etc/resolv.conf)
dir=$(dirname $file)
echo "starting with resolv_conf_dir=$dir"
/bin/cat /etc/resolv.conf
exec 2>&1
(
/usr/bin/inotify -n $dir | while read line
do
	set $line
	if [ " $1" != " file" ] ; then
		continue
	fi
	file=$2
	event=$3
	if [ " $file" != " resolv.conf" ] ; then
		continue
	fi
	if [ " $event" != " closed" ] ; then
		continue
	fi
	list=`grep nameserver /etc/resolv.conf` > /dev/null
	if [ $? -eq 0 ] ; then
		echo $list
		echo "/usr/bin/umount /etc/resolv.conf"
		/usr/bin/umount /etc/resolv.conf
		echo "/usr/bin/mount --bind @S@/resolv.conf /etc/resolv.conf"
		/usr/bin/mount --bind @S@/resolv.conf /etc/resolv.conf
	fi
done
) &
wait
"#;

// ---------------------------------------------------------------------------------------
// derived keys

fn prep_smtpd(c: &mut Ctx) {
    let rbl = if c.o.rbl.is_empty() { "" } else { "1" };
    let auth = if smtp_auth(c) { "1" } else { "" };
    let smtpd = match (shared_objects(c), plugin(c, "qmail_smtpd.so")) {
        (true, Some(p)) => p,
        _ => {
            c.o.get("--qmailsmtpd")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/sbin/qmail-smtpd", c.prefix()))
        }
    };
    c.keys.insert("RBL", rbl.into());
    c.keys.insert("AUTH", auth.into());
    c.keys.insert("SMTPD", smtpd);
    prep_vars_dir(c, "qmail-smtpd");
}

/// The variables directory being written (for the inherited-value probe).
fn prep_vars_dir(c: &mut Ctx, prefix: &str) {
    let d = format!("{}/{prefix}.{}/variables", c.servicedir, c.tag());
    c.keys.insert("VARSDIR", d);
}

fn prep_send(c: &mut Ctx) {
    let qtype = c.o.get("--qtype").unwrap_or("static");
    // S2 (COMPATIBILITY.md#svctool-and-qmailctl V6): the scheduler follows --qtype
    let flag = match qtype {
        "dynamic" => "-d",
        "compat" => "-cd",
        _ => "-s",
    };
    let dynamic = qtype != "static";
    c.keys
        .insert("DYNAMIC", if dynamic { "1" } else { "" }.into());
    // POSIX message queues: unlimited on Linux, mqueuefs mounted on FreeBSD
    let os = c.host.uname_s.as_str();
    let on = |b: bool| if b { "1" } else { "" }.to_string();
    c.keys.insert("DYN_LINUX", on(dynamic && os == "Linux"));
    c.keys.insert("DYN_FREEBSD", on(dynamic && os == "FreeBSD"));
    c.keys.insert(
        "SCHEDULER",
        format!("{}/sbin/qscheduler {flag}", c.prefix()),
    );
    prep_vars_dir(c, "qmail-send");
}

fn prep_slowq(c: &mut Ctx) {
    c.keys.insert("DYNAMIC", String::new());
    c.keys
        .insert("SCHEDULER", format!("{}/sbin/slowq-start", c.prefix()));
    c.keys
        .insert("VARSDIR", format!("{}/slowq-send/variables", c.servicedir));
}

fn prep_qmqp(c: &mut Ctx) {
    let proto = c.keys.get("PROTO").cloned().unwrap_or_default();
    prep_vars_dir(c, &format!("qmail-{proto}d"));
}

fn prep_indimail_cnf(c: &mut Ctx) {
    c.keys
        .insert("INDIMAIL_CNF", format!("{}/indimail.cnf", c.sysconfdir()));
}

fn prep_inlookup(c: &mut Ctx) {
    let f = c.o.get("--inlookup").unwrap_or("").to_string();
    let (base, dir) = infifo_parts(c, &f);
    c.keys.insert("FIFONAME", base.clone());
    c.keys.insert("INFIFODIR", dir);
    c.keys.insert("SVC", format!("inlookup.{base}"));
    c.keys.insert(
        "INIT_COMMENT",
        "#\n# do this so that vdeluser can run libexec script vdeluser\n# which can send sighup to inlookup service using the svc command\n#\n".into(),
    );
    c.keys.insert("CTL_OWNER", "root:indimail".into());
    c.keys.insert("SUP_OWNER", "indimail:indimail".into());
    prep_indimail_cnf(c);
}

fn prep_greylist(c: &mut Ctx) {
    let prog = if c.o.flag("--use-greydaemon") {
        "greydaemon"
    } else {
        "qmail-greyd"
    };
    c.keys
        .insert("GREYPROG", format!("{}/sbin/{prog}", c.prefix()));
}

fn prep_daned(c: &mut Ctx) {
    c.keys
        .insert("DANEPROG", format!("{}/daneprog", c.host.libexecdir));
}

fn prep_qscanq(c: &mut Ctx) {
    c.keys
        .insert("SCANINT", c.o.get("--scanint").unwrap_or("10").into());
    c.keys.insert("SVC", "qscanq".into());
    c.keys.insert(
        "INIT_COMMENT",
        "# set permissions for run-cleanq (run via cron) to allow\n# svc -o /service/qscanq\n"
            .into(),
    );
    c.keys.insert("CTL_OWNER", "qscand:root".into());
    c.keys.insert("SUP_OWNER", "qscand:root".into());
}

fn prep_clamd(c: &mut Ctx) {
    let conf =
        c.o.get("--sysconfdir")
            .unwrap_or(c.sysconfdir())
            .to_string();
    c.keys.insert("CONF", conf);
}

fn prep_mrtg(c: &mut Ctx) {
    c.keys
        .insert("SCANINT", c.o.get("--scanint").unwrap_or("300").into());
}

fn courier_dir(c: &Ctx) -> String {
    let kind = if c.o.get("--proxy").is_some() {
        "proxy"
    } else {
        "qmail"
    };
    let ssl = if c.o.flag("--ssl") { "-ssl" } else { "" };
    format!("{kind}-{}{ssl}.{}", c.key("STYPE"), c.tag())
}

fn courier_log(c: &Ctx) -> String {
    let ssl = if c.o.flag("--ssl") { "-ssl" } else { "" };
    if c.o.get("--proxy").is_some() {
        format!("proxy{}{ssl}.{}", c.key("CDB").to_uppercase(), c.tag())
    } else {
        format!("{}{ssl}.{}", c.key("STYPE"), c.tag())
    }
}

fn inlookup_dir(c: &Ctx) -> String {
    format!("inlookup.{}", c.key("FIFONAME"))
}

fn qmqp_dir(c: &Ctx) -> String {
    format!("qmail-{}d.{}", c.key("PROTO"), c.tag())
}

fn qmqp_log(c: &Ctx) -> String {
    format!("{}d.{}", c.key("PROTO"), c.tag())
}

// ---------------------------------------------------------------------------------------
// after-hooks: files and side effects beyond the service directory

fn wait_and_down(c: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    fsx::write(&svc.join("wait"), b"10\nmysql.3306\n", 0o644)?;
    if c.host.is_dir(&format!("{}/mysql.3306", c.servicedir)) {
        if !c.o.flag("--down") {
            fsx::remove(&svc.join("down"))?;
        }
    } else {
        fsx::write(&svc.join("down"), b"", 0o644)?;
    }
    Ok(())
}

fn after_pwdlookup(c: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    wait_and_down(c, svc)?;
    let mysql = c.host.is_dir(&format!("{}/mysql.3306", c.servicedir));
    let sd = c.host.disk(&c.servicedir);
    if let Ok(rd) = std::fs::read_dir(&sd) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !(n.starts_with("qmail-send.") || n == "slowq-send") || !e.path().is_dir() {
                continue;
            }
            let w = e.path().join("wait");
            if mysql {
                if !w.exists() {
                    fsx::write(&w, b"10\npwdlookup\n", 0o644)?;
                }
            } else {
                fsx::remove(&w)?;
            }
        }
    }
    if c.o.run_file_only {
        return Ok(());
    }
    crate::config::write_nssd_conf(c)
}

fn after_slowq(c: &mut Ctx, _svc: &Path) -> Result<(), Stop> {
    if c.o.flag("--remotefilter") {
        let d = c.host.disk(&format!("{}/slowq/ratelimit", c.qbase()));
        fsx::mkdir_p(&d, 0o755)?;
        c.host.chown(&d, "qmails", "qmail");
    }
    filterargs(c)
}

fn after_send(c: &mut Ctx, _svc: &Path) -> Result<(), Stop> {
    filterargs(c)
}

fn filterargs(c: &Ctx) -> Result<(), Stop> {
    if c.o.val("--dksign") != Some("dkim") {
        return Ok(());
    }
    let f = c.host.disk(&format!("{}/filterargs", c.cntrldir));
    if !f.exists() {
        let p = c.prefix();
        fsx::mkdir_p(f.parent().unwrap_or(Path::new("/")), 0o755)?;
        let line = format!("*:remote:{p}/sbin/qmail-dkim:DKIMQUEUE={p}/bin/qcat\n");
        fsx::write(&f, line.as_bytes(), 0o644)?;
    }
    Ok(())
}

fn after_courier(c: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    crate::variables::courier_variables(c, &svc.join("variables"))
}

fn after_clamd(c: &mut Ctx, _svc: &Path) -> Result<(), Stop> {
    // freshclam is created with clamd; then the QHPSI of the scanning services is set
    let fresh = &FRESHCLAM;
    render::render(c, fresh)?;
    let prefix = c.o.get("--clamdPrefix").unwrap_or("/usr").to_string();
    let qhpsi = format!("{prefix}/bin/clamdscan %s --fdpass --quiet --no-summary");
    let mut dirs: Vec<String> = [
        "smtpd.465",
        "smtpd.25",
        "smtpd.587",
        "qmqpd.628",
        "qmtpd.209",
    ]
    .iter()
    .map(|q| format!("{}/qmail-{q}/variables", c.servicedir))
    .collect();
    // --sysconfdir names the configuration directory of this whole run, the queue's too
    let conf =
        c.o.get("--sysconfdir")
            .unwrap_or(c.sysconfdir())
            .to_string();
    dirs.push(format!("{conf}/control/defaultqueue"));
    for d in dirs {
        let disk = c.host.disk(&d);
        let opts = disk.join(".options");
        let Ok(cur) = std::fs::read_to_string(&opts) else {
            continue;
        };
        let cur = cur.trim_end_matches('\n');
        if cur.contains("qhpsi") || cur.is_empty() {
            continue;
        }
        let _w = fsx::Writable::new(&disk)?;
        let line = format!("{cur} {}\n", crate::options::quote_arg("--qhpsi", &qhpsi));
        fsx::rewrite(&opts, line.as_bytes(), 0o644)?;
        fsx::rewrite(&disk.join("QHPSI"), format!("{qhpsi}\n").as_bytes(), 0o644)?;
    }
    Ok(())
}

fn after_mrtg(c: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    crate::mrtg::files(c, svc)
}

fn after_svscan(c: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    crate::config::svscan_files(c, svc)
}

// ---------------------------------------------------------------------------------------
// the kinds

pub static SMTPD: Kind = Kind {
    id: "smtpd",
    dir: Name::Tagged("qmail-smtpd"),
    vars_mode: 0o550,
    vars_group: "indimail",
    global: true,
    log: Name::Tagged("smtpd"),
    vars: SMTPD_VARS,
    run: SMTPD_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_smtpd),
    after: None,
};

pub static SEND: Kind = Kind {
    id: "send",
    dir: Name::Tagged("qmail-send"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Tagged("deliver"),
    vars: SEND_VARS,
    run: SEND_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_send),
    after: Some(after_send),
};

pub static SLOWQ: Kind = Kind {
    id: "slowq",
    dir: Name::Fixed("slowq-send"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Fixed("slowq"),
    vars: SLOWQ_VARS,
    run: SEND_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_slowq),
    after: Some(after_slowq),
};

/// qmail-qmqpd and qmail-qmtpd (the context's `PROTO` key says which).
pub static QMQPD: Kind = Kind {
    id: "qmqpd",
    dir: Name::Custom(qmqp_dir),
    vars_mode: 0o550,
    vars_group: "indimail",
    global: true,
    log: Name::Custom(qmqp_log),
    vars: QMQP_VARS,
    run: QMQP_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_qmqp),
    after: None,
};

/// The IMAP/POP3 family (keys `STYPE` imapd|pop3d and `CDB` imap|pop3).
pub static COURIER: Kind = Kind {
    id: "courier",
    dir: Name::Custom(courier_dir),
    vars_mode: 0o550,
    vars_group: "indimail",
    global: true,
    log: Name::Custom(courier_log),
    vars: NONE,
    run: COURIER_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: Some(after_courier),
};

pub static POPPASS: Kind = Kind {
    id: "poppass",
    dir: Name::Tagged("qmail-poppass"),
    vars_mode: 0o550,
    vars_group: "indimail",
    global: true,
    log: Name::Tagged("poppass"),
    vars: POPPASS_VARS,
    run: POPPASS_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: None,
};

pub static INDISRVR: Kind = Kind {
    id: "indisrvr",
    dir: Name::Tagged("indisrvr"),
    vars_mode: 0o550,
    vars_group: "indimail",
    global: true,
    log: Name::Tagged("indisrvr"),
    vars: INDISRVR_VARS,
    run: INDISRVR_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_indimail_cnf),
    after: None,
};

pub static INLOOKUP: Kind = Kind {
    id: "inlookup",
    dir: Name::Custom(inlookup_dir),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Custom(inlookup_dir),
    vars: INLOOKUP_VARS,
    run: INLOOKUP_RUN,
    run_if: None,
    extras: &[Extra {
        file: "init",
        body: CONTROL_INIT,
        script: true,
        mode: 0o755,
    }],
    prepare: Some(prep_inlookup),
    after: Some(wait_and_down),
};

pub static PWDLOOKUP: Kind = Kind {
    id: "pwdlookup",
    dir: Name::Fixed("pwdlookup"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Fixed("pwdlookup"),
    vars: PWDLOOKUP_VARS,
    run: PWDLOOKUP_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: Some(after_pwdlookup),
};

pub static GREYLIST: Kind = Kind {
    id: "greylist",
    dir: Name::Tagged("greylist"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Tagged("greylist"),
    vars: GREYLIST_VARS,
    run: GREYLIST_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_greylist),
    after: None,
};

pub static DANED: Kind = Kind {
    id: "daned",
    dir: Name::Tagged("qmail-daned"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Tagged("daned"),
    vars: DANED_VARS,
    run: DANED_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_daned),
    after: None,
};

pub static UDPLOGGER: Kind = Kind {
    id: "udplogger",
    dir: Name::Tagged("udplogger"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Tagged("udplogger"),
    vars: UDPLOGGER_VARS,
    run: UDPLOGGER_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: None,
};

/// qmail-logfifo (the context's port is the fifo path).
pub static LOGFIFO: Kind = Kind {
    id: "logfifo",
    dir: Name::Fixed("qmail-logfifo"),
    vars_mode: 0o555,
    vars_group: "indimail",
    global: true,
    log: Name::Fixed("logfifo"),
    vars: LOGFIFO_VARS,
    run: LOGFIFO_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: None,
};

pub static QSCANQ: Kind = Kind {
    id: "qscanq",
    dir: Name::Fixed("qscanq"),
    vars_mode: 0o500,
    vars_group: "indimail",
    global: true,
    log: Name::Fixed("qscanq"),
    vars: NONE,
    run: QSCANQ_RUN,
    run_if: None,
    extras: &[Extra {
        file: "init",
        body: CONTROL_INIT,
        script: true,
        mode: 0o755,
    }],
    prepare: Some(prep_qscanq),
    after: None,
};

pub static CLAMD: Kind = Kind {
    id: "clamd",
    dir: Name::Fixed("clamd"),
    vars_mode: 0o555,
    vars_group: "",
    global: false,
    log: Name::Fixed("clamd"),
    vars: NONE,
    run: CLAMD_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_clamd),
    after: Some(after_clamd),
};

pub static FRESHCLAM: Kind = Kind {
    id: "freshclam",
    dir: Name::Fixed("freshclam"),
    vars_mode: 0o555,
    vars_group: "",
    global: false,
    log: Name::Fixed("freshclam"),
    vars: NONE,
    run: FRESHCLAM_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: None,
};

pub static FETCHMAIL: Kind = Kind {
    id: "fetchmail",
    dir: Name::Fixed("fetchmail"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Fixed("fetchmail"),
    vars: FETCHMAIL_VARS,
    run: FETCHMAIL_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_fetchmail),
    after: None,
};

fn prep_fetchmail(c: &mut Ctx) {
    c.keys
        .insert("VARSDIR", format!("{}/fetchmail/variables", c.servicedir));
}

pub static MRTG: Kind = Kind {
    id: "mrtg",
    dir: Name::Fixed("mrtg"),
    vars_mode: 0o500,
    vars_group: "0",
    global: false,
    log: Name::Fixed("mrtg"),
    vars: MRTG_VARS,
    run: MRTG_RUN,
    run_if: None,
    extras: &[],
    prepare: Some(prep_mrtg),
    after: Some(after_mrtg),
};

pub static SVSCAN: Kind = Kind {
    id: "svscan",
    dir: Name::Fixed(".svscan"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Fixed("svscan"),
    vars: SVSCAN_VARS,
    run: SVSCAN_RUN,
    run_if: Some("--resolvconf"),
    extras: &[Extra {
        file: "shutdown",
        body: SVSCAN_SHUTDOWN,
        script: true,
        mode: 0o755,
    }],
    prepare: None,
    after: Some(after_svscan),
};

pub static RESOLVCONF: Kind = Kind {
    id: "resolvconf",
    dir: Name::Fixed("resolvconf"),
    vars_mode: 0o500,
    vars_group: "",
    global: true,
    log: Name::Fixed("resolvconf"),
    vars: NONE,
    run: RESOLVCONF_RUN,
    run_if: None,
    extras: &[],
    prepare: None,
    after: None,
};

const MYSQL_RUN: &str = r#"exec 2>&1
socket_dir=`dirname $(grep "socket.* = " @CONF@ 2>/dev/null| head -1 | cut -d= -f2) 2>/dev/null`
if [ -z "$socket_dir" ] ; then
    socket_dir=@SOCKDIR@
fi
if [ ! -d $socket_dir ] ; then
    /bin/mkdir $socket_dir
    @CHOWN@ mysql:mysql $socket_dir
fi
MYSQL_BASE=@MYSQL_BASE@
DATABASE=@DATABASE@
PIDFILE=$socket_dir/mysqld.@PORT@.pid

# update @S@/control/libmysql with the latest MySQL shared lib
@P@/sbin/svctool --fixsharedlibs

exec @P@/bin/softlimit -o 1024 -p 1024 \
@P@/bin/setuidgid mysql $MYSQL_BASE/@MYSQLD@ --defaults-file=@CONF@ \
--port=@PORT@ --basedir=$MYSQL_BASE \
--datadir=$DATABASE/data \
@FLAGS@--pid-file=$PIDFILE 2>&1
"#;

const MYSQL_SHUTDOWN: &str = r#"MYSQL_BASE=@MYSQL_BASE@

if [ -x $MYSQL_BASE/bin/mariadb-admin ] ; then
  mysqladmin=$MYSQL_BASE/bin/mariadb-admin
else
  mysqladmin=$MYSQL_BASE/bin/mysqladmin
fi
exec 2>&1
exec $mysqladmin --defaults-file=@CONF@ \
  -u admin -p@ADMIN_PASS@ @SKIPSSL@ shutdown
"#;

/// mysql.PORT (the config action sets the keys from the installed mysqld).
pub static MYSQL: Kind = Kind {
    id: "mysql",
    dir: Name::Tagged("mysql"),
    vars_mode: 0o500,
    vars_group: "",
    global: false,
    log: Name::Tagged("mysql"),
    vars: NONE,
    run: MYSQL_RUN,
    run_if: None,
    extras: &[Extra {
        file: "shutdown",
        body: MYSQL_SHUTDOWN,
        script: true,
        mode: 0o500,
    }],
    prepare: None,
    after: None,
};

/// Every kind, for listings and the consistency test.
pub static ALL: &[&Kind] = &[
    &SMTPD,
    &SEND,
    &SLOWQ,
    &QMQPD,
    &COURIER,
    &POPPASS,
    &INDISRVR,
    &INLOOKUP,
    &PWDLOOKUP,
    &GREYLIST,
    &DANED,
    &UDPLOGGER,
    &LOGFIFO,
    &QSCANQ,
    &CLAMD,
    &FRESHCLAM,
    &FETCHMAIL,
    &MRTG,
    &SVSCAN,
    &RESOLVCONF,
    &MYSQL,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::OPTIONS;

    fn known(o: &str) {
        assert!(
            OPTIONS.iter().any(|(n, _, _)| *n == o),
            "catalogue names unknown option {o}"
        );
    }

    fn check_table(vars: &[Var]) {
        for Var(_, r) in vars {
            match r {
                Opt(o, _) | OptOrUnset(o) | OptIfGiven(o) => known(o),
                FlagEmpty(o) | FlagUnset(o) | FlagOne(o) | OnlyIfFlag(o) if o.starts_with("--") => {
                    known(o)
                }
                _ => {}
            }
        }
    }

    #[test]
    fn catalogue_names_only_real_options() {
        for k in ALL {
            check_table(k.vars);
        }
        for t in [SMTP_FULL, SMTP_ODMR, SEND_COMMON] {
            check_table(t);
        }
    }

    #[test]
    fn templates_name_only_real_options() {
        for k in ALL {
            let texts = std::iter::once(k.run).chain(k.extras.iter().map(|x| x.body));
            for t in texts {
                let parts: Vec<&str> = t.split('@').collect();
                for w in parts.windows(2) {
                    let key = w[1];
                    let ok = !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                    if ok && key.starts_with("--") {
                        known(key);
                    }
                }
                for line in t.lines() {
                    if let Some(rest) = line.strip_prefix('?') {
                        let cond = rest.split('?').next().unwrap().trim_start_matches('!');
                        if cond.starts_with("--") {
                            known(cond);
                        }
                    }
                }
            }
        }
    }
}
