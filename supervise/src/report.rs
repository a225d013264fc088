//! A service's status as named fields, for programs rather than people: built from the
//! service's status file, or read back from an svstat line (a service inside a container,
//! where only that container's svstat can look), and written as one line of JSON.
//!
//! The object (field names and order are stable; `svstat -j` prints the same):
//!
//! | field | value |
//! |---|---|
//! | `name` | the directory as asked |
//! | `state` | `up`, `down`, `wait`, `unsupervised` (supervise not running) or `error` |
//! | `pid` | the service's pid when up, else null |
//! | `seconds` | whole seconds in this state |
//! | `normally` | `up`, or `down` when the service has a `down` file |
//! | `paused` | true or false |
//! | `want` | `up`, `down` or `once` (`svc -o`) |
//! | `remaining` | seconds still to wait after a dependency came up, else null |
//! | `ready` | for a service with a `notification-fd` file: true once it announced readiness in this run, false before and while it is not up; null for every other service (up is ready) and when nothing tells |
//! | `restarts` | starts of `run` since this supervise began, less the first (`supervise/info`); null when supervise does not count them |
//! | `error` | svstat's warning when the state is `unsupervised` or `error`, else null |
//! | `log` | the same object for `DIR/log` when it is a directory, else null |
//!
//! A field nothing could tell (a stopped service's want, from a text line) is null.

use crate::status::Want;
use crate::svstat::{self, Service};
use indicore::tai::Label;
use std::fmt::Write;
use std::path::Path;

/// The file that makes a service announce its readiness (README "Readiness").
const NOTIFICATION_FD: &str = "notification-fd";

/// What a service is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up,
    Down,
    Wait,
    Unsupervised,
    Error,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
            State::Wait => "wait",
            State::Unsupervised => "unsupervised",
            State::Error => "error",
        }
    }
}

/// One service, field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub name: String,
    pub state: State,
    pub pid: Option<u32>,
    pub seconds: Option<u64>,
    pub normally: Option<&'static str>,
    pub paused: Option<bool>,
    pub want: Option<&'static str>,
    pub remaining: Option<u64>,
    pub ready: Option<bool>,
    pub restarts: Option<u32>,
    pub error: Option<String>,
    pub log: Option<Box<Report>>,
}

impl Report {
    fn empty(name: String, state: State) -> Report {
        Report {
            name,
            state,
            pid: None,
            seconds: None,
            normally: None,
            paused: None,
            want: None,
            remaining: None,
            ready: None,
            restarts: None,
            error: None,
            log: None,
        }
    }

    /// The report for service `dir` (with its log service) and svstat's exit code for it.
    pub fn of(dir: &Path, now: Label) -> (Report, i32) {
        let (mut report, code) = Report::of_one(dir, now);
        let is_log = dir.file_name().is_some_and(|n| n == "log");
        if !is_log && dir.join("log").is_dir() {
            report.log = Some(Box::new(Report::of_one(&dir.join("log"), now).0));
        }
        (report, code)
    }

    fn of_one(dir: &Path, now: Label) -> (Report, i32) {
        let name = dir.display().to_string();
        match svstat::read_service(dir) {
            Ok(service) => {
                let mut r = Report::from_service(name, &service, now);
                // Readiness is tracked only while up (`ready -`): a service that announces
                // it is not ready while down.
                if r.ready.is_none() && r.state != State::Up && dir.join(NOTIFICATION_FD).exists() {
                    r.ready = Some(false);
                }
                (r, svstat::exit_code(&service.status))
            }
            Err((msg, code)) => {
                let state = if code == svstat::NOT_RUNNING {
                    State::Unsupervised
                } else {
                    State::Error
                };
                let mut r = Report::empty(name, state);
                r.error = Some(msg);
                (r, code)
            }
        }
    }

    /// The fields of a decoded status file and its `supervise/info`.
    pub fn from_service(name: String, service: &Service, now: Label) -> Report {
        let s = &service.status;
        let normally_down = service.normally_down;
        let secs = svstat::elapsed(s.when, now).0;
        let state = if s.wait != 0 {
            State::Wait
        } else if s.up {
            State::Up
        } else {
            State::Down
        };
        let mut r = Report::empty(name, state);
        r.pid = (state == State::Up).then_some(s.pid);
        r.seconds = Some(secs);
        r.normally = Some(if normally_down { "down" } else { "up" });
        r.paused = Some(s.paused);
        r.want = Some(match s.want {
            Want::Up => "up",
            Want::Down => "down",
            Want::Once => "once",
        });
        r.remaining = (s.wait > 0 && secs < s.wait as u64).then(|| s.wait as u64 - secs);
        if let Some(info) = service.info {
            r.ready = if state == State::Up { info.ready } else { None };
            r.restarts = Some(info.restarts);
        }
        r
    }

