//! The service table and the scan (docs/daemontools.md#scanning, #each-directory-entry, docs/decisions.md#d6).
//!
//! Each service directory is a [`Slot`], identified by (dev, inode) so that a renamed
//! directory keeps its supervisors. A service with a `log` subdirectory gets a pipe when
//! its slot is made; svscan holds both ends until the slot is freed, so the main service
//! never sees EPIPE and nothing in the pipe is lost while either side restarts.
//!
//! When scans happen: at startup, on SIGHUP, when inotify reports a change that needs one
//! ([`crate::watch`]: a `down` file, lost events, a held directory settled), when a
//! supervise dies, which is restarted at once, or one second after its previous start if
//! that was less than a second ago (so a supervise that cannot run costs one start per
//! second, not a busy loop), and periodically: every `SCANINTERVAL` seconds when it is
//! set; else every 5 s (docs/decisions.md#d6) only while something cannot be watched (no inotify,
//! a `down` symlink, an unwatchable service directory, an entry that cannot be looked
//! at). With inotify and nothing to poll, an idle svscan never wakes up.
//!
//! The table is kept small and sorted by (dev, inode), and a running service's `down` file
//! is looked at again only when its directory's ctime has moved (creating or removing
//! `down` changes it): a scan costs one getdents and one stat per service.

