//! One TLS connection on the server side (docs/decisions.md#u10): handshake first, within the
//! handshake timeout; only then the program, on pipes, with `TLS_PROVIDER` and the client
//! certificate's verdict in its environment; then the relay, and the proxy leaves with
//! the program's status. A failed handshake never starts the program.

use super::config::{ClientVerdict, Context, Contexts};
use indicore::exec::Env;
use std::convert::Infallible;
use std::os::fd::{IntoRawFd, RawFd};
use std::time::Duration;
use ucspi::tls::proxy::{self, End, HandshakeError};
use ucspi::tls::{program, Negotiated};

/// A finished handshake.
pub struct Accepted {
    pub conn: rustls::Connection,
    /// The network input, with anything read past the handshake.
    pub net: proxy::NetIn,
    pub negotiated: Negotiated,
    pub client: ClientVerdict,
}

/// The context for this connection: mandatory client certificates when `required` and a
/// CA list exists. None: required, but no CA list to check against.
pub fn choose(contexts: &Contexts, required: bool) -> Option<&Context> {
    if required {
        contexts.mandatory.as_ref()
    } else {
        Some(&contexts.optional)
    }
}

/// Run the server handshake on the network descriptors.
pub fn accept(
    context: &Context,
    max: ucspi::tls::settings::Version,
    net_in: RawFd,
    net_out: RawFd,
    timeout: Duration,
) -> Result<Accepted, HandshakeError> {
    let conn =
        rustls::ServerConnection::new(context.config.clone()).map_err(HandshakeError::Tls)?;
    let mut conn = rustls::Connection::Server(conn);
    let mut net = proxy::NetIn::new(net_in);
    proxy::handshake(&mut conn, &mut net, net_out, timeout)?;
    let negotiated = Negotiated::of(&conn, max);
    let client = context
        .client_check
        .as_ref()
        .and_then(|c| c.verdict.lock().ok().map(|v| v.clone()))
        .unwrap_or_default();
    Ok(Accepted {
        conn,
        net,
        negotiated,
        client,
    })
}

/// The variables a TLS program gets: `TLS_PROVIDER` (`name, ` plus the details with
/// `-z`), `TLS_CLIENT_VERIFY`, and `TLS_CLIENT_DN` when a certificate was presented.
pub fn export(env: &mut Env, a: &Accepted, name: &str, details: bool, bits: bool) {
    let provider = if details {
        format!("{name}, {}", a.negotiated.details(bits))
    } else {
        format!("{name}, ")
    };
    env.set("TLS_PROVIDER", provider);
    env.set("TLS_CLIENT_VERIFY", a.client.word());
    match &a.client.dn {
        Some(dn) => env.set("TLS_CLIENT_DN", dn),
        None => env.unset("TLS_CLIENT_DN"),
    }
}

/// Start the program on pipes (its input on `input_fd`, output on `output_fd`), tell
/// `started` its pid, relay until the end, and return the program's wait status (None:
/// it still runs after the relay failed or idled out). `close` lists descriptors the
/// program must not inherit. A failed fork is reported to `unable_to_fork`, then exit 111.
#[allow(clippy::too_many_arguments)]
pub fn run_behind(
    a: Accepted,
    net_in: RawFd,
    net_out: RawFd,
    input_fd: RawFd,
    output_fd: RawFd,
    close: &[RawFd],
    idle: Option<Duration>,
    run: impl FnOnce() -> Infallible,
    started: impl FnOnce(libc::pid_t),
    unable_to_fork: impl FnOnce(&std::io::Error),
) -> Option<libc::c_int> {
    let ends = Ends {
        net_in,
        net_out,
        input_fd,
        output_fd,
        close,
        idle,
    };
    run_launched(a, ends, Launch::Fork(run), started, unable_to_fork)
}

/// Where [`run_launched`] puts the network and the program, and the idle limit.
pub struct Ends<'a> {
    pub net_in: RawFd,
    pub net_out: RawFd,
    pub input_fd: RawFd,
    pub output_fd: RawFd,
    /// Descriptors the program must not inherit.
    pub close: &'a [RawFd],
    pub idle: Option<Duration>,
}

/// How the program behind the proxy is started.
pub enum Launch<'a, R> {
    /// Fork; the child runs the closure (which execs or otherwise runs the program and
    /// never returns).
    Fork(R),
    /// Exec a prepared command line without copying this process
    /// ([`program::start_exec`]); a program that could not be executed is reported to
    /// the closure, after `started`.
    Exec(&'a mut program::Prepared, &'a dyn Fn(&std::io::Error)),
}

/// [`run_behind`], with the program started as `launch` says.
pub fn run_launched(
    mut a: Accepted,
    ends: Ends<'_>,
    launch: Launch<'_, impl FnOnce() -> Infallible>,
    started: impl FnOnce(libc::pid_t),
    unable_to_fork: impl FnOnce(&std::io::Error),
) -> Option<libc::c_int> {
    let (input_fd, output_fd) = (ends.input_fd, ends.output_fd);
    // The program must not own the network: move it above the program's descriptors
    // when it sits where the pipes go (fds 0 and 1 under tcpserver, 6 and 7 for -C).
    let (net_in, net_out) = lift(ends.net_in, ends.net_out, &[input_fd, output_fd]);
    let mut closing = ends.close.to_vec();
    closing.extend([net_in, net_out]);
    let (started_ok, unable_to_run) = match launch {
        Launch::Fork(run) => (
            program::start(input_fd, output_fd, &closing, run).map(|(p, pipes)| (p, pipes, None)),
            None,
        ),
        Launch::Exec(prepared, report) => (
            program::start_exec(input_fd, output_fd, &closing, prepared),
            Some(report),
        ),
    };
    let (pid, pipes, exec_error) = match started_ok {
        Ok(x) => x,
        Err(e) => {
            unable_to_fork(&e);
            // SAFETY: leave the connection child.
            unsafe { libc::_exit(111) }
        }
    };
    started(pid);
    if let (Some(e), Some(report)) = (exec_error, unable_to_run) {
        report(&e);
    }
    let local = proxy::Local {
        to: pipes.to_program.into_raw_fd(),
        from: pipes.from_program.into_raw_fd(),
        owned: true,
    };
    a.net.fd = net_in;
    let end = proxy::relay(&mut a.conn, &mut a.net, net_out, local, ends.idle);
    let grace = match &end {
        End::Done => None,
        End::Tls(e) => {
            indicore::diag::emit(format_args!("SSL_read: {e}\n"));
            Some(Duration::from_secs(1))
        }
        _ => Some(Duration::from_secs(1)),
    };
    program::wait(pid, grace)
}

/// Leave as the program left (its status, or 0 when it still runs, as the reference's
/// proxy does).
pub fn exit_with(status: Option<libc::c_int>) -> ! {
    match status {
        Some(s) => program::exit_like(s),
        // SAFETY: leave the process.
        None => unsafe { libc::_exit(0) },
    }
}

/// Copies of the network descriptors that do not collide with `targets`, close-on-exec.
fn lift(net_in: RawFd, net_out: RawFd, targets: &[RawFd]) -> (RawFd, RawFd) {
    let move_up = |fd: RawFd| -> RawFd {
        if !targets.contains(&fd) {
            return fd;
        }
        // SAFETY: duplicate a descriptor we own above the low numbers.
        let n = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        if n < 0 {
            fd
        } else {
            n
        }
    };
    if net_in == net_out {
        let n = move_up(net_in);
        (n, n)
    } else {
        (move_up(net_in), move_up(net_out))
    }
}
