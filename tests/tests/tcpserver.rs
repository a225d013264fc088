//! Black-box tests of tcpserver: acceptance checks 1-27 and 53 of docs/ucspi-tcp.md#acceptance-checks
//! (those without TLS or plugins), decisions U1-U6, and the reliability and security
//! checks of issue 6: a 5,000-connection flood against `-c 40 -C 10`, damaged rules
//! files, privileges after `-u`/`-g`, and the descriptors children inherit.
//!
//! Servers listen on 127.0.0.1 or ::1 only, on a port the kernel picks (`-1` prints it),
//! in a process group of their own that is killed when the test ends.

use blackbox::{bin, is_root, skip, test_path, user, Cmd};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: tcpserver
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
host port program
";

/// How long a test waits for something the server must do.
const PATIENCE: Duration = Duration::from_secs(20);

fn tmp() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("tcpserver.")
        .tempdir()
        .unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// An executable script `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// The program most tests run: the connection environment, sorted.
fn print_env(dir: &Path) -> String {
    script(
        dir,
        "print",
        "#!/bin/sh\nenv | grep -E '^(PROTO|TCP|UNIX|which|MAXPERIP|HOME|X)' | sort\n",
    )
    .to_string_lossy()
    .into_owned()
}

/// Compile `rules` into `dir/name` with our tcprules.
fn rules(dir: &Path, name: &str, text: &str) -> String {
    Cmd::bin("tcprules")
        .clean_env()
        .cwd(dir)
        .args([name, &format!("{name}.tmp")])
        .stdin(text)
        .run()
        .assert(0, "", "");
    dir.join(name).to_string_lossy().into_owned()
}

/// A running tcpserver with its log collected as it is written.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Start a TCP tcpserver with `args` (which must include `-1`) in `dir`, with PATH
    /// and `env` only; returns once it listens, with the port it printed.
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(dir, args, env, true)
    }

    /// Start a UNIX-socket tcpserver (no port to read).
    fn unix(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::spawn(dir, args, env, false)
    }

    fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)], tcp: bool) -> Server {
        Server::spawn_wrapped(&[], dir, args, env, tcp, |_| {})
    }

    /// Start tcpserver, through `wrap` (a command and its arguments, such as strace) when
    /// not empty; `adjust` changes the command before it runs.
    fn spawn_wrapped(
        wrap: &[&str],
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        tcp: bool,
        adjust: impl FnOnce(&mut Command),
    ) -> Server {
        let tcpserver = bin("tcpserver");
        let mut cmd = match wrap.split_first() {
            None => blackbox::command(&tcpserver),
            Some((first, rest)) => {
                let mut c = blackbox::command(first);
                c.args(rest).arg(&tcpserver);
                c
            }
        };
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", test_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        adjust(&mut cmd);
        let mut child = cmd.spawn().expect("start tcpserver");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut server = Server {
            child,
            port: 0,
            log,
        };
        let stdout = server.child.stdout.take().unwrap();
        if tcp {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            server.port = line.trim().parse().unwrap_or_else(|_| {
                panic!("no port printed: {line:?}, log: {}", server.log_text())
            });
        }
        server
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// Wait until the log holds `needle`; returns the whole log.
    #[track_caller]
    fn wait_log(&self, needle: &str) -> String {
        self.wait_log_n(needle, 1)
    }

    /// Wait until the log holds `needle` at least `n` times; returns the whole log.
    #[track_caller]
    fn wait_log_n(&self, needle: &str, n: usize) -> String {
        let end = Instant::now() + PATIENCE;
        loop {
            let text = self.log_text();
            if text.matches(needle).count() >= n {
                return text;
            }
            assert!(Instant::now() < end, "log never showed {needle:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> Option<i32> {
        self.signal(libc::SIGTERM);
        let end = Instant::now() + PATIENCE;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            assert!(Instant::now() < end, "tcpserver ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Live children of the server.
    fn children(&self) -> usize {
        let p = format!("/proc/{}/task/{}/children", self.pid(), self.pid());
        fs::read_to_string(p)
            .map(|s| s.split_whitespace().count())
            .unwrap_or(0)
    }

    fn open_fds(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill the server's process group (its children too), then reap it.
        unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Connect, read until EOF.
fn fetch_from(addr: SocketAddr) -> Vec<u8> {
    let mut s = connect(addr);
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

fn fetch(port: u16) -> String {
    String::from_utf8_lossy(&fetch_from(([127, 0, 0, 1], port).into())).into_owned()
}

fn local(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}

/// Read one line (up to `\n`) from a connection.
fn read_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).unwrap_or(0) == 1 {
        out.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn lines_of(s: &str) -> Vec<&str> {
    s.lines().collect()
}

/// Split the env dump `NAME=value` lines into a sorted list.
fn env_of(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

// ----------------------------------------------------------------------------------------
// 1-7: command line and startup

#[test]
fn check01_02_usage() {
    let t = tmp();
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["0", "0"])
        .run()
        .assert(100, "", USAGE);
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["-V", "0", "0", "x"])
        .run()
        .assert(100, "", &format!("tcpserver: illegal option -- V\n{USAGE}"));
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["-c"])
        .run()
        .assert(
            100,
            "",
            &format!("tcpserver: option requires an argument -- c\n{USAGE}"),
        );
    // -q silences everything, the exit code stays.
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["-q", "0", "0"])
        .run()
        .assert(100, "", "");
}

#[test]
fn check03_05_port_and_bind_errors() {
    let t = tmp();
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["0", "nonexistentport", "echo", "x"])
        .run()
        .assert(
            111,
            "",
            "tcpserver: fatal: unable to figure out port number for nonexistentport\n",
        );
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["1.2.3.4", "016", "echo", "x"])
        .run()
        .assert(
            111,
            "",
            "tcpserver: fatal: unable to bind: address not available\n",
        );
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["127.0.0.1", &port, "echo", "x"])
        .run()
        .assert(
            111,
            "",
            "tcpserver: fatal: unable to bind: address already used\n",
        );
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["-q", "127.0.0.1", &port, "echo", "x"])
        .run()
        .assert(111, "", "");
    // Options the reference has but this build refuses, clearly.
    let out = Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["-m", "db.conf", "127.0.0.1", "0", "echo"])
        .run();
    out.assert_code(111);
    assert!(out.stderr_str().contains("MySQL"), "{out:?}");
}

