//! The program behind a TLS proxy: started on two pipes once the handshake is done
//! (docs/decisions.md#u10), and waited for at the end so the proxy can leave with its status.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

const PIPE_SIZE: libc::c_int = 256 * 1024;

/// The proxy's ends of the two pipes.
pub struct Pipes {
    /// Plaintext for the program's input.
    pub to_program: OwnedFd,
    /// The program's output.
    pub from_program: OwnedFd,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fresh descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Fork the program with its input on `input_fd` and its output on `output_fd` (0 and 1,
/// or 6 and 7 for djb tcpclient programs); `close` lists descriptors the program must not
/// keep (the network socket). `run` execs or otherwise runs it and never returns (it ends the
/// process itself).
pub fn start(
    input_fd: RawFd,
    output_fd: RawFd,
    close: &[RawFd],
    run: impl FnOnce() -> std::convert::Infallible,
) -> io::Result<(libc::pid_t, Pipes)> {
    let (prog_in, to_program) = pipe()?;
    let (from_program, prog_out) = pipe()?;
    // Room for a program to run ahead of the network (best effort; 64 KiB otherwise).
    for p in [&to_program, &from_program] {
        // SAFETY: fcntl on a pipe we own.
        unsafe { libc::fcntl(p.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    }
    // SAFETY: the caller is single-threaded; the child only moves descriptors and runs.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // The proxy's ends must not stay open in the program (EOF would never come);
        // closed first, as their numbers may be the targets below.
        drop(to_program);
        drop(from_program);
        // SAFETY: descriptor juggling in the fresh child before it runs the program.
        unsafe {
            // Copies above the targets first, so no dup2 overwrites a pipe end still
            // to be moved; dup2 leaves the targets inheritable.
            let i = libc::fcntl(prog_in.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10);
            let o = libc::fcntl(prog_out.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10);
            for &fd in close {
                libc::close(fd);
            }
            libc::dup2(i, input_fd);
            libc::dup2(o, output_fd);
            libc::close(i);
            libc::close(o);
            // The default the reference gives programs (the proxy ignores SIGPIPE).
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        #[allow(unreachable_code)]
        match run() {}
    }
    drop(prog_in);
    drop(prog_out);
    Ok((
        pid,
        Pipes {
            to_program,
            from_program,
        },
    ))
}

/// Wait for the program: without limit, or for at most `grace` (then None: it still runs).
pub fn wait(pid: libc::pid_t, grace: Option<Duration>) -> Option<libc::c_int> {
    let mut status = 0;
    if let Some(grace) = grace {
        // SAFETY: pidfd_open on our own child; the descriptor is closed below.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
        if pidfd >= 0 {
            let mut p = [libc::pollfd {
                fd: pidfd,
                events: libc::POLLIN,
                revents: 0,
            }];
            let ms = i32::try_from(grace.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: poll on one live descriptor, then close it.
            unsafe {
                libc::poll(p.as_mut_ptr(), 1, ms);
                libc::close(pidfd);
            }
        }
        // SAFETY: non-blocking wait for our child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        return (r == pid).then_some(status);
    }
    loop {
        // SAFETY: wait for our child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Some(status);
        }
        if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return None;
        }
    }
}

/// Leave as the program left: its exit code, or the same signal (without a core dump),
/// so the server's `end` line tells what the program did.
pub fn exit_like(status: libc::c_int) -> ! {
    // SAFETY: ending the process; the signal path resets the disposition and core limit.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            libc::signal(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
        }
        libc::_exit(if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            111
        })
    }
}
