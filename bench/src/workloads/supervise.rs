//! One service's supervisor, ours against daemontools', IndiMail's, s6's `s6-supervise` and
//! runit's `runsv`, each in a scratch service directory of its own:
//!
//! * `supervise-restart`: restart latency, from the moment the running `run` is killed to
//!   the moment the next `run` has been exec'd and reports in, when the last start was
//!   more than a second ago (so no side's one-second throttle applies). Only that
//!   interval is timed; the wait between operations is not.
//! * `supervise-memory`: the supervisor's memory at rest (Private_Dirty and Pss from
//!   /proc/PID/smaps_rollup) with a sleeping `run`. Targets (issue 17): Private_Dirty no
//!   more than djb's, Pss no more than s6-supervise's.
//!
//! `run` is the same shell script on every side: it writes its pid into a FIFO the bench
//! reads, then execs `sleep`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::cli::Options;
use crate::compare::{median, Trial, Workload};
use crate::error::{BenchError, Result};
use crate::peers::Peers;
use crate::results::{Figure, Target};
use crate::side::Side;
use crate::tempdir::TempDir;

/// The service directory's name inside the scratch directory.
const SERVICE: &str = "svc";
/// Longer than both sides' restart throttle.
const SETTLE: Duration = Duration::from_millis(1100);
/// How long a start may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(10);

/// One supervise over a scratch service whose `run` reports each start.
struct Service {
    _dir: TempDir,
    supervise: Child,
    started: BufReader<File>,
    run_pid: libc::pid_t,
    last_start: Instant,
}

impl Service {
    fn start(side: &Side) -> Result<Service> {
        let dir = TempDir::new("bench-supervise")?;
        let svc = dir.path().join(SERVICE);
        let fail = |what: &str, e: std::io::Error| BenchError::Fatal(format!("{what}: {e}"));
        std::fs::create_dir(&svc).map_err(|e| fail("mkdir service", e))?;
        dir.write(
            &format!("{SERVICE}/run"),
            "#!/bin/sh\necho $$ >started\nexec sleep 100000\n",
        )?;
        set_mode(&svc.join("run"), 0o755)?;
        let fifo = svc.join("started");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())
            .map_err(|_| BenchError::Fatal("path with NUL".into()))?;
        // SAFETY: mkfifo with a valid C string.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            return Err(fail("mkfifo", std::io::Error::last_os_error()));
        }
        // Read and write: the open does not block, and the pipe never sees EOF.
        let started = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&fifo)
            .map_err(|e| fail("open fifo", e))?;
        let supervise = std::process::Command::new(side.program(side.flavor.supervise()))
            .arg(SERVICE)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", &side.path)
            .env("DISABLE_RUN", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail("start supervise", e))?;
        let mut s = Service {
            _dir: dir,
            supervise,
            started: BufReader::new(started),
            run_pid: 0,
            last_start: Instant::now(),
        };
        s.run_pid = s.next_start()?;
        Ok(s)
    }

    /// Block until `run` reports in; its pid.
    fn next_start(&mut self) -> Result<libc::pid_t> {
        let mut line = String::new();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let mut fds = [libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(self.started.get_ref()),
                events: libc::POLLIN,
                revents: 0,
            }];
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BenchError::Fatal("run did not start within 10 s".into()));
            }
            // SAFETY: one pollfd we own.
            unsafe { libc::poll(fds.as_mut_ptr(), 1, left.as_millis() as i32 + 1) };
            if fds[0].revents & libc::POLLIN != 0 || !self.started.buffer().is_empty() {
                break;
            }
        }
        self.started
            .read_line(&mut line)
            .map_err(|e| BenchError::Fatal(format!("read fifo: {e}")))?;
        self.last_start = Instant::now();
        line.trim()
            .parse()
            .map_err(|_| BenchError::Fatal(format!("run reported {line:?}")))
    }

    fn pid(&self) -> u32 {
        self.supervise.id()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) of processes this bench started.
        unsafe {
            libc::kill(self.supervise.id() as libc::pid_t, libc::SIGKILL);
            libc::kill(self.run_pid, libc::SIGKILL);
        }
        let _ = self.supervise.wait();
    }
}