#[test]
fn check06_privilege_errors_as_a_user() {
    let t = tmp();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Cmd::bin("tcpserver").clean_env().cwd(t.path()).args(args);
        for (k, v) in env {
            c = c.env(k, v);
        }
        if is_root() {
            let (uid, gid, _) = user("nobody").unwrap();
            c = c.user(uid, gid);
        } else if unsafe { libc::getuid() } == 1 {
            return None;
        }
        Some(c.run())
    };
    if let Some(out) = run(&["-u", "1", "127.0.0.1", "0", "echo", "x"], &[]) {
        out.assert(
            111,
            "",
            "tcpserver: fatal: unable to set uid: permission denied\n",
        );
    }
    if let Some(out) = run(&["-g", "2", "127.0.0.1", "0", "echo", "x"], &[]) {
        out.assert(
            111,
            "",
            "tcpserver: fatal: unable to set gid: permission denied\n",
        );
    }
    if let Some(out) = run(&["-U", "127.0.0.1", "0", "echo", "x"], &[("UID", "1")]) {
        out.assert(
            111,
            "",
            "tcpserver: fatal: unable to set uid: permission denied\n",
        );
    }
}

#[test]
fn check07_08_ipv4_environment() {
    let t = tmp();
    let prog = print_env(t.path());
    let s = Server::start(
        t.path(),
        &["-1", "-H", "-R", "-l", "Local", "127.0.0.1", "0", &prog],
        &[],
    );
    assert!(s.port > 0);
    let mut c = connect(local(s.port));
    let rport = c.local_addr().unwrap().port();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(
        env_of(&out),
        env_of(&format!(
            "PROTO=TCP\nTCPLOCALHOST=Local\nTCPLOCALIP=127.0.0.1\nTCPLOCALPORT={p}\n\
             TCPREMOTEIP=127.0.0.1\nTCPREMOTEPORT={rport}\n",
            p = s.port
        ))
    );
}

#[test]
fn check09_10_dual_stack_environment() {
    let t = tmp();
    let prog = print_env(t.path());
    let s = Server::start(t.path(), &["-1HRl", "L", "0", "0", &prog], &[]);
    let mut c = connect(local(s.port));
    let rport = c.local_addr().unwrap().port();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(
        env_of(&out),
        env_of(&format!(
            "PROTO=TCP\nTCPLOCALHOST=L\nTCPLOCALIP=127.0.0.1\nTCPLOCALPORT={p}\n\
             TCPREMOTEIP=127.0.0.1\nTCPREMOTEPORT={rport}\nTCP6LOCALHOST=L\n\
             TCP6LOCALIP=::ffff:127.0.0.1\nTCP6LOCALPORT={p}\nTCP6REMOTEIP=::ffff:127.0.0.1\n\
             TCP6REMOTEPORT={rport}\n",
            p = s.port
        ))
    );
    let v6: SocketAddr = format!("[::1]:{}", s.port).parse().unwrap();
    let mut c = connect(v6);
    let rport = c.local_addr().unwrap().port();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(
        env_of(&out),
        env_of(&format!(
            "PROTO=TCP6\nTCPLOCALHOST=L\nTCPLOCALIP=::1\nTCPLOCALPORT={p}\n\
             TCPREMOTEIP=::1\nTCPREMOTEPORT={rport}\nTCP6LOCALHOST=L\n\
             TCP6LOCALIP=::1\nTCP6LOCALPORT={p}\nTCP6REMOTEIP=::1\nTCP6REMOTEPORT={rport}\n",
            p = s.port
        ))
    );
    // -4 on the wildcard gives an IPv4 socket: no TCP6 variables.
    let s4 = Server::start(t.path(), &["-41HRl", "L", "0", "0", &prog], &[]);
    assert!(!fetch(s4.port).contains("TCP6"));
}

#[test]
fn check11_force_v6_formatting() {
    let t = tmp();
    let prog = print_env(t.path());
    let s = Server::start(
        t.path(),
        &["-v6", "-1HRl", "L", "127.0.0.1", "0", &prog],
        &[],
    );
    let out = fetch(s.port);
    assert!(out.contains("PROTO=TCP6\n"), "{out}");
    assert!(out.contains("TCPREMOTEIP=::ffff:127.0.0.1\n"), "{out}");
    assert!(out.contains("TCPLOCALIP=::ffff:127.0.0.1\n"), "{out}");
    // U5: the ok line shows the mapped form, not empty brackets.
    let log = s.wait_log("sigchild");
    assert!(
        log.contains(&format!(
            "L[::ffff:127.0.0.1]{} [::ffff:127.0.0.1]:",
            s.port
        )),
        "{log}"
    );
}

#[test]
fn check12_banner_sent_whatever_its_length() {
    let t = tmp();
    for banner in ["0123456789abcdefXYZ", "banner"] {
        let s = Server::start(
            t.path(),
            &[
                "-1HRl0",
                "-B",
                banner,
                "127.0.0.1",
                "0",
                "sh",
                "-c",
                "echo prog",
            ],
            &[],
        );
        assert_eq!(fetch(s.port), format!("{banner}prog\n"));
    }
}

