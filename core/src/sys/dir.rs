//! Directory reading: the names in a directory open on a descriptor, with their types.

use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsFd;

pub use rustix::fs::FileType;

/// Call `each` with every entry's name and type (`FileType::Unknown` where the file system
/// does not say) of the directory open on `dir` (or `fs::CWD`), `.` and `..` left out, in
/// the directory's order. The directory is read from its start through a descriptor of its
/// own, so `dir`'s offset does not matter, into a buffer on the stack: no allocation per
/// entry, or at all.
pub fn entries(
    dir: impl AsFd,
    mut each: impl FnMut(&CStr, FileType) -> io::Result<()>,
) -> io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
    let mut d = rustix::fs::RawDir::new(&fd, &mut buf);
    while let Some(e) = d.next() {
        let e = e?;
        let name = e.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        each(name, e.file_type())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), b"").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let fd = std::fs::File::open(d.path()).unwrap();
        let mut seen = Vec::new();
        entries(&fd, |n, t| {
            seen.push((n.to_bytes().to_vec(), t));
            Ok(())
        })
        .unwrap();
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, b"f");
        assert!(matches!(
            seen[0].1,
            FileType::RegularFile | FileType::Unknown
        ));
        assert_eq!(seen[1].0, b"sub");
    }
}
