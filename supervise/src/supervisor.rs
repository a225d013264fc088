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
use indicore::sys::poll::{self, PollFlags};
use indicore::sys::process::{self, Pid, WaitOptions};
use indicore::sys::signal::{self, Signal};
use indicore::sys::{errno, Errno};
use indicore::{errstr, fd, EXIT_TEMP};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow::{self, Break, Continue};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
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
        return Some(Signal::TERM);
    };
    let n = i32::try_from(indicore::scan::scan_int(v.as_encoded_bytes())).ok()?;
    Signal::from_named_raw(n)
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

/// Signals delivered into the poll loop: SIGCHLD and SIGTERM each mark themselves and
/// write a byte to the static self-pipe of `indicore::sys::signal`, whose handler and pipe
/// allocate nothing (signal-hook's registry tables would be most of what a resting
/// supervise holds on its heap). SIGTERM stays marked: supervise is on its way out.
struct Signals {
    pipe: BorrowedFd<'static>,
}

impl Signals {
    fn install() -> io::Result<Signals> {
        signal::catch(&[Signal::TERM, Signal::CHILD])?;
        let pipe = signal::fd().ok_or_else(|| io::Error::from(Errno::BADF))?;
        Ok(Signals { pipe })
    }

    fn drain(&mut self) {
        signal::drain();
    }

    fn term(&self) -> bool {
        signal::pending(Signal::TERM)
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
        let subreaper = run.mode() & STICKY != 0 && launch::become_subreaper();

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
            Action::Signal { pid, sig, group } => {
                if let Some(pid) = process::pid(pid) {
                    send(pid, sig, group)
                }
            }
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
        let hour = Duration::from_secs(3600);
        let timeout = match self.machine.phase.deadline() {
            _ if attentive && !self.pending.is_empty() => Duration::ZERO,
            Some(at) => at.saturating_duration_since(Instant::now()).min(hour) + MS,
            None => hour,
        };
        let pipe = || poll::watch(self.signals.pipe, PollFlags::IN);
        // Unused places hold the pipe again but are not polled: no allocation.
        let mut fds = [pipe(), pipe(), pipe()];
        let mut n = 1;
        if attentive {
            fds[n] = poll::watch(self.control.as_fd(), PollFlags::IN);
            n += 1;
            if let Some(f) = &self.notify {
                fds[n] = poll::watch(f.as_fd(), PollFlags::IN);
                n += 1;
            }
        }
        let _ = poll::poll_for(&mut fds[..n], Some(timeout));
    }

    /// Reap every child that changed state, as events.
    fn reap(&mut self) -> Flow {
        let flags = WaitOptions::NOHANG | WaitOptions::UNTRACED | WaitOptions::CONTINUED;
        while self.machine.phase.attentive() {
            let exited = |pid: Pid, end| Event::Exited {
                pid: pid.as_raw_pid(),
                end,
                descendants: self.subreaper && process::has_children(),
            };
            let event = match process::wait(None, flags) {
                Ok(None) => return Continue(()),
                Ok(Some((pid, st))) => {
                    if let Some(sig) = st.stopping_signal() {
                        Event::Stopped {
                            pid: pid.as_raw_pid(),
                            sig,
                        }
                    } else if st.continued() {
                        Event::Continued {
                            pid: pid.as_raw_pid(),
                        }
                    } else if let Some(code) = st.exit_status() {
                        exited(pid, End::Exit(code))
                    } else if let Some(sig) = st.terminating_signal() {
                        exited(pid, End::Signal(sig))
                    } else {
                        continue;
                    }
                }
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
                Signal::CONT.as_raw()
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
                let pgid = process::pid(pid)
                    .and_then(|child| process::getpgid(child).ok())
                    .unwrap_or(0);
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
            let mut fds = [poll::watch(self.signals.pipe, PollFlags::IN)];
            let _ = poll::poll_for(&mut fds, Some(left + MS));
            self.signals.drain();
        }
    }
}

/// Send `sig` to `pid`, or to its process group, falling back to `pid` when there is no
/// such group.
fn send(pid: Pid, sig: Signal, group: bool) {
    if group && process::kill_group(pid, sig).map_err(|e| errno(&e)) != Err(Some(Errno::SRCH)) {
        return;
    }
    let _ = process::kill(pid, sig);
}

/// The sticky bit of `run`'s mode, which makes supervise a subreaper.
const STICKY: u32 = 0o1000;

/// A millisecond: added to a wait so that it ends after its deadline, never before.
const MS: Duration = Duration::from_millis(1);

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
        assert_eq!(shutdown_signal(None), Some(Signal::TERM));
        assert_eq!(sig("9x"), Some(Signal::KILL));
        assert_eq!(sig("1"), Some(Signal::HUP));
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
