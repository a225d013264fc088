//! `multipipe [dir]`: one supervise per subdirectory, each fed a copy of standard input.
//!
//! Subdirectories (not `supervise`, not starting with `.`) are looked for at start and
//! every five seconds: a new one gets a supervise reading from a pipe, one that went away
//! has its pipe closed (its supervise is left alone, its directory is gone). Input is
//! held in one 8 KB buffer until every consumer has taken it, so the slowest consumer
//! sets the pace and no consumer misses a byte written after it started. At end of input,
//! or on SIGINT, SIGQUIT or SIGTERM, what is buffered is delivered and every supervise is
//! stopped with `svc -dx`.

use crate::pipeline::{self, End, Pipeline, Started};
use indicore::sys::poll::{self, PollFd, PollFlags};
use indicore::sys::process::{self, Pid, WaitOptions};
use indicore::sys::{errno, signal, Errno};
use indicore::{Failure, Prog};
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

pub const PROG: Prog = Prog("multipipe");
const PIPE: Pipeline = Pipeline("multipipe");

/// The reference's buffer: 8192 bytes, of which one is never used.
const CAPACITY: usize = 8191;
const SCAN_EVERY: Duration = Duration::from_secs(5);

/// One consumer: a subdirectory and the supervise reading our pipe.
struct Reader {
    inode: u64,
    name: OsString,
    pid: Option<Pid>,
    fd: OwnedFd,
    /// Offset in the input stream of the next byte it gets.
    pos: u64,
    marked: bool,
    /// Its pipe has no reader any more: it is skipped until its supervise is reaped.
    broken: bool,
}

/// The input not yet taken by every consumer, and the consumers.
struct Fanout {
    buf: VecDeque<u8>,
    /// Offset in the input stream of `buf[0]`.
    base: u64,
    eof: bool,
    readers: Vec<Reader>,
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    if let Some(dir) = args.get(1) {
        if std::env::set_current_dir(dir).is_err() {
            PIPE.err(format_args!("Couldn't chdir to {}", dir.to_string_lossy()));
            return Ok(1);
        }
    }
    let Ok(signals) = pipeline::stop_signals() else {
        PIPE.err("Couldn't create self pipe");
        return Ok(1);
    };
    let mut f = Fanout {
        buf: VecDeque::with_capacity(CAPACITY),
        base: 0,
        eof: false,
        readers: Vec::new(),
    };
    f.scan();
    f.pump(signals);
    for r in &f.readers {
        if let Some(pid) = r.pid {
            PIPE.stop(&r.name, pid);
        }
    }
    Ok(0)
}

