//! `multilog`: 1,000,000 lines of 100 bytes through `multilog t s16777215 n5 ./dir`, each
//! side in turn, in interleaved rounds: throughput (lines/s), its ratio ours/theirs
//! (target: at least 2) and each side's peak RSS (target for ours: under 4 MB).
//!
//! Also the shared pieces of the line-throughput workloads (see `tai64n.rs`): the input
//! file and a timed run of one program over a file, with its peak RSS from wait4(2).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::side::Side;
use crate::tempdir::TempDir;

/// Lines in the input and bytes per line (newline included).
pub const LINES: u64 = 1_000_000;
pub const LINE_BYTES: u64 = 100;

const TARGET_SPEEDUP: f64 = 2.0;
const TARGET_RSS_KB: u64 = 4 * 1024;

fn fatal(what: impl std::fmt::Display) -> BenchError {
    BenchError::Fatal(what.to_string())
}

/// Write the input: `LINES` numbered lines of `LINE_BYTES` bytes.
pub fn write_input(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("input");
    let file = File::create(&path).map_err(|e| fatal(format_args!("{}: {e}", path.display())))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let filler = "x".repeat((LINE_BYTES - 9) as usize);
    for i in 0..LINES {
        writeln!(out, "{i:07} {filler}").map_err(|e| fatal(format_args!("write input: {e}")))?;
    }
    out.flush()
        .map_err(|e| fatal(format_args!("write input: {e}")))?;
    Ok(path)
}

/// The last line of the input, without its newline.
pub fn last_input_line() -> String {
    format!("{:07} {}", LINES - 1, "x".repeat((LINE_BYTES - 9) as usize))
}

/// One run: elapsed time and peak RSS in kB.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub elapsed: Duration,
    pub max_rss_kb: u64,
}

/// Run `program args` in `cwd` with stdin from `input`, stdout to `output`, an
/// environment of only PATH; fail unless it exits 0.
pub fn timed_run(
    side: &Side,
    program: &str,
    args: &[&str],
    cwd: &Path,
    input: &Path,
    output: &Path,
) -> Result<Run> {
    let stdin = File::open(input).map_err(|e| fatal(format_args!("{}: {e}", input.display())))?;
    let stdout =
        File::create(output).map_err(|e| fatal(format_args!("{}: {e}", output.display())))?;
    let start = Instant::now();
    let child = Command::new(side.program(program))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", &side.path)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            fatal(format_args!(
                "{}: unable to start {program}: {e}",
                side.label
            ))
        })?;
    // Peak RSS: the exec'd program's own high-water mark (VmHWM), sampled until it exits.
    // (wait4's ru_maxrss would include the RSS of this process, copied at fork.)
    let pid = child.id() as libc::pid_t;
    let status_file = format!("/proc/{pid}/status");
    let mut max_rss_kb = 0;
    let mut status = 0;
    loop {
        // SAFETY: wait4 on our own child with a valid status pointer; no rusage wanted.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, std::ptr::null_mut()) };
        if r == pid {
            break;
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(fatal(format_args!("wait4: {e}")));
            }
        }
        if let Some(kb) = high_water_kb(&status_file) {
            max_rss_kb = max_rss_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(fatal(format_args!(
            "{}: {program} failed (wait status {status:#x})",
            side.label
        )));
    }
    Ok(Run {
        elapsed,
        max_rss_kb,
    })
}

/// VmHWM of a running process, in kB.
fn high_water_kb(status_file: &str) -> Option<u64> {
    let text = std::fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Totals of several runs of one side.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub elapsed: Duration,
    pub runs: u32,
    pub max_rss_kb: u64,
}

impl Totals {
    pub fn add(&mut self, run: Run) {
        self.elapsed += run.elapsed;
        self.runs += 1;
        self.max_rss_kb = self.max_rss_kb.max(run.max_rss_kb);
    }

    pub fn lines_per_sec(&self) -> f64 {
        (LINES * u64::from(self.runs)) as f64 / self.elapsed.as_secs_f64()
    }

    pub fn describe(&self, label: &str) -> String {
        format!(
            "{label} {:.3} s/run ({:.2} M lines/s, peak RSS {:.1} MB)",
            self.elapsed.as_secs_f64() / f64::from(self.runs.max(1)),
            self.lines_per_sec() / 1e6,
            self.max_rss_kb as f64 / 1024.0
        )
    }
}

