//! `svok dir`: exit 0 if supervise is running for dir, 100 if not. The directory is
//! visited as svstat does: its own `supervise/ok`, else its `/run/svscan` mirror.

use crate::runfs::{self, NoMirror};
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;
use std::path::Path;

pub const PROG: Prog = Prog("svok");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    // Words after the directory are ignored, as by the reference.
    let Some(dir) = args.get(1) else {
        return Err(Failure::usage("svok: usage: svok dir"));
    };
    let name = dir.to_string_lossy();
    if let Err(e) = std::env::set_current_dir(dir) {
        return Err(Failure::temp_sys(
            format_args!("unable to chdir to {name}: "),
            &e,
        ));
    }
    let ok = Path::new("supervise/ok");
    let unable = |e: &std::io::Error| {
        Failure::temp(format!("unable to open {name}/supervise/ok: {}", errstr(e)))
    };
    match indicore::fd::open_write(ok) {
        Ok(_) => return Ok(0),
        Err(e) if indicore::sys::errno(&e) == Some(indicore::sys::Errno::NXIO) => return Ok(100),
        Err(e) if indicore::sys::errno(&e) != Some(indicore::sys::Errno::NOENT) => {
            return Err(unable(&e))
        }
        Err(_) => {}
    }
    let warned = |msg: String| {
        PROG.warn(msg);
        Ok(111)
    };
    match runfs::enter_mirror(dir) {
        Ok(()) => {}
        Err(NoMirror::NoRunFs) => return Ok(100),
        Err(NoMirror::Cwd(e)) => {
            return warned(format!(
                "unable to get current working directory: {}",
                errstr(&e)
            ))
        }
        Err(NoMirror::NoState(e)) => {
            return warned(format!(
                "No run state information for {name}: {}",
                errstr(&e)
            ))
        }
        Err(NoMirror::TooLong) => return warned(format!("{name}: name too long")),
    }
    match indicore::fd::open_write(ok) {
        Ok(_) => Ok(0),
        Err(e)
            if matches!(
                indicore::sys::errno(&e),
                Some(indicore::sys::Errno::NXIO | indicore::sys::Errno::NOENT)
            ) =>
        {
            Ok(100)
        }
        Err(e) => Err(unable(&e)),
    }
}