/// A long banner to a client with a small receive window arrives whole and in order,
/// before the program's output (the server sends what the socket takes without
/// waiting and leaves the rest to the connection's own process).
#[test]
fn long_banner_to_a_slow_reader() {
    let t = tmp();
    let big: String = (0..120_000)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let s = Server::start(
        t.path(),
        &[
            "-1HRl0",
            "-B",
            &big,
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo prog",
        ],
        &[],
    );
    // SAFETY: socket/setsockopt/connect on a fresh descriptor that TcpStream then owns.
    let mut c = unsafe {
        use std::os::fd::FromRawFd;
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let small: libc::c_int = 2048;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: s.port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        let r = libc::connect(
            fd,
            &sin as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    };
    // Read slowly at first, so the server meets a full window.
    std::thread::sleep(Duration::from_millis(300));
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    assert_eq!(out.len(), big.len() + 5);
    assert!(out.starts_with(big.as_bytes()) && out.ends_with(b"prog\n"));
}

#[test]
fn check13_verbose_log_lines() {
    let t = tmp();
    let s = Server::start(t.path(), &["-v1HRl", "L", "127.0.0.1", "0", "true"], &[]);
    let mut c = connect(local(s.port));
    let rport = c.local_addr().unwrap().port();
    let mut sink = Vec::new();
    c.read_to_end(&mut sink).unwrap();
    let log = s.wait_log("sigchild");
    let l = lines_of(&log);
    assert_eq!(l.len(), 5, "{log}");
    assert!(l[0].starts_with(&format!(
        "tcpserver: status: 0/40 startup, pid={}, TLS=disabled, use sql=NO",
        s.pid()
    )));
    let pid: u32 = l[1]
        .strip_prefix("tcpserver: pid ")
        .and_then(|r| r.strip_suffix(" from 127.0.0.1"))
        .unwrap_or_else(|| panic!("{log}"))
        .parse()
        .unwrap();
    assert_eq!(
        l[2],
        format!(
            "tcpserver: ok {pid} L[127.0.0.1]{} [127.0.0.1]:{rport}:maxperip=20",
            s.port
        )
    );
    assert_eq!(
        l[3],
        format!("tcpserver: status: 1/40 un-encrypted session, pid={pid}, IP 127.0.0.1")
    );
    assert_eq!(l[4], format!("tcpserver: status: 0/40 sigchild, pid={pid}"));
}

#[test]
fn check14_end_lines() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &["-v1HRl0", "127.0.0.1", "0", "sh", "-c", "exit 3"],
        &[],
    );
    fetch(s.port);
    let log = s.wait_log("sigchild");
    assert!(
        log.lines()
            .any(|l| l.starts_with("tcpserver: end ") && l.ends_with(" status 3")),
        "{log}"
    );
    let s = Server::start(
        t.path(),
        &["-v1HRl0", "127.0.0.1", "0", "sh", "-c", "kill -PIPE $$"],
        &[],
    );
    fetch(s.port);
    let log = s.wait_log("sigchild");
    assert!(
        log.lines().any(|l| l.ends_with(" killed by signal 13")),
        "{log}"
    );
    // A zero exit prints no end line.
    let s = Server::start(t.path(), &["-v1HRl0", "127.0.0.1", "0", "true"], &[]);
    fetch(s.port);
    let log = s.wait_log("sigchild");
    assert!(!log.contains(" end "), "{log}");
}

#[test]
fn check15_sigterm() {
    let t = tmp();
    let s = Server::start(t.path(), &["-v1", "127.0.0.1", "0", "true"], &[]);
    let pid = s.pid();
    let log = s.log.clone();
    assert_eq!(s.stop(), Some(0));
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(
        text.contains(&format!("tcpserver: status: 0/40 shutdown, pid={pid}\n")),
        "{text}"
    );
}

#[test]
fn check16_limit_file_and_sighup() {
    let t = tmp();
    fs::write(t.path().join("maxd"), "7\n").unwrap();
    let s = Server::start(
        t.path(),
        &["-v1", "-c", "./maxd", "127.0.0.1", "0", "true"],
        &[],
    );
    s.wait_log("status: 0/7 startup");
    fs::write(t.path().join("maxd"), "9\n").unwrap();
    s.signal(libc::SIGHUP);
    s.wait_log("tcpserver: sighup: 0/9\n");
    // Non-numeric text leaves the limit; a missing file too.
    fs::write(t.path().join("maxd"), "lots\n").unwrap();
    s.signal(libc::SIGHUP);
    let log = s.wait_log("sighup: 0/9\ntcpserver: sighup: 0/9\n");
    assert!(!log.contains("fatal"), "{log}");
    fs::remove_file(t.path().join("maxd")).unwrap();
    s.signal(libc::SIGHUP);
    s.wait_log("sighup: 0/9\ntcpserver: sighup: 0/9\ntcpserver: sighup: 0/9\n");
    assert_eq!(fetch(s.port), "");
    // U2: SIGHUP with a numeric -c never crashes.
    let s = Server::start(
        t.path(),
        &["-1", "-c", "5", "127.0.0.1", "0", "echo", "up"],
        &[],
    );
    s.signal(libc::SIGHUP);
    s.wait_log("tcpserver: sighup: 0/5\n");
    assert_eq!(fetch(s.port), "up\n");
    // A relative name is looked for under $CONTROLDIR.
    fs::create_dir(t.path().join("control")).unwrap();
    fs::write(t.path().join("control/maxd"), "3").unwrap();
    let ctl = t.path().join("control").to_string_lossy().into_owned();
    let s = Server::start(
        t.path(),
        &["-v1", "-c", "maxd", "127.0.0.1", "0", "true"],
        &[("CONTROLDIR", &ctl)],
    );
    s.wait_log("status: 0/3 startup");
}

#[test]
fn check17_sigusr1_dumps_busy_slots() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &["-v1HRl0", "127.0.0.1", "0", "sh", "-c", "echo hi; read x"],
        &[],
    );
    let mut c = connect(local(s.port));
    assert_eq!(read_line(&mut c), "hi\n");
    let log = s.wait_log("un-encrypted session");
    let pid = log
        .lines()
        .find_map(|l| l.strip_prefix("tcpserver: pid "))
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_string();
    s.signal(libc::SIGUSR1);
    s.wait_log(&format!("tcpserver: 0: IP 127.0.0.1: PID {pid}\n"));
    c.write_all(b"x\n").unwrap();
}

#[test]
fn check18_global_limit_defers_accept() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &[
            "-1",
            "-c",
            "1",
            "-HRl0",
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo hi; read x; echo bye",
        ],
        &[],
    );
    let mut a = connect(local(s.port));
    assert_eq!(read_line(&mut a), "hi\n");
    let mut b = connect(local(s.port));
    b.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 16];
    let e = b
        .read(&mut buf)
        .expect_err("second client served while the first runs");
    assert!(matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    a.write_all(b"x\n").unwrap();
    assert_eq!(read_line(&mut a), "bye\n");
    b.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_line(&mut b), "hi\n");
    b.write_all(b"x\n").unwrap();
    // -c 0 never accepts.
    let z = Server::start(
        t.path(),
        &["-1", "-c", "0", "127.0.0.1", "0", "echo", "x"],
        &[],
    );
    let mut c = connect(local(z.port));
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(c.read(&mut buf).is_err());
}

