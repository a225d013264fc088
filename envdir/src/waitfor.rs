//! `waitfor [-v] pid`: wait for any process (not only a child) to exit, via pidfd.

use indicore::getopt::{Getopt, Opt};
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::Write;

pub const PROG: Prog = Prog("waitfor");
const USAGE: &str = "waitfor: fatal: USAGE: waitfor [-v] pid";

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let mut verbose = false;
    let mut opts = Getopt::new(args, "v");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'v', _) => verbose = true,
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        }
    }
    let [pid] = opts.rest() else {
        return Err(Failure::usage(USAGE));
    };
    let pid = pid.to_string_lossy();
    let n: libc::pid_t = match pid.parse() {
        Ok(n) if n > 0 => n,
        _ => return Err(Failure::usage(USAGE)),
    };
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, n, 0) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Failure::temp_sys(
            format_args!("unable to open pid {pid}: "),
            &e,
        ));
    }
    let mut pfd = libc::pollfd {
        fd: fd as libc::c_int,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one pollfd we own; a pidfd becomes readable when the process exits.
        let r = unsafe { libc::poll(&mut pfd, 1, -1) };
        if r > 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        if r < 0 && e.raw_os_error() != Some(libc::EINTR) {
            return Err(Failure::temp_sys(
                format_args!("unable to wait for pid {pid}: "),
                &e,
            ));
        }
    }
    if verbose {
        let _ = writeln!(std::io::stdout(), "PID {pid} terminated!");
    }
    Ok(0)
}