/// Run `once(side, round)` for both sides in `rounds` interleaved rounds.
pub fn interleaved(
    sides: [&Side; 2],
    rounds: u32,
    verbose: bool,
    mut once: impl FnMut(&Side) -> Result<Run>,
) -> Result<[Totals; 2]> {
    // One untimed run each: page cache, binaries.
    for side in sides {
        once(side)?;
    }
    let mut totals = [Totals::default(); 2];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let run = once(sides[i])?;
            if verbose {
                eprintln!(
                    "  round {}/{rounds}: {} {:.3} s, peak RSS {} kB",
                    round + 1,
                    sides[i].label,
                    run.elapsed.as_secs_f64(),
                    run.max_rss_kb
                );
            }
            totals[i].add(run);
        }
    }
    Ok(totals)
}

/// Print the comparison line; true when ours is at least `target` times as fast.
pub fn print_speed(
    title: &str,
    totals: &[Totals; 2],
    labels: [&str; 2],
    target: Option<f64>,
) -> bool {
    let speedup = totals[0].lines_per_sec() / totals[1].lines_per_sec();
    let target_text = target.map_or(String::new(), |t| format!(" (target >= {t:.2})"));
    println!(
        "{title} x{}: {}, {}, throughput ratio ours/theirs {speedup:.2}{target_text}",
        totals[0].runs,
        totals[0].describe(labels[0]),
        totals[1].describe(labels[1]),
    );
    target.map_or(true, |t| speedup >= t)
}

/// Checks that a finished log directory holds the input's last line, labelled.
fn check_log(side: &Side, dir: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut current = File::open(dir.join("current"))
        .map_err(|e| fatal(format_args!("{}: current: {e}", side.label)))?;
    let mut tail = Vec::new();
    current
        .seek(SeekFrom::End(-(2 * LINE_BYTES as i64 + 52)))
        .and_then(|_| current.read_to_end(&mut tail))
        .map_err(|e| fatal(format_args!("{}: current: {e}", side.label)))?;
    let text = String::from_utf8_lossy(&tail);
    let last = text.lines().last().unwrap_or_default();
    let labelled = last.len() > 26 && last.starts_with('@') && last.as_bytes()[25] == b' ';
    if !labelled || last[26..] != last_input_line() {
        return Err(fatal(format_args!(
            "{}: multilog did not log the input (last line {last:?})",
            side.label
        )));
    }
    let archives = std::fs::read_dir(dir)
        .map_err(|e| fatal(format_args!("{e}")))?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".s"))
        })
        .count();
    if archives != 4 {
        return Err(fatal(format_args!(
            "{}: {archives} archives, want 4 (n5)",
            side.label
        )));
    }
    Ok(())
}

pub fn report(ours: &Side, theirs: &Side, rounds: u32, verbose: bool) -> Result<bool> {
    for side in [ours, theirs] {
        side.require(&["multilog"])?;
    }
    let tmp = TempDir::new("bench-multilog")?;
    let input = write_input(tmp.path())?;
    let mut n = 0;
    let totals = interleaved([ours, theirs], rounds, verbose, |side| {
        n += 1;
        let name = format!("log{n}");
        let log = tmp.path().join(&name);
        let dir = format!("./{name}");
        let run = timed_run(
            side,
            "multilog",
            &["t", "s16777215", "n5", &dir],
            tmp.path(),
            &input,
            &tmp.path().join("out"),
        )?;
        check_log(side, &log)?;
        std::fs::remove_dir_all(&log).map_err(|e| fatal(format_args!("{e}")))?;
        Ok(run)
    })?;
    let fast = print_speed(
        &format!("multilog t s16777215 n5 ./dir ({LINES} lines of {LINE_BYTES} bytes)"),
        &totals,
        [ours.label, theirs.label],
        Some(TARGET_SPEEDUP),
    );
    let small = totals[0].max_rss_kb < TARGET_RSS_KB;
    println!(
        "multilog peak RSS: ours {} kB, {} {} kB (target for ours < {TARGET_RSS_KB} kB)",
        totals[0].max_rss_kb, theirs.label, totals[1].max_rss_kb
    );
    Ok(fast && small)
}
