//! GNU-style option parsing, as util-linux `getopt -a -n NAME -o SHORT -l LONG` does it for
//! the reference's shell scripts (docker-entrypoint, runpod): long options with `=value`
//! or a separate value, unique abbreviations, long options after a single dash (`-a`
//! mode), clustered short options, and operands moved after the options (unless
//! `POSIXLY_CORRECT` is set). Every problem is reported in glibc's words; parsing goes on
//! after one, as getopt does, and the caller prints its usage if there was any.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// One long option: its name and whether it takes a value.
#[derive(Debug, Clone, Copy)]
pub struct Long {
    pub name: &'static str,
    pub takes_value: bool,
}

impl Long {
    /// A long option that takes a value.
    pub const fn value(name: &'static str) -> Long {
        Long {
            name,
            takes_value: true,
        }
    }

    /// A long option without a value.
    pub const fn flag(name: &'static str) -> Long {
        Long {
            name,
            takes_value: false,
        }
    }
}

/// An option found: the short letter or the long name, and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Short(u8, Option<OsString>),
    Long(&'static str, Option<OsString>),
}

/// The whole command line, parsed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Options in command-line order.
    pub options: Vec<Found>,
    /// The operands, in order.
    pub operands: Vec<OsString>,
    /// One line per problem, `NAME: ...`.
    pub errors: Vec<String>,
}

/// The rules of one program.
pub struct Spec<'a> {
    /// The name in messages (getopt's `-n`).
    pub name: &'a str,
    /// Short options, getopt style (`rd:t:`).
    pub short: &'a str,
    pub long: &'a [Long],
    /// Long options may start with a single dash (getopt's `-a`).
    pub long_only: bool,
}

enum LongMatch {
    One(usize),
    Ambiguous(Vec<usize>),
    None,
}

