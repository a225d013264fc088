//! A stub resolver that behaves like djb's dns library (as IndiMail's ucspi-tcp uses it).
//!
//! * Servers: `$DNSCACHEIP` (addresses separated by blanks or commas), else every
//!   `nameserver` line of /etc/resolv.conf, else 127.0.0.1. Queries go to port 53 with
//!   recursion desired.
//! * Transmission: UDP, each server in turn with timeouts of 1, 3, 11 and 45 seconds; a
//!   truncated reply is asked again over TCP; replies whose id, question or class do not
//!   match are ignored; a server that answers SERVFAIL, REFUSED or similar is skipped. When
//!   every try fails, the error is temporary.
//! * Qualification of names ([`Resolver::ip_qualify`]): the rewriting rules of
//!   `$DNSREWRITEFILE` or /etc/dnsrewrite, else `$LOCALDOMAIN`, else the `search`/`domain`
//!   line of /etc/resolv.conf, else the host name's domain; `/etc/hosts` is not read.
//! * Answers are parsed with every length checked: a hostile or broken packet is an error
//!   ("protocol error"), never a crash.
//!
//! tcpclient uses it for addresses and PTR names; rblsmtpd for TXT and A lookups.

use crate::ip::{self, Ip};
use std::cell::OnceCell;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::ffi::OsStringExt;
use std::time::{Duration, Instant};

pub const T_A: u16 = 1;
pub const T_PTR: u16 = 12;
pub const T_TXT: u16 = 16;
pub const T_AAAA: u16 = 28;
const C_IN: u16 = 1;
const TIMEOUTS: [u64; 4] = [1, 3, 11, 45];
const MAX_SERVERS: usize = 16;

fn proto_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EPROTO)
}

/// A file's contents, or None when it does not exist.
fn read_optional(path: &str) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn env_bytes(name: &str) -> Option<Vec<u8>> {
    std::env::var_os(name).map(OsString::into_vec)
}

/// The addresses queries go to: `$DNSCACHEIP`, resolv.conf, or 127.0.0.1.
pub fn servers() -> io::Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    if let Some(list) = env_bytes("DNSCACHEIP") {
        for word in list.split(|c| matches!(c, b' ' | b'\t' | b',' | b'\n')) {
            if let Some(a) = ip::scan_all(word) {
                out.push(ip::to_std(&a));
            }
        }
    }
    if out.is_empty() {
        if let Some(conf) = read_optional("/etc/resolv.conf")? {
            for line in conf.split(|&c| c == b'\n') {
                let Some(rest) = line
                    .strip_prefix(b"nameserver ")
                    .or_else(|| line.strip_prefix(b"nameserver\t"))
                else {
                    continue;
                };
                let rest = trim_start(rest);
                if let Some((a, _)) = ip::scan(rest) {
                    out.push(ip::to_std(&a));
                }
            }
        }
    }
    if out.is_empty() {
        out.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    out.truncate(MAX_SERVERS);
    Ok(out)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    &s[n..]
}

/// Random bytes from the kernel (query ids, shuffling).
pub fn random_bytes(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: getrandom writes at most len bytes into the buffer it is given.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n <= 0 {
            // Never happens on a supported kernel; fall back to the clock.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
                ^ std::process::id();
            for (i, b) in buf[done..].iter_mut().enumerate() {
                *b = (t >> ((i % 4) * 8)) as u8;
            }
            return;
        }
        done += n as usize;
    }
}

fn random_below(n: usize) -> usize {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    (u64::from_le_bytes(b) % n as u64) as usize
}

/// Shuffle addresses, as djb's `dns_sortip` does, so load spreads over them.
pub fn shuffle<T>(v: &mut [T]) {
    for i in (1..v.len()).rev() {
        v.swap(i, random_below(i + 1));
    }
}

// ---------------------------------------------------------------------------------------
// Domain names

/// `a.b.c` to wire format (length-prefixed labels, final zero). `\ooo` and `\c` escapes are
/// understood; empty labels are skipped as djb does. A label over 63 bytes or a name over
/// 255 bytes is a protocol error.
pub fn domain_from_dot(name: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut label = Vec::new();
    let mut i = 0;
    let flush = |label: &mut Vec<u8>, out: &mut Vec<u8>| -> io::Result<()> {
        if label.is_empty() {
            return Ok(());
        }
        if label.len() > 63 {
            return Err(proto_error());
        }
        out.push(label.len() as u8);
        out.append(label);
        if out.len() > 254 {
            return Err(proto_error());
        }
        Ok(())
    };
    while i < name.len() {
        let c = name[i];
        i += 1;
        match c {
            b'.' => flush(&mut label, &mut out)?,
            b'\\' => {
                let digits = name[i..]
                    .iter()
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count();
                if digits > 0 {
                    let v = name[i..i + digits]
                        .iter()
                        .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                    label.push(v as u8);
                    i += digits;
                } else if let Some(&e) = name.get(i) {
                    label.push(e);
                    i += 1;
                }
            }
            _ => label.push(c),
        }
    }
    flush(&mut label, &mut out)?;
    out.push(0);
    Ok(out)
}

