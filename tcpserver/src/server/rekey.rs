//! Per-IP counts for proxied connections. The parent counts a connection under its
//! peer's address at accept time, before any PROXY header is read; once the child has
//! read one, it asks the parent to count the connection under the client's address
//! instead, and gets back how many other children that address has (the `-C` and
//! MAXPERIP checks then run in the child against the client, as they would have for a
//! direct connection).
//!
//! The request is one datagram on a socketpair made at startup (`pid`, the 16-byte
//! address) carrying, as SCM_RIGHTS, one end of a socketpair the child made for the
//! answer, so that each answer reaches the child that asked. The parent only reads the
//! channel when a request is waiting: connections without a header cost nothing.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

const REQUEST: usize = 4 + 16;

/// The channel: the parent's end (non-blocking) and the children's end.
pub fn channel() -> io::Result<(OwnedFd, OwnedFd)> {
    let (parent, child) = pair(libc::SOCK_DGRAM)?;
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let fl = libc::fcntl(parent.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(parent.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    Ok((parent, child))
}

fn pair(kind: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair into a two-element array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            kind | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } < 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: two fresh descriptors we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The child's side: count this connection (`pid`) under `ip`; the number of other live
/// children from `ip`, or None when the parent did not answer within `timeout`.
pub fn ask(channel: RawFd, pid: u32, ip: [u8; 16], timeout: Duration) -> Option<u32> {
    let (mine, theirs) = pair(libc::SOCK_STREAM).ok()?;
    let mut msg = [0u8; REQUEST];
    msg[..4].copy_from_slice(&pid.to_ne_bytes());
    msg[4..].copy_from_slice(&ip);
    send_with_fd(channel, &msg, theirs.as_raw_fd()).ok()?;
    drop(theirs);
    let mut p = libc::pollfd {
        fd: mine.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one pollfd.
    if unsafe { libc::poll(&mut p, 1, timeout.as_millis().min(i32::MAX as u128) as i32) } <= 0 {
        return None;
    }
    let mut answer = [0u8; 4];
    // SAFETY: read into a 4-byte buffer.
    let n = unsafe { libc::read(mine.as_raw_fd(), answer.as_mut_ptr().cast(), 4) };
    (n == 4).then(|| u32::from_ne_bytes(answer))
}

/// A message of one buffer with room for one descriptor; the pointers in `msg` point
/// into the returned boxes, which must outlive every use of it.
struct Message {
    msg: libc::msghdr,
    _iov: Box<libc::iovec>,
    _control: Vec<u8>,
}

impl Message {
    fn new(buf: *mut u8, len: usize) -> Message {
        // SAFETY: CMSG_SPACE is a size computation; an all-zero msghdr is valid.
        let space = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as usize;
        let mut control = vec![0u8; space];
        let mut iov = Box::new(libc::iovec {
            iov_base: buf.cast(),
            iov_len: len,
        });
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_iov = &mut *iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        Message {
            msg,
            _iov: iov,
            _control: control,
        }
    }
}

fn send_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> io::Result<()> {
    let m = Message::new(data.as_ptr() as *mut u8, data.len());
    // SAFETY: the control buffer has room for one SCM_RIGHTS message (CMSG_SPACE);
    // sendmsg only reads the data buffer and copies everything before returning.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&m.msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
        if libc::sendmsg(sock, &m.msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// One request the parent received.
pub struct Request {
    pub pid: i32,
    pub ip: [u8; 16],
    reply: OwnedFd,
}

impl Request {
    /// Tell the child how many other children its client has (never blocks: the
    /// answer is the first and only thing written on a fresh socket).
    pub fn answer(self, others: u32) {
        let b = others.to_ne_bytes();
        // SAFETY: send from a 4-byte buffer.
        unsafe {
            libc::send(
                self.reply.as_raw_fd(),
                b.as_ptr().cast(),
                4,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
    }
}

/// The parent's side: the next waiting request, None when there is none.
pub fn next(channel: RawFd) -> Option<Request> {
    loop {
        let mut data = [0u8; REQUEST];
        let mut m = Message::new(data.as_mut_ptr(), data.len());
        // SAFETY: recvmsg into the message's live buffers; a passed descriptor is taken
        // over at once (MSG_CMSG_CLOEXEC), and a malformed message's descriptor is closed.
        unsafe {
            let n = libc::recvmsg(
                channel,
                &mut m.msg,
                libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
            );
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return None;
            }
            let c = libc::CMSG_FIRSTHDR(&m.msg);
            let reply = (!c.is_null()
                && (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == libc::SCM_RIGHTS)
                .then(|| {
                    OwnedFd::from_raw_fd(std::ptr::read_unaligned(
                        libc::CMSG_DATA(c) as *const RawFd
                    ))
                });
            let Some(reply) = reply else { continue };
            if n as usize != REQUEST {
                continue;
            }
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&data[4..]);
            return Some(Request {
                pid: i32::from_ne_bytes([data[0], data[1], data[2], data[3]]),
                ip,
                reply,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_answered_to_the_child_that_asked() {
        let (parent, child) = channel().unwrap();
        assert!(next(parent.as_raw_fd()).is_none());
        let p = parent.as_raw_fd();
        let server = std::thread::spawn(move || loop {
            if let Some(r) = next(p) {
                assert_eq!((r.pid, r.ip), (42, [7u8; 16]));
                r.answer(3);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        });
        let got = ask(child.as_raw_fd(), 42, [7u8; 16], Duration::from_secs(5));
        server.join().unwrap();
        assert_eq!(got, Some(3));
        // Nobody answers: the child gives up after its timeout.
        assert_eq!(
            ask(child.as_raw_fd(), 1, [0; 16], Duration::from_millis(20)),
            None
        );
        drop(parent);
    }
}
