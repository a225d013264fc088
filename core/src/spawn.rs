//! Starting a program without copying the parent's address space: `posix_spawn`, which
//! glibc implements with `clone(CLONE_VM|CLONE_VFORK)`, so the cost does not grow with the
//! parent's size and the parent learns of an exec failure from the call itself.
//!
//! Only what a supervisor needs is done in the child: change to a directory (by
//! descriptor, so a renamed service directory still works), join a new process group,
//! move descriptors into place, reset signals to their defaults and clear the signal
//! mask. Anything more belongs in a forked child.
//!
//! [`spawn_prepared`] takes argv and the environment already as C pointer arrays, so a
//! caller that starts the same program again and again (supervise) builds them once and
//! allocates nothing per start.

use crate::exec::Env;
use std::ffi::{CStr, CString, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::ptr;

/// A prepared spawn: the program (a path containing `/`), argv and the whole environment.
pub struct Spawn {
    program: CString,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argp: Vec<*mut libc::c_char>,
    envpp: Vec<*mut libc::c_char>,
    fchdir: Option<RawFd>,
    setpgid: bool,
    dup2: Vec<(RawFd, RawFd)>,
    default_signals: Vec<libc::c_int>,
}

/// What is done in the child before the exec.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setup<'a> {
    /// Change to the directory open on this descriptor.
    pub fchdir: Option<RawFd>,
    /// Join a process group of its own.
    pub setpgid: bool,
    /// `dup2(from, to)`, in order.
    pub dup2: &'a [(RawFd, RawFd)],
    /// Signals reset to their default action (ignored ones stay ignored across exec).
    pub default_signals: &'a [libc::c_int],
}

impl Spawn {
    /// `argv[0]` is the program and must contain a `/` (no PATH search here).
    pub fn new(argv: &[OsString], env: &Env) -> io::Result<Spawn> {
        let invalid = || io::Error::from_raw_os_error(libc::EINVAL);
        let first = argv.first().ok_or_else(invalid)?;
        if !first.as_bytes().contains(&b'/') {
            return Err(invalid());
        }
        let cargv = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| invalid())?;
        let cenv = env.to_envp();
        let mut argp: Vec<*mut libc::c_char> = cargv.iter().map(|c| c.as_ptr() as *mut _).collect();
        argp.push(ptr::null_mut());
        let mut envpp: Vec<*mut libc::c_char> = cenv.iter().map(|c| c.as_ptr() as *mut _).collect();
        envpp.push(ptr::null_mut());
        Ok(Spawn {
            program: cargv[0].clone(),
            _argv: cargv,
            _envp: cenv,
            argp,
            envpp,
            fchdir: None,
            setpgid: false,
            dup2: Vec::new(),
            default_signals: Vec::new(),
        })
    }

    /// Like [`Spawn::new`], but exec `program` (a path containing `/`, e.g. found by a PATH
    /// search) with `argv` passed unchanged, so that `argv[0]` can stay a bare name.
    pub fn with_program(
        program: &std::path::Path,
        argv: &[OsString],
        env: &Env,
    ) -> io::Result<Spawn> {
        let invalid = || io::Error::from_raw_os_error(libc::EINVAL);
        let mut full = vec![program.as_os_str().to_owned()];
        full.extend_from_slice(argv.get(1..).ok_or_else(invalid)?);
        let mut s = Spawn::new(&full, env)?;
        let zero = CString::new(argv[0].as_bytes()).map_err(|_| invalid())?;
        // The pointer targets the CString's heap buffer, which does not move.
        s.argp[0] = zero.as_ptr() as *mut _;
        s._argv.push(zero);
        Ok(s)
    }

    /// Run the program in the directory open on `fd`.
    pub fn fchdir(mut self, fd: RawFd) -> Self {
        self.fchdir = Some(fd);
        self
    }

    /// Put the child in a process group of its own.
    pub fn setpgid(mut self, on: bool) -> Self {
        self.setpgid = on;
        self
    }

    /// `dup2(from, to)` in the child, in the order given.
    pub fn dup2(mut self, from: RawFd, to: RawFd) -> Self {
        self.dup2.push((from, to));
        self
    }

    /// Reset these signals to their default action in the child (ignored ones stay
    /// ignored across exec otherwise).
    pub fn default_signals(mut self, sigs: &[libc::c_int]) -> Self {
        self.default_signals.extend_from_slice(sigs);
        self
    }

    /// Start the program; its pid. An exec failure comes back as the error.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        let setup = Setup {
            fchdir: self.fchdir,
            setpgid: self.setpgid,
            dup2: &self.dup2,
            default_signals: &self.default_signals,
        };
        spawn_prepared(&self.program, &self.argp, &self.envpp, &setup)
    }
}

