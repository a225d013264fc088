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

use indicore::sys::process::{getgid, getuid, setgid, setgroups, setuid};
use indicore::sys::{errno, Errno};
use indicore::{pwgr, Failure};
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
fn group_list(list: &OsStr) -> io::Result<Vec<u32>> {
    list.as_bytes()
        .split(|&b| b == b',')
        .map(|g| match pwgr::group_id(g)? {
            Some(gid) => Ok(gid),
            None => Err(not_found()),
        })
        .collect()
}

/// `-u name` with the `-g` list.
fn set_user(name: &OsStr, groups: Option<&OsStr>) -> io::Result<()> {
    let acct = pwgr::account(&name.to_string_lossy())?.ok_or_else(not_found)?;
    let (uid, gid) = (acct.uid, acct.gid);
    let mut all: Vec<u32> = pwgr::groups(&acct)?;
    if let Some(list) = groups {
        all.extend(group_list(list)?);
    }
    indicore::privs::set_groups(&all, uid, gid)?;
    setgid(gid)?;
    setuid(uid)?;
    Ok(())
}

/// Become `uid` (number or name) with `gid` (number, or a comma list of names and
/// numbers), as described at the top.
pub fn drop_privileges(uid: Option<&OsStr>, gid: Option<&OsStr>) -> Result<(), Failure> {
    if let Some(name) = uid.filter(|u| !pwgr::is_number(u.as_bytes())) {
        return set_user(name, gid).map_err(|e| fail("unable to set user", e));
    }
    let uid = uid.map(|u| pwgr::number(u.as_bytes()));
    let target_uid = uid.unwrap_or_else(|| getuid().as_raw());
    match gid {
        Some(g) if pwgr::is_number(g.as_bytes()) => {
            let g = pwgr::number(g.as_bytes());
            indicore::privs::drop_groups(target_uid, g)
                .and_then(|()| setgid(g))
                .map_err(|e| fail("unable to set gid", e))?;
        }
        Some(list) => {
            let gids = group_list(list).map_err(|e| fail("unable to add additional groups", e))?;
            setgid(gids[0])
                .and_then(|()| indicore::privs::set_groups(&gids, target_uid, gids[0]))
                .map_err(|e| fail("unable to add additional groups", e))?;
        }
        None if uid.is_some() => match setgroups(&[getgid().as_raw()]) {
            // Without CAP_SETGID there is no privileged group to drop; setuid decides.
            Ok(()) => {}
            Err(e) if errno(&e) == Some(Errno::PERM) => {}
            Err(e) => return Err(fail("unable to set uid", e)),
        },
        None => {}
    }
    if let Some(u) = uid {
        setuid(u).map_err(|e| fail("unable to set uid", e))?;
    }
    Ok(())
}
