//! supervise: keep one service's `run` alive, obey `supervise/control`, and publish the
//! state in `supervise/status` (docs/daemontools.md#supervise).
//!
//! Every decision is made by the state machine (`machine.rs`); this file sets supervise up
//! and then runs its loop: one poll over a self-pipe (SIGCHLD, SIGTERM), the control FIFO
//! and the service's readiness pipe, each wake-up turned into events for the machine, each
//! action the machine returns carried out here or in `launch.rs` (starting `run`, `init`,
//! the scripts and the `wait` dependency).

use crate::info::Info;
use crate::machine::{Action, End, Event, Note, Now, Script, Settings, State};
use crate::statedir;
use crate::status::{Layout, Status, Want};
use indicore::{errstr, fd, EXIT_TEMP};
use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow::{self, Break, Continue};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

#[path = "launch.rs"]
mod launch;

/// The program name for usage errors (runtime messages carry the service's prefix).
pub const PROG: indicore::Prog = indicore::Prog("supervise");

/// Whether supervise goes on (`Continue`) or exits 0 (`Break`).
type Flow<T = ()> = ControlFlow<(), T>;

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

/// The signal `svc -d` and SIGTERM send: `SHUTDOWN_SIGNAL` read as djb's scan_int reads a
/// number (leading digits after an optional sign: `9x` is 9, `abc` is 0), SIGTERM when unset.
/// 0, or a number that is no signal, sends nothing (the reference's kill(pid, 0)).
fn shutdown_signal(value: Option<&std::ffi::OsStr>) -> Option<Signal> {
    let Some(v) = value else {
        return Some(Signal::SIGTERM);
    };
    let n = i32::try_from(indicore::scan::scan_int(v.as_encoded_bytes())).ok()?;
    Signal::try_from(n).ok()
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

/// Signals delivered into the poll loop: SIGCHLD and SIGTERM each write a byte to a
/// self-pipe, SIGTERM also sets a flag. Hand-made rather than signal-hook's registry, whose
/// tables would be most of what a resting supervise holds on its heap.
struct Signals {
    pipe: File,
    _write: OwnedFd,
}

/// The self-pipe's write end and the SIGTERM flag, as the handler sees them.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);
static TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn caught(sig: libc::c_int) {
    if sig == libc::SIGTERM {
        TERM.store(true, Ordering::SeqCst);
    }
    // SAFETY: write(2) is async-signal-safe; errno is put back for the code interrupted.
    unsafe {
        let errno = *libc::__errno_location();
        let _ = libc::write(SIGNAL_PIPE.load(Ordering::SeqCst), [0u8].as_ptr().cast(), 1);
        *libc::__errno_location() = errno;
    }
}

impl Signals {
    fn install() -> io::Result<Signals> {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        SIGNAL_PIPE.store(w.as_raw_fd(), Ordering::SeqCst);
        for sig in [libc::SIGTERM, libc::SIGCHLD] {
            // SAFETY: a zeroed sigaction with an empty mask and a handler that only does
            // async-signal-safe things.
            let rc = unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = caught as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = libc::SA_RESTART;
                libc::sigaction(sig, &sa, std::ptr::null_mut())
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(Signals {
            pipe: File::from(r),
            _write: w,
        })
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.pipe.read(&mut buf), Ok(n) if n > 0) {}
    }

    fn term(&self) -> bool {
        TERM.load(Ordering::Relaxed)
    }
}

/// Control bytes read but not yet handed to the machine: it takes none while it waits for
/// one thing (a dependency, a delay), and the rest of a read waits here until it does.
struct Pending {
    buf: [u8; 64],
    start: usize,
    end: usize,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            buf: [0; 64],
            start: 0,
            end: 0,
        }
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.buf[self.start..self.end].first().copied()?;
        self.start += 1;
        Some(b)
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// The running supervisor: the machine's state and everything its actions touch.
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
    pending: Pending,
    _control_writer: File,
    _ok: File,
    _state_dir: statedir::StateDir,
    /// `supervise/status`, rewritten in place on every change.
    status_file: File,
    /// `supervise/info`, rewritten in place when the pid, readiness or restarts change.
    info_file: Option<File>,
    /// `supervise/$UPFIFO`, opened at every start (made once: nothing allocated then).
    up_path: PathBuf,
    up_fifo: Option<File>,
    dn_fifo: Option<File>,
    /// The read end of the running service's readiness pipe.
    notify: Option<File>,
    /// The service the `wait` file names, while supervise waits for it.
    dependency: Option<PathBuf>,
    variables: Option<launch::Variables>,
    /// run's argv and environment without `variables/`, made once.
    prepared: Option<launch::Prepared>,
    subreaper: bool,
    machine: State,
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
                format_args!("unable to create self-pipe: {}", errstr(&e)),
            )
        });
        let init_path = launch::init_path(&cfg.dir);
        if let Err(e) = std::env::set_current_dir(&cfg.dir) {
            log.fatal(
                EXIT_TEMP,
                format_args!("unable to chdir to {}: {}", cfg.dir, errstr(&e)),
            );
        }
        let want = match std::fs::metadata("down") {
            Ok(_) => Want::Down,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Want::Up,
            Err(e) => log.fatal(
                EXIT_TEMP,
                format_args!("unable to stat {}/down: {}", cfg.dir, errstr(&e)),
            ),
        };
        let service = File::open(".").unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format_args!("unable to open {}: {}", cfg.dir, errstr(&e)),
            )
        });
        let run = std::fs::metadata("run").unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format_args!("unable to stat {}/run: {}", cfg.dir, errstr(&e)),
            )
        });
        let subreaper = run.mode() & libc::S_ISVTX != 0 && launch::become_subreaper();

        // Lock first: nothing of either layout is touched before the locks are held.
        let state_dir = statedir::enter(&statedir::Identity {
            dir: &cfg.dir,
            parent_ident: cfg.parent_ident.as_deref(),
        })
        .unwrap_or_else(|f| log.fatal(f.code, f.msg));
        let files = StateFiles::open(&state_dir.name, want, &log);
        let settings = Settings {
            pid: std::process::id(),
            shutdown_signal: cfg.shutdown_signal,
        };
        let prepared = launch::Prepared::new(&state_dir.name, settings.pid);
        let mut sv = Supervisor {
            log,
            dir: state_dir.name.clone(),
            service,
            state: files.state,
            init_path,
            signals,
            control: files.control,
            pending: Pending::new(),
            _control_writer: files.control_writer,
            _ok: files.ok,
            _state_dir: state_dir,
            status_file: files.status,
            info_file: files.info,
            up_path: Path::new("supervise").join(&cfg.upfifo),
            up_fifo: None,
            dn_fifo: None,
            notify: None,
            dependency: None,
            variables: None,
            prepared,
            subreaper,
            machine: State::new(settings, want, files.when),
            cfg,
        };
        sv.write_info(&sv.machine.info());
        if want == Want::Down {
            sv.open_dn();
        }
        sv
    }

    /// Steps 11–12 and the main loop. Returns when supervise should exit 0.
    pub fn run(mut self) {
        let _ = self.main_loop();
    }

    fn main_loop(&mut self) -> Flow {
        // The machine begins in its init phase: run `init` first.
        if !self.signals.term() {
            if let Some(answer) = self.execute(Action::RunInit)? {
                self.feed(answer)?;
            }
        }
        loop {
            if self.signals.term() {
                self.feed(Event::Term)?;
            }
            self.poll();
            self.signals.drain();
            self.reap()?;
            self.read_control()?;
            self.read_notify()?;
            if let Some(due) = self.machine.phase.deadline() {
                if Instant::now() >= due {
                    self.feed(Event::Timer)?;
                }
            }
        }
    }

    /// One step of the machine, and its actions carried out.
    fn feed(&mut self, event: Event) -> Flow {
        let (next, actions) = self.machine.step(event, Now::read());
        self.machine = next;
        for action in actions.iter() {
            if let Some(answer) = self.execute(action)? {
                self.feed(answer)?;
            }
        }
        Continue(())
    }

    fn execute(&mut self, action: Action) -> Flow<Option<Event>> {
        match action {
            Action::WriteStatus(s) => write_status(&self.status_file, &s, &self.dir, &self.log),
            Action::WriteInfo(i) => self.write_info(&i),
            Action::RunInit => {
                return Continue(Some(Event::Init {
                    ok: self.run_init(),
                }))
            }
            Action::Start(how) => return Continue(Some(self.start(how))),
            Action::AwaitDependency => return Continue(Some(self.await_dependency())),
            Action::Spawn(how) => return Continue(Some(self.spawn(how))),
            Action::Signal { pid, sig, group } => send(Pid::from_raw(pid), sig, group),
            Action::Script(s) => self.script(s),
            Action::OpenUp => {
                self.up_fifo = fd::open_read(&self.up_path).ok();
            }
            Action::CloseUp => self.up_fifo = None,
            Action::OpenDn => self.open_dn(),
            Action::CloseDn => self.dn_fifo = None,
            Action::CloseNotify => self.notify = None,
            Action::Note(n) => self.note(n),
            Action::Exit => return Break(()),
        }
        Continue(None)
    }

    /// Wait for a signal, a control byte, the readiness line or the phase's deadline. In a
    /// phase that is not attentive only SIGTERM (and the deadline) can end the wait.
    fn poll(&self) {
        let attentive = self.machine.phase.attentive();
        let timeout = match self.machine.phase.deadline() {
            _ if attentive && !self.pending.is_empty() => 0,
            Some(at) => {
                at.saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(3_600_000) as i32
                    + 1
            }
            None => 3_600_000,
        };
        let watch = |fd: i32| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut fds = [watch(self.signals.pipe.as_raw_fd()), watch(-1), watch(-1)];
        if attentive {
            fds[1].fd = self.control.as_raw_fd();
            fds[2].fd = self.notify.as_ref().map_or(-1, |f| f.as_raw_fd());
        }
        // SAFETY: three pollfds we own (poll skips negative descriptors).
        unsafe { libc::poll(fds.as_mut_ptr(), 3, timeout) };
    }

    /// Reap every child that changed state, as events.
    fn reap(&mut self) -> Flow {
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
        while self.machine.phase.attentive() {
            let exited = |pid: Pid, end| Event::Exited {
                pid: pid.as_raw(),
                end,
                descendants: self.subreaper && launch::has_children(),
            };
            let event = match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) => return Continue(()),
                Ok(WaitStatus::Stopped(pid, sig)) => Event::Stopped {
                    pid: pid.as_raw(),
                    sig: sig as i32,
                },
                Ok(WaitStatus::Continued(pid)) => Event::Continued { pid: pid.as_raw() },
                Ok(WaitStatus::Exited(pid, code)) => exited(pid, End::Exit(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => exited(pid, End::Signal(sig as i32)),
                Ok(_) | Err(Errno::EINTR) => continue,
                // ECHILD: no child at all.
                Err(_) => return self.feed(Event::NoChildren),
            };
            self.feed(event)?;
        }
        Continue(())
    }

    /// Hand the control bytes to the machine, as long as it takes them.
    fn read_control(&mut self) -> Flow {
        loop {
            while self.machine.phase.attentive() {
                let Some(b) = self.pending.next() else { break };
                self.feed(Event::Control(b))?;
            }
            if !self.machine.phase.attentive() || !self.pending.is_empty() {
                return Continue(());
            }
            match self.control.read(&mut self.pending.buf) {
                Ok(0) => return Continue(()),
                Ok(n) => (self.pending.start, self.pending.end) = (0, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Continue(()),
            }
        }
    }

    /// The readiness pipe: a newline makes the service ready; end of file without one
    /// leaves it up but not ready.
    fn read_notify(&mut self) -> Flow {
        if !self.machine.phase.attentive() {
            return Continue(());
        }
        let Some(pipe) = self.notify.as_mut() else {
            return Continue(());
        };
        let mut buf = [0u8; 64];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => {
                    self.notify = None;
                    return Continue(());
                }
                Ok(n) if buf[..n].contains(&b'\n') => return self.feed(Event::Ready),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Continue(()),
            }
        }
    }

    fn open_dn(&mut self) {
        if self.dn_fifo.is_none() {
            self.dn_fifo = fd::open_read(Path::new("supervise/dn")).ok();
        }
    }

    fn write_info(&self, info: &Info) {
        let Some(file) = &self.info_file else { return };
        if let Err(e) = std::os::unix::fs::FileExt::write_all_at(file, &info.encode(), 0) {
            self.log.warn(format_args!(
                "unable to write {}/supervise/info: {}",
                self.dir,
                errstr(&e)
            ));
        }
    }

    fn script(&mut self, script: Script) {
        // The arguments are made in the forked child: nothing allocated here.
        match script {
            Script::Shutdown { pid, wait } => {
                if self.script_exists("shutdown") {
                    self.run_script("./shutdown", wait, || vec![pid.to_string()]);
                }
            }
            Script::Alert { pid, end } => {
                if self.script_exists("alert") {
                    let (code, kind) = end.code_kind();
                    self.run_script("./alert", true, || {
                        vec![pid.to_string(), code.to_string(), kind.to_string()]
                    });
                }
            }
        }
    }

    fn note(&self, note: Note) {
        let log = &self.log;
        match note {
            Note::Died {
                pid,
                end: End::Exit(code),
            } => log.warn(format_args!("pid {pid} exited with status={code}")),
            Note::Died {
                pid,
                end: End::Signal(sig),
            } => log.warn(format_args!("pid {pid} got signal {sig}")),
            Note::Died { .. } => {}
            Note::DoubleFork { pid } => log.warn(format_args!("pid {pid} did double fork")),
            Note::OrphanDied { pid, ppid } => {
                log.warn(format_args!("pid {pid} double fork by ppid {ppid} died"))
            }
            Note::Stopped { pid, sig } => {
                log.info(format_args!("pid {pid} stopped by signal {sig}"))
            }
            Note::Continued { pid } => log.info(format_args!(
                "pid {pid} continued by signal {}",
                libc::SIGCONT
            )),
            Note::InitFailed => log.warn(format_args!(
                "initialization failed for {}, sleeping 60 seconds: ",
                self.cfg.dir
            )),
            Note::ForkFailed { errno } => log.warn(format_args!(
                "unable to fork, sleeping 60 seconds: {}",
                indicore::diag::errno_str(errno)
            )),
            Note::Started { pid } => {
                let child = Pid::from_raw(pid);
                let pgid = nix::unistd::getpgid(Some(child)).map_or(0, |g| g.as_raw());
                let mode = if self.subreaper { "" } else { "non-" };
                log.info(format_args!(
                    "pid {} started child pid {pid} pgid {pgid} in {mode}subreaper mode",
                    self.machine.settings.pid
                ));
            }
            Note::DependencyUp { secs } => {
                let target = self.dependency.as_deref().unwrap_or(Path::new(""));
                log.info(format_args!(
                    "service for {} up after ~{secs} seconds",
                    target.display()
                ))
            }
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

/// Send `sig` to `pid`, or to its process group, falling back to `pid` when there is no
/// such group.
fn send(pid: Pid, sig: Signal, group: bool) {
    if group && killpg(pid, sig) != Err(Errno::ESRCH) {
        return;
    }
    let _ = kill(pid, sig);
}

/// The files of `supervise/`, made and opened in the reference's order.
struct StateFiles {
    state: File,
    control: File,
    control_writer: File,
    ok: File,
    status: File,
    info: Option<File>,
    when: indicore::tai::Label,
}

impl StateFiles {
    fn open(dir: &str, want: Want, log: &Log) -> StateFiles {
        let fatal = |what: &str, name: &str, e: io::Error| -> ! {
            log.fatal(
                EXIT_TEMP,
                format_args!("unable to {what} {dir}/supervise/{name}: {}", errstr(&e)),
            )
        };
        let control_path = Path::new("supervise/control");
        make_fifo(control_path, dir, log);
        let control = fd::open_read(control_path).unwrap_or_else(|e| fatal("read", "control", e));
        let control_writer =
            fd::open_write(control_path).unwrap_or_else(|e| fatal("write", "control", e));
        let state = File::open(".").unwrap_or_else(|e| {
            log.fatal(
                EXIT_TEMP,
                format_args!("unable to open {dir}: {}", errstr(&e)),
            )
        });
        let when = indicore::tai::Label::now();
        let initial = Status {
            when,
            pid: std::process::id(),
            paused: false,
            want,
            wait: 0,
            up: false,
            layout: Layout::IndiMail,
        };
        let status = fd::open_trunc(Path::new("supervise/status"))
            .unwrap_or_else(|e| fatal("open", "status", e));
        write_status(&status, &initial, dir, log);
        let info = match fd::open_trunc(Path::new("supervise/info")) {
            Ok(f) => Some(f),
            Err(e) => {
                log.warn(format_args!(
                    "unable to open {dir}/supervise/info: {}",
                    errstr(&e)
                ));
                None
            }
        };
        for name in ["ok", "up", "dn"] {
            make_fifo(&Path::new("supervise").join(name), dir, log);
        }
        let ok =
            fd::open_read(Path::new("supervise/ok")).unwrap_or_else(|e| fatal("read", "ok", e));
        StateFiles {
            state,
            control,
            control_writer,
            ok,
            status,
            info,
            when,
        }
    }
}

/// Publish a status record in place, with one pwrite of all 21 bytes at offset 0, as the
/// reference does: readers open the file afresh and see either record whole (a rename
/// instead would cost a data flush on ext4 at every state change, over a millisecond).
fn write_status(file: &File, status: &Status, dir: &str, log: &Log) {
    if let Err(e) = std::os::unix::fs::FileExt::write_all_at(file, &status.encode(), 0) {
        log.warn(format_args!(
            "unable to write {dir}/supervise/status: {}",
            errstr(&e)
        ));
    }
}

fn make_fifo(path: &Path, dir: &str, log: &Log) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()) => {}
        Ok(_) => log.fatal(
            EXIT_TEMP,
            format_args!("{dir}/{} is not a named pipe", path.display()),
        ),
        Err(_) => {
            if let Err(e) = fd::fifo_make(path, 0o600) {
                if e.kind() != io::ErrorKind::AlreadyExists {
                    log.fatal(
                        EXIT_TEMP,
                        format_args!("unable to mkfifo {dir}/{}: {}", path.display(), errstr(&e)),
                    );
                }
            }
        }
    }
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
