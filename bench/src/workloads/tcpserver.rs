//! `tcpserver`: connections per second and p50/p99 connection latency of our
//! tcpserver against Debian's (ucspi-tcp 0.88), both run with `-RHl0` so no DNS or
//! ident is involved, serving a program that writes a line and exits.
//!
//! Configurations: plain; with a 10,000-rule cdb (`-x`, the client matched by the
//! last-resort rule, so every lookup walks the whole key order); with a per-IP limit
//! (`-C 20`: Debian's tcpserver has no `-C`, so it runs without). Each at concurrency
//! 1 and 8. Both servers run at once; rounds alternate which side goes first. The
//! ratio is ours/theirs in connections per second (the median of the rounds' rates;
//! higher is better); the latency percentiles are over every connection.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::Options;
use crate::error::{BenchError, Result};
use crate::side::Side;
use crate::tempdir::TempDir;

/// What every connection's program prints.
pub(super) const LINE: &[u8] = b"ok\n";
/// The program: busybox's echo, statically linked, so that the figures are the
/// servers' and not the dynamic loader's (bench/run.sh installs busybox-static).
const STATIC_ECHO: [&str; 3] = ["/bin/busybox", "echo", "ok"];
/// The same through the dynamically linked coreutils echo, for reference.
const DYNAMIC_ECHO: [&str; 2] = ["/bin/echo", "ok"];
/// Connections per thread before the first round.
pub(super) const WARMUP: u64 = 30;

/// One tcpserver, killed on drop.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub(super) fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BenchError::Fatal(format!("unable to find a free port: {e}")))?;
    Ok(l.local_addr()
        .map_err(|e| BenchError::Fatal(e.to_string()))?
        .port())
}

fn start(side: &Side, opts: &[&str], program: &[&str]) -> Result<Server> {
    start_with(side, opts, program, &[])
}

/// [`start`] with `env` added to the server's environment (PATH only otherwise).
pub(super) fn start_with(
    side: &Side,
    opts: &[&str],
    program: &[&str],
    env: &[(&str, &str)],
) -> Result<Server> {
    let port = free_port()?;
    let mut args: Vec<String> = vec!["-RHl0".into(), "-b".into(), "64".into()];
    args.extend(opts.iter().map(|s| s.to_string()));
    args.push("127.0.0.1".into());
    args.push(port.to_string());
    args.extend(program.iter().map(|s| s.to_string()));
    let child = Command::new(side.program("tcpserver"))
        .args(&args)
        .env_clear()
        .env("PATH", &side.path)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            BenchError::Fatal(format!("{}: unable to start tcpserver: {e}", side.label))
        })?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = Server { child, addr };
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || server.child.try_wait().ok().flatten().is_some() {
            return Err(BenchError::Fatal(format!(
                "{}: tcpserver {} did not start listening",
                side.label,
                args.join(" ")
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The probe connection ran the program too; let it finish.
    std::thread::sleep(Duration::from_millis(50));
    let _ = &mut server;
    Ok(server)
}

/// One connection: connect, read to EOF, check the line. Returns its latency.
fn once(addr: SocketAddr, expect: &[u8], buf: &mut Vec<u8>) -> Result<Duration> {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).map_err(|e| BenchError::Fatal(format!("connect: {e}")))?;
    buf.clear();
    s.read_to_end(buf)
        .map_err(|e| BenchError::Fatal(format!("read: {e}")))?;
    let took = t.elapsed();
    if buf != expect {
        return Err(BenchError::Fatal(format!(
            "expected {:?}, got {:?}",
            String::from_utf8_lossy(expect),
            String::from_utf8_lossy(buf)
        )));
    }
    Ok(took)
}

/// `total` connections from `threads` clients at once; the latencies and the wall time.
pub(super) fn load(
    addr: SocketAddr,
    threads: u64,
    total: u64,
) -> Result<(Vec<Duration>, Duration)> {
    let left = Arc::new(AtomicU64::new(total));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let left = left.clone();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let mut lat = Vec::new();
                let mut buf = Vec::with_capacity(64);
                while left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    lat.push(once(addr, LINE, &mut buf)?);
                }
                Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total as usize);
    for h in handles {
        all.extend(
            h.join()
                .map_err(|_| BenchError::Fatal("client thread panicked".into()))??,
        );
    }
    Ok((all, start.elapsed()))
}

