//! RFC 1413 ident lookups (djb's `remoteinfo`), used for `TCPREMOTEINFO`.
//!
//! Connects from the local address of a connection to port 113 of its remote address, asks
//! `REMOTEPORT , LOCALPORT`, and keeps the reply line after its third colon with blanks and
//! CR removed, at most 257 bytes. The whole exchange has one deadline, so a silent or
//! trickling ident server never holds the caller longer than `timeout`.

use crate::ip::Ip;
use crate::net;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

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
    let left = || {
        let l = deadline.saturating_duration_since(Instant::now());
        if l.is_zero() {
            Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
        } else {
            Ok(l)
        }
    };
    let target = net::sockaddr(remote, 113, scope);
    let sock = net::tcp_socket(&target)?;
    net::bind(&sock, target.is_ipv4(), local, 0, scope)?;
    net::connect(&sock, &target.into(), left()?)?;
    let mut stream = std::net::TcpStream::from(sock);
    stream.set_write_timeout(Some(left()?))?;
    stream.write_all(format!("{rport} , {lport}\r\n").as_bytes())?;
    let mut out = Vec::new();
    let mut colons = 0;
    let mut buf = [0u8; 128];
    loop {
        stream.set_read_timeout(Some(left()?))?;
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
                    if out.len() > 256 {
                        return Ok(out);
                    }
                }
            }
        }
    }
}
