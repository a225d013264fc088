//! Command-line options shared by every workload.

use std::path::PathBuf;

use crate::error::{BenchError, Result};
use crate::workloads;

pub const USAGE: &str = "usage: bench WORKLOAD [--ours DIR] [--theirs DIR] [-n N] [-r ROUNDS] [-v]";

#[derive(Debug, Clone)]
pub struct Options {
    pub workload: String,
    /// Directory holding our binaries (default: the directory of this executable).
    pub ours: PathBuf,
    /// Directory holding the C binaries (default: /usr/bin).
    pub theirs: PathBuf,
    /// Timed repetitions per implementation.
    pub runs: u64,
    /// Interleaved rounds the repetitions are split into.
    pub rounds: u32,
    /// Print per-round figures too.
    pub verbose: bool,
}

fn usage(msg: impl AsRef<str>) -> BenchError {
    BenchError::Usage(format!(
        "{}\n{USAGE}\nworkloads: {}",
        msg.as_ref(),
        workloads::NAMES.join(", ")
    ))
}

fn number<T: std::str::FromStr>(opt: &str, value: Option<String>) -> Result<T> {
    let value = value.ok_or_else(|| usage(format!("{opt} needs a value")))?;
    value
        .parse()
        .map_err(|_| usage(format!("{opt}: not a number: {value}")))
}

fn default_ours() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options> {
    let mut args = args.into_iter();
    let mut workload = None;
    let mut ours = None;
    let mut theirs = None;
    let mut runs: u64 = 1000;
    let mut rounds: u32 = 5;
    let mut verbose = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ours" => ours = Some(args.next().ok_or_else(|| usage("--ours needs a DIR"))?),
            "--theirs" => theirs = Some(args.next().ok_or_else(|| usage("--theirs needs a DIR"))?),
            "-n" | "--runs" => runs = number(&arg, args.next())?,
            "-r" | "--rounds" => rounds = number(&arg, args.next())?,
            "-v" | "--verbose" => verbose = true,
            "-h" | "--help" => return Err(usage("help requested")),
            s if s.starts_with('-') => return Err(usage(format!("unknown option {s}"))),
            s if workload.is_none() => workload = Some(s.to_string()),
            s => return Err(usage(format!("unexpected argument {s}"))),
        }
    }
    let workload = workload.ok_or_else(|| usage("no workload given"))?;
    if runs == 0 || rounds == 0 {
        return Err(usage("-n and -r must be at least 1"));
    }
    if u64::from(rounds) > runs {
        return Err(usage("more rounds than runs"));
    }
    Ok(Options {
        workload,
        ours: ours.map(PathBuf::from).unwrap_or_else(default_ours),
        theirs: theirs.map_or_else(|| PathBuf::from("/usr/bin"), PathBuf::from),
        runs,
        rounds,
        verbose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_full_line() {
        let o = parse(args("chain --ours /a --theirs /b -n 50 -r 2 -v")).unwrap();
        assert_eq!(o.workload, "chain");
        assert_eq!(o.ours, PathBuf::from("/a"));
        assert_eq!(o.theirs, PathBuf::from("/b"));
        assert_eq!((o.runs, o.rounds, o.verbose), (50, 2, true));
    }

    #[test]
    fn defaults() {
        let o = parse(args("chain")).unwrap();
        assert_eq!(o.theirs, PathBuf::from("/usr/bin"));
        assert_eq!((o.runs, o.rounds), (1000, 5));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(args("")).is_err());
        assert!(parse(args("chain -n")).is_err());
        assert!(parse(args("chain -n x")).is_err());
        assert!(parse(args("chain -n 0")).is_err());
        assert!(parse(args("chain -n 3 -r 4")).is_err());
        assert!(parse(args("chain --bogus")).is_err());
        assert!(parse(args("chain extra")).is_err());
    }
}
