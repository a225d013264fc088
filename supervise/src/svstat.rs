//! `svstat [-j] dir...`: one status line per service on stdout, warnings on stderr, and an
//! exit code for the last service (docs/daemontools.md#svstat). Each service is visited as the
//! reference does it: the process changes into the directory, and into the `/run/svscan`
//! mirror only when the directory has no `supervise/ok`.
//!
//! Extensions (README "svc, svstat, svok, svps"): an up line ends in `, ready` when
//! `supervise/info` says the service announced readiness; `-j` as the first argument prints
//! one JSON object per service instead (crate::report). The reference parses no options, so
//! any other first argument, `-x` included, is a directory as before.

use crate::info::{self, Info};
use crate::report::Report;
use crate::runfs::{self, NoMirror, Origin};
use crate::status::{Status, Want};
use indicore::tai::Label;
use indicore::{errstr, Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub const PROG: Prog = Prog("svstat");

/// Exit codes (the last service's state).
pub const UP: i32 = 0;
pub const DOWN: i32 = 1;
pub const NOT_RUNNING: i32 = 2;
pub const PAUSED: i32 = 3;
pub const WANT_DOWN: i32 = 5;
pub const BAD_FORMAT: i32 = 100;
pub const ERROR: i32 = 111;

/// The JSON switch; only as the first argument (COMPATIBILITY S18).
pub const JSON_FLAG: &str = "-j";

/// What svstat reads of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub status: Status,
    /// It has a `down` file.
    pub normally_down: bool,
    /// `supervise/info`, when present and about the same moment as `status`.
    pub info: Option<Info>,
}

impl Service {
    /// The service announced readiness in this run (only services with `notification-fd`).
    pub fn ready(&self) -> bool {
        self.info.is_some_and(|i| i.ready == Some(true))
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    if args.get(1).is_some_and(|a| a == JSON_FLAG) {
        return Ok(run_json(&args[2..]));
    }
    let origin =
        Origin::open().map_err(|e| Failure::temp_sys("unable to open current directory: ", &e))?;
    // No directory: nothing to report, exit 0 (as the reference).
    let mut code = 0;
    // The reference writes its lines through a 256-byte buffer and its warnings unbuffered.
    let mut out = BufWriter::with_capacity(256, io::stdout().lock());
    for dir in &args[1..] {
        let name = dir.to_string_lossy();
        code = match visit(dir) {
            Ok(service) => {
                let (line, c) = format_line(&name, &service, Label::now());
                let _ = out.write_all(line.as_bytes());
                c
            }
            Err((warning, c)) => {
                PROG.warn(warning);
                c
            }
        };
        origin
            .back()
            .map_err(|e| Failure::temp_sys("unable to revert directory: ", &e))?;
    }
    let _ = out.flush();
    Ok(code)
}

/// `svstat -j dir...`: one JSON object per service (its log service inside), the exit code
/// of the last as without `-j`; a warning is the object's `error`, not a line on stderr.
fn run_json(dirs: &[OsString]) -> i32 {
    let mut code = 0;
    let mut out = BufWriter::new(io::stdout().lock());
    for dir in dirs {
        let (report, c) = Report::of(Path::new(dir), Label::now());
        let _ = out.write_all(report.to_json().as_bytes());
        code = c;
    }
    let _ = out.flush();
    code
}

/// The line for one service and its exit code, or the warning and exit code.
pub fn status_line(dir: &Path, now: Label) -> Result<(String, i32), (String, i32)> {
    let service = read_service(dir)?;
    Ok(format_line(&dir.to_string_lossy(), &service, now))
}

/// One service's decoded status, `down` file and `supervise/info`, or the warning svstat
/// prints and its exit code; the working directory is restored afterwards.
pub fn read_service(dir: &Path) -> Result<Service, (String, i32)> {
    let origin = Origin::open().map_err(|e| {
        (
            format!("unable to open current directory: {}", errstr(&e)),
            ERROR,
        )
    })?;
    let r = visit(dir.as_os_str());
    let _ = origin.back();
    r
}

/// Change into `dir` (or its mirror) and read its state; the working directory is left there.
fn visit(dir: &OsStr) -> Result<Service, (String, i32)> {
    let name = dir.to_string_lossy();
    let one = |msg: String, code: i32| (msg, code);
    std::env::set_current_dir(dir).map_err(|e| {
        one(
            format!("unable to to chdir to {name}: {}", errstr(&e)),
            ERROR,
        )
    })?;
    let normally_down = match std::fs::metadata("down") {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(one(
                format!("unable to stat {name}/down: {}", errstr(&e)),
                ERROR,
            ))
        }
    };
    let not_running = |e: &io::Error| {
        format!(
            "unable to open {name}/supervise/ok: supervise not running: {}",
            errstr(e)
        )
    };
    // The code a later failure keeps: 2 once supervise/ok was found missing.
    let mut code = ERROR;
    let ok = Path::new("supervise/ok");
    if let Err(e) = indicore::fd::open_write(ok) {
        match indicore::sys::errno(&e) {
            Some(indicore::sys::Errno::NXIO) => return Err(one(not_running(&e), NOT_RUNNING)),
            Some(indicore::sys::Errno::NOENT) => code = NOT_RUNNING,
            _ => {
                return Err(one(
                    format!("unable to open {name}/supervise/ok: {}", errstr(&e)),
                    ERROR,
                ))
            }
        }
        match runfs::enter_mirror(dir) {
            Ok(()) => {}
            Err(NoMirror::NoRunFs) => return Err(one(not_running(&e), code)),
            Err(NoMirror::Cwd(e)) => {
                return Err(one(
                    format!("unable to get current working directory: {}", errstr(&e)),
                    code,
                ))
            }
            Err(NoMirror::NoState(e)) => {
                return Err(one(
                    format!("No run state information for {name}: {}", errstr(&e)),
                    code,
                ))
            }
            Err(NoMirror::TooLong) => return Err(one(format!("{name}: name too long"), code)),
        }
        if let Err(e) = indicore::fd::open_write(ok) {
            return Err(match indicore::sys::errno(&e) {
                Some(indicore::sys::Errno::NXIO | indicore::sys::Errno::NOENT) => {
                    one(not_running(&e), NOT_RUNNING)
                }
                _ => one(
                    format!("unable to open {name}/supervise/ok: {}", errstr(&e)),
                    code,
                ),
            });
        }
    }
    let (status, info) = status_and_info(&name, code)?;
    Ok(Service {
        status,
        normally_down,
        info,
    })
}

