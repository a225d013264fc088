//! Dropping privileges after bind (docs/ucspi-tcp.md#tcpserver-command-line: `-u`, `-g`, `-U`): groups first, then the gid,
//! then the uid, each checked, never continuing after a failure.

use indicore::Failure;
use nix::unistd::{self, Gid, Group, Uid, User};
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

fn sys(what: &'static str) -> impl Fn(nix::Error) -> Failure {
    move |e| Failure::temp_sys(format_args!("{what}: "), &e.into())
}

fn is_number(s: &OsStr) -> bool {
    !s.is_empty() && s.as_bytes().iter().all(u8::is_ascii_digit)
}

fn group_id(name: &OsStr) -> Result<Gid, Failure> {
    let s = name.to_string_lossy();
    if is_number(name) {
        return s
            .parse::<u32>()
            .map(Gid::from_raw)
            .map_err(|_| Failure::temp(format!("unable to set gid: unknown group {s}")));
    }
    match Group::from_name(&s) {
        Ok(Some(g)) => Ok(g.gid),
        _ => Err(Failure::temp(format!(
            "unable to set gid: unknown group {s}"
        ))),
    }
}

/// Become `uid` (number or name) with `gid` (number, name, or comma list).
///
/// * `-g N`: setgroups([N]), setgid(N).
/// * `-g a,b,..`: the first is the gid, all are the supplementary groups.
/// * `-u name`: the account's uid, primary gid and group-database groups, plus any
///   `-g` groups.
/// * `-u N` without `-g`: setuid(N), after dropping the supplementary groups to the
///   current gid (the reference keeps root's groups: a privilege nobody asked for).
pub fn drop_privileges(uid: Option<&OsStr>, gid: Option<&OsStr>) -> Result<(), Failure> {
    let gids: Vec<Gid> = match gid {
        Some(list) => list
            .as_bytes()
            .split(|&b| b == b',')
            .filter(|g| !g.is_empty())
            .map(|g| group_id(OsStr::from_bytes(g)))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let user = match uid {
        Some(u) if !is_number(u) => {
            let name = u.to_string_lossy();
            match User::from_name(&name) {
                Ok(Some(user)) => Some(user),
                _ => {
                    return Err(Failure::temp(format!(
                        "unable to set user: unknown user {name}"
                    )))
                }
            }
        }
        _ => None,
    };
    if let Some(user) = &user {
        let cname = CString::new(user.name.as_bytes())
            .map_err(|_| Failure::temp("unable to set user: bad name"))?;
        let mut groups =
            unistd::getgrouplist(&cname, user.gid).map_err(sys("unable to set user"))?;
        groups.extend(gids.iter().copied());
        match unistd::setgroups(&groups) {
            // Unprivileged and already that account: nothing to drop.
            Err(nix::Error::EPERM) if indicore::privs::already(user.uid, user.gid) => {}
            r => r.map_err(sys("unable to add additional groups"))?,
        }
        unistd::setgid(user.gid).map_err(sys("unable to set gid"))?;
        unistd::setuid(user.uid).map_err(sys("unable to set uid"))?;
        return Ok(());
    }
    match gids.as_slice() {
        [] if uid.is_some() => match unistd::setgroups(&[unistd::getgid()]) {
            // Without CAP_SETGID there is no privileged group to drop; setuid decides.
            Ok(()) | Err(nix::Error::EPERM) => {}
            Err(e) => return Err(sys("unable to set uid")(e)),
        },
        [] => {}
        [one] if gid.is_some_and(|g| !g.as_bytes().contains(&b',')) => {
            let target_uid = match uid {
                Some(u) => u
                    .to_string_lossy()
                    .parse()
                    .map(Uid::from_raw)
                    .unwrap_or_else(|_| unistd::getuid()),
                None => unistd::getuid(),
            };
            indicore::privs::drop_groups(target_uid, *one).map_err(sys("unable to set gid"))?;
            unistd::setgid(*one).map_err(sys("unable to set gid"))?;
        }
        list => {
            unistd::setgroups(list).map_err(sys("unable to add additional groups"))?;
            unistd::setgid(list[0]).map_err(sys("unable to set gid"))?;
        }
    }
    if let Some(u) = uid {
        let n: u32 = u
            .to_string_lossy()
            .parse()
            .map_err(|_| Failure::temp("unable to set uid: invalid argument"))?;
        unistd::setuid(Uid::from_raw(n)).map_err(sys("unable to set uid"))?;
    }
    Ok(())
}
