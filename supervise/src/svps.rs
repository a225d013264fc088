//! `svps`: a summary of every service under each running svscan (docs/daemontools.md#svps), as the
//! reference's shell script prints it.
//!
//! The svscan answered for is found through its pid file (`--servicedir`'s, else the one in
//! the run-fs mirror or `/service`), else as the newest svscan process; `-h`/`-t` signal only
//! it. The listing covers every running svscan (its scan directory is its cwd): each
//! service's svstat line, read word by word as the script reads svstat's output.
//!
//! `-j`/`--json` (an extension) lists the same services as JSON objects instead
//! (crate::report), one a line: each `DIR/*` with its log inside, then `DIR/.svscan/log`.

use crate::report::Report;
use crate::runfs;
use crate::svstat;
use indicore::sys::signal::Signal;
use indicore::tai::Label;
use indicore::Failure;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub const PROG: indicore::Prog = indicore::Prog("svps");

pub const USAGE: &str =
    "usage: svps [-a|--all | -m|--main | -h|--hup | -t|--term | -n|--no-pager] |
  [-d|--days -s|--stop | -r|--resume | -l|--logs]
  [--servicedir | -T|--tree]";

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
    Json,
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
            "-j" | "--json" => o.action = Action::Json,
            s => match s.strip_prefix("--servicedir=") {
                Some(d) => o.servicedir = (!d.is_empty()).then(|| PathBuf::from(d)),
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
            // The reference waits for a line on stdin so the message is seen.
            let _ = std::io::stdin().read_line(&mut String::new());
            return Ok(1);
        }
    };
    if !indicore::sys::process::geteuid().is_root() {
        indicore::diag::emit(format_args!("You are not root\n"));
        return Ok(1);
    }
    let (svpid, pidfile) = match svscan_pid(opts.servicedir.as_deref()) {
        Ok(found) => found,
        Err(msg) => {
            indicore::diag::emit(format_args!("{msg}\n"));
            return Ok(1);
        }
    };
    let alive = svpid.is_some_and(|p| {
        indicore::sys::process::pid(p as i32)
            .is_some_and(|p| indicore::sys::process::probe(p).is_ok())
    });
    let (Some(svpid), true) = (svpid, alive) else {
        indicore::diag::emit(format_args!("Couldn't find a running svscan process\n"));
        return Ok(1);
    };
    let all = instances();
    // The name column starts as wide as "ARGV0 CWD" plus one, the svscan header's fill
    // is that less "ARGV0" plus one.
    let mut width = 0;
    let mut svscan_len = 0;
    let mut sv_dirs = Vec::new();
    for i in &all {
        let argv0 = i.argv.first().map_or(0, String::len);
        width = width.max(argv0 + 1 + i.cwd.as_os_str().len() + 1);
        svscan_len = argv0 + 1;
        if opts
            .servicedir
            .as_ref()
            .is_some_and(|d| d.as_os_str() != i.cwd.as_os_str())
        {
            continue;
        }
        sv_dirs.push(i.cwd.clone());
    }
    match opts.action {
        Action::Stop => {
            stop_all(&sv_dirs);
            return Ok(0);
        }
        Action::Resume => {
            resume_all(&sv_dirs);
            return Ok(0);
        }
        Action::Hup | Action::Term => {
            // Only the svscan of the pid file is signalled.
            let (name, sig) = if opts.action == Action::Hup {
                ("HUP", Signal::HUP)
            } else {
                ("TERM", Signal::TERM)
            };
            let _ = writeln!(
                std::io::stdout(),
                "Sending {name} to svscan with PID {svpid}"
            );
            let sent = indicore::sys::process::pid(svpid as i32)
                .ok_or(indicore::sys::Errno::SRCH.into())
                .and_then(|p| indicore::sys::process::kill(p, sig));
            if sent.is_err() {
                // The reference says HUP for both.
                indicore::diag::emit(format_args!("Failed to send HUP signal to pid {svpid}\n"));
            }
            return Ok(0);
        }
        Action::Json => return Ok(json(&sv_dirs)),
        Action::List | Action::Tree => {}
    }
    // svstat over every directory first: its failure (the last directory's) is the answer.
    let mut lines = Vec::new();
    for d in &sv_dirs {
        let st = svstat_all(d);
        if st.code != 0 {
            let _ = std::io::stdout().write_all(st.errors.as_bytes());
            return Ok(st.code);
        }
        lines.extend(st.lines);
    }
    for l in &lines {
        width = width.max(l.name.len() + 1);
    }
    let fill = width.saturating_sub(svscan_len);
    let mut out = svscan_section(&all, &pidfile, width, fill, opts.days);
    for i in &all {
        if opts.action == Action::Tree {
            out.push_str(&format!(
                "\nProcess Tree for PID {:10}\n===============================\n",
                i.pid
            ));
            show(&out, opts.pager);
            out.clear();
            let _ = std::process::Command::new("pstree")
                .args(["-aAcpglnsTu", &i.pid.to_string()])
                .status();
            continue;
        }
        let st = svstat_all(&i.cwd);
        out.push_str(&listing(
            &st.lines,
            &i.cwd,
            opts.show,
            opts.servicedir.as_deref(),
            width,
            fill,
            opts.days,
        ));
    }
    show(&out, opts.pager);
    Ok(0)
}

