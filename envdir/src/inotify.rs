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
use indicore::{Failure, Prog};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, InotifyEvent, WatchDescriptor};
use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
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

    fn timeout(&self) -> PollTimeout {
        if self.current == 0 {
            return PollTimeout::NONE;
        }
        let ms = self.current.saturating_mul(1000).min(i64::from(i32::MAX));
        PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
    }
}

/// The line for one event: kind, watched path(s), `/`, name, what happened.
fn event_line(event: &InotifyEvent, watches: &[(WatchDescriptor, OsString)]) -> Option<Vec<u8>> {
    let name = event.name.as_ref()?;
    let m = event.mask;
    let mut line = Vec::new();
    line.extend_from_slice(if m.contains(AddWatchFlags::IN_ISDIR) {
        b"dir  "
    } else {
        b"file "
    });
    for (_, path) in watches.iter().filter(|(wd, _)| *wd == event.wd) {
        line.extend_from_slice(path.as_bytes());
    }
    line.push(b'/');
    line.extend_from_slice(name.as_bytes());
    let cookie = event.cookie;
    let what = if m.contains(AddWatchFlags::IN_CREATE) {
        " created\n".to_string()
    } else if m.contains(AddWatchFlags::IN_DELETE) {
        " deleted\n".to_string()
    } else if m.contains(AddWatchFlags::IN_OPEN) {
        " opened\n".to_string()
    } else if m.contains(AddWatchFlags::IN_CLOSE_WRITE) {
        " closed\n".to_string()
    } else if m.contains(AddWatchFlags::IN_MOVE_SELF) {
        format!(" renamed [{cookie}]\n")
    } else if m.contains(AddWatchFlags::IN_MOVED_FROM) {
        format!(" oldname renamed[{cookie}]\n")
    } else if m.contains(AddWatchFlags::IN_MOVED_TO) {
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
    let condition = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let _ = signal_hook::flag::register_conditional_shutdown(libc::SIGTERM, 1, condition);
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
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC)
        .map_err(|e| Failure::temp_sys("inotify_init: ", &e.into()))?;
    let mask = AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_OPEN
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO;
    let mut watches = Vec::new();
    for path in paths {
        let shown = path.to_string_lossy();
        if let Err(e) = nix::unistd::access(path.as_os_str(), nix::unistd::AccessFlags::F_OK) {
            return Err(Failure::temp_sys(format_args!("{shown}: "), &e.into()));
        }
        let wd = inotify.add_watch(path.as_os_str(), mask).map_err(|e| {
            Failure::temp_sys(format_args!("inotify_add_watch: {shown}: "), &e.into())
        })?;
        watches.push((wd, path.clone()));
    }
    let data_timeout = data_timeout.unwrap_or_else(|| {
        std::env::var_os("DATA_TIMEOUT").map_or(1800, |v| scan_int(v.as_bytes()))
    });
    let mut waits = Waits::new(data_timeout);
    let stdin = std::io::stdin();
    let mut buf = vec![0u8; 1024 * (16 + 16)];
    loop {
        let mut fds = vec![PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        if read_stdin {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let ready = match nix::poll::poll(&mut fds, waits.timeout()) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => 0,
        };
        let is_ready = |p: &PollFd| p.revents().is_some_and(|r| !r.is_empty());
        let events_ready = is_ready(&fds[0]);
        let input_ready = read_stdin && is_ready(&fds[1]);
        drop(fds);
        if ready == 0 {
            waits.timed_out();
        } else {
            waits.woke();
        }
        if input_ready {
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Err(e) => return Err(Failure::temp_sys("read-network: ", &e.into())),
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
        let events = match inotify.read_events() {
            Ok(ev) => ev,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Failure::temp_sys("read-event: ", &e.into())),
        };
        let mut out = std::io::stdout().lock();
        for line in events.iter().filter_map(|e| event_line(e, &watches)) {
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
        assert_eq!(Waits::new(0).timeout(), PollTimeout::NONE);
    }
}
