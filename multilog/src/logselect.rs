//! `logselect dir start stop`: the lines of a multilog directory stamped from `start`
//! (included) to `stop` (excluded), across the rotated `@...` files and `current`.
//!
//! `start` and `stop` name files whose modification times (whole seconds) are the bounds,
//! so a client can `touch -d` them. `dir` is a name in the current directory (no `/`): the
//! program is meant to run under tcpserver in a directory of symlinks to the logs that
//! may be read. Lines without a whole TAI64N stamp are copied as they are.

use crate::stamp::{label_text, LABEL_LEN};
use indicore::tai::Label;
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, UNIX_EPOCH};

pub const PROG: Prog = Prog("logselect");
const USAGE: &str = "logselect: usage: logselect dir start stop";

/// The label of a file's modification second.
fn bound(file: Option<&OsString>) -> Result<[u8; LABEL_LEN], Failure> {
    let meta = file
        .and_then(|f| std::fs::metadata(f).ok())
        .ok_or_else(|| Failure::temp("a timestamp file does not exist."))?;
    let secs = std::os::unix::fs::MetadataExt::mtime(&meta);
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    let mut label = Label::from_system_time(t);
    label.nanos = 0;
    Ok(label_text(label))
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let Some(dir) = args.get(1) else {
        indicore::diag::emit(format_args!("{USAGE}\n"));
        return Err(Failure::Silent(111));
    };
    if dir.as_bytes().contains(&b'/') {
        return Err(Failure::temp("dir must not have '/' in it."));
    }
    let start = bound(args.get(2))?;
    // without a stop file the start file is the stop too (an empty range), as in the
    // reference
    let stop = bound(args.get(3).or(args.get(2)))?;
    if args.len() > 4 {
        indicore::diag::emit(format_args!("{USAGE}\n"));
        return Err(Failure::Silent(111));
    }
    let name = dir.to_string_lossy();
    std::env::set_current_dir(dir).map_err(|e| {
        Failure::temp_sys(format_args!("unable to switch to directory {name}: "), &e)
    })?;
    let unreadable = |e: &std::io::Error| {
        Failure::temp_sys(format_args!("unable to read directory {name}: "), e)
    };
    let mut files: Vec<Vec<u8>> = vec![b"current".to_vec()];
    for entry in std::fs::read_dir(".").map_err(|e| unreadable(&e))? {
        let entry = entry.map_err(|e| unreadable(&e))?;
        let n = entry.file_name();
        if n.as_bytes().first() == Some(&b'@') {
            files.push(n.as_bytes().to_vec());
        }
    }
    files.sort();
    // The first file named at or after start holds the first lines of the range.
    let first = files
        .iter()
        .position(|f| f.as_slice() >= &start[..])
        .unwrap_or(files.len() - 1);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(8192, stdout.lock());
    for f in &files[first..] {
        copy_range(&name, f, &start, &stop, &mut out)?;
        if f.as_slice() > &stop[..] {
            break;
        }
    }
    out.flush().map_err(|_| Failure::Silent(111))?;
    Ok(0)
}

/// Copy the lines of `file` that are in range.
fn copy_range(
    dir: &str,
    file: &[u8],
    start: &[u8],
    stop: &[u8],
    out: &mut impl Write,
) -> Result<(), Failure> {
    let path = std::ffi::OsStr::from_bytes(file);
    let f = std::fs::File::open(path).map_err(|e| {
        let shown = String::from_utf8_lossy(file);
        Failure::temp_sys(format_args!("unable to read {dir}/{shown}: "), &e)
    })?;
    let mut input = BufReader::new(f);
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(_) => return Err(Failure::Silent(111)),
        }
        if in_range(&line, start, stop) {
            out.write_all(&line).map_err(|_| Failure::Silent(111))?;
        }
    }
}

/// A line with a whole stamp is in range when start <= stamp < stop (compared as text);
/// any other line is.
fn in_range(line: &[u8], start: &[u8], stop: &[u8]) -> bool {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    if body.first() != Some(&b'@') || body.len() < LABEL_LEN {
        return true;
    }
    let stamp = &body[..LABEL_LEN];
    stamp >= start && stamp < stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_start_inclusive_stop_exclusive() {
        let a = b"@400000006553f10a00000000";
        let b = b"@400000006553f16e00000000";
        assert!(!in_range(b"@400000006553f10900000000 x\n", a, b));
        assert!(in_range(b"@400000006553f10a00000000 x\n", a, b));
        assert!(in_range(b"@400000006553f10a00000005", a, b));
        assert!(!in_range(b"@400000006553f16e00000000 x\n", a, b));
        assert!(in_range(b"plain line\n", a, b));
        assert!(in_range(b"@short\n", a, b));
    }
}
