//! `tcpclient [opts] host port [prog...]` and `tcpclient [opts] /path/socket [prog...]`:
//! connect, describe the connection in the environment, and run prog with the socket on
//! descriptors 6 (read) and 7 (write); without prog, relay stdin and stdout to the socket.

use crate::{proxyhdr, relay, tls_session};
use indicore::diag::emit;
use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::sys::{self, signal, Errno};
use indicore::{errstr, Failure, Prog, EXIT_TEMP, EXIT_USAGE};
use socket2::{Domain, SockAddr, Socket, Type};
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;
use ucspi::dns::Resolver;
use ucspi::ip::{self, Ip};
use ucspi::tls::{Starttls, TlsOptions};
use ucspi::{net, remoteinfo, tls};

pub const PROG: Prog = Prog("tcpclient");

/// The reference's letters, and `-P` (a PROXY header, an extension; the usage text stays
/// the reference's).
const OPTIONS: &str = "dDvqQhHrRi:p:t:T:l:a:e46I:n:C:c:s:m:f:M:L:zP:";
const USAGE: &str = "usage: tcpclient [ -46hHrRdDqQmvz ]
 [ -i localip ]
 [ -p localport ]
 [ -l localname ]
 [ -T timeoutconn ]
 [ -t timeoutinfo ]
 [ -a timeoutdata ]
 [ -n clientcert ]
 [ -C certdir ] 
 [ -c cafile ] 
 [ -L crlfile ] 
 [ -s starttlsType (smtp|pop3|imap) ]
 [ -f cipherlist ]
 [ -M TLS method ] 
 host port [program]";

/// The command line, parsed.
#[derive(Debug, Clone)]
struct Config {
    verbosity: u8,
    nodelay: bool,
    remote_host: bool,
    remote_info: bool,
    info_timeout: u64,
    conn_timeout: [u64; 2],
    data_timeout: u64,
    noipv6: bool,
    force6: bool,
    scope: u32,
    local_ip: Ip,
    local_port: u16,
    local_name: Option<OsString>,
    getaddrinfo: bool,
    /// `-P 1|2`: send a PROXY header of that version first.
    proxy: Option<u8>,
    tls: TlsOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            verbosity: 1,
            nodelay: false,
            remote_host: true,
            remote_info: true,
            info_timeout: 26,
            conn_timeout: [2, 58],
            data_timeout: 300,
            noipv6: false,
            force6: false,
            scope: 0,
            local_ip: ip::ANY,
            local_port: 0,
            local_name: None,
            getaddrinfo: false,
            proxy: None,
            tls: TlsOptions::default(),
        }
    }
}

fn ulong(arg: &OsStr) -> u64 {
    ip::scan_ulong(arg.as_bytes()).0
}

fn parse(args: &[OsString]) -> Result<(Config, &[OsString]), Failure> {
    let mut c = Config::default();
    let mut opts = Getopt::new(args, OPTIONS);
    let usage = |opts: &Getopt, p: &Opt| Failure::usage(opts.usage(p, USAGE));
    while let Some(opt) = opts.next() {
        let Opt::Flag(letter, arg) = &opt else {
            return Err(usage(&opts, &opt));
        };
        let arg = arg.as_deref().unwrap_or_default();
        match letter {
            b'4' => c.noipv6 = true,
            b'6' => c.force6 = true,
            b'I' => c.scope = net::if_index(arg.as_bytes()),
            b'i' => match ip::scan(arg.as_bytes()) {
                Some((a, _)) => c.local_ip = a,
                None => return Err(Failure::usage(USAGE)),
            },
            b'n' => c.tls.certfile = Some(arg.to_owned()),
            b'C' => c.tls.certdir = Some(arg.to_owned()),
            b'c' => c.tls.cafile = arg.to_owned(),
            b'L' => c.tls.crlfile = arg.to_owned(),
            b's' => match Starttls::parse(arg) {
                Some(kind) => c.tls.starttls = Some(kind),
                None => return Err(Failure::usage(USAGE)),
            },
            b'm' => c.tls.match_host = Some(arg.to_owned()),
            b'f' => c.tls.cipherfile = Some(arg.to_owned()),
            b'M' => c.tls.method = Some(arg.to_owned()),
            b'z' => c.tls.provide_data = true,
            b'd' => c.nodelay = false,
            b'D' => c.nodelay = true,
            b'v' => c.verbosity = 2,
            b'q' => c.verbosity = 0,
            b'Q' => c.verbosity = 1,
            b'l' => c.local_name = Some(arg.to_owned()),
            b'H' => c.remote_host = false,
            b'h' => c.remote_host = true,
            b'R' => c.remote_info = false,
            b'r' => c.remote_info = true,
            b'e' => c.getaddrinfo = true,
            b't' => c.info_timeout = ulong(arg),
            b'T' => {
                let s = arg.as_bytes();
                let (x, mut j) = ip::scan_ulong(s);
                if s.get(j) == Some(&b'+') {
                    j += 1;
                }
                c.conn_timeout = [x, ip::scan_ulong(&s[j..]).0];
            }
            // The reference keeps the low 16 bits.
            b'p' => c.local_port = ulong(arg) as u16,
            b'a' => c.data_timeout = ulong(arg),
            b'P' => match arg.as_bytes() {
                b"1" => c.proxy = Some(1),
                b"2" => c.proxy = Some(2),
                _ => return Err(Failure::usage(USAGE)),
            },
            _ => return Err(usage(&opts, &opt)),
        }
    }
    Ok((c, opts.rest()))
}

