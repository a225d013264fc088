//! tcpserver, tcprules, tcprulescheck, rblsmtpd, dotls: access-controlled TCP services.
//!
//! [`cdb`] (djb's constant database, both hash variants) and [`rules`] (the lookup
//! order and key encodings) are shared by tcpserver, tcprulescheck and anything else
//! that reads a rules cdb.

pub mod cdb;
pub mod dotls;
pub mod plugin;
pub mod rblsmtpd;
pub mod rules;
pub mod server;
pub mod tcprules;
pub mod tcprulescheck;
pub mod tls;
