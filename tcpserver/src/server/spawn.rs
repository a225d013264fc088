//! The fast path for connections that need nothing that can wait on the network: no
//! remote name (`-H`), no ident (`-R`), a fixed local name (`-l`), or a UNIX socket.
//!
//! The parent then does the child's steps itself (they cannot block: socket options,
//! a banner that fits the socket buffer, getsockname, a rules lookup in a local cdb)
//! and starts the program with clone(CLONE_VM|CLONE_VFORK), as posix_spawn does: no
//! page tables copied, nothing copied on write, nothing to tear down at exec. The
//! child runs only async-signal-safe system calls on memory prepared here (argv, the
//! environment block, the PATH candidates). Whatever takes another turn (a deny, an
//! unreadable rules file, the child-side per-IP limit, a banner the socket would not
//! take at once) goes to the ordinary forked child, which logs and exits as §1.4 says.
//!
//! The log lines of steps 2, 9 and 12 are written by the parent once the program is
//! running, so the observable order is the same apart from interleaving with the
//! program's own stderr.

use super::child::{self, EnvSink, Facts};
use super::program::Program;
use super::{net, Server};
use std::ffi::{CString, OsStr};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

const STACK: usize = 64 * 1024;

/// The outcome of trying the fast path.
pub enum Fast {
    /// The program runs as this pid.
    Spawned(i32),
    /// The program could not be started: this pid is exiting 111, the error says why.
    ExecFailed(i32, std::io::Error),
    /// Use the forked child; `banner_sent` bytes of the banner are already out.
    Fork { banner_sent: usize },
}

/// The environment being built for one connection: an arena of `NAME=value\0`
/// strings, each with its name length and whether a later change superseded it.
#[derive(Default)]
struct Block {
    arena: Vec<u8>,
    /// (start, name length, live). A removal is recorded as a dead entry (its name
    /// still hides the inherited variable).
    entries: Vec<(usize, usize, bool)>,
}

impl Block {
    fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
    }

    fn name(&self, e: &(usize, usize, bool)) -> &[u8] {
        &self.arena[e.0..e.0 + e.1]
    }

    fn kill(&mut self, name: &[u8]) {
        for i in 0..self.entries.len() {
            let e = self.entries[i];
            if e.2 && self.name(&e) == name {
                self.entries[i].2 = false;
            }
        }
    }

    /// Whether the block sets or removes `name`.
    fn covers(&self, name: &[u8]) -> bool {
        self.entries.iter().any(|e| self.name(e) == name)
    }
}

impl EnvSink for Block {
    fn set(&mut self, name: &[u8], value: &[u8]) {
        self.kill(name);
        let start = self.arena.len();
        self.arena.extend_from_slice(name);
        self.arena.push(b'=');
        // execve cannot carry a NUL inside a value: cut there.
        let v = value.split(|&b| b == 0).next().unwrap_or_default();
        self.arena.extend_from_slice(v);
        self.arena.push(0);
        self.entries.push((start, name.len(), true));
    }

    fn unset(&mut self, name: &[u8]) {
        self.kill(name);
        let start = self.arena.len();
        self.arena.extend_from_slice(name);
        self.arena.push(0);
        self.entries.push((start, name.len(), false));
    }
}

/// What the clone child needs, all prepared by the parent.
#[repr(C)]
struct ChildArgs {
    fd: libc::c_int,
    mask: *const libc::sigset_t,
    paths: *const *const libc::c_char,
    npaths: usize,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// Written by the child when every exec failed.
    err: libc::c_int,
}

/// The clone child: stdio, signals, exec. Only system calls, on prepared memory.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg points to the parent's ChildArgs, alive while the parent is
    // suspended (CLONE_VFORK); every call below is async-signal-safe.
    unsafe {
        let a = &mut *(arg as *mut ChildArgs);
        let fd = a.fd;
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
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGPIPE, &dfl, std::ptr::null_mut());
        libc::sigprocmask(libc::SIG_SETMASK, a.mask, std::ptr::null_mut());
        let mut saved = 0;
        for i in 0..a.npaths {
            libc::execve(*a.paths.add(i), a.argv, a.envp);
            match *libc::__errno_location() {
                libc::ENOENT => {}
                e @ (libc::EACCES | libc::EPERM | libc::EISDIR) => saved = e,
                e => {
                    a.err = e;
                    libc::_exit(111);
                }
            }
        }
        a.err = if saved != 0 { saved } else { libc::ENOENT };
        libc::_exit(111)
    }
}

