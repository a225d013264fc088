//! `setuidgid [-e] [-s] [-g g1,g2,...] account child...`: run child as account.

use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::{Failure, Prog};
use nix::unistd::{self, Gid, Group};
use std::ffi::{CString, OsString};

pub const PROG: Prog = Prog("setuidgid");
const USAGE: &str = "usage: setuidgid [-s] [-g gid_list] account child";

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (mut set_env, mut supplementary) = (false, false);
    let mut extra: Vec<OsString> = Vec::new();
    let mut opts = Getopt::new(args, "esg:");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'e', _) => set_env = true,
            Opt::Flag(b's', _) => supplementary = true,
            Opt::Flag(b'g', Some(list)) => extra.push(list),
            problem => return Err(Failure::usage(opts.usage(&problem, USAGE))),
        }
    }
    let [account, child @ ..] = opts.rest() else {
        return Err(Failure::usage(USAGE));
    };
    if child.is_empty() {
        return Err(Failure::usage(USAGE));
    }
    let user = crate::envuidgid::lookup_user(account)?;
    let sys = |msg: &'static str| {
        move |e: nix::Error| Failure::temp_sys(format_args!("{msg}: "), &e.into())
    };

    indicore::privs::drop_groups(user.uid, user.gid).map_err(sys("unable to set group id"))?;
    unistd::setgid(user.gid).map_err(sys("unable to set group id"))?;
    if supplementary || !extra.is_empty() {
        let mut groups: Vec<Gid> = Vec::new();
        if supplementary {
            let name = CString::new(user.name.as_bytes())
                .map_err(|_| Failure::temp("unable to get groups"))?;
            groups = unistd::getgrouplist(&name, user.gid).map_err(sys("unable to get groups"))?;
        }
        for list in &extra {
            for g in list.to_string_lossy().split(',').filter(|g| !g.is_empty()) {
                groups.push(group_id(g)?);
            }
        }
        unistd::setgroups(&groups).map_err(sys("unable to add addition group ids"))?;
    }
    unistd::setuid(user.uid).map_err(sys("unable to set user id"))?;

    let mut env = Env::inherited();
    if set_env {
        env.set("HOME", &user.dir);
        env.set("USER", &user.name);
        env.set("LOGNAME", &user.name);
    }
    Err(crate::chain(child, &env))
}

/// A group by number, or by name through getgrnam.
fn group_id(g: &str) -> Result<Gid, Failure> {
    if let Ok(n) = g.parse::<u32>() {
        return Ok(Gid::from_raw(n));
    }
    match Group::from_name(g) {
        Ok(Some(group)) => Ok(group.gid),
        _ => Err(Failure::temp(format!("unknown group {g}"))),
    }
}
