//! `fghack child...`: stay in the foreground until a self-backgrounding daemon exits.
//!
//! The child and everything it forks inherit the write end of a pipe (plus 30
//! copies, for daemons that close a few descriptors); reading until EOF waits
//! for the last of them.

use indicore::exec::Env;
use indicore::sys::process::{self, WaitOptions};
use indicore::{fd, Failure, Prog};
use std::ffi::OsString;
use std::io::Read;

pub const PROG: Prog = Prog("fghack");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(child) = args.get(1..).filter(|c| !c.is_empty()) else {
        return Err(Failure::usage("fghack: usage: fghack child"));
    };
    let sys = |msg: &'static str| move |e: std::io::Error| Failure::temp_sys(msg, &e);
    let (read_end, write_end) =
        indicore::sys::io::pipe().map_err(sys("unable to create pipe: "))?;
    // SAFETY: this program is single-threaded, so the child may allocate and exec freely.
    match unsafe { process::fork() }.map_err(sys("unable to fork: "))? {
        None => {
            drop(read_end);
            let _ = fd::set_cloexec(&write_end, false);
            for _ in 0..30 {
                // The copies are meant to leak into the exec, without close-on-exec.
                if let Ok(copy) = indicore::sys::io::dup(&write_end) {
                    let _ = fd::set_cloexec(&copy, false);
                    std::mem::forget(copy);
                }
            }
            PROG.die(crate::chain(child, &Env::inherited()))
        }
        Some(pid) => {
            drop(write_end);
            let mut pipe = std::fs::File::from(read_end);
            let mut buf = [0u8; 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Failure::temp_sys("unable to read pipe: ", &e)),
                }
            }
            loop {
                match process::wait(Some(pid), WaitOptions::empty()) {
                    Ok(Some((_, st))) if st.exited() => return Ok(st.exit_status().unwrap_or(0)),
                    Ok(Some((_, st))) if st.signaled() => {
                        return Err(Failure::temp("child crashed"))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(Failure::temp_sys("wait failed: ", &e)),
                }
            }
        }
    }
}
