//! `rblsmtpd [-b|-B] [-c|-C] [-t n] [-w n] [-W] -r base[:msg] ... [-a base] ... smtpd...`:
//! refuse mail from clients listed in DNS blocklists, with a small SMTP conversation of its
//! own; run smtpd for everyone else.
//!
//! The decision: `$RBLSMTPD` first (unset: ask the lists; empty: accept; `-text`: 553
//! text; other text: 451 text; `%IP%` is the client's address), then the options left to
//! right until one decides: `-r base` (a TXT record for the reversed address under base
//! lists the client and is the message), `-r base:msg` (an A record lists it, `msg` is the
//! message), `-a base` (an A record accepts it). `-b`/`-B` choose 553/451 for the `-r`s that
//! follow; `-c` makes a failed lookup count as listed (`temporary RBL lookup error`); any
//! failed lookup forces 451. `-w n` waits n seconds before going on, `-W` waits
//! `$GREETDELAY` seconds (both only while undecided).
//!
//! [`rblsmtpd`] is the whole program as a library call that never exits the process: it
//! takes argv, the environment and the client's descriptors, and says what comes next
//! ([`Next`]), so a plugin host can run it in-process and hand the connection on.

use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::{Failure, Prog};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};
use ucspi::dns::Resolver;

pub const PROG: Prog = Prog("rblsmtpd");
const USAGE: &str = "usage: rblsmtpd -r base [ -b ] [ -R ] [ -t timeout ] [ -a base ] [-W] [-w delay] smtpd [ arg ... ]";
const DEFAULT_GREETING: &[u8] = b"rblsmtpd.indimail";
/// Longest command line kept; the rest of an overlong line is read and dropped.
const MAX_LINE: usize = 1024;

/// What comes after rblsmtpd has done its part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The client was refused and its session is over: exit with this code.
    Exit(i32),
    /// The client may pass: run this command line next, with the same environment.
    Run(Vec<OsString>),
}

/// The client's side of the connection.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub input: RawFd,
    pub output: RawFd,
}

/// The program: decide, then exec smtpd or hold the refusing session on stdin/stdout.
pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let env = Env::inherited();
    let client = Client {
        input: 0,
        output: 1,
    };
    match rblsmtpd(args, &env, client, &Resolver::new())? {
        Next::Exit(code) => Ok(code),
        Next::Run(argv) => Err(hand_on(&argv, &env)),
    }
}

/// Start the program a client may go on to: a plugin (a path ending in `.so`) is
/// called in this process (docs/ucspi-tcp.md#plugins), anything else exec'd. Returns only on failure.
pub fn hand_on(argv: &[OsString], env: &Env) -> Failure {
    if argv.first().is_some_and(|p| crate::plugin::is_plugin(p)) {
        crate::plugin::call::run(argv, env, &crate::server::log::Log { verbosity: 1 });
    }
    let err = indicore::exec::pathexec(argv, env);
    Failure::exec(argv[0].to_string_lossy(), &err)
}

