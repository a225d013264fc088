//! `installer [-cfmu] [dest]` (also `uinstaller`): carry out a permission list read on
//! standard input.
//!
//! * Install (no option): create directories (parents as needed), copy files, write
//!   files of zeros, make links, FIFOs and devices, then give each its owner, group and
//!   mode (owner and group only as root).
//! * `-c` check: report wrong owners, groups, modes, sizes and missing files; what is
//!   missing and can be made without a source (directories, links, FIFOs, devices) is
//!   made. `-f` is `-c` that also fixes what it reports. `-m` lets a missing source
//!   (install) or target (check) pass with a message.
//! * `-u` uninstall: remove the files, links, FIFOs and devices, and the directories that
//!   are empty by then.
//!
//! Every step is printed on standard output in the reference's words (`mkdir DIR -owner
//! U -group G -mode 0755`, `install file ...`, `  chmod 0644 FILE`), problems on standard
//! error as `installer: warn: ...` or `installer: fatal: ...` (exit 111).

use crate::list::{self, octal, scan_octal, scan_ulong, Entry};
use indicore::getopt::{Getopt, Opt};
use indicore::sys::fs::{self as sysfs, AtFlags, FileType, Gid, Mode, Uid, CWD};
use indicore::sys::{user, Errno};
use indicore::{errstr, Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::io::{self, BufRead, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const PROG: Prog = Prog("installer");

const USAGE: &str = "installer: fatal: USAGE: installer [options] dest_dir
options
       -c check permissions of dir/files
       -m ignore missing files
       -f fix permissions
       -u uninstall";

/// The command line's choices and who runs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    pub check: bool,
    pub fix: bool,
    pub missing_ok: bool,
    pub uninstall: bool,
    pub root: bool,
}

fn path(b: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(b))
}

fn show(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn warn(msg: impl std::fmt::Display) {
    indicore::diag::emit(format_args!("installer: warn: {msg}\n"));
}

fn fatal(msg: impl std::fmt::Display, e: &io::Error) -> Failure {
    Failure::temp(format!("{msg}{}", errstr(e)))
}

fn out(line: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut o = io::stdout().lock();
    o.write_fmt(line)
        .and_then(|()| o.flush())
        .map_err(|e| fatal("unable to write standard output: ", &e))
}

/// `who`'s name for a uid or gid, or its number (with the reference's warning) when the
/// database has none.
fn user_name(uid: u32, reported: u32) -> String {
    match user::by_uid(uid) {
        Ok(Some(u)) => u.name,
        Ok(None) | Err(_) => {
            warn(format_args!(
                "unable to get uid entry for {reported}: no such user"
            ));
            uid.to_string()
        }
    }
}

fn group_name(gid: u32, reported: u32) -> String {
    match user::group_name(gid) {
        Ok(Some(name)) => name,
        Ok(None) | Err(_) => {
            warn(format_args!(
                "unable to get gid entry for {reported}: no such group"
            ));
            gid.to_string()
        }
    }
}

/// One printed step: `WHAT TARGET [-owner U] [-group G] [-mode M] [-source S] [-size N]
/// [-major N] [-minor N]`.
#[derive(Default)]
struct Step<'a> {
    source: Option<&'a [u8]>,
    mode: Option<u64>,
    uid: Option<u32>,
    gid: Option<u32>,
    size: Option<u64>,
    dev: Option<(u32, u32)>,
}

fn step(what: &str, target: &[u8], s: Step<'_>) -> Result<(), Failure> {
    let mut line = format!("{what} {}", show(target));
    let group = s.gid.map(|g| group_name(g, g));
    if let Some(u) = s.uid {
        line.push_str(&format!(" -owner {}", user_name(u, u)));
    }
    if let Some(g) = group {
        line.push_str(&format!(" -group {g}"));
    }
    if let Some(m) = s.mode {
        line.push_str(&format!(" -mode {}", octal(m)));
    }
    if let Some(src) = s.source {
        line.push_str(&format!(" -source {}", show(src)));
    }
    if let Some(n) = s.size {
        line.push_str(&format!(" -size {n}"));
    }
    if let Some((maj, min)) = s.dev {
        line.push_str(&format!(" -major {maj} -minor {min}"));
    }
    out(format_args!("{line}\n"))
}

