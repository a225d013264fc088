//! Addresses the way the djb/IndiMail programs scan and print them.
//!
//! Every address is held as 16 bytes, IPv4 as the v4-mapped form `::ffff:a.b.c.d`, as the
//! reference's IPv6 builds do. Printing follows the reference's `ip6_fmt`: lowercase hex,
//! the **first** run of at least two zero groups compressed (not necessarily the longest),
//! mapped addresses as `::ffff:a.b.c.d`. [`fmt`] prints mapped addresses as a dotted quad,
//! which is what every environment variable and message uses unless `-6` is given.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An address in the reference's 16-byte form.
pub type Ip = [u8; 16];

const MAPPED_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// The unspecified address `::`.
pub const ANY: Ip = [0; 16];
/// `::1`.
pub const LOOPBACK6: Ip = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// The v4-mapped form of an IPv4 address.
pub fn mapped(v4: [u8; 4]) -> Ip {
    let mut ip = [0; 16];
    ip[..12].copy_from_slice(&MAPPED_PREFIX);
    ip[12..].copy_from_slice(&v4);
    ip
}

/// True for `::ffff:a.b.c.d`.
pub fn is_mapped(ip: &Ip) -> bool {
    ip[..12] == MAPPED_PREFIX
}

/// The IPv4 part of a mapped address.
pub fn v4(ip: &Ip) -> Option<[u8; 4]> {
    is_mapped(ip).then(|| [ip[12], ip[13], ip[14], ip[15]])
}

/// A standard address: mapped addresses become IPv4.
pub fn to_std(ip: &Ip) -> IpAddr {
    match v4(ip) {
        Some(a) => IpAddr::V4(Ipv4Addr::from(a)),
        None => IpAddr::V6(Ipv6Addr::from(*ip)),
    }
}

/// The 16-byte form of a standard address.
pub fn from_std(ip: IpAddr) -> Ip {
    match ip {
        IpAddr::V4(a) => mapped(a.octets()),
        IpAddr::V6(a) => a.octets(),
    }
}

/// The 16-byte form and port of a socket address.
pub fn from_sockaddr(sa: &SocketAddr) -> (Ip, u16) {
    (from_std(sa.ip()), sa.port())
}

/// Dotted quad.
pub fn fmt4(a: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// The reference's `ip6_fmt`: always the IPv6 text (`::ffff:1.2.3.4` for mapped addresses).
pub fn fmt6(ip: &Ip) -> String {
    let group = |j: usize| u16::from(ip[j]) << 8 | u16::from(ip[j + 1]);
    let mut s = String::new();
    let (mut compressing, mut compressed) = (false, false);
    for j in (0..16).step_by(2) {
        if j == 12 && is_mapped(ip) {
            s.push_str(&fmt4([ip[12], ip[13], ip[14], ip[15]]));
            return s;
        }
        let g = group(j);
        // A run starts only where two zero groups follow each other; the last group
        // has no successor, so a single trailing zero is printed.
        let next_zero = compressing || (j < 14 && group(j + 2) == 0);
        if g == 0 && next_zero && !compressed {
            if !compressing {
                compressing = true;
                if j == 0 {
                    s.push(':');
                }
            }
        } else {
            if compressing {
                compressing = false;
                compressed = true;
                s.push(':');
            }
            let _ = write!(s, "{g:x}");
            if j < 14 {
                s.push(':');
            }
        }
    }
    if compressing {
        s.push(':');
    }
    s
}

/// The text environment variables and messages use: a dotted quad for mapped addresses
/// (unless `force6`), otherwise [`fmt6`].
pub fn fmt(ip: &Ip, force6: bool) -> String {
    match v4(ip) {
        Some(a) if !force6 => fmt4(a),
        _ => fmt6(ip),
    }
}

/// libqmail's `scan_ulong`: the value of the leading decimal digits (saturating) and how many
/// bytes they took.
pub fn scan_ulong(s: &[u8]) -> (u64, usize) {
    let mut n: u64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i).filter(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(u64::from(c - b'0'));
        i += 1;
    }
    (n, i)
}