/// The fast path's prepared state, reused connection after connection.
pub struct Spawner {
    /// The inherited environment.
    base: Vec<CString>,
    /// Where execve looks for the program, in PATH order.
    paths: Vec<CString>,
    path_ptrs: Vec<*const libc::c_char>,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    block: Block,
    envp: Vec<*const libc::c_char>,
    stack: Vec<u8>,
}

impl Spawner {
    /// The fast path for this server, when its options allow one.
    pub fn new(srv: &Server) -> Option<Spawner> {
        let o = &srv.opts;
        let tcp_ok = !o.remote_host && !o.ident && o.local_name.is_some();
        if (srv.unix_path.is_none() && !tcp_ok) || o.tls.certfile.is_some() {
            return None;
        }
        let Program::Exec(argv) = &srv.program;
        let argv: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).ok())
            .collect::<Option<_>>()?;
        let file = argv.first()?.as_bytes();
        let paths: Vec<CString> = if file.contains(&b'/') {
            vec![CString::new(file).ok()?]
        } else {
            let path = std::env::var_os("PATH");
            let path = path
                .as_deref()
                .map_or(indicore::exec::DEFAULT_PATH, OsStr::as_bytes);
            path.split(|&b| b == b':')
                .filter_map(|dir| {
                    let mut c = if dir.is_empty() {
                        b".".to_vec()
                    } else {
                        dir.to_vec()
                    };
                    c.push(b'/');
                    c.extend_from_slice(file);
                    CString::new(c).ok()
                })
                .collect()
        };
        let base: Vec<CString> = std::env::vars_os()
            .filter_map(|(n, v)| {
                let mut s = n.as_bytes().to_vec();
                s.push(b'=');
                s.extend_from_slice(v.as_bytes());
                CString::new(s).ok()
            })
            .collect();
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let path_ptrs = paths.iter().map(|c| c.as_ptr()).collect();
        Some(Spawner {
            base,
            paths,
            path_ptrs,
            _argv: argv,
            argv_ptrs,
            block: Block::default(),
            envp: Vec::new(),
            stack: vec![0u8; STACK],
        })
    }

    /// Serve a connection the fast way if nothing calls for the forked child.
    pub fn serve(
        &mut self,
        srv: &Server,
        fd: RawFd,
        peer: Option<SocketAddr>,
        same_ip: u32,
        children: u64,
        limit: u64,
    ) -> Fast {
        let o = &srv.opts;
        if peer.is_some() {
            if o.kill_ip_options {
                net::kill_ip_options(fd);
            }
            if o.nodelay {
                net::set_nodelay(fd);
            }
        }
        let banner_sent = send_banner(fd, &o.banner);
        if banner_sent < o.banner.len() {
            return Fast::Fork { banner_sent };
        }
        self.block.clear();
        let Some(peer) = peer else {
            // UNIX socket.
            if u64::from(same_ip) >= o.maxperip {
                return Fast::Fork { banner_sent };
            }
            child::unix_env(srv, &mut self.block);
            let outcome = self.spawn(fd, &srv.sigmask, banner_sent);
            let path = srv.unix_path.as_deref().unwrap_or(std::path::Path::new(""));
            let shown = path.as_os_str().as_bytes();
            if let Fast::Spawned(pid) | Fast::ExecFailed(pid, _) = &outcome {
                let pid = *pid as u32;
                child::log_pid(srv, pid, shown);
                child::log_unix_ok(srv, pid, shown);
                child::log_session(srv, pid, children, limit, shown);
            }
            return outcome;
        };
        let Ok(local) = net::local_addr(fd) else {
            return Fast::Fork { banner_sent };
        };
        let remote_ip = child::ip_text(peer.ip(), o.force_v6);
        let local_ip = child::ip_text(local.ip(), o.force_v6);
        let facts = Facts {
            peer,
            local,
            remote_ip: &remote_ip,
            local_ip: &local_ip,
            local_host: o.local_name.as_deref().map(OsStr::as_bytes),
            remote_host: None,
            paranoid: None,
            info: None,
        };
        child::tcp_env(srv, &facts, &mut self.block);
        let verdict = match child::apply_rules(srv, &facts, &mut self.block) {
            Ok(v) if !v.deny && u64::from(same_ip) < v.maxperip => v,
            _ => return Fast::Fork { banner_sent },
        };
        let outcome = self.spawn(fd, &srv.sigmask, banner_sent);
        if let Fast::Spawned(pid) | Fast::ExecFailed(pid, _) = &outcome {
            let pid = *pid as u32;
            child::log_pid(srv, pid, remote_ip.as_bytes());
            child::log_verdict(srv, pid, &facts, &verdict);
            child::log_session(srv, pid, children, limit, remote_ip.as_bytes());
        }
        outcome
    }

    /// clone(CLONE_VM|CLONE_VFORK) the program with the environment block.
    fn spawn(&mut self, fd: RawFd, mask: &libc::sigset_t, banner_sent: usize) -> Fast {
        self.envp.clear();
        for var in &self.base {
            let b = var.as_bytes();
            let name = &b[..b.iter().position(|&c| c == b'=').unwrap_or(b.len())];
            if !self.block.covers(name) {
                self.envp.push(var.as_ptr());
            }
        }
        for e in &self.block.entries {
            if e.2 {
                self.envp
                    .push(self.block.arena[e.0..].as_ptr() as *const libc::c_char);
            }
        }
        self.envp.push(std::ptr::null());
        let mut args = ChildArgs {
            fd,
            mask,
            paths: self.path_ptrs.as_ptr(),
            npaths: self.paths.len(),
            argv: self.argv_ptrs.as_ptr(),
            envp: self.envp.as_ptr(),
            err: 0,
        };
        let top = (self.stack.as_mut_ptr() as usize + STACK) & !15;
        // SAFETY: the child runs child_main on its own stack over memory that stays
        // valid and untouched while this thread is suspended (CLONE_VFORK).
        let pid = unsafe {
            libc::clone(
                child_main,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&mut args as *mut ChildArgs).cast(),
            )
        };
        if pid < 0 {
            return Fast::Fork { banner_sent };
        }
        // SAFETY: the child has exec'd or exited; read what it left, volatile because
        // it was written behind the compiler's back.
        let err = unsafe { std::ptr::read_volatile(&args.err) };
        if err != 0 {
            return Fast::ExecFailed(pid, std::io::Error::from_raw_os_error(err));
        }
        Fast::Spawned(pid)
    }
}

