//! The first step of every privilege drop: the supplementary groups.

use nix::unistd::{self, Gid, Uid};

/// `setgroups([gid])`, the first step of dropping to `uid`/`gid`. An unprivileged process
/// cannot call setgroups at all; when it already runs as exactly `uid` and `gid` (real and
/// effective), there is nothing left to drop, so that EPERM is not an error: a service tree
/// can then run as an ordinary user with the same run scripts.
pub fn drop_groups(uid: Uid, gid: Gid) -> nix::Result<()> {
    set_groups(&[gid], uid, gid)
}

/// setgroups(`groups`), with the same exception as [`drop_groups`].
pub fn set_groups(groups: &[Gid], uid: Uid, gid: Gid) -> nix::Result<()> {
    match unistd::setgroups(groups) {
        Err(nix::Error::EPERM) if already(uid, gid) => Ok(()),
        r => r,
    }
}

/// Whether this process already has `uid` and `gid` as its real and effective ids.
pub fn already(uid: Uid, gid: Gid) -> bool {
    unistd::getuid() == uid
        && unistd::geteuid() == uid
        && unistd::getgid() == gid
        && unistd::getegid() == gid
}
