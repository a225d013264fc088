//! Harness for the black-box suites: find the built binaries and run them the way an
//! administrator would, with a timeout, so that no test can hang or leave a process behind.
//!
//! * [`bin`] finds a workspace binary (`INDI_BIN_DIR`, else the cargo profile directory).
//! * [`Cmd`] runs a program with arguments, stdin bytes, environment changes, a working
//!   directory, an explicit umask (default 022) and optionally another uid/gid, and returns
//!   an [`Output`] (exit code or signal, stdout, stderr, elapsed time).
//! * [`is_root`] and [`skip`] for tests that need privileges; [`skip_gap`] for a platform
//!   gap listed in `tests/platform-gaps.txt` (under `CI=true` any other skip fails).
//! * [`conformance`]: the suite that compares our programs with IndiMail's reference.
//!
//! Hermeticity: every program a test starts goes through [`command`] (which [`Cmd`] uses), so
//! it runs with `DISABLE_RUN=1`: no program of ours consults or creates the host's
//! `/run/svscan` mirror. Tests of the mirror itself use [`Cmd::in_runfs_namespace`], a private
//! mount namespace with a tmpfs `/run`. The suite `hermetic.rs` checks that no test starts a
//! program any other way.
//!
//! Process hygiene: every child is started in a process group of its own (unless
//! [`Cmd::same_pgrp`] is used) and, once it has exited or timed out, whatever is left in that
//! group is killed with SIGKILL before the child is reaped.

pub mod conformance;
pub mod dns;
pub mod prop;
pub mod tmpfs;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`Cmd::run`] lets a child run before killing it and failing the test.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The system part of the PATH given by [`Cmd::clean_env`].
pub const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Directory holding the workspace binaries: `$INDI_BIN_DIR` if set, else the cargo profile
/// directory (`target/<profile>`), derived from this test executable's path
/// (`target/<profile>/deps/<test>-<hash>`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("INDI_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("cannot find the test executable's path");
    let dir = exe
        .parent()
        .expect("test executable has no parent directory");
    if dir.file_name() == Some(OsStr::new("deps")) {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Absolute path of the workspace binary `name`. Panics with a hint when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    if !path.is_file() {
        panic!(
            "binary `{name}` not found at {}: run `cargo build --workspace --bins` first \
             (or set INDI_BIN_DIR to the directory that holds the binaries)",
            path.display()
        );
    }
    path
}

/// The PATH set by [`Cmd::clean_env`]: the binaries' directory first, then [`SYSTEM_PATH`].
pub fn test_path() -> String {
    format!("{}:{SYSTEM_PATH}", bin_dir().display())
}

/// True when the tests run with effective uid 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Say why a test is skipped (`skipped: <why>` on stderr, and a line in the skip record that
/// `make test` summarises). Use as `return skip("...")`. Under `CI=true` a skip is a failure:
/// a test that cannot run there hides a regression unless the reason is a listed platform gap
/// ([`skip_gap`]).
#[track_caller]
pub fn skip(why: &str) {
    record_skip(why);
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("skip under CI=true is a failure: {why} (list a platform gap in tests/platform-gaps.txt and use skip_gap)");
    }
    eprintln!("skipped: {why}");
}

/// Skip because of a platform gap: `gap` must be an id listed in `tests/platform-gaps.txt`
/// (one `id: reason` a line); an unlisted id fails the test, under CI or not.
#[track_caller]
pub fn skip_gap(gap: &str, why: &str) {
    let list = std::fs::read_to_string(workspace_root().join("tests/platform-gaps.txt"))
        .unwrap_or_default();
    let listed = list
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.split_once(':').is_some_and(|(id, _)| id.trim() == gap));
    assert!(
        listed,
        "skip_gap: `{gap}` is not listed in tests/platform-gaps.txt"
    );
    record_skip(&format!("[{gap}] {why}"));
    eprintln!("skipped [{gap}]: {why}");
}

/// Append `test-name: why` to `target/test-skips.txt` (read by scripts/test-summary).
fn record_skip(why: &str) {
    let test = thread::current().name().unwrap_or("?").to_string();
    let exe = std::env::current_exe().ok();
    let suite = exe
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| {
            n.to_string_lossy()
                .rsplit_once('-')
                .map(|(a, _)| a.to_string())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let path = workspace_root().join("target/test-skips.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{suite}::{test}: {why}");
    }
}

