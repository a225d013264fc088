//! svctool and qmailctl: lay out and manage the IndiMail service tree.
//!
//! * [`host`]: host facts (docs/decisions.md#s6), the one place paths, names and probes come from.
//! * [`options`]: the command line of docs/svctool.md#command-line.
//! * [`catalogue`]: every service kind of docs/svctool.md#service-kinds, described once as data.
//! * [`render`]: the one renderer that writes a kind into a service directory.
//! * [`queue`], [`manage`], [`variables`], [`config`], [`boot`], [`check`]: the other actions.
//! * [`svctool`] and [`qmailctl`]: the two programs; [`minisvc`]: svctool's service-tree
//!   actions for hosts and containers without the mail suite.
//! * [`entrypoint`]: docker-entrypoint, the first program of a container; [`runpod`]: run
//!   an IndiMail image with podman or docker.

pub mod actions;
pub mod boot;
pub mod catalogue;
pub mod certcheck;
pub mod check;
pub mod config;
pub mod entrypoint;
pub mod host;
pub mod manage;
pub mod minisvc;
pub mod mrtg;
pub mod options;
pub mod qmailctl;
pub mod queue;
pub mod render;
pub mod runpod;
pub mod sharedlibs;
pub mod svctool;
pub mod usage;
pub mod variables;

/// The version line of generated headers and `--version` (docs/decisions.md#s1: the only line of a
/// generated file that differs from the reference's).
pub const RCSID: &str = "# $Id: svctool.rs,v 0.1.0 indimail-rs (svctool.sh 2.734 compatible) Exp $";

/// Why an action stops: printed as is on stderr, then (with `usage`) the usage text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub code: i32,
    pub msg: String,
    pub usage: bool,
}

impl Stop {
    /// A missing or bad parameter: message, usage, exit 1 (docs/svctool.md#exit-codes-and-failures).
    pub fn usage(msg: impl Into<String>) -> Stop {
        Stop {
            code: 1,
            msg: msg.into(),
            usage: true,
        }
    }

    /// A failure with the reference's message and a non-zero exit (docs/decisions.md#s3).
    pub fn fail(code: i32, msg: impl Into<String>) -> Stop {
        Stop {
            code,
            msg: msg.into(),
            usage: false,
        }
    }

    /// A system error on `path`: exit 111.
    pub fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> Stop {
        Stop::fail(
            111,
            format!(
                "svctool: unable to {what} {}: {}",
                path.display(),
                indicore::errstr(e)
            ),
        )
    }
}

/// A base64 text (blanks and newlines ignored, padding optional), decoded.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let data = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    let mut spec = data_encoding::BASE64_NOPAD.specification();
    spec.check_trailing_bits = false;
    spec.encoding().ok()?.decode(data).ok()
}

/// A warning on stderr.
pub fn warn(msg: &str) {
    indicore::diag::emit(format_args!("svctool: warning: {msg}\n"));
}

/// File-system helpers: every file is written whole (temporary + rename) so a crash never
/// leaves a torn file; a symlink is written through, as `echo > link` does.
pub mod fsx {
    use super::Stop;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// The names in `dir`, sorted; names starting with a dot only if `with_dot_names`. An
    /// unreadable directory has none.
    pub fn sorted_names(dir: &Path, with_dot_names: bool) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| with_dot_names || !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    pub fn write(path: &Path, data: &[u8], mode: u32) -> Result<(), Stop> {
        let is_link = std::fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if is_link {
            std::fs::write(path, data).map_err(|e| Stop::io("write", path, &e))?;
            return Ok(());
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".svctool.")
            .tempfile_in(dir)
            .map_err(|e| Stop::io("create a file in", dir, &e))?;
        tmp.write_all(data)
            .map_err(|e| Stop::io("write", tmp.path(), &e))?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| Stop::io("chmod", tmp.path(), &e))?;
        tmp.persist(path)
            .map_err(|e| Stop::io("write", path, &e.error))?;
        Ok(())
    }

    /// Replace the contents of a file as `echo > file` does: an existing file keeps its
    /// mode and owner; a new one gets `mode`.
    pub fn rewrite(path: &Path, data: &[u8], mode: u32) -> Result<(), Stop> {
        rewrite_adding(path, data, mode, 0)
    }

    /// [`rewrite`], then `chmod +x` (a script).
    pub fn rewrite_script(path: &Path, data: &[u8]) -> Result<(), Stop> {
        rewrite_adding(path, data, 0o755, 0o111)
    }

    fn rewrite_adding(path: &Path, data: &[u8], mode: u32, add: u32) -> Result<(), Stop> {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::metadata(path) else {
            return write(path, data, mode);
        };
        write(path, data, (m.permissions().mode() & 0o7777) | add)?;
        let now = std::fs::metadata(path).map_err(|e| Stop::io("examine", path, &e))?;
        // Only root can give a file back to its owner.
        if (now.uid(), now.gid()) != (m.uid(), m.gid()) && crate::euid() == 0 {
            std::os::unix::fs::chown(path, Some(m.uid()), Some(m.gid()))
                .map_err(|e| Stop::io("chown", path, &e))?;
        }
        Ok(())
    }

    pub fn append(path: &Path, data: &[u8]) -> Result<(), Stop> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Stop::io("open", path, &e))?;
        f.write_all(data).map_err(|e| Stop::io("write", path, &e))
    }

    pub fn remove(path: &Path) -> Result<(), Stop> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Stop::io("remove", path, &e)),
            _ => Ok(()),
        }
    }

    /// `mkdir -p`; new directories get `mode`.
    pub fn mkdir_p(path: &Path, mode: u32) -> Result<(), Stop> {
        if path.is_dir() {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            mkdir_p(parent, 0o755)?;
        }
        match std::fs::create_dir(path) {
            Ok(()) => chmod(path, mode),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
            Err(e) => Err(Stop::io("create directory", path, &e)),
        }
    }

    pub fn chmod(path: &Path, mode: u32) -> Result<(), Stop> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Stop::io("chmod", path, &e))
    }

    /// While alive, a directory this (non-root) process must write into is writable.
    pub struct Writable {
        path: std::path::PathBuf,
        mode: Option<u32>,
    }

    impl Writable {
        pub fn new(path: &Path) -> Result<Writable, Stop> {
            let mut w = Writable {
                path: path.to_path_buf(),
                mode: None,
            };
            if crate::euid() != 0 {
                let m = std::fs::metadata(path)
                    .map_err(|e| Stop::io("examine", path, &e))?
                    .permissions()
                    .mode()
                    & 0o7777;
                if m & 0o700 != 0o700 {
                    chmod(path, m | 0o700)?;
                    w.mode = Some(m);
                }
            }
            Ok(w)
        }
    }

    impl Drop for Writable {
        fn drop(&mut self) {
            if let Some(m) = self.mode {
                let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(m));
            }
        }
    }
}

/// This process's effective uid.
fn euid() -> u32 {
    indicore::sys::process::geteuid().as_raw()
}

/// kill(1, SIGHUP): init re-reads inittab.
fn hup_init() {
    if let Some(init) = indicore::sys::process::pid(1) {
        let _ = indicore::sys::process::kill(init, indicore::sys::signal::Signal::HUP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8h").unwrap(), b"hello!");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert!(base64_decode("a$b=").is_none());
    }
}
