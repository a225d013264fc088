//! `plugin`: connections per second of a tcpserver plugin against the same logic run as
//! an exec'd program, under our tcpserver, djb's (Debian's ucspi-tcp 0.88) and IndiMail's
//! (which also loads the plugin), at concurrency 8, with the connection-rate harness of
//! the `tcpserver` workload (`-RHl0`, so no DNS or ident).
//!
//! The logic, compiled here with gcc from one C source: a reply kept in a control file,
//! written to the client. As a plugin the server preloads it (`PLUGIN0`) and its init
//! reads the file once, as qmail_smtpd.so's smtp_init reads qmail's control files; as a
//! program (a dynamically linked executable, as qmail-smtpd is) it reads the file at
//! every start. Our exec path is the fastest one we have (`-RHl0` starts programs with
//! clone and exec, no fork). Targets (issue 8): the plugin at least 3 times our exec
//! path and 4 times Debian's; issue 17: at least 0.85 of the minimal forking server below.
//!
//! For reference the same reply is also served by a minimal forking server in C (accept,
//! fork, write, `_exit`; no environment, no rules, no log): no plugin host can do less
//! per connection than that, so its rate over our exec path's is the best ratio this
//! machine allows (fork costs far more under some hypervisors than on bare metal).

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::tcpserver::{free_port, ms, rates, start_with, Server, LINE};
use crate::cli::Options;
use crate::error::{BenchError, Result};
use crate::peers::Peers;
use crate::results::{Figure, Target};
use crate::tempdir::TempDir;

const THREADS: u64 = 8;
/// The minimal forking server's name in reports.
const FLOOR_LABEL: &str = "C fork floor";
/// Plugin / our exec path.
const TARGET_OURS: f64 = 3.0;
/// Plugin / Debian's tcpserver.
const TARGET_DEBIAN: f64 = 4.0;
/// Plugin / the minimal forking server (issue 17).
const TARGET_FLOOR: f64 = 0.85;

/// The reply program: `bench_reply.so` (entry and init) or, with `-DMAIN`, an executable.
const SOURCE: &str = r#"#include <fcntl.h>
#include <unistd.h>

static char reply[256];
static ssize_t len = -1;

static int
load(void)
{
	int fd = open(REPLY, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, reply, sizeof reply);
	close(fd);
	return len < 0 ? -1 : 0;
}

int
bench_reply_init(int reload)
{
	return load();
}

int
bench_reply(int argc, char **argv, char **envp)
{
	if (len < 0 && load() < 0)
		return 111;
	return write(1, reply, len) == len ? 0 : 111;
}

#ifdef MAIN
int
main(int argc, char **argv, char **envp)
{
	return bench_reply(argc, argv, envp);
}
#endif
"#;

/// The reference: `floor PORT` serves the reply on 127.0.0.1:PORT, forking per
/// connection and reaping without a signal handler.
const FLOOR: &str = r#"#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_reply_init(int);
int bench_reply(int, char **, char **);

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0), c;

	a.sin_port = htons(atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *) &a, sizeof a) || listen(s, 64) || bench_reply_init(0))
		return 111;
	for (;;) {
		if ((c = accept(s, 0, 0)) < 0)
			continue;
		if (!fork()) {
			close(s);
			dup2(c, 1);
			_exit(bench_reply(0, 0, 0));
		}
		close(c);
		while (waitpid(-1, 0, WNOHANG) > 0)
			;
	}
}
"#;

