//! `svc [-udropchaitkqU12GxwWR] [-T timeout] dir...`: send control bytes to supervise,
//! optionally waiting for the services to come up, go down or be ready
//! (docs/daemontools.md#svc). Each directory is visited as the reference does it: the process
//! changes into it, and into its `/run/svscan` mirror when it has no `supervise/control`.
//!
//! `-R` is an extension (README "svc, svstat, svok, svps"): wait until the status file says
//! up and `supervise/info` says ready (or does not track readiness: up is ready then).

use crate::runfs::{self, NoMirror, Origin};
use indicore::getopt::{Getopt, Opt};
use indicore::{errstr, Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

pub const PROG: Prog = Prog("svc");

/// The usage text printed for a bad option.
pub const USAGE: &str =
    "svc options: u up, d down, r restart, o once, x exit, p pause, c continue h hup\n\
     \x20            a alarm, i interrupt, t term, k kill, q quit, U|1 SIGUSR1, 2 SIGUSR2\n\
     \x20            G process group, w wait for up, W wait for down, T timeout";

/// Exit codes: the first failure wins.
const CONTROL_FAILED: i32 = 1;
const NOT_RUNNING: i32 = 2;
const TIMED_OUT: i32 = 3;

/// The longest command string svc sends.
const MAX_COMMANDS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitFor {
    Up,
    Down,
    Ready,
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let mut commands: Vec<u8> = Vec::new();
    let mut wait = None;
    let mut timeout = 0u64;
    let mut opts = Getopt::new(args, "udropchaitkqU12GxwWRT:");
    for opt in opts.by_ref() {
        let c = match opt {
            Opt::Flag(c, arg) => {
                match c {
                    b'w' => wait = Some(WaitFor::Up),
                    b'W' => wait = Some(WaitFor::Down),
                    b'R' => wait = Some(WaitFor::Ready),
                    b'T' => timeout = scan_int(&arg.unwrap_or_default().to_string_lossy()),
                    _ => {}
                }
                c
            }
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        };
        // Every option letter but w, W and R is sent, T included (supervise ignores it).
        if !matches!(c, b'w' | b'W' | b'R')
            && !commands.contains(&c)
            && commands.len() < MAX_COMMANDS
        {
            commands.push(c);
        }
    }
    let dirs = opts.rest();
    let _ = indicore::sys::signal::ignore(indicore::sys::signal::Signal::PIPE);
    let origin =
        Origin::open().map_err(|e| Failure::temp_sys("unable to open current directory: ", &e))?;

    let mut code = 0;
    if !commands.is_empty() {
        pass(dirs, &origin, Some(&commands), wait, timeout, &mut code)?;
    }
    if let Some(w) = wait {
        if !commands.is_empty() && commands.iter().any(|c| matches!(c, b'u' | b'd' | b'r')) {
            std::thread::sleep(Duration::from_secs(1));
        }
        pass(dirs, &origin, None, Some(w), timeout, &mut code)?;
    }
    Ok(code)
}

/// One round over the directories: send `commands`, or else wait.
fn pass(
    dirs: &[OsString],
    origin: &Origin,
    commands: Option<&[u8]>,
    wait: Option<WaitFor>,
    timeout: u64,
    code: &mut i32,
) -> Result<(), Failure> {
    let mut fail = |c: i32| {
        if *code == 0 {
            *code = c;
        }
    };
    for dir in dirs {
        let done = visit(dir, commands, wait, timeout, &mut fail);
        // The reference stays in a directory whose supervise is not running, so that the
        // next relative name is looked up inside it; here every directory starts afresh.
        origin
            .back()
            .map_err(|e| Failure::temp_sys("unable to revert to original directory: ", &e))?;
        done?;
    }
    Ok(())
}

fn visit(
    dir: &OsStr,
    commands: Option<&[u8]>,
    wait: Option<WaitFor>,
    timeout: u64,
    fail: &mut impl FnMut(i32),
) -> Result<(), Failure> {
    let name = dir.to_string_lossy();
    let not_running = || PROG.warn(format!("unable to control {name}: supervise not running: "));
    if let Err(e) = std::env::set_current_dir(dir) {
        PROG.warn(format!(
            "unable to chdir to directory {name}: {}",
            errstr(&e)
        ));
        return Ok(());
    }
    let control = Path::new("supervise/control");
    let mut fd = match indicore::fd::open_write(control) {
        Ok(f) => Some(f),
        Err(e) if indicore::sys::errno(&e) == Some(indicore::sys::Errno::NXIO) => {
            not_running();
            fail(NOT_RUNNING);
            return Ok(());
        }
        Err(e) if indicore::sys::errno(&e) != Some(indicore::sys::Errno::NOENT) => {
            PROG.warn(format!(
                "unable to open {name}/supervise/control: {}",
                errstr(&e)
            ));
            fail(CONTROL_FAILED);
            return Ok(());
        }
        Err(_) => None,
    };
    if fd.is_none() {
        match runfs::enter_mirror(dir) {
            Ok(()) => {}
            Err(NoMirror::NoRunFs) => {
                not_running();
                fail(NOT_RUNNING);
                return Ok(());
            }
            Err(NoMirror::Cwd(e)) => {
                return Err(Failure::temp_sys(
                    "unable to get current working directory: ",
                    &e,
                ))
            }
            Err(NoMirror::NoState(e)) => {
                PROG.warn(format!(
                    "No run state information for {name}: {}",
                    errstr(&e)
                ));
                return Ok(());
            }
            Err(NoMirror::TooLong) => {
                PROG.warn(format!("{name}: name too long"));
                return Ok(());
            }
        }
    }
    if let Some(commands) = commands {
        let f = match fd.take() {
            Some(f) => f,
            None => match indicore::fd::open_write(control) {
                Ok(f) => f,
                Err(e)
                    if matches!(
                        indicore::sys::errno(&e),
                        Some(indicore::sys::Errno::NXIO | indicore::sys::Errno::NOENT)
                    ) =>
                {
                    not_running();
                    fail(NOT_RUNNING);
                    return Ok(());
                }
                Err(e) => {
                    fail(CONTROL_FAILED);
                    PROG.warn(format!("unable to control {name}: {}", errstr(&e)));
                    return Ok(());
                }
            },
        };
        send(f, commands, &name);
    } else if let Some(w) = wait {
        if let Some(c) = wait_for(&name, w, timeout) {
            fail(c);
        }
    }
    Ok(())
}

/// Write the whole command string (the FIFO was opened non-blocking only to detect a
/// missing reader).
fn send(mut control: File, commands: &[u8], name: &str) {
    let _ = indicore::fd::set_blocking(&control);
    if let Err(e) = control.write_all(commands) {
        PROG.warn(format!("error writing commands to {name}: {}", errstr(&e)));
    }
}

/// Wait until the working directory's `supervise/up` (or `dn`) FIFO has a reader, i.e.
/// supervise has started the service (or processed a down request); the exit code to
/// record, if any.
fn wait_for(name: &str, w: WaitFor, timeout: u64) -> Option<i32> {
    let (word, fifo) = match w {
        WaitFor::Up => ("up", "supervise/up"),
        WaitFor::Down => ("down", "supervise/dn"),
        WaitFor::Ready => ("ready", ""),
    };
    indicore::diag::emit(format_args!("waiting for {name} to be {word} ... "));
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout));
    if w == WaitFor::Ready {
        return wait_ready(name, deadline);
    }
    loop {
        match indicore::fd::open_write(Path::new(fifo)) {
            Ok(_) => {
                indicore::diag::emit(format_args!("ok\n"));
                return None;
            }
            // No reader yet: the service is not there yet.
            Err(e) if indicore::sys::errno(&e) == Some(indicore::sys::Errno::NXIO) => {}
            Err(e) if indicore::sys::errno(&e) == Some(indicore::sys::Errno::NOENT) => {
                PROG.warn(format!("unable to wait for {name}: {}", errstr(&e)));
                std::thread::sleep(Duration::from_secs(1));
                return None;
            }
            Err(e) => {
                indicore::diag::emit(format_args!("failed\n"));
                PROG.warn(format!("unable to wait for {name}: {}", errstr(&e)));
                return None;
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            indicore::diag::emit(format_args!("timed out\n"));
            return Some(TIMED_OUT);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `-R`: poll the working directory's status and info files until the service is up and
/// ready; the exit code to record, if any.
fn wait_ready(name: &str, deadline: Option<Instant>) -> Option<i32> {
    loop {
        match crate::svstat::status_and_info(name, CONTROL_FAILED) {
            Ok((s, info)) => {
                // No info (a supervise that does not write it): up is ready.
                let ready = !matches!(info, Some(i) if i.ready == Some(false));
                if s.up && s.wait == 0 && s.pid != 0 && ready {
                    indicore::diag::emit(format_args!("ok\n"));
                    return None;
                }
            }
            Err((msg, _)) => {
                indicore::diag::emit(format_args!("failed\n"));
                PROG.warn(format!("unable to wait for {name}: {msg}"));
                return Some(CONTROL_FAILED);
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            indicore::diag::emit(format_args!("timed out\n"));
            return Some(TIMED_OUT);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// djb's scan_int: leading digits (after an optional sign); anything else is 0.
fn scan_int(s: &str) -> u64 {
    let digits: String = s
        .trim_start_matches('+')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan() {
        assert_eq!(scan_int("2"), 2);
        assert_eq!(scan_int("5x"), 5);
        assert_eq!(scan_int("x"), 0);
    }
}
