//! `spipe dir1 dir2 ...`: supervise a pipeline. Each directory gets its own supervise;
//! the standard output of one stage is the standard input of the next. The stages are
//! started from last to first, so that every producer has a consumer, and on SIGINT,
//! SIGQUIT or SIGTERM stopped from first to last (`svc -dx`, then a wait), so that every
//! consumer reads what its producer wrote.

use crate::pipeline::{self, End, Pipeline, Started};
use indicore::sys::process::Pid;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("spipe");
const PIPE: Pipeline = Pipeline("spipe");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let dirs = &args[1.min(args.len())..];
    if dirs.is_empty() {
        PIPE.err("Too few command-line arguments");
        indicore::diag::emit(format_args!("usage: spipe dir1 dir2 ...\n"));
        return Ok(1);
    }
    let signals = match pipeline::stop_signals() {
        Ok(s) => s,
        Err(_) => {
            PIPE.err("Could not create self pipe");
            return Ok(1);
        }
    };
    let Some(pids) = start(dirs) else {
        return Ok(1);
    };
    // The stages own our standard input and output now: let their readers see EOF
    // when the stages exit, not when spipe does.
    release_stdio();
    pipeline::wait_readable(signals);
    stop(dirs, &pids);
    Ok(0)
}

/// Start the stages from last to first; None (after stopping what started) when a
/// process could not be created.
fn start(dirs: &[OsString]) -> Option<Vec<Option<Pid>>> {
    let mut pids: Vec<Option<Pid>> = vec![None; dirs.len()];
    let mut output = End::Inherit;
    for i in (0..dirs.len()).rev() {
        let (input, next_output) = if i > 0 {
            match indicore::sys::io::pipe() {
                Ok((r, w)) => (End::Pipe(r), End::Pipe(w)),
                Err(_) => {
                    PIPE.err("Could not create pipe");
                    stop(dirs, &pids);
                    return None;
                }
            }
        } else {
            (End::Inherit, End::Inherit)
        };
        match PIPE.start(&dirs[i], input, output) {
            Started::Running(pid) => pids[i] = Some(pid),
            Started::NoExec => {}
            Started::NoFork => {
                stop(dirs, &pids);
                return None;
            }
        }
        output = next_output;
    }
    Some(pids)
}

fn stop(dirs: &[OsString], pids: &[Option<Pid>]) {
    for (dir, pid) in dirs.iter().zip(pids) {
        if let Some(pid) = pid {
            PIPE.stop(dir, *pid);
        }
    }
}

/// Point our standard input and output at /dev/null.
fn release_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = indicore::sys::io::dup2(&null, 0);
        let _ = indicore::sys::io::dup2(&null, 1);
    }
}
