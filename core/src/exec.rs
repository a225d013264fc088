//! Program lookup and environment building, as libqmail's `pathexec`.
//!
//! [`Env`] is a base environment plus queued changes (`pathexec_env`): a later
//! change to a name replaces an earlier one, a removal deletes it.
//! [`run`] searches PATH exactly as `pathexec_run`.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The PATH searched when none is set.
pub const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// An environment under construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Vec<(OsString, OsString)>,
}

impl Env {
    /// An empty environment (`envdir -c`).
    pub fn empty() -> Self {
        Env::default()
    }

    /// The environment this process was started with.
    pub fn inherited() -> Self {
        Env {
            vars: std::env::vars_os().collect(),
        }
    }

    /// Set `name` to `value`, replacing any earlier value.
    pub fn set(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        let name = name.as_ref();
        self.unset(name);
        self.vars.push((name.to_owned(), value.as_ref().to_owned()));
    }

    /// Apply a queued change: `Some(value)` sets, `None` removes.
    pub fn apply(&mut self, name: &OsStr, value: Option<&OsStr>) {
        match value {
            Some(v) => self.set(name, v),
            None => self.unset(name),
        }
    }

    pub fn unset(&mut self, name: impl AsRef<OsStr>) {
        let name = name.as_ref();
        self.vars.retain(|(n, _)| n != name);
    }

    pub fn get(&self, name: impl AsRef<OsStr>) -> Option<&OsStr> {
        let name = name.as_ref();
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_os_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(n, v)| (n.as_os_str(), v.as_os_str()))
    }

    /// `NAME=VALUE` strings for execve. Names or values holding a NUL are dropped: execve cannot carry them.
    pub fn to_envp(&self) -> Vec<CString> {
        self.vars
            .iter()
            .filter_map(|(n, v)| {
                let mut s = n.as_bytes().to_vec();
                s.push(b'=');
                s.extend_from_slice(v.as_bytes());
                CString::new(s).ok()
            })
            .collect()
    }
}

/// Exec `argv` with `env`, searching `path` (the caller's PATH, or [`DEFAULT_PATH`]) when
/// argv[0] has no `/`. Returns only on failure, with the most telling errno of the search.
pub fn run(argv: &[OsString], env: &Env, path: Option<&OsStr>) -> io::Error {
    let Some(file) = argv.first() else {
        return io::Error::from_raw_os_error(libc::ENOENT);
    };
    run_file(file, argv, env, path)
}

/// Exec `file` (searched in `path` as [`run`] does) with the arguments `argv`, whose first
/// element need not name the file (`argv0`).
pub fn run_file(file: &OsStr, argv: &[OsString], env: &Env, path: Option<&OsStr>) -> io::Error {
    let Ok(cargv) = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        return io::Error::from_raw_os_error(libc::EINVAL);
    };
    let cenv = env.to_envp();
    let mut argp: Vec<*const libc::c_char> = cargv.iter().map(|c| c.as_ptr()).collect();
    argp.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = cenv.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());

    let Some(files) = candidates(file.as_bytes(), path.map(OsStr::as_bytes)) else {
        return io::Error::from_raw_os_error(libc::EINVAL);
    };
    let mut saved: Option<io::Error> = None;
    for c in &files {
        let err = execve(c, &argp, &envp);
        match err.raw_os_error() {
            Some(libc::ENOENT) => {}
            Some(libc::EACCES | libc::EPERM | libc::EISDIR) => saved = Some(err),
            _ => return err,
        }
    }
    saved.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
}

/// The files [`run`] tries execve on, in order: `file` itself when it holds a `/`, else
/// `DIR/file` for each element of `path` (default [`DEFAULT_PATH`]; an empty element is
/// `.`), leaving out those holding a NUL. None when `file` holds both a `/` and a NUL.
pub fn candidates(file: &[u8], path: Option<&[u8]>) -> Option<Vec<CString>> {
    if file.contains(&b'/') {
        return CString::new(file).ok().map(|c| vec![c]);
    }
    let path = path.unwrap_or(DEFAULT_PATH);
    Some(
        path.split(|&b| b == b':')
            .filter_map(|dir| {
                let mut c = if dir.is_empty() {
                    b".".to_vec()
                } else {
                    dir.to_vec()
                };
                c.push(b'/');
                c.extend_from_slice(file);
                CString::new(c).ok()
            })
            .collect(),
    )
}

