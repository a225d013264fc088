//! svscan at boot (docs/svctool.md#configuration-actions: `add-boot`, `rm-boot`, `inittab`) and `--enable-service` /
//! `--disable-service` (docs/svctool.md#managing-services), for every init system the reference knows: initsvc,
//! systemd, upstart, FreeBSD rc.d, launchd, OpenRC, inittab and SysV rc scripts.
//!
//! The init system comes from the host-facts layer ([`Host::init_system`]: `SVCTOOL_INIT`,
//! else probed under the root). A boot file is the reference package's own
//! (`$shareddir/boot/NAME`) when it is installed, else this module's equivalent. On the
//! live system the init system's tools are run (systemctl, launchctl, rc-update,
//! update-rc.d, ...); in a scratch root their effect on files is written instead (the
//! links `systemctl enable` or `update-rc.d` make, the `rc.conf` line `service enable`
//! writes), so every variant can be generated and checked without root.

use crate::host::Host;
use crate::render::Ctx;
use crate::{fsx, Stop};
use std::path::Path;
use std::process::Command;

/// The launchd job label and plist.
pub const LAUNCHD_PLIST: &str = "/Library/LaunchDaemons/org.indimail.svscan.plist";

/// `svscanboot` as boot files start it.
fn svscanboot(ctx: &Ctx) -> String {
    std::env::var("SVCTOOL_SVSCANBOOT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{}/svscanboot", ctx.host.libexecdir))
}

