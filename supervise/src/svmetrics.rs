//! `svmetrics [-H] [-s scandir] [-t file] [dir ...]`: the Prometheus text exposition
//! (format 0.0.4) of service directories and of tcpserver metrics files (`tcpserver -Y`).
//!
//! Services come from the operands and from every subdirectory of each `-s` directory
//! (read anew on every run, so services linked in later are seen), each with its `log`
//! service. Metrics files come from `-t` and from `DIR/tcpserver.metrics` when a service
//! has one. With `-H` it answers one HTTP GET on stdin/stdout, as a program under
//! tcpserver: `tcpserver -HR -l0 127.0.0.1 9101 svmetrics -H -s /service`.
//!
//! Readiness and restarts come from `supervise/info` (crate::info), which our supervise
//! writes beside the 21-byte status file: `sv_ready` for services with a `notification-fd`
//! file, `sv_restarts_total` (starts of `run` since this supervise began, less the first;
//! back to 0 when supervise restarts, which Prometheus reads as a counter reset) for every
//! service whose supervise writes the file.

use crate::report::{Report, State};
use indicore::getopt::{Getopt, Opt};
use indicore::tai::Label;
use indicore::tcpmetrics::{self, Counter, Snapshot};
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const PROG: Prog = Prog("svmetrics");

const USAGE: &str = "usage: svmetrics [-H] [-s scandir] [-t metricsfile] [dir ...]";

/// The metrics file a service's tcpserver writes by convention (`-Y tcpserver.metrics`
/// in its run script, whose working directory is the service directory).
pub const SERVICE_METRICS: &str = "tcpserver.metrics";

/// How long an HTTP client may take to send its request, and how large it may be.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_MAX: usize = 8192;

struct Config {
    http: bool,
    scandirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn parse(args: &[OsString]) -> Result<Config, Failure> {
    let mut c = Config {
        http: false,
        scandirs: Vec::new(),
        files: Vec::new(),
        dirs: Vec::new(),
    };
    let mut g = Getopt::new(args, "Hs:t:");
    for opt in g.by_ref() {
        match opt {
            Opt::Flag(b'H', _) => c.http = true,
            Opt::Flag(b's', Some(a)) => c.scandirs.push(a.into()),
            Opt::Flag(b't', Some(a)) => c.files.push(a.into()),
            other => return Err(Failure::usage(g.usage(&other, USAGE))),
        }
    }
    c.dirs = g.rest().iter().map(PathBuf::from).collect();
    if c.dirs.is_empty() && c.scandirs.is_empty() && c.files.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    Ok(c)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let c = parse(args)?;
    if c.http {
        return Ok(http(&c));
    }
    let (text, failed) = exposition(&c);
    indicore::fd::write_all_raw(1, text.as_bytes())
        .map_err(|e| Failure::temp_sys("unable to write output: ", &e))?;
    Ok(if failed { 111 } else { 0 })
}

/// The services to report: the operands, then each scan directory's subdirectories
/// (names not starting with `.`, sorted).
fn services(c: &Config) -> Vec<PathBuf> {
    let mut out = c.dirs.clone();
    for scan in &c.scandirs {
        let mut found: Vec<PathBuf> = match std::fs::read_dir(scan) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect(),
            Err(e) => {
                PROG.warn(format_args!(
                    "unable to read {}: {}",
                    scan.display(),
                    errstr(&e)
                ));
                Vec::new()
            }
        };
        found.sort();
        out.extend(found);
    }
    out
}

/// One metric family: its samples, printed together under one HELP and TYPE.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(String, u64)>,
}

/// The families in print order, filled sample by sample.
struct Exposition {
    families: Vec<Family>,
}

impl Exposition {
    fn new() -> Exposition {
        Exposition {
            families: Vec::new(),
        }
    }

