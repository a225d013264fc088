//! Dropping privileges after bind (docs/ucspi-tcp.md#tcpserver-command-line:
//! `-u`, `-g`, `-U`), as the reference does it:
//!
//! * `-u name`: the account (from the group and password databases, or the files
//!   `USE_QPWGR` names), its groups plus any `-g` groups as the supplementary groups, then
//!   its gid and uid. Any failure: `unable to set user: ERR`.
//! * otherwise `-g N`: setgroups([N]) and setgid(N) (`unable to set gid: ERR`); `-g a,b,..`
//!   (names or numbers): gid `a`, supplementary groups all of them (`unable to add
//!   additional groups: ERR`); then `-u N`: setuid(N) (`unable to set uid: ERR`).
//!
//! A name that does not exist fails with errno 0, which the reference prints as `no error`.
//! `-u N` without `-g` first reduces the supplementary groups to the current gid
//! (COMPATIBILITY T2). An unprivileged process that already runs as the target account may
//! skip the setgroups it is not allowed to make (COMPATIBILITY P1).

use indicore::{pwgr, Failure};
use nix::unistd::{self, Gid, Uid};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;

fn fail(what: &str, e: io::Error) -> Failure {
    Failure::temp_sys(format_args!("{what}: "), &e)
}

/// "not found": errno 0, printed `no error`.
fn not_found() -> io::Error {
    io::Error::from_raw_os_error(0)
}

/// A comma list of groups (names through the group database, or numbers).
fn group_list(list: &OsStr) -> io::Result<Vec<Gid>> {
    list.as_bytes()
        .split(|&b| b == b',')
        .map(|g| match pwgr::group_id(g)? {
            Some(gid) => Ok(Gid::from_raw(gid)),
            None => Err(not_found()),
        })
        .collect()
}

/// `-u name` with the `-g` list.
fn set_user(name: &OsStr, groups: Option<&OsStr>) -> io::Result<()> {
    let acct = pwgr::account(&name.to_string_lossy())?.ok_or_else(not_found)?;
    let (uid, gid) = (Uid::from_raw(acct.uid), Gid::from_raw(acct.gid));
    let mut all: Vec<Gid> = pwgr::groups(&acct)?
        .into_iter()
        .map(Gid::from_raw)
        .collect();
    if let Some(list) = groups {
        all.extend(group_list(list)?);
    }
    indicore::privs::set_groups(&all, uid, gid)?;
    unistd::setgid(gid)?;
    unistd::setuid(uid)?;
    Ok(())
}

/// Become `uid` (number or name) with `gid` (number, or a comma list of names and
/// numbers), as described at the top.
pub fn drop_privileges(uid: Option<&OsStr>, gid: Option<&OsStr>) -> Result<(), Failure> {
    if let Some(name) = uid.filter(|u| !pwgr::is_number(u.as_bytes())) {
        return set_user(name, gid).map_err(|e| fail("unable to set user", e));
    }
    let uid = uid.map(|u| Uid::from_raw(pwgr::number(u.as_bytes())));
    let target_uid = uid.unwrap_or_else(unistd::getuid);
    match gid {
        Some(g) if pwgr::is_number(g.as_bytes()) => {
            let g = Gid::from_raw(pwgr::number(g.as_bytes()));
            indicore::privs::drop_groups(target_uid, g)
                .and_then(|()| unistd::setgid(g))
                .map_err(|e| fail("unable to set gid", e.into()))?;
        }
        Some(list) => {
            let gids = group_list(list).map_err(|e| fail("unable to add additional groups", e))?;
            unistd::setgid(gids[0])
                .and_then(|()| indicore::privs::set_groups(&gids, target_uid, gids[0]))
                .map_err(|e| fail("unable to add additional groups", e.into()))?;
        }
        None if uid.is_some() => match unistd::setgroups(&[unistd::getgid()]) {
            // Without CAP_SETGID there is no privileged group to drop; setuid decides.
            Ok(()) | Err(nix::Error::EPERM) => {}
            Err(e) => return Err(fail("unable to set uid", e.into())),
        },
        None => {}
    }
    if let Some(u) = uid {
        unistd::setuid(u).map_err(|e| fail("unable to set uid", e.into()))?;
    }
    Ok(())
}
