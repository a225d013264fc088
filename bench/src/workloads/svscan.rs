//! The scanner over a tree of many services (each `run` a `sleep`), ours against djb's and
//! IndiMail's `svscan`, s6's `s6-svscan` and runit's `runsvdir`, each side with its own
//! supervisors: our svscan starts our supervise, s6-svscan starts s6-supervise, so every
//! figure is the whole stack's.
//!
//! * `svscan-startup`: time from exec'ing the scanner until every service's status file
//!   says up (default 1,000 services; quick: 20), with the CPU time the whole stack used
//!   for it and the scanner's own. Each side's status tool then confirms, untimed. The tree
//!   is built fresh and everything is killed between start-ups, untimed. Medians over `-r`
//!   rounds. Target (issue 17): no slower than djb's and s6-svscan.
//! * `svscan-idle`: every side's tree running at once, settled; the CPU time each scanner
//!   uses over an idle window (default 60 s; quick: 2 s, from /proc/PID/schedstat), then
//!   its memory (Private_Dirty and Pss from /proc/PID/smaps_rollup). Target: zero CPU.
//! * `svscan-scale`: start-up time against the number of services (100 to 5,000; quick: 10
//!   and 30), and the memory of the whole supervision tree (the scanner and the supervisors
//!   it started; the services are the same `sleep` everywhere and left out) once all are
//!   up. djb's svscan and runsvdir stop at 1,000 services (their fixed limit), so their
//!   curves end there.
//!
//! * `svscan-pickup`: how long a service added to a running tree (100 services; quick: 5)
//!   takes to be up, from the `ln -s` of a ready service directory into the scan directory
//!   to its status file saying up; likewise for `mv` of a directory into the scan
//!   directory and for a directory made in place (`mkdir`, then `run`), which ours holds
//!   until it has settled (one second). Medians over `-r` rounds (at least 5), the rounds
//!   spread at odd moments of the peers' scan periods. The peers that pick services up by
//!   themselves: djb's svscan (a scan every 5 s) and runsvdir (it looks at the directory's
//!   time every few seconds); s6-svscan and IndiMail's (without AUTOSCAN) only on a signal,
//!   so they are left out. Target (issue 16): ours within 100 ms.
//!
//! `BENCH_SVSCAN_SERVICES` and `BENCH_SVSCAN_IDLE` (seconds) change the tree size and the
//! idle window of the first two.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::supervise::memory;
use crate::cli::Options;
use crate::compare::{interleave, median, require_root};
use crate::error::{BenchError, Result};
use crate::peers::Peers;
use crate::results::{self, Curve, Figure, Target};
use crate::side::{Flavor, Side};
use crate::tempdir::TempDir;

const RUN: &str = "#!/bin/sh\nexec sleep 100000\n";
/// How long a whole tree may take to come up before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(180);
/// The fixed service limit of djb's svscan and of runsvdir.
const FIXED_LIMIT: usize = 1000;

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| BenchError::Usage(format!("{name}: not a number: {v}"))),
        Err(_) => Ok(default),
    }
}

fn services(opts: &Options) -> Result<usize> {
    let default = if opts.quick { 20 } else { 1000 };
    Ok(env_number("BENCH_SVSCAN_SERVICES", default)?.max(1) as usize)
}

fn fatal(what: impl std::fmt::Display, e: impl std::fmt::Display) -> BenchError {
    BenchError::Fatal(format!("{what}: {e}"))
}

/// Adopt orphans (the services of killed supervisors) so that they are reaped here.
fn become_subreaper() {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

fn reap_all() {
    loop {
        // SAFETY: waitpid on any child with no status wanted.
        if unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } <= 0 {
            return;
        }
    }
}

/// Most services a side's scanner can run, if it has a fixed limit.
fn limit(side: &Side) -> Option<usize> {
    match (side.flavor, side.label) {
        (Flavor::Runit, _) | (Flavor::Djb, "daemontools") => Some(FIXED_LIMIT),
        _ => None,
    }
}

