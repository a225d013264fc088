//! supervise's state directory: the service's own `supervise/`, or its mirror under
//! `/run/svscan` (README, "supervise"), and the locks that keep one supervise per service
//! whichever layout each one uses (COMPATIBILITY S5).
//!
//! The rule: nothing is created in, removed from or replaced in either layout before the
//! locks are held.
//! * Plain layout: `dir/supervise/lock`, as djb.
//! * Mirror layout: the mirror's lock if it already exists, then `dir/supervise/lock`
//!   (created when the service directory is writable), then the mirror is created and its
//!   lock taken. Only then are the plain layout's stale files removed; its `lock` stays, held,
//!   so a later plain supervise of the same directory meets it.
//!
//! A service directory that cannot be written (read-only tree) has no plain lock; no plain
//! supervise can run there either.

use crate::runfs;
use indicore::{errstr, fd, EXIT_TEMP, EXIT_USAGE};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The state files a plain layout may hold, `lock` aside.
const STALE: [&str; 7] = ["control", "ok", "status", "info", "up", "dn", "status.new"];

/// A failure that ends supervise: exit code and message (without prefix).
#[derive(Debug)]
pub struct Fatal {
    pub code: i32,
    pub msg: String,
}

fn fatal(code: i32, msg: String) -> Fatal {
    Fatal { code, msg }
}

/// The state directory, entered and locked.
pub struct StateDir {
    /// How scripts and messages name the directory that holds `supervise/`.
    pub name: String,
    /// Held for supervise's lifetime.
    _locks: Vec<File>,
}

/// Which supervise this is: `supervise dir` or `supervise log NAME`.
pub struct Identity<'a> {
    pub dir: &'a str,
    pub parent_ident: Option<&'a str>,
}

/// Called with the service directory as the current directory; returns with the current
/// directory being the one that holds `supervise/` (the service's, or its mirror).
pub fn enter(id: &Identity) -> Result<StateDir, Fatal> {
    match mirror_path(id) {
        None => {
            let lock = plain_lock(id.dir)?.ok_or_else(|| {
                // plain_lock only gives None for a directory it may not create (mirror use).
                fatal(EXIT_TEMP, format!("unable to create {}/supervise", id.dir))
            })?;
            Ok(StateDir {
                name: id.dir.to_string(),
                _locks: vec![lock],
            })
        }
        Some(mirror) => enter_mirror(id, &mirror),
    }
}

/// The mirror directory this supervise uses, or None for the plain layout.
fn mirror_path(id: &Identity) -> Option<PathBuf> {
    let plain_name = !id.dir.contains('/') && !id.dir.starts_with('.');
    let root = runfs::supervise_root().filter(|_| plain_name)?;
    let from_log = id.dir == "log" && std::env::var_os("SV_PWD").is_some();
    Some(match id.parent_ident {
        Some(p) => root.join(p).join(id.dir),
        None if from_log => root.join(std::env::var_os("SV_PWD")?).join(id.dir),
        None => root.join(id.dir),
    })
}

/// Take `supervise/lock` in the current directory, creating `supervise/` (0700) if needed.
/// A lock held by another process is fatal (100). Any other failure is fatal too, except
/// when `optional`: then the directory is simply not lockable (read-only tree) and None
/// is returned.
fn take_plain_lock(dir: &str, optional: bool) -> Result<Option<File>, Fatal> {
    if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create("supervise") {
        if e.kind() != io::ErrorKind::AlreadyExists {
            if optional {
                return Ok(None);
            }
            return Err(fatal(
                EXIT_TEMP,
                format!("unable to create {dir}/supervise: {}", errstr(&e)),
            ));
        }
    }
    let file = match fd::open_append(Path::new("supervise/lock")) {
        Ok(f) => f,
        Err(_) if optional => return Ok(None),
        Err(e) => return Err(acquire_failed(&format!("{dir}/supervise/lock"), &e)),
    };
    match fd::lock_exnb(&file) {
        Ok(()) => Ok(Some(file)),
        Err(e) if optional && e.kind() != io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(acquire_failed(&format!("{dir}/supervise/lock"), &e)),
    }
}