/// Run a system tool, on the live system only.
fn run(host: &Host, prog: &str, args: &[&str]) -> bool {
    if !host.live() {
        return false;
    }
    Command::new(prog)
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A symlink `link -> target` (logical paths), replacing whatever is there.
fn symlink(host: &Host, target: &str, link: &str) -> Result<(), Stop> {
    let l = host.disk(link);
    if std::fs::read_link(&l).is_ok_and(|t| t == Path::new(target)) {
        return Ok(());
    }
    fsx::mkdir_p(l.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::remove(&l)?;
    std::os::unix::fs::symlink(target, &l).map_err(|e| Stop::io("link", &l, &e))
}

fn remove(host: &Host, p: &str) -> Result<(), Stop> {
    fsx::remove(&host.disk(p))
}

/// Write boot file `dest` (logical) when its content differs. The content is the
/// reference package's `$shareddir/boot/src` when installed, else `text`. Returns whether
/// it was written.
fn install(ctx: &Ctx, src: &str, dest: &str, text: &str, mode: u32) -> Result<bool, Stop> {
    let h = ctx.host;
    let shipped = h.disk(&format!("{}/boot/{src}", h.shareddir));
    let want = std::fs::read(&shipped).unwrap_or_else(|_| text.as_bytes().to_vec());
    let p = h.disk(dest);
    if std::fs::read(&p).ok().as_deref() == Some(want.as_slice()) {
        return Ok(false);
    }
    fsx::mkdir_p(p.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::write(&p, &want, mode)?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// boot files

fn systemd_unit(ctx: &Ctx) -> String {
    let sd = &ctx.servicedir;
    format!(
        "[Unit]\nDescription=SVscan Service\nAfter=local-fs.target network.target\n\n[Service]\nExecStart={} {sd}\nExecStop={}/bin/svc -dx {sd}/* {sd}/*/log\nRestart=on-failure\nType=simple\nKillMode=process\n\n[Install]\nWantedBy=multi-user.target\nAlias=indimail.service\nAlias=indimail-mta.service\n",
        svscanboot(ctx),
        ctx.prefix(),
    )
}

fn upstart_job(ctx: &Ctx) -> String {
    format!(
        "# svscan: supervise the services in {sd}\n# initctl emit qmailstart / qmailstop start and stop it by hand\ndescription \"svscan supervision tree\"\nstart on (runlevel [2345] or qmailstart)\nstop on (runlevel [!2345] or qmailstop)\nrespawn\nexec {} {sd}\n",
        svscanboot(ctx),
        sd = ctx.servicedir
    )
}

/// The rc.subr script FreeBSD's `service svscan ...` runs.
fn rcd_script(ctx: &Ctx) -> String {
    let q = format!("{}/bin/qmailctl", ctx.prefix());
    let mut t = format!(
        "#!/bin/sh\n#\n# PROVIDE: svscan\n# REQUIRE: DAEMON\n# KEYWORD: nojail shutdown\n#\n# svscan supervises the services in {}; enable it with svscan_enable=\"YES\"\n# in /etc/rc.conf (service svscan enable)\n\n. /etc/rc.subr\n\nname=svscan\nrcvar=svscan_enable\nstart_cmd=\"{q} start\"\nstop_cmd=\"{q} stop; {q} shut\"\nstatus_cmd=\"{q} stat\"\n",
        ctx.servicedir
    );
    let extra = [
        "restart", "kill", "reload", "rotate", "flush", "queue", "pause", "cont", "cdb", "help",
    ];
    for c in extra {
        t.push_str(&format!("{c}_cmd=\"{q} {c}\"\n"));
    }
    t.push_str(&format!(
        "extra_commands=\"status {}\"\n\nload_rc_config $name\n: ${{svscan_enable:=\"NO\"}}\n: ${{svscan_pidfile:=\"/var/run/svscan/.svscan.pid\"}}\nrun_rc_command \"$1\"\n",
        extra.join(" ")
    ));
    t
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The launchd job: svscanboot at load, restarted when it fails.
fn launchd_plist(ctx: &Ctx) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n\t<key>Label</key>\n\t<string>org.indimail.svscan</string>\n\t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>{}</string>\n\t\t<string>{sd}</string>\n\t</array>\n\t<key>WorkingDirectory</key>\n\t<string>{sd}</string>\n\t<key>RunAtLoad</key>\n\t<true/>\n\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n</dict>\n</plist>\n",
        xml(&svscanboot(ctx)),
        sd = xml(&ctx.servicedir)
    )
}

fn openrc_script(ctx: &Ctx) -> String {
    let q = format!("{}/bin/qmailctl", ctx.prefix());
    format!(
        "#!/sbin/openrc-run\ndescription=\"svscan: supervise the services in {sd}\"\ncommand={}\ncommand_args={sd}\ncommand_background=true\npidfile=/run/svscan.pid\nextra_commands=\"kill flush rotate cdb\"\nextra_started_commands=\"reload queue pause cont\"\n\ndepend() {{\n\tneed localmount\n}}\n\nkill() {{ {q} kill; }}\nflush() {{ {q} flush; }}\nrotate() {{ {q} rotate; }}\ncdb() {{ {q} cdb; }}\nreload() {{ {q} reload; }}\nqueue() {{ {q} queue; }}\npause() {{ {q} pause; }}\ncont() {{ {q} cont; }}\n",
        svscanboot(ctx),
        sd = ctx.servicedir
    )
}

/// `/etc/init.d/svscan`: qmailctl behind an LSB header (chkconfig and update-rc.d read it).
fn sysv_script(ctx: &Ctx) -> String {
    let q = format!("{}/bin/qmailctl", ctx.prefix());
    format!(
        "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          svscan\n# Required-Start:    $local_fs $network\n# Required-Stop:     $local_fs $network\n# Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n# Short-Description: svscan and the IndiMail services it supervises\n### END INIT INFO\n# chkconfig: 2345 14 91\n# description: svscan and the IndiMail services it supervises\n# svscan start-up: qmailctl does start, stop, restart, ...\ncase \"$1\" in\nstop)\n\t{q} stop\n\texec {q} shut\n\t;;\nesac\nexec {q} \"$@\"\n"
    )
}

// ---------------------------------------------------------------------------------------
// enabling a service in each init system (the tool on the live system, its files else)

fn systemd_unitdir(h: &Host) -> &'static str {
    if h.is_dir("/lib/systemd/system") {
        "/lib/systemd/system"
    } else {
        "/usr/lib/systemd/system"
    }
}

const WANTS: &str = "/etc/systemd/system/multi-user.target.wants";

/// What `systemctl enable NAME.service` does: the wants link and the aliases.
fn systemd_enable(h: &Host, name: &str, aliases: &[&str]) -> Result<(), Stop> {
    let unit = format!("{}/{name}.service", systemd_unitdir(h));
    if h.live() {
        run(h, "systemctl", &["enable", &format!("{name}.service")]);
        return Ok(());
    }
    symlink(h, &unit, &format!("{WANTS}/{name}.service"))?;
    for a in aliases {
        symlink(h, &unit, &format!("/etc/systemd/system/{a}"))?;
    }
    Ok(())
}

fn systemd_disable(h: &Host, name: &str, aliases: &[&str]) -> Result<(), Stop> {
    if h.live() {
        run(h, "systemctl", &["stop", &format!("{name}.service")]);
        run(h, "systemctl", &["disable", &format!("{name}.service")]);
        return Ok(());
    }
    remove(h, &format!("{WANTS}/{name}.service"))?;
    for a in aliases {
        remove(h, &format!("/etc/systemd/system/{a}"))?;
    }
    Ok(())
}

/// `/etc/rc.conf`: `NAME_enable="YES"` (`service NAME enable`) or no such line.
fn rc_conf(h: &Host, name: &str, enable: bool) -> Result<(), Stop> {
    let p = h.disk("/etc/rc.conf");
    let cur = std::fs::read_to_string(&p).unwrap_or_default();
    let key = format!("{name}_enable=");
    let mut out: String = cur
        .split_inclusive('\n')
        .filter(|l| !l.trim_start().starts_with(&key))
        .collect();
    if enable {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{key}\"YES\"\n"));
    }
    if out == cur {
        return Ok(());
    }
    fsx::mkdir_p(p.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::write(&p, out.as_bytes(), 0o644)
}

fn rc_enabled(h: &Host, name: &str) -> bool {
    let key = format!("{name}_enable=");
    std::fs::read_to_string(h.disk("/etc/rc.conf"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix(&key))
        .next_back()
        .is_some_and(|v| v.trim_matches('"').eq_ignore_ascii_case("yes"))
}

/// What `rc-update add NAME default` does.
fn openrc_enable(h: &Host, name: &str, enable: bool) -> Result<(), Stop> {
    let verb = if enable { "add" } else { "del" };
    if h.live() {
        run(h, "/sbin/rc-update", &[verb, name, "default"]);
        return Ok(());
    }
    let link = format!("/etc/runlevels/default/{name}");
    if enable {
        symlink(h, &format!("/etc/init.d/{name}"), &link)
    } else {
        remove(h, &link)
    }
}

/// The SysV runlevel links `update-rc.d NAME start S 2 3 4 5 . stop K 0 1 6 .` makes.
fn sysv_links(h: &Host, name: &str, start: &str, stop: &str) -> Result<(), Stop> {
    for lvl in ["2", "3", "4", "5"] {
        symlink(
            h,
            &format!("../init.d/{name}"),
            &format!("/etc/rc{lvl}.d/S{start}{name}"),
        )?;
    }
    for lvl in ["0", "1", "6"] {
        symlink(
            h,
            &format!("../init.d/{name}"),
            &format!("/etc/rc{lvl}.d/K{stop}{name}"),
        )?;
    }
    Ok(())
}

/// Every `/etc/rcN.d/[SK]NNname` link.
fn sysv_link_names(h: &Host, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for lvl in ["0", "1", "2", "3", "4", "5", "6", "S"] {
        let d = format!("/etc/rc{lvl}.d");
        let Ok(rd) = std::fs::read_dir(h.disk(&d)) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let b = n.as_bytes();
            if b.len() == name.len() + 3
                && (b[0] == b'S' || b[0] == b'K')
                && b[1].is_ascii_digit()
                && b[2].is_ascii_digit()
                && n.ends_with(name)
            {
                out.push(format!("{d}/{n}"));
            }
        }
    }
    out.sort();
    out
}

/// Register `/etc/init.d/NAME` in the runlevels (chkconfig, rc-update or update-rc.d).
fn sysv_register(h: &Host, name: &str, start: &str, stop: &str) -> Result<(), Stop> {
    if h.live() {
        if h.is_file("/sbin/chkconfig") {
            run(h, "/sbin/chkconfig", &["--add", name]);
        } else if h.is_file("/usr/sbin/chkconfig") {
            run(h, "/usr/sbin/chkconfig", &["--add", name]);
        } else if h.is_file("/sbin/rc-update") {
            run(h, "/sbin/rc-update", &["add", name]);
        } else if h.is_file("/usr/sbin/update-rc.d") {
            run(h, "/usr/sbin/update-rc.d", &[name, "defaults"]);
            run(h, "/usr/sbin/update-rc.d", &[name, "enable"]);
        }
        return Ok(());
    }
    sysv_links(h, name, start, stop)
}

fn sysv_unregister(h: &Host, name: &str) -> Result<(), Stop> {
    if h.live() {
        if h.is_file("/sbin/chkconfig") {
            run(h, "/sbin/chkconfig", &["--del", name]);
        } else if h.is_file("/usr/sbin/chkconfig") {
            run(h, "/usr/sbin/chkconfig", &["--del", name]);
        } else if h.is_file("/sbin/rc-update") {
            run(h, "/sbin/rc-update", &["del", name]);
        } else if h.is_file("/usr/sbin/update-rc.d") {
            run(h, "/usr/sbin/update-rc.d", &["-f", name, "remove"]);
        }
        return Ok(());
    }
    for l in sysv_link_names(h, name) {
        remove(h, &l)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// add-boot, rm-boot, inittab

/// `/service -> /run/svscan` where `/service` does not exist (Linux), or the firmlink
/// line of `/etc/synthetic.conf` (macOS: `/` is read-only).
fn service_link(ctx: &Ctx) -> Result<(), Stop> {
    let h = ctx.host;
    if h.uname_s == "Darwin" {
        let p = h.disk("/etc/synthetic.conf");
        let cur = std::fs::read_to_string(&p).unwrap_or_default();
        if cur.lines().any(|l| l.starts_with("service")) {
            eprintln!("/service exists in /etc/synthetic.conf");
            return Ok(());
        }
        println!("Creating /service in /etc/synthetic.conf");
        let sep = if cur.is_empty() || cur.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let text = format!(
            "{cur}{sep}service\t/System/Volumes/data{}/sv\n",
            h.sysconfdir
        );
        fsx::mkdir_p(p.parent().unwrap_or(Path::new("/")), 0o755)?;
        return fsx::write(&p, text.as_bytes(), 0o644);
    }
    let svc = h.disk("/service");
    if std::fs::symlink_metadata(&svc).is_ok() {
        return Ok(());
    }
    let target = match ctx.rundir() {
        "/tmp" => ctx.servicedir.clone(),
        run => format!("{run}/svscan"),
    };
    if target != "/service" {
        std::os::unix::fs::symlink(&target, &svc).map_err(|e| Stop::io("link", &svc, &e))?;
    }
    Ok(())
}

/// `--config=add-boot`.
pub fn add_boot(ctx: &Ctx) -> Result<(), Stop> {
    let h = ctx.host;
    if h.uname_s == "Darwin" && ctx.servicedir.is_empty() {
        return Err(Stop::usage("Supervise Directory not specified"));
    }
    service_link(ctx)?;
    let init = h.init_system();
    match init.as_str() {
        "initsvc" => {
            let p = h.disk(&format!("{}/sbin/initsvc", h.prefix));
            let _ = Command::new(p).arg("-on").status();
        }
        "systemd" => {
            let unit = format!("{}/svscan.service", systemd_unitdir(h));
            if install(ctx, "systemd", &unit, &systemd_unit(ctx), 0o644)? {
                println!("svscan startup enabled in systemd {unit}");
                if run(h, "systemctl", &["daemon-reload"]) {
                    println!("installed new svscan service");
                }
            }
            systemd_enable(h, "svscan", &["indimail.service", "indimail-mta.service"])?;
        }
        "upstart" => {
            // old upstart reads /etc/event.d
            let job = if h.is_dir("/etc/init") || !h.is_dir("/etc/event.d") {
                "/etc/init/svscan.conf"
            } else {
                "/etc/event.d/svscan"
            };
            if install(ctx, "upstart", job, &upstart_job(ctx), 0o644)? {
                println!("svscan startup enabled in {job}");
            }
            let o = job.replace(".conf", "") + ".override";
            remove(h, &o)?;
        }
        "rc.d" => {
            let script = format!("{}/etc/rc.d/svscan", ctx.prefix());
            if install(ctx, "svscan", &script, &rcd_script(ctx), 0o755)? {
                println!("svscan startup enabled in rc {script}");
            }
            rc_conf(h, "svscan", true)?;
        }
        "launchd" => {
            if install(
                ctx,
                "svscan.plist",
                LAUNCHD_PLIST,
                &launchd_plist(ctx),
                0o644,
            )? {
                println!("svscan startup enabled in {LAUNCHD_PLIST}");
            }
        }
        "openrc" => {
            if install(
                ctx,
                "openrc",
                "/etc/init.d/svscan",
                &openrc_script(ctx),
                0o755,
            )? && !ctx.o.flag("--silent")
            {
                println!("svscan startup enabled in rc /etc/init.d/svscan");
            }
            openrc_enable(h, "svscan", true)?;
        }
        "inittab" => inittab_line(ctx, true)?,
        "sysv" => {}
        other => {
            return Err(Stop::fail(
                111,
                format!("svctool: no supported init system found ({other})"),
            ))
        }
    }
    // as the reference, a SysV script beside every init system but OpenRC
    if init == "sysv" || (init != "openrc" && h.is_dir("/etc/init.d")) {
        let fresh = install(ctx, "", "/etc/init.d/svscan", &sysv_script(ctx), 0o755)?;
        if fresh && init == "sysv" {
            println!("svscan startup enabled in /etc/init.d/svscan");
        }
        sysv_register(h, "svscan", "14", "91")?;
    }
    Ok(())
}

/// `--config=rm-boot`.
pub fn rm_boot(ctx: &Ctx) -> Result<(), Stop> {
    let h = ctx.host;
    eprintln!("Giving svscan exactly 5 seconds to exit nicely");
    if h.init_system() == "initsvc" {
        let initsvc = h.disk(&format!("{}/sbin/initsvc", h.prefix));
        let _ = Command::new(initsvc).arg("-off").status();
    }
    match h.init_from_files().as_str() {
        "systemd" => {
            for dir in ["/lib/systemd/system", "/usr/lib/systemd/system"] {
                let unit = format!("{dir}/svscan.service");
                if h.is_file(&unit) {
                    systemd_disable(h, "svscan", &["indimail.service", "indimail-mta.service"])?;
                    remove(h, &unit)?;
                    run(h, "systemctl", &["daemon-reload"]);
                    println!("removed svscan service");
                    break;
                }
            }
        }
        "upstart" => {
            for job in ["/etc/init/svscan.conf", "/etc/event.d/svscan"] {
                if h.is_file(job) {
                    run(h, "/sbin/initctl", &["emit", "qmailstop"]);
                    remove(h, job)?;
                }
            }
        }
        "openrc" => {
            run(h, "service", &["svscan", "stop"]);
            if h.is_file("/etc/init.d/svscan") {
                openrc_enable(h, "svscan", false)?;
            }
            remove(h, "/etc/init.d/svscan")?;
        }
        "inittab" => {
            run(h, "service", &["svscan", "stop"]);
            let p = h.disk("/etc/inittab");
            if let Ok(t) = std::fs::read_to_string(&p) {
                let kept: String = t
                    .split_inclusive('\n')
                    .filter(|l| !l.contains("svscan"))
                    .collect();
                if kept != t {
                    fsx::write(&p, kept.as_bytes(), 0o644)?;
                }
                if h.live() {
                    crate::hup_init();
                }
            }
        }
        "rc.d" => {
            run(h, "service", &["svscan", "stop"]);
            let script = format!("{}/etc/rc.d/svscan", ctx.prefix());
            if h.is_file(&script) {
                rc_conf(h, "svscan", false)?;
                remove(h, &script)?;
            }
        }
        "launchd" if h.is_file(LAUNCHD_PLIST) => {
            run(h, "/bin/launchctl", &["unload", "-w", LAUNCHD_PLIST]);
            remove(h, LAUNCHD_PLIST)?;
        }
        _ => {}
    }
    if h.is_file("/etc/init.d/svscan") {
        sysv_unregister(h, "svscan")?;
        remove(h, "/etc/init.d/svscan")?;
    }
    Ok(())
}

/// The inittab line (busybox init has no runlevels or ids).
fn inittab_text(ctx: &Ctx) -> String {
    let prefix = if ctx.host.is_file("/etc/alpine-release") {
        "::respawn:"
    } else {
        "SV:345:respawn:"
    };
    format!("{prefix}{} {}\n", svscanboot(ctx), ctx.servicedir)
}

/// An inittab respawn line for svscanboot (a line without respawn is replaced), then
/// `kill -1 1`. `report`: say so (add-boot).
fn inittab_line(ctx: &Ctx, report: bool) -> Result<(), Stop> {
    let p = ctx.host.disk("/etc/inittab");
    let cur = std::fs::read_to_string(&p).unwrap_or_default();
    let respawn = |l: &str| l.contains("svscanboot") && l.split(':').nth(2) == Some("respawn");
    if cur.lines().any(respawn) {
        if report {
            println!("svscan startup enabled in /etc/inittab");
        }
        return Ok(());
    }
    let kept: String = cur
        .split_inclusive('\n')
        .filter(|l| !l.contains("svscanboot"))
        .collect();
    fsx::mkdir_p(p.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::write(&p, format!("{kept}{}", inittab_text(ctx)).as_bytes(), 0o644)?;
    if report {
        println!("svscan startup enabled in /etc/inittab");
    }
    if ctx.host.live() {
        crate::hup_init();
    }
    Ok(())
}

/// `--config=inittab`.
pub fn inittab(ctx: &Ctx) -> Result<(), Stop> {
    if ctx.servicedir.is_empty() {
        return Err(Stop::usage("Supervise Directory not specified"));
    }
    inittab_line(ctx, false)
}

// ---------------------------------------------------------------------------------------
// --enable-service / --disable-service

/// `--enable-service NAME...` / `--disable-service NAME...`: the OS start-up of other
/// services (e.g. `--disable-service sendmail exim4 postfix`).
pub fn os_service(ctx: &Ctx, enable: bool) -> Result<(), Stop> {
    let h = ctx.host;
    for n in &ctx.o.rest {
        let n = n.as_str();
        if n.is_empty() || n.contains('/') {
            eprintln!("svctool: invalid service name [{n}]");
            continue;
        }
        let unit = |d: &str| format!("{d}/{n}.service");
        let plist = format!("/Library/LaunchDaemons/org.indimail.{n}.plist");
        let rcd = format!("{}/etc/rc.d/{n}", ctx.prefix());
        let systemd = h.is_file("/bin/systemctl") || h.is_file("/usr/bin/systemctl");
        if systemd
            && (h.is_file(&unit("/lib/systemd/system"))
                || h.is_file(&unit("/usr/lib/systemd/system")))
        {
            if enable {
                systemd_enable(h, n, &[])?;
            } else {
                systemd_disable(h, n, &[])?;
            }
        } else if h.is_file(&plist) {
            let verb = if enable { "load" } else { "unload" };
            run(h, "/bin/launchctl", &[verb, "-w", &plist]);
        } else if h.is_dir("/etc/init") || h.is_dir("/etc/event.d") {
            let dir = if h.is_dir("/etc/init") {
                "/etc/init"
            } else {
                "/etc/event.d"
            };
            let o = format!("{dir}/{n}.override");
            if enable {
                remove(h, &o)?;
            } else {
                run(h, "/sbin/initctl", &["stop", n]);
                if h.is_file(&format!("{dir}/{n}.conf")) || dir == "/etc/event.d" {
                    fsx::write(&h.disk(&o), b"manual\n", 0o644)?;
                }
            }
        } else if h.is_file(&rcd) {
            if !enable {
                run(h, "service", &[n, "stop"]);
            }
            rc_conf(h, n, enable)?;
        } else if !enable {
            run(h, "service", &[n, "stop"]);
        }
        let script = format!("/etc/init.d/{n}");
        if h.is_file(&script) {
            if h.init_from_files() == "openrc" {
                openrc_enable(h, n, enable)?;
            } else if enable {
                sysv_register(h, n, "20", "20")?;
            } else {
                run(h, &script, &["stop"]);
                sysv_unregister(h, n)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// --check-install: is svscan started at boot?

/// One finding of the start-up check: `Ok(msg)` is printed (always or with `--verbose`),
/// `Err(msg)` is a problem.
pub type Finding = Result<(String, bool), String>;

/// The "Checking svscan Startup" findings, in the reference's order of init systems.
pub fn startup_findings(ctx: &Ctx) -> Vec<Finding> {
    let h = ctx.host;
    let ok = |m: &str| Ok((m.to_string(), true));
    let verbose = |m: &str| Ok((m.to_string(), false));
    let via = |sys: &str, yes: bool| {
        if yes {
            ok(&format!("svscan service is configured to run via {sys}"))
        } else {
            Err(format!("! svscan service not configured in {sys}"))
        }
    };
    let mut out = Vec::new();
    let unit = ["/lib/systemd/system", "/usr/lib/systemd/system"]
        .into_iter()
        .map(|d| format!("{d}/svscan.service"))
        .find(|u| h.is_file(u));
    if h.is_file("/etc/init/svscan.conf") || h.is_file("/etc/event.d/svscan") {
        let manual = ["/etc/init/svscan.override", "/etc/event.d/svscan.override"]
            .iter()
            .any(|o| std::fs::read_to_string(h.disk(o)).is_ok_and(|t| t.contains("manual")));
        out.push(via("upstart", !manual));
    } else if unit.is_some() {
        let wants = h.disk(&format!("{WANTS}/svscan.service"));
        out.push(via("systemd", std::fs::symlink_metadata(wants).is_ok()));
    } else if h.is_file(LAUNCHD_PLIST) {
        out.push(via("launchd", true));
    } else if h.is_file(&format!("{}/etc/rc.d/svscan", ctx.prefix())) {
        out.push(via("rc.d", rc_enabled(h, "svscan")));
    } else if h.is_file("/sbin/openrc-run") && h.is_file("/etc/init.d/svscan") {
        let linked = std::fs::read_dir(h.disk("/etc/runlevels")).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| std::fs::symlink_metadata(e.path().join("svscan")).is_ok())
        });
        out.push(via("openrc", linked));
    } else if h.is_file("/etc/inittab") {
        out.push(ok("Checking /etc/inittab"));
        let t = std::fs::read_to_string(h.disk("/etc/inittab")).unwrap_or_default();
        let lines: Vec<&str> = t.lines().filter(|l| l.contains("svscanboot")).collect();
        if lines.is_empty() {
            out.push(Err("! Couldn't find svscanboot entry in inittab".into()));
        } else if !lines.iter().any(|l| l.split(':').nth(2) == Some("respawn")) {
            out.push(Err(
                "! svscanboot entry in inittab is not set to respawn".into()
            ));
        } else {
            out.push(verbose("svscan is configured to run via /etc/inittab"));
        }
    } else if h.is_file("/etc/init.d/svscan") {
        if sysv_link_names(h, "svscan")
            .iter()
            .any(|l| l.rsplit('/').next().is_some_and(|n| n.starts_with('S')))
        {
            out.push(verbose(
                "indimail service is configured to run through rc scripts",
            ));
        } else {
            out.push(Err(
                "! Couldn't find indimail referenced in any runlevel".into()
            ));
        }
    } else {
        let rc = std::fs::read_to_string(h.disk("/etc/rc.local")).unwrap_or_default();
        let sv = format!("svscan {}", ctx.servicedir);
        if rc.contains("qmailctl start") {
            out.push(verbose("'qmailctl start' is in /etc/rc.local"));
        } else if rc.contains(&sv) {
            out.push(Err(
                "! Couldn't find 'qmailctl start' in /etc/rc.local".into()
            ));
            out.push(verbose(&format!(
                "{sv} is configured to run via /etc/rc.local"
            )));
        } else {
            out.push(Err(
                "! Couldn't find 'qmailctl start' in /etc/rc.local".into()
            ));
            out.push(Err(format!("! Couldn't find '{sv}' in /etc/rc.local")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes() {
        assert_eq!(xml("/a&b<c>"), "/a&amp;b&lt;c&gt;");
    }
}
