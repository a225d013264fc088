//! tcpclient's client mode (no program): copy stdin to the network and the network to
//! stdout in one poll(2) loop, with an idle timeout.
//!
//! At EOF on stdin the socket is half-closed (shutdown for writing) and the server's reply is
//! still copied until the server closes: `echo QUIT | tcpclient host 25` shows the reply.
//! The socket is read and written with MSG_DONTWAIT; stdin and stdout keep their blocking
//! mode (they are shared with the invoking shell) and are written at most 4096 bytes a time
//! after poll says they can take data.

use indicore::sys::io::inherited;
use indicore::sys::poll::{self, PollFlags};
use indicore::sys::{self, Errno};
use std::io;
use std::os::fd::{AsFd, RawFd};
use std::time::{Duration, Instant};

const CHUNK: usize = 4096;

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// What a polled descriptor is.
#[derive(Clone, Copy)]
enum Side {
    Input,
    Net,
    Output,
}

/// A pending chunk and how much of it is written.
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    done: usize,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.done >= self.buf.len()
    }
    fn rest(&self) -> &[u8] {
        &self.buf[self.done..]
    }
}

/// Relay until the server closes and everything it sent is written. Returns the error that
/// stopped it early (an idle timeout is "timed out").
pub fn relay(
    sock: &socket2::Socket,
    input: RawFd,
    output: RawFd,
    idle: Duration,
) -> io::Result<()> {
    let net = sock.as_fd();
    let mut to_net = Pending::default();
    let mut to_out = Pending::default();
    let (mut input_open, mut net_open) = (true, true);
    let mut buf = vec![0u8; 8192];
    let idle = Duration::from_millis(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX));
    loop {
        if !net_open && to_out.is_empty() {
            return Ok(());
        }
        let mut fds = Vec::with_capacity(3);
        let mut sides = [Side::Input; 3];
        let mut net_events = PollFlags::empty();
        if input_open && to_net.is_empty() {
            sides[fds.len()] = Side::Input;
            fds.push(poll::watch(inherited(input), PollFlags::IN));
        }
        if !to_net.is_empty() {
            net_events |= PollFlags::OUT;
        }
        if net_open && to_out.is_empty() {
            net_events |= PollFlags::IN;
        }
        if !net_events.is_empty() {
            sides[fds.len()] = Side::Net;
            fds.push(poll::watch(net, net_events));
        }
        if !to_out.is_empty() {
            sides[fds.len()] = Side::Output;
            fds.push(poll::watch(inherited(output), PollFlags::OUT));
        }
        let started = Instant::now();
        if poll::poll_for(&mut fds, Some(idle))? == 0 {
            // A signal that interrupted the wait starts it again, as before.
            if started.elapsed() < idle {
                continue;
            }
            return Err(sys::error(Errno::TIMEDOUT));
        }
        let ready: [PollFlags; 3] =
            std::array::from_fn(|k| fds.get(k).map_or(PollFlags::empty(), |p| p.revents()));
        drop(fds);
        for (&side, revents) in sides.iter().zip(ready) {
            if revents.is_empty() {
                continue;
            }
            match side {
                Side::Input => {
                    match indicore::fd::read_raw(input, &mut buf) {
                        Ok(0) | Err(_) if revents.contains(PollFlags::NVAL) => input_open = false,
                        Ok(0) => input_open = false,
                        Ok(k) => {
                            to_net = Pending {
                                buf: buf[..k].to_vec(),
                                done: 0,
                            }
                        }
                        Err(e) => return Err(e),
                    }
                    if !input_open {
                        let _ = sock.shutdown(std::net::Shutdown::Write);
                    }
                }
                Side::Net => {
                    if !to_net.is_empty()
                        && revents.intersects(PollFlags::OUT | PollFlags::ERR | PollFlags::HUP)
                    {
                        match sys::net::send_nowait(net, to_net.rest()) {
                            Ok(k) => to_net.done += k,
                            Err(e) if would_block(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    if net_open
                        && to_out.is_empty()
                        && revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR)
                    {
                        match sys::net::recv_nowait(net, &mut buf) {
                            Ok(0) => net_open = false,
                            Ok(k) => {
                                to_out = Pending {
                                    buf: buf[..k].to_vec(),
                                    done: 0,
                                }
                            }
                            Err(e) if would_block(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Side::Output => {
                    let end = (to_out.done + CHUNK).min(to_out.buf.len());
                    to_out.done += indicore::fd::write_raw(output, &to_out.buf[to_out.done..end])?;
                }
            }
        }
    }
}