/// `supervise/status` and `supervise/info` of the working directory, read at one moment;
/// `code` is the exit code a failure to open the status file keeps (2 when it is missing).
pub fn status_and_info(name: &str, code: i32) -> Result<(Status, Option<Info>), (String, i32)> {
    let mut status = read_status(name, code)?;
    // `info` names the pid `status` showed when it was written: another pid means the two
    // were read across a change, so both are read again.
    for _ in 0..4 {
        match info::read(Path::new("supervise/info")) {
            Some(i) if i.pid == status.pid => return Ok((status, Some(i))),
            Some(_) => status = read_status(name, code)?,
            None => break,
        }
    }
    Ok((status, None))
}

/// Read and decode `supervise/status` of the working directory.
fn read_status(name: &str, mut code: i32) -> Result<Status, (String, i32)> {
    let bytes = crate::status::read(Path::new("supervise/status")).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            code = NOT_RUNNING;
        }
        (
            format!("unable to open {name}/supervise/status: {}", errstr(&e)),
            code,
        )
    })?;
    Status::decode(&bytes).ok_or_else(|| {
        (
            format!("unable to read {name}/supervise/status: bad format"),
            BAD_FORMAT,
        )
    })
}

/// The exact svstat line (word positions are parsed by svps and other scripts) and its
/// exit code. `, ready` goes after the pid, so that every word keeps its position.
pub fn format_line(name: &str, service: &Service, now: Label) -> (String, i32) {
    let s = &service.status;
    let normally_down = service.normally_down;
    let (secs, nanos) = elapsed(s.when, now);
    let state = if s.wait != 0 {
        "wait"
    } else if s.up {
        "up"
    } else {
        "down"
    };
    let mut line = format!("{name}: {state} {secs}.{nanos:09} seconds");
    if s.up && normally_down {
        line.push_str(", normally down");
    }
    if s.pid == 0 && !normally_down {
        line.push_str(", normally up");
    }
    if s.up && s.paused {
        line.push_str(", paused");
    }
    if s.pid == 0 && s.want == Want::Up {
        line.push_str(", want up");
    }
    if s.up && s.want == Want::Down {
        line.push_str(", want down");
    }
    if s.pid != 0 && s.up {
        // A pid that cannot be signalled for lack of permission is alive all the same.
        let gone = indicore::sys::process::pid(s.pid as i32).is_some_and(|p| {
            indicore::sys::process::probe(p)
                .is_err_and(|e| indicore::sys::errno(&e) == Some(indicore::sys::Errno::SRCH))
        });
        let mark = if gone { " ?pid" } else { "  pid" };
        line.push_str(&format!("{mark} {} ", s.pid));
        if service.ready() && s.wait == 0 && mark == "  pid" {
            line.push_str(", ready");
        }
    } else if s.pid != 0 {
        line.push_str(&format!(" spid {} ", s.pid));
    }
    if s.wait > 0 && (secs as i64) < s.wait as i64 {
        line.push_str(&format!(
            "remaining {} seconds",
            s.wait as i64 - secs as i64
        ));
    }
    line.push('\n');
    (line, exit_code(s))
}

