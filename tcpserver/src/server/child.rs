//! The connection child (docs/ucspi-tcp.md#the-connection-child), step by step in the reference's order: banner,
//! local name, remote name, ident, rules, the `ok`/`deny` line, the connection on
//! fds 0 and 1, the child-side per-IP check, then the program.

use super::dns;
use super::log::{write_all, Safe};
use super::metrics;
use super::net;
use super::options::scan_ulong;
use super::Server;
use indicore::errstr;
use indicore::exec::Env;
use indicore::proxyproto::Header;
use indicore::tcpmetrics::Counter;
use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;
use ucspi::rules::{self, fmt_ip6, mapped_v4, Item, Peer};

/// What the parent hands a connection child.
pub struct Conn {
    pub fd: OwnedFd,
    /// The client, or None on a UNIX socket.
    pub peer: Option<SocketAddr>,
    /// Live children from the same address before this one (docs/ucspi-tcp.md#concurrency-and-per-ip-limits).
    pub same_ip: u32,
    /// Live children including this one, and the limit, for the status line.
    pub children: u64,
    pub limit: u64,
    /// Bytes of the banner the parent already sent.
    pub banner_sent: usize,
}

/// Leave the child at once: no destructors, no stdio flush (the parent's buffers
/// are not ours to write).
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process; nothing is borrowed across it.
    unsafe { libc::_exit(code) }
}

/// An address as TCPLOCALIP/TCPREMOTEIP show it: IPv4 and v4-mapped peers as a dotted
/// quad (unless `-6`), others in djb's compact IPv6 form.
pub fn ip_text(ip: IpAddr, force_v6: bool) -> String {
    match ip {
        IpAddr::V4(a) if force_v6 => format!("::ffff:{a}"),
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => match mapped_v4(&a) {
            Some(v4) if !force_v6 => v4.to_string(),
            _ => fmt_ip6(&a),
        },
    }
}

/// [`ip_text`] kept on the stack when it fits (IPv4 and v4-mapped peers), so that the
/// fast path's parent allocates nothing per connection: a free after fork writes to
/// heap pages the child still shares (a page copy each).
pub struct IpText {
    buf: [u8; 24],
    len: usize,
    long: Option<String>,
}

impl IpText {
    pub fn new(ip: IpAddr, force_v6: bool) -> IpText {
        use std::fmt::Write;
        let mut t = IpText {
            buf: [0; 24],
            len: 0,
            long: None,
        };
        let v4 = match ip {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(a) => mapped_v4(&a),
        };
        let fits = match v4 {
            Some(a) if force_v6 => write!(t, "::ffff:{a}").is_ok(),
            Some(a) => write!(t, "{a}").is_ok(),
            None => false,
        };
        if !fits {
            t.long = Some(ip_text(ip, force_v6));
        }
        t
    }

    pub fn as_str(&self) -> &str {
        match &self.long {
            Some(s) => s,
            // Only whole UTF-8 strings are written into buf.
            None => std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default(),
        }
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let room = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The TCP6* form: always IPv6 text (`::ffff:a.b.c.d` for IPv4).
pub fn ip6_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => fmt_ip6(&a.to_ipv6_mapped()),
        IpAddr::V6(a) => fmt_ip6(&a),
    }
}

pub fn is_v4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(a) => mapped_v4(&a).is_some(),
    }
}

/// Put the connection on fds 0 and 1 (inheritable), close the original.
pub fn connection_to_stdio(fd: OwnedFd) {
    fd_to_stdio(fd.into_raw_fd());
}

/// [`connection_to_stdio`] on a raw descriptor. Only dup2, fcntl and close: the fast
/// path's CLONE_VFORK child calls it too (async-signal-safe, no allocation).
pub fn fd_to_stdio(fd: RawFd) {
    // SAFETY: dup2/fcntl/close on descriptors this process owns.
    unsafe {
        for target in [0, 1] {
            if fd == target {
                libc::fcntl(fd, libc::F_SETFD, 0);
            } else {
                libc::dup2(fd, target);
            }
        }
        if fd > 1 {
            libc::close(fd);
        }
    }
}

/// The child's signal state before the program: the parent's mask back, SIGPIPE default.
pub fn restore_signals(srv: &Server) {
    // SAFETY: sigprocmask/signal with valid arguments.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::sigprocmask(libc::SIG_SETMASK, &srv.sigmask, std::ptr::null_mut());
    }
}

