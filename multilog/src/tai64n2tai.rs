//! `tai64n2tai`: a line's leading `@40000000...` label becomes the older TAI text form
//! `SSSSSSSSSS.NNNNNNNNN`; other lines pass through unchanged (the reference added a NUL
//! byte after them). Errors: `tai64n2tai: read: ...` exit 1, `... write: ...` exit 2.

use crate::relabel::{convert, Error, Form};
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("tai64n2tai");

pub fn run(_args: &[OsString]) -> Result<i32, Failure> {
    let (what, code, e) = match convert(Form::Tai) {
        Ok(()) => return Ok(0),
        Err(Error::Read(e)) => ("read", 1, e),
        Err(Error::Write(e)) => ("write", 2, e),
    };
    indicore::diag::emit(format_args!("tai64n2tai: {what}: {}\n", errstr(&e)));
    Err(Failure::Silent(code))
}
