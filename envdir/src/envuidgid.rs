//! `envuidgid account child...`: run child with UID and GID set to the account's ids.

use indicore::exec::Env;
use indicore::sys::user::{self, Account};
use indicore::{Failure, Prog};
use std::ffi::OsString;

pub const PROG: Prog = Prog("envuidgid");

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let [_, account, child @ ..] = args else {
        return Err(Failure::usage("envuidgid: usage: envuidgid account child"));
    };
    if child.is_empty() {
        return Err(Failure::usage("envuidgid: usage: envuidgid account child"));
    }
    let user = lookup_user(account)?;
    let mut env = Env::inherited();
    env.set("GID", user.gid.to_string());
    env.set("UID", user.uid.to_string());
    Err(crate::chain(child, &env))
}

/// getpwnam, failing with the reference's `unknown account` message.
pub(crate) fn lookup_user(account: &OsString) -> Result<Account, Failure> {
    let name = account.to_string_lossy();
    match user::by_name(&name) {
        Ok(Some(user)) => Ok(user),
        _ => Err(Failure::temp(format!("unknown account {name}"))),
    }
}
