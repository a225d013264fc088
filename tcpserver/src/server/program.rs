//! The last step of a connection child (docs/ucspi-tcp.md#the-connection-child, step 10): run the program with the
//! connection on fds 0 and 1 and the environment built for it.
//!
//! This is the one place that decides *how* the program runs: exec'd (PATH search as
//! pathexec), or, for a `prog` with a `/` ending in `.so`, called in-process by the
//! plugin host ([`crate::plugin`]). Under TLS this runs in the process the TLS step
//! forks, on its pipes.

use super::log::Log;
use indicore::errstr;
use indicore::exec::{self, Env};
use std::ffi::OsString;

/// What to run for each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// execve the command line, searching PATH when argv[0] has no `/`.
    Exec(Vec<OsString>),
    /// Load argv[0] (a path ending in `.so`) and call its entry (docs/ucspi-tcp.md#plugins).
    Plugin(crate::plugin::call::Plugin),
}

impl Program {
    pub fn new(argv: Vec<OsString>) -> Program {
        match argv.first() {
            Some(p) if crate::plugin::is_plugin(p) => {
                Program::Plugin(crate::plugin::call::Plugin::new(argv))
            }
            _ => Program::Exec(argv),
        }
    }

    /// How the program is named in messages.
    pub fn name(&self) -> String {
        match self {
            Program::Exec(argv) | Program::Plugin(crate::plugin::call::Plugin { argv, .. }) => argv
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// Run it in this (child) process: never returns. A program that cannot be
    /// started drops the connection with exit 111.
    /// The `LMIDn` namespaces of preloaded plugins are added to `env`.
    pub fn run(&self, env: &Env, log: &Log) -> ! {
        let env = crate::plugin::with_exports(env);
        match self {
            Program::Plugin(p) => p.run(&env, log),
            Program::Exec(argv) => {
                let err = exec::pathexec(argv, &env);
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
