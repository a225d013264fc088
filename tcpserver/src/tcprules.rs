//! `tcprules rules.cdb rules.tmp`: compile the rules on stdin into a cdb, written to
//! the temporary file, synced, then renamed over the cdb (docs/ucspi-tcp.md#tcprules-and-tcprulescheck). On any
//! error the old cdb is left untouched.

use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::Ipv4Addr;
use std::os::fd::IntoRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use ucspi::cdb::CdbMaker;
use ucspi::rules::{cidr4_key, cidr6_key, scan_ip6};

pub const PROG: Prog = Prog("tcprules");
const USAGE: &str = "tcprules: usage: tcprules rules.cdb rules.tmp";

/// Why a rules line cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// `unable to parse this line` (exit 100).
    Parse,
    /// A non-empty line without any `:` (exit 111).
    NoColon,
}

/// What one input line compiles to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// Comment, empty line, or a line whose colons are all followed by neither
    /// `allow` nor `deny` (ignored, as the reference does).
    Skip,
    /// A rule: the address text and the record data (`D\0`, `+N=v\0`, `-N\0`).
    Rule { address: &'a [u8] },
}

/// Parse one line (without its `\n`); on a rule, `data` receives the record data.
pub fn parse_line<'a>(line: &'a [u8], data: &mut Vec<u8>) -> Result<Line<'a>, LineError> {
    if line.is_empty() || line[0] == b'#' {
        return Ok(Line::Skip);
    }
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    let line = &line[..end];
    if !line.contains(&b':') {
        return Err(LineError::NoColon);
    }
    // The separator is the first colon followed by an instruction, so IPv6
    // addresses may hold colons.
    let Some(colon) = (0..line.len()).find(|&i| {
        line[i] == b':'
            && (line[i + 1..].starts_with(b"allow") || line[i + 1..].starts_with(b"deny"))
    }) else {
        return Ok(Line::Skip);
    };
    let address = &line[..colon];
    let mut rest = &line[colon + 1..];
    data.clear();
    if let Some(r) = rest.strip_prefix(b"deny") {
        data.extend_from_slice(b"D\0");
        rest = r;
    } else {
        rest = &rest[b"allow".len()..];
    }
    while !rest.is_empty() {
        rest = rest.strip_prefix(b",").ok_or(LineError::Parse)?;
        if let Some(r) = rest.strip_prefix(b"!") {
            let n = r.iter().position(|&b| b == b',').unwrap_or(r.len());
            let name = &r[..n];
            if name.is_empty() || name.contains(&b'=') {
                return Err(LineError::Parse);
            }
            data.push(b'-');
            data.extend_from_slice(name);
            data.push(0);
            rest = &r[n..];
            continue;
        }
        let eq = rest
            .iter()
            .position(|&b| b == b'=')
            .ok_or(LineError::Parse)?;
        let delim = *rest.get(eq + 1).ok_or(LineError::Parse)?;
        let value_start = eq + 2;
        let len = rest[value_start..]
            .iter()
            .position(|&b| b == delim)
            .ok_or(LineError::Parse)?;
        data.push(b'+');
        data.extend_from_slice(&rest[..eq]);
        data.push(b'=');
        data.extend_from_slice(&rest[value_start..value_start + len]);
        data.push(0);
        rest = &rest[value_start + len + 1..];
    }
    Ok(Line::Rule { address })
}

