//! Sockets: resolving the bind address and port (docs/ucspi-tcp.md#host-and-port), creating the listening socket
//! with the reference's options (docs/ucspi-tcp.md#tcpserver-startup, step 5), accepting, and sockaddr conversions.

use indicore::Failure;
use std::ffi::{CString, OsStr};
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use ucspi::rules::{mapped_v4, scan_ip4, scan_ip6};

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

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

/// A socket address as the kernel takes it.
pub struct RawAddr {
    pub storage: libc::sockaddr_storage,
    pub len: libc::socklen_t,
}

impl RawAddr {
    pub fn from_std(a: &SocketAddr) -> RawAddr {
        // SAFETY: all-zero is a valid sockaddr_storage.
        let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
        let len = match a {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
                let sin = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr.s6_addr = a.ip().octets();
                sin6.sin6_scope_id = a.scope_id();
                sin6.sin6_flowinfo = a.flowinfo();
                size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    pub fn empty() -> RawAddr {
        RawAddr {
            // SAFETY: all-zero is a valid sockaddr_storage.
            storage: unsafe { zeroed() },
            len: size_of::<libc::sockaddr_storage>() as libc::socklen_t,
        }
    }

    /// The address, when it is an IPv4 or IPv6 one.
    pub fn to_std(&self) -> Option<SocketAddr> {
        match i32::from(self.storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in.
                let sin = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in) };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in6) };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

fn setopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: value points to a live T of the given size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn socket(family: libc::c_int) -> Result<OwnedFd, Failure> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = cvt(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })
    .map_err(|e| Failure::temp_sys("unable to create socket: ", &e))?;
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn bind_listen(fd: &OwnedFd, addr: &RawAddr, backlog: i32) -> Result<(), Failure> {
    // SAFETY: addr holds a valid socket address of len bytes.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &addr.storage as *const _ as *const libc::sockaddr,
            addr.len,
        )
    })
    .map_err(|e| Failure::temp_sys("unable to bind: ", &e))?;
    // SAFETY: listen on our socket.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })
        .map_err(|e| Failure::temp_sys("unable to listen: ", &e))?;
    Ok(())
}

/// A non-blocking, close-on-exec listening TCP socket with SO_REUSEADDR; the wildcard
/// IPv6 socket accepts IPv4 clients too. Returns the socket and the address it got.
///
/// No SO_LINGER (the reference sets {1,60}, and every connection inherits it): with it
/// a program's exit waits until the client has acknowledged the last byte, holding a
/// `-c` slot for up to a minute per slow client; without it the kernel finishes the
/// close in the background, as djb's tcpserver does.
pub fn listen_tcp(addr: SocketAddr, backlog: i32) -> Result<(OwnedFd, SocketAddr), Failure> {
    let fd = socket(if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    })?;
    let raw = fd.as_raw_fd();
    let _ = setopt(
        raw,
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        &1 as &libc::c_int,
    );
    if addr.is_ipv6() {
        let _ = setopt(
            raw,
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            &0 as &libc::c_int,
        );
    }
    bind_listen(&fd, &RawAddr::from_std(&addr), backlog)?;
    let local = local_addr(raw).map_err(|e| Failure::temp_sys("unable to bind: ", &e))?;
    Ok((fd, local))
}

/// A non-blocking, close-on-exec listening UNIX socket at `path` (no unlink first).
pub fn listen_unix(path: &Path, backlog: i32) -> Result<OwnedFd, Failure> {
    let fd = socket(libc::AF_UNIX)?;
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut sun: libc::sockaddr_un = unsafe { zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let p = path.as_os_str().as_bytes();
    if p.len() >= sun.sun_path.len() {
        return Err(Failure::temp_sys(
            "unable to bind: ",
            &io::Error::from_raw_os_error(libc::ENAMETOOLONG),
        ));
    }
    for (d, s) in sun.sun_path.iter_mut().zip(p) {
        *d = *s as libc::c_char;
    }
    let mut addr = RawAddr::empty();
    // SAFETY: sockaddr_un fits in sockaddr_storage.
    unsafe { std::ptr::write(&mut addr.storage as *mut _ as *mut libc::sockaddr_un, sun) };
    addr.len = size_of::<libc::sockaddr_un>() as libc::socklen_t;
    bind_listen(&fd, &addr, backlog)?;
    Ok(fd)
}

/// The socket's own address.
pub fn local_addr(fd: RawFd) -> io::Result<SocketAddr> {
    let mut a = RawAddr::empty();
    // SAFETY: getsockname into storage of len bytes.
    cvt(unsafe {
        libc::getsockname(
            fd,
            &mut a.storage as *mut _ as *mut libc::sockaddr,
            &mut a.len,
        )
    })?;
    a.to_std()
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))
}

/// accept4 with close-on-exec: the connection and the peer (None for UNIX sockets).
pub fn accept(listener: RawFd) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
    let mut a = RawAddr::empty();
    // SAFETY: accept4 into storage of len bytes.
    let fd = cvt(unsafe {
        libc::accept4(
            listener,
            &mut a.storage as *mut _ as *mut libc::sockaddr,
            &mut a.len,
            libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: fd is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok((fd, a.to_std()))
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
    let _ = setopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &1 as &libc::c_int);
}

/// if_nametoindex: 0 when unknown.
pub fn interface_index(name: &OsStr) -> u32 {
    CString::new(name.as_bytes())
        // SAFETY: if_nametoindex with a valid C string.
        .map(|c| unsafe { libc::if_nametoindex(c.as_ptr()) })
        .unwrap_or(0)
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
