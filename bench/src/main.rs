//! `bench`: side-by-side benchmarks of our programs against the C originals.
//!
//! Usage: `bench WORKLOAD [--ours DIR] [--theirs DIR] [-n N] [-r ROUNDS] [-v]`.
//! Each workload runs against both implementations in interleaved rounds and
//! prints one figure per implementation and the ratio ours/theirs.

mod cli;
mod compare;
mod error;
mod side;
mod spawn;
mod tempdir;
mod workloads;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)).and_then(|opts| workloads::run(&opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: fatal: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