/// The cdb keys of an address, in order: CIDR forms become `_`/`^` bit strings (U7),
/// a numeric range in one dot-separated field is expanded, anything holding `=` or
/// `@` is taken verbatim.
pub fn address_keys(
    address: &[u8],
    mut emit: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<io::Result<()>, LineError> {
    if address.contains(&b'=') || address.contains(&b'@') {
        return Ok(emit(address));
    }
    if let Some(slash) = address.iter().position(|&b| b == b'/') {
        let key = cidr_key(&address[..slash], &address[slash + 1..]).ok_or(LineError::Parse)?;
        return Ok(emit(&key));
    }
    let Some(dash) = address.iter().position(|&b| b == b'-') else {
        return Ok(emit(address));
    };
    let left = address[..dash]
        .iter()
        .rposition(|&b| b == b'.')
        .map_or(0, |i| i + 1);
    let right = dash
        + 1
        + address[dash + 1..]
            .iter()
            .position(|&b| b == b'.')
            .unwrap_or(address.len() - dash - 1);
    let (bot, used) = scan_ulong(&address[left..dash]);
    if used != dash - left {
        return Err(LineError::Parse);
    }
    let (top, used) = scan_ulong(&address[dash + 1..right]);
    if used != right - dash - 1 {
        return Err(LineError::Parse);
    }
    let top = top.min(255);
    let mut key = Vec::with_capacity(address.len() + 3);
    for n in bot..=top {
        key.clear();
        key.extend_from_slice(&address[..left]);
        key.extend_from_slice(n.to_string().as_bytes());
        key.extend_from_slice(&address[right..]);
        if let Err(e) = emit(&key) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// djb's scan_ulong: the value of the leading digits and how many there were (a
/// value too large saturates, as no range field can use it).
fn scan_ulong(s: &[u8]) -> (u64, usize) {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let v = s[..n].iter().fold(0u64, |v, &d| {
        v.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    (v, n)
}

/// `a.b.c.d/n` (trailing fields may be left out: `127.0/8`) or `v6/n`.
fn cidr_key(addr: &[u8], bits: &[u8]) -> Option<Vec<u8>> {
    let (n, used) = scan_ulong(bits);
    if used == 0 || used != bits.len() {
        return None;
    }
    let addr = std::str::from_utf8(addr).ok()?;
    let mut key = Vec::with_capacity(130);
    if addr.contains(':') {
        if !(1..=128).contains(&n) {
            return None;
        }
        cidr6_key(&scan_ip6(addr)?, n as usize, &mut key);
    } else {
        if !(1..=32).contains(&n) {
            return None;
        }
        let mut o = [0u8; 4];
        let fields: Vec<&str> = addr.split('.').collect();
        if fields.len() > 4 {
            return None;
        }
        for (i, f) in fields.iter().enumerate() {
            let (v, used) = scan_ulong(f.as_bytes());
            if used == 0 || used != f.len() || v > 255 {
                return None;
            }
            o[i] = v as u8;
        }
        cidr4_key(Ipv4Addr::from(o), n as usize, &mut key);
    }
    Some(key)
}

/// Why compiling failed.
#[derive(Debug)]
pub enum CompileError {
    Line(LineError, Vec<u8>),
    Read(io::Error),
    Write(io::Error),
}

/// Compile the rules read from `input` into a cdb written on `out`.
pub fn compile<W: Write + io::Seek>(input: impl io::Read, out: W) -> Result<W, CompileError> {
    let mut maker = CdbMaker::new(out).map_err(CompileError::Write)?;
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut line = Vec::with_capacity(256);
    let mut data = Vec::with_capacity(256);
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(CompileError::Read)?
            == 0
        {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        match parse_line(&line, &mut data) {
            Ok(Line::Skip) => {}
            Ok(Line::Rule { address }) => {
                address_keys(address, |k| maker.add(k, &data))
                    .map_err(|e| CompileError::Line(e, trimmed(&line)))?
                    .map_err(CompileError::Write)?;
            }
            Err(e) => return Err(CompileError::Line(e, trimmed(&line))),
        }
    }
    maker.finish().map_err(CompileError::Write)
}

fn trimmed(line: &[u8]) -> Vec<u8> {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    line[..end].to_vec()
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (Some(cdb), Some(tmp)) = (args.get(1), args.get(2)) else {
        return Err(Failure::usage(USAGE));
    };
    let (cdb, tmp) = (Path::new(cdb), Path::new(tmp));
    let shown = |p: &Path| String::from_utf8_lossy(p.as_os_str().as_bytes()).into_owned();
    let file = indicore::fd::open_trunc(tmp)
        .and_then(|f| {
            indicore::fd::set_blocking(&f)?;
            Ok(f)
        })
        .map_err(|e| Failure::temp_sys(format_args!("unable to create {}: ", shown(tmp)), &e))?;
    let write_err = |e: &io::Error| {
        if e.raw_os_error() == Some(libc::ENOMEM) {
            Failure::temp("out of memory")
        } else {
            Failure::temp_sys(format_args!("unable to write to {}: ", shown(tmp)), e)
        }
    };
    let out = BufWriter::with_capacity(1 << 16, file);
    let out = match compile(io::stdin().lock(), out) {
        Ok(out) => out,
        Err(CompileError::Line(LineError::Parse, line)) => {
            return Err(Failure::Fatal {
                code: indicore::EXIT_USAGE,
                msg: format!(
                    "unable to parse this line: {}",
                    String::from_utf8_lossy(&line)
                ),
            })
        }
        Err(CompileError::Line(LineError::NoColon, _)) => {
            return Err(Failure::temp("Unable to find colon on non-empty line."))
        }
        Err(CompileError::Read(e)) => return Err(Failure::temp_sys("unable to read input: ", &e)),
        Err(CompileError::Write(e)) => return Err(write_err(&e)),
    };
    let file = out.into_inner().map_err(|e| write_err(e.error()))?;
    file.sync_all().map_err(|e| write_err(&e))?;
    let fd = file.into_raw_fd();
    // SAFETY: fd was just released by `file` and is closed exactly once.
    if unsafe { libc::close(fd) } != 0 {
        return Err(write_err(&io::Error::last_os_error()));
    }
    std::fs::rename(tmp, cdb).map_err(|e| {
        Failure::temp_sys(
            format_args!("unable to move {} to {}: ", shown(tmp), shown(cdb)),
            &e,
        )
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn records(input: &str) -> Result<Vec<(String, String)>, LineError> {
        let mut data = Vec::new();
        let mut out = Vec::new();
        for line in input.lines() {
            if let Line::Rule { address } = parse_line(line.as_bytes(), &mut data)? {
                address_keys(address, |k| {
                    out.push((
                        String::from_utf8_lossy(k).into_owned(),
                        String::from_utf8_lossy(&data).into_owned(),
                    ));
                    Ok(())
                })?
                .unwrap();
            }
        }
        Ok(out)
    }

    fn one(input: &str) -> Vec<(String, String)> {
        records(input).unwrap()
    }

    fn r(k: &str, d: &str) -> (String, String) {
        (k.into(), d.into())
    }

    #[test]
    fn instructions_and_delimiters() {
        assert_eq!(one("1.2.3.4:deny"), [r("1.2.3.4", "D\0")]);
        assert_eq!(
            one("x:allow,a=\"1\",b=/2/,c=+3+,d==4=,!E"),
            [r("x", "+a=1\0+b=2\0+c=3\0+d=4\0-E\0")]
        );
        assert_eq!(one("x:allow,A=xyzx"), [r("x", "+A=yz\0")]);
        assert_eq!(one("x:allow,=xyx"), [r("x", "+=y\0")]);
        assert_eq!(one("x:allow,a,b=xyx"), [r("x", "+a,b=y\0")]);
        assert_eq!(one("x:allow,a=/x,y:z/"), [r("x", "+a=x,y:z\0")]);
        assert_eq!(one("x:allow,a=/x/ \t"), [r("x", "+a=x\0")]);
        assert_eq!(records("x:allow,A=1"), Err(LineError::Parse));
        assert_eq!(records("x:allow,"), Err(LineError::Parse));
        assert_eq!(records("x:allow,a"), Err(LineError::Parse));
        assert_eq!(records("x:allowx"), Err(LineError::Parse));
        assert_eq!(records("x:allow,!A="), Err(LineError::Parse));
        assert_eq!(records("x:allow,!"), Err(LineError::Parse));
        assert_eq!(records("x:allow ,a=/b/"), Err(LineError::Parse));
    }

    #[test]
    fn separators_comments_and_skips() {
        assert_eq!(one("# c:deny\n\n2001:db8::7:allow"), [r("2001:db8::7", "")]);
        assert_eq!(one("1.2.3.4:foo"), []);
        assert_eq!(one(" 1.2.3.4:allow"), [r(" 1.2.3.4", "")]);
        assert_eq!(records("nocolon"), Err(LineError::NoColon));
        assert_eq!(records("   "), Err(LineError::NoColon));
        assert_eq!(one(":allow"), [r("", "")]);
    }

    #[test]
    fn ranges_as_djb() {
        assert_eq!(
            one("1.2.3.253-300:allow"),
            [r("1.2.3.253", ""), r("1.2.3.254", ""), r("1.2.3.255", "")]
        );
        assert_eq!(one("10.2-3.:deny"), [r("10.2.", "D\0"), r("10.3.", "D\0")]);
        assert_eq!(one("1.2-3.4-5:allow"), [r("1.2.4-5", ""), r("1.3.4-5", "")]);
        assert_eq!(
            one("1.2.3.04-5:allow"),
            [r("1.2.3.4", ""), r("1.2.3.5", "")]
        );
        assert_eq!(one("1.2.3-:allow"), []);
        assert_eq!(one("1.2.3.5-3:allow"), []);
        assert_eq!(one("-1:allow"), [r("0", ""), r("1", "")]);
        assert_eq!(one("x@1-2:allow"), [r("x@1-2", "")]);
        assert_eq!(one("=a-b.c:allow"), [r("=a-b.c", "")]);
        assert_eq!(records("1.2.a-b:allow"), Err(LineError::Parse));
        assert_eq!(records("1-2-3.4:allow"), Err(LineError::Parse));
    }

    #[test]
    fn cidr_is_converted() {
        assert_eq!(one("127.0/8:allow"), [r("_0bcdefgh", "")]);
        assert_eq!(one("10.1.0.0/16:deny"), [r("_0000e0g00000000p", "D\0")]);
        assert_eq!(
            one("2001:db8::/32:allow"),
            [r("^00`000000000000a0000bc0de0fgh000", "")]
        );
        assert_eq!(records("1.2.3.4/33:allow"), Err(LineError::Parse));
        assert_eq!(records("1.2.3.4/0:allow"), Err(LineError::Parse));
        assert_eq!(records("1.2.3.4/:allow"), Err(LineError::Parse));
        assert_eq!(records("1.2.3.256/8:allow"), Err(LineError::Parse));
        assert_eq!(records("::/129:allow"), Err(LineError::Parse));
        assert_eq!(records("x::y/12:allow"), Err(LineError::Parse));
    }

    #[test]
    fn spec_vector_one_rule() {
        let v = compile(&b"1.2.3.4:deny\n"[..], Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        assert_eq!(v.len(), 2081);
    }

    mod props {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;
        use ucspi::cdb::Cdb;
        use ucspi::rules::{items, Item};

        fn address() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                Just("=".to_string()),
                "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}\\.?",
                "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,5}-[0-9]{1,5}",
                "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}/[0-9]{1,3}",
                "[0-9a-f:]{2,20}(/[0-9]{1,3})?",
                "=\\.?[a-z.]{1,12}",
                "[a-z]{1,6}@=?[a-z0-9.]{1,12}",
            ]
        }

        /// (name, Some(value)) sets, (name, None) unsets.
        fn vars() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
            vec(
                ("[A-Z_][A-Z0-9_]{0,8}", proptest::option::of("[ -~]{0,12}")),
                0..4,
            )
        }

        fn line(addr: &str, deny: bool, vars: &[(String, Option<String>)]) -> String {
            let mut l = format!("{addr}:{}", if deny { "deny" } else { "allow" });
            for (n, v) in vars {
                match v {
                    // The quote is any byte the value does not hold.
                    Some(v) => {
                        let q = ['"', '\'', '/', '|', '%', '~']
                            .into_iter()
                            .find(|q| !v.contains(*q))
                            .unwrap();
                        l.push_str(&format!(",{n}={q}{v}{q}"));
                    }
                    None => l.push_str(&format!(",!{n}")),
                }
            }
            l
        }

        proptest! {
            /// A well-formed line compiles to exactly its instruction and variables.
            #[test]
            fn valid_lines_keep_their_instruction_and_variables(
                addr in address(), deny in any::<bool>(), vars in vars(),
            ) {
                let text = line(&addr, deny, &vars);
                let mut data = Vec::new();
                let parsed = parse_line(text.as_bytes(), &mut data).unwrap();
                prop_assert_eq!(parsed, Line::Rule { address: addr.as_bytes() });
                let got: Vec<Item<'_>> = items(&data).collect();
                let mut want: Vec<Item<'_>> = Vec::new();
                if deny {
                    want.push(Item::Deny);
                }
                for (n, v) in &vars {
                    want.push(match v {
                        Some(v) => Item::Set(n.as_bytes(), v.as_bytes()),
                        None => Item::Unset(n.as_bytes()),
                    });
                }
                prop_assert_eq!(got, want);
            }

            /// Any input, well-formed lines damaged byte by byte included, compiles or
            /// fails with a line error; what compiles is a cdb in which every key of
            /// every rule finds the data of its first occurrence.
            #[test]
            fn any_input_compiles_or_names_its_line(
                lines in vec((address(), any::<bool>(), vars()), 0..12),
                edits in vec((any::<usize>(), any::<u8>(), any::<bool>()), 0..8),
                noise in vec(any::<u8>(), 0..64),
            ) {
                let mut input = Vec::new();
                for (a, d, v) in &lines {
                    input.extend_from_slice(line(a, *d, v).as_bytes());
                    input.push(b'\n');
                }
                for (at, byte, insert) in edits {
                    let at = at % (input.len() + 1);
                    if insert || at == input.len() {
                        input.insert(at, byte);
                    } else {
                        input[at] = byte;
                    }
                }
                input.extend_from_slice(&noise);
                match compile(&input[..], Cursor::new(Vec::new())) {
                    Err(CompileError::Line(_, line)) => {
                        prop_assert!(input.windows(line.len().max(1)).any(|w| w == &line[..])
                            || line.is_empty());
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    Ok(out) => {
                        let db = Cdb::from_bytes(out.into_inner());
                        let mut seen = std::collections::HashSet::new();
                        let mut data = Vec::new();
                        for l in input.split(|&b| b == b'\n') {
                            if let Ok(Line::Rule { address }) = parse_line(l, &mut data) {
                                let mut keys = Vec::new();
                                address_keys(address, |k| {
                                    keys.push(k.to_vec());
                                    Ok(())
                                })
                                .unwrap()
                                .unwrap();
                                for k in keys {
                                    if seen.insert(k.clone()) {
                                        prop_assert_eq!(db.find(&k).unwrap(), Some(&data[..]));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
