//! tcpserver (docs/ucspi-tcp.md#tcpserver): accept TCP or UNIX-socket connections and run a program for
//! each, with rules, per-IP limits and the reference's log lines.
//!
//! The parent is a single-threaded poll(2) loop over the listening socket and a
//! signalfd (SIGCHLD, SIGHUP, SIGTERM, SIGUSR1). Per connection it only accepts,
//! checks `-C`, forks and records the child; everything that can wait on the network
//! (banner, DNS, ident) or read files (rules) happens in the child ([`child`]).

pub mod child;
pub mod dns;
pub mod limits;
pub mod log;
pub mod metrics;
pub mod net;
pub mod options;
pub mod privs;
pub mod program;
pub mod proxy;
pub mod rekey;
pub mod rulesfile;
pub mod spawn;

use indicore::tcpmetrics::Counter;
use indicore::{errstr, Failure, Prog};
use limits::IpTable;
use log::Log;
use options::{Endpoint, LimitSpec, Options};
use program::Program;
use spawn::{Fast, Spawner};
use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const PROG: Prog = Prog("tcpserver");

/// Accepts in a row before the loop looks at signals again.
const ACCEPT_BATCH: usize = 16;
/// Pause after accept fails for lack of descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What parent and children share (read-only after startup).
pub struct Server {
    pub opts: Options,
    pub log: Log,
    pub program: Program,
    /// The listening socket is AF_INET6 (TCP6* variables are set).
    pub sock6: bool,
    pub unix_path: Option<PathBuf>,
    pub listen_fd: RawFd,
    pub signal_fd: RawFd,
    /// The per-IP channel ([`rekey`]): the children's end and the parent's, or -1
    /// without `-x` (no rule can ask for PROXY headers then).
    pub control: RawFd,
    pub control_parent: RawFd,
    /// The signal mask tcpserver started with, given back to children.
    pub sigmask: libc::sigset_t,
    /// The TLS contexts (`-n`, `-s`), reloaded before a connection when their files
    /// changed, and on SIGHUP.
    pub tls: Option<std::cell::RefCell<crate::tls::Reloader>>,
    /// The `-x` rules, re-read when the file changes.
    pub rules: std::cell::RefCell<rulesfile::RulesFile>,
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let opts = options::parse(args, |k| std::env::var_os(k))?;
    let quiet = opts.verbosity == 0;
    start(opts).map_err(|f| match f {
        Failure::Fatal { code, .. } if quiet => Failure::Silent(code),
        Failure::Usage(_) if quiet => Failure::Silent(indicore::EXIT_USAGE),
        f => f,
    })
}

/// The `-n`/`-s` TLS contexts, if any; a failure is logged line by line.
fn tls_contexts(
    opts: &Options,
) -> Result<Option<std::cell::RefCell<crate::tls::Reloader>>, Failure> {
    let Some(settings) = crate::tls::connection::settings(opts) else {
        return Ok(None);
    };
    match crate::tls::Reloader::new(settings) {
        Ok(r) => Ok(Some(std::cell::RefCell::new(r))),
        Err(lines) => {
            if opts.verbosity > 0 {
                for l in lines {
                    indicore::diag::emit(format_args!("{l}\n"));
                }
            }
            Err(Failure::temp("unable to initialize TLS"))
        }
    }
}

/// `-c`: the limit, and the file it comes from when it is one (re-read on SIGHUP).
fn initial_limit(spec: &LimitSpec) -> Result<(Option<PathBuf>, u64), Failure> {
    Ok(match spec {
        LimitSpec::Number(n) => (None, *n),
        LimitSpec::File(f) => {
            let n = limits::read_limit_file(f).map_err(|e| {
                Failure::temp_sys(format_args!("unable to read {}: ", f.display()), &e)
            })?;
            (Some(f.clone()), n.unwrap_or(40))
        }
    })
}