use crate::config::Settings;
use crate::log::Log;
use crate::signals::{Sig, Signals};
use crate::spawn::{executable, show, Spawner};
use crate::watch::Watch;
use crate::watch::WatchDescriptor;
use indicore::errstr;
use indicore::sys::fs::Stat;
use indicore::sys::process::{self, WaitOptions, WaitStatus};
use std::ffi::{CStr, OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The least time between two starts of the same supervise.
pub const RESTART_THROTTLE: Duration = Duration::from_secs(1);

/// The name of svscan's own service directory (only its `log` is supervised).
pub const SVSCAN_DIR: &str = ".svscan";

/// Milliseconds since svscan started, plus one (0 means "never"); wraps after 49 days,
/// which can at worst delay one restart by a second.
type Millis = u32;

/// One supervise process svscan keeps running.
#[derive(Debug, Default, Clone, Copy)]
pub struct Proc {
    /// 0 when not running.
    pid: i32,
    /// When it was last started.
    started: Millis,
}

impl Proc {
    pub fn pid(&self) -> Option<i32> {
        (self.pid != 0).then_some(self.pid)
    }

    /// Milliseconds until this supervise may be started again, if not now.
    fn throttled(&self, now: Millis) -> Option<u32> {
        if self.started == 0 {
            return None;
        }
        let since = now.wrapping_sub(self.started);
        let limit = RESTART_THROTTLE.as_millis() as u32;
        (since < limit).then(|| limit - since)
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

/// One service directory, known by its device and inode (its name is whatever the
/// current scan finds).
#[derive(Debug)]
pub struct Slot {
    pub dev: u64,
    pub ino: u64,
    /// The main supervise; `None` for `.svscan`, whose log alone is supervised.
    pub main: Option<Proc>,
    pub log: Option<LogPair>,
    /// The directory's ctime (ns) when `down` was last looked at and found settled;
    /// 0 when it must be looked at on the next scan.
    down_ctime: i64,
    /// Seen in the current scan.
    pub active: bool,
    /// "no `down` file" when the main supervise was started or last toggled.
    pub want_up: bool,
    /// svscan's own output goes into this slot's pipe: never free it.
    pub pinned: bool,
    /// The inotify watch on the directory (main services only).
    pub wd: Option<WatchDescriptor>,
    /// `down` is a symlink or could not be looked at: it can change without an event.
    pub down_hidden: bool,
}

impl Slot {
    fn running(&self) -> bool {
        self.main.is_some_and(|p| p.pid != 0) || self.log.as_ref().is_some_and(|l| l.proc.pid != 0)
    }

    /// Its `down` file can change without inotify telling: it needs the periodic scan.
    pub fn blind(&self) -> bool {
        self.active && self.main.is_some() && (self.wd.is_none() || self.down_hidden)
    }
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
    /// inotify on the scan directory and the services; `None`: periodic scans only.
    pub watch: Option<Watch>,
    pub(crate) scan_now: bool,
    announce_scan: bool,
    /// The next periodic scan, when one is needed ([`Scanner::periodic_needed`]).
    pub(crate) next_periodic: Option<Instant>,
    retry_at: Option<Instant>,
    /// An entry of the scan directory could not be looked at in the last scan (a dangling
    /// symlink, EACCES): its fixing may come without an event.
    pub(crate) unseen: bool,
    /// How many slots, from the start, are sorted by (dev, inode).
    sorted: usize,
    /// The origin of [`Millis`].
    epoch: Instant,
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
        // Before the first scan, so that nothing made during it goes unnoticed.
        let watch = match Watch::open() {
            Ok(w) => Some(w),
            Err(e) => {
                log.info(format_args!(
                    "inotify unavailable ({}): scanning every {} seconds",
                    errstr(&e),
                    settings.interval().as_secs()
                ));
                None
            }
        };
        Scanner {
            log,
            signals,
            spawner,
            settings,
            // Reserved address space only: pages are touched as slots fill.
            slots: Vec::with_capacity(capacity.min(4096)),
            capacity,
            scandir,
            run_dir,
            pidfile,
            pid: std::process::id() as i32,
            watch,
            scan_now: true,
            // The first scan is announced too, as by the reference.
            announce_scan: true,
            next_periodic: None,
            retry_at: None,
            unseen: false,
            sorted: 0,
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> Millis {
        (self.epoch.elapsed().as_millis() as u64).wrapping_add(1) as Millis
    }

    /// Scan again `ms` milliseconds from now.
    fn retry_in(&mut self, ms: u32) {
        self.retry(Instant::now() + Duration::from_millis(u64::from(ms)));
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
            self.events();
            let now = Instant::now();
            self.release_holds(now);
            let due = |t: Option<Instant>| t.is_some_and(|t| now >= t);
            if self.scan_now || due(self.next_periodic) || due(self.retry_at) {
                self.scan();
                continue;
            }
            let deadline = [self.retry_at, self.next_periodic, self.hold_deadline()]
                .into_iter()
                .flatten()
                .min();
            // No deadline: sleep until a signal or an event (an idle svscan costs nothing).
            let ms = deadline.map_or(-1, |d| {
                let ms = d.saturating_duration_since(now).as_millis() + 1;
                ms.min(i32::MAX as u128) as i32
            });
            let watch = self.watch.as_ref().map(Watch::fd);
            self.signals.wait_also(ms, watch);
        }
    }

    // ----- children -----

    /// Reap every dead child; a dead supervise makes a restart due.
    pub fn reap(&mut self) {
        while let Ok(Some((pid, status))) = process::wait(None, WaitOptions::NOHANG) {
            let pid = pid.as_raw_pid();
            let ours = self.forget(pid);
            if self.pid == 1 {
                self.report(pid, status, ours);
            }
        }
    }

    /// Clear `pid` from the table; true when it was one of our supervise processes.
    fn forget(&mut self, pid: i32) -> bool {
        let now = self.now_ms();
        let mut due = None;
        for slot in &mut self.slots {
            let procs = slot
                .main
                .iter_mut()
                .chain(slot.log.as_mut().map(|l| &mut l.proc));
            for p in procs {
                if p.pid == pid {
                    p.pid = 0;
                    due = Some(p.throttled(now));
                }
            }
        }
        match due {
            Some(None) => self.scan_now = true,
            Some(Some(ms)) => self.retry_in(ms),
            None => return false,
        }
        true
    }

    /// As pid 1, say what became of every child (verbose only).
    fn report(&self, pid: i32, status: WaitStatus, ours: bool) {
        if let Some(sig) = status.terminating_signal() {
            self.log
                .info(format_args!("pid: {pid}, killed by signal {sig}"));
        } else {
            self.log.info(format_args!(
                "pid: {pid}, exited with status={}",
                status.exit_status().unwrap_or(0)
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
        self.unseen = false;
        for slot in &mut self.slots {
            slot.active = false;
        }
        self.read_scandir();
        self.next_periodic = self
            .periodic_needed()
            .then(|| now + self.settings.interval());
    }

    fn read_scandir(&mut self) {
        let read = indicore::sys::dir::entries(indicore::sys::fs::CWD, |name, _| {
            self.entry(name);
            Ok(())
        });
        if let Err(e) = read {
            self.unseen = true;
            self.log
                .warn(format_args!("unable to read directory: {}", errstr(&e)));
            return;
        }
        // Services whose directory is gone and whose supervisors have exited.
        let keep = |s: &Slot| s.active || s.pinned || s.running();
        if let Some(w) = &self.watch {
            for wd in self.slots.iter().filter(|s| !keep(s)).filter_map(|s| s.wd) {
                w.forget(wd);
            }
        }
        self.slots.retain(keep);
        self.sort_slots();
    }

    /// Whether a periodic scan must run: `SCANINTERVAL` set, or something that inotify
    /// cannot see.
    pub(crate) fn periodic_needed(&self) -> bool {
        self.watch.is_none()
            || self.settings.scan_interval.is_some()
            || self.unseen
            || self.slots.iter().any(Slot::blind)
    }

    pub(crate) fn sort_slots(&mut self) {
        if self.sorted != self.slots.len() {
            self.slots.sort_unstable_by_key(|s| (s.dev, s.ino));
        }
        self.sorted = self.slots.len();
    }

    /// One directory entry (docs/daemontools.md#each-directory-entry).
    pub fn entry(&mut self, cname: &CStr) {
        self.entry_from(cname, false);
    }

    /// One directory entry, found by a scan or (`event`) named by inotify: then an entry
    /// that is already gone again is no news.
    pub(crate) fn entry_from(&mut self, cname: &CStr, event: bool) {
        let name = OsStr::from_bytes(cname.to_bytes());
        if name.as_bytes().first() == Some(&b'.') && name != SVSCAN_DIR {
            self.mirror_disabled(name);
            return;
        }
        let Some(st) = self.stat_entry(cname, event) else {
            return;
        };
        if !is_dir(&st) {
            return;
        }
        let key = (st.st_dev, st.st_ino);
        if self.held(key) {
            return;
        }
        let found = match self.slots[..self.sorted].binary_search_by_key(&key, |s| (s.dev, s.ino)) {
            Ok(i) => Some(i),
            Err(_) => self.slots[self.sorted..]
                .iter()
                .position(|s| (s.dev, s.ino) == key)
                .map(|i| i + self.sorted),
        };
        let idx = match found {
            Some(i) => i,
            None => match self.new_slot(name, key) {
                Some(i) => i,
                None => return,
            },
        };
        self.slots[idx].active = true;
        self.watch_slot(idx, cname);
        let ctime = st.st_ctime.saturating_mul(1_000_000_000) + st.st_ctime_nsec as i64;
        self.keep_main(idx, name, ctime);
        self.keep_log(idx, name);
    }

    /// stat(2) of an entry; a failure is a warning, and leaves the entry to the periodic
    /// scan, unless an event named an entry that no longer exists at all.
    pub(crate) fn stat_entry(&mut self, cname: &CStr, event: bool) -> Option<Stat> {
        use indicore::sys::fs::{statat, AtFlags, CWD};
        let e = match statat(CWD, cname, AtFlags::empty()) {
            Ok(st) => return Some(st),
            Err(e) => io::Error::from(e),
        };
        let vanished = e.kind() == io::ErrorKind::NotFound
            && statat(CWD, cname, AtFlags::SYMLINK_NOFOLLOW).is_err();
        if !(event && vanished) {
            self.unseen = true;
            self.log.warn(format_args!(
                "unable to stat {}: {}",
                show(OsStr::from_bytes(cname.to_bytes())),
                errstr(&e)
            ));
        }
        None
    }

    /// Watch a main service's directory once.
    fn watch_slot(&mut self, idx: usize, cname: &CStr) {
        let slot = &self.slots[idx];
        if slot.main.is_none() || slot.wd.is_some() {
            return;
        }
        if let Some(w) = &self.watch {
            self.slots[idx].wd = w.service(cname, (slot.dev, slot.ino));
        }
    }

    /// A slot for a directory seen for the first time, appended after the sorted part of
    /// the table (sorted in at the end of the scan, so that a thousand new services are
    /// not a thousand insertions).
    fn new_slot(&mut self, name: &OsStr, (dev, ino): (u64, u64)) -> Option<usize> {
        if self.slots.len() >= self.capacity {
            self.log.warn(format_args!(
                "unable to start {}: running too many services",
                show(name)
            ));
            return None;
        }
        let log = match std::fs::metadata(Path::new(name).join("log")) {
            Ok(_) => match indicore::sys::io::pipe() {
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
                        errstr(&e)
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
            dev,
            ino,
            main: (name != SVSCAN_DIR).then(Proc::default),
            log,
            down_ctime: 0,
            active: false,
            want_up: true,
            pinned: false,
            wd: None,
            down_hidden: false,
        });
        Some(self.slots.len() - 1)
    }

    /// Start the main supervise if it is not running, else apply the `down` file.
    fn keep_main(&mut self, idx: usize, name: &OsStr, ctime: i64) {
        let now = self.now_ms();
        let slot = &self.slots[idx];
        let Some(main) = slot.main else { return };
        if main.pid != 0 {
            if slot.down_ctime != ctime {
                self.toggle_down(idx, name, ctime);
            }
            return;
        }
        if let Some(ms) = main.throttled(now) {
            self.retry_in(ms);
            return;
        }
        self.log
            .info(format_args!("Starting service {}", show(name)));
        let down = down_file(name);
        let log_w = slot
            .log
            .as_ref()
            .and_then(|l| l.write.as_ref().map(|w| w.as_raw_fd()));
        let result = self
            .spawner
            .main(&self.signals, self.log.silent, name, log_w);
        let slot = &mut self.slots[idx];
        slot.want_up = down.exists() != Some(true);
        slot.down_ctime = settled(down, ctime);
        slot.down_hidden = down.hidden();
        let main = slot.main.as_mut().expect("checked above");
        main.started = now;
        match result {
            Ok(pid) => main.pid = pid,
            Err(msg) => {
                self.log.warn(msg);
                self.retry_in(RESTART_THROTTLE.as_millis() as u32);
            }
        }
    }

    /// Start the log supervise if the service has a log and it is not running.
    fn keep_log(&mut self, idx: usize, name: &OsStr) {
        let now = self.now_ms();
        let Some(pair) = &self.slots[idx].log else {
            return;
        };
        if pair.proc.pid != 0 {
            return;
        }
        if let Some(ms) = pair.proc.throttled(now) {
            self.retry_in(ms);
            return;
        }
        self.log
            .info(format_args!("Starting service {}/log", show(name)));
        let result = self
            .spawner
            .log(&self.signals, self.log.silent, name, pair.read.as_raw_fd());
        let pair = self.slots[idx].log.as_mut().expect("checked above");
        pair.proc.started = now;
        match result {
            Ok(pid) => pair.proc.pid = pid,
            Err(msg) => {
                self.log.warn(msg);
                self.retry_in(RESTART_THROTTLE.as_millis() as u32);
            }
        }
    }

    /// The live `down` file: a running service whose `down` file appeared is sent `d`, one
    /// whose `down` file went away is sent `u`. A failed write is retried on the next scan.
    fn toggle_down(&mut self, idx: usize, name: &OsStr, ctime: i64) {
        let down = down_file(name);
        self.slots[idx].down_hidden = down.hidden();
        let (byte, msg) = match (self.slots[idx].want_up, down.exists()) {
            (true, Some(true)) => (b'd', "Stopping service {} which was up"),
            (false, Some(false)) => (b'u', "Starting service {} which was down"),
            _ => {
                self.slots[idx].down_ctime = settled(down, ctime);
                return;
            }
        };
        self.log.info(msg.replace("{}", &show(name)));
        if self.control(name, byte) {
            let slot = &mut self.slots[idx];
            slot.want_up = byte == b'u';
            slot.down_ctime = settled(down, ctime);
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
                if indicore::sys::errno(&e) == Some(indicore::sys::Errno::NXIO) {
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
        self.entry(c".svscan");
        self.sort_slots();
        let Some(slot) = self.slots.iter_mut().find(|s| s.main.is_none()) else {
            return;
        };
        let Some(pair) = &slot.log else { return };
        let (Some(_), Some(w)) = (pair.proc.pid(), &pair.write) else {
            return;
        };
        for fd in [1, 2] {
            if let Err(e) = indicore::sys::io::dup2(w, fd) {
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
            .custom_flags(indicore::sys::fs::OFlags::NONBLOCK.bits() as i32)
            .open(format!("/proc/self/fd/{}", w.as_raw_fd()))
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
        if !executable(Path::new(&path)) {
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
            let Some(p) = process::pid(pid) else { return };
            if !matches!(process::wait(Some(p), WaitOptions::NOHANG), Ok(None)) {
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

/// What `NAME/down` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    Absent,
    File,
    /// A symbolic link: what it points to can change without the directory changing.
    Link {
        target_exists: bool,
    },
    /// Cannot tell (EACCES...).
    Unknown,
}

impl Down {
    /// Whether it can change without its directory changing (no inotify event).
    pub fn hidden(self) -> bool {
        matches!(self, Down::Link { .. } | Down::Unknown)
    }

    /// Whether `down` exists, as access(F_OK) answers it (following a symlink).
    pub fn exists(self) -> Option<bool> {
        match self {
            Down::Absent => Some(false),
            Down::File => Some(true),
            Down::Link { target_exists } => Some(target_exists),
            Down::Unknown => None,
        }
    }
}

pub fn down_file(name: &OsStr) -> Down {
    let path = Path::new(name).join("down");
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => Down::Link {
            target_exists: std::fs::metadata(&path).is_ok(),
        },
        Ok(_) => Down::File,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Down::Absent,
        Err(_) => Down::Unknown,
    }
}

/// Whether a stat is a directory's.
pub(crate) fn is_dir(st: &Stat) -> bool {
    indicore::sys::fs::FileType::from_raw_mode(st.st_mode) == indicore::sys::fs::FileType::Directory
}

/// The ctime to remember after looking at `down`: none when the answer could change
/// without the directory's ctime moving (a symlink, an unreadable entry), or when the
/// ctime is so recent that a second change could still land in the same timestamp tick.
fn settled(down: Down, ctime: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let recent = now - ctime < 2_000_000_000;
    match down {
        Down::Absent | Down::File if !recent => ctime,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_throttle() {
        let never = Proc::default();
        assert_eq!(never.throttled(5), None);
        let p = Proc {
            pid: 0,
            started: 1000,
        };
        assert_eq!(p.throttled(1000), Some(1000));
        assert_eq!(p.throttled(1999), Some(1));
        assert_eq!(p.throttled(2000), None);
        // Across the wrap of the millisecond clock.
        let p = Proc {
            pid: 0,
            started: u32::MAX - 100,
        };
        assert_eq!(p.throttled(399), Some(500));
    }

    #[test]
    fn down_file_kinds_and_settling() {
        let d = tempfile::tempdir().unwrap();
        let svc = d.path().join("svc");
        std::fs::create_dir(&svc).unwrap();
        let name = svc.as_os_str();
        assert_eq!(down_file(name), Down::Absent);
        std::os::unix::fs::symlink("../flag", svc.join("down")).unwrap();
        assert_eq!(
            down_file(name),
            Down::Link {
                target_exists: false
            }
        );
        std::fs::write(d.path().join("flag"), "").unwrap();
        assert_eq!(down_file(name).exists(), Some(true));
        std::fs::remove_file(svc.join("down")).unwrap();
        std::fs::write(svc.join("down"), "").unwrap();
        assert_eq!(down_file(name), Down::File);

        let old = 1_000_000_000_000_000_000; // 2001
        assert_eq!(settled(Down::File, old), old);
        assert_eq!(settled(Down::Absent, old), old);
        assert_eq!(settled(Down::Unknown, old), 0);
        assert_eq!(
            settled(
                Down::Link {
                    target_exists: true
                },
                old
            ),
            0
        );
        let meta = std::fs::metadata(&svc).unwrap();
        let ctime = std::os::unix::fs::MetadataExt::ctime(&meta) * 1_000_000_000;
        assert_eq!(settled(Down::File, ctime), 0, "too recent");
    }
}
