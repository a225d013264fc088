//! `argv0 realname program [args...]`: run realname with argv[0] set to program.

use indicore::exec::{self, Env};
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("argv0");
const USAGE: &str = "argv0: usage: argv0 realname program [ arg ... ]";

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let [_, realname, argv @ ..] = args else {
        return Err(Failure::usage(USAGE));
    };
    if argv.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    let path = std::env::var_os("PATH");
    let err = exec::run_file(realname, argv, &Env::inherited(), path.as_deref());
    Err(Failure::exec(realname.to_string_lossy(), &err))
}