/// Serve one connection in the forked child. Never returns.
pub fn serve(srv: &Server, conn: Conn) -> ! {
    // SAFETY: these descriptors belong to the parent's loop; the child needs neither.
    unsafe {
        libc::close(srv.listen_fd);
        libc::close(srv.signal_fd);
        if srv.control_parent >= 0 {
            libc::close(srv.control_parent);
        }
    }
    match conn.peer {
        Some(peer) => serve_tcp(srv, conn, peer),
        None => serve_unix(srv, conn),
    }
}

fn banner(srv: &Server, fd: RawFd, sent: usize) {
    let rest = srv.opts.banner.get(sent..).unwrap_or_default();
    if !rest.is_empty() && !write_all(fd, rest) {
        let e = std::io::Error::last_os_error();
        srv.log
            .drop_connection(format_args!("unable to print banner: {}", errstr(&e)));
        exit(111);
    }
}

/// Where the connection's environment changes go: the child's [`Env`], or the fast
/// path's preallocated block (`spawn`). Later changes replace earlier ones.
pub trait EnvSink {
    fn set(&mut self, name: &[u8], value: &[u8]);
    fn unset(&mut self, name: &[u8]);
}

impl EnvSink for Env {
    fn set(&mut self, name: &[u8], value: &[u8]) {
        Env::set(self, OsStr::from_bytes(name), OsStr::from_bytes(value));
    }
    fn unset(&mut self, name: &[u8]) {
        Env::unset(self, OsStr::from_bytes(name));
    }
}

fn set_opt(env: &mut impl EnvSink, name: &[u8], value: Option<&[u8]>) {
    match value {
        Some(v) => env.set(name, v),
        None => env.unset(name),
    }
}

/// What is known about a TCP connection once the lookups are done.
pub struct Facts<'a> {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub remote_ip: &'a str,
    pub local_ip: &'a str,
    pub local_host: Option<&'a [u8]>,
    pub remote_host: Option<&'a str>,
    pub paranoid: Option<&'a str>,
    pub info: Option<&'a [u8]>,
}

