//! Access rules: the key order tcpserver and tcprulescheck look up (docs/ucspi-tcp.md#rules-lookup), the
//! CIDR key encodings (fehcom's `_`/`^` bit strings), the rule data items, and the
//! address text forms the keys are built from (djb's ip4/ip6 formatting).

use crate::cdb::Cdb;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Characters of an IPv4 CIDR key: bit i set is `V4_BITS[i]`, clear is `0`.
const V4_BITS: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz123456";

/// djb's ip4_scan: four dotted decimal fields, leading zeros allowed, each 0..=255,
/// and nothing after them.
pub fn scan_ip4(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = p.trim_start_matches('0').parse().unwrap_or(0);
        if p.len() > 10 || v > 255 {
            return None;
        }
        *o = v as u8;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(out))
}

/// An IPv6 address from text: std's parser, after accepting djb's dotted-quad tail
/// with leading zeros.
pub fn scan_ip6(s: &str) -> Option<Ipv6Addr> {
    if let Ok(a) = s.parse::<Ipv6Addr>() {
        return Some(a);
    }
    let (head, tail) = s.rsplit_once(':')?;
    let v4 = scan_ip4(tail)?;
    format!("{head}:{v4}").parse().ok()
}

/// djb's ip6_fmt (`ip::fmt6`): lowercase hex, the first run of at least two zero groups
/// written as `::`, and v4-mapped addresses as `::ffff:a.b.c.d`.
pub fn fmt_ip6(a: &Ipv6Addr) -> String {
    crate::ip::fmt6(&a.octets())
}

/// The expanded IPv6 form the rules use: eight 4-digit lowercase hex groups.
pub fn expand_ip6(a: &Ipv6Addr) -> String {
    let g = a.segments();
    format!(
        "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
        g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
    )
}

/// The IPv4 address inside a v4-mapped IPv6 address.
pub fn mapped_v4(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    let o = a.octets();
    (o[..10] == [0; 10] && o[10] == 0xff && o[11] == 0xff)
        .then(|| Ipv4Addr::new(o[12], o[13], o[14], o[15]))
}

/// Append the IPv4 CIDR key (`_` and `bits` characters) of `a` to `out`.
pub fn cidr4_key(a: Ipv4Addr, bits: usize, out: &mut Vec<u8>) {
    let n = u32::from(a);
    out.push(b'_');
    for (i, &c) in V4_BITS.iter().enumerate().take(bits.min(32)) {
        out.push(if n & (1 << (31 - i)) != 0 { c } else { b'0' });
    }
}

/// Append the IPv6 CIDR key (`^` and `bits` characters) of `a` to `out`: clear bits are
/// `0`, the n-th set bit is the byte 0x60+n.
pub fn cidr6_key(a: &Ipv6Addr, bits: usize, out: &mut Vec<u8>) {
    let n = u128::from(*a);
    out.push(b'^');
    let mut set = 0u8;
    for i in 0..bits.min(128) {
        if n & (1u128 << (127 - i)) != 0 {
            out.push(0x60 + set);
            set += 1;
        } else {
            out.push(b'0');
        }
    }
}

/// Who is asking: the three inputs of a lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct Peer<'a> {
    /// The remote address as tcpserver formats TCPREMOTEIP.
    pub ip: &'a str,
    /// TCPREMOTEHOST, when known.
    pub host: Option<&'a str>,
    /// TCPREMOTEINFO, when ident answered.
    pub info: Option<&'a str>,
}

/// The rule a lookup found: the key that matched and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    pub key: Vec<u8>,
    pub data: &'a [u8],
}

/// Look `peer` up in `cdb` in the reference order; the first key present wins.
pub fn lookup<'a>(cdb: &'a Cdb, peer: &Peer<'_>) -> io::Result<Option<Found<'a>>> {
    let mut key: Vec<u8> = Vec::with_capacity(160);
    let mut found = None;
    search(peer, &mut key, |k| {
        found = cdb.find(k)?;
        Ok(found.is_some())
    })?;
    Ok(found.map(|data| Found { key, data }))
}

