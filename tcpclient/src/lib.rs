//! tcpclient and the small UCSPI tools.
//!
//! Each program module holds `PROG` and `run(args)`; `src/bin/<prog>.rs` wires it to `main`.
//! What tcpclient shares with tcpserver, rblsmtpd and dotls (addresses, the resolver,
//! sockets, ident, TLS) is in the `ucspi` crate; [`tls_session`] is tcpclient's own TLS
//! session on top of it.

pub mod proxyhdr;
pub mod relay;
pub mod tcpclient;
pub mod tls_session;

pub mod addcr;
pub mod argv0;
pub mod delcr;
pub mod filter;
pub mod fixcrio;
pub mod mconnect_io;
pub mod recordio;
