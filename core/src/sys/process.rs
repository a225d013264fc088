//! Processes: fork, wait, kill, process groups and sessions, ids and privileges, limits.
//!
//! Everything a forked child may call (`exit_now`, `setsid`, `setpgid`, the `dup2` and
//! `fchdir` it needs, `set_default`) allocates nothing.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

pub use rustix::process::{fchdir, getegid, geteuid, getgid, getuid};
pub use rustix::process::{getpid, setsid, Pid, Resource, Rlimit, WaitOptions, WaitStatus};

use super::signal::Signal;

/// fork(2): `Ok(None)` in the child, `Ok(Some(pid))` in the parent.
///
/// # Safety
/// In a process with other threads the child may only do async-signal-safe things before
/// it execs or exits: no allocation, no locks.
pub unsafe fn fork() -> io::Result<Option<Pid>> {
    match libc::fork() {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Pid::from_raw(pid)),
    }
}

/// _exit(2): end the process now, without running exit handlers or flushing anything
/// (for a forked child).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit only ends the process.
    unsafe { libc::_exit(code) }
}

/// execve(2): run `program` with `argv` and `envp`, null-terminated arrays of pointers to
/// C strings (EINVAL when one lacks its terminating null); returns only on failure, with
/// the error. Allocates nothing, so a forked child may call it.
pub fn execve(
    program: &std::ffi::CStr,
    argv: &[*const std::ffi::c_char],
    envp: &[*const std::ffi::c_char],
) -> io::Error {
    if argv.last() != Some(&std::ptr::null()) || envp.last() != Some(&std::ptr::null()) {
        return rustix::io::Errno::INVAL.into();
    }
    // SAFETY: both arrays are null-terminated (checked); their strings are the caller's.
    unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

extern "C" {
    static environ: *const *const libc::c_char;
}

/// execve(2) of `program` with `argv` (null-terminated, as for [`execve`]) and this
/// process's own environment; returns only on failure. Allocates nothing.
pub fn execve_inherit(program: &std::ffi::CStr, argv: &[*const std::ffi::c_char]) -> io::Error {
    if argv.last() != Some(&std::ptr::null()) {
        return rustix::io::Errno::INVAL.into();
    }
    // SAFETY: argv is null-terminated (checked); environ is the C runtime's own array.
    unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), environ) };
    io::Error::last_os_error()
}

/// execve on each of `n` prepared `paths` in turn, as [`crate::exec::run`] does; returns the errno
/// to report when none succeeded. Only execve and errno: callable in a child that
/// shares its parent's memory while the parent waits (CLONE_VM|CLONE_VFORK).
///
/// # Safety
/// `paths` points to `n` NUL-terminated strings; `argv` and `envp` are NULL-terminated
/// arrays of NUL-terminated strings.
pub unsafe fn execve_each(
    paths: *const *const libc::c_char,
    n: usize,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) -> libc::c_int {
    let mut saved = 0;
    for k in 0..n {
        libc::execve(*paths.add(k), argv, envp);
        match *libc::__errno_location() {
            libc::ENOENT => {}
            e @ (libc::EACCES | libc::EPERM | libc::EISDIR) => saved = e,
            e => return e,
        }
    }
    if saved != 0 {
        saved
    } else {
        libc::ENOENT
    }
}

/// A pid from its number (None for 0 and negative numbers).
pub fn pid(n: i32) -> Option<Pid> {
    if n > 0 {
        Pid::from_raw(n)
    } else {
        None
    }
}

/// getpgid(2): the process group of `pid`, as a number. It can be 0: a process whose
/// group leader lives outside this pid namespace (a container's first processes) has no
/// group number here, which rustix's own getpgid does not allow for.
pub fn getpgid(pid: Pid) -> io::Result<i32> {
    // SAFETY: no memory is involved.
    match unsafe { libc::getpgid(pid.as_raw_pid()) } {
        -1 => Err(io::Error::last_os_error()),
        n => Ok(n),
    }
}

/// getppid(2) as a number (0 when the parent is outside this pid namespace).
pub fn getppid() -> i32 {
    rustix::process::getppid().map_or(0, Pid::as_raw_pid)
}