    fn add(
        &mut self,
        name: &'static str,
        kind: &'static str,
        help: &'static str,
        labels: &[(&str, &str)],
        v: u64,
    ) {
        let i = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.families.push(Family {
                    name,
                    kind,
                    help,
                    samples: Vec::new(),
                });
                self.families.len() - 1
            }
        };
        let mut l = String::new();
        for (k, val) in labels {
            if val.is_empty() {
                continue;
            }
            if !l.is_empty() {
                l.push(',');
            }
            let _ = write!(l, "{k}=\"{}\"", escape(val));
        }
        self.families[i].samples.push((l, v));
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
            for (labels, v) in &f.samples {
                let _ = writeln!(out, "{}{{{labels}}} {v}", f.name);
            }
        }
        out
    }
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition, and whether a named metrics file could not be read.
fn exposition(c: &Config) -> (String, bool) {
    let now = Label::now();
    let mut e = Exposition::new();
    let mut failed = false;
    let mut files: Vec<(PathBuf, String)> =
        c.files.iter().map(|f| (f.clone(), String::new())).collect();
    let named = files.len();
    for dir in services(c) {
        let (report, _) = Report::of(&dir, now);
        service(&mut e, &report);
        if let Some(log) = &report.log {
            service(&mut e, log);
        }
        let m = dir.join(SERVICE_METRICS);
        if m.is_file() {
            files.push((m, dir.display().to_string()));
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, (path, service)) in files.iter().enumerate() {
        match tcpmetrics::read(path) {
            // The same address twice (a stale copy of a file): the first one stands.
            Ok(s) if seen.contains(&s.listen) => {}
            Ok(s) => {
                tcpserver(&mut e, &s, service);
                seen.push(s.listen);
            }
            Err(err) if i < named => {
                failed = true;
                PROG.warn(format_args!(
                    "unable to read {}: {}",
                    path.display(),
                    if err.kind() == std::io::ErrorKind::InvalidData {
                        "not a tcpserver metrics file"
                    } else {
                        errstr(&err)
                    }
                ));
            }
            Err(_) => {}
        }
    }
    (e.text(), failed)
}

/// The series of one service.
fn service(e: &mut Exposition, r: &Report) {
    let l = [("service", r.name.as_str())];
    let supervised = !matches!(r.state, State::Unsupervised | State::Error);
    e.add(
        "sv_supervised",
        "gauge",
        "Whether supervise runs for the service (1) or not (0).",
        &l,
        supervised as u64,
    );
    e.add(
        "sv_up",
        "gauge",
        "Whether the service is up (1) or not (0).",
        &l,
        (r.state == State::Up) as u64,
    );
    if let Some(s) = r.seconds {
        e.add(
            "sv_state_seconds",
            "gauge",
            "Seconds since the service's last change of state.",
            &l,
            s,
        );
    }
    if let Some(n) = r.normally {
        e.add(
            "sv_normally_up",
            "gauge",
            "Whether the service starts when supervise does (1: no down file).",
            &l,
            (n == "up") as u64,
        );
    }
    if let Some(p) = r.paused {
        e.add(
            "sv_paused",
            "gauge",
            "Whether the service is paused (svc -p).",
            &l,
            p as u64,
        );
    }
    if let Some(ready) = r.ready {
        e.add(
            "sv_ready",
            "gauge",
            "Whether the service announced readiness in this run (services with notification-fd).",
            &l,
            ready as u64,
        );
    }
    if let Some(n) = r.restarts {
        e.add(
            "sv_restarts_total",
            "counter",
            "Starts of run since supervise began, less the first (a crash, svc -r, svc -u after -d).",
            &l,
            n.into(),
        );
    }
}

/// The series of one tcpserver metrics file.
fn tcpserver(e: &mut Exposition, s: &Snapshot, service: &str) {
    let base = [("listen", s.listen.as_str()), ("service", service)];
    let with = |k: &'static str, v: &'static str| {
        [("listen", s.listen.as_str()), ("service", service), (k, v)]
    };
    e.add(
        "tcpserver_up",
        "gauge",
        "Whether the tcpserver that writes the metrics file runs (1) or not (0).",
        &base,
        s.holder.is_some() as u64,
    );
    e.add(
        "tcpserver_start_time_seconds",
        "gauge",
        "When the tcpserver started, in seconds since the Unix epoch.",
        &base,
        s.started,
    );
    e.add(
        "tcpserver_connections_accepted_total",
        "counter",
        "Connections accepted.",
        &base,
        s.get(Counter::Accepted),
    );
    for (reason, c) in [
        ("rules", Counter::RefusedRules),
        ("perhost", Counter::RefusedPerHost),
        ("maxperip", Counter::RefusedMaxPerIp),
    ] {
        e.add(
            "tcpserver_connections_refused_total",
            "counter",
            "Connections refused: by a deny rule, by -C, by MAXPERIP.",
            &with("reason", reason),
            s.get(c),
        );
    }
    e.add(
        "tcpserver_concurrency_limit_reached_total",
        "counter",
        "Times -c children were running, so that new connections waited in the backlog.",
        &base,
        s.get(Counter::LimitReached),
    );
    e.add(
        "tcpserver_children",
        "gauge",
        "Connection children running.",
        &base,
        s.get(Counter::Children),
    );
    e.add(
        "tcpserver_children_limit",
        "gauge",
        "The -c limit on connection children.",
        &base,
        s.get(Counter::Limit),
    );
    for (result, c) in [
        ("completed", Counter::TlsCompleted),
        ("failed", Counter::TlsFailed),
    ] {
        e.add(
            "tcpserver_tls_handshakes_total",
            "counter",
            "TLS handshakes, completed or failed (timeouts included).",
            &with("result", result),
            s.get(c),
        );
    }
    for (result, c) in [
        ("accepted", Counter::ProxyAccepted),
        ("rejected", Counter::ProxyRejected),
    ] {
        e.add(
            "tcpserver_proxy_headers_total",
            "counter",
            "PROXY protocol headers from trusted balancers, accepted or rejected.",
            &with("result", result),
            s.get(c),
        );
    }
}

/// What an HTTP request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Ask {
    Metrics { head: bool },
    NotFound,
    BadMethod,
    Bad,
}

