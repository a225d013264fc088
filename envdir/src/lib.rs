//! envdir and the other chain-loading programs, and inotify (file system events for
//! run scripts). Each module is one program:
//! `run(args)` does the work and returns the exit code or the failure that
//! `main` turns into the reference's message and exit code.

use indicore::Failure;
use std::ffi::OsString;

pub mod envdir;
pub mod envuidgid;
pub mod fghack;
pub mod inotify;
pub mod pgrphack;
pub mod readproctitle;
pub mod setlock;
pub mod setuidgid;
pub mod softlimit;
pub mod waitfor;

/// Exec `argv` with `env`, searching this process's PATH.
/// Returns only the failure to exec.
pub(crate) fn chain(argv: &[OsString], env: &indicore::exec::Env) -> Failure {
    let err = indicore::exec::pathexec(argv, env);
    Failure::exec(argv[0].to_string_lossy(), &err)
}
