//! `tai64nlocal` and `tai64nunix`: a line's leading TAI64N label becomes local time
//! (`YYYY-MM-DD HH:MM:SS.nnnnnnnnn`) or Unix seconds (`SSSSSSSSS.nnnnnnnnn`).

use crate::relabel::{convert, Error, Form};
use crate::stamp::LocalClock;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG_LOCAL: Prog = Prog("tai64nlocal");
pub const PROG_UNIX: Prog = Prog("tai64nunix");

fn run(form: Form) -> Result<i32, Failure> {
    match convert(form) {
        Ok(()) => Ok(0),
        Err(Error::Read(e)) => Err(Failure::temp_sys("unable to read input: ", &e)),
        Err(Error::Write(e)) => Err(Failure::temp_sys("unable to write output: ", &e)),
    }
}

pub fn run_local(_args: &[OsString]) -> Result<i32, Failure> {
    run(Form::Local(LocalClock::new()))
}

pub fn run_unix(_args: &[OsString]) -> Result<i32, Failure> {
    run(Form::Unix)
}