/// The TCP address to bind, or the UNIX socket's path.
fn endpoint(opts: &Options) -> Result<(Option<SocketAddr>, Option<PathBuf>), Failure> {
    Ok(match &opts.endpoint {
        Endpoint::Tcp { host, port } => {
            let port = net::resolve_port(port)?;
            let ip = net::resolve_host(host, opts.ipv4_only)?;
            let scope = opts.interface.as_deref().map_or(0, net::interface_index);
            let addr = match ip {
                IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, port, 0, scope)),
                v4 => SocketAddr::new(v4, port),
            };
            (Some(addr), None)
        }
        Endpoint::Unix(p) => (None, Some(p.clone())),
    })
}

fn start(opts: Options) -> Result<i32, Failure> {
    // Descriptors inherited from whoever started us go no further than this process:
    // children get exactly fds 0, 1 and 2.
    cloexec_inherited();
    if opts.mysql.is_some() {
        return Err(Failure::temp(
            "MySQL rules (-m) are not supported by this tcpserver; use -x rules.cdb",
        ));
    }
    // Step 4: the TLS contexts, checked before any socket exists.
    let tls = tls_contexts(&opts)?;
    let log = Log {
        verbosity: opts.verbosity,
    };
    let (limit_file, limit) = initial_limit(&opts.limit)?;
    let (bind, unix_path) = endpoint(&opts)?;
    if let Some(pidfile) = &opts.pidfile {
        single_instance(pidfile, unix_path.as_deref())?;
    }

    let (signal_fd, sigmask) = signals()?;
    let (listener, sock6, port, listen_text) = match bind {
        Some(addr) => {
            let (fd, local) = net::listen_tcp(addr, opts.backlog)?;
            (fd, local.is_ipv6(), Some(local.port()), local.to_string())
        }
        None => {
            let path = unix_path.as_deref().unwrap_or(Path::new(""));
            let fd = net::listen_unix(path, opts.backlog)?;
            (fd, false, None, path.display().to_string())
        }
    };
    if let Some(path) = &opts.metrics {
        metrics::open(path, &listen_text)?;
        metrics::set(Counter::Limit, limit);
    }
    let control = match opts.rules {
        Some(_) => Some(
            rekey::channel().map_err(|e| Failure::temp_sys("unable to create socketpair: ", &e))?,
        ),
        None => None,
    };
    privs::drop_privileges(opts.uid.as_deref(), opts.gid.as_deref())?;
    // Step 7: PLUGINn preloading, as the unprivileged user.
    crate::plugin::preload(&log)?;
    if opts.print_port {
        if let Some(port) = port {
            log::write_all(1, format!("{port}\n").as_bytes());
        }
    }
    // SAFETY: stdin and stdout are not used by the server from here on.
    unsafe {
        libc::close(0);
        libc::close(1);
    }
    log.at(
        2,
        format_args!(
            "status: 0/{limit} startup, pid={}, TLS={}, use sql=NO",
            std::process::id(),
            if tls.is_some() { "enabled" } else { "disabled" }
        ),
    );
    let program = Program::new(opts.program.clone());
    let srv = Server {
        log,
        program,
        sock6,
        unix_path,
        listen_fd: listener.as_raw_fd(),
        signal_fd: signal_fd.as_raw_fd(),
        control: control.as_ref().map_or(-1, |(_, c)| c.as_raw_fd()),
        control_parent: control.as_ref().map_or(-1, |(p, _)| p.as_raw_fd()),
        sigmask,
        tls,
        rules: Default::default(),
        opts,
    };
    let mut parent = Parent {
        table: IpTable::with_capacity(limit.min(65536) as usize),
        srv: &srv,
        limit,
        limit_file,
        children: 0,
        backoff_until: None,
        starved: false,
        fast: Spawner::new(&srv),
    };
    parent.serve(&listener, &signal_fd, control.as_ref().map(|(p, _)| p))
}

