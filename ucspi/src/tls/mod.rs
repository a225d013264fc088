//! TLS on rustls for the UCSPI programs (docs/ucspi-tcp.md#tls-in-tcpserver, #tcpclient, #dotls; docs/decisions.md#u9 to #u14).
//!
//! This module is the part tcpserver, dotls and tcpclient share: [`settings`] (protocol
//! versions and OpenSSL cipher names), [`pem`] (certificate, key, CA and CRL files),
//! [`proxy`] (handshake with a deadline and the plaintext relay), [`program`] (the program
//! on pipes after the handshake), [`starttls`] (the client dialogues) and [`client`] (the
//! client context tcpclient and dotls use). The server side lives in tcpserver's `tls`.
//!
//! The crypto provider is *ring*: it builds quickly with only a C compiler, and its
//! P-256, X25519 and AES-GCM code is the assembly BoringSSL uses.

pub mod client;
pub mod pem;
pub mod program;
pub mod proxy;
pub mod settings;
pub mod starttls;

pub use client::{Starttls, TlsOptions};

use settings::{suite_facts, Protocol, Version};

/// The *ring* provider limited to the suites in force.
pub fn provider(proto: &Protocol) -> rustls::crypto::CryptoProvider {
    rustls::crypto::CryptoProvider {
        cipher_suites: proto.suites.clone(),
        ..rustls::crypto::ring::default_provider()
    }
}

/// What a finished handshake agreed, named as OpenSSL names it.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The context's highest version (the reference's `Server=`: SSL_get_version() read
    /// before the handshake).
    pub server: &'static str,
    /// The negotiated version (`Client=`).
    pub client: &'static str,
    pub cipher: &'static str,
    pub bits: u32,
}

impl Negotiated {
    pub fn of(conn: &rustls::Connection, max: Version) -> Negotiated {
        let client = conn
            .protocol_version()
            .and_then(Version::of)
            .map_or("unknown", Version::name);
        let (cipher, bits) = conn
            .negotiated_cipher_suite()
            .map_or(("unknown", 0), suite_facts);
        Negotiated {
            server: max.name(),
            client,
            cipher,
            bits,
        }
    }

    /// `TLS Server=TLSv1.3, Client=TLSv1.3, Ciphers=TLS_AES_256_GCM_SHA384[, bits=256]`.
    pub fn details(&self, bits: bool) -> String {
        let mut s = format!(
            "TLS Server={}, Client={}, Ciphers={}",
            self.server, self.client, self.cipher
        );
        if bits {
            s.push_str(&format!(", bits={}", self.bits));
        }
        s
    }
}
