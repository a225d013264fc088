//! supervise: keep one service's `run` alive, obey `supervise/control`, and
//! publish the state in `supervise/status` (docs/daemontools.md#supervise).
//!
//! One thread, one poll loop over a self-pipe (SIGCHLD, SIGTERM) and the
//! control FIFO. Starts are throttled to one per second by scheduling, not by
//! sleeping, so control bytes are obeyed while a restart is pending.

use crate::statedir;
use crate::status::{Layout, Status, Want};
use indicore::envdir::Loader;
use indicore::exec::Env;
use indicore::fd;
use indicore::tai::Label;
use indicore::{errstr, EXIT_TEMP};
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Minimum time between two starts of `run`.
const THROTTLE: Duration = Duration::from_secs(1);
/// How long supervise sleeps after a failed `init` or fork.
const RETRY_SLEEP: Duration = Duration::from_secs(60);

/// The program name for usage errors (runtime messages carry the service's prefix).
pub const PROG: indicore::Prog = indicore::Prog("supervise");

/// `supervise dir [parent_ident]`: returns 0 when told to exit.
pub fn run(args: &[OsString]) -> Result<i32, indicore::Failure> {
    let cfg = Config::from_args(args).map_err(indicore::Failure::usage)?;
    Supervisor::setup(cfg).run();
    Ok(0)
}

/// The settings supervise reads from its command line and environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The service directory as given.
    pub dir: String,
    /// `supervise log NAME`: the main service's name.
    pub parent_ident: Option<String>,
    pub verbose: bool,
    pub silent: bool,
    pub setpgid: bool,
    /// None: `SHUTDOWN_SIGNAL` names no signal (0), so only SIGCONT is sent.
    pub shutdown_signal: Option<Signal>,
    pub upfifo: String,
}

impl Config {
    /// Parse `supervise dir [parent_ident]` and the environment.
    pub fn from_args(args: &[OsString]) -> Result<Config, String> {
        let usage = || "supervise: usage: supervise dir [parent_ident]".to_string();
        let (dir, parent) = match args {
            [_, dir] => (dir, None),
            [_, dir, parent] => (dir, Some(parent.to_string_lossy().into_owned())),
            _ => return Err(usage()),
        };
        if dir.is_empty() {
            return Err(usage());
        }
        let env = |name| std::env::var_os(name).is_some();
        let shutdown_signal = shutdown_signal(std::env::var_os("SHUTDOWN_SIGNAL").as_deref());
        Ok(Config {
            dir: dir.to_string_lossy().into_owned(),
            parent_ident: parent,
            verbose: env("VERBOSE"),
            silent: env("SILENT"),
            setpgid: env("SETPGID"),
            shutdown_signal,
            upfifo: std::env::var("UPFIFO")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "up".into()),
        })
    }

    /// The message prefix: `dir: supervise: ` or `P/log: supervise: `.
    fn prefix(&self) -> String {
        match &self.parent_ident {
            Some(p) => format!("{p}/log: supervise: "),
            None => format!("{}: supervise: ", self.dir),
        }
    }
}

/// How `run` gets its environment (decided on the first start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variables {
    None,
    /// `variables/` with o+x: loaded over the inherited environment.
    Keep,
    /// `variables/` without o+x: loaded into an empty environment.
    Clear,
}

/// Diagnostics with the service's prefix.
struct Log {
    prefix: String,
    verbose: bool,
    silent: bool,
}

impl Log {
    fn warn(&self, msg: impl std::fmt::Display) {
        if !self.silent {
            indicore::diag::emit(format_args!("{}warning: {msg}\n", self.prefix));
        }
    }

    fn info(&self, msg: impl std::fmt::Display) {
        if self.verbose {
            indicore::diag::emit(format_args!("{}info: {msg}\n", self.prefix));
        }
    }

    fn fatal(&self, code: i32, msg: impl std::fmt::Display) -> ! {
        indicore::diag::emit(format_args!("{}fatal: {msg}\n", self.prefix));
        std::process::exit(code)
    }
}