/// Offer each candidate key in order to `try_key` until it returns true; `key` then
/// holds the winning key.
pub fn search(
    peer: &Peer<'_>,
    key: &mut Vec<u8>,
    mut try_key: impl FnMut(&[u8]) -> io::Result<bool>,
) -> io::Result<bool> {
    let ip = peer.ip;
    let v6 = ip.contains(':');
    let addr6 = if v6 { scan_ip6(ip) } else { None };
    let expanded = addr6.as_ref().map(expand_ip6);
    let mut attempt = |parts: &[&[u8]]| -> io::Result<bool> {
        key.clear();
        for p in parts {
            key.extend_from_slice(p);
        }
        try_key(key)
    };
    if let Some(info) = peer.info {
        let ipk = expanded.as_deref().unwrap_or(ip);
        if attempt(&[info.as_bytes(), b"@", ipk.as_bytes()])? {
            return Ok(true);
        }
        if let Some(host) = peer.host {
            if attempt(&[info.as_bytes(), b"@=", host.as_bytes()])? {
                return Ok(true);
            }
        }
    }
    if let Some(e) = &expanded {
        if attempt(&[e.as_bytes()])? {
            return Ok(true);
        }
    }
    if attempt(&[ip.as_bytes()])? {
        return Ok(true);
    }
    if let Some(host) = peer.host {
        if attempt(&[b"=", host.as_bytes()])? {
            return Ok(true);
        }
    }
    if !v6 {
        let b = ip.as_bytes();
        for len in (1..=b.len()).rev() {
            if b[len - 1] == b'.' && attempt(&[&b[..len]])? {
                return Ok(true);
            }
        }
    }
    // CIDR keys from the address itself (never from a host name: U4).
    let mut bits: Vec<u8> = Vec::with_capacity(130);
    if let Some(a) = addr6 {
        cidr6_key(&a, 128, &mut bits);
        for p in (2..=128).rev() {
            if attempt(&[&bits[..=p]])? {
                return Ok(true);
            }
        }
    } else if let Some(a) = scan_ip4(ip) {
        cidr4_key(a, 32, &mut bits);
        for p in (2..=32).rev() {
            if attempt(&[&bits[..=p]])? {
                return Ok(true);
            }
        }
    }
    if let Some(host) = peer.host {
        let h = host.as_bytes();
        for i in 0..h.len() {
            if h[i] == b'.' && attempt(&[b"=", &h[i..]])? {
                return Ok(true);
            }
        }
        if attempt(&[b"="])? {
            return Ok(true);
        }
    }
    attempt(&[b""])
}

/// One item of a rule's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Deny,
    /// `+NAME=value`.
    Set(&'a [u8], &'a [u8]),
    /// `-NAME`.
    Unset(&'a [u8]),
}

