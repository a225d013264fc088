//! The connection child (spec §1.4), step by step in the reference's order: banner,
//! local name, remote name, ident, rules, the `ok`/`deny` line, the connection on
//! fds 0 and 1, the child-side per-IP check, then the program.

use super::dns;
use super::log::{write_all, Safe};
use super::net;
use super::options::scan_ulong;
use super::Server;
use crate::cdb::Cdb;
use crate::rules::{self, fmt_ip6, mapped_v4, Item, Peer};
use indicore::errstr;
use indicore::exec::Env;
use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

/// What the parent hands a connection child.
pub struct Conn {
    pub fd: OwnedFd,
    /// The client, or None on a UNIX socket.
    pub peer: Option<SocketAddr>,
    /// Live children from the same address before this one (§1.8).
    pub same_ip: u32,
    /// Live children including this one, and the limit, for the status line.
    pub children: u64,
    pub limit: u64,
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

/// The TCP6* form: always IPv6 text (`::ffff:a.b.c.d` for IPv4).
fn ip6_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => fmt_ip6(&a.to_ipv6_mapped()),
        IpAddr::V6(a) => fmt_ip6(&a),
    }
}

fn is_v4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(a) => mapped_v4(&a).is_some(),
    }
}

/// Put the connection on fds 0 and 1 (inheritable), close the original.
fn connection_to_stdio(fd: OwnedFd) {
    let fd: RawFd = fd.into_raw_fd();
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
fn restore_signals(srv: &Server) {
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
    }
    match conn.peer {
        Some(peer) => serve_tcp(srv, conn, peer),
        None => serve_unix(srv, conn),
    }
}

fn banner(srv: &Server, fd: RawFd) {
    if !srv.opts.banner.is_empty() && !write_all(fd, &srv.opts.banner) {
        let e = std::io::Error::last_os_error();
        srv.log
            .drop_connection(format_args!("unable to print banner: {}", errstr(&e)));
        exit(111);
    }
}

fn serve_unix(srv: &Server, conn: Conn) -> ! {
    let log = srv.log;
    let pid = std::process::id();
    let path = srv.unix_path.as_deref().unwrap_or(std::path::Path::new(""));
    let shown = Safe(path.as_os_str().as_bytes());
    log.at(2, format_args!("pid {pid} from {shown}"));
    let fd = std::os::fd::AsRawFd::as_raw_fd(&conn.fd);
    banner(srv, fd);
    let mut env = Env::inherited();
    env.set("PROTO", "UNIX");
    env.set("UNIXLOCALPATH", path);
    log.at(2, format_args!("ok {pid} [{shown}]"));
    connection_to_stdio(conn.fd);
    restore_signals(srv);
    if u64::from(conn.same_ip) >= srv.opts.maxperip {
        log.drop_connection(format_args!(
            "no slots for {shown}, perIPlimit {}: access denied",
            srv.opts.maxperip
        ));
        exit(111);
    }
    log.at(
        2,
        format_args!(
            "status: {}/{} un-encrypted session, pid={pid}, IP {shown}",
            conn.children, conn.limit
        ),
    );
    srv.program.run(&env, &log)
}

/// A field that may be missing, shown empty.
fn opt(s: Option<&[u8]>) -> Safe<'_> {
    Safe(s.unwrap_or_default())
}

fn set_or_unset(env: &mut Env, name: &str, value: Option<&[u8]>) {
    match value {
        Some(v) => env.set(name, OsStr::from_bytes(v)),
        None => env.unset(name),
    }
}