/// Find `prog` as pathexec would run it: a name with a `/` as it is, else the first
/// executable file in PATH (default `/bin:/usr/bin`; an empty element is `.`). Missing
/// candidates are skipped; EACCES (and directories) are remembered and reported if
/// nothing better is found.
pub fn which(prog: &OsStr, path: Option<&OsStr>) -> io::Result<PathBuf> {
    if prog.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(prog));
    }
    let path = path.map_or(DEFAULT_PATH, OsStr::as_bytes);
    let mut saved = None;
    for dir in path.split(|&b| b == b':') {
        let dir = if dir.is_empty() { b"." } else { dir };
        let candidate = Path::new(OsStr::from_bytes(dir)).join(prog);
        match std::fs::metadata(&candidate) {
            Ok(m) if m.is_dir() => saved = Some(io::Error::from_raw_os_error(libc::EACCES)),
            Ok(m) if m.permissions().mode() & 0o111 != 0 && executable(&candidate) => {
                return Ok(candidate)
            }
            Ok(_) => saved = Some(io::Error::from_raw_os_error(libc::EACCES)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => saved = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(saved.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOENT)))
}

/// access(path, X_OK).
pub fn executable(path: &Path) -> bool {
    crate::sys::fs::executable(path)
}

/// Exec `argv` with `env`, searching the PATH of this process's own environment, as
/// `pathexec` does (so `envdir -c` without `-p` searches the default PATH).
pub fn pathexec(argv: &[OsString], env: &Env) -> io::Error {
    let path = std::env::var_os("PATH");
    run(argv, env, path.as_deref())
}

use crate::sys::process::execve;
pub use crate::sys::process::execve_each;

/// Split `NAME=VALUE` bytes at the first `=`.
pub fn split_assignment(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match line.iter().position(|&b| b == b'=') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    }
}

/// Bytes to an owned OsString.
pub fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_changes_win_and_removals_delete() {
        let mut e = Env::empty();
        e.set("A", "1");
        e.set("B", "2");
        e.set("A", "3");
        e.apply(OsStr::new("B"), None);
        assert_eq!(e.get("A"), Some(OsStr::new("3")));
        assert_eq!(e.get("B"), None);
        assert_eq!(e.to_envp(), vec![CString::new("A=3").unwrap()]);
    }

    #[test]
    fn search_reports_the_interesting_errno() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("prog");
        std::fs::create_dir(&sub).unwrap();
        // "prog" is a directory in the first PATH element: EACCES is kept over the later ENOENT.
        let path = format!("{}:/nonexistent", dir.path().display());
        let err = run(
            &[OsString::from("prog")],
            &Env::empty(),
            Some(OsStr::new(&path)),
        );
        assert_eq!(err.raw_os_error(), Some(libc::EACCES));
        let err = run(&[OsString::from("./nonexistent")], &Env::empty(), None);
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn split() {
        assert_eq!(split_assignment(b"A=b=c"), (&b"A"[..], Some(&b"b=c"[..])));
        assert_eq!(split_assignment(b"A"), (&b"A"[..], None));
    }

    #[test]
    fn which_searches_path_as_pathexec() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(a.join("prog")).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("prog"), "#!/bin/sh\n").unwrap();
        let path = format!("{}:{}", a.display(), b.display());
        // A directory named like the program and a file without x bits: EACCES.
        let err = |p: &str| which(OsStr::new(p), Some(OsStr::new(&path))).unwrap_err();
        assert_eq!(err("prog").raw_os_error(), Some(libc::EACCES));
        std::fs::set_permissions(b.join("prog"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            which(OsStr::new("prog"), Some(OsStr::new(&path))).unwrap(),
            b.join("prog")
        );
        assert_eq!(err("missing").raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            which(OsStr::new("./x"), None).unwrap(),
            PathBuf::from("./x")
        );
    }
}
