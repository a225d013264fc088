//! The recursive envdir engine (IndiMail's extended envdir).
//!
//! [`Loader::load`] walks a directory and queues environment changes in the
//! order that gives the reference precedence: first `d/.envfile`, then
//! everything reached through `d/.envdir` (a directory, a symlink to one, or a
//! file listing directories relative to the current directory), then `d`'s own
//! files. Applying the queue in order lets later entries win. A directory is
//! visited once per run (keyed by its lstat inode), so symlink and list-file
//! cycles end quietly.

use crate::exec::{os, split_assignment, Env};
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What went wrong, with the reference's code and wording.
#[derive(Debug)]
pub struct EnvdirError {
    pub kind: ErrorKind,
    /// The path the message names.
    pub path: PathBuf,
    pub err: io::Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// -1: an entry of the directory could not be read.
    File,
    /// -2: the directory could not be examined or opened.
    OpenDir,
    /// -3: readdir failed.
    ReadDir,
    /// -4: `.envdir` (or, as the reference words it, `.envfile`'s contents) could not be read.
    EnvdirFile,
    /// -5: `.envfile` could not be examined.
    Envfile,
}

impl ErrorKind {
    /// The reference's numeric code.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::File => -1,
            ErrorKind::OpenDir => -2,
            ErrorKind::ReadDir => -3,
            ErrorKind::EnvdirFile => -4,
            ErrorKind::Envfile => -5,
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            ErrorKind::File => "unable to open environment file",
            ErrorKind::OpenDir => "unable to open environment directory",
            ErrorKind::ReadDir => "unable to read environment directory",
            ErrorKind::EnvdirFile => "unable to open .envdir",
            ErrorKind::Envfile => "unable to open .envfile",
        }
    }
}

impl fmt::Display for EnvdirError {
    /// `what: path: errno-text`, the tail of envdir's fatal and warning lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.kind.what(),
            self.path.display(),
            crate::diag::errstr(&self.err)
        )
    }
}

impl std::error::Error for EnvdirError {}

/// One queued change: `Some(value)` sets the name, `None` removes it.
pub type Change = (OsString, Option<OsString>);

/// Walks envdir trees, accumulating changes. One loader is one run: its loop guard spans
/// every directory it is asked to load.
#[derive(Debug, Default)]
pub struct Loader {
    ignore_unreadable: bool,
    seen: HashSet<u64>,
    changes: Vec<Change>,
    skipped: usize,
}

impl Loader {
    /// `ignore_unreadable` is envdir's `-i`: an unreadable entry is counted and skipped.
    pub fn new(ignore_unreadable: bool) -> Self {
        Loader {
            ignore_unreadable,
            ..Loader::default()
        }
    }

    /// The changes queued so far, in precedence order (later wins).
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// How many unreadable entries `-i` skipped.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Apply the queued changes to `env`.
    pub fn apply_to(&self, env: &mut Env) {
        for (name, value) in &self.changes {
            env.apply(name, value.as_deref());
        }
    }

    /// Load `dir` and everything it reaches.
    pub fn load(&mut self, dir: &Path) -> Result<(), EnvdirError> {
        let fail = |kind, path: &Path, err| EnvdirError {
            kind,
            path: path.to_owned(),
            err,
        };
        let meta = std::fs::symlink_metadata(dir).map_err(|e| fail(ErrorKind::OpenDir, dir, e))?;
        if !self.seen.insert(meta.ino()) {
            return Ok(());
        }
        self.load_envfile(dir)?;
        self.load_envdir(dir)?;

        let entries = std::fs::read_dir(dir).map_err(|e| fail(ErrorKind::OpenDir, dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| fail(ErrorKind::ReadDir, dir, e))?;
            let name = entry.file_name();
            if name.as_bytes().first() == Some(&b'.') {
                continue;
            }
            let path = dir.join(&name);
            match std::fs::read(&path) {
                Ok(bytes) => self.changes.push((name, file_value(&bytes))),
                Err(_) if self.ignore_unreadable => self.skipped += 1,
                Err(e) => return Err(fail(ErrorKind::File, &path, e)),
            }
        }
        Ok(())
    }

