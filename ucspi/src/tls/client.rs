//! The TLS client side (docs/ucspi-tcp.md#tcpclient, docs/decisions.md#u13), shared by
//! tcpclient and dotls: the options (`-n -c -L -C -s -m -f -M -z`) and the client context
//! (certificate, CA and CRL verification of the server, server-name check and SNI).
//! tcpclient's session (STARTTLS, handshake, program or relay) is in its own crate.

use super::pem;
use super::settings::{self, CipherSource};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// The protocol whose STARTTLS dialogue runs before the handshake (`-s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Starttls {
    Smtp,
    Pop3,
    Imap,
}

impl Starttls {
    /// `smtp`, `pop3` or `imap`, in any case.
    pub fn parse(s: &OsStr) -> Option<Self> {
        let s = s.as_bytes();
        [
            (&b"smtp"[..], Starttls::Smtp),
            (b"pop3", Starttls::Pop3),
            (b"imap", Starttls::Imap),
        ]
        .into_iter()
        .find(|(name, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
    }
}

/// Everything the TLS options say.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// `-n`: the client certificate (None: no TLS; empty: the default file).
    pub certfile: Option<OsString>,
    /// `-C certdir` (else `$CERTDIR`, else /etc/indimail/certs).
    pub certdir: Option<OsString>,
    /// `-c`, `-L` (empty: the defaults).
    pub cafile: OsString,
    pub crlfile: OsString,
    pub starttls: Option<Starttls>,
    /// `-m host`: require this name in the server's certificate.
    pub match_host: Option<OsString>,
    /// `-f file`, `-M method`, `-z`.
    pub cipherfile: Option<OsString>,
    pub method: Option<OsString>,
    pub provide_data: bool,
}

impl TlsOptions {
    pub fn enabled(&self) -> bool {
        self.certfile.is_some()
    }

    /// `-C`, else `$CERTDIR`, else /etc/indimail/certs.
    pub fn certdir(&self) -> OsString {
        self.certdir
            .clone()
            .or_else(|| std::env::var_os("CERTDIR"))
            .unwrap_or_else(|| "/etc/indimail/certs".into())
    }

    /// The certificate file: `-n`'s argument, else `$TLS_CERTFILE` or `clientcert.pem`,
    /// placed in the certificate directory unless it starts with `/` or `.`.
    pub fn certfile_path(&self) -> OsString {
        match &self.certfile {
            Some(f) if !f.is_empty() => self.in_certdir(f.clone()),
            _ => self.in_certdir(
                std::env::var_os("TLS_CERTFILE").unwrap_or_else(|| "clientcert.pem".into()),
            ),
        }
    }

    /// A file name placed in the certificate directory unless it starts with `/` or `.`.
    pub fn in_certdir(&self, name: OsString) -> OsString {
        if name
            .as_bytes()
            .first()
            .is_some_and(|c| matches!(c, b'/' | b'.'))
        {
            return name;
        }
        let mut p = self.certdir();
        p.push("/");
        p.push(name);
        p
    }

    /// An explicit file, else the default (from `var`, else `name` in certdir) when readable.
    fn file_or_default(&self, given: &OsStr, var: &str, name: &str) -> Option<(OsString, bool)> {
        if !given.is_empty() {
            return Some((self.in_certdir(given.to_owned()), true));
        }
        let f = self.in_certdir(std::env::var_os(var).unwrap_or_else(|| name.into()));
        pem::readable(Path::new(&f)).then_some((f, false))
    }
}

/// Accepts any certificate (no CA to check against and no `-m`, as the reference does),
/// but still checks that the server holds the key it presents.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client certificate, offered whatever the server asks for.
#[derive(Debug)]
struct ClientCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientCert {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// The system's trust store, for `-m` without a CA file.
fn system_roots(roots: &mut RootCertStore) -> Result<(), String> {
    let f = std::env::var_os("SSL_CERT_FILE")
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
    pem::add_roots(roots, Path::new(&f), "CA certificate")
}

/// A prepared client context and the name to verify and send.
pub struct Client {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
    pub max: settings::Version,
}

/// Build the client context for `host` (the command line's host argument).
pub fn configure(opts: &TlsOptions, host: &OsStr) -> Result<Client, Vec<String>> {
    let cipher_text = match &opts.cipherfile {
        Some(f) => Some(settings::read_cipher_file(f)?),
        None => None,
    };
    let list = std::env::var("TLS_CIPHER_LIST").ok();
    let suite = std::env::var("TLS_CIPHER_SUITE").ok();
    let proto = settings::protocol(
        opts.method.as_deref(),
        &CipherSource {
            file: cipher_text.as_deref(),
            list: list.as_deref(),
            suite: suite.as_deref(),
        },
    )?;
    let provider = Arc::new(super::provider(&proto));
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&proto.versions)
        .map_err(|e| vec![format!("tls_init: {e}")])?;

    let mut roots = RootCertStore::empty();
    if let Some((ca, _)) = opts.file_or_default(&opts.cafile, "SERVERCA", "serverca.pem") {
        pem::add_roots(&mut roots, Path::new(&ca), "CA certificate").map_err(|e| vec![e])?;
    }
    if roots.is_empty() && opts.match_host.is_some() {
        system_roots(&mut roots).map_err(|e| vec![e])?;
    }
    // The name to verify and send: -m, else the host argument; a UNIX socket's path
    // names no host, so a server there is checked as "localhost".
    let name_text = match &opts.match_host {
        Some(m) => m.clone(),
        None if host.as_bytes().starts_with(b"/") => "localhost".into(),
        None => host.to_owned(),
    };
    let server_name =
        ServerName::try_from(name_text.to_string_lossy().into_owned()).map_err(|_| {
            vec![format!(
                "tls_init: invalid server name {}",
                name_text.to_string_lossy()
            )]
        })?;
    let builder = if roots.is_empty() {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider.clone())))
    } else {
        let mut v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if let Some((crl, _)) = opts.file_or_default(&opts.crlfile, "SERVERCRL", "servercrl.pem") {
            v = v
                .with_crls(pem::crls(Path::new(&crl)).map_err(|e| vec![e])?)
                .allow_unknown_revocation_status();
        }
        let v = v.build().map_err(|e| vec![format!("tls_init: {e}")])?;
        builder.with_webpki_verifier(v)
    };

    // The client certificate: a named file must load; the default one is optional.
    let path = opts.certfile_path();
    let explicit = opts.certfile.as_ref().is_some_and(|f| !f.is_empty());
    let mut config = if explicit || pem::readable(Path::new(&path)) {
        let key =
            pem::certified_key(Path::new(&path), "certificate", &provider).map_err(|e| vec![e])?;
        builder.with_client_cert_resolver(Arc::new(ClientCert(key)))
    } else {
        builder.with_no_client_auth()
    };
    config.enable_sni = true;
    Ok(Client {
        config: Arc::new(config),
        server_name,
        max: proto.max,
    })
}
