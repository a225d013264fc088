//! `-Y file`: tcpserver's counters in a metrics file (see `indicore::tcpmetrics` for the
//! layout and why a shared mapping). Opened once before the first fork, so the parent and
//! every connection child count into the same memory; without `-Y` each call is one
//! check of an empty cell.

use indicore::tcpmetrics::{Counter, MetricsFile};
use indicore::Failure;
use std::path::Path;
use std::sync::OnceLock;

static FILE: OnceLock<MetricsFile> = OnceLock::new();

/// Create and lock the metrics file for a server listening on `listen`.
pub fn open(path: &Path, listen: &str) -> Result<(), Failure> {
    let m = MetricsFile::create(path, listen)
        .map_err(|e| Failure::temp_sys(format_args!("unable to write {}: ", path.display()), &e))?;
    let _ = FILE.set(m);
    Ok(())
}

/// Count one event.
pub fn add(c: Counter) {
    if let Some(m) = FILE.get() {
        m.add(c, 1);
    }
}

/// Set a gauge.
pub fn set(c: Counter, v: u64) {
    if let Some(m) = FILE.get() {
        m.set(c, v);
    }
}
