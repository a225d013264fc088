//! One line of a permission list:
//!
//! ```text
//! d:owner:group:mode:prefix:dir:
//! f:owner:group:mode:prefix:file:source
//! l:owner:group:mode:prefix:link:target
//! z:owner:group:mode:prefix:file:size
//! p:owner:group:mode:prefix:fifo:
//! c:owner:group:mode:prefix:device:major:minor   (b for a block device)
//! ```
//!
//! The path acted on is `DEST` + prefix + name. A line starting with `?` is optional (an
//! unreadable source is skipped). Lines starting with `#` or a space, lines with fewer
//! than six `:`-terminated fields, and unknown types are ignored, as the reference does.

/// A parsed line. Byte strings are kept as written: paths need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub optional: bool,
    /// The type letter: `d`, `f`, `l`, `z`, `p`, `c` or `b` (anything else is ignored).
    pub kind: u8,
    pub owner: Vec<u8>,
    pub group: Vec<u8>,
    pub mode: Vec<u8>,
    /// Destination + prefix + name.
    pub target: Vec<u8>,
    /// For `f` the file to copy, for `l` what the link points to (else the name field).
    pub source: Vec<u8>,
    pub size: u64,
    pub major: u32,
    pub minor: u32,
}

/// libqmail's scan_ulong: the value of the leading digits (0 without any).
pub fn scan_ulong(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, &b| {
            n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
        })
}

/// libqmail's scan_8long: the value of the leading octal digits.
pub fn scan_octal(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .fold(0u64, |n, &b| {
            n.wrapping_mul(8).wrapping_add(u64::from(b - b'0'))
        })
}

/// The field up to the next `:`, and what follows it; None without a `:`.
fn field(x: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = x.iter().position(|&b| b == b':')?;
    Some((&x[..i], &x[i + 1..]))
}

/// Parse `line` (without its newline) for destination `dest`; None for a line to ignore.
pub fn parse(line: &[u8], dest: &[u8]) -> Option<Entry> {
    if matches!(line.first(), None | Some(b'#' | b' ')) {
        return None;
    }
    let optional = line[0] == b'?';
    let x = &line[usize::from(optional)..];
    let (kind, x) = field(x)?;
    let (owner, x) = field(x)?;
    let (group, x) = field(x)?;
    let (mode, x) = field(x)?;
    let (prefix, x) = field(x)?;
    let (name, rest) = field(x)?;
    let kind = kind.first().copied().unwrap_or(0);
    let (mut size, mut major, mut minor) = (0, 0, 0);
    let mut source = name;
    match kind {
        b'z' => size = scan_ulong(rest),
        b'c' | b'b' => {
            major = scan_ulong(rest) as u32;
            let (_, after) = field(rest)?;
            minor = scan_ulong(after) as u32;
        }
        _ => {
            if !rest.is_empty() {
                source = field(rest).map_or(rest, |(s, _)| s);
            }
        }
    }
    let mut target = dest.to_vec();
    target.extend_from_slice(prefix);
    target.extend_from_slice(name);
    if target.is_empty() {
        return None;
    }
    Some(Entry {
        optional,
        kind,
        owner: owner.to_vec(),
        group: group.to_vec(),
        mode: mode.to_vec(),
        target,
        source: source.to_vec(),
        size,
        major,
        minor,
    })
}

/// The reference's octal form of a mode: `0` and the (at most four) lowest octal digits,
/// dropping leading zeros (`0755`, `04711`, `0` for 0; `00644` for a device's 020644).
pub fn octal(mode: u64) -> String {
    let mut digits = Vec::new();
    let mut d = mode;
    while d != 0 && digits.len() < 4 {
        digits.push(char::from(b'0' + (d % 8) as u8));
        d /= 8;
    }
    let mut s = String::from("0");
    s.extend(digits.iter().rev());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Option<Entry> {
        parse(line.as_bytes(), b"/dest")
    }

    #[test]
    fn fields_as_the_reference_splits_them() {
        let e = p("f:root:qmail:0755:/bin/:envdir:src/envdir").unwrap();
        assert_eq!(
            (e.kind, e.target.as_slice()),
            (b'f', &b"/dest/bin/envdir"[..])
        );
        assert_eq!(e.source, b"src/envdir");
        assert_eq!(p("f:::0755:/bin/:envdir:").unwrap().source, b"envdir");
        assert_eq!(
            p("l:::0755:/:instcheck.x:instcheck:junk").unwrap().source,
            b"instcheck"
        );
        let z = p("?z:::0600:/a/:zz:10:").unwrap();
        assert!(z.optional);
        assert_eq!((z.size, z.source.as_slice()), (10, &b"zz"[..]));
        let c = p("c:::0644:/dev/:null:1:3").unwrap();
        assert_eq!((c.major, c.minor), (1, 3));
        assert_eq!(p("c:::0644:/dev/:null:1"), None);
        assert_eq!(p("d:::0755:/a:"), None);
        assert_eq!(p("# d:::0755:/a::"), None);
        assert_eq!(p(" d:::0755:/a::"), None);
        assert_eq!(p(""), None);
        assert_eq!(parse(b"d::::::", b""), None);
    }

    #[test]
    fn octal_as_get_octal() {
        assert_eq!(octal(0o755), "0755");
        assert_eq!(octal(0o4711), "04711");
        assert_eq!(octal(0), "0");
        assert_eq!(octal(0o20644), "00644");
        assert_eq!(octal(0o100755), "00755");
        assert_eq!(octal(0o7), "07");
        assert_eq!((scan_octal(b"0755x"), scan_ulong(b"12ab")), (0o755, 12));
    }
}
