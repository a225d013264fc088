//! The PROXY protocol (HAProxy's, versions 1 and 2): the header a load balancer sends
//! before the client's bytes, naming the client and the address it connected to.
//! tcpserver parses it (from trusted peers only), tcpclient writes it.
//!
//! Version 1 is one text line of at most 107 bytes ending in CRLF:
//! `PROXY TCP4 src dst sport dport`, `PROXY TCP6 ...` or `PROXY UNKNOWN ...`.
//! Version 2 is binary: a 12-byte signature, version and command, family and transport,
//! a 16-bit length, then the addresses and optional TLVs (skipped here).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The first 12 bytes of every version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest version 1 line, CRLF included.
pub const V1_MAX: usize = 107;
/// Bytes to read before the version and the length are known: the shortest header of
/// either version (`PROXY UNKNOWN\r\n` is 15 bytes, version 2's fixed part 16).
pub const PREFIX: usize = 15;

/// What a complete header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The client (`source`) connected to `destination` through the balancer.
    Proxied {
        version: u8,
        source: SocketAddr,
        destination: SocketAddr,
    },
    /// No client addresses (v1 `UNKNOWN`, v2 `LOCAL`, or a family other than TCP over
    /// IPv4/IPv6): the connection stands for itself.
    Local { version: u8 },
}

impl Header {
    pub fn version(&self) -> u8 {
        match self {
            Header::Proxied { version, .. } | Header::Local { version } => *version,
        }
    }
}

/// How far a buffer that starts a header has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// The header is complete and is the first `len` bytes.
    Done(Header, usize),
    /// At least this many bytes in all are needed before it can be decided.
    Need(usize),
    /// Not a valid header; the text says why.
    Bad(&'static str),
}

/// Parse the start of `buf` as a header of either version. Never reads past the header:
/// `Need` tells a reader exactly how much more a version 2 header takes; a version 1
/// reader must look for the line's end itself (see [`v1_line_end`]).
pub fn parse(buf: &[u8]) -> Parse {
    // A wrong first byte is refused at once, without waiting for more.
    let n2 = buf.len().min(V2_SIGNATURE.len());
    if buf[..n2] == V2_SIGNATURE[..n2] {
        if n2 < V2_SIGNATURE.len() {
            return Parse::Need(PREFIX);
        }
        return parse_v2(buf);
    }
    let n1 = buf.len().min(6);
    if buf[..n1] == b"PROXY "[..n1] {
        if buf.len() < PREFIX {
            return Parse::Need(PREFIX);
        }
        return match v1_line_end(buf) {
            Some(end) => match parse_v1(&buf[..end - 2]) {
                Ok(h) => Parse::Done(h, end),
                Err(why) => Parse::Bad(why),
            },
            None if buf.len() >= V1_MAX => Parse::Bad("version 1 line too long"),
            None if buf.contains(&b'\n') || buf.contains(&0) => {
                Parse::Bad("version 1 line not ended by CRLF")
            }
            None => Parse::Need(buf.len() + 1),
        };
    }
    Parse::Bad("no PROXY signature")
}

/// The length of the version 1 line in `buf` up to and including its CRLF.
pub fn v1_line_end(buf: &[u8]) -> Option<usize> {
    let lim = buf.len().min(V1_MAX);
    buf[..lim]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| i + 2)
}