/// Signals delivered into the poll loop.
struct Signals {
    pipe: File,
    term: Arc<AtomicBool>,
}

impl Signals {
    fn install() -> io::Result<Signals> {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        let term = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(libc::SIGTERM, Arc::clone(&term))?;
        signal_hook::low_level::pipe::register(libc::SIGTERM, w.try_clone()?)?;
        signal_hook::low_level::pipe::register(libc::SIGCHLD, w)?;
        Ok(Signals {
            pipe: File::from(r),
            term,
        })
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
    }

    fn term(&self) -> bool {
        self.term.load(Ordering::Relaxed)
    }
}

/// The running supervisor.
pub struct Supervisor {
    cfg: Config,
    log: Log,
    /// The service directory as scripts see it (`$1`): as given, or the absolute mirror path.
    dir: String,
    /// The real service directory, where scripts run.
    service: File,
    /// The directory holding `supervise/` (the service directory or its mirror): the cwd.
    state: File,
    init_path: PathBuf,
    signals: Signals,
    control: File,
    _control_writer: File,
    _ok: File,
    _state_dir: statedir::StateDir,
    /// `supervise/status`, rewritten in place on every change.
    status_file: File,
    up_fifo: Option<File>,
    dn_fifo: Option<File>,
    variables: Option<Variables>,
    subreaper: bool,
    /// supervise's own pid.
    pid: u32,
    // Service state.
    child: Option<Pid>,
    grandchild: bool,
    want: Want,
    paused: bool,
    when: Label,
    wait: i16,
    exit_requested: bool,
    restart_requested: bool,
    group_next: bool,
    last_start: Option<Instant>,
    pending_start: Option<(&'static str, Instant)>,
}

impl Supervisor {
    /// Steps 1–10 of the startup sequence: everything up to `init`.
    pub fn setup(cfg: Config) -> Supervisor {
        let log = Log {
            prefix: cfg.prefix(),
            verbose: cfg.verbose,
            silent: cfg.silent,
        };
        let signals = Signals::install().unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to create self-pipe: {}", errstr(&e)),
            )
        });
        let init_path = init_path(&cfg.dir);
        if let Err(e) = std::env::set_current_dir(&cfg.dir) {
            log.fatal(
                EXIT_TEMP,
                format!("unable to chdir to {}: {}", cfg.dir, errstr(&e)),
            );
        }
        let want = match std::fs::metadata("down") {
            Ok(_) => Want::Down,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Want::Up,
            Err(e) => log.fatal(
                EXIT_TEMP,
                format!("unable to stat {}/down: {}", cfg.dir, errstr(&e)),
            ),
        };
        let service = File::open(".").unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to open {}: {}", cfg.dir, errstr(&e)),
            )
        });
        let run = std::fs::metadata("run").unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to stat {}/run: {}", cfg.dir, errstr(&e)),
            )
        });
        let mut subreaper = false;
        if run.mode() & libc::S_ISVTX != 0 {
            subreaper = become_subreaper();
        }

        // Lock first: nothing of either layout is touched before the locks are held.
        let state_dir = statedir::enter(&statedir::Identity {
            dir: &cfg.dir,
            parent_ident: cfg.parent_ident.as_deref(),
        })
        .unwrap_or_else(|f| log.fatal(f.code, f.msg));
        let dir = state_dir.name.clone();
        let control_path = Path::new("supervise/control");
        make_fifo(control_path, &dir, &log);
        let control = fd::open_read(control_path).unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to read {dir}/supervise/control: {}", errstr(&e)),
            )
        });
        let control_writer = fd::open_write(control_path).unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to write {dir}/supervise/control: {}", errstr(&e)),
            )
        });
        let state = File::open(".").unwrap_or_else(|e| {
            log.fatal(EXIT_TEMP, format!("unable to open {dir}: {}", errstr(&e)))
        });
        let when = Label::now();
        let initial = Status {
            when,
            pid: std::process::id(),
            paused: false,
            want,
            wait: 0,
            up: false,
            layout: Layout::IndiMail,
        };
        let status_file = fd::open_trunc(Path::new("supervise/status")).unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to open {dir}/supervise/status: {}", errstr(&e)),
            )
        });
        write_status(&status_file, &initial, &dir, &log);
        for name in ["ok", "up", "dn"] {
            make_fifo(&Path::new("supervise").join(name), &dir, &log);
        }
        let ok = fd::open_read(Path::new("supervise/ok")).unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format!("unable to read {dir}/supervise/ok: {}", errstr(&e)),
            )
        });

        let mut sv = Supervisor {
            log,
            dir,
            service,
            state,
            init_path,
            signals,
            control,
            _control_writer: control_writer,
            _ok: ok,
            _state_dir: state_dir,
            status_file,
            up_fifo: None,
            dn_fifo: None,
            variables: None,
            subreaper,
            pid: std::process::id(),
            child: None,
            grandchild: false,
            want,
            paused: false,
            when,
            wait: 0,
            exit_requested: false,
            restart_requested: false,
            group_next: false,
            last_start: None,
            pending_start: None,
            cfg,
        };
        if sv.want == Want::Down {
            sv.open_dn();
        }
        sv
    }

    /// Steps 11–12 and the main loop. Returns when supervise should exit 0.
    pub fn run(mut self) {
        self.run_init();
        if self.want == Want::Up {
            self.start("auto startup");
        }
        loop {
            if self.signals.term() {
                self.terminate();
                return;
            }
            if self.exit_requested && self.child.is_none() {
                return;
            }
            self.poll();
            self.signals.drain();
            self.reap();
            if self.exit_requested && self.child.is_none() {
                return;
            }
            self.read_control();
            if let Some((how, at)) = self.pending_start {
                if Instant::now() >= at {
                    self.pending_start = None;
                    self.trystart(how);
                }
            }
        }
    }

    fn poll(&self) {
        let timeout = match self.pending_start {
            Some((_, at)) => {
                at.saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(3_600_000) as i32
                    + 1
            }
            None => 3_600_000,
        };
        let mut fds = [
            libc::pollfd {
                fd: self.signals.pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.control.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two pollfds we own.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
    }

    // ----- status -----

    fn status(&self) -> Status {
        let (pid, up) = match self.child {
            Some(p) => (p.as_raw() as u32, true),
            None => (self.pid, false),
        };
        Status {
            when: self.when,
            pid,
            paused: self.paused && up,
            want: self.want,
            wait: self.wait,
            up,
            layout: Layout::IndiMail,
        }
    }

    /// Publish the state.
    fn announce(&self) {
        write_status(&self.status_file, &self.status(), &self.dir, &self.log);
    }

    fn open_dn(&mut self) {
        if self.dn_fifo.is_none() {
            self.dn_fifo = fd::open_read(Path::new("supervise/dn")).ok();
        }
    }

    // ----- starting -----

    /// Start now, or as soon as the one-second throttle allows.
    fn start(&mut self, how: &'static str) {
        match self.last_start {
            Some(t) if t.elapsed() < THROTTLE => self.pending_start = Some((how, t + THROTTLE)),
            _ => self.trystart(how),
        }
    }

    fn trystart(&mut self, how: &'static str) {
        self.wait_for_dependency();
        if self.signals.term() {
            return;
        }
        let variables = *self
            .variables
            .get_or_insert_with(|| variables_mode(&self.log));
        if !self.subreaper {
            let run = self.in_service(|| std::fs::metadata("run"));
            match run {
                Ok(m) if m.mode() & libc::S_ISVTX != 0 => self.subreaper = become_subreaper(),
                Ok(_) => {}
                Err(e) => self.log.fatal(
                    EXIT_TEMP,
                    format!("unable to stat {}/run: {}", self.cfg.dir, errstr(&e)),
                ),
            }
        }
        let argv = [
            OsString::from("./run"),
            OsString::from(&self.dir),
            OsString::from(how),
        ];
        let setpgid = self.cfg.setpgid || self.subreaper;
        // The fast path: environment built here, the child spawned without copying this
        // process. Any failure (variables, exec) takes the forked path below, whose child
        // reports it and exits 111 exactly as the reference's child does.
        if let Some(child) = self.spawn_run(&argv, variables, setpgid) {
            self.started(child);
            return;
        }
        // SAFETY: single-threaded; the child only prepares and execs.
        match unsafe { fork() } {
            Err(e) => {
                self.log.warn(format!(
                    "unable to fork, sleeping 60 seconds: {}",
                    errstr(&e.into())
                ));
                self.sleep(RETRY_SLEEP);
                self.pending_start = Some(("system failure", Instant::now()));
            }
            Ok(ForkResult::Child) => self.exec_run(&argv, variables, setpgid),
            Ok(ForkResult::Parent { child }) => self.started(child),
        }
    }

    /// `./run dir how` through posix_spawn, or None when that cannot be done cleanly.
    fn spawn_run(&self, argv: &[OsString], variables: Variables, setpgid: bool) -> Option<Pid> {
        let env = self.run_env(variables).ok()?;
        let spawn = indicore::spawn::Spawn::new(argv, &env)
            .ok()?
            .fchdir(self.service.as_raw_fd())
            .setpgid(setpgid);
        spawn.spawn().ok().map(Pid::from_raw)
    }

    /// The environment `run` gets: supervise's (with PPID), or an empty one, plus
    /// `variables/`.
    fn run_env(&self, variables: Variables) -> Result<Env, indicore::envdir::EnvdirError> {
        let mut env = if variables == Variables::Clear {
            Env::empty()
        } else {
            child_env(self.pid)
        };
        if variables != Variables::None {
            let mut loader = Loader::new(false);
            self.in_service(|| loader.load(Path::new("./variables")))?;
            loader.apply_to(&mut env);
        }
        Ok(env)
    }

    /// Bookkeeping once `run` has been started.
    fn started(&mut self, child: Pid) {
        self.child = Some(child);
        self.grandchild = false;
        self.paused = false;
        self.when = Label::now();
        self.announce();
        self.up_fifo = fd::open_read(Path::new("supervise").join(&self.cfg.upfifo).as_path()).ok();
        self.dn_fifo = None;
        self.last_start = Some(Instant::now());
        let pgid = nix::unistd::getpgid(Some(child)).map_or(0, |g| g.as_raw());
        let mode = if self.subreaper { "" } else { "non-" };
        self.log.info(format!(
            "pid {} started child pid {child} pgid {pgid} in {mode}subreaper mode",
            self.pid
        ));
    }

    /// In the forked child: load `variables/`, then exec `./run dir how`.
    fn exec_run(&self, argv: &[OsString], variables: Variables, setpgid: bool) -> ! {
        if setpgid {
            let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
        }
        let env = self
            .run_env(variables)
            .unwrap_or_else(|e| self.log.fatal(EXIT_TEMP, e));
        let _ = nix::unistd::fchdir(&self.service);
        let err = indicore::exec::run(argv, &env, None);
        self.log.fatal(
            EXIT_TEMP,
            format!("unable to start ./run: {}", errstr(&err)),
        )
    }

    /// The `wait` file (docs/daemontools.md#the-wait-file): hold the start until another service is up, then delay.
    fn wait_for_dependency(&mut self) {
        let Some((delay, target)) = self
            .in_service(|| std::fs::read("wait").ok())
            .as_deref()
            .and_then(parse_wait)
        else {
            return;
        };
        // Relative targets are siblings; whether one exists is asked of the real tree.
        let exists = self.in_service(|| {
            if target.is_absolute() {
                target.exists()
            } else {
                Path::new("..").join(&target).exists()
            }
        });
        if !exists {
            return;
        }
        let target = if target.is_absolute() {
            target
        } else {
            Path::new("..").join(target)
        };
        let began = Instant::now();
        self.child = None;
        self.wait = -2;
        self.when = Label::now();
        self.announce();
        let upfifo = target.join("supervise").join(&self.cfg.upfifo);
        loop {
            if self.signals.term() {
                return;
            }
            match fd::open_write(&upfifo) {
                Ok(_) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    self.log.warn(format!(
                        "supervise not running for dir {}",
                        target.display()
                    ));
                    self.sleep(Duration::from_secs(1));
                }
                // ENXIO: supervise runs but the service is not up yet.
                Err(_) => self.sleep(Duration::from_millis(200)),
            }
        }
        let status = target.join("supervise/status");
        loop {
            if self.signals.term() {
                return;
            }
            let ready = crate::status::read(&status)
                .ok()
                .and_then(|b| Status::decode(&b))
                .is_some_and(|s| s.pid != 0 && !s.paused && s.want != Want::Down);
            if ready {
                break;
            }
            self.sleep(Duration::from_secs(1));
        }
        self.when = Label::now();
        self.wait = delay;
        self.announce();
        self.sleep(Duration::from_secs(delay.max(0) as u64));
        self.wait = 0;
        self.announce();
        let waited = began.elapsed().as_secs();
        if waited > 0 {
            self.log.info(format!(
                "service for {} up after ~{waited} seconds",
                target.display()
            ));
        }
    }

    // ----- deaths -----

    fn reap(&mut self) {
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
        loop {
            match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) => return,
                Ok(WaitStatus::Stopped(pid, sig)) => self
                    .log
                    .info(format!("pid {pid} stopped by signal {}", sig as i32)),
                Ok(WaitStatus::Continued(pid)) => self
                    .log
                    .info(format!("pid {pid} continued by signal {}", libc::SIGCONT)),
                Ok(ws @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => self.reaped(ws),
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(_) => {
                    // ECHILD: in double-fork mode the last descendant is gone.
                    if self.grandchild {
                        self.died(-1, "unknown");
                    }
                    return;
                }
            }
        }
    }

    fn reaped(&mut self, ws: WaitStatus) {
        let (pid, code, kind) = match ws {
            WaitStatus::Exited(pid, code) => (pid, code, "exited"),
            WaitStatus::Signaled(pid, sig, _) => (pid, sig as i32, "stopped/signalled"),
            _ => return,
        };
        let Some(child) = self.child else { return };
        if pid == child && !self.grandchild {
            self.report_death(pid, &ws);
            if self.subreaper && has_children() {
                self.log.warn(format!("pid {pid} did double fork"));
                self.grandchild = true;
                return;
            }
            self.died(code, kind);
        } else if self.grandchild {
            self.log
                .warn(format!("pid {pid} double fork by ppid {child} died"));
            if !has_children() {
                self.died(code, kind);
            }
        }
    }

    fn report_death(&self, pid: Pid, ws: &WaitStatus) {
        match ws {
            WaitStatus::Exited(_, code) => self
                .log
                .warn(format!("pid {pid} exited with status={code}")),
            WaitStatus::Signaled(_, sig, _) => self
                .log
                .warn(format!("pid {pid} got signal {}", *sig as i32)),
            _ => {}
        }
    }

    /// The service is down: publish it, then restart as `want` says.
    fn died(&mut self, code: i32, kind: &str) {
        let pid = self.child.take().map_or(-1, Pid::as_raw);
        self.grandchild = false;
        self.paused = false;
        self.when = Label::now();
        self.up_fifo = None;
        self.announce();
        if self.exit_requested || self.want != Want::Up {
            self.restart_requested = false;
            return;
        }
        if std::mem::take(&mut self.restart_requested) {
            self.start("manual restart");
            return;
        }
        if self.script_exists("alert") {
            let args = [
                self.dir.clone(),
                pid.to_string(),
                code.to_string(),
                kind.to_string(),
            ];
            self.run_script("./alert", &args, true);
        }
        self.start("abnormal startup");
    }

    // ----- control -----

    fn read_control(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.control.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    for &b in &buf[..n] {
                        self.control_byte(b);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn control_byte(&mut self, b: u8) {
        match b {
            b'u' => {
                self.want = Want::Up;
                self.announce();
                if self.child.is_none() && self.pending_start.is_none() {
                    self.start("manual startup");
                }
            }
            b'd' => {
                self.want = Want::Down;
                self.pending_start = None;
                self.restart_requested = false;
                if self.child.is_some() {
                    self.stop_child();
                }
                self.open_dn();
                self.announce();
            }
            b'r' => {
                self.want = Want::Up;
                if self.child.is_some() {
                    self.stop_child();
                    self.restart_requested = true;
                    self.announce();
                } else if self.pending_start.is_none() {
                    self.announce();
                    self.start("manual restart");
                }
            }
            b'o' => {
                self.want = Want::Once;
                self.announce();
                if self.child.is_none() && self.pending_start.is_none() {
                    self.start("one-time startup");
                }
            }
            b'p' => {
                self.paused = true;
                self.announce();
                self.signal(Signal::SIGSTOP);
            }
            b'c' => {
                self.paused = false;
                self.announce();
                self.signal(Signal::SIGCONT);
            }
            b'h' => self.signal(Signal::SIGHUP),
            b'a' => self.signal(Signal::SIGALRM),
            b'i' => self.signal(Signal::SIGINT),
            b't' => self.signal(Signal::SIGTERM),
            b'q' => self.signal(Signal::SIGQUIT),
            b'k' => self.signal(Signal::SIGKILL),
            b'1' | b'U' => self.signal(Signal::SIGUSR1),
            b'2' => self.signal(Signal::SIGUSR2),
            b'G' => self.group_next = true,
            b'x' => {
                self.exit_requested = true;
                self.pending_start = None;
                self.announce();
            }
            _ => {}
        }
    }

    /// `svc -d`/`-r` on a running service: the shutdown script (waited for), then the
    /// shutdown signal and SIGCONT.
    fn stop_child(&mut self) {
        if let (Some(pid), true) = (self.child, self.script_exists("shutdown")) {
            let args = [self.dir.clone(), pid.to_string()];
            self.run_script("./shutdown", &args, true);
        }
        if let Some(sig) = self.cfg.shutdown_signal {
            self.signal(sig);
        }
        self.signal(Signal::SIGCONT);
        self.paused = false;
    }

    /// Send `sig` to the service: to its process group after `G` or in double-fork mode.
    fn signal(&mut self, sig: Signal) {
        let Some(pid) = self.child else { return };
        if self.group_next || self.grandchild {
            if killpg(pid, sig) == Err(Errno::ESRCH) {
                let _ = kill(pid, sig);
            }
            self.group_next = false;
        } else {
            let _ = kill(pid, sig);
        }
    }

    /// SIGTERM: start the shutdown script without waiting, signal the service, exit 0.
    fn terminate(&mut self) {
        let Some(pid) = self.child else { return };
        if self.script_exists("shutdown") {
            let args = [self.dir.clone(), pid.to_string()];
            self.run_script("./shutdown", &args, false);
        }
        self.want = Want::Down;
        self.exit_requested = true;
        for sig in [self.cfg.shutdown_signal, Some(Signal::SIGCONT)]
            .into_iter()
            .flatten()
        {
            if killpg(pid, sig) == Err(Errno::ESRCH) {
                let _ = kill(pid, sig);
            }
        }
        self.announce();
    }

    // ----- scripts -----

    fn script_exists(&self, name: &str) -> bool {
        self.in_service(|| std::fs::symlink_metadata(name).is_ok())
    }

    /// Run `f` with the real service directory as the cwd, then come back.
    fn in_service<T>(&self, f: impl FnOnce() -> T) -> T {
        let _ = nix::unistd::fchdir(&self.service);
        let r = f();
        let _ = nix::unistd::fchdir(&self.state);
        r
    }

    /// Fork `script args...` in the service directory, and wait for it if asked.
    fn run_script(&mut self, script: &str, args: &[String], wait: bool) {
        let mut argv = vec![OsString::from(script)];
        argv.extend(args.iter().map(OsString::from));
        // SAFETY: single-threaded; the child only execs.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let _ = nix::unistd::fchdir(&self.service);
                let err = indicore::exec::run(&argv, &child_env(self.pid), None);
                self.log.fatal(
                    EXIT_TEMP,
                    format!("unable to run {script}: {}", errstr(&err)),
                );
            }
            Ok(ForkResult::Parent { child }) if wait => {
                while waitpid(child, None) == Err(Errno::EINTR) {}
            }
            Ok(_) => {}
            Err(e) => self
                .log
                .warn(format!("unable to fork {script}: {}", errstr(&e.into()))),
        }
    }

    /// `init` (docs/daemontools.md#supervise-startup, step 8): run until it succeeds, 60 seconds apart.
    fn run_init(&mut self) {
        let Ok(path) = CString::new(self.init_path.as_os_str().as_encoded_bytes()) else {
            return;
        };
        // SAFETY: access(2) on a C string we own.
        if unsafe { libc::access(path.as_ptr(), libc::X_OK) } != 0 {
            return;
        }
        let argv = [self.init_path.clone().into_os_string()];
        loop {
            if self.signals.term() {
                return;
            }
            // SAFETY: single-threaded; the child only execs.
            let ok = match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    let err = indicore::exec::run(&argv, &child_env(self.pid), None);
                    self.log.fatal(
                        EXIT_TEMP,
                        format!(
                            "unable to run {}: {}",
                            self.init_path.display(),
                            errstr(&err)
                        ),
                    );
                }
                Ok(ForkResult::Parent { child }) => loop {
                    match waitpid(child, None) {
                        Ok(WaitStatus::Exited(_, 0)) => break true,
                        Err(Errno::EINTR) => {}
                        _ => break false,
                    }
                },
                Err(_) => false,
            };
            if ok {
                return;
            }
            self.log.warn(format!(
                "initialization failed for {}, sleeping 60 seconds: ",
                self.cfg.dir
            ));
            self.sleep(RETRY_SLEEP);
        }
    }

    /// Sleep, but wake for SIGTERM.
    fn sleep(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while !self.signals.term() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let mut fds = [libc::pollfd {
                fd: self.signals.pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: one pollfd we own.
            unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    1,
                    left.as_millis().min(i32::MAX as u128) as i32 + 1,
                )
            };
            self.signals.drain();
        }
    }
}

