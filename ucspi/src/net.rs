//! Socket plumbing shared by tcpclient and the ident client: sockets for 16-byte addresses,
//! connect with a timeout (djb's `timeoutconn`), and local/peer addresses in 16-byte form.

use crate::ip::{self, Ip};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

/// The socket address for a 16-byte address: mapped addresses become IPv4.
pub fn sockaddr(addr: &Ip, port: u16, scope: u32) -> SocketAddr {
    match ip::v4(addr) {
        Some(a) => SocketAddr::from((Ipv4Addr::from(a), port)),
        None => SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(*addr), port, 0, scope)),
    }
}

/// A TCP socket of the right family for connecting to `addr`.
pub fn tcp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    Socket::new(Domain::for_address(*addr), Type::STREAM.cloexec(), None)
}

/// Bind `sock` to `local`:`port`, where `local` is `::` for any. A mapped `local` on an IPv6
/// socket, or an IPv6 `local` on an IPv4 socket, is refused by the kernel as the reference's
/// is.
pub fn bind(sock: &Socket, family_v4: bool, local: &Ip, port: u16, scope: u32) -> io::Result<()> {
    let addr = if family_v4 {
        match (ip::v4(local), *local == ip::ANY) {
            (Some(a), _) => SocketAddr::from((Ipv4Addr::from(a), port)),
            (None, true) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
            (None, false) => return Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
        }
    } else {
        SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(*local), port, 0, scope))
    };
    sock.bind(&addr.into())
}

/// Connect within `timeout` (0 means the attempt fails at once with "timed out", as a zero
/// timeoutconn does). The socket is left blocking.
pub fn connect(sock: &Socket, addr: &SockAddr, timeout: Duration) -> io::Result<()> {
    if timeout.is_zero() {
        return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
    }
    sock.connect_timeout(addr, timeout).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            io::Error::from_raw_os_error(libc::ETIMEDOUT)
        } else {
            e
        }
    })
}

/// A socket address in 16-byte form.
pub fn to_ip(addr: &SockAddr) -> io::Result<(Ip, u16, u32)> {
    match addr.as_socket() {
        Some(SocketAddr::V4(a)) => Ok((ip::mapped(a.ip().octets()), a.port(), 0)),
        Some(SocketAddr::V6(a)) => Ok((a.ip().octets(), a.port(), a.scope_id())),
        None => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

/// The scope id of an interface name (0 when unknown, as `socket_getifidx`).
pub fn if_index(name: &[u8]) -> u32 {
    match std::ffi::CString::new(name) {
        // SAFETY: if_nametoindex reads a NUL-terminated string.
        Ok(c) => unsafe { libc::if_nametoindex(c.as_ptr()) },
        Err(_) => 0,
    }
}
