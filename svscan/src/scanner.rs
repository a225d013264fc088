//! The service table and the scan (spec §6.3, §6.4, DECISIONS D6).
//!
//! Each service directory is a [`Slot`], identified by (dev, inode) so that a renamed
//! directory keeps its supervisors. A service with a `log` subdirectory gets a pipe when
//! its slot is made; svscan holds both ends until the slot is freed, so the main service
//! never sees EPIPE and nothing in the pipe is lost while either side restarts.
//!
//! When scans happen: at startup, on SIGHUP, every `SCANINTERVAL` seconds (default 5), and
//! when a supervise dies, which is restarted at once, or one second after its previous
//! start if that was less than a second ago (so a supervise that cannot run costs one
//! start per second, not a busy loop).

use crate::config::Settings;
use crate::log::Log;
use crate::signals::{Sig, Signals};
use crate::spawn::{show, Spawner};
use indicore::errstr;
use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The least time between two starts of the same supervise.
pub const RESTART_THROTTLE: Duration = Duration::from_secs(1);

/// The name of svscan's own service directory (only its `log` is supervised).
pub const SVSCAN_DIR: &str = ".svscan";

/// One supervise process svscan keeps running.
#[derive(Debug, Default)]
pub struct Proc {
    pub pid: Option<i32>,
    pub started: Option<Instant>,
}

impl Proc {
    /// When this supervise may be started again, if not now.
    fn throttled(&self, now: Instant) -> Option<Instant> {
        let next = self.started? + RESTART_THROTTLE;
        (next > now).then_some(next)
    }
}

/// A service's log supervise and the pipe from the main service to it.
#[derive(Debug)]
pub struct LogPair {
    pub read: OwnedFd,
    /// Closed at shutdown, so the log sees end of file once the service is gone.
    pub write: Option<OwnedFd>,
    pub proc: Proc,
    /// SIGTERM already sent during shutdown.
    pub termed: bool,
}

/// One service directory.
#[derive(Debug)]
pub struct Slot {
    pub dev: u64,
    pub ino: u64,
    /// The name it was last seen under.
    pub name: OsString,
    /// Seen in the current scan.
    pub active: bool,
    /// The main supervise; `None` for `.svscan`, whose log alone is supervised.
    pub main: Option<Proc>,
    pub log: Option<LogPair>,
    /// "no `down` file" when the main supervise was started or last toggled.
    pub want_up: bool,
    /// svscan's own output goes into this slot's pipe: never free it.
    pub pinned: bool,
}

/// The running svscan.
pub struct Scanner {
    pub log: Log,
    pub signals: Signals,
    pub spawner: Spawner,
    pub settings: Settings,
    pub slots: Vec<Slot>,
    pub capacity: usize,
    /// The absolute scan directory (also the cwd).
    pub scandir: PathBuf,
    /// `/run/svscan` (or `/var/run/svscan`) unless DISABLE_RUN.
    pub run_dir: Option<PathBuf>,
    pub pidfile: PathBuf,
    pub pid: i32,
    scan_now: bool,
    announce_scan: bool,
    next_periodic: Instant,
    retry_at: Option<Instant>,
}