    fn load_envfile(&mut self, dir: &Path) -> Result<(), EnvdirError> {
        let path = dir.join(".envfile");
        let fail = |kind, err| EnvdirError {
            kind,
            path: path.clone(),
            err,
        };
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(fail(ErrorKind::Envfile, e)),
            Ok(_) => {}
        }
        let meta = std::fs::metadata(&path).map_err(|e| fail(ErrorKind::Envfile, e))?;
        if meta.is_dir() {
            return Ok(());
        }
        let bytes = std::fs::read(&path).map_err(|e| fail(ErrorKind::EnvdirFile, e))?;
        self.changes.extend(envfile_changes(&bytes));
        Ok(())
    }

    fn load_envdir(&mut self, dir: &Path) -> Result<(), EnvdirError> {
        let path = dir.join(".envdir");
        let fail = |err| EnvdirError {
            kind: ErrorKind::EnvdirFile,
            path: path.clone(),
            err,
        };
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(fail(e)),
            Ok(_) => {}
        }
        let meta = std::fs::metadata(&path).map_err(fail)?;
        if meta.is_dir() {
            return self.load(&path);
        }
        let list = std::fs::read(&path).map_err(fail)?;
        // Each line is a directory, relative to the current directory, not to `dir`.
        // The list is owned here, so nested list files cannot disturb it.
        for line in complete_lines(&list) {
            self.load(Path::new(OsStr::from_bytes(line)))?;
        }
        Ok(())
    }
}

/// The lines of `bytes`; a last line without a newline counts too (docs/decisions.md#d8).
fn complete_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

/// The value an environment file gives: empty file removes the name; otherwise the
/// first line, trailing spaces and tabs stripped, NUL bytes turned into newlines.
pub fn file_value(bytes: &[u8]) -> Option<OsString> {
    if bytes.is_empty() {
        return None;
    }
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(b"");
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let value: Vec<u8> = line[..end]
        .iter()
        .map(|&b| if b == 0 { b'\n' } else { b })
        .collect();
    Some(os(&value))
}