fn classify(request_line: &[u8]) -> Ask {
    let text = String::from_utf8_lossy(request_line);
    let mut words = text.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Ask::Bad;
    };
    if !version.starts_with("HTTP/1.") {
        return Ask::Bad;
    }
    let path = target.split('?').next().unwrap_or_default();
    let head = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Ask::BadMethod,
    };
    match path {
        "/" | "/metrics" => Ask::Metrics { head },
        _ => Ask::NotFound,
    }
}

/// Read the request head (up to its blank line, or the end of input) from stdin.
fn read_head() -> Option<Vec<u8>> {
    let end = Instant::now() + HTTP_TIMEOUT;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Some(head);
        }
        if head.len() > HTTP_MAX {
            return None;
        }
        crate::svstatd::wait_readable(end).ok()?;
        match indicore::fd::read_raw(0, &mut buf) {
            Ok(0) => return (!head.is_empty()).then_some(head),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

/// Answer one HTTP request on stdin/stdout; the exit code.
fn http(c: &Config) -> i32 {
    let ask = match read_head() {
        Some(head) => {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            classify(line.strip_suffix(b"\r").unwrap_or(line))
        }
        None => Ask::Bad,
    };
    let (status, body, head) = match ask {
        Ask::Metrics { head } => ("200 OK", exposition(c).0, head),
        Ask::NotFound => ("404 Not Found", "not found: try /metrics\n".into(), false),
        Ask::BadMethod => ("405 Method Not Allowed", "GET or HEAD only\n".into(), false),
        Ask::Bad => ("400 Bad Request", "bad request\n".into(), false),
    };
    let ctype = if status.starts_with("200") {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut out = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head {
        out.push_str(&body);
    }
    match indicore::fd::write_all_raw(1, out.as_bytes()) {
        Ok(()) if status.starts_with("200") => 0,
        Ok(()) => 100,
        Err(_) => 111,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(
            classify(b"GET /metrics HTTP/1.1"),
            Ask::Metrics { head: false }
        );
        assert_eq!(
            classify(b"HEAD /?x=1 HTTP/1.0"),
            Ask::Metrics { head: true }
        );
        assert_eq!(classify(b"GET /other HTTP/1.1"), Ask::NotFound);
        assert_eq!(classify(b"POST /metrics HTTP/1.1"), Ask::BadMethod);
        assert_eq!(classify(b"GET /metrics"), Ask::Bad);
        assert_eq!(classify(b"GET /metrics SPDY/3"), Ask::Bad);
        assert_eq!(classify(b""), Ask::Bad);
    }

    #[test]
    fn families_are_grouped_and_labels_escaped() {
        let mut e = Exposition::new();
        e.add("a", "gauge", "A.", &[("service", "x\"y\\z\n")], 1);
        e.add(
            "b_total",
            "counter",
            "B.",
            &[("listen", "l"), ("service", "")],
            2,
        );
        e.add("a", "gauge", "A.", &[("service", "w")], 0);
        assert_eq!(
            e.text(),
            "# HELP a A.\n# TYPE a gauge\na{service=\"x\\\"y\\\\z\\n\"} 1\na{service=\"w\"} 0\n\
             # HELP b_total B.\n# TYPE b_total counter\nb_total{listen=\"l\"} 2\n"
        );
    }
}