/// One step of the command line, in order.
#[derive(Debug, Clone)]
enum Step {
    List {
        base: Vec<u8>,
        bounce: bool,
        fail_closed: bool,
    },
    AntiList {
        base: Vec<u8>,
        fail_closed: bool,
    },
    Delay(Option<u64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Undecided,
    Accept,
    Refuse,
    Bounce,
}

fn ulong(s: &[u8]) -> u64 {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s[..digits].iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

/// Replace each `%IP%` in `text` with `ip`.
fn expand(text: &[u8], ip: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"%IP%") {
            out.extend_from_slice(ip);
            i += 4;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// The client's address as logged and substituted (a v4-mapped IPv6 address loses its
/// `::ffff:` prefix), and the reversed labels every lookup name starts with.
fn client_address(env: &Env) -> (Vec<u8>, Vec<u8>) {
    let proto = env.get("PROTO").map(OsStr::as_bytes).unwrap_or_default();
    let mut ip = env
        .get("TCPREMOTEIP")
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let mut v6 = false;
    if proto == b"TCP6" {
        match ip.strip_prefix(b"::ffff:") {
            Some(rest) => ip = rest.to_vec(),
            None => v6 = true,
        }
    }
    let mut reverse = Vec::new();
    if v6 {
        if let Some((a, _)) = ucspi::ip::scan(&ip) {
            for b in a.iter().rev() {
                reverse.extend_from_slice(format!("{:x}.{:x}.", b & 15, b >> 4).as_bytes());
            }
        }
    } else if !ip.is_empty() {
        for label in ip.rsplit(|&c| c == b'.') {
            reverse.extend_from_slice(label);
            reverse.push(b'.');
        }
    }
    (ip, reverse)
}

/// The decision so far and the message that goes with it.
struct Verdict<'a> {
    decision: Decision,
    text: Vec<u8>,
    must_not_bounce: bool,
    reverse: &'a [u8],
    ip: &'a [u8],
    dns: &'a Resolver,
}

impl Verdict<'_> {
    fn lookup_failed(&mut self, fail_closed: bool) {
        self.must_not_bounce = true;
        if fail_closed {
            self.text = b"temporary RBL lookup error".to_vec();
            self.decision = Decision::Refuse;
        }
    }

    fn list(&mut self, base: &[u8], bounce: bool, fail_closed: bool) {
        let (zone, msg) = match base.iter().position(|&c| c == b':') {
            Some(i) => (&base[..i], Some(&base[i + 1..])),
            None => (base, None),
        };
        let name = [self.reverse, zone].concat();
        let found = match msg {
            Some(msg) => self.dns.ip4(&name).map(|a| {
                if a.is_empty() {
                    Vec::new()
                } else {
                    expand(msg, self.ip)
                }
            }),
            None => self.dns.txt(&name),
        };
        match found {
            Err(_) => self.lookup_failed(fail_closed),
            Ok(text) => {
                self.text = text;
                if !self.text.is_empty() {
                    self.decision = if bounce {
                        Decision::Bounce
                    } else {
                        Decision::Refuse
                    };
                }
            }
        }
    }

    fn anti_list(&mut self, base: &[u8], fail_closed: bool) {
        let name = [self.reverse, base].concat();
        match self.dns.ip4(&name) {
            Err(_) => {
                self.must_not_bounce = true;
                if !fail_closed {
                    self.decision = Decision::Accept;
                }
            }
            Ok(a) if !a.is_empty() => self.decision = Decision::Accept,
            Ok(_) => {}
        }
    }
}

/// The whole of rblsmtpd, without exiting: parse `args`, decide from `env` and the lists, and
/// either hold the refusing conversation on `client` (`Next::Exit`) or name the program that
/// runs next (`Next::Run`).
pub fn rblsmtpd(
    args: &[OsString],
    env: &Env,
    client: Client,
    dns: &Resolver,
) -> Result<Next, Failure> {
    let mut steps = Vec::new();
    let (mut bounce, mut fail_closed, mut timeout, mut listed) = (false, false, 60, false);
    let mut opts = Getopt::new(args, "bBcCt:r:a:w:W");
    while let Some(opt) = opts.next() {
        let Opt::Flag(letter, arg) = &opt else {
            return Err(Failure::usage(opts.usage(&opt, USAGE)));
        };
        let arg = arg.as_deref().map(OsStr::as_bytes).unwrap_or_default();
        match letter {
            b'b' => bounce = true,
            b'B' => bounce = false,
            b'c' => fail_closed = true,
            b'C' => fail_closed = false,
            b't' => timeout = ulong(arg),
            b'r' => {
                listed = true;
                steps.push(Step::List {
                    base: arg.to_vec(),
                    bounce,
                    fail_closed,
                });
            }
            b'a' => steps.push(Step::AntiList {
                base: arg.to_vec(),
                fail_closed,
            }),
            b'w' => steps.push(Step::Delay(Some(ulong(arg)))),
            b'W' => steps.push(Step::Delay(None)),
            _ => return Err(Failure::usage(opts.usage(&opt, USAGE))),
        }
    }
    let smtpd = opts.rest();
    if smtpd.is_empty() || !listed {
        return Err(Failure::usage(USAGE));
    }

    let (ip, reverse) = client_address(env);
    let session = Session::new(env, &ip, client);
    let mut v = Verdict {
        decision: Decision::Undecided,
        text: Vec::new(),
        must_not_bounce: false,
        reverse: &reverse,
        ip: &ip,
        dns,
    };
    if let Some(x) = env.get("RBLSMTPD") {
        let x = x.as_bytes();
        match x.first() {
            None => v.decision = Decision::Accept,
            Some(b'-') => {
                v.decision = Decision::Bounce;
                v.text = expand(&x[1..], &ip);
            }
            Some(_) => {
                v.decision = Decision::Refuse;
                v.text = expand(x, &ip);
            }
        }
    }
    for step in &steps {
        if v.decision != Decision::Undecided {
            break;
        }
        match step {
            Step::List {
                base,
                bounce,
                fail_closed,
            } => v.list(base, *bounce, *fail_closed),
            Step::AntiList { base, fail_closed } => v.anti_list(base, *fail_closed),
            Step::Delay(n) => {
                let secs =
                    n.unwrap_or_else(|| env.get("GREETDELAY").map_or(0, |g| ulong(g.as_bytes())));
                if secs > 0 {
                    session.log(format!("greetdelay: {secs}").as_bytes());
                    std::thread::sleep(Duration::from_secs(secs));
                }
            }
        }
    }
    match v.decision {
        Decision::Refuse | Decision::Bounce => {
            let code: &[u8] = if v.must_not_bounce || v.decision == Decision::Refuse {
                b"451 "
            } else {
                b"553 "
            };
            v.text.truncate(200);
            let mut message = [code, &v.text].concat();
            for c in &mut message {
                if !(32..=126).contains(c) {
                    *c = b'?';
                }
            }
            Ok(Next::Exit(session.refuse(message, timeout)))
        }
        Decision::Accept | Decision::Undecided => Ok(Next::Run(smtpd.to_vec())),
    }
}

/// The refusing SMTP conversation.
struct Session<'a> {
    greeting: Vec<u8>,
    ehlo: bool,
    ip: &'a [u8],
    pid: u32,
    client: Client,
}

