//! tcpserver's command line (docs/ucspi-tcp.md#tcpserver-command-line): the getopt string of the TLS+IPv6
//! build, the usage text, and the parsed configuration.

use indicore::getopt::{Getopt, Opt};
use indicore::Failure;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Every option letter the reference accepts (IPv6 and TLS builds included), and `-Y`
/// (the metrics file, an extension; the usage text stays the reference's).
const OPTSTRING: &str = "dDe:vqQhHrR1UXx:m:M:t:T:u:g:l:b:B:c:C:pPoO46I:sNn:a:f:i:L:S:zY:";

pub const USAGE: &str = "usage: tcpserver
[ -461UXpPhHrRoOdDqQvsNz ]
[ -c Maxlimit | -c concurrency_file]
[ -C PerHostlimit ]
[ -x rules.cdb ]
[ -B banner ]
[ -g gid ]
[ -u uid ]
[ -b backlog ]
[ -l localname ]
[ -t timeout ]
[ -T timeoutidle ]
[ -i certdir ]
[ -n certfile ]
[ -f cipherlist ]
[ -M TLS method ]
[ -a cafile ] 
[ -L crlfile ] 
[ -I interface ]
host port program";

/// The concurrency limit: a number, or a file re-read on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitSpec {
    Number(u64),
    File(PathBuf),
}

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp { host: String, port: OsString },
    Unix(PathBuf),
}

/// TLS settings (docs/ucspi-tcp.md#tls-in-tcpserver), parsed now so that the TLS issue only has to act on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `-n file` (`-s` is `-n ""`); TLS is on when set.
    pub certfile: Option<OsString>,
    pub certdir: Option<OsString>,
    pub cafile: Option<OsString>,
    pub crlfile: Option<OsString>,
    pub cipher_file: Option<OsString>,
    pub method: Option<OsString>,
    pub handshake_timeout: u64,
    pub renegotiate: bool,
    pub provider_details: bool,
}

/// Everything the command line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub limit: LimitSpec,
    /// `-C`: parent-side per-IP limit (0: off).
    pub per_host: u64,
    /// Child-side per-IP limit: `$MAXPERIP` or 20 (rules may override it).
    pub maxperip: u64,
    pub rules: Option<PathBuf>,
    pub rules_missing_ok: bool,
    pub mysql: Option<OsString>,
    pub banner: Vec<u8>,
    pub uid: Option<OsString>,
    pub gid: Option<OsString>,
    pub print_port: bool,
    pub ipv4_only: bool,
    pub force_v6: bool,
    pub interface: Option<OsString>,
    pub backlog: i32,
    pub kill_ip_options: bool,
    pub nodelay: bool,
    pub remote_host: bool,
    pub paranoid: bool,
    pub local_name: Option<OsString>,
    pub ident: bool,
    pub ident_timeout: u64,
    pub idle_timeout: u64,
    pub verbosity: u8,
    pub pidfile: Option<PathBuf>,
    /// `-Y file`: the metrics file (an extension).
    pub metrics: Option<PathBuf>,
    pub tls: TlsOptions,
    pub endpoint: Endpoint,
    pub program: Vec<OsString>,
}

/// libqmail's scan_ulong: the leading decimal digits, the rest ignored (saturating).
pub fn scan_ulong(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |v, &d| {
            v.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        })
}

fn num(v: &Option<OsString>) -> u64 {
    v.as_deref().map_or(0, |v| scan_ulong(v.as_bytes()))
}

/// `-c ARG`: a number when all digits, otherwise a file under `$CONTROLDIR` unless it
/// starts with `/` or `.`.
pub fn limit_spec(arg: &OsStr, controldir: Option<&OsStr>) -> LimitSpec {
    let b = arg.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return LimitSpec::Number(scan_ulong(b));
    }
    if b.starts_with(b"/") || b.starts_with(b".") {
        return LimitSpec::File(PathBuf::from(arg));
    }
    let dir = controldir.unwrap_or(OsStr::new("/etc/indimail/control"));
    LimitSpec::File(PathBuf::from(dir).join(arg))
}

