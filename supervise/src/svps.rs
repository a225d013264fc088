//! `svps`: a summary of every service under each running svscan (docs/daemontools.md#svps).
//!
//! svscan is found through its pid file (`--servicedir`'s, then the run-fs mirror's,
//! then `/service`'s), else among the processes; its scan directory is its cwd. Each
//! service's state comes from the same code as svstat's line, read word by word as the
//! reference's shell script reads svstat's output.

use crate::runfs;
use crate::svstat;
use indicore::tai::Label;
use indicore::Failure;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub const PROG: indicore::Prog = indicore::Prog("svps");

pub const USAGE: &str = "usage: svps [-a|--all] [-m|--main] [-l|--logs] [-h|--hup] [-t|--term] \
[-T|--tree] [-n|--no-pager] [-d|--days] [-s|--stop] [-r|--resume] [--servicedir=dir]";

/// The scan directory when nothing else names one.
const DEFAULT_SERVICEDIR: &str = "/service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    Main,
    Logs,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    List,
    Hup,
    Term,
    Tree,
    Stop,
    Resume,
}

#[derive(Debug, Clone)]
struct Options {
    show: Show,
    action: Action,
    pager: bool,
    days: bool,
    servicedir: Option<PathBuf>,
}

fn parse(args: &[OsString]) -> Result<Options, String> {
    let mut o = Options {
        show: Show::Main,
        action: Action::List,
        pager: true,
        days: false,
        servicedir: None,
    };
    for a in &args[1..] {
        let a = a.to_string_lossy();
        match a.as_ref() {
            "-a" | "--all" => o.show = Show::All,
            "-m" | "--main" => o.show = Show::Main,
            "-l" | "--logs" => o.show = Show::Logs,
            "-h" | "--hup" => o.action = Action::Hup,
            "-t" | "--term" => o.action = Action::Term,
            "-T" | "--tree" => o.action = Action::Tree,
            "-n" | "--no-pager" => o.pager = false,
            "-d" | "--days" => o.days = true,
            "-s" | "--stop" => o.action = Action::Stop,
            "-r" | "--resume" => o.action = Action::Resume,
            s => match s.strip_prefix("--servicedir=") {
                Some(d) if !d.is_empty() => o.servicedir = Some(PathBuf::from(d)),
                _ => return Err(s.to_string()),
            },
        }
    }
    Ok(o)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let opts = match parse(args) {
        Ok(o) => o,
        Err(bad) => {
            indicore::diag::emit(format_args!("invalid option [{bad}]\n{USAGE}\n"));
            // The reference waits for a key so the message is seen; only on a terminal.
            if std::io::stdin().is_terminal() {
                let _ = std::io::stdin().read_line(&mut String::new());
            }
            return Ok(1);
        }
    };
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        indicore::diag::emit(format_args!("You are not root\n"));
        return Ok(1);
    }
    let instances = find_svscan(opts.servicedir.as_deref());
    if instances.is_empty() {
        indicore::diag::emit(format_args!("svps: fatal: svscan is not running\n"));
        return Ok(1);
    }
    match opts.action {
        Action::Hup | Action::Term => {
            let sig = if opts.action == Action::Hup {
                libc::SIGHUP
            } else {
                libc::SIGTERM
            };
            for i in &instances {
                // SAFETY: plain kill(2).
                unsafe { libc::kill(i.pid as libc::pid_t, sig) };
            }
            Ok(0)
        }
        Action::Tree => {
            let mut code = 0;
            for i in &instances {
                let st = std::process::Command::new("pstree")
                    .args(["-aAcpglnsTu", &i.pid.to_string()])
                    .status();
                code = match st {
                    Ok(s) => s.code().unwrap_or(111),
                    Err(e) => {
                        PROG.warn(format!("unable to run pstree: {}", indicore::errstr(&e)));
                        111
                    }
                };
            }
            Ok(code)
        }
        Action::Stop => Ok(stop(&instances)),
        Action::Resume => Ok(resume(&instances)),
        Action::List => {
            let text = report(&instances, &opts);
            show(&text, opts.pager);
            Ok(0)
        }
    }
}

/// One running svscan.
#[derive(Debug, Clone)]
struct Instance {
    pid: u32,
    /// `argv[0] argv[1]` as ps shows them.
    title: String,
    scandir: PathBuf,
    uptime: u64,
}