impl Spec<'_> {
    /// Parse `args` (args[0] is the program name).
    pub fn parse(&self, args: &[OsString]) -> Parsed {
        let permute = std::env::var_os("POSIXLY_CORRECT").is_none();
        let mut p = Parsed::default();
        let mut i = 1;
        while i < args.len() {
            let arg = args[i].as_bytes();
            i += 1;
            if arg == b"--" {
                p.operands.extend(args[i..].iter().cloned());
                break;
            }
            if arg.len() < 2 || arg[0] != b'-' {
                if !permute {
                    p.operands.extend(args[i - 1..].iter().cloned());
                    break;
                }
                p.operands.push(args[i - 1].clone());
                continue;
            }
            if arg.starts_with(b"--") {
                self.long_option(&mut p, &arg[2..], "--", args, &mut i);
                continue;
            }
            let body = &arg[1..];
            let is_short = self.short_spec(body[0]).is_some();
            if self.long_only && (body.len() > 1 || !is_short) {
                let name = body.split(|&b| b == b'=').next().unwrap_or(body);
                match self.find_long(name) {
                    LongMatch::None if is_short => {}
                    LongMatch::None => {
                        p.errors.push(format!(
                            "{}: unrecognized option '{}'",
                            self.name,
                            String::from_utf8_lossy(arg)
                        ));
                        continue;
                    }
                    _ => {
                        self.long_option(&mut p, body, "-", args, &mut i);
                        continue;
                    }
                }
            }
            self.short_cluster(&mut p, body, args, &mut i);
        }
        p
    }

    /// Some(true) when the letter takes a value, Some(false) when not, None when unknown.
    fn short_spec(&self, c: u8) -> Option<bool> {
        let s = self.short.as_bytes();
        let at = s.iter().position(|&b| b == c && b != b':')?;
        Some(s.get(at + 1) == Some(&b':'))
    }

    fn find_long(&self, name: &[u8]) -> LongMatch {
        if let Some(k) = self.long.iter().position(|l| l.name.as_bytes() == name) {
            return LongMatch::One(k);
        }
        let hits: Vec<usize> = (0..self.long.len())
            .filter(|&k| self.long[k].name.as_bytes().starts_with(name))
            .collect();
        match hits.len() {
            0 => LongMatch::None,
            1 => LongMatch::One(hits[0]),
            _ => LongMatch::Ambiguous(hits),
        }
    }

    fn long_option(
        &self,
        p: &mut Parsed,
        body: &[u8],
        dash: &str,
        args: &[OsString],
        i: &mut usize,
    ) {
        let (name, value) = match body.iter().position(|&b| b == b'=') {
            Some(e) => (&body[..e], Some(&body[e + 1..])),
            None => (body, None),
        };
        let k = match self.find_long(name) {
            LongMatch::One(k) => k,
            LongMatch::Ambiguous(hits) => {
                let names: Vec<String> = hits
                    .iter()
                    .map(|&k| format!("'{dash}{}'", self.long[k].name))
                    .collect();
                p.errors.push(format!(
                    "{}: option '{dash}{}' is ambiguous; possibilities: {}",
                    self.name,
                    String::from_utf8_lossy(body),
                    names.join(" ")
                ));
                return;
            }
            LongMatch::None => {
                p.errors.push(format!(
                    "{}: unrecognized option '{dash}{}'",
                    self.name,
                    String::from_utf8_lossy(body)
                ));
                return;
            }
        };
        let long = self.long[k];
        match (long.takes_value, value) {
            (false, None) => p.options.push(Found::Long(long.name, None)),
            (false, Some(_)) => p.errors.push(format!(
                "{}: option '{dash}{}' doesn't allow an argument",
                self.name, long.name
            )),
            (true, Some(v)) => p
                .options
                .push(Found::Long(long.name, Some(OsStr::from_bytes(v).into()))),
            (true, None) => match args.get(*i) {
                Some(v) => {
                    *i += 1;
                    p.options.push(Found::Long(long.name, Some(v.clone())));
                }
                None => p.errors.push(format!(
                    "{}: option '{dash}{}' requires an argument",
                    self.name, long.name
                )),
            },
        }
    }

    fn short_cluster(&self, p: &mut Parsed, body: &[u8], args: &[OsString], i: &mut usize) {
        let mut j = 0;
        while j < body.len() {
            let c = body[j];
            j += 1;
            match self.short_spec(c) {
                None => p
                    .errors
                    .push(format!("{}: invalid option -- '{}'", self.name, c as char)),
                Some(false) => p.options.push(Found::Short(c, None)),
                Some(true) => {
                    if j < body.len() {
                        p.options
                            .push(Found::Short(c, Some(OsStr::from_bytes(&body[j..]).into())));
                    } else if let Some(v) = args.get(*i) {
                        *i += 1;
                        p.options.push(Found::Short(c, Some(v.clone())));
                    } else {
                        p.errors.push(format!(
                            "{}: option requires an argument -- '{}'",
                            self.name, c as char
                        ));
                    }
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: Spec = Spec {
        name: "entrypoint",
        short: "rd:t:",
        long: &[
            Long::flag("repair"),
            Long::value("domain"),
            Long::value("timezone"),
        ],
        long_only: true,
    };

    fn parse(spec: &Spec, v: &[&str]) -> Parsed {
        let mut args = vec![OsString::from("prog")];
        args.extend(v.iter().map(OsString::from));
        spec.parse(&args)
    }

    fn opts(v: &[Found]) -> Vec<String> {
        v.iter()
            .map(|f| match f {
                Found::Short(c, None) => format!("-{}", *c as char),
                Found::Short(c, Some(v)) => format!("-{} {}", *c as char, v.to_string_lossy()),
                Found::Long(n, None) => format!("--{n}"),
                Found::Long(n, Some(v)) => format!("--{n} {}", v.to_string_lossy()),
            })
            .collect()
    }

    #[track_caller]
    fn check(v: &[&str], want_opts: &[&str], want_operands: &[&str], want_errors: &[&str]) {
        let p = parse(&ENTRY, v);
        assert_eq!(opts(&p.options), want_opts, "{v:?}");
        assert_eq!(p.operands, want_operands, "{v:?}");
        assert_eq!(p.errors, want_errors, "{v:?}");
    }

    #[test]
    fn as_util_linux_getopt_a() {
        check(&["--dom=x", "a", "b"], &["--domain x"], &["a", "b"], &[]);
        check(&["-dom", "x"], &["--domain x"], &[], &[]);
        check(
            &["-domain=y", "--", "ls", "-l"],
            &["--domain y"],
            &["ls", "-l"],
            &[],
        );
        check(&["svscan", "-d", "x"], &["-d x"], &["svscan"], &[]);
        check(&["-rt", "UTC"], &["-r", "-t UTC"], &[], &[]);
        check(&["--re"], &["--repair"], &[], &[]);
        check(&["-d=1"], &["--domain 1"], &[], &[]);
        check(&["-rdx"], &["-r", "-d x"], &[], &[]);
        check(&["-tz"], &["-t z"], &[], &[]);
        check(&["-", "-r"], &["-r"], &["-"], &[]);
        check(&["--", "-x"], &[], &["-x"], &[]);
    }

    #[test]
    fn problems_in_glibcs_words() {
        check(&["-x"], &[], &[], &["entrypoint: unrecognized option '-x'"]);
        check(
            &["--bogus"],
            &[],
            &[],
            &["entrypoint: unrecognized option '--bogus'"],
        );
        check(
            &["-d"],
            &[],
            &[],
            &["entrypoint: option requires an argument -- 'd'"],
        );
        check(
            &["--domain"],
            &[],
            &[],
            &["entrypoint: option '--domain' requires an argument"],
        );
        check(
            &["-timez"],
            &[],
            &[],
            &["entrypoint: option '-timezone' requires an argument"],
        );
        check(
            &["--repair=1"],
            &[],
            &[],
            &["entrypoint: option '--repair' doesn't allow an argument"],
        );
        check(
            &["ls", "-l"],
            &[],
            &["ls"],
            &["entrypoint: unrecognized option '-l'"],
        );
        check(
            &["-rx"],
            &["-r"],
            &[],
            &["entrypoint: invalid option -- 'x'"],
        );
        check(
            &["-x", "-y"],
            &[],
            &[],
            &[
                "entrypoint: unrecognized option '-x'",
                "entrypoint: unrecognized option '-y'",
            ],
        );
        check(
            &["--=x"],
            &[],
            &[],
            &["entrypoint: option '--=x' is ambiguous; possibilities: '--repair' '--domain' '--timezone'"],
        );
    }
}
