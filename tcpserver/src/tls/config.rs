//! The server's TLS context (docs/ucspi-tcp.md#tls-in-tcpserver, docs/decisions.md#u9, #u11): certificate file (chain and
//! key in one PEM), certificate directory, client CA and CRL, ciphers and versions, and
//! past the reference, a certificate per server name (SNI) from the certificate
//! directory.
//!
//! Everything is loaded and checked here, at startup or reload: a missing or unreadable
//! file, a key that does not match, malformed PEM or an unknown cipher is an error
//! before any client connects, never a server that fails every handshake.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use ucspi::tls::pem;
use ucspi::tls::settings::{self, CipherSource, Version};
use ucspi::x509;

/// The TLS options of tcpserver or dotls, as given.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `-n file` (empty: `$TLS_CERTFILE`, else servercert.pem).
    pub certfile: OsString,
    /// `-i certdir` (else `$CERTDIR`, else /etc/indimail/certs).
    pub certdir: Option<OsString>,
    /// `-a cafile`, `-L crlfile` (else `$CLIENTCA`/clientca.pem, `$CLIENTCRL`/clientcrl.pem,
    /// used only when readable).
    pub cafile: Option<OsString>,
    pub crlfile: Option<OsString>,
    /// `-f file`, `-M method`.
    pub cipher_file: Option<OsString>,
    pub method: Option<OsString>,
    /// The name of the default certificate when `certfile` is empty.
    pub default_certfile: &'static str,
    /// Environment lookups (the process environment; tests pass their own).
    pub env: fn(&str) -> Option<OsString>,
    /// Issue TLS 1.3 session tickets: useful only when later connections are served by
    /// processes that share the ticket key (tcpserver's children, not one dotls each).
    pub tickets: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            certfile: OsString::new(),
            certdir: None,
            cafile: None,
            crlfile: None,
            cipher_file: None,
            method: None,
            default_certfile: "servercert.pem",
            env: process_env,
            tickets: true,
        }
    }
}

pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The file names the settings resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub certdir: PathBuf,
    pub certfile: PathBuf,
    pub cafile: Option<PathBuf>,
    pub crlfile: Option<PathBuf>,
}

impl Settings {
    fn in_certdir(&self, certdir: &Path, name: &OsStr) -> PathBuf {
        if name
            .as_bytes()
            .first()
            .is_some_and(|c| matches!(c, b'/' | b'.'))
        {
            PathBuf::from(name)
        } else {
            certdir.join(name)
        }
    }

    pub fn files(&self) -> Files {
        let env = self.env;
        let certdir = PathBuf::from(
            self.certdir
                .clone()
                .or_else(|| env("CERTDIR"))
                .unwrap_or_else(|| "/etc/indimail/certs".into()),
        );
        let certfile = if self.certfile.is_empty() {
            env("TLS_CERTFILE").unwrap_or_else(|| self.default_certfile.into())
        } else {
            self.certfile.clone()
        };
        let optional = |given: &Option<OsString>, var: &str, name: &str| match given {
            Some(f) if !f.is_empty() => Some(self.in_certdir(&certdir, f)),
            _ => {
                let f = self.in_certdir(&certdir, &env(var).unwrap_or_else(|| name.into()));
                pem::readable(&f).then_some(f)
            }
        };
        Files {
            certfile: self.in_certdir(&certdir, &certfile),
            cafile: optional(&self.cafile, "CLIENTCA", "clientca.pem"),
            crlfile: optional(&self.crlfile, "CLIENTCRL", "clientcrl.pem"),
            certdir,
        }
    }
}

/// The largest session-ticket plaintext a child will decrypt.
const TICKET_ROOM: usize = 16 * 1024;

/// The default certificate and the ones named after server names.
#[derive(Debug)]
pub struct Certificates {
    pub default: Arc<CertifiedKey>,
    pub by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello.server_name() {
            let name = name.to_ascii_lowercase();
            if let Some(k) = self.by_name.get(&name) {
                return Some(k.clone());
            }
            if let Some((_, parent)) = name.split_once('.') {
                if let Some(k) = self.by_name.get(&format!("*.{parent}")) {
                    return Some(k.clone());
                }
            }
        }
        Some(self.default.clone())
    }
}

