//! `envdir [-c] [-i] [-w] [-p] d child...`: run child with the environment that d describes.

use indicore::envdir::Loader;
use indicore::exec::{self, Env};
use indicore::getopt::{Getopt, Opt};
use indicore::{Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::path::Path;

pub const PROG: Prog = Prog("envdir");
const USAGE: &str = "usage: envdir [-cwi] dir child";

fn usage(msg: &str) -> Failure {
    Failure::usage(format!("envdir: fatal: {msg}\n{USAGE}"))
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (mut clear, mut ignore, mut warn, mut set_path) = (false, false, false, false);
    let mut opts = Getopt::new(args, "cwip");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'c', _) => clear = true,
            Opt::Flag(b'i', _) => ignore = true,
            Opt::Flag(b'w', _) => warn = true,
            Opt::Flag(b'p', _) => set_path = true,
            problem => {
                return Err(Failure::usage(
                    opts.usage(&problem, &format!("envdir: fatal: \n{USAGE}")),
                ))
            }
        }
    }
    let rest = opts.rest();
    let [dir, child @ ..] = rest else {
        return Err(usage("directory and program must be specfied"));
    };
    if child.is_empty() {
        return Err(usage("directory and program must be specfied"));
    }
    if dir.is_empty() {
        return Err(usage("directory not specified"));
    }
    if child[0].is_empty() {
        return Err(usage("program to run not specified"));
    }

    let original = Env::inherited();
    let mut env = if clear {
        Env::empty()
    } else {
        original.clone()
    };
    let mut loader = Loader::new(ignore);
    let search_path: Option<OsString> = match loader.load(Path::new(dir)) {
        Ok(()) => {
            loader.apply_to(&mut env);
            if set_path {
                env.get("PATH").map(OsStr::to_owned)
            } else if clear {
                None
            } else {
                std::env::var_os("PATH")
            }
        }
        Err(e) if warn => {
            indicore::diag::emit(format_args!("envdir: warn: {e}\n"));
            env = original;
            std::env::var_os("PATH")
        }
        Err(e) => return Err(Failure::temp(e.to_string())),
    };
    let err = exec::run(child, &env, search_path.as_deref());
    Err(Failure::exec(child[0].to_string_lossy(), &err))
}