/// An owner or group field: a name from the database, else a number; a name that is
/// neither is reported and left unmanaged.
fn resolve(field: &[u8], what: &str, lookup: impl Fn(&str) -> Option<u32>) -> Option<u32> {
    if field.is_empty() {
        return None;
    }
    let text = show(field);
    if let Some(id) = lookup(&text) {
        return Some(id);
    }
    if field.first().is_some_and(u8::is_ascii_digit) {
        return Some(scan_ulong(field) as u32);
    }
    warn(format_args!("unknown {what} {text}: not changed"));
    None
}

/// A mode field: empty, or `-1` as a decimal number, for none; else its leading octal
/// digits (libqmail's scan_int, then scan_8long).
fn parse_mode(field: &[u8]) -> Option<u64> {
    let (sign, digits) = match field.first() {
        Some(b'-') => (-1, &field[1..]),
        Some(b'+') => (1, &field[1..]),
        _ => (1, field),
    };
    let decimal = sign * scan_ulong(digits).min(i64::MAX as u64) as i64;
    if field.is_empty() || decimal == -1 {
        return None;
    }
    Some(scan_octal(field))
}

fn lstat(p: &[u8]) -> Result<Metadata, Failure> {
    std::fs::symlink_metadata(path(p)).map_err(|e| fatal(format_args!("lstat: {}: ", show(p)), &e))
}

fn exists(p: &[u8]) -> io::Result<()> {
    sysfs::exists(path(p))
}

/// The permission bits of a mode (its file-type bits dropped).
fn perms(mode: u64) -> Mode {
    Mode::from_raw_mode((mode & 0o7777) as u32)
}

/// chown/chmod through an open descriptor, as the reference does for everything but
/// devices (which are changed by name).
fn change(
    kind: u8,
    p: &[u8],
    f: impl Fn(&std::fs::File) -> io::Result<()>,
    by_name: impl Fn(&Path) -> io::Result<()>,
) -> io::Result<()> {
    if matches!(kind, b'c' | b'b') {
        return by_name(path(p));
    }
    let file = indicore::fd::open_read(path(p))?;
    f(&file)
}

/// The line's owner, group and mode, resolved.
struct Perms {
    uid: Option<u32>,
    gid: Option<u32>,
    mode: Option<u64>,
}

impl Perms {
    fn any(&self) -> bool {
        self.uid.is_some() || self.gid.is_some() || self.mode.is_some()
    }
}

