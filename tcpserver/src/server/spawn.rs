//! The fast path: the parent starts the program itself, with clone(CLONE_VM), for
//! connections that need nothing that can wait on the network (`-H` and `-R`, a
//! fixed local name `-l`; or a UNIX socket), no TLS and no plugin exports. A plugin
//! the server preloaded is called in a plain fork instead ([`Spawner::serve`]'s
//! `fork_plugin`), on the same prepared environment. `TCPSERVER_NO_FASTPATH` (any
//! non-empty value) turns it off.
//!
//! The parent does the child's steps itself (socket options, a banner the socket takes
//! at once, getsockname, the environment, a rules lookup in a local cdb) and logs the
//! `pid`, `ok` (or unix `ok`) and `status` lines right after the start. Whatever takes
//! another turn (a deny, a proxy rule, an unreadable rules file, the per-IP limit, a
//! banner the socket would not take at once) goes to the ordinary forked child.
//!
//! # Contract of the CLONE_VM child (`child_main`, `slot_child_main`)
//!
//! The child shares the parent's memory, so:
//! * It allocates nothing, takes no lock, touches no thread-local state and cannot
//!   panic: only async-signal-safe system calls (dup2/dup3, fcntl, close, sigaction,
//!   sigprocmask, execve, _exit). The slot child uses raw system calls only, since a
//!   libc wrapper would write errno into the parent's thread-local storage while the
//!   parent runs; its sigaction is the kernel's layout, all zero (SIG_DFL).
//! * It reads only memory the parent prepared before clone and does not change until
//!   the child is done with it: its [`ChildArgs`], the environment array and block,
//!   and the server's argv, PATH candidates and signal mask (immutable for the
//!   server's life). It writes only `ChildArgs::err` (the failed exec's errno) and
//!   its own stack.
//! * Its own descriptors and signal state are its own (no CLONE_FILES, no
//!   CLONE_SIGHAND), so dup2/close/sigaction do not reach the parent.
//!
//! Why the parent may wait or not: with CLONE_VFORK (`child_main`, the fallback) the
//! parent is suspended until the exec or exit, so the memory on its stack stays valid.
//! On x86_64 and aarch64 a start from a free slot (`slot_child_main`) does not wait:
//! the slot (stack, arguments, environment) belongs to the child until the kernel
//! clears the slot's tid word at exec or exit (CLONE_CHILD_CLEARTID); the parent
//! reuses a slot only after that, and a slot whose exec failed only after the reap
//! (which reads `err`). When all slots are busy the start waits (CLONE_VFORK).
//! The same contract is in docs/architecture.md ("The fast path").

use super::child::{self, EnvSink, Facts};
use super::program::Program;
use super::{net, Server};
use crate::plugin::call::Entry;
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
        child::fd_to_stdio(a.fd);
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGPIPE, &dfl, std::ptr::null_mut());
        libc::sigprocmask(libc::SIG_SETMASK, a.mask, std::ptr::null_mut());
        a.err = indicore::exec::execve_each(a.paths, a.npaths, a.argv, a.envp);
        libc::_exit(111)
    }
}

/// Raw system calls for a child that shares the parent's memory while both run.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod raw {
    /// A system call with up to four arguments; a negative result is -errno.
    ///
    /// # Safety
    /// The caller passes arguments valid for system call `n`.
    #[inline(always)]
    pub unsafe fn syscall4(n: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> isize {
        let ret: isize;
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!(
            "svc 0",
            in("x8") n as usize,
            inlateout("x0") a as isize => ret,
            in("x1") b,
            in("x2") c,
            in("x3") d,
            options(nostack)
        );
        ret
    }
}

/// The slot child: the same steps as [`child_main`], through raw system calls only.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
extern "C" fn slot_child_main(arg: *mut libc::c_void) -> libc::c_int {
    use raw::syscall4 as sys;
    // SAFETY: arg points to a slot's ChildArgs, which the parent leaves alone until
    // the kernel clears the slot's tid (this process exec'd or exited). No libc call,
    // no errno, no panic path: only system calls on prepared memory.
    unsafe {
        let a = arg as *mut ChildArgs;
        let fd = (*a).fd;
        let mut target = 0;
        while target < 2 {
            if fd == target {
                sys(libc::SYS_fcntl, fd as usize, libc::F_SETFD as usize, 0, 0);
            } else {
                sys(libc::SYS_dup3, fd as usize, target as usize, 0, 0);
            }
            target += 1;
        }
        if fd > 1 {
            sys(libc::SYS_close, fd as usize, 0, 0, 0);
        }
        // The kernel's sigaction, all zero: SIG_DFL, no flags, empty mask.
        let dfl = [0u64; 4];
        sys(
            libc::SYS_rt_sigaction,
            libc::SIGPIPE as usize,
            dfl.as_ptr() as usize,
            0,
            8,
        );
        sys(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK as usize,
            (*a).mask as usize,
            0,
            8,
        );
        let mut saved = 0;
        let mut i = 0;
        while i < (*a).npaths {
            let r = sys(
                libc::SYS_execve,
                *(*a).paths.add(i) as usize,
                (*a).argv as usize,
                (*a).envp as usize,
                0,
            );
            match -r as libc::c_int {
                libc::ENOENT => {}
                e @ (libc::EACCES | libc::EPERM | libc::EISDIR) => saved = e,
                e => {
                    saved = e;
                    break;
                }
            }
            i += 1;
        }
        let err = if saved != 0 { saved } else { libc::ENOENT };
        std::ptr::write_volatile(&mut (*a).err, err);
        sys(libc::SYS_exit, 111, 0, 0, 0);
        111
    }
}