/// The sides whose scanner can run `n` services.
fn able<'a>(sides: &[&'a Side], n: usize) -> Vec<&'a Side> {
    sides
        .iter()
        .copied()
        .filter(|s| !matches!(limit(s), Some(l) if n > l))
        .collect()
}

/// Parent of every process, from /proc.
fn parents() -> HashMap<i32, i32> {
    let mut map = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return map;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the ")" that ends the command name: state, then the parent's pid.
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
        {
            map.insert(pid, ppid);
        }
    }
    map
}

/// `root` and every process below it.
fn descendants(root: i32) -> Vec<i32> {
    let map = parents();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(map.iter().filter(|(_, &pp)| pp == p).map(|(&c, _)| c));
        i += 1;
    }
    found
}

/// A scan directory of `n` services and a scanner over it, in a process group of its own.
struct Tree {
    dir: TempDir,
    names: Vec<String>,
    scanner: Option<Child>,
    side: Side,
}

impl Tree {
    fn build(side: &Side, n: usize) -> Result<Tree> {
        let dir = TempDir::new("bench-svscan")?;
        let names: Vec<String> = (0..n).map(|i| format!("s{i:04}")).collect();
        for name in &names {
            let d = dir.path().join(name);
            std::fs::create_dir(&d).map_err(|e| fatal("mkdir", e))?;
            std::fs::write(d.join("run"), RUN).map_err(|e| fatal("write run", e))?;
            std::fs::set_permissions(d.join("run"), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| fatal("chmod run", e))?;
        }
        // runsvdir leaves a directory modified within the last second for its next scan:
        // date the fresh tree back, so that no scanner waits for its age.
        let past = std::time::SystemTime::now() - Duration::from_secs(10);
        std::fs::File::open(dir.path())
            .and_then(|f| f.set_times(std::fs::FileTimes::new().set_modified(past)))
            .map_err(|e| fatal("date the scan directory back", e))?;
        Ok(Tree {
            dir,
            names,
            scanner: None,
            side: side.clone(),
        })
    }

