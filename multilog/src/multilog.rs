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
use crate::sys;
use indicore::{errstr, Failure, Prog};
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

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
        let flags = libc::O_WRONLY | libc::O_NONBLOCK;
        sys::openat(
            libc::AT_FDCWD,
            &cpath,
            flags | libc::O_APPEND | libc::O_CREAT,
            0o600,
        )
        .map_err(|e| Failure::temp_sys(format_args!("unable to create {name}: "), &e))?;
        let fd = sys::openat(libc::AT_FDCWD, &cpath, flags, 0)
            .map_err(|e| Failure::temp_sys(format_args!("unable to write {name}: "), &e))?;
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
            match sys::pwrite(self.fd.as_raw_fd(), &self.record[..], 0) {
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
        let _ = sys::write_all(2, &self.alerts);
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
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: secs as _,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: first as _,
            tv_usec: 0,
        },
    };
    // SAFETY: setitimer with a valid itimerval; the old value is not wanted.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) } < 0 {
        return Err(Failure::temp_sys(
            "setitimer: ",
            &io::Error::last_os_error(),
        ));
    }
    Ok(())
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let fsync = std::env::var_os("NOFSYNC").is_none();
    let umask = sys::umask(0o022);
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
        let n = match sys::read(0, &mut input[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
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
