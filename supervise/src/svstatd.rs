//! `svstatd [-j] [-t timeout] [dir ...]`: the remote end of `rsvc`, run under tcpserver.
//!
//! It reads one request line, `DIR NAME` or `DIR NAME docker|podman ID`, and answers with
//! svstat's line for `DIR/NAME` (or, with `-j`, a JSON object, see [`crate::report`]); the
//! exit code is svstat's. A request it cannot answer gets `svstatd: fatal: ...` on both
//! stdout (the client) and stderr (tcpserver's log), exit 111.
//!
//! Beyond the reference, it answers only what it is asked: NAME is one directory name (or
//! `NAME/log`) and never `.` or `..`, so no request reaches outside DIR; with `dir`
//! arguments, only those directories are served; a container id is a plain name; a client
//! that sends nothing is dropped after `timeout` seconds.

use crate::report::Report;
use crate::svstat;
use indicore::getopt::{Getopt, Opt};
use indicore::tai::Label;
use indicore::{errstr, Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const PROG: Prog = Prog("svstatd");

const USAGE: &str = "svstatd: usage: svstatd [-j] [-t timeout] [dir ...]";

/// The longest request line read.
const MAX_REQUEST: usize = 4096;

/// Seconds a client has to send its request (`-t`; 0: for ever).
const DEFAULT_TIMEOUT: u64 = 60;

struct Config {
    json: bool,
    timeout: Option<Duration>,
    /// Directories served; empty: any.
    dirs: Vec<OsString>,
}

/// A request that passed the checks.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub dir: OsString,
    pub name: OsString,
    /// `docker` or `podman`, and the container's id.
    pub container: Option<(String, String)>,
}

impl Request {
    /// `DIR/NAME`, as svstat is given it.
    pub fn path(&self) -> PathBuf {
        Path::new(&self.dir).join(&self.name)
    }
}

/// Why a request line is refused: the text for the client, the text for the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub client: String,
    pub log: String,
}

impl Refusal {
    fn invalid(log: impl Into<String>) -> Refusal {
        Refusal {
            client: "invalid input".into(),
            log: log.into(),
        }
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let config = parse_options(args)?;
    let line = match read_request(config.timeout) {
        Ok(Some(line)) => line,
        Ok(None) => return refuse(&config, "", Refusal::invalid("invalid input")),
        Err(e) => {
            let msg = format!("unable to read input: {}", errstr(&e));
            return refuse(
                &config,
                "",
                Refusal {
                    client: msg.clone(),
                    log: msg,
                },
            );
        }
    };
    let request = match parse_request(&line) {
        Ok(r) => r,
        Err(why) => return refuse(&config, "", why),
    };
    let path = request.path();
    let shown = path.display().to_string();
    if !served(&config.dirs, &request.dir) {
        return refuse(
            &config,
            &shown,
            Refusal {
                client: format!("unable to access {shown}"),
                log: format!("unable to access [{shown}]: directory not served"),
            },
        );
    }
    match &request.container {
        None => answer_local(&config, &path),
        Some((cmd, id)) => answer_container(&config, cmd, id, &path),
    }
}

fn parse_options(args: &[OsString]) -> Result<Config, Failure> {
    let mut config = Config {
        json: false,
        timeout: Some(Duration::from_secs(DEFAULT_TIMEOUT)),
        dirs: Vec::new(),
    };
    let mut opts = Getopt::new(args, "jt:");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'j', _) => config.json = true,
            Opt::Flag(b't', Some(v)) => {
                let secs: u64 = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Failure::usage(USAGE))?;
                config.timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        }
    }
    config.dirs = opts.rest().to_vec();
    Ok(config)
}

/// The first line of stdin without its newline (and a CR before it); None when input
/// ends before a newline or the line is too long.
fn read_request(timeout: Option<Duration>) -> io::Result<Option<Vec<u8>>> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut line = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        if let Some(end) = deadline {
            wait_readable(end)?;
        }
        let n = indicore::fd::read_raw(0, &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        line.extend_from_slice(&buf[..n]);
        if let Some(i) = line.iter().position(|&b| b == b'\n') {
            line.truncate(i);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(line));
        }
        if line.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

/// Wait until stdin can be read or `end` has passed (ETIMEDOUT).
pub fn wait_readable(end: Instant) -> io::Result<()> {
    loop {
        if Instant::now() >= end {
            return Err(std::io::Error::from(indicore::sys::Errno::TIMEDOUT));
        }
        if indicore::sys::poll::readable(indicore::sys::io::inherited(0), Some(end))? {
            return Ok(());
        }
    }
}

/// Check a request line: `DIR NAME` or `DIR NAME docker|podman ID`.
pub fn parse_request(line: &[u8]) -> Result<Request, Refusal> {
    if !line.contains(&b' ') {
        return Err(Refusal::invalid("invalid input"));
    }
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let shown = String::from_utf8_lossy(line);
    if words.iter().any(|w| w.is_empty()) || !matches!(words.len(), 2 | 4) {
        return Err(Refusal::invalid(format!("invalid input [{shown}]")));
    }
    if words
        .iter()
        .any(|w| w.iter().any(|&b| b < 0x20 || b == 0x7f))
    {
        return Err(Refusal::invalid(format!(
            "invalid input [{}]",
            shown.escape_debug()
        )));
    }
    let (dir, name) = (words[0], words[1]);
    if !valid_name(name) {
        return Err(Refusal::invalid(format!(
            "invalid service name [{}]",
            String::from_utf8_lossy(name)
        )));
    }
    let container = if words.len() == 4 {
        let cmd = String::from_utf8_lossy(words[2]).into_owned();
        let id = String::from_utf8_lossy(words[3]).into_owned();
        if cmd != "docker" && cmd != "podman" {
            return Err(Refusal::invalid(format!(
                "invalid container command [{cmd}]"
            )));
        }
        if !valid_container_id(words[3]) {
            return Err(Refusal::invalid(format!("invalid container id [{id}]")));
        }
        Some((cmd, id))
    } else {
        None
    };
    Ok(Request {
        dir: OsStr::from_bytes(dir).to_os_string(),
        name: OsStr::from_bytes(name).to_os_string(),
        container,
    })
}

