//! `tcpclient -P 1|2`: a PROXY protocol header first on the connection, before TLS and
//! before the program's bytes, for a server behind which tcpclient stands as a balancer.
//!
//! The client it names: when tcpclient runs under a UCSPI server (`TCPREMOTEIP`,
//! `TCPREMOTEPORT`, `TCPLOCALIP` and `TCPLOCALPORT` all set and valid), the connection
//! that server accepted, so `tcpserver ... tcpclient -P2 backend 25` relays clients with
//! their own addresses; otherwise tcpclient's own connection. A UNIX-socket connection
//! outside a UCSPI server sends the address-less header (v1 `UNKNOWN`, v2 `LOCAL`).

use indicore::proxyproto;
use socket2::Socket;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

/// The addresses a UCSPI server left in `env`, when all four are there.
pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<(SocketAddr, SocketAddr)> {
    let addr = |ip: &str, port: &str| -> Option<SocketAddr> {
        let ip: IpAddr = env(ip)?.parse().ok()?;
        let port: u16 = env(port)?.parse().ok()?;
        Some(SocketAddr::new(ip, port))
    };
    Some((
        addr("TCPREMOTEIP", "TCPREMOTEPORT")?,
        addr("TCPLOCALIP", "TCPLOCALPORT")?,
    ))
}

/// Send the version `version` header on `sock` (`unix`: a UNIX-socket connection).
pub fn send(sock: &Socket, version: u8, unix: bool) -> std::io::Result<()> {
    let addrs = from_env(|k| std::env::var(k).ok()).or_else(|| {
        if unix {
            return None;
        }
        let own = |a: std::io::Result<socket2::SockAddr>| a.ok()?.as_socket();
        Some((own(sock.local_addr())?, own(sock.peer_addr())?))
    });
    let mut s: &Socket = sock;
    s.write_all(&proxyproto::encode(version, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_from_a_ucspi_environment() {
        fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        }
        let full = [
            ("TCPREMOTEIP", "203.0.113.7"),
            ("TCPREMOTEPORT", "4455"),
            ("TCPLOCALIP", "::1"),
            ("TCPLOCALPORT", "25"),
        ];
        assert_eq!(
            from_env(env(&full)),
            Some((
                "203.0.113.7:4455".parse().unwrap(),
                "[::1]:25".parse().unwrap()
            ))
        );
        assert_eq!(from_env(env(&full[..3])), None);
        let bad = [
            ("TCPREMOTEIP", "x"),
            ("TCPREMOTEPORT", "1"),
            ("TCPLOCALIP", "::1"),
            ("TCPLOCALPORT", "25"),
        ];
        assert_eq!(from_env(env(&bad)), None);
    }
}