fn parse_v1(line: &[u8]) -> Result<Header, &'static str> {
    let text = std::str::from_utf8(line).map_err(|_| "version 1 line is not text")?;
    let mut words = text.split(' ');
    words.next(); // PROXY
    let family = words.next().ok_or("version 1 family missing")?;
    let v6 = match family {
        "TCP4" => false,
        "TCP6" => true,
        // Anything may follow UNKNOWN; the receiver ignores it.
        "UNKNOWN" => return Ok(Header::Local { version: 1 }),
        _ => return Err("version 1 family unknown"),
    };
    let fields: Vec<&str> = words.collect();
    let [src, dst, sport, dport] = fields[..] else {
        return Err("version 1 needs four address fields");
    };
    let ip = |s: &str| -> Result<IpAddr, &'static str> {
        if v6 {
            s.parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .map_err(|_| "version 1 address is not IPv6")
        } else {
            s.parse::<Ipv4Addr>()
                .map(IpAddr::V4)
                .map_err(|_| "version 1 address is not IPv4")
        }
    };
    let port = |s: &str| -> Result<u16, &'static str> {
        let ok = !s.is_empty()
            && s.len() <= 5
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        ok.then(|| s.parse().ok())
            .flatten()
            .ok_or("version 1 port is not a number from 0 to 65535")
    };
    Ok(Header::Proxied {
        version: 1,
        source: SocketAddr::new(ip(src)?, port(sport)?),
        destination: SocketAddr::new(ip(dst)?, port(dport)?),
    })
}

fn parse_v2(buf: &[u8]) -> Parse {
    if buf.len() < 16 {
        return Parse::Need(16);
    }
    let (ver, cmd) = (buf[12] >> 4, buf[12] & 0x0f);
    if ver != 2 {
        return Parse::Bad("version 2 signature with another version");
    }
    let (family, transport) = (buf[13] >> 4, buf[13] & 0x0f);
    if family > 3 || transport > 2 {
        return Parse::Bad("version 2 family or transport unknown");
    }
    let len = 16 + usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if buf.len() < len {
        return Parse::Need(len);
    }
    let body = &buf[16..len];
    let header = match cmd {
        0 => Header::Local { version: 2 },
        1 => match (family, transport) {
            (1, 1) => {
                if body.len() < 12 {
                    return Parse::Bad("version 2 IPv4 addresses cut short");
                }
                let ip = |i: usize| {
                    IpAddr::V4(Ipv4Addr::new(
                        body[i],
                        body[i + 1],
                        body[i + 2],
                        body[i + 3],
                    ))
                };
                let port = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
                Header::Proxied {
                    version: 2,
                    source: SocketAddr::new(ip(0), port(8)),
                    destination: SocketAddr::new(ip(4), port(10)),
                }
            }
            (2, 1) => {
                if body.len() < 36 {
                    return Parse::Bad("version 2 IPv6 addresses cut short");
                }
                let ip = |i: usize| {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(&body[i..i + 16]);
                    IpAddr::V6(Ipv6Addr::from(o))
                };
                let port = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
                Header::Proxied {
                    version: 2,
                    source: SocketAddr::new(ip(0), port(32)),
                    destination: SocketAddr::new(ip(16), port(34)),
                }
            }
            // UNSPEC, UDP and UNIX: the receiver falls back to the real endpoints.
            _ => Header::Local { version: 2 },
        },
        _ => return Parse::Bad("version 2 command unknown"),
    };
    Parse::Done(header, len)
}

/// The header of `version` (1 or 2) for a connection from `source` to `destination`,
/// or the address-less one (v1 `UNKNOWN`, v2 `LOCAL`) when they are not known. An IPv4
/// address beside an IPv6 one is written v4-mapped, so that both have one family.
pub fn encode(version: u8, addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    let addrs = addrs.map(|(s, d)| match (unmap(s), unmap(d)) {
        (s @ SocketAddr::V4(_), d @ SocketAddr::V4(_)) => (s, d),
        (s, d) => (to_v6(s), to_v6(d)),
    });
    if version == 1 {
        return match addrs {
            Some((s, d)) => format!(
                "PROXY {} {} {} {} {}\r\n",
                if s.is_ipv4() { "TCP4" } else { "TCP6" },
                s.ip(),
                d.ip(),
                s.port(),
                d.port()
            )
            .into_bytes(),
            None => b"PROXY UNKNOWN\r\n".to_vec(),
        };
    }
    let mut out = V2_SIGNATURE.to_vec();
    match addrs {
        None => out.extend_from_slice(&[0x20, 0x00, 0, 0]),
        Some((s, d)) => {
            let (fam, ips): (u8, Vec<u8>) = match (s.ip(), d.ip()) {
                (IpAddr::V4(a), IpAddr::V4(b)) => (0x11, [a.octets(), b.octets()].concat()),
                (a, b) => (0x21, [v6(a).octets(), v6(b).octets()].concat()),
            };
            let len = (ips.len() + 4) as u16;
            out.extend_from_slice(&[0x21, fam]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&ips);
            out.extend_from_slice(&s.port().to_be_bytes());
            out.extend_from_slice(&d.port().to_be_bytes());
        }
    }
    out
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

fn to_v6(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(v6(a.ip())), a.port())
}

