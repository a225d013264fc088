//! `dotls [opts] prog [args]` (docs/ucspi-tcp.md#dotls): TLS in front of a plain-text program, under
//! tcpserver (server mode, the socket on fds 0 and 1) or tcpclient (client mode `-T`/`-C`,
//! the socket on fds 6 and 7).
//!
//! Server mode without `-s` accepts TLS at once (SMTPS, POP3S, IMAPS), then starts the
//! program on pipes (handshake first, docs/decisions.md#u10). With `-s smtp|pop3|imap` the
//! program starts at once and dotls emulates STARTTLS for it (`tls::starttls`), then
//! turns the same session into TLS (U14). `$NOTLS` (from the rules, say) runs the
//! program with no TLS at all.

use crate::tls::config::{self, Settings};
use crate::tls::session;
use crate::tls::starttls::{Emulator, Protocol};
use indicore::diag::emit;
use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::{errstr, Failure, Prog};
use std::convert::Infallible;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;
use ucspi::tls::proxy::{self, End, Fd};
use ucspi::tls::{program, Negotiated, TlsOptions};

pub const PROG: Prog = Prog("dotls");

const OPTIONS: &str = "qQvCTNd:s:h:t:n:c:L:f:M:D:z";
const USAGE: &str = "usage: dotls [ -qQvNCTz ]
 [ -h host ]
 [ -D timeoutdata ]
 [ -t timeoutconn ]
 [ -d certdir ]
 [ -n cert ]
 [ -f cipherlist ]
 [ -M TLS methods ]
 [ -c cafile ] 
 [ -L crlfile ] 
 [ -s starttlsType (smtp|pop3|imap) ]
 program";

/// The command line, parsed.
#[derive(Debug, Clone)]
struct Config {
    verbosity: u8,
    /// `-T` (program on 0/1) or `-C` (program on 6/7): TLS client on fds 6 and 7.
    client: Option<RawFd>,
    starttls: Option<Protocol>,
    host: Option<OsString>,
    certdir: Option<OsString>,
    certfile: Option<OsString>,
    cafile: Option<OsString>,
    crlfile: Option<OsString>,
    cipher_file: Option<OsString>,
    method: Option<OsString>,
    details: bool,
    handshake_timeout: u64,
    data_timeout: u64,
}

fn parse(args: &[OsString]) -> Result<(Config, Vec<OsString>), Failure> {
    let mut c = Config {
        verbosity: 1,
        client: None,
        starttls: None,
        host: None,
        certdir: None,
        certfile: None,
        cafile: None,
        crlfile: None,
        cipher_file: None,
        method: None,
        details: false,
        handshake_timeout: 60,
        data_timeout: 300,
    };
    let mut g = Getopt::new(args, OPTIONS);
    let num = |a: &Option<OsString>| {
        a.as_deref()
            .map_or(0, |v| crate::server::options::scan_ulong(v.as_bytes()))
    };
    while let Some(opt) = g.next() {
        let Opt::Flag(letter, arg) = &opt else {
            return Err(Failure::usage(g.usage(&opt, USAGE)));
        };
        match letter {
            b'q' => c.verbosity = 0,
            b'Q' => c.verbosity = 1,
            b'v' => c.verbosity = 2,
            b'T' => c.client = Some(0),
            b'C' => c.client = Some(6),
            b'N' => {} // rustls never renegotiates
            b'z' => c.details = true,
            b'd' => c.certdir = arg.clone(),
            b'n' => c.certfile = arg.clone(),
            b'c' => c.cafile = arg.clone(),
            b'L' => c.crlfile = arg.clone(),
            b'f' => c.cipher_file = arg.clone(),
            b'M' => c.method = arg.clone(),
            b'h' => c.host = arg.clone(),
            b't' => c.handshake_timeout = num(arg),
            b'D' => c.data_timeout = num(arg),
            b's' => match Protocol::parse(&arg.as_deref().unwrap_or_default().to_string_lossy()) {
                Some(p) => c.starttls = Some(p),
                None => return Err(Failure::usage(USAGE)),
            },
            _ => return Err(Failure::usage(USAGE)),
        }
    }
    let rest = g.rest().to_vec();
    if rest.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    Ok((c, rest))
}

/// `dotls: ...` lines, as the verbosity allows.
#[derive(Clone, Copy)]
struct Log(u8);

impl Log {
    fn at(self, level: u8, args: std::fmt::Arguments<'_>) {
        if self.0 >= level {
            emit(format_args!("dotls: {args}\n"));
        }
    }
}