/// Wire format to text as djb's `dns_domain_todot_cat`: lowercase; bytes other than letters,
/// digits, `-` and `_` as `\ooo`; the root is `.`.
pub fn domain_to_dot(wire: &[u8]) -> String {
    let mut s = String::new();
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        if len == 0 {
            break;
        }
        if !s.is_empty() {
            s.push('.');
        }
        let end = (pos + 1 + len as usize).min(wire.len());
        for &c in &wire[pos + 1..end] {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_' {
                s.push(c as char);
            } else {
                s.push_str(&format!("\\{:03o}", c));
            }
        }
        pos = end;
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

fn domain_equal(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The reverse-lookup name of an address: `d.c.b.a.in-addr.arpa` for IPv4 and mapped
/// addresses, the 32 nibbles under `ip6.arpa` otherwise.
pub fn reverse_name(addr: &Ip) -> String {
    match ip::v4(addr) {
        Some(a) => format!("{}.{}.{}.{}.in-addr.arpa", a[3], a[2], a[1], a[0]),
        None => {
            let mut s = String::new();
            for b in addr.iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 15, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

// ---------------------------------------------------------------------------------------
// Packets

fn u16_at(p: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(pos)?, *p.get(pos + 1)?]))
}

/// The position after the (possibly compressed) name at `pos`.
fn skip_name(p: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *p.get(pos)?;
        if len >= 192 {
            return (pos + 2 <= p.len()).then_some(pos + 2);
        }
        if len >= 64 {
            return None;
        }
        pos += 1 + len as usize;
        if len == 0 {
            return (pos <= p.len()).then_some(pos);
        }
    }
}

/// The name at `pos`, uncompressed to wire format, and the position after it.
fn get_name(p: &[u8], mut pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut after = None;
    let mut jumps = 0;
    loop {
        let len = *p.get(pos)?;
        if len >= 192 {
            let target = (usize::from(len & 63) << 8) | usize::from(*p.get(pos + 1)?);
            after.get_or_insert(pos + 2);
            jumps += 1;
            if jumps > 100 {
                return None;
            }
            pos = target;
            continue;
        }
        if len >= 64 {
            return None;
        }
        let end = pos + 1 + len as usize;
        out.extend_from_slice(p.get(pos..end)?);
        if out.len() > 255 {
            return None;
        }
        if len == 0 {
            return Some((out, after.unwrap_or(end)));
        }
        pos = end;
    }
}

/// One resource record of the answer section: type, class and its data.
struct Record<'a> {
    rtype: u16,
    class: u16,
    data: &'a [u8],
    data_pos: usize,
}

/// The answer records of a reply (the single question is skipped).
fn answers(p: &[u8]) -> io::Result<Vec<Record<'_>>> {
    let parse = || -> Option<Vec<Record<'_>>> {
        let count = u16_at(p, 6)?;
        let mut pos = skip_name(p, 12)? + 4;
        let mut out = Vec::new();
        for _ in 0..count {
            pos = skip_name(p, pos)?;
            let rtype = u16_at(p, pos)?;
            let class = u16_at(p, pos + 2)?;
            let len = usize::from(u16_at(p, pos + 8)?);
            pos += 10;
            let data = p.get(pos..pos + len)?;
            out.push(Record {
                rtype,
                class,
                data,
                data_pos: pos,
            });
            pos += len;
        }
        Some(out)
    };
    parse().ok_or_else(proto_error)
}

fn build_query(id: [u8; 2], qname: &[u8], qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(qname.len() + 16);
    q.extend_from_slice(&id);
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(qname);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&C_IN.to_be_bytes());
    q
}

enum Reply {
    Answer(Vec<u8>),
    Truncated,
    ServerFailed,
    Ignore,
}

