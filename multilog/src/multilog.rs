//! `multilog script...`: read lines from stdin and apply the script's actions to each.
//!
//! Input is read in large pieces; everything a piece produces is written before the next
//! read (so nothing waits in a buffer while multilog waits for input), which is also when
//! signals are looked at: TERM (finish the current line, then stop as at end of input),
//! ALRM (rotate every non-empty log), INT and HUP (logging off and on).

use crate::io::READ_SIZE;
use crate::lines::{Lines, Sinks, PREFIX_LEN, STATUS_LEN};
use crate::logdir::{pause, LogDir};
use crate::script::{Action, Script};
use crate::signals::{Catcher, Signal};
use crate::stamp::now_prefix;
use indicore::sys::fs::{self, Mode, OFlags, CWD};
use indicore::sys::io::inherited;
use indicore::sys::{self, Errno};
use indicore::{errstr, Failure, Prog};
use std::ffi::{CString, OsString};
use std::os::fd::OwnedFd;

pub const PROG: Prog = Prog("multilog");

/// Pending `e` output is written once it reaches this size (and before each read).
const ALERT_LIMIT: usize = 16 * 1024;
/// The smallest read (the reference's buffer size).
const MIN_READ: usize = 1024;

/// An `=file` action: the last selected line, written over the file's first 1001 bytes.
struct StatusFile {
    name: String,
    fd: OwnedFd,
    record: Box<[u8; STATUS_LEN]>,
    dirty: bool,
}

impl StatusFile {
    fn open(path: &[u8]) -> Result<StatusFile, Failure> {
        let name = String::from_utf8_lossy(path).into_owned();
        let cpath = CString::new(path)
            .map_err(|_| Failure::temp(format!("unable to create {name}: invalid argument")))?;
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let create = flags | OFlags::APPEND | OFlags::CREATE;
        fs::openat(CWD, &cpath, create, Mode::from_raw_mode(0o600))
            .map_err(|e| Failure::temp_sys(format_args!("unable to create {name}: "), &e.into()))?;
        let fd = fs::openat(CWD, &cpath, flags, Mode::empty())
            .map_err(|e| Failure::temp_sys(format_args!("unable to write {name}: "), &e.into()))?;
        Ok(StatusFile {
            name,
            fd,
            record: Box::new([b'\n'; STATUS_LEN]),
            dirty: false,
        })
    }

    fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        loop {
            match sys::io::pwrite(&self.fd, &self.record[..], 0) {
                Ok(STATUS_LEN) => break,
                // A short write is retried at once; a full disk then reports an error.
                Ok(_) => continue,
                Err(e) => pause(format_args!("unable to write {}", self.name), &e),
            }
        }
        self.dirty = false;
    }
}

/// Everything the lines go to.
struct Outputs {
    dirs: Vec<LogDir>,
    status: Vec<StatusFile>,
    alerts: Vec<u8>,
    catcher: Catcher,
}

impl Sinks for Outputs {
    #[inline]
    fn to_dir(&mut self, dir: usize, bytes: &[u8]) {
        if self.dirs[dir].is_full_for(bytes.len()) {
            // Keep alerts of earlier lines ahead of any warning the write may print.
            self.flush_alerts();
        }
        self.dirs[dir].push(bytes, &self.catcher);
    }

    fn status(&mut self, file: usize, record: &[u8; STATUS_LEN]) {
        let s = &mut self.status[file];
        s.record.copy_from_slice(record);
        s.dirty = true;
    }

    fn alert(&mut self, bytes: &[u8]) {
        if self.alerts.len() + bytes.len() > ALERT_LIMIT {
            self.flush_alerts();
        }
        self.alerts.extend_from_slice(bytes);
    }
}

impl Outputs {
    fn flush_alerts(&mut self) {
        // Like the reference, a failing stderr is not a reason to stop logging.
        let _ = sys::io::write_all(inherited(2), &self.alerts);
        self.alerts.clear();
    }