    /// Read back an svstat line about `name` (ours or the reference's wording); None when
    /// the line is not one.
    pub fn from_line(name: &str, line: &str) -> Option<Report> {
        let rest = line.trim_end().strip_prefix(name)?.strip_prefix(": ")?;
        let mut words = rest.split_whitespace();
        let state = match words.next()? {
            "up" => State::Up,
            "down" => State::Down,
            "wait" => State::Wait,
            _ => return None,
        };
        let seconds = words.next()?.split('.').next()?.parse().ok()?;
        let words: Vec<&str> = words.collect();
        let after = |key: &str| {
            words
                .iter()
                .position(|w| *w == key)
                .and_then(|i| words.get(i + 1))
                .and_then(|w| w.trim_end_matches(',').parse::<u64>().ok())
        };
        let has = |phrase: &str| rest.contains(phrase);
        let mut r = Report::empty(name.to_string(), state);
        r.seconds = Some(seconds);
        r.paused = Some(has(", paused"));
        if state == State::Up {
            r.pid = after("pid").or_else(|| after("?pid")).map(|p| p as u32);
            r.normally = Some(if has(", normally down") { "down" } else { "up" });
            r.want = Some(if has(", want down") { "down" } else { "up" });
        } else {
            r.normally = has(", normally up").then_some("up");
            r.want = has(", want up").then_some("up");
        }
        r.remaining = after("remaining");
        // Our svstat's word; from a line without it nothing tells.
        r.ready = (state == State::Up && has(", ready")).then_some(true);
        Some(r)
    }

    /// The report for an answer that is not a status line at all.
    pub fn failed(name: &str, error: &str) -> Report {
        let mut r = Report::empty(name.to_string(), State::Error);
        r.error = Some(error.to_string());
        r
    }

    /// One line of JSON, newline included.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out.push('\n');
        out
    }

    fn write_json(&self, out: &mut String) {
        fn num(out: &mut String, v: Option<impl std::fmt::Display>) {
            match v {
                Some(n) => {
                    let _ = write!(out, "{n}");
                }
                None => out.push_str("null"),
            }
        }
        fn text(out: &mut String, v: Option<&str>) {
            match v {
                Some(s) => json_string(out, s),
                None => out.push_str("null"),
            }
        }
        out.push_str("{\"name\":");
        json_string(out, &self.name);
        out.push_str(",\"state\":");
        json_string(out, self.state.word());
        out.push_str(",\"pid\":");
        num(out, self.pid);
        out.push_str(",\"seconds\":");
        num(out, self.seconds);
        out.push_str(",\"normally\":");
        text(out, self.normally);
        out.push_str(",\"paused\":");
        num(out, self.paused);
        out.push_str(",\"want\":");
        text(out, self.want);
        out.push_str(",\"remaining\":");
        num(out, self.remaining);
        out.push_str(",\"ready\":");
        num(out, self.ready);
        out.push_str(",\"restarts\":");
        num(out, self.restarts);
        out.push_str(",\"error\":");
        text(out, self.error.as_deref());
        out.push_str(",\"log\":");
        match &self.log {
            Some(log) => log.write_json(out),
            None => out.push_str("null"),
        }
        out.push('}');
    }
}

