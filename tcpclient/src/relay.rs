//! tcpclient's client mode (no program): copy stdin to the network and the network to
//! stdout in one poll(2) loop, with an idle timeout.
//!
//! At EOF on stdin the socket is half-closed (shutdown for writing) and the server's reply is
//! still copied until the server closes: `echo QUIT | tcpclient host 25` shows the reply.
//! The socket is read and written with MSG_DONTWAIT; stdin and stdout keep their blocking
//! mode (they are shared with the invoking shell) and are written at most 4096 bytes a time
//! after poll says they can take data.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

const CHUNK: usize = 4096;

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
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
    let net = sock.as_raw_fd();
    let mut to_net = Pending::default();
    let mut to_out = Pending::default();
    let (mut input_open, mut net_open) = (true, true);
    let mut buf = vec![0u8; 8192];
    let timeout = i32::try_from(idle.as_millis()).unwrap_or(i32::MAX);
    loop {
        if !net_open && to_out.is_empty() {
            return Ok(());
        }
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
        let mut net_events = 0;
        if input_open && to_net.is_empty() {
            fds.push(libc::pollfd {
                fd: input,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if !to_net.is_empty() {
            net_events |= libc::POLLOUT;
        }
        if net_open && to_out.is_empty() {
            net_events |= libc::POLLIN;
        }
        if net_events != 0 {
            fds.push(libc::pollfd {
                fd: net,
                events: net_events,
                revents: 0,
            });
        }
        if !to_out.is_empty() {
            fds.push(libc::pollfd {
                fd: output,
                events: libc::POLLOUT,
                revents: 0,
            });
        }
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
        }
        for p in fds {
            if p.revents == 0 {
                continue;
            }
            if p.fd == input {
                match indicore::fd::read_raw(input, &mut buf) {
                    Ok(0) | Err(_) if p.revents & libc::POLLNVAL != 0 => input_open = false,
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
            } else if p.fd == net {
                if !to_net.is_empty()
                    && p.revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0
                {
                    match sock
                        .send_with_flags(to_net.rest(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
                    {
                        Ok(k) => to_net.done += k,
                        Err(e) if would_block(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                if net_open
                    && to_out.is_empty()
                    && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
                {
                    // SAFETY: recv into a buffer we own, at most its length.
                    let k = unsafe {
                        libc::recv(net, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
                    };
                    if k > 0 {
                        to_out = Pending {
                            buf: buf[..k as usize].to_vec(),
                            done: 0,
                        };
                    } else if k == 0 {
                        net_open = false;
                    } else {
                        let e = io::Error::last_os_error();
                        if !would_block(&e) {
                            return Err(e);
                        }
                    }
                }
            } else if p.fd == output {
                let end = (to_out.done + CHUNK).min(to_out.buf.len());
                to_out.done += indicore::fd::write_raw(output, &to_out.buf[to_out.done..end])?;
            }
        }
    }
}