/// `-e pidfile`: refuse to start while the recorded process lives; otherwise remove a
/// stale socket and record our pid (no newline).
fn single_instance(pidfile: &Path, socket: Option<&Path>) -> Result<(), Failure> {
    if let Ok(text) = std::fs::read(pidfile) {
        let pid = options::scan_ulong(&text);
        if pid > 0 && pid <= i32::MAX as u64 {
            // SAFETY: kill with signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(pid as i32, 0) } == 0
                || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            if alive {
                return Err(Failure::temp(" already running"));
            }
        }
    }
    if let Some(s) = socket {
        let _ = std::fs::remove_file(s);
    }
    let write = || -> io::Result<()> {
        use std::io::Write;
        let mut f = indicore::fd::open_trunc(pidfile)?;
        f.write_all(std::process::id().to_string().as_bytes())
    };
    write()
        .map_err(|e| Failure::temp_sys(format_args!("unable to write {}: ", pidfile.display()), &e))
}

/// Mark every descriptor from 3 up close-on-exec (close_range, or one by one).
fn cloexec_inherited() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return;
    }
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: fcntl on a descriptor number; a stale one just fails.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// Block the signals the loop handles and read them from a signalfd; ignore SIGPIPE.
/// Returns the signalfd and the mask to give back to children.
fn signals() -> Result<(OwnedFd, libc::sigset_t), Failure> {
    use std::os::fd::FromRawFd;
    // SAFETY: sigset manipulation on local values; signalfd returns a fresh descriptor.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGCHLD, libc::SIGHUP, libc::SIGTERM, libc::SIGUSR1] {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(Failure::temp_sys("unable to create signalfd: ", &e));
        }
        Ok((OwnedFd::from_raw_fd(fd), old))
    }
}

/// The accept loop's state.
struct Parent<'a> {
    srv: &'a Server,
    table: IpTable,
    limit: u64,
    limit_file: Option<PathBuf>,
    children: u64,
    backoff_until: Option<Instant>,
    /// accept has been failing for lack of descriptors or memory (warned once).
    starved: bool,
    /// The clone-and-exec path, when the options allow it.
    fast: Option<Spawner>,
}

#[derive(Default)]
struct Pending {
    child: bool,
    hup: bool,
    term: bool,
    usr1: bool,
}

