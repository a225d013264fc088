//! The workloads `bench` knows, by command-line name.
//!
//! A time-per-operation workload implements [`crate::compare::Workload`] and
//! is run through [`crate::compare::compare_timed`]; workloads measuring
//! something else (memory) get their own `run` function here.

mod chain;
mod multilog;
mod plugin;
mod supervise;
mod svscan;
mod tai64n;
mod tcprules;
mod tcpserver;
mod tls;

use crate::cli::Options;
use crate::compare::{compare_timed, Plan};
use crate::error::{BenchError, Result};
use crate::side::Side;

pub const NAMES: &[&str] = &[
    "chain",
    "supervise-restart",
    "supervise-memory",
    "multilog",
    "tai64n",
    "tai64nlocal",
    "svscan-startup",
    "svscan-idle",
    "tcpserver",
    "tcprules",
    "tls",
    "plugin",
];

pub fn run(opts: &Options) -> Result<()> {
    if opts.workload == "tcpserver" {
        return tcpserver::run(opts);
    }
    if opts.workload == "tls" {
        return tls::run(opts);
    }
    if opts.workload == "plugin" {
        return plugin::run(opts);
    }
    let ours = Side::ours(&opts.ours);
    let theirs = Side::theirs(&opts.theirs);
    let plan = Plan {
        runs: opts.runs,
        rounds: opts.rounds,
        verbose: opts.verbose,
    };
    // Workloads that are not time per operation print their own report.
    let within = match opts.workload.as_str() {
        "supervise-memory" => Some(supervise::memory_report(&ours, &theirs)?),
        "multilog" => Some(multilog::report(&ours, &theirs, opts.rounds, opts.verbose)?),
        "tai64n" => Some(tai64n::tai64n_report(
            &ours,
            &theirs,
            opts.rounds,
            opts.verbose,
        )?),
        "tai64nlocal" => Some(tai64n::tai64nlocal_report(
            &ours,
            &theirs,
            opts.rounds,
            opts.verbose,
        )?),
        "svscan-idle" => Some(svscan::idle_report(&ours, &theirs)?),
        "svscan-startup" => Some(svscan::startup_report(
            &ours,
            &theirs,
            opts.rounds,
            opts.verbose,
        )?),
        _ => None,
    };
    if let Some(within) = within {
        if !within {
            eprintln!("bench: warning: {} is over its target", opts.workload);
        }
        return Ok(());
    }
    let comparison = match opts.workload.as_str() {
        "chain" => compare_timed(&chain::Chain::new()?, [&ours, &theirs], plan)?,
        "tcprules" => {
            let ucspi = Side {
                label: "ucspi-tcp",
                ..theirs.clone()
            };
            compare_timed(&tcprules::Build::new()?, [&ours, &ucspi], plan)?
        }
        "supervise-restart" => compare_timed(&supervise::Restart, [&ours, &theirs], plan)?,
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
