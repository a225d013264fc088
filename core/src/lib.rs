//! Shared library of the daemontools / ucspi-tcp rewrite.
//!
//! Every program links this crate for the things the C originals took from
//! libqmail: djb-style diagnostics and exit codes, PATH search and
//! environment building, TAI64N labels, file and lock helpers with the
//! reference modes, the recursive envdir engine and getopt.

pub mod diag;
pub mod envdir;
pub mod exec;
pub mod fd;
pub mod getopt;
pub mod tai;

pub use diag::{errstr, Failure, Prog, EXIT_TEMP, EXIT_USAGE};