/// Print a line on stderr unless `-q`.
struct Log {
    verbosity: u8,
}

impl Log {
    fn warn(&self, msg: std::fmt::Arguments<'_>) {
        if self.verbosity > 0 {
            emit(format_args!("tcpclient: {msg}\n"));
        }
    }
    fn verbose(&self, msg: std::fmt::Arguments<'_>) {
        if self.verbosity >= 2 {
            emit(format_args!("tcpclient: {msg}\n"));
        }
    }
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    // A stray descriptor 6 or 7 must not reach prog; network writes must not kill us.
    sys::io::close_inherited(6);
    sys::io::close_inherited(7);
    let _ = signal::ignore(signal::Signal::PIPE);
    let (config, rest) = parse(args)?;
    let quiet = config.verbosity == 0;
    connect_and_run(&config, rest).map_err(|f| match f {
        // -q silences every message, fatal ones included; exit codes stay.
        Failure::Usage(_) if quiet => Failure::Silent(EXIT_USAGE),
        Failure::Fatal { code, .. } if quiet => Failure::Silent(code),
        f => f,
    })
}

fn fatal100(msg: &str) -> Failure {
    Failure::Fatal {
        code: EXIT_USAGE,
        msg: msg.into(),
    }
}

/// The port argument: all digits (the empty string is 0), else a service name.
fn port_number(arg: &OsStr) -> Result<u16, Failure> {
    let s = arg.as_bytes();
    let (n, len) = ip::scan_ulong(s);
    if len == s.len() {
        if let Ok(p) = u16::try_from(n) {
            return Ok(p);
        }
    } else if let Some(port) = CString::new(s)
        .ok()
        .and_then(|name| sys::net::tcp_service_port(&name))
    {
        return Ok(port);
    }
    Err(Failure::temp(format!(
        "unable to figure out port number for {}",
        arg.to_string_lossy()
    )))
}

fn connect_and_run(config: &Config, rest: &[OsString]) -> Result<i32, Failure> {
    let log = Log {
        verbosity: config.verbosity,
    };
    let Some(host) = rest.first() else {
        return Err(Failure::usage(USAGE));
    };
    let host: OsString = match host.as_bytes() {
        b"" | b"0" if config.noipv6 => "127.0.0.1".into(),
        b"" | b"0" => "::1".into(),
        _ => host.clone(),
    };
    let unix = host.as_bytes().starts_with(b"/");
    let (port, prog) = if unix {
        (0, &rest[1..])
    } else {
        let Some(p) = rest.get(1) else {
            return Err(Failure::usage(USAGE));
        };
        (port_number(p)?, &rest[2..])
    };
    if config.tls.enabled() {
        log.verbose(format_args!(
            "using certificate {}",
            config.tls.certfile_path().to_string_lossy()
        ));
    } else {
        log.verbose(format_args!("using un-encrypted connection"));
    }
    if config.tls.starttls.is_some() && !config.tls.enabled() {
        return Err(fatal100("STARTTLS options require Certificates"));
    }

    // The TLS context is ready before connecting, so a bad file fails at once.
    let tls_client = if config.tls.enabled() {
        Some(tls::client::configure(&config.tls, &host).map_err(|lines| {
            for l in lines {
                log.warn(format_args!("{l}"));
            }
            Failure::temp("unable to initialize TLS")
        })?)
    } else {
        None
    };
    let mut env = Env::inherited();
    let resolver = Resolver::new().report_failures();
    let sock = if unix {
        let sock = connect_unix(&host, config)?;
        env.set("PROTO", "UNIX");
        sock
    } else {
        let sock = connect_tcp(&host, port, config, &resolver, &log)?;
        describe(&sock, config, &resolver, &log, &mut env)?;
        sock
    };

    if let Some(version) = config.proxy {
        proxyhdr::send(&sock, version, unix)
            .map_err(|e| Failure::temp_sys("unable to send PROXY header: ", &e))?;
    }
    if let Some(client) = tls_client {
        let idle = Duration::from_secs(config.data_timeout);
        return tls_session::session(client, &config.tls, &sock, prog, &mut env, idle);
    }
    if prog.is_empty() {
        let idle = Duration::from_secs(config.data_timeout);
        if let Err(e) = relay::relay(&sock, 0, 1, idle) {
            log.warn(format_args!("translate returned non-zero: {}", errstr(&e)));
        }
        return Ok(0);
    }
    exec_with_socket(sock, prog, &env)
}

