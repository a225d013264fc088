//! `conformance-dns TABLE [LOG [ADDR]]`: a DNS server on ADDR:53 (default 127.0.0.1; UDP,
//! and TCP) for the conformance cases, which start it inside their private network
//! namespace.
//!
//! TABLE has one record per line, `NAME TYPE DATA` (`#` comments): TYPE is `A` (dotted
//! quad), `PTR` (a name), `TXT` (the rest of the line), or `RCODE` (a number: the answer is
//! that error). Other names get NXDOMAIN. Each question is appended to LOG as `NAME TYPE`.

use blackbox::dns::{self, Answer};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};

type Table = HashMap<(String, u16), Answer>;

fn load(path: &str) -> Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut t: Table = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let mut w = line.splitn(3, ' ');
        let (Some(name), Some(kind), Some(data)) = (w.next(), w.next(), w.next()) else {
            panic!("{path}: bad line {line:?}");
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let record = match kind {
            "A" => {
                let ip: std::net::Ipv4Addr = data.parse().expect("an IPv4 address");
                dns::a(ip.octets())
            }
            "PTR" => dns::ptr(data),
            "TXT" => dns::txt(&[data.as_bytes()]),
            "RCODE" => {
                t.insert((name.clone(), dns::A), Answer::Rcode(data.parse().unwrap()));
                t.insert(
                    (name.clone(), dns::AAAA),
                    Answer::Rcode(data.parse().unwrap()),
                );
                t.insert((name, dns::TXT), Answer::Rcode(data.parse().unwrap()));
                continue;
            }
            _ => panic!("{path}: unknown type {kind}"),
        };
        match t
            .entry((name, record.0))
            .or_insert(Answer::Records(Vec::new()))
        {
            Answer::Records(r) => r.push(record),
            Answer::Rcode(_) => {}
        }
    }
    t
}

fn respond(q: &[u8], table: &Table, log: Option<&str>) -> Option<Vec<u8>> {
    let (name, qtype) = dns::question(q)?;
    if let Some(log) = log {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log)
        {
            let _ = writeln!(f, "{name} {qtype}");
        }
    }
    dns::reply(q, table.get(&(name, qtype)).cloned(), false)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let table = load(args.get(1).expect("usage: conformance-dns TABLE [LOG]"));
    let log = args.get(2).cloned();
    let addr = format!("{}:53", args.get(3).map_or("127.0.0.1", String::as_str));
    let udp = UdpSocket::bind(&addr).expect("bind udp port 53");
    let tcp = TcpListener::bind(&addr).expect("bind tcp port 53");
    let (t2, l2) = (table.clone(), log.clone());
    std::thread::spawn(move || {
        for mut s in tcp.incoming().flatten() {
            let mut len = [0u8; 2];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
            if s.read_exact(&mut q).is_err() {
                continue;
            }
            if let Some(r) = respond(&q, &t2, l2.as_deref()) {
                let mut msg = (r.len() as u16).to_be_bytes().to_vec();
                msg.extend_from_slice(&r);
                let _ = s.write_all(&msg);
            }
        }
    });
    let mut buf = [0u8; 512];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf) else {
            continue;
        };
        if let Some(r) = respond(&buf[..n], &table, log.as_deref()) {
            let _ = udp.send_to(&r, from);
        }
    }
}
