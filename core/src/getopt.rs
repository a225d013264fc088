//! djb's `sgetopt`: POSIX-style short options that stop at the first operand.
//!
//! Options may be clustered (`-nx`), an argument may be attached (`-m100`) or
//! separate (`-m 100`), `--` ends the options and is consumed, a lone `-` is an
//! operand. On a problem, sgetopt prints `PROG: illegal option -- c` or
//! `PROG: option requires an argument -- c` before the caller's usage text;
//! [`Getopt::usage`] builds that text.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// One parsed option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opt {
    /// An option letter, with its argument when the spec gives it one.
    Flag(u8, Option<OsString>),
    /// A letter the spec does not know.
    Illegal(u8),
    /// A letter that needs an argument, at the end of the command line.
    MissingArg(u8),
}

/// Iterator over the options of `args` (args[0] is the program name).
pub struct Getopt<'a> {
    args: &'a [OsString],
    spec: &'a [u8],
    ind: usize,
    pos: usize,
}

impl<'a> Getopt<'a> {
    /// `spec` is a getopt string: letters, each followed by `:` when it takes an argument.
    pub fn new(args: &'a [OsString], spec: &'a str) -> Self {
        Getopt {
            args,
            spec: spec.as_bytes(),
            ind: 1,
            pos: 0,
        }
    }

    /// The operands: everything after the options.
    pub fn rest(&self) -> &'a [OsString] {
        let ind = if self.pos > 0 { self.ind + 1 } else { self.ind };
        &self.args[ind.min(self.args.len())..]
    }

    /// The text sgetopt prints for a problem, followed by the caller's usage line.
    pub fn usage(&self, problem: &Opt, usage: &str) -> String {
        let prog = progname(self.args);
        match problem {
            Opt::Illegal(c) => format!("{prog}: illegal option -- {}\n{usage}", *c as char),
            Opt::MissingArg(c) => {
                format!(
                    "{prog}: option requires an argument -- {}\n{usage}",
                    *c as char
                )
            }
            Opt::Flag(..) => usage.to_string(),
        }
    }

    fn takes_arg(&self, c: u8) -> Option<bool> {
        let i = self.spec.iter().position(|&s| s == c && s != b':')?;
        Some(self.spec.get(i + 1) == Some(&b':'))
    }
}

impl Iterator for Getopt<'_> {
    type Item = Opt;

    fn next(&mut self) -> Option<Opt> {
        let mut word = self.args.get(self.ind)?.as_bytes();
        if self.pos > 0 && self.pos >= word.len() {
            self.ind += 1;
            self.pos = 0;
            word = self.args.get(self.ind)?.as_bytes();
        }
        if self.pos == 0 {
            if word.first() != Some(&b'-') || word.len() == 1 {
                return None;
            }
            if word == b"--" {
                self.ind += 1;
                return None;
            }
            self.pos = 1;
        }
        let c = word[self.pos];
        self.pos += 1;
        match self.takes_arg(c) {
            None => Some(Opt::Illegal(c)),
            Some(false) => Some(Opt::Flag(c, None)),
            Some(true) => {
                let attached = &word[self.pos..];
                self.ind += 1;
                self.pos = 0;
                if !attached.is_empty() {
                    return Some(Opt::Flag(c, Some(OsStr::from_bytes(attached).into())));
                }
                match self.args.get(self.ind) {
                    Some(arg) => {
                        self.ind += 1;
                        Some(Opt::Flag(c, Some(arg.clone())))
                    }
                    None => Some(Opt::MissingArg(c)),
                }
            }
        }
    }
}

/// The basename of argv[0], as sgetopt prints it.
pub fn progname(args: &[OsString]) -> String {
    let name = args.first().map(|a| a.as_bytes()).unwrap_or(b"");
    let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
    String::from_utf8_lossy(base).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn clusters_attached_and_separate_arguments() {
        let a = args(&["p", "-nx", "-m100", "-o", "7", "file", "-x"]);
        let mut g = Getopt::new(&a, "nxm:o:");
        let got: Vec<Opt> = g.by_ref().collect();
        assert_eq!(
            got,
            vec![
                Opt::Flag(b'n', None),
                Opt::Flag(b'x', None),
                Opt::Flag(b'm', Some("100".into())),
                Opt::Flag(b'o', Some("7".into())),
            ]
        );
        assert_eq!(g.rest(), &a[5..]);
    }

    #[test]
    fn double_dash_is_consumed_single_dash_is_operand() {
        let a = args(&["p", "-n", "--", "-x"]);
        let mut g = Getopt::new(&a, "n");
        assert_eq!(g.next(), Some(Opt::Flag(b'n', None)));
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[3..]);
        let a = args(&["p", "-", "x"]);
        let mut g = Getopt::new(&a, "n");
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[1..]);
    }

    #[test]
    fn problems_and_their_text() {
        let a = args(&["/usr/bin/softlimit", "-z"]);
        let mut g = Getopt::new(&a, "m:");
        let p = g.next().unwrap();
        assert_eq!(p, Opt::Illegal(b'z'));
        assert_eq!(g.usage(&p, "u"), "softlimit: illegal option -- z\nu");
        let a = args(&["softlimit", "-m"]);
        let mut g = Getopt::new(&a, "m:");
        let p = g.next().unwrap();
        assert_eq!(p, Opt::MissingArg(b'm'));
        assert_eq!(
            g.usage(&p, "u"),
            "softlimit: option requires an argument -- m\nu"
        );
    }

    #[test]
    fn rest_after_cluster_end() {
        let a = args(&["p", "-nx"]);
        let mut g = Getopt::new(&a, "nx");
        assert_eq!(g.by_ref().count(), 2);
        assert!(g.rest().is_empty());
    }
}
