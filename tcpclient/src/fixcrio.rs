//! `fixcrio program...`: run program with both directions passed through a filter that puts
//! a CR before each LF not already preceded by one.

use crate::filter::{self, Tap};
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("fixcrio");
const USAGE: &str = "fixcrio: usage: fixcrio program [ arg ... ]";

/// The filter for one direction; remembers whether the last byte was a CR.
#[derive(Default)]
struct Fix {
    cr: bool,
}

impl Fix {
    fn apply(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() * 2);
        for &c in chunk {
            if c == b'\n' && !self.cr {
                out.push(b'\r');
            }
            out.push(c);
            self.cr = c == b'\r';
        }
        out
    }
}

struct Both(Fix, Fix);

impl Tap for Both {
    fn input(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.0.apply(chunk)
    }
    fn output(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.1.apply(chunk)
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(prog) = args.get(1..).filter(|p| !p.is_empty()) else {
        return Err(Failure::usage(USAGE));
    };
    Err(filter::run_tapped(
        prog,
        &mut Both(Fix::default(), Fix::default()),
    ))
}
