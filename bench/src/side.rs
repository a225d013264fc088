//! One implementation under test: where its binaries live, the PATH its chains run with
//! (so that each chain loads its own programs), and which family of supervision tools it
//! belongs to (the programs' names and status files differ between families).

use std::path::{Path, PathBuf};

use crate::error::{BenchError, Result};

/// The supervision family: program names and how a service's status file says "up".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// daemontools: ours, djb's and IndiMail's (`supervise`, `svscan`, `svstat`, `multilog`).
    Djb,
    /// skarnet's s6 (`s6-supervise`, `s6-svscan`, `s6-svstat`, `s6-log`).
    S6,
    /// runit (`runsv`, `runsvdir`, `sv`, `svlogd`).
    Runit,
}

impl Flavor {
    pub fn supervise(self) -> &'static str {
        match self {
            Flavor::Djb => "supervise",
            Flavor::S6 => "s6-supervise",
            Flavor::Runit => "runsv",
        }
    }

    pub fn svscan(self) -> &'static str {
        match self {
            Flavor::Djb => "svscan",
            Flavor::S6 => "s6-svscan",
            Flavor::Runit => "runsvdir",
        }
    }

    pub fn svstat(self) -> &'static str {
        match self {
            Flavor::Djb => "svstat",
            Flavor::S6 => "s6-svstat",
            Flavor::Runit => "sv",
        }
    }

    pub fn logger(self) -> &'static str {
        match self {
            Flavor::Djb => "multilog",
            Flavor::S6 => "s6-log",
            Flavor::Runit => "svlogd",
        }
    }

    /// Whether the files under a service's `supervise/` say its `run` is up.
    pub fn is_up(self, supervise_dir: &Path) -> bool {
        match self {
            Flavor::Djb => {
                let b = std::fs::read(supervise_dir.join("status")).unwrap_or_default();
                match b.len() {
                    // IndiMail (and ours): byte 20 is the up flag.
                    21 => b[20] == 1,
                    // djb: a non-zero pid in bytes 12..16.
                    18 => b[12..16] != [0, 0, 0, 0],
                    _ => false,
                }
            }
            // s6 2.11: two 12-byte TAI64N stamps, then the pid as 8 bytes big-endian.
            Flavor::S6 => {
                let b = std::fs::read(supervise_dir.join("status")).unwrap_or_default();
                b.len() >= 32 && b[24..32].iter().any(|&x| x != 0)
            }
            Flavor::Runit => std::fs::read(supervise_dir.join("stat")).is_ok_and(|s| s == b"run\n"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Side {
    /// Name printed in reports ("ours", "daemontools", "indimail", "s6", "runit").
    pub label: &'static str,
    /// Directories holding this implementation's programs, searched in order.
    pub dirs: Vec<PathBuf>,
    /// PATH given to every process of this side: `dirs` first.
    pub path: String,
    pub flavor: Flavor,
}

/// Joins `dirs` and `rest` into a PATH value, leaving out repeats.
fn search_path(dirs: &[PathBuf], rest: &[&str]) -> String {
    let mut parts: Vec<String> = dirs
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    for p in rest {
        if !parts.iter().any(|q| q == p) {
            parts.push((*p).to_string());
        }
    }
    parts.join(":")
}

impl Side {
    fn new(label: &'static str, dirs: Vec<PathBuf>, rest: &[&str], flavor: Flavor) -> Side {
        let path = search_path(&dirs, rest);
        Side {
            label,
            dirs,
            path,
            flavor,
        }
    }

    /// Our programs: their directory first, then /bin:/usr/bin.
    pub fn ours(dir: &Path) -> Side {
        Side::new("ours", vec![dir.into()], &["/bin", "/usr/bin"], Flavor::Djb)
    }

    /// Debian's C programs under `label` ("daemontools", "ucspi-tcp"): their directory
    /// first, then /usr/bin:/bin.
    pub fn debian(label: &'static str, dir: &Path) -> Side {
        Side::new(label, vec![dir.into()], &["/usr/bin", "/bin"], Flavor::Djb)
    }

    /// IndiMail's own C build under `prefix` (programs in bin/ and sbin/).
    pub fn indimail(prefix: &Path) -> Side {
        Side::new(
            "indimail",
            vec![prefix.join("bin"), prefix.join("sbin")],
            &["/usr/bin", "/bin"],
            Flavor::Djb,
        )
    }

    /// Debian's s6 or runit, whose programs live in `dir`.
    pub fn family(label: &'static str, dir: &Path, flavor: Flavor) -> Side {
        Side::new(label, vec![dir.into()], &["/usr/bin", "/bin"], flavor)
    }

    /// Full path of one of this side's programs: the first directory holding it.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dirs
            .iter()
            .map(|d| d.join(name))
            .find(|p| is_executable(p))
            .unwrap_or_else(|| self.dirs[0].join(name))
    }

    /// Fails with a clear message unless every named program is an executable file.
    pub fn require(&self, names: &[&str]) -> Result<()> {
        let missing: Vec<String> = names
            .iter()
            .map(|n| self.program(n))
            .filter(|p| !is_executable(p))
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(BenchError::Usage(format!(
                "{}: missing binaries: {} (bench/run.sh builds ours and installs the peers)",
                self.label,
                missing.join(", ")
            )))
        }
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_puts_own_dirs_first_without_repeats() {
        assert_eq!(Side::ours(Path::new("/x/rel")).path, "/x/rel:/bin:/usr/bin");
        assert_eq!(
            Side::debian("daemontools", Path::new("/usr/bin")).path,
            "/usr/bin:/bin"
        );
        assert_eq!(
            Side::indimail(Path::new("/opt/ref")).path,
            "/opt/ref/bin:/opt/ref/sbin:/usr/bin:/bin"
        );
    }

    #[test]
    fn program_found_in_any_dir() {
        let s = Side::indimail(Path::new("/nonexistent"));
        assert_eq!(s.program("sh"), PathBuf::from("/nonexistent/bin/sh"));
        let s = Side::new(
            "x",
            vec!["/nonexistent".into(), "/bin".into()],
            &[],
            Flavor::Djb,
        );
        assert_eq!(s.program("sh"), PathBuf::from("/bin/sh"));
        assert!(s.require(&["sh"]).is_ok());
    }

    #[test]
    fn require_reports_missing() {
        let s = Side::debian("daemontools", Path::new("/nonexistent-dir"));
        let e = s.require(&["envdir"]).unwrap_err().to_string();
        assert!(e.contains("/nonexistent-dir/envdir"), "{e}");
        assert!(Side::debian("daemontools", Path::new("/bin"))
            .require(&["sh"])
            .is_ok());
    }

    #[test]
    fn status_files() {
        let d = crate::tempdir::TempDir::new("bench-side").unwrap();
        let p = d.path();
        assert!(!Flavor::Djb.is_up(p));
        let mut djb = vec![0u8; 18];
        djb[15] = 7;
        std::fs::write(p.join("status"), &djb).unwrap();
        assert!(Flavor::Djb.is_up(p));
        let mut s6 = vec![0u8; 35];
        std::fs::write(p.join("status"), &s6).unwrap();
        assert!(!Flavor::S6.is_up(p));
        s6[31] = 9;
        std::fs::write(p.join("status"), &s6).unwrap();
        assert!(Flavor::S6.is_up(p));
        std::fs::write(p.join("stat"), "down\n").unwrap();
        assert!(!Flavor::Runit.is_up(p));
        std::fs::write(p.join("stat"), "run\n").unwrap();
        assert!(Flavor::Runit.is_up(p));
    }
}
