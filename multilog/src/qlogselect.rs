//! `qlogselect [from PATTERN] [start TIME] [end TIME] [stripstatus] [addstatus]`: copy the
//! entries of a qmail-send log (lines `SECONDS.FRACTION text`, as `tai64nunix` or
//! splogger write them) from standard input to standard output, selected by time and by
//! envelope sender.
//!
//! A message's lines (`new msg`, `info msg`, `starting delivery`, `delivery`, `end msg`,
//! `bounce msg`) are copied when its sender matches PATTERN (a case-insensitive regular
//! expression anchored at both ends); `status:` lines are copied unless `stripstatus`, and
//! `addstatus` writes a recomputed status line after every selected delivery start and
//! end. TIME is `YYYY-MM-DD` (local midnight) or seconds since the epoch. Lines before the
//! first one stamped at or after `start` are skipped; the copy stops at the first line
//! stamped after `end`.
//!
//! The words, messages and exit codes are those of the reference's Perl script, including
//! its reading of the arguments: an empty or `0` argument ends the options and the
//! arguments after it are input files.

use crate::stamp::local_tm;
use indicore::{Failure, Prog};
use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;

pub const PROG: Prog = Prog("qlogselect");

/// A time bound as the script holds it: the text it was given (or the computed number)
/// and its numeric value. Perl's truth decides whether the bound applies.
#[derive(Debug, Clone, PartialEq)]
struct Bound {
    truthy: bool,
    value: f64,
}

impl Bound {
    const NONE: Bound = Bound {
        truthy: false,
        value: 0.0,
    };
}

#[derive(Debug)]
struct Options {
    start: Bound,
    end: Bound,
    from: Option<Vec<u8>>,
    add_status: bool,
    strip_status: bool,
    files: Vec<OsString>,
}

/// Perl's truth of a string: all are true but `""` and `"0"`.
fn truthy(s: &[u8]) -> bool {
    !(s.is_empty() || s == b"0")
}

/// Perl's numeric value of a string of digits (and an optional final newline).
fn number(s: &[u8]) -> f64 {
    let digits: Vec<u8> = s.iter().copied().take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0)
}

/// Why the script stops early: a message and Perl's exit code.
#[derive(Debug, PartialEq, Eq)]
struct Die(String, i32);

fn parse(args: &[OsString]) -> Result<Options, Die> {
    let mut o = Options {
        start: Bound::NONE,
        end: Bound::NONE,
        from: None,
        add_status: false,
        strip_status: false,
        files: Vec::new(),
    };
    let mut rest = args.iter().skip(1).map(|a| a.as_bytes());
    while let Some(arg) = rest.next().filter(|a| truthy(a)) {
        match arg {
            b"start" => o.start = date(rest.next())?,
            b"end" => o.end = date(rest.next())?,
            b"from" => o.from = rest.next().map(<[u8]>::to_vec),
            b"stripstatus" => o.strip_status = true,
            b"addstatus" => o.add_status = true,
            _ => {
                let arg = String::from_utf8_lossy(arg);
                return Err(Die(format!("Invalid argument '{arg}'"), 1));
            }
        }
    }
    o.files = rest
        .map(|a| std::ffi::OsStr::from_bytes(a).to_owned())
        .collect();
    Ok(o)
}

/// `YYYY-MM-DD` (local midnight, as Perl's timelocal) or a number of seconds.
fn date(arg: Option<&[u8]>) -> Result<Bound, Die> {
    let text = arg.unwrap_or(b"");
    // Perl's `$` also matches before a final newline.
    let bare = text.strip_suffix(b"\n").unwrap_or(text);
    let parts: Vec<&[u8]> = bare.split(|&b| b == b'-').collect();
    let all_digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    if parts.len() == 3 && parts.iter().all(|p| all_digits(p)) {
        let t = timelocal(parts[0], parts[1], parts[2])?;
        return Ok(Bound {
            truthy: t != 0,
            value: t as f64,
        });
    }
    if all_digits(bare) {
        return Ok(Bound {
            truthy: truthy(text),
            value: number(text),
        });
    }
    let shown = String::from_utf8_lossy(text);
    Err(Die(format!("Invalid time: '{shown}'"), 1))
}

