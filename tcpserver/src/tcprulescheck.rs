//! `tcprulescheck rules.cdb`: show which rule tcpserver would apply to the client
//! described by TCPREMOTEIP, TCPREMOTEHOST and TCPREMOTEINFO (docs/ucspi-tcp.md#tcprulescheck).

use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use ucspi::cdb::Cdb;
use ucspi::rules::{self, Item, Peer};

pub const PROG: Prog = Prog("tcprulescheck");
const USAGE: &str = "tcprulescheck: usage: tcprulescheck rules.cdb";

/// The report tcprulescheck prints for `peer`.
pub fn report(cdb: &Cdb, peer: &Peer<'_>) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let Some(found) = rules::lookup(cdb, peer)? else {
        out.extend_from_slice(b"default:\nallow connection\n");
        return Ok(out);
    };
    out.extend_from_slice(b"rule ");
    out.extend_from_slice(&found.key);
    out.extend_from_slice(b":\n");
    for item in rules::items(found.data) {
        match item {
            Item::Deny => {
                out.extend_from_slice(b"deny connection\n");
                return Ok(out);
            }
            Item::Set(name, value) => {
                out.extend_from_slice(b"set environment variable ");
                out.extend_from_slice(name);
                out.push(b'=');
                out.extend_from_slice(value);
                out.push(b'\n');
            }
            Item::Unset(name) => {
                out.extend_from_slice(b"unset environment variable ");
                out.extend_from_slice(name);
                out.push(b'\n');
            }
        }
    }
    out.extend_from_slice(b"allow connection\n");
    Ok(out)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(file) = args.get(1) else {
        return Err(Failure::usage(USAGE));
    };
    let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let ip = var("TCPREMOTEIP").unwrap_or_else(|| "0.0.0.0".into());
    let host = var("TCPREMOTEHOST");
    let info = var("TCPREMOTEINFO");
    let peer = Peer {
        ip: &ip,
        host: host.as_deref(),
        info: info.as_deref(),
    };
    let unreadable = |e: &std::io::Error| {
        Failure::temp_sys(
            format_args!("unable to read {}: ", file.to_string_lossy()),
            e,
        )
    };
    let cdb = Cdb::open(Path::new(file)).map_err(|e| unreadable(&e))?;
    let out = report(&cdb, &peer).map_err(|e| unreadable(&e))?;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .map_err(|e| Failure::temp_sys("unable to write output: ", &e))?;
    Ok(0)
}