fn duration(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (c, prog) = parse(args)?;
    let quiet = c.verbosity == 0;
    // SAFETY: a network write must fail with EPIPE, not kill the proxy.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let r = match c.client {
        Some(fd) => client_mode(&c, fd, &prog),
        None => server_mode(&c, &prog),
    };
    r.map_err(|f| match f {
        Failure::Fatal { code, .. } if quiet => Failure::Silent(code),
        f => f,
    })
}

/// Exec the program in this process (the NOTLS bypass) or in a forked child.
fn exec(prog: &[OsString], env: &Env) -> Infallible {
    // SAFETY: the program gets the default SIGPIPE the reference gives it.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let err = indicore::exec::pathexec(prog, env);
    emit(format_args!(
        "dotls: fatal: unable to run {}: {}\n",
        prog[0].to_string_lossy(),
        errstr(&err)
    ));
    // SAFETY: leave at once.
    unsafe { libc::_exit(111) }
}

fn remote_ip() -> String {
    std::env::var("TCP6REMOTEIP")
        .or_else(|_| std::env::var("TCPREMOTEIP"))
        .unwrap_or_else(|_| "unknown".into())
}

fn settings(c: &Config) -> Settings {
    Settings {
        certfile: c.certfile.clone().unwrap_or_default(),
        certdir: c.certdir.clone(),
        cafile: c.cafile.clone(),
        crlfile: c.crlfile.clone(),
        cipher_file: c.cipher_file.clone(),
        method: c.method.clone(),
        tickets: false,
        ..Settings::default()
    }
}

fn init_failed(lines: Vec<String>) -> Failure {
    for l in lines {
        emit(format_args!("{l}\n"));
    }
    Failure::temp("unable to initialize TLS")
}

fn finish(log: Log, status: Option<libc::c_int>) -> ! {
    let pid = std::process::id();
    let ip = remote_ip();
    match status {
        Some(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) != 0 => log.at(
            2,
            format_args!(
                "pid {pid} from {ip}, status={} exiting...",
                libc::WEXITSTATUS(s)
            ),
        ),
        _ => log.at(2, format_args!("pid {pid} from {ip} exiting...")),
    }
    session::exit_with(status)
}

fn server_mode(c: &Config, prog: &[OsString]) -> Result<i32, Failure> {
    let log = Log(c.verbosity);
    let mut env = Env::inherited();
    if std::env::var_os("NOTLS").is_some() {
        #[allow(unreachable_code)]
        match exec(prog, &env) {}
    }
    let contexts = config::load(&settings(c)).map_err(init_failed)?;
    for w in &contexts.warnings {
        log.at(1, format_args!("warning: {w}"));
    }
    let required = config::required(std::env::var_os("TLS_CLIENT_REQUIRED").as_deref());
    let Some(context) = session::choose(&contexts, required) else {
        return Err(Failure::temp("client certificates required but no CA file"));
    };
    let handshake = Duration::from_secs(c.handshake_timeout.max(1));
    let pid = std::process::id();
    let ip = remote_ip();
    let handshake_failed = |e: proxy::HandshakeError| {
        emit(format_args!("SSL_accept: {e}\n"));
        Failure::temp("unable to accept SSL connection")
    };

    if let Some(proto) = c.starttls {
        env.set("TLS_PROVIDER", "dotls, starttls");
        let (prog_pid, pipes) = program::start(0, 1, &[], || exec(prog, &env))
            .map_err(|e| Failure::temp_sys("unable to fork: ", &e))?;
        let to_prog = pipes.to_program.into_raw_fd();
        let from_prog = pipes.from_program.into_raw_fd();
        let mut emu = Emulator::new(proto);
        match plain_phase(&mut emu, to_prog, from_prog, duration(c.data_timeout)) {
            Plain::Ended => {
                // SAFETY: closing our pipe ends; the program sees EOF.
                unsafe {
                    libc::close(to_prog);
                    libc::close(from_prog);
                }
                finish(log, program::wait(prog_pid, None))
            }
            Plain::Idle => {
                return Err(Failure::temp(format!(
                    "idle timeout reached without input [{} sec]",
                    c.data_timeout
                )))
            }
            Plain::Failed(e) => return Err(Failure::temp_sys("unable to relay data: ", &e)),
            Plain::StartTls => {}
        }
        let a =
            session::accept(context, contexts.max, 0, 1, handshake).map_err(handshake_failed)?;
        log.at(
            2,
            format_args!("pid {pid} from {ip} {}", a.negotiated.details(true)),
        );
        let (mut conn, mut net) = (a.conn, a.net);
        let rest = emu.take_program_rest();
        let _ = conn.writer().write_all(&rest);
        let local = proxy::Local {
            to: to_prog,
            from: from_prog,
            owned: true,
        };
        let end = proxy::relay(&mut conn, &mut net, 1, local, duration(c.data_timeout));
        let grace = (!matches!(end, End::Done)).then(|| Duration::from_secs(1));
        finish(log, program::wait(prog_pid, grace))
    }

    if let Some(banner) = std::env::var_os("BANNER") {
        let mut b = banner.as_bytes().to_vec();
        b.push(b'\n');
        let _ = ucspi::tls::starttls::write_all(1, &b);
    }
    let a = session::accept(context, contexts.max, 0, 1, handshake).map_err(handshake_failed)?;
    log.at(
        2,
        format_args!("pid {pid} from {ip} {}", a.negotiated.details(true)),
    );
    session::export(&mut env, &a, "dotls", c.details, false);
    let env = &env;
    let status = session::run_behind(
        a,
        0,
        1,
        0,
        1,
        &[],
        duration(c.data_timeout),
        || exec(prog, env),
        |_| {},
        |e| {
            emit(format_args!(
                "dotls: fatal: unable to fork: {}\n",
                errstr(e)
            ))
        },
    );
    finish(log, status)
}

