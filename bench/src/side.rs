//! One implementation under test: where its binaries live and the PATH its
//! chains run with, so that each chain loads its own programs.

use std::path::{Path, PathBuf};

use crate::error::{BenchError, Result};

#[derive(Debug, Clone)]
pub struct Side {
    /// Name printed in reports ("ours", "daemontools").
    pub label: &'static str,
    /// Directory holding this implementation's programs.
    pub dir: PathBuf,
    /// PATH given to every process of this side: `dir` first.
    pub path: String,
}

/// Joins `dir` and `rest` into a PATH value, leaving out repeats.
fn search_path(dir: &Path, rest: &[&str]) -> String {
    let mut parts: Vec<String> = vec![dir.to_string_lossy().into_owned()];
    for p in rest {
        if !parts.iter().any(|q| q == p) {
            parts.push((*p).to_string());
        }
    }
    parts.join(":")
}

impl Side {
    /// Our programs: their directory first, then /bin:/usr/bin.
    pub fn ours(dir: &Path) -> Side {
        Side {
            label: "ours",
            dir: dir.to_path_buf(),
            path: search_path(dir, &["/bin", "/usr/bin"]),
        }
    }

    /// The C programs: their directory first, then /usr/bin:/bin.
    pub fn theirs(dir: &Path) -> Side {
        Side {
            label: "daemontools",
            dir: dir.to_path_buf(),
            path: search_path(dir, &["/usr/bin", "/bin"]),
        }
    }

    /// Full path of one of this side's programs.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
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
                "{}: missing binaries: {} (build ours with `cargo build --release --workspace --bins`; \
                 install theirs with `apt-get install --no-install-recommends daemontools`)",
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
    fn path_puts_own_dir_first_without_repeats() {
        assert_eq!(Side::ours(Path::new("/x/rel")).path, "/x/rel:/bin:/usr/bin");
        assert_eq!(Side::theirs(Path::new("/usr/bin")).path, "/usr/bin:/bin");
    }

    #[test]
    fn require_reports_missing() {
        let s = Side::theirs(Path::new("/nonexistent-dir"));
        let e = s.require(&["envdir"]).unwrap_err().to_string();
        assert!(e.contains("/nonexistent-dir/envdir"), "{e}");
        assert!(Side::theirs(Path::new("/bin")).require(&["sh"]).is_ok());
    }
}
