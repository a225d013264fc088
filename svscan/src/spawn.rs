//! Starting svscan's children: the main `supervise NAME`, the log `supervise log NAME`, and
//! `/bin/sh -c` for INITCMD and `.svscan/shutdown`.
//!
//! `supervise` is looked up in PATH as pathexec does, `argv[0]` stays `supervise`, the
//! environment is svscan's exports plus `MAIN_SV` or `SV_PWD` plus `.svars` (loaded here with
//! the shared envdir engine), and the child gets default signal actions and an empty mask.
//! A start that fails before the fork (envdir error, no supervise in PATH) comes back as a
//! message; svscan prints it and tries again a second later. An exec that fails is reported
//! by the child with the same message, and exits 111: a dead supervise, retried a second
//! later.
//!
//! The supervisors are forked, not started with posix_spawn: posix_spawn's vfork stops
//! svscan until each child has been scheduled and has exec'd, so on a busy machine a
//! thousand starts were a thousand waits in a row behind every runnable process (twice as
//! slow as djb's svscan). svscan is small, so a fork copies little; everything the child
//! needs is prepared before it, and the child only makes system calls before execve.

use crate::signals::Signals;
use indicore::envdir::Loader;
use indicore::errstr;
use indicore::exec::Env;
pub use indicore::exec::{executable, which};
use indicore::sys::io::inherited;
use indicore::sys::process;
use indicore::sys::signal::{self, Mask, Signal};
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What the children inherit from svscan.
pub struct Spawner {
    /// svscan's environment with its exports (PPID, SCANDIR, PWD, VERBOSE, SILENT).
    pub env: Env,
    /// The signals svscan catches, reset to their defaults in children.
    pub caught: Vec<Signal>,
}

impl Spawner {
    /// `supervise NAME` with stdout on `log_w` when the service has a log; `silent`: an
    /// exec failure is not reported.
    pub fn main(
        &self,
        signals: &Signals,
        silent: bool,
        name: &OsStr,
        log_w: Option<RawFd>,
    ) -> Result<i32, String> {
        let what = format!("supervise {}", show(name));
        let fail = |e: &dyn std::fmt::Display| format!("unable to start {what}: {e}");
        let mut env = self.env.clone();
        env.set("MAIN_SV", name);
        load_svars(&Path::new(name).join(".svars"), &mut env).map_err(|e| fail(&e))?;
        let argv = [OsString::from("supervise"), name.to_owned()];
        let mut start = self.prepare(&argv, &env).map_err(|e| fail(&errstr(&e)))?;
        if let Some(w) = log_w {
            start.moves.push((w, 1));
        }
        let failure = (!silent).then_some(what.as_str());
        start
            .fork(signals, &self.caught, failure)
            .map_err(|e| fail(&errstr(&e)))
    }

    /// `supervise log NAME` in `NAME`, reading the pipe on stdin.
    pub fn log(
        &self,
        signals: &Signals,
        silent: bool,
        name: &OsStr,
        log_r: RawFd,
    ) -> Result<i32, String> {
        let fail = |e: &dyn std::fmt::Display| {
            format!("unable to start supervise {}/log: {e}", show(name))
        };
        let dir = File::open(name)
            .map_err(|e| format!("unable to switch to {}: {}", show(name), errstr(&e)))?;
        let mut env = self.env.clone();
        env.set("SV_PWD", name);
        // docs/decisions.md#d5: log/.svars (the reference looks for `log./svars`), loaded from
        // inside NAME as `envdir log/.svars` run there would.
        if executable(&Path::new(name).join("log/.svars")) {
            let back = File::open(".").map_err(|e| fail(&errstr(&e)))?;
            process::fchdir(&dir).map_err(|e| fail(&errstr(&e.into())))?;
            let loaded = load_svars(Path::new("log/.svars"), &mut env);
            if let Err(e) = process::fchdir(&back) {
                return Err(format!("unable to switch back: {}", errstr(&e.into())));
            }
            loaded.map_err(|e| fail(&e))?;
        }
        let argv = [
            OsString::from("supervise"),
            OsString::from("log"),
            name.to_owned(),
        ];
        let mut start = self.prepare(&argv, &env).map_err(|e| fail(&errstr(&e)))?;
        start.dir = Some(dir.as_raw_fd());
        start.moves.push((log_r, 0));
        let what = format!("supervise {}/log", show(name));
        let failure = (!silent).then_some(what.as_str());
        start
            .fork(signals, &self.caught, failure)
            .map_err(|e| fail(&errstr(&e)))
    }

