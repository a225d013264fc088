//! Certificate reload without restart (past the reference): on SIGHUP, and when a file
//! the context was built from changes. The server watches the directories of those files
//! with inotify and looks at the events before each new connection, so the next client
//! gets the new certificate while open connections keep theirs. A change that does not
//! load (a half-written file, a key that does not match) keeps the running context and
//! says why.

use super::config::{self, Contexts, Settings};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a reload did, for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// Nothing changed.
    Unchanged,
    /// New contexts are in force (with warnings about skipped files).
    Done(Vec<String>),
    /// The files changed but do not load: the old contexts stay.
    Failed(Vec<String>),
}

/// The stat facts that tell a file changed.
type Stamp = (u64, u64, i64, i64, u64);

/// The running contexts, their settings, and the watch on their files.
pub struct Reloader {
    settings: Settings,
    pub contexts: Contexts,
    inotify: Option<std::os::fd::OwnedFd>,
    stamps: BTreeMap<PathBuf, Stamp>,
}

fn stamp(p: &Path) -> Option<Stamp> {
    std::fs::metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.size()))
}

/// The files a context depends on: the certificate, CA and CRL files and every `.pem`
/// in the certificate directory (SNI certificates come and go there).
fn stamps(c: &Contexts) -> BTreeMap<PathBuf, Stamp> {
    let f = &c.files;
    let mut out = BTreeMap::new();
    let mut add = |p: &Path| {
        if let Some(s) = stamp(p) {
            out.insert(p.to_path_buf(), s);
        }
    };
    add(&f.certfile);
    if let Some(p) = &f.cafile {
        add(p);
    }
    if let Some(p) = &f.crlfile {
        add(p);
    }
    if let Ok(entries) = std::fs::read_dir(&f.certdir) {
        for e in entries.flatten() {
            if e.file_name().as_bytes().ends_with(b".pem") {
                add(&e.path());
            }
        }
    }
    out
}

fn watch(c: &Contexts) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: inotify_init1 returns a fresh descriptor or -1.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is new and owned here.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let f = &c.files;
    let mut dirs: Vec<PathBuf> = vec![f.certdir.clone()];
    for p in [Some(&f.certfile), f.cafile.as_ref(), f.crlfile.as_ref()]
        .into_iter()
        .flatten()
    {
        let d = p.parent().map_or_else(
            || PathBuf::from("."),
            |d| {
                if d.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    d.to_path_buf()
                }
            },
        );
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    let mask = libc::IN_CLOSE_WRITE
        | libc::IN_MOVED_TO
        | libc::IN_MOVED_FROM
        | libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_ATTRIB;
    for d in dirs {
        if let Ok(c) = CString::new(d.as_os_str().as_bytes()) {
            // SAFETY: a NUL-terminated path on our inotify descriptor.
            unsafe { libc::inotify_add_watch(fd, c.as_ptr(), mask) };
        }
    }
    Some(owned)
}

impl Reloader {
    /// Load the contexts (Err: the lines to log before the fatal one) and start watching.
    pub fn new(settings: Settings) -> Result<Reloader, Vec<String>> {
        let contexts = config::load(&settings)?;
        let inotify = watch(&contexts);
        let stamps = stamps(&contexts);
        Ok(Reloader {
            settings,
            contexts,
            inotify,
            stamps,
        })
    }

    /// Before a new connection: if a watched directory saw events and a file the context
    /// depends on changed, reload. Costs one non-blocking read when nothing happened.
    pub fn check(&mut self) -> Reloaded {
        let Some(fd) = &self.inotify else {
            return Reloaded::Unchanged;
        };
        let mut buf = [0u8; 4096];
        let mut seen = false;
        loop {
            // SAFETY: read inotify records into a live buffer.
            let n = unsafe {
                libc::read(
                    std::os::fd::AsRawFd::as_raw_fd(fd),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n <= 0 {
                break;
            }
            seen = true;
        }
        if !seen || stamps(&self.contexts) == self.stamps {
            return Reloaded::Unchanged;
        }
        self.reload()
    }

    /// Build new contexts from the files as they are now (SIGHUP, or a change seen).
    pub fn reload(&mut self) -> Reloaded {
        match config::load(&self.settings) {
            Ok(c) => {
                self.stamps = stamps(&c);
                let warnings = c.warnings.clone();
                self.contexts = c;
                Reloaded::Done(warnings)
            }
            Err(lines) => {
                // Do not retry the same broken files on every connection.
                self.stamps = stamps(&self.contexts);
                Reloaded::Failed(lines)
            }
        }
    }
}