/// The workspace's root directory (this crate's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// The one way tests start a program: a [`Command`] with `DISABLE_RUN=1`, so that no program
/// of ours looks at or creates the host's `/run/svscan` (see the module documentation).
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("DISABLE_RUN", "1");
    cmd
}

/// A user from the password database: (uid, primary gid, home directory).
pub fn user(name: &str) -> Option<(u32, u32, String)> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: all-zero is a valid `passwd`; getpwnam_r writes into pwd/buf within their sizes.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_dir points to a NUL-terminated string inside buf.
    let home = unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) };
    Some((pwd.pw_uid, pwd.pw_gid, home.to_string_lossy().into_owned()))
}

/// The gid of group `name` from the group database.
pub fn group(name: &str) -> Option<u32> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 65536];
    // SAFETY: all-zero is a valid `group`; getgrnam_r writes into grp/buf within their sizes.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    let rc = unsafe {
        libc::getgrnam_r(
            cname.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(grp.gr_gid)
}

enum Input {
    Null,
    Bytes(Vec<u8>),
    Pipe,
}

/// A command to run: builder over [`std::process::Command`] with a timeout.
pub struct Cmd {
    cmd: Command,
    input: Input,
    timeout: Duration,
    own_pgrp: bool,
    umask: libc::mode_t,
    desc: String,
}

impl Cmd {
    /// Any program (a path, or a name searched in the child's PATH).
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref();
        Cmd {
            cmd: command(program),
            input: Input::Null,
            timeout: DEFAULT_TIMEOUT,
            own_pgrp: true,
            umask: 0o022,
            desc: program.to_string_lossy().into_owned(),
        }
    }

    /// A workspace binary, located by [`bin`].
    pub fn bin(name: &str) -> Self {
        Cmd::new(bin(name))
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.desc.push(' ');
        self.desc.push_str(&arg.as_ref().to_string_lossy());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Feed these bytes on stdin, then close it (default: stdin is /dev/null).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.input = Input::Bytes(bytes.into());
        self
    }

    /// Give the child a pipe on stdin that the test writes through [`Running::write_stdin`].
    pub fn stdin_pipe(mut self) -> Self {
        self.input = Input::Pipe;
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, val);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Start from an empty environment.
    pub fn env_clear(mut self) -> Self {
        self.cmd.env_clear();
        self
    }

    /// Start from an environment holding only `PATH=`[`test_path`] and `DISABLE_RUN=1`, so
    /// that `env` output is exactly predictable and the workspace binaries can call each other
    /// by name.
    pub fn clean_env(self) -> Self {
        self.env_clear()
            .env("PATH", test_path())
            .env("DISABLE_RUN", "1")
    }

    /// Run `sh -c SCRIPT` in a private mount namespace whose `/run` is a fresh tmpfs holding an
    /// empty `/run/svscan`, with `DISABLE_RUN` unset and PATH = [`test_path`]: the only way
    /// tests meet the run-fs mirror. Needs root and unshare(1).
    pub fn in_runfs_namespace(script: &str) -> Self {
        let wrapped = format!(
            "mount -t tmpfs tmpfs /run || exit 97\nmkdir -p /run/svscan || exit 97\n{script}"
        );
        Cmd::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &wrapped])
            .env("PATH", test_path())
            .env_remove("DISABLE_RUN")
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// The child's umask (default 022).
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = mask as libc::mode_t;
        self
    }

    /// Run as this uid and gid with no supplementary groups (needs root).
    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.cmd.uid(uid).gid(gid);
        self
    }

    /// Kill the child if it has not exited after `timeout` (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Leave the child in the test's process group (needed to test `setsid`, which fails for
    /// a group leader). Leftovers are then killed only if the child made its own group.
    pub fn same_pgrp(mut self) -> Self {
        self.own_pgrp = false;
        self
    }

    /// Start the child. Its output is collected in the background.
    pub fn spawn(mut self) -> Running {
        self.cmd.stdin(match self.input {
            Input::Null => Stdio::null(),
            _ => Stdio::piped(),
        });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if self.own_pgrp {
            self.cmd.process_group(0);
        }
        let mask = self.umask;
        // SAFETY: umask is async-signal-safe and touches no memory.
        unsafe {
            self.cmd.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            });
        }
        let start = Instant::now();
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.desc));
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let mut stdin = child.stdin.take();
        if let Input::Bytes(bytes) = std::mem::replace(&mut self.input, Input::Null) {
            if let Some(mut pipe) = stdin.take() {
                // The child may exit without reading: ignore EPIPE.
                thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                });
            }
        }
        Running {
            child,
            stdin,
            stdout,
            stderr,
            start,
            timeout: self.timeout,
            desc: self.desc,
            reaped: false,
        }
    }

    /// Run to completion. Panics (after killing the child) if it exceeds the timeout.
    pub fn run(self) -> Output {
        self.spawn().wait()
    }

    /// Run to completion; a child that exceeds the timeout is killed and its output is the Err.
    pub fn try_run(self) -> Result<Output, Output> {
        self.spawn().try_wait()
    }
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    } else {
        let _ = tx.send(Vec::new());
    }
    rx
}