/// CPU time used so far by a server and the programs it has reaped.
pub(super) fn server_cpu(server: &Server) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", server.child.id())) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the ")": state first; utime, stime, cutime, cstime are fields 11-14.
    let ticks: u64 = fields
        .get(11..15)
        .map_or(0, |f| f.iter().filter_map(|x| x.parse::<u64>().ok()).sum());
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub(super) struct Figures {
    pub(super) per_sec: f64,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
}

/// Connections per second is the median of the rounds' rates, so that one round
/// disturbed by something else on the machine does not decide the result.
pub(super) fn figures(mut lat: Vec<Duration>, mut rates: Vec<f64>) -> Figures {
    lat.sort();
    rates.sort_by(f64::total_cmp);
    let per_sec = match rates.len() {
        0 => 0.0,
        n if n % 2 == 1 => rates[n / 2],
        n => (rates[n / 2 - 1] + rates[n / 2]) / 2.0,
    };
    Figures {
        per_sec,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
    }
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs one configuration on both sides; returns ours/theirs connections per second.
fn compare(
    title: &str,
    sides: [(&Side, Vec<&str>); 2],
    program: &[&str],
    threads: u64,
    opts: &Options,
) -> Result<f64> {
    let servers = [
        start(sides[0].0, &sides[0].1, program)?,
        start(sides[1].0, &sides[1].1, program)?,
    ];
    for s in &servers {
        load(s.addr, threads, WARMUP * threads)?;
    }
    let rounds = u64::from(opts.rounds);
    let mut lat: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut cpu = [Duration::ZERO; 2];
    for round in 0..rounds {
        let n = opts.runs / rounds + u64::from(round < opts.runs % rounds);
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let before = server_cpu(&servers[i]);
            let (l, w) = load(servers[i].addr, threads, n)
                .map_err(|e| BenchError::Fatal(format!("{title} ({}): {e}", sides[i].0.label)))?;
            if opts.verbose {
                eprintln!(
                    "  {title} round {}/{rounds} {}: {:.0} conn/s",
                    round + 1,
                    sides[i].0.label,
                    l.len() as f64 / w.as_secs_f64()
                );
            }
            rates[i].push(l.len() as f64 / w.as_secs_f64());
            lat[i].extend(l);
            // Let the server reap the last programs, whose time then counts as its own.
            std::thread::sleep(Duration::from_millis(20));
            cpu[i] += server_cpu(&servers[i]).saturating_sub(before);
        }
    }
    let [ours, theirs] =
        [0, 1].map(|i| figures(std::mem::take(&mut lat[i]), std::mem::take(&mut rates[i])));
    let ratio = ours.per_sec / theirs.per_sec;
    let per_conn = |i: usize| cpu[i].as_secs_f64() * 1e6 / opts.runs as f64;
    println!(
        "{title} c={threads} x{}: ours {:.0} conn/s (p50 {:.2} ms, p99 {:.2} ms), {} {:.0} conn/s \
         (p50 {:.2} ms, p99 {:.2} ms), ratio {ratio:.2} (target >= {TARGET:.2}); \
         server CPU per connection (server and its programs): ours {:.0} us, {} {:.0} us",
        opts.runs,
        ours.per_sec,
        ms(ours.p50),
        ms(ours.p99),
        sides[1].0.label,
        theirs.per_sec,
        ms(theirs.p50),
        ms(theirs.p99),
        per_conn(0),
        sides[1].0.label,
        per_conn(1),
    );
    Ok(ratio)
}

/// Throughput ours/theirs the issue asks for.
const TARGET: f64 = 1.20;

/// A rules file of `n` lines that never match 127.0.0.1, then the catch-all rule.
fn rules_text(n: u32) -> String {
    let mut s = String::with_capacity(n as usize * 32);
    for i in 0..n.saturating_sub(1) {
        let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
        match i % 3 {
            0 => s.push_str(&format!("10.{a}.{b}.{c}:deny\n")),
            1 => s.push_str(&format!("=host{i}.example.com:allow,RELAYCLIENT=\"\"\n")),
            _ => s.push_str(&format!("172.{a}.{b}.:allow,X=\"{c}\"\n")),
        }
    }
    s.push_str(":allow,BENCH=\"rules\"\n");
    s
}

