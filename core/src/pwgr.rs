//! Account and group lookups as IndiMail's libqmail does them for `setuidgid -s` and
//! `tcpserver -u`: the system databases (nsswitch), or, when `USE_QPWGR` is set, the files
//! themselves: `$PASSWD_FILE` and `$GROUP_FILE` when the real uid is 0, else `/etc/passwd`
//! and `/etc/group`.
//!
//! The files are read as libqmail reads them: complete lines only (a last line without a
//! newline is not read), blank lines and lines starting with `#` (after blanks) skipped,
//! `name:password:uid:gid:gecos:home:shell` and `name:password:gid:members`, numbers read
//! as far as they are digits. A line with fewer fields ends the reading there, as the end
//! of the file would.

use crate::sys::{user, Errno};
use std::io;

pub use crate::sys::user::Account;

/// True when `USE_QPWGR` asks for the files.
pub fn use_files() -> bool {
    std::env::var_os("USE_QPWGR").is_some()
}

/// libqmail's isnum: only digits (the empty string too).
pub fn is_number(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

/// scan_uint: the leading digits, modulo 2^32; no digits is 0.
pub fn number(s: &[u8]) -> u32 {
    s.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u32, |n, &c| {
            n.wrapping_mul(10).wrapping_add(u32::from(c - b'0'))
        })
}

/// A `-g` list item: a number, or a group name through the group database (getgrnam, also
/// with `USE_QPWGR`, as the reference). Ok(None): no such group.
pub fn group_id(item: &[u8]) -> io::Result<Option<u32>> {
    if is_number(item) {
        return Ok(Some(number(item)));
    }
    user::group_id(&String::from_utf8_lossy(item))
}

/// The file to read: `$VAR` when set, not empty and the real uid is 0, else `default`.
fn file(var: &str, default: &str) -> std::path::PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() && crate::sys::process::getuid().is_root() => p.into(),
        _ => default.into(),
    }
}

/// C's isspace in the C locale.
fn space(c: u8) -> bool {
    matches!(c, b' ' | b'\t'..=b'\r')
}

/// The records of a passwd or group file, each its first `fields` fields; and whether the
/// reading stopped at a line with fewer.
fn records(text: &[u8], fields: usize) -> (Vec<Vec<&[u8]>>, bool) {
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = text.split(|&c| c == b'\n').collect();
    lines.pop(); // what follows the last newline: a partial line, or nothing
    for line in lines {
        let rest = &line[line.iter().position(|&c| !space(c)).unwrap_or(line.len())..];
        if rest.is_empty() || rest[0] == b'#' {
            continue;
        }
        // The newline counts as the last field's end.
        let f: Vec<&[u8]> = line.split(|&c| c == b':').collect();
        if f.len() < fields {
            return (out, true);
        }
        out.push(f[..fields].to_vec());
    }
    (out, false)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The account `name`. Ok(None) when there is none; in the files, a name not found is
/// ENOENT unless the file holds no entry at all (libqmail leaves errno 0 then).
pub fn account(name: &str) -> io::Result<Option<Account>> {
    if !use_files() {
        return user::by_name(name);
    }
    let data = std::fs::read(file("PASSWD_FILE", "/etc/passwd"))?;
    let (all, cut) = records(&data, 7);
    if let Some(f) = all.iter().find(|f| f[0] == name.as_bytes()) {
        return Ok(Some(Account {
            name: text(f[0]),
            uid: number(f[2]),
            gid: number(f[3]),
            dir: text(f[5]),
        }));
    }
    if all.is_empty() && !cut {
        return Ok(None);
    }
    Err(Errno::NOENT.into())
}

/// The members of a group line's last field: blanks before a name are skipped and a name
/// ends at a blank.
fn members(field: &[u8]) -> impl Iterator<Item = &[u8]> {
    field.split(|&c| c == b',').map(|m| {
        let m = &m[m.iter().position(|&c| !space(c)).unwrap_or(m.len())..];
        &m[..m.iter().position(|&c| space(c)).unwrap_or(m.len())]
    })
}

/// The groups of `account` (libqmail's grpscan): its primary group first, then every other
/// group that lists it as a member, in the order of the group database. In the files, a
/// group file that cannot be read adds no group.
pub fn groups(account: &Account) -> io::Result<Vec<u32>> {
    if !use_files() {
        return user::group_list(&account.name, account.gid);
    }
    let mut out = vec![account.gid];
    let data = std::fs::read(file("GROUP_FILE", "/etc/group")).unwrap_or_default();
    for f in records(&data, 4).0 {
        let gid = number(f[2]);
        for m in members(f[3]) {
            if m == account.name.as_bytes() && gid != account.gid {
                out.push(gid);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_complete_lines_up_to_a_short_one() {
        let pw = b"# c\n\n  \nghost:x:70:71::/home/g:/bin/sh\nshort:x:1\nafter:x:2:2::/:/bin/sh\n";
        let (r, cut) = records(pw, 7);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0][2], b"70");
        assert!(cut);
        let (r, cut) = records(b"a:x:1:1::/:/bin/sh\nb:x:2:2::/:/bin/sh", 7);
        assert_eq!(
            (r.len(), cut),
            (1, false),
            "a last line without newline is not read"
        );
    }

    #[test]
    fn members_and_numbers() {
        let m: Vec<&[u8]> = members(b" a, b c,,d").collect();
        assert_eq!(m, [&b"a"[..], b"b", b"", b"d"]);
        assert_eq!(number(b"12x"), 12);
        assert_eq!(number(b"x"), 0);
        assert!(is_number(b"") && is_number(b"42") && !is_number(b"+4"));
    }
}
