//! What the UCSPI programs (tcpserver, tcpclient, tcprules, tcprulescheck, rblsmtpd,
//! dotls) share, so none of them depends on another's crate:
//!
//! - [`ip`]: addresses as the reference scans and prints them (16 bytes, v4-mapped).
//! - [`rules`] and [`cdb`]: the rules lookup order, CIDR keys and rule items, and djb's
//!   constant database (both hash variants) they are stored in.
//! - [`dns`]: the one resolver, djb-style (`$DNSCACHEIP` or resolv.conf, no /etc/hosts):
//!   addresses with qualification, PTR names, TXT.
//! - [`net`] (sockets on socket2, timed connects) and [`remoteinfo`] (RFC 1413 ident).
//! - [`tls`]: TLS settings (versions, cipher names), PEM files, the handshake and relay
//!   engine, the client context, STARTTLS dialogues.
//! - [`x509`]: certificates, PEM through rustls-pki-types and the fields through
//!   x509-parser (the subject for tcpserver, validity and purposes for svctool).

pub mod cdb;
pub mod dns;
pub mod ip;
pub mod net;
pub mod remoteinfo;
pub mod rules;
pub mod tls;
pub mod x509;
