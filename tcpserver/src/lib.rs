//! tcpserver, tcprules, tcprulescheck, rblsmtpd, dotls: access-controlled TCP services.
//!
//! The rules lookup, the cdb, the resolver, addresses and the TLS engine they share with
//! tcpclient are in the `ucspi` crate.

pub mod dotls;
pub mod plugin;
pub mod rblsmtpd;
pub mod server;
pub mod tcprules;
pub mod tcprulescheck;
pub mod tls;
