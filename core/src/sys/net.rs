//! Sockets and names: non-blocking send and receive on a connected socket, and the C
//! library's name services (getaddrinfo, getservbyname) for what only it knows: the
//! `hosts` and `services` sources of nsswitch.conf.

use std::ffi::CStr;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsFd;

use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags};

/// send(2) with MSG_DONTWAIT and MSG_NOSIGNAL: what the socket takes now, without blocking
/// and without SIGPIPE (a closed peer is EPIPE).
pub fn send_nowait(sock: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::net::send(
        sock,
        buf,
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
    )?)
}

/// recv(2) with MSG_DONTWAIT: what the socket holds now; 0 at the peer's end of data.
pub fn recv_nowait(sock: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rustix::net::recv(sock, buf, RecvFlags::DONTWAIT)?.0)
}

/// The port of TCP service `name` (getservbyname, "tcp"). Not thread-safe: its result is
/// the C library's static entry, read at once; the programs calling it are single-threaded.
pub fn tcp_service_port(name: &CStr) -> Option<u16> {
    // SAFETY: two NUL-terminated strings; the result is null or a valid servent, read
    // before any other call could overwrite it.
    unsafe {
        let se = libc::getservbyname(name.as_ptr(), c"tcp".as_ptr());
        (!se.is_null()).then(|| u16::from_be((*se).s_port as u16))
    }
}

/// The addresses getaddrinfo(3) gives for `host` (stream sockets, any family), in its
/// order, repeated ones included. `Err(None)`: the name has no address (EAI_NONAME,
/// EAI_NODATA, EAI_FAMILY); `Err(Some(e))`: the lookup failed (EAI_SYSTEM gives errno,
/// EAI_MEMORY ENOMEM, anything else EAGAIN, a temporary failure).
pub fn getaddrinfo(host: &CStr) -> Result<Vec<SocketAddr>, Option<io::Error>> {
    // SAFETY: all-zero addrinfo is a valid hints value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: a valid C string, hints and result pointer; the list is freed below.
    let rc = unsafe { libc::getaddrinfo(host.as_ptr(), std::ptr::null(), &hints, &mut res) };
    match rc {
        0 => {}
        libc::EAI_NONAME | libc::EAI_NODATA | libc::EAI_FAMILY => return Err(None),
        libc::EAI_SYSTEM => return Err(Some(io::Error::last_os_error())),
        libc::EAI_MEMORY => return Err(Some(Errno::NOMEM.into())),
        _ => return Err(Some(Errno::AGAIN.into())),
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned; each ai_addr holds ai_addrlen
        // bytes of the family it names.
        let ai = unsafe { &*p };
        let len = ai.ai_addrlen as usize;
        if !ai.ai_addr.is_null() {
            // SAFETY: as above; the sizes are checked before each read.
            let family = i32::from(unsafe { (*ai.ai_addr).sa_family });
            if family == libc::AF_INET && len >= size_of::<libc::sockaddr_in>() {
                // SAFETY: an AF_INET address of its full size.
                let sin = unsafe { &*ai.ai_addr.cast::<libc::sockaddr_in>() };
                out.push(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                    u16::from_be(sin.sin_port),
                )));
            } else if family == libc::AF_INET6 && len >= size_of::<libc::sockaddr_in6>() {
                // SAFETY: an AF_INET6 address of its full size.
                let sin6 = unsafe { &*ai.ai_addr.cast::<libc::sockaddr_in6>() };
                out.push(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )));
            }
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_nonblocking_socket_calls() {
        let found = getaddrinfo(c"127.0.0.1").unwrap();
        assert_eq!(found[0].ip(), std::net::IpAddr::from([127, 0, 0, 1]));
        assert!(getaddrinfo(c"::1").unwrap()[0].is_ipv6());
        assert_eq!(tcp_service_port(c"no-such-service-here"), None);
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            crate::sys::errno(&recv_nowait(&a, &mut buf).unwrap_err()),
            Some(Errno::AGAIN)
        );
        assert_eq!(send_nowait(&b, b"hi").unwrap(), 2);
        assert_eq!(recv_nowait(&a, &mut buf).unwrap(), 2);
        drop(b);
        assert_eq!(recv_nowait(&a, &mut buf).unwrap(), 0);
        assert_eq!(
            crate::sys::errno(&send_nowait(&a, b"x").unwrap_err()),
            Some(Errno::PIPE)
        );
    }
}