/// `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The string value of `key` at the top level of the JSON object `text` (nested objects
/// and strings are skipped whole, so a service name cannot fake a field).
pub fn json_top_string(text: &str, key: &str) -> Option<String> {
    let b = text.trim().as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    let mut depth = 1;
    let mut expect_key = true;
    let mut current: Option<String> = None;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let (s, next) = read_string(b, i)?;
                i = next;
                if depth == 1 && expect_key {
                    current = Some(s);
                } else if depth == 1 && current.as_deref() == Some(key) {
                    return Some(s);
                }
                continue;
            }
            b':' if depth == 1 => expect_key = false,
            b',' if depth == 1 => {
                expect_key = true;
                current = None;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The JSON string starting at `b[start]` (a quote), decoded, and the index after it.
fn read_string(b: &[u8], start: usize) -> Option<(String, usize)> {
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            b'\\' => {
                i += 1;
                match *b.get(i)? {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'u' => {
                        let hex = std::str::from_utf8(b.get(i + 1..i + 5)?).ok()?;
                        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)
                            .unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i += 4;
                    }
                    c => out.push(c),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::Info;
    use crate::status::{Layout, Status};

    fn service(status: Status, normally_down: bool) -> Service {
        Service {
            status,
            normally_down,
            info: None,
        }
    }

    fn status(up: bool, want: Want, wait: i16) -> Status {
        Status {
            when: Label {
                secs: 1000,
                nanos: 0,
            },
            pid: 42,
            paused: false,
            want,
            wait,
            up,
            layout: Layout::IndiMail,
        }
    }

    const NOW: Label = Label {
        secs: 1064,
        nanos: 5,
    };

    #[test]
    fn json_of_an_up_service() {
        let s = service(status(true, Want::Up, 0), false);
        let r = Report::from_service("/service/a".into(), &s, NOW);
        assert_eq!(
            r.to_json(),
            "{\"name\":\"/service/a\",\"state\":\"up\",\"pid\":42,\"seconds\":64,\
             \"normally\":\"up\",\"paused\":false,\"want\":\"up\",\"remaining\":null,\
             \"ready\":null,\"restarts\":null,\"error\":null,\"log\":null}\n"
        );
    }

    #[test]
    fn ready_and_restarts_from_info() {
        let mut s = service(status(true, Want::Up, 0), false);
        s.info = Some(Info {
            pid: 42,
            ready: Some(true),
            restarts: 7,
        });
        let r = Report::from_service("a".into(), &s, NOW);
        assert_eq!((r.ready, r.restarts), (Some(true), Some(7)));
        assert!(r.to_json().contains(",\"ready\":true,\"restarts\":7,"));
        s.info = Some(Info {
            pid: 42,
            ready: None,
            restarts: 0,
        });
        let r = Report::from_service("a".into(), &s, NOW);
        assert_eq!((r.ready, r.restarts), (None, Some(0)));
        // Down: whatever info says, readiness is not the down service's.
        s.status.up = false;
        s.info = Some(Info {
            pid: 42,
            ready: Some(true),
            restarts: 1,
        });
        let r = Report::from_service("a".into(), &s, NOW);
        assert_eq!((r.state, r.ready, r.restarts), (State::Down, None, Some(1)));
    }

    #[test]
    fn waiting_and_down_services() {
        let r = Report::from_service("w".into(), &service(status(false, Want::Up, 70), true), NOW);
        assert_eq!(
            (r.state, r.pid, r.remaining, r.normally),
            (State::Wait, None, Some(6), Some("down"))
        );
        let r = Report::from_service(
            "d".into(),
            &service(status(false, Want::Once, 0), false),
            NOW,
        );
        assert_eq!((r.state, r.pid, r.want), (State::Down, None, Some("once")));
    }

    #[test]
    fn names_are_escaped() {
        let r = Report::failed("a\"b\\c\n\u{1}", "x");
        let j = r.to_json();
        assert!(j.starts_with("{\"name\":\"a\\\"b\\\\c\\n\\u0001\",\"state\":\"error\""));
        assert_eq!(json_top_string(&j, "name").unwrap(), "a\"b\\c\n\u{1}");
        assert_eq!(json_top_string(&j, "state").unwrap(), "error");
    }

    #[test]
    fn top_level_only() {
        let text = "{\"name\":\"x\\\",\\\"state\\\":\\\"up\",\"log\":{\"state\":\"up\"},\"state\":\"down\"}";
        assert_eq!(json_top_string(text, "state").unwrap(), "down");
        assert_eq!(
            json_top_string("{\"log\":{\"state\":\"up\"}}", "state"),
            None
        );
        assert_eq!(json_top_string("not json", "state"), None);
    }

    #[test]
    fn lines_read_back() {
        let r = Report::from_line(
            "/service/a",
            "/service/a: up 64.402144994 seconds, normally down, paused  pid 762703 \n",
        )
        .unwrap();
        assert_eq!(
            (r.state, r.pid, r.seconds, r.normally, r.paused, r.want),
            (
                State::Up,
                Some(762703),
                Some(64),
                Some("down"),
                Some(true),
                Some("up")
            )
        );
        let r = Report::from_line("/s/b", "/s/b: down 3.7 seconds spid 5 , normally up").unwrap();
        assert_eq!(
            (r.state, r.pid, r.normally),
            (State::Down, None, Some("up"))
        );
        let r = Report::from_line(
            "/s/c",
            "/s/c: wait 3.285475999 seconds spid 762630 remaining 7 seconds",
        )
        .unwrap();
        assert_eq!((r.state, r.remaining), (State::Wait, Some(7)));
        // the reference's single-blank form
        let r = Report::from_line("/s/d", "/s/d: up 5.1 seconds pid 9").unwrap();
        assert_eq!((r.pid, r.ready), (Some(9), None));
        let r = Report::from_line("/s/d", "/s/d: up 5.1 seconds  pid 9 , ready").unwrap();
        assert_eq!((r.pid, r.ready), (Some(9), Some(true)));
        assert!(Report::from_line("/s/e", "/s/f: up 1.0 seconds pid 1").is_none());
        assert!(Report::from_line("/s/e", "svstatd: fatal: invalid input").is_none());
    }
}
