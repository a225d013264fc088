//! `inotify [-n] [-d timeout] path ...`: print one line for every file system event in
//! the watched directories (`file DIR/NAME created`, `dir  DIR/NAME deleted`, ...).
//!
//! Without `-n`, standard input is read too and copied to standard error; its end stops
//! the program (exit 0), so under tcpserver a client that hangs up ends the watch. SIGTERM
//! ends it with exit 1. `-d` (default `$DATA_TIMEOUT`, else 1800) sets how long one wait
//! lasts; waits that time out change nothing but the next wait's length, as in the
//! reference. Unknown options are reported and ignored, as the reference's getopt loop
//! does.

use indicore::getopt::{progname, Getopt, Opt};
use indicore::scan::scan_int;
use indicore::sys::inotify::{Event, Inotify, ReadFlags, WatchFlags};
use indicore::sys::poll::{self, PollFd, PollFlags};
use indicore::sys::signal::{self, Signal};
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

pub const PROG: Prog = Prog("inotify");
const USAGE: &str = "usage: inotify [-n] path1..path2";
/// The shortest positive wait, in seconds.
const MIN_WAIT: i64 = 5;

/// The wait after a timeout and after an event, in seconds (0: no limit).
struct Waits {
    data_timeout: i64,
    current: i64,
}

impl Waits {
    fn new(data_timeout: i64) -> Waits {
        let current = if data_timeout > 0 {
            data_timeout.max(MIN_WAIT)
        } else {
            -data_timeout
        };
        Waits {
            data_timeout,
            current,
        }
    }

    fn timed_out(&mut self) {
        if self.data_timeout > 0 {
            self.current = self.current.saturating_mul(3);
        }
    }

    fn woke(&mut self) {
        *self = Waits::new(self.data_timeout);
    }

    fn timeout(&self) -> Option<std::time::Duration> {
        if self.current == 0 {
            return None;
        }
        let ms = self.current.saturating_mul(1000).min(i64::from(i32::MAX));
        Some(std::time::Duration::from_millis(ms as u64))
    }
}

