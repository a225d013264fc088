//! Certificates: PEM through rustls-pki-types, the fields through x509-parser. What the
//! programs read from a certificate: the subject in OpenSSL's one-line form
//! (`/C=US/O=Example/CN=client`, tcpserver's `TLS_CLIENT_DN`) and, for svctool's
//! certificate check, the end of validity and the purposes.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::x509::AttributeTypeAndValue;

/// OpenSSL's short names for the attributes a subject usually holds; others print dotted.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.12", "title"),
    ("2.5.4.4", "SN"),
    ("2.5.4.42", "GN"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// BMPString's universal tag: UTF-16BE text.
const TAG_BMP_STRING: u32 = 30;

fn attribute_text(atv: &AttributeTypeAndValue<'_>) -> String {
    let oid = atv.attr_type().to_id_string();
    let name = SHORT_NAMES
        .iter()
        .find(|(id, _)| *id == oid)
        .map_or(oid.clone(), |(_, n)| (*n).to_string());
    let value = atv.attr_value();
    let text = if value.header.tag().0 == TAG_BMP_STRING {
        let units: Vec<u16> = value
            .data
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(value.data).into_owned()
    };
    // Control characters would break the one-line form.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!("/{name}={text}")
}

/// The subject of a DER certificate as OpenSSL's X509_NAME_oneline prints it.
pub fn subject_oneline(cert: &[u8]) -> Option<String> {
    let (_, c) = X509Certificate::from_der(cert).ok()?;
    let subject = c.subject();
    Some(
        subject
            .iter()
            .flat_map(|rdn| rdn.iter())
            .map(attribute_text)
            .collect(),
    )
}

/// What a certificate is good for, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// notAfter as openssl prints it (`Nov 22 07:50:45 2027 GMT`).
    pub not_after_text: String,
    /// Good for a TLS server, as `openssl x509 -purpose` decides.
    pub server: bool,
    /// Good for a TLS client.
    pub client: bool,
}

/// `Nov 22 07:50:45 2027 GMT`, as openssl prints a time.
fn openssl_time(t: &x509_parser::time::ASN1Time) -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = t.to_datetime();
    format!(
        "{} {:>2} {:02}:{:02}:{:02} {} GMT",
        MON[usize::from(u8::from(d.month())) - 1],
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.year()
    )
}

/// The validity end and purposes of a DER certificate. Purposes follow the extensions a
/// certificate may carry: extended key usage (the purpose or any), key usage
/// (digitalSignature, keyEncipherment or keyAgreement for a server; digitalSignature or
/// keyAgreement for a client) and Netscape's certificate type; an absent one allows all.
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let eku = c.extended_key_usage().ok()?.map(|e| e.value);
    let ku = c.key_usage().ok()?.map(|e| e.value);
    let ns = c
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::NSCertType(t) => Some(t),
            _ => None,
        });
    let server = eku.map_or(true, |e| e.any || e.server_auth)
        && ns.map_or(true, |t| t.ssl_server())
        && ku.map_or(true, |k| {
            k.digital_signature() || k.key_encipherment() || k.key_agreement()
        });
    let client = eku.map_or(true, |e| e.any || e.client_auth)
        && ns.map_or(true, |t| t.ssl_client())
        && ku.map_or(true, |k| k.digital_signature() || k.key_agreement());
    let not_after = &c.validity().not_after;
    Some(CertInfo {
        not_after: not_after.timestamp(),
        not_after_text: openssl_time(not_after),
        server,
        client,
    })
}

/// The certificates of a PEM text, up to the first malformed section.
pub fn pem_certificates(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(bytes)
        .map_while(Result::ok)
        .collect()
}

/// A certificate as PEM, in lines of 64 characters as openssl writes it.
pub fn to_pem(der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The first certificate of a PEM file, or the file itself when it holds no PEM
/// certificate (DER).
pub fn first_certificate(bytes: &[u8]) -> Option<CertificateDer<'_>> {
    match CertificateDer::pem_slice_iter(bytes).next() {
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => None,
        None => Some(CertificateDer::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
        KeyUsagePurpose,
    };

    fn cert(f: impl FnOnce(&mut CertificateParams)) -> String {
        let mut p = CertificateParams::new(vec!["mail.example.com".into()]).unwrap();
        f(&mut p);
        p.self_signed(&KeyPair::generate().unwrap()).unwrap().pem()
    }

    fn info(pem: &str) -> CertInfo {
        cert_info(&first_certificate(pem.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn subject_in_openssl_one_line_form() {
        let pem = cert(|p| {
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CountryName, "US");
            dn.push(DnType::OrganizationName, "Example\u{1}Org");
            dn.push(DnType::CommonName, "client");
            p.distinguished_name = dn;
        });
        let der = first_certificate(pem.as_bytes()).unwrap();
        assert_eq!(
            subject_oneline(&der).as_deref(),
            Some("/C=US/O=Example?Org/CN=client")
        );
        assert_eq!(subject_oneline(b"not a certificate"), None);
    }

    #[test]
    fn purposes_follow_the_extensions() {
        let both = info(&cert(|_| {}));
        assert!(both.server && both.client, "{both:?}");
        let server = info(&cert(|p| {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }));
        assert!(server.server && !server.client, "{server:?}");
        let client = info(&cert(|p| {
            p.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
        }));
        assert!(client.server && !client.client, "{client:?}");
    }

    #[test]
    fn validity_end_as_openssl_prints_it() {
        let c = info(&cert(|p| {
            p.not_after = rcgen::date_time_ymd(2026, 11, 2);
        }));
        assert_eq!(c.not_after, 1793577600);
        assert_eq!(c.not_after_text, "Nov  2 00:00:00 2026 GMT");
    }

    #[test]
    fn pem_der_and_garbage() {
        let pem = cert(|_| {});
        let der = first_certificate(pem.as_bytes()).unwrap().to_vec();
        assert!(cert_info(&first_certificate(&der).unwrap()).is_some());
        assert!(first_certificate(b"garbage").is_some_and(|d| cert_info(&d).is_none()));
        let bad = "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n";
        assert!(first_certificate(bad.as_bytes()).is_none());
        let two = format!("{pem}{pem}{bad}{pem}");
        assert_eq!(pem_certificates(two.as_bytes()).len(), 2);
        assert_eq!(to_pem(&der), pem.replace("\r\n", "\n"));
    }
}