/// The items of a rule's data, as tcpserver reads them: NUL-terminated items (a last
/// item without its NUL is ignored), unknown leading bytes and `+` items without `=`
/// skipped.
pub fn items(mut data: &[u8]) -> impl Iterator<Item = Item<'_>> {
    std::iter::from_fn(move || loop {
        let end = data.iter().position(|&b| b == 0)?;
        let item = &data[..end];
        data = &data[end + 1..];
        match item.first() {
            Some(b'D') => return Some(Item::Deny),
            Some(b'+') => {
                let rest = &item[1..];
                if let Some(eq) = rest.iter().position(|&b| b == b'=') {
                    return Some(Item::Set(&rest[..eq], &rest[eq + 1..]));
                }
            }
            Some(b'-') => return Some(Item::Unset(&item[1..])),
            _ => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(peer: Peer<'_>) -> Vec<String> {
        let mut all = Vec::new();
        let mut key = Vec::new();
        search(&peer, &mut key, |k| {
            all.push(String::from_utf8_lossy(k).into_owned());
            Ok(false)
        })
        .unwrap();
        all
    }

    #[test]
    fn ip6_text_forms() {
        let f = |s: &str| fmt_ip6(&s.parse().unwrap());
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("::"), "::");
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        // The first run of two or more zero groups, not the longest.
        assert_eq!(f("1:0:0:2:0:0:0:3"), "1::2:0:0:0:3");
        assert_eq!(f("1:2:3:4:5:6:0:0"), "1:2:3:4:5:6::");
        assert_eq!(f("::ffff:127.0.0.1"), "::ffff:127.0.0.1");
        assert_eq!(f("fe80::AB:1"), "fe80::ab:1");
        assert_eq!(
            expand_ip6(&"2001:db8::1".parse().unwrap()),
            "2001:0db8:0000:0000:0000:0000:0000:0001"
        );
        assert_eq!(
            scan_ip4("127.000.000.001"),
            Some(Ipv4Addr::new(127, 0, 0, 1))
        );
        assert_eq!(scan_ip4("1.2.3.256"), None);
        assert_eq!(scan_ip4("1.2.3"), None);
        assert_eq!(scan_ip4("1.2.3.4."), None);
    }

    #[test]
    fn cidr_vectors_from_the_spec() {
        let mut k = Vec::new();
        cidr4_key(Ipv4Addr::new(127, 0, 0, 0), 8, &mut k);
        assert_eq!(k, b"_0bcdefgh");
        k.clear();
        cidr4_key(Ipv4Addr::new(10, 1, 0, 0), 16, &mut k);
        assert_eq!(k, b"_0000e0g00000000p");
        k.clear();
        cidr4_key(Ipv4Addr::new(10, 1, 2, 3), 32, &mut k);
        assert_eq!(k, b"_0000e0g00000000p000000w000000056");
        k.clear();
        cidr6_key(&"2001:db8::".parse().unwrap(), 32, &mut k);
        assert_eq!(k, b"^00`000000000000a0000bc0de0fgh000");
    }

    #[test]
    fn order_for_ipv4_with_host_and_info() {
        let k = keys(Peer {
            ip: "1.2.3.4",
            host: Some("a.b.c"),
            info: Some("joe"),
        });
        assert_eq!(
            &k[..8],
            [
                "joe@1.2.3.4",
                "joe@=a.b.c",
                "1.2.3.4",
                "=a.b.c",
                "1.2.3.",
                "1.2.",
                "1.",
                "_0000000h000000o0000000wx00000400"
            ]
        );
        assert_eq!(k[8].len(), 32);
        assert_eq!(k[37], "_00");
        assert_eq!(&k[38..], ["=.b.c", "=.c", "=", ""]);
    }

    #[test]
    fn order_for_ipv6() {
        let k = keys(Peer {
            ip: "2001:db8::1",
            host: None,
            info: Some("u"),
        });
        assert_eq!(k[0], "u@2001:0db8:0000:0000:0000:0000:0000:0001");
        assert_eq!(k[1], "2001:0db8:0000:0000:0000:0000:0000:0001");
        assert_eq!(k[2], "2001:db8::1");
        assert_eq!(k[3].len(), 129);
        assert_eq!(k[3 + 126].len(), 3);
        assert_eq!(k.last().unwrap(), "");
        assert_eq!(k.len(), 3 + 127 + 1);
    }

    #[test]
    fn item_decoding() {
        let d = b"D\0+A=1\0-B\0+noeq\0?x\0+C=2=3\0+tail";
        let v: Vec<Item<'_>> = items(d).collect();
        assert_eq!(
            v,
            [
                Item::Deny,
                Item::Set(b"A", b"1"),
                Item::Unset(b"B"),
                Item::Set(b"C", b"2=3")
            ]
        );
    }

    mod props {
        use super::*;
        use crate::cdb::CdbMaker;
        use proptest::collection::vec;
        use proptest::prelude::*;
        use std::io::Cursor;

        proptest! {
            /// Any peer (addresses, names and ident answers as garbled as a resolver or an
            /// ident server can make them) against any rules finds a key the cdb holds,
            /// or none; rule data of any shape decodes without panicking.
            #[test]
            fn any_peer_any_rules(
                ip in prop_oneof!["[0-9.]{0,20}", "[0-9a-fA-F:.%]{0,48}", "\\PC{0,20}"],
                host in proptest::option::of("\\PC{0,30}"),
                info in proptest::option::of("\\PC{0,10}"),
                keys in vec(("[0-9.=_^a-z@:]{0,20}", vec(any::<u8>(), 0..24)), 0..10),
            ) {
                let mut m = CdbMaker::new(Cursor::new(Vec::new())).unwrap();
                for (k, d) in &keys {
                    m.add(k.as_bytes(), d).unwrap();
                }
                let db = Cdb::from_bytes(m.finish().unwrap().into_inner());
                let peer = Peer { ip: &ip, host: host.as_deref(), info: info.as_deref() };
                if let Some(found) = lookup(&db, &peer).unwrap() {
                    prop_assert!(keys.iter().any(|(k, _)| k.as_bytes() == &found.key[..]));
                    let _ = items(found.data).count();
                }
            }
        }
    }
}