fn set_mode(p: &std::path::Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| BenchError::Fatal(format!("chmod {}: {e}", p.display())))
}

pub struct Restart {
    pub quick: bool,
}

struct RestartTrial(Service);

impl Trial for RestartTrial {
    fn once(&mut self) -> Result<()> {
        self.timed_once().map(|_| ())
    }

    fn timed_once(&mut self) -> Result<Duration> {
        let s = &mut self.0;
        let since = s.last_start.elapsed();
        if since < SETTLE {
            std::thread::sleep(SETTLE - since);
        }
        let start = Instant::now();
        // SAFETY: plain kill(2) of the run process this service started.
        unsafe { libc::kill(s.run_pid, libc::SIGKILL) };
        let pid = s.next_start()?;
        let took = start.elapsed();
        if pid == s.run_pid {
            return Err(BenchError::Fatal("the same run reported twice".into()));
        }
        s.run_pid = pid;
        Ok(took)
    }
}

impl Workload for Restart {
    fn title(&self) -> String {
        "supervise restart latency (kill -9 run -> next run reports)".into()
    }

    fn binaries(&self) -> &'static [&'static str] {
        &[]
    }

    fn target_ratio(&self) -> f64 {
        1.0
    }

    fn warmup(&self) -> u64 {
        1
    }

    fn max_runs(&self) -> Option<u64> {
        // Each operation waits out the one-second throttle first.
        Some(if self.quick { 2 } else { 20 })
    }

    fn prepare(&self, side: &Side) -> Result<Box<dyn Trial>> {
        side.require(&[side.flavor.supervise()])?;
        Ok(Box::new(RestartTrial(Service::start(side)?)))
    }
}

/// Private_Dirty and Pss of a process, in kB.
pub(super) fn memory(pid: u32) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .map_err(|e| BenchError::Fatal(format!("read smaps_rollup of {pid}: {e}")))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| BenchError::Fatal(format!("no {name} in smaps_rollup")))
    };
    Ok((field("Private_Dirty:")?, field("Pss:")?))
}

/// Median memory of `samples` separate supervisors at rest.
fn at_rest(side: &Side, samples: usize) -> Result<(f64, f64)> {
    side.require(&[side.flavor.supervise()])?;
    let mut dirty = Vec::new();
    let mut pss = Vec::new();
    for _ in 0..samples {
        let s = Service::start(side)?;
        // Let the supervisor finish its post-start bookkeeping.
        std::thread::sleep(SETTLE);
        let (d, p) = memory(s.pid())?;
        dirty.push(d as f64);
        pss.push(p as f64);
    }
    Ok((median(&dirty), median(&pss)))
}

/// `supervise-memory`: every side's figures, printed and recorded against each peer.
pub fn memory_report(peers: &Peers, opts: &Options) -> Result<()> {
    let samples = if opts.quick { 1 } else { 5 };
    let sides = peers.supervisors();
    let mem = sides
        .iter()
        .map(|s| at_rest(s, samples))
        .collect::<Result<Vec<_>>>()?;
    let workload = "supervise at rest";
    let dirty = Figure {
        group: "supervise",
        workload,
        metric: "Private_Dirty (kB)",
        higher_better: false,
    };
    let pss = Figure {
        metric: "Pss (kB)",
        ..dirty
    };
    for (side, (d, p)) in sides.iter().zip(&mem) {
        println!(
            "{workload} (median of {samples}): {} ({}) Private_Dirty {d} kB, Pss {p} kB",
            side.label,
            side.flavor.supervise()
        );
    }
    let (od, op) = mem[0];
    for (side, &(d, p)) in sides.iter().zip(&mem).skip(1) {
        let dirty_target = if side.label == "daemontools" {
            Target::Advantage(1.0)
        } else {
            Target::None
        };
        let pss_target = if side.label == "s6" {
            Target::Advantage(1.0)
        } else {
            Target::None
        };
        dirty.record(od, side.label, d, dirty_target)?;
        pss.record(op, side.label, p, pss_target)?;
    }
    Ok(())
}
