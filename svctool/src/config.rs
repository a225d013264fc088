//! `--config=NAME` actions (docs/svctool.md#configuration-actions) that belong to the service tree: control files and tcp
//! rules (`qmail`, `indimail`), boot start-up (`add-boot`, `rm-boot`, `inittab`), system
//! users (`users`, `rmusers`), the self-signed certificate (`cert`) and `nssd.conf`; plus
//! the files some kinds write beside their service directory (mysql, mrtg, .svscan) and
//! the immediate `--showctl` / `--queuefix`.

use crate::render::{self, Ctx};
use crate::svctool::{refused, Done};
use crate::{catalogue, fsx, sharedlibs, Stop};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn header_lines(ctx: &Ctx) -> String {
    format!(
        "{}\n# generated on {} at {}\n# by the below command\n{}\n\n",
        ctx.o.rcsid(),
        ctx.host.host_triple,
        ctx.host.date(),
        ctx.prog_args
    )
}

/// Write `file` with `text` only if it does not exist yet.
fn default_file(path: &Path, text: &str) -> Result<bool, Stop> {
    if path.exists() {
        return Ok(false);
    }
    fsx::mkdir_p(path.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::write(path, text.as_bytes(), 0o644)?;
    Ok(true)
}

fn mtime(p: &Path) -> Option<i64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| m.mtime())
}

/// Build `SRC.cdb` from `SRC` with tcprules when the source is newer (or the cdb missing).
/// Returns Ok(true) when it built.
pub fn build_cdb(host: &crate::host::Host, src: &Path) -> Result<bool, Stop> {
    let Some(t1) = mtime(src) else {
        return Ok(false);
    };
    let cdb = PathBuf::from(format!("{}.cdb", src.display()));
    let t2 = mtime(&cdb).unwrap_or(0);
    if t1 <= t2 {
        return Ok(false);
    }
    let Some(tcprules) = host.tool("tcprules") else {
        return Err(Stop::fail(
            111,
            format!(
                "ucspi-tcp not installed: Run tcprules to build cdb for rules defined in {}",
                src.display()
            ),
        ));
    };
    let tmp = PathBuf::from(format!("{}.tmp", src.display()));
    let input = std::fs::File::open(src).map_err(|e| Stop::io("open", src, &e))?;
    let status = Command::new(&tcprules)
        .arg(&cdb)
        .arg(&tmp)
        .stdin(input)
        .status()
        .map_err(|e| Stop::io("run", &tcprules, &e))?;
    if !status.success() {
        return Err(Stop::fail(
            111,
            format!("svctool: tcprules failed for {}: {status}", src.display()),
        ));
    }
    Ok(true)
}

fn hostname(ctx: &Ctx) -> String {
    ctx.host.hostname.clone()
}

/// Makes the control directory and SYSCONFDIR/tcp, and writes `marker` (the header lines) in
/// the control directory; returns both directories.
fn control_and_tcp_dirs(ctx: &Ctx, marker: &str) -> Result<(PathBuf, PathBuf), Stop> {
    let t = ctx.host.disk(&ctx.cntrldir);
    let tcp = ctx.host.disk(&format!("{}/tcp", ctx.sysconfdir()));
    fsx::mkdir_p(&t, 0o755)?;
    fsx::mkdir_p(&tcp, 0o755)?;
    fsx::write(&t.join(marker), header_lines(ctx).as_bytes(), 0o644)?;
    Ok((t, tcp))
}

/// The control files `--config=qmail --verbose` says it creates first.
const QMAIL_CONTROL_FILES: &[&str] = &[
    "me",
    "localiphost",
    "defaulthost",
    "envnoathost",
    "defaultdomain",
    "plusdomain",
    "locals",
    "rcpthosts",
];

/// The control files `--config=qmail --verbose` says it sets to defaults when missing.
const QMAIL_DEFAULTED_FILES: &[&str] = &[
    "locals",
    "rcpthosts",
    "defaultdelivery",
    "servicedir.conf",
    "nodnscheck",
    "hostip",
    "users/assign",
    "greylist.white",
    "chkrcptdomains",
    "chksenderdomains",
    "smtpgreeting",
    "databytes",
    "timeoutsmtpd",
    "timeoutremote",
    "dnsbllist",
    "tcp/tcp.[smtp,qmtp,qmqp]",
    "servercipherlist",
    "serverciphersuite",
    "tlsservermethod",
    "clientcipherlist",
    "clientciphersuite",
    "tlsclientmethod",
    "procmailrc",
    "libindimail",
    "libmysql",
];

/// me, defaulthost, envnoathost, defaultdomain and plusdomain: by config-fast, or (a tree
/// without the mail suite) the same defaults written here.
fn host_control_files(ctx: &Ctx, t: &Path, host: &str, domain: &str) -> Result<(), Stop> {
    let h = ctx.host;
    let verbose = ctx.o.flag("--verbose");
    let config_fast = h.disk(&format!("{}/config-fast", h.libexecdir));
    match config_fast.is_file().then_some(config_fast) {
        Some(cf) => {
            let mode = if verbose { "--verbose" } else { "--quiet" };
            let dest = if h.root == Path::new("/") {
                String::new()
            } else {
                h.root.display().to_string()
            };
            let _ = Command::new(cf)
                .arg(mode)
                .arg(format!("--destdir={dest}"))
                .arg(host)
                .status();
        }
        None => {
            // what config-fast writes, for a tree without the mail suite
            for (f, v) in [
                ("me", host),
                ("defaulthost", host),
                ("envnoathost", host),
                ("defaultdomain", domain),
                ("plusdomain", domain),
            ] {
                default_file(&t.join(f), &format!("{v}\n"))?;
            }
        }
    }
    Ok(())
}

/// locals and rcpthosts list localhost.
fn localhost_in_locals(t: &Path) -> Result<(), Stop> {
    for f in ["locals", "rcpthosts"] {
        let p = t.join(f);
        let cur = std::fs::read_to_string(&p).ok();
        match cur {
            None => fsx::write(&p, b"localhost\n", 0o644)?,
            Some(c) if !c.lines().any(|l| l.contains("localhost")) => {
                println!("{f}");
                let mut lines: Vec<&str> = c.lines().chain(["localhost"]).collect();
                lines.sort();
                lines.dedup();
                fsx::write(&p, format!("{}\n", lines.join("\n")).as_bytes(), 0o644)?;
            }
            _ => {}
        }
        fsx::chmod(&p, 0o644)?;
    }
    Ok(())
}

