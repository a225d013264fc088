//! The shared harness: a workload runs against every implementation in interleaved
//! rounds (rotating which side goes first, to cancel drift), and the result is each
//! side's median figure and the ratio ours/theirs.

use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::side::Side;

/// One side's prepared workload: `once` performs a single timed operation
/// (one chain, one connection, one batch of lines) and checks its outcome.
/// Anything started in `prepare` (servers, fifos) is torn down on drop.
pub trait Trial {
    fn once(&mut self) -> Result<()>;

    /// One operation and the time it counts for. By default all of [`Trial::once`]; a trial
    /// whose operation needs untimed set-up (a wait, a reset) times only the part measured.
    fn timed_once(&mut self) -> Result<Duration> {
        let start = Instant::now();
        self.once()?;
        Ok(start.elapsed())
    }
}

/// A workload measured by elapsed time per operation.
pub trait Workload {
    /// Report title, e.g. "chain (envdir softlimit setuidgid true)".
    fn title(&self) -> String;
    /// Programs that must exist in each side's directory.
    fn binaries(&self) -> &'static [&'static str];
    /// Whether the workload must run as root.
    fn needs_root(&self) -> bool {
        false
    }
    /// Highest acceptable ratio ours/theirs.
    fn target_ratio(&self) -> f64;
    /// Untimed operations per side before the first round (page cache, CPU caches).
    fn warmup(&self) -> u64 {
        20
    }
    /// Most operations per side, for workloads whose operations take seconds.
    fn max_runs(&self) -> Option<u64> {
        None
    }
    /// Sets the workload up for one side; checks that the side really does the work.
    fn prepare(&self, side: &Side) -> Result<Box<dyn Trial>>;
}

/// How many timed operations, and in how many rounds.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub runs: u64,
    pub rounds: u32,
    pub verbose: bool,
}

impl Plan {
    /// Operations in round `i`: `runs` split as evenly as possible.
    fn round_size(&self, i: u32) -> u64 {
        let r = u64::from(self.rounds);
        self.runs / r + u64::from(u64::from(i) < self.runs % r)
    }
}

/// Our median time per operation next to one peer's.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub title: String,
    pub runs: u64,
    pub labels: [&'static str; 2],
    /// Median over the rounds of each round's time per operation.
    pub per_op: [Duration; 2],
    pub target: f64,
}

impl Comparison {
    pub fn ratio(&self) -> f64 {
        self.per_op[0].as_secs_f64() / self.per_op[1].as_secs_f64()
    }

    pub fn within_target(&self) -> bool {
        self.ratio() <= self.target
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x{}:", self.title, self.runs)?;
        for (i, (label, t)) in self.labels.iter().zip(self.per_op).enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep} {label} {:.0} us/run", t.as_secs_f64() * 1e6)?;
        }
        write!(
            f,
            ", ratio {:.2} (target <= {:.2})",
            self.ratio(),
            self.target
        )
    }
}

pub fn require_root(what: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(BenchError::NotRoot(format!(
            "{what} must run as root (it drops privileges with setuidgid); rerun with sudo"
        )));
    }
    Ok(())
}

fn timed(trial: &mut dyn Trial, n: u64) -> Result<Duration> {
    let mut total = Duration::ZERO;
    for _ in 0..n {
        total += trial.timed_once()?;
    }
    Ok(total)
}

/// Runs `measure(side, round)` for each of `sides` sides in `rounds` rounds, each round
/// starting one side later than the last (so that no side always goes first and drift
/// cancels); returns each side's figures in round order.
pub fn interleave<T>(
    sides: usize,
    rounds: u32,
    mut measure: impl FnMut(usize, u32) -> Result<T>,
) -> Result<Vec<Vec<T>>> {
    let mut figures: Vec<Vec<T>> = (0..sides).map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for k in 0..sides {
            let i = (k + round as usize) % sides;
            figures[i].push(measure(i, round)?);
        }
    }
    Ok(figures)
}

