//! A DNS server's side for tests: decode the question of a query and build the reply from
//! a table entry. Used by the suites' in-process fake server and by `conformance-dns`, the
//! server the conformance cases start inside their network namespace.

/// What a fake server answers for a (name, type).
#[derive(Clone, Debug)]
pub enum Answer {
    /// RCODE 0 with these records (type, rdata).
    Records(Vec<(u16, Vec<u8>)>),
    /// An error RCODE (2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED).
    Rcode(u8),
}

pub const A: u16 = 1;
pub const PTR: u16 = 12;
pub const TXT: u16 = 16;
pub const AAAA: u16 = 28;

pub fn a(ip: [u8; 4]) -> (u16, Vec<u8>) {
    (A, ip.to_vec())
}

pub fn txt(strings: &[&[u8]]) -> (u16, Vec<u8>) {
    let mut d = Vec::new();
    for s in strings {
        d.push(s.len() as u8);
        d.extend_from_slice(s);
    }
    (TXT, d)
}

pub fn ptr(name: &str) -> (u16, Vec<u8>) {
    (PTR, wire(name))
}

/// A name in wire format.
pub fn wire(name: &str) -> Vec<u8> {
    let mut d = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        d.push(l.len() as u8);
        d.extend_from_slice(l.as_bytes());
    }
    d.push(0);
    d
}

/// The question of query `q`: (lowercase name without the final dot, type).
pub fn question(q: &[u8]) -> Option<(String, u16)> {
    if q.len() < 17 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(pos..pos + len)?).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*q.get(pos)?, *q.get(pos + 1)?]);
    Some((labels.join("."), qtype))
}

/// The reply to `q`: `found` (NXDOMAIN when None); with `truncate`, the TC bit and no
/// records.
pub fn reply(q: &[u8], found: Option<Answer>, truncate: bool) -> Option<Vec<u8>> {
    let (_, _) = question(q)?;
    let mut pos = 12;
    while *q.get(pos)? != 0 {
        pos += 1 + q[pos] as usize;
    }
    let question = q.get(12..pos + 5)?;
    let (rcode, records) = match found {
        Some(Answer::Records(r)) => (0u8, r),
        Some(Answer::Rcode(c)) => (c, Vec::new()),
        None => (3, Vec::new()),
    };
    let records = if truncate { Vec::new() } else { records };
    let mut r = q[..2].to_vec();
    r.push(0x81 | if truncate { 2 } else { 0 });
    r.push(0x80 | rcode);
    r.extend_from_slice(&[0, 1, 0, records.len() as u8, 0, 0, 0, 0]);
    r.extend_from_slice(question);
    for (t, data) in records {
        r.extend_from_slice(&[0xc0, 12]);
        r.extend_from_slice(&t.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(&data);
    }
    Some(r)
}
