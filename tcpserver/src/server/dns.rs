//! Name lookups for the connection child: PTR names (`-h`, the local name), the
//! forward check of `-p`, and RFC 1413 ident (`-r`). Names go through the same resolver as
//! the reference's (djb's dns library: `$DNSCACHEIP` or resolv.conf, no /etc/hosts). They
//! run only in the child, so they never stall the accept loop, and each has a deadline: a
//! resolver that does not answer in time counts as "no name".

use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use ucspi::dns::Resolver;
use ucspi::{ip, net, remoteinfo};

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
    let sock = net::tcp_socket(&server).ok()?;
    // Unbindable (the local address is gone): ask from any address.
    let _ = sock.bind(&from.into());
    net::connect(&sock, &server.into(), remoteinfo::left(deadline).ok()?).ok()?;
    remoteinfo::exchange(sock.into(), ports, deadline, INFO_MAX).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
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
