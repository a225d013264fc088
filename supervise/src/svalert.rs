//! `svalert`: tell a probe server that a service started, stopped or died.
//!
//! Called three ways: as supervise's `./alert dir pid code exited|signalled` (four
//! arguments: an abnormal shutdown), from a run script as `svalert dir "startup type"`
//! (two arguments, or three when the type was split), or from a shutdown script as
//! `svalert dir pid`. It sends one UDP datagram, `svalert PWD DIR EVENT WHAT VALUE TIME`,
//! to `PROBE_SERVER` (default `probe-server`) port `SV_ALERT_PORT` (default 3001), or with
//! `USE_SYSLOG` set hands the same words to `logger --server`. Nothing is sent (exit 0)
//! when the server name does not resolve or when `$SYSCONFDIR/svalerts.filter` lists the
//! event as a whole word.

use indicore::exec::Env;
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::net::{ToSocketAddrs, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const PROG: Prog = Prog("svalert");

/// The syslog program the alerts go through with `USE_SYSLOG`.
const LOGGER: &str = "/usr/bin/logger";

/// What happened, as the words of the alert line after `svalert PWD DIR`.
#[derive(Debug, PartialEq, Eq)]
struct Alert {
    /// The event word (`abnormal-startup`, `normal-shutdown`, ...).
    event: String,
    /// Its two details (`- -`, `PID 123`, `exited 1`).
    what: String,
    value: String,
    /// The syslog priority: warning for failures, info otherwise.
    warning: bool,
    /// The words the reference gives logger (its syslog lines differ from the UDP ones).
    syslog: Vec<String>,
}

/// Split on blanks as the shell splits an unquoted expansion.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', '\t', '\n']).filter(|w| !w.is_empty())
}

fn is_failure(kind: &str) -> bool {
    matches!(
        kind,
        "abnormal startup" | "system failure" | "abnormal shutdown"
    )
}

/// The alert for the arguments after the program name, with the filter check's subject;
/// None for an argument count that means nothing.
fn alert(args: &[String], pwd: &str, now: u64) -> Option<(Alert, Subject)> {
    let dir = args.first()?.clone();
    let stamp = now.to_string();
    let line = |event: &str, what: &str, value: &str| {
        let mut v = vec![pwd.to_string(), dir.clone(), event.into(), what.into()];
        v.push(value.into());
        v.push(stamp.clone());
        v
    };
    match args.len() {
        2 => {
            let kind = &args[1];
            let dashed = words(kind).collect::<Vec<_>>().join("-");
            if words(kind).count() == 2 {
                Some((
                    Alert {
                        event: dashed.clone(),
                        what: "-".into(),
                        value: "-".into(),
                        warning: is_failure(kind),
                        syslog: line(&dashed, "-", "-"),
                    },
                    Subject::Event(dashed),
                ))
            } else {
                let pid = kind.clone();
                let mut syslog = vec![dir.clone(), "normal".into(), "shutdown".into()];
                syslog.extend(["PID".to_string(), pid.clone(), stamp.clone()]);
                Some((
                    Alert {
                        event: "normal-shutdown".into(),
                        what: "PID".into(),
                        value: pid,
                        warning: false,
                        syslog,
                    },
                    Subject::Event(dashed),
                ))
            }
        }
        3 => {
            let event = format!("{}-{}", args[1], args[2]);
            let kind = format!("{} {}", args[1], args[2]);
            Some((
                Alert {
                    event: event.clone(),
                    what: "-".into(),
                    value: "-".into(),
                    warning: is_failure(&kind),
                    syslog: line(&event, "-", "-"),
                },
                Subject::Event(event),
            ))
        }
        4 => Some((
            Alert {
                // the reference's probe servers receive this spelling
                event: "abormal-shutdown".into(),
                what: args[3].clone(),
                value: args[2].clone(),
                warning: true,
                syslog: line("abnormal-shutdown", &args[3], &args[2]),
            },
            Subject::FilterHas("abnormal-shutdown"),
        )),
        _ => None,
    }
}

/// What the filter file is checked against.
#[derive(Debug, PartialEq, Eq)]
enum Subject {
    /// Some filter line is a whole word of this event.
    Event(String),
    /// Some filter line holds this word.
    FilterHas(&'static str),
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `needle` occurs in `hay` with no word character on either side (grep -w).
fn has_word(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return hay.is_empty();
    }
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..=h.len().saturating_sub(n.len())).any(|i| {
        h[i..].starts_with(n)
            && (i == 0 || !is_word_byte(h[i - 1]))
            && h.get(i + n.len()).map_or(true, |&b| !is_word_byte(b))
    })
}

/// Does the filter suppress this alert?
fn filtered(filter: &str, subject: &Subject) -> bool {
    match subject {
        Subject::Event(event) => filter.lines().any(|l| has_word(event, l)),
        Subject::FilterHas(word) => filter.lines().any(|l| has_word(l, word)),
    }
}

