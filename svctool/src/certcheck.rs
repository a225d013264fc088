//! `--check-certs[=FILE]` (docs/svctool.md#checks-and-reports): each of `$S/certs/servercert.pem`, `clientcert.pem` (or
//! FILE) must be a certificate that is valid now and good for its purpose (a name with
//! `server` for TLS servers, `client` for clients); one that is not is disabled by
//! renaming it `BROKEN-`, `EXPIRED-`, `NOT-A-SERVER-CERT-` or `NOT-A-CLIENT-CERT-NAME`, as
//! the reference does with `openssl x509`. The certificate is read here (PEM, then the DER
//! fields that matter: validity, extended key usage, key usage, Netscape cert type), so no
//! openssl command is needed.

use crate::render::Ctx;
use crate::svctool::Done;
use crate::Stop;
use std::io::IsTerminal;

/// What a certificate is good for, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// notAfter as openssl prints it (`Nov 22 07:50:45 2027 GMT`).
    pub not_after_text: String,
    pub server: bool,
    pub client: bool,
}

/// One DER element: tag, content, what follows.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l, rest) = rest.split_first()?;
    let (len, rest) = if l < 0x80 {
        (l as usize, rest)
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn expect(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, c, r) = tlv(b)?;
    (t == tag).then_some((c, r))
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// A UTCTime or GeneralizedTime (`Z` form) as epoch seconds and openssl's text.
fn time(tag: u8, c: &[u8]) -> Option<(i64, String)> {
    let s = std::str::from_utf8(c).ok()?.strip_suffix('Z')?;
    let (y, rest) = match tag {
        0x17 if s.len() == 12 => {
            let yy: i64 = s[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        0x18 if s.len() == 14 => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let (mo, d, h, mi, se) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let text = format!(
        "{} {d:>2} {h:02}:{mi:02}:{se:02} {y} GMT",
        MON[(mo - 1) as usize]
    );
    Some((secs, text))
}

const OID_EKU: &[u8] = &[0x55, 0x1d, 0x25];
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_NS_CERT_TYPE: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x01];
const EKU_SERVER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const EKU_CLIENT: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// The first byte of a BIT STRING's bits.
fn first_bits(c: &[u8]) -> Option<u8> {
    let (v, _) = expect(c, 0x03)?;
    Some(v.get(1).copied().unwrap_or(0))
}

/// The fields of a DER certificate that the check needs.
pub fn parse_der(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = expect(der, 0x30)?;
    let (tbs, _) = expect(cert, 0x30)?;
    let mut r = tbs;
    if let Some((0xa0, _, rest)) = tlv(r) {
        r = rest;
    }
    let (_, rest) = expect(r, 0x02)?; // serial
    let (_, rest) = expect(rest, 0x30)?; // signature algorithm
    let (_, rest) = expect(rest, 0x30)?; // issuer
    let (validity, rest) = expect(rest, 0x30)?;
    let (_, _, v) = tlv(validity)?; // notBefore
    let (t, na, _) = tlv(v)?;
    let (not_after, not_after_text) = time(t, na)?;
    let (_, rest) = expect(rest, 0x30)?; // subject
    let (_, mut rest) = expect(rest, 0x30)?; // subjectPublicKeyInfo
    let (mut eku, mut ku, mut ns) = (None::<Vec<&[u8]>>, None, None);
    while let Some((t, c, next)) = tlv(rest) {
        rest = next;
        if t != 0xa3 {
            continue;
        }
        let (mut exts, _) = expect(c, 0x30)?;
        while let Some((ext, next)) = expect(exts, 0x30) {
            exts = next;
            let (oid, mut body) = expect(ext, 0x06)?;
            if let Some((0x01, _, after)) = tlv(body) {
                body = after;
            }
            let (value, _) = expect(body, 0x04)?;
            if oid == OID_EKU {
                let (mut seq, _) = expect(value, 0x30)?;
                let mut list = Vec::new();
                while let Some((p, next)) = expect(seq, 0x06) {
                    list.push(p);
                    seq = next;
                }
                eku = Some(list);
            } else if oid == OID_KEY_USAGE {
                ku = first_bits(value);
            } else if oid == OID_NS_CERT_TYPE {
                ns = first_bits(value);
            }
        }
    }
    let eku_has = |p: &[u8]| {
        eku.as_ref()
            .map_or(true, |l| l.contains(&p) || l.contains(&EKU_ANY))
    };
    // key usage: digitalSignature 0x80, keyEncipherment 0x20, keyAgreement 0x08;
    // Netscape type: SSL client 0x80, SSL server 0x40
    let server = eku_has(EKU_SERVER)
        && ns.map_or(true, |b| b & 0x40 != 0)
        && ku.map_or(true, |k| k & 0xa8 != 0);
    let client = eku_has(EKU_CLIENT)
        && ns.map_or(true, |b| b & 0x80 != 0)
        && ku.map_or(true, |k| k & 0x88 != 0);
    Some(CertInfo {
        not_after,
        not_after_text,
        server,
        client,
    })
}

/// The PEM `CERTIFICATE` blocks of a file.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for l in text.lines() {
        match l.trim() {
            "-----BEGIN CERTIFICATE-----" => cur = Some(format!("{l}\n")),
            "-----END CERTIFICATE-----" => {
                if let Some(mut b) = cur.take() {
                    b.push_str(l);
                    b.push('\n');
                    out.push(b);
                }
            }
            _ => {
                if let Some(b) = cur.as_mut() {
                    b.push_str(l);
                    b.push('\n');
                }
            }
        }
    }
    out
}

/// The first certificate of a PEM (or DER) file.
pub fn parse_file(bytes: &[u8]) -> Option<CertInfo> {
    let text = String::from_utf8_lossy(bytes);
    match pem_blocks(&text).first() {
        Some(block) => {
            let body: String = block.lines().filter(|l| !l.starts_with("-----")).collect();
            parse_der(&crate::base64_decode(&body)?)
        }
        None => parse_der(bytes),
    }
}

fn purposes(c: &CertInfo) -> String {
    let yn = |b: bool| if b { "Yes" } else { "No" };
    format!(
        "SSL client : {}, SSL server : {}",
        yn(c.client),
        yn(c.server)
    )
}

/// Rename `logical` to `PREFIX-NAME` beside it (the link itself when it is one).
fn disable(ctx: &Ctx, logical: &str, prefix: &str) -> bool {
    let p = ctx.host.disk(logical);
    let Some(name) = p.file_name() else {
        return false;
    };
    let to = p.with_file_name(format!("{prefix}{}", name.to_string_lossy()));
    std::fs::rename(&p, &to).is_ok()
}

/// `--check-certs[=FILE]`.
pub fn check_certs(ctx: &Ctx) -> Result<Done, Stop> {
    let h = ctx.host;
    let files: Vec<String> = match ctx.o.get("--check-certs") {
        Some(f) => vec![f.to_string()],
        None => ["servercert.pem", "clientcert.pem"]
            .iter()
            .map(|f| format!("{}/certs/{f}", ctx.s()))
            .collect(),
    };
    let now = h.now();
    let mut error = false;
    for f in &files {
        if !h.is_file_following(f) {
            continue;
        }
        println!("Checking {f}");
        let info = std::fs::read(h.resolve(f))
            .ok()
            .and_then(|b| parse_file(&b));
        let Some(info) = info else {
            error = true;
            if disable(ctx, f, "BROKEN-") {
                eprintln!("{f} is a broken cert. Disabled");
            }
            continue;
        };
        if now > info.not_after {
            error = true;
            eprintln!("expiry {}", info.not_after_text);
            if disable(ctx, f, "EXPIRED-") {
                eprintln!("{f} has EXPIRED. Disabling");
            }
            continue;
        }
        for (word, ok, prefix) in [
            ("server", info.server, "NOT-A-SERVER-CERT-"),
            ("client", info.client, "NOT-A-CLIENT-CERT-"),
        ] {
            if f.contains(word) && !ok {
                error = true;
                eprintln!("Purpose {}", purposes(&info));
                if disable(ctx, f, prefix) {
                    eprintln!("{f} is NOT a {word} cert. Disabled");
                }
                break;
            }
        }
    }
    if error {
        return Err(Stop::fail(1, ""));
    }
    println!("All Certificates found OK. Press ENTER to view Certificates");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    for f in &files {
        let d = h.disk(f);
        if std::fs::symlink_metadata(&d).is_err() {
            continue;
        }
        println!("==== Certificate {f} =========");
        if let Ok(t) = std::fs::read_link(&d) {
            println!("Linked to {}", t.display());
        } else {
            let text = std::fs::read(&d).unwrap_or_default();
            let text = String::from_utf8_lossy(&text);
            if let Some(info) = parse_file(text.as_bytes()) {
                println!("Not After : {}", info.not_after_text);
                println!("Purposes  : {}", purposes(&info));
            }
            for b in pem_blocks(&text) {
                print!("{b}");
            }
        }
        println!("================================================================");
        println!();
    }
    Ok(Done::Log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_and_times() {
        assert_eq!(
            tlv(&[0x02, 0x01, 0x05, 0xff]),
            Some((0x02, &[5u8][..], &[0xffu8][..]))
        );
        assert_eq!(
            tlv(&[0x04, 0x81, 0x01, 0x07]),
            Some((0x04, &[7u8][..], &[][..]))
        );
        assert_eq!(tlv(&[0x04, 0x05, 0x01]), None);
        assert_eq!(
            time(0x17, b"261122075045Z"),
            Some((1795333845, "Nov 22 07:50:45 2026 GMT".into()))
        );
        assert_eq!(
            time(0x18, b"20500101000000Z").map(|t| t.1),
            Some("Jan  1 00:00:00 2050 GMT".into())
        );
        assert_eq!(time(0x17, b"991399000000Z"), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
    }

    #[test]
    fn self_signed_certificate_is_good_for_both() {
        let (_, pem) =
            crate::config::self_signed("mail.example.com", "pm@example.com", 30).unwrap();
        let c = parse_file(pem.as_bytes()).unwrap();
        assert!(c.server && c.client, "{c:?}");
        assert!(parse_file(b"garbage").is_none());
    }
}