/// djb's `ip4_scan`: four decimal numbers (leading zeros allowed, each at most 255)
/// separated by dots. Returns the address and the bytes consumed.
pub fn scan4(s: &[u8]) -> Option<([u8; 4], usize)> {
    let mut a = [0u8; 4];
    let mut pos = 0;
    for (k, byte) in a.iter_mut().enumerate() {
        if k > 0 {
            if s.get(pos) != Some(&b'.') {
                return None;
            }
            pos += 1;
        }
        let (n, len) = scan_ulong(&s[pos..]);
        if len == 0 || n > 255 {
            return None;
        }
        *byte = n as u8;
        pos += len;
    }
    Some((a, pos))
}

/// The reference's `ip6_scan`: an IPv4 address (as [`scan4`], giving the mapped form) or an
/// IPv6 address, at the start of `s`. Returns the address and the bytes consumed.
pub fn scan(s: &[u8]) -> Option<(Ip, usize)> {
    if let Some((a, len)) = scan4(s) {
        return Some((mapped(a), len));
    }
    let end = s
        .iter()
        .position(|c| !(c.is_ascii_hexdigit() || *c == b':' || *c == b'.'))
        .unwrap_or(s.len());
    // The longest prefix of address characters that parses.
    (2..=end).rev().find_map(|len| {
        let text = std::str::from_utf8(&s[..len]).ok()?;
        text.parse::<Ipv6Addr>().ok().map(|a| (a.octets(), len))
    })
}

/// [`scan`] over the whole of `s`.
pub fn scan_all(s: &[u8]) -> Option<Ip> {
    scan(s).filter(|&(_, len)| len == s.len()).map(|(ip, _)| ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Ip {
        s.parse::<Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn first_run_of_two_zero_groups_is_compressed() {
        assert_eq!(fmt6(&v6("::")), "::");
        assert_eq!(fmt6(&v6("::1")), "::1");
        assert_eq!(fmt6(&v6("1::")), "1::");
        assert_eq!(fmt6(&v6("2001:db8::6")), "2001:db8::6");
        assert_eq!(fmt6(&v6("1:0:0:2:0:0:0:3")), "1::2:0:0:0:3");
        assert_eq!(fmt6(&v6("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
        assert_eq!(fmt6(&v6("1:2:3:4:5:6:7:0")), "1:2:3:4:5:6:7:0");
        assert_eq!(fmt6(&v6("1:2:3:4:5:6:0:0")), "1:2:3:4:5:6::");
        assert_eq!(fmt6(&v6("fe80::abcd:1")), "fe80::abcd:1");
        assert_eq!(fmt6(&mapped([127, 0, 0, 1])), "::ffff:127.0.0.1");
        assert_eq!(fmt(&mapped([127, 0, 0, 1]), false), "127.0.0.1");
        assert_eq!(fmt(&mapped([127, 0, 0, 1]), true), "::ffff:127.0.0.1");
    }

    #[test]
    fn scanning() {
        assert_eq!(scan4(b"127.000.000.001"), Some(([127, 0, 0, 1], 15)));
        assert_eq!(scan4(b"1.2.3.4x"), Some(([1, 2, 3, 4], 7)));
        assert_eq!(scan4(b"1.2.3"), None);
        assert_eq!(scan4(b"256.1.1.1"), None);
        assert_eq!(scan_all(b"127.000.000.001"), Some(mapped([127, 0, 0, 1])));
        assert_eq!(scan_all(b"::1"), Some(LOOPBACK6));
        assert_eq!(scan(b"fe80::1%eth0"), Some((v6("fe80::1"), 7)));
        assert_eq!(scan_all(b"[127.0.0.1]"), None);
        assert_eq!(scan_all(b"example.com"), None);
        assert_eq!(scan_ulong(b"10x"), (10, 2));
        assert_eq!(scan_ulong(b"abc"), (0, 0));
    }
}