/// Judge a reply to `query` as djb's dns_transmit does.
fn judge(query: &[u8], qname: &[u8], buf: &[u8]) -> Reply {
    if buf.len() < 12 || buf[..2] != query[..2] || buf[4] != 0 || buf[5] != 1 {
        return Reply::Ignore;
    }
    let Some((name, pos)) = get_name(buf, 12) else {
        return Reply::Ignore;
    };
    if !domain_equal(&name, qname) || buf.get(pos..pos + 4) != Some(&query[query.len() - 4..]) {
        return Reply::Ignore;
    }
    if buf[2] & 2 != 0 {
        return Reply::Truncated;
    }
    let rcode = buf[3] & 15;
    if rcode != 0 && rcode != 3 {
        return Reply::ServerFailed;
    }
    Reply::Answer(buf.to_vec())
}

fn udp_try(server: IpAddr, query: &[u8], qname: &[u8], timeout: Duration) -> io::Result<Reply> {
    let local: SocketAddr = match server {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local)?;
    sock.connect((server, 53))?;
    sock.send(query)?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
        }
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match judge(query, qname, &buf[..n]) {
            Reply::Ignore => continue,
            r => return Ok(r),
        }
    }
}

fn tcp_try(server: IpAddr, query: &[u8], qname: &[u8], timeout: Duration) -> io::Result<Reply> {
    let deadline = Instant::now() + timeout;
    let mut s = TcpStream::connect_timeout(&(server, 53).into(), timeout)?;
    let left = |d: Instant| {
        let l = d.saturating_duration_since(Instant::now());
        if l.is_zero() {
            Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
        } else {
            Ok(l)
        }
    };
    s.set_write_timeout(Some(left(deadline)?))?;
    let mut msg = (query.len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(query);
    s.write_all(&msg)?;
    let mut read_exact = |buf: &mut [u8]| -> io::Result<()> {
        s.set_read_timeout(Some(left(deadline)?))?;
        s.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => io::Error::from_raw_os_error(libc::ETIMEDOUT),
            io::ErrorKind::UnexpectedEof => proto_error(),
            _ => e,
        })
    };
    let mut len = [0u8; 2];
    read_exact(&mut len)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    read_exact(&mut buf)?;
    Ok(match judge(query, qname, &buf) {
        // Over TCP a truncated reply is the best there is.
        Reply::Truncated => Reply::Answer(buf),
        Reply::Ignore => Reply::ServerFailed,
        r => r,
    })
}

// ---------------------------------------------------------------------------------------
// The resolver

/// Queries to the configured servers. Configuration is read on the first query only, so a
/// program that needs no lookup never touches /etc/resolv.conf.
#[derive(Default)]
pub struct Resolver {
    servers: OnceCell<Vec<IpAddr>>,
    /// [`Resolver::ip`] fails when both lookups fail (tcpclient, COMPATIBILITY U20).
    report_failures: bool,
}

impl Resolver {
    pub fn new() -> Self {
        Resolver::default()
    }

    /// A resolver that asks exactly these servers.
    pub fn with_servers(servers: Vec<IpAddr>) -> Self {
        let cell = OnceCell::new();
        let _ = cell.set(servers);
        Resolver {
            servers: cell,
            report_failures: false,
        }
    }

    /// Make [`Resolver::ip`] fail when both of its lookups fail, instead of finding no
    /// address (tcpclient's wording for a temporary failure, COMPATIBILITY U20).
    pub fn report_failures(mut self) -> Self {
        self.report_failures = true;
        self
    }

    fn server_list(&self) -> io::Result<&[IpAddr]> {
        if self.servers.get().is_none() {
            let _ = self.servers.set(servers()?);
        }
        Ok(self.servers.get().map(Vec::as_slice).unwrap_or(&[]))
    }

    /// Ask for `qtype` records of `qname` (wire format); the whole reply packet.
    pub fn query(&self, qname: &[u8], qtype: u16) -> io::Result<Vec<u8>> {
        let servers = self.server_list()?;
        let mut id = [0u8; 2];
        random_bytes(&mut id);
        let query = build_query(id, qname, qtype);
        let mut last = io::Error::from_raw_os_error(libc::ETIMEDOUT);
        for secs in TIMEOUTS {
            let timeout = Duration::from_secs(secs);
            for &server in servers {
                let reply = match udp_try(server, &query, qname, timeout) {
                    Ok(Reply::Truncated) => tcp_try(server, &query, qname, timeout),
                    r => r,
                };
                match reply {
                    Ok(Reply::Answer(p)) => return Ok(p),
                    Ok(_) => last = io::Error::from_raw_os_error(libc::EAGAIN),
                    Err(e) => last = e,
                }
            }
        }
        Err(last)
    }

