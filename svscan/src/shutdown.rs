//! SIGTERM (and, as pid 1, SIGRTMIN+3): take the tree down and exit 0 (docs/daemontools.md#shutdown).
//!
//! Which way depends on `.svscan/shutdown`, TERMINATE_SESSION, WAIT_INITCMD and whether
//! svscan is pid 1:
//!
//! * pid 1 (with or without the script), or the script with TERMINATE_SESSION and
//!   WAIT_INITCMD: the timed shutdown. Reap everything; TERM every main supervise at once;
//!   after w1 seconds close the log pipes' write ends and TERM each log supervise as soon
//!   as its pipe is drained; give up after w2 seconds. It ends early when no child is left
//!   but svscan's own logger. No SIGKILL is ever sent.
//! * TERMINATE_SESSION otherwise: TERM the mains, then (500 µs later) the logs, no waiting.
//! * the script alone: wait for it.
//!
//! Then `exiting...`, a second's pause for the logs, and `.svscan/log` is stopped last so
//! that it records all of the above.
//!
//! As pid 1 the exit status tells the container engine how it went: 0 when every process
//! was gone before svscan exited, [`INCOMPLETE`] when some were still running at the
//! deadline (the kernel kills them when pid 1 exits). svscan's own logger is given at most
//! [`OWN_LOG_WAIT`] then, so the whole shutdown takes at most w2 + 2 seconds.

use crate::scanner::Scanner;
use crate::spawn::executable;
use indicore::errstr;
use indicore::sys::process::{self, WaitOptions};
use indicore::sys::signal::Signal;
use std::ffi::OsStr;
use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// pid 1's exit status when processes were left at the end of the shutdown (the
/// convention of `timeout(1)` for "ran out of time").
pub const INCOMPLETE: i32 = 124;

/// How long pid 1 waits for its own logger after `exiting...`.
pub const OWN_LOG_WAIT: Duration = Duration::from_secs(1);

impl Scanner {
    pub fn shutdown(&mut self) -> ! {
        let _ = std::fs::remove_file(&self.pidfile);
        let me = self.pid;
        self.log
            .notice(format_args!("pid: {me}: shutdown in progress..."));
        let start = Instant::now();
        let script = OsStr::new(".svscan/shutdown");
        let script_pid = if executable(std::path::Path::new(script)) {
            match self.spawner.shell(&self.signals, script, true) {
                Ok(pid) => Some(pid),
                Err(e) => {
                    self.log.warn(format_args!(
                        "unable to fork for init command .svscan/shutdown: {}",
                        errstr(&e)
                    ));
                    None
                }
            }
        } else {
            None
        };
        let ts = self.settings.terminate_session;
        if me == 1 || (script_pid.is_some() && ts && self.settings.wait_initcmd) {
            self.timed_shutdown(start);
        } else if ts {
            self.term_mains();
            std::thread::sleep(Duration::from_micros(500));
            self.close_log_pipes();
            self.term_logs(false);
        } else if let Some(pid) = script_pid {
            wait_for(pid);
        }
        if let Some(pid) = self.own_log_pid() {
            self.log
                .info(format_args!("pid: {me}: terminating log pid {pid}"));
        }
        self.log.notice(format_args!("pid: {me}: exiting..."));
        std::thread::sleep(Duration::from_secs(1));
        let logger_gone = self.stop_own_log();
        if me == 1 {
            self.reap();
            if !(logger_gone && self.nothing_left()) {
                std::process::exit(INCOMPLETE)
            }
        }
        std::process::exit(0)
    }

    fn timed_shutdown(&mut self, start: Instant) {
        let (w1, w2) = self.settings.killwait;
        let me = self.pid;
        self.reap();
        self.log.info(format_args!(
            "pid: {me}: terminating svc sessions with TERM..."
        ));
        self.term_mains();
        let mut logs_closed = false;
        let mut said_waiting = false;
        loop {
            self.reap();
            let elapsed = start.elapsed();
            if !logs_closed && elapsed >= w1 {
                self.log.info(format_args!(
                    "pid: {me}: terminating log sessions with TERM..."
                ));
                self.close_log_pipes();
                logs_closed = true;
            }
            if logs_closed {
                self.term_logs(true);
            }
            if elapsed >= w2 {
                self.term_logs(false);
                return;
            }
            if self.nothing_left() {
                self.log
                    .notice(format_args!("pid: {me}: no processes left..."));
                return;
            }
            if !said_waiting {
                self.log.info(format_args!(
                    "pid: {me}: waiting for processes to shutdown..."
                ));
                said_waiting = true;
            }
            // Drained pipes are checked every 50 ms once the logs are closed.
            let next = if logs_closed { w2 } else { w1 };
            let wait = next.saturating_sub(elapsed).min(Duration::from_millis(50));
            self.signals.wait(wait.as_millis() as i32 + 1);
        }
    }

