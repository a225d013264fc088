//! tcpclient's TLS options (`-n -c -L -s -m -f -M -z`): parsed and resolved to file names
//! here, as the reference does, so the command line and the STARTTLS checks behave the same
//! today. The handshake itself (rustls, SNI, CA/CRL loading, the STARTTLS dialogues) is
//! added by the TLS issue behind [`start`]; until then a TLS request is refused at the
//! point where the reference initialises TLS.

use indicore::Failure;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

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

    /// `$CERTDIR`, else /etc/indimail/certs.
    pub fn certdir() -> OsString {
        std::env::var_os("CERTDIR").unwrap_or_else(|| "/etc/indimail/certs".into())
    }

    /// The certificate file: `-n`'s argument, else `$TLS_CERTFILE` or `clientcert.pem`,
    /// placed in the certificate directory unless it starts with `/` or `.`.
    pub fn certfile_path(&self) -> OsString {
        match &self.certfile {
            Some(f) if !f.is_empty() => f.clone(),
            _ => in_certdir(
                std::env::var_os("TLS_CERTFILE").unwrap_or_else(|| "clientcert.pem".into()),
            ),
        }
    }
}

/// A default file name placed in the certificate directory unless it starts with `/` or `.`.
fn in_certdir(name: OsString) -> OsString {
    if name
        .as_bytes()
        .first()
        .is_some_and(|c| matches!(c, b'/' | b'.'))
    {
        return name;
    }
    let mut p = TlsOptions::certdir();
    p.push("/");
    p.push(name);
    p
}

/// Start TLS on a connected socket. Not available in this build yet.
pub fn start(_opts: &TlsOptions) -> Failure {
    Failure::temp("unable to initialize TLS: TLS is not supported by this build yet")
}