#[test]
fn check19_program_that_cannot_run() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &["-v1HRl0", "127.0.0.1", "0", "/nonexistent/prog"],
        &[],
    );
    assert_eq!(fetch(s.port), "");
    let log = s.wait_log("sigchild");
    assert!(log.contains(
        "tcpserver: warning: dropping connection, unable to run /nonexistent/prog: file does not exist\n"
    ), "{log}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("tcpserver: end ") && l.ends_with(" status 111")),
        "{log}"
    );
}

/// `-H -R -l L` starts programs without a full fork; `-H -r -l L` (ident refused at
/// once on loopback) goes through the forked child. Both must give the program the same
/// environment and write the same log lines.
#[test]
fn fast_and_forked_paths_agree() {
    let t = tmp();
    let prog = print_env(t.path());
    let cdb = rules(
        t.path(),
        "a.cdb",
        "127.0.0.1:allow,X=\"rule\",!HOME,MAXPERIP=\"7\"\n",
    );
    let mut seen = Vec::new();
    for ident in ["-R", "-r"] {
        let s = Server::start(
            t.path(),
            &[
                "-v1H", ident, "-t", "5", "-l", "L", "-x", &cdb, "0", "0", &prog,
            ],
            &[("HOME", "/h"), ("TCPREMOTEINFO", "stale")],
        );
        let mut c = connect(local(s.port));
        let rport = c.local_addr().unwrap().port();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        let log = s.wait_log("sigchild");
        let pid = log
            .lines()
            .find_map(|l| l.strip_prefix("tcpserver: pid "))
            .and_then(|r| r.split(' ').next())
            .unwrap()
            .to_string();
        let norm = |x: &str| {
            x.replace(&pid, "PID")
                .replace(&rport.to_string(), "RPORT")
                .replace(&s.port.to_string(), "PORT")
                .replace(&s.pid().to_string(), "SERVER")
        };
        let mut log_lines: Vec<String> = log.lines().map(norm).collect();
        log_lines.sort();
        seen.push((env_of(&norm(&out)), log_lines));
    }
    assert_eq!(seen[0], seen[1]);
    let (env, log) = &seen[0];
    assert!(
        env.contains(&"X=rule".to_string()) && !env.iter().any(|v| v.starts_with("HOME=")),
        "{env:?}"
    );
    assert!(!env.iter().any(|v| v.contains("INFO")), "{env:?}");
    assert!(
        log.contains(
            &"tcpserver: ok PID L[127.0.0.1]PORT [127.0.0.1]:RPORT:maxperip=7".to_string()
        ),
        "{log:?}"
    );
}

