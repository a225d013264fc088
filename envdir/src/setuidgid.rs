//! `setuidgid [-e] [-s] [-g g1,g2,...] account child...`: run child as account.

use indicore::exec::Env;
use indicore::getopt::{Getopt, Opt};
use indicore::sys::process::{setgid, setgroups, setuid};
use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

pub const PROG: Prog = Prog("setuidgid");
const USAGE: &str = "usage: setuidgid [-s] [-g gid_list] account child";

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (mut set_env, mut supplementary) = (false, false);
    let mut extra: Option<OsString> = None;
    let mut opts = Getopt::new(args, "esg:");
    for opt in opts.by_ref() {
        match opt {
            Opt::Flag(b'e', _) => set_env = true,
            Opt::Flag(b's', _) => supplementary = true,
            // The last -g counts, as in the reference.
            Opt::Flag(b'g', Some(list)) => extra = Some(list),
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
    let sys =
        |msg: &'static str| move |e: std::io::Error| Failure::temp_sys(format_args!("{msg}: "), &e);

    indicore::privs::drop_groups(user.uid, user.gid).map_err(sys("unable to set group id"))?;
    setgid(user.gid).map_err(sys("unable to set group id"))?;
    if supplementary || extra.is_some() {
        let mut groups: Vec<u32> = Vec::new();
        if supplementary {
            // libqmail's grpscan: the account looked up again, in the files with USE_QPWGR.
            let unable = |e: std::io::Error| Failure::temp_sys("unable to get groups: ", &e);
            let acct = indicore::pwgr::account(&user.name)
                .map_err(unable)?
                .ok_or_else(|| unable(std::io::Error::from_raw_os_error(0)))?;
            groups = indicore::pwgr::groups(&acct).map_err(unable)?;
        }
        for g in extra
            .iter()
            .flat_map(|l| l.as_bytes().split(|&b| b == b','))
        {
            match indicore::pwgr::group_id(g) {
                Ok(Some(gid)) => groups.push(gid),
                _ => {
                    let g = String::from_utf8_lossy(g);
                    return Err(Failure::temp(format!("unknown group {g}")));
                }
            }
        }
        setgroups(&groups).map_err(sys("unable to add addition group ids"))?;
    }
    setuid(user.uid).map_err(sys("unable to set user id"))?;

    let mut env = Env::inherited();
    if set_env {
        env.set("HOME", &user.dir);
        env.set("USER", &user.name);
        env.set("LOGNAME", &user.name);
    }
    Err(crate::chain(child, &env))
}
