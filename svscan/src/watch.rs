//! Instant pickup: inotify on the scan directory and on each service directory.
//!
//! * The scan directory: a service linked (`ln -s`) or moved (`mv`) into it is started at
//!   once; one made in place (`mkdir`, `cp -r`) is held until nothing has changed in it
//!   for [`SETTLE`], so that svscan does not decide about `log` or start `run` while the
//!   directory is still being filled. A removed entry needs nothing: as before, its slot
//!   is freed by the next scan once its supervisors have exited.
//! * Each service directory: creating, removing or renaming `down` makes a scan, so the
//!   live `down` file needs no periodic scan.
//! * A full queue (`IN_Q_OVERFLOW`) means events were lost: a full scan.
//!
//! What inotify cannot see (a `down` symlink whose target changes, a service directory
//! that could not be watched, changes made by another host on a network file system) is
//! left to the periodic scan, which runs while such a service exists or when
//! `SCANINTERVAL` is set; and without inotify at all, as before.

use crate::scanner::{Scanner, SVSCAN_DIR};
use indicore::sys::inotify::{Inotify, ReadFlags, WatchFlags as AddWatchFlags};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// How long a directory made in place must stay unchanged before it is started.
/// An inotify watch's number.
pub type WatchDescriptor = i32;

/// One event read, owned.
#[derive(Debug)]
pub struct Event {
    pub wd: WatchDescriptor,
    pub mask: ReadFlags,
    pub name: Option<CString>,
}

pub const SETTLE: Duration = Duration::from_secs(1);

/// Entries appearing in, or leaving, a directory.
const ENTRIES: AddWatchFlags = AddWatchFlags::CREATE
    .union(AddWatchFlags::DELETE)
    .union(AddWatchFlags::MOVED_FROM)
    .union(AddWatchFlags::MOVED_TO);

/// A service directory: only its entries matter (`down`).
const SERVICE: AddWatchFlags = ENTRIES.union(AddWatchFlags::ONLYDIR);

/// A directory being made in place: any change in it, contents included, is activity.
const BUILDING: AddWatchFlags = SERVICE
    .union(AddWatchFlags::ATTRIB)
    .union(AddWatchFlags::MODIFY)
    .union(AddWatchFlags::CLOSE_WRITE);

/// A directory made in place, not started yet.
#[derive(Debug)]
pub struct Hold {
    pub key: (u64, u64),
    pub wd: Option<WatchDescriptor>,
    /// When it may be started if nothing changes in it before.
    pub until: Instant,
}

/// What one event asks of svscan.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// Events were lost, or the scan directory's watch is gone: scan everything.
    Rescan,
    /// The scan directory cannot be watched any more: back to periodic scans.
    Lost,
    /// A name linked, moved or created (not a directory) in the scan directory.
    Entry(CString),
    /// A directory made in place in the scan directory.
    Made(CString),
    /// Something changed in the directory watched by `wd` (a service or a held one);
    /// `down` says whether it was the `down` entry.
    Inside { wd: WatchDescriptor, down: bool },
    /// The watch `wd` is gone (its directory was removed, or the watch was dropped).
    Gone(WatchDescriptor),
    /// Nothing svscan cares about.
    Nothing,
}

pub struct Watch {
    inotify: Inotify,
    scandir: WatchDescriptor,
    /// The scan directory's (dev, inode): never watched again as a service.
    scandir_key: (u64, u64),
    pub holds: Vec<Hold>,
}

impl Watch {
    /// Watch the current directory (the scan directory).
    pub fn open() -> std::io::Result<Watch> {
        use indicore::sys::fs::{statat, AtFlags, CWD};
        let inotify = Inotify::nonblocking()?;
        let scandir = inotify.watch(c".", ENTRIES | AddWatchFlags::ONLYDIR)?;
        let st = statat(CWD, c".", AtFlags::empty())?;
        Ok(Watch {
            inotify,
            scandir,
            scandir_key: (st.st_dev, st.st_ino),
            holds: Vec::new(),
        })
    }

    pub fn fd(&self) -> RawFd {
        self.inotify.as_fd().as_raw_fd()
    }

    /// Watch a service directory; `None` when it cannot be (no watches left, not a
    /// directory any more, or the scan directory itself).
    pub fn service(&self, name: &CStr, key: (u64, u64)) -> Option<WatchDescriptor> {
        self.add(name, key, SERVICE)
    }

    /// Watch a directory being made in place.
    pub fn building(&self, name: &CStr, key: (u64, u64)) -> Option<WatchDescriptor> {
        self.add(name, key, BUILDING)
    }

    fn add(&self, name: &CStr, key: (u64, u64), mask: AddWatchFlags) -> Option<WatchDescriptor> {
        if key == self.scandir_key {
            return None;
        }
        self.inotify.watch(name, mask).ok()
    }

    pub fn forget(&self, wd: WatchDescriptor) {
        // EINVAL: the kernel dropped it already (the directory is gone).
        let _ = self.inotify.unwatch(wd);
    }

    /// The events queued now; empty when there are none (or on an error, which the
    /// caller cannot act on: the next events or scans will tell).
    pub fn read(&self) -> Vec<Event> {
        let mut events = Vec::new();
        let _ = self.inotify.read(|e| {
            events.push(Event {
                wd: e.wd,
                mask: e.mask,
                name: e.name.map(CStr::to_owned),
            })
        });
        events
    }

