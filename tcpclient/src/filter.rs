//! Plumbing for the byte filters: read descriptors, write them fully, and the forked
//! copier that fixcrio and recordio put between their caller and the program they run.

use indicore::exec::Env;
use indicore::sys::io::inherited;
use indicore::sys::poll::{self, PollFlags};
use indicore::sys::{self, signal};
use indicore::Failure;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};

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
    let sys = |msg: &'static str| move |e: io::Error| Failure::temp_sys(msg, &e);
    let pipes = sys::io::pipe().and_then(|a| sys::io::pipe().map(|b| (a, b)));
    let ((to_prog_r, to_prog_w), (from_prog_r, from_prog_w)) =
        match pipes.map_err(sys("unable to create pipe: ")) {
            Ok(p) => p,
            Err(f) => return f,
        };
    // SAFETY: single-threaded; the child only copies bytes and exits.
    match unsafe { sys::process::fork() } {
        Err(e) => sys("unable to fork: ")(e),
        Ok(None) => {
            drop(to_prog_r);
            drop(from_prog_w);
            // Ignoring SIGPIPE turns writes to a gone reader into EPIPE.
            let _ = signal::ignore(signal::Signal::PIPE);
            copy(to_prog_w, &from_prog_r, tap);
            // Leave without running anything else of the parent's state.
            sys::process::exit_now(0)
        }
        Ok(Some(_)) => {
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
fn move_fd(fd: OwnedFd, target: RawFd) -> io::Result<()> {
    if fd.as_raw_fd() == target {
        // The pipe's end stays where it is (close-on-exec cleared, as dup2 leaves a copy).
        sys::io::set_cloexec(&fd, false)?;
        let _ = fd.into_raw_fd();
        return Ok(());
    }
    sys::io::dup2(&fd, target)
}

/// What a polled descriptor is, in the copier.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Our stdin, read for the program.
    Input,
    /// The program's stdin, written.
    ToProg,
    /// The program's stdout, read for our stdout.
    FromProg,
    /// Our stdout, written.
    Output,
}

/// The copier's loop: our stdin -> `to_prog`, `from_prog` -> our stdout, until both
/// directions have ended. A program that stops reading ends only the input direction; its
/// output is still copied.
fn copy(to_prog: OwnedFd, from_prog: &OwnedFd, tap: &mut dyn Tap) {
    let mut left: Option<Vec<u8>> = None;
    let mut right: Option<Vec<u8>> = None;
    let (mut left_open, mut right_open) = (true, true);
    let mut to_prog = Some(to_prog);
    let mut buf = [0u8; CHUNK];
    while left_open || right_open || left.is_some() || right.is_some() {
        let mut sides = Vec::with_capacity(4);
        let mut fds = Vec::with_capacity(4);
        if left_open && left.is_none() {
            sides.push(Side::Input);
            fds.push(poll::watch(inherited(0), PollFlags::IN));
        }
        if let (Some(_), Some(fd)) = (&left, &to_prog) {
            sides.push(Side::ToProg);
            fds.push(poll::watch(fd.as_fd(), PollFlags::OUT));
        }
        if right_open && right.is_none() {
            sides.push(Side::FromProg);
            fds.push(poll::watch(from_prog.as_fd(), PollFlags::IN));
        }
        if right.is_some() {
            sides.push(Side::Output);
            fds.push(poll::watch(inherited(1), PollFlags::OUT));
        }
        if fds.is_empty() {
            return;
        }
        if poll::poll(&mut fds, None).is_err() {
            continue;
        }
        let mut ready = [None; 4];
        for (slot, (&side, p)) in ready.iter_mut().zip(sides.iter().zip(&fds)) {
            *slot = (!p.revents().is_empty()).then_some(side);
        }
        drop(fds);
        for side in ready.into_iter().flatten() {
            match side {
                Side::Input => match read(0, &mut buf) {
                    Ok(n) if n > 0 => left = Some(tap.input(&buf[..n])),
                    _ => {
                        left_open = false;
                        // Closing our pipe end, so the program sees EOF.
                        to_prog = None;
                        tap.input_eof();
                    }
                },
                Side::ToProg => {
                    let written = to_prog
                        .as_ref()
                        .map(|fd| write_all(fd.as_raw_fd(), left.as_deref().unwrap_or_default()));
                    if let Some(Err(_)) = written {
                        // The program stopped reading: drop the input side only.
                        left_open = false;
                        to_prog = None;
                    }
                    left = None;
                }
                Side::FromProg => match read(from_prog.as_raw_fd(), &mut buf) {
                    Ok(n) if n > 0 => right = Some(tap.output(&buf[..n])),
                    _ => {
                        right_open = false;
                        tap.output_eof();
                        // Closing our stdout copy, so readers see EOF.
                        sys::io::close_inherited(1);
                    }
                },
                Side::Output => {
                    if write_all(1, right.as_deref().unwrap_or_default()).is_err() {
                        return;
                    }
                    right = None;
                }
            }
        }
        if left.is_some() && to_prog.is_none() {
            left = None;
        }
    }
}
