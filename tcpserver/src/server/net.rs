//! Sockets: resolving the bind address and port (docs/ucspi-tcp.md#host-and-port), creating the listening socket
//! with the reference's options (docs/ucspi-tcp.md#tcpserver-startup, step 5), and accepting, on
//! socket2.

use indicore::Failure;
use socket2::{Domain, SockAddr, SockRef, Socket, Type};
use std::ffi::{CString, OsStr};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use ucspi::rules::{mapped_v4, scan_ip4, scan_ip6};

/// The port: decimal when all digits (`016` is 16), else a `tcp` service name.
pub fn resolve_port(port: &OsStr) -> Result<u16, Failure> {
    let b = port.as_bytes();
    let unknown = || {
        Failure::temp(format!(
            "unable to figure out port number for {}",
            port.to_string_lossy()
        ))
    };
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        let n = super::options::scan_ulong(b);
        return u16::try_from(n).map_err(|_| unknown());
    }
    let name = CString::new(b).map_err(|_| unknown())?;
    // SAFETY: getservbyname with valid C strings; the static result is read at once.
    let s = unsafe { libc::getservbyname(name.as_ptr(), c"tcp".as_ptr()) };
    if s.is_null() {
        return Err(unknown());
    }
    // SAFETY: s is non-null and points to the static servent.
    Ok(u16::from_be(unsafe { (*s).s_port } as u16))
}

/// The address to bind for `host` (docs/ucspi-tcp.md#host-and-port): `0` and `::` are the dual-stack wildcard (or
/// 0.0.0.0 with `-4`); literals are used as they are; names are resolved (first
/// address). IPv4 and v4-mapped results give an IPv4 socket.
pub fn resolve_host(host: &str, ipv4_only: bool) -> Result<IpAddr, Failure> {
    if host == "0" || host == "::" {
        return Ok(if ipv4_only {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        });
    }
    let unmap = |a: Ipv6Addr| mapped_v4(&a).map_or(IpAddr::V6(a), IpAddr::V4);
    if let Some(a) = scan_ip4(host) {
        return Ok(IpAddr::V4(a));
    }
    if let Some(a) = scan_ip6(host) {
        let a = unmap(a);
        if ipv4_only && a.is_ipv6() {
            return Err(Failure::temp(format!("no IP address for {host}")));
        }
        return Ok(a);
    }
    // Names are qualified and looked up as the reference does (djb's dns library:
    // `$DNSREWRITEFILE`/`$LOCALDOMAIN`, `$DNSCACHEIP` or resolv.conf; no /etc/hosts).
    match ucspi::dns::Resolver::new().ip_qualify(host.as_bytes()) {
        Ok((addrs, _)) => addrs
            .iter()
            .map(ucspi::ip::to_std)
            .find(|a| !ipv4_only || a.is_ipv4())
            .ok_or_else(|| Failure::temp(format!("no IP address for {host}"))),
        Err(e) => Err(Failure::temp(format!(
            "temporarily unable to figure out IP address for {host}: {}",
            indicore::errstr(&e)
        ))),
    }
}

fn socket(domain: Domain) -> Result<Socket, Failure> {
    Socket::new(domain, Type::STREAM.nonblocking().cloexec(), None)
        .map_err(|e| Failure::temp_sys("unable to create socket: ", &e))
}

fn bind_listen(sock: &Socket, addr: &SockAddr, backlog: i32) -> Result<(), Failure> {
    sock.bind(addr)
        .map_err(|e| Failure::temp_sys("unable to bind: ", &e))?;
    sock.listen(backlog)
        .map_err(|e| Failure::temp_sys("unable to listen: ", &e))
}

/// A non-blocking, close-on-exec listening TCP socket with SO_REUSEADDR; the wildcard
/// IPv6 socket accepts IPv4 clients too. Returns the socket and the address it got.
///
/// No SO_LINGER (the reference sets {1,60}, and every connection inherits it): with it
/// a program's exit waits until the client has acknowledged the last byte, holding a
/// `-c` slot for up to a minute per slow client; without it the kernel finishes the
/// close in the background, as djb's tcpserver does.
pub fn listen_tcp(addr: SocketAddr, backlog: i32) -> Result<(OwnedFd, SocketAddr), Failure> {
    let sock = socket(Domain::for_address(addr))?;
    let _ = sock.set_reuse_address(true);
    if addr.is_ipv6() {
        let _ = sock.set_only_v6(false);
    }
    bind_listen(&sock, &addr.into(), backlog)?;
    let fd = OwnedFd::from(sock);
    let local =
        local_addr(fd.as_raw_fd()).map_err(|e| Failure::temp_sys("unable to bind: ", &e))?;
    Ok((fd, local))
}

/// A non-blocking, close-on-exec listening UNIX socket at `path` (no unlink first).
pub fn listen_unix(path: &Path, backlog: i32) -> Result<OwnedFd, Failure> {
    let sock = socket(Domain::UNIX)?;
    // The one refusal: a path sun_path cannot hold with its NUL.
    let addr = SockAddr::unix(path).map_err(|_| {
        Failure::temp_sys(
            "unable to bind: ",
            &io::Error::from_raw_os_error(libc::ENAMETOOLONG),
        )
    })?;
    bind_listen(&sock, &addr, backlog)?;
    Ok(OwnedFd::from(sock))
}

/// `f` on the socket behind `fd`, a descriptor the caller keeps open for the call.
fn with_socket<T>(fd: RawFd, f: impl FnOnce(&SockRef<'_>) -> T) -> T {
    // SAFETY: the caller keeps fd open until f returns.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    f(&SockRef::from(&fd))
}

/// The socket's own address.
pub fn local_addr(fd: RawFd) -> io::Result<SocketAddr> {
    with_socket(fd, |s| s.local_addr())?
        .as_socket()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))
}

/// accept4 with close-on-exec: the connection and the peer (None for UNIX sockets).
pub fn accept(listener: RawFd) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
    let (sock, peer) = with_socket(listener, |s| s.accept())?;
    Ok((OwnedFd::from(sock), peer.as_socket()))
}

/// The 16 bytes the per-IP table compares (IPv4 as v4-mapped; UNIX peers all zero).
pub fn ip16(peer: Option<&SocketAddr>) -> [u8; 16] {
    match peer {
        Some(SocketAddr::V4(a)) => a.ip().to_ipv6_mapped().octets(),
        Some(SocketAddr::V6(a)) => a.ip().octets(),
        None => [0; 16],
    }
}

/// Clear IP options on an accepted socket (`-O`); errors are ignored.
pub fn kill_ip_options(fd: RawFd) {
    // SAFETY: setsockopt with an empty option value.
    unsafe {
        libc::setsockopt(fd, libc::IPPROTO_IP, libc::IP_OPTIONS, std::ptr::null(), 0);
    }
}

/// TCP_NODELAY (`-D`); errors are ignored.
pub fn set_nodelay(fd: RawFd) {
    let _ = with_socket(fd, |s| s.set_tcp_nodelay(true));
}

/// if_nametoindex: 0 when unknown.
pub fn interface_index(name: &OsStr) -> u32 {
    ucspi::net::if_index(name.as_bytes())
}

/// if_indextoname.
pub fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf holds IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    Some(
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}
