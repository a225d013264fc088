//! The workloads `bench` knows, by command-line name.
//!
//! A time-per-operation workload implements [`crate::compare::Workload`] and
//! is run through [`crate::compare::compare_timed`]; workloads measuring
//! something else (memory) get their own `run` function here.

mod chain;

use crate::cli::Options;
use crate::compare::{compare_timed, Plan};
use crate::error::{BenchError, Result};
use crate::side::Side;

pub const NAMES: &[&str] = &["chain"];

pub fn run(opts: &Options) -> Result<()> {
    let ours = Side::ours(&opts.ours);
    let theirs = Side::theirs(&opts.theirs);
    let plan = Plan {
        runs: opts.runs,
        rounds: opts.rounds,
        verbose: opts.verbose,
    };
    let comparison = match opts.workload.as_str() {
        "chain" => compare_timed(&chain::Chain::new()?, [&ours, &theirs], plan)?,
        other => {
            return Err(BenchError::Usage(format!(
                "unknown workload {other}; known: {}",
                NAMES.join(", ")
            )))
        }
    };
    println!("{comparison}");
    if !comparison.within_target() {
        eprintln!(
            "bench: warning: {} is over its target ratio",
            comparison.title
        );
    }
    Ok(())
}
