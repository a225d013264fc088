//! `recordio program...`: run program and record both directions on stderr, one line per
//! line of traffic: `PID < line ` (input) and `PID > line ` (output); a chunk that ends
//! without LF gives `PID < partial+`; the ends are `PID < [EOF]` and `PID > [EOF]`. PID is
//! the program's pid (recordio execs it).

use crate::filter::{self, Tap};
use indicore::diag::emit;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("recordio");
const USAGE: &str = "recordio: usage: recordio program [ arg ... ]";

struct Recorder {
    pid: u32,
}

impl Recorder {
    fn record(&self, chunk: &[u8], dir: &str) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let mut line = format!("{}{dir}", self.pid).into_bytes();
            match rest.iter().position(|&c| c == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&rest[..i]);
                    line.extend_from_slice(b" \n");
                    rest = &rest[i + 1..];
                }
                None => {
                    line.extend_from_slice(rest);
                    line.extend_from_slice(b"+\n");
                    rest = &[];
                }
            }
            let _ = filter::write_all(2, &line);
        }
    }
}

impl Tap for Recorder {
    fn input(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.record(chunk, " < ");
        chunk.to_vec()
    }
    fn output(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.record(chunk, " > ");
        chunk.to_vec()
    }
    fn input_eof(&mut self) {
        emit(format_args!("{} < [EOF]\n", self.pid));
    }
    fn output_eof(&mut self) {
        emit(format_args!("{} > [EOF]\n", self.pid));
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(prog) = args.get(1..).filter(|p| !p.is_empty()) else {
        return Err(Failure::usage(USAGE));
    };
    let mut tap = Recorder {
        pid: std::process::id(),
    };
    Err(filter::run_tapped(prog, &mut tap))
}
