//! `pgrphack child...`: run child as the leader of a new session and process group.

use indicore::exec::Env;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("pgrphack");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(child) = args.get(1..).filter(|c| !c.is_empty()) else {
        return Err(Failure::usage("pgrphack: usage: pgrphack child"));
    };
    // Errors ignored, as the reference does: a process-group leader simply keeps its group.
    let _ = indicore::sys::process::setsid();
    Err(crate::chain(child, &Env::inherited()))
}