/// Publish a status record in place, with one pwrite of all 21 bytes at offset 0, as the
/// reference does: readers open the file afresh and see either record whole (a rename
/// instead would cost a data flush on ext4 at every state change, over a millisecond).
fn write_status(file: &File, status: &Status, dir: &str, log: &Log) {
    if let Err(e) = std::os::unix::fs::FileExt::write_all_at(file, &status.encode(), 0) {
        log.warn(format!(
            "unable to write {dir}/supervise/status: {}",
            errstr(&e)
        ));
    }
}

/// `$SCANDIR/<dir>/init`, else `cwd/<dir>/init`.
fn init_path(dir: &str) -> PathBuf {
    let base = std::env::var_os("SCANDIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    base.join(dir).join("init")
}

/// The inherited environment plus `PPID` = supervise's pid (read before any fork, so a
/// forked child does not put its own pid there).
fn child_env(supervise_pid: u32) -> Env {
    let mut env = Env::inherited();
    env.set("PPID", supervise_pid.to_string());
    env
}

/// `variables/`: a directory (followed through symlinks) decides by its o+x bit; anything
/// else means no variables (docs/decisions.md#d3).
fn variables_mode(log: &Log) -> Variables {
    match std::fs::metadata("variables") {
        Ok(m) if m.is_dir() => {
            if m.permissions().mode() & 0o001 != 0 {
                Variables::Keep
            } else {
                Variables::Clear
            }
        }
        Ok(_) => {
            log.warn("variables is not a directory: ignored");
            Variables::None
        }
        Err(_) => Variables::None,
    }
}

/// Parse the `wait` file: seconds on line 1 (over 32767 becomes 60, garbage 0), the service
/// on line 2.
fn parse_wait(bytes: &[u8]) -> Option<(i16, PathBuf)> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split('\n');
    let secs = lines.next()?;
    let target = lines.next()?.trim_end_matches('\r');
    if target.is_empty() {
        return None;
    }
    let digits: String = secs
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().unwrap_or(0);
    let delay = if n > 32767 { 60 } else { n as i16 };
    Some((delay, PathBuf::from(target)))
}

