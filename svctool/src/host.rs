//! Host facts (docs/decisions.md#s6): every path, name and probe that makes svctool's output
//! depend on the machine comes from here, so a tree can be generated without root into a
//! scratch directory and compared byte for byte.
//!
//! Paths written *into* files (run scripts, variables) are the logical ones (`/etc/indimail`,
//! `/service`, ...). Paths touched on disk are the logical ones under [`Host::root`]
//! (`SVCTOOL_ROOT`, then `--destdir`), so `SVCTOOL_ROOT=/tmp/x` renders `/service/...` into
//! `/tmp/x/service/...` with unchanged contents.
//!
//! Environment (all optional):
//!
//! | variable | fact | default |
//! |---|---|---|
//! | `SVCTOOL_ROOT` | directory every disk path lives under | `/` |
//! | `SVCTOOL_PREFIX` | binaries prefix (`$P`) | the build's prefix (`make install PREFIX=`), else `/usr` |
//! | `SVCTOOL_SYSCONFDIR` | `$S` | `/etc/indimail` |
//! | `SVCTOOL_LIBEXECDIR`, `SVCTOOL_SHAREDDIR` | libexec / shared dirs | `$P/libexec/indimail`, `$P/share/indimail` of the build's prefix, else `/usr/libexec/indimail`, `/usr/share/indimail` |
//! | `SVCTOOL_SERVICEDIR` | default `--servicedir` | `/service` |
//! | `SVCTOOL_LOGDIR` | `$L` | `/var/log/svc` |
//! | `QmailHOME`, `INDIMAILDIR` | qmail and indimail home | `/var/indimail` |
//! | `SVCTOOL_HOST` | build triple in headers | `<machine>-pc-linux-gnu` |
//! | `SVCTOOL_UNAME` | `uname -s` | the kernel's |
//! | `HOSTNAME`, `SVCTOOL_HOSTNAME` | host name | `uname -n` |
//! | `SVCTOOL_DATE` | the `date` text in headers and svctool.log | now, `%a %b %e %T %Z %Y` |
//! | `SVCTOOL_IDS` | `name=id,...` for users and groups | the system databases |
//! | `SVCTOOL_ALLOW_USER` | `1`: run without root | unset (root required unless `SVCTOOL_ROOT` is set) |
//! | `SVCTOOL_IDPROG` | the `id` program run scripts ask for the daemon's uid/gid | `/usr/bin/id` |
//! | `SVCTOOL_LOGUSER` | the user multilog runs as (log/run, log directory owner) | `qmaill` |
//! | `SVCTOOL_INIT` | init system: `initsvc`, `systemd`, `upstart`, `rc.d`, `launchd`, `openrc`, `inittab`, `sysv` | probed under the root |
//! | `SVCTOOL_BINDIR` | where tcprules, svc, svstat, queue-fix are looked up first | the directory of the running program |
//! | `SVCTOOL_LIBINDIMAIL`, `SVCTOOL_LIBMYSQL` | the shared libraries `control/libindimail` and `control/libmysql` name | probed under the root |
//! | `SVCTOOL_HOSTIP` | the address `control/hostip` holds | `ipmeprint` when installed, else `127.0.0.1` |
//! | `SVCTOOL_NOW` | the time certificates are checked at (seconds since the epoch) | now |
//!
//! `SVCTOOL_UNAME=FreeBSD` or `Darwin` also selects that system's build defaults (prefix
//! `/usr/local`, sysconfdir `/usr/local/etc/indimail`, servicedir `/usr/local/etc/indimail/sv`,
//! ...), as the reference's `default.configure` does.