    /// Addresses of a name, as the reference's `dns_ip6`: an address literal is returned as
    /// it is; a string of only digits, dots and brackets that is no address yields nothing;
    /// anything else is looked up as AAAA and then A (mapped), shuffled. As in the reference,
    /// a lookup that fails (no answer, a server error) contributes no address: only a name
    /// that cannot be put into a query is an error (unless [`Resolver::report_failures`]).
    pub fn ip(&self, name: &[u8]) -> io::Result<Vec<Ip>> {
        if let Some(a) = ip::scan_all(name) {
            return Ok(vec![a]);
        }
        if name
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'[' | b']'))
        {
            return Ok(Vec::new());
        }
        let q = domain_from_dot(name)?;
        let mut out = Vec::new();
        let six = self.query(&q, T_AAAA).and_then(|p| addresses(&p, &mut out));
        let four = self.query(&q, T_A).and_then(|p| addresses(&p, &mut out));
        if let (Err(e), Err(_), true) = (six, four, self.report_failures) {
            return Err(e);
        }
        shuffle(&mut out);
        Ok(out)
    }

    /// IPv4 addresses (A records) of a name, unshuffled.
    pub fn ip4(&self, name: &[u8]) -> io::Result<Vec<[u8; 4]>> {
        let p = self.query(&domain_from_dot(name)?, T_A)?;
        let mut out = Vec::new();
        addresses(&p, &mut out)?;
        Ok(out.iter().filter_map(ip::v4).collect())
    }

    /// The PTR name of an address, if it has one.
    pub fn name(&self, addr: &Ip) -> io::Result<Option<String>> {
        let q = domain_from_dot(reverse_name(addr).as_bytes())?;
        let p = self.query(&q, T_PTR)?;
        for r in answers(&p)? {
            if r.rtype == T_PTR && r.class == C_IN {
                let (name, _) = get_name(&p, r.data_pos).ok_or_else(proto_error)?;
                return Ok(Some(domain_to_dot(&name)));
            }
        }
        Ok(None)
    }

    /// The TXT records of a name, every string of every record concatenated, with bytes
    /// outside 32..=126 shown as `?` (djb's `dns_txt`). Empty when there is none.
    pub fn txt(&self, name: &[u8]) -> io::Result<Vec<u8>> {
        let p = self.query(&domain_from_dot(name)?, T_TXT)?;
        let mut out = Vec::new();
        for r in answers(&p)? {
            if r.rtype != T_TXT || r.class != C_IN {
                continue;
            }
            let mut rest = 0usize;
            for &c in r.data {
                if rest == 0 {
                    rest = usize::from(c);
                } else {
                    rest -= 1;
                    out.push(if (32..=126).contains(&c) { c } else { b'?' });
                }
            }
        }
        Ok(out)
    }

    /// A name qualified with the rewriting rules (djb's `dns_ip6_qualify`), then its
    /// addresses. Returns the addresses and the name finally looked up.
    pub fn ip_qualify(&self, name: &[u8]) -> io::Result<(Vec<Ip>, Vec<u8>)> {
        let rules = rewrite_rules()?;
        let fqdn = qualify(name, &rules);
        let Some(plus) = fqdn.iter().position(|&c| c == b'+') else {
            let found = self.ip(&fqdn)?;
            return Ok((found, fqdn));
        };
        let (base, alternatives) = fqdn.split_at(plus);
        let mut tried = base.to_vec();
        for suffix in alternatives[1..].split(|&c| c == b'+') {
            tried = [base, suffix].concat();
            let found = self.ip(&tried)?;
            if !found.is_empty() {
                return Ok((found, tried));
            }
        }
        Ok((Vec::new(), tried))
    }
}

/// Append the A (mapped) and AAAA addresses of a reply.
fn addresses(p: &[u8], out: &mut Vec<Ip>) -> io::Result<()> {
    for r in answers(p)? {
        match (r.rtype, r.class, r.data.len()) {
            (T_AAAA, C_IN, 16) => out.push(r.data.try_into().map_err(|_| proto_error())?),
            (T_A, C_IN, 4) => out.push(ip::mapped([r.data[0], r.data[1], r.data[2], r.data[3]])),
            _ => {}
        }
    }
    Ok(())
}

