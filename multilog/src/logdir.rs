//! One automatically rotated log directory: `current`, the archives `@<tai64n>.s|.u`, and
//! `previous`, `processed`, `state`, `newstate` and `lock` while a rotation is under way.
//!
//! The protocol is the reference's, so that each step leaves the directory in a state the
//! next start recognises (a crash at any point loses no line already written and
//! duplicates none):
//!
//! * `current` with the owner-execute bit (0744) was closed cleanly; 0644 means a crash.
//! * rotation: fsync `current`, rename it to `previous`, create a new `current`, chmod
//!   `previous` 0744; then either archive `previous` as `.s`, or feed it to the processor
//!   (fd 0 `previous`, fd 1 `processed`, fd 4 `state`, fd 5 `newstate`), fsync its output,
//!   mark `processed` 0744 (the commit point), remove `previous`, rename `newstate` to
//!   `state` and archive `processed` as `.s`.
//! * archiving (`finish`) links the file to its archive name only if it has a single link,
//!   so a crash between link and unlink never makes two archives of one file.
//!
//! Differences (COMPATIBILITY.md): the processor's `state` survives a crash (the
//! reference empties it), `newstate` is synced before the commit point, the directory is
//! synced after each archive, archive names never go backwards, and pruning skips an
//! entry it cannot remove instead of spinning on it.

use crate::multilog::PROG;
use crate::script::DirSpec;
use crate::signals::Catcher;
use crate::stamp::label_text;
use indicore::fd::lock_exnb;
use indicore::sys::fs::{self, AtFlags, Mode, OFlags, Stat, CWD};
use indicore::sys::{self, process, Errno};
use indicore::tai::Label;
use indicore::{errstr, Failure};
use std::ffi::{CStr, CString};
use std::fmt::Display;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::time::Duration;

/// Output collected for a directory before it is written (and before each read).
pub const OUT_LIMIT: usize = 128 * 1024;
/// With fsync on, writeback of `current` is started every this many bytes, so that the
/// disk works while multilog reads and the fsync at rotation finds little left to write.
const WRITEBACK_STEP: u64 = 1024 * 1024;
/// Once `current` is within this many bytes of the size limit, rotate at a line end.
const LINE_END_WINDOW: u64 = 2000;
/// Seconds to wait before retrying a failed operation.
const PAUSE: u64 = 5;
/// Length of an archive name's timestamp part (`@` + 24 hex digits).
const STAMP_LEN: usize = 25;

const CURRENT: &CStr = c"current";
const PREVIOUS: &CStr = c"previous";
const PROCESSED: &CStr = c"processed";
const STATE: &CStr = c"state";
const NEWSTATE: &CStr = c"newstate";
const LOCK: &CStr = c"lock";

/// `sh -c processor`, prepared before any fork.
struct Processor {
    shown: String,
    command: CString,
}

fn fatal(what: impl Display, e: &io::Error) -> Failure {
    Failure::temp_sys(format_args!("{what}: "), e)
}

/// `multilog: warning: <what>, pausing: <error>`, then the 5-second pause before a retry.
pub(crate) fn pause(what: impl Display, e: &io::Error) {
    PROG.warn(format_args!("{what}, pausing: {}", errstr(e)));
    deep_sleep(PAUSE);
}

/// Sleep the whole time, even across interrupted sleeps (djb's `deepsleep`).
fn deep_sleep(secs: u64) {
    std::thread::sleep(Duration::from_secs(secs));
}

/// Retry `op` until it works, warning and pausing after each failure.
fn persist<T>(what: impl Fn() -> String, mut op: impl FnMut() -> io::Result<T>) -> T {
    loop {
        match op() {
            Ok(v) => return v,
            Err(e) => pause(what(), &e),
        }
    }
}

fn open_append(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC;
    Ok(fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?)
}

/// fstatat(2) without following a final symlink; `None` when the name does not exist.
fn stat_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Stat>> {
    match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn rename_at(dir: BorrowedFd<'_>, from: &CStr, to: &CStr) -> io::Result<()> {
    Ok(fs::renameat(dir, from, dir, to)?)
}

fn unlink_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    Ok(fs::unlinkat(dir, name, AtFlags::empty())?)
}

fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    Ok(fs::fchmod(fd, Mode::from_raw_mode(mode))?)
}

fn fsync(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(fs::fsync(fd)?)
}

fn is_clean(st: &Stat) -> bool {
    st.st_mode & 0o100 != 0
}

/// The directory itself: its name for messages, its descriptor and its archives.
struct Dir {
    /// As named on the command line.
    name: String,
    fd: OwnedFd,
    /// Keep fewer than this many archives.
    num: u64,
    fsync: bool,
    last_archive: Label,
}

pub struct LogDir {
    dir: Dir,
    _lock: OwnedFd,
    current: OwnedFd,
    /// Bytes in `current`.
    bytes: u64,
    /// Bytes of `current` whose writeback has been started.
    started: u64,
    size: u64,
    processor: Option<Processor>,
    buf: Vec<u8>,
}

impl LogDir {
    /// Create, lock and recover the directory (the reference's `restart`). `umask` is the
    /// umask multilog was started with, under which a new directory is made.
    pub fn open(spec: &DirSpec, umask: Mode, fsync: bool) -> Result<LogDir, Failure> {
        let name = String::from_utf8_lossy(&spec.path).into_owned();
        let invalid = sys::error(Errno::INVAL);
        let path = CString::new(spec.path.clone())
            .map_err(|_| fatal(format_args!("unable to create directory {name}"), &invalid))?;
        fs::umask(umask);
        let made = fs::mkdirat(CWD, &path, Mode::from_raw_mode(0o755));
        fs::umask(Mode::from_raw_mode(0o022));
        match made {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(fatal(
                    format_args!("unable to create directory {name}"),
                    &e.into(),
                ))
            }
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = fs::openat(CWD, &path, flags, Mode::empty())
            .map_err(|e| fatal(format_args!("unable to open directory {name}"), &e.into()))?;
        let lock = open_append(fd.as_fd(), LOCK)
            .and_then(|l| lock_exnb(&l).map(|()| l))
            .map_err(|e| fatal(format_args!("unable to lock directory {name}"), &e))?;
        let processor = match &spec.processor {
            None => None,
            Some(p) => {
                let shown = String::from_utf8_lossy(p).into_owned();
                let command = CString::new(p.clone())
                    .map_err(|_| fatal(format_args!("unable to run {shown}"), &invalid))?;
                Some(Processor { shown, command })
            }
        };
        let mut dir = Dir {
            name,
            fd,
            num: spec.num,
            fsync,
            last_archive: Label { secs: 0, nanos: 0 },
        };
        let (current, bytes) = dir.start_current()?;
        Ok(LogDir {
            dir,
            _lock: lock,
            current,
            bytes,
            started: bytes,
            size: spec.size,
            processor,
            buf: Vec::with_capacity(OUT_LIMIT),
        })
    }

    pub fn name(&self) -> &str {
        &self.dir.name
    }

    /// Bytes written to `current` so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes `current` may still take before a size rotation (None without a limit).
    pub fn room(&self) -> Option<u64> {
        (self.size > 0).then(|| self.size.saturating_sub(self.bytes))
    }

    /// True if `len` more bytes would not fit in the pending output.
    #[inline]
    pub fn is_full_for(&self, len: usize) -> bool {
        self.buf.len() + len > OUT_LIMIT
    }

