//! The PROXY protocol behind a load balancer (an extension, off unless a rule asks).
//!
//! A peer is a trusted balancer when the rule its *address* finds in the `-x` rules
//! (host names and ident are never consulted: a reverse name is the address owner's to
//! choose) sets `PROXY_PROTOCOL` and does not deny. From such a peer, and only from it,
//! the connection child reads a version 1 or 2 header before anything else, within the
//! rule's value in seconds (10 when empty or 0), and from then on serves the client the
//! header names as if it had connected directly. A header from any other peer is never
//! looked for: its bytes are the program's input like any other.

use super::Server;
use indicore::proxyproto::{self, Header, Parse};
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};
use ucspi::rules::{self, Item, Peer};

/// The rules variable that marks a balancer.
pub const VARIABLE: &[u8] = b"PROXY_PROTOCOL";
/// Seconds to wait for a header when the rule does not say.
pub const DEFAULT_TIMEOUT: u64 = 10;

/// The header timeout when `ip` (as TCPREMOTEIP shows it) is a trusted balancer.
pub fn trusted(srv: &Server, ip: &str) -> Option<Duration> {
    let path = srv.opts.rules.as_deref()?;
    let mut file = srv.rules.borrow_mut();
    let cdb = file.current(path).ok()??;
    let who = Peer {
        ip,
        host: None,
        info: None,
    };
    let found = rules::lookup(cdb, &who).ok()??;
    let mut timeout = None;
    for item in rules::items(found.data) {
        match item {
            Item::Deny => return None,
            Item::Set(name, value) if name == VARIABLE => {
                let secs = super::options::scan_ulong(value);
                timeout = Some(Duration::from_secs(if secs == 0 {
                    DEFAULT_TIMEOUT
                } else {
                    secs
                }));
            }
            _ => {}
        }
    }
    timeout
}

/// Whether a rule's variable `name` marks a balancer (the fast path sends such
/// connections to the forked child, which reads the header).
pub fn is_marker(name: &[u8]) -> bool {
    name == VARIABLE
}

/// Read exactly one header from the connection `fd` (blocking) within `timeout`:
/// nothing after it is consumed, so TLS or the program starts at the client's first byte.
pub fn read_header(fd: RawFd, timeout: Duration) -> Result<Header, String> {
    let deadline = Instant::now() + timeout;
    let mut buf: Vec<u8> = Vec::with_capacity(proxyproto::V1_MAX);
    loop {
        let need = match proxyproto::parse(&buf) {
            Parse::Done(h, _) => return Ok(h),
            Parse::Bad(why) => return Err(why.to_string()),
            Parse::Need(n) => n,
        };
        wait(fd, deadline)?;
        let want = if buf.starts_with(b"PROXY ") {
            // A version 1 line: take what has arrived, up to its CRLF and no further.
            let mut peek = vec![0u8; proxyproto::V1_MAX.saturating_sub(buf.len()).max(1)];
            let k = recv(fd, &mut peek, libc::MSG_PEEK)?;
            let mut joined = buf.clone();
            joined.extend_from_slice(&peek[..k]);
            match proxyproto::v1_line_end(&joined) {
                Some(end) => end - buf.len(),
                None => k,
            }
        } else {
            need - buf.len()
        };
        let at = buf.len();
        buf.resize(at + want, 0);
        let k = recv(fd, &mut buf[at..], 0)?;
        buf.truncate(at + k);
    }
}

fn wait(fd: RawFd, deadline: Instant) -> Result<(), String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".into());
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: poll on one initialised pollfd.
        match unsafe { libc::poll(&mut p, 1, ms) } {
            n if n > 0 => return Ok(()),
            0 => {}
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return Err(indicore::errstr(&io::Error::last_os_error()).to_string()),
        }
    }
}

/// One recv; end of input is an error (the header is not complete).
fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<usize, String> {
    loop {
        // SAFETY: recv into a live buffer of its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
        match n {
            0 => return Err("connection closed".into()),
            n if n > 0 => return Ok(n as usize),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(indicore::errstr(&e).to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_header_is_read_exactly_and_the_rest_left() {
        for v in [1u8, 2] {
            let (mut a, b) = UnixStream::pair().unwrap();
            let src = "203.0.113.7:4455".parse().unwrap();
            let dst = "192.0.2.1:25".parse().unwrap();
            let mut bytes = proxyproto::encode(v, Some((src, dst)));
            bytes.extend_from_slice(b"HELO rest\r\n");
            // In two pieces, as a slow balancer would send it.
            let (first, second) = bytes.split_at(9);
            a.write_all(first).unwrap();
            let second = second.to_vec();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                a.write_all(&second).unwrap();
                a
            });
            let h = read_header(b.as_raw_fd(), Duration::from_secs(5)).unwrap();
            assert_eq!(
                h,
                Header::Proxied {
                    version: v,
                    source: src,
                    destination: dst
                }
            );
            drop(t.join().unwrap());
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut &b, &mut rest).unwrap();
            assert_eq!(rest, "HELO rest\r\n");
        }
    }

    #[test]
    fn slow_bad_and_cut_headers() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"PROXY TCP4 1.2.3.4").unwrap();
        let e = read_header(b.as_raw_fd(), Duration::from_millis(100)).unwrap_err();
        assert_eq!(e, "timed out");
        drop(a);
        assert_eq!(
            read_header(b.as_raw_fd(), Duration::from_secs(5)).unwrap_err(),
            "connection closed"
        );
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"EHLO x\r\n").unwrap();
        assert_eq!(
            read_header(b.as_raw_fd(), Duration::from_secs(5)).unwrap_err(),
            "no PROXY signature"
        );
    }
}