/// Compare (and as the mode allows, change) the owner, group and mode of `e.target`.
fn set_perms(m: Opts, e: &Entry, p: &Perms) -> Result<(), Failure> {
    let t = &e.target;
    let mut st = lstat(t)?;
    let wrong_uid = p.uid.filter(|&u| st.uid() != u);
    let wrong_gid = p.gid.filter(|&g| st.gid() != g);
    let (uidstr, gidstr, modestr) = (show(&e.owner), show(&e.group), show(&e.mode));
    if m.check {
        if let Some(u) = wrong_uid {
            let now = user_name(st.uid(), u);
            if !m.fix {
                warn(format_args!(
                    "{} has wrong owner [{now}] should be [{uidstr}]",
                    show(t)
                ));
            }
        }
        if let Some(g) = wrong_gid {
            let now = group_name(st.gid(), g);
            if !m.fix {
                warn(format_args!(
                    "{} has wrong group [{now}] should be [{gidstr}]",
                    show(t)
                ));
            }
        }
        if p.mode.is_some_and(|x| u64::from(st.mode() & 0o7777) != x) && !m.fix {
            let now = octal(u64::from(st.mode() & 0o7777));
            warn(format_args!(
                "{} has wrong mode  [{now}] should be [{modestr}]",
                show(t)
            ));
        }
        if !m.fix {
            return Ok(());
        }
    }
    if !m.fix && !m.root {
        return Ok(());
    }
    if m.root && (wrong_uid.is_some() || wrong_gid.is_some()) {
        if m.fix {
            if let Some(u) = wrong_uid {
                let now = user_name(st.uid(), u);
                warn(format_args!(
                    "{} has wrong owner [{now}], will change it to [{uidstr}]",
                    show(t)
                ));
                out(format_args!("  chown {uidstr} {}\n", show(t)))?;
            }
            if let Some(g) = wrong_gid {
                let now = group_name(st.gid(), g);
                warn(format_args!(
                    "{} has wrong group [{now}], will change it to [{gidstr}]",
                    show(t)
                ));
                out(format_args!("  chgrp {gidstr} {}\n", show(t)))?;
            }
        }
        // -1 (no owner or group given) leaves it unchanged, as chown(2) does.
        let uid = p.uid.filter(|&u| u != u32::MAX).map(Uid::from_raw);
        let gid = p.gid.filter(|&g| g != u32::MAX).map(Gid::from_raw);
        change(
            e.kind,
            t,
            |f| Ok(sysfs::fchown(f, uid, gid)?),
            |q| Ok(sysfs::chownat(CWD, q, uid, gid, AtFlags::empty())?),
        )
        .map_err(|err| fatal(format_args!("unable to chmod {}: ", show(t)), &err))?;
        // a change of owner clears set-id bits: look again when the mode has them
        if matches!(e.mode.get(1), Some(b'2' | b'4' | b'6')) {
            st = lstat(t)?;
        }
    }
    if let Some(mode) = p.mode.filter(|&x| u64::from(st.mode() & 0o7777) != x) {
        if m.fix {
            let now = octal(u64::from(st.mode() & 0o7777));
            warn(format_args!(
                "{} has wrong mode  [{now}], will change it to [{modestr}]",
                show(t)
            ));
        }
        out(format_args!("  chmod {modestr} {}\n", show(t)))?;
        let bits = perms(mode);
        change(
            e.kind,
            t,
            |f| Ok(sysfs::fchmod(f, bits)?),
            |q| Ok(sysfs::chmodat(CWD, q, bits, AtFlags::empty())?),
        )
        .map_err(|err| fatal(format_args!("unable to chmod {}: ", show(t)), &err))?;
    }
    Ok(())
}

/// Remove what the line installed.
fn uninstall(e: &Entry) -> Result<(), Failure> {
    let t = &e.target;
    let (what, kind) = match e.kind {
        b'l' | b'p' | b'c' | b'b' => ("unlink", e.kind),
        b'd' => ("rmdir", b'd'),
        b'z' | b'f' => ("delete", e.kind),
        _ => return Ok(()),
    };
    step(what, t, Step::default())?;
    if kind == b'd' {
        if let Err(err) = std::fs::remove_dir(path(t)) {
            if err.kind() != io::ErrorKind::NotFound {
                warn(format_args!("rmdir {}: {}", show(t), errstr(&err)));
            }
        }
        return Ok(());
    }
    match std::fs::symlink_metadata(path(t)) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(fatal(format_args!("lstat: {}: ", show(t)), &err)),
        Ok(st) if st.is_dir() => return Err(Failure::temp(format!("{}: is a directory", show(t)))),
        Ok(_) => {}
    }
    match std::fs::remove_file(path(t)) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(fatal(format_args!("unable to unlink {}: ", show(t)), &err))
        }
        _ => Ok(()),
    }
}

/// `mkdir -p` with 0755 for the parents, `mode` for the last component.
fn mkdir_all(t: &[u8], mode: u32) -> io::Result<()> {
    for (i, &b) in t.iter().enumerate().skip(1) {
        if b == b'/' && exists(&t[..i]).is_err() {
            sysfs::mkdirat(CWD, path(&t[..i]), perms(0o755))?;
        }
    }
    Ok(sysfs::mkdirat(CWD, path(t), perms(u64::from(mode)))?)
}