fn plain_lock(dir: &str) -> Result<Option<File>, Fatal> {
    take_plain_lock(dir, false)
}

fn acquire_failed(path: &str, e: &io::Error) -> Fatal {
    fatal(
        EXIT_USAGE,
        format!("unable to acquire {path}: {}", errstr(e)),
    )
}

/// Lock an existing mirror lock file, if there is one (no file: nothing to lock yet).
fn existing_mirror_lock(lock: &Path) -> Result<Option<File>, Fatal> {
    let file = match OpenOptions::new()
        .append(true)
        .custom_flags(
            (indicore::sys::fs::OFlags::NONBLOCK | indicore::sys::fs::OFlags::CLOEXEC).bits()
                as i32,
        )
        .open(lock)
    {
        Ok(f) => f,
        Err(_) => return Ok(None),
    };
    fd::lock_exnb(&file)
        .map(|()| Some(file))
        .map_err(|e| acquire_failed(&lock.to_string_lossy(), &e))
}

fn enter_mirror(id: &Identity, mirror: &Path) -> Result<StateDir, Fatal> {
    let name = mirror.to_string_lossy().into_owned();
    let mirror_lock = mirror.join("supervise/lock");
    // 1. Another mirror supervise: the reference's message, before anything is touched.
    let mut mirror_held = existing_mirror_lock(&mirror_lock)?;
    // 2. A plain supervise of the same directory.
    let plain = take_plain_lock(id.dir, true)?;
    // 3. The mirror, then its lock if step 1 found none.
    create_mirror(mirror)?;
    if mirror_held.is_none() {
        if let Err(e) = std::fs::DirBuilder::new()
            .mode(0o700)
            .create(mirror.join("supervise"))
        {
            if e.kind() != io::ErrorKind::AlreadyExists {
                return Err(fatal(
                    EXIT_TEMP,
                    format!("unable to create {name}/supervise: {}", errstr(&e)),
                ));
            }
        }
        let lock_name = format!("{name}/supervise/lock");
        let file = fd::open_append(&mirror_lock).map_err(|e| acquire_failed(&lock_name, &e))?;
        fd::lock_exnb(&file).map_err(|e| acquire_failed(&lock_name, &e))?;
        mirror_held = Some(file);
    }
    // 4. Stale plain state would mislead the clients, who look there first.
    if plain.is_some() {
        for f in STALE {
            let _ = std::fs::remove_file(Path::new("supervise").join(f));
        }
    }
    std::env::set_current_dir(mirror).map_err(|e| {
        fatal(
            EXIT_TEMP,
            format!("unable to chdir to {name}: {}", errstr(&e)),
        )
    })?;
    Ok(StateDir {
        name,
        _locks: plain.into_iter().chain(mirror_held).collect(),
    })
}

/// Create the mirror directory (and its service parent for a log), with the mode and owner
/// of the service directory (the current directory).
fn create_mirror(mirror: &Path) -> Result<(), Fatal> {
    let real = std::fs::metadata(".").map_err(|e| {
        fatal(
            EXIT_TEMP,
            format!("unable to stat {}: {}", mirror.display(), errstr(&e)),
        )
    })?;
    let created = (|| -> io::Result<()> {
        if let Some(parent) = mirror.parent() {
            std::fs::DirBuilder::new()
                .mode(0o755)
                .recursive(true)
                .create(parent)?;
        }
        if !mirror.is_dir() {
            let mode = real.mode() & 0o7777;
            std::fs::DirBuilder::new().mode(mode).create(mirror)?;
            std::fs::set_permissions(mirror, std::fs::Permissions::from_mode(mode))?;
            let _ = std::os::unix::fs::chown(mirror, Some(real.uid()), Some(real.gid()));
        }
        Ok(())
    })();
    created.map_err(|e| {
        fatal(
            EXIT_TEMP,
            format!("unable to create {}: {}", mirror.display(), errstr(&e)),
        )
    })
}
