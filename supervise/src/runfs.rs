//! Where a service's `supervise/` state directory lives: in the service
//! directory, or in the `/run/svscan` mirror that lets the service tree be
//! read-only (docs/daemontools.md#the-run-state-mirror).

use std::ffi::OsStr;
use std::io;
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

/// The mirror directory for service `dir` under `root`, as the clients compute it:
/// `root/<name>`, or `root/<service>/log` for a log service.
pub fn mirror_of(root: &Path, dir: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(dir).ok()?;
    let base = abs.file_name()?;
    if base == OsStr::new("log") {
        let service = abs.parent()?.file_name()?;
        return Some(root.join(service).join("log"));
    }
    Some(root.join(base))
}

/// The path of `supervise/<file>` for service `dir`: in the service directory when it
/// is there (or fails for any reason but ENOENT), else in the first mirror that has it.
pub fn state_file(dir: &Path, file: &str) -> PathBuf {
    let real = dir.join("supervise").join(file);
    match std::fs::symlink_metadata(&real) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        _ => return real,
    }
    for root in roots() {
        if let Some(m) = mirror_of(root, dir) {
            let candidate = m.join("supervise").join(file);
            if std::fs::symlink_metadata(&candidate).is_ok() {
                return candidate;
            }
        }
    }
    real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_names() {
        let t = tempfile::tempdir().unwrap();
        let s = t.path().join("qmail-smtpd.25");
        std::fs::create_dir_all(s.join("log")).unwrap();
        let root = Path::new("/run/svscan");
        assert_eq!(mirror_of(root, &s).unwrap(), root.join("qmail-smtpd.25"));
        assert_eq!(
            mirror_of(root, &s.join("log")).unwrap(),
            root.join("qmail-smtpd.25/log")
        );
        assert_eq!(mirror_of(root, &t.path().join("missing")), None);
    }

    #[test]
    fn real_directory_first() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(state_file(t.path(), "ok"), t.path().join("supervise/ok"));
    }
}
