//! `setlock [-nNxX] file program...`: run program holding an exclusive lock on file.

use indicore::exec::Env;
use indicore::fd;
use indicore::getopt::{Getopt, Opt};
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::path::Path;

pub const PROG: Prog = Prog("setlock");
const USAGE: &str = "setlock: usage: setlock [ -nNxX ] file program [ arg ... ]";

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (mut nonblock, mut quiet) = (false, false);
    let mut opts = Getopt::new(args, "nNxX");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'n', _) => nonblock = true,
            Opt::Flag(b'N', _) => nonblock = false,
            Opt::Flag(b'x', _) => quiet = true,
            Opt::Flag(b'X', _) => quiet = false,
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        }
    }
    let [file, program @ ..] = opts.rest() else {
        return Err(Failure::usage(USAGE));
    };
    if program.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    let name = file.to_string_lossy();
    let fail = |what: &str, e: &std::io::Error| {
        if quiet {
            Failure::Silent(0)
        } else {
            Failure::temp_sys(format_args!("unable to {what} {name}: "), e)
        }
    };
    let lock = fd::open_append(Path::new(file)).map_err(|e| fail("open", &e))?;
    let locked = if nonblock {
        fd::lock_exnb(&lock)
    } else {
        fd::lock_ex(&lock)
    };
    locked.map_err(|e| fail("lock", &e))?;
    // The program, and whatever it forks, holds the lock until it exits.
    fd::set_cloexec(&lock, false).map_err(|e| Failure::temp_sys("unable to lock: ", &e))?;
    std::mem::forget(lock);
    Err(crate::chain(program, &Env::inherited()))
}