/// Start `program` (a path containing `/`) with `argv` and `envp`, each a null-terminated
/// array of pointers to C strings that live at least until this returns; its pid. An exec
/// failure comes back as the error; an array without its terminating null is EINVAL.
pub fn spawn_prepared(
    program: &CStr,
    argv: &[*mut libc::c_char],
    envp: &[*mut libc::c_char],
    setup: &Setup,
) -> io::Result<libc::pid_t> {
    if argv.last() != Some(&ptr::null_mut()) || envp.last() != Some(&ptr::null_mut()) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: the attribute and file-action objects are initialised before use and
    // destroyed on every path; argv and envp are null-terminated (checked above) and the
    // caller keeps their strings alive through the call.
    unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        check(libc::posix_spawnattr_init(&mut attr))?;
        if let Err(e) = check(libc::posix_spawn_file_actions_init(&mut actions)) {
            libc::posix_spawnattr_destroy(&mut attr);
            return Err(e);
        }
        let r = configure(setup, &mut attr, &mut actions).and_then(|()| {
            let mut pid: libc::pid_t = 0;
            check(libc::posix_spawn(
                &mut pid,
                program.as_ptr(),
                &actions,
                &attr,
                argv.as_ptr(),
                envp.as_ptr(),
            ))
            .map(|()| pid)
        });
        libc::posix_spawn_file_actions_destroy(&mut actions);
        libc::posix_spawnattr_destroy(&mut attr);
        r
    }
}

/// # Safety
/// `attr` and `actions` must be initialised.
unsafe fn configure(
    setup: &Setup,
    attr: &mut libc::posix_spawnattr_t,
    actions: &mut libc::posix_spawn_file_actions_t,
) -> io::Result<()> {
    let mut flags = libc::POSIX_SPAWN_SETSIGMASK;
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    check(libc::posix_spawnattr_setsigmask(attr, &empty))?;
    if !setup.default_signals.is_empty() {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in setup.default_signals {
            libc::sigaddset(&mut set, s);
        }
        check(libc::posix_spawnattr_setsigdefault(attr, &set))?;
        flags |= libc::POSIX_SPAWN_SETSIGDEF;
    }
    if setup.setpgid {
        check(libc::posix_spawnattr_setpgroup(attr, 0))?;
        flags |= libc::POSIX_SPAWN_SETPGROUP;
    }
    check(libc::posix_spawnattr_setflags(attr, flags as libc::c_short))?;
    if let Some(fd) = setup.fchdir {
        check(libc::posix_spawn_file_actions_addfchdir_np(actions, fd))?;
    }
    for &(from, to) in setup.dup2 {
        check(libc::posix_spawn_file_actions_adddup2(actions, from, to))?;
    }
    Ok(())
}

/// This process's environment as an envp array pointing into `environ` itself, with every
/// `NAME` entry replaced by one `NAME=value` at the end: the environment
/// [`Env::inherited`] plus [`Env::set`] would give, built once with no copy of the strings.
/// It stays valid as long as nothing changes this process's environment (setenv, putenv),
/// which its holder must not do.
pub struct InheritedEnv {
    _set: CString,
    envp: Vec<*mut libc::c_char>,
}

extern "C" {
    static environ: *const *mut libc::c_char;
}

impl InheritedEnv {
    /// None when `name` or `value` holds a NUL or `name` an `=`.
    pub fn with(name: &[u8], value: &[u8]) -> Option<InheritedEnv> {
        if name.contains(&b'=') {
            return None;
        }
        let set = CString::new([name, b"=", value].concat()).ok()?;
        // SAFETY: environ is the null-terminated array the C runtime set up; nothing
        // changes it while this reads (the caller does not set variables).
        let mut envp = unsafe {
            let mut n = 0;
            while !environ.is_null() && !(*environ.add(n)).is_null() {
                n += 1;
            }
            Vec::with_capacity(n + 2)
        };
        // SAFETY: as above.
        unsafe {
            let mut p = environ;
            while !p.is_null() && !(*p).is_null() {
                let entry = CStr::from_ptr(*p).to_bytes();
                // As std's environment parser: the name is what precedes the first `=`
                // after the first byte; an entry without one is skipped.
                match entry
                    .get(1..)
                    .and_then(|e| e.iter().position(|&b| b == b'='))
                {
                    Some(i) if &entry[..i + 1] != name => envp.push(*p),
                    _ => {}
                }
                p = p.add(1);
            }
        }
        envp.push(set.as_ptr() as *mut _);
        envp.push(ptr::null_mut());
        Some(InheritedEnv { _set: set, envp })
    }

