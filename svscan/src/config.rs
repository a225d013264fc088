//! What svscan is told: the command line (`-v -s -n count [scandir]`) and the
//! environment variables of docs/daemontools.md#environment and #svscan.

use indicore::getopt::{Getopt, Opt};
use indicore::Failure;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

/// The usage line, printed after sgetopt's complaint; exit 100.
pub const USAGE: &str = "svscan: fatal: usage: svscan [-sv] [directory]";

/// Default number of service slots (`-n`).
pub const DEFAULT_SLOTS: usize = 1000;

/// Rescan period when `SCANINTERVAL` is not set and a periodic scan is needed (no inotify,
/// or something inotify cannot see): docs/decisions.md#d6: djb's 5 s, not the reference's 60.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-v`: info messages on, `VERBOSE=1` exported.
    pub verbose: bool,
    /// `-s`: warnings off, `SILENT=1` exported.
    pub silent: bool,
    /// `-n count`: how many services may run at once.
    pub slots: usize,
    /// The scan directory; the current directory when absent.
    pub scandir: Option<OsString>,
}

impl Options {
    pub fn parse(args: &[OsString]) -> Result<Options, Failure> {
        let mut o = Options {
            verbose: false,
            silent: false,
            slots: DEFAULT_SLOTS,
            scandir: None,
        };
        let mut opts = Getopt::new(args, "vsn:");
        for opt in opts.by_ref() {
            match opt {
                Opt::Flag(b'v', _) => o.verbose = true,
                Opt::Flag(b's', _) => o.silent = true,
                Opt::Flag(b'n', Some(n)) => {
                    // A count that is not a number would silently mean 0 slots: refuse it.
                    o.slots = std::str::from_utf8(n.as_bytes())
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| Failure::usage(USAGE))?;
                }
                problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
            }
        }
        o.scandir = opts.rest().first().cloned();
        Ok(o)
    }
}

/// Leading decimal digits as `scan_ulong` reads them: none gives 0, overflow saturates.
pub fn scan_ulong(s: &OsStr) -> u64 {
    s.as_bytes()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
}

/// The environment svscan reads once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub verbose: bool,
    pub silent: bool,
    pub disable_run: bool,
    /// `SCANINTERVAL`, when set to a positive number: periodic scans even with inotify.
    pub scan_interval: Option<Duration>,
    pub scanlog: bool,
    /// `INITCMD`: `Some("")` means `.svscan/run`.
    pub initcmd: Option<OsString>,
    pub wait_initcmd: bool,
    pub setsid: bool,
    pub terminate_session: bool,
    /// (w1, w2) of the timed shutdown (docs/daemontools.md#shutdown).
    pub killwait: (Duration, Duration),
}

impl Settings {
    /// Read the settings through `get` (the process environment in production).
    pub fn from(get: impl Fn(&str) -> Option<OsString>) -> Settings {
        let set = |name: &str| get(name).is_some();
        let interval = get("SCANINTERVAL").map_or(0, |v| scan_ulong(&v));
        Settings {
            verbose: set("VERBOSE"),
            silent: set("SILENT"),
            disable_run: set("DISABLE_RUN"),
            scan_interval: (interval != 0).then(|| Duration::from_secs(interval)),
            scanlog: set("SCANLOG"),
            initcmd: get("INITCMD"),
            wait_initcmd: set("WAIT_INITCMD"),
            setsid: set("SETSID"),
            terminate_session: set("TERMINATE_SESSION"),
            killwait: killwait(&get),
        }
    }

    pub fn from_env() -> Settings {
        Settings::from(|name| std::env::var_os(name))
    }

    /// The period of the periodic scan, when there is one.
    pub fn interval(&self) -> Duration {
        self.scan_interval.unwrap_or(DEFAULT_INTERVAL)
    }
}

/// `KILLWAIT=K` gives w2 = K, w1 = K/2; else `KILLWAIT1` and `KILLWAIT2` (default 2 and 4),
/// where `KILLWAIT2` alone also sets w1 = w2/2.
fn killwait(get: &impl Fn(&str) -> Option<OsString>) -> (Duration, Duration) {
    let num = |name: &str| get(name).map(|v| scan_ulong(&v));
    let (w1, w2) = match num("KILLWAIT") {
        Some(k) => (k / 2, k),
        None => {
            let w2 = num("KILLWAIT2");
            let w1 = num("KILLWAIT1").unwrap_or_else(|| w2.map_or(2, |w| w / 2));
            (w1, w2.unwrap_or(4))
        }
    };
    (Duration::from_secs(w1), Duration::from_secs(w2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn options() {
        let o = Options::parse(&args(&["svscan", "-vs", "-n", "7", "/service", "x"])).unwrap();
        assert_eq!(
            o,
            Options {
                verbose: true,
                silent: true,
                slots: 7,
                scandir: Some("/service".into())
            }
        );
        let o = Options::parse(&args(&["svscan"])).unwrap();
        assert_eq!((o.slots, o.scandir), (1000, None));
        assert_eq!(
            Options::parse(&args(&["svscan", "-x"])).unwrap_err(),
            Failure::usage(format!("svscan: illegal option -- x\n{USAGE}"))
        );
        assert!(Options::parse(&args(&["svscan", "-n", "many"])).is_err());
        assert!(Options::parse(&args(&["svscan", "-n"])).is_err());
    }

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from(|n| {
            vars.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn interval_and_flags() {
        let s = settings(&[]);
        assert_eq!(s.scan_interval, None);
        assert_eq!(s.interval(), Duration::from_secs(5));
        assert!(!s.scanlog && !s.verbose && s.initcmd.is_none());
        let s = settings(&[("SCANINTERVAL", "300"), ("SCANLOG", ""), ("INITCMD", "")]);
        assert_eq!(s.scan_interval, Some(Duration::from_secs(300)));
        assert_eq!(s.interval(), Duration::from_secs(300));
        assert!(s.scanlog);
        assert_eq!(s.initcmd, Some(OsString::new()));
        assert_eq!(settings(&[("SCANINTERVAL", "0")]).scan_interval, None);
        assert_eq!(settings(&[("SCANINTERVAL", "junk")]).scan_interval, None);
    }

    #[test]
    fn killwait_rules() {
        let kw = |v: &[(&str, &str)]| {
            let (a, b) = settings(v).killwait;
            (a.as_secs(), b.as_secs())
        };
        assert_eq!(kw(&[]), (2, 4));
        assert_eq!(kw(&[("KILLWAIT", "9")]), (4, 9));
        assert_eq!(kw(&[("KILLWAIT", "9"), ("KILLWAIT1", "1")]), (4, 9));
        assert_eq!(kw(&[("KILLWAIT2", "10")]), (5, 10));
        assert_eq!(kw(&[("KILLWAIT1", "1")]), (1, 4));
        assert_eq!(kw(&[("KILLWAIT1", "3"), ("KILLWAIT2", "8")]), (3, 8));
    }

    #[test]
    fn scan_ulong_reads_leading_digits() {
        assert_eq!(scan_ulong(OsStr::new("300\n")), 300);
        assert_eq!(scan_ulong(OsStr::new("x1")), 0);
        assert_eq!(scan_ulong(OsStr::new("99999999999999999999999")), u64::MAX);
    }
}