fn make_fifo(path: &Path, dir: &str, log: &Log) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()) => {}
        Ok(_) => log.fatal(
            EXIT_TEMP,
            format!("{dir}/{} is not a named pipe", path.display()),
        ),
        Err(_) => {
            if let Err(e) = fd::fifo_make(path, 0o600) {
                if e.kind() != io::ErrorKind::AlreadyExists {
                    log.fatal(
                        EXIT_TEMP,
                        format!("unable to mkfifo {dir}/{}: {}", path.display(), errstr(&e)),
                    );
                }
            }
        }
    }
}

fn become_subreaper() -> bool {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// Whether any child (or adopted descendant) is still alive, without reaping it.
fn has_children() -> bool {
    // SAFETY: waitid with WNOWAIT only inspects; siginfo is ours.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    r == 0
}

/// The signal `svc -d` and SIGTERM send: `SHUTDOWN_SIGNAL` read as djb's scan_int reads a
/// number (leading digits after an optional sign: `9x` is 9, `abc` is 0), SIGTERM when unset.
/// 0, or a number that is no signal, sends nothing (the reference's kill(pid, 0)).
fn shutdown_signal(value: Option<&std::ffi::OsStr>) -> Option<Signal> {
    let Some(v) = value else {
        return Some(Signal::SIGTERM);
    };
    let v = v.as_encoded_bytes();
    let (neg, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let n = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |n, &c| {
            (n * 10 + i64::from(c - b'0')).min(i64::from(i32::MAX))
        });
    let n = if neg { -n } else { n };
    Signal::try_from(n as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_signal_scan_int() {
        let sig = |v: &str| shutdown_signal(Some(std::ffi::OsStr::new(v)));
        assert_eq!(shutdown_signal(None), Some(Signal::SIGTERM));
        assert_eq!(sig("9x"), Some(Signal::SIGKILL));
        assert_eq!(sig("1"), Some(Signal::SIGHUP));
        assert_eq!(sig("abc"), None);
        assert_eq!(sig(""), None);
        assert_eq!(sig("-9"), None);
    }

    #[test]
    fn wait_file() {
        assert_eq!(parse_wait(b"3\nA\n"), Some((3, PathBuf::from("A"))));
        assert_eq!(parse_wait(b"99999\n/x"), Some((60, PathBuf::from("/x"))));
        assert_eq!(parse_wait(b"abc\nA"), Some((0, PathBuf::from("A"))));
        assert_eq!(parse_wait(b"3\n\n"), None);
        assert_eq!(parse_wait(b"3"), None);
    }

    #[test]
    fn config() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(Config::from_args(&a(&["supervise"])).is_err());
        assert!(Config::from_args(&a(&["supervise", "a", "b", "c"])).is_err());
        let c = Config::from_args(&a(&["supervise", "log", "qmail"])).unwrap();
        assert_eq!(c.prefix(), "qmail/log: supervise: ");
        let c = Config::from_args(&a(&["supervise", "s"])).unwrap();
        assert_eq!(c.prefix(), "s: supervise: ");
    }
}