/// Replace whole runs of digits found in `pids` by PID and in `ports` by PORT.
fn normalise(text: &str, pids: &[String], ports: &[String]) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if pids.contains(run) {
            out.push_str("PID");
        } else if ports.contains(run) {
            out.push_str("PORT");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One session against a server traced by strace: what the clients received and the
/// log, normalised, and the clone calls the server made.
fn fastpath_session(dir: &Path, prog: &str, cdb: &str, off: bool) -> (Vec<String>, String) {
    let trace = dir.join(if off { "trace.off" } else { "trace.on" });
    let trace_s = trace.to_string_lossy().into_owned();
    let mut env = vec![("MAXPERIP", "5")];
    if off {
        env.push(("TCPSERVER_NO_FASTPATH", "1"));
    }
    let mut s = Server::spawn_wrapped(
        &[
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=clone,clone3,fork,vfork",
            "-o",
            &trace_s,
        ],
        dir,
        &[
            "-v1HR",
            "-l",
            "L",
            "-c",
            "3",
            "-B",
            "hello\n",
            "-x",
            cdb,
            "127.0.0.1",
            "0",
            prog,
        ],
        &env,
        true,
        |_| {},
    );
    let to = local(s.port);
    let from = |ip: [u8; 4]| SocketAddr::from((ip, 0));
    let open = |ip: [u8; 4]| {
        let c = socket2_connect(from(ip), to).unwrap();
        c.set_read_timeout(Some(PATIENCE)).unwrap();
        c
    };
    let mut ports = vec![s.port.to_string()];
    let mut received = Vec::new();
    // Two held programs: one from 127.0.0.1, one from 127.0.0.3 (MAXPERIP=1 by rule).
    let mut held = Vec::new();
    for ip in [[127, 0, 0, 1], [127, 0, 0, 3]] {
        let mut c = open(ip);
        ports.push(c.local_addr().unwrap().port().to_string());
        assert_eq!(read_line(&mut c), "hello\n");
        held.push(c);
    }
    s.wait_log("ok ");
    let end = Instant::now() + PATIENCE;
    while s.log_text().matches("tcpserver: ok ").count() < 2 {
        assert!(Instant::now() < end, "{}", s.log_text());
        std::thread::sleep(Duration::from_millis(10));
    }
    // Refused in the child: over MAXPERIP, then denied by a rule.
    for ip in [[127, 0, 0, 3], [127, 0, 0, 2]] {
        let mut c = open(ip);
        ports.push(c.local_addr().unwrap().port().to_string());
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        received.push(String::from_utf8_lossy(&out).into_owned());
    }
    // A third program fills -c 3.
    let mut c = open([127, 0, 0, 1]);
    ports.push(c.local_addr().unwrap().port().to_string());
    assert_eq!(read_line(&mut c), "hello\n");
    held.push(c);
    s.wait_log("status: 3/3");
    for (i, mut c) in held.into_iter().enumerate() {
        writeln!(c, "line{i}").unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        received.push(String::from_utf8_lossy(&out).into_owned());
    }
    let end = Instant::now() + PATIENCE;
    // Non-zero exits: the deny (100), the per-IP refusal (111), programs 1 and 2.
    while s.log_text().matches("tcpserver: end ").count() < 4
        || s.log_text().matches("sigchild").count() < 5
    {
        assert!(Instant::now() < end, "{}", s.log_text());
        std::thread::sleep(Duration::from_millis(10));
    }
    let log = s.log_text();
    let mut pids: Vec<String> = log
        .lines()
        .filter_map(|l| l.strip_prefix("tcpserver: pid "))
        .filter_map(|r| r.split(' ').next())
        .map(str::to_string)
        .collect();
    let server = fs::read_to_string(format!("/proc/{}/task/{}/children", s.pid(), s.pid()))
        .unwrap_or_default();
    pids.extend(server.split_whitespace().map(str::to_string));
    // SIGTERM to tcpserver itself; strace exits with its status.
    let tcpserver: i32 = server.trim().parse().expect("tcpserver under strace");
    // SAFETY: kill(2) on the traced tcpserver, a child of our own strace.
    unsafe { libc::kill(tcpserver, libc::SIGTERM) };
    let end = Instant::now() + PATIENCE;
    let code = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st.code();
        }
        assert!(Instant::now() < end, "tcpserver ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(code, Some(0));
    let mut lines: Vec<String> = log.lines().map(|l| normalise(l, &pids, &ports)).collect();
    lines.sort();
    let mut all: Vec<String> = received
        .iter()
        .map(|r| normalise(r, &pids, &ports))
        .collect();
    all.extend(lines);
    (all, fs::read_to_string(&trace).unwrap_or_default())
}

/// TCPSERVER_NO_FASTPATH=1 sends every connection through the forked child: the clients,
/// the programs' environment, exit codes and the log are the same as with the fast path,
/// and strace shows the fast path's clone(CLONE_VM) only when it is on.
#[test]
fn fast_path_switched_off_behaves_the_same() {
    if !Path::new("/usr/bin/strace").exists() {
        return skip("strace is not installed (TEST_PACKAGES_tcpserver)");
    }
    let t = tmp();
    let prog = script(
        t.path(),
        "prog",
        "#!/bin/sh\nread x\necho \"got $x pid $$\"\n\
         echo \"$PROTO $TCPLOCALHOST $TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP $TCPREMOTEPORT\"\n\
         echo \"host=${TCPREMOTEHOST-unset} info=${TCPREMOTEINFO-unset} X=${X-unset} M=${MAXPERIP-unset}\"\n\
         case $x in line0) exit 0;; line1) exit 3;; *) exit 7;; esac\n",
    )
    .to_string_lossy()
    .into_owned();
    let cdb = rules(
        t.path(),
        "a.cdb",
        "127.0.0.2:deny\n127.0.0.3:allow,X=\"three\",MAXPERIP=\"1\"\n:allow,X=\"any\"\n",
    );
    let (on, trace_on) = fastpath_session(t.path(), &prog, &cdb, false);
    let (off, trace_off) = fastpath_session(t.path(), &prog, &cdb, true);
    assert_eq!(on, off);
    let fast = |trace: &str| {
        trace
            .lines()
            .filter(|l| l.contains("CLONE_VM") && !l.contains("CLONE_THREAD"))
            .count()
    };
    assert!(fast(&trace_on) > 0, "fast path not used:\n{trace_on}");
    assert_eq!(fast(&trace_off), 0, "fast path used when off:\n{trace_off}");
    let text = on.join("\n");
    for needle in [
        "got line0 pid PID",
        "TCP L 127.0.0.1 PORT 127.0.0.1 PORT",
        "host=unset info=unset X=any M=5",
        "X=three M=1",
        "deny PID",
        "status: 3/3",
        "no ip slots for 127.0.0.3, perIPlimit 1",
        "end PID status 3",
        "end PID status 7",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
}

// ----------------------------------------------------------------------------------------
// 20-23: rules

#[test]
fn check20_deny_rule() {
    let t = tmp();
    let cdb = rules(t.path(), "d.cdb", "127.0.0.1:deny\n");
    let s = Server::start(
        t.path(),
        &["-v1HRl0", "-x", &cdb, "127.0.0.1", "0", "echo", "x"],
        &[],
    );
    assert_eq!(fetch(s.port), "");
    let log = s.wait_log("sigchild");
    assert!(
        log.lines().any(|l| l.starts_with("tcpserver: deny ")),
        "{log}"
    );
    assert!(log.lines().any(|l| l.ends_with(" status 100")), "{log}");
    assert!(!log.contains("un-encrypted"), "{log}");
}

#[test]
fn check21_missing_rules_file() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &[
            "-v1HRl0",
            "-x",
            "missing.cdb",
            "127.0.0.1",
            "0",
            "echo",
            "x",
        ],
        &[],
    );
    assert_eq!(fetch(s.port), "");
    let log = s.wait_log("sigchild");
    assert!(log.contains(
        "tcpserver: warning: dropping connection, unable to read missing.cdb: file does not exist\n"
    ), "{log}");
    assert!(log.lines().any(|l| l.ends_with(" status 111")), "{log}");
    let s = Server::start(
        t.path(),
        &[
            "-1XHRl0",
            "-x",
            "missing.cdb",
            "127.0.0.1",
            "0",
            "echo",
            "x",
        ],
        &[],
    );
    assert_eq!(fetch(s.port), "x\n");
}

#[test]
fn check22_rule_environment_and_maxperip() {
    let t = tmp();
    let prog = print_env(t.path());
    let cdb = rules(
        t.path(),
        "e.cdb",
        "127.0.0.1:allow,which=\"first\",MAXPERIP=\"5\",!HOME\n",
    );
    let s = Server::start(
        t.path(),
        &["-v1HRl0", "-x", &cdb, "127.0.0.1", "0", &prog],
        &[("HOME", "/home/x")],
    );
    let out = fetch(s.port);
    assert!(
        out.contains("which=first\n") && out.contains("MAXPERIP=5\n"),
        "{out}"
    );
    assert!(!out.contains("HOME="), "{out}");
    let log = s.wait_log("sigchild");
    assert!(log.contains(":maxperip=5\n"), "{log}");
}

