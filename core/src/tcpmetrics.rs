//! tcpserver's metrics file (`tcpserver -Y FILE`): counters that tcpserver and its
//! connection children add to in a shared mapping of the file, and that svmetrics reads.
//!
//! The file is the counters themselves: tcpserver never rewrites it, so counting costs one
//! atomic add in memory, no system call. The running server holds a read lock on it
//! (fcntl), which tells a reader whether the numbers are live and whose they are.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `tcpsrvm1` |
//! | 8 | 4 | number of counters (native order) |
//! | 12 | 4 | reserved, 0 |
//! | 16 | 8 | start time, seconds since the Unix epoch (native order) |
//! | 24 | 104 | the listening address as text (`127.0.0.1:25`, `[::]:25`, a socket path), NUL-padded |
//! | 128 | 8 each | the counters of [`Counter`], in order (native order) |

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"tcpsrvm1";
const LISTEN_AT: usize = 24;
const LISTEN_LEN: usize = 104;
const COUNTERS_AT: usize = 128;

/// What tcpserver counts. Gauges are set, the rest only grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Connections accept(2) returned.
    Accepted,
    /// Denied by a rule (`:deny`).
    RefusedRules,
    /// Refused by `-C` (too many from one address, counted by the parent).
    RefusedPerHost,
    /// Refused by `MAXPERIP` (the child-side limit, a rule may change it).
    RefusedMaxPerIp,
    /// Times accepting stopped because `-c` children were running.
    LimitReached,
    /// Gauge: connection children running.
    Children,
    /// Gauge: the `-c` limit in force.
    Limit,
    /// TLS handshakes completed (`-n`/`-s`).
    TlsCompleted,
    /// TLS handshakes that failed or timed out.
    TlsFailed,
    /// PROXY headers accepted from trusted peers.
    ProxyAccepted,
    /// PROXY headers that were malformed, cut short or too slow.
    ProxyRejected,
}

pub const COUNTERS: usize = 11;

/// The size of a metrics file.
pub const SIZE: usize = COUNTERS_AT + 8 * COUNTERS;