fn connect_unix(path: &OsStr, config: &Config) -> Result<Socket, Failure> {
    let fail = |e: &io::Error| {
        Failure::temp_sys(
            format_args!("unable to connect to socket {}: ", path.to_string_lossy()),
            e,
        )
    };
    let sock = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)
        .map_err(|e| Failure::temp_sys("unable to create AF_UNIX socket: ", &e))?;
    let addr = SockAddr::unix(path).map_err(|e| fail(&e))?;
    let [x, y] = config.conn_timeout;
    net::connect(&sock, &addr, Duration::from_secs(x.saturating_add(y))).map_err(|e| fail(&e))?;
    sock.set_nonblocking(false).map_err(|e| fail(&e))?;
    Ok(sock)
}

/// The addresses to try for `host`, and whether they came from a name (which changes the
/// wording of the messages), with the name finally looked up.
fn addresses(
    host: &OsStr,
    config: &Config,
    resolver: &Resolver,
) -> Result<(Vec<Ip>, Option<String>), Failure> {
    let name = host.to_string_lossy();
    let literal = std::str::from_utf8(host.as_bytes())
        .ok()
        .and_then(|s| s.parse::<std::net::IpAddr>().ok());
    if let Some(a) = literal {
        return Ok((vec![ip::from_std(a)], None));
    }
    let temp = |e: &io::Error| {
        Failure::temp_sys(
            format_args!("temporarily unable to figure out IP address for {name}: "),
            e,
        )
    };
    let (found, fqdn) = if config.getaddrinfo {
        (
            getaddrinfo(host).map_err(|e| match e {
                None => Failure::temp(format!("no IP address for {name}")),
                Some(e) => temp(&e),
            })?,
            host.as_bytes().to_vec(),
        )
    } else {
        resolver.ip_qualify(host.as_bytes()).map_err(|e| temp(&e))?
    };
    if found.is_empty() {
        return Err(Failure::temp(format!("no IP address for {name}")));
    }
    Ok((found, Some(String::from_utf8_lossy(&fqdn).into_owned())))
}