/// Install or check one line.
fn install(m: Opts, e: &Entry) -> Result<(), Failure> {
    let t = &e.target;
    let p = Perms {
        uid: resolve(&e.owner, "user", |n| {
            user::by_name(n).ok().flatten().map(|u| u.uid)
        }),
        gid: resolve(&e.group, "group", |n| user::group_id(n).ok().flatten()),
        mode: parse_mode(&e.mode),
    };
    let (uid, gid) = (p.uid, p.gid);
    let ids = move |mode: Option<u64>| Step {
        mode,
        uid,
        gid,
        ..Step::default()
    };
    let missing = |q: &[u8]| !m.check || exists(q).is_err();
    match e.kind {
        b'c' | b'b' => {
            let mut p = p;
            if missing(t) {
                let (what, flag) = if e.kind == b'c' {
                    ("mknod char", FileType::CharacterDevice)
                } else {
                    ("mknod block", FileType::BlockDevice)
                };
                let mode = p.mode.unwrap_or(0o644) | u64::from(flag.as_raw_mode());
                p.mode = Some(mode);
                step(
                    what,
                    t,
                    Step {
                        dev: Some((e.major, e.minor)),
                        ..ids(Some(mode))
                    },
                )?;
                let dev = sysfs::makedev(e.major, e.minor);
                match sysfs::mknodat(CWD, path(t), flag, perms(mode), dev) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(err) => {
                        return Err(fatal(format_args!("mknod {}: ", show(t)), &err.into()))
                    }
                }
            }
            if p.any() {
                set_perms(m, e, &p)?;
            }
        }
        b'p' => {
            if missing(t) {
                let mode = p.mode.unwrap_or(0o644);
                step("mkfifo", t, ids(Some(mode)))?;
                if let Err(err) = indicore::fd::fifo_make(path(t), mode as u32) {
                    if err.kind() != io::ErrorKind::AlreadyExists {
                        return Err(fatal(format_args!("fifo_make: {}: ", show(t)), &err));
                    }
                }
            }
            if p.any() {
                set_perms(m, e, &p)?;
            }
        }
        // the check looks for what the link points to, from the current directory
        b'l' if missing(&e.source) => {
            let s = Step {
                source: Some(&e.source),
                ..Step::default()
            };
            step("make link", t, s)?;
            if let Err(err) = std::os::unix::fs::symlink(path(&e.source), path(t)) {
                if err.kind() != io::ErrorKind::AlreadyExists {
                    let msg = format!("unable to symlink {} to {}: ", show(t), show(&e.source));
                    return Err(fatal(msg, &err));
                }
            }
        }
        b'd' => {
            if missing(t) {
                let mode = if !m.root {
                    0o755
                } else {
                    p.mode.unwrap_or(0o755)
                };
                step("mkdir", t, ids(Some(mode)))?;
                if let Err(err) = mkdir_all(t, mode as u32) {
                    if err.kind() != io::ErrorKind::AlreadyExists {
                        return Err(fatal(format_args!("unable to mkdir {}: ", show(t)), &err));
                    }
                }
            }
            if p.any() {
                set_perms(m, e, &p)?;
            }
        }
        b'z' | b'f' => {
            let mut p = p;
            if !m.check {
                if !copy_file(m, e, &mut p)? {
                    return Ok(());
                }
            } else if !check_file(m, e)? {
                return Ok(());
            }
            if p.any() {
                set_perms(m, e, &p)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Install a file (`f`: a copy of its source, `z`: zeros). False when it was skipped.
fn copy_file(m: Opts, e: &Entry, p: &mut Perms) -> Result<bool, Failure> {
    let t = &e.target;
    let mut size = e.size;
    if e.kind == b'f' {
        if let Err(err) = exists(&e.source) {
            if err.kind() == io::ErrorKind::NotFound && m.missing_ok {
                let s = Step {
                    source: Some(&e.source),
                    mode: Some(p.mode.unwrap_or(0o644)),
                    uid: p.uid,
                    gid: p.gid,
                    ..Step::default()
                };
                step("skipping file", t, s)?;
                return Ok(false);
            }
            return Err(fatal(format_args!("{}: ", show(&e.source)), &err));
        }
        let st = lstat(&e.source)?;
        if p.mode.is_none() {
            p.mode = Some(u64::from(st.mode()));
        }
        size = st.len();
    }
    let source: &[u8] = if e.kind == b'f' {
        &e.source
    } else {
        b"/dev/zero"
    };
    let s = Step {
        source: Some(source),
        mode: Some(p.mode.unwrap_or(0o644)),
        uid: p.uid,
        gid: p.gid,
        size: Some(size),
        ..Step::default()
    };
    step("install file", t, s)?;
    let input = match indicore::fd::open_read(path(source)) {
        Ok(f) => f,
        Err(_) if e.optional => return Ok(false),
        Err(err) => {
            return Err(fatal(
                format_args!("unable to read {}: ", show(&e.source)),
                &err,
            ));
        }
    };
    let write_err = |err: &io::Error| fatal(format_args!("unable to write {}: ", show(t)), err);
    let mut output = indicore::fd::open_trunc(path(t)).map_err(|err| write_err(&err))?;
    if e.kind == b'f' {
        let mut input = io::BufReader::new(input);
        let mut buf = [0u8; 8192];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(fatal(
                        format_args!("unable to read {}: ", show(&e.source)),
                        &err,
                    ))
                }
            };
            output.write_all(&buf[..n]).map_err(|err| write_err(&err))?;
        }
    } else {
        io::copy(&mut io::repeat(0).take(size), &mut output).map_err(|err| write_err(&err))?;
    }
    output.sync_all().map_err(|err| write_err(&err))?;
    drop(output);
    if !m.root {
        out(format_args!("\tchmod {} {}\n", show(&e.mode), show(t)))?;
        let bits = perms(p.mode.unwrap_or(0o644));
        change(e.kind, t, |f| Ok(sysfs::fchmod(f, bits)?), |_| Ok(()))
            .map_err(|err| fatal(format_args!("unable to chmod {}: ", show(t)), &err))?;
    }
    Ok(true)
}

