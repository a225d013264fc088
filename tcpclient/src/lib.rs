//! tcpclient and the small UCSPI tools.
//!
//! Each program module holds `PROG` and `run(args)`; `src/bin/<prog>.rs` wires it to `main`.
//! The support modules are shared with other crates: [`dns`] (a djb-style stub resolver:
//! addresses with qualification, PTR names, TXT), [`ip`] (the reference's address scanning
//! and printing), [`remoteinfo`] (RFC 1413 ident), [`net`] (sockets and timed connects).

pub mod dns;
pub mod ip;
pub mod net;
pub mod proxyhdr;
pub mod relay;
pub mod remoteinfo;
pub mod tcpclient;
pub mod tls;

pub mod addcr;
pub mod argv0;
pub mod delcr;
pub mod filter;
pub mod fixcrio;
pub mod mconnect_io;
pub mod recordio;
