//! `multilog`: 1,000,000 lines of 100 bytes (quick: 20,000) through each side's logger,
//! timestamping every line and rotating at 16 MB keeping 5 files (quick: the size scaled
//! down with the input): `multilog t s16777215 n5 ./dir` for ours, djb's and IndiMail's,
//! `s6-log n5 s16777215 t ./dir` for s6, `svlogd -t ./dir` (with `s16777215` and `n5` in
//! its config) for runit. Each side in turn, in interleaved rounds: throughput (lines/s,
//! the median of the runs) and peak RSS. Targets (issue 17): at least 2 times s6-log,
//! and ahead of djb's and IndiMail's.
//!
//! Also the shared pieces of the line-throughput workloads (see `tai64n.rs`): the input
//! file and a timed run of one program over a file, with its peak RSS.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::Options;
use crate::compare::{interleave, median};
use crate::error::{BenchError, Result};
use crate::peers::Peers;
use crate::results::{Figure, Target};
use crate::side::{Flavor, Side};
use crate::tempdir::TempDir;

/// Bytes per line (newline included).
pub const LINE_BYTES: u64 = 100;
/// The rotation size for the full input (multilog's largest).
const FULL_SIZE: u64 = 16_777_215;
const FULL_LINES: u64 = 1_000_000;

fn fatal(what: impl std::fmt::Display) -> BenchError {
    BenchError::Fatal(what.to_string())
}

/// How many lines the line-throughput workloads feed.
pub fn lines(opts: &Options) -> u64 {
    if opts.quick {
        20_000
    } else {
        FULL_LINES
    }
}

/// Write the input: `lines` numbered lines of `LINE_BYTES` bytes.
pub fn write_input(dir: &Path, lines: u64) -> Result<PathBuf> {
    let path = dir.join("input");
    let file = File::create(&path).map_err(|e| fatal(format_args!("{}: {e}", path.display())))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let filler = "x".repeat((LINE_BYTES - 9) as usize);
    for i in 0..lines {
        writeln!(out, "{i:07} {filler}").map_err(|e| fatal(format_args!("write input: {e}")))?;
    }
    out.flush()
        .map_err(|e| fatal(format_args!("write input: {e}")))?;
    Ok(path)
}

/// The last line of the input, without its newline.
pub fn last_input_line(lines: u64) -> String {
    format!("{:07} {}", lines - 1, "x".repeat((LINE_BYTES - 9) as usize))
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

/// Each side's runs of one program over the same input, interleaved; prints the medians
/// and records ours against each peer (lines/s, and peak RSS without a target).
pub fn throughput(
    title: &str,
    sides: &[&Side],
    lines: u64,
    opts: &Options,
    target: impl Fn(&Side) -> Target,
    mut once: impl FnMut(&Side) -> Result<Run>,
) -> Result<()> {
    // One untimed run each: page cache, binaries.
    for side in sides {
        once(side)?;
    }
    let runs = interleave(sides.len(), opts.rounds, |i, round| {
        let run = once(sides[i])?;
        if opts.verbose {
            eprintln!(
                "  {title} round {}/{}: {} {:.3} s, peak RSS {} kB",
                round + 1,
                opts.rounds,
                sides[i].label,
                run.elapsed.as_secs_f64(),
                run.max_rss_kb
            );
        }
        Ok(run)
    })?;
    let rate: Vec<f64> = runs
        .iter()
        .map(|r| {
            let v: Vec<f64> = r
                .iter()
                .map(|x| lines as f64 / x.elapsed.as_secs_f64())
                .collect();
            median(&v)
        })
        .collect();
    let rss: Vec<f64> = runs
        .iter()
        .map(|r| r.iter().map(|x| x.max_rss_kb).max().unwrap_or(0) as f64)
        .collect();
    let speed = Figure {
        group: title.split_whitespace().next().unwrap_or(title),
        workload: title,
        metric: "lines/s",
        higher_better: true,
    };
    let memory = Figure {
        metric: "peak RSS (kB)",
        higher_better: false,
        ..speed
    };
    for (i, side) in sides.iter().enumerate() {
        println!(
            "{title} (median of {}): {} {:.2} M lines/s, peak RSS {:.0} kB{}",
            opts.rounds,
            side.label,
            rate[i] / 1e6,
            rss[i],
            if i == 0 {
                String::new()
            } else {
                format!(", ours/{} {:.2}", side.label, rate[0] / rate[i])
            }
        );
        if i > 0 {
            speed.record(rate[0], side.label, rate[i], target(side))?;
            memory.record(rss[0], side.label, rss[i], Target::None)?;
        }
    }
    Ok(())
}

/// The logger's command line, its rotation size scaled to the input.
fn logger_args(flavor: Flavor, size: u64, dir: &str) -> Vec<String> {
    let s = format!("s{size}");
    let v: Vec<&str> = match flavor {
        Flavor::Djb => vec!["t", &s, "n5", dir],
        Flavor::S6 => vec!["n5", &s, "t", dir],
        Flavor::Runit => vec!["-t", dir],
    };
    v.into_iter().map(String::from).collect()
}

/// Archived files a finished log directory should hold: multilog's n counts `current`,
/// s6-log's and svlogd's do not.
fn archives_kept(flavor: Flavor) -> usize {
    match flavor {
        Flavor::Djb => 4,
        Flavor::S6 | Flavor::Runit => 5,
    }
}

/// Checks that a finished log directory holds the input's last line, labelled, and the
/// archives its `n5` keeps.
fn check_log(side: &Side, dir: &Path, lines: u64) -> Result<()> {
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
    if !labelled || last[26..] != last_input_line(lines) {
        return Err(fatal(format_args!(
            "{}: the logger did not log the input (last line {last:?})",
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
    let want = archives_kept(side.flavor);
    if archives != want {
        return Err(fatal(format_args!(
            "{}: {archives} archives, want {want} (n5)",
            side.label
        )));
    }
    Ok(())
}

pub fn report(peers: &Peers, opts: &Options) -> Result<()> {
    let sides = peers.supervisors();
    for side in &sides {
        side.require(&[side.flavor.logger()])?;
    }
    let lines = lines(opts);
    let size = (FULL_SIZE * lines / FULL_LINES).max(4096);
    let tmp = TempDir::new("bench-multilog")?;
    let input = write_input(tmp.path(), lines)?;
    let mut n = 0;
    let title = format!("multilog t s{size} n5 ({lines} lines of {LINE_BYTES} bytes)");
    let target = |side: &Side| match side.label {
        "s6" => Target::Advantage(2.0),
        // "Keep the lead" over djb's and IndiMail's.
        "daemontools" | "indimail" => Target::Advantage(1.0),
        _ => Target::None,
    };
    throughput(&title, &sides, lines, opts, target, |side| {
        n += 1;
        let name = format!("log{n}");
        let log = tmp.path().join(&name);
        std::fs::create_dir(&log).map_err(|e| fatal(format_args!("mkdir {name}: {e}")))?;
        if side.flavor == Flavor::Runit {
            std::fs::write(log.join("config"), format!("s{size}\nn5\n"))
                .map_err(|e| fatal(format_args!("{name}/config: {e}")))?;
        }
        let args = logger_args(side.flavor, size, &format!("./{name}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = timed_run(
            side,
            side.flavor.logger(),
            &args,
            tmp.path(),
            &input,
            &tmp.path().join("out"),
        )?;
        check_log(side, &log, lines)?;
        std::fs::remove_dir_all(&log).map_err(|e| fatal(format_args!("{e}")))?;
        Ok(run)
    })
}
