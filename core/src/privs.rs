//! The first step of every privilege drop: the supplementary groups.

use crate::sys::process::{getegid, geteuid, getgid, getuid, setgroups};
use crate::sys::{errno, Errno};
use std::io;

/// `setgroups([gid])`, the first step of dropping to `uid`/`gid`. An unprivileged process
/// cannot call setgroups at all; when it already runs as exactly `uid` and `gid` (real and
/// effective), there is nothing left to drop, so that EPERM is not an error: a service tree
/// can then run as an ordinary user with the same run scripts.
pub fn drop_groups(uid: u32, gid: u32) -> io::Result<()> {
    set_groups(&[gid], uid, gid)
}

/// setgroups(`groups`), with the same exception as [`drop_groups`].
pub fn set_groups(groups: &[u32], uid: u32, gid: u32) -> io::Result<()> {
    match setgroups(groups) {
        Err(e) if errno(&e) == Some(Errno::PERM) && already(uid, gid) => Ok(()),
        r => r,
    }
}

/// Whether this process already has `uid` and `gid` as its real and effective ids.
pub fn already(uid: u32, gid: u32) -> bool {
    getuid().as_raw() == uid
        && geteuid().as_raw() == uid
        && getgid().as_raw() == gid
        && getegid().as_raw() == gid
}
