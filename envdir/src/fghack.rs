//! `fghack child...`: stay in the foreground until a self-backgrounding daemon exits.
//!
//! The child and everything it forks inherit the write end of a pipe (plus 30
//! copies, for daemons that close a few descriptors); reading until EOF waits
//! for the last of them.

use indicore::exec::Env;
use indicore::{fd, Failure, Prog};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsRawFd;

pub const PROG: Prog = Prog("fghack");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(child) = args.get(1..).filter(|c| !c.is_empty()) else {
        return Err(Failure::usage("fghack: usage: fghack child"));
    };
    let sys = |msg: &'static str| move |e: nix::Error| Failure::temp_sys(msg, &e.into());
    let (read_end, write_end) = nix::unistd::pipe().map_err(sys("unable to create pipe: "))?;
    // SAFETY: this program is single-threaded, so the child may allocate and exec freely.
    match unsafe { fork() }.map_err(sys("unable to fork: "))? {
        ForkResult::Child => {
            drop(read_end);
            let _ = fd::set_cloexec(&write_end, false);
            for _ in 0..30 {
                // SAFETY: dup of a descriptor we own; the copies are meant to leak into the exec.
                unsafe { libc::dup(write_end.as_raw_fd()) };
            }
            PROG.die(crate::chain(child, &Env::inherited()))
        }
        ForkResult::Parent { child: pid } => {
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
                match waitpid(pid, None) {
                    Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                    Ok(WaitStatus::Signaled(..)) => return Err(Failure::temp("child crashed")),
                    Ok(_) | Err(nix::Error::EINTR) => {}
                    Err(e) => return Err(Failure::temp_sys("wait failed: ", &e.into())),
                }
            }
        }
    }
}
