//! `delcr`: copy stdin to stdout, removing a CR that directly precedes an LF. `CR CR LF`
//! becomes `CR LF`; a CR at the very end is kept.

use crate::filter;
use indicore::{Failure, Prog};
use std::cell::Cell;
use std::ffi::OsString;

pub const PROG: Prog = Prog("delcr");

pub fn run(_args: &[OsString]) -> Result<i32, Failure> {
    // A CR seen last, not yet written: it goes out unless an LF follows.
    let held = Cell::new(false);
    filter::stream(
        |chunk, out| {
            for &c in chunk {
                match c {
                    b'\r' => {
                        if held.replace(true) {
                            out.push(b'\r');
                        }
                    }
                    b'\n' => {
                        held.set(false);
                        out.push(b'\n');
                    }
                    _ => {
                        if held.replace(false) {
                            out.push(b'\r');
                        }
                        out.push(c);
                    }
                }
            }
        },
        |out| {
            if held.get() {
                out.push(b'\r');
            }
        },
    )
}
