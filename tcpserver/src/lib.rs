//! tcpserver, tcprules, tcprulescheck, rblsmtpd, dotls: access-controlled TCP services.

pub mod rblsmtpd;