/// A service directory name, or `NAME/log`: nothing that leaves DIR.
fn valid_name(name: &[u8]) -> bool {
    let one = |c: &[u8]| !c.is_empty() && c != b"." && c != b"..";
    match name.iter().position(|&b| b == b'/') {
        None => one(name),
        Some(i) => one(&name[..i]) && &name[i + 1..] == b"log",
    }
}

/// A container name or id as docker and podman make them.
fn valid_container_id(id: &[u8]) -> bool {
    id.len() <= 128
        && id.first().is_some_and(u8::is_ascii_alphanumeric)
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Whether `dir` is one of the served directories (trailing slashes aside).
fn served(dirs: &[OsString], dir: &OsStr) -> bool {
    let trim = |d: &[u8]| -> Vec<u8> {
        let mut d = d.to_vec();
        while d.len() > 1 && d.last() == Some(&b'/') {
            d.pop();
        }
        d
    };
    let want = trim(dir.as_bytes());
    dirs.is_empty() || dirs.iter().any(|d| trim(d.as_bytes()) == want)
}

/// Say why on stdout (as JSON with `-j`) and in the log; exit 111.
fn refuse(config: &Config, name: &str, why: Refusal) -> Result<i32, Failure> {
    let answer = if config.json {
        Report::failed(name, &why.client).to_json()
    } else {
        format!("{}: fatal: {}\n", PROG.name(), why.client)
    };
    let _ = write_answer(answer.as_bytes());
    Err(Failure::temp(why.log))
}

fn write_answer(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::temp_sys("unable to write to descriptor 1: ", &e))
}

/// svstat for a service of this host, in this process.
fn answer_local(config: &Config, path: &Path) -> Result<i32, Failure> {
    let shown = path.display().to_string();
    if let Err(e) = indicore::sys::fs::access(path, indicore::sys::fs::Access::EXEC_OK) {
        let e = io::Error::from(e);
        return refuse(
            config,
            &shown,
            Refusal {
                client: format!("unable to access {shown}"),
                log: format!("unable to access [{shown}]: {}", errstr(&e)),
            },
        );
    }
    let now = Label::now();
    if config.json {
        let (report, code) = Report::of(path, now);
        write_answer(report.to_json().as_bytes())?;
        return Ok(code);
    }
    match svstat::status_line(path, now) {
        Ok((line, code)) => {
            write_answer(line.as_bytes())?;
            Ok(code)
        }
        Err((msg, code)) => {
            svstat::PROG.warn(msg);
            Ok(code)
        }
    }
}

/// `CMD exec ID svstat DIR/NAME`: the svstat inside the container answers.
fn answer_container(config: &Config, cmd: &str, id: &str, path: &Path) -> Result<i32, Failure> {
    let shown = path.display().to_string();
    let out = Command::new(cmd)
        .args(["exec", id, "svstat"])
        .arg(path)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return refuse(
                config,
                &shown,
                Refusal {
                    client: format!("unable to exec svstat {shown}"),
                    log: format!("unable to exec svstat {shown}: {}", errstr(&e)),
                },
            )
        }
    };
    let code = out.status.code().unwrap_or(indicore::EXIT_TEMP);
    if !config.json {
        write_answer(&out.stdout)?;
        return Ok(code);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or("");
    let report = Report::from_line(&shown, line).unwrap_or_else(|| {
        let why = if line.is_empty() {
            format!("{cmd} exec {id} svstat: exit status {code}")
        } else {
            line.to_string()
        };
        Report::failed(&shown, &why)
    });
    write_answer(report.to_json().as_bytes())?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = parse_request(b"/service qmail-smtpd.25").unwrap();
        assert_eq!(r.path(), PathBuf::from("/service/qmail-smtpd.25"));
        assert_eq!(r.container, None);
        let r = parse_request(b"/service x/log podman web-1").unwrap();
        assert_eq!(r.container, Some(("podman".into(), "web-1".into())));
        assert!(parse_request(b"/service .svscan/log").is_ok());
        for bad in [
            &b"/service"[..],
            b"",
            b"/service ..",
            b"/service .",
            b"/service ../etc",
            b"/service a/b",
            b"/service a/../../etc/log",
            b"/service  a",
            b"/service a ",
            b"/service a docker",
            b"/service a lxc x",
            b"/service a docker -it",
            b"/service a docker x;y",
            b"/service a\tb",
            b" a",
        ] {
            let e = parse_request(bad).unwrap_err();
            assert_eq!(e.client, "invalid input", "{bad:?}");
        }
    }

    #[test]
    fn served_directories() {
        let dirs = [OsString::from("/service/")];
        assert!(served(&dirs, OsStr::new("/service")));
        assert!(served(&dirs, OsStr::new("/service//")));
        assert!(!served(&dirs, OsStr::new("/etc")));
        assert!(served(&[], OsStr::new("/anything")));
    }
}
