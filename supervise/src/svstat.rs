//! `svstat dir...`: one status line per service on stdout, errors on stderr, and an exit
//! code for the last service (docs/daemontools.md#svstat).

use crate::runfs;
use crate::status::{Status, Want};
use crate::svok::open_probe;
use indicore::tai::Label;
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;
use std::io::{self, Write};
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

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    if args.len() < 2 {
        return Err(Failure::usage("svstat: usage: svstat dir [dir ...]"));
    }
    let now = Label::now();
    let mut code = 0;
    let mut out = io::stdout().lock();
    for dir in &args[1..] {
        code = match status_line(Path::new(dir), now) {
            Ok((line, c)) => {
                let _ = out.write_all(line.as_bytes());
                c
            }
            Err((msg, c)) => {
                let _ = out.flush();
                PROG.warn(msg);
                c
            }
        };
    }
    let _ = out.flush();
    Ok(code)
}

/// The line for one service and its exit code, or a warning and its exit code.
pub fn status_line(dir: &Path, now: Label) -> Result<(String, i32), (String, i32)> {
    let (status, normally_down) = read_service(dir)?;
    Ok(format_line(
        &dir.display().to_string(),
        &status,
        normally_down,
        now,
    ))
}

/// One service's decoded status and whether it has a `down` file, or the warning svstat
/// prints and its exit code.
pub fn read_service(dir: &Path) -> Result<(Status, bool), (String, i32)> {
    let name = dir.display();
    if let Err(e) = std::fs::read_dir(dir) {
        return Err((
            format!("unable to to chdir to {name}: {}", errstr(&e)),
            ERROR,
        ));
    }
    let normally_down = match std::fs::metadata(dir.join("down")) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err((format!("unable to stat {name}/down: {}", errstr(&e)), ERROR)),
    };
    if let Err(e) = open_probe(dir, "ok") {
        let msg = match e.raw_os_error() {
            Some(libc::ENXIO) => format!(
                "unable to open {name}/supervise/ok: supervise not running: {}",
                errstr(&e)
            ),
            _ => format!("unable to open {name}/supervise/ok: {}", errstr(&e)),
        };
        return Err((msg, NOT_RUNNING));
    }
    let path = runfs::state_file(dir, "status");
    let bytes = crate::status::read(&path).map_err(|e| {
        (
            format!("unable to read {name}/supervise/status: {}", errstr(&e)),
            NOT_RUNNING,
        )
    })?;
    let status = Status::decode(&bytes).ok_or_else(|| {
        (
            format!("unable to read {name}/supervise/status: bad format"),
            BAD_FORMAT,
        )
    })?;
    Ok((status, normally_down))
}

/// The exact svstat line (word positions are parsed by svps and other scripts).
pub fn format_line(name: &str, s: &Status, normally_down: bool, now: Label) -> (String, i32) {
    let (secs, nanos) = elapsed(s.when, now);
    let code = exit_code(s);
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
    if s.up && s.paused {
        line.push_str(", paused");
    }
    if s.up && s.want == Want::Down {
        line.push_str(", want down");
    }
    if s.up && s.wait == 0 {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(s.pid as i32), None);
        let mark = if alive == Err(nix::errno::Errno::ESRCH) {
            " ?pid"
        } else {
            "  pid"
        };
        line.push_str(&format!("{mark} {} ", s.pid));
    } else if s.pid != 0 {
        line.push_str(&format!(" spid {} ", s.pid));
    } else {
        line.push(' ');
    }
    if s.wait > 0 && (secs as i64) < s.wait as i64 {
        line.push_str(&format!(
            "remaining {} seconds",
            s.wait as i64 - secs as i64
        ));
    }
    // The suffixes the reference never prints go last, after the pid, so that scripts
    // reading the pid as word 6 (svps: `set $line`) keep working.
    let down = !s.up && s.wait == 0;
    if down && !normally_down {
        line.push_str(", normally up");
    }
    if down && s.want == Want::Up {
        line.push_str(", want up");
    }
    line.push('\n');
    (line, code)
}

/// svstat's exit code for a status it could read.
pub fn exit_code(s: &Status) -> i32 {
    if s.wait != 0 || !s.up {
        DOWN
    } else if s.paused {
        PAUSED
    } else if s.want == Want::Down {
        WANT_DOWN
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

    #[test]
    fn layouts() {
        let now = Label {
            secs: 1064,
            nanos: 402_144_999,
        };
        let (l, c) = format_line("/service/a", &st(true, Want::Up, 0, false), false, now);
        assert_eq!(l, "/service/a: up 64.402144994 seconds  pid 1 \n");
        assert_eq!(c, UP);
        let (l, c) = format_line("b", &st(false, Want::Down, 0, false), true, now);
        assert_eq!(
            (l.as_str(), c),
            ("b: down 64.402144994 seconds spid 1 \n", DOWN)
        );
        let (l, _) = format_line("b", &st(false, Want::Up, 0, false), false, now);
        assert_eq!(
            l,
            "b: down 64.402144994 seconds spid 1 , normally up, want up\n"
        );
        let (l, c) = format_line("c", &st(false, Want::Up, 70, false), false, now);
        assert_eq!(
            (l.as_str(), c),
            (
                "c: wait 64.402144994 seconds spid 1 remaining 6 seconds\n",
                DOWN
            )
        );
        let (l, c) = format_line("d", &st(true, Want::Down, 0, true), true, now);
        assert_eq!(
            l,
            "d: up 64.402144994 seconds, normally down, paused, want down  pid 1 \n"
        );
        assert_eq!(c, PAUSED);
        let (_, c) = format_line("d", &st(true, Want::Down, 0, false), false, now);
        assert_eq!(c, WANT_DOWN);
    }

    #[test]
    fn future_timestamp_is_zero() {
        assert_eq!(
            elapsed(Label { secs: 10, nanos: 0 }, Label { secs: 5, nanos: 0 }),
            (0, 0)
        );
    }
}
