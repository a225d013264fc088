//! `rsvc [-H host [-p port]] [-t timeout] servicedir service [docker|podman id]`: ask a
//! remote svstatd about one service. Under tcpclient (no `-H`) it talks on descriptors 6
//! and 7; with `-H` it connects itself.
//!
//! Exit codes as the reference's: 0 up, 1 down; any other answer (waiting, an error, no
//! answer at all) is printed on stderr and gives 111; bad usage gives 1.

use crate::report::json_top_string;
use indicore::getopt::{Getopt, Opt};
use indicore::{errstr, Failure, Prog, EXIT_TEMP};
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::RawFd;
use std::time::Duration;

pub const PROG: Prog = Prog("rsvc");

const USAGE: &str = "USAGE: rsvc servicedir service [docker|podman container_id]";

/// svstatd's port in the reference's examples.
const DEFAULT_PORT: u16 = 3002;
const DEFAULT_TIMEOUT: u64 = 60;

/// The longest answer read.
const MAX_ANSWER: usize = 64 * 1024;

struct Config {
    host: Option<String>,
    port: u16,
    timeout: Duration,
    words: Vec<OsString>,
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let config = match parse_options(args) {
        Some(c) => c,
        None => {
            indicore::diag::emit(format_args!("{USAGE}\n"));
            return Ok(1);
        }
    };
    let mut request = Vec::new();
    for (i, w) in config.words.iter().enumerate() {
        if i > 0 {
            request.push(b' ');
        }
        request.extend_from_slice(w.as_encoded_bytes());
    }
    request.push(b'\n');
    let answer = match &config.host {
        Some(host) => ask_directly(host, config.port, config.timeout, &request)?,
        None => ask_through_tcpclient(config.timeout, &request)?,
    };
    let line = first_line(&answer);
    let asked = format!(
        "{}/{}",
        config.words[0].to_string_lossy(),
        config.words[1].to_string_lossy()
    );
    match state_of(&asked, line) {
        Some("up") => Ok(0),
        Some("down") => Ok(1),
        _ => {
            indicore::diag::emit(format_args!("{}\n", line.trim_matches([' ', '\t'])));
            Ok(EXIT_TEMP)
        }
    }
}

/// None: the usage message, exit 1 (the reference's wording and code).
fn parse_options(args: &[OsString]) -> Option<Config> {
    let mut config = Config {
        host: None,
        port: DEFAULT_PORT,
        timeout: Duration::from_secs(DEFAULT_TIMEOUT),
        words: Vec::new(),
    };
    let mut opts = Getopt::new(args, "H:p:t:");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'H', Some(h)) => config.host = Some(h.to_string_lossy().into_owned()),
            Opt::Flag(b'p', Some(p)) => config.port = p.to_str()?.parse().ok()?,
            Opt::Flag(b't', Some(t)) => {
                let secs: u64 = t.to_str()?.parse().ok()?;
                config.timeout = Duration::from_secs(secs.max(1));
            }
            problem => {
                indicore::diag::emit(format_args!("{}", opts.usage(&problem, "")));
                return None;
            }
        }
    }
    config.words = opts.rest().to_vec();
    matches!(config.words.len(), 2 | 4).then_some(config)
}

/// The state an answer reports: the JSON `state`, or the word after `servicedir/service: `
/// (any `: up` / `: down` in the line, as the reference greps, when the name differs).
fn state_of<'a>(asked: &str, line: &'a str) -> Option<&'a str> {
    if line.trim_start().starts_with('{') {
        return match json_top_string(line, "state").as_deref() {
            Some("up") => Some("up"),
            Some("down") => Some("down"),
            _ => None,
        };
    }
    if let Some(rest) = line.strip_prefix(asked).and_then(|r| r.strip_prefix(": ")) {
        return rest.split_whitespace().next();
    }
    if line.contains(": up") {
        Some("up")
    } else if line.contains(": down") {
        Some("down")
    } else {
        None
    }
}

fn first_line(answer: &[u8]) -> &str {
    let end = answer
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(answer.len());
    std::str::from_utf8(&answer[..end]).unwrap_or("")
}

/// Request on descriptor 7, answer from descriptor 6 (tcpclient's).
fn ask_through_tcpclient(timeout: Duration, request: &[u8]) -> Result<Vec<u8>, Failure> {
    indicore::fd::write_all_raw(7, request)
        .map_err(|e| Failure::temp_sys("unable to write to descriptor 7: ", &e))?;
    read_answer(6, timeout).map_err(|e| Failure::temp_sys("unable to read from descriptor 6: ", &e))
}

fn read_answer(fd: RawFd, timeout: Duration) -> io::Result<Vec<u8>> {
    let deadline = std::time::Instant::now() + timeout;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.contains(&b'\n') && answer.len() < MAX_ANSWER {
        if std::time::Instant::now() >= deadline {
            return Err(std::io::Error::from(indicore::sys::Errno::TIMEDOUT));
        }
        if !indicore::sys::poll::readable(indicore::sys::io::inherited(fd), Some(deadline))? {
            continue;
        }
        let n = indicore::fd::read_raw(fd, &mut buf)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    Ok(answer)
}

/// Connect to `host`:`port` (a name or an address), send, read the answer.
fn ask_directly(
    host: &str,
    port: u16,
    timeout: Duration,
    request: &[u8],
) -> Result<Vec<u8>, Failure> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Failure::temp(format!("unable to figure out IP address for {host}: {e}")))?
        .collect();
    let mut last = std::io::Error::from(indicore::sys::Errno::HOSTUNREACH);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(mut s) => {
                s.write_all(request)
                    .map_err(|e| Failure::temp_sys(format!("unable to write to {addr}: "), &e))?;
                let _ = s.shutdown(std::net::Shutdown::Write);
                let fd = std::os::fd::AsRawFd::as_raw_fd(&s);
                let answer = read_answer(fd, timeout)
                    .map_err(|e| Failure::temp_sys(format!("unable to read from {addr}: "), &e))?;
                return Ok(answer);
            }
            Err(e) => last = e,
        }
    }
    Err(Failure::temp(format!(
        "unable to connect to {host} port {port}: {}",
        errstr(&last)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        let a = "/service/x";
        assert_eq!(
            state_of(a, "/service/x: up 3.1 seconds  pid 5 "),
            Some("up")
        );
        assert_eq!(
            state_of(a, "/service/x: down 3.1 seconds spid 5 "),
            Some("down")
        );
        assert_eq!(
            state_of(a, "/service/x: wait 3.1 seconds spid 5 remaining 2 seconds"),
            Some("wait")
        );
        assert_eq!(state_of(a, "svstatd: fatal: invalid input"), None);
        assert_eq!(state_of(a, ""), None);
        assert_eq!(state_of(a, "/other: up 1.0 seconds pid 2"), Some("up"));
        assert_eq!(
            state_of(
                a,
                "{\"name\":\"/service/x\",\"state\":\"down\",\"log\":null}"
            ),
            Some("down")
        );
        assert_eq!(
            state_of(a, "{\"name\":\"x\",\"state\":\"unsupervised\"}"),
            None
        );
    }
}
