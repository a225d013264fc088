//! The program behind a TLS proxy: started on two pipes once the handshake is done
//! (docs/decisions.md#u10), and waited for at the end so the proxy can leave with its status.

use indicore::exec::Env;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
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

/// The program's input pipe (its end, ours) and output pipe (ours, its end), with
/// room for the program to run ahead of the network (best effort; 64 KiB otherwise).
fn pipes() -> io::Result<[OwnedFd; 4]> {
    let (prog_in, to_program) = pipe()?;
    let (from_program, prog_out) = pipe()?;
    for p in [&to_program, &from_program] {
        // SAFETY: fcntl on a pipe we own.
        unsafe { libc::fcntl(p.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    }
    Ok([prog_in, to_program, from_program, prog_out])
}

/// The proxy's ends of [`pipes`], once the program has its own: the program's ends
/// are closed here.
fn ours([prog_in, to_program, from_program, prog_out]: [OwnedFd; 4]) -> Pipes {
    drop(prog_in);
    drop(prog_out);
    Pipes {
        to_program,
        from_program,
    }
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
    let [prog_in, to_program, from_program, prog_out] = pipes()?;
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
    Ok((pid, ours([prog_in, to_program, from_program, prog_out])))
}

/// A command line made ready for execve before the program starts (argv, environment,
/// PATH candidates as `indicore::exec::run` tries them), so that [`start_exec`] can
/// start it without copying the proxy's memory.
pub struct Prepared {
    _strings: Vec<CString>,
    paths: Vec<*const libc::c_char>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    stack: Vec<u8>,
}

/// The stack of the child that runs until the program's execve.
const EXEC_STACK: usize = 64 * 1024;

impl Prepared {
    /// `argv` with `env`, searched in `path` (the server's PATH, or the default) when
    /// argv[0] has no `/`. None when an argument or the program's name cannot go to
    /// execve (a NUL inside, or no argument): the caller forks and reports it as usual.
    pub fn new(argv: &[OsString], env: &Env, path: Option<&OsStr>) -> Option<Prepared> {
        let file = argv.first()?.as_bytes();
        let mut strings: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).ok())
            .collect::<Option<_>>()?;
        let nargs = strings.len();
        strings.extend(env.to_envp());
        let nenv = strings.len() - nargs;
        strings.extend(indicore::exec::candidates(file, path.map(OsStr::as_bytes))?);
        let ptrs = |from: usize, n: usize| -> Vec<*const libc::c_char> {
            let mut v: Vec<*const libc::c_char> =
                strings[from..from + n].iter().map(|c| c.as_ptr()).collect();
            v.push(std::ptr::null());
            v
        };
        let argv = ptrs(0, nargs);
        let envp = ptrs(nargs, nenv);
        let paths = ptrs(nargs + nenv, strings.len() - nargs - nenv);
        Some(Prepared {
            _strings: strings,
            paths,
            argv,
            envp,
            // Never read from Rust: only the pages the child's stack reaches get touched
            // (a zeroed Vec would clear all of them first).
            stack: Vec::with_capacity(EXEC_STACK),
        })
    }
}

/// What the exec child reads: prepared by [`start_exec`] on its stack, which stays put
/// while the child runs (CLONE_VFORK).
#[repr(C)]
struct ExecArgs {
    prog_in: RawFd,
    prog_out: RawFd,
    to_program: RawFd,
    from_program: RawFd,
    input_fd: RawFd,
    output_fd: RawFd,
    close: *const RawFd,
    nclose: usize,
    paths: *const *const libc::c_char,
    npaths: usize,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// Written by the child when no execve succeeded.
    err: libc::c_int,
}

/// The exec child: the descriptor moves of [`start`]'s child, SIGPIPE back to its
/// default, then execve over the PATH candidates. Only async-signal-safe calls on
/// prepared memory; the parent is suspended until the exec or the exit.
extern "C" fn exec_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg points to the parent's ExecArgs, alive while the parent waits
    // (CLONE_VFORK); every call below is async-signal-safe and allocates nothing.
    unsafe {
        let a = &mut *(arg as *mut ExecArgs);
        libc::close(a.to_program);
        libc::close(a.from_program);
        let i = libc::fcntl(a.prog_in, libc::F_DUPFD_CLOEXEC, 10);
        let o = libc::fcntl(a.prog_out, libc::F_DUPFD_CLOEXEC, 10);
        for k in 0..a.nclose {
            libc::close(*a.close.add(k));
        }
        libc::dup2(i, a.input_fd);
        libc::dup2(o, a.output_fd);
        libc::close(i);
        libc::close(o);
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGPIPE, &dfl, std::ptr::null_mut());
        a.err = indicore::exec::execve_each(a.paths, a.npaths, a.argv, a.envp);
        libc::_exit(111)
    }
}

/// [`start`] for a prepared command line: the program is started with
/// clone(CLONE_VM|CLONE_VFORK), so the proxy's memory is neither copied nor
/// write-protected. The third value is the error of a program that could not be
/// executed (that process has exited 111; the caller reports it).
pub fn start_exec(
    input_fd: RawFd,
    output_fd: RawFd,
    close: &[RawFd],
    prepared: &mut Prepared,
) -> io::Result<(libc::pid_t, Pipes, Option<io::Error>)> {
    let [prog_in, to_program, from_program, prog_out] = pipes()?;
    let mut args = ExecArgs {
        prog_in: prog_in.as_raw_fd(),
        prog_out: prog_out.as_raw_fd(),
        to_program: to_program.as_raw_fd(),
        from_program: from_program.as_raw_fd(),
        input_fd,
        output_fd,
        close: close.as_ptr(),
        nclose: close.len(),
        paths: prepared.paths.as_ptr(),
        npaths: prepared.paths.len() - 1,
        argv: prepared.argv.as_ptr(),
        envp: prepared.envp.as_ptr(),
        err: 0,
    };
    let top = (prepared.stack.as_mut_ptr() as usize + prepared.stack.capacity()) & !15;
    // SAFETY: the child runs exec_child on its own stack over memory that stays valid
    // and untouched while this thread is suspended (CLONE_VFORK); its descriptors and
    // signal dispositions are its own (no CLONE_FILES, no CLONE_SIGHAND).
    let pid = unsafe {
        libc::clone(
            exec_child,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut args as *mut ExecArgs).cast(),
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the child has exec'd or exited; volatile, as it wrote behind the
    // compiler's back.
    let err = unsafe { std::ptr::read_volatile(&args.err) };
    Ok((
        pid,
        ours([prog_in, to_program, from_program, prog_out]),
        (err != 0).then(|| io::Error::from_raw_os_error(err)),
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
