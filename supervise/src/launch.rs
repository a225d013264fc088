//! The actions that start processes: `init`, the `wait` dependency, `run` itself (with its
//! environment, process group and readiness pipe) and the service's scripts. Each answers
//! the state machine with the event it asked for.

use super::{Supervisor, EXIT_TEMP};
use crate::machine::{Event, How};
use crate::status::{Status, Want};
use indicore::envdir::Loader;
use indicore::exec::Env;
use indicore::spawn::{spawn_prepared, InheritedEnv, Setup};
use indicore::sys::process::{self, Pid, WaitOptions};
use indicore::{errstr, fd};
use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How `run` gets its environment (decided on the first start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variables {
    None,
    /// `variables/` with o+x: loaded over the inherited environment.
    Keep,
    /// `variables/` without o+x: loaded into an empty environment.
    Clear,
}

/// What every start of `run` without `variables/` passes, made once at start-up so that
/// a start allocates nothing in supervise (README, "Memory at rest").
pub(super) struct Prepared {
    dir: CString,
    env: InheritedEnv,
}

impl Prepared {
    /// None when `dir` holds a NUL (then every start takes the forked path).
    pub(super) fn new(dir: &str, supervise_pid: u32) -> Option<Prepared> {
        Some(Prepared {
            dir: CString::new(dir).ok()?,
            env: InheritedEnv::with(b"PPID", supervise_pid.to_string().as_bytes())?,
        })
    }
}

/// The write end of a readiness pipe and the descriptor `run` gets it on.
struct Notify {
    write: OwnedFd,
    fd: i32,
}

impl Supervisor {
    /// `init` (startup step 11), once: true when it succeeded or there is none.
    pub(super) fn run_init(&mut self) -> bool {
        let Ok(path) = CString::new(self.init_path.as_os_str().as_encoded_bytes()) else {
            return true;
        };
        if !indicore::sys::fs::executable(path.as_c_str()) {
            return true;
        }
        // SAFETY: single-threaded; the child only prepares and execs.
        match unsafe { process::fork() } {
            Ok(None) => {
                let argv = [self.init_path.clone().into_os_string()];
                let err = indicore::exec::run(&argv, &child_env(self.machine.settings.pid), None);
                self.log.fatal(
                    EXIT_TEMP,
                    format_args!(
                        "unable to run {}: {}",
                        self.init_path.display(),
                        errstr(&err)
                    ),
                );
            }
            Ok(Some(child)) => matches!(
                process::wait(Some(child), WaitOptions::empty()),
                Ok(Some((_, st))) if st.exit_status() == Some(0)
            ),
            Err(_) => false,
        }
    }

    /// Start `run`, unless the `wait` file names a service to wait for first.
    pub(super) fn start(&mut self, how: How) -> Event {
        if let Some((delay, target)) = self.dependency_named() {
            self.dependency = Some(target);
            return Event::Dependency { delay };
        }
        self.spawn(how)
    }

    /// The `wait` file: the delay and the service to wait for, when that service exists.
    /// Relative names are siblings, looked up in the real tree.
    fn dependency_named(&self) -> Option<(i16, PathBuf)> {
        let (delay, target) = self
            .in_service(|| std::fs::read("wait").ok())
            .as_deref()
            .and_then(parse_wait)?;
        let target = if target.is_absolute() {
            target
        } else {
            Path::new("..").join(target)
        };
        self.in_service(|| target.exists())
            .then_some((delay, target))
    }

    /// Wait until the dependency's supervise holds its up FIFO open and its status says it
    /// runs, not paused, not wanted down.
    pub(super) fn await_dependency(&mut self) -> Event {
        let Some(target) = self.dependency.clone() else {
            return Event::DependencyUp;
        };
        let upfifo = target.join("supervise").join(&self.cfg.upfifo);
        loop {
            if self.signals.term() {
                return Event::Term;
            }
            match fd::open_write(&upfifo) {
                Ok(_) => break,
                Err(e) if indicore::sys::errno(&e) == Some(indicore::sys::Errno::NOENT) => {
                    self.log.warn(format_args!(
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
                return Event::Term;
            }
            let up = crate::status::read(&status)
                .ok()
                .and_then(|b| Status::decode(&b))
                .is_some_and(|s| s.pid != 0 && !s.paused && s.want != Want::Down);
            if up {
                return Event::DependencyUp;
            }
            self.sleep(Duration::from_secs(1));
        }
    }

    /// `./run dir how`: spawned without copying this process when that can be done
    /// cleanly, else forked.
    pub(super) fn spawn(&mut self, how: How) -> Event {
        if self.signals.term() {
            return Event::Term;
        }
        let variables = *self
            .variables
            .get_or_insert_with(|| variables_mode(&self.log));
        if !self.subreaper {
            match self.in_service(|| std::fs::metadata("run")) {
                Ok(m) if m.mode() & super::STICKY != 0 => self.subreaper = become_subreaper(),
                Ok(_) => {}
                Err(e) => self.log.fatal(
                    EXIT_TEMP,
                    format_args!("unable to stat {}/run: {}", self.cfg.dir, errstr(&e)),
                ),
            }
        }
        let (pipe, notify) = match self.readiness_pipe() {
            Some((read, notify)) => (Some(read), Some(notify)),
            None => (None, None),
        };
        let setpgid = self.cfg.setpgid || self.subreaper;
        // The fast path, without variables/: argv and environment made at start-up, the
        // child spawned without copying this process. Variables (read afresh at each start)
        // and any failure take the forked path below, whose child builds its environment
        // (allocating in its own copy of the heap, never in supervise's) and reports a
        // failure, exiting 111 exactly as the reference's child does.
        let spawned = match variables {
            Variables::None => self.spawn_run(how, setpgid, notify.as_ref()),
            _ => None,
        };
        let pid = match spawned {
            Some(pid) => pid,
            // SAFETY: single-threaded; the child only prepares and execs.
            None => match unsafe { process::fork() } {
                Err(e) => {
                    return Event::ForkFailed {
                        errno: e.raw_os_error().unwrap_or(0),
                    }
                }
                Ok(None) => {
                    let argv = [
                        OsString::from("./run"),
                        OsString::from(&self.dir),
                        OsString::from(how.as_str()),
                    ];
                    self.exec_run(&argv, variables, setpgid, notify.as_ref())
                }
                Ok(Some(child)) => child,
            },
        };
        // The write end closes here: only the service holds it.
        drop(notify);
        self.notify = pipe;
        Event::Spawned {
            pid: pid.as_raw_pid(),
            notify: self.notify.is_some(),
        }
    }

    /// With a `notification-fd` file: a pipe whose write end `run` gets on that descriptor.
    fn readiness_pipe(&self) -> Option<(File, Notify)> {
        let bytes = match self.in_service(|| std::fs::read("notification-fd")) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.log.warn(format_args!(
                    "unable to read {}/notification-fd: {}",
                    self.cfg.dir,
                    errstr(&e)
                ));
                return None;
            }
        };
        let Some(n) = notification_fd(&bytes) else {
            self.log.warn(format_args!(
                "{}/notification-fd: not a descriptor above 2: ignored",
                self.cfg.dir
            ));
            return None;
        };
        let made = indicore::sys::io::pipe().and_then(|(r, w)| {
            indicore::sys::io::set_nonblocking(&r, true)?;
            // dup2 onto itself would leave close-on-exec set: move the write end first.
            let w = if w.as_raw_fd() == n {
                indicore::sys::io::dup_above(&w, n + 1)?
            } else {
                w
            };
            Ok((File::from(r), Notify { write: w, fd: n }))
        });
        match made {
            Ok(p) => Some(p),
            Err(e) => {
                self.log.warn(format_args!(
                    "unable to make the readiness pipe: {}",
                    errstr(&e)
                ));
                None
            }
        }
    }

    /// `./run dir how` through posix_spawn with the prepared argv and environment, or None
    /// when that cannot be done cleanly.
    fn spawn_run(&self, how: How, setpgid: bool, notify: Option<&Notify>) -> Option<Pid> {
        let prepared = self.prepared.as_ref()?;
        let argv = [
            c"./run".as_ptr() as *mut std::ffi::c_char,
            prepared.dir.as_ptr() as *mut _,
            how.as_c_str().as_ptr() as *mut _,
            std::ptr::null_mut(),
        ];
        let dup2 = notify.map(|n| [(n.write.as_raw_fd(), n.fd)]);
        let setup = Setup {
            fchdir: Some(self.service.as_raw_fd()),
            setpgid,
            dup2: dup2.as_ref().map_or(&[], |d| d.as_slice()),
            default_signals: &[],
        };
        spawn_prepared(c"./run", &argv, prepared.env.envp(), &setup)
            .ok()
            .and_then(process::pid)
    }

    /// The environment `run` gets: supervise's (with PPID), or an empty one, plus
    /// `variables/`.
    fn run_env(&self, variables: Variables) -> Result<Env, indicore::envdir::EnvdirError> {
        let mut env = if variables == Variables::Clear {
            Env::empty()
        } else {
            child_env(self.machine.settings.pid)
        };
        if variables != Variables::None {
            let mut loader = Loader::new(false);
            self.in_service(|| loader.load(Path::new("./variables")))?;
            loader.apply_to(&mut env);
        }
        Ok(env)
    }

    /// In the forked child: load `variables/`, then exec `./run dir how`.
    fn exec_run(
        &self,
        argv: &[OsString],
        variables: Variables,
        setpgid: bool,
        notify: Option<&Notify>,
    ) -> ! {
        if setpgid {
            let _ = process::own_group();
        }
        let env = self
            .run_env(variables)
            .unwrap_or_else(|e| self.log.fatal(EXIT_TEMP, e));
        let _ = process::fchdir(&self.service);
        if let Some(n) = notify {
            if let Err(e) = indicore::sys::io::dup2(&n.write, n.fd) {
                self.log.fatal(
                    EXIT_TEMP,
                    format_args!("unable to set up notification-fd: {}", errstr(&e)),
                );
            }
        }
        let err = indicore::exec::run(argv, &env, None);
        self.log.fatal(
            EXIT_TEMP,
            format_args!("unable to start ./run: {}", errstr(&err)),
        )
    }

    pub(super) fn script_exists(&self, name: &str) -> bool {
        self.in_service(|| std::fs::symlink_metadata(name).is_ok())
    }

    /// Run `f` with the real service directory as the cwd, then come back.
    fn in_service<T>(&self, f: impl FnOnce() -> T) -> T {
        let _ = process::fchdir(&self.service);
        let r = f();
        let _ = process::fchdir(&self.state);
        r
    }

    /// Fork `script dir args...` in the service directory, and wait for it if asked. `args`
    /// runs in the child.
    pub(super) fn run_script(
        &mut self,
        script: &str,
        wait: bool,
        args: impl FnOnce() -> Vec<String>,
    ) {
        // SAFETY: single-threaded; the child only prepares and execs.
        match unsafe { process::fork() } {
            Ok(None) => {
                let _ = process::fchdir(&self.service);
                let argv: Vec<OsString> = [script.into(), self.dir.clone().into()]
                    .into_iter()
                    .chain(args().into_iter().map(OsString::from))
                    .collect();
                let env = child_env(self.machine.settings.pid);
                let err = indicore::exec::run(&argv, &env, None);
                self.log.fatal(
                    EXIT_TEMP,
                    format_args!("unable to run {script}: {}", errstr(&err)),
                );
            }
            Ok(Some(child)) if wait => {
                let _ = process::wait(Some(child), WaitOptions::empty());
            }
            Ok(_) => {}
            Err(e) => self
                .log
                .warn(format_args!("unable to fork {script}: {}", errstr(&e))),
        }
    }
}

/// `$SCANDIR/<dir>/init`, else `cwd/<dir>/init`.
pub(super) fn init_path(dir: &str) -> PathBuf {
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
/// else means no variables (README, "variables").
fn variables_mode(log: &super::Log) -> Variables {
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

/// A `notification-fd` file: a descriptor number, blanks around it allowed; 0, 1 and 2
/// are refused (run's standard descriptors).
fn notification_fd(bytes: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(bytes).ok()?.trim_ascii();
    let n: i32 = text.parse().ok()?;
    (n > 2).then_some(n)
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

pub(super) fn become_subreaper() -> bool {
    process::become_subreaper().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_file() {
        assert_eq!(parse_wait(b"3\nA\n"), Some((3, PathBuf::from("A"))));
        assert_eq!(parse_wait(b"99999\n/x"), Some((60, PathBuf::from("/x"))));
        assert_eq!(parse_wait(b"abc\nA"), Some((0, PathBuf::from("A"))));
        assert_eq!(parse_wait(b"3\n\n"), None);
        assert_eq!(parse_wait(b"3"), None);
    }

    #[test]
    fn notification_fd_file() {
        assert_eq!(notification_fd(b"3\n"), Some(3));
        assert_eq!(notification_fd(b" 10 "), Some(10));
        assert_eq!(notification_fd(b"2\n"), None);
        assert_eq!(notification_fd(b"x"), None);
        assert_eq!(notification_fd(b"-4"), None);
        assert_eq!(notification_fd(b""), None);
    }
}