/// The addresses getaddrinfo(3) gives, in its order. `Err(None)`: the name has none.
fn getaddrinfo(host: &OsStr) -> Result<Vec<Ip>, Option<io::Error>> {
    let c = CString::new(host.as_bytes()).map_err(|_| None)?;
    let mut out = Vec::new();
    for sa in sys::net::getaddrinfo(&c)? {
        if let Ok((a, _, _)) = net::to_ip(&SockAddr::from(sa)) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

enum Attempt {
    Connected(Socket),
    Failed(io::Error),
}

/// One connection attempt to `addr`.
fn attempt(addr: &Ip, port: u16, timeout: u64, config: &Config) -> Result<Attempt, Failure> {
    let mut target = *addr;
    if config.noipv6 && !ip::is_mapped(addr) {
        // An IPv4-only client reaches ::1 as 127.0.0.1 and no other IPv6 address.
        if *addr != ip::LOOPBACK6 {
            return Ok(Attempt::Failed(sys::error(Errno::PROTO)));
        }
        target = ip::mapped([127, 0, 0, 1]);
    }
    let sa = net::sockaddr(&target, port, config.scope);
    let sock = net::tcp_socket(&sa)
        .map_err(|e| Failure::temp_sys("unable to create AF_INET socket: ", &e))?;
    if config.local_ip != ip::ANY || config.local_port != 0 {
        net::bind(
            &sock,
            sa.is_ipv4(),
            &config.local_ip,
            config.local_port,
            config.scope,
        )
        .map_err(|e| Failure::temp_sys("unable to bind socket: ", &e))?;
    }
    match net::connect(&sock, &sa.into(), Duration::from_secs(timeout)) {
        Ok(()) => {
            let _ = sock.set_nonblocking(false);
            Ok(Attempt::Connected(sock))
        }
        Err(e) => Ok(Attempt::Failed(e)),
    }
}

fn connect_tcp(
    host: &OsStr,
    port: u16,
    config: &Config,
    resolver: &Resolver,
    log: &Log,
) -> Result<Socket, Failure> {
    let (mut list, fqdn) = addresses(host, config, resolver)?;
    let mut timeouts = config.conn_timeout;
    if list.len() == 1 {
        timeouts = [timeouts[0].saturating_add(timeouts[1]), 0];
    }
    let name = host.to_string_lossy();
    for (round, &timeout) in timeouts.iter().enumerate() {
        let mut again = Vec::new();
        for addr in &list {
            let text = ip::fmt(addr, false);
            match &fqdn {
                Some(f) => log.verbose(format_args!("trying  host {f} ip {text} port {port}")),
                None => log.verbose(format_args!("trying  ip {text} port {port}")),
            }
            let err = match attempt(addr, port, timeout, config)? {
                Attempt::Connected(sock) => return Ok(sock),
                Attempt::Failed(e) => e,
            };
            if round == 0 && timeouts[1] != 0 && sys::errno(&err) == Some(Errno::TIMEDOUT) {
                again.push(*addr);
                continue;
            }
            let why = errstr(&err);
            match &fqdn {
                Some(_) => log.warn(format_args!(
                    "unable to connect to host {name} ip {text} port {port}: {why}"
                )),
                None => log.warn(format_args!(
                    "unable to connect to {text} port {port}: {why}"
                )),
            }
        }
        list = again;
    }
    Err(Failure::Silent(EXIT_TEMP))
}

/// Set PROTO and the TCP* variables for a connected socket.
fn describe(
    sock: &Socket,
    config: &Config,
    resolver: &Resolver,
    log: &Log,
    env: &mut Env,
) -> Result<(), Failure> {
    if config.nodelay {
        let _ = sock.set_tcp_nodelay(true);
    }
    let local = sock
        .local_addr()
        .and_then(|a| net::to_ip(&a))
        .map_err(|e| Failure::temp_sys("unable to get local address: ", &e))?;
    let (local_ip, local_port, scope) = local;
    let fakev4 = !config.force6 && (ip::is_mapped(&local_ip) || local_ip == ip::ANY);
    let text = |a: &Ip| match ip::v4(a) {
        Some(v4) if fakev4 => ip::fmt4(v4),
        _ => ip::fmt6(a),
    };
    env.set("PROTO", if fakev4 { "TCP" } else { "TCP6" });
    env.set("TCPLOCALPORT", local_port.to_string());
    env.set("TCPLOCALIP", text(&local_ip));
    let local_name = match &config.local_name {
        Some(n) => Some(n.clone()),
        None => ptr(resolver, &local_ip),
    };
    env.apply(OsStr::new("TCPLOCALHOST"), local_name.as_deref());

    let (remote_ip, remote_port, _) = sock
        .peer_addr()
        .and_then(|a| net::to_ip(&a))
        .map_err(|e| Failure::temp_sys("unable to get remote address: ", &e))?;
    let remote_text = text(&remote_ip);
    env.set("TCPREMOTEPORT", remote_port.to_string());
    env.set("TCPREMOTEIP", &remote_text);
    log.verbose(format_args!(
        "connected to {remote_text} port {remote_port}"
    ));
    let remote_name = if config.remote_host {
        ptr(resolver, &remote_ip)
    } else {
        None
    };
    env.apply(OsStr::new("TCPREMOTEHOST"), remote_name.as_deref());
    let info = if config.remote_info {
        let t = Duration::from_secs(config.info_timeout);
        remoteinfo::remoteinfo(&remote_ip, remote_port, &local_ip, local_port, scope, t)
            .ok()
            .map(|v| OsStr::from_bytes(&v).to_owned())
    } else {
        None
    };
    env.apply(OsStr::new("TCPREMOTEINFO"), info.as_deref());
    Ok(())
}

/// The PTR name of an address; None when there is none or the lookup fails.
fn ptr(resolver: &Resolver, addr: &Ip) -> Option<OsString> {
    match resolver.name(addr) {
        Ok(Some(n)) => Some(n.into()),
        _ => None,
    }
}

/// Put the socket on descriptors 6 and 7 and exec prog.
fn exec_with_socket(sock: Socket, prog: &[OsString], env: &Env) -> Result<i32, Failure> {
    let fd = sock.as_raw_fd();
    sys::io::dup2(&sock, 6)
        .map_err(|e| Failure::temp_sys("unable to set up descriptor 6: ", &e))?;
    sys::io::dup2(sys::io::inherited(6), 7)
        .map_err(|e| Failure::temp_sys("unable to set up descriptor 7: ", &e))?;
    if fd != 6 && fd != 7 {
        drop(sock);
    } else {
        std::mem::forget(sock);
    }
    // The default disposition the reference gives prog.
    let _ = signal::default(signal::Signal::PIPE);
    let err = indicore::exec::pathexec(prog, env);
    Err(Failure::exec(prog[0].to_string_lossy(), &err))
}
