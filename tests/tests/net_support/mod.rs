//! What the PROXY-protocol and metrics suites share: connections from a chosen loopback
//! address (so one test can be a balancer, a client and a stranger at once), free ports,
//! rules compiled with our tcprules, and a real HAProxy in front of a server. Suites that
//! use it also declare `mod tcpclient_support` (for `free_port`).
#![allow(dead_code)]

use blackbox::{Cmd, Running};
use std::io::Read;
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

pub const PATIENCE: Duration = Duration::from_secs(20);

/// A TCP connection from `src` (any 127.x.y.z: all of 127/8 is local on Linux) to
/// 127.0.0.1:`port`, with a read timeout.
pub fn connect_from(src: [u8; 4], port: u16) -> TcpStream {
    // SAFETY: a fresh socket, bound and connected with valid sockaddr_in values, then
    // owned by the TcpStream.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let mut a: libc::sockaddr_in = std::mem::zeroed();
        a.sin_family = libc::AF_INET as libc::sa_family_t;
        a.sin_addr.s_addr = u32::from_ne_bytes(src);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&a as *const libc::sockaddr_in).cast(), len),
            0
        );
        a.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        a.sin_port = port.to_be();
        let rc = libc::connect(fd, (&a as *const libc::sockaddr_in).cast(), len);
        assert_eq!(
            rc,
            0,
            "connect from {src:?} to port {port}: {}",
            std::io::Error::last_os_error()
        );
        let s = TcpStream::from_raw_fd(fd);
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s
    }
}

/// Everything the peer sends until it closes (or a read error, such as a reset).
pub fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Read until `needle` has arrived (or the peer closed); what was read.
pub fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 512];
    while !String::from_utf8_lossy(&out).contains(needle) {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&b[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compile `text` into `dir/rules.cdb` with our tcprules; the path.
pub fn rules(dir: &Path, text: &str) -> String {
    Cmd::bin("tcprules")
        .clean_env()
        .cwd(dir)
        .args(["rules.cdb", "rules.tmp"])
        .stdin(text)
        .run()
        .assert(0, "", "");
    dir.join("rules.cdb").to_string_lossy().into_owned()
}

/// Wait until something listens on 127.0.0.1:`port` (read from /proc/net/tcp: a probe
/// connection would reach the server behind a balancer).
pub fn wait_listening(port: u16, what: &str) {
    let end = Instant::now() + PATIENCE;
    let want = format!("0100007F:{port:04X}");
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let listening = table.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1] == want && f[3] == "0A"
        });
        if listening {
            return;
        }
        assert!(Instant::now() < end, "{what} never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A real HAProxy (Debian's package) in TCP mode: one frontend per `(send-proxy option)`
/// on a free port, each forwarding to 127.0.0.1:`backend` from source address `source`
/// with that option. Stopped (its process group killed) when dropped.
pub struct Haproxy {
    pub ports: Vec<u16>,
    _run: Running,
}

impl Haproxy {
    pub fn start(dir: &Path, backend: u16, source: &str, options: &[&str]) -> Haproxy {
        let mut cfg = String::from(
            "global\n    maxconn 200\ndefaults\n    mode tcp\n    timeout connect 5s\n    \
             timeout client 60s\n    timeout server 60s\n",
        );
        let mut ports = Vec::new();
        for (i, opt) in options.iter().enumerate() {
            let port = crate::tcpclient_support::free_port();
            ports.push(port);
            cfg.push_str(&format!(
                "frontend f{i}\n    bind 127.0.0.1:{port}\n    default_backend b{i}\n\
                 backend b{i}\n    source {source}\n    server s{i} 127.0.0.1:{backend} {opt}\n"
            ));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let run = Cmd::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .timeout(Duration::from_secs(3600))
            .spawn();
        for p in &ports {
            wait_listening(*p, "haproxy");
        }
        Haproxy { ports, _run: run }
    }
}