/// The cipher lists and TLS methods, with their global variables.
fn tls_control_files(ctx: &Ctx, t: &Path, g: &Path) -> Result<(), Stop> {
    let suites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256\n";
    default_file(
        &t.join("servercipherlist"),
        "ALL:!aNULL:!ADH:!eNULL:!LOW:!EXP:RC4+RSA:+HIGH:+MEDIUM:-EDH-RSA-DES-CBC3-SHA:-EDH-DSS-DES-CBC3-SHA:-DES-CBC3-SHA:-DES-CBC3-MD5:+SSLv3:+TLSv1:-SSLv2:!DES:!MD5:!PSK:!RC4:!3DES:!SHA1:!SHA256:!SHA384\n",
    )?;
    default_file(&t.join("serverciphersuite"), suites)?;
    default_file(
        &t.join("clientcipherlist"),
        "ALL:!aNULL:!ADH:!eNULL:!LOW:!DH:!EXP\n",
    )?;
    default_file(&t.join("clientciphersuite"), suites)?;
    link_global(ctx, g, "TLS_CIPHER_SUITE", "serverciphersuite")?;
    link_global(ctx, g, "TLS_CIPHER_LIST", "servercipherlist")?;
    // the TLS library here is rustls: TLS 1.3 is the highest method
    default_file(&t.join("tlsservermethod"), "TLSv1_3\n")?;
    default_file(&t.join("tlsclientmethod"), "TLSv1_3\n")?;
    Ok(())
}

/// `--config=qmail`: default control files, tcp rules for smtp/qmtp/qmqp and their cdbs.
fn qmail(ctx: &Ctx) -> Result<(), Stop> {
    let h = ctx.host;
    let (t, tcp) = control_and_tcp_dirs(ctx, ".qmail_control")?;
    let verbose = ctx.o.flag("--verbose");
    let host = hostname(ctx);
    let domain = host
        .split_once('.')
        .map(|(_, d)| d.to_string())
        .filter(|d| d.contains('.'))
        .unwrap_or_else(|| host.clone());
    if verbose {
        println!("Creating Default qmail Control Files");
        for f in QMAIL_CONTROL_FILES {
            println!("{f}");
        }
    }
    host_control_files(ctx, &t, &host, &domain)?;
    if !t.join("localiphost").exists() {
        if let Ok(me) = std::fs::read(t.join("me")) {
            if verbose {
                println!("localiphost");
            }
            fsx::write(&t.join("localiphost"), &me, 0o644)?;
        }
    }
    let g = t.join("global_vars");
    fsx::mkdir_p(&g, 0o755)?;
    for (var, file) in [
        ("DEFAULT_DOMAIN", "defaultdomain"),
        ("QMAILDEFAULTHOST", "defaulthost"),
    ] {
        link_global(ctx, &g, var, file)?;
    }
    if verbose {
        println!("Setting control files (if not existing) to defaults");
        for f in QMAIL_DEFAULTED_FILES {
            println!("{f}");
        }
    }
    default_file(&t.join("servicedir.conf"), &format!("{}\n", ctx.servicedir))?;
    default_file(&t.join("defaultdelivery"), "./Maildir/\n")?;
    let nd = t.join("nodnscheck");
    if !nd.exists() {
        let text =
            format!("@gmail.com\n@yahoo.com\n@hotmail.com\n@outlook.com\n@aol.com\n@{host}\n");
        fsx::write(&nd, text.as_bytes(), 0o644)?;
    } else if !std::fs::read_to_string(&nd)
        .unwrap_or_default()
        .contains(&host)
    {
        fsx::append(&nd, format!("@{host}\n").as_bytes())?;
    }
    hostip(ctx, &t.join("hostip"))?;
    default_file(&t.join("smtpgreeting"), &format!("{host}\n"))?;
    default_file(
        &t.join("databytes"),
        &format!("{}\n", ctx.o.get("--databytes").unwrap_or("20971520")),
    )?;
    default_file(&t.join("timeoutsmtpd"), "300\n")?;
    default_file(&t.join("timeoutremote"), "300\n")?;
    if let Some(d) = ctx.o.get("--default-domain") {
        default_file(&t.join("chkrcptdomains"), &format!("{d}\n"))?;
        default_file(&t.join("chksenderdomains"), &format!("{d}\n"))?;
    }
    if !t.join("greylist.white").exists() {
        let ip = std::fs::read(t.join("hostip")).unwrap_or_default();
        fsx::write(&t.join("greylist.white"), &ip, 0o644)?;
    }
    let users = h.disk(&format!("{}/users", ctx.sysconfdir()));
    if ctx.o.flag("--wipe") || !users.join("assign").exists() {
        fsx::mkdir_p(&users, 0o755)?;
        fsx::write(&users.join("assign"), b".\n", 0o644)?;
        if let Some(newu) = h
            .installed("sbin", "qmail-newu")
            .filter(|p| p.starts_with(&h.root))
        {
            let _ = Command::new(newu).arg(&users).status();
        }
    }
    default_file(&t.join("dnsbllist"), "zen.spamhaus.org\n")?;
    default_file(
        &tcp.join("tcp.smtp"),
        "#127.:allow,RELAYCLIENT=\"\"\n#::1:allow,RELAYCLIENT=\"\"\n#=:allow,GREYIP=\"127.0.0.1:1999\"\n#:allow,GREYIP=\"127.0.0.1:1999\",RBLSMTPD=\"-No DNS PTR Record - MTA Misconfigured.\"\n",
    )?;
    default_file(&tcp.join("tcp.qmtp"), ":deny\n")?;
    default_file(&tcp.join("tcp.qmqp"), ":deny\n")?;
    for r in ["tcp.smtp", "tcp.qmtp", "tcp.qmqp"] {
        if let Err(s) = build_cdb(h, &tcp.join(r)) {
            eprintln!("{}", s.msg);
        }
    }
    localhost_in_locals(&t)?;
    tls_control_files(ctx, &t, &g)?;
    default_file(
        &h.disk(&format!("{}/procmailrc", ctx.sysconfdir())),
        &format!(":0w\n|{}/sbin/vfilter '' bounce-no-mailbox\n", ctx.prefix()),
    )?;
    sharedlibs::fix_libindimail(ctx)?;
    if let Err(s) = sharedlibs::fix_libmysql(ctx) {
        eprintln!("{}", s.msg);
    }
    backup_conf(ctx)?;
    if let Some(pm) = ctx.o.get("--postmaster") {
        alias_config(ctx, pm)?;
    }
    Ok(())
}