/// A port number as text, without allocating.
fn port_text(port: u16, buf: &mut [u8; 5]) -> &[u8] {
    let mut n = port;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// The TCP connection variables (docs/ucspi-tcp.md#the-programs-environment).
pub fn tcp_env(srv: &Server, f: &Facts<'_>, env: &mut impl EnvSink) {
    let v4 = is_v4(f.peer.ip()) && !srv.opts.force_v6;
    let (mut lp, mut rp) = ([0u8; 5], [0u8; 5]);
    let lport = port_text(f.local.port(), &mut lp);
    let rport = port_text(f.peer.port(), &mut rp);
    env.set(b"PROTO", if v4 { b"TCP" } else { b"TCP6" });
    env.set(b"TCPLOCALIP", f.local_ip.as_bytes());
    env.set(b"TCPLOCALPORT", lport);
    set_opt(env, b"TCPLOCALHOST", f.local_host);
    if srv.sock6 {
        env.set(b"TCP6LOCALIP", ip6_text(f.local.ip()).as_bytes());
        env.set(b"TCP6LOCALPORT", lport);
        set_opt(env, b"TCP6LOCALHOST", f.local_host);
    }
    if let Some(name) = f.paranoid {
        env.set(b"TCPPARANOID", name.as_bytes());
    }
    let remote_host = f.remote_host.map(str::as_bytes);
    env.set(b"TCPREMOTEIP", f.remote_ip.as_bytes());
    env.set(b"TCPREMOTEPORT", rport);
    set_opt(env, b"TCPREMOTEHOST", remote_host);
    if srv.sock6 {
        env.set(b"TCP6REMOTEIP", ip6_text(f.peer.ip()).as_bytes());
        env.set(b"TCP6REMOTEPORT", rport);
        set_opt(env, b"TCP6REMOTEHOST", remote_host);
        if let SocketAddr::V6(a) = f.peer {
            if a.scope_id() != 0 && mapped_v4(a.ip()).is_none() {
                if let Some(name) = net::interface_name(a.scope_id()) {
                    env.set(b"TCP6INTERFACE", name.as_bytes());
                }
            }
        }
    }
    set_opt(env, b"TCPREMOTEINFO", f.info);
    if srv.sock6 {
        set_opt(env, b"TCP6REMOTEINFO", f.info);
    }
}

/// The UNIX-socket variables.
pub fn unix_env(srv: &Server, env: &mut impl EnvSink) {
    let path = srv.unix_path.as_deref().unwrap_or(Path::new(""));
    env.set(b"PROTO", b"UNIX");
    env.set(b"UNIXLOCALPATH", path.as_os_str().as_bytes());
}

/// What the rules said (step 8).
pub struct Verdict {
    pub deny: bool,
    pub maxperip: u64,
    /// The rule marks a PROXY-protocol balancer ([`super::proxy`]).
    pub proxy: bool,
}

/// Look the client up in the `-x` rules and apply the rule's items to `env`. An
/// error is a rules file that cannot be read (a missing one is fine with `-X`).
pub fn apply_rules(
    srv: &Server,
    f: &Facts<'_>,
    env: &mut impl EnvSink,
) -> std::io::Result<Verdict> {
    let mut v = Verdict {
        deny: false,
        maxperip: srv.opts.maxperip,
        proxy: false,
    };
    let Some(path) = &srv.opts.rules else {
        return Ok(v);
    };
    let mut file = srv.rules.borrow_mut();
    let cdb = match file.current(path)? {
        Some(cdb) => cdb,
        None if srv.opts.rules_missing_ok => return Ok(v),
        None => return Err(std::io::Error::from_raw_os_error(libc::ENOENT)),
    };
    let info_text = f.info.map(String::from_utf8_lossy);
    let who = Peer {
        ip: f.remote_ip,
        host: f.remote_host,
        info: info_text.as_deref(),
    };
    if let Some(found) = rules::lookup(cdb, &who)? {
        for item in rules::items(found.data) {
            match item {
                Item::Deny => v.deny = true,
                Item::Set(name, value) => {
                    if name == b"MAXPERIP" {
                        v.maxperip = scan_ulong(value);
                    }
                    v.proxy |= super::proxy::is_marker(name);
                    env.set(name, value);
                }
                Item::Unset(name) => env.unset(name),
            }
        }
    }
    Ok(v)
}

/// `unable to read FILE: err` for a rules file (drops the connection).
pub fn log_unreadable_rules(srv: &Server, e: &std::io::Error) {
    let path = srv.opts.rules.as_deref().unwrap_or(Path::new(""));
    srv.log.drop_connection(format_args!(
        "unable to read {}: {}",
        path.display(),
        errstr(e)
    ));
}

/// A field that may be missing, shown empty.
fn opt(s: Option<&[u8]>) -> Safe<'_> {
    Safe(s.unwrap_or_default())
}

/// The `pid P from IP` line (step 2).
pub fn log_pid(srv: &Server, pid: u32, ip: &[u8]) {
    srv.log.at(2, format_args!("pid {pid} from {}", Safe(ip)));
}

/// The `ok`/`deny` line (step 9).
pub fn log_verdict(srv: &Server, pid: u32, f: &Facts<'_>, v: &Verdict) {
    srv.log.at(
        2,
        format_args!(
            "{} {pid} {}[{}]{} {}[{}]{}:{}:maxperip={}",
            if v.deny { "deny" } else { "ok" },
            opt(f.local_host),
            Safe(f.local_ip.as_bytes()),
            f.local.port(),
            opt(f.remote_host.map(str::as_bytes)),
            Safe(f.remote_ip.as_bytes()),
            opt(f.info),
            f.peer.port(),
            v.maxperip,
        ),
    );
}

/// The UNIX form of the `ok` line.
pub fn log_unix_ok(srv: &Server, pid: u32, path: &[u8]) {
    srv.log.at(2, format_args!("ok {pid} [{}]", Safe(path)));
}

/// The session line (step 12).
pub fn log_session(srv: &Server, pid: u32, children: u64, limit: u64, ip: &[u8]) {
    srv.log.at(
        2,
        format_args!(
            "status: {children}/{limit} un-encrypted session, pid={pid}, IP {}",
            Safe(ip)
        ),
    );
}

