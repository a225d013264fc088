//! tcpclient's TLS session (docs/ucspi-tcp.md#tcpclient, docs/decisions.md#u13): STARTTLS
//! dialogue, handshake, then the program on pipes (fds 6 and 7) or stdin and stdout
//! relayed, through the shared engine in `ucspi::tls`.

use indicore::exec::Env;
use indicore::sys::signal;
use indicore::Failure;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::time::Duration;
use ucspi::tls::client::Client;
use ucspi::tls::{program, proxy, starttls, Negotiated, TlsOptions};

fn fatal(msg: impl Into<String>) -> Failure {
    Failure::temp(msg)
}

/// What tcpclient does once connected with `-n`: STARTTLS, handshake, then the program
/// (on fds 6 and 7) or the stdin/stdout relay. Returns the exit code.
pub fn session(
    client: Client,
    opts: &TlsOptions,
    sock: &socket2::Socket,
    prog: &[OsString],
    env: &mut Env,
    data_timeout: Duration,
) -> Result<i32, Failure> {
    let fd = sock.as_raw_fd();
    if let Some(kind) = opts.starttls {
        starttls::client(kind, fd, data_timeout)?;
    }
    let conn = rustls::ClientConnection::new(client.config, client.server_name)
        .map_err(|e| fatal(format!("unable to initialize TLS: {e}")))?;
    let mut conn = rustls::Connection::Client(conn);
    let mut net = proxy::NetIn::new(fd);
    proxy::handshake(&mut conn, &mut net, fd, data_timeout)
        .map_err(|e| fatal(format!("TLS handshake failed: {e}")))?;
    let idle = (!data_timeout.is_zero()).then_some(data_timeout);
    if prog.is_empty() {
        let local = proxy::Local {
            to: 1,
            from: 0,
            owned: false,
        };
        return match proxy::relay(&mut conn, &mut net, fd, local, idle) {
            proxy::End::Done | proxy::End::Idle => Ok(0),
            proxy::End::Tls(e) => Err(fatal(format!("TLS error: {e}"))),
            proxy::End::Io(e) => Err(Failure::temp_sys("unable to relay data: ", &e)),
        };
    }
    let provider = if opts.provide_data {
        let n = Negotiated::of(&conn, client.max);
        format!("tcpclient, {}", n.details(false))
    } else {
        "tcpclient, ".to_string()
    };
    env.set("TLS_PROVIDER", provider);
    let env = &*env;
    let (pid, pipes) = program::start(6, 7, &[fd], || -> std::convert::Infallible {
        // The default disposition the reference gives prog.
        let _ = signal::default(signal::Signal::PIPE);
        let err = indicore::exec::pathexec(prog, env);
        indicore::diag::emit(format_args!(
            "tcpclient: fatal: unable to run {}: {}\n",
            prog[0].to_string_lossy(),
            indicore::errstr(&err)
        ));
        indicore::sys::process::exit_now(111)
    })
    .map_err(|e| Failure::temp_sys("unable to fork: ", &e))?;
    // The relay owns the pipe ends from here and closes them.
    let local = proxy::Local {
        to: pipes.to_program.into_raw_fd(),
        from: pipes.from_program.into_raw_fd(),
        owned: true,
    };
    let end = proxy::relay(&mut conn, &mut net, fd, local, idle);
    let grace = match end {
        proxy::End::Done => None,
        _ => Some(Duration::from_secs(1)),
    };
    if let proxy::End::Tls(e) = &end {
        indicore::diag::emit(format_args!("tcpclient: TLS error: {e}\n"));
    }
    match program::wait(pid, grace) {
        Some(status) => program::exit_like(status),
        None => Ok(0),
    }
}