/// Check that an installed file is there (and for `z` of the right size). False when it
/// is missing and that is allowed.
fn check_file(m: Opts, e: &Entry) -> Result<bool, Failure> {
    let t = &e.target;
    if let Err(err) = exists(t) {
        if err.kind() == io::ErrorKind::NotFound {
            if m.missing_ok {
                warn(format_args!("{} is missing", show(t)));
                return Ok(false);
            }
            return Err(fatal(format_args!("{}: ", show(t)), &err));
        }
        return Err(fatal(format_args!("{}12: ", show(t)), &err));
    }
    if e.kind == b'z' {
        let st = lstat(t)?;
        if st.len() != e.size {
            warn(format_args!(
                "{} is not the right size ({}).",
                show(t),
                e.size
            ));
        }
    }
    Ok(true)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let mut m = Opts::default();
    let mut opts = Getopt::new(args, "cfmu");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'c', _) => m.check = true,
            Opt::Flag(b'f', _) => {
                m.fix = true;
                m.check = true;
            }
            Opt::Flag(b'm', _) => m.missing_ok = true,
            Opt::Flag(b'u', _) => m.uninstall = true,
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        }
    }
    let dest = opts
        .rest()
        .first()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    m.root = indicore::sys::process::getuid().is_root();
    if !m.root {
        sysfs::umask(Mode::from_raw_mode(0o077));
    }
    if m.fix && !m.root {
        warn("installer not running as uid 0");
    }
    let mut input = io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(err) => {
                return Err(Failure::temp(format!(
                    "unable to read input{}",
                    errstr(&err)
                )))
            }
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let Some(entry) = list::parse(text, &dest) else {
            continue;
        };
        if m.uninstall {
            uninstall(&entry)?;
        } else {
            install(m, &entry)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_scan_int_then_scan_8long() {
        assert_eq!(parse_mode(b"0755"), Some(0o755));
        assert_eq!(parse_mode(b""), None);
        assert_eq!(parse_mode(b"-1"), None);
        assert_eq!(parse_mode(b"-12"), Some(0));
        assert_eq!(parse_mode(b"-01"), None);
        assert_eq!(parse_mode(b"abc"), Some(0));
    }
}