/// The options before the command line: `$MAXPERIP` is the default of `-C` and of the
/// per-address limit.
fn defaults(maxperip: Option<u64>) -> Options {
    Options {
        limit: LimitSpec::Number(40),
        per_host: maxperip.unwrap_or(20),
        maxperip: maxperip.unwrap_or(20),
        rules: None,
        rules_missing_ok: false,
        mysql: None,
        banner: Vec::new(),
        uid: None,
        gid: None,
        print_port: false,
        ipv4_only: false,
        force_v6: false,
        interface: None,
        backlog: 20,
        kill_ip_options: true,
        nodelay: false,
        remote_host: true,
        paranoid: false,
        local_name: None,
        ident: true,
        ident_timeout: 26,
        idle_timeout: 300,
        verbosity: 1,
        pidfile: None,
        metrics: None,
        tls: TlsOptions {
            handshake_timeout: 60,
            ..TlsOptions::default()
        },
        endpoint: Endpoint::Unix(PathBuf::new()),
        program: Vec::new(),
    }
}

/// One option letter and its argument.
fn flag(
    o: &mut Options,
    c: u8,
    arg: Option<OsString>,
    env: &impl Fn(&str) -> Option<OsString>,
    controldir: Option<&OsStr>,
) -> Result<(), Failure> {
    match c {
        b'b' => o.backlog = num(&arg).min(i32::MAX as u64) as i32,
        b'c' => o.limit = limit_spec(arg.as_deref().unwrap_or_default(), controldir),
        b'C' => o.per_host = num(&arg),
        b'x' => o.rules = arg.map(PathBuf::from),
        b'X' => o.rules_missing_ok = true,
        b'm' => o.mysql = arg,
        b'B' => o.banner = arg.map(|a| a.as_bytes().to_vec()).unwrap_or_default(),
        b'u' => o.uid = arg,
        b'g' => o.gid = arg,
        b'U' => {
            if let Some(v) = env("UID") {
                o.uid = Some(OsString::from(scan_ulong(v.as_bytes()).to_string()));
            }
            if let Some(v) = env("GID") {
                o.gid = Some(OsString::from(scan_ulong(v.as_bytes()).to_string()));
            }
        }
        b'1' => o.print_port = true,
        b'4' => o.ipv4_only = true,
        b'6' => o.force_v6 = true,
        b'I' => o.interface = arg,
        b'o' => o.kill_ip_options = false,
        b'O' => o.kill_ip_options = true,
        b'd' => o.nodelay = false,
        b'D' => o.nodelay = true,
        b'h' => o.remote_host = true,
        b'H' => o.remote_host = false,
        b'p' => o.paranoid = true,
        b'P' => o.paranoid = false,
        b'l' => o.local_name = arg,
        b'r' => o.ident = true,
        b'R' => o.ident = false,
        b't' => o.ident_timeout = num(&arg),
        b'T' => o.idle_timeout = num(&arg),
        b'v' => o.verbosity = 2,
        b'q' => o.verbosity = 0,
        b'Q' => o.verbosity = 1,
        b'e' => o.pidfile = arg.map(PathBuf::from),
        b'Y' => o.metrics = arg.map(PathBuf::from),
        b's' => o.tls.certfile = Some(OsString::new()),
        b'n' => o.tls.certfile = arg,
        b'i' => o.tls.certdir = arg,
        b'a' => o.tls.cafile = arg,
        b'L' => o.tls.crlfile = arg,
        b'f' => o.tls.cipher_file = arg,
        b'M' => o.tls.method = arg,
        b'S' => o.tls.handshake_timeout = num(&arg),
        b'N' => o.tls.renegotiate = true,
        b'z' => o.tls.provider_details = true,
        _ => return Err(Failure::usage(USAGE)),
    }
    Ok(())
}