/// svstat's exit code for a status it could read: down (1) unless a process runs; then
/// want down (5), paused (3) or up (0).
pub fn exit_code(s: &Status) -> i32 {
    if s.pid == 0 || !s.up {
        DOWN
    } else if s.want == Want::Down {
        WANT_DOWN
    } else if s.paused {
        PAUSED
    } else {
        UP
    }
}

/// Whole seconds and nanoseconds from `when` to `now` (zero if `when` is in the future).
pub fn elapsed(when: Label, now: Label) -> (u64, u32) {
    let a = when.secs as u128 * 1_000_000_000 + when.nanos as u128;
    let b = now.secs as u128 * 1_000_000_000 + now.nanos as u128;
    let d = b.saturating_sub(a);
    ((d / 1_000_000_000) as u64, (d % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Layout;

    fn st(up: bool, want: Want, wait: i16, paused: bool) -> Status {
        Status {
            when: Label {
                secs: 1000,
                nanos: 5,
            },
            pid: 1,
            paused,
            want,
            wait,
            up,
            layout: Layout::IndiMail,
        }
    }

    fn sv(status: Status, normally_down: bool) -> Service {
        Service {
            status,
            normally_down,
            info: None,
        }
    }

    #[test]
    fn layouts() {
        let now = Label {
            secs: 1064,
            nanos: 402_144_999,
        };
        let (l, c) = format_line("/service/a", &sv(st(true, Want::Up, 0, false), false), now);
        assert_eq!(l, "/service/a: up 64.402144994 seconds  pid 1 \n");
        assert_eq!(c, UP);
        let (l, c) = format_line("b", &sv(st(false, Want::Down, 0, false), true), now);
        assert_eq!(
            (l.as_str(), c),
            ("b: down 64.402144994 seconds spid 1 \n", DOWN)
        );
        // The reference's words: no `normally up`/`want up` while a pid is recorded.
        let (l, _) = format_line("b", &sv(st(false, Want::Up, 0, false), false), now);
        assert_eq!(l, "b: down 64.402144994 seconds spid 1 \n");
        let mut never = st(false, Want::Up, 0, false);
        never.pid = 0;
        let (l, c) = format_line("b", &sv(never, false), now);
        assert_eq!(
            (l.as_str(), c),
            ("b: down 64.402144994 seconds, normally up, want up\n", DOWN)
        );
        let (l, c) = format_line("c", &sv(st(false, Want::Up, 70, false), false), now);
        assert_eq!(
            (l.as_str(), c),
            (
                "c: wait 64.402144994 seconds spid 1 remaining 6 seconds\n",
                DOWN
            )
        );
        let (l, c) = format_line("d", &sv(st(true, Want::Down, 0, true), true), now);
        assert_eq!(
            l,
            "d: up 64.402144994 seconds, normally down, paused, want down  pid 1 \n"
        );
        assert_eq!(c, WANT_DOWN);
        let (_, c) = format_line("d", &sv(st(true, Want::Up, 0, true), false), now);
        assert_eq!(c, PAUSED);
        let (_, c) = format_line("d", &sv(st(true, Want::Down, 0, false), false), now);
        assert_eq!(c, WANT_DOWN);
    }

    #[test]
    fn ready_only_when_info_says_so() {
        let now = Label {
            secs: 1064,
            nanos: 402_144_999,
        };
        // pid 1 runs: the mark is `  pid`.
        let mut s = sv(st(true, Want::Up, 0, false), true);
        let plain = "a: up 64.402144994 seconds, normally down  pid 1 \n";
        for ready in [None, Some(false)] {
            s.info = Some(Info {
                pid: 1,
                ready,
                restarts: 3,
            });
            assert_eq!(format_line("a", &s, now).0, plain);
        }
        s.info = Some(Info {
            pid: 1,
            ready: Some(true),
            restarts: 0,
        });
        assert_eq!(
            format_line("a", &s, now),
            (
                "a: up 64.402144994 seconds, normally down  pid 1 , ready\n".to_string(),
                UP
            )
        );
        // Never on a down line.
        s.status.up = false;
        assert_eq!(
            format_line("a", &s, now).0,
            "a: down 64.402144994 seconds spid 1 \n"
        );
    }

    #[test]
    fn future_timestamp_is_zero() {
        assert_eq!(
            elapsed(Label { secs: 10, nanos: 0 }, Label { secs: 5, nanos: 0 }),
            (0, 0)
        );
    }
}