    /// SIGTERM to every live main supervise.
    fn term_mains(&self) {
        let pids: Vec<i32> = self
            .slots
            .iter()
            .filter_map(|s| s.main.and_then(|m| m.pid()))
            .collect();
        for pid in pids {
            self.log
                .info(format_args!("pid: {}: terminating svc pid {pid}", self.pid));
            self.term(pid);
        }
    }

    /// Close svscan's write end of every log pipe but its own logger's.
    fn close_log_pipes(&mut self) {
        for slot in self.slots.iter_mut().filter(|s| s.main.is_some()) {
            if let Some(pair) = &mut slot.log {
                pair.write = None;
            }
        }
    }

    /// SIGTERM to the log supervisors (not svscan's own); with `drained`, only to those
    /// whose pipe holds nothing more to read.
    fn term_logs(&mut self, drained: bool) {
        let me = self.pid;
        let mut pids = Vec::new();
        for slot in self.slots.iter_mut().filter(|s| s.main.is_some()) {
            let Some(pair) = &mut slot.log else { continue };
            let Some(pid) = pair.proc.pid() else { continue };
            if pair.termed || (drained && unread(&pair.read) > 0) {
                continue;
            }
            pair.termed = true;
            pids.push(pid);
        }
        for pid in pids {
            self.log
                .info(format_args!("pid: {me}: terminating log pid {pid}"));
            self.term(pid);
        }
    }

    fn term(&self, pid: i32) {
        let sent = process::pid(pid)
            .ok_or_else(|| io::Error::from(indicore::sys::Errno::SRCH))
            .and_then(|p| process::kill(p, Signal::TERM));
        if let Err(e) = sent {
            self.log.warn(format_args!(
                "pid {} kill -SIGTERM {pid}: {}",
                self.pid,
                errstr(&e)
            ));
        }
    }

    /// True when no child is left but svscan's own logger.
    fn nothing_left(&self) -> bool {
        let own_log = self.own_log_pid();
        let tracked = self.slots.iter().any(|s| {
            s.main.is_some_and(|m| m.pid().is_some())
                || s.log
                    .as_ref()
                    .is_some_and(|l| l.proc.pid().is_some() && l.proc.pid() != own_log)
        });
        if tracked {
            return false;
        }
        // Orphans (pid 1) and the shutdown script are children too.
        match children() {
            Some(kids) => kids.iter().all(|&k| Some(k) == own_log),
            None => false,
        }
    }

    fn own_log_pid(&self) -> Option<i32> {
        self.slots
            .iter()
            .find(|s| s.main.is_none())
            .and_then(|s| s.log.as_ref())
            .and_then(|l| l.proc.pid())
    }

    /// Stop `.svscan/log` last: fds 1 and 2 back to fd 0, its pipe closed, TERM, wait (as
    /// pid 1, at most [`OWN_LOG_WAIT`]). True when it is gone.
    fn stop_own_log(&mut self) -> bool {
        let me = self.pid;
        let Some(idx) = self.slots.iter().position(|s| s.main.is_none()) else {
            return true;
        };
        if self.slots[idx].pinned {
            let stdin = indicore::sys::io::inherited(0);
            let _ = indicore::sys::io::dup2(stdin, 1);
            let _ = indicore::sys::io::dup2(stdin, 2);
            self.log.redirect(None);
            if let Some(pair) = &mut self.slots[idx].log {
                pair.write = None;
            }
        }
        let Some(pid) = self.own_log_pid() else {
            return true;
        };
        self.term(pid);
        if me != 1 {
            wait_for(pid);
            return true;
        }
        let deadline = Instant::now() + OWN_LOG_WAIT;
        loop {
            let Some(p) = process::pid(pid) else {
                return true;
            };
            if !matches!(process::wait(Some(p), WaitOptions::NOHANG), Ok(None)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn wait_for(pid: i32) {
    if let Some(p) = process::pid(pid) {
        let _ = process::wait(Some(p), WaitOptions::empty());
    }
}

/// Bytes waiting in a pipe.
fn unread(fd: &impl AsFd) -> u64 {
    indicore::sys::io::unread(fd).unwrap_or(0)
}

/// The children of this (single-threaded) process, from /proc.
fn children() -> Option<Vec<i32>> {
    let text = std::fs::read_to_string("/proc/thread-self/children").ok()?;
    Some(
        text.split_ascii_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect(),
    )
}