impl Parent<'_> {
    fn serve(&mut self, listener: &OwnedFd, sigfd: &OwnedFd, control: Option<&OwnedFd>) -> ! {
        loop {
            let now = Instant::now();
            let backoff = self.backoff_until.filter(|t| *t > now);
            let accepting = self.children < self.limit && backoff.is_none();
            let mut fds = [
                libc::pollfd {
                    fd: sigfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: control.map_or(-1, |c| c.as_raw_fd()),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: listener.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let timeout = backoff.map_or(-1, |t| (t - now).as_millis() as i32 + 1);
            // A negative fd (no channel) is skipped by poll.
            let n = if accepting { 3 } else { 2 };
            // SAFETY: poll over n initialised pollfds.
            if unsafe { libc::poll(fds.as_mut_ptr(), n, timeout) } < 0 {
                // EINVAL (a descriptor limit below the two polled) or ENOMEM would come
                // back at once: pause instead of spinning.
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    std::thread::sleep(ACCEPT_BACKOFF);
                }
                continue;
            }
            if fds[0].revents != 0 {
                self.signals(sigfd.as_raw_fd());
            }
            if fds[1].revents != 0 {
                self.rekeys(fds[1].fd);
            }
            if accepting && fds[2].revents != 0 {
                self.accept_some(listener.as_raw_fd());
            }
        }
    }

    fn accept_some(&mut self, listener: RawFd) {
        for _ in 0..ACCEPT_BATCH {
            if self.children >= self.limit {
                // Children that exited since the last SIGCHLD still count: reap first.
                self.reap();
                if self.children >= self.limit {
                    return;
                }
            }
            match net::accept(listener) {
                Ok((fd, peer)) => {
                    metrics::add(Counter::Accepted);
                    self.starved = false;
                    self.admit(fd, peer)
                }
                Err(e) => match e.raw_os_error() {
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                        // The connection waits in the backlog; retried after a pause.
                        if !self.starved {
                            self.starved = true;
                            self.srv.log.at(
                                1,
                                format_args!("warning: unable to accept: {}, pausing", errstr(&e)),
                            );
                        }
                        self.backoff_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        return;
                    }
                    Some(libc::EINTR | libc::ECONNABORTED | libc::EPROTO) => continue,
                    _ => return,
                },
            }
        }
    }

    /// The text of an address in the table, as the log shows it.
    fn table_ip(&self, ip: &[u8; 16]) -> String {
        match &self.srv.unix_path {
            Some(p) => p.display().to_string(),
            None => child::ip_text(IpAddr::V6(Ipv6Addr::from(*ip)), self.srv.opts.force_v6),
        }
    }

    fn admit(&mut self, fd: OwnedFd, peer: Option<SocketAddr>) {
        let ip = net::ip16(peer.as_ref());
        let per_host = self.srv.opts.per_host;
        let mut same_ip = self.table.count(&ip);
        let near = if per_host > 0 {
            per_host.min(self.srv.opts.maxperip)
        } else {
            self.srv.opts.maxperip
        };
        if u64::from(same_ip) >= near {
            // Only live children count: reap the ones that exited, then look again.
            self.reap();
            same_ip = self.table.count(&ip);
        }
        // A trusted balancer's connections are counted per client once the child has
        // read the header (rekey), not refused here under the balancer's address.
        if per_host > 0 && u64::from(same_ip) >= per_host && !self.is_balancer(peer.as_ref()) {
            metrics::add(Counter::RefusedPerHost);
            let shown = self.table_ip(&ip);
            self.srv
                .log
                .at(1, format_args!("end {shown} perIPlimit {per_host}"));
            return;
        }
        if let Some(tls) = &self.srv.tls {
            let r = tls.borrow_mut().check();
            crate::tls::connection::log_reload(&self.srv.log, r);
        }
        self.children += 1;
        metrics::set(Counter::Children, self.children);
        if self.children == self.limit {
            metrics::add(Counter::LimitReached);
        }
        let mut banner_sent = 0;
        if let Some(fast) = self.fast.as_mut() {
            let raw = fd.as_raw_fd();
            match fast.serve(self.srv, raw, peer, same_ip, self.children, self.limit) {
                Fast::Spawned(pid) => return self.table.insert(pid, ip),
                Fast::ExecFailed(pid, e) => {
                    self.table.insert(pid, ip);
                    self.srv.log.drop_connection(format_args!(
                        "unable to run {}: {}",
                        self.srv.program.name(),
                        errstr(&e)
                    ));
                    return;
                }
                Fast::Fork { banner_sent: n } => banner_sent = n,
            }
        }
        // SAFETY: the parent is single-threaded; the child only runs the connection
        // sequence and leaves with _exit or exec.
        let pid = unsafe { libc::fork() };
        match pid {
            0 => child::serve(
                self.srv,
                child::Conn {
                    fd,
                    peer,
                    same_ip,
                    children: self.children,
                    limit: self.limit,
                    banner_sent,
                },
            ),
            -1 => {
                let e = io::Error::last_os_error();
                self.children -= 1;
                metrics::set(Counter::Children, self.children);
                self.srv
                    .log
                    .drop_connection(format_args!("unable to fork: {}", errstr(&e)));
                self.srv.log.at(
                    2,
                    format_args!("status: {}/{} Failure, pid=-1", self.children, self.limit),
                );
            }
            pid => self.table.insert(pid, ip),
        }
    }

    /// Whether the peer is a balancer the rules trust with PROXY headers (looked up only
    /// when `-C` would refuse it).
    fn is_balancer(&self, peer: Option<&SocketAddr>) -> bool {
        peer.is_some_and(|p| {
            let ip = child::ip_text(p.ip(), self.srv.opts.force_v6);
            proxy::trusted(self.srv, &ip).is_some()
        })
    }

    /// Move children that read a PROXY header to their client's address.
    fn rekeys(&mut self, control: RawFd) {
        while let Some(r) = rekey::next(control) {
            let others = if self.table.rekey(r.pid, r.ip) {
                self.table.count(&r.ip).saturating_sub(1)
            } else {
                0
            };
            r.answer(others);
        }
    }

    fn signals(&mut self, sigfd: RawFd) {
        let mut pending = Pending::default();
        // SAFETY: all-zero is a valid signalfd_siginfo.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: read one siginfo record into a buffer of its size.
            let n = unsafe {
                libc::read(
                    sigfd,
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n != size as isize {
                break;
            }
            match info.ssi_signo as i32 {
                libc::SIGCHLD => pending.child = true,
                libc::SIGHUP => pending.hup = true,
                libc::SIGTERM => pending.term = true,
                libc::SIGUSR1 => pending.usr1 = true,
                _ => {}
            }
        }
        if pending.child {
            self.reap();
        }
        if pending.hup {
            self.reload();
        }
        if pending.usr1 {
            self.dump();
        }
        if pending.term {
            self.shutdown();
        }
    }

    fn reap(&mut self) {
        let log = self.srv.log;
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid on any child, without blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            if !self.table.remove(pid) {
                continue;
            }
            if let Some(e) = self.fast.as_mut().and_then(|f| f.reaped(pid)) {
                log.drop_connection(format_args!(
                    "unable to run {}: {}",
                    self.srv.program.name(),
                    errstr(&e)
                ));
            }
            self.children = self.children.saturating_sub(1);
            metrics::set(Counter::Children, self.children);
            if libc::WIFEXITED(status) {
                let code = libc::WEXITSTATUS(status);
                if code != 0 {
                    log.at(2, format_args!("end {pid} status {code}"));
                }
            } else if libc::WIFSIGNALED(status) {
                log.at(
                    2,
                    format_args!("end {pid} killed by signal {}", libc::WTERMSIG(status)),
                );
            }
            log.at(
                2,
                format_args!(
                    "status: {}/{} sigchild, pid={pid}",
                    self.children, self.limit
                ),
            );
        }
    }

    fn reload(&mut self) {
        crate::plugin::reload(&self.srv.log);
        if let Some(fast) = self.fast.as_mut() {
            fast.refresh_env();
        }
        if let Some(tls) = &self.srv.tls {
            let r = tls.borrow_mut().reload();
            crate::tls::connection::log_reload(&self.srv.log, r);
        }
        if let Some(f) = &self.limit_file {
            match limits::read_limit_file(f) {
                Ok(Some(n)) => {
                    self.limit = n;
                    metrics::set(Counter::Limit, n);
                }
                Ok(None) => {}
                Err(e) => self.srv.log.at(
                    1,
                    format_args!(
                        "warning: unable to read {}: {}; limit unchanged",
                        f.display(),
                        errstr(&e)
                    ),
                ),
            }
        }
        self.srv
            .log
            .at(1, format_args!("sighup: {}/{}", self.children, self.limit));
    }

    fn dump(&self) {
        for (slot, pid, ip) in self.table.busy() {
            let shown = self.table_ip(ip);
            self.srv
                .log
                .at(2, format_args!("{slot}: IP {shown}: PID {pid}"));
        }
    }

    fn shutdown(&self) -> ! {
        self.srv.log.at(
            2,
            format_args!(
                "status: {}/{} shutdown, pid={}",
                self.children,
                self.limit,
                std::process::id()
            ),
        );
        if let Some(p) = &self.srv.unix_path {
            let _ = std::fs::remove_file(p);
        }
        child::exit(0)
    }
}
