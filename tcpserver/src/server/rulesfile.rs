//! The `-x` rules file, read again whenever it changes.
//!
//! Every connection checks the file (one stat) and uses an in-memory copy while its
//! identity (device, inode, size, modification time) is unchanged: tcprules replaces
//! the file by rename, so a new file is always noticed at the next connection, as with
//! a per-connection open. The copy's file stays open, so its inode number cannot be
//! given to the replacement. Reading a copy instead of mapping the file also means that
//! a file truncated in place can never fault the reader.

use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use ucspi::cdb::Cdb;

type Identity = (u64, u64, u64, i64, i64);

fn identity(m: &std::fs::Metadata) -> Identity {
    (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec())
}

/// The last version of the rules file read, and which file it was.
#[derive(Default)]
pub struct RulesFile {
    seen: Option<(Identity, Cdb, std::fs::File)>,
}

impl RulesFile {
    /// The rules as the file at `path` holds them now; `Ok(None)` when it does not exist.
    pub fn current(&mut self, path: &Path) -> io::Result<Option<&Cdb>> {
        let now = match std::fs::metadata(path) {
            Ok(m) => identity(&m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.seen = None;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if !matches!(&self.seen, Some((id, _, _)) if *id == now) {
            self.seen = None;
            let mut f = std::fs::File::open(path)?;
            let meta = f.metadata()?;
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            f.read_to_end(&mut bytes)?;
            self.seen = Some((identity(&meta), Cdb::from_bytes(bytes), f));
        }
        Ok(self.seen.as_ref().map(|(_, cdb, _)| cdb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use ucspi::cdb::CdbMaker;

    fn write_cdb(path: &Path, key: &[u8], data: &[u8]) {
        let mut m = CdbMaker::new(Cursor::new(Vec::new())).unwrap();
        m.add(key, data).unwrap();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, m.finish().unwrap().into_inner()).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn replaced_files_are_read_again() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.cdb");
        let mut r = RulesFile::default();
        assert!(r.current(&p).unwrap().is_none());
        write_cdb(&p, b"k", b"one");
        assert_eq!(
            r.current(&p).unwrap().unwrap().find(b"k").unwrap(),
            Some(&b"one"[..])
        );
        assert_eq!(
            r.current(&p).unwrap().unwrap().find(b"k").unwrap(),
            Some(&b"one"[..])
        );
        write_cdb(&p, b"k", b"two");
        assert_eq!(
            r.current(&p).unwrap().unwrap().find(b"k").unwrap(),
            Some(&b"two"[..])
        );
        std::fs::remove_file(&p).unwrap();
        assert!(r.current(&p).unwrap().is_none());
        assert!(r.current(d.path()).is_err());
    }
}
