//! `softlimit [-acdflmopqrst n] child...`: run child with lowered soft resource limits.

use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::sys::process::{self, Resource, Rlimit};
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("softlimit");
const USAGE: &str = "softlimit: usage: softlimit [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child";

/// The resources an option letter sets.
fn resources(letter: u8) -> &'static [Resource] {
    match letter {
        b'a' => &[Resource::As],
        b'c' => &[Resource::Core],
        b'd' => &[Resource::Data],
        b'f' => &[Resource::Fsize],
        b'l' => &[Resource::Memlock],
        b'm' => &[
            Resource::Data,
            Resource::Stack,
            Resource::Memlock,
            Resource::As,
        ],
        b'o' => &[Resource::Nofile],
        b'p' => &[Resource::Nproc],
        b'q' => &[Resource::Msgqueue],
        b'r' => &[Resource::Rss],
        b's' => &[Resource::Stack],
        b't' => &[Resource::Cpu],
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

    /// The limits after this option (None: unlimited).
    fn apply(self, r: &mut Rlimit) {
        match self {
            Limit::Hard => r.current = r.maximum,
            Limit::Unlimited => {
                r.current = None;
                r.maximum = None;
            }
            Limit::At(n) => r.current = Some(r.maximum.map_or(n, |max| n.min(max))),
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
    // getrlimit cannot fail for a resource the kernel knows (all of the above).
    let mut r = process::limit(resource);
    limit.apply(&mut r);
    process::set_limit(resource, r).map_err(|e| Failure::temp_sys("setrlimit failed: ", &e))
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
        let mut r = Rlimit {
            current: Some(1),
            maximum: Some(10),
        };
        Limit::At(100).apply(&mut r);
        assert_eq!(r.current, Some(10));
        Limit::At(5).apply(&mut r);
        assert_eq!(r.current, Some(5));
        Limit::Hard.apply(&mut r);
        assert_eq!(r.current, Some(10));
        r.maximum = None;
        Limit::At(7).apply(&mut r);
        assert_eq!(r.current, Some(7));
        Limit::Unlimited.apply(&mut r);
        assert_eq!((r.current, r.maximum), (None, None));
    }
}