/// The first address of this host that is not loopback, any or docker's (`ipmeprint`, or
/// `SVCTOOL_HOSTIP`).
fn host_address(ctx: &Ctx) -> Option<String> {
    if let Ok(ip) = std::env::var("SVCTOOL_HOSTIP") {
        return Some(ip).filter(|s| !s.is_empty());
    }
    let prog = ctx.host.disk(&format!("{}/ipmeprint", ctx.host.libexecdir));
    let out = Command::new(prog).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let skip = |w: &str| {
        matches!(w, "::" | "::1" | "0.0.0.0" | "127.0.0.1")
            || w.starts_with("172.17.0.")
            || w == "0000:0000:0000:0000:0000:0000:0000:0000"
    };
    text.lines()
        .find(|l| !l.split_whitespace().any(skip))
        .and_then(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(2).or(f.last()).map(|s| s.to_string())
        })
}

/// `control/hostip`: the host's address, `127.0.0.1` when there is none.
fn hostip(ctx: &Ctx, path: &Path) -> Result<(), Stop> {
    match host_address(ctx) {
        Some(ip) => {
            if std::fs::read_to_string(path).ok().as_deref() != Some(&format!("{ip}\n")) {
                println!("hostip [{ip}]");
                fsx::write(path, format!("{ip}\n").as_bytes(), 0o644)?;
            }
        }
        None => {
            if ctx.o.flag("--verbose") {
                println!("hostip [127.0.0.1]");
            }
            fsx::write(path, b"127.0.0.1\n", 0o644)?;
        }
    }
    Ok(())
}

