//! A small tmpfs to fill up (root only): the "disk full, then freed" fault.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A tmpfs of `size` (as `mount -o size=` reads it) on a fresh temporary directory,
/// unmounted on drop.
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::Builder::new().prefix("full.").tempdir().unwrap();
        let ok = crate::command("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs");
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = crate::command("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fill the file system holding `dir` to the last byte; returns the filler file.
pub fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut f = File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.write_all(&[0]);
    filler
}