    fn start(&mut self) -> Result<()> {
        let n = self.names.len();
        let mut args: Vec<String> = Vec::new();
        match self.side.flavor {
            Flavor::Djb if n > FIXED_LIMIT => args.extend(["-n".into(), n.to_string()]),
            Flavor::S6 => args.extend(["-c".into(), n.max(FIXED_LIMIT).to_string()]),
            _ => {}
        }
        args.push(self.dir.path().to_string_lossy().into_owned());
        let child = Command::new(self.side.program(self.side.flavor.svscan()))
            .args(&args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", &self.side.path)
            .env("DISABLE_RUN", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| fatal(format_args!("{}: start scanner", self.side.label), e))?;
        self.scanner = Some(child);
        Ok(())
    }

    fn pid(&self) -> u32 {
        self.scanner.as_ref().map_or(0, Child::id)
    }

    /// Whether every status file says up.
    fn status_files_up(&self) -> bool {
        self.names.iter().all(|n| {
            self.side
                .flavor
                .is_up(&self.dir.path().join(n).join("supervise"))
        })
    }

    /// Whether this side's status tool reports every service up (s6-svstat takes one
    /// service at a time: a sample of ten).
    fn status_tool_says_up(&self) -> Result<bool> {
        let flavor = self.side.flavor;
        let names: Vec<String> = match flavor {
            Flavor::Djb => self.names.clone(),
            Flavor::Runit => self.names.iter().map(|n| format!("./{n}")).collect(),
            Flavor::S6 => {
                let step = (self.names.len() / 10).max(1);
                self.names.iter().step_by(step).cloned().collect()
            }
        };
        let batches: Vec<Vec<String>> = match flavor {
            Flavor::S6 => names.into_iter().map(|n| vec![n]).collect(),
            Flavor::Runit => vec![std::iter::once("status".to_string()).chain(names).collect()],
            Flavor::Djb => vec![names],
        };
        for batch in batches {
            let want = batch.len() - usize::from(flavor == Flavor::Runit);
            let out = Command::new(self.side.program(flavor.svstat()))
                .args(&batch)
                .current_dir(self.dir.path())
                .env_clear()
                .env("PATH", &self.side.path)
                .stderr(Stdio::null())
                .output()
                .map_err(|e| fatal("run the status tool", e))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let up = text
                .lines()
                .filter(|l| match flavor {
                    Flavor::Djb => l.split_whitespace().nth(1) == Some("up"),
                    Flavor::S6 => l.starts_with("up "),
                    Flavor::Runit => l.starts_with("run: "),
                })
                .count();
            if up != want {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Poll until every service is up by its status file.
    fn wait_all_up(&self) -> Result<()> {
        let start = Instant::now();
        while !self.status_files_up() {
            if start.elapsed() > PATIENCE {
                return Err(BenchError::Fatal(format!(
                    "{}: not every service up after {} s",
                    self.side.label,
                    PATIENCE.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Confirms by the side's own status tool that every service is up.
    fn confirm_up(&self) -> Result<()> {
        if self.status_tool_says_up()? {
            return Ok(());
        }
        Err(BenchError::Fatal(format!(
            "{}: {} does not report every service up",
            self.side.label,
            self.side.flavor.svstat()
        )))
    }

    /// Private_Dirty and Pss (kB) of the scanner and every supervisor it started.
    fn tree_memory(&self) -> Result<(u64, u64)> {
        let root = self.pid() as i32;
        let map = parents();
        let mut total = memory(root as u32)?;
        for (&pid, _) in map.iter().filter(|(_, &pp)| pp == root) {
            // A supervisor that ended meanwhile counts for nothing.
            if let Ok((d, p)) = memory(pid as u32) {
                total.0 += d;
                total.1 += p;
            }
        }
        Ok(total)
    }

    fn stop(&mut self) {
        let Some(mut child) = self.scanner.take() else {
            return;
        };
        let pgid = child.id() as libc::pid_t;
        // Services may be in sessions of their own (s6 starts them so): kill the whole
        // subtree by pid, then the group.
        for pid in descendants(pgid) {
            // SAFETY: kill(2) of processes this bench started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // SAFETY: kill(2) of the process group this bench created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = child.wait();
        // Everything left of the tree is an orphan adopted here (subreaper): kill and
        // reap it, so that its CPU time is counted now and not in the next measurement.
        let me = std::process::id() as i32;
        loop {
            let others = live_scanners();
            let left: Vec<i32> = parents()
                .into_iter()
                .filter(|&(pid, pp)| pp == me && !others.contains(&pid))
                .map(|(pid, _)| pid)
                .collect();
            if left.is_empty() {
                break;
            }
            for pid in left {
                // SAFETY: kill(2) and waitpid(2) of our own children.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
        forget_scanner(pgid);
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Scanners of trees still running (their orphans' cleanup must spare them).
static SCANNERS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

fn live_scanners() -> Vec<i32> {
    SCANNERS.lock().map(|v| v.clone()).unwrap_or_default()
}

fn remember_scanner(pid: i32) {
    if let Ok(mut v) = SCANNERS.lock() {
        v.push(pid);
    }
}

fn forget_scanner(pid: i32) {
    if let Ok(mut v) = SCANNERS.lock() {
        v.retain(|&p| p != pid);
    }
}

/// CPU time of every descendant reaped so far (they are all reaped here: subreaper).
fn children_cpu() -> Duration {
    // SAFETY: getrusage into a struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// One start-up of a fresh tree.
struct Startup {
    /// Until every status file says up.
    wall: Duration,
    /// The scanner's own CPU by then.
    own: Duration,
    /// The whole stack's CPU, start to teardown.
    stack: Duration,
    /// Private_Dirty and Pss of the supervision tree once up (when asked for).
    memory: Option<(u64, u64)>,
}

fn start_once(side: &Side, n: usize, with_memory: bool) -> Result<Startup> {
    let mut tree = Tree::build(side, n)?;
    reap_all();
    let cpu_before = children_cpu();
    let start = Instant::now();
    tree.start()?;
    remember_scanner(tree.pid() as i32);
    tree.wait_all_up()?;
    let wall = start.elapsed();
    let own = cpu_time(tree.pid())?;
    tree.confirm_up()?;
    let memory = if with_memory {
        // Past the supervisors' start-up bookkeeping.
        std::thread::sleep(Duration::from_millis(1100));
        Some(tree.tree_memory()?)
    } else {
        None
    };
    tree.stop();
    Ok(Startup {
        wall,
        own,
        stack: children_cpu().saturating_sub(cpu_before),
        memory,
    })
}

fn prepare(sides: &[&Side], what: &str) -> Result<()> {
    require_root(what)?;
    for side in sides {
        let f = side.flavor;
        side.require(&[f.svscan(), f.supervise(), f.svstat()])?;
    }
    become_subreaper();
    Ok(())
}

/// `rounds` start-ups of `n` services per side (those that can run `n`), interleaved; a
/// first untimed start-up per side warms the page cache. The sides' runs, in order.
fn startups(
    sides: &[&Side],
    n: usize,
    rounds: u32,
    with_memory: bool,
    verbose: bool,
) -> Result<Vec<Vec<Startup>>> {
    for side in sides {
        start_once(side, n, false)?;
    }
    interleave(sides.len(), rounds, |i, round| {
        let last = round + 1 == rounds;
        let r = start_once(sides[i], n, with_memory && last)
            .map_err(|e| BenchError::Fatal(format!("svscan ({}): {e}", sides[i].label)))?;
        if verbose {
            eprintln!(
                "  svscan {n} services round {}/{rounds}: {} {:.3} s, stack CPU {:.3} s, \
                 scanner CPU {:.1} ms",
                round + 1,
                sides[i].label,
                r.wall.as_secs_f64(),
                r.stack.as_secs_f64(),
                r.own.as_secs_f64() * 1e3
            );
        }
        Ok(r)
    })
}

fn seconds(runs: &[Startup], f: fn(&Startup) -> Duration) -> f64 {
    median(&runs.iter().map(|r| f(r).as_secs_f64()).collect::<Vec<_>>())
}

/// `svscan-startup`: prints and records the medians of the wall time (the target), of the
/// whole stack's CPU time (robust when the machine is shared) and of the scanner's own.
pub fn startup_report(peers: &Peers, opts: &Options) -> Result<()> {
    let sides = peers.supervisors();
    prepare(&sides, "svscan-startup")?;
    let n = services(opts)?;
    let sides = able(&sides, n);
    let runs = startups(&sides, n, opts.rounds.max(1), false, opts.verbose)?;
    let wall: Vec<f64> = runs.iter().map(|r| seconds(r, |s| s.wall)).collect();
    let stack: Vec<f64> = runs.iter().map(|r| seconds(r, |s| s.stack)).collect();
    let own: Vec<f64> = runs.iter().map(|r| seconds(r, |s| s.own)).collect();
    let workload = format!("svscan start-up, {n} services all up");
    let wall_fig = Figure {
        group: "svscan",
        workload: &workload,
        metric: "wall time (s)",
        higher_better: false,
    };
    let stack_fig = Figure {
        metric: "CPU of the whole stack (s)",
        ..wall_fig
    };
    for (i, side) in sides.iter().enumerate() {
        println!(
            "{workload} (median of {}): {} ({}) {:.3} s, CPU of the whole stack {:.3} s, \
             scanner's own CPU {:.1} ms",
            opts.rounds,
            side.label,
            side.flavor.svscan(),
            wall[i],
            stack[i],
            own[i] * 1e3
        );
        if i > 0 {
            let target = match side.label {
                "daemontools" | "s6" => Target::Advantage(1.0),
                _ => Target::None,
            };
            wall_fig.record(wall[0], side.label, wall[i], target)?;
            stack_fig.record(stack[0], side.label, stack[i], Target::None)?;
        }
    }
    Ok(())
}

/// CPU time a process has used, from /proc/PID/schedstat (nanoseconds).
fn cpu_time(pid: u32) -> Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .map_err(|e| fatal(format_args!("read schedstat of {pid}"), e))?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BenchError::Fatal(format!("bad schedstat of {pid}: {text:?}")))?;
    Ok(Duration::from_nanos(ns))
}

/// `svscan-idle`: every side's tree up at once, the CPU each scanner uses over the idle
/// window, then its memory; printed and recorded.
pub fn idle_report(peers: &Peers, opts: &Options) -> Result<()> {
    let sides = peers.supervisors();
    prepare(&sides, "svscan-idle")?;
    let n = services(opts)?;
    let sides = able(&sides, n);
    let idle = Duration::from_secs(env_number(
        "BENCH_SVSCAN_IDLE",
        if opts.quick { 2 } else { 60 },
    )?);
    let mut trees = sides
        .iter()
        .map(|s| Tree::build(s, n))
        .collect::<Result<Vec<_>>>()?;
    for t in trees.iter_mut() {
        t.start()?;
        remember_scanner(t.pid() as i32);
    }
    for t in &trees {
        t.wait_all_up()?;
        t.confirm_up()?;
    }
    // Past the start-up work (and djb's 5-second rescan): the next scans find nothing to do.
    std::thread::sleep(Duration::from_secs(if opts.quick { 1 } else { 6 }));
    let before = trees
        .iter()
        .map(|t| cpu_time(t.pid()))
        .collect::<Result<Vec<_>>>()?;
    std::thread::sleep(idle);
    let cpu: Vec<f64> = trees
        .iter()
        .zip(&before)
        .map(|(t, b)| Ok((cpu_time(t.pid())? - *b).as_secs_f64() * 1e3))
        .collect::<Result<_>>()?;
    let mem = trees
        .iter()
        .map(|t| memory(t.pid()))
        .collect::<Result<Vec<_>>>()?;
    for t in &trees {
        if !t.status_files_up() {
            return Err(BenchError::Fatal(format!(
                "{}: a service went down while idle",
                t.side.label
            )));
        }
    }
    let workload = format!("svscan idle {} s, {n} services", idle.as_secs());
    let cpu_fig = Figure {
        group: "svscan",
        workload: &workload,
        metric: "scanner CPU (ms)",
        higher_better: false,
    };
    let memory_workload = format!("svscan at rest, {n} services");
    let dirty_fig = Figure {
        workload: &memory_workload,
        metric: "scanner Private_Dirty (kB)",
        ..cpu_fig
    };
    let pss_fig = Figure {
        metric: "scanner Pss (kB)",
        ..dirty_fig
    };
    for (i, side) in sides.iter().enumerate() {
        println!(
            "{workload}: {} ({}) CPU {:.1} ms, Private_Dirty {} kB, Pss {} kB",
            side.label,
            side.flavor.svscan(),
            cpu[i],
            mem[i].0,
            mem[i].1
        );
        if i > 0 {
            // Zero CPU when idle, as s6-svscan (no periodic rescan): one row carries it.
            let target = if side.label == "s6" {
                Target::OursAtMost(0.0)
            } else {
                Target::None
            };
            cpu_fig.record(cpu[0], side.label, cpu[i], target)?;
            dirty_fig.record(mem[0].0 as f64, side.label, mem[i].0 as f64, Target::None)?;
            pss_fig.record(mem[0].1 as f64, side.label, mem[i].1 as f64, Target::None)?;
        }
    }
    if cpu[0] > 0.0 {
        eprintln!(
            "bench: warning: our svscan used CPU while idle ({:.1} ms)",
            cpu[0]
        );
    }
    Ok(())
}

/// `svscan-scale`: the start-up time and the tree's memory against the service count.
pub fn scale_report(peers: &Peers, opts: &Options) -> Result<()> {
    let sides = peers.supervisors();
    prepare(&sides, "svscan-scale")?;
    let counts: &[usize] = if opts.quick {
        &[10, 30]
    } else {
        &[100, 500, 1000, 2000, 5000]
    };
    let rounds = opts.rounds.clamp(1, 3);
    let curves = [
        ("svscan-startup", "svscan start-up until all up", "seconds"),
        (
            "tree-pss",
            "memory of the supervision tree (scanner and supervisors), Pss",
            "MB",
        ),
        (
            "tree-dirty",
            "memory of the supervision tree (scanner and supervisors), Private_Dirty",
            "MB",
        ),
    ];
    for (id, title, y) in curves {
        results::curve(&Curve {
            id: id.into(),
            title: title.into(),
            x_label: "services".into(),
            y_label: y.into(),
            log_x: true,
        })?;
    }
    for side in &sides {
        if let Some(l) = limit(side).filter(|&l| counts.iter().any(|&n| n > l)) {
            results::note(&format!(
                "svscan-scale: {} ({}) runs at most {l} services; its curves stop there",
                side.label,
                side.flavor.svscan()
            ))?;
        }
    }
    for &n in counts {
        let able = able(&sides, n);
        let runs = startups(&able, n, rounds, true, opts.verbose)?;
        for (side, r) in able.iter().zip(&runs) {
            let wall = seconds(r, |s| s.wall);
            let (dirty, pss) = r.last().and_then(|s| s.memory).unwrap_or((0, 0));
            println!(
                "svscan-scale {n} services: {} start-up {wall:.3} s (median of {rounds}), \
                 tree Private_Dirty {dirty} kB, Pss {pss} kB",
                side.label
            );
            results::point("svscan-startup", side.label, n as f64, wall)?;
            results::point("tree-pss", side.label, n as f64, pss as f64 / 1024.0)?;
            results::point("tree-dirty", side.label, n as f64, dirty as f64 / 1024.0)?;
        }
    }
    Ok(())
}

/// How a service is added to the scan directory in `svscan-pickup`.
#[derive(Clone, Copy)]
enum Add {
    /// `ln -s` of a directory made elsewhere.
    Link,
    /// `mv` of a directory made elsewhere (same file system).
    Move,
    /// `mkdir` in the scan directory, then `run` written and made executable.
    MadeInPlace,
}

impl Add {
    fn label(self) -> &'static str {
        match self {
            Add::Link => "linked in (ln -s)",
            Add::Move => "moved in (mv)",
            Add::MadeInPlace => "made in place (mkdir)",
        }
    }
}

/// One pickup: the time from adding service `name` until its status file says up.
fn pickup_once(tree: &Tree, staging: &TempDir, name: &str, how: Add) -> Result<Duration> {
    let dest = tree.dir.path().join(name);
    let write_run = |dir: &std::path::Path| -> Result<()> {
        let run = dir.join("run");
        std::fs::write(&run, RUN).map_err(|e| fatal("write run", e))?;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| fatal("chmod run", e))
    };
    let aside = staging.path().join(name);
    if !matches!(how, Add::MadeInPlace) {
        std::fs::create_dir(&aside).map_err(|e| fatal("mkdir", e))?;
        write_run(&aside)?;
    }
    let start = Instant::now();
    match how {
        Add::Link => std::os::unix::fs::symlink(&aside, &dest).map_err(|e| fatal("symlink", e))?,
        Add::Move => std::fs::rename(&aside, &dest).map_err(|e| fatal("rename", e))?,
        Add::MadeInPlace => {
            std::fs::create_dir(&dest).map_err(|e| fatal("mkdir", e))?;
            write_run(&dest)?;
        }
    }
    let status = dest.join("supervise");
    while !tree.side.flavor.is_up(&status) {
        if start.elapsed() > PATIENCE {
            return Err(BenchError::Fatal(format!(
                "{}: {name} not up after {} s",
                tree.side.label,
                PATIENCE.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(start.elapsed())
}

/// A pause of 0 to 1 s that differs from round to round, so that the rounds fall at odd
/// moments of a periodic scanner's cycle.
fn odd_pause(round: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(u64::from((nanos / 7 + round * 373) % 1000))
}

/// `svscan-pickup`: the latency from adding a service to the running tree until it is up.
pub fn pickup_report(peers: &Peers, opts: &Options) -> Result<()> {
    let all = peers.supervisors();
    prepare(&all, "svscan-pickup")?;
    let sides: Vec<&Side> = all
        .iter()
        .copied()
        .filter(|s| {
            matches!(
                (s.flavor, s.label),
                (Flavor::Djb, "ours" | "daemontools") | (Flavor::Runit, _)
            )
        })
        .collect();
    results::note(
        "svscan-pickup: s6-svscan and IndiMail's svscan (without AUTOSCAN) pick a new service \
         up only when told (s6-svscanctl -a, SIGHUP); djb's svscan scans every 5 s, runsvdir \
         looks at the directory every few seconds",
    )?;
    let n = if opts.quick { 5 } else { 100 };
    let rounds = opts.rounds.max(if opts.quick { 2 } else { 5 });
    let workload_of = |how: Add| format!("svscan pickup of a service {}", how.label());
    const WAYS: [Add; 3] = [Add::Link, Add::Move, Add::MadeInPlace];
    let mut ours = [0.0; WAYS.len()];
    for side in &sides {
        let mut tree = Tree::build(side, n)?;
        let staging = TempDir::new("bench-svscan-staging")?;
        tree.start()?;
        remember_scanner(tree.pid() as i32);
        tree.wait_all_up()?;
        for (way, &how) in WAYS.iter().enumerate() {
            let mut ms = Vec::new();
            for round in 0..rounds {
                std::thread::sleep(odd_pause(round));
                let name = format!("new{}{round}", how as u8);
                let t = pickup_once(&tree, &staging, &name, how)
                    .map_err(|e| BenchError::Fatal(format!("svscan-pickup: {e}")))?;
                if opts.verbose {
                    eprintln!(
                        "  svscan pickup round {}/{rounds}: {} {}: {:.1} ms",
                        round + 1,
                        side.label,
                        how.label(),
                        t.as_secs_f64() * 1e3
                    );
                }
                ms.push(t.as_secs_f64() * 1e3);
            }
            let med = median(&ms);
            let max = ms.iter().copied().fold(0.0, f64::max);
            println!(
                "{} (median of {rounds}, {n} services running): {} ({}) {med:.1} ms, \
                 slowest {max:.1} ms",
                workload_of(how),
                side.label,
                side.flavor.svscan()
            );
            if side.label == "ours" {
                ours[way] = med;
                continue;
            }
            let workload = workload_of(how);
            let fig = Figure {
                group: "svscan",
                workload: &workload,
                metric: "pickup latency (ms)",
                higher_better: false,
            };
            // Issue 16: ours within 100 ms for a service linked or moved in (one row
            // each carries it); one made in place is held a second on purpose.
            let target = match how {
                Add::Link | Add::Move if side.label == "daemontools" => Target::OursAtMost(100.0),
                _ => Target::None,
            };
            fig.record(ours[way], side.label, med, target)?;
        }
        tree.stop();
    }
    Ok(())
}
