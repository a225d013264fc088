//! A temporary directory removed on drop.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::error::{BenchError, Result};

pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh directory (mode 0700) under $TMPDIR or /tmp.
    pub fn new(prefix: &str) -> Result<TempDir> {
        let base = std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into());
        let mut template = PathBuf::from(base)
            .join(format!("{prefix}.XXXXXX"))
            .into_os_string()
            .into_vec();
        template.push(0);
        // SAFETY: template is a writable NUL-terminated buffer ending in XXXXXX.
        let p = unsafe { libc::mkdtemp(template.as_mut_ptr().cast()) };
        if p.is_null() {
            return Err(BenchError::Fatal(format!(
                "unable to create temporary directory: {}",
                std::io::Error::last_os_error()
            )));
        }
        template.pop();
        Ok(TempDir {
            path: PathBuf::from(OsString::from_vec(template)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` inside the directory.
    pub fn write(&self, name: &str, contents: &str) -> Result<()> {
        let p = self.path.join(name);
        std::fs::write(&p, contents)
            .map_err(|e| BenchError::Fatal(format!("unable to write {}: {e}", p.display())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_and_removed() {
        let p;
        {
            let d = TempDir::new("bench-test").unwrap();
            d.write("FOO", "bar\n").unwrap();
            p = d.path().to_path_buf();
            assert_eq!(std::fs::read_to_string(p.join("FOO")).unwrap(), "bar\n");
        }
        assert!(!p.exists());
    }
}
