//! What the TLS options ask of the protocol (docs/ucspi-tcp.md#tls-in-tcpserver, docs/decisions.md#u9): `-M method` as a
//! range of protocol versions, and OpenSSL cipher strings (`-f file`, `TLS_CIPHER_LIST`,
//! `TLS_CIPHER_SUITE`) as rustls cipher suites.
//!
//! Only TLS 1.2 and 1.3 exist here. OpenSSL's names are kept: the TLS 1.3 suite names,
//! the TLS 1.2 names (`ECDHE-RSA-AES256-GCM-SHA384`), the IANA and rustls spellings, and
//! the common keyword expressions (`HIGH`, `ECDHE+AESGCM`, `!aNULL`, `PROFILE=SYSTEM`,
//! `@SECLEVEL=2`). A name OpenSSL knows but rustls does not implement (CBC, DHE, CCM,
//! PSK...) is skipped; a name nobody knows is a startup error that lists the supported
//! ones, and so is a list that leaves no usable suite.

use rustls::crypto::ring::cipher_suite as cs;
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// A protocol version we can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    Tls12,
    Tls13,
}

impl Version {
    /// OpenSSL's SSL_get_version() text.
    pub fn name(self) -> &'static str {
        match self {
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }

    pub fn of(v: rustls::ProtocolVersion) -> Option<Version> {
        match v {
            rustls::ProtocolVersion::TLSv1_2 => Some(Version::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(Version::Tls13),
            _ => None,
        }
    }

    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            Version::Tls12 => &rustls::version::TLS12,
            Version::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// `-M`'s levels, oldest first; the ones below TLS 1.2 only bound a range.
const METHODS: [&str; 6] = ["SSLv23", "SSLv3", "TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"];

/// The versions `-M method` allows: `V` sets the highest version, `MIN:MAX` both ends;
/// SSLv23 means "any". Err: the reference's two lines for an invalid method.
pub fn parse_method(method: Option<&OsStr>) -> Result<(Version, Version), Vec<String>> {
    let invalid = || {
        vec![
            "tls_method: Invalid TLS method configured".to_string(),
            "tls_method: Supported methods: TLSv1_2, TLSv1_3".to_string(),
        ]
    };
    let Some(m) = method else {
        return Ok((Version::Tls12, Version::Tls13));
    };
    let text = std::str::from_utf8(m.as_bytes()).map_err(|_| invalid())?;
    let level = |s: &str| METHODS.iter().position(|m| *m == s);
    let (min, max) = match text.split_once(':') {
        Some((a, b)) => (level(a).ok_or_else(invalid)?, level(b).ok_or_else(invalid)?),
        None => (0, level(text).ok_or_else(invalid)?),
    };
    // SSLv23 as the upper end means "no upper bound".
    let max = if max == 0 { 5 } else { max };
    let to_version = |l: usize| {
        if l >= 5 {
            Version::Tls13
        } else {
            Version::Tls12
        }
    };
    if max < 4 || min > max {
        return Err(invalid());
    }
    Ok((to_version(min), to_version(max)))
}

/// One suite rustls offers, with the names and facts OpenSSL's syntax selects it by.
struct Suite {
    openssl: &'static str,
    suite: SupportedCipherSuite,
    version: Version,
    auth: &'static str,
    enc: &'static str,
    bits: u32,
    mac: &'static str,
}

const SUITES: [Suite; 9] = [
    Suite {
        openssl: "TLS_AES_256_GCM_SHA384",
        suite: cs::TLS13_AES_256_GCM_SHA384,
        version: Version::Tls13,
        auth: "",
        enc: "AESGCM",
        bits: 256,
        mac: "SHA384",
    },
    Suite {
        openssl: "TLS_CHACHA20_POLY1305_SHA256",
        suite: cs::TLS13_CHACHA20_POLY1305_SHA256,
        version: Version::Tls13,
        auth: "",
        enc: "CHACHA20",
        bits: 256,
        mac: "SHA256",
    },
    Suite {
        openssl: "TLS_AES_128_GCM_SHA256",
        suite: cs::TLS13_AES_128_GCM_SHA256,
        version: Version::Tls13,
        auth: "",
        enc: "AESGCM",
        bits: 128,
        mac: "SHA256",
    },
    Suite {
        openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
        suite: cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        version: Version::Tls12,
        auth: "ECDSA",
        enc: "AESGCM",
        bits: 256,
        mac: "SHA384",
    },
    Suite {
        openssl: "ECDHE-RSA-AES256-GCM-SHA384",
        suite: cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        version: Version::Tls12,
        auth: "RSA",
        enc: "AESGCM",
        bits: 256,
        mac: "SHA384",
    },
    Suite {
        openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
        suite: cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        version: Version::Tls12,
        auth: "ECDSA",
        enc: "CHACHA20",
        bits: 256,
        mac: "SHA256",
    },
    Suite {
        openssl: "ECDHE-RSA-CHACHA20-POLY1305",
        suite: cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        version: Version::Tls12,
        auth: "RSA",
        enc: "CHACHA20",
        bits: 256,
        mac: "SHA256",
    },
    Suite {
        openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
        suite: cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        version: Version::Tls12,
        auth: "ECDSA",
        enc: "AESGCM",
        bits: 128,
        mac: "SHA256",
    },
    Suite {
        openssl: "ECDHE-RSA-AES128-GCM-SHA256",
        suite: cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        version: Version::Tls12,
        auth: "RSA",
        enc: "AESGCM",
        bits: 128,
        mac: "SHA256",
    },
];

/// The OpenSSL name and secret bits of a negotiated suite (for TLS_PROVIDER and the log).
pub fn suite_facts(suite: SupportedCipherSuite) -> (&'static str, u32) {
    SUITES
        .iter()
        .find(|s| s.suite.suite() == suite.suite())
        .map_or(("unknown", 0), |s| (s.openssl, s.bits))
}

/// OpenSSL 3's cipher names that rustls does not implement: accepted and skipped.
const OPENSSL_ONLY: &str = "DHE-DSS-AES256-GCM-SHA384 DHE-RSA-AES256-GCM-SHA384 \
DHE-RSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES256-CCM8 ECDHE-ECDSA-AES256-CCM DHE-RSA-AES256-CCM8 \
DHE-RSA-AES256-CCM ECDHE-ECDSA-ARIA256-GCM-SHA384 ECDHE-ARIA256-GCM-SHA384 \
DHE-DSS-ARIA256-GCM-SHA384 DHE-RSA-ARIA256-GCM-SHA384 ADH-AES256-GCM-SHA384 \
DHE-DSS-AES128-GCM-SHA256 DHE-RSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES128-CCM8 \
ECDHE-ECDSA-AES128-CCM DHE-RSA-AES128-CCM8 DHE-RSA-AES128-CCM ECDHE-ECDSA-ARIA128-GCM-SHA256 \
ECDHE-ARIA128-GCM-SHA256 DHE-DSS-ARIA128-GCM-SHA256 DHE-RSA-ARIA128-GCM-SHA256 \
ADH-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-SHA384 ECDHE-RSA-AES256-SHA384 DHE-RSA-AES256-SHA256 \
DHE-DSS-AES256-SHA256 ECDHE-ECDSA-CAMELLIA256-SHA384 ECDHE-RSA-CAMELLIA256-SHA384 \
DHE-RSA-CAMELLIA256-SHA256 DHE-DSS-CAMELLIA256-SHA256 ADH-AES256-SHA256 ADH-CAMELLIA256-SHA256 \
ECDHE-ECDSA-AES128-SHA256 ECDHE-RSA-AES128-SHA256 DHE-RSA-AES128-SHA256 DHE-DSS-AES128-SHA256 \
ECDHE-ECDSA-CAMELLIA128-SHA256 ECDHE-RSA-CAMELLIA128-SHA256 DHE-RSA-CAMELLIA128-SHA256 \
DHE-DSS-CAMELLIA128-SHA256 ADH-AES128-SHA256 ADH-CAMELLIA128-SHA256 ECDHE-ECDSA-AES256-SHA \
ECDHE-RSA-AES256-SHA DHE-RSA-AES256-SHA DHE-DSS-AES256-SHA DHE-RSA-CAMELLIA256-SHA \
DHE-DSS-CAMELLIA256-SHA AECDH-AES256-SHA ADH-AES256-SHA ADH-CAMELLIA256-SHA ECDHE-ECDSA-AES128-SHA \
ECDHE-RSA-AES128-SHA DHE-RSA-AES128-SHA DHE-DSS-AES128-SHA DHE-RSA-CAMELLIA128-SHA \
DHE-DSS-CAMELLIA128-SHA AECDH-AES128-SHA ADH-AES128-SHA ADH-CAMELLIA128-SHA \
RSA-PSK-AES256-GCM-SHA384 DHE-PSK-AES256-GCM-SHA384 RSA-PSK-CHACHA20-POLY1305 \
DHE-PSK-CHACHA20-POLY1305 ECDHE-PSK-CHACHA20-POLY1305 DHE-PSK-AES256-CCM8 DHE-PSK-AES256-CCM \
RSA-PSK-ARIA256-GCM-SHA384 DHE-PSK-ARIA256-GCM-SHA384 AES256-GCM-SHA384 AES256-CCM8 AES256-CCM \
ARIA256-GCM-SHA384 PSK-AES256-GCM-SHA384 PSK-CHACHA20-POLY1305 PSK-AES256-CCM8 PSK-AES256-CCM \
PSK-ARIA256-GCM-SHA384 RSA-PSK-AES128-GCM-SHA256 DHE-PSK-AES128-GCM-SHA256 DHE-PSK-AES128-CCM8 \
DHE-PSK-AES128-CCM RSA-PSK-ARIA128-GCM-SHA256 DHE-PSK-ARIA128-GCM-SHA256 AES128-GCM-SHA256 \
AES128-CCM8 AES128-CCM ARIA128-GCM-SHA256 PSK-AES128-GCM-SHA256 PSK-AES128-CCM8 PSK-AES128-CCM \
PSK-ARIA128-GCM-SHA256 AES256-SHA256 CAMELLIA256-SHA256 AES128-SHA256 CAMELLIA128-SHA256 \
ECDHE-PSK-AES256-CBC-SHA384 ECDHE-PSK-AES256-CBC-SHA SRP-DSS-AES-256-CBC-SHA \
SRP-RSA-AES-256-CBC-SHA SRP-AES-256-CBC-SHA RSA-PSK-AES256-CBC-SHA384 DHE-PSK-AES256-CBC-SHA384 \
RSA-PSK-AES256-CBC-SHA DHE-PSK-AES256-CBC-SHA ECDHE-PSK-CAMELLIA256-SHA384 \
RSA-PSK-CAMELLIA256-SHA384 DHE-PSK-CAMELLIA256-SHA384 AES256-SHA CAMELLIA256-SHA \
PSK-AES256-CBC-SHA384 PSK-AES256-CBC-SHA PSK-CAMELLIA256-SHA384 ECDHE-PSK-AES128-CBC-SHA256 \
ECDHE-PSK-AES128-CBC-SHA SRP-DSS-AES-128-CBC-SHA SRP-RSA-AES-128-CBC-SHA SRP-AES-128-CBC-SHA \
RSA-PSK-AES128-CBC-SHA256 DHE-PSK-AES128-CBC-SHA256 RSA-PSK-AES128-CBC-SHA DHE-PSK-AES128-CBC-SHA \
ECDHE-PSK-CAMELLIA128-SHA256 RSA-PSK-CAMELLIA128-SHA256 DHE-PSK-CAMELLIA128-SHA256 AES128-SHA \
CAMELLIA128-SHA PSK-AES128-CBC-SHA256 PSK-AES128-CBC-SHA PSK-CAMELLIA128-SHA256 \
ECDHE-ECDSA-NULL-SHA ECDHE-RSA-NULL-SHA AECDH-NULL-SHA NULL-SHA256 ECDHE-PSK-NULL-SHA384 \
ECDHE-PSK-NULL-SHA256 ECDHE-PSK-NULL-SHA RSA-PSK-NULL-SHA384 RSA-PSK-NULL-SHA256 \
DHE-PSK-NULL-SHA384 DHE-PSK-NULL-SHA256 RSA-PSK-NULL-SHA DHE-PSK-NULL-SHA NULL-SHA NULL-MD5 \
PSK-NULL-SHA384 PSK-NULL-SHA256 PSK-NULL-SHA DES-CBC3-SHA EDH-RSA-DES-CBC3-SHA \
EDH-DSS-DES-CBC3-SHA ECDHE-RSA-DES-CBC3-SHA ECDHE-ECDSA-DES-CBC3-SHA RC4-SHA RC4-MD5 \
ECDHE-RSA-RC4-SHA ECDHE-ECDSA-RC4-SHA EXP-RC4-MD5 IDEA-CBC-SHA SEED-SHA \
TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256";

/// Group keywords of OpenSSL's cipher-list syntax and which suites they select.
fn keyword(word: &str, s: &Suite) -> Option<bool> {
    let tls12 = s.version == Version::Tls12;
    Some(match word {
        "DEFAULT"
        | "ALL"
        | "HIGH"
        | "SECURE"
        | "PROFILE=SYSTEM"
        | "COMPLEMENTOFDEFAULT"
        | "TLSv1.2"
        | "AEAD"
        | "FIPS" => tls12,
        "ECDHE" | "EECDH" | "kECDHE" | "kEECDH" | "ECDH" | "kECDH" => tls12,
        "aECDSA" | "ECDSA" => tls12 && s.auth == "ECDSA",
        "aRSA" | "RSA" => tls12 && s.auth == "RSA",
        "AESGCM" => tls12 && s.enc == "AESGCM",
        "AES" => tls12 && s.enc == "AESGCM",
        "AES128" => tls12 && s.enc == "AESGCM" && s.bits == 128,
        "AES256" => tls12 && s.enc == "AESGCM" && s.bits == 256,
        "CHACHA20" => tls12 && s.enc == "CHACHA20",
        "SHA256" => tls12 && s.mac == "SHA256",
        "SHA384" => tls12 && s.mac == "SHA384",
        "SUITEB128" | "SUITEB128ONLY" | "SUITEB192" | "SUITEB128C2" => {
            tls12 && s.auth == "ECDSA" && s.enc == "AESGCM"
        }
        // Keywords for families rustls does not implement select nothing.
        "MEDIUM" | "LOW" | "EXPORT" | "COMPLEMENTOFALL" | "aNULL" | "eNULL" | "NULL" | "kRSA"
        | "DH" | "DHE" | "EDH" | "kDHE" | "kEDH" | "ADH" | "AECDH" | "PSK" | "kPSK"
        | "ECDHEPSK" | "DHEPSK" | "RSAPSK" | "aPSK" | "SRP" | "kSRP" | "aDSS" | "DSS" | "SHA"
        | "SHA1" | "MD5" | "RC4" | "DES" | "3DES" | "IDEA" | "SEED" | "CAMELLIA"
        | "CAMELLIA128" | "CAMELLIA256" | "ARIA" | "ARIA128" | "ARIA256" | "AESCCM" | "AESCCM8"
        | "CBC" | "SSLv3" | "TLSv1" | "TLSv1.0" | "GOST" | "kGOST" | "aGOST" => false,
        _ => return None,
    })
}

/// The suites one list chose, per version; None: the list did not speak of that version.
#[derive(Debug, Default, Clone, PartialEq)]
struct Chosen {
    tls12: Option<Vec<usize>>,
    tls13: Option<Vec<usize>>,
}

fn find(name: &str) -> Option<usize> {
    SUITES.iter().position(|s| {
        s.openssl.eq_ignore_ascii_case(name)
            || s.suite
                .suite()
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            || iana_name(s).eq_ignore_ascii_case(name)
    })
}

/// The IANA spelling of TLS 1.3 suites differs from rustls's (`TLS13_`).
fn iana_name(s: &Suite) -> String {
    s.suite
        .suite()
        .as_str()
        .unwrap_or_default()
        .replacen("TLS13_", "TLS_", 1)
}

fn supported_names() -> String {
    SUITES
        .iter()
        .map(|s| s.openssl)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parse one cipher string (OpenSSL list or TLS 1.3 suite list).
fn parse_list(text: &str) -> Result<Chosen, Vec<String>> {
    let mut chosen = Chosen::default();
    let unknown = |name: &str| {
        vec![
            format!("tls_cipher: unknown cipher {name} in {text}"),
            format!("tls_cipher: supported ciphers: {}", supported_names()),
        ]
    };
    for item in text.split([':', ',', ' ']).filter(|s| !s.is_empty()) {
        if item.starts_with('@') {
            continue; // @STRENGTH, @SECLEVEL=n: ordering and security levels.
        }
        let (remove, body) = match item.as_bytes()[0] {
            b'!' | b'-' => (true, &item[1..]),
            b'+' => (false, &item[1..]),
            _ => (false, item),
        };
        let matches: Vec<usize> = if let Some(i) = find(body) {
            vec![i]
        } else if OPENSSL_ONLY
            .split_ascii_whitespace()
            .any(|n| n.eq_ignore_ascii_case(body))
        {
            Vec::new()
        } else {
            let mut all = Vec::new();
            for (i, s) in SUITES.iter().enumerate() {
                let mut yes = true;
                for word in body.split('+') {
                    match keyword(word, s) {
                        Some(m) => yes &= m,
                        None => return Err(unknown(body)),
                    }
                }
                if yes {
                    all.push(i);
                }
            }
            all
        };
        for i in matches {
            let slot = match SUITES[i].version {
                Version::Tls12 => &mut chosen.tls12,
                Version::Tls13 => &mut chosen.tls13,
            };
            let list = slot.get_or_insert_with(Vec::new);
            if remove {
                list.retain(|&j| j != i);
            } else if !list.contains(&i) {
                list.push(i);
            }
        }
        // A name for a version still marks that version as spoken of.
        if find(body).is_none() && !remove {
            if body.starts_with("TLS_") {
                chosen.tls13.get_or_insert_with(Vec::new);
            } else {
                chosen.tls12.get_or_insert_with(Vec::new);
            }
        }
    }
    Ok(chosen)
}

/// The protocol side of a TLS context: versions and suites.
#[derive(Debug, Clone)]
pub struct Protocol {
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub suites: Vec<SupportedCipherSuite>,
    /// The highest version allowed (the `Server=` field of the reference's log line).
    pub max: Version,
}

/// Where the cipher string comes from, as the reference decides (docs/ucspi-tcp.md#tls-in-tcpserver).
pub struct CipherSource<'a> {
    /// `-f file`'s content, already read.
    pub file: Option<&'a str>,
    /// `$TLS_CIPHER_LIST` and `$TLS_CIPHER_SUITE`.
    pub list: Option<&'a str>,
    pub suite: Option<&'a str>,
}

/// Versions from `-M`, suites from the cipher string in force.
pub fn protocol(method: Option<&OsStr>, src: &CipherSource<'_>) -> Result<Protocol, Vec<String>> {
    let (min, max) = parse_method(method)?;
    // Below TLS 1.3 the reference sets a cipher list (default PROFILE=SYSTEM); otherwise
    // TLS 1.3 suites, and nothing at all when none is given.
    let text = if max < Version::Tls13 {
        Some(src.file.or(src.list).unwrap_or("PROFILE=SYSTEM"))
    } else {
        src.file.or(src.suite)
    };
    let chosen = match text {
        Some(t) => parse_list(t)?,
        None => Chosen::default(),
    };
    let mut versions = Vec::new();
    let mut suites = Vec::new();
    for v in [Version::Tls13, Version::Tls12] {
        if v < min || v > max {
            continue;
        }
        let picked = match v {
            Version::Tls12 => &chosen.tls12,
            Version::Tls13 => &chosen.tls13,
        };
        let before = suites.len();
        match picked {
            Some(list) => suites.extend(list.iter().map(|&i| SUITES[i].suite)),
            None => suites.extend(SUITES.iter().filter(|s| s.version == v).map(|s| s.suite)),
        }
        if suites.len() > before {
            versions.push(v.rustls());
        }
    }
    if suites.is_empty() {
        return Err(vec![
            format!(
                "tls_cipher: no usable cipher in {}",
                text.unwrap_or_default()
            ),
            format!("tls_cipher: supported ciphers: {}", supported_names()),
        ]);
    }
    let max = if versions
        .iter()
        .any(|v| v.version == rustls::ProtocolVersion::TLSv1_3)
    {
        Version::Tls13
    } else {
        Version::Tls12
    };
    Ok(Protocol {
        versions,
        suites,
        max,
    })
}

/// A `-f` cipher file: the whole file, one trailing newline dropped, cut at the first
/// white space.
pub fn read_cipher_file(path: &OsStr) -> Result<String, Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![format!(
            "unable to read cipher file {}: {}",
            path.to_string_lossy(),
            indicore::errstr(&e)
        )]
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or_default()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &Protocol) -> Vec<&'static str> {
        p.suites.iter().map(|s| suite_facts(*s).0).collect()
    }

    fn src<'a>(
        file: Option<&'a str>,
        list: Option<&'a str>,
        suite: Option<&'a str>,
    ) -> CipherSource<'a> {
        CipherSource { file, list, suite }
    }

    #[test]
    fn methods() {
        let m = |s: &str| parse_method(Some(OsStr::new(s)));
        assert_eq!(parse_method(None), Ok((Version::Tls12, Version::Tls13)));
        assert_eq!(m("TLSv1_2"), Ok((Version::Tls12, Version::Tls12)));
        assert_eq!(m("TLSv1_3"), Ok((Version::Tls12, Version::Tls13)));
        assert_eq!(m("SSLv23"), Ok((Version::Tls12, Version::Tls13)));
        assert_eq!(m("TLSv1_3:TLSv1_3"), Ok((Version::Tls13, Version::Tls13)));
        assert_eq!(m("TLSv1:TLSv1_2"), Ok((Version::Tls12, Version::Tls12)));
        for bad in ["TLSv1_1", "TLSv1", "tls", "TLSv1_3:TLSv1_2", "", "TLSv1_2:"] {
            assert!(
                m(bad).unwrap_err()[0].contains("Invalid TLS method"),
                "{bad}"
            );
        }
    }

    #[test]
    fn defaults_and_lists() {
        let all = protocol(None, &src(None, None, None)).unwrap();
        assert_eq!(all.suites.len(), 9);
        assert_eq!(all.max, Version::Tls13);
        // TLS 1.3 suites without -M; TLS 1.2 keeps its defaults.
        let p = protocol(
            None,
            &src(None, Some("ignored-here"), Some("TLS_AES_128_GCM_SHA256")),
        )
        .unwrap();
        assert_eq!(names(&p)[0], "TLS_AES_128_GCM_SHA256");
        assert_eq!(p.suites.len(), 7);
        // -M TLSv1_2: the cipher list, PROFILE=SYSTEM by default.
        let p = protocol(Some(OsStr::new("TLSv1_2")), &src(None, None, None)).unwrap();
        assert_eq!(p.suites.len(), 6);
        assert_eq!(p.max, Version::Tls12);
        let p = protocol(
            Some(OsStr::new("TLSv1_2")),
            &src(
                None,
                Some("ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES256-SHA:!aNULL"),
                None,
            ),
        )
        .unwrap();
        assert_eq!(names(&p), ["ECDHE-RSA-AES256-GCM-SHA384"]);
        let p = protocol(
            Some(OsStr::new("TLSv1_2")),
            &src(Some("ECDHE+AESGCM:!aRSA"), None, None),
        )
        .unwrap();
        assert_eq!(
            names(&p),
            [
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES128-GCM-SHA256"
            ]
        );
        // IANA and rustls spellings.
        let p = protocol(
            None,
            &src(Some("TLS13_CHACHA20_POLY1305_SHA256"), None, None),
        )
        .unwrap();
        assert_eq!(names(&p)[0], "TLS_CHACHA20_POLY1305_SHA256");
    }

    #[test]
    fn unknown_and_empty_lists_are_errors() {
        let e = protocol(None, &src(None, None, Some("TLS_AES_512_GCM"))).unwrap_err();
        assert!(e[0].contains("unknown cipher TLS_AES_512_GCM"), "{e:?}");
        assert!(e[1].contains("TLS_AES_256_GCM_SHA384"));
        let e = protocol(
            Some(OsStr::new("TLSv1_2")),
            &src(None, Some("DHE-RSA-AES256-SHA"), None),
        )
        .unwrap_err();
        assert!(e[0].contains("no usable cipher"), "{e:?}");
        // Only CCM for TLS 1.3 with -M TLSv1_3:TLSv1_3: nothing left.
        let e = protocol(
            Some(OsStr::new("TLSv1_3:TLSv1_3")),
            &src(None, None, Some("TLS_AES_128_CCM_SHA256")),
        )
        .unwrap_err();
        assert!(e[0].contains("no usable cipher"));
    }
}
