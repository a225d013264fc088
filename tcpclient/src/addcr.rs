//! `addcr`: copy stdin to stdout, putting a CR before every LF.

use crate::filter;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("addcr");

pub fn run(_args: &[OsString]) -> Result<i32, Failure> {
    filter::stream(
        |chunk, out| {
            for &c in chunk {
                if c == b'\n' {
                    out.push(b'\r');
                }
                out.push(c);
            }
        },
        |_| {},
    )
}
