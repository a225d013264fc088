//! svscan over a tree of many services (default 1,000, each `run` a `sleep`), each side with
//! its own supervise and svstat: our svscan starts our supervise, Debian's svscan starts
//! Debian's supervise, so every figure is the whole stack's.
//!
//! * `svscan-startup`: time from exec'ing svscan until every service is up and that side's
//!   svstat says so (one svstat over all the directories, every line `NAME: up ...`). The
//!   tree is built fresh and everything is killed between operations, untimed.
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

use crate::compare::{Trial, Workload};
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
            // SAFETY: kill(2) of the process group this bench created.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            // Let the group's members die, then reap the ones adopted here.
            std::thread::sleep(Duration::from_millis(200));
            reap_all();
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.stop();
    }
}

pub struct Startup;

struct StartupTrial {
    side: Side,
    n: usize,
}

impl Trial for StartupTrial {
    fn once(&mut self) -> Result<()> {
        self.timed_once().map(|_| ())
    }

    fn timed_once(&mut self) -> Result<Duration> {
        let mut tree = Tree::build(&self.side, self.n)?;
        let start = Instant::now();
        tree.start()?;
        tree.wait_all_up()?;
        let took = start.elapsed();
        tree.stop();
        Ok(took)
    }
}

impl Workload for Startup {
    fn title(&self) -> String {
        format!(
            "svscan startup ({} services until svstat says all up; whole stack)",
            services().unwrap_or(1000)
        )
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["svscan", "supervise", "svstat"]
    }

    fn needs_root(&self) -> bool {
        // Thousands of processes; the idle window reads other processes' /proc entries.
        true
    }

    fn target_ratio(&self) -> f64 {
        1.0
    }

    fn warmup(&self) -> u64 {
        1
    }

    fn max_runs(&self) -> Option<u64> {
        Some(5)
    }

    fn prepare(&self, side: &Side) -> Result<Box<dyn Trial>> {
        become_subreaper();
        Ok(Box::new(StartupTrial {
            side: side.clone(),
            n: services()?,
        }))
    }
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