fn serve_tcp(srv: &Server, conn: Conn, peer: SocketAddr) -> ! {
    let o = &srv.opts;
    let log = srv.log;
    let pid = std::process::id();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&conn.fd);
    let remote_ip = ip_text(peer.ip(), o.force_v6);
    log.at(2, format_args!("pid {pid} from {remote_ip}"));

    // Step 3: socket options and the banner, before any lookup.
    if o.kill_ip_options {
        net::kill_ip_options(fd);
    }
    if o.nodelay {
        net::set_nodelay(fd);
    }
    banner(srv, fd);

    // Steps 4-5: the local side.
    let local = match net::local_addr(fd) {
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
    let mut env = Env::inherited();
    env.set(
        "PROTO",
        if is_v4(peer.ip()) && !o.force_v6 {
            "TCP"
        } else {
            "TCP6"
        },
    );
    env.set("TCPLOCALIP", &local_ip);
    env.set("TCPLOCALPORT", local.port().to_string());
    set_or_unset(&mut env, "TCPLOCALHOST", local_host.as_deref());
    if srv.sock6 {
        env.set("TCP6LOCALIP", ip6_text(local.ip()));
        env.set("TCP6LOCALPORT", local.port().to_string());
        set_or_unset(&mut env, "TCP6LOCALHOST", local_host.as_deref());
    }

    // Step 6: the remote side.
    let mut remote_host: Option<String> = None;
    if o.remote_host {
        remote_host = dns::reverse(peer.ip());
        if o.paranoid {
            if let Some(name) = remote_host.take_if(|n| !dns::forward_confirms(n, peer.ip())) {
                env.set("TCPPARANOID", name);
            }
        }
    }
    env.set("TCPREMOTEIP", &remote_ip);
    env.set("TCPREMOTEPORT", peer.port().to_string());
    set_or_unset(
        &mut env,
        "TCPREMOTEHOST",
        remote_host.as_deref().map(str::as_bytes),
    );
    if srv.sock6 {
        env.set("TCP6REMOTEIP", ip6_text(peer.ip()));
        env.set("TCP6REMOTEPORT", peer.port().to_string());
        set_or_unset(
            &mut env,
            "TCP6REMOTEHOST",
            remote_host.as_deref().map(str::as_bytes),
        );
        if let SocketAddr::V6(a) = peer {
            if a.scope_id() != 0 && mapped_v4(a.ip()).is_none() {
                if let Some(name) = net::interface_name(a.scope_id()) {
                    env.set("TCP6INTERFACE", name);
                }
            }
        }
    }

    // Step 7: ident.
    let info = if o.ident {
        dns::ident(local, peer, Duration::from_secs(o.ident_timeout))
    } else {
        None
    };
    set_or_unset(&mut env, "TCPREMOTEINFO", info.as_deref());
    if srv.sock6 {
        set_or_unset(&mut env, "TCP6REMOTEINFO", info.as_deref());
    }

    // Step 8: rules.
    let mut maxperip = o.maxperip;
    let mut deny = false;
    if let Some(path) = &o.rules {
        let info_text = info.as_deref().map(String::from_utf8_lossy);
        let who = Peer {
            ip: &remote_ip,
            host: remote_host.as_deref(),
            info: info_text.as_deref(),
        };
        let unreadable = |e: &std::io::Error| -> ! {
            log.drop_connection(format_args!(
                "unable to read {}: {}",
                path.display(),
                errstr(e)
            ));
            exit(111)
        };
        match Cdb::open(path) {
            Ok(cdb) => match rules::lookup(&cdb, &who) {
                Ok(Some(found)) => {
                    for item in rules::items(found.data) {
                        match item {
                            Item::Deny => deny = true,
                            Item::Set(name, value) => {
                                if name == b"MAXPERIP" {
                                    maxperip = scan_ulong(value);
                                }
                                env.set(OsStr::from_bytes(name), OsStr::from_bytes(value));
                            }
                            Item::Unset(name) => env.unset(OsStr::from_bytes(name)),
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => unreadable(&e),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && o.rules_missing_ok => {}
            Err(e) => unreadable(&e),
        }
    }

    // Step 9: the verdict.
    log.at(
        2,
        format_args!(
            "{} {pid} {}[{}]{} {}[{}]{}:{}:maxperip={maxperip}",
            if deny { "deny" } else { "ok" },
            opt(local_host.as_deref()),
            Safe(local_ip.as_bytes()),
            local.port(),
            opt(remote_host.as_deref().map(str::as_bytes)),
            Safe(remote_ip.as_bytes()),
            opt(info.as_deref()),
            peer.port(),
        ),
    );
    if deny {
        exit(100);
    }

    // Steps 10-11: stdio, signals, the child-side per-IP limit.
    connection_to_stdio(conn.fd);
    restore_signals(srv);
    if u64::from(conn.same_ip) >= maxperip {
        log.drop_connection(format_args!(
            "no ip slots for {}, perIPlimit {maxperip}: access denied",
            Safe(remote_ip.as_bytes())
        ));
        exit(111);
    }

    // Step 12: the program.
    log.at(
        2,
        format_args!(
            "status: {}/{} un-encrypted session, pid={pid}, IP {}",
            conn.children,
            conn.limit,
            Safe(remote_ip.as_bytes())
        ),
    );
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
        assert!(is_v4(mapped) && !is_v4(v6));
    }
}
