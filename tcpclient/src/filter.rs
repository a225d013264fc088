//! Plumbing for the byte filters: read descriptors, write them fully, and the forked
//! copier that fixcrio and recordio put between their caller and the program they run.

use indicore::exec::Env;
use indicore::Failure;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};

pub use indicore::fd::{read_raw as read, write_all_raw as write_all};

/// Copy stdin to stdout through `map` (which appends its output for each chunk) and `finish`
/// (called at EOF). Exit 0, or 111 with a message on an I/O error.
pub fn stream(
    mut map: impl FnMut(&[u8], &mut Vec<u8>),
    finish: impl FnOnce(&mut Vec<u8>),
) -> Result<i32, Failure> {
    let mut buf = vec![0u8; 8192];
    let mut out = Vec::with_capacity(16384);
    let werr = |e: &io::Error| Failure::temp_sys("unable to write output: ", e);
    loop {
        let n = read(0, &mut buf).map_err(|e| Failure::temp_sys("unable to read input: ", &e))?;
        if n == 0 {
            finish(&mut out);
            write_all(1, &out).map_err(|e| werr(&e))?;
            return Ok(0);
        }
        map(&buf[..n], &mut out);
        write_all(1, &out).map_err(|e| werr(&e))?;
        out.clear();
    }
}

/// What the copier does with the bytes flowing each way.
pub trait Tap {
    /// Bytes read from our stdin, about to go to the program; returns what to send.
    fn input(&mut self, chunk: &[u8]) -> Vec<u8>;
    /// Bytes the program wrote, about to go to our stdout; returns what to send.
    fn output(&mut self, chunk: &[u8]) -> Vec<u8>;
    fn input_eof(&mut self) {}
    fn output_eof(&mut self) {}
}

/// Read at most this much at a time (the reference's record size).
const CHUNK: usize = 256;

/// Run `prog` with its stdin and stdout on pipes; a forked child copies our stdin to the
/// program and the program's output to our stdout through `tap`. The program is exec'd in
/// this process, so the exit code is the program's.
pub fn run_tapped(prog: &[OsString], tap: &mut dyn Tap) -> Failure {
    let sys = |msg: &'static str| move |e: nix::Error| Failure::temp_sys(msg, &e.into());
    let pipes = nix::unistd::pipe().and_then(|a| nix::unistd::pipe().map(|b| (a, b)));
    let ((to_prog_r, to_prog_w), (from_prog_r, from_prog_w)) =
        match pipes.map_err(sys("unable to create pipe: ")) {
            Ok(p) => p,
            Err(f) => return f,
        };
    // SAFETY: single-threaded; the child only copies bytes and exits.
    match unsafe { nix::unistd::fork() } {
        Err(e) => sys("unable to fork: ")(e),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(to_prog_r);
            drop(from_prog_w);
            // SAFETY: ignoring SIGPIPE turns writes to a gone reader into EPIPE.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
            copy(to_prog_w.into_raw_fd(), from_prog_r.as_raw_fd(), tap);
            // SAFETY: leave without running anything else of the parent's state.
            unsafe { libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            drop(to_prog_w);
            drop(from_prog_r);
            for (fd, target) in [(to_prog_r, 0), (from_prog_w, 1)] {
                if let Err(e) = move_fd(fd, target) {
                    return Failure::temp_sys("unable to move descriptors: ", &e);
                }
            }
            let err = indicore::exec::pathexec(prog, &Env::inherited());
            Failure::exec(prog[0].to_string_lossy(), &err)
        }
    }
}

/// Put `fd` on descriptor `target` (closing the original unless it already is `target`).
fn move_fd(fd: std::os::fd::OwnedFd, target: RawFd) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    if raw == target {
        return Ok(());
    }
    // SAFETY: dup2 onto a standard descriptor, then closing the descriptor we own.
    unsafe {
        if libc::dup2(raw, target) < 0 {
            return Err(io::Error::last_os_error());
        }
        libc::close(raw);
    }
    Ok(())
}

/// The copier's loop: our stdin -> `to_prog`, `from_prog` -> our stdout, until both
/// directions have ended. A program that stops reading ends only the input direction; its
/// output is still copied.
fn copy(to_prog: RawFd, from_prog: RawFd, tap: &mut dyn Tap) {
    let mut left: Option<Vec<u8>> = None;
    let mut right: Option<Vec<u8>> = None;
    let (mut left_open, mut right_open) = (true, true);
    let mut to_prog = Some(to_prog);
    let mut buf = [0u8; CHUNK];
    while left_open || right_open || left.is_some() || right.is_some() {
        let mut fds = Vec::with_capacity(4);
        if left_open && left.is_none() {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let (Some(_), Some(fd)) = (&left, to_prog) {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            });
        }
        if right_open && right.is_none() {
            fds.push(libc::pollfd {
                fd: from_prog,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if right.is_some() {
            fds.push(libc::pollfd {
                fd: 1,
                events: libc::POLLOUT,
                revents: 0,
            });
        }
        if fds.is_empty() {
            return;
        }
        // SAFETY: a valid pollfd array of the given length.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        for p in fds.iter().filter(|p| p.revents != 0) {
            match (p.fd, p.events) {
                (0, libc::POLLIN) => match read(0, &mut buf) {
                    Ok(n) if n > 0 => left = Some(tap.input(&buf[..n])),
                    _ => {
                        left_open = false;
                        if let Some(fd) = to_prog.take() {
                            // SAFETY: closing our own pipe end so the program sees EOF.
                            unsafe { libc::close(fd) };
                        }
                        tap.input_eof();
                    }
                },
                (fd, libc::POLLOUT) if Some(fd) == to_prog => {
                    if write_all(fd, left.as_deref().unwrap_or_default()).is_err() {
                        // The program stopped reading: drop the input side only.
                        left_open = false;
                        // SAFETY: closing our own pipe end.
                        unsafe { libc::close(fd) };
                        to_prog = None;
                    }
                    left = None;
                }
                (fd, libc::POLLIN) if fd == from_prog => match read(from_prog, &mut buf) {
                    Ok(n) if n > 0 => right = Some(tap.output(&buf[..n])),
                    _ => {
                        right_open = false;
                        tap.output_eof();
                        // SAFETY: closing our stdout copy, so readers see EOF.
                        unsafe { libc::close(1) };
                    }
                },
                (1, libc::POLLOUT) => {
                    if write_all(1, right.as_deref().unwrap_or_default()).is_err() {
                        return;
                    }
                    right = None;
                }
                _ => {}
            }
        }
        if left.is_some() && to_prog.is_none() {
            left = None;
        }
    }
}