/// `$S/backup.conf`: what `--backup` archives besides its fixed list (if missing).
fn backup_conf(ctx: &Ctx) -> Result<(), Stop> {
    let logical = format!("{}/backup.conf", ctx.sysconfdir());
    let p = ctx.host.disk(&logical);
    if p.exists() {
        return Ok(());
    }
    if ctx.o.flag("--verbose") {
        println!("Creating {logical} file");
    }
    let q = &ctx.host.qmaildir;
    let mut list = vec![
        ctx.servicedir.clone(),
        "/etc/clamd.d".into(),
        ctx.sysconfdir().to_string(),
        format!("{q}/domains"),
        format!("{q}/autoturn"),
        format!("{q}/alias/.qmail-*"),
        "/etc/inittab".into(),
        "/etc/cron.d/cronlist.i".into(),
        "/etc/cron.d/cronlist.q".into(),
        "/etc/init.d/svscan".into(),
        "/etc/passwd".into(),
        "/etc/group".into(),
        "/etc/hosts".into(),
        "/etc/sysconfig/network".into(),
        "/etc/nsswitch.conf".into(),
        "/etc/resolv.conf".into(),
        "/etc/security".into(),
        "/etc/alternatives".into(),
        format!("{q}/.bashrc"),
        format!("{q}/.bash_profile"),
        format!("{q}/.indimail"),
    ];
    list.sort();
    list.dedup();
    let text: String = list.iter().map(|l| format!("{l}\n")).collect();
    fsx::mkdir_p(p.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::write(&p, text.as_bytes(), 0o644)
}

fn link_global(ctx: &Ctx, g: &Path, var: &str, file: &str) -> Result<(), Stop> {
    let l = g.join(var);
    if std::fs::symlink_metadata(&l).is_ok() {
        return Ok(());
    }
    if !ctx.host.disk(&ctx.cntrldir).join(file).exists() {
        eprintln!("Warning!!! {}/{file} missing", ctx.cntrldir);
        return Ok(());
    }
    std::os::unix::fs::symlink(format!("../{file}"), &l).map_err(|e| Stop::io("link", &l, &e))
}

/// A maildir (`maildirmake`): `cur`, `new` and `tmp`, mode 775, owned alias:qmail.
fn alias_maildir(ctx: &Ctx, dir: &Path) -> Result<(), Stop> {
    for d in ["", "cur", "new", "tmp"] {
        let p = dir.join(d);
        fsx::mkdir_p(&p, 0o775)?;
        fsx::chmod(&p, 0o775)?;
        ctx.host.chown(&p, "alias", "qmail");
    }
    Ok(())
}

/// The catch-all alias maildir and the postmaster, root and mailer-daemon aliases
/// (`--postmaster`).
fn alias_config(ctx: &Ctx, postmaster: &str) -> Result<(), Stop> {
    let logical = format!("{}/alias/Maildir", ctx.host.qmaildir);
    let a = ctx.host.disk(&format!("{}/alias", ctx.host.qmaildir));
    let md = a.join("Maildir");
    if ["", "cur", "new", "tmp"]
        .iter()
        .any(|d| !md.join(d).is_dir())
    {
        println!("Creating catch-all alias ({logical}) for all system users");
    }
    fsx::mkdir_p(&a, 0o755)?;
    alias_maildir(ctx, &md)?;
    let force = ctx.o.flag("--force");
    let pm = a.join(".qmail-postmaster");
    if force || !pm.exists() {
        if postmaster.starts_with('/') {
            alias_maildir(ctx, &ctx.host.disk(postmaster))?;
        }
        fsx::remove(&pm)?;
        fsx::write(&pm, format!("{postmaster}\n").as_bytes(), 0o644)?;
        ctx.host.chown(&pm, "alias", "qmail");
    }
    for l in [".qmail-root", ".qmail-mailer-daemon"] {
        let p = a.join(l);
        if force || !p.is_file() {
            fsx::remove(&p)?;
            std::os::unix::fs::symlink(".qmail-postmaster", &p)
                .map_err(|e| Stop::io("link", &p, &e))?;
        }
    }
    Ok(())
}

/// With bogofilter installed: the maildirs and `.qmail-B*` aliases that train it
/// (`spam`, `ham`, `register-spam`, `register-ham`, each through bogofilter-qfe).
fn bogofilter_aliases(ctx: &Ctx) -> Result<(), Stop> {
    let h = ctx.host;
    if !h.is_file(&format!("{}/bin/bogofilter", ctx.prefix())) {
        return Ok(());
    }
    let q = &h.qmaildir;
    for i in ["spam", "ham", "register-spam", "register-ham"] {
        alias_maildir(ctx, &h.disk(&format!("{q}/alias/{i}")))?;
        let p = h.disk(&format!("{q}/alias/.qmail-B{i}"));
        let text = format!("|{}/bogofilter-qfe\n{q}/alias/{i}/\n", h.libexecdir);
        fsx::write(&p, text.as_bytes(), 0o644)?;
        h.chown(&p, "alias", "qmail");
    }
    Ok(())
}

/// `--config=indimail`: tcp rules for imap/pop3/poppass and their cdbs, host.mysql, domains.
fn indimail(ctx: &Ctx) -> Result<(), Stop> {
    if ctx.o.flag("--nooverwrite") {
        return Ok(());
    }
    let h = ctx.host;
    let (t, tcp) = control_and_tcp_dirs(ctx, ".indimail_control")?;
    println!("Creating Default IndiMail Control Files");
    default_file(
        &tcp.join("tcp.imap"),
        "127.:allow,IMAPCLIENT=\"\"\n::1:allow,IMAPCLIENT=\"\"\n",
    )?;
    default_file(
        &tcp.join("tcp.pop3"),
        "127.:allow,POP3CLIENT=\"\"\n::1:allow,POP3CLIENT=\"\"\n",
    )?;
    default_file(&tcp.join("tcp.poppass"), "127.:allow\n::1:allow\n")?;
    let hm = t.join("host.mysql");
    if !hm.exists() {
        println!("host.mysql");
        let o = ctx.o;
        let host = o.get("--mysqlhost").unwrap_or("localhost");
        let user = o.get("--mysqluser").unwrap_or("indimail");
        let pass = o
            .get("--mysqlpass")
            .map(str::to_string)
            .unwrap_or_else(|| ctx.secret("MYSQL_PASS"));
        let last = match (o.get("--mysqlsocket"), o.get("--mysqlport")) {
            (Some(s), _) => s.to_string(),
            (None, Some(p)) => p.to_string(),
            (None, None) => {
                let s = std::env::var("MYSQL_SOCKET")
                    .unwrap_or_else(|_| format!("{}/mysqld/mysqld.sock", ctx.rundir()));
                println!("mysql socket|port not specified: using {s}");
                s
            }
        };
        fsx::write(
            &hm,
            format!("{host}:{user}:{pass}:{last}\n").as_bytes(),
            0o640,
        )?;
        h.chown(&hm, "indimail", "qmail");
    }
    for r in ["tcp.imap", "tcp.pop3", "tcp.poppass"] {
        let src = tcp.join(r);
        let cdb = PathBuf::from(format!("{}.cdb", src.display()));
        if mtime(&src).unwrap_or(0) > mtime(&cdb).unwrap_or(0) {
            println!("Creating CDB {}/tcp/{r}.cdb", ctx.sysconfdir());
        }
        if let Err(s) = build_cdb(h, &src) {
            eprintln!("{}", s.msg);
        }
    }
    bogofilter_aliases(ctx)?;
    let d = h.disk(&format!("{}/domains", h.qmaildir));
    if !d.is_dir() {
        fsx::mkdir_p(&d, 0o775)?;
        h.chown(&d, "root", "qmail");
        fsx::chmod(&d, 0o775)?;
    }
    Ok(())
}

/// change_config: new file created, identical kept, different saved as `.rpmnew`.
fn change_config(path: &Path, logical: &str, text: &str, mode: u32) -> Result<PathBuf, Stop> {
    match std::fs::read_to_string(path) {
        Ok(cur) if cur == text => {
            eprintln!("no difference between previous and new - {logical} not changed");
            Ok(path.to_path_buf())
        }
        Ok(_) => {
            let new = PathBuf::from(format!("{}.rpmnew", path.display()));
            println!("Saving new configuration as {logical}.rpmnew");
            fsx::write(&new, text.as_bytes(), mode)?;
            Ok(new)
        }
        Err(_) => {
            println!("change_config: Creating {logical}");
            fsx::mkdir_p(path.parent().unwrap_or(Path::new("/")), 0o755)?;
            fsx::write(path, text.as_bytes(), mode)?;
            Ok(path.to_path_buf())
        }
    }
}

fn nssd_text(ctx: &Ctx) -> String {
    let o = ctx.o;
    let socket = o.get("--mysqlsocket").map(str::to_string).or_else(|| {
        if o.get("--mysqlport").is_some() {
            None
        } else {
            Some(format!("{}/mysqld/mysqld.sock", ctx.rundir()))
        }
    });
    let mut t = String::new();
    t.push_str("getpwnam    SELECT pw_name,'x',555,555,pw_gecos,pw_dir,pw_shell \\\n            FROM indimail \\\n            WHERE pw_name='%1$s' and pw_domain='%2$s' \\\n            LIMIT 1\n");
    t.push_str("getspnam    SELECT pw_name,pw_passwd,'1','0','99999','0','0','-1','0' \\\n            FROM indimail \\\n            WHERE pw_name='%1$s'and pw_domain='%2$s' \\\n            LIMIT 1\n");
    t.push_str("getpwent    SELECT pw_name,'x',555,555,pw_gecos,pw_dir,pw_shell \\\n            FROM indimail LIMIT 100\n");
    t.push_str("getspent    SELECT pw_name,pw_passwd,'1','0','99999','0','0','-1','0' \\\n            FROM indimail\n\n");
    t.push_str(&format!(
        "host        {}\ndatabase    indimail\nusername    {}\npassword    {}\n",
        o.val("--mysqlhost").unwrap_or(""),
        o.val("--mysqluser").unwrap_or(""),
        o.val("--mysqlpass").unwrap_or("")
    ));
    match socket {
        Some(s) => t.push_str(&format!("socket      {s}\n")),
        None => t.push_str(&format!(
            "port       {}\n",
            o.get("--mysqlport").unwrap_or("3306")
        )),
    }
    t.push_str(&format!(
        "pidfile     {}/indimail/pwdlookup/nssd.pid\nthreads     {}\ntimeout     {}\nfacility    daemon\npriority    err\n",
        ctx.rundir(),
        o.val("--threads").unwrap_or(""),
        o.val("--timeout").unwrap_or("")
    ));
    t
}

/// `$S/nssd.conf` (pwdlookup and `--config=nssd`), 0640 root:qmail.
pub fn write_nssd_conf(ctx: &Ctx) -> Result<(), Stop> {
    let dir = ctx
        .o
        .get("--sysconfdir")
        .unwrap_or(ctx.sysconfdir())
        .to_string();
    let logical = format!("{dir}/nssd.conf");
    let p = ctx.host.disk(&logical);
    let written = change_config(&p, &logical, &nssd_text(ctx), 0o640)?;
    fsx::chmod(&written, 0o640)?;
    ctx.host.chown(&written, "root", "qmail");
    Ok(())
}

fn nssd(ctx: &Ctx) -> Result<(), Stop> {
    let need = |o: &str, m: &str| ctx.o.get(o).map(|_| ()).ok_or_else(|| Stop::usage(m));
    need("--mysqlhost", "MySQL Host not specified")?;
    need("--mysqluser", "MySQL User not specified")?;
    need("--mysqlpass", "MySQL Passwd not specified")?;
    if ctx.o.get("--mysqlport").is_none() && ctx.o.get("--mysqlsocket").is_none() {
        return Err(Stop::usage("MySQL Port/Socket not specified"));
    }
    need("--threads", "Thread Count not specified")?;
    need("--timeout", "Listen Timeout not specified")?;
    write_nssd_conf(ctx)
}

// ---------------------------------------------------------------------------------------
// users

fn db_has(ctx: &Ctx, file: &str, name: &str) -> bool {
    if ctx.host.root == Path::new("/") {
        return if file == "passwd" {
            indicore::sys::user::by_name(name).ok().flatten().is_some()
        } else {
            indicore::sys::user::group_id(name).ok().flatten().is_some()
        };
    }
    std::fs::read_to_string(ctx.host.disk(&format!("/etc/{file}")))
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(':').next() == Some(name))
}