/// The working directory as the shell's `$PWD` names it: the inherited PWD when it is
/// this directory, else the physical path.
fn pwd() -> String {
    let here = std::fs::metadata(".").ok();
    if let (Some(p), Some(here)) = (std::env::var_os("PWD"), here) {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            if let Ok(m) = std::fs::metadata(&p) {
                if m.dev() == here.dev() && m.ino() == here.ino() {
                    return p.to_string_lossy().into_owned();
                }
            }
        }
    }
    std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn nonempty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let port = nonempty_env("SV_ALERT_PORT").unwrap_or_else(|| "3001".into());
    let server = nonempty_env("PROBE_SERVER").unwrap_or_else(|| "probe-server".into());
    let Ok(port_no) = port.parse::<u16>() else {
        return Err(Failure::temp(format!("invalid port {port}")));
    };
    // An unknown probe server means alerts are not wanted.
    let Some(targets) = (server.as_str(), port_no)
        .to_socket_addrs()
        .ok()
        .map(|a| a.collect::<Vec<_>>())
        .filter(|a| !a.is_empty())
    else {
        return Ok(0);
    };
    let args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some((alert, subject)) = alert(&args, &pwd(), now) else {
        return Ok(0);
    };
    let sysconfdir = nonempty_env("SYSCONFDIR").unwrap_or_else(|| "/etc/indimail".into());
    if let Ok(filter) = std::fs::read(Path::new(&sysconfdir).join("svalerts.filter")) {
        if filtered(&String::from_utf8_lossy(&filter), &subject) {
            return Ok(0);
        }
    }
    if nonempty_env("USE_SYSLOG").is_some() && indicore::exec::executable(Path::new(LOGGER)) {
        let argv = logger_argv(&alert, &server);
        let err = indicore::exec::run(&argv, &Env::inherited(), None);
        return Err(Failure::exec(LOGGER, &err));
    }
    let mut line: Vec<&str> = vec!["svalert"];
    let pwd = pwd();
    for part in [
        pwd.as_str(),
        &args[0],
        &alert.event,
        &alert.what,
        &alert.value,
    ] {
        line.extend(words(part));
    }
    let stamp = now.to_string();
    line.push(&stamp);
    let datagram = format!("{}\n", line.join(" "));
    send(&targets, datagram.as_bytes())
        .map(|()| 0)
        .map_err(|e| Failure::temp_sys(format_args!("unable to send to {server}: "), &e))
}

/// `logger -p daemon.PRIORITY --server SERVER -t svalert WORDS...`.
fn logger_argv(alert: &Alert, server: &str) -> Vec<OsString> {
    let priority = if alert.warning {
        "daemon.warning"
    } else {
        "daemon.info"
    };
    [LOGGER, "-p", priority, "--server", server, "-t", "svalert"]
        .into_iter()
        .chain(alert.syslog.iter().flat_map(|w| words(w)))
        .map(OsString::from)
        .collect()
}

/// Send to the first address that takes the datagram.
fn send(targets: &[std::net::SocketAddr], data: &[u8]) -> std::io::Result<()> {
    let mut last = std::io::Error::from(indicore::sys::Errno::ADDRNOTAVAIL);
    for t in targets {
        let local = if t.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        match UdpSocket::bind(local).and_then(|s| s.send_to(data, t)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_four_shapes() {
        let (x, s) = alert(&a(&["/service/x", "abnormal startup"]), "/service/x", 7).unwrap();
        assert_eq!(
            (x.event.as_str(), x.what.as_str(), x.warning),
            ("abnormal-startup", "-", true)
        );
        assert_eq!(s, Subject::Event("abnormal-startup".into()));
        let (x, _) = alert(&a(&["/service/x", "42"]), "/p", 7).unwrap();
        assert_eq!(
            (x.event.as_str(), x.what.as_str(), x.value.as_str()),
            ("normal-shutdown", "PID", "42")
        );
        let (x, _) = alert(&a(&["/service/x", "manual", "restart"]), "/p", 7).unwrap();
        assert_eq!((x.event.as_str(), x.warning), ("manual-restart", false));
        let (x, s) = alert(&a(&["/service/x", "42", "1", "exited"]), "/p", 7).unwrap();
        assert_eq!((x.what.as_str(), x.value.as_str()), ("exited", "1"));
        assert_eq!(s, Subject::FilterHas("abnormal-shutdown"));
        assert!(alert(&a(&["/service/x"]), "/p", 7).is_none());
        assert!(alert(&a(&[]), "/p", 7).is_none());
    }

    #[test]
    fn syslog_lines() {
        let line = |args: &[&str], pwd: &str| {
            let (x, _) = alert(&a(args), pwd, 7).unwrap();
            logger_argv(&x, "probe")
                .join(std::ffi::OsStr::new(" "))
                .to_string_lossy()
                .into_owned()
        };
        let head = "/usr/bin/logger -p daemon";
        assert_eq!(
            line(&["/service/x", "abnormal startup"], "/service/x"),
            format!("{head}.warning --server probe -t svalert /service/x /service/x abnormal-startup - - 7")
        );
        assert_eq!(
            line(&["/service/x", "42"], "/p"),
            format!("{head}.info --server probe -t svalert /service/x normal shutdown PID 42 7")
        );
        assert_eq!(
            line(&["/service/x", "42", "9", "signalled"], "/p"),
            format!("{head}.warning --server probe -t svalert /p /service/x abnormal-shutdown signalled 9 7")
        );
    }

    #[test]
    fn filter_words_as_grep_w() {
        assert!(filtered(
            "abnormal\n",
            &Subject::Event("abnormal-startup".into())
        ));
        assert!(!filtered(
            "abnorm\n",
            &Subject::Event("abnormal-startup".into())
        ));
        assert!(!filtered("\n", &Subject::Event("abnormal-startup".into())));
        assert!(filtered(
            "x abnormal-shutdown y\n",
            &Subject::FilterHas("abnormal-shutdown")
        ));
        assert!(!filtered(
            "abnormal-shutdowns\n",
            &Subject::FilterHas("abnormal-shutdown")
        ));
    }
}
