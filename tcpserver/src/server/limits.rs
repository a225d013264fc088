//! Concurrency bookkeeping (docs/ucspi-tcp.md#concurrency-and-per-ip-limits): the table of live children with their remote
//! addresses (slot numbers as SIGUSR1 shows them, per-address counts for `-C` and
//! MAXPERIP), and the `-c FILE` limit file.

use std::collections::HashMap;
use std::io;
use std::path::Path;

/// Live connection children: slot -> (pid, address), with O(1) lookups both ways.
#[derive(Debug, Default)]
pub struct IpTable {
    slots: Vec<Option<(i32, [u8; 16])>>,
    free: Vec<usize>,
    by_pid: HashMap<i32, usize>,
    per_ip: HashMap<[u8; 16], u32>,
}

impl IpTable {
    pub fn with_capacity(n: usize) -> IpTable {
        IpTable {
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            by_pid: HashMap::with_capacity(n),
            per_ip: HashMap::with_capacity(n),
        }
    }

    /// Live children whose remote address is `ip`.
    pub fn count(&self, ip: &[u8; 16]) -> u32 {
        self.per_ip.get(ip).copied().unwrap_or(0)
    }

    /// Number of live children.
    pub fn len(&self) -> usize {
        self.by_pid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pid.is_empty()
    }

    pub fn insert(&mut self, pid: i32, ip: [u8; 16]) {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[slot] = Some((pid, ip));
        self.by_pid.insert(pid, slot);
        *self.per_ip.entry(ip).or_insert(0) += 1;
    }

    /// Count `pid` under `ip` from now on; false when it is not in the table.
    pub fn rekey(&mut self, pid: i32, ip: [u8; 16]) -> bool {
        let Some(&slot) = self.by_pid.get(&pid) else {
            return false;
        };
        let Some((_, old)) = self.slots[slot] else {
            return false;
        };
        self.drop_count(&old);
        self.slots[slot] = Some((pid, ip));
        *self.per_ip.entry(ip).or_insert(0) += 1;
        true
    }

    fn drop_count(&mut self, ip: &[u8; 16]) {
        if let Some(n) = self.per_ip.get_mut(ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(ip);
            }
        }
    }

    /// Forget `pid`; false when it was not in the table.
    pub fn remove(&mut self, pid: i32) -> bool {
        let Some(slot) = self.by_pid.remove(&pid) else {
            return false;
        };
        if let Some((_, ip)) = self.slots[slot].take() {
            self.drop_count(&ip);
        }
        // Lowest slots are reused first, as a fixed table would.
        let at = self.free.partition_point(|&s| s > slot);
        self.free.insert(at, slot);
        true
    }

    /// Busy slots in order: (slot, pid, address).
    pub fn busy(&self) -> impl Iterator<Item = (usize, i32, &[u8; 16])> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|(pid, ip)| (i, *pid, ip)))
    }
}

/// Read a `-c` limit file: first line, trailing blanks dropped, leading digits used.
/// `Ok(None)` when the file does not exist or holds no number (the limit stays).
pub fn read_limit_file(path: &Path) -> io::Result<Option<u64>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Ok(None);
    }
    Ok(Some(super::options::scan_ulong(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_counts_and_reuse() {
        let a = [1u8; 16];
        let b = [2u8; 16];
        let mut t = IpTable::with_capacity(4);
        t.insert(10, a);
        t.insert(11, a);
        t.insert(12, b);
        assert_eq!((t.count(&a), t.count(&b), t.len()), (2, 1, 3));
        assert!(t.rekey(10, b));
        assert_eq!((t.count(&a), t.count(&b)), (1, 2));
        assert!(t.rekey(10, a) && !t.rekey(99, a));
        assert!(t.remove(10));
        assert!(!t.remove(10));
        assert_eq!(t.count(&a), 1);
        t.insert(13, b);
        let busy: Vec<(usize, i32)> = t.busy().map(|(s, p, _)| (s, p)).collect();
        assert_eq!(busy, [(0, 13), (1, 11), (2, 12)]);
        for p in [11, 12, 13] {
            assert!(t.remove(p));
        }
        assert!(t.is_empty());
        assert_eq!(t.count(&a) + t.count(&b), 0);
    }

    #[test]
    fn limit_files() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("maxd");
        assert_eq!(read_limit_file(&f).unwrap(), None);
        std::fs::write(&f, "7 \nignored\n").unwrap();
        assert_eq!(read_limit_file(&f).unwrap(), Some(7));
        std::fs::write(&f, "many\n").unwrap();
        assert_eq!(read_limit_file(&f).unwrap(), None);
        std::fs::write(&f, "12abc").unwrap();
        assert_eq!(read_limit_file(&f).unwrap(), Some(12));
        assert!(read_limit_file(d.path()).is_err());
    }
}