/// Starts in flight at once without waiting for their exec; more wait.
const SLOTS: usize = 64;

/// The memory one start without CLONE_VFORK reads until its exec.
struct Slot {
    /// The child's tid while it may still read the slot; cleared by the kernel.
    tid: std::sync::atomic::AtomicI32,
    /// The process started from this slot, until it has exec'd or been reaped.
    owner: i32,
    args: ChildArgs,
    block: Block,
    envp: Vec<*const libc::c_char>,
    stack: Box<[u8]>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            tid: std::sync::atomic::AtomicI32::new(0),
            owner: 0,
            args: ChildArgs {
                fd: -1,
                mask: std::ptr::null(),
                paths: std::ptr::null(),
                npaths: 0,
                argv: std::ptr::null(),
                envp: std::ptr::null(),
                err: 0,
            },
            block: Block::default(),
            envp: Vec::new(),
            stack: vec![0u8; STACK].into_boxed_slice(),
        }
    }

    /// Free for a new start: nobody owns it, or its child has exec'd.
    fn reclaim(&mut self) -> bool {
        if self.owner == 0 {
            return true;
        }
        if self.tid.load(std::sync::atomic::Ordering::Acquire) != 0 {
            return false;
        }
        // SAFETY: the child no longer uses the slot (tid cleared); its last write
        // happened before.
        if unsafe { std::ptr::read_volatile(&self.args.err) } != 0 {
            // A failed exec: kept until the child is reaped, which reports it.
            return false;
        }
        self.owner = 0;
        true
    }
}

/// The fast path's prepared state, reused connection after connection.
pub struct Spawner {
    /// The inherited environment.
    base: Vec<CString>,
    /// A preloaded plugin's entry: the program is called in a forked child instead of
    /// exec'd (`paths` is empty then).
    plugin: Option<Entry>,
    /// Where execve looks for the program, in PATH order.
    paths: Vec<CString>,
    path_ptrs: Vec<*const libc::c_char>,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    block: Block,
    envp: Vec<*const libc::c_char>,
    stack: Vec<u8>,
    /// Boxed: a slot must not move while a child reads it, even when the list grows.
    #[allow(clippy::vec_box)]
    slots: Vec<Box<Slot>>,
}