fn gcc(args: &[&str]) -> Result<()> {
    let out = Command::new("gcc")
        .args(args)
        .output()
        .map_err(|e| BenchError::Fatal(format!("gcc (package gcc): {e}")))?;
    if !out.status.success() {
        return Err(BenchError::Fatal(format!(
            "gcc {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Build `dir/bench_reply.so`, `dir/bench_reply` and `dir/floor` replying with [`LINE`].
fn build(dir: &Path) -> Result<(String, String, String)> {
    let d = dir.to_string_lossy();
    std::fs::write(dir.join("reply"), LINE).map_err(|e| BenchError::Fatal(e.to_string()))?;
    std::fs::write(dir.join("bench_reply.c"), SOURCE)
        .map_err(|e| BenchError::Fatal(e.to_string()))?;
    let src = format!("{d}/bench_reply.c");
    let reply = format!("-DREPLY=\"{d}/reply\"");
    let (so, exe) = (format!("{d}/bench_reply.so"), format!("{d}/bench_reply"));
    gcc(&["-O2", "-shared", "-fPIC", &reply, "-o", &so, &src])?;
    gcc(&["-O2", "-DMAIN", &reply, "-o", &exe, &src])?;
    std::fs::write(dir.join("floor.c"), FLOOR).map_err(|e| BenchError::Fatal(e.to_string()))?;
    let floor = format!("{d}/floor");
    gcc(&["-O2", &reply, "-o", &floor, &format!("{d}/floor.c"), &src])?;
    Ok((so, exe, floor))
}

/// Start the reference server.
fn start_floor(exe: &str) -> Result<Server> {
    let port = free_port()?;
    let child = Command::new(exe)
        .arg(port.to_string())
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| BenchError::Fatal(format!("unable to start {exe}: {e}")))?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = Server { child, addr };
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || server.child.try_wait().ok().flatten().is_some() {
            return Err(BenchError::Fatal(format!("{exe} did not start listening")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    Ok(server)
}

pub fn run(peers: &Peers, opts: &Options) -> Result<()> {
    let (ours, theirs) = (&peers.ours, &peers.ucspi);
    ours.require(&["tcpserver"])?;
    theirs.require(&["tcpserver"])?;
    let dir = TempDir::new("bench-plugin")?;
    let (so, exe, floor) = build(dir.path())?;
    let preload = [
        ("PLUGIN0", so.as_str()),
        ("PLUGIN0_init", "bench_reply_init"),
    ];
    let mut servers: Vec<(&str, Server)> = vec![
        ("plugin (ours)", start_with(ours, &[], &[&so], &preload)?),
        ("exec (ours)", start_with(ours, &[], &[&exe], &[])?),
        ("exec (ucspi-tcp)", start_with(theirs, &[], &[&exe], &[])?),
        (FLOOR_LABEL, start_floor(&floor)?),
    ];
    if let Some(side) = &peers.indimail {
        side.require(&["tcpserver"])?;
        servers.push((
            "plugin (indimail)",
            start_with(side, &[], &[&so], &preload)?,
        ));
        servers.push(("exec (indimail)", start_with(side, &[], &[&exe], &[])?));
    }
    let labelled: Vec<(&str, &Server)> = servers.iter().map(|(l, s)| (*l, s)).collect();
    let (f, cpu) = rates("plugin", &labelled, THREADS, opts.runs, opts)?;
    println!("program: {exe} (dynamically linked), plugin: {so} (PLUGIN0, init reads the reply)");
    for (i, (label, _)) in servers.iter().enumerate() {
        println!(
            "plugin c={THREADS} x{}: {label} {:.0} conn/s (p50 {:.2} ms, p99 {:.2} ms), \
             CPU per connection (server and its programs) {:.0} us",
            opts.runs,
            f[i].per_sec,
            ms(f[i].p50),
            ms(f[i].p99),
            cpu[i],
        );
    }
    let vs_ours = f[0].per_sec / f[1].per_sec;
    let vs_debian = f[0].per_sec / f[2].per_sec;
    let vs_floor = f[0].per_sec / f[3].per_sec;
    println!(
        "plugin c={THREADS}: plugin/exec (ours) ratio {vs_ours:.2} (target >= {TARGET_OURS:.2}), \
         plugin/exec (ucspi-tcp) ratio {vs_debian:.2} (target >= {TARGET_DEBIAN:.2}); \
         on this machine at best (the C forking server): {:.2} and {:.2}; \
         plugin/C forking server {vs_floor:.2} (target >= {TARGET_FLOOR:.2})",
        f[3].per_sec / f[1].per_sec,
        f[3].per_sec / f[2].per_sec,
    );
    let workload = format!("plugin (ours) c={THREADS}");
    let figure = Figure {
        group: "plugin",
        workload: &workload,
        metric: "conn/s",
        higher_better: true,
    };
    for (i, (label, _)) in servers.iter().enumerate().skip(1) {
        let target = if *label == FLOOR_LABEL {
            Target::Advantage(TARGET_FLOOR)
        } else {
            Target::None
        };
        figure.record(f[0].per_sec, label, f[i].per_sec, target)?;
    }
    if vs_ours < TARGET_OURS || vs_debian < TARGET_DEBIAN || vs_floor < TARGET_FLOOR {
        eprintln!("bench: warning: plugin is under its target ratio");
    }
    Ok(())
}
