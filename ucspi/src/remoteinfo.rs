//! RFC 1413 ident lookups (djb's `remoteinfo`), used for `TCPREMOTEINFO`.
//!
//! Connects from the local address of a connection to port 113 of its remote address, asks
//! `REMOTEPORT , LOCALPORT`, and keeps the reply line after its third colon with blanks and
//! CR removed, at most 257 bytes (tcpserver keeps 256). The whole exchange has one deadline, so a silent or
//! trickling ident server never holds the caller longer than `timeout`.

use crate::ip::Ip;
use crate::net;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Most bytes tcpclient keeps of an answer (`TCPREMOTEINFO`).
pub const CLIENT_MAX: usize = 257;

/// The ident answer for the connection `local`:`lport` to `remote`:`rport`.
pub fn remoteinfo(
    remote: &Ip,
    rport: u16,
    local: &Ip,
    lport: u16,
    scope: u32,
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let target = net::sockaddr(remote, 113, scope);
    let sock = net::tcp_socket(&target)?;
    net::bind(&sock, target.is_ipv4(), local, 0, scope)?;
    net::connect(&sock, &target.into(), left(deadline)?)?;
    exchange(sock.into(), (rport, lport), deadline, CLIENT_MAX)
}

/// What is left until `deadline`; ETIMEDOUT once it has passed.
pub fn left(deadline: Instant) -> io::Result<Duration> {
    let l = deadline.saturating_duration_since(Instant::now());
    if l.is_zero() {
        Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
    } else {
        Ok(l)
    }
}

/// The question and answer on a connected `stream`, about the port pair `(theirs, ours)`,
/// all before `deadline`: the answer's text after its third colon, blanks and CRs
/// removed, at most `max` bytes.
pub fn exchange(
    mut stream: TcpStream,
    ports: (u16, u16),
    deadline: Instant,
    max: usize,
) -> io::Result<Vec<u8>> {
    stream.set_write_timeout(Some(left(deadline)?))?;
    stream.write_all(format!("{} , {}\r\n", ports.0, ports.1).as_bytes())?;
    let mut out = Vec::new();
    let mut colons = 0;
    let mut buf = [0u8; 128];
    loop {
        stream.set_read_timeout(Some(left(deadline)?))?;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Err(io::Error::from_raw_os_error(libc::EPROTO)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
            }
            Err(e) => return Err(e),
        };
        for &c in &buf[..n] {
            match c {
                b' ' | b'\t' | b'\r' => {}
                b'\n' => return Ok(out),
                b':' if colons < 3 => colons += 1,
                _ if colons < 3 => {}
                _ => {
                    out.push(c);
                    if out.len() >= max {
                        return Ok(out);
                    }
                }
            }
        }
    }
}