#[test]
fn check23_rules_replaced_while_running() {
    let t = tmp();
    let cdb = rules(t.path(), "live.cdb", "127.0.0.1:allow,X=\"one\"\n");
    let s = Server::start(
        t.path(),
        &[
            "-1HRl0",
            "-x",
            &cdb,
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo $X",
        ],
        &[],
    );
    assert_eq!(fetch(s.port), "one\n");
    rules(t.path(), "live.cdb", "127.0.0.1:allow,X=\"two\"\n");
    assert_eq!(fetch(s.port), "two\n");
    rules(t.path(), "live.cdb", "127.:deny\n");
    assert_eq!(fetch(s.port), "");
}

#[test]
fn damaged_rules_cdb_drops_without_crashing() {
    let t = tmp();
    let cdb = rules(t.path(), "g.cdb", "127.0.0.1:allow,X=\"ok\"\n:deny\n");
    let good = fs::read(&cdb).unwrap();
    let s = Server::start(
        t.path(),
        &[
            "-v1XHRl0",
            "-x",
            &cdb,
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo $X",
        ],
        &[],
    );
    for cut in [0usize, 1000, 2047, 2060] {
        fs::write(t.path().join("bad.tmp"), &good[..cut]).unwrap();
        fs::rename(t.path().join("bad.tmp"), &cdb).unwrap();
        assert_eq!(fetch(s.port), "");
    }
    let log = s.wait_log("unable to read");
    assert!(
        log.contains(&format!(
            "dropping connection, unable to read {cdb}: protocol error"
        )),
        "{log}"
    );
    fs::write(&cdb, &good).unwrap();
    assert_eq!(fetch(s.port), "ok\n");
    assert!(!log.contains("killed by signal"), "{log}");
}

// ----------------------------------------------------------------------------------------
// 24-27: per-IP limits

/// Open `n` connections to a server whose program says "hi" then waits for a line;
/// returns what each connection got first ("hi\n" or "" when closed at once).
fn hold(port: u16, n: usize) -> (Vec<TcpStream>, Vec<String>) {
    let mut conns = Vec::new();
    let mut got = Vec::new();
    for _ in 0..n {
        let mut c = connect(local(port));
        got.push(read_line(&mut c));
        conns.push(c);
    }
    (conns, got)
}

#[test]
fn check24_parent_per_ip_limit() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &[
            "-v1HRl0",
            "-C",
            "2",
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo hi; read x",
        ],
        &[],
    );
    let (_conns, got) = hold(s.port, 3);
    assert_eq!(got, ["hi\n", "hi\n", ""]);
    s.wait_log("tcpserver: end 127.0.0.1 perIPlimit 2\n");
}

#[test]
fn check25_child_side_maxperip_default() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &[
            "-v1HRl0",
            "-C",
            "30",
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo hi; read x",
        ],
        &[],
    );
    let (_conns, got) = hold(s.port, 22);
    assert!(got[..20].iter().all(|g| g == "hi\n"), "{got:?}");
    assert_eq!(got[20..], ["", ""]);
    // The clients saw their answers; the connections' own log lines may still be coming.
    let refused = "dropping connection, no ip slots for 127.0.0.1, perIPlimit 20: access denied\n";
    s.wait_log_n(refused, 2);
    let log = s.wait_log_n("tcpserver: ok ", 22);
    assert_eq!(log.matches(refused).count(), 2, "{log}");
    assert_eq!(log.matches("tcpserver: ok ").count(), 22, "{log}");
    s.wait_log(" status 111\n");
}

#[test]
fn check26_maxperip_environment() {
    let t = tmp();
    let s = Server::start(
        t.path(),
        &[
            "-v1HRl0",
            "-C",
            "30",
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo hi; read x",
        ],
        &[("MAXPERIP", "3")],
    );
    let (_conns, got) = hold(s.port, 5);
    assert_eq!(got, ["hi\n", "hi\n", "hi\n", "", ""]);
    let log = s.wait_log("perIPlimit 3: access denied\n");
    assert!(log.contains(":maxperip=3\n"), "{log}");
}

#[test]
fn check27_maxperip_from_a_rule() {
    let t = tmp();
    let cdb = rules(t.path(), "m.cdb", "127.0.0.1:allow,MAXPERIP=\"1\"\n");
    let s = Server::start(
        t.path(),
        &[
            "-v1HRl0",
            "-C",
            "10",
            "-x",
            &cdb,
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "echo hi; read x",
        ],
        &[],
    );
    let (_conns, got) = hold(s.port, 2);
    assert_eq!(got, ["hi\n", ""]);
    s.wait_log("no ip slots for 127.0.0.1, perIPlimit 1: access denied\n");
}

// ----------------------------------------------------------------------------------------
// 53: UNIX sockets

#[test]
fn check53_unix_socket_and_pidfile() {
    use std::os::unix::net::UnixStream;
    let t = tmp();
    let prog = print_env(t.path());
    let sock = t.path().join("s");
    let sock_s = sock.to_string_lossy().into_owned();
    let s = Server::unix(t.path(), &["-v", "-e", "pidf", &sock_s, &prog], &[]);
    s.wait_log("startup");
    let end = Instant::now() + PATIENCE;
    while !sock.exists() {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        fs::read_to_string(t.path().join("pidf")).unwrap(),
        s.pid().to_string()
    );
    let mut c = UnixStream::connect(&sock).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(
        env_of(&out),
        env_of(&format!("PROTO=UNIX\nUNIXLOCALPATH={sock_s}\n"))
    );
    let log = s.wait_log("sigchild");
    assert!(
        log.contains("tcpserver: ok ") && log.contains(&format!(" [{sock_s}]\n")),
        "{log}"
    );
    Cmd::bin("tcpserver")
        .clean_env()
        .cwd(t.path())
        .args(["-e", "pidf", &sock_s, "true"])
        .run()
        .assert(111, "", "tcpserver: fatal:  already running\n");
    assert_eq!(s.stop(), Some(0));
    assert!(!sock.exists(), "socket left behind");
    // A stale pidfile and socket are replaced.
    let s = Server::unix(
        t.path(),
        &["-v", "-e", "pidf", &sock_s, "echo", "again"],
        &[],
    );
    s.wait_log("startup");
    let mut c = UnixStream::connect(&sock).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(out, "again\n");
}

