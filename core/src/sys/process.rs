//! Processes: fork, wait, kill, process groups and sessions, ids and privileges, limits.
//!
//! Everything a forked child may call (`exit_now`, `setsid`, `setpgid`, the `dup2` and
//! `fchdir` it needs, `set_default`) allocates nothing.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

pub use rustix::process::{fchdir, getegid, geteuid, getgid, getuid};
pub use rustix::process::{
    getpgid, getpid, getppid, setsid, Pid, Resource, Rlimit, WaitOptions, WaitStatus,
};

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

/// A pid from its number (None for 0 and negative numbers).
pub fn pid(n: i32) -> Option<Pid> {
    Pid::from_raw(n)
}

/// waitpid(2) for `pid` (None: any child), retrying EINTR; Ok(None) with
/// `WaitOptions::NOHANG` when no child has changed state.
pub fn wait(pid: Option<Pid>, options: WaitOptions) -> io::Result<Option<(Pid, WaitStatus)>> {
    loop {
        match rustix::process::waitpid(pid, options) {
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
        kill(p, Signal::TERM).unwrap();
        let (_, st) = wait(Some(p), WaitOptions::empty()).unwrap().unwrap();
        assert_eq!(st.terminating_signal(), Some(Signal::TERM.as_raw()));
        assert_eq!(status_code(st), 128 + 15);
        assert!(pid(0).is_none());
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