    /// Queue bytes for `current`, writing when the buffer is full.
    #[inline]
    pub fn push(&mut self, bytes: &[u8], catcher: &Catcher) {
        if self.is_full_for(bytes.len()) {
            self.flush(catcher);
            if bytes.len() > OUT_LIMIT {
                self.write_out(bytes, catcher);
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Write everything queued (rotating as the size rules say).
    pub fn flush(&mut self, catcher: &Catcher) {
        if self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        self.write_out(&buf, catcher);
        self.buf = buf;
        self.buf.clear();
    }

    fn write_out(&mut self, mut data: &[u8], catcher: &Catcher) {
        while !data.is_empty() {
            let w = self.write_some(data, catcher);
            data = &data[w..];
        }
    }

    /// One write to `current` under the size rules; returns the bytes written.
    fn write_some(&mut self, buf: &[u8], catcher: &Catcher) -> usize {
        let limited = self.size > 0;
        if limited && self.bytes >= self.size {
            self.rotate(catcher);
        }
        let mut len = buf.len();
        if limited {
            len = len.min((self.size - self.bytes) as usize);
            // Near the limit, end the file at a line end if the data has one.
            if self.bytes + len as u64 >= self.size - LINE_END_WINDOW {
                if let Some(i) = crate::io::find_last(b'\n', &buf[..len]) {
                    len = i + 1;
                }
            }
        }
        let fd = self.current.as_fd();
        let w = loop {
            let e = match sys::io::write(fd, &buf[..len]) {
                Ok(w) if w > 0 => break w,
                Ok(_) => sys::error(Errno::IO),
                Err(e) => e,
            };
            pause(
                format_args!("unable to write to {}/current", self.dir.name),
                &e,
            );
        };
        self.bytes += w as u64;
        if self.dir.fsync && self.bytes - self.started >= WRITEBACK_STEP {
            fs::start_writeback(fd, self.started, self.bytes - self.started);
            self.started = self.bytes;
        }
        if limited && self.bytes >= self.size - LINE_END_WINDOW && buf[w - 1] == b'\n' {
            self.rotate(catcher);
        }
        w
    }

    /// `current` is big enough (or SIGALRM): archive it, through the processor if any.
    pub fn rotate(&mut self, catcher: &Catcher) {
        let d = self.dir.fd.as_fd();
        let name = self.dir.name.clone();
        if self.dir.fsync {
            let fd = self.current.as_fd();
            persist(
                || format!("unable to write {name}/current to disk"),
                || fsync(fd),
            );
        }
        persist(
            || format!("unable to rename current to previous in directory {name}"),
            || rename_at(d, CURRENT, PREVIOUS),
        );
        self.current = persist(
            || format!("unable to create {name}/current"),
            || open_append(d, CURRENT),
        );
        self.bytes = 0;
        let fd = self.current.as_fd();
        persist(
            || format!("unable to set mode of {name}/current"),
            || fchmod(fd, 0o644),
        );
        persist(
            || format!("unable to set mode of {name}/previous"),
            || {
                let mode = Mode::from_raw_mode(0o744);
                Ok(fs::chmodat(d, PREVIOUS, mode, AtFlags::empty())?)
            },
        );
        let Some(processor) = &self.processor else {
            self.dir.finish(PREVIOUS, b's');
            return;
        };
        processor.run(&self.dir, catcher);
        let processed = persist(
            || format!("unable to create {name}/processed"),
            || open_append(d, PROCESSED),
        );
        let newstate = persist(
            || format!("unable to create {name}/newstate"),
            || open_append(d, NEWSTATE),
        );
        if self.dir.fsync {
            persist(
                || format!("unable to write {name}/processed to disk"),
                || fsync(processed.as_fd()),
            );
            persist(
                || format!("unable to write {name}/newstate to disk"),
                || fsync(newstate.as_fd()),
            );
        }
        // The commit point: from here a restart keeps `processed` and `newstate`.
        persist(
            || format!("unable to set mode of {name}/processed"),
            || fchmod(processed.as_fd(), 0o744),
        );
        drop((processed, newstate));
        persist(
            || format!("unable to remove {name}/previous"),
            || ignore_noent(unlink_at(d, PREVIOUS)),
        );
        persist(
            || format!("unable to rename newstate to state in directory {name}"),
            || rename_at(d, NEWSTATE, STATE),
        );
        self.dir.finish(PROCESSED, b's');
    }

    /// End of input: write, sync and mark `current` clean (0744).
    pub fn close_clean(&mut self, catcher: &Catcher) {
        self.flush(catcher);
        let fd = self.current.as_fd();
        let name = &self.dir.name;
        if self.dir.fsync {
            persist(
                || format!("unable to write {name}/current to disk"),
                || fsync(fd),
            );
        }
        persist(
            || format!("unable to set mode of {name}/current"),
            || fchmod(fd, 0o744),
        );
    }
}

fn ignore_noent(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Ok(()),
        r => r,
    }
}

impl Dir {
    fn raw(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn sync(&self) {
        if self.fsync {
            // A directory that cannot be synced (some filesystems refuse) is not worth a pause.
            let _ = fsync(self.raw());
        }
    }

    /// Open `current` for appending: as it is after a clean stop, else after recovery.
    fn start_current(&mut self) -> Result<(OwnedFd, u64), Failure> {
        let name = self.name.clone();
        let st = stat_at(self.raw(), CURRENT)
            .map_err(|e| fatal(format_args!("unable to stat {name}/current"), &e))?;
        if let Some(st) = st.filter(is_clean) {
            let f = open_append(self.raw(), CURRENT)
                .map_err(|e| fatal(format_args!("unable to append to {name}/current"), &e))?;
            fchmod(f.as_fd(), 0o644)
                .map_err(|e| fatal(format_args!("unable to set mode of {name}/current"), &e))?;
            return Ok((f, st.st_size as u64));
        }
        self.recover()?;
        let f = open_append(self.raw(), CURRENT)
            .map_err(|e| fatal(format_args!("unable to write to {name}/current"), &e))?;
        fchmod(f.as_fd(), 0o644)
            .map_err(|e| fatal(format_args!("unable to set mode of {name}/current"), &e))?;
        self.sync();
        Ok((f, 0))
    }

    /// After a crash: finish the interrupted rotation and archive `current` as `.u`.
    fn recover(&mut self) -> Result<(), Failure> {
        let name = self.name.clone();
        let processed = stat_at(self.raw(), PROCESSED)
            .map_err(|e| fatal(format_args!("unable to stat {name}/processed"), &e))?;
        if processed.as_ref().is_some_and(is_clean) {
            // The processor had succeeded: its output and its newstate are the result.
            ignore_noent(rename_at(self.raw(), NEWSTATE, STATE)).map_err(|e| {
                fatal(
                    format_args!("unable to rename newstate to state in directory {name}"),
                    &e,
                )
            })?;
            let _ = unlink_at(self.raw(), PREVIOUS);
            self.finish(PROCESSED, b's');
        } else {
            // Unprocessed: keep the input, drop the partial output; `state` is still valid.
            let _ = unlink_at(self.raw(), PROCESSED);
            let _ = unlink_at(self.raw(), NEWSTATE);
            self.finish(PREVIOUS, b'u');
        }
        self.finish(CURRENT, b'u');
        let state = stat_at(self.raw(), STATE)
            .map_err(|e| fatal(format_args!("unable to write to {name}/state"), &e))?;
        if state.is_none() {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
            fs::openat(self.raw(), STATE, flags, Mode::from_raw_mode(0o644))
                .map_err(|e| fatal(format_args!("unable to write to {name}/state"), &e.into()))?;
        }
        Ok(())
    }

    /// Archive `file` as `@<now>.<code>` and prune old archives (the reference's `finish`).
    fn finish(&mut self, file: &CStr, code: u8) {
        let shown = file.to_string_lossy();
        let st = loop {
            match stat_at(self.raw(), file) {
                Ok(Some(st)) => break st,
                Ok(None) => return,
                Err(e) => pause(format_args!("unable to stat {}/{shown}", self.name), &e),
            }
        };
        // A second link means the archive was made before a crash: only the unlink is left.
        if st.st_nlink == 1 {
            loop {
                let archive = self.archive_name(code);
                match fs::linkat(self.raw(), file, self.raw(), &archive, AtFlags::empty()) {
                    Ok(()) => break,
                    Err(Errno::EXIST) => continue,
                    Err(e) => pause(
                        format_args!(
                            "unable to link to {}/{}",
                            self.name,
                            archive.to_string_lossy()
                        ),
                        &e.into(),
                    ),
                }
            }
        }
        persist(
            || format!("unable to remove {}/{shown}", self.name),
            || ignore_noent(unlink_at(self.raw(), file)),
        );
        self.prune();
        self.sync();
    }

    /// `@` + label + `.` + code, with labels strictly increasing in this directory.
    fn archive_name(&mut self, code: u8) -> CString {
        let mut label = Label::now();
        if label <= self.last_archive {
            label = self.last_archive;
            label.nanos += 1;
            if label.nanos >= 1_000_000_000 {
                label.nanos = 0;
                label.secs += 1;
            }
        }
        self.last_archive = label;
        let mut name = label_text(label).to_vec();
        name.push(b'.');
        name.push(code);
        CString::new(name).expect("no NUL in an archive name")
    }

    /// Remove the oldest archives while there are `num` or more (so `n10` keeps 9).
    fn prune(&self) {
        let d = self.raw();
        let mut names = loop {
            let mut names: Vec<CString> = Vec::new();
            let listed = sys::dir::entries(d, |n, _| {
                let b = n.to_bytes();
                if b.first() == Some(&b'@') && b.len() >= STAMP_LEN {
                    names.push(n.to_owned());
                }
                Ok(())
            });
            match listed {
                Ok(()) => break names,
                Err(e) => pause(format_args!("unable to read {}", self.name), &e),
            }
        };
        let mut count = names.len() as u64;
        if count < self.num {
            return;
        }
        names.sort_by(|a, b| a.to_bytes()[..STAMP_LEN].cmp(&b.to_bytes()[..STAMP_LEN]));
        for n in names {
            if count < self.num {
                break;
            }
            match ignore_noent(unlink_at(d, &n)) {
                Ok(()) => count -= 1,
                // Skipped, not retried: an entry that cannot go must not stop the log.
                Err(e) => PROG.warn(format_args!(
                    "unable to remove {}/{}: {}",
                    self.name,
                    n.to_string_lossy(),
                    errstr(&e)
                )),
            }
        }
    }
}

impl Processor {
    /// Run `sh -c processor` over `previous` until it exits 0, pausing after each failure.
    fn run(&self, dir: &Dir, catcher: &Catcher) {
        let argv: [*const std::ffi::c_char; 4] = [
            c"sh".as_ptr(),
            c"-c".as_ptr(),
            self.command.as_ptr(),
            std::ptr::null(),
        ];
        loop {
            // SAFETY: multilog is single-threaded; the child only sets up descriptors and execs.
            let pid = match unsafe { process::fork() } {
                Ok(Some(pid)) => pid,
                Ok(None) => {
                    catcher.reset_in_child();
                    let e = start_processor(dir.raw(), &argv);
                    indicore::diag::emit(format_args!(
                        "multilog: fatal: unable to run {}: {}\n",
                        self.shown,
                        errstr(&e)
                    ));
                    process::exit_now(111);
                }
                Err(e) => {
                    pause(
                        format_args!("unable to fork for processor in {}", dir.name),
                        &e,
                    );
                    continue;
                }
            };
            let waited = process::wait(Some(pid), process::WaitOptions::empty())
                .and_then(|r| r.ok_or_else(|| sys::error(Errno::CHILD)));
            let status = match waited {
                Ok((_, status)) => status,
                Err(e) => {
                    pause(
                        format_args!("wait failed for processor in {}", dir.name),
                        &e,
                    );
                    continue;
                }
            };
            if status.exit_status() == Some(0) {
                return;
            }
            let how = if status.terminating_signal().is_some() {
                "crashed"
            } else {
                "failed"
            };
            PROG.warn(format_args!("processor {how} in {}, pausing", dir.name));
            deep_sleep(PAUSE);
        }
    }
}

/// In the forked child: cwd = the log directory, fds 0, 1, 4, 5 = previous, processed,
/// state, newstate; then exec `/bin/sh -c processor`. Returns the error if anything fails.
/// System calls only, on names and descriptors prepared before the fork.
fn start_processor(dir: BorrowedFd<'_>, argv: &[*const std::ffi::c_char; 4]) -> io::Error {
    if let Err(e) = process::fchdir(dir) {
        return e.into();
    }
    let write = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC;
    let files: [(&CStr, OFlags, i32); 4] = [
        (PREVIOUS, OFlags::RDONLY, 0),
        (PROCESSED, write, 1),
        (STATE, OFlags::RDONLY, 4),
        (NEWSTATE, write, 5),
    ];
    for (name, flags, to) in files {
        // Not close-on-exec: the descriptor stays where it lands if that is `to`.
        let fd = match fs::openat(CWD, name, flags, Mode::from_raw_mode(0o644)) {
            Ok(fd) => fd,
            Err(e) => return e.into(),
        };
        if fd.as_raw_fd() == to {
            let _ = fd.into_raw_fd();
        } else if let Err(e) = sys::io::dup2(&fd, to) {
            return e;
        }
    }
    process::execve_inherit(c"/bin/sh", argv)
}