// ----------------------------------------------------------------------------------------
// Reliability and security

/// The flood: 5,000 connections from 200 clients on 10 addresses at once against
/// `-c 40 -C 10`. The program logs its own start and end; replaying that log shows the
/// concurrency the programs really saw.
#[test]
fn flood_respects_both_limits_and_leaks_nothing() {
    let t = tmp();
    let events = t.path().join("events");
    let prog = script(
        t.path(),
        "count",
        &format!(
            "#!/bin/bash\necho \"+ $TCPREMOTEIP $$\" >> {e}\nread -t 0.05 x\necho \"- $TCPREMOTEIP $$\" >> {e}\necho ok\n",
            e = events.display()
        ),
    );
    let prog = prog.to_string_lossy().into_owned();
    let s = Server::start(
        t.path(),
        &[
            "-1HRl0",
            "-c",
            "40",
            "-C",
            "10",
            "-b",
            "256",
            "127.0.0.1",
            "0",
            &prog,
        ],
        &[],
    );
    let port = s.port;
    // One connection first: the server has finished starting (fds 0 and 1 closed).
    assert_eq!(fetch(port), "ok\n");
    fs::remove_file(&events).unwrap();
    let fds_before = s.open_fds();
    const CLIENTS: usize = 200;
    const TOTAL: usize = 5000;
    let results = Arc::new(Mutex::new((0usize, 0usize, Vec::<String>::new())));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let results = results.clone();
            std::thread::spawn(move || {
                let from: SocketAddr = ([127, 0, 0, 1 + (i % 10) as u8], 0).into();
                for _ in 0..TOTAL / CLIENTS {
                    let outcome = (|| -> std::io::Result<Vec<u8>> {
                        let sock = socket2_connect(from, local(port))?;
                        let mut sock = sock;
                        sock.set_read_timeout(Some(Duration::from_secs(120)))?;
                        let mut out = Vec::new();
                        sock.read_to_end(&mut out)?;
                        Ok(out)
                    })();
                    let mut r = results.lock().unwrap();
                    match outcome {
                        Ok(v) if v == b"ok\n" => r.0 += 1,
                        Ok(v) if v.is_empty() => r.1 += 1,
                        Ok(v) => r.2.push(format!("unexpected bytes {v:?}")),
                        Err(e) => r.2.push(e.to_string()),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let (served, refused, errors) = results.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "{} failures, first: {:?}",
        errors.len(),
        errors.first()
    );
    assert_eq!(served + refused, TOTAL);
    assert!(served > 0, "nothing served");
    // Replay the programs' own log.
    let text = fs::read_to_string(&events).unwrap();
    let mut now = 0i64;
    let mut max = 0i64;
    let mut per_ip: std::collections::HashMap<String, i64> = Default::default();
    let mut max_ip = 0i64;
    for line in text.lines() {
        let mut w = line.split(' ');
        let (sign, ip) = (w.next().unwrap(), w.next().unwrap().to_string());
        let d = if sign == "+" { 1 } else { -1 };
        now += d;
        let n = per_ip.entry(ip).or_default();
        *n += d;
        max = max.max(now);
        max_ip = max_ip.max(*n);
    }
    assert_eq!(text.lines().filter(|l| l.starts_with('+')).count(), served);
    assert!(max <= 40, "{max} programs at once");
    assert!(max_ip <= 10, "{max_ip} programs at once from one address");
    assert!(max > 10, "the flood never reached any concurrency ({max})");
    // Every child reaped, no descriptor left behind, still serving.
    let end = Instant::now() + PATIENCE;
    while s.children() > 0 {
        assert!(Instant::now() < end, "children left");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(s.open_fds(), fds_before);
    assert_eq!(fetch(port), "ok\n");
}

/// Connect from a chosen local address (port 0).
fn socket2_connect(from: SocketAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket/bind/connect on a fresh descriptor that TcpStream then owns.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let sin = |a: &SocketAddr| {
            let SocketAddr::V4(a) = a else { unreachable!() };
            libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            }
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let f = sin(&from);
        if libc::bind(fd, &f as *const _ as *const libc::sockaddr, len) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let t = sin(&to);
        if libc::connect(fd, &t as *const _ as *const libc::sockaddr, len) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

#[test]
fn children_inherit_only_stdio() {
    let t = tmp();
    // The server itself is started holding an inheritable descriptor 7 (as a
    // supervisor's lock or log pipe might be): it must not reach the children.
    let s = Server::spawn_wrapped(
        &[],
        t.path(),
        &[
            "-1HRl0",
            "-x",
            "missing.cdb",
            "-X",
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "ls /proc/$$/fd",
        ],
        &[],
        true,
        |cmd| {
            // SAFETY: dup2 and fcntl are async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    libc::dup2(2, 7);
                    libc::fcntl(7, libc::F_SETFD, 0);
                    Ok(())
                });
            }
        },
    );
    assert!(
        fs::read_link(format!("/proc/{}/fd/7", s.pid())).is_ok(),
        "setup: fd 7 not inherited"
    );
    let out = fetch(s.port);
    let mut fds: Vec<&str> = out.split_whitespace().collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"], "{out}");
}

fn status_field(pid: i32, field: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn no_privilege_left_after_u_and_g() {
    if !is_root() {
        return skip("needs root to change uid and gid");
    }
    let t = tmp();
    let (uid, gid, _) = user("nobody").unwrap();
    let (u, g) = (uid.to_string(), gid.to_string());
    // -u N -g N: exactly that uid, gid and group.
    let s = Server::start(
        t.path(),
        &[
            "-1",
            "-u",
            &u,
            "-g",
            &g,
            "127.0.0.1",
            "0",
            "sh",
            "-c",
            "id -u; id -G",
        ],
        &[],
    );
    assert_eq!(status_field(s.pid(), "Uid"), format!("{u} {u} {u} {u}"));
    assert_eq!(status_field(s.pid(), "Gid"), format!("{g} {g} {g} {g}"));
    assert_eq!(status_field(s.pid(), "Groups"), g);
    assert_eq!(fetch(s.port), format!("{u}\n{g}\n"));
    // -U from UID and GID, as envuidgid sets them.
    let s = Server::start(
        t.path(),
        &["-1U", "127.0.0.1", "0", "true"],
        &[("UID", &u), ("GID", &g)],
    );
    assert_eq!(status_field(s.pid(), "Uid"), format!("{u} {u} {u} {u}"));
    assert_eq!(status_field(s.pid(), "Groups"), g);
    // -u name: the account's uid and gid.
    let s = Server::start(
        t.path(),
        &["-1", "-u", "nobody", "127.0.0.1", "0", "true"],
        &[],
    );
    assert_eq!(status_field(s.pid(), "Uid"), format!("{u} {u} {u} {u}"));
    assert_eq!(status_field(s.pid(), "Gid"), format!("{g} {g} {g} {g}"));
    // -u N alone: root's supplementary groups are dropped too.
    let s = Server::start(t.path(), &["-1", "-u", &u, "127.0.0.1", "0", "true"], &[]);
    assert_eq!(status_field(s.pid(), "Uid"), format!("{u} {u} {u} {u}"));
    assert_eq!(status_field(s.pid(), "Groups"), "0");
    // -g a list: the first is the gid, all are groups.
    let s = Server::start(
        t.path(),
        &["-1", "-g", &format!("{g},4"), "127.0.0.1", "0", "true"],
        &[],
    );
    assert_eq!(status_field(s.pid(), "Gid"), format!("{g} {g} {g} {g}"));
    assert_eq!(status_field(s.pid(), "Groups"), format!("4 {g}"));
}

#[test]
fn ident_and_names_with_unreachable_services_do_not_hang() {
    // -h, -p and -r against 127.0.0.1: the PTR name comes from /etc/hosts and ident
    // finds no server on port 113 (connection refused) within -t.
    let t = tmp();
    let prog = print_env(t.path());
    let s = Server::start(
        t.path(),
        &["-v1hp", "-t", "2", "127.0.0.1", "0", &prog],
        &[],
    );
    let out = fetch(s.port);
    assert!(out.contains("TCPREMOTEIP=127.0.0.1\n"), "{out}");
    assert!(!out.contains("TCPREMOTEINFO"), "{out}");
    assert!(!out.contains("TCPPARANOID"), "{out}");
    let log = s.wait_log("sigchild");
    let expect = fs::read_to_string("/etc/hosts")
        .map(|h| {
            h.lines().any(|l| {
                l.starts_with("127.0.0.1") && l.split_whitespace().any(|w| w == "localhost")
            })
        })
        .unwrap_or(false);
    if expect && out.contains("TCPREMOTEHOST=localhost") {
        assert!(log.contains("localhost[127.0.0.1]"), "{log}");
    }
}

/// CPU ticks (user + system) a process has used so far.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// Set the descriptor limit of a running process.
fn set_nofile(pid: i32, n: u64) {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: 64,
    };
    // SAFETY: prlimit on a process we started, with a valid rlimit.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// `ulimit -n 64` with room for 200 programs: 120 clients at once are all served (the
/// server holds no descriptor per connection). Then its limit is lowered to nothing, so
/// accept fails with EMFILE: it stops accepting (the clients
/// wait in the backlog), warns once, does not spin, does not die, and serves every
/// waiting client once the limit is back; no descriptor is leaked.
#[test]
fn descriptor_limit_pauses_warns_and_recovers() {
    let t = tmp();
    let prog = script(t.path(), "hold", "#!/bin/sh\necho hi\nread x\necho bye\n");
    let prog = prog.to_string_lossy().into_owned();
    let s = Server::spawn_wrapped(
        &[],
        t.path(),
        &[
            "-1HRl0",
            "-c",
            "200",
            "-C",
            "0",
            "-b",
            "256",
            "127.0.0.1",
            "0",
            &prog,
        ],
        &[],
        true,
        |cmd| {
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                cmd.pre_exec(|| {
                    let lim = libc::rlimit {
                        rlim_cur: 64,
                        rlim_max: 64,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    let wait_idle = || {
        let end = Instant::now() + PATIENCE;
        while s.children() > 0 {
            assert!(Instant::now() < end, "children left");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Clients from 10 addresses, under the per-address limit of 20.
    let clients = |n: usize| -> Vec<TcpStream> {
        (0..n)
            .map(|i| {
                let from: SocketAddr = ([127, 0, 0, 1 + (i % 10) as u8], 0).into();
                let c = socket2_connect(from, local(s.port)).unwrap();
                c.set_read_timeout(Some(PATIENCE)).unwrap();
                c
            })
            .collect()
    };
    let serve = |held: &mut Vec<TcpStream>| {
        for c in held.iter_mut() {
            assert_eq!(read_line(c), "hi\n", "a client was dropped");
            c.write_all(b"\n").unwrap();
            assert_eq!(read_line(c), "bye\n");
        }
    };
    serve(&mut clients(1));
    wait_idle();
    let fds_before = s.open_fds();
    let mut held = clients(120);
    serve(&mut held);
    drop(held);
    wait_idle();
    assert_eq!(s.open_fds(), fds_before, "descriptors leaked");

    // No descriptor left for accept (the limit bounds descriptor numbers: 0 leaves none).
    set_nofile(s.pid(), 0);
    let mut held = clients(30);
    s.wait_log("tcpserver: warning: unable to accept: process cannot open more files, pausing");
    assert_eq!(s.children(), 0, "accepted without a descriptor");
    // Paused, not spinning: over a second at the limit it uses well under half a CPU.
    let ticks = cpu_ticks(s.pid());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(s.pid()) - ticks;
    assert!(
        used < 50,
        "tcpserver used {used} ticks in a second at its limit"
    );
    set_nofile(s.pid(), 64);
    serve(&mut held);
    drop(held);
    wait_idle();
    assert_eq!(s.open_fds(), fds_before, "descriptors leaked");
    serve(&mut clients(1));
    let log = s.log_text();
    assert_eq!(log.matches("unable to accept").count(), 1, "{log}");
    assert!(!log.contains("killed by signal"), "{log}");
}