impl Scanner {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        log: Log,
        signals: Signals,
        spawner: Spawner,
        settings: Settings,
        capacity: usize,
        scandir: PathBuf,
        run_dir: Option<PathBuf>,
        pidfile: PathBuf,
    ) -> Scanner {
        Scanner {
            log,
            signals,
            spawner,
            settings,
            slots: Vec::new(),
            capacity,
            scandir,
            run_dir,
            pidfile,
            pid: std::process::id() as i32,
            scan_now: true,
            announce_scan: false,
            next_periodic: Instant::now(),
            retry_at: None,
        }
    }

    /// The main loop; leaves only through [`Scanner::shutdown`].
    pub fn run(mut self) -> ! {
        loop {
            if self.signals.take(Sig::Term) > 0 {
                self.shutdown();
            }
            if self.signals.take(Sig::Usr1) % 2 == 1 {
                self.log.verbose = !self.log.verbose;
            }
            if self.signals.take(Sig::Usr2) % 2 == 1 {
                self.log.silent = !self.log.silent;
            }
            if self.signals.take(Sig::Hup) > 0 {
                self.log.info("got sighup");
                self.scan_now = true;
                self.announce_scan = true;
            }
            self.signals.take(Sig::Child);
            self.reap();
            let now = Instant::now();
            if self.scan_now || now >= self.next_periodic || self.retry_at.is_some_and(|t| now >= t)
            {
                self.scan();
                continue;
            }
            let deadline = self
                .retry_at
                .map_or(self.next_periodic, |t| t.min(self.next_periodic));
            let ms = deadline.saturating_duration_since(now).as_millis() + 1;
            self.signals.wait(ms.min(i32::MAX as u128) as i32);
        }
    }

    // ----- children -----

    /// Reap every dead child; a dead supervise makes a restart due.
    pub fn reap(&mut self) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a status we own.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid == 0 {
                return;
            }
            if pid < 0 {
                if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
            let ours = self.forget(pid);
            if self.pid == 1 {
                self.report(pid, status, ours);
            }
        }
    }

    /// Clear `pid` from the table; true when it was one of our supervise processes.
    fn forget(&mut self, pid: i32) -> bool {
        let now = Instant::now();
        let mut due = None;
        for slot in &mut self.slots {
            let procs = slot
                .main
                .iter_mut()
                .chain(slot.log.as_mut().map(|l| &mut l.proc));
            for p in procs {
                if p.pid == Some(pid) {
                    p.pid = None;
                    due = Some(p.throttled(now));
                }
            }
        }
        match due {
            Some(None) => self.scan_now = true,
            Some(Some(t)) => self.retry(t),
            None => return false,
        }
        true
    }

    /// As pid 1, say what became of every child (verbose only).
    fn report(&self, pid: i32, status: i32, ours: bool) {
        if libc::WIFSIGNALED(status) {
            self.log.info(format_args!(
                "pid: {pid}, killed by signal {}",
                libc::WTERMSIG(status)
            ));
        } else {
            self.log.info(format_args!(
                "pid: {pid}, exited with status={}",
                libc::WEXITSTATUS(status)
            ));
        }
        if !ours {
            self.log
                .info(format_args!("completed last rites for orphan {pid}"));
        }
    }

    fn retry(&mut self, at: Instant) {
        self.retry_at = Some(self.retry_at.map_or(at, |t| t.min(at)));
    }

    // ----- the scan -----

    pub fn scan(&mut self) {
        let now = Instant::now();
        if std::mem::take(&mut self.announce_scan) {
            self.log.info(format_args!(
                "Scanning directory {}",
                self.scandir.display()
            ));
        }
        self.scan_now = false;
        self.retry_at = None;
        self.next_periodic = now + self.settings.scan_interval;
        for slot in &mut self.slots {
            slot.active = false;
        }
        let dir = match std::fs::read_dir(".") {
            Ok(d) => d,
            Err(e) => {
                self.log
                    .warn(format_args!("unable to read directory: {}", errstr(&e)));
                return;
            }
        };
        for entry in dir {
            match entry {
                Ok(e) => self.entry(&e.file_name()),
                Err(e) => {
                    self.log
                        .warn(format_args!("unable to read directory: {}", errstr(&e)));
                    return;
                }
            }
        }
        // Services whose directory is gone and whose supervisors have exited.
        self.slots.retain(|s| {
            s.active
                || s.pinned
                || s.main.as_ref().is_some_and(|p| p.pid.is_some())
                || s.log.as_ref().is_some_and(|l| l.proc.pid.is_some())
        });
    }

    /// One directory entry (§6.4).
    pub fn entry(&mut self, name: &OsStr) {
        if name.as_bytes().first() == Some(&b'.') && name != SVSCAN_DIR {
            self.mirror_disabled(name);
            return;
        }
        let meta = match std::fs::metadata(name) {
            Ok(m) => m,
            Err(e) => {
                self.log.warn(format_args!(
                    "unable to stat {}: {}",
                    show(name),
                    errstr(&e)
                ));
                return;
            }
        };
        if !meta.is_dir() {
            return;
        }
        let idx = match self
            .slots
            .iter()
            .position(|s| s.dev == meta.dev() && s.ino == meta.ino())
        {
            Some(i) => i,
            None => match self.new_slot(name, &meta) {
                Some(i) => i,
                None => return,
            },
        };
        let slot = &mut self.slots[idx];
        slot.active = true;
        if slot.name != name {
            slot.name = name.to_owned();
        }
        self.keep_main(idx);
        self.keep_log(idx);
    }

    fn new_slot(&mut self, name: &OsStr, meta: &std::fs::Metadata) -> Option<usize> {
        if self.slots.len() >= self.capacity {
            self.log.warn(format_args!(
                "unable to start {}: running too many services",
                show(name)
            ));
            return None;
        }
        let log = match std::fs::metadata(Path::new(name).join("log")) {
            Ok(_) => match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
                Ok((read, write)) => Some(LogPair {
                    read,
                    write: Some(write),
                    proc: Proc::default(),
                    termed: false,
                }),
                Err(e) => {
                    self.log.warn(format_args!(
                        "unable to create pipe for {}: {}",
                        show(name),
                        errstr(&e.into())
                    ));
                    return None;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                self.log.warn(format_args!(
                    "unable to stat {}/log: {}",
                    show(name),
                    errstr(&e)
                ));
                return None;
            }
        };
        self.slots.push(Slot {
            dev: meta.dev(),
            ino: meta.ino(),
            name: name.to_owned(),
            active: false,
            main: (name != SVSCAN_DIR).then(Proc::default),
            log,
            want_up: true,
            pinned: false,
        });
        Some(self.slots.len() - 1)
    }

    /// Start the main supervise if it is not running, else apply the `down` file.
    fn keep_main(&mut self, idx: usize) {
        let now = Instant::now();
        let slot = &self.slots[idx];
        let Some(main) = &slot.main else { return };
        if main.pid.is_some() {
            self.toggle_down(idx);
            return;
        }
        if let Some(t) = main.throttled(now) {
            self.retry(t);
            return;
        }
        let name = slot.name.clone();
        self.log
            .info(format_args!("Starting service {}", show(&name)));
        let want_up = down_file(&name) != Some(true);
        let log_w = slot
            .log
            .as_ref()
            .and_then(|l| l.write.as_ref().map(|w| w.as_raw_fd()));
        let result = self.spawner.main(&self.signals, &name, log_w);
        let slot = &mut self.slots[idx];
        let main = slot.main.as_mut().expect("checked above");
        main.started = Some(now);
        slot.want_up = want_up;
        match result {
            Ok(pid) => main.pid = Some(pid),
            Err(e) => {
                self.log.warn(format_args!(
                    "unable to fork for {}: {}",
                    show(&name),
                    errstr(&e)
                ));
                self.retry(now + RESTART_THROTTLE);
            }
        }
    }

    /// Start the log supervise if the service has a log and it is not running.
    fn keep_log(&mut self, idx: usize) {
        let now = Instant::now();
        let slot = &self.slots[idx];
        let Some(pair) = &slot.log else { return };
        if pair.proc.pid.is_some() {
            return;
        }
        if let Some(t) = pair.proc.throttled(now) {
            self.retry(t);
            return;
        }
        let name = slot.name.clone();
        self.log
            .info(format_args!("Starting service {}/log", show(&name)));
        let result = self
            .spawner
            .log(&self.signals, &name, pair.read.as_raw_fd());
        let pair = self.slots[idx].log.as_mut().expect("checked above");
        pair.proc.started = Some(now);
        match result {
            Ok(pid) => pair.proc.pid = Some(pid),
            Err(e) => {
                self.log.warn(format_args!(
                    "unable to fork for {}/log: {}",
                    show(&name),
                    errstr(&e)
                ));
                self.retry(now + RESTART_THROTTLE);
            }
        }
    }

    /// The live `down` file: a running service whose `down` file appeared is sent `d`, one
    /// whose `down` file went away is sent `u`. A failed write is retried on the next scan.
    fn toggle_down(&mut self, idx: usize) {
        let slot = &self.slots[idx];
        let (byte, msg) = match (slot.want_up, down_file(&slot.name)) {
            (true, Some(true)) => (b'd', "Stopping service {} which was up"),
            (false, Some(false)) => (b'u', "Starting service {} which was down"),
            _ => return,
        };
        let name = slot.name.clone();
        self.log.info(msg.replace("{}", &show(&name)));
        if self.control(&name, byte) {
            self.slots[idx].want_up = byte == b'u';
        }
    }

    /// Write one control byte to NAME's supervise, without ever blocking.
    fn control(&self, name: &OsStr, byte: u8) -> bool {
        let path = match &self.run_dir {
            Some(run) => run.join(name).join("supervise/control"),
            None => Path::new(name).join("supervise/control"),
        };
        let mut fifo = match indicore::fd::open_write(&path) {
            Ok(f) => f,
            Err(e) => {
                if e.raw_os_error() == Some(libc::ENXIO) {
                    self.log.warn(format_args!(
                        "unable to control {}: supervise not running",
                        show(name)
                    ));
                } else {
                    self.log.warn(format_args!(
                        "unable to control {}: {}",
                        show(name),
                        errstr(&e)
                    ));
                }
                return false;
            }
        };
        match fifo.write(&[byte]) {
            Ok(1) => true,
            Ok(_) => false,
            Err(e) => {
                self.log.warn(format_args!(
                    "error writing commands to {}: {}",
                    path.display(),
                    errstr(&e)
                ));
                false
            }
        }
    }

    /// `.x` in the scan directory: with the run fs, the mirror of a service disabled by
    /// `mv x .x` is renamed to `.x` too. Its supervise keeps running.
    fn mirror_disabled(&self, name: &OsStr) {
        let Some(run) = &self.run_dir else { return };
        let bare = OsStr::from_bytes(&name.as_bytes()[1..]);
        let hidden = run.join(name);
        let plain = run.join(bare);
        if name.len() < 2
            || std::fs::symlink_metadata(&hidden).is_ok()
            || std::fs::symlink_metadata(&plain).is_err()
        {
            return;
        }
        if let Err(e) = std::fs::rename(&plain, &hidden) {
            self.log.warn(format_args!(
                "unable to rename {} to {}: {}",
                show(bare),
                show(name),
                errstr(&e)
            ));
        }
    }

    // ----- startup extras -----

    /// SCANLOG: start `.svscan/log` now and send svscan's fds 1 and 2 into its pipe.
    pub fn open_svscan_log(&mut self) {
        if std::fs::metadata(SVSCAN_DIR).is_err() {
            return;
        }
        self.entry(OsStr::new(SVSCAN_DIR));
        let Some(slot) = self.slots.iter_mut().find(|s| s.main.is_none()) else {
            return;
        };
        let Some(pair) = &slot.log else { return };
        let (Some(_), Some(w)) = (pair.proc.pid, &pair.write) else {
            return;
        };
        let w = w.as_raw_fd();
        for fd in [1, 2] {
            // SAFETY: dup2 onto svscan's own stdout/stderr.
            if unsafe { libc::dup2(w, fd) } == -1 {
                let e = io::Error::last_os_error();
                self.log.fatal(
                    indicore::EXIT_TEMP,
                    format_args!("unable to dup descriptors for {SVSCAN_DIR}: {}", errstr(&e)),
                );
            }
        }
        slot.pinned = true;
        // svscan's own lines go through a non-blocking open of the same pipe.
        let own = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(format!("/proc/self/fd/{w}"))
            .ok()
            .map(OwnedFd::from);
        self.log.redirect(own);
        self.log
            .info(format_args!("pid: {}: starting...", self.pid));
    }

    /// INITCMD: `/bin/sh -c INITCMD` (`.svscan/run` when empty) if that path is executable;
    /// waited for with WAIT_INITCMD.
    pub fn initcmd(&mut self) {
        let Some(cmd) = self.settings.initcmd.clone() else {
            return;
        };
        let path = if cmd.is_empty() {
            OsString::from(".svscan/run")
        } else {
            cmd
        };
        if !executable(&path) {
            return;
        }
        let pid = match self.spawner.shell(&self.signals, &path, false) {
            Ok(pid) => pid,
            Err(e) => self.log.fatal(
                indicore::EXIT_TEMP,
                format_args!(
                    "unable to fork for init command {}: {}",
                    show(&path),
                    errstr(&e)
                ),
            ),
        };
        if !self.settings.wait_initcmd {
            return;
        }
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own child with a status we own.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid || (r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR))
            {
                return;
            }
            if self.signals.pending(Sig::Term) {
                self.signals.take(Sig::Term);
                self.shutdown();
            }
            self.signals.wait(-1);
        }
    }
}

/// Whether `NAME/down` exists: `Some(true)`, `Some(false)` (ENOENT), `None` (cannot tell).
pub fn down_file(name: &OsStr) -> Option<bool> {
    match std::fs::metadata(Path::new(name).join("down")) {
        Ok(_) => Some(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some(false),
        Err(_) => None,
    }
}

/// access(path, X_OK).
pub fn executable(path: &OsStr) -> bool {
    CString::new(path.as_bytes())
        // SAFETY: access(2) on a C string we own.
        .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0)
}
