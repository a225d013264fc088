//! `minisvc [OPTION]...`: svctool for a host or container with daemontools but without the
//! mail suite. It takes the part of svctool's command line that concerns the service tree
//! itself (svscan's own log service, enabling, disabling and refreshing services, their
//! variables, boot start-up, users, certificates) and runs it with svctool's engine; any
//! other option is refused as the reference refuses it.
//!
//! What differs from svctool: the recorded command and script headers name minisvc, runs
//! are logged in `services.log`, and the global variables directory gets the queue
//! settings only where qmail-send is installed.

use crate::host::Host;
use crate::options::Opts;
use crate::svctool::{self, Flavour};
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::io::Write;

pub const PROG: Prog = Prog("minisvc");

/// The version line of minisvc's headers and `--version`.
pub const RCSID: &str = "# $Id: minisvc.rs,v 0.1.0 indimail-rs (minisvc.in 1.40 compatible) Exp $";

/// The options minisvc takes (everything else is an invalid option).
pub const OPTIONS: &[&str] = &[
    "--verbose",
    "--servicedir",
    "--memory",
    "--dmemory",
    "--servicetag",
    "--logdir",
    "--force",
    "--sysconfdir",
    "--nolog",
    "--silent",
    "--destdir",
    "--down",
    "--unshare",
    "--config",
    "--rmsvc",
    "--ensvc",
    "--refreshsvc",
    "--autorefresh",
    "--nooverwrite",
    "--svscanlog",
    "--resolvconf",
    "--initcmd",
    "--scanint",
    "--run-file-only",
    "--mode",
    "--owner",
    "--group",
    "--service-name",
    "--envdir",
    "--variable-value",
    "--set-variable",
    "--modify-variable",
    "--unset-variable",
    "--remove-variable",
    "--restore-variables",
    "--import-variables",
    "--export-variables",
    "--save-variables",
    "--restore-all-variables",
    "--dumpconfig",
    "--print-variables",
    "--print-all-variables",
    "--enable-service",
    "--disable-service",
    "--capath",
    "--certdir",
    "--update-certs",
    "--postmaster",
    "--common_name",
    "--validity_days",
    "--check-certs",
    "--version",
    "--help",
];

/// The `--config=` values minisvc knows.
const CONFIGS: &[&str] = &["add-boot", "rm-boot", "users", "rmusers", "inittab", "cert"];

pub const HELP: &str = "\
Usage: minisvc [OPTION]

The service tree:
  --svscanlog --servicedir=DIR [--initcmd=CMD] [--scanint=N] [--resolvconf] [--unshare]
      DIR/.svscan: svscan's variables, shutdown script and log service
      (--resolvconf: a private /etc/resolv.conf for a local dnscache)
  --down                      create services in the down state
  --rmsvc=\"PATH...\"           disable services (renamed to .NAME, supervise told to exit)
  --ensvc=\"PATH...\"           enable them again
  --refreshsvc=\"PATH...|all\" [--force] [--run-file-only]
                              re-run the command each service was made with
  --autorefresh=\"0|1 PATH...|all\"
                              forbid (0) or allow (1) refreshing those services

Variables of a service (--servicedir=DIR --service-name=NAME):
  --set-variable=N --modify-variable=N [--variable-value=V] [--force]
  --unset-variable=N --remove-variable=N
  --import-variables=FILE [--force] [--silent] --export-variables=FILE [--force]
  --restore-variables          back to variables/.variables
  --save-variables --restore-all-variables   every service of DIR
  --print-variables (--service-name=NAME | --envdir=DIR) --print-all-variables
  --owner=U --group=G --mode=M   ownership and mode of the files written

Start-up and the system:
  --config=add-boot|rm-boot|users|rmusers|inittab|cert
      [--postmaster=ADDR --common_name=CN --validity_days=N --capath=DIR
       --certdir=DIR --update-certs]
  --enable-service NAME... --disable-service NAME...
  --check-certs[=FILE]  --dumpconfig --servicedir=DIR

common: --servicedir=DIR --servicetag=TAG --logdir=DIR --sysconfdir=DIR --destdir=DIR
        --nooverwrite --nolog --force --silent --verbose
--help      this text
--version   the version line
";

pub const MINISVC: Flavour = Flavour {
    program: "minisvc",
    help: HELP,
    log: "services.log",
};

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let args = svctool::plain_args(args);
    let host = Host::from_env();
    let code = match refusal(&args, &host) {
        Some(code) => code,
        None => svctool::main(&MINISVC, &args, host),
    };
    let _ = std::io::stdout().flush();
    Ok(code)
}

/// The reference's refusals of what svctool would take: options outside minisvc's
/// list and `--config` values it does not know (usage, exit 1).
fn refusal(args: &[String], host: &Host) -> Option<i32> {
    if host.euid != 0 && !host.allow_user {
        return None;
    }
    for arg in args {
        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
        if !OPTIONS.contains(&name) {
            indicore::diag::emit(format_args!("invalid option [{arg}]\n"));
            return Some(crate::usage::show_text(HELP, 1));
        }
        if name == "--enable-service" || name == "--disable-service" {
            break;
        }
    }
    let o = Opts::parse_as("minisvc", args, &host.prefix).ok()?;
    let config = o.config_name.as_deref().unwrap_or("");
    if o.action == Some("--config") && !CONFIGS.contains(&config) {
        indicore::diag::emit(format_args!("Invalid configuration option {config}\n"));
        return Some(crate::usage::show_text(HELP, 1));
    }
    None
}
