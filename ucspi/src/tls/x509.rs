//! Just enough DER to name a certificate's subject: `TLS_CLIENT_DN` in OpenSSL's
//! one-line form (`/C=US/O=Example/CN=client`).

/// One DER element: (tag, contents, rest).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |v, &b| (v << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn oid_text(oid: &[u8]) -> String {
    let short = match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x55, 0x04, 0x05] => "serialNumber",
        [0x55, 0x04, 0x0c] => "title",
        [0x55, 0x04, 0x04] => "SN",
        [0x55, 0x04, 0x2a] => "GN",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => "",
    };
    if !short.is_empty() {
        return short.into();
    }
    // Dotted form for the rest.
    let mut parts = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() && i < oid.len() {
                let first = (v / 40).min(2);
                parts.push(first);
                parts.push(v - first * 40);
            } else {
                parts.push(v);
            }
            v = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn value_text(tag: u8, v: &[u8]) -> String {
    let text = match tag {
        // BMPString: UTF-16BE.
        0x1e => {
            let units: Vec<u16> = v
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(v).into_owned(),
    };
    // Control characters and '/' would break the one-line form.
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The subject of a DER certificate as OpenSSL's X509_NAME_oneline prints it.
pub fn subject_oneline(cert: &[u8]) -> Option<String> {
    let (_, certificate, _) = element(cert)?;
    let (_, tbs, _) = element(certificate)?;
    let mut rest = tbs;
    let (tag, _, r) = element(rest)?;
    rest = r;
    if tag == 0xa0 {
        rest = element(rest)?.2; // skip serial after explicit version
    }
    // signature algorithm, issuer, validity, then subject.
    let (_, _, r) = element(rest)?;
    let (_, _, r) = element(r)?;
    let (_, _, r) = element(r)?;
    let (tag, subject, _) = element(r)?;
    if tag != 0x30 {
        return None;
    }
    let mut out = String::new();
    let mut sets = subject;
    while !sets.is_empty() {
        let (_, set, r) = element(sets)?;
        sets = r;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (_, atv, r) = element(atvs)?;
            atvs = r;
            let (_, oid, r) = element(atv)?;
            let (tag, value, _) = element(r)?;
            out.push('/');
            out.push_str(&oid_text(oid));
            out.push('=');
            out.push_str(&value_text(tag, value));
        }
    }
    Some(out)
}
