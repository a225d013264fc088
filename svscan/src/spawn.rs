//! Starting svscan's children: the main `supervise NAME`, the log `supervise log NAME`, and
//! `/bin/sh -c` for INITCMD and `.svscan/shutdown`.
//!
//! The supervisors are started with posix_spawn (core's [`Spawn`]): the cost does not grow
//! with svscan's size and no page of svscan is copied, which matters when a thousand start
//! at once. `supervise` is looked up in PATH as pathexec does, `argv[0]` stays `supervise`,
//! the environment is svscan's exports plus `MAIN_SV` or `SV_PWD` plus `.svars` (loaded here
//! with the shared envdir engine), and the child gets default signal actions and an empty
//! mask. A start that fails (envdir error, no supervise in PATH, exec error) comes back as a
//! message; svscan prints it and tries again a second later.
//!
//! The two shell commands are rare and need SIGTERM blocked in the child, so they are
//! forked.

use crate::signals::Signals;
use indicore::envdir::Loader;
use indicore::errstr;
use indicore::exec::Env;
pub use indicore::exec::{executable, which};
use indicore::spawn::Spawn;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

/// What the children inherit from svscan.
pub struct Spawner {
    /// svscan's environment with its exports (PPID, SCANDIR, PWD, VERBOSE, SILENT).
    pub env: Env,
    /// The signals svscan catches, reset to their defaults in children.
    pub caught: Vec<libc::c_int>,
}

impl Spawner {
    /// `supervise NAME` with stdout on `log_w` when the service has a log.
    pub fn main(&self, name: &OsStr, log_w: Option<RawFd>) -> Result<i32, String> {
        let fail =
            |e: &dyn std::fmt::Display| format!("unable to start supervise {}: {e}", show(name));
        let mut env = self.env.clone();
        env.set("MAIN_SV", name);
        load_svars(&Path::new(name).join(".svars"), &mut env).map_err(|e| fail(&e))?;
        let argv = [OsString::from("supervise"), name.to_owned()];
        let mut spawn = self.prepare(&argv, &env).map_err(|e| fail(&errstr(&e)))?;
        if let Some(w) = log_w {
            spawn = spawn.dup2(w, 1);
        }
        spawn.spawn().map_err(|e| fail(&errstr(&e)))
    }

    /// `supervise log NAME` in `NAME`, reading the pipe on stdin.
    pub fn log(&self, name: &OsStr, log_r: RawFd) -> Result<i32, String> {
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
            nix::unistd::fchdir(&dir).map_err(|e| fail(&errstr(&e.into())))?;
            let loaded = load_svars(Path::new("log/.svars"), &mut env);
            if let Err(e) = nix::unistd::fchdir(&back) {
                return Err(format!("unable to switch back: {}", errstr(&e.into())));
            }
            loaded.map_err(|e| fail(&e))?;
        }
        let argv = [
            OsString::from("supervise"),
            OsString::from("log"),
            name.to_owned(),
        ];
        self.prepare(&argv, &env)
            .map_err(|e| fail(&errstr(&e)))?
            .fchdir(dir.as_raw_fd())
            .dup2(log_r, 0)
            .spawn()
            .map_err(|e| fail(&errstr(&e)))
    }

    /// A spawn of `argv[0]`, found in PATH.
    fn prepare(&self, argv: &[OsString], env: &Env) -> io::Result<Spawn> {
        let program = which(&argv[0], self.env.get("PATH"))?;
        Ok(Spawn::with_program(&program, argv, env)?.default_signals(&self.caught))
    }

    /// `/bin/sh -c path`, with SIGTERM blocked in the child when `block_term`.
    pub fn shell(&self, signals: &Signals, path: &OsStr, block_term: bool) -> io::Result<i32> {
        let block = block_term.then_some(libc::SIGTERM);
        let argv = [
            OsString::from("/bin/sh"),
            OsString::from("-c"),
            path.to_owned(),
        ];
        let old = signals.block_all();
        // SAFETY: svscan is single-threaded, so the child may allocate before it execs.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            signals.reset_in_child(block);
            let err = indicore::exec::run(&argv, &self.env, None);
            die(format!(
                "svscan: warning: unable to run {}: {}",
                show(path),
                errstr(&err)
            ));
        }
        let err = io::Error::last_os_error();
        signals.restore(&old);
        if pid < 0 {
            Err(err)
        } else {
            Ok(pid)
        }
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
    // SAFETY: write(2) then _exit(2); no destructors or atexit handlers run in the child.
    unsafe {
        libc::write(2, text.as_ptr().cast(), text.len());
        libc::_exit(indicore::EXIT_TEMP)
    }
}

pub fn show(name: &OsStr) -> std::borrow::Cow<'_, str> {
    name.to_string_lossy()
}