/// Send as much of the banner as the socket takes without waiting.
fn send_banner(fd: RawFd, banner: &[u8]) -> usize {
    let mut sent = 0;
    while sent < banner.len() {
        // SAFETY: send from a live buffer; MSG_DONTWAIT never blocks the accept loop.
        let n = unsafe {
            libc::send(
                fd,
                banner[sent..].as_ptr().cast(),
                banner.len() - sent,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n <= 0 {
            break;
        }
        sent += n as usize;
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(b: &Block) -> Vec<String> {
        b.entries
            .iter()
            .filter(|e| e.2)
            .map(|e| {
                let end = e.0 + b.arena[e.0..].iter().position(|&c| c == 0).unwrap();
                String::from_utf8_lossy(&b.arena[e.0..end]).into_owned()
            })
            .collect()
    }

    #[test]
    fn a_banner_is_sent_only_as_far_as_the_socket_takes_it() {
        let mut fds = [0; 2];
        // SAFETY: socketpair into a two-element array; both ends closed below.
        unsafe {
            assert_eq!(
                libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()),
                0
            );
            let small: libc::c_int = 4096;
            libc::setsockopt(
                fds[0],
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&small as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        let big = vec![b'x'; 1 << 20];
        let sent = send_banner(fds[0], &big);
        assert!(sent > 0 && sent < big.len(), "{sent}");
        assert_eq!(send_banner(fds[0], b""), 0);
        // SAFETY: closing the pair made above.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn later_changes_win_and_removals_hide() {
        let mut b = Block::default();
        b.set(b"A", b"1");
        b.set(b"B", b"2");
        b.set(b"A", b"3");
        b.unset(b"B");
        b.set(b"C", b"x\0y");
        assert_eq!(vars(&b), ["A=3", "C=x"]);
        assert!(b.covers(b"B") && b.covers(b"A") && !b.covers(b"D"));
        b.clear();
        assert!(vars(&b).is_empty() && !b.covers(b"A"));
    }
}
