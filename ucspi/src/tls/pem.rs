//! Reading the PEM files TLS needs, with a clear message for each way they can be wrong:
//! certificate chains with their key (one file, chain first or key first), CA lists and
//! CRLs. The texts are lines for the log; the caller adds its own fatal line.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::path::Path;
use std::sync::Arc;

fn pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "malformed PEM: a section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "malformed PEM: bad BEGIN line".into(),
        pem::Error::Base64Decode(_) => "malformed PEM: bad base64".into(),
        pem::Error::SectionTooLarge => "malformed PEM: section too large".into(),
        pem::Error::NoItemsFound => "no PEM data".into(),
        pem::Error::Io(e) => indicore::errstr(e).into(),
        _ => "malformed PEM".into(),
    }
}

fn show(path: &Path) -> std::borrow::Cow<'_, str> {
    path.to_string_lossy()
}

/// The file's bytes; `what` names it in the message (`unable to load what: FILE: err`).
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "unable to load {what}: {}: {}",
            show(path),
            indicore::errstr(&e)
        )
    })
}

/// Every certificate in a PEM text.
pub fn certificates(
    bytes: &[u8],
    path: &Path,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unable to load {what}: {}: {}", show(path), pem_error(&e)))
}

/// A certificate chain and its private key from one file: loaded, parsed and checked to
/// belong together. `missing` is the wording for an unreadable file (the reference loads
/// the certificate file as a CA file first, so it says "CA certificate").
pub fn certified_key(
    path: &Path,
    missing: &str,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, String> {
    let bytes = read(path, missing)?;
    let chain = certificates(&bytes, path, "certificate")?;
    if chain.is_empty() {
        return Err(format!(
            "unable to load certificate: {}: no certificate in file",
            show(path)
        ));
    }
    let key = match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(k) => k,
        Err(pem::Error::NoItemsFound) => {
            return Err(format!(
                "unable to load private key: {}: no private key in file",
                show(path)
            ))
        }
        Err(e) => {
            return Err(format!(
                "unable to load private key: {}: {}",
                show(path),
                pem_error(&e)
            ))
        }
    };
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("unable to load private key: {}: {e}", show(path)))?;
    let ck = CertifiedKey::new(chain, signer);
    match ck.keys_match() {
        Ok(()) => Ok(Arc::new(ck)),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(
            format!("certificate and private key do not match: {}", show(path)),
        ),
        Err(rustls::Error::InconsistentKeys(_)) => Ok(Arc::new(ck)),
        Err(e) => Err(format!("unable to load certificate: {}: {e}", show(path))),
    }
}

/// Whether a PEM text holds at least one certificate and a private key (a candidate for
/// the SNI directory).
pub fn has_certificate_and_key(bytes: &[u8]) -> bool {
    CertificateDer::pem_slice_iter(bytes)
        .next()
        .is_some_and(|c| c.is_ok())
        && PrivateKeyDer::from_pem_slice(bytes).is_ok()
}

/// Add every certificate of a CA file to `roots`.
pub fn add_roots(roots: &mut RootCertStore, path: &Path, what: &str) -> Result<(), String> {
    let bytes = read(path, what)?;
    let certs = certificates(&bytes, path, what)?;
    if certs.is_empty() {
        return Err(format!(
            "unable to load {what}: {}: no certificate in file",
            show(path)
        ));
    }
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("unable to load {what}: {}: {e}", show(path)))?;
    }
    Ok(())
}

/// Every CRL of a PEM file.
pub fn crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let bytes = read(path, "CRL")?;
    let list = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("unable to load CRL: {}: {}", show(path), pem_error(&e)))?;
    if list.is_empty() {
        return Err(format!(
            "unable to load CRL: {}: no CRL in file",
            show(path)
        ));
    }
    Ok(list)
}

/// Whether a default file may be used: the reference uses default CA and CRL files only
/// when they are readable.
pub fn readable(path: &Path) -> bool {
    std::fs::File::open(path).is_ok()
}
