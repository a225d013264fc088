//! `bench`: side-by-side benchmarks of our programs against the C originals and the
//! other supervision suites.
//!
//! Usage: `bench WORKLOAD [--ours DIR] [--theirs DIR] [--indimail PREFIX] [-n N] [-r ROUNDS]
//! [-q] [-v] [--results FILE]`, `bench machine --results FILE`, `bench report --results
//! FILE --out DIR`. Each workload runs against every implementation in interleaved rounds,
//! prints each one's figure and the ratios, and appends them to the results file that
//! `bench report` turns into tables and charts.

mod cli;
mod compare;
mod error;
mod peers;
mod report;
mod results;
mod side;
mod spawn;
mod tempdir;
mod workloads;

use std::process::ExitCode;

fn run(opts: &cli::Options) -> error::Result<()> {
    if opts.workload != "report" {
        if let Some(path) = &opts.results {
            results::set_file(path);
        }
    }
    match opts.workload.as_str() {
        "machine" => report::machine(opts),
        "report" => report::report(opts),
        _ => workloads::run(opts),
    }
}

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)).and_then(|opts| run(&opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: fatal: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
