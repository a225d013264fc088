//! Where a service's `supervise/` state directory lives: in the service
//! directory, or in the `/run/svscan` mirror that lets the service tree be
//! read-only (docs/daemontools.md#the-run-state-mirror).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The mirror roots the clients try, in order.
pub const ROOTS: [&str; 3] = ["/run/svscan", "/var/run/svscan", "/private/var/run/svscan"];

/// True when `DISABLE_RUN` is set: no program then uses or consults a mirror
/// (COMPATIBILITY S6 for the clients).
pub fn disabled() -> bool {
    std::env::var_os("DISABLE_RUN").is_some()
}

/// The mirror roots that exist, in the clients' order; none when [`disabled`].
pub fn roots() -> impl Iterator<Item = &'static Path> {
    ROOTS
        .iter()
        .map(Path::new)
        .filter(|r| !disabled() && r.is_dir())
}

/// The mirror root supervise uses: only when one exists already and `DISABLE_RUN` is unset.
pub fn supervise_root() -> Option<PathBuf> {
    if disabled() {
        return None;
    }
    ROOTS[..2].iter().map(PathBuf::from).find(|p| p.is_dir())
}

/// The working directory a client started in; it visits each service by changing into it,
/// as the reference's clients do, and comes back here after each one.
pub struct Origin(File);

impl Origin {
    pub fn open() -> io::Result<Origin> {
        File::open(".").map(Origin)
    }

    pub fn back(&self) -> io::Result<()> {
        Ok(indicore::sys::process::fchdir(&self.0)?)
    }
}

/// Why a client could not move into the mirror of a service.
#[derive(Debug)]
pub enum NoMirror {
    /// No `/run/svscan`, `/private/var/run/svscan` or `/var/run/svscan`.
    NoRunFs,
    /// The working directory could not be read.
    Cwd(io::Error),
    /// The mirror directory is not there.
    NoState(io::Error),
    /// The argument is longer than 255 bytes.
    TooLong,
}

/// The mirror roots the clients look for, in the reference's order.
const CLIENT_RUN_DIRS: [&str; 3] = ["/run", "/private/var/run", "/var/run"];

/// With the process in service directory `arg` (a client argument), change into that
/// service's mirror: `RUN/svscan/NAME` where NAME is the argument's last component; for `.`
/// the working directory's name (or its last two components when `RUN/svscan/NAME` is
/// missing, as for a log service); for `.../log` the service's name followed by `/log`.
/// With `DISABLE_RUN` set there is no mirror to enter (COMPATIBILITY S6).
pub fn enter_mirror(arg: &OsStr) -> Result<(), NoMirror> {
    let Some(run) = CLIENT_RUN_DIRS
        .iter()
        .find(|r| !disabled() && Path::new(r).join("svscan").exists())
    else {
        return Err(NoMirror::NoRunFs);
    };
    let arg = arg.as_bytes();
    if arg.len() > 255 {
        return Err(NoMirror::TooLong);
    }
    let root = format!("{run}/svscan/");
    let cwd = || -> Result<Vec<u8>, NoMirror> {
        let d = std::env::current_dir().map_err(NoMirror::Cwd)?;
        let d = d.as_os_str().as_bytes().to_vec();
        // The reference reads it into 255 bytes.
        if d.len() >= 255 {
            return Err(NoMirror::Cwd(std::io::Error::from(
                indicore::sys::Errno::RANGE,
            )));
        }
        Ok(d)
    };
    let mut target = root.as_bytes().to_vec();
    match base_name(arg) {
        b"." => {
            let d = cwd()?;
            let slash = d.iter().rposition(|&c| c == b'/').unwrap_or(0);
            let name = &d[slash + 1..];
            if root.len() + name.len() >= 255 {
                return Err(NoMirror::NoRunFs);
            }
            target.extend_from_slice(name);
            if !Path::new(OsStr::from_bytes(&target)).exists() {
                let Some(prev) = d[..slash].iter().rposition(|&c| c == b'/') else {
                    return Err(NoMirror::NoState(std::io::Error::from(
                        indicore::sys::Errno::NOENT,
                    )));
                };
                if root.len() + d.len() - prev > 255 {
                    return Err(NoMirror::TooLong);
                }
                target.truncate(root.len());
                target.extend_from_slice(&d[prev + 1..]);
            }
        }
        b"log" => {
            let d = cwd()?;
            let parent = &d[..d.iter().rposition(|&c| c == b'/').unwrap_or(0)];
            let name = &parent[parent.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1)..];
            if root.len() + name.len() + 4 >= 255 {
                return Err(NoMirror::TooLong);
            }
            target.extend_from_slice(name);
            target.extend_from_slice(b"/log");
        }
        name => target.extend_from_slice(name),
    }
    std::env::set_current_dir(OsStr::from_bytes(&target)).map_err(NoMirror::NoState)
}

/// The last component of a path as POSIX basename(3) gives it: trailing slashes ignored,
/// `/` for the root, `.` for the empty string.
fn base_name(p: &[u8]) -> &[u8] {
    let end = p.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
    if end == 0 {
        return if p.is_empty() { b"." } else { b"/" };
    }
    let start = p[..end]
        .iter()
        .rposition(|&c| c == b'/')
        .map_or(0, |i| i + 1);
    &p[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names() {
        assert_eq!(base_name(b"/service/a/"), b"a");
        assert_eq!(base_name(b"a"), b"a");
        assert_eq!(base_name(b"x/log"), b"log");
        assert_eq!(base_name(b"///"), b"/");
        assert_eq!(base_name(b""), b".");
    }
}