/// A file name that can name a server: `host.example.pem` or `*.example.pem`.
fn server_name_of(file: &OsStr) -> Option<String> {
    let name = std::str::from_utf8(file.as_bytes())
        .ok()?
        .strip_suffix(".pem")?;
    let host = name.strip_prefix("*.").unwrap_or(name);
    let ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then(|| name.to_ascii_lowercase())
}

/// The certificates of the certificate directory named after server names. A file with
/// a certificate and a key that cannot be used is skipped with a warning line.
fn sni_certificates(
    dir: &Path,
    provider: &CryptoProvider,
    warnings: &mut Vec<String>,
) -> HashMap<String, Arc<CertifiedKey>> {
    let mut map = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return map;
    };
    for e in entries.flatten() {
        let Some(name) = server_name_of(&e.file_name()) else {
            continue;
        };
        let path = e.path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if !pem::has_certificate_and_key(&bytes) {
            continue;
        }
        match pem::certified_key(&path, "certificate", provider) {
            Ok(k) => {
                map.insert(name, k);
            }
            Err(e) => warnings.push(format!("SNI certificate skipped: {e}")),
        }
    }
    map
}

/// What the client's certificate proved (U11), for `TLS_CLIENT_VERIFY` and `TLS_CLIENT_DN`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientVerdict {
    /// None: no certificate presented (NONE); Some(true): SUCCESS; Some(false): FAILED.
    pub verified: Option<bool>,
    pub dn: Option<String>,
    pub why: Option<String>,
}

impl ClientVerdict {
    pub fn word(&self) -> &'static str {
        match self.verified {
            None => "NONE",
            Some(true) => "SUCCESS",
            Some(false) => "FAILED",
        }
    }
}

/// Asks for a client certificate, verifies it against the CA list and CRL, and records
/// the result; refuses the handshake on a failure only when a certificate is mandatory.
#[derive(Debug)]
pub struct ClientCheck {
    inner: Arc<dyn ClientCertVerifier>,
    mandatory: bool,
    pub verdict: Mutex<ClientVerdict>,
}

impl ClientCertVerifier for ClientCheck {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let r = self
            .inner
            .verify_client_cert(end_entity, intermediates, now);
        if let Ok(mut v) = self.verdict.lock() {
            *v = ClientVerdict {
                verified: Some(r.is_ok()),
                dn: x509::subject_oneline(end_entity),
                why: r.as_ref().err().map(ToString::to_string),
            };
        }
        if self.mandatory {
            r
        } else {
            Ok(ClientCertVerified::assertion())
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// One ready server context, and the client check inside it (if any).
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Arc<ServerConfig>,
    pub client_check: Option<Arc<ClientCheck>>,
}

/// The contexts a connection chooses from: client certificates optional (or not asked
/// for, without a CA list) and mandatory (only with a CA list).
#[derive(Debug, Clone)]
pub struct Contexts {
    pub optional: Context,
    pub mandatory: Option<Context>,
    /// The highest version allowed (the log's `Server=`).
    pub max: Version,
    pub files: Files,
    /// Lines worth logging (skipped SNI files).
    pub warnings: Vec<String>,
}

/// Whether a certificate is mandatory: `TLS_CLIENT_REQUIRED` set to anything but empty
/// or `0` (from the environment, or per client from the rules).
pub fn required(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v.as_bytes() != b"0")
}