fn shadow_cmd(ctx: &Ctx, prog: &str, args: &[String]) -> bool {
    let mut cmd = Command::new(prog);
    if ctx.host.root != Path::new("/") {
        cmd.arg("--prefix").arg(&ctx.host.root);
    }
    cmd.args(args);
    match cmd.status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("{prog} {}: {s}", args.join(" "));
            false
        }
        Err(e) => {
            eprintln!("{prog}: {}", indicore::errstr(&e));
            false
        }
    }
}

fn add_group(ctx: &Ctx, name: &str, gid: Option<&str>) -> bool {
    if db_has(ctx, "group", name) {
        println!("group {name} exists");
        return true;
    }
    println!("creating group {name}");
    let mut a = vec!["-r".to_string()];
    if let Some(g) = gid {
        a.extend(["-g".into(), g.into()]);
    }
    a.push(name.into());
    println!("/usr/sbin/groupadd {}", a.join(" "));
    shadow_cmd(ctx, "/usr/sbin/groupadd", &a)
}

/// A system user IndiMail runs as.
struct User<'a> {
    name: &'a str,
    comment: &'a str,
    group: &'a str,
    home: String,
    shell: &'a str,
    extra: Option<&'a str>,
    uid: Option<&'a str>,
}

fn add_user(ctx: &Ctx, u: &User) -> bool {
    if db_has(ctx, "passwd", u.name) {
        println!("user {} exists", u.name);
        return true;
    }
    println!("creating user {}", u.name);
    let mut a: Vec<String> = vec!["-r".into(), "-M".into()];
    if let Some(id) = u.uid {
        a.extend(["-u".into(), id.into()]);
    }
    a.extend([
        "-s".into(),
        u.shell.into(),
        "-g".into(),
        u.group.into(),
        "-d".into(),
        u.home.clone(),
    ]);
    if let Some(g) = u.extra {
        a.extend(["-G".into(), g.into()]);
    }
    a.extend(["-c".into(), u.comment.into(), u.name.into()]);
    println!("/usr/sbin/useradd {}", a.join(" "));
    shadow_cmd(ctx, "/usr/sbin/useradd", &a)
}

/// `--config=users`: the system users and groups IndiMail runs as.
/// The shell of the users that never log in: the first of these the system has.
fn nologin_shell() -> &'static str {
    [
        "/sbin/nologin",
        "/usr/sbin/nologin",
        "/usr/bin/false",
        "/bin/false",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .unwrap_or("/usr/bin/false")
}

fn users(ctx: &Ctx) -> i32 {
    let safe = nologin_shell();
    let q = ctx.host.qmaildir.clone();
    let free = |f: &str, id: &str| {
        !std::fs::read_to_string(ctx.host.disk(&format!("/etc/{f}")))
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(':').nth(2) == Some(id))
    };
    let user = |name, comment, group, home: String, shell, extra| User {
        name,
        comment,
        group,
        home,
        shell,
        extra,
        uid: None,
    };
    let mut ok = add_group(ctx, "mysql", None);
    ok &= add_user(
        ctx,
        &user(
            "mysql",
            "mysql user",
            "mysql",
            "/var/lib/mysql".into(),
            safe,
            None,
        ),
    );
    ok &= add_group(ctx, "indimail", free("group", "555").then_some("555"));
    let mut indimail = user(
        "indimail",
        "indimail user",
        "indimail",
        q.clone(),
        "/bin/sh",
        None,
    );
    indimail.uid = free("passwd", "555").then_some("555");
    ok &= add_user(ctx, &indimail);
    for g in ["qmail", "nofiles", "qscand", "qcerts"] {
        ok &= add_group(ctx, g, None);
    }
    let table = [
        user(
            "alias",
            "qmail alias user",
            "nofiles",
            format!("{q}/alias"),
            safe,
            None,
        ),
        user(
            "qmaill",
            "qmail log user qmaill",
            "nofiles",
            ctx.logdir.clone(),
            safe,
            None,
        ),
        user(
            "qmaild",
            "qmail daemon user qmaild",
            "nofiles",
            q.clone(),
            safe,
            Some("qcerts"),
        ),
        user(
            "qmailp",
            "qmail password fetch user qmailp",
            "nofiles",
            q.clone(),
            safe,
            None,
        ),
        user(
            "qmailq",
            "qmail-queue user qmailq",
            "qmail",
            q.clone(),
            safe,
            None,
        ),
        user(
            "qmailr",
            "qmail-remote user qmailr",
            "qmail",
            q.clone(),
            safe,
            Some("qcerts"),
        ),
        user(
            "qmails",
            "qmail-send user qmails",
            "qmail",
            q.clone(),
            safe,
            None,
        ),
        user(
            "qscand",
            "indimail virus scan user",
            "qscand",
            format!("{q}/qscanq"),
            safe,
            Some("qmail"),
        ),
    ];
    for u in &table {
        ok &= add_user(ctx, u);
    }
    i32::from(!ok)
}

