//! `svc [-udropchaitkqU12GxwW] [-T timeout] dir...`: send control bytes to supervise,
//! optionally waiting for the services to come up or go down (docs/daemontools.md#svc).

use crate::runfs;
use crate::svok::open_probe;
use indicore::getopt::{Getopt, Opt};
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

pub const PROG: Prog = Prog("svc");

/// The usage text printed for a bad option.
pub const USAGE: &str =
    "svc options: u up, d down, r restart, o once, x exit, p pause, c continue,\n\
     \x20            h hup, a alarm, i interrupt, t term, k kill, q quit, 1|U sigusr1, 2 sigusr2,\n\
     \x20            G send signal to process group, w wait up, W wait down, T timeout";

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
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let mut commands: Vec<u8> = Vec::new();
    let mut wait = None;
    let mut timeout = 0u64;
    let mut opts = Getopt::new(args, "udropchaitkqU12GxwWT:");
    for opt in opts.by_ref() {
        let c = match opt {
            Opt::Flag(c, arg) => {
                match c {
                    b'w' => wait = Some(WaitFor::Up),
                    b'W' => wait = Some(WaitFor::Down),
                    b'T' => timeout = scan_int(&arg.unwrap_or_default().to_string_lossy()),
                    _ => {}
                }
                c
            }
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        };
        if !matches!(c, b'w' | b'W') && !commands.contains(&c) && commands.len() < MAX_COMMANDS {
            commands.push(c);
        }
    }
    let dirs = opts.rest();
    if dirs.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    // SAFETY: ignoring SIGPIPE only changes this process's disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };

    let mut code = 0;
    let mut fail = |c: i32| {
        if code == 0 {
            code = c;
        }
    };
    if !commands.is_empty() {
        for dir in dirs {
            if let Err(c) = send(Path::new(dir), &commands) {
                fail(c);
            }
        }
    }
    if let Some(w) = wait {
        if commands.iter().any(|c| matches!(c, b'u' | b'd' | b'r')) {
            std::thread::sleep(Duration::from_secs(1));
        }
        for dir in dirs {
            if let Err(c) = wait_for(Path::new(dir), w, timeout) {
                fail(c);
            }
        }
    }
    Ok(code)
}

fn send(dir: &Path, commands: &[u8]) -> Result<(), i32> {
    let name = dir.display();
    let path = runfs::state_file(dir, "control");
    let mut control = match indicore::fd::open_write(&path) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            PROG.warn(format!(
                "unable to control {name}: supervise not running: {}",
                errstr(&e)
            ));
            return Err(NOT_RUNNING);
        }
        Err(e) => {
            PROG.warn(format!("unable to control {name}: {}", errstr(&e)));
            return Err(CONTROL_FAILED);
        }
    };
    // Blocking write of the whole string: the FIFO is opened non-blocking only to detect
    // a missing reader.
    let _ = indicore::fd::set_blocking(&control);
    control.write_all(commands).map_err(|e| {
        PROG.warn(format!("error writing commands to {name}: {}", errstr(&e)));
        CONTROL_FAILED
    })
}

/// Wait until `dir`'s `up` (or `dn`) FIFO has a reader, i.e. supervise has started the
/// service (or processed a down request).
fn wait_for(dir: &Path, w: WaitFor, timeout: u64) -> Result<(), i32> {
    let name = dir.display();
    let (word, fifo) = match w {
        WaitFor::Up => (
            "up",
            std::env::var("UPFIFO")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "up".into()),
        ),
        WaitFor::Down => ("down", "dn".to_string()),
    };
    indicore::diag::emit(format_args!("waiting for {name} to be {word} ... "));
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout));
    loop {
        match open_probe(dir, &fifo) {
            Ok(_) => {
                indicore::diag::emit(format_args!("ok\n"));
                return Ok(());
            }
            // No reader yet: the service is not there yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                indicore::diag::emit(format_args!("failed\n"));
                PROG.warn(format!("unable to wait for {name}: {}", errstr(&e)));
                std::thread::sleep(Duration::from_secs(1));
                return Err(CONTROL_FAILED);
            }
            Err(e) => {
                indicore::diag::emit(format_args!("failed\n"));
                PROG.warn(format!("unable to wait for {name}: {}", errstr(&e)));
                return Err(CONTROL_FAILED);
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            indicore::diag::emit(format_args!("timed out\n"));
            return Err(TIMED_OUT);
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
