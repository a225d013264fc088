//! `svscan [-v] [-s] [-n count] [scandir]`: the startup of docs/daemontools.md#svscan-startup, then the scan loop.

use crate::config::{Options, Settings};
use crate::log::Log;
use crate::pidfile;
use crate::scanner::Scanner;
use crate::signals::Signals;
use crate::spawn::Spawner;
use indicore::exec::Env;
use indicore::{errstr, Failure, Prog, EXIT_TEMP};
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub const PROG: Prog = Prog("svscan");

/// The pid file's name, in the run directory or (DISABLE_RUN) the scan directory.
pub const PIDFILE: &str = ".svscan.pid";

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let opts = Options::parse(args)?;
    let settings = Settings::from_env();
    let log = Log::new(
        opts.verbose || settings.verbose,
        opts.silent || settings.silent,
    );
    let pid = std::process::id() as i32;
    open_standard_fds();

    let run_dir = if settings.disable_run {
        None
    } else {
        make_run_dir(&log)
    };
    if let Some(dir) = &opts.scandir {
        if let Err(e) = std::env::set_current_dir(dir) {
            log.fatal(
                EXIT_TEMP,
                format_args!(
                    "unable to chdir to {}: {}",
                    dir.to_string_lossy(),
                    errstr(&e)
                ),
            );
        }
    }
    let scandir = std::env::current_dir().unwrap_or_else(|e| {
        log.fatal(
            EXIT_TEMP,
            format_args!("unable to get current working directory: {}", errstr(&e)),
        )
    });
    let pidfile = match &run_dir {
        Some(d) => d.join(PIDFILE),
        None => PathBuf::from(PIDFILE),
    };
    pidfile::acquire(&pidfile, pid, &log);

    let mut env = Env::inherited();
    env.set("PPID", pid.to_string());
    env.set("SCANDIR", &scandir);
    env.set("PWD", &scandir);
    if opts.verbose {
        env.set("VERBOSE", "1");
    }
    if opts.silent {
        env.set("SILENT", "1");
    }
    if let Err(e) = settings
        .setsid
        .then(indicore::sys::process::setsid)
        .transpose()
    {
        let e = io::Error::from(e);
        let _ = std::fs::remove_file(&pidfile);
        log.fatal(
            EXIT_TEMP,
            format_args!("unable to become session leader: {}", errstr(&e)),
        );
    }
    let signals = Signals::install(pid == 1).unwrap_or_else(|e| {
        let _ = std::fs::remove_file(&pidfile);
        log.fatal(
            EXIT_TEMP,
            format_args!("unable to catch signals: {}", errstr(&e)),
        )
    });
    let spawner = Spawner {
        env,
        caught: signals.caught().to_vec(),
    };
    let mut scanner = Scanner::new(
        log, signals, spawner, settings, opts.slots, scandir, run_dir, pidfile,
    );
    if scanner.settings.scanlog {
        scanner.open_svscan_log();
    }
    scanner.initcmd();
    scanner.run()
}

/// `/run/svscan` when `/run` exists, else `/var/run/svscan` (created 0755); neither: no
/// run directory, and the pid file goes into the scan directory.
fn make_run_dir(log: &Log) -> Option<PathBuf> {
    let base = supervise::runfs::ROOTS[..2]
        .iter()
        .map(Path::new)
        .find(|root| root.parent().is_some_and(Path::exists))?;
    if !base.exists() {
        if let Err(e) = std::fs::DirBuilder::new().mode(0o755).create(base) {
            if e.kind() != io::ErrorKind::AlreadyExists {
                log.fatal(
                    EXIT_TEMP,
                    format_args!("unable to mkdir {}: {}", base.display(), errstr(&e)),
                );
            }
        }
    }
    Some(base.to_path_buf())
}

/// Point a closed fd 0, 1 or 2 at /dev/null, so no pipe svscan makes can land there.
fn open_standard_fds() {
    use indicore::sys::fs::{openat, Mode, OFlags, CWD};
    use std::os::fd::IntoRawFd;
    for fd in 0..3 {
        if indicore::sys::io::is_open(fd) {
            continue;
        }
        let flags = if fd == 0 {
            OFlags::RDONLY
        } else {
            OFlags::WRONLY
        };
        // The lowest free descriptor is `fd`, which stays open (not close-on-exec).
        if let Ok(null) = openat(CWD, c"/dev/null", flags, Mode::empty()) {
            let _ = null.into_raw_fd();
        }
    }
}