/// The median (the mean of the middle two for an even count; 0 for none).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Runs `workload` on every side (ours first) and returns ours against each other side.
pub fn compare_timed(
    workload: &dyn Workload,
    sides: &[&Side],
    plan: Plan,
) -> Result<Vec<Comparison>> {
    let title = workload.title();
    let mut plan = plan;
    if let Some(max) = workload.max_runs() {
        plan.runs = plan.runs.min(max).max(u64::from(plan.rounds));
    }
    if workload.needs_root() {
        require_root(&title)?;
    }
    for side in sides {
        side.require(workload.binaries())?;
    }
    let mut trials = sides
        .iter()
        .map(|s| workload.prepare(s))
        .collect::<Result<Vec<_>>>()?;
    for trial in trials.iter_mut() {
        timed(trial.as_mut(), workload.warmup())?;
    }
    let per_op = interleave(sides.len(), plan.rounds, |i, round| {
        let n = plan.round_size(round);
        let t = timed(trials[i].as_mut(), n)
            .map_err(|e| BenchError::Fatal(format!("{} ({}): {e}", title, sides[i].label)))?;
        let us = t.as_secs_f64() * 1e6 / n as f64;
        if plan.verbose {
            eprintln!(
                "  round {}/{} x{n}: {} {us:.0} us/run",
                round + 1,
                plan.rounds,
                sides[i].label
            );
        }
        Ok(us)
    })?;
    let medians: Vec<Duration> = per_op
        .iter()
        .map(|v| Duration::from_secs_f64(median(v) / 1e6))
        .collect();
    Ok((1..sides.len())
        .map(|i| Comparison {
            title: title.clone(),
            runs: plan.runs,
            labels: [sides[0].label, sides[i].label],
            per_op: [medians[0], medians[i]],
            target: workload.target_ratio(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_split_evenly() {
        let p = Plan {
            runs: 1002,
            rounds: 5,
            verbose: false,
        };
        let sizes: Vec<u64> = (0..5).map(|i| p.round_size(i)).collect();
        assert_eq!(sizes, [201, 201, 200, 200, 200]);
        assert_eq!(sizes.iter().sum::<u64>(), 1002);
    }

    #[test]
    fn line_format() {
        let c = Comparison {
            title: "chain (envdir softlimit setuidgid true)".into(),
            runs: 1000,
            labels: ["ours", "daemontools"],
            per_op: [Duration::from_micros(1234), Duration::from_micros(1100)],
            target: 1.2,
        };
        assert_eq!(
            c.to_string(),
            "chain (envdir softlimit setuidgid true) x1000: ours 1234 us/run, \
             daemontools 1100 us/run, ratio 1.12 (target <= 1.20)"
        );
        assert!(c.within_target());
    }

    struct Counter(std::rc::Rc<std::cell::Cell<u64>>);
    impl Trial for Counter {
        fn once(&mut self) -> Result<()> {
            self.0.set(self.0.get() + 1);
            Ok(())
        }
    }
    struct Counting(std::rc::Rc<std::cell::Cell<u64>>);
    impl Workload for Counting {
        fn title(&self) -> String {
            "count".into()
        }
        fn binaries(&self) -> &'static [&'static str] {
            &[]
        }
        fn target_ratio(&self) -> f64 {
            1.0
        }
        fn warmup(&self) -> u64 {
            3
        }
        fn prepare(&self, _: &Side) -> Result<Box<dyn Trial>> {
            Ok(Box::new(Counter(self.0.clone())))
        }
    }

    #[test]
    fn every_side_runs_warmup_plus_runs() {
        let n = std::rc::Rc::new(std::cell::Cell::new(0));
        let s = Side::debian("daemontools", std::path::Path::new("/bin"));
        let plan = Plan {
            runs: 17,
            rounds: 4,
            verbose: false,
        };
        let c = compare_timed(&Counting(n.clone()), &[&s, &s, &s], plan).unwrap();
        assert_eq!(n.get(), 3 * (3 + 17));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].runs, 17);
    }

    #[test]
    fn interleave_rotates_the_first_side() {
        let mut order = Vec::new();
        let f = interleave(3, 3, |i, r| {
            order.push(i);
            Ok(r)
        })
        .unwrap();
        assert_eq!(order, [0, 1, 2, 1, 2, 0, 2, 0, 1]);
        assert_eq!(f, vec![vec![0, 1, 2]; 3]);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