    /// A start of `argv[0]`, found in PATH.
    fn prepare(&self, argv: &[OsString], env: &Env) -> io::Result<Start> {
        let program = which(&argv[0], self.env.get("PATH"))?;
        let c = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| io::Error::from(indicore::sys::Errno::INVAL))
        };
        Ok(Start {
            program: c(program.as_os_str())?,
            argv: argv.iter().map(|a| c(a)).collect::<io::Result<_>>()?,
            envp: env.to_envp(),
            dir: None,
            moves: Vec::new(),
        })
    }

    /// `/bin/sh -c path`, with SIGTERM blocked in the child when `block_term`.
    pub fn shell(&self, signals: &Signals, path: &OsStr, block_term: bool) -> io::Result<i32> {
        let block = block_term.then_some(Signal::TERM);
        let argv = [
            OsString::from("/bin/sh"),
            OsString::from("-c"),
            path.to_owned(),
        ];
        // svscan is single-threaded, so the child may allocate before it execs.
        fork(signals, || {
            signals.reset_in_child(block);
            let err = indicore::exec::run(&argv, &self.env, None);
            die(format!(
                "svscan: warning: unable to run {}: {}",
                show(path),
                errstr(&err)
            ))
        })
    }
}

/// fork(2) with every signal blocked around it, so that no handler runs in the child
/// before `child` (which execs or exits) resets them; the child's pid.
fn fork(signals: &Signals, child: impl FnOnce()) -> io::Result<i32> {
    let old = signals.block_all();
    // SAFETY: svscan is single-threaded; the child only runs `child`, then exits.
    let forked = unsafe { process::fork() };
    if let Ok(None) = forked {
        child();
        process::exit_now(indicore::EXIT_TEMP)
    }
    signals.restore(&old);
    forked.map(|pid| pid.map_or(0, process::Pid::as_raw_pid))
}

/// A supervisor's start, prepared in full before the fork.
struct Start {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    /// The directory to run in.
    dir: Option<RawFd>,
    /// `dup2(from, to)`, in order.
    moves: Vec<(RawFd, RawFd)>,
}

impl Start {
    /// Fork and exec; in the child, an exec failure prints `svscan: warning: unable to
    /// start WHAT: reason` (unless `failure` is `None`) and exits 111.
    fn fork(&self, signals: &Signals, caught: &[Signal], failure: Option<&str>) -> io::Result<i32> {
        let null = std::ptr::null::<std::ffi::c_char>();
        let argp: Vec<_> = self.argv.iter().map(|a| a.as_ptr()).chain([null]).collect();
        let envpp: Vec<_> = self.envp.iter().map(|e| e.as_ptr()).chain([null]).collect();
        // The child makes only system calls on memory prepared above until execve, and
        // formats its message only when that failed.
        fork(signals, || {
            // sigaction, sigprocmask, fchdir, dup2, fcntl and execve only, on descriptors
            // and C strings that live until execve.
            for &sig in caught {
                let _ = signal::default(sig);
            }
            Mask::empty().set();
            let err = self
                .enter()
                .map(|()| process::execve(&self.program, &argp, &envpp))
                .unwrap_or_else(|e| e);
            match failure {
                Some(what) => die(format!(
                    "svscan: warning: unable to start {what}: {}",
                    errstr(&err)
                )),
                None => process::exit_now(indicore::EXIT_TEMP),
            }
        })
    }

    /// The directory and descriptors, in the (forked) child.
    fn enter(&self) -> io::Result<()> {
        if let Some(dir) = self.dir {
            process::fchdir(inherited(dir))?;
        }
        for &(from, to) in &self.moves {
            // dup2 onto itself clears close-on-exec instead.
            indicore::sys::io::dup2(inherited(from), to)?;
        }
        Ok(())
    }
}

/// Load `dir` into `env` when it is a searchable directory (X_OK), as
/// `envdir dir supervise ...` would.
fn load_svars(dir: &Path, env: &mut Env) -> Result<(), indicore::envdir::EnvdirError> {
    if !executable(dir) {
        return Ok(());
    }
    let mut loader = Loader::new(false);
    loader.load(dir)?;
    loader.apply_to(env);
    Ok(())
}

/// In the child: print one line on stderr and _exit(111).
fn die(line: String) -> ! {
    let text = format!("{line}\n");
    // One write, then _exit: no destructors or atexit handlers run in the child.
    let _ = indicore::sys::io::write(inherited(2), text.as_bytes());
    process::exit_now(indicore::EXIT_TEMP)
}

pub fn show(name: &OsStr) -> std::borrow::Cow<'_, str> {
    name.to_string_lossy()
}
