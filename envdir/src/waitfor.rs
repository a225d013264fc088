//! `waitfor [-v] pid`: wait for any process (not only a child) to exit, via pidfd.

use indicore::getopt::{Getopt, Opt};
use indicore::sys::process;
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
    let Some(n) = pid.parse().ok().and_then(process::pid) else {
        return Err(Failure::usage(USAGE));
    };
    let fd = process::pidfd(n)
        .map_err(|e| Failure::temp_sys(format_args!("unable to open pid {pid}: "), &e))?;
    // A pidfd becomes readable when the process exits.
    while !indicore::sys::poll::readable(&fd, None)
        .map_err(|e| Failure::temp_sys(format_args!("unable to wait for pid {pid}: "), &e))?
    {}
    if verbose {
        let _ = writeln!(std::io::stdout(), "PID {pid} terminated!");
    }
    Ok(0)
}