fn rmusers(ctx: &Ctx) -> i32 {
    let mut ok = true;
    for u in [
        "indimail", "alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails", "qscand",
    ] {
        println!("deleting user {u}");
        if db_has(ctx, "passwd", u) {
            ok &= shadow_cmd(ctx, "/usr/sbin/userdel", &[u.to_string()]);
        }
    }
    for g in ["indimail", "qmail", "nofiles", "qscand"] {
        println!("deleting group {g}");
        if db_has(ctx, "group", g) {
            ok &= shadow_cmd(ctx, "/usr/sbin/groupdel", &[g.to_string()]);
        }
    }
    i32::from(!ok)
}

// ---------------------------------------------------------------------------------------
// certificate

fn ssl_cnf(certdir: &str, postmaster: &str, cn: &str) -> String {
    format!(
        "\nRANDFILE = {certdir}/servercert.rand\n\n[ req ]\ndefault_bits = 4096\nencrypt_key = yes\ndistinguished_name = req_dn\nx509_extensions = cert_type\nprompt = no\ndefault_md = sha256\n\n[v3_req]\nsubjectAltName = DNS:{cn}\n\n[ req_dn ]\nC=IN\nST=GOA\nL=Porvorim\nO=IndiMail Server\nOU=Automatically-generated SSL key\nCN={cn}\nemailAddress={postmaster}\n\n[ cert_type ]\nnsCertType = server\n"
    )
}

/// A self-signed server certificate and its key, PEM, key first (as `servercert.pem` holds
/// both), generated in-process.
pub fn self_signed(cn: &str, email: &str, days: u32) -> Result<(String, String), String> {
    let mut params =
        rcgen::CertificateParams::new(vec![cn.to_string()]).map_err(|e| e.to_string())?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "IN");
    dn.push(rcgen::DnType::OrganizationName, "IndiMail Server");
    dn.push(
        rcgen::DnType::OrganizationalUnitName,
        "Automatically-generated SSL key",
    );
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    if !email.is_empty() {
        if let Ok(e) = rcgen::string::Ia5String::try_from(email.to_string()) {
            params.subject_alt_names.push(rcgen::SanType::Rfc822Name(e));
        }
    }
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(i64::from(days));
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((key.serialize_pem(), cert.pem()))
}

fn cert(ctx: &Ctx) -> Result<(), Stop> {
    let o = ctx.o;
    let postmaster = o
        .get("--postmaster")
        .ok_or_else(|| Stop::fail(1, "postmaster not specified"))?;
    let cn = o
        .get("--common_name")
        .ok_or_else(|| Stop::fail(1, "CN not specified"))?;
    let days: u32 = o
        .get("--validity_days")
        .unwrap_or("366")
        .parse()
        .map_err(|_| Stop::fail(1, "validity_days must be a number of days"))?;
    let certdir = o
        .get("--certdir")
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/certs", ctx.sysconfdir()));
    let dir = ctx.host.disk(&certdir);
    fsx::mkdir_p(&dir, 0o755)?;
    let force = o.flag("--force");
    let cnf = dir.join("servercert.cnf");
    if !cnf.exists() || force {
        println!("Creating SSL Configuration email={postmaster} cn={cn}");
        let written = change_config(
            &cnf,
            &format!("{certdir}/servercert.cnf"),
            &ssl_cnf(&certdir, postmaster, cn),
            0o640,
        )?;
        ctx.host.chown(&written, "root", "qcerts");
    }
    let pem = dir.join("servercert.pem");
    if pem.exists() && !force {
        return Err(Stop::fail(
            1,
            format!("{certdir}/servercert.pem exists. Remove to create new"),
        ));
    }
    println!("Creating Certificate for {days} days in {certdir}/servercert.pem");
    let (key, crt) = self_signed(cn, postmaster, days)
        .map_err(|e| Stop::fail(111, format!("Failed to create x509 certificate: {e}")))?;
    fsx::write(&pem, format!("{key}{crt}").as_bytes(), 0o640)?;
    ctx.host.chown(&pem, "root", "qcerts");
    let client = dir.join("clientcert.pem");
    let linked = std::fs::read_link(&client)
        .map(|t| t.file_name() == Some("servercert.pem".as_ref()))
        .unwrap_or(false);
    if !linked {
        fsx::remove(&client)?;
        std::os::unix::fs::symlink("servercert.pem", &client)
            .map_err(|_| Stop::fail(1, "Failed to link clientcert.pem to servercert.pem"))?;
    }
    let mut restart = Vec::new();
    if o.flag("--update-certs") {
        update_certs(ctx, &certdir, &mut restart)?;
    } else {
        eprintln!("--update-certs not given. Skipping updating Services for CERTDIR, CERTFILE and TLS_CACHE");
    }
    println!("====== Certificate {certdir}/servercert.pem =========");
    print!("{crt}");
    println!("================================================================");
    if !restart.is_empty() {
        println!("Restarting services using {certdir}/servercert.pem");
        for s in &restart {
            println!("Restarting service {s}");
        }
        if let Some(svc) = ctx.host.tool("svc") {
            let _ = Command::new(svc)
                .arg("-r")
                .args(restart.iter().map(|s| ctx.host.disk(s)))
                .status();
        }
    }
    Ok(())
}

