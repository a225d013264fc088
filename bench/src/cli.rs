//! Command-line options shared by every workload.

use std::path::PathBuf;

use crate::error::{BenchError, Result};
use crate::workloads;

pub const USAGE: &str = "usage: bench WORKLOAD [--ours DIR] [--theirs DIR] [--indimail PREFIX] \
                         [-n N] [-r ROUNDS] [-q] [-v] [--results FILE]\n       \
                         bench machine --results FILE [-q]\n       \
                         bench report --results FILE --out DIR [--readme FILE]";

#[derive(Debug, Clone)]
pub struct Options {
    pub workload: String,
    /// Directory holding our binaries (default: the directory of this executable).
    pub ours: PathBuf,
    /// Directory holding Debian's C binaries: daemontools, ucspi-tcp, s6, runit (default: /usr/bin).
    pub theirs: PathBuf,
    /// Prefix of IndiMail's own C build (programs in bin/ and sbin/); none: that peer is left out.
    pub indimail: Option<PathBuf>,
    /// Timed repetitions per implementation (default 1000; quick: 40).
    pub runs: u64,
    /// Interleaved rounds the repetitions are split into (default 5; quick: 2).
    pub rounds: u32,
    /// Print per-round figures too.
    pub verbose: bool,
    /// Tiny sizes everywhere: proves the harness works, measures nothing.
    pub quick: bool,
    /// File the records are appended to (see `results`).
    pub results: Option<PathBuf>,
    /// Directory the report is written to (`report`).
    pub out: Option<PathBuf>,
    /// README whose marked block `report` rewrites with the charts.
    pub readme: Option<PathBuf>,
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
    let mut indimail = None;
    let mut runs: Option<u64> = None;
    let mut rounds: Option<u32> = None;
    let mut verbose = false;
    let mut quick = false;
    let mut results = None;
    let mut out = None;
    let mut readme = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ours" => ours = Some(args.next().ok_or_else(|| usage("--ours needs a DIR"))?),
            "--theirs" => theirs = Some(args.next().ok_or_else(|| usage("--theirs needs a DIR"))?),
            "--indimail" => {
                indimail = Some(
                    args.next()
                        .ok_or_else(|| usage("--indimail needs a PREFIX"))?,
                )
            }
            "--results" => {
                results = Some(args.next().ok_or_else(|| usage("--results needs a FILE"))?)
            }
            "--out" => out = Some(args.next().ok_or_else(|| usage("--out needs a DIR"))?),
            "--readme" => readme = Some(args.next().ok_or_else(|| usage("--readme needs a FILE"))?),
            "-n" | "--runs" => runs = Some(number(&arg, args.next())?),
            "-r" | "--rounds" => rounds = Some(number(&arg, args.next())?),
            "-v" | "--verbose" => verbose = true,
            "-q" | "--quick" => quick = true,
            "-h" | "--help" => return Err(usage("help requested")),
            s if s.starts_with('-') => return Err(usage(format!("unknown option {s}"))),
            s if workload.is_none() => workload = Some(s.to_string()),
            s => return Err(usage(format!("unexpected argument {s}"))),
        }
    }
    let workload = workload.ok_or_else(|| usage("no workload given"))?;
    let runs = runs.unwrap_or(if quick { 40 } else { 1000 });
    let rounds = rounds.unwrap_or(if quick { 2 } else { 5 });
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
        indimail: indimail.map(PathBuf::from),
        runs,
        rounds,
        verbose,
        quick,
        results: results.map(PathBuf::from),
        out: out.map(PathBuf::from),
        readme: readme.map(PathBuf::from),
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
        let o = parse(args(
            "chain --ours /a --theirs /b --indimail /c -n 50 -r 2 -v --results /r -q",
        ))
        .unwrap();
        assert_eq!(o.workload, "chain");
        assert_eq!(o.ours, PathBuf::from("/a"));
        assert_eq!(o.theirs, PathBuf::from("/b"));
        assert_eq!(o.indimail, Some(PathBuf::from("/c")));
        assert_eq!(o.results, Some(PathBuf::from("/r")));
        assert_eq!((o.runs, o.rounds, o.verbose, o.quick), (50, 2, true, true));
    }

    #[test]
    fn defaults() {
        let o = parse(args("chain")).unwrap();
        assert_eq!(o.theirs, PathBuf::from("/usr/bin"));
        assert_eq!((o.runs, o.rounds), (1000, 5));
        assert_eq!(o.indimail, None);
        let o = parse(args("chain --quick")).unwrap();
        assert_eq!((o.runs, o.rounds), (40, 2));
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
