//! `softlimit [-acdflmopqrst n] child...`: run child with lowered soft resource limits.

use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("softlimit");
const USAGE: &str = "softlimit: usage: softlimit [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child";

// setrlimit's resource type: glibc's own enum type, an int elsewhere (musl).
#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

/// The resources an option letter sets.
fn resources(letter: u8) -> &'static [Resource] {
    match letter {
        b'a' => &[libc::RLIMIT_AS],
        b'c' => &[libc::RLIMIT_CORE],
        b'd' => &[libc::RLIMIT_DATA],
        b'f' => &[libc::RLIMIT_FSIZE],
        b'l' => &[libc::RLIMIT_MEMLOCK],
        b'm' => &[
            libc::RLIMIT_DATA,
            libc::RLIMIT_STACK,
            libc::RLIMIT_MEMLOCK,
            libc::RLIMIT_AS,
        ],
        b'o' => &[libc::RLIMIT_NOFILE],
        b'p' => &[libc::RLIMIT_NPROC],
        b'q' => &[libc::RLIMIT_MSGQUEUE],
        b'r' => &[libc::RLIMIT_RSS],
        b's' => &[libc::RLIMIT_STACK],
        b't' => &[libc::RLIMIT_CPU],
        _ => &[],
    }
}

/// What an option's value asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `=`: soft limit up to the hard limit.
    Hard,
    /// `-1`: soft and hard limit unlimited.
    Unlimited,
    /// A number: soft limit = min(n, hard).
    At(u64),
}

impl Limit {
    pub fn parse(s: &str) -> Option<Limit> {
        match s {
            "=" => Some(Limit::Hard),
            "-1" => Some(Limit::Unlimited),
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok().map(Limit::At)
            }
            _ => None,
        }
    }

    fn apply(self, r: &mut libc::rlimit) {
        match self {
            Limit::Hard => r.rlim_cur = r.rlim_max,
            Limit::Unlimited => {
                r.rlim_cur = libc::RLIM_INFINITY;
                r.rlim_max = libc::RLIM_INFINITY;
            }
            Limit::At(n) => {
                r.rlim_cur = if r.rlim_max == libc::RLIM_INFINITY {
                    n
                } else {
                    n.min(r.rlim_max)
                };
            }
        }
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let mut opts = Getopt::new(args, "a:c:d:f:l:m:o:p:q:r:s:t:");
    for opt in opts.by_ref() {
        let (letter, value) = match &opt {
            Opt::Flag(c, Some(v)) => (*c, v),
            problem => return Err(Failure::usage(opts.usage(problem, USAGE))),
        };
        let limit = Limit::parse(&value.to_string_lossy()).ok_or_else(|| Failure::usage(USAGE))?;
        for &resource in resources(letter) {
            set(resource, limit)?;
        }
    }
    let child = opts.rest();
    if child.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    Err(crate::chain(child, &Env::inherited()))
}

fn set(resource: Resource, limit: Limit) -> Result<(), Failure> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one rlimit struct we own.
    if unsafe { libc::getrlimit(resource, &mut r) } == -1 {
        return Err(Failure::temp_sys(
            "getrlimit failed: ",
            &std::io::Error::last_os_error(),
        ));
    }
    limit.apply(&mut r);
    // SAFETY: as above.
    if unsafe { libc::setrlimit(resource, &r) } == -1 {
        return Err(Failure::temp_sys(
            "setrlimit failed: ",
            &std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(Limit::parse("="), Some(Limit::Hard));
        assert_eq!(Limit::parse("-1"), Some(Limit::Unlimited));
        assert_eq!(Limit::parse("7"), Some(Limit::At(7)));
        for bad in ["", "x", "7x", "-2", " 7", "99999999999999999999999"] {
            assert_eq!(Limit::parse(bad), None, "{bad}");
        }
        let mut r = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 10,
        };
        Limit::At(100).apply(&mut r);
        assert_eq!(r.rlim_cur, 10);
        Limit::At(5).apply(&mut r);
        assert_eq!(r.rlim_cur, 5);
        Limit::Hard.apply(&mut r);
        assert_eq!(r.rlim_cur, 10);
    }
}