/// How a conversation ended.
enum End {
    /// EOF, a read error or a failed write: the client is gone.
    Left,
    Quit,
    TimedOut,
}

enum Line {
    Command(Vec<u8>),
    End,
    TimedOut,
}

impl<'a> Session<'a> {
    fn new(env: &Env, ip: &'a [u8], client: Client) -> Self {
        Session {
            greeting: env
                .get("RBLGREETING")
                .map_or(DEFAULT_GREETING.to_vec(), |g| g.as_bytes().to_vec()),
            ehlo: env.get("RBLEHLO").is_some(),
            ip,
            pid: std::process::id(),
            client,
        }
    }

    /// `rblsmtpd:  pid PID from IP: what` on fd 2, in one write.
    fn log(&self, what: &[u8]) {
        let mut line = format!("rblsmtpd:  pid {} from ", self.pid).into_bytes();
        line.extend_from_slice(self.ip);
        line.extend_from_slice(b": ");
        line.extend_from_slice(what);
        line.push(b'\n');
        let _ = write_all(2, &line);
    }

    fn reply(&self, code: &[u8]) -> io::Result<()> {
        write_all(
            self.client.output,
            &[code, &self.greeting, b"\r\n"].concat(),
        )
    }

    /// Hold the conversation; returns the exit code.
    fn refuse(&self, message: Vec<u8>, timeout: u64) -> i32 {
        self.log(&message);
        let message = [&message[..], b"\r\n"].concat();
        if timeout == 0 {
            let _ = write_all(self.client.output, &message);
        } else {
            let deadline = Instant::now() + Duration::from_secs(timeout);
            match self.converse(&message, deadline) {
                End::Left => {}
                // `quit` and the whole-session alarm leave without a log line.
                End::Quit | End::TimedOut => return 0,
            }
        }
        self.log(b": Session terminated: quitting");
        0
    }

    /// Answer commands until the client leaves or quits, or time runs out.
    fn converse(&self, message: &[u8], deadline: Instant) -> End {
        if self.reply(b"220 ").is_err() {
            return End::Left;
        }
        let mut reader = LineReader::new(self.client.input);
        loop {
            let line = match reader.next(deadline) {
                Line::Command(l) => l,
                Line::End => return End::Left,
                Line::TimedOut => return End::TimedOut,
            };
            let line = match line.iter().position(|&c| c == 0) {
                Some(nul) => &line[..nul],
                None => &line[..],
            };
            let (verb, arg) = match line.iter().position(|&c| c == b' ') {
                Some(sp) => {
                    let arg = &line[sp..];
                    let skip = arg.iter().take_while(|&&c| c == b' ').count();
                    (&line[..sp], &arg[skip..])
                }
                None => (line, &b""[..]),
            };
            let is = |name: &str| verb.eq_ignore_ascii_case(name.as_bytes());
            let sent = if is("quit") {
                let _ = self.reply(b"221 ");
                return End::Quit;
            } else if is("helo") || is("rset") || is("noop") {
                self.reply(b"250 ")
            } else if is("ehlo") {
                if self.ehlo {
                    let mut r = b"250-".to_vec();
                    r.extend_from_slice(&self.greeting);
                    r.extend_from_slice(
                        b"\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 HELP\r\n",
                    );
                    write_all(self.client.output, &r)
                } else {
                    self.reply(b"250 ")
                }
            } else if is("mail") {
                self.log_address(b"Sender", b"MAIL", arg);
                self.reply(b"250 ")
            } else if is("rcpt") {
                self.log_address(b"Recipient", b"RCPT", arg);
                write_all(self.client.output, message)
            } else if is("vrfy") {
                self.reply(b"252 ")
            } else {
                write_all(self.client.output, message)
            };
            if sent.is_err() {
                return End::Left;
            }
        }
    }