/// waitpid(2) for `pid` (None: any child, whatever its process group), retrying EINTR;
/// Ok(None) with `WaitOptions::NOHANG` when no child has changed state.
pub fn wait(pid: Option<Pid>, options: WaitOptions) -> io::Result<Option<(Pid, WaitStatus)>> {
    loop {
        // rustix's waitpid(None) is waitpid(0): only the children in this process group.
        let r = match pid {
            Some(_) => rustix::process::waitpid(pid, options),
            None => rustix::process::wait(options),
        };
        match r {
            Err(rustix::io::Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// A wait status as the shell shows it: the exit code, or 128 + the signal.
pub fn status_code(st: WaitStatus) -> i32 {
    match (st.exit_status(), st.terminating_signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        _ => 0,
    }
}

/// kill(2).
pub fn kill(pid: Pid, sig: Signal) -> io::Result<()> {
    Ok(rustix::process::kill_process(pid, sig)?)
}

/// kill(2) on a process group (killpg).
pub fn kill_group(pgid: Pid, sig: Signal) -> io::Result<()> {
    Ok(rustix::process::kill_process_group(pgid, sig)?)
}

/// kill(pid, 0): Ok when the process exists and may be signalled.
pub fn probe(pid: Pid) -> io::Result<()> {
    Ok(rustix::process::test_kill_process(pid)?)
}

/// Whether any child (or adopted descendant) is still alive, without reaping it
/// (waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT)).
pub fn has_children() -> bool {
    use rustix::process::{waitid, WaitId, WaitIdOptions};
    let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    loop {
        match waitid(WaitId::All, options) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.is_ok(),
        }
    }
}

/// setpgid(0, 0): a process group of its own.
pub fn own_group() -> io::Result<()> {
    Ok(rustix::process::setpgid(None, None)?)
}

/// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to this process.
pub fn become_subreaper() -> io::Result<()> {
    Ok(rustix::process::set_child_subreaper(Some(getpid()))?)
}

/// pidfd_open(2): a descriptor that becomes readable when `pid` ends.
pub fn pidfd(pid: Pid) -> io::Result<OwnedFd> {
    Ok(rustix::process::pidfd_open(
        pid,
        rustix::process::PidfdFlags::empty(),
    )?)
}

/// getrlimit(2).
pub fn limit(resource: Resource) -> Rlimit {
    rustix::process::getrlimit(resource)
}

/// setrlimit(2).
pub fn set_limit(resource: Resource, limit: Rlimit) -> io::Result<()> {
    Ok(rustix::process::setrlimit(resource, limit)?)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// setuid(2), for the whole process (the C library applies it to every thread).
pub fn setuid(uid: u32) -> io::Result<()> {
    // SAFETY: no memory is involved.
    check(unsafe { libc::setuid(uid) })
}

/// setgid(2), for the whole process.
pub fn setgid(gid: u32) -> io::Result<()> {
    // SAFETY: no memory is involved.
    check(unsafe { libc::setgid(gid) })
}

/// setgroups(2), for the whole process.
pub fn setgroups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: the kernel reads `groups.len()` ids from the slice.
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })
}

/// Change to the directory open on `dir`.
pub fn chdir_to(dir: impl AsFd) -> io::Result<()> {
    Ok(fchdir(dir)?)
}

/// The node name uname(2) gives, and the rest of its fields as text.
pub fn uname() -> rustix::system::Uname {
    rustix::system::uname()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_wait_and_kill() {
        // SAFETY: the child only calls _exit.
        let child = match unsafe { fork() }.unwrap() {
            None => exit_now(7),
            Some(pid) => pid,
        };
        let (got, st) = wait(Some(child), WaitOptions::empty()).unwrap().unwrap();
        assert_eq!(got, child);
        assert_eq!(st.exit_status(), Some(7));
        assert_eq!(status_code(st), 7);
        assert!(probe(getpid()).is_ok());
        // SAFETY: the child only sleeps (nanosleep) until killed, then exits.
        let p = match unsafe { fork() }.unwrap() {
            None => loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            },
            Some(pid) => pid,
        };
        assert!(has_children());
        // A child in a process group of its own is still "any child": a forked child (so
        // that no other test's children are reaped here) waits for its own such child and
        // passes its exit code on.
        // SAFETY: the children only make system calls and _exit.
        let middle = match unsafe { fork() }.unwrap() {
            None => {
                match unsafe { fork() } {
                    Ok(None) => {
                        let _ = own_group();
                        exit_now(3)
                    }
                    Ok(Some(_)) => {}
                    Err(_) => exit_now(100),
                }
                match wait(None, WaitOptions::empty()) {
                    Ok(Some((_, st))) => exit_now(st.exit_status().unwrap_or(101)),
                    _ => exit_now(102),
                }
            }
            Some(pid) => pid,
        };
        let (_, st) = wait(Some(middle), WaitOptions::empty()).unwrap().unwrap();
        assert_eq!(st.exit_status(), Some(3));
        kill(p, Signal::TERM).unwrap();
        let (_, st) = wait(Some(p), WaitOptions::empty()).unwrap().unwrap();
        assert_eq!(st.terminating_signal(), Some(Signal::TERM.as_raw()));
        assert_eq!(status_code(st), 128 + 15);
        assert!(pid(0).is_none() && pid(-5).is_none());
        assert!(getpgid(getpid()).is_ok());
        assert!(getppid() > 0);
    }

    #[test]
    fn limits_and_ids() {
        let l = limit(Resource::Nofile);
        set_limit(Resource::Nofile, l).unwrap();
        assert_eq!(limit(Resource::Nofile), l);
        if getuid().is_root() {
            return;
        }
        let e = setuid(0).unwrap_err();
        assert_eq!(crate::sys::errno(&e), Some(crate::sys::Errno::PERM));
        assert!(!uname().nodename().to_bytes().is_empty());
    }
}