use std::collections::HashMap;
use std::ffi::{CStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The install prefix the build was made for (`SVCTOOL_BUILD_PREFIX`, which `make release`
/// and `make install` set to `$(PREFIX)`): the default `$P`, with `$P/libexec/indimail` and
/// `$P/share/indimail`. A plain `cargo build` keeps the packaged layout (`/usr`).
const BUILD_PREFIX: Option<&str> = match option_env!("SVCTOOL_BUILD_PREFIX") {
    Some(p) if !p.is_empty() => Some(p),
    _ => None,
};

/// The facts one run works with.
#[derive(Debug, Clone)]
pub struct Host {
    /// Disk root: logical `/x` lives at `root/x`.
    pub root: PathBuf,
    pub prefix: String,
    pub sysconfdir: String,
    pub libexecdir: String,
    pub shareddir: String,
    pub servicedir: String,
    pub logdir: String,
    pub qmaildir: String,
    pub indimaildir: String,
    pub host_triple: String,
    pub uname_s: String,
    pub hostname: String,
    pub date: Option<String>,
    ids: HashMap<String, u32>,
    pub euid: u32,
    pub allow_user: bool,
    pub bindir: Option<PathBuf>,
    pub id_prog: String,
    pub log_user: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn uname() -> (String, String, String) {
    let u = indicore::sys::process::uname();
    let s = |f: &CStr| f.to_string_lossy().into_owned();
    (s(u.sysname()), s(u.nodename()), s(u.machine()))
}

impl Host {
    /// The facts of this machine, as the environment pins them.
    pub fn from_env() -> Host {
        let (sysname, nodename, machine) = uname();
        let root = env("SVCTOOL_ROOT").map(PathBuf::from);
        let ids = env("SVCTOOL_IDS")
            .map(|s| {
                s.split(',')
                    .filter_map(|kv| {
                        let (k, v) = kv.split_once('=')?;
                        Some((k.trim().to_string(), v.trim().parse().ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let bindir = env("SVCTOOL_BINDIR").map(PathBuf::from).or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
        });
        let uname_s = env("SVCTOOL_UNAME").unwrap_or(sysname);
        // the reference's build defaults differ on the BSDs (default.configure)
        let bsd = matches!(uname_s.as_str(), "FreeBSD" | "Darwin");
        let dflt = |linux: &str, bsd_value: &str| {
            if bsd {
                bsd_value.to_string()
            } else {
                linux.to_string()
            }
        };
        // where `make install PREFIX=...` put the programs, as configure's @prefix@
        let installed = |sub: &str, linux: &str, bsd_value: &str| match BUILD_PREFIX {
            Some(p) => format!("{p}{sub}"),
            None => dflt(linux, bsd_value),
        };
        let machine = machine.to_lowercase();
        let triple = match uname_s.as_str() {
            "Darwin" => format!("{machine}-apple-darwin"),
            "FreeBSD" => format!("{machine}-pc-freebsd"),
            _ => format!("{machine}-pc-linux-gnu"),
        };
        Host {
            allow_user: root.is_some() || env("SVCTOOL_ALLOW_USER").as_deref() == Some("1"),
            root: root.unwrap_or_else(|| PathBuf::from("/")),
            prefix: env("SVCTOOL_PREFIX").unwrap_or_else(|| installed("", "/usr", "/usr/local")),
            sysconfdir: env("SVCTOOL_SYSCONFDIR")
                .unwrap_or_else(|| dflt("/etc/indimail", "/usr/local/etc/indimail")),
            libexecdir: env("SVCTOOL_LIBEXECDIR").unwrap_or_else(|| {
                installed(
                    "/libexec/indimail",
                    "/usr/libexec/indimail",
                    "/usr/local/libexec/indimail",
                )
            }),
            shareddir: env("SVCTOOL_SHAREDDIR").unwrap_or_else(|| {
                installed(
                    "/share/indimail",
                    "/usr/share/indimail",
                    "/usr/local/share/indimail",
                )
            }),
            servicedir: env("SVCTOOL_SERVICEDIR")
                .unwrap_or_else(|| dflt("/service", "/usr/local/etc/indimail/sv")),
            logdir: env("SVCTOOL_LOGDIR").unwrap_or_else(|| "/var/log/svc".into()),
            qmaildir: env("QmailHOME").unwrap_or_else(|| "/var/indimail".into()),
            indimaildir: env("INDIMAILDIR").unwrap_or_else(|| "/var/indimail".into()),
            host_triple: env("SVCTOOL_HOST").unwrap_or(triple),
            uname_s,
            hostname: env("SVCTOOL_HOSTNAME")
                .or_else(|| env("HOSTNAME"))
                .unwrap_or(nodename),
            date: env("SVCTOOL_DATE"),
            ids,
            euid: indicore::sys::process::geteuid().as_raw(),
            bindir,
            id_prog: env("SVCTOOL_IDPROG").unwrap_or_else(|| "/usr/bin/id".into()),
            log_user: env("SVCTOOL_LOGUSER").unwrap_or_else(|| "qmaill".into()),
        }
    }

    /// Where logical path `p` is on disk.
    pub fn disk(&self, p: &str) -> PathBuf {
        if self.root == Path::new("/") {
            return PathBuf::from(p);
        }
        self.root.join(p.trim_start_matches('/'))
    }

    /// The logical path of a disk path (what svctool prints): the root taken off.
    pub fn logical(&self, disk: &Path) -> String {
        match disk.strip_prefix(&self.root) {
            Ok(rest) if self.root != Path::new("/") => format!("/{}", rest.display()),
            _ => disk.display().to_string(),
        }
    }

    /// Add `--destdir` to the disk root.
    pub fn add_destdir(&mut self, destdir: &str) {
        if !destdir.is_empty() {
            self.root = self.root.join(destdir.trim_start_matches('/'));
        }
    }

    /// `date` as the reference prints it.
    pub fn date(&self) -> String {
        if let Some(d) = &self.date {
            return d.clone();
        }
        indicore::sys::time::local_now(c"%a %b %e %H:%M:%S %Z %Y")
    }

    /// Does logical path `p` exist on disk (following symlinks)?
    pub fn exists(&self, p: &str) -> bool {
        self.disk(p).exists()
    }

    /// Where logical path `p` leads on disk, following symlinks the way the system would:
    /// an absolute link target lives under the root too.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let mut cur = self.disk(p);
        for _ in 0..16 {
            match std::fs::read_link(&cur) {
                Ok(t) if t.is_absolute() => cur = self.disk(&t.to_string_lossy()),
                Ok(t) => cur = cur.parent().unwrap_or(Path::new("/")).join(t),
                Err(_) => break,
            }
        }
        cur
    }

    /// Is logical path `p` a file (`test -f`), links followed as [`Host::resolve`] does?
    pub fn is_file_following(&self, p: &str) -> bool {
        std::fs::metadata(self.resolve(p)).is_ok_and(|m| m.is_file())
    }

    /// The time now, seconds since the epoch (`SVCTOOL_NOW` pins it).
    pub fn now(&self) -> i64 {
        if let Some(n) = env("SVCTOOL_NOW").and_then(|v| v.parse().ok()) {
            return n;
        }
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    pub fn is_file(&self, p: &str) -> bool {
        self.disk(p).is_file()
    }

    pub fn is_dir(&self, p: &str) -> bool {
        self.disk(p).is_dir()
    }

    pub fn is_executable(&self, p: &str) -> bool {
        std::fs::metadata(self.disk(p))
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }

    /// The run-time directory the generated scripts use (`/run`, `/var/run` or `/tmp`):
    /// a fact of the system the services run on, so it is probed on the real root.
    pub fn rundir_base(&self) -> &'static str {
        if Path::new("/run").is_dir() {
            "/run"
        } else if Path::new("/var/run").is_dir() {
            "/var/run"
        } else {
            "/tmp"
        }
    }

    /// `/bin/false`, or `/usr/bin/false` where there is none.
    pub fn false_path(&self) -> &'static str {
        if Path::new("/bin/false").exists() {
            "/bin/false"
        } else {
            "/usr/bin/false"
        }
    }

    /// Which init system boot start-up goes to: `SVCTOOL_INIT` pins it, else the root is
    /// probed in the reference's order: initsvc (live root only: it acts on the running
    /// system), systemd, upstart, FreeBSD rc.d, launchd, OpenRC, inittab, SysV, `none`.
    pub fn init_system(&self) -> String {
        if let Some(v) = env("SVCTOOL_INIT") {
            return v;
        }
        if self.live()
            && self.is_executable(&format!("{}/sbin/initsvc", self.prefix))
            && !self.is_file("/bin/busybox")
        {
            return "initsvc".into();
        }
        self.init_from_files()
    }

    /// The init system the files under the root show (the probe without initsvc).
    pub fn init_from_files(&self) -> String {
        if let Some(v) = env("SVCTOOL_INIT").filter(|v| v != "initsvc") {
            return v;
        }
        let file = |p: &str| self.is_file(p);
        let dir = |p: &str| self.is_dir(p);
        if (file("/bin/systemctl") || file("/usr/bin/systemctl"))
            && (dir("/lib/systemd/system") || dir("/usr/lib/systemd/system"))
        {
            "systemd"
        } else if (file("/sbin/initctl") && dir("/etc/init")) || dir("/etc/event.d") {
            "upstart"
        } else if dir("/etc/rc.d") && file("/etc/rc.subr") {
            "rc.d"
        } else if dir("/Library/LaunchDaemons") {
            "launchd"
        } else if file("/sbin/openrc-run") && dir("/etc/init.d") {
            "openrc"
        } else if file("/etc/inittab") {
            "inittab"
        } else if dir("/etc/init.d") {
            "sysv"
        } else {
            "none"
        }
        .into()
    }

    /// Does this run act on the running system itself (real root, as root)? Only then are
    /// system tools (systemctl, launchctl, update-rc.d, ...) run and init signalled; in a
    /// scratch root their effect on files is written instead.
    pub fn live(&self) -> bool {
        self.root == Path::new("/") && self.euid == 0
    }

    /// Is system program `p` installed (`/usr/bin/unshare`, `/usr/bin/mrtg`)? Probed on the
    /// real root: the generated scripts run them there.
    pub fn system_has(&self, p: &str) -> bool {
        Path::new(p).exists()
    }

    /// The absolute path of chown baked into scripts (`which chown`).
    pub fn chown_path(&self) -> &'static str {
        ["/usr/bin/chown", "/bin/chown"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("/bin/chown")
    }

    /// A user's uid: `SVCTOOL_IDS` first, then the password database.
    pub fn uid(&self, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        if let Ok(n) = name.parse() {
            return Some(n);
        }
        indicore::sys::user::by_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid)
    }

    /// A group's gid: `SVCTOOL_IDS` first, then the group database.
    pub fn gid(&self, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        if let Ok(n) = name.parse() {
            return Some(n);
        }
        indicore::sys::user::group_id(name).ok().flatten()
    }

    /// `chown user:group path` (group may be empty). Only root can give files away: for
    /// anyone else (a scratch-root run) ownership is left as it is. Unknown names are
    /// reported and skipped.
    pub fn chown(&self, disk_path: &Path, user: &str, group: &str) {
        if self.euid != 0 {
            return;
        }
        let uid = match self.uid(user) {
            Some(u) => u,
            None => {
                crate::warn(&format!(
                    "unknown user {user}: owner of {} left unchanged",
                    disk_path.display()
                ));
                return;
            }
        };
        let gid = if group.is_empty() {
            None
        } else {
            match self.gid(group) {
                Some(g) => Some(g),
                None => {
                    crate::warn(&format!(
                        "unknown group {group}: group of {} left unchanged",
                        disk_path.display()
                    ));
                    None
                }
            }
        };
        if let Err(e) = std::os::unix::fs::lchown(disk_path, Some(uid), gid) {
            crate::warn(&format!(
                "unable to chown {}: {}",
                disk_path.display(),
                indicore::errstr(&e)
            ));
        }
    }

    /// A program we run: `SVCTOOL_BINDIR` (default: next to this program), then PATH.
    pub fn tool(&self, name: &str) -> Option<PathBuf> {
        if let Some(dir) = &self.bindir {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }

    /// An installed IndiMail program (`$P/bin/NAME`), looked up under the disk root first,
    /// then the way [`Host::tool`] does.
    pub fn installed(&self, sub: &str, name: &str) -> Option<PathBuf> {
        let p = self.disk(&format!("{}/{sub}/{name}", self.prefix));
        if p.is_file() {
            return Some(p);
        }
        self.tool(name)
    }
}