/// The svscan processes to report on.
fn find_svscan(servicedir: Option<&Path>) -> Vec<Instance> {
    let mut pidfiles: Vec<PathBuf> = Vec::new();
    if let Some(d) = servicedir {
        pidfiles.push(d.join(".svscan.pid"));
    }
    pidfiles.extend(runfs::roots().map(|r| r.join(".svscan.pid")));
    pidfiles.push(Path::new(DEFAULT_SERVICEDIR).join(".svscan.pid"));
    let from_file = pidfiles.iter().find_map(|p| {
        let text = std::fs::read(p).ok()?;
        // 4 raw bytes, newline, the decimal pid, newline: the last line is the pid.
        let last = text
            .split(|&b| b == b'\n')
            .rfind(|l| !l.is_empty())?
            .to_vec();
        let pid: u32 = String::from_utf8(last).ok()?.trim().parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    });
    let pids = match from_file {
        Some(p) => vec![p],
        None => svscan_processes(),
    };
    let mut out: Vec<Instance> = pids.into_iter().filter_map(instance).collect();
    if let Some(d) = servicedir {
        let d = std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf());
        for i in &mut out {
            i.scandir = d.clone();
        }
        out.truncate(1);
    }
    out
}

fn svscan_processes() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "svscan\n")
        })
        .collect();
    pids.sort_unstable();
    pids
}

fn instance(pid: u32) -> Option<Instance> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let title = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .take(2)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let scandir = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    Some(Instance {
        pid,
        title,
        scandir,
        uptime: process_age(pid).unwrap_or(0),
    })
}

/// Seconds since the process started.
fn process_age(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let start: u64 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((uptime - start as f64 / hz).max(0.0) as u64)
}

/// One service as svps reads svstat's line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    name: String,
    state: String,
    secs: u64,
    pid: u64,
    remaining: Option<u64>,
}

/// Read an svstat line the way the reference's `set $line` does, but find the pid after
/// its keyword rather than at a fixed word.
fn parse_line(line: &str) -> Option<Line> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let name = words.first()?.strip_suffix(':')?.to_string();
    let state = words.get(1)?.to_string();
    let secs = words.get(2)?.split('.').next()?.parse().ok()?;
    let k = words
        .iter()
        .position(|w| matches!(*w, "pid" | "?pid" | "spid"))?;
    let pid = words.get(k + 1)?.parse().ok()?;
    let remaining = words
        .iter()
        .position(|w| *w == "remaining")
        .and_then(|i| words.get(i + 1)?.parse().ok());
    Some(Line {
        name,
        state,
        secs,
        pid,
        remaining,
    })
}

/// The svstat lines of these directories (those svstat can report on).
fn lines(dirs: &[PathBuf]) -> Vec<Line> {
    let now = Label::now();
    dirs.iter()
        .filter_map(|d| svstat::status_line(d, now).ok())
        .map(|(l, _)| l)
        .filter(|l| !l.contains("..") && !l.starts_with("wait until"))
        .filter_map(|l| parse_line(&l))
        .collect()
}

/// `DIR/*` (not dot-names), `DIR/*/log`, in name order.
fn services(scandir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut main: Vec<PathBuf> = std::fs::read_dir(scandir)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    main.sort();
    let logs = main
        .iter()
        .map(|p| p.join("log"))
        .filter(|p| p.is_dir())
        .collect();
    (main, logs)
}

fn duration(secs: u64, days: bool) -> String {
    if days {
        format!(
            "{:2} days, {:02} hrs, {:02} mins, {:02} secs",
            secs / 86400,
            secs % 86400 / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    } else {
        format!("{secs:7} secs")
    }
}

fn format_line(l: &Line, width: usize, days: bool) -> String {
    let t = duration(l.secs, days);
    match l.state.as_str() {
        "down" => format!("{:<width$} down {t} spid {:7}\n", l.name, l.pid),
        "wait" => match l.remaining {
            Some(r) => format!(
                "{:<width$} wait {t}  pid {:7} remaining {r:7} seconds\n",
                l.name, l.pid
            ),
            None => format!("{:<width$} wait {t}  pid {:7}\n", l.name, l.pid),
        },
        _ => format!("{:<width$} up   {t}  pid {:7}\n", l.name, l.pid),
    }
}

/// The whole listing.
fn report(instances: &[Instance], opts: &Options) -> String {
    let mut out = String::new();
    for (n, i) in instances.iter().enumerate() {
        let (main, logs) = services(&i.scandir);
        let main = lines(&main);
        let mut logs_lines = lines(&[i.scandir.join(".svscan/log")]);
        let mut service_logs = lines(&logs);
        service_logs.sort_by_key(|l| l.secs);
        logs_lines.extend(service_logs);
        // The name column: as wide as the longest name, plus one (the reference's wc -c).
        let width = main
            .iter()
            .chain(&logs_lines)
            .map(|l| l.name.len())
            .chain(std::iter::once(i.title.len()))
            .max()
            .unwrap_or(0)
            + 1;
        out.push_str(&format!(
            "{:<width$}     state uptime ====  pid/spid ==\n",
            "============ svscan"
        ));
        out.push_str(&format!(
            "{:<width$} up   {}  pid {:7} [{:2}]\n",
            i.title,
            duration(i.uptime, opts.days),
            i.pid,
            n + 1
        ));
        if matches!(opts.show, Show::Main | Show::All) {
            out.push_str("\n------------ main -----------------\n");
            let mut sorted = main.clone();
            sorted.sort_by_key(|l| l.secs);
            for state in ["down", "wait", "up"] {
                for l in sorted.iter().filter(|l| l.state == state) {
                    out.push_str(&format_line(l, width, opts.days));
                }
            }
        }
        if matches!(opts.show, Show::Logs | Show::All) {
            out.push_str("\n------------ logs -----------------\n");
            for l in &logs_lines {
                out.push_str(&format_line(l, width, opts.days));
            }
        }
    }
    out
}

/// Through the pager when stdout is a terminal (and not `-n`), else straight out.
fn show(text: &str, pager: bool) {
    let stdout = std::io::stdout();
    if pager && stdout.is_terminal() {
        let pager = std::env::var_os("PAGER")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                ["/usr/bin/less", "/usr/bin/more"]
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.exists())
            });
        if let Some(p) = pager {
            if let Ok(mut child) = std::process::Command::new(&p)
                .stdin(std::process::Stdio::piped())
                .spawn()
            {
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(text.as_bytes());
                }
                let _ = child.wait();
                return;
            }
        }
    }
    let _ = stdout.lock().write_all(text.as_bytes());
}