/// `-j`: every service of every scan directory as a JSON line; the exit code the listing
/// would have (the first scan directory whose svstat pass failed gives its code).
fn json(sv_dirs: &[PathBuf]) -> i32 {
    let code = sv_dirs
        .iter()
        .map(|d| svstat_all(d).code)
        .find(|&c| c != 0)
        .unwrap_or(0);
    let now = Label::now();
    let mut out = String::new();
    for d in sv_dirs {
        let mut dirs: Vec<PathBuf> = glob(d, false)
            .into_iter()
            .filter(|p| p.symlink_metadata().is_ok())
            .collect();
        let own_log = d.join(".svscan/log");
        if own_log.is_dir() {
            dirs.push(own_log);
        }
        for dir in dirs {
            out.push_str(&Report::of(&dir, now).0.to_json());
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    code
}

/// The pid of the svscan svps answers for, as the reference finds it, and the pid file it
/// looked at: the last line of the pid file (`--servicedir`'s, else the one in the first of
/// `/run/svscan`, `/var/run/svscan` that exists, else `/service`'s), else the newest svscan
/// process. Err: the message.
fn svscan_pid(servicedir: Option<&Path>) -> Result<(Option<u32>, PathBuf), String> {
    let pidfile = match servicedir {
        Some(d) => {
            let f = d.join(".svscan.pid");
            if !f.is_file() {
                return Err(format!("{}: No such file or directory", f.display()));
            }
            f
        }
        // The mirror roots supervise uses (none with DISABLE_RUN, COMPATIBILITY S6).
        None => runfs::roots()
            .find(|r| runfs::ROOTS[..2].iter().any(|x| Path::new(x) == *r))
            .unwrap_or(Path::new(DEFAULT_SERVICEDIR))
            .join(".svscan.pid"),
    };
    if pidfile.is_file() {
        let text = std::fs::read(&pidfile).unwrap_or_default();
        let last = text
            .strip_suffix(b"\n")
            .unwrap_or(&text)
            .rsplit(|&b| b == b'\n')
            .next()
            .unwrap_or_default();
        let pid = std::str::from_utf8(last)
            .ok()
            .and_then(|l| l.trim().parse().ok());
        return Ok((pid, pidfile));
    }
    match svscan_processes()
        .into_iter()
        .max_by_key(|&p| start_time(p))
    {
        Some(p) => {
            let dir = instance(p).and_then(|i| i.argv.get(1).map(PathBuf::from));
            Ok((Some(p), dir.unwrap_or_default().join(".svscan.pid")))
        }
        None => Err(format!(
            "svscan not running: {}: No such file or directory",
            pidfile.display()
        )),
    }
}

/// A process's start time in clock ticks since boot.
fn start_time(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(19)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// One running svscan.
#[derive(Debug, Clone)]
struct Instance {
    pid: u32,
    argv: Vec<String>,
    /// Its scan directory.
    cwd: PathBuf,
}

/// Every running svscan, by pid.
fn instances() -> Vec<Instance> {
    svscan_processes()
        .into_iter()
        .filter_map(instance)
        .collect()
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
    let argv = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    Some(Instance { pid, argv, cwd })
}

/// svstat's answer for `DIR/* DIR/*/log DIR/.svscan/log`.
struct Svstat {
    lines: Vec<Line>,
    errors: String,
    /// The exit code for the last directory.
    code: i32,
}

/// The shell's expansion of `DIR/*` or `DIR/*/log`: names not starting with a dot, in byte
/// order; the pattern itself when nothing matches.
fn glob(dir: &Path, log: bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().as_bytes().starts_with(b"."))
                .map(|e| e.path())
                .map(|p| if log { p.join("log") } else { p })
                .filter(|p| !log || p.symlink_metadata().is_ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    if v.is_empty() {
        v.push(dir.join(if log { "*/log" } else { "*" }));
    }
    v
}

fn svstat_all(dir: &Path) -> Svstat {
    let mut dirs = glob(dir, false);
    dirs.extend(glob(dir, true));
    dirs.push(dir.join(".svscan/log"));
    let now = Label::now();
    let mut st = Svstat {
        lines: Vec::new(),
        errors: String::new(),
        code: 0,
    };
    for d in &dirs {
        match svstat::status_line(d, now) {
            Ok((line, code)) => {
                st.code = code;
                // The script drops lines holding ".." and "wait until" lines.
                if !line.contains("..") && !line.starts_with("wait until") {
                    st.lines.push(Line::new(line.trim_end_matches('\n')));
                }
            }
            Err((warning, code)) => {
                st.code = code;
                st.errors.push_str(&format!("svstat: warning: {warning}\n"));
            }
        }
    }
    st
}

/// An svstat line as the script's `set $line` splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    words: Vec<String>,
    /// The first word up to its first colon.
    name: String,
}

impl Line {
    fn new(text: &str) -> Line {
        let words: Vec<String> = text.split_whitespace().map(String::from).collect();
        let name = words
            .first()
            .map(|w| w.split(':').next().unwrap_or("").to_string())
            .unwrap_or_default();
        Line {
            text: text.to_string(),
            words,
            name,
        }
    }

    /// `$n`, 1-based.
    fn word(&self, n: usize) -> &str {
        self.words.get(n - 1).map_or("", String::as_str)
    }

    /// grep -w WORD.
    fn has_word(&self, w: &str) -> bool {
        let t = self.text.as_bytes();
        let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        self.text.match_indices(w).any(|(i, _)| {
            (i == 0 || !is_word(t[i - 1])) && !matches!(t.get(i + w.len()), Some(&c) if is_word(c))
        })
    }

    /// The whole seconds of `$3`, as `cut -d. -f1` and printf's %d read them.
    fn secs(&self) -> u64 {
        number(self.word(3).split('.').next().unwrap_or(""))
    }
}

/// A decimal number as printf's %d reads it (0 when it is none).
fn number(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

/// `sort -n -k3`: by the number at the start of the third word, ties by the whole line.
fn sort_n_k3(lines: &mut [&Line]) {
    let key = |l: &Line| -> f64 {
        let w = l.word(3);
        let end = w
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (c == '.' && !w[..i].contains('.'))))
            .map_or(w.len(), |(i, _)| i);
        w[..end].parse().unwrap_or(0.0)
    };
    lines.sort_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.text.as_bytes().cmp(b.text.as_bytes()))
    });
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

