//! What spipe and multipipe share: starting `supervise DIR` with a given standard input
//! and output, stopping it with `svc -dx DIR` and waiting for it, and their
//! `PROG: Error: ...` diagnostics. Both programs find supervise and svc in PATH, as an
//! administrator's run script would.

use indicore::sys::process::{self, Pid, WaitOptions, WaitStatus};
use indicore::sys::signal::{self, Signal};
use indicore::sys::{errno, Errno};
use std::ffi::OsStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::process::{Command, Stdio};

/// A pipeline program: its name prefixes every diagnostic.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline(pub &'static str);

/// Where a supervised stage reads or writes: one of our own descriptors or a pipe end.
pub enum End {
    Inherit,
    Pipe(OwnedFd),
}

impl From<End> for Stdio {
    fn from(end: End) -> Stdio {
        match end {
            End::Inherit => Stdio::inherit(),
            End::Pipe(fd) => Stdio::from(fd),
        }
    }
}

/// How a start went.
pub enum Started {
    Running(Pid),
    /// supervise could not be executed (the message is printed); nothing runs.
    NoExec,
    /// The process could not be created (the message is printed).
    NoFork,
}

impl Pipeline {
    /// `PROG: Error: msg`.
    pub fn err(&self, msg: impl std::fmt::Display) {
        indicore::diag::emit(format_args!("{}: Error: {msg}\n", self.0));
    }

    /// Start `supervise dir` reading `input` and writing `output`.
    pub fn start(&self, dir: &OsStr, input: End, output: End) -> Started {
        let path = std::env::var_os("PATH");
        if indicore::exec::which(OsStr::new("supervise"), path.as_deref()).is_err() {
            self.err("Could not exec supervise");
            return Started::NoExec;
        }
        match Command::new("supervise")
            .arg(dir)
            .stdin(input)
            .stdout(output)
            .spawn()
        {
            Ok(child) => process::pid(child.id() as i32).map_or(Started::NoFork, Started::Running),
            Err(e) if e.raw_os_error().is_some() && errno(&e) != Some(Errno::AGAIN) => {
                self.err("Could not exec supervise");
                Started::NoExec
            }
            Err(_) => {
                self.err("fork() failed while trying to run supervise");
                Started::NoFork
            }
        }
    }

    /// `svc -dx dir`, then wait for the supervise `pid` to exit. False (with a message)
    /// when either step fails.
    pub fn stop(&self, dir: &OsStr, pid: Pid) -> bool {
        let status = match Command::new("svc").arg("-dx").arg(dir).status() {
            Ok(s) => s,
            Err(e) if errno(&e) == Some(Errno::AGAIN) => {
                self.err("fork failed while trying to run svc");
                return false;
            }
            Err(_) => {
                self.err("exec of svc failed");
                return false;
            }
        };
        match status.code() {
            None => {
                self.err("svc crashed");
                return false;
            }
            Some(0) => {}
            Some(_) => {
                self.err("svc failed");
                return false;
            }
        }
        match wait_for(pid) {
            Err(_) => {
                self.err("Could not wait for supervise to exit");
                false
            }
            Ok(st) if st.exit_status() == Some(0) => true,
            Ok(st) if st.exited() => {
                self.err("supervise failed");
                false
            }
            Ok(_) => {
                self.err("supervise crashed");
                false
            }
        }
    }
}

/// waitpid until `pid` has exited or died, retrying after interruptions.
fn wait_for(pid: Pid) -> std::io::Result<WaitStatus> {
    match process::wait(Some(pid), WaitOptions::empty())? {
        Some((_, st)) => Ok(st),
        None => Err(Errno::CHILD.into()),
    }
}

/// A descriptor (the self-pipe) that becomes readable when SIGINT, SIGQUIT or SIGTERM
/// arrives. SIGPIPE is caught too (and does nothing), so a write to a stage that went away
/// fails with EPIPE instead of killing the pipeline; the stages start with default actions.
pub fn stop_signals() -> std::io::Result<BorrowedFd<'static>> {
    signal::catch(&[Signal::INT, Signal::QUIT, Signal::TERM])?;
    signal::catch_quietly(&[Signal::PIPE])?;
    signal::fd().ok_or_else(|| Errno::BADF.into())
}

/// Block until `fd` (from [`stop_signals`]) is readable.
pub fn wait_readable(fd: BorrowedFd<'_>) {
    while let Ok(false) = indicore::sys::poll::readable(fd, None) {}
}
