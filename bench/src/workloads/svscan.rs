//! svscan over a tree of many services (default 1,000, each `run` a `sleep`), each side with
//! its own supervise and svstat: our svscan starts our supervise, Debian's svscan starts
//! Debian's supervise, so every figure is the whole stack's.
//!
//! * `svscan-startup`: time from exec'ing svscan until every service is up and that side's
//!   svstat says so (one svstat over all the directories, every line `NAME: up ...`), with
//!   the CPU time the whole stack used for it and svscan's own. The tree is built fresh and
//!   everything is killed between start-ups, untimed. Medians over `-r` rounds.
//! * `svscan-idle`: both trees running at once, settled; the CPU time svscan uses over an
//!   idle window (default 60 s, from /proc/PID/schedstat), then svscan's memory
//!   (Private_Dirty and Pss from /proc/PID/smaps_rollup).
//!
//! `BENCH_SVSCAN_SERVICES` and `BENCH_SVSCAN_IDLE` (seconds) change the tree size and the
//! idle window.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::side::Side;
use crate::tempdir::TempDir;

const RUN: &str = "#!/bin/sh\nexec sleep 100000\n";
/// How long a whole tree may take to come up before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(120);

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| BenchError::Usage(format!("{name}: not a number: {v}"))),
        Err(_) => Ok(default),
    }
}

