//! inotify(7): watch directories and read their events.

use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::inotify;
pub use rustix::fs::inotify::{ReadFlags, WatchFlags};

/// An inotify instance (close-on-exec).
pub struct Inotify(OwnedFd);

/// One event: the watch it came from, what happened, the rename cookie, the name in the
/// watched directory (None for an event on the directory itself).
pub struct Event<'a> {
    pub wd: i32,
    pub mask: ReadFlags,
    pub cookie: u32,
    pub name: Option<&'a CStr>,
}

impl Inotify {
    pub fn new() -> io::Result<Inotify> {
        Ok(Inotify(inotify::init(inotify::CreateFlags::CLOEXEC)?))
    }

    /// An instance whose [`Inotify::read`] fails with EAGAIN rather than wait.
    pub fn nonblocking() -> io::Result<Inotify> {
        use inotify::CreateFlags;
        Ok(Inotify(inotify::init(
            CreateFlags::CLOEXEC | CreateFlags::NONBLOCK,
        )?))
    }

    /// Stop the watch `wd`.
    pub fn unwatch(&self, wd: i32) -> io::Result<()> {
        Ok(inotify::remove_watch(&self.0, wd)?)
    }

    /// Watch `path` for `mask`; the watch descriptor its events carry.
    pub fn watch(&self, path: impl rustix::path::Arg, mask: WatchFlags) -> io::Result<i32> {
        Ok(inotify::add_watch(&self.0, path, mask)?)
    }

    /// One read (EINTR retried; it blocks unless events are waiting), then `each` on every
    /// event it brought.
    pub fn read(&self, mut each: impl FnMut(Event<'_>)) -> io::Result<()> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096 + 8];
        let mut reader = inotify::Reader::new(self.0.as_fd(), &mut buf);
        loop {
            match reader.next() {
                Ok(e) => each(Event {
                    wd: e.wd(),
                    mask: e.events(),
                    cookie: e.cookie(),
                    name: e.file_name(),
                }),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            if reader.is_buffer_empty() {
                return Ok(());
            }
        }
    }
}

impl AsFd for Inotify {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_created_file() {
        let d = tempfile::tempdir().unwrap();
        let i = Inotify::new().unwrap();
        let wd = i
            .watch(d.path(), WatchFlags::CREATE | WatchFlags::DELETE)
            .unwrap();
        std::fs::write(d.path().join("a"), b"").unwrap();
        std::fs::remove_file(d.path().join("a")).unwrap();
        let mut seen = Vec::new();
        while seen.len() < 2 {
            i.read(|e| {
                assert_eq!(e.wd, wd);
                seen.push((e.mask, e.name.map(|n| n.to_bytes().to_vec())));
            })
            .unwrap();
        }
        assert!(seen[0].0.contains(ReadFlags::CREATE));
        assert!(seen[1].0.contains(ReadFlags::DELETE));
        assert_eq!(seen[0].1.as_deref(), Some(&b"a"[..]));
    }
}
