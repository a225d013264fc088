//! Name lookups for the connection child: PTR names (`-h`, the local name), the
//! forward check of `-p`, and RFC 1413 ident (`-r`). Names go through the same resolver as
//! the reference's (djb's dns library: `$DNSCACHEIP` or resolv.conf, no /etc/hosts). They
//! run only in the child, so they never stall the accept loop, and each has a deadline: a
//! resolver that does not answer in time counts as "no name".

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use ucspi::dns::Resolver;
use ucspi::ip;

/// How long one name lookup may take before it counts as failed.
pub const NAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Run `f` on a helper thread and wait at most `limit` for its answer; None on
/// timeout (the thread is abandoned; it ends with the process or at exec).
pub fn with_deadline<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .ok()?;
    rx.recv_timeout(limit).ok()
}

/// v4-mapped addresses as IPv4, so lookups use the IPv4 records.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => ucspi::rules::mapped_v4(&a).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The PTR name of `ip`, within [`NAME_TIMEOUT`] (an empty name is no name).
pub fn reverse(ip: IpAddr) -> Option<String> {
    let ip = ip::from_std(canonical(ip));
    with_deadline(NAME_TIMEOUT, move || {
        Resolver::new().name(&ip).ok().flatten()
    })
    .flatten()
    .filter(|n| !n.is_empty())
}

/// Whether `name` resolves to `ip` (the `-p` check), within [`NAME_TIMEOUT`].
pub fn forward_confirms(name: &str, ip: IpAddr) -> bool {
    let ip = ip::from_std(canonical(ip));
    let name = name.as_bytes().to_vec();
    with_deadline(NAME_TIMEOUT, move || {
        Resolver::new().ip(&name).is_ok_and(|v| v.contains(&ip))
    })
    .unwrap_or(false)
}

/// Most bytes of an ident answer kept.
const INFO_MAX: usize = 256;

/// RFC 1413: ask the client's ident server who owns the connection, within `timeout`
/// for the whole exchange. The answer keeps what follows the third `:`, without
/// blanks and CRs.
pub fn ident(local: SocketAddr, remote: SocketAddr, timeout: Duration) -> Option<Vec<u8>> {
    let server = SocketAddr::new(canonical(remote.ip()), 113);
    let from = SocketAddr::new(canonical(local.ip()), 0);
    ident_query(from, server, (remote.port(), local.port()), timeout)
}

/// The ident exchange with `server`, asking about the port pair `(theirs, ours)`.
fn ident_query(
    from: SocketAddr,
    server: SocketAddr,
    ports: (u16, u16),
    timeout: Duration,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    let mut s = connect_from(from, server, left()?)?;
    let question = format!("{} , {}\r\n", ports.0, ports.1);
    s.set_write_timeout(Some(left()?)).ok()?;
    s.write_all(question.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let mut colons = 0;
    let mut buf = [0u8; 512];
    loop {
        s.set_read_timeout(Some(left()?)).ok()?;
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        for &c in &buf[..n] {
            match c {
                b' ' | b'\t' | b'\r' => {}
                b'\n' => return Some(answer),
                b':' if colons < 3 => colons += 1,
                _ if colons < 3 => {}
                _ => {
                    answer.push(c);
                    if answer.len() >= INFO_MAX {
                        return Some(answer);
                    }
                }
            }
        }
    }
}

/// A TCP connection from `from` (port 0) to `to`, given up after `limit`.
fn connect_from(from: SocketAddr, to: SocketAddr, limit: Duration) -> Option<TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let family = if to.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2), owned at once.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is fresh and ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let f = super::net::RawAddr::from_std(&from);
    let t = super::net::RawAddr::from_std(&to);
    // SAFETY: valid addresses of the given lengths.
    unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &f.storage as *const _ as *const libc::sockaddr,
            f.len,
        );
        if libc::connect(
            fd.as_raw_fd(),
            &t.storage as *const _ as *const libc::sockaddr,
            t.len,
        ) < 0
            && io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS)
        {
            return None;
        }
    }
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = limit.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: poll on one pollfd.
    if unsafe { libc::poll(&mut pfd, 1, ms) } != 1 {
        return None;
    }
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: SO_ERROR into an int.
    unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        );
    }
    if err != 0 {
        return None;
    }
    let s = TcpStream::from(fd);
    s.set_nonblocking(false).ok()?;
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn deadline_gives_up_on_a_stuck_lookup() {
        let start = Instant::now();
        let r = with_deadline(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(5));
            1
        });
        assert_eq!(r, None);
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(with_deadline(Duration::from_secs(5), || 7), Some(7));
    }

    #[test]
    fn ident_answer_is_parsed_and_bounded_in_time() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut q = [0u8; 64];
            let n = c.read(&mut q).unwrap();
            assert_eq!(&q[..n], b"4000 , 25\r\n");
            c.write_all(b"4000 , 25 : USERID : UNIX : jo e\r\n")
                .unwrap();
        });
        // Talk to the test listener by pretending it is port 113 of the peer.
        let got = ident_at(port, Duration::from_secs(5));
        t.join().unwrap();
        assert_eq!(got.as_deref(), Some(&b"joe"[..]));
        // A server that never answers: the deadline ends the exchange.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let start = Instant::now();
        assert_eq!(ident_at(port, Duration::from_millis(200)), None);
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(l);
    }

    fn ident_at(port: u16, timeout: Duration) -> Option<Vec<u8>> {
        let from: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        ident_query(from, to, (4000, 25), timeout)
    }
}
