//! svscan's own diagnostics: `svscan: info: ` (only when verbose, except the shutdown
//! notices), `svscan: warning: ` (unless silent) and `svscan: fatal: `, one write(2) per line.
//!
//! With SCANLOG, fds 1 and 2 are the `.svscan/log` pipe, shared with every child. svscan
//! then writes its own lines through a second, non-blocking open of that pipe, so that a
//! log service that stopped reading can never freeze svscan (its children keep blocking
//! writes, so they lose nothing).

use std::fmt::Display;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

pub struct Log {
    pub verbose: bool,
    pub silent: bool,
    /// Where svscan's own lines go when not fd 2.
    own: Option<OwnedFd>,
}

impl Log {
    pub fn new(verbose: bool, silent: bool) -> Log {
        Log {
            verbose,
            silent,
            own: None,
        }
    }

    /// Write svscan's lines to `fd` from now on (`None`: back to fd 2).
    pub fn redirect(&mut self, fd: Option<OwnedFd>) {
        self.own = fd;
    }

    fn fd(&self) -> RawFd {
        self.own.as_ref().map_or(2, |f| f.as_raw_fd())
    }

    fn line(&self, kind: &str, msg: impl Display) {
        let text = format!("svscan: {kind}: {msg}\n");
        let mut rest = text.as_bytes();
        while !rest.is_empty() {
            match indicore::sys::io::write(indicore::sys::io::inherited(self.fd()), rest) {
                Ok(n) if n > 0 => rest = &rest[n..],
                // EAGAIN on a full log pipe, or a closed descriptor: the line is dropped.
                _ => return,
            }
        }
    }

    /// An info line, printed only in verbose mode.
    pub fn info(&self, msg: impl Display) {
        if self.verbose {
            self.line("info", msg);
        }
    }

    /// An info line printed whatever the verbosity (the shutdown notices).
    pub fn notice(&self, msg: impl Display) {
        self.line("info", msg);
    }

    pub fn warn(&self, msg: impl Display) {
        if !self.silent {
            self.line("warning", msg);
        }
    }

    pub fn fatal(&self, code: i32, msg: impl Display) -> ! {
        self.line("fatal", msg);
        std::process::exit(code)
    }
}