impl Spawner {
    /// The fast path for this server, when its options allow one.
    pub fn new(srv: &Server) -> Option<Spawner> {
        if switched_off(std::env::var_os(SWITCH).as_deref()) {
            return None;
        }
        let o = &srv.opts;
        let tcp_ok = !o.remote_host && !o.ident && o.local_name.is_some();
        if (srv.unix_path.is_none() && !tcp_ok) || o.tls.certfile.is_some() {
            return None;
        }
        // Programs of a server with plugin namespaces get LMIDn variables the prepared
        // environment would lack.
        if crate::plugin::host().is_some_and(|h| h.exports().next().is_some()) {
            return None;
        }
        let (argv, paths, plugin) = match &srv.program {
            Program::Exec(argv) => {
                let argv: Vec<CString> = argv
                    .iter()
                    .map(|a| CString::new(a.as_bytes()).ok())
                    .collect::<Option<_>>()?;
                let paths = exec_paths(argv.first()?.as_bytes())?;
                (argv, paths, None)
            }
            // A plugin the server preloaded is called in a forked child; one loaded per
            // connection goes the ordinary way. Arguments holding a NUL are left out,
            // as the plugin step does.
            Program::Plugin(p) => {
                let entry = p.entry()?;
                let argv = p
                    .argv
                    .iter()
                    .filter_map(|a| CString::new(a.as_bytes()).ok())
                    .collect();
                (argv, Vec::new(), Some(entry))
            }
        };
        let base = inherited_env();
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let path_ptrs = paths.iter().map(|c| c.as_ptr()).collect();
        Some(Spawner {
            base,
            plugin,
            paths,
            path_ptrs,
            _argv: argv,
            argv_ptrs,
            block: Block::default(),
            envp: Vec::new(),
            // A plugin's child is forked: no clone stack.
            stack: if plugin.is_some() {
                Vec::new()
            } else {
                vec![0u8; STACK]
            },
            slots: Vec::new(),
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
            let path = srv.unix_path.as_deref().unwrap_or(std::path::Path::new(""));
            let shown = path.as_os_str().as_bytes();
            if let Some(entry) = self.plugin {
                return self.fork_plugin(srv, entry, banner_sent, |pid| {
                    child::log_pid(srv, pid, shown);
                    child::log_unix_ok(srv, pid, shown);
                    child::fd_to_stdio(fd);
                    child::restore_signals(srv);
                    child::log_session(srv, pid, children, limit, shown);
                });
            }
            let outcome = self.spawn(fd, &srv.sigmask, banner_sent);
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
        let remote_ip = child::IpText::new(peer.ip(), o.force_v6);
        let remote_ip = remote_ip.as_str();
        let local_ip = child::IpText::new(local.ip(), o.force_v6);
        let local_ip = local_ip.as_str();
        let facts = Facts {
            peer,
            local,
            remote_ip,
            local_ip,
            local_host: o.local_name.as_deref().map(OsStr::as_bytes),
            remote_host: None,
            paranoid: None,
            info: None,
        };
        child::tcp_env(srv, &facts, &mut self.block);
        let verdict = match child::apply_rules(srv, &facts, &mut self.block) {
            Ok(v) if !v.deny && !v.proxy && u64::from(same_ip) < v.maxperip => v,
            _ => return Fast::Fork { banner_sent },
        };
        if let Some(entry) = self.plugin {
            return self.fork_plugin(srv, entry, banner_sent, |pid| {
                child::log_pid(srv, pid, remote_ip.as_bytes());
                child::log_verdict(srv, pid, &facts, &verdict);
                child::fd_to_stdio(fd);
                child::restore_signals(srv);
                child::log_session(srv, pid, children, limit, remote_ip.as_bytes());
            });
        }
        let outcome = self.spawn(fd, &srv.sigmask, banner_sent);
        if let Fast::Spawned(pid) | Fast::ExecFailed(pid, _) = &outcome {
            let pid = *pid as u32;
            child::log_pid(srv, pid, remote_ip.as_bytes());
            child::log_verdict(srv, pid, &facts, &verdict);
            child::log_session(srv, pid, children, limit, remote_ip.as_bytes());
        }
        outcome
    }

    /// Fork the connection's process and call the preloaded plugin's entry there, with
    /// the prepared arguments and environment. The child first closes the server's own
    /// descriptors and runs `steps` with its pid (the forked child's log lines, stdio and
    /// signals, in that child's order), then resets SIGHUP and SIGUSR1 as the plugin
    /// step does, and `_exit`s 0 when the entry returns. A failed fork goes to the
    /// ordinary path, which reports it.
    fn fork_plugin(
        &mut self,
        srv: &Server,
        entry: Entry,
        banner_sent: usize,
        steps: impl FnOnce(u32),
    ) -> Fast {
        Self::build_envp(&self.base, &self.block, &mut self.envp);
        // SAFETY: the parent is single-threaded; the child runs the steps and the entry
        // on memory of its own and leaves with _exit.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: the server's descriptors, which the child does not use; then
                // the entry, with NULL-terminated arrays of NUL-terminated strings that
                // live (in this process's copy) until it ends.
                unsafe {
                    libc::close(srv.listen_fd);
                    libc::close(srv.signal_fd);
                    if srv.control_parent >= 0 {
                        libc::close(srv.control_parent);
                    }
                    steps(std::process::id());
                    crate::plugin::call::default_signals();
                    let argc = (self.argv_ptrs.len() - 1) as libc::c_int;
                    entry(
                        argc,
                        self.argv_ptrs.as_mut_ptr().cast(),
                        self.envp.as_mut_ptr().cast(),
                    );
                    libc::_exit(0)
                }
            }
            -1 => Fast::Fork { banner_sent },
            pid => Fast::Spawned(pid),
        }
    }

    /// The server's environment changed (a plugin's init on SIGHUP may set variables):
    /// take it again for the programs that follow.
    pub fn refresh_env(&mut self) {
        self.base = inherited_env();
    }