/// Build `dir/rules.cdb` with `tcprules` from `side`.
fn build_rules(side: &Side, dir: &Path, text: &str) -> Result<String> {
    let src = dir.join("rules.txt");
    std::fs::write(&src, text).map_err(|e| BenchError::Fatal(e.to_string()))?;
    let cdb = dir.join("rules.cdb");
    let status = Command::new(side.program("tcprules"))
        .arg(&cdb)
        .arg(dir.join("rules.tmp"))
        .stdin(std::fs::File::open(&src).map_err(|e| BenchError::Fatal(e.to_string()))?)
        .status()
        .map_err(|e| BenchError::Fatal(format!("tcprules: {e}")))?;
    if !status.success() {
        return Err(BenchError::Fatal(format!(
            "{}: tcprules failed: {status}",
            side.label
        )));
    }
    Ok(cdb.to_string_lossy().into_owned())
}

/// Check once that the rules really apply on both sides: the program sees BENCH.
fn check_rules(side: &Side, cdb: &str) -> Result<()> {
    let s = start(side, &["-x", cdb], &["/bin/sh", "-c", "echo \"$BENCH\""])?;
    let mut buf = Vec::new();
    once(s.addr, b"rules\n", &mut buf)
        .map_err(|e| BenchError::Fatal(format!("{}: rules not applied: {e}", side.label)))?;
    Ok(())
}

pub fn run(opts: &Options) -> Result<()> {
    let ours = Side::ours(&opts.ours);
    let theirs = Side {
        label: "ucspi-tcp",
        ..Side::theirs(&opts.theirs)
    };
    for side in [&ours, &theirs] {
        side.require(&["tcpserver", "tcprules"])?;
    }
    let dir = TempDir::new("bench-tcpserver")?;
    let cdb = build_rules(&theirs, dir.path(), &rules_text(10_000))?;
    check_rules(&ours, &cdb)?;
    check_rules(&theirs, &cdb)?;
    let program: &[&str] = if Path::new(STATIC_ECHO[0]).is_file() {
        &STATIC_ECHO
    } else {
        eprintln!(
            "bench: warning: {} missing, using {}",
            STATIC_ECHO[0], DYNAMIC_ECHO[0]
        );
        &DYNAMIC_ECHO
    };
    println!("program: {}", program.join(" "));
    let mut worst = f64::INFINITY;
    for threads in [1, 8] {
        let plain = compare(
            "tcpserver",
            [(&ours, vec![]), (&theirs, vec![])],
            program,
            threads,
            opts,
        )?;
        let rules = compare(
            "tcpserver -x (10,000 rules)",
            [(&ours, vec!["-x", &cdb]), (&theirs, vec!["-x", &cdb])],
            program,
            threads,
            opts,
        )?;
        let per_ip = compare(
            "tcpserver -C 20 (Debian: no -C)",
            [(&ours, vec!["-C", "20"]), (&theirs, vec![])],
            program,
            threads,
            opts,
        )?;
        worst = worst.min(plain).min(rules).min(per_ip);
    }
    // For reference (not held to the target): a dynamically linked program.
    compare(
        "tcpserver, program /bin/echo",
        [(&ours, vec![]), (&theirs, vec![])],
        &DYNAMIC_ECHO,
        8,
        opts,
    )?;
    if worst < TARGET {
        eprintln!("bench: warning: tcpserver is under its target ratio ({worst:.2} < {TARGET:.2})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_file_has_n_lines_and_a_catch_all() {
        let t = rules_text(10_000);
        assert_eq!(t.lines().count(), 10_000);
        assert!(t.ends_with(":allow,BENCH=\"rules\"\n"));
    }

    #[test]
    fn median_of_rounds() {
        let lat = vec![Duration::from_millis(1); 4];
        assert_eq!(figures(lat.clone(), vec![10.0, 1000.0, 20.0]).per_sec, 20.0);
        assert_eq!(figures(lat, vec![10.0, 30.0]).per_sec, 20.0);
    }

    #[test]
    fn percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
