//! Starting svscan's children: the main `supervise NAME`, the log `supervise log NAME`, and
//! `/bin/sh -c` for INITCMD and `.svscan/shutdown`.
//!
//! fork, then in the child: default signal actions and svscan's original mask, the
//! descriptors the spec lists, the environment (svscan's exports, `MAIN_SV` or `SV_PWD`, and
//! `.svars` loaded with the shared envdir engine), exec. A child that cannot exec prints the
//! reference's message and exits 111; svscan sees a death and retries a second later.

use crate::signals::Signals;
use indicore::envdir::Loader;
use indicore::errstr;
use indicore::exec::Env;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What the children inherit from svscan.
pub struct Spawner {
    /// svscan's environment with its exports (PPID, SCANDIR, PWD, VERBOSE, SILENT).
    pub env: Env,
}

impl Spawner {
    /// `supervise NAME` with stdout on `log_w` when the service has a log.
    pub fn main(&self, signals: &Signals, name: &OsStr, log_w: Option<RawFd>) -> io::Result<i32> {
        self.fork(signals, None, || {
            if let Some(w) = log_w {
                dup_onto(w, 1, || {
                    format!("unable to set up descriptors for {}: ", show(name))
                });
            }
            let mut env = self.env.clone();
            env.set("MAIN_SV", name);
            let svars = Path::new(name).join(".svars");
            load_svars(&svars, &mut env, || {
                format!("unable to start supervise {}: ", show(name))
            });
            let argv = [OsString::from("supervise"), name.to_owned()];
            let err = self.exec(&argv, &env);
            die(format!(
                "svscan: warning: unable to start supervise {}: {}",
                show(name),
                errstr(&err)
            ))
        })
    }

    /// `supervise log NAME` in `NAME`, reading the pipe on stdin.
    pub fn log(&self, signals: &Signals, name: &OsStr, log_r: RawFd) -> io::Result<i32> {
        self.fork(signals, None, || {
            dup_onto(log_r, 0, || {
                format!("unable to set up descriptors for {}/log: ", show(name))
            });
            if let Err(e) = std::env::set_current_dir(name) {
                die(format!(
                    "svscan: warning: unable to switch to {}: {}",
                    show(name),
                    errstr(&e)
                ));
            }
            let mut env = self.env.clone();
            env.set("SV_PWD", name);
            // DECISIONS D5: log/.svars (the reference looks for `log./svars`).
            load_svars(Path::new("log/.svars"), &mut env, || {
                format!("unable to start supervise {}/log: ", show(name))
            });
            let argv = [
                OsString::from("supervise"),
                OsString::from("log"),
                name.to_owned(),
            ];
            let err = self.exec(&argv, &env);
            die(format!(
                "svscan: fatal: unable to start supervise {}/log: {}",
                show(name),
                errstr(&err)
            ))
        })
    }

    /// `/bin/sh -c path`, with SIGTERM blocked in the child when `block_term`.
    pub fn shell(&self, signals: &Signals, path: &OsStr, block_term: bool) -> io::Result<i32> {
        let block = block_term.then_some(libc::SIGTERM);
        self.fork(signals, block, || {
            let argv = [
                OsString::from("/bin/sh"),
                OsString::from("-c"),
                path.to_owned(),
            ];
            let err = indicore::exec::run(&argv, &self.env, None);
            die(format!(
                "svscan: warning: unable to run {}: {}",
                show(path),
                errstr(&err)
            ))
        })
    }

    fn exec(&self, argv: &[OsString], env: &Env) -> io::Error {
        indicore::exec::run(argv, env, self.env.get("PATH"))
    }

    fn fork(
        &self,
        signals: &Signals,
        block: Option<libc::c_int>,
        child: impl FnOnce() -> std::convert::Infallible,
    ) -> io::Result<i32> {
        let old = signals.block_all();
        // SAFETY: svscan is single-threaded, so the child may allocate before it execs.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            signals.reset_in_child(block);
            child();
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

/// In the child: load `dir` into `env` when it is a searchable directory (X_OK), as
/// `envdir dir supervise ...` would; die 111 with the envdir message on error.
fn load_svars(dir: &Path, env: &mut Env, what: impl Fn() -> String) {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: access(2) on a C string we own.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return;
    }
    let mut loader = Loader::new(false);
    match loader.load(dir) {
        Ok(()) => loader.apply_to(env),
        Err(e) => die(format!("svscan: warning: {}{e}", what())),
    }
}

/// In the child: put `fd` on `target` (dup2 clears close-on-exec on the copy).
fn dup_onto(fd: RawFd, target: RawFd, what: impl Fn() -> String) {
    let r = if fd == target {
        indicore::fd::set_cloexec(&target, false).map(|_| 0)
    } else {
        // SAFETY: dup2 on descriptors we hold.
        match unsafe { libc::dup2(fd, target) } {
            -1 => Err(io::Error::last_os_error()),
            n => Ok(n),
        }
    };
    if let Err(e) = r {
        die(format!("svscan: warning: {}{}", what(), errstr(&e)));
    }
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