fn unmap(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn both_versions_round_trip() {
        for (s, d) in [
            ("203.0.113.7:4455", "192.0.2.1:25"),
            ("[2001:db8::7]:4455", "[2001:db8::1]:25"),
        ] {
            for v in [1, 2] {
                let bytes = encode(v, Some((sa(s), sa(d))));
                let want = Header::Proxied {
                    version: v,
                    source: sa(s),
                    destination: sa(d),
                };
                assert_eq!(parse(&bytes), Parse::Done(want, bytes.len()));
                // Followed by data: the header ends where it ends.
                let mut more = bytes.clone();
                more.extend_from_slice(b"EHLO x\r\n");
                assert_eq!(parse(&more), Parse::Done(want, bytes.len()));
                // Every proper prefix asks for more.
                for cut in 0..bytes.len() {
                    assert!(
                        matches!(parse(&bytes[..cut]), Parse::Need(n) if n > cut),
                        "{v} {cut}"
                    );
                }
            }
        }
        assert_eq!(
            encode(1, Some((sa("10.0.0.1:1"), sa("[::ffff:10.0.0.2]:2")))),
            b"PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n"
        );
        assert_eq!(
            encode(1, Some((sa("10.0.0.1:1"), sa("[::1]:2")))),
            b"PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n"
        );
    }

    #[test]
    fn local_and_unknown() {
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\n"),
            Parse::Done(Header::Local { version: 1 }, 15)
        );
        assert_eq!(
            parse(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nxyz"),
            Parse::Done(Header::Local { version: 1 }, 35)
        );
        let local = encode(2, None);
        assert_eq!(parse(&local), Parse::Done(Header::Local { version: 2 }, 16));
        // PROXY command over UNIX sockets: the real endpoints stand.
        let mut unix = V2_SIGNATURE.to_vec();
        unix.extend_from_slice(&[0x21, 0x31, 0, 216]);
        unix.extend_from_slice(&[0; 216]);
        assert_eq!(parse(&unix), Parse::Done(Header::Local { version: 2 }, 232));
    }

    #[test]
    fn malformed_headers() {
        let bad = |b: &[u8]| match parse(b) {
            Parse::Bad(_) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(b)),
        };
        bad(b"GET / HTTP/1.0\r\n");
        bad(b"G");
        bad(b"PROXX");
        bad(b"\r\n\r\n\0\r\nQUIX");
        bad(b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
        bad(b"PROXY TCP4 1.2.3.4 ::1 1 2\r\n");
        bad(b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n");
        bad(b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
        bad(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n");
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.resize(V1_MAX + 5, b'x');
        bad(&long);
        let good = encode(2, Some((sa("1.2.3.4:1"), sa("5.6.7.8:2"))));
        let mut v3 = good.clone();
        v3[12] = 0x31;
        bad(&v3);
        let mut cmd = good.clone();
        cmd[12] = 0x22;
        bad(&cmd);
        let mut fam = good.clone();
        fam[13] = 0x41;
        bad(&fam);
        let mut short = good.clone();
        short[15] = 4;
        short.truncate(20);
        bad(&short);
    }
}