fn services() -> Result<usize> {
    Ok(env_number("BENCH_SVSCAN_SERVICES", 1000)?.max(1) as usize)
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

/// A scan directory of `n` services and an svscan over it, in a process group of its own.
struct Tree {
    dir: TempDir,
    names: Vec<String>,
    svscan: Option<Child>,
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
        Ok(Tree {
            dir,
            names,
            svscan: None,
            side: side.clone(),
        })
    }

    fn start(&mut self) -> Result<()> {
        let child = Command::new(self.side.program("svscan"))
            .arg(self.dir.path())
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", &self.side.path)
            .env("DISABLE_RUN", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| fatal("start svscan", e))?;
        self.svscan = Some(child);
        Ok(())
    }

    fn pid(&self) -> u32 {
        self.svscan.as_ref().map_or(0, Child::id)
    }

    /// Whether every status file says up (IndiMail: byte 20; djb: a non-zero pid).
    fn status_files_up(&self) -> bool {
        self.names.iter().all(|n| {
            let b =
                std::fs::read(self.dir.path().join(n).join("supervise/status")).unwrap_or_default();
            match b.len() {
                21 => b[20] == 1,
                18 => b[12..16] != [0, 0, 0, 0],
                _ => false,
            }
        })
    }

    /// Whether this side's svstat reports every service up.
    fn svstat_says_up(&self) -> Result<bool> {
        let out = Command::new(self.side.program("svstat"))
            .args(&self.names)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", &self.side.path)
            .stderr(Stdio::null())
            .output()
            .map_err(|e| fatal("run svstat", e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let up = text
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("up"))
            .count();
        Ok(up == self.names.len())
    }

    /// Poll until every service is up by its status file, then by svstat.
    fn wait_all_up(&self) -> Result<()> {
        let start = Instant::now();
        loop {
            if self.status_files_up() && self.svstat_says_up()? {
                return Ok(());
            }
            if start.elapsed() > PATIENCE {
                return Err(BenchError::Fatal(format!(
                    "{}: not every service up after {} s",
                    self.side.label,
                    PATIENCE.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.svscan.take() {
            let pgid = child.id() as libc::pid_t;
            // SAFETY: kill(2) of the process group this bench created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait();
            // Reap every member of the group (adopted here as their parents die), so that
            // their CPU time is counted now and not in the next measurement.
            loop {
                // SAFETY: kill(2) and waitpid(2) on our own process group.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                let r = unsafe { libc::waitpid(-pgid, std::ptr::null_mut(), 0) };
                if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    break;
                }
            }
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.stop();
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

/// One start-up of a fresh tree: (wall time until svstat says all up, CPU of svscan
/// itself by then, CPU of the whole stack from start to teardown).
fn start_once(side: &Side, n: usize) -> Result<(Duration, Duration, Duration)> {
    let mut tree = Tree::build(side, n)?;
    reap_all();
    let cpu_before = children_cpu();
    let start = Instant::now();
    tree.start()?;
    tree.wait_all_up()?;
    let wall = start.elapsed();
    let own = cpu_time(tree.pid())?;
    tree.stop();
    Ok((wall, own, children_cpu().saturating_sub(cpu_before)))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Target for the start-up time: no slower than Debian's whole stack.
const STARTUP_TARGET: f64 = 1.0;

/// `svscan-startup`: `rounds` start-ups per side, alternating which goes first. Prints the
/// medians of the wall time (the target), of the whole stack's CPU time (robust when the
/// machine is shared) and of svscan's own CPU time; true when within target.
pub fn startup_report(ours: &Side, theirs: &Side, rounds: u32, verbose: bool) -> Result<bool> {
    crate::compare::require_root("svscan-startup")?;
    for side in [ours, theirs] {
        side.require(&["svscan", "supervise", "svstat"])?;
    }
    become_subreaper();
    let n = services()?;
    let sides = [ours, theirs];
    // A first, untimed start-up per side warms the page cache.
    for side in sides {
        start_once(side, n)?;
    }
    let mut runs: [Vec<(Duration, Duration, Duration)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds.max(1) {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let r = start_once(sides[i], n).map_err(|e| {
                BenchError::Fatal(format!("svscan-startup ({}): {e}", sides[i].label))
            })?;
            if verbose {
                eprintln!(
                    "  round {}/{rounds}: {} {:.3} s, stack CPU {:.3} s, svscan CPU {:.1} ms",
                    round + 1,
                    sides[i].label,
                    r.0.as_secs_f64(),
                    r.2.as_secs_f64(),
                    r.1.as_secs_f64() * 1e3
                );
            }
            runs[i].push(r);
        }
    }
    let pick = |i: usize, f: fn(&(Duration, Duration, Duration)) -> Duration| {
        median(runs[i].iter().map(f).collect()).as_secs_f64()
    };
    let wall = [pick(0, |r| r.0), pick(1, |r| r.0)];
    let own = [pick(0, |r| r.1), pick(1, |r| r.1)];
    let stack = [pick(0, |r| r.2), pick(1, |r| r.2)];
    let wall_ratio = ratio(wall[0], wall[1]);
    println!(
        "svscan startup, {n} services until svstat says all up (whole stack: each svscan starts \
         its own supervise), median of {rounds}: {} {:.3} s, {} {:.3} s, ratio {wall_ratio:.2} \
         (target <= {STARTUP_TARGET:.2}); CPU of the whole stack {:.3} s vs {:.3} s, ratio {:.2}; \
         svscan's own CPU {:.1} ms vs {:.1} ms, ratio {:.2}",
        ours.label,
        wall[0],
        theirs.label,
        wall[1],
        stack[0],
        stack[1],
        ratio(stack[0], stack[1]),
        own[0] * 1e3,
        own[1] * 1e3,
        ratio(own[0], own[1]),
    );
    Ok(wall_ratio <= STARTUP_TARGET)
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

/// Private_Dirty and Pss of a process, in kB.
fn memory(pid: u32) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .map_err(|e| fatal(format_args!("read smaps_rollup of {pid}"), e))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| BenchError::Fatal(format!("no {name} in smaps_rollup")))
    };
    Ok((field("Private_Dirty:")?, field("Pss:")?))
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::INFINITY
    } else {
        a / b
    }
}

/// Target for svscan's memory: our Private_Dirty no more than this times Debian's.
const MEMORY_TARGET: f64 = 1.5;

/// `svscan-idle`: both trees up at once, the CPU each svscan uses over the idle window,
/// then its memory. Prints the figures; true when within target.
pub fn idle_report(ours: &Side, theirs: &Side) -> Result<bool> {
    crate::compare::require_root("svscan-idle")?;
    for side in [ours, theirs] {
        side.require(&["svscan", "supervise", "svstat"])?;
    }
    become_subreaper();
    let n = services()?;
    let idle = Duration::from_secs(env_number("BENCH_SVSCAN_IDLE", 60)?);
    let mut trees = [Tree::build(ours, n)?, Tree::build(theirs, n)?];
    for t in trees.iter_mut() {
        t.start()?;
    }
    for t in &trees {
        t.wait_all_up()?;
    }
    // Past the start-up work: the next scans find nothing to do.
    std::thread::sleep(Duration::from_secs(6));
    let before = [cpu_time(trees[0].pid())?, cpu_time(trees[1].pid())?];
    std::thread::sleep(idle);
    let after = [cpu_time(trees[0].pid())?, cpu_time(trees[1].pid())?];
    let cpu: Vec<f64> = (0..2)
        .map(|i| (after[i] - before[i]).as_secs_f64() * 1e3)
        .collect();
    let mem = [memory(trees[0].pid())?, memory(trees[1].pid())?];
    for t in &trees {
        if !t.status_files_up() {
            return Err(BenchError::Fatal(format!(
                "{}: a service went down while idle",
                t.side.label
            )));
        }
    }
    println!(
        "svscan idle {} s with {n} services: CPU {} {:.1} ms, {} {:.1} ms, ratio {:.2}",
        idle.as_secs(),
        ours.label,
        cpu[0],
        theirs.label,
        cpu[1],
        ratio(cpu[0], cpu[1]),
    );
    let dirty_ratio = ratio(mem[0].0 as f64, mem[1].0 as f64);
    println!(
        "svscan memory with {n} services: {} Private_Dirty {} kB Pss {} kB, {} Private_Dirty {} kB \
         Pss {} kB, ratio Private_Dirty {dirty_ratio:.2} (target <= {MEMORY_TARGET:.2}), Pss {:.2}",
        ours.label,
        mem[0].0,
        mem[0].1,
        theirs.label,
        mem[1].0,
        mem[1].1,
        ratio(mem[0].1 as f64, mem[1].1 as f64),
    );
    Ok(dirty_ratio <= MEMORY_TARGET)
}
