//! The account and group databases (nsswitch, as getpwnam and getgrnam give them).

use std::io;

/// What the programs need of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub dir: String,
}

fn account(u: nix::unistd::User) -> Account {
    Account {
        name: u.name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        dir: u.dir.to_string_lossy().into_owned(),
    }
}

/// getpwnam: Ok(None) when there is no such account.
pub fn by_name(name: &str) -> io::Result<Option<Account>> {
    Ok(nix::unistd::User::from_name(name)?.map(account))
}

/// getpwuid: Ok(None) when no account has that uid.
pub fn by_uid(uid: u32) -> io::Result<Option<Account>> {
    Ok(nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))?.map(account))
}

/// getgrnam: the group's gid, Ok(None) when there is no such group.
pub fn group_id(name: &str) -> io::Result<Option<u32>> {
    Ok(nix::unistd::Group::from_name(name)?.map(|g| g.gid.as_raw()))
}

/// getgrgid: the group's name, Ok(None) when no group has that gid.
pub fn group_name(gid: u32) -> io::Result<Option<String>> {
    Ok(nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))?.map(|g| g.name))
}

/// getgrouplist: the groups of `name`, `gid` first.
pub fn group_list(name: &str, gid: u32) -> io::Result<Vec<u32>> {
    let name =
        std::ffi::CString::new(name).map_err(|_| io::Error::from(rustix::io::Errno::INVAL))?;
    Ok(
        nix::unistd::getgrouplist(&name, nix::unistd::Gid::from_raw(gid))?
            .into_iter()
            .map(|g| g.as_raw())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_there() {
        let root = by_name("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(by_uid(0).unwrap().unwrap().name, "root");
        assert_eq!(group_id("root").unwrap(), Some(0));
        assert_eq!(group_name(0).unwrap().as_deref(), Some("root"));
        assert!(by_name("no-such-account-here").unwrap().is_none());
        assert_eq!(group_list("root", 0).unwrap()[0], 0);
    }
}