fn days_from_civil(year: i64, month0: i64, mday: i64) -> i64 {
    // Days since 1970-01-01 of a proleptic Gregorian date (month0 is 0..11).
    let m = (month0 + 10) % 12;
    let y = year - m / 10;
    let days =
        365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) + (m * 306 + 5) / 10;
    days + mday - 1 - 719_468
}

fn leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Seconds east of UTC at `t`, and the local hour/minute/second.
fn local(t: i64) -> (i64, [i32; 3]) {
    match local_tm(t) {
        Some(tm) => (tm.gmtoff, [tm.hour, tm.min, tm.sec]),
        None => (0, [0, 0, 0]),
    }
}

/// Perl's `timelocal(0, 0, 0, mday, mon - 1, year)` (Time::Local 1.30): the year rule
/// (four digits as they are, two digits in a window of 50 years around now, three digits
/// counted from 1900), the same range checks and messages, and local midnight.
fn timelocal(year: &[u8], mon: &[u8], mday_text: &[u8]) -> Result<i64, Die> {
    let year = number(year) as i64;
    let month = number(mon) as i64 - 1;
    let mday = number(mday_text) as i64;
    let this = local_year(now()) - 1900;
    let breakpoint = (this + 50) % 100;
    let mut next_century = this - this % 100;
    if breakpoint < 50 {
        next_century += 100;
    }
    let century = next_century - 100;
    let year = if year >= 1000 {
        year
    } else if year < 100 {
        year + 1900
            + if year > breakpoint {
                century
            } else {
                next_century
            }
    } else {
        year + 1900
    };
    if !(0..=11).contains(&month) {
        return Err(Die(format!("Month '{month}' out of range 0..11"), 255));
    }
    let mut md = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize];
    if month == 1 && leap(year) {
        md += 1;
    }
    if mday > md || mday < 1 {
        let shown = String::from_utf8_lossy(mday_text);
        return Err(Die(format!("Day '{shown}' out of range 1..{md}"), 255));
    }
    let ref_t = days_from_civil(year, month, mday) * 86_400;
    let zone_off = local(ref_t).0;
    if zone_off == 0 {
        return Ok(ref_t);
    }
    let mut loc_t = ref_t - zone_off;
    let dst_off = ref_t - (loc_t + local(loc_t).0);
    if dst_off == 0 && (ref_t - 3600) - (loc_t - 3600 + local(loc_t - 3600).0) < 0 {
        return Ok(loc_t - 3600);
    }
    loc_t += dst_off;
    if dst_off > 0 {
        return Ok(loc_t);
    }
    if local(loc_t).1 != [0, 0, 0] {
        loc_t -= dst_off;
    }
    Ok(loc_t)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn local_year(t: i64) -> i64 {
    local_tm(t).map_or(1970, |tm| tm.year)
}

/// The input: standard input, or the files named after the options, one after another
/// (a file that cannot be opened is reported and skipped, as Perl's `<>` does).
struct Input {
    files: std::vec::IntoIter<OsString>,
    current: Option<Box<dyn BufRead>>,
}

impl Input {
    fn new(files: Vec<OsString>) -> Input {
        let stdin = files.is_empty();
        Input {
            files: files.into_iter(),
            current: stdin.then(|| Box::new(BufReader::new(std::io::stdin())) as Box<dyn BufRead>),
        }
    }

    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(r) = self.current.as_mut() {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(n) if n > 0 => return Some(line),
                    _ => self.current = None,
                }
            }
            let name = self.files.next()?;
            if name == "-" {
                self.current = Some(Box::new(BufReader::new(std::io::stdin())));
                continue;
            }
            match std::fs::File::open(&name) {
                Ok(f) => self.current = Some(Box::new(BufReader::new(f)) as Box<dyn BufRead>),
                Err(e) => {
                    let why = e
                        .raw_os_error()
                        .map_or_else(|| "Unknown errno".into(), indicore::sys::strerror);
                    let name = name.to_string_lossy();
                    indicore::diag::emit(format_args!("Can't open {name}: {why}.\n"));
                }
            }
        }
    }
}

/// The patterns of a qmail-send log line (after its time stamp).
struct Grammar {
    stamp: Regex,
    starting: Regex,
    delivery: Regex,
    new_msg: Regex,
    info: Regex,
    end_msg: Regex,
    bounce: Regex,
}