fn update_certs(ctx: &Ctx, certdir: &str, restart: &mut Vec<String>) -> Result<(), Stop> {
    let sd = ctx.host.disk(&ctx.servicedir);
    let names = crate::fsx::sorted_names(&sd, false);
    let fix = |restart: &mut Vec<String>, name: &str, file: &str, want: &str| -> Result<(), Stop> {
        let vars = sd.join(name).join("variables");
        let p = vars.join(file);
        let logical = format!("{}/{name}/variables/{file}", ctx.servicedir);
        let cur = std::fs::read_to_string(&p).unwrap_or_default();
        if cur.trim_end_matches('\n') == want {
            println!("{logical}: OK");
            return Ok(());
        }
        println!("Fixed {logical}");
        let _w = fsx::Writable::new(&vars)?;
        fsx::write(&p, format!("{want}\n").as_bytes(), 0o644)?;
        let svc = format!("{}/{name}", ctx.servicedir);
        if !restart.contains(&svc) {
            restart.push(svc);
        }
        Ok(())
    };
    println!("Fixing CERTDIR variable for services");
    for n in &names {
        if sd.join(n).join("variables/CERTDIR").is_file() {
            fix(restart, n, "CERTDIR", certdir)?;
        }
    }
    println!("Updating CERT as {certdir}/servercert.pem");
    for n in &names {
        let vars = sd.join(n).join("variables");
        for f in crate::variables::ls_pub(&vars) {
            if f.ends_with("CERTFILE") || f == "CLIENTCERT" || f == "SERVERCERT" {
                fix(restart, n, &f, &format!("{certdir}/servercert.pem"))?;
            }
        }
    }
    println!("Updating TLS CACHE as {certdir}/couriersslcache");
    for n in &names {
        if sd.join(n).join("variables/TLS_CACHEFILE").is_file() {
            fix(
                restart,
                n,
                "TLS_CACHEFILE",
                &format!("{certdir}/couriersslcache"),
            )?;
        }
    }
    Ok(())
}

/// `--config=NAME`.
pub fn config(ctx: &Ctx) -> Result<Done, Stop> {
    let name = ctx.o.config_name.clone().unwrap_or_default();
    match name.as_str() {
        "qmail" => qmail(ctx)?,
        "indimail" => indimail(ctx)?,
        "add-boot" => crate::boot::add_boot(ctx)?,
        "rm-boot" => crate::boot::rm_boot(ctx)?,
        "inittab" => crate::boot::inittab(ctx)?,
        "users" => return Ok(Done::Exit(users(ctx))),
        "rmusers" => {
            let code = rmusers(ctx);
            if code != 0 {
                return Ok(Done::Exit(code));
            }
        }
        "cert" => cert(ctx)?,
        "nssd" => nssd(ctx)?,
        "mysql" | "mysqldb" | "ssl_rsa" | "snmpdconf" | "clamd" | "foxhole" | "bogofilter"
        | "selinux" | "iselinux" | "qselinux" | "add-alt" | "remove-alt" | "recontrol" => {
            return Err(refused(&name))
        }
        _ => return Err(Stop::usage(format!("Invalid configuration option {name}"))),
    }
    Ok(Done::Log)
}

// ---------------------------------------------------------------------------------------
// files beside service directories

/// `--resolvconf` needs unshare and a dnscache service.
pub fn svscan_check(ctx: &Ctx) -> Result<(), Stop> {
    if !ctx.o.flag("--resolvconf") {
        return Ok(());
    }
    if !ctx.host.system_has("/usr/bin/unshare") {
        return Err(Stop::fail(
            111,
            "/usr/bin/unshare: No access or unshare command missing",
        ));
    }
    if !ctx
        .host
        .is_executable(&format!("{}/dnscache/run", ctx.servicedir))
    {
        return Err(Stop::fail(
            111,
            "djb dnscache service is required for --resolvconf",
        ));
    }
    Ok(())
}

/// `.svscan/run` and `$S/resolv.conf` (with `--resolvconf`), and the resolvconf service.
pub fn svscan_files(ctx: &mut Ctx, svc: &Path) -> Result<(), Stop> {
    let run = svc.join("run");
    if !ctx.o.flag("--resolvconf") {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(&run) {
            let mode = m.permissions().mode() & 0o7777;
            if mode & 0o111 != 0 {
                fsx::chmod(&run, mode & !0o111)?;
            }
        }
        return Ok(());
    }
    let rc = ctx.host.disk(&format!("{}/resolv.conf", ctx.sysconfdir()));
    if !rc.exists() || ctx.o.flag("--force") {
        let text = format!(
            "# {}\n# generated at {}\nsearch {}\nnameserver 127.0.0.1\n",
            ctx.prog_args,
            ctx.host.date(),
            ctx.host.hostname
        );
        fsx::mkdir_p(rc.parent().unwrap_or(Path::new("/")), 0o755)?;
        fsx::write(&rc, text.as_bytes(), 0o644)?;
    }
    if ctx.host.installed("bin", "inotify").is_some() {
        render::render(ctx, &catalogue::RESOLVCONF)?;
    }
    Ok(())
}

/// The comment block at the top of logrotate.mysql (as the reference writes it).
const LOGROTATE_NOTE: &str = "# The log file name and location can be set in
# @S@/indimail.cnf by setting the \"log-error\" option
# in [mysqld]  section as follows:
#
# [mysqld]
# log-error=/var/log/mysqld.log
#
# For the mysqladmin commands below to work, root account
# password is required. Use mysql_config_editor(1) to store
# authentication credentials in the encrypted login path file
# ~/.mylogin.cnf
#
# Example usage:
#
#  mysql_config_editor set --login-path=client --user=root --host=localhost --password
#
";