/// The line for one event: kind, watched path(s), `/`, name, what happened.
fn event_line(event: &Event<'_>, watches: &[(i32, OsString)]) -> Option<Vec<u8>> {
    let name = event.name?;
    let m = event.mask;
    let mut line = Vec::new();
    line.extend_from_slice(if m.contains(ReadFlags::ISDIR) {
        b"dir  "
    } else {
        b"file "
    });
    for (_, path) in watches.iter().filter(|(wd, _)| *wd == event.wd) {
        line.extend_from_slice(path.as_bytes());
    }
    line.push(b'/');
    line.extend_from_slice(name.to_bytes());
    let cookie = event.cookie;
    let what = if m.contains(ReadFlags::CREATE) {
        " created\n".to_string()
    } else if m.contains(ReadFlags::DELETE) {
        " deleted\n".to_string()
    } else if m.contains(ReadFlags::OPEN) {
        " opened\n".to_string()
    } else if m.contains(ReadFlags::CLOSE_WRITE) {
        " closed\n".to_string()
    } else if m.contains(ReadFlags::MOVE_SELF) {
        format!(" renamed [{cookie}]\n")
    } else if m.contains(ReadFlags::MOVED_FROM) {
        format!(" oldname renamed[{cookie}]\n")
    } else if m.contains(ReadFlags::MOVED_TO) {
        format!(" newname renamed[{cookie}]\n")
    } else {
        "unknown event\n".to_string()
    };
    line.extend_from_slice(what.as_bytes());
    Some(line)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    if args.len() < 2 {
        return Err(Failure::usage(USAGE));
    }
    // SIGTERM ends the program with exit 1, the moment the loop sees it.
    let _ = signal::catch(&[Signal::TERM]);
    let mut read_stdin = true;
    let mut data_timeout = None;
    let mut opts = Getopt::new(args, "nd:");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'n', _) => read_stdin = false,
            Opt::Flag(b'd', Some(v)) => data_timeout = Some(scan_int(v.as_bytes())),
            Opt::Illegal(c) => indicore::diag::emit(format_args!(
                "{}: illegal option -- {}\n",
                progname(args),
                c as char
            )),
            Opt::MissingArg(c) => indicore::diag::emit(format_args!(
                "{}: option requires an argument -- {}\n",
                progname(args),
                c as char
            )),
            Opt::Flag(..) => {}
        }
    }
    let paths = opts.rest();
    if paths.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    let inotify = Inotify::new().map_err(|e| Failure::temp_sys("inotify_init: ", &e))?;
    let mask = WatchFlags::CREATE
        | WatchFlags::OPEN
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::DELETE
        | WatchFlags::MOVE_SELF
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO;
    let mut watches = Vec::new();
    for path in paths {
        let shown = path.to_string_lossy();
        if let Err(e) = indicore::sys::fs::exists(path.as_os_str()) {
            return Err(Failure::temp_sys(format_args!("{shown}: "), &e));
        }
        let wd = inotify
            .watch(path.as_os_str(), mask)
            .map_err(|e| Failure::temp_sys(format_args!("inotify_add_watch: {shown}: "), &e))?;
        watches.push((wd, path.clone()));
    }
    let data_timeout = data_timeout.unwrap_or_else(|| {
        std::env::var_os("DATA_TIMEOUT").map_or(1800, |v| scan_int(v.as_bytes()))
    });
    let mut waits = Waits::new(data_timeout);
    let stdin = std::io::stdin();
    let mut buf = vec![0u8; 1024 * (16 + 16)];
    loop {
        if signal::take(Signal::TERM) {
            return Ok(1);
        }
        let mut fds = vec![PollFd::new(&inotify, PollFlags::IN)];
        if let Some(pipe) = signal::fd() {
            fds.push(poll::watch(pipe, PollFlags::IN));
        }
        if read_stdin {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        let ready = match poll::poll_for(&mut fds, waits.timeout()) {
            Ok(0) if signal::pending(Signal::TERM) => continue,
            Ok(n) => n,
            Err(_) => 0,
        };
        let is_ready = |p: &PollFd| !p.revents().is_empty();
        let events_ready = is_ready(&fds[0]);
        let input_ready = read_stdin && is_ready(&fds[fds.len() - 1]);
        let signalled = signal::fd().is_some() && is_ready(&fds[1]);
        drop(fds);
        if signalled {
            signal::drain();
            continue;
        }
        if ready == 0 {
            waits.timed_out();
        } else {
            waits.woke();
        }
        if input_ready {
            match indicore::sys::io::read(&stdin, &mut buf) {
                Err(e) => return Err(Failure::temp_sys("read-network: ", &e)),
                Ok(0) => {
                    write_err(b"shutting down\n")?;
                    return Ok(0);
                }
                Ok(n) => write_err(&buf[..n])?,
            }
        }
        if !events_ready {
            continue;
        }
        let mut lines = Vec::new();
        inotify
            .read(|e| lines.extend(event_line(&e, &watches)))
            .map_err(|e| Failure::temp_sys("read-event: ", &e))?;
        let mut out = std::io::stdout().lock();
        for line in lines {
            out.write_all(&line)
                .and_then(|()| out.flush())
                .map_err(|e| Failure::temp_sys("write: ", &e))?;
        }
    }
}

fn write_err(bytes: &[u8]) -> Result<(), Failure> {
    std::io::stderr()
        .write_all(bytes)
        .map_err(|e| Failure::temp_sys("write: ", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_reset() {
        let mut w = Waits::new(2);
        assert_eq!(w.current, 5);
        w.timed_out();
        assert_eq!(w.current, 15);
        w.woke();
        assert_eq!(w.current, 5);
        let mut w = Waits::new(-3);
        w.timed_out();
        assert_eq!(w.current, 3);
        assert_eq!(Waits::new(0).timeout(), None);
    }
}