fn re(p: &str) -> Regex {
    RegexBuilder::new(p)
        .unicode(false)
        .build()
        .expect("built-in pattern")
}

impl Grammar {
    fn new() -> Grammar {
        Grammar {
            stamp: re(r"^(\d+\.\d+) +"),
            starting: re(r"^starting delivery (\d+): msg (\d+) to (local|remote)"),
            delivery: re(r"^delivery (\d+): "),
            new_msg: re(r"^new msg (\d+)$"),
            info: re(r"^info msg (\d+): bytes \d+ from <(.*)> qp \d+ uid \d+$"),
            end_msg: re(r"^end msg (\d+)$"),
            bounce: re(r"^bounce msg (\d+) qp (\d+)$"),
        }
    }
}

/// What the script keeps between lines.
struct State<W: Write> {
    o: Options,
    g: Grammar,
    from: Option<Result<Regex, ()>>,
    use_msg: HashMap<Vec<u8>, bool>,
    use_delivery: HashMap<Vec<u8>, &'static str>,
    new_msg: HashMap<Vec<u8>, Vec<u8>>,
    local: Option<i64>,
    remote: Option<i64>,
    out: W,
}

/// Perl's interpolation of a possibly undefined number.
fn shown(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

enum Step {
    Next,
    Last,
}

impl<W: Write> State<W> {
    fn status(&mut self, time: &[u8]) -> std::io::Result<()> {
        if self.o.add_status {
            self.out.write_all(time)?;
            let (l, r) = (shown(self.local), shown(self.remote));
            writeln!(self.out, " status: status: local {l}/? remote {r}/?")?;
        }
        Ok(())
    }

    fn concurrency(&mut self, lr: &str) -> &mut Option<i64> {
        if lr == "local" {
            &mut self.local
        } else {
            &mut self.remote
        }
    }

    /// Does the envelope sender pass `from`? Err when the pattern does not compile.
    fn sender_matches(&mut self, sender: &[u8]) -> Result<bool, Die> {
        let Some(pattern) = self.o.from.as_ref().filter(|p| truthy(p)) else {
            return Ok(true);
        };
        let compiled = self.from.get_or_insert_with(|| {
            let p = String::from_utf8_lossy(pattern);
            RegexBuilder::new(&format!("^{p}$"))
                .case_insensitive(true)
                .unicode(false)
                .build()
                .map_err(|_| ())
        });
        match compiled {
            Ok(r) => Ok(r.is_match(sender)),
            Err(()) => {
                let p = String::from_utf8_lossy(pattern);
                Err(Die(format!("Invalid pattern: '{p}'"), 255))
            }
        }
    }

    fn line(&mut self, line: &[u8]) -> Result<Step, Die> {
        let io = |_| Die(String::new(), 111);
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let Some(c) = self.g.stamp.captures(text) else {
            let bad = String::from_utf8_lossy(text);
            indicore::diag::emit(format_args!("Bad line: '{bad}'\n"));
            return Ok(Step::Next);
        };
        let time = c[1].to_vec();
        let rest = &text[c[0].len()..];
        if self.o.end.truthy && number_dec(&time) > self.o.end.value {
            return Ok(Step::Last);
        }
        if rest.starts_with(b"status: ") {
            if !self.o.strip_status {
                self.out.write_all(line).map_err(io)?;
            }
        } else if let Some(c) = self.g.starting.captures(rest) {
            let (delivery, msg) = (c[1].to_vec(), c[2].to_vec());
            let lr: &'static str = if &c[3] == b"local" { "local" } else { "remote" };
            if self.use_msg.get(&msg).copied().unwrap_or(false) {
                self.use_delivery.insert(delivery, lr);
                self.out.write_all(line).map_err(io)?;
                let n = self.concurrency(lr);
                *n = Some(n.unwrap_or(0) + 1);
                self.status(&time).map_err(io)?;
            }
        } else if let Some(c) = self.g.delivery.captures(rest) {
            let delivery = c[1].to_vec();
            if let Some(lr) = self.use_delivery.remove(&delivery) {
                self.out.write_all(line).map_err(io)?;
                let n = self.concurrency(lr);
                *n = Some(n.unwrap_or(0) - 1);
                self.status(&time).map_err(io)?;
            }
        } else if let Some(c) = self.g.new_msg.captures(rest) {
            self.new_msg.insert(c[1].to_vec(), line.to_vec());
        } else if let Some(c) = self.g.info.captures(rest) {
            let (msg, sender) = (c[1].to_vec(), c[2].to_vec());
            if self.sender_matches(&sender)? {
                self.use_msg.insert(msg.clone(), true);
                if let Some(new) = self.new_msg.get(&msg) {
                    self.out.write_all(new).map_err(io)?;
                }
                self.out.write_all(line).map_err(io)?;
            }
        } else if let Some(c) = self.g.end_msg.captures(rest) {
            if self.use_msg.remove(&c[1]).unwrap_or(false) {
                self.out.write_all(line).map_err(io)?;
            }
        } else if let Some(c) = self.g.bounce.captures(rest) {
            if self.use_msg.get(&c[1]).copied().unwrap_or(false) {
                self.out.write_all(line).map_err(io)?;
            }
        }
        Ok(Step::Next)
    }
}

/// The numeric value of `DIGITS.DIGITS`.
fn number_dec(s: &[u8]) -> f64 {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

/// Copy the selected entries of `input` to `out`.
fn select<W: Write>(o: Options, input: &mut Input, out: W) -> Result<W, Die> {
    let mut st = State {
        g: Grammar::new(),
        from: None,
        use_msg: HashMap::new(),
        use_delivery: HashMap::new(),
        new_msg: HashMap::new(),
        local: None,
        remote: None,
        out,
        o,
    };
    let mut current = None;
    if st.o.start.truthy {
        while let Some(line) = input.line() {
            let Some(c) = st.g.stamp.captures(&line) else {
                continue;
            };
            if number_dec(&c[1]) >= st.o.start.value {
                current = Some(line);
                break;
            }
        }
    }
    if current.is_none() {
        current = input.line();
    }
    loop {
        let line = current.take().unwrap_or_default();
        if let Step::Last = st.line(&line)? {
            break;
        }
        match input.line() {
            Some(l) if truthy(&l) => current = Some(l),
            _ => break,
        }
    }
    Ok(st.out)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let mut o = match parse(args) {
        Ok(o) => o,
        Err(Die(msg, code)) => {
            indicore::diag::emit(format_args!("{msg}\n"));
            return Ok(code);
        }
    };
    let mut input = Input::new(std::mem::take(&mut o.files));
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    match select(o, &mut input, out) {
        Ok(mut out) => {
            let _ = out.flush();
            Ok(0)
        }
        Err(Die(msg, code)) => {
            if !msg.is_empty() {
                indicore::diag::emit(format_args!("{msg}\n"));
            }
            Ok(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        std::iter::once("qlogselect")
            .chain(v.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn arguments_as_the_script_reads_them() {
        assert_eq!(
            parse(&args(&["bogus"])).unwrap_err(),
            Die("Invalid argument 'bogus'".into(), 1)
        );
        assert_eq!(
            parse(&args(&["start"])).unwrap_err(),
            Die("Invalid time: ''".into(), 1)
        );
        assert_eq!(
            parse(&args(&["end", "12x"])).unwrap_err(),
            Die("Invalid time: '12x'".into(), 1)
        );
        let o = parse(&args(&["start", "100", "0", "file"])).unwrap();
        assert_eq!(
            o.start,
            Bound {
                truthy: true,
                value: 100.0
            }
        );
        assert_eq!(o.files, vec![OsString::from("file")]);
        let o = parse(&args(&["start", "0", "stripstatus"])).unwrap();
        assert!(!o.start.truthy && o.strip_status);
    }

    #[test]
    fn dates_as_time_local() {
        assert_eq!(
            date(Some(b"2024-13-01")).unwrap_err(),
            Die("Month '12' out of range 0..11".into(), 255)
        );
        assert_eq!(
            date(Some(b"2023-02-29")).unwrap_err(),
            Die("Day '29' out of range 1..28".into(), 255)
        );
        assert_eq!(
            date(Some(b"2024-00-01")).unwrap_err(),
            Die("Month '-1' out of range 0..11".into(), 255)
        );
        assert!(date(Some(b"2024-02-29")).is_ok());
        assert_eq!(days_from_civil(1970, 0, 1), 0);
        assert_eq!(days_from_civil(2000, 2, 1), 11_017);
    }
}