    /// The null-terminated array, for [`spawn_prepared`].
    pub fn envp(&self) -> &[*mut libc::c_char] {
        &self.envp
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::AsRawFd;

    fn wait(pid: libc::pid_t) -> i32 {
        let mut st = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        libc::WEXITSTATUS(st)
    }

    #[test]
    fn runs_in_directory_with_environment_and_group() {
        let dir = tempfile::tempdir().unwrap();
        let d = File::open(dir.path()).unwrap();
        let mut env = Env::empty();
        env.set("X", "y");
        let argv: Vec<OsString> = [
            "/bin/sh",
            "-c",
            "test \"$X\" = y && test \"$(ps -o pgid= -p $$ | tr -d ' ')\" = $$ && : > here",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let pid = Spawn::new(&argv, &env)
            .unwrap()
            .fchdir(d.as_raw_fd())
            .setpgid(true)
            .spawn()
            .unwrap();
        assert_eq!(wait(pid), 0);
        assert!(dir.path().join("here").exists());
    }

    #[test]
    fn program_apart_from_argv0() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("argv0");
        let script = "tr '\\0' '\\n' < /proc/$$/cmdline | head -n 1 > \"$1\"";
        let argv: Vec<OsString> = ["sh", "-c", script, "x"]
            .iter()
            .map(OsString::from)
            .chain(std::iter::once(out.clone().into_os_string()))
            .collect();
        let pid = Spawn::with_program(std::path::Path::new("/bin/sh"), &argv, &Env::empty())
            .unwrap()
            .spawn()
            .unwrap();
        assert_eq!(wait(pid), 0);
        assert_eq!(std::fs::read_to_string(out).unwrap(), "sh\n");
        assert!(Spawn::with_program(std::path::Path::new("sh"), &argv, &Env::empty()).is_err());
    }

    #[test]
    fn prepared_inherited_environment_replaces_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let env = InheritedEnv::with(b"PPID", b"42").unwrap();
        let mut expected = Env::inherited();
        expected.set("PPID", "42");
        let expected: Vec<Vec<u8>> = expected
            .to_envp()
            .into_iter()
            .map(|c| c.into_bytes())
            .collect();
        let got: Vec<Vec<u8>> = env.envp()[..env.envp().len() - 1]
            .iter()
            // SAFETY: pointers into environ and the owned entry, all live.
            .map(|&p| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
            .collect();
        assert_eq!(got, expected);
        let file = File::create(&out).unwrap();
        let argv = [c"/usr/bin/env".as_ptr() as *mut _, ptr::null_mut()];
        let setup = Setup {
            dup2: &[(file.as_raw_fd(), 1)],
            ..Setup::default()
        };
        let pid = spawn_prepared(c"/usr/bin/env", &argv, env.envp(), &setup).unwrap();
        assert_eq!(wait(pid), 0);
        let text = std::fs::read_to_string(out).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("PPID=")).count(), 1);
        assert!(text.lines().any(|l| l == "PPID=42"));
        assert!(InheritedEnv::with(b"A=B", b"1").is_none());
        assert!(InheritedEnv::with(b"A", b"1\0").is_none());
    }

    #[test]
    fn prepared_arrays_must_be_terminated() {
        let argv = [c"/bin/true".as_ptr() as *mut _];
        let env = [ptr::null_mut()];
        let err = spawn_prepared(c"/bin/true", &argv, &env, &Setup::default()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn exec_failure_is_the_error() {
        let argv = [OsString::from("/nonexistent/prog")];
        let err = Spawn::new(&argv, &Env::empty())
            .unwrap()
            .spawn()
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert!(Spawn::new(&[OsString::from("noslash")], &Env::empty()).is_err());
    }
}
