//! `tai64n`: put a TAI64N label and a space in front of every line.
//!
//! The label is the time of the read that delivered the line's first byte. Output is
//! written before each read; a partial final line is printed without a newline.

use crate::io::{find, Input, Output};
use crate::stamp::now_prefix;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("tai64n");

pub fn run(_args: &[OsString]) -> Result<i32, Failure> {
    let write_err = |e: std::io::Error| Failure::temp_sys("unable to write output: ", &e);
    let mut input = Input::stdin();
    let mut out = Output::new(1, 128 * 1024);
    let mut line_start = true;
    loop {
        out.flush().map_err(write_err)?;
        let data = input
            .read()
            .map_err(|e| Failure::temp_sys("unable to read input: ", &e))?;
        if data.is_empty() {
            return Ok(0);
        }
        let prefix = now_prefix();
        let mut rest = data;
        while !rest.is_empty() {
            if line_start {
                out.put(&prefix).map_err(write_err)?;
            }
            let end = find(b'\n', rest).map_or(rest.len(), |i| i + 1);
            out.put(&rest[..end]).map_err(write_err)?;
            line_start = rest[end - 1] == b'\n';
            rest = &rest[end..];
        }
    }
}