/// Where `-s` remembers what it stopped, for `-r`.
fn stopped_file(scandir: &Path) -> PathBuf {
    let rel = scandir.strip_prefix("/").unwrap_or(scandir);
    Path::new("/var/tmp").join(rel).join("down")
}

/// `-s`: `svc -d` every service that is up, and remember which.
fn stop(instances: &[Instance]) -> i32 {
    let mut code = 0;
    for i in instances {
        let (main, _) = services(&i.scandir);
        let up: Vec<Line> = lines(&main)
            .into_iter()
            .filter(|l| l.state == "up")
            .collect();
        let file = stopped_file(&i.scandir);
        let list: String = up.iter().map(|l| format!("{}\n", l.name)).collect();
        let saved = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&file, list));
        if let Err(e) = saved {
            PROG.warn(format!(
                "unable to write {}: {}",
                file.display(),
                indicore::errstr(&e)
            ));
            code = 111;
        }
        for l in &up {
            let r = svc(&["-d", &l.name]);
            if r != 0 {
                code = r;
            }
        }
    }
    code
}

/// `-r`: `svc -u` what `-s` stopped.
fn resume(instances: &[Instance]) -> i32 {
    let mut code = 0;
    for i in instances {
        let file = stopped_file(&i.scandir);
        let Ok(list) = std::fs::read_to_string(&file) else {
            continue;
        };
        for name in list.lines().filter(|l| !l.is_empty()) {
            let r = svc(&["-u", name]);
            if r != 0 {
                code = r;
            }
        }
        let _ = std::fs::remove_file(&file);
    }
    code
}

fn svc(args: &[&str]) -> i32 {
    let argv: Vec<OsString> = std::iter::once("svc")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    crate::svc::run(&argv).unwrap_or(111)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_svstat_lines() {
        let l = parse_line("/service/a: up 64849.402144999 seconds  pid 762703 ").unwrap();
        assert_eq!((l.state.as_str(), l.secs, l.pid), ("up", 64849, 762703));
        let l = parse_line("/service/c: wait 3.285475999 seconds spid 762630 remaining 7 seconds")
            .unwrap();
        assert_eq!(
            (l.state.as_str(), l.pid, l.remaining),
            ("wait", 762630, Some(7))
        );
        let l = parse_line("/s/b: down 3.7 seconds spid 9 , normally up").unwrap();
        assert_eq!((l.name.as_str(), l.pid), ("/s/b", 9));
        let l = parse_line("/s/d: up 3.7 seconds, normally down, paused  pid 12 ").unwrap();
        assert_eq!(l.pid, 12);
        assert!(parse_line("garbage").is_none());
    }

    #[test]
    fn layouts() {
        let l = Line {
            name: "/service/x".into(),
            state: "down".into(),
            secs: 5,
            pid: 42,
            remaining: None,
        };
        assert_eq!(
            format_line(&l, 12, false),
            "/service/x   down       5 secs spid      42\n"
        );
        assert_eq!(duration(90061, true), " 1 days, 01 hrs, 01 mins, 01 secs");
        let w = Line {
            state: "wait".into(),
            remaining: Some(3),
            ..l
        };
        assert_eq!(
            format_line(&w, 10, false),
            "/service/x wait       5 secs  pid      42 remaining       3 seconds\n"
        );
    }

    #[test]
    fn options() {
        let a = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let o = parse(&a(&["svps", "-a", "-n", "--servicedir=/x", "-d"])).unwrap();
        assert_eq!(o.show, Show::All);
        assert!(!o.pager && o.days);
        assert_eq!(o.servicedir, Some(PathBuf::from("/x")));
        assert_eq!(parse(&a(&["svps", "-z"])).unwrap_err(), "-z");
        assert_eq!(
            parse(&a(&["svps", "--servicedir="])).unwrap_err(),
            "--servicedir="
        );
    }
}
