//! `qfilelog file`: append stdin to `file` (mode 0666 minus umask).
//!
//! HUP: sync, close and reopen the file (after an outside rotation). INT or TERM: sync,
//! close, exit 0. End of input: the same, exit 0 (the reference spun for ever there). A
//! failed open or write: a warning and a 60-second pause, then a retry.

use crate::io::READ_SIZE;
use crate::signals::{Catcher, Signal};
use indicore::sys::fs::{self, Mode, OFlags, CWD};
use indicore::sys::io::inherited;
use indicore::sys::{self, Errno};
use indicore::{Failure, Prog};
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

pub const PROG: Prog = Prog("qfilelog");

const PAUSE: Duration = Duration::from_secs(60);

/// The C library's wording, which the reference prints.
fn strerror(e: &io::Error) -> String {
    sys::strerror(e.raw_os_error().unwrap_or(Errno::IO.raw_os_error()))
}

fn warn_sys(what: &str, e: &io::Error) {
    indicore::diag::emit(format_args!("qfilelog: warning: {what}: {}\n", strerror(e)));
}

/// What a pause or a wait was ended by.
enum Event {
    Reopen,
    Stop,
}

struct Log {
    path: CString,
    file: Option<OwnedFd>,
    catcher: Catcher,
}

impl Log {
    /// Signals that arrived: HUP reopens at once; INT or TERM ask to stop.
    fn event(&mut self) -> Option<Event> {
        if Signal::Term.take() | Signal::Interrupt.take() {
            return Some(Event::Stop);
        }
        Signal::Hangup.take().then_some(Event::Reopen)
    }

    /// Sleep up to the pause; a signal ends it early.
    fn pause(&mut self) -> Option<Event> {
        let _ = self.catcher.wait_input(None, Some(PAUSE));
        self.event()
    }

    fn open(&mut self) -> Result<(), Event> {
        loop {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::CLOEXEC;
            match fs::openat(CWD, &self.path, flags, Mode::from_raw_mode(0o666)) {
                Ok(f) => {
                    self.file = Some(f);
                    return Ok(());
                }
                Err(e) => {
                    warn_sys("Error opening the output file, pausing", &e.into());
                    if let Some(Event::Stop) = self.pause() {
                        return Err(Event::Stop);
                    }
                }
            }
        }
    }

    fn close(&mut self) {
        if let Some(f) = self.file.take() {
            while let Err(e) = fs::fsync(&f) {
                // Files that cannot be synced (pipes, terminals) are not worth waiting for.
                if e == Errno::INVAL {
                    break;
                }
                warn_sys("Error syncing the file, pausing", &e.into());
                if let Some(Event::Stop) = self.pause() {
                    break;
                }
            }
        }
    }

    fn reopen(&mut self) -> Result<(), Event> {
        self.close();
        self.open()
    }

    /// Write all of `data`, pausing after failures. Err(Stop) if told to stop meanwhile.
    fn write(&mut self, mut data: &[u8]) -> Result<(), Event> {
        while !data.is_empty() {
            let fd = match &self.file {
                Some(f) => f,
                None => {
                    self.open()?;
                    continue;
                }
            };
            match sys::io::write(fd, data) {
                Ok(n) if n > 0 => data = &data[n..],
                r => {
                    let e = r.err().unwrap_or_else(|| sys::error(Errno::IO));
                    warn_sys("Can't write, pausing", &e);
                    match self.pause() {
                        Some(Event::Stop) => {
                            PROG.warn(format_args!("{} bytes not written", data.len()));
                            return Err(Event::Stop);
                        }
                        Some(Event::Reopen) => self.reopen()?,
                        None => {}
                    }
                }
            }
        }
        Ok(())
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(path) = args.get(1) else {
        indicore::diag::emit(format_args!(
            "qfilelog: fatal error: usage: filelog filename\n"
        ));
        return Err(Failure::Silent(1));
    };
    let path = CString::new(path.as_bytes()).map_err(|_| Failure::Silent(1))?;
    let catcher = Catcher::install(&[Signal::Term, Signal::Hangup, Signal::Interrupt]);
    let mut log = Log {
        path,
        file: None,
        catcher,
    };
    let mut buf = vec![0u8; READ_SIZE];
    if log.open().is_ok() {
        loop {
            match log.event() {
                Some(Event::Stop) => break,
                Some(Event::Reopen) if log.reopen().is_err() => break,
                _ => {}
            }
            match log.catcher.wait_input(Some(0), None) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => break,
            }
            // A signal sent before the data came is taken first, as the reference's handler
            // takes it: a HUP then a line puts the line into the reopened file.
            let _ = log.catcher.wait_input(None, Some(Duration::ZERO));
            match log.event() {
                Some(Event::Stop) => break,
                Some(Event::Reopen) if log.reopen().is_err() => break,
                _ => {}
            }
            let n = match sys::io::read(inherited(0), &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if sys::errno(&e) == Some(Errno::AGAIN) => continue,
                Err(e) => {
                    warn_sys("Error reading input", &e);
                    break;
                }
            };
            if log.write(&buf[..n]).is_err() {
                break;
            }
        }
    }
    log.close();
    Ok(0)
}
