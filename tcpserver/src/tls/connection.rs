//! tcpserver's TLS step (docs/ucspi-tcp.md#the-connection-child, step 10, #tls-in-tcpserver): after the usual child sequence
//! (banner, names, rules, per-IP check) the connection child runs the handshake within
//! `-S` seconds, logs the encrypted-session line, starts the program on pipes and
//! relays with the `-T` idle limit; it leaves with the program's status.

use super::config::{self, Contexts};
use super::reload::Reloaded;
use super::session;
use crate::server::log::{Log, Safe};
use crate::server::options::Options;
use crate::server::program::Program;
use indicore::exec::Env;
use std::time::Duration;

/// `-n`/`-s` and the rest, as the TLS context wants them.
pub fn settings(o: &Options) -> Option<super::Settings> {
    let t = &o.tls;
    Some(super::Settings {
        certfile: t.certfile.clone()?,
        certdir: t.certdir.clone(),
        cafile: t.cafile.clone(),
        crlfile: t.crlfile.clone(),
        cipher_file: t.cipher_file.clone(),
        method: t.method.clone(),
        ..super::Settings::default()
    })
}

/// Log what a reload did (file change or SIGHUP).
pub fn log_reload(log: &Log, r: Reloaded) {
    match r {
        Reloaded::Unchanged => {}
        Reloaded::Done(warnings) => {
            for w in warnings {
                log.at(1, format_args!("warning: {w}"));
            }
            log.at(1, format_args!("TLS certificates reloaded"));
        }
        Reloaded::Failed(lines) => {
            for l in lines {
                log.at(
                    1,
                    format_args!("warning: unable to reload TLS certificates: {l}"),
                );
            }
        }
    }
}

/// What the encrypted-session line says of the connection.
pub struct Slot<'a> {
    /// Live children including this one, and the limit.
    pub children: u64,
    pub limit: u64,
    /// The client's address (or the socket path), as the log shows it.
    pub ip: &'a str,
}

/// Serve the connection on fds 0 and 1 over TLS, then run `program` behind it. Never
/// returns.
pub fn serve(
    contexts: &Contexts,
    opts: &Options,
    mut env: Env,
    log: &Log,
    slot: Slot<'_>,
    program: &Program,
) -> ! {
    let drop = |why: std::fmt::Arguments<'_>| -> ! {
        log.drop_connection(why);
        // SAFETY: leave the connection child.
        unsafe { libc::_exit(111) }
    };
    let required = config::required(env.get("TLS_CLIENT_REQUIRED"));
    let Some(context) = session::choose(contexts, required) else {
        drop(format_args!(
            "client certificate required but no CA file: access denied"
        ))
    };
    let timeout = Duration::from_secs(opts.tls.handshake_timeout.max(1));
    use crate::server::metrics;
    use indicore::tcpmetrics::Counter;
    let a = match session::accept(context, contexts.max, 0, 1, timeout) {
        Ok(a) => {
            metrics::add(Counter::TlsCompleted);
            a
        }
        Err(e) => {
            metrics::add(Counter::TlsFailed);
            if log.verbosity > 0 {
                indicore::diag::emit(format_args!("SSL_accept: {e}\n"));
            }
            drop(format_args!("unable to accept SSL connection"))
        }
    };
    session::export(&mut env, &a, "tcpserver", opts.tls.provider_details, true);
    let details = a.negotiated.details(true);
    let idle = (opts.idle_timeout > 0).then(|| Duration::from_secs(opts.idle_timeout));
    // An exec'd program is started without a copy of this process (its command line
    // made ready here); a plugin runs in a forked one.
    let mut prepared = match program {
        Program::Exec(argv) => {
            let path = std::env::var_os("PATH");
            ucspi::tls::program::Prepared::new(
                argv,
                &crate::plugin::with_exports(&env),
                path.as_deref(),
            )
        }
        Program::Plugin(_) => None,
    };
    let env = &env;
    let unable_to_run = |e: &std::io::Error| {
        log.drop_connection(format_args!(
            "unable to run {}: {}",
            program.name(),
            indicore::errstr(e)
        ))
    };
    let launch = match prepared.as_mut() {
        Some(p) => session::Launch::Exec(p, &unable_to_run),
        None => session::Launch::Fork(|| program.run(env, log)),
    };
    let ends = session::Ends {
        net_in: 0,
        net_out: 1,
        input_fd: 0,
        output_fd: 1,
        close: &[],
        idle,
    };
    let status = session::run_launched(
        a,
        ends,
        launch,
        |pid| {
            log.at(
                2,
                format_args!(
                    "status: {}/{} encrypted session, sslpid={}, childpid={pid}, IP {}, {details}",
                    slot.children,
                    slot.limit,
                    std::process::id(),
                    Safe(slot.ip.as_bytes())
                ),
            )
        },
        |e| log.drop_connection(format_args!("unable to fork: {}", indicore::errstr(e))),
    );
    session::exit_with(status)
}