impl Fanout {
    fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Move data until the input is over and every consumer has it.
    fn pump(&mut self, signals: BorrowedFd<'_>) {
        let stdin = std::io::stdin();
        let mut next_scan = Instant::now() + SCAN_EVERY;
        loop {
            if self.eof && self.buf.is_empty() {
                return;
            }
            let end = self.end();
            let want_input = !self.eof && self.buf.len() < CAPACITY;
            let mut fds = vec![poll::watch(signals, PollFlags::IN)];
            if want_input {
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
            let writers: Vec<usize> = (0..self.readers.len())
                .filter(|&i| !self.readers[i].broken && self.readers[i].pos != end)
                .collect();
            for &i in &writers {
                fds.push(PollFd::new(&self.readers[i].fd, PollFlags::OUT));
            }
            let left = next_scan.saturating_duration_since(Instant::now());
            let timeout = Duration::from_millis(left.as_millis().min(60_000) as u64 + 1);
            let ready = match poll::poll_for(&mut fds, Some(timeout)) {
                // Interrupted before the scan is due: poll again.
                Ok(0) if Instant::now() < next_scan => continue,
                Ok(n) => n,
                Err(_) => continue,
            };
            let revents: Vec<bool> = fds.iter().map(|p| !p.revents().is_empty()).collect();
            drop(fds);
            // A signal or the scan timer is handled alone, as the reference does.
            if revents[0] {
                signal::drain();
                self.eof = true;
                continue;
            }
            if ready == 0 || Instant::now() >= next_scan {
                self.scan();
                next_scan = Instant::now() + SCAN_EVERY;
                continue;
            }
            let mut k = 1;
            if want_input {
                if revents[k] {
                    self.read_input();
                }
                k += 1;
            }
            for (n, &i) in writers.iter().enumerate() {
                if revents[k + n] {
                    self.write_to(i);
                }
            }
            self.trim();
        }
    }

    fn read_input(&mut self) {
        let mut chunk = [0u8; CAPACITY];
        let room = CAPACITY - self.buf.len();
        match indicore::sys::io::read(std::io::stdin(), &mut chunk[..room]) {
            Ok(0) | Err(_) => self.eof = true,
            Ok(n) => self.buf.extend(&chunk[..n]),
        }
    }

    fn write_to(&mut self, i: usize) {
        let start = (self.readers[i].pos - self.base) as usize;
        let (a, b) = self.buf.as_slices();
        let pending = if start < a.len() {
            &a[start..]
        } else {
            &b[start - a.len()..]
        };
        match indicore::sys::io::write(&self.readers[i].fd, pending) {
            Ok(n) => self.readers[i].pos += n as u64,
            Err(e) if errno(&e) == Some(Errno::AGAIN) => {}
            Err(_) => self.readers[i].broken = true,
        }
    }

    /// Drop what every consumer has taken.
    fn trim(&mut self) {
        let end = self.end();
        let low = self
            .readers
            .iter()
            .filter(|r| !r.broken)
            .map(|r| r.pos)
            .min()
            .unwrap_or(end);
        self.buf.drain(..(low - self.base) as usize);
        self.base = low;
    }

    /// Start a consumer for every new subdirectory, forget those that went away.
    fn scan(&mut self) {
        let entries = match std::fs::read_dir(".") {
            Ok(d) => d,
            Err(_) => {
                PIPE.err("Unable to read directory");
                return;
            }
        };
        for r in &mut self.readers {
            r.marked = false;
        }
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.as_bytes().first() == Some(&b'.') || name == "supervise" {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&name) else {
                continue;
            };
            if !meta.is_dir() {
                continue;
            }
            if let Some(r) = self.readers.iter_mut().find(|r| r.inode == meta.ino()) {
                r.marked = true;
                continue;
            }
            self.add(&name, meta.ino());
        }
        self.reap();
        self.readers.retain(|r| r.marked);
        self.trim();
    }

    /// A consumer for `name`, starting at the next byte of input.
    fn add(&mut self, name: &OsStr, inode: u64) {
        let Ok((r, w)) = indicore::sys::io::pipe() else {
            PIPE.err(format_args!(
                "Could not create pipe to reader {}",
                name.to_string_lossy()
            ));
            std::process::exit(111);
        };
        let _ = indicore::sys::io::set_nonblocking(&w, true);
        let pid = match PIPE.start(name, End::Pipe(r), End::Inherit) {
            Started::Running(pid) => Some(pid),
            // the next scan tries again, as the reference's reaped child would
            Started::NoExec => return,
            Started::NoFork => None,
        };
        let pos = self.end();
        self.readers.insert(
            0,
            Reader {
                inode,
                name: name.to_owned(),
                pid,
                fd: w,
                pos,
                marked: true,
                broken: false,
            },
        );
    }

    /// Collect exited supervisors: their consumers are forgotten, and started again by
    /// the next scan while their directory exists.
    fn reap(&mut self) {
        loop {
            match process::wait(None, WaitOptions::NOHANG) {
                Ok(None) | Err(_) => return,
                Ok(Some((pid, _))) => match self.readers.iter().position(|r| r.pid == Some(pid)) {
                    Some(i) => {
                        self.readers.remove(i);
                    }
                    None => PIPE.err("Caught exit of unknown process"),
                },
            }
        }
    }
}