/// Parse `args` (args[0] is the program name); `env` looks up the environment
/// variables the options depend on (MAXPERIP, UID, GID, CONTROLDIR).
pub fn parse(
    args: &[OsString],
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Options, Failure> {
    let maxperip = env("MAXPERIP").map(|v| scan_ulong(v.as_bytes()));
    let controldir = env("CONTROLDIR");
    let mut o = defaults(maxperip);
    let mut g = Getopt::new(args, OPTSTRING);
    for opt in g.by_ref() {
        let Opt::Flag(c, arg) = opt else {
            let text = g.usage(&opt, USAGE);
            return Err(Failure::usage(text));
        };
        flag(&mut o, c, arg, &env, controldir.as_deref())?;
    }
    let rest = g.rest();
    // With -q, a missing argument is silent (an unknown option was reported while reading
    // the options, before -q could take effect).
    let usage = |o: &Options| {
        Err(if o.verbosity == 0 {
            Failure::Silent(indicore::EXIT_USAGE)
        } else {
            Failure::usage(USAGE)
        })
    };
    match rest.first() {
        Some(first) if first.as_bytes().starts_with(b"/") => {
            o.endpoint = Endpoint::Unix(PathBuf::from(first));
            o.program = rest[1..].to_vec();
        }
        Some(host) if rest.len() >= 2 => {
            let host = host.to_string_lossy();
            o.endpoint = Endpoint::Tcp {
                host: if host.is_empty() {
                    "0".into()
                } else {
                    host.into_owned()
                },
                port: rest[1].clone(),
            };
            o.program = rest[2..].to_vec();
        }
        _ => return usage(&o),
    }
    if o.program.is_empty() {
        return usage(&o);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn defaults_and_bundles() {
        let o = parse(
            &args(&[
                "tcpserver",
                "-Rt5",
                "-Xx",
                "r.cdb",
                "-hp",
                "0",
                "25",
                "prog",
                "-a",
            ]),
            no_env,
        )
        .unwrap();
        assert!(!o.ident && o.rules_missing_ok && o.paranoid && o.remote_host);
        assert_eq!(o.ident_timeout, 5);
        assert_eq!(o.rules, Some(PathBuf::from("r.cdb")));
        assert_eq!(o.limit, LimitSpec::Number(40));
        assert_eq!(
            (o.per_host, o.maxperip, o.backlog, o.verbosity),
            (20, 20, 20, 1)
        );
        assert_eq!(o.program, args(&["prog", "-a"]));
        assert_eq!(
            o.endpoint,
            Endpoint::Tcp {
                host: "0".into(),
                port: "25".into()
            }
        );
    }

    #[test]
    fn maxperip_sets_both_limits_and_c_only_the_parent() {
        let env = |k: &str| (k == "MAXPERIP").then(|| OsString::from("3"));
        let o = parse(&args(&["tcpserver", "-C", "30", "", "1", "p"]), env).unwrap();
        assert_eq!((o.per_host, o.maxperip), (30, 3));
        assert!(matches!(o.endpoint, Endpoint::Tcp { ref host, .. } if host == "0"));
    }

    #[test]
    fn limit_numbers_and_files() {
        assert_eq!(limit_spec(OsStr::new("10"), None), LimitSpec::Number(10));
        assert_eq!(
            limit_spec(OsStr::new("10x"), None),
            LimitSpec::File("/etc/indimail/control/10x".into())
        );
        assert_eq!(
            limit_spec(OsStr::new("./variables/MAXDAEMONS"), Some(OsStr::new("/c"))),
            LimitSpec::File("./variables/MAXDAEMONS".into())
        );
        assert_eq!(
            limit_spec(OsStr::new("maxd"), Some(OsStr::new("/c"))),
            LimitSpec::File("/c/maxd".into())
        );
    }

    #[test]
    fn unix_socket_and_usage_errors() {
        let o = parse(
            &args(&["tcpserver", "-e", "pf", "/run/x.sock", "prog"]),
            no_env,
        )
        .unwrap();
        assert_eq!(o.endpoint, Endpoint::Unix("/run/x.sock".into()));
        assert_eq!(o.pidfile, Some(PathBuf::from("pf")));
        for bad in [
            &["tcpserver", "0", "0"][..],
            &["tcpserver", "/s"],
            &["tcpserver"],
            &["tcpserver", "-V", "0", "0", "x"],
        ] {
            assert!(
                matches!(parse(&args(bad), no_env), Err(Failure::Usage(_))),
                "{bad:?}"
            );
        }
        // -q silences a missing argument, not a bad option (read before -q took effect).
        assert!(matches!(
            parse(&args(&["tcpserver", "-q", "-V", "0", "0", "x"]), no_env),
            Err(Failure::Usage(_))
        ));
        assert_eq!(
            parse(&args(&["tcpserver", "-q", "0", "0"]), no_env),
            Err(Failure::Silent(100))
        );
    }

    #[test]
    fn numbers_are_scanned_like_scan_ulong() {
        assert_eq!(scan_ulong(b"abc"), 0);
        assert_eq!(scan_ulong(b"12x"), 12);
        let o = parse(
            &args(&["tcpserver", "-t", "abc", "-b5x", "0", "0", "x"]),
            no_env,
        )
        .unwrap();
        assert_eq!((o.ident_timeout, o.backlog), (0, 5));
    }
}