fn header(fill: usize, title: &str, days: bool) -> String {
    if days {
        format!(
            "============ {title:<fill$}     state uptime =========================  pid/spid ==\n"
        )
    } else {
        format!("============ {title:<fill$}     state uptime ====  pid/spid ==\n")
    }
}

/// The svscan lines: each svscan's command line, its pid file's age, its pid.
fn svscan_section(
    all: &[Instance],
    pidfile: &Path,
    width: usize,
    fill: usize,
    days: bool,
) -> String {
    let mut out = header(fill, "svscan", days);
    let now = std::time::SystemTime::now();
    for i in all {
        let dir = PathBuf::from(i.argv.get(1..).unwrap_or_default().join("\n"));
        let own = dir.join(".svscan.pid");
        let file = if own.is_file() {
            own
        } else {
            pidfile.to_path_buf()
        };
        let age = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .map_or(0, |d| d.as_secs());
        out.push_str(&format!(
            "{:<width$} up   {}  pid {:7} [ 1]\n",
            i.argv.join(" "),
            duration(age, days),
            i.pid
        ));
    }
    out
}

/// One svscan's services: the main section (down, wait, up; logs left out) and the logs
/// section (svscan's own log, then each service's).
fn listing(
    lines: &[Line],
    svdir: &Path,
    show: Show,
    servicedir: Option<&Path>,
    width: usize,
    fill: usize,
    days: bool,
) -> String {
    let mut out = String::new();
    let svdir = svdir.display().to_string();
    if matches!(show, Show::Main | Show::All) {
        out.push('\n');
        out.push_str(&header(fill, if days { "svscan" } else { &svdir }, days));
        main_section(&mut out, lines, width, days);
    }
    if matches!(show, Show::Logs | Show::All) {
        let sd = servicedir
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        logs_section(&mut out, lines, &sd, &svdir, width, fill, days);
    }
    out
}

