//! djb's constant database: reader and writer, byte-compatible with cdb-0.75,
//! tinycdb and libqmail (docs/ucspi-tcp.md#the-cdb-format).
//!
//! Lookups try the standard hash first and, when the key holds a byte >= 0x80 and
//! was not found, the signed-char hash that libqmail computes on x86 (docs/decisions.md#u8),
//! so files built by either family of tools work. Files are always written with the
//! standard hash. Generic: anything else in the workspace that reads a cdb can use it.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

/// Size of the header: 256 (position, slots) pairs.
const HEADER: usize = 2048;

/// djb's hash over unsigned bytes.
pub fn hash(key: &[u8]) -> u32 {
    key.iter()
        .fold(5381u32, |h, &b| (h << 5).wrapping_add(h) ^ u32::from(b))
}

/// libqmail's hash on a signed-char ABI: a byte >= 0x80 is XORed sign-extended.
pub fn hash_signed(key: &[u8]) -> u32 {
    key.iter().fold(5381u32, |h, &b| {
        (h << 5).wrapping_add(h) ^ (i32::from(b as i8) as u32)
    })
}

fn proto() -> io::Error {
    io::Error::from_raw_os_error(libc::EPROTO)
}

enum Bytes {
    Mapped { ptr: *mut libc::c_void, len: usize },
    Owned(Vec<u8>),
}

impl Drop for Bytes {
    fn drop(&mut self) {
        if let Bytes::Mapped { ptr, len } = *self {
            // SAFETY: ptr/len come from a successful mmap and are unmapped once.
            unsafe { libc::munmap(ptr, len) };
        }
    }
}

/// An open constant database.
pub struct Cdb {
    bytes: Bytes,
}

impl Cdb {
    /// Open and map `path`. Errors are the open's (ENOENT, EACCES...); a malformed file
    /// opens fine and reports EPROTO from [`Cdb::find`].
    pub fn open(path: &Path) -> io::Result<Cdb> {
        let file = File::open(path)?;
        Cdb::from_file(&file)
    }

    /// Map an open file (it may be closed afterwards).
    pub fn from_file(file: &File) -> io::Result<Cdb> {
        let len = usize::try_from(file.metadata()?.len()).map_err(|_| proto())?;
        if len == 0 {
            return Ok(Cdb::from_bytes(Vec::new()));
        }
        // SAFETY: a private read-only mapping of a file we hold open; the mapping
        // outlives the descriptor and is unmapped on drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let mut v = Vec::with_capacity(len);
            io::Read::read_to_end(&mut &*file, &mut v)?;
            return Ok(Cdb::from_bytes(v));
        }
        Ok(Cdb {
            bytes: Bytes::Mapped { ptr, len },
        })
    }

    /// A database held in memory.
    pub fn from_bytes(v: Vec<u8>) -> Cdb {
        Cdb {
            bytes: Bytes::Owned(v),
        }
    }

    fn data(&self) -> &[u8] {
        match &self.bytes {
            // SAFETY: the mapping is valid for len bytes while self lives. A file
            // truncated underneath us could SIGBUS; tcprules replaces files by rename,
            // so a mapped file is never truncated in place.
            Bytes::Mapped { ptr, len } => unsafe {
                std::slice::from_raw_parts(*ptr as *const u8, *len)
            },
            Bytes::Owned(v) => v,
        }
    }

    fn u32_at(&self, pos: usize) -> io::Result<u32> {
        let b = self
            .data()
            .get(pos..pos.checked_add(4).ok_or_else(proto)?)
            .ok_or_else(proto)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The data of the first record whose key is `key`, trying both hash variants.
    pub fn find(&self, key: &[u8]) -> io::Result<Option<&[u8]>> {
        if let Some(d) = self.find_hashed(key, hash(key))? {
            return Ok(Some(d));
        }
        if key.iter().any(|&b| b >= 0x80) {
            return self.find_hashed(key, hash_signed(key));
        }
        Ok(None)
    }

    fn find_hashed(&self, key: &[u8], h: u32) -> io::Result<Option<&[u8]>> {
        let entry = (h as usize & 255) * 8;
        let hpos = self.u32_at(entry)? as usize;
        let slots = self.u32_at(entry + 4)? as usize;
        if slots == 0 {
            return Ok(None);
        }
        let end = hpos.checked_add(slots * 8).ok_or_else(proto)?;
        let mut kpos = hpos + ((h >> 8) as usize % slots) * 8;
        for _ in 0..slots {
            let slot_hash = self.u32_at(kpos)?;
            let pos = self.u32_at(kpos + 4)? as usize;
            if pos == 0 {
                return Ok(None);
            }
            kpos += 8;
            if kpos == end {
                kpos = hpos;
            }
            if slot_hash != h {
                continue;
            }
            let klen = self.u32_at(pos)? as usize;
            let dlen = self.u32_at(pos + 4)? as usize;
            if klen != key.len() {
                continue;
            }
            let kstart = pos + 8;
            let dstart = kstart.checked_add(klen).ok_or_else(proto)?;
            let dend = dstart.checked_add(dlen).ok_or_else(proto)?;
            let d = self.data();
            if d.get(kstart..dstart).ok_or_else(proto)? == key {
                return d.get(dstart..dend).ok_or_else(proto).map(Some);
            }
        }
        Ok(None)
    }
}

