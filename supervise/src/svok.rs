//! `svok dir`: exit 0 if supervise is running for dir, 100 if not.

use crate::runfs;
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;
use std::io;
use std::path::Path;

pub const PROG: Prog = Prog("svok");

/// Open a status FIFO (`ok`, `up`, `dn`) for writing without blocking: this succeeds
/// exactly when supervise holds its read end open.
pub fn open_probe(dir: &Path, fifo: &str) -> io::Result<std::fs::File> {
    indicore::fd::open_write(&runfs::state_file(dir, fifo))
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let [_, dir] = args else {
        return Err(Failure::usage("svok: usage: svok dir"));
    };
    let name = dir.to_string_lossy();
    let dir = Path::new(dir);
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(Failure::temp_sys(
            format_args!("unable to chdir to {name}: "),
            &e,
        ));
    }
    match open_probe(dir, "ok") {
        Ok(_) => Ok(0),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENXIO | libc::ENOENT)) => Ok(100),
        Err(e) => Err(Failure::temp(format!(
            "unable to open {name}/supervise/ok: {}",
            errstr(&e)
        ))),
    }
}