/// The rewriting rules, one per entry (djb's `dns_resolvconfrewrite`).
pub fn rewrite_rules() -> io::Result<Vec<Vec<u8>>> {
    let file = std::env::var("DNSREWRITEFILE").unwrap_or_else(|_| "/etc/dnsrewrite".into());
    if let Some(data) = read_optional(&file)? {
        return Ok(data
            .split(|&c| c == b'\n')
            .map(|l| {
                let keep = l.len()
                    - l.iter()
                        .rev()
                        .take_while(|c| matches!(c, b' ' | b'\t' | b'\r'))
                        .count();
                l[..keep].to_vec()
            })
            .collect());
    }
    let search = |words: &[u8]| -> Vec<Vec<u8>> {
        let mut rule = b"?:".to_vec();
        for w in words
            .split(|c| matches!(c, b' ' | b'\t'))
            .filter(|w| !w.is_empty())
        {
            rule.extend_from_slice(b"+.");
            rule.extend_from_slice(w);
        }
        vec![rule, b"*.:".to_vec()]
    };
    if let Some(domains) = env_bytes("LOCALDOMAIN") {
        return Ok(search(&domains));
    }
    if let Some(conf) = read_optional("/etc/resolv.conf")? {
        for line in conf.split(|&c| c == b'\n') {
            for key in [&b"search"[..], b"domain"] {
                if line.starts_with(key) && matches!(line.get(6), Some(b' ' | b'\t')) {
                    return Ok(search(&line[7..]));
                }
            }
        }
    }
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most len bytes into the buffer.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let host = &buf[..buf.iter().position(|&c| c == 0).unwrap_or(buf.len())];
    let mut rules = Vec::new();
    if let Some(dot) = host.iter().position(|&c| c == b'.') {
        rules.push([&b"?:"[..], &host[dot..]].concat());
    }
    rules.push(b"*.:".to_vec());
    Ok(rules)
}

/// Apply the rules to a name in order (djb's `dns_ip4_qualify_rules`, first half).
pub fn qualify(name: &[u8], rules: &[Vec<u8>]) -> Vec<u8> {
    let mut work = name.to_vec();
    for rule in rules {
        let Some((&kind, rest)) = rule.split_first() else {
            continue;
        };
        if !matches!(kind, b'?' | b'=' | b'*' | b'-') {
            continue;
        }
        let Some(colon) = rest.iter().position(|&c| c == b':') else {
            continue;
        };
        let (suffix, replacement) = (&rest[..colon], &rest[colon + 1..]);
        if work.len() < colon {
            continue;
        }
        let prefix_len = work.len() - colon;
        if kind == b'=' && prefix_len != 0 {
            continue;
        }
        if !work[prefix_len..].eq_ignore_ascii_case(suffix) {
            continue;
        }
        if kind == b'?'
            && work[..prefix_len]
                .iter()
                .any(|c| matches!(c, b'.' | b'[' | b']'))
        {
            continue;
        }
        work.truncate(if kind == b'-' { 0 } else { prefix_len });
        work.extend_from_slice(replacement);
    }
    work
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let w = domain_from_dot(b"Mail.Example.COM.").unwrap();
        assert_eq!(w, b"\x04Mail\x07Example\x03COM\x00");
        assert_eq!(domain_to_dot(&w), "mail.example.com");
        assert_eq!(domain_to_dot(b"\x03a b\x00"), "a\\040b");
        assert_eq!(domain_to_dot(b"\x00"), ".");
        assert!(domain_from_dot(&[b'a'; 64]).is_err());
        assert_eq!(domain_from_dot(b"a\\.b").unwrap(), b"\x03a.b\x00");
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name(&ip::mapped([127, 0, 0, 2])),
            "2.0.0.127.in-addr.arpa"
        );
        let r = reverse_name(&ip::LOOPBACK6);
        assert!(r.starts_with(
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"
        ));
    }

    #[test]
    fn qualification_rules() {
        let rules = vec![b"?:+.example.com+.example.net".to_vec(), b"*.:".to_vec()];
        assert_eq!(qualify(b"mail", &rules), b"mail+.example.com+.example.net");
        assert_eq!(qualify(b"mail.x.org.", &rules), b"mail.x.org");
        assert_eq!(qualify(b"1.2.3.4", &rules), b"1.2.3.4");
        let rules = vec![b"=localhost:127.0.0.1".to_vec(), b"-.invalid:".to_vec()];
        assert_eq!(qualify(b"localhost", &rules), b"127.0.0.1");
        assert_eq!(qualify(b"x.invalid", &rules), b"");
    }

    #[test]
    fn hostile_packets_are_errors() {
        // A pointer loop, a record running past the end, a label too long.
        let mut p = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        p.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 0, 0, 2, 0xc0, 31]);
        let recs = answers(&p).unwrap();
        assert!(get_name(&p, recs[0].data_pos).is_none());
        let mut short = p.clone();
        short.truncate(p.len() - 1);
        assert!(answers(&short).is_err());
        assert!(skip_name(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 70], 12).is_none());
    }
}