/// The main section's rows: services down, waiting, then up; logs left out.
fn main_section(out: &mut String, lines: &[Line], width: usize, days: bool) {
    let no_log = |l: &Line| !l.text.contains("/log");
    let settled = |l: &Line, state: &str| {
        l.has_word(state)
            && !l.text.contains(&format!("normally {state}"))
            && !l.text.contains(&format!("want {state}"))
            && no_log(l)
    };
    // After "normally up" or "want down" the pid is two words further on.
    let pid_word = |l: &Line| {
        if matches!(l.word(5), "normally" | "want") {
            8
        } else {
            6
        }
    };
    let down = select(lines, |l| settled(l, "down"));
    rows(out, down, days, pid_word, |l, up, pid| {
        format!("{:<width$} down {up} spid {pid:7}\n", l.name)
    });
    let wait = select(lines, |l| l.has_word("wait") && no_log(l));
    rows(
        out,
        wait,
        days,
        |_| 6,
        |l, up, pid| {
            if l.words.len() == 9 {
                format!(
                    "{:<width$} wait {up}  pid {pid:7} remaining {:7} seconds\n",
                    l.name,
                    number(l.word(8))
                )
            } else {
                format!("{:<width$} wait {up}  pid {pid:7}\n", l.name)
            }
        },
    );
    let up = select(lines, |l| settled(l, "up"));
    rows(out, up, days, pid_word, up_row(width));
}

/// The logs section: svscan's own log, then each service's.
fn logs_section(
    out: &mut String,
    lines: &[Line],
    sd: &str,
    svdir: &str,
    width: usize,
    fill: usize,
    days: bool,
) {
    out.push('\n');
    out.push_str(&format!(
        "============ {:<fill$}     state uptime ===== pid/spid ==\n",
        ".svscan/log"
    ));
    let own = format!("{sd}/.svscan/log");
    let own: Vec<&Line> = lines
        .iter()
        .filter(|l| l.text.contains(&own))
        .take(1)
        .collect();
    rows(out, own, days, |_| 6, up_row(width));
    out.push('\n');
    out.push_str(&format!(
        "==== logs == {svdir:<fill$}     state uptime ===== pid/spid ==\n"
    ));
    let logs = select(lines, |l| {
        let t = &l.text;
        t.find(&format!("{sd}/"))
            .is_some_and(|i| t[i + sd.len() + 1..].contains("/log"))
            && !t.contains(".svscan")
    });
    rows(out, logs, days, |_| 6, up_row(width));
}

/// The lines `keep` selects, in `sort -n -k3` order.
fn select(lines: &[Line], keep: impl Fn(&Line) -> bool) -> Vec<&Line> {
    let mut v: Vec<&Line> = lines.iter().filter(|l| keep(l)).collect();
    sort_n_k3(&mut v);
    v
}

/// A row of a service that is up: name, uptime, pid.
fn up_row(width: usize) -> impl Fn(&Line, &str, u64) -> String {
    move |l, up, pid| format!("{:<width$} up   {up}  pid {pid:7}\n", l.name)
}