/// The child-side per-IP message (step 11).
pub fn log_no_slots(srv: &Server, ip: &[u8], maxperip: u64) {
    metrics::add(Counter::RefusedMaxPerIp);
    let what = if srv.unix_path.is_some() {
        "no slots"
    } else {
        "no ip slots"
    };
    srv.log.drop_connection(format_args!(
        "{what} for {}, perIPlimit {maxperip}: access denied",
        Safe(ip)
    ));
}

/// Step 12 behind TLS: the handshake, then the program on pipes (never returns).
/// `slots` is the live children including this one, and the limit.
fn serve_tls(
    srv: &Server,
    tls: &std::cell::RefCell<crate::tls::Reloader>,
    env: Env,
    slots: (u64, u64),
    ip: &str,
) -> ! {
    let slot = crate::tls::connection::Slot {
        children: slots.0,
        limit: slots.1,
        ip,
    };
    let contexts = &tls.borrow().contexts;
    crate::tls::connection::serve(contexts, &srv.opts, env, &srv.log, slot, &srv.program)
}

fn serve_unix(srv: &Server, conn: Conn) -> ! {
    let pid = std::process::id();
    let path = srv.unix_path.as_deref().unwrap_or(Path::new(""));
    let shown = path.as_os_str().as_bytes();
    log_pid(srv, pid, shown);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&conn.fd);
    banner(srv, fd, conn.banner_sent);
    let mut env = Env::inherited();
    unix_env(srv, &mut env);
    log_unix_ok(srv, pid, shown);
    connection_to_stdio(conn.fd);
    restore_signals(srv);
    if u64::from(conn.same_ip) >= srv.opts.maxperip {
        log_no_slots(srv, shown, srv.opts.maxperip);
        exit(111);
    }
    if let Some(tls) = &srv.tls {
        let ip = String::from_utf8_lossy(shown);
        serve_tls(srv, tls, env, (conn.children, conn.limit), &ip);
    }
    log_session(srv, pid, conn.children, conn.limit, shown);
    srv.program.run(&env, &srv.log)
}

/// Where a trusted balancer's connection really comes from and goes to.
struct Proxied {
    client: SocketAddr,
    local: SocketAddr,
    /// Live children from the client before this one.
    same_ip: u32,
}

/// Read the PROXY header of a trusted balancer's connection (before anything else,
/// TLS included) and move the connection to its client in the parent's per-IP table.
/// None: the header was version 2 LOCAL or v1 UNKNOWN, the connection stands for itself.
fn proxy_header(
    srv: &Server,
    fd: RawFd,
    pid: u32,
    balancer: &str,
    timeout: Duration,
) -> Option<Proxied> {
    let log = srv.log;
    match super::proxy::read_header(fd, timeout) {
        Err(why) => {
            metrics::add(Counter::ProxyRejected);
            log.drop_connection(format_args!(
                "bad PROXY header from {}: {why}",
                Safe(balancer.as_bytes())
            ));
            exit(111)
        }
        Ok(Header::Local { version }) => {
            metrics::add(Counter::ProxyAccepted);
            log.at(
                2,
                format_args!(
                    "proxy {pid} from {} v{version} local",
                    Safe(balancer.as_bytes())
                ),
            );
            None
        }
        Ok(Header::Proxied {
            version,
            source,
            destination,
        }) => {
            metrics::add(Counter::ProxyAccepted);
            let o = &srv.opts;
            let client = ip_text(source.ip(), o.force_v6);
            log.at(
                2,
                format_args!(
                    "proxy {pid} from {} v{version} {}:{} to {}:{}",
                    Safe(balancer.as_bytes()),
                    client,
                    source.port(),
                    ip_text(destination.ip(), o.force_v6),
                    destination.port()
                ),
            );
            let ip = net::ip16(Some(&source));
            // No answer (the server is stopping): count the client as alone.
            let same_ip =
                super::rekey::ask(srv.control, pid, ip, Duration::from_secs(10)).unwrap_or(0);
            // -C, as the parent applies it at accept time to direct clients.
            if o.per_host > 0 && u64::from(same_ip) >= o.per_host {
                metrics::add(Counter::RefusedPerHost);
                log.at(1, format_args!("end {client} perIPlimit {}", o.per_host));
                exit(100);
            }
            Some(Proxied {
                client: source,
                local: destination,
                same_ip,
            })
        }
    }
}