/// The changes a `.envfile` queues: `NAME=VALUE` sets, a bare `NAME` removes; leading
/// white space, empty lines and `#` comments are skipped; NULs in the first line split it.
pub fn envfile_changes(bytes: &[u8]) -> Vec<Change> {
    let first_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let mut text = bytes.to_vec();
    for b in &mut text[..first_end] {
        if *b == 0 {
            *b = b'\n';
        }
    }
    let mut out = Vec::new();
    for line in complete_lines(&text) {
        let start = line
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(line.len());
        let line = &line[start..];
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let (name, value) = split_assignment(line);
        out.push((os(name), value.map(os)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn loaded(dir: &Path, ignore: bool) -> Result<Env, EnvdirError> {
        let mut l = Loader::new(ignore);
        l.load(dir)?;
        let mut env = Env::empty();
        env.set("KEEP", "k");
        env.set("GONE", "g");
        l.apply_to(&mut env);
        Ok(env)
    }

    fn get(env: &Env, name: &str) -> Option<String> {
        env.get(name).map(|v| v.to_string_lossy().into_owned())
    }

    #[test]
    fn file_values() {
        assert_eq!(file_value(b""), None);
        assert_eq!(file_value(b"bar \t\nsecond"), Some("bar".into()));
        assert_eq!(file_value(b"a\0b"), Some("a\nb".into()));
        assert_eq!(file_value(b"\n"), Some("".into()));
        assert_eq!(file_value(b" x "), Some(" x".into()));
    }

    #[test]
    fn envfile_lines() {
        let c = envfile_changes(b"# c\n  X=1\nY\nZ=z \n\nW=last");
        assert_eq!(
            c,
            vec![
                ("X".into(), Some("1".into())),
                ("Y".into(), None),
                ("Z".into(), Some("z ".into())),
                ("W".into(), Some("last".into())),
            ]
        );
        assert_eq!(
            envfile_changes(b"A=1\0B=2\nC=3\0x\n")[..2],
            [
                ("A".into(), Some("1".into())),
                ("B".into(), Some("2".into()))
            ]
        );
        assert_eq!(
            envfile_changes(b"A=1\0B=2\nC=3\0x\n")[2],
            ("C".into(), Some("3\0x".into()))
        );
    }

    #[test]
    fn precedence_envfile_then_envdir_then_own_files() {
        let t = tempfile::tempdir().unwrap();
        let e = t.path().join("e");
        let f = t.path().join("f");
        fs::create_dir(&e).unwrap();
        fs::create_dir(&f).unwrap();
        fs::write(e.join(".envfile"), "X=1\nGONE\nZ=z \n").unwrap();
        fs::write(f.join("X"), "2").unwrap();
        symlink(&f, e.join(".envdir")).unwrap();
        let env = loaded(&e, false).unwrap();
        assert_eq!(get(&env, "X").as_deref(), Some("2"));
        assert_eq!(get(&env, "GONE"), None);
        assert_eq!(get(&env, "Z").as_deref(), Some("z "));
        assert_eq!(get(&env, "KEEP").as_deref(), Some("k"));
        fs::write(e.join("X"), "3").unwrap();
        assert_eq!(get(&loaded(&e, false).unwrap(), "X").as_deref(), Some("3"));
        fs::write(e.join("KEEP"), "").unwrap();
        assert_eq!(get(&loaded(&e, false).unwrap(), "KEEP"), None);
    }

    #[test]
    fn cycles_through_symlinks_and_list_files_end() {
        let t = tempfile::tempdir().unwrap();
        let e = t.path().join("e");
        let f = t.path().join("f");
        fs::create_dir(&e).unwrap();
        fs::create_dir(&f).unwrap();
        symlink(&f, e.join(".envdir")).unwrap();
        symlink(&e, f.join(".envdir")).unwrap();
        fs::write(f.join("A"), "a").unwrap();
        assert_eq!(get(&loaded(&e, false).unwrap(), "A").as_deref(), Some("a"));

        let g = t.path().join("g");
        let h = t.path().join("h");
        fs::create_dir(&g).unwrap();
        fs::create_dir(&h).unwrap();
        fs::write(g.join(".envdir"), format!("{}\n", h.display())).unwrap();
        fs::write(h.join(".envdir"), format!("{}\n", g.display())).unwrap();
        fs::write(h.join("B"), "b").unwrap();
        assert_eq!(get(&loaded(&g, false).unwrap(), "B").as_deref(), Some("b"));
    }

    #[test]
    fn list_file_later_line_wins_and_nested_lists_are_independent() {
        let t = tempfile::tempdir().unwrap();
        let d = |n: &str| {
            let p = t.path().join(n);
            fs::create_dir(&p).unwrap();
            p
        };
        let (e, f, g, n1, n2) = (d("e"), d("f"), d("g"), d("n1"), d("n2"));
        fs::write(
            e.join(".envdir"),
            format!("{}\n{}", f.display(), g.display()),
        )
        .unwrap();
        fs::write(
            f.join(".envdir"),
            format!("{}\n{}\n", n1.display(), n2.display()),
        )
        .unwrap();
        fs::write(f.join("V"), "f").unwrap();
        fs::write(g.join("V"), "g").unwrap();
        fs::write(n1.join("N1"), "1").unwrap();
        fs::write(n2.join("N2"), "2").unwrap();
        let env = loaded(&e, false).unwrap();
        assert_eq!(get(&env, "V").as_deref(), Some("g"));
        assert_eq!(get(&env, "N1").as_deref(), Some("1"));
        assert_eq!(get(&env, "N2").as_deref(), Some("2"));
    }

    #[test]
    fn errors_and_ignore_unreadable() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("missing");
        let err = loaded(&missing, false).unwrap_err();
        assert_eq!(err.kind.code(), -2);
        assert_eq!(
            err.to_string(),
            format!(
                "unable to open environment directory: {}: file does not exist",
                missing.display()
            )
        );
        let e = t.path().join("e");
        fs::create_dir_all(e.join("sub")).unwrap();
        fs::write(e.join("A"), "a").unwrap();
        let err = loaded(&e, false).unwrap_err();
        assert_eq!(err.kind, ErrorKind::File);
        assert!(err.to_string().ends_with("/e/sub: is a directory"), "{err}");
        let mut l = Loader::new(true);
        l.load(&e).unwrap();
        assert_eq!(l.skipped(), 1);
        symlink(t.path().join("nowhere"), e.join("DANGLING")).unwrap();
        let mut l = Loader::new(true);
        l.load(&e).unwrap();
        assert_eq!(l.skipped(), 2);
        assert_eq!(l.changes(), &[("A".into(), Some("a".into()))]);
    }

    #[test]
    fn unreadable_file_without_root_privileges() {
        use std::os::unix::fs::PermissionsExt;
        if unsafe { libc::geteuid() } == 0 {
            eprintln!("skipped: root reads files whatever their mode");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("A"), "a").unwrap();
        fs::set_permissions(t.path().join("A"), fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(loaded(t.path(), false).unwrap_err().kind, ErrorKind::File);
        assert!(loaded(t.path(), true).is_ok());
    }

    mod props {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;
        use std::fs;
        use std::os::unix::fs::symlink;

        /// What `d<i>/.envdir` is.
        #[derive(Debug, Clone)]
        enum Link {
            None,
            Symlink(usize),
            /// A list file: lines naming directories (by number, or garbage).
            List(Vec<Option<usize>>, bool),
            Dangling,
        }

        fn link() -> impl Strategy<Value = Link> {
            prop_oneof![
                Just(Link::None),
                (0usize..4).prop_map(Link::Symlink),
                (vec(proptest::option::of(0usize..4), 0..5), any::<bool>())
                    .prop_map(|(l, nl)| Link::List(l, nl)),
                Just(Link::Dangling),
            ]
        }

        fn text() -> impl Strategy<Value = Vec<u8>> {
            vec(
                prop_oneof![
                    Just(b'\n'),
                    Just(b'='),
                    Just(b'#'),
                    Just(0u8),
                    Just(b' '),
                    b'A'..b'D',
                    any::<u8>()
                ],
                0..40,
            )
        }

        /// (own files as (name, contents), .envfile contents, .envdir) for four directories.
        type Tree = Vec<(Vec<(String, Vec<u8>)>, Option<Vec<u8>>, Link)>;

        fn tree() -> impl Strategy<Value = Tree> {
            vec(
                (
                    vec(("[A-D]{1,2}", text()), 0..4),
                    proptest::option::of(text()),
                    link(),
                ),
                4,
            )
        }

        proptest! {
            /// Any tree of directories (symlink and list-file loops, dangling links, garbage
            /// list lines, any file contents) loads or fails with an error naming a path;
            /// when it loads, each directory's own files win over everything it reaches.
            #[test]
            fn any_tree_loads_or_names_what_failed(tree in tree(), garbage in "zz[ -~]{0,8}") {
                let t = tempfile::tempdir().unwrap();
                let d = |i: usize| t.path().join(format!("d{i}"));
                for i in 0..4 {
                    fs::create_dir(d(i)).unwrap();
                }
                for (i, (files, envfile, link)) in tree.iter().enumerate() {
                    for (n, c) in files {
                        fs::write(d(i).join(n), c).unwrap();
                    }
                    if let Some(e) = envfile {
                        fs::write(d(i).join(".envfile"), e).unwrap();
                    }
                    match link {
                        Link::None => {}
                        Link::Symlink(j) => symlink(d(*j), d(i).join(".envdir")).unwrap(),
                        Link::Dangling => symlink(t.path().join("nowhere"), d(i).join(".envdir")).unwrap(),
                        Link::List(lines, final_newline) => {
                            let mut l: Vec<String> = lines
                                .iter()
                                .map(|x| match x {
                                    Some(j) => d(*j).display().to_string(),
                                    None => garbage.clone(),
                                })
                                .collect();
                            if *final_newline {
                                l.push(String::new());
                            }
                            fs::write(d(i).join(".envdir"), l.join("\n")).unwrap();
                        }
                    }
                }
                let mut loader = Loader::new(false);
                match loader.load(&d(0)) {
                    Ok(()) => {
                        let mut env = Env::empty();
                        loader.apply_to(&mut env);
                        let mut own = std::collections::HashMap::new();
                        for (n, c) in &tree[0].0 {
                            own.insert(n.clone(), file_value(c));
                        }
                        for (n, v) in own {
                            prop_assert_eq!(env.get(&n), v.as_deref());
                        }
                    }
                    Err(e) => prop_assert!(e.path.starts_with(t.path()) || e.path == Path::new(&garbage)),
                }
            }

            #[test]
            fn any_file_contents(bytes in vec(any::<u8>(), 0..200)) {
                let _ = file_value(&bytes);
                for (name, value) in envfile_changes(&bytes) {
                    prop_assert!(!name.as_bytes().contains(&b'\n'));
                    prop_assert!(!name.is_empty() || value.is_some() || name.is_empty());
                }
            }
        }
    }
}