enum Plain {
    /// STARTTLS was accepted and its reply sent.
    StartTls,
    /// The session ended without TLS.
    Ended,
    Idle,
    Failed(std::io::Error),
}

fn would_block(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
}

/// Where the plain phase stands between polls.
#[derive(Default)]
struct PlainState {
    client_eof: bool,
    prog_eof: bool,
    prog_in_closed: bool,
    sent_client: usize,
    sent_prog: usize,
}

/// The plain part of a STARTTLS session: client (fds 0 and 1) and program (pipes)
/// through the emulator, until STARTTLS or the end.
fn plain_phase(
    emu: &mut Emulator,
    to_prog: RawFd,
    from_prog: RawFd,
    idle: Option<Duration>,
) -> Plain {
    for fd in [0, 1, to_prog, from_prog] {
        proxy::set_nonblocking(fd);
    }
    let mut buf = vec![0u8; 16384];
    let mut st = PlainState::default();
    let ms = idle.map_or(-1, |d| i32::try_from(d.as_millis()).unwrap_or(i32::MAX));
    loop {
        if st.sent_client >= emu.to_client.len() {
            emu.to_client.clear();
            st.sent_client = 0;
        }
        if st.sent_prog >= emu.to_program.len() {
            emu.to_program.clear();
            st.sent_prog = 0;
        }
        let flushed = emu.to_client.is_empty() && emu.to_program.is_empty();
        if flushed {
            if let Some(reply) = emu.start.take() {
                return match ucspi::tls::starttls::write_all(1, &reply) {
                    Ok(()) => Plain::StartTls,
                    Err(e) => Plain::Failed(e),
                };
            }
            // The program's input ends once the client's last command line is passed
            // on: lines held behind DATA or STARTTLS still go once their replies arrive.
            if st.client_eof && !st.prog_in_closed && !emu.client_pending() {
                st.prog_in_closed = true;
                // SAFETY: closing our write end: the program sees end of input.
                unsafe { libc::close(to_prog) };
            }
            if st.prog_eof {
                return Plain::Ended;
            }
        }
        let pfd = |fd: RawFd, events: i16| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let mut fds = [
            pfd(
                if st.client_eof || emu.start.is_some() {
                    -1
                } else {
                    0
                },
                libc::POLLIN,
            ),
            pfd(if emu.to_client.is_empty() { -1 } else { 1 }, libc::POLLOUT),
            pfd(if st.prog_eof { -1 } else { from_prog }, libc::POLLIN),
            pfd(
                if emu.to_program.is_empty() || st.prog_in_closed {
                    -1
                } else {
                    to_prog
                },
                libc::POLLOUT,
            ),
        ];
        // SAFETY: poll over a live array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 4, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Plain::Failed(e);
        }
        if n == 0 {
            return Plain::Idle;
        }
        if let Err(e) = plain_transfer(emu, &mut st, &fds, &mut buf, (to_prog, from_prog)) {
            return Plain::Failed(e);
        }
    }
}