/// Load and check everything; Err holds the lines to log before the fatal one.
pub fn load(s: &Settings) -> Result<Contexts, Vec<String>> {
    let env = s.env;
    let files = s.files();
    let cipher_text = match &s.cipher_file {
        Some(f) => Some(settings::read_cipher_file(f)?),
        None => None,
    };
    let list = env("TLS_CIPHER_LIST").map(|v| v.to_string_lossy().into_owned());
    let suite = env("TLS_CIPHER_SUITE").map(|v| v.to_string_lossy().into_owned());
    let proto = settings::protocol(
        s.method.as_deref(),
        &CipherSource {
            file: cipher_text.as_deref(),
            list: list.as_deref(),
            suite: suite.as_deref(),
        },
    )?;
    let provider = Arc::new(ucspi::tls::provider(&proto));
    let one = |e: String| vec![e];

    // The reference loads the certificate file as a CA file first: an unreadable file
    // reads "unable to load CA certificate".
    let default = pem::certified_key(&files.certfile, "CA certificate", &provider).map_err(one)?;
    let mut warnings = Vec::new();
    let by_name = sni_certificates(&files.certdir, &provider, &mut warnings);
    let certs = Arc::new(Certificates {
        default: default.clone(),
        by_name,
    });

    // Client certificates: trusted are the CA list and, as the reference, the
    // certificates of the certificate file itself.
    let verifier = |mandatory: bool| -> Result<Option<Arc<ClientCheck>>, Vec<String>> {
        let Some(ca) = &files.cafile else {
            return Ok(None);
        };
        let mut roots = RootCertStore::empty();
        pem::add_roots(&mut roots, ca, "CA certificate").map_err(one)?;
        for c in &default.cert {
            let _ = roots.add(c.clone());
        }
        let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if let Some(crl) = &files.crlfile {
            b = b
                .with_crls(pem::crls(crl).map_err(one)?)
                .allow_unknown_revocation_status();
        }
        if !mandatory {
            b = b.allow_unauthenticated();
        }
        let inner = b.build().map_err(|e| vec![format!("tls_init: {e}")])?;
        Ok(Some(Arc::new(ClientCheck {
            inner,
            mandatory,
            verdict: Mutex::new(ClientVerdict::default()),
        })))
    };
    let context = |check: Option<Arc<ClientCheck>>| -> Result<Context, Vec<String>> {
        let b = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&proto.versions)
            .map_err(|e| vec![format!("tls_init: {e}")])?;
        let b = match &check {
            Some(c) => b.with_client_cert_verifier(c.clone() as Arc<dyn ClientCertVerifier>),
            None => b.with_no_client_auth(),
        };
        let mut config = b.with_cert_resolver(certs.clone());
        // Children are separate processes: a session cache would be per child, so
        // resumption uses tickets, whose key every child inherits.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.ticketer =
            rustls::crypto::ring::Ticketer::new().map_err(|e| vec![format!("tls_init: {e}")])?;
        config.send_tls13_tickets = usize::from(s.tickets);
        // The ticketer decrypts nothing longer than what it has encrypted itself, and a
        // forked child has encrypted nothing: one large ticket here, before any fork,
        // lets every child accept the others' tickets (client chains included).
        if s.tickets {
            let _ = config.ticketer.encrypt(&[0u8; TICKET_ROOM]);
        }
        Ok(Context {
            config: Arc::new(config),
            client_check: check,
        })
    };
    let optional = context(verifier(false)?)?;
    let mandatory = match verifier(true)? {
        Some(c) => Some(context(Some(c))?),
        None => None,
    };
    Ok(Contexts {
        optional,
        mandatory,
        max: proto.max,
        files,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_from_file_names() {
        let n = |s: &str| server_name_of(OsStr::new(s));
        assert_eq!(
            n("mail.example.com.pem").as_deref(),
            Some("mail.example.com")
        );
        assert_eq!(n("*.Example.com.pem").as_deref(), Some("*.example.com"));
        assert_eq!(n("localhost.pem").as_deref(), Some("localhost"));
        assert_eq!(n("a..b.pem"), None);
        assert_eq!(n("x.crt"), None);
        assert_eq!(n(".pem"), None);
        assert_eq!(n("a b.pem"), None);
    }

    #[test]
    fn required_switch() {
        assert!(!required(None));
        assert!(!required(Some(OsStr::new(""))));
        assert!(!required(Some(OsStr::new("0"))));
        assert!(required(Some(OsStr::new("1"))));
    }
}
