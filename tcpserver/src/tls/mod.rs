//! Server-side TLS for tcpserver and dotls (docs/ucspi-tcp.md#tls-in-tcpserver, #dotls; docs/decisions.md#u9 to #u11, #u14), on
//! the engine the ucspi crate provides (`ucspi::tls`: cipher names, PEM files, the
//! handshake and relay, the program on pipes).
//!
//! [`config`] builds the server contexts (certificate and key, SNI certificates from the
//! certificate directory, client certificates against a CA list and CRL, versions and
//! suites); [`reload`] rebuilds them on SIGHUP or when their files change; [`session`]
//! runs one connection: handshake, program, relay.
//!
//! `-N` (allow client renegotiation) is accepted and does nothing: rustls never
//! renegotiates, so a client's renegotiation request is refused.

pub mod config;
pub mod connection;
pub mod reload;
pub mod session;
pub mod starttls;

pub use config::{Contexts, Settings};
pub use reload::{Reloaded, Reloader};
