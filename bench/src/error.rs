//! Errors of the driver: exit 100 for usage, 111 for failed runs, 1 when not root.

use std::fmt;

#[derive(Debug)]
pub enum BenchError {
    /// Bad command line or unmet precondition the user must fix (exit 100).
    Usage(String),
    /// A run failed or the system refused something (exit 111).
    Fatal(String),
    /// The workload needs root and we are not (exit 1).
    NotRoot(String),
}

impl BenchError {
    pub fn exit_code(&self) -> u8 {
        match self {
            BenchError::Usage(_) => 100,
            BenchError::Fatal(_) => 111,
            BenchError::NotRoot(_) => 1,
        }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Usage(m) | BenchError::Fatal(m) | BenchError::NotRoot(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BenchError {}

pub type Result<T> = std::result::Result<T, BenchError>;