/// A started child. Dropping it kills the child and its process group.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Vec<u8>>,
    stderr: Receiver<Vec<u8>>,
    start: Instant,
    timeout: Duration,
    desc: String,
    reaped: bool,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Write to the child's stdin (see [`Cmd::stdin_pipe`]).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let pipe = self
            .stdin
            .as_mut()
            .expect("stdin is not a pipe: use Cmd::stdin_pipe");
        pipe.write_all(bytes).expect("write to child's stdin");
        pipe.flush().expect("flush child's stdin");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// True once the child has exited (it is not reaped, so its pid stays valid).
    pub fn has_exited(&self) -> bool {
        // SAFETY: all-zero is a valid siginfo_t; waitid with WNOWAIT only inspects the child.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                self.child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: si_pid is valid to read for a WEXITED report (0 when nothing happened).
        rc == 0 && unsafe { info.si_pid() } != 0
    }

    fn kill_group(&self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2). The child is not reaped yet, so its pid (and the group id
        // equal to it) cannot have been reused by an unrelated process.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }

    /// Wait for the child to exit, kill what is left of its process group, reap it and return
    /// its output. Panics if it runs longer than the timeout (it is killed first).
    pub fn wait(self) -> Output {
        let desc = self.desc.clone();
        let timeout = self.timeout;
        self.try_wait()
            .unwrap_or_else(|out| panic!("`{desc}` timed out after {timeout:?}: {out:?}"))
    }

    /// As [`Running::wait`], but a timeout gives the output so far as the Err.
    pub fn try_wait(mut self) -> Result<Output, Output> {
        self.stdin = None;
        let mut timed_out = false;
        while !self.has_exited() {
            if self.start.elapsed() > self.timeout {
                timed_out = true;
                self.kill_group();
                let _ = self.child.kill();
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let elapsed = self.start.elapsed();
        self.kill_group();
        let status = self.child.wait().expect("waitpid on child");
        self.reaped = true;
        let grace = Duration::from_secs(5);
        let stdout = self.stdout.recv_timeout(grace);
        let stderr = self.stderr.recv_timeout(grace);
        let (Ok(stdout), Ok(stderr)) = (stdout, stderr) else {
            panic!(
                "`{}`: stdout/stderr still held open by a process outside its process group",
                self.desc
            );
        };
        let out = Output {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr,
            elapsed,
        };
        if timed_out {
            Err(out)
        } else {
            Ok(out)
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a finished child did.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code, or None when killed by a signal.
    pub code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// From spawn until the child exited.
    pub elapsed: Duration,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Assert the exit code, the whole of stdout and the whole of stderr.
    #[track_caller]
    pub fn assert(&self, code: i32, stdout: &str, stderr: &str) {
        assert_eq!(
            (self.code, self.stdout_str(), self.stderr_str()),
            (Some(code), stdout.to_string(), stderr.to_string()),
            "(exit code, stdout, stderr) differ; full output: {self:?}"
        );
    }

    /// Assert the exit code only.
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "exit code differs: {self:?}");
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("code", &self.code)
            .field("signal", &self.signal)
            .field("stdout", &self.stdout_str())
            .field("stderr", &self.stderr_str())
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// Arguments `sh -c SCRIPT` as an iterator, for `Cmd::args`.
pub fn sh(script: &str) -> [OsString; 3] {
    ["sh".into(), "-c".into(), script.into()]
}