/// Builds a cdb on any seekable writer, as djb's cdb_make.
pub struct CdbMaker<W: Write + Seek> {
    out: W,
    pos: u32,
    entries: Vec<(u32, u32)>,
}

fn too_big() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOMEM)
}

impl<W: Write + Seek> CdbMaker<W> {
    /// Start a database: the header is reserved now and written by [`CdbMaker::finish`].
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&[0u8; HEADER])?;
        Ok(CdbMaker {
            out,
            pos: HEADER as u32,
            entries: Vec::new(),
        })
    }

    fn advance(&mut self, n: usize) -> io::Result<()> {
        let n = u32::try_from(n).map_err(|_| too_big())?;
        self.pos = self.pos.checked_add(n).ok_or_else(too_big)?;
        Ok(())
    }

    /// Append a record whose data is the concatenation of `data` parts.
    pub fn add_parts(&mut self, key: &[u8], data: &[&[u8]]) -> io::Result<()> {
        let dlen: usize = data.iter().map(|d| d.len()).sum();
        let klen32 = u32::try_from(key.len()).map_err(|_| too_big())?;
        let dlen32 = u32::try_from(dlen).map_err(|_| too_big())?;
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&klen32.to_le_bytes());
        head[4..].copy_from_slice(&dlen32.to_le_bytes());
        let start = self.pos;
        self.advance(8)?;
        self.advance(key.len())?;
        self.advance(dlen)?;
        self.out.write_all(&head)?;
        self.out.write_all(key)?;
        for d in data {
            self.out.write_all(d)?;
        }
        self.entries.push((hash(key), start));
        Ok(())
    }

    /// Append one record.
    pub fn add(&mut self, key: &[u8], data: &[u8]) -> io::Result<()> {
        self.add_parts(key, &[data])
    }

    /// Write the hash tables and the header; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let mut count = [0u32; 256];
        for &(h, _) in &self.entries {
            count[(h & 255) as usize] += 1;
        }
        // Group the entries by table, keeping insertion order inside each group.
        let mut start = [0usize; 257];
        for i in 0..256 {
            start[i + 1] = start[i] + count[i] as usize;
        }
        let mut grouped = vec![(0u32, 0u32); self.entries.len()];
        let mut next = start;
        for &(h, p) in &self.entries {
            let t = (h & 255) as usize;
            grouped[next[t]] = (h, p);
            next[t] += 1;
        }
        let mut header = [0u8; HEADER];
        let mut table: Vec<(u32, u32)> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        for i in 0..256 {
            let n = count[i] as usize * 2;
            header[i * 8..i * 8 + 4].copy_from_slice(&self.pos.to_le_bytes());
            header[i * 8 + 4..i * 8 + 8].copy_from_slice(&(n as u32).to_le_bytes());
            if n == 0 {
                continue;
            }
            table.clear();
            table.resize(n, (0, 0));
            for &(h, p) in &grouped[start[i]..start[i + 1]] {
                let mut w = (h >> 8) as usize % n;
                while table[w].1 != 0 {
                    w += 1;
                    if w == n {
                        w = 0;
                    }
                }
                table[w] = (h, p);
            }
            bytes.clear();
            for &(h, p) in &table {
                bytes.extend_from_slice(&h.to_le_bytes());
                bytes.extend_from_slice(&p.to_le_bytes());
            }
            self.advance(bytes.len())?;
            self.out.write_all(&bytes)?;
        }
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn build(records: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut m = CdbMaker::new(Cursor::new(Vec::new())).unwrap();
        for (k, d) in records {
            m.add(k, d).unwrap();
        }
        m.finish().unwrap().into_inner()
    }

    #[test]
    fn hash_vector_from_the_spec() {
        assert_eq!(hash(b"1.2.3.4"), 0x3c4cfacf);
        assert_eq!(hash(b"abc"), hash_signed(b"abc"));
        assert_ne!(hash("=héllo".as_bytes()), hash_signed("=héllo".as_bytes()));
    }

    #[test]
    fn one_record_layout() {
        let v = build(&[(b"1.2.3.4", b"D\0")]);
        assert_eq!(v.len(), 2081);
        assert_eq!(&v[2048..2056], &[7, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&v[2056..2065], b"1.2.3.4D\0");
        let e = |i: usize| {
            (
                u32::from_le_bytes(v[i * 8..i * 8 + 4].try_into().unwrap()),
                u32::from_le_bytes(v[i * 8 + 4..i * 8 + 8].try_into().unwrap()),
            )
        };
        assert_eq!(e(0), (2065, 0));
        assert_eq!(e(207), (2065, 2));
        assert_eq!(e(208), (2081, 0));
        assert_eq!(e(255), (2081, 0));
    }

    #[test]
    fn first_duplicate_wins_and_all_keys_found() {
        let mut recs: Vec<(Vec<u8>, Vec<u8>)> = (0..2000)
            .map(|i| (format!("k{i}").into_bytes(), format!("v{i}").into_bytes()))
            .collect();
        recs.push((b"k7".to_vec(), b"later".to_vec()));
        let refs: Vec<(&[u8], &[u8])> = recs
            .iter()
            .map(|(k, d)| (k.as_slice(), d.as_slice()))
            .collect();
        let db = Cdb::from_bytes(build(&refs));
        for i in 0..2000 {
            let k = format!("k{i}");
            assert_eq!(
                db.find(k.as_bytes()).unwrap(),
                Some(format!("v{i}").as_bytes())
            );
        }
        assert_eq!(db.find(b"missing").unwrap(), None);
        assert_eq!(db.find(b"").unwrap(), None);
    }

    #[test]
    fn signed_hash_files_are_read_too() {
        // Build by hand a table the way libqmail on x86 would: signed hash.
        let key = "=héllo.example".as_bytes();
        let h = hash_signed(key);
        let mut v = vec![0u8; 2048];
        v.extend_from_slice(&(key.len() as u32).to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(key);
        v.push(b'x');
        let tpos = v.len() as u32;
        let mut slots = [(0u32, 0u32); 2];
        slots[(h >> 8) as usize % 2] = (h, 2048);
        for (a, b) in slots {
            v.extend_from_slice(&a.to_le_bytes());
            v.extend_from_slice(&b.to_le_bytes());
        }
        let end = v.len() as u32;
        for i in 0..256u32 {
            let (p, n) = if i == h & 255 {
                (tpos, 2u32)
            } else if i < h & 255 {
                (tpos, 0)
            } else {
                (end, 0)
            };
            v[i as usize * 8..i as usize * 8 + 4].copy_from_slice(&p.to_le_bytes());
            v[i as usize * 8 + 4..i as usize * 8 + 8].copy_from_slice(&n.to_le_bytes());
        }
        let db = Cdb::from_bytes(v);
        assert_eq!(db.find(key).unwrap(), Some(&b"x"[..]));
    }

    #[test]
    fn truncated_and_garbage_files_are_protocol_errors() {
        let v = build(&[(b"1.2.3.4", b"D\0"), (b"", b"")]);
        for cut in [0, 10, 2047, 2050, 2060, v.len() - 1] {
            let db = Cdb::from_bytes(v[..cut].to_vec());
            for k in [&b"1.2.3.4"[..], b"", b"zz"] {
                match db.find(k) {
                    Ok(_) => {}
                    Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPROTO)),
                }
            }
        }
        assert!(Cdb::from_bytes(vec![]).find(b"x").is_err());
        // Garbage: header pointing anywhere must never panic.
        let mut g = vec![0xffu8; 4096];
        for (i, b) in g.iter_mut().enumerate() {
            *b = (i * 7919 % 251) as u8;
        }
        let db = Cdb::from_bytes(g);
        for k in [&b"a"[..], b"1.2.3.4", b"", b"\xff\xfe"] {
            let _ = db.find(k);
        }
    }

    mod props {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn records() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
            vec((vec(any::<u8>(), 0..12), vec(any::<u8>(), 0..12)), 0..40)
        }

        /// 32-bit values that break readers: zero, small, near the file size, huge.
        fn word() -> impl Strategy<Value = u32> {
            prop_oneof![
                Just(0u32),
                Just(1),
                Just(2048),
                Just(0x7fff_ffff),
                Just(0xffff_fff8),
                Just(u32::MAX),
                0u32..4096,
                any::<u32>(),
            ]
        }

        proptest! {
            /// Every key written is found with the data of its first record.
            #[test]
            fn written_keys_are_found(recs in records(), probe in vec(any::<u8>(), 0..12)) {
                let refs: Vec<(&[u8], &[u8])> =
                    recs.iter().map(|(k, d)| (&k[..], &d[..])).collect();
                let db = Cdb::from_bytes(build(&refs));
                for (k, _) in &recs {
                    let first = &recs.iter().find(|(k2, _)| k2 == k).unwrap().1;
                    prop_assert_eq!(db.find(k).unwrap(), Some(&first[..]));
                }
                let want = recs.iter().find(|(k, _)| *k == probe).map(|(_, d)| &d[..]);
                prop_assert_eq!(db.find(&probe).unwrap(), want);
            }

            /// A damaged file (cut, bits flipped, pointers and lengths overwritten with
            /// extreme values, so that they loop or point past the end) never panics:
            /// a lookup answers or fails with EPROTO.
            #[test]
            fn damaged_files_answer_or_fail_with_eproto(
                recs in records(),
                cut in proptest::option::of(0usize..3000),
                words in vec((any::<usize>(), word()), 0..6),
                flips in vec((any::<usize>(), 0u8..8), 0..6),
                probe in vec(any::<u8>(), 0..12),
            ) {
                let refs: Vec<(&[u8], &[u8])> =
                    recs.iter().map(|(k, d)| (&k[..], &d[..])).collect();
                let mut v = build(&refs);
                for (at, w) in words {
                    let at = (at % (v.len() - 3)) & !3;
                    v[at..at + 4].copy_from_slice(&w.to_le_bytes());
                }
                for (at, bit) in flips {
                    let at = at % v.len();
                    v[at] ^= 1 << bit;
                }
                if let Some(c) = cut {
                    v.truncate(c);
                }
                let db = Cdb::from_bytes(v);
                for k in recs.iter().map(|(k, _)| &k[..]).chain([&probe[..]]) {
                    if let Err(e) = db.find(k) {
                        prop_assert_eq!(e.raw_os_error(), Some(libc::EPROTO));
                    }
                }
            }
        }
    }
}
