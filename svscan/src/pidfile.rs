//! The pid file and the single-instance check (docs/daemontools.md#the-pid-file).
//!
//! Content: the pid as a raw `pid_t` (4 bytes, host order), `\n`, the pid in decimal, `\n`
//! (svps reads the last line). The file is written under a temporary name and hard-linked
//! into place, so it appears whole or not at all: a second svscan starting at the same
//! moment can never read it half written and take it for stale.
//!
//! An existing file is stale when its pid is gone, or `/proc/<pid>/comm` is anything but
//! `svscan\n`; then it is removed and the creation retried. Otherwise svscan refuses to run.

use crate::log::Log;
use indicore::sys::Errno;
use indicore::{errstr, EXIT_TEMP};
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The bytes of a pid file for `pid`.
pub fn encode(pid: i32) -> Vec<u8> {
    let mut b = pid.to_ne_bytes().to_vec();
    b.push(b'\n');
    b.extend_from_slice(pid.to_string().as_bytes());
    b.push(b'\n');
    b
}

/// Who holds an existing pid file.
#[derive(Debug, PartialEq, Eq)]
enum Holder {
    Us,
    Stale,
    Svscan,
}

/// Take the pid file at `path` for `pid` or die (111) as the reference does.
pub fn acquire(path: &Path, pid: i32, log: &Log) {
    let shown = path.display();
    if pid == 1 {
        // A container restarted with the same pid 1 finds its own old file.
        if let Err(e) = std::fs::remove_file(path) {
            if e.kind() != io::ErrorKind::NotFound {
                log.fatal(
                    EXIT_TEMP,
                    format_args!("unable to delete lock: {}", errstr(&e)),
                );
            }
        }
    }
    loop {
        match create(path, &encode(pid)) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => log.fatal(
                EXIT_TEMP,
                format_args!("unable to obtain lock for {shown}: {}", errstr(&e)),
            ),
        }
        match holder(path, pid, log) {
            Holder::Us => return,
            Holder::Svscan => log.fatal(EXIT_TEMP, "[svscan] already running"),
            Holder::Stale => {
                if let Err(e) = std::fs::remove_file(path) {
                    if e.kind() != io::ErrorKind::NotFound {
                        log.fatal(
                            EXIT_TEMP,
                            format_args!("unable to delete lock: {}", errstr(&e)),
                        );
                    }
                }
            }
        }
    }
}

/// Create `path` holding `content`, failing with AlreadyExists when it is there.
fn create(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string()
        .push(format!(".{}.tmp", std::process::id()));
    let write = |p: &Path, excl: bool| -> io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).mode(0o644);
        if excl {
            opts.create_new(true);
        } else {
            opts.create(true).truncate(true);
        }
        opts.open(p)?.write_all(content)
    };
    write(&tmp, false)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // A file system without hard links: plain exclusive creation.
        Err(_) => write(path, true),
    }
}

fn holder(path: &Path, own: i32, log: &Log) -> Holder {
    let mut head = [0u8; 4];
    let mut got = 0;
    match std::fs::File::open(path) {
        Ok(mut f) => {
            while got < 4 {
                match f.read(&mut head[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => log.fatal(
                        EXIT_TEMP,
                        format_args!("unable to get pid from lock: {}", errstr(&e)),
                    ),
                }
            }
        }
        // Removed in the meantime: try again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Holder::Stale,
        Err(e) => log.fatal(
            EXIT_TEMP,
            format_args!("unable to read {}: {}", path.display(), errstr(&e)),
        ),
    }
    if got < 4 {
        return Holder::Stale;
    }
    let pid = i32::from_ne_bytes(head);
    if pid == own {
        return Holder::Us;
    }
    // 0 and negative values would address process groups.
    if pid <= 0 {
        return Holder::Stale;
    }
    let probed = indicore::sys::process::pid(pid)
        .map_or(Err(Errno::SRCH.into()), indicore::sys::process::probe);
    if let Err(e) = probed {
        match indicore::sys::errno(&e) {
            Some(Errno::SRCH) => return Holder::Stale,
            Some(Errno::PERM) => {}
            _ => log.fatal(
                EXIT_TEMP,
                format_args!("unable to get status of pid {pid}: {}", errstr(&e)),
            ),
        }
    }
    if let Err(e) = std::fs::metadata("/proc").and_then(|m| {
        if m.is_dir() {
            Ok(())
        } else {
            Err(io::Error::from(Errno::NOTDIR))
        }
    }) {
        log.fatal(EXIT_TEMP, format_args!("chdir: /proc: {}", errstr(&e)));
    }
    match std::fs::read(format!("/proc/{pid}/comm")) {
        Ok(comm) if comm == b"svscan\n" => Holder::Svscan,
        _ => Holder::Stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format() {
        let b = encode(4242);
        assert_eq!(&b[..4], &4242i32.to_ne_bytes());
        assert_eq!(&b[4..], b"\n4242\n");
    }

    #[test]
    fn stale_files_are_replaced_and_own_is_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(".svscan.pid");
        let log = Log::new(false, true);
        // A pid that cannot exist.
        std::fs::write(&p, encode(i32::MAX)).unwrap();
        acquire(&p, 77, &log);
        assert_eq!(std::fs::read(&p).unwrap(), encode(77));
        acquire(&p, 77, &log);
        assert_eq!(std::fs::read(&p).unwrap(), encode(77));
        // A short (torn) file, and one held by a live process that is not svscan.
        std::fs::write(&p, b"\x01").unwrap();
        acquire(&p, 78, &log);
        assert_eq!(std::fs::read(&p).unwrap(), encode(78));
        std::fs::write(&p, encode(std::process::id() as i32)).unwrap();
        acquire(&p, 79, &log);
        assert_eq!(std::fs::read(&p).unwrap(), encode(79));
        let leftovers: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
    }
}