    fn log_address(&self, what: &[u8], verb: &[u8], arg: &[u8]) {
        match address(arg) {
            Some(a) => self.log(&[what, b" <", &a, b">"].concat()),
            None => self.log(&[verb, b" with too long address"].concat()),
        }
    }
}

/// The address of a MAIL or RCPT argument, as qmail-smtpd's `addrparse`: inside `<...>` if
/// there is a `<`, else after the colon up to a space; source route dropped, quotes and
/// backslashes removed. None when absent or over 900 bytes.
fn address(arg: &[u8]) -> Option<Vec<u8>> {
    let (mut rest, terminator) = match arg.iter().position(|&c| c == b'<') {
        Some(i) => (&arg[i + 1..], b'>'),
        None => {
            let after = match arg.iter().position(|&c| c == b':') {
                Some(i) => &arg[i + 1..],
                None => &arg[arg.len()..],
            };
            if after.is_empty() {
                return None;
            }
            let skip = after.iter().take_while(|&&c| c == b' ').count();
            (&after[skip..], b' ')
        }
    };
    if rest.first() == Some(&b'@') {
        rest = match rest.iter().position(|&c| c == b':') {
            Some(i) => &rest[i + 1..],
            None => &rest[rest.len()..],
        };
    }
    let mut out = Vec::new();
    let (mut escaped, mut quoted) = (false, false);
    for &c in rest {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        if !quoted && c == terminator {
            break;
        }
        match c {
            b'\\' => escaped = true,
            b'"' => quoted = !quoted,
            _ => out.push(c),
        }
    }
    (out.len() < 900).then_some(out)
}

fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: write from a buffer we own, at most its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Lines from the client, each at most [`MAX_LINE`] bytes, under one deadline.
struct LineReader {
    fd: RawFd,
    buf: Vec<u8>,
    line: Vec<u8>,
}

impl LineReader {
    fn new(fd: RawFd) -> Self {
        LineReader {
            fd,
            buf: Vec::new(),
            line: Vec::new(),
        }
    }

    fn next(&mut self, deadline: Instant) -> Line {
        loop {
            if let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
                let rest = self.buf.split_off(i + 1);
                let chunk = std::mem::replace(&mut self.buf, rest);
                self.keep(&chunk[..i]);
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Line::Command(line);
            }
            let pending = std::mem::take(&mut self.buf);
            self.keep(&pending);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Line::TimedOut;
            }
            let ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
            let mut p = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut p, 1, ms) };
            if r < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Line::End;
            }
            if r == 0 {
                continue;
            }
            let mut chunk = [0u8; 1024];
            // SAFETY: read into a buffer we own, at most its length.
            let n = unsafe { libc::read(self.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if n < 0 {
                if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Line::End;
            }
            if n == 0 {
                return Line::End;
            }
            self.buf.extend_from_slice(&chunk[..n as usize]);
        }
    }

    /// Append to the current line up to the cap; an overlong line keeps its start.
    fn keep(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(address(b"FROM:<a@b>").unwrap(), b"a@b");
        assert_eq!(address(b"FROM: a@b SIZE=10").unwrap(), b"a@b");
        assert_eq!(address(b"TO:<@r1,@r2:u@h>").unwrap(), b"u@h");
        assert_eq!(address(b"FROM:<\"a b\"@c>").unwrap(), b"a b@c");
        assert_eq!(address(b"FROM:<a\\>b@c>").unwrap(), b"a>b@c");
        assert!(address(b"FROM").is_none());
        assert!(address(&[b"FROM:<".as_slice(), &[b'x'; 950]].concat()).is_none());
    }

    #[test]
    fn reversal() {
        let mut env = Env::empty();
        env.set("TCPREMOTEIP", "127.0.0.2");
        assert_eq!(
            client_address(&env),
            (b"127.0.0.2".to_vec(), b"2.0.0.127.".to_vec())
        );
        env.set("PROTO", "TCP6");
        env.set("TCPREMOTEIP", "::ffff:10.1.2.3");
        assert_eq!(
            client_address(&env),
            (b"10.1.2.3".to_vec(), b"3.2.1.10.".to_vec())
        );
        env.set("TCPREMOTEIP", "2001:db8::1");
        let (ip, rev) = client_address(&env);
        assert_eq!(ip, b"2001:db8::1");
        assert_eq!(rev.len(), 64);
        assert!(rev.starts_with(b"1.0.0.0.") && rev.ends_with(b"8.b.d.0.1.0.0.2."));
    }

    #[test]
    fn ip_expansion() {
        assert_eq!(expand(b"x %IP% %I% %", b"1.2.3.4"), b"x 1.2.3.4 %I% %");
    }
}