/// A mapping of a metrics file.
struct Map {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is only accessed through atomics (counters) or read-only bytes.
unsafe impl Send for Map {}
// SAFETY: as above.
unsafe impl Sync for Map {}

impl Map {
    fn new(file: &File, len: usize, writable: bool) -> io::Result<Map> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a shared mapping of len bytes of an open file; unmapped in Drop.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Map { ptr: p.cast(), len })
    }

    fn bytes(&self, at: usize, len: usize) -> &[u8] {
        assert!(at + len <= self.len);
        // SAFETY: inside the mapping; these bytes are written only before the file is
        // published.
        unsafe { std::slice::from_raw_parts(self.ptr.add(at), len) }
    }

    fn slot(&self, i: usize) -> &AtomicU64 {
        let at = COUNTERS_AT + 8 * i;
        assert!(at + 8 <= self.len);
        // SAFETY: 8-byte aligned (page-aligned mapping, aligned offset) and inside it.
        unsafe { &*(self.ptr.add(at) as *const AtomicU64) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// The writer's side: the live file of one tcpserver.
pub struct MetricsFile {
    map: Map,
    /// Holds the lock that marks the file live.
    _file: File,
}

impl MetricsFile {
    /// Create `path` afresh for a server listening on `listen` (written under a
    /// temporary name, then renamed, so a reader never sees it half made) and lock it.
    pub fn create(path: &Path, listen: &str) -> io::Result<MetricsFile> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        let made = (|| {
            file.set_len(SIZE as u64)?;
            let map = Map::new(&file, SIZE, true)?;
            // SAFETY: the fresh mapping is ours alone until the rename.
            let head = unsafe { std::slice::from_raw_parts_mut(map.ptr, COUNTERS_AT) };
            head[..8].copy_from_slice(MAGIC);
            head[8..12].copy_from_slice(&(COUNTERS as u32).to_ne_bytes());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            head[16..24].copy_from_slice(&now.to_ne_bytes());
            let l = listen.as_bytes();
            let n = l.len().min(LISTEN_LEN - 1);
            head[LISTEN_AT..LISTEN_AT + n].copy_from_slice(&l[..n]);
            lock(&file, libc::F_SETLK, libc::F_RDLCK)?;
            std::fs::rename(&tmp, path)?;
            Ok(map)
        })();
        match made {
            Ok(map) => Ok(MetricsFile { map, _file: file }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    pub fn add(&self, c: Counter, n: u64) {
        self.map.slot(c as usize).fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(&self, c: Counter, v: u64) {
        self.map.slot(c as usize).store(v, Ordering::Relaxed);
    }
}

fn lock(file: &File, cmd: libc::c_int, kind: libc::c_int) -> io::Result<libc::flock> {
    // SAFETY: all-zero flock is valid; fcntl with a flock pointer.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: as above.
    if unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl)
}

/// What a reader sees in a metrics file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub listen: String,
    pub started: u64,
    /// The pid of the tcpserver that holds the file, None when none runs.
    pub holder: Option<u32>,
    pub values: [u64; COUNTERS],
}

impl Snapshot {
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }
}

/// Read a metrics file. A file that is not one is `InvalidData`.
pub fn read(path: &Path) -> io::Result<Snapshot> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    let len = file.metadata()?.len() as usize;
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "not a tcpserver metrics file");
    if len < COUNTERS_AT {
        return Err(invalid());
    }
    let map = Map::new(&file, len, false)?;
    let head = map.bytes(0, COUNTERS_AT);
    if &head[..8] != MAGIC {
        return Err(invalid());
    }
    let count = u32::from_ne_bytes([head[8], head[9], head[10], head[11]]) as usize;
    if len < COUNTERS_AT + 8 * count {
        return Err(invalid());
    }
    let mut started = [0u8; 8];
    started.copy_from_slice(&head[16..24]);
    let l = &head[LISTEN_AT..LISTEN_AT + LISTEN_LEN];
    let l = &l[..l.iter().position(|&b| b == 0).unwrap_or(l.len())];
    let mut values = [0u64; COUNTERS];
    for (i, v) in values.iter_mut().enumerate().take(count) {
        *v = map.slot(i).load(Ordering::Relaxed);
    }
    let fl = lock(&file, libc::F_GETLK, libc::F_WRLCK)?;
    let holder = (i32::from(fl.l_type) != libc::F_UNLCK).then_some(fl.l_pid as u32);
    Ok(Snapshot {
        listen: String::from_utf8_lossy(l).into_owned(),
        started: u64::from_ne_bytes(started),
        holder,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_counters_are_read_back_with_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m");
        let m = MetricsFile::create(&p, "127.0.0.1:25").unwrap();
        m.add(Counter::Accepted, 3);
        m.add(Counter::TlsFailed, 1);
        m.set(Counter::Children, 7);
        m.set(Counter::Children, 2);
        // The lock is ours: F_GETLK from this process does not see it, so ask a child.
        // SAFETY: the forked child only reads the file and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = read(&p).is_ok_and(|s| {
                // SAFETY: getppid cannot fail.
                s.holder == Some(unsafe { libc::getppid() } as u32)
                    && s.listen == "127.0.0.1:25"
                    && s.get(Counter::Accepted) == 3
                    && s.get(Counter::TlsFailed) == 1
                    && s.get(Counter::Children) == 2
            });
            // SAFETY: leave the child.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut st = 0;
        // SAFETY: wait for our child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert_eq!(st, 0);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), SIZE as u64);
        drop(m);
        let s = read(&p).unwrap();
        assert_eq!((s.holder, s.get(Counter::Accepted)), (None, 3));
        assert!(s.started > 0);
        std::fs::write(&p, b"tcpsrvm0 and more bytes than a header needs......................................................................................").unwrap();
        assert_eq!(read(&p).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
