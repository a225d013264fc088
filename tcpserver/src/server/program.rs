//! The last step of a connection child (§1.4 step 12): run the program with the
//! connection on fds 0 and 1 and the environment built for it.
//!
//! This is the one place that decides *how* the program runs. Today it is exec'd
//! (PATH search as pathexec). The plugin host (a `prog` with a `/` ending in `.so`,
//! called in-process) and the TLS transport (handshake first, then the program on
//! pipes) plug in here without touching the steps before.

use super::log::Log;
use indicore::errstr;
use indicore::exec::{self, Env};
use std::ffi::OsString;

/// What to run for each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// execve the command line, searching PATH when argv[0] has no `/`.
    Exec(Vec<OsString>),
}

impl Program {
    pub fn new(argv: Vec<OsString>) -> Program {
        Program::Exec(argv)
    }

    /// How the program is named in messages.
    pub fn name(&self) -> String {
        match self {
            Program::Exec(argv) => argv
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// Run it in this (child) process: never returns. A program that cannot be
    /// started drops the connection with exit 111.
    pub fn run(&self, env: &Env, log: &Log) -> ! {
        match self {
            Program::Exec(argv) => {
                let err = exec::pathexec(argv, env);
                log.drop_connection(format_args!(
                    "unable to run {}: {}",
                    self.name(),
                    errstr(&err)
                ));
                super::child::exit(111)
            }
        }
    }
}
