//! `mconnect-io`: the terminal side of `mconnect`, run by tcpclient. Lines typed on stdin go
//! to the server (descriptor 7) with CR put before each LF; the server's bytes (descriptor 6)
//! go to stdout. When the server closes, it exits 0.

use crate::filter;
use indicore::sys::io::inherited;
use indicore::sys::poll::{self, PollFlags};
use indicore::sys::signal;
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("mconnect-io");

pub fn run(_args: &[OsString]) -> Result<i32, Failure> {
    // Ignoring SIGPIPE turns writes to a closed peer into EPIPE.
    let _ = signal::ignore(signal::Signal::PIPE);
    let mut stdin_open = true;
    let mut buf = [0u8; 4096];
    loop {
        let mut all = [
            poll::watch(inherited(6), PollFlags::IN),
            poll::watch(inherited(0), PollFlags::IN),
        ];
        let fds = &mut all[..if stdin_open { 2 } else { 1 }];
        if poll::poll(fds, None).is_err() {
            continue;
        }
        if !fds[0].revents().is_empty() {
            let n = filter::read(6, &mut buf)
                .map_err(|e| Failure::temp_sys("unable to read from network: ", &e))?;
            if n == 0 {
                return Ok(0);
            }
            filter::write_all(1, &buf[..n])
                .map_err(|e| Failure::temp_sys("unable to write output: ", &e))?;
        }
        if fds.get(1).is_some_and(|p| !p.revents().is_empty()) {
            match filter::read(0, &mut buf) {
                Ok(n) if n > 0 => {
                    let mut out = Vec::with_capacity(n * 2);
                    for &c in &buf[..n] {
                        if c == b'\n' {
                            out.push(b'\r');
                        }
                        out.push(c);
                    }
                    filter::write_all(7, &out)
                        .map_err(|e| Failure::temp_sys("unable to write to network: ", &e))?;
                }
                _ => stdin_open = false,
            }
        }
    }
}