    /// What `ev` means.
    pub fn classify(&self, ev: Event) -> Change {
        let m = ev.mask;
        let name = ev.name;
        if m.contains(ReadFlags::QUEUE_OVERFLOW) {
            return Change::Rescan;
        }
        if ev.wd == self.scandir {
            if m.contains(ReadFlags::IGNORED) {
                return Change::Lost;
            }
            let Some(name) = name else {
                return Change::Nothing;
            };
            if m.contains(ReadFlags::CREATE | ReadFlags::ISDIR) {
                Change::Made(name)
            } else if m.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
                Change::Entry(name)
            } else {
                Change::Nothing
            }
        } else if m.contains(ReadFlags::IGNORED) {
            Change::Gone(ev.wd)
        } else {
            Change::Inside {
                wd: ev.wd,
                down: name.is_some_and(|n| n.as_bytes() == b"down"),
            }
        }
    }
}

impl Scanner {
    /// Act on the events queued now.
    pub(crate) fn events(&mut self) {
        let Some(w) = &self.watch else { return };
        let events = w.read();
        if events.is_empty() {
            return;
        }
        let now = Instant::now();
        for ev in events {
            let Some(w) = &self.watch else { break };
            match w.classify(ev) {
                Change::Rescan => {
                    self.log.info("inotify lost events: rescanning");
                    self.scan_now = true;
                }
                Change::Lost => {
                    self.log.info(format_args!(
                        "inotify watch lost: scanning every {} seconds",
                        self.settings.interval().as_secs()
                    ));
                    self.watch = None;
                    for slot in &mut self.slots {
                        slot.wd = None;
                    }
                    self.scan_now = true;
                }
                Change::Entry(name) => self.entry_from(&name, true),
                Change::Made(name) => self.made(&name, now),
                Change::Inside { wd, down } => self.inside(wd, down, now),
                Change::Gone(wd) => self.gone(wd),
                Change::Nothing => {}
            }
        }
        self.sort_slots();
        if !self.periodic_needed() {
            self.next_periodic = None;
        } else if self.next_periodic.is_none() {
            self.next_periodic = Some(now + self.settings.interval());
        }
    }

    /// A directory made in place: held until it settles (dot names are not services).
    fn made(&mut self, cname: &CStr, now: Instant) {
        let bytes = cname.to_bytes();
        if bytes.first() == Some(&b'.') && bytes != SVSCAN_DIR.as_bytes() {
            return self.entry_from(cname, true);
        }
        let Some(st) = self.stat_entry(cname, true) else {
            return;
        };
        if !crate::scanner::is_dir(&st) {
            return;
        }
        let key = (st.st_dev, st.st_ino);
        let full = self.slots.len() + self.holds_len() >= self.capacity;
        let known = self.slots.iter().any(|s| (s.dev, s.ino) == key);
        let Some(w) = &mut self.watch else { return };
        if let Some(h) = w.holds.iter_mut().find(|h| h.key == key) {
            h.until = now + SETTLE;
            return;
        }
        if known || full {
            // Already started by a scan, or refused with the usual warning.
            return self.entry_from(cname, true);
        }
        let wd = w.building(cname, key);
        w.holds.push(Hold {
            key,
            wd,
            until: now + SETTLE,
        });
    }

    /// A change inside a watched directory: a held one is not settled yet; a service's
    /// `down` wants a scan.
    fn inside(&mut self, wd: WatchDescriptor, down: bool, now: Instant) {
        if let Some(w) = &mut self.watch {
            if let Some(h) = w.holds.iter_mut().find(|h| h.wd == Some(wd)) {
                h.until = now + SETTLE;
                return;
            }
        }
        if down {
            self.scan_now = true;
        }
    }

    /// A watch ended (its directory was removed): the next scan tells what became of it.
    fn gone(&mut self, wd: WatchDescriptor) {
        if let Some(w) = &mut self.watch {
            if let Some(h) = w.holds.iter_mut().find(|h| h.wd == Some(wd)) {
                h.wd = None;
                return;
            }
        }
        if let Some(slot) = self.slots.iter_mut().find(|s| s.wd == Some(wd)) {
            slot.wd = None;
            self.scan_now = true;
        }
    }

    /// Directories held long enough are let go, and a scan starts them.
    pub(crate) fn release_holds(&mut self, now: Instant) {
        let Some(w) = &mut self.watch else { return };
        let before = w.holds.len();
        let mut done = Vec::new();
        w.holds.retain(|h| {
            let due = h.until <= now;
            if due {
                done.extend(h.wd);
            }
            !due
        });
        // The scan watches them again as services.
        for wd in done {
            w.forget(wd);
        }
        if w.holds.len() != before {
            self.scan_now = true;
        }
    }

    /// When the next held directory may be started.
    pub(crate) fn hold_deadline(&self) -> Option<Instant> {
        self.watch.as_ref()?.holds.iter().map(|h| h.until).min()
    }

    fn holds_len(&self) -> usize {
        self.watch.as_ref().map_or(0, |w| w.holds.len())
    }

    /// Whether the directory `key` is held (not to be started yet).
    pub(crate) fn held(&self, key: (u64, u64)) -> bool {
        self.watch
            .as_ref()
            .is_some_and(|w| w.holds.iter().any(|h| h.key == key))
    }
}