    /// Before each read: write everything.
    fn flush(&mut self) {
        self.flush_alerts();
        for d in &mut self.dirs {
            d.flush(&self.catcher);
        }
        for s in &mut self.status {
            s.flush();
        }
    }

    /// How much to read next: a large piece, but at most half the room left before the
    /// next size rotation. Input read is at risk until written; a rotation (and its
    /// processor) in the middle of writing one read would stretch that time, so a read
    /// should fit in `current`, labels and all.
    fn read_size(&self) -> usize {
        self.dirs
            .iter()
            .filter_map(LogDir::room)
            .map(|room| usize::try_from(room / 2).unwrap_or(usize::MAX))
            .min()
            .map_or(READ_SIZE, |n| n.clamp(MIN_READ, READ_SIZE))
    }

    fn rotate_nonempty(&mut self) {
        for d in &mut self.dirs {
            if d.bytes() > 0 {
                d.rotate(&self.catcher);
            }
        }
    }

    fn close_clean(&mut self) {
        self.flush();
        for d in &mut self.dirs {
            d.close_clean(&self.catcher);
        }
    }
}

/// `r<secs>`: SIGALRM at the next multiple of secs since the epoch, then every secs.
fn set_timer(secs: u64) -> Result<(), Failure> {
    let secs = secs.min(i32::MAX as u64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let first = secs - now % secs;
    sys::time::alarm_every(first, secs).map_err(|e| Failure::temp_sys("setitimer: ", &e))
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let fsync = std::env::var_os("NOFSYNC").is_none();
    let umask = fs::umask(Mode::from_raw_mode(0o022));
    let script = Script::parse(args.get(1..).unwrap_or_default());
    let catcher = Catcher::install(&[
        Signal::Term,
        Signal::Alarm,
        Signal::Hangup,
        Signal::Interrupt,
    ]);
    crate::signals::ignore_sigpipe();

    // As the reference: every `=file` first, then timers and directories in order.
    let mut status = Vec::new();
    for action in &script.actions {
        if let Action::Status(path) = action {
            status.push(StatusFile::open(path)?);
        }
    }
    let mut dirs = Vec::new();
    for action in &script.actions {
        match action {
            Action::Timer(secs) => set_timer(*secs)?,
            Action::Dir(spec) => dirs.push(LogDir::open(spec, umask, fsync)?),
            _ => {}
        }
    }
    let mut out = Outputs {
        dirs,
        status,
        alerts: Vec::with_capacity(ALERT_LIMIT),
        catcher,
    };
    let mut lines = Lines::new(&script);
    let mut input = vec![0u8; READ_SIZE];
    let mut prefix = [b' '; PREFIX_LEN];
    let (mut logging, mut exiting) = (true, false);
    loop {
        out.flush();
        if Signal::Alarm.take() {
            out.rotate_nonempty();
        }
        exiting |= Signal::Term.take();
        if Signal::Interrupt.take() {
            logging = false;
        }
        if Signal::Hangup.take() {
            logging = true;
        }
        // After TERM: stop at a line end, reading the rest of a started line byte by byte
        // so that the input after it stays unread.
        if exiting && lines.between_lines() {
            break;
        }
        match out.catcher.wait_input(Some(0), None) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                PROG.warn(format_args!("unable to read input: {}", errstr(&e)));
                break;
            }
        }
        let want = if exiting { 1 } else { out.read_size() };
        let n = match sys::io::read(inherited(0), &mut input[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if sys::errno(&e) == Some(Errno::AGAIN) => continue,
            Err(e) => {
                PROG.warn(format_args!("unable to read input: {}", errstr(&e)));
                break;
            }
        };
        if script.timestamps {
            prefix = now_prefix();
        }
        lines.feed(&input[..n], &prefix, logging, &mut out);
    }
    lines.finish(logging, &mut out);
    out.close_clean();
    Ok(0)
}