/// One row per line, made by `row` from the line, its uptime and the pid in word
/// `pid_word`. printf %7d of a word that is no number stops the section, as in the script:
/// that row shows 0 and is the last.
fn rows(
    out: &mut String,
    lines: Vec<&Line>,
    days: bool,
    pid_word: impl Fn(&Line) -> usize,
    row: impl Fn(&Line, &str, u64) -> String,
) {
    for l in lines {
        let pid = l.word(pid_word(l)).parse::<u64>().ok();
        out.push_str(&row(l, &duration(l.secs(), days), pid.unwrap_or(0)));
        if pid.is_none() {
            break;
        }
    }
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

/// `-s`: `svc -d` every service that is up, marking it with `/var/tmp/DIR/down` for `-r`.
fn stop_all(sv_dirs: &[PathBuf]) {
    let mut any = false;
    for dir in sv_dirs {
        for j in glob(dir, false).into_iter().filter(|p| p.is_dir()) {
            if svstat::status_line(&j, Label::now()).map(|(_, c)| c) != Ok(0) {
                continue;
            }
            let mark = marker(&j);
            if std::fs::create_dir_all(&mark).is_err() {
                continue;
            }
            if !any {
                let _ = writeln!(std::io::stdout(), "Stopping all running services");
            }
            any = true;
            if svc("-d", &j) == 0 {
                let _ = std::fs::write(mark.join("down"), b"");
            }
        }
    }
    if !any {
        indicore::diag::emit(format_args!("No running services found\n"));
    }
}

/// `-r`: `svc -u` every service `-s` marked, and remove its mark.
fn resume_all(sv_dirs: &[PathBuf]) {
    let mut any = false;
    for dir in sv_dirs {
        for j in glob(dir, false) {
            let mark = marker(&j);
            if !mark.join("down").is_file() {
                continue;
            }
            if !any {
                let _ = writeln!(std::io::stdout(), "Starting all stopped services");
            }
            any = true;
            svc("-u", &j);
            let _ = std::fs::remove_dir_all(&mark);
        }
    }
    if !any {
        indicore::diag::emit(format_args!("No stopped services found\n"));
    }
}

/// `/var/tmp/` followed by the service's path.
fn marker(service: &Path) -> PathBuf {
    let mut p = PathBuf::from("/var/tmp");
    p.push(service.strip_prefix("/").unwrap_or(service));
    p
}

fn svc(flag: &str, dir: &Path) -> i32 {
    let argv = [OsString::from("svc"), OsString::from(flag), dir.into()];
    crate::svc::run(&argv).unwrap_or(111)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_sorting() {
        let a = Line::new("/s/a: up 64849.402144999 seconds  pid 762703 ");
        assert_eq!(
            (a.name.as_str(), a.word(6), a.secs()),
            ("/s/a", "762703", 64849)
        );
        assert!(a.has_word("up") && !a.has_word("u"));
        let b = Line::new("/s/b: down 3.7 seconds spid 9 ");
        let c = Line::new("/s/c: down 3.7 seconds spid 8 ");
        let mut v = vec![&a, &c, &b];
        sort_n_k3(&mut v);
        assert_eq!(v, [&b, &c, &a]);
    }

    #[test]
    fn layouts() {
        assert_eq!(duration(90061, true), " 1 days, 01 hrs, 01 mins, 01 secs");
        assert_eq!(duration(5, false), "      5 secs");
        let l = Line::new("/service/x: down 5.2 seconds spid 42 ");
        let out = listing(&[l], Path::new("/service"), Show::Main, None, 12, 4, false);
        assert_eq!(
            out,
            "\n============ /service     state uptime ====  pid/spid ==\n\
             /service/x   down       5 secs spid      42\n"
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
            parse(&a(&["svps", "-h", "-j"])).unwrap().action,
            Action::Json
        );
        assert_eq!(
            parse(&a(&["svps", "--json", "-t"])).unwrap().action,
            Action::Term
        );
        assert_eq!(
            parse(&a(&["svps", "--servicedir="])).unwrap().servicedir,
            None
        );
    }
}
