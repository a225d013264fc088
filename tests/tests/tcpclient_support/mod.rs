//! Test doubles for the tcpclient, rblsmtpd and UCSPI-tool suites: a fake DNS server and
//! small TCP servers, all on loopback addresses, all stopped when dropped.
//!
//! Every suite points the resolver (`DNSCACHEIP`) at loopback: either a [`FakeDns`] or a
//! dead address ([`NO_DNS`]) that refuses at once, so no test ever sends a query to the
//! machine's real resolver.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A loopback address where nothing listens on port 53: lookups fail at once.
pub const NO_DNS: &str = "127.77.255.254";

static NEXT: AtomicU32 = AtomicU32::new(1);

/// A loopback address of its own for each caller (127.77.x.y), so servers on fixed ports
/// (53, 113, 11, 13, 79) in concurrent tests and suites never meet.
pub fn unique_ip() -> Ipv4Addr {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let salt = std::process::id() % 200;
    Ipv4Addr::new(127, 77, (salt + n / 250) as u8 % 250, (n % 250) as u8 + 1)
}

/// A port on 127.0.0.1 nothing listens on (bound, read, closed).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[allow(unused_imports)]
pub use blackbox::dns::{a, ptr, txt, Answer, A, AAAA, PTR, TXT};

type Table = Arc<Mutex<HashMap<(String, u16), Answer>>>;

/// The reply to query `q` from the table, recording the question.
fn answer_from(
    q: &[u8],
    table: &Table,
    asked: &Arc<Mutex<Vec<(String, u16)>>>,
    truncate: bool,
) -> Option<Vec<u8>> {
    let (name, qtype) = blackbox::dns::question(q)?;
    asked.lock().unwrap().push((name.clone(), qtype));
    let found = table.lock().unwrap().get(&(name, qtype)).cloned();
    blackbox::dns::reply(q, found, truncate)
}

/// A DNS server on `ip`:53 (UDP, and TCP for truncated answers) answering from a table;
/// names not in the table get NXDOMAIN. It records the questions it was asked.
pub struct FakeDns {
    pub ip: Ipv4Addr,
    table: Table,
    asked: Arc<Mutex<Vec<(String, u16)>>>,
    truncate: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeDns {
    /// Start one, or None when port 53 cannot be bound (not root).
    pub fn start() -> Option<FakeDns> {
        let ip = unique_ip();
        let udp = UdpSocket::bind((ip, 53)).ok()?;
        let tcp = TcpListener::bind((ip, 53)).ok()?;
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        tcp.set_nonblocking(true).unwrap();
        let mut dns = FakeDns {
            ip,
            table: Arc::default(),
            asked: Arc::default(),
            truncate: Arc::default(),
            stop: Arc::default(),
            threads: Vec::new(),
        };
        let (table, asked, trunc, stop) = (
            dns.table.clone(),
            dns.asked.clone(),
            dns.truncate.clone(),
            dns.stop.clone(),
        );
        let udp_thread = thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stop.load(Ordering::SeqCst) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) =
                    answer_from(&buf[..n], &table, &asked, trunc.load(Ordering::SeqCst))
                {
                    let _ = udp.send_to(&reply, from);
                }
            }
        });
        let (table, asked, stop) = (dns.table.clone(), dns.asked.clone(), dns.stop.clone());
        let tcp_thread = thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let Ok((mut s, _)) = tcp.accept() else {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                if s.read_exact(&mut q).is_err() {
                    continue;
                }
                if let Some(reply) = answer_from(&q, &table, &asked, false) {
                    let mut msg = (reply.len() as u16).to_be_bytes().to_vec();
                    msg.extend_from_slice(&reply);
                    let _ = s.write_all(&msg);
                }
            }
        });
        dns.threads = vec![udp_thread, tcp_thread];
        Some(dns)
    }

    pub fn set(&self, name: &str, qtype: u16, answer: Answer) {
        self.table
            .lock()
            .unwrap()
            .insert((name.to_ascii_lowercase(), qtype), answer);
    }

    /// Answer every UDP query with the TC bit and no records (TCP gets the real answer).
    pub fn truncate_udp(&self, on: bool) {
        self.truncate.store(on, Ordering::SeqCst);
    }

    /// The questions asked so far, as (lowercase name, type).
    pub fn asked(&self) -> Vec<(String, u16)> {
        self.asked.lock().unwrap().clone()
    }

    /// The value for DNSCACHEIP.
    pub fn cache_ip(&self) -> String {
        self.ip.to_string()
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A TCP server on `ip`:`port` (0: any port) that runs `serve` for each connection it
/// accepts, each in its own thread, until dropped.
pub struct Server {
    pub port: u16,
    pub ip: IpAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start<F>(ip: IpAddr, port: u16, serve: F) -> Option<Server>
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let l = TcpListener::bind((ip, port)).ok()?;
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let serve = Arc::new(serve);
        let thread = thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                        let f = serve.clone();
                        thread::spawn(move || f(s));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Some(Server {
            port,
            ip,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read until EOF (or the read timeout) and return what came.
pub fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = s.read_to_end(&mut v);
    v
}