/// One round of the plain phase's reads and writes, as `fds` found them ready; Err when
/// the client cannot be written to.
fn plain_transfer(
    emu: &mut Emulator,
    st: &mut PlainState,
    fds: &[libc::pollfd; 4],
    buf: &mut [u8],
    (to_prog, from_prog): (RawFd, RawFd),
) -> std::io::Result<()> {
    if fds[0].revents != 0 {
        match Fd(0).read(buf) {
            Ok(0) => st.client_eof = true,
            Ok(k) => emu.client(&buf[..k]),
            Err(e) if would_block(&e) => {}
            Err(_) => st.client_eof = true,
        }
    }
    if fds[2].revents != 0 {
        match Fd(from_prog).read(buf) {
            Ok(0) => {
                st.prog_eof = true;
                emu.program_eof();
            }
            Ok(k) => emu.program(&buf[..k]),
            Err(e) if would_block(&e) => {}
            Err(_) => {
                st.prog_eof = true;
                emu.program_eof();
            }
        }
    }
    if fds[1].revents != 0 {
        match Fd(1).write(&emu.to_client[st.sent_client..]) {
            Ok(k) => st.sent_client += k,
            Err(e) if would_block(&e) => {}
            Err(e) => return Err(e),
        }
    }
    if fds[3].revents != 0 {
        match Fd(to_prog).write(&emu.to_program[st.sent_prog..]) {
            Ok(k) => st.sent_prog += k,
            Err(e) if would_block(&e) => {}
            Err(_) => {
                // The program stopped reading: what it would have read is dropped.
                emu.to_program.clear();
                st.sent_prog = 0;
                st.client_eof = true;
            }
        }
    }
    Ok(())
}

/// `-T`/`-C`: TLS client on fds 6 and 7, the program on pipes at 0/1 or 6/7.
fn client_mode(c: &Config, prog_fd: RawFd, prog: &[OsString]) -> Result<i32, Failure> {
    let log = Log(c.verbosity);
    let opts = TlsOptions {
        certfile: Some(c.certfile.clone().unwrap_or_default()),
        certdir: c.certdir.clone(),
        cafile: c.cafile.clone().unwrap_or_default(),
        crlfile: c.crlfile.clone().unwrap_or_default(),
        starttls: None,
        match_host: c.host.clone(),
        cipherfile: c.cipher_file.clone(),
        method: c.method.clone(),
        provide_data: c.details,
    };
    let host = c
        .host
        .clone()
        .or_else(|| std::env::var_os("TCPREMOTEIP"))
        .unwrap_or_else(|| "localhost".into());
    let client = ucspi::tls::client::configure(&opts, &host).map_err(init_failed)?;
    let max = client.max;
    let conn = rustls::ClientConnection::new(client.config, client.server_name)
        .map_err(|e| Failure::temp(format!("unable to initialize TLS: {e}")))?;
    let mut conn = rustls::Connection::Client(conn);
    let timeout = Duration::from_secs(c.handshake_timeout.max(1));
    let mut net = proxy::NetIn::new(6);
    proxy::handshake(&mut conn, &mut net, 7, timeout).map_err(|e| {
        emit(format_args!("SSL_connect: {e}\n"));
        Failure::temp("unable to connect SSL")
    })?;
    let n = Negotiated::of(&conn, max);
    log.at(
        2,
        format_args!(
            "pid {} to {} {}",
            std::process::id(),
            remote_ip(),
            n.details(true)
        ),
    );
    let mut env = Env::inherited();
    env.set(
        "TLS_PROVIDER",
        if c.details {
            format!("dotls, {}", n.details(false))
        } else {
            "dotls, ".into()
        },
    );
    // The network moves above the program's descriptors if they share numbers.
    let (net_in, net_out) = if prog_fd == 6 {
        // SAFETY: duplicates of our own descriptors.
        unsafe {
            (
                libc::fcntl(6, libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(7, libc::F_DUPFD_CLOEXEC, 10),
            )
        }
    } else {
        (6, 7)
    };
    let env = &env;
    let (pid, pipes) = program::start(prog_fd, prog_fd + 1, &[net_in, net_out], || exec(prog, env))
        .map_err(|e| Failure::temp_sys("unable to fork: ", &e))?;
    let local = proxy::Local {
        to: pipes.to_program.into_raw_fd(),
        from: pipes.from_program.into_raw_fd(),
        owned: true,
    };
    net.fd = net_in;
    let end = proxy::relay(
        &mut conn,
        &mut net,
        net_out,
        local,
        duration(c.data_timeout),
    );
    let grace = (!matches!(end, End::Done)).then(|| Duration::from_secs(1));
    finish(log, program::wait(pid, grace))
}
