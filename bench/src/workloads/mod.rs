//! The workloads `bench` knows, by command-line name.
//!
//! A time-per-operation workload implements [`crate::compare::Workload`] and
//! is run through [`crate::compare::compare_timed`]; workloads measuring
//! something else (memory, rates, curves) have their own `run` function.
//! Every workload prints its figures and records them (see `results`).

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
use crate::compare::{compare_timed, Plan, Workload};
use crate::error::{BenchError, Result};
use crate::peers::Peers;
use crate::results::{Figure, Target};
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
    "svscan-scale",
    "svscan-pickup",
    "tcpserver",
    "tcpserver-scale",
    "tcprules",
    "tls",
    "plugin",
];

pub fn run(opts: &Options) -> Result<()> {
    let peers = Peers::new(opts);
    let plan = Plan {
        runs: opts.runs,
        rounds: opts.rounds,
        verbose: opts.verbose,
    };
    match opts.workload.as_str() {
        "chain" => timed("chain", &chain::Chain::new()?, &peers.daemontools(), plan),
        "tcprules" => timed(
            "tcprules",
            &tcprules::Build::new(opts.quick)?,
            &peers.ucspi(),
            plan,
        ),
        "supervise-restart" => {
            crate::results::note(
                "supervise-restart: s6-supervise waits one second before it restarts a \
                 service that died, however long the service ran (its policy, not its speed)",
            )?;
            timed(
                "supervise",
                &supervise::Restart { quick: opts.quick },
                &peers.supervisors(),
                plan,
            )
        }
        "supervise-memory" => supervise::memory_report(&peers, opts),
        "multilog" => multilog::report(&peers, opts),
        "tai64n" => tai64n::tai64n_report(&peers, opts),
        "tai64nlocal" => tai64n::tai64nlocal_report(&peers, opts),
        "svscan-idle" => svscan::idle_report(&peers, opts),
        "svscan-startup" => svscan::startup_report(&peers, opts),
        "svscan-scale" => svscan::scale_report(&peers, opts),
        "svscan-pickup" => svscan::pickup_report(&peers, opts),
        "tcpserver" => tcpserver::run(&peers, opts),
        "tcpserver-scale" => tcpserver::scale(&peers, opts),
        "tls" => tls::run(&peers, opts),
        "plugin" => plugin::run(&peers, opts),
        other => Err(BenchError::Usage(format!(
            "unknown workload {other}; known: {}",
            NAMES.join(", ")
        ))),
    }
}

/// A time-per-operation workload: ours against every other side, printed and recorded.
fn timed(group: &str, workload: &dyn Workload, sides: &[&Side], plan: Plan) -> Result<()> {
    let title = workload.title();
    let figure = Figure {
        group,
        workload: &title,
        metric: "time per operation (us)",
        higher_better: false,
    };
    for c in compare_timed(workload, sides, plan)? {
        println!("{c}");
        if !c.within_target() {
            eprintln!(
                "bench: warning: {} is over its target ratio against {}",
                c.title, c.labels[1]
            );
        }
        figure.record(
            c.per_op[0].as_secs_f64() * 1e6,
            c.labels[1],
            c.per_op[1].as_secs_f64() * 1e6,
            Target::None,
        )?;
    }
    Ok(())
}