fn serve_tcp(srv: &Server, conn: Conn, peer: SocketAddr) -> ! {
    let o = &srv.opts;
    let log = srv.log;
    let pid = std::process::id();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&conn.fd);
    let peer_ip = ip_text(peer.ip(), o.force_v6);
    log_pid(srv, pid, peer_ip.as_bytes());

    // A trusted balancer's header comes first; from then on its client is the peer.
    let proxied = super::proxy::trusted(srv, &peer_ip)
        .and_then(|timeout| proxy_header(srv, fd, pid, &peer_ip, timeout));
    let (peer, same_ip) = match &proxied {
        Some(p) => (p.client, p.same_ip),
        None => (peer, conn.same_ip),
    };
    let remote_ip = match &proxied {
        Some(_) => ip_text(peer.ip(), o.force_v6),
        None => peer_ip,
    };

    // Step 3: socket options and the banner, before any lookup.
    if o.kill_ip_options {
        net::kill_ip_options(fd);
    }
    if o.nodelay {
        net::set_nodelay(fd);
    }
    banner(srv, fd, conn.banner_sent);

    // Steps 4-7: the local name, the remote name, ident.
    let local = match proxied
        .as_ref()
        .map_or_else(|| net::local_addr(fd), |p| Ok(p.local))
    {
        Ok(a) => a,
        Err(e) => {
            log.drop_connection(format_args!("unable to get local address: {}", errstr(&e)));
            exit(111)
        }
    };
    let local_host: Option<Vec<u8>> = match &o.local_name {
        Some(name) => Some(name.as_bytes().to_vec()),
        None => dns::reverse(local.ip()).map(String::into_bytes),
    };
    let local_ip = ip_text(local.ip(), o.force_v6);
    let mut remote_host: Option<String> = None;
    let mut paranoid: Option<String> = None;
    if o.remote_host {
        remote_host = dns::reverse(peer.ip());
        if o.paranoid {
            paranoid = remote_host.take_if(|n| !dns::forward_confirms(n, peer.ip()));
        }
    }
    // No ident through a balancer: the client's identd knows nothing of our socket.
    let info = if o.ident && proxied.is_none() {
        dns::ident(local, peer, Duration::from_secs(o.ident_timeout))
    } else {
        None
    };
    let facts = Facts {
        peer,
        local,
        remote_ip: &remote_ip,
        local_ip: &local_ip,
        local_host: local_host.as_deref(),
        remote_host: remote_host.as_deref(),
        paranoid: paranoid.as_deref(),
        info: info.as_deref(),
    };
    let mut env = Env::inherited();
    tcp_env(srv, &facts, &mut env);

    // Steps 8-9: rules and the verdict.
    let verdict = match apply_rules(srv, &facts, &mut env) {
        Ok(v) => v,
        Err(e) => {
            log_unreadable_rules(srv, &e);
            exit(111)
        }
    };
    log_verdict(srv, pid, &facts, &verdict);
    if verdict.deny {
        metrics::add(Counter::RefusedRules);
        exit(100);
    }

    // Steps 10-11: stdio, signals, the child-side per-IP limit.
    connection_to_stdio(conn.fd);
    restore_signals(srv);
    if u64::from(same_ip) >= verdict.maxperip {
        log_no_slots(srv, remote_ip.as_bytes(), verdict.maxperip);
        exit(111);
    }

    // Step 12: the program, behind TLS with -n/-s.
    if let Some(tls) = &srv.tls {
        serve_tls(srv, tls, env, (conn.children, conn.limit), &remote_ip);
    }
    log_session(srv, pid, conn.children, conn.limit, remote_ip.as_bytes());
    srv.program.run(&env, &log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_texts() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip_text(v4, false), "127.0.0.1");
        assert_eq!(ip_text(v4, true), "::ffff:127.0.0.1");
        assert_eq!(ip_text(mapped, false), "127.0.0.1");
        assert_eq!(ip_text(mapped, true), "::ffff:127.0.0.1");
        assert_eq!(ip_text(v6, false), "2001:db8::1");
        assert_eq!(ip6_text(v4), "::ffff:127.0.0.1");
        let wide: IpAddr = "255.255.255.255".parse().unwrap();
        for ip in [v4, mapped, v6, wide] {
            for force in [false, true] {
                assert_eq!(IpText::new(ip, force).as_str(), ip_text(ip, force));
            }
        }
        assert!(is_v4(mapped) && !is_v4(v6));
    }
}