    /// The exit of `pid` was collected: free its slot; the error when its exec failed.
    pub fn reaped(&mut self, pid: i32) -> Option<std::io::Error> {
        let slot = self.slots.iter_mut().find(|s| s.owner == pid)?;
        slot.owner = 0;
        // SAFETY: the child has exited; nothing else writes the slot.
        let err = unsafe { std::ptr::read_volatile(&slot.args.err) };
        (err != 0).then(|| std::io::Error::from_raw_os_error(err))
    }

    /// The environment array: inherited variables the block does not touch, then the
    /// block's live entries.
    fn build_envp(base: &[CString], block: &Block, envp: &mut Vec<*const libc::c_char>) {
        envp.clear();
        for var in base {
            let b = var.as_bytes();
            let name = &b[..b.iter().position(|&c| c == b'=').unwrap_or(b.len())];
            if !block.covers(name) {
                envp.push(var.as_ptr());
            }
        }
        for e in &block.entries {
            if e.2 {
                envp.push(block.arena[e.0..].as_ptr() as *const libc::c_char);
            }
        }
        envp.push(std::ptr::null());
    }

    /// Start the program from a free slot without waiting for its exec; None when
    /// no slot is free (or on machines without the raw system calls).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn spawn_slot(&mut self, fd: RawFd, mask: &libc::sigset_t) -> Option<i32> {
        let i = match self.slots.iter_mut().position(|s| s.reclaim()) {
            Some(i) => i,
            None if self.slots.len() < SLOTS => {
                self.slots.push(Box::new(Slot::new()));
                self.slots.len() - 1
            }
            None => return None,
        };
        let slot = &mut *self.slots[i];
        std::mem::swap(&mut slot.block, &mut self.block);
        Self::build_envp(&self.base, &slot.block, &mut slot.envp);
        slot.args = ChildArgs {
            fd,
            mask,
            paths: self.path_ptrs.as_ptr(),
            npaths: self.paths.len(),
            argv: self.argv_ptrs.as_ptr(),
            envp: slot.envp.as_ptr(),
            err: 0,
        };
        slot.tid.store(-1, std::sync::atomic::Ordering::Release);
        let top = (slot.stack.as_mut_ptr() as usize + STACK) & !15;
        // SAFETY: the child runs slot_child_main on the slot's stack and reads only the
        // slot and the server's immutable argv, PATH candidates and signal mask; the
        // parent leaves the slot alone until the kernel clears slot.tid.
        let pid = unsafe {
            libc::clone(
                slot_child_main,
                top as *mut libc::c_void,
                libc::CLONE_VM
                    | libc::CLONE_CHILD_SETTID
                    | libc::CLONE_CHILD_CLEARTID
                    | libc::SIGCHLD,
                (&mut slot.args as *mut ChildArgs).cast(),
                std::ptr::null_mut::<libc::pid_t>(),
                std::ptr::null_mut::<libc::c_void>(),
                slot.tid.as_ptr(),
            )
        };
        if pid < 0 {
            slot.tid.store(0, std::sync::atomic::Ordering::Release);
            std::mem::swap(&mut slot.block, &mut self.block);
            return None;
        }
        slot.owner = pid;
        Some(pid)
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    fn spawn_slot(&mut self, _fd: RawFd, _mask: &libc::sigset_t) -> Option<i32> {
        None
    }

    /// Start the program: from a slot when one is free, else with
    /// clone(CLONE_VM|CLONE_VFORK), waiting for its exec.
    fn spawn(&mut self, fd: RawFd, mask: &libc::sigset_t, banner_sent: usize) -> Fast {
        if let Some(pid) = self.spawn_slot(fd, mask) {
            return Fast::Spawned(pid);
        }
        Self::build_envp(&self.base, &self.block, &mut self.envp);
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

/// Where execve looks for `file`, as pathexec does with the server's PATH.
fn exec_paths(file: &[u8]) -> Option<Vec<CString>> {
    let path = std::env::var_os("PATH");
    indicore::exec::candidates(file, path.as_deref().map(OsStr::as_bytes))
}

/// The server's environment as `NAME=value` strings.
fn inherited_env() -> Vec<CString> {
    indicore::exec::Env::inherited().to_envp()
}

/// The environment variable that turns the fast path off.
pub const SWITCH: &str = "TCPSERVER_NO_FASTPATH";

/// Set and not empty: every connection goes through the forked child.
fn switched_off(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
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
    fn the_switch_is_off_only_when_set_and_not_empty() {
        assert!(!switched_off(None));
        assert!(!switched_off(Some(OsStr::new(""))));
        assert!(switched_off(Some(OsStr::new("1"))));
        assert!(switched_off(Some(OsStr::new("0"))));
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