/// The mysqld flags of the run file, each ending in ` \\` and a newline: those this mysqld
/// offers (its `--help` lists them) and the ones always given.
fn mysqld_flags(bin: &Path, mariadb: bool) -> String {
    let help = Command::new(bin)
        .args(["--no-defaults", "--verbose", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut flags = String::new();
    // a flag is offered when mysqld's help lists it: `NAME=` or `NAME[=` for a flag with a
    // value, `NAME ` for one without
    let mut add = |f: &str, always: bool| -> bool {
        let known = always
            || match f.split_once('=') {
                Some((name, _)) => {
                    help.contains(&format!("{name}=")) || help.contains(&format!("{name}[="))
                }
                None => help.contains(&format!("{f} ")),
            };
        if known {
            flags.push_str(&format!("{f} \\\n"));
        }
        known
    };
    for f in [
        "--mysqlx=OFF",
        "--memlock",
        "--ssl",
        "--require-secure-transport",
    ] {
        add(f, false);
    }
    add("--skip-external-locking", true);
    add("--delay-key-write=all", false);
    add("--skip-name-resolve", false);
    add(
        "--sql-mode=\"NO_ENGINE_SUBSTITUTION,STRICT_TRANS_TABLES\"",
        true,
    );
    if !add("--explicit-defaults-for-timestamp=TRUE", false) {
        add("--explicit-defaults-for-timestamp", false);
    }
    if add("--binlog-expire-logs-auto-purge=ON", false)
        || add("--binlog-expire-logs-auto-purge", false)
    {
        add("--binlog-expire-logs-seconds=864000", false);
    }
    add("--local-infile", false);
    add("--log-error-verbosity=2", false);
    if mariadb {
        add("--log-warnings=2", false);
    }
    for f in [
        "--log-output=NONE",
        "--general-log",
        "--general-log-file=$DATABASE/logs/general.log",
        "--slow-query-log",
        "--slow-query-log-file=$DATABASE/logs/slowquery.log",
        "--log-queries-not-using-indexes",
    ] {
        add(f, false);
    }
    flags
}

/// The mysql.PORT service (docs/svctool.md#mysql): requires mysqld under `--mysqlPrefix` and the config.
pub fn mysql_service(ctx: &mut Ctx, port: &str, conf: &str) -> Result<(), Stop> {
    let prefix = ctx.o.val("--mysqlPrefix").unwrap_or("").to_string();
    let Some(mysqld) = crate::catalogue::MYSQLD_PATHS
        .iter()
        .find(|m| ctx.host.is_executable(&format!("{prefix}/{m}")))
    else {
        return Err(Stop::fail(111, "mysqld: No such File or directory"));
    };
    if !ctx.host.is_file(conf) {
        return Err(Stop::fail(
            111,
            format!("{conf}: No such File or directory"),
        ));
    }
    let bin = ctx.host.disk(&format!("{prefix}/{mysqld}"));
    // the version is the third word of the `Ver` line (`mariadbd  Ver 10.11.6-MariaDB ...`)
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t
        })
        .unwrap_or_default();
    let version = version
        .lines()
        .filter(|l| l.contains("Ver"))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect::<Vec<_>>()
        .join(" ");
    let mariadb = version.contains("MariaDB");
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let flags = mysqld_flags(&bin, mariadb);
    let sock = ctx
        .o
        .get("--mysqlsocket")
        .map(str::to_string)
        .unwrap_or_else(|| {
            std::env::var("MYSQL_SOCKET")
                .unwrap_or_else(|_| format!("{}/mysqld/mysqld.sock", ctx.rundir()))
        });
    let sockdir = Path::new(&sock)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    ctx.keys.insert("CONF", conf.to_string());
    ctx.keys.insert("MYSQL_BASE", prefix.clone());
    ctx.keys.insert("MYSQLD", mysqld.to_string());
    ctx.keys.insert(
        "DATABASE",
        ctx.o.val("--databasedir").unwrap_or("").to_string(),
    );
    ctx.keys.insert("SOCKDIR", sockdir);
    ctx.keys.insert("FLAGS", flags);
    ctx.keys.insert(
        "SKIPSSL",
        if mariadb && major >= 11 {
            "--skip-ssl-verify-server-cert".into()
        } else {
            String::new()
        },
    );
    ctx.port = port.to_string();
    render::render(ctx, &catalogue::MYSQL)?;
    let lr = ctx
        .host
        .disk(&format!("{}/logrotate.mysql", ctx.sysconfdir()));
    if ctx.o.flag("--force") || !lr.exists() {
        let db = ctx.o.val("--databasedir").unwrap_or("");
        let s = ctx.sysconfdir();
        let admin = ctx.secret("ADMIN_PASS");
        let note = LOGROTATE_NOTE.replace("@S@", s);
        let text = format!(
            "{}\n# generated on {} at {}\n# by the below command\n# {}\n\n# mysql logrotate config generated by svctool\n\n{note}\n{db}/logs/*.log {{\n    create 640 mysql mysql\n    notifempty\n    daily\n    rotate 5\n    missingok\n    compress\n  postrotate\n    # just if mysqld is really running\n    if [ -x {prefix}/bin/mariadb-admin ] ; then\n      mysqladmin={prefix}/bin/mariadb-admin\n    else\n      mysqladmin={prefix}/bin/mysqladmin\n    fi\n    if test -x $mysqladmin && \\\n       $mysqladmin ping &>/dev/null\n    then\n      $mysqladmin --defaults-file={s}/indimail.cnf \\\n        -u admin -p{admin} flush-logs &>/dev/null\n    fi\n  endscript\n}}\n",
            ctx.o.rcsid(),
            ctx.host.host_triple,
            ctx.host.date(),
            ctx.prog_args
        );
        fsx::write(&lr, text.as_bytes(), 0o600)?;
        ctx.host.chown(&lr, "root", "root");
    }
    Ok(())
}

/// `--showctl[=DIR]`: qmail-showctl with CONTROLDIR=DIR (default `control`).
pub fn showctl(host: &crate::host::Host, dir: &str) -> i32 {
    let dir = if dir.is_empty() { "control" } else { dir };
    let full = if dir.starts_with('/') {
        dir.to_string()
    } else {
        format!("{}/{dir}", host.sysconfdir)
    };
    if !host.is_dir(&full) {
        eprintln!("{full}: No such file or directory");
        return 1;
    }
    match host.installed("bin", "qmail-showctl") {
        Some(p) => {
            use std::os::unix::process::CommandExt;
            let e = Command::new(&p).env("CONTROLDIR", dir).exec();
            eprintln!(
                "svctool: unable to run {}: {}",
                p.display(),
                indicore::errstr(&e)
            );
            111
        }
        None => {
            eprintln!("svctool: qmail-showctl is not installed");
            111
        }
    }
}

/// `--queuefix=QUEUE`: run queue-fix on it.
pub fn queuefix(host: &crate::host::Host, q: &str) -> i32 {
    match host.installed("bin", "queue-fix") {
        Some(p) => {
            let _ = Command::new(p).arg(host.disk(q)).status();
            0
        }
        None => {
            eprintln!("svctool: queue-fix is not installed");
            111
        }
    }
}
