//! Black-box suite for the packaging tools: installer and uinstaller (a permission list
//! on standard input: install, check, fix, uninstall), instcheck (a package's lists in
//! perms.d), and set-network-wait (svscan's systemd drop-in, in a private mount
//! namespace).

use blackbox::{bin_dir, is_root, skip, Cmd, Output};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn scratch() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("toolkit-install")
        .tempdir()
        .unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn installer(cwd: &Path, args: &[&str], list: &str) -> Output {
    Cmd::bin("installer")
        .clean_env()
        .cwd(cwd)
        .args(args)
        .stdin(list)
        .run()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

/// (uid, gid) of the `daemon` account, which Debian always has.
fn daemon() -> (u32, u32) {
    let (uid, _, _) = blackbox::user("daemon").expect("a daemon user");
    (uid, blackbox::group("daemon").expect("a daemon group"))
}

const LIST: &str = "\
# a comment, and a line starting with a blank, are ignored
 d:::0755:/ignored::
d:::0755:/a::
d:daemon:daemon:0700:/a/private::
f:::0640:/a/:copy:source
?f:::0644:/a/:optional:nosource
z:::0600:/a/:zeros:10:
p:::0620:/a/:fifo::
l:::0755:/a/:link:copy
";

#[test]
fn installer_creates_what_the_list_says() {
    if !is_root() {
        return skip("installer gives owners only as root");
    }
    let d = scratch();
    fs::write(d.path().join("source"), "hello\n").unwrap();
    let dest = d.path().join("root");
    let t = dest.display();
    let list = LIST.replace("?f:::0644:/a/:optional:nosource\n", "");
    installer(d.path(), &[&t.to_string()], &list).assert(
        0,
        &format!(
            "mkdir {t}/a -mode 0755\n\
             mkdir {t}/a/private -owner daemon -group daemon -mode 0700\n\
             install file {t}/a/copy -mode 0640 -source source -size 6\n  chmod 0640 {t}/a/copy\n\
             install file {t}/a/zeros -mode 0600 -source /dev/zero -size 10\n  chmod 0600 {t}/a/zeros\n\
             mkfifo {t}/a/fifo -mode 0620\n  chmod 0620 {t}/a/fifo\n\
             make link {t}/a/link -source copy\n"
        ),
        "",
    );
    let a = dest.join("a");
    assert_eq!(fs::read_to_string(a.join("copy")).unwrap(), "hello\n");
    assert_eq!(fs::read(a.join("zeros")).unwrap(), vec![0u8; 10]);
    assert!(fs::symlink_metadata(a.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        fs::read_link(a.join("link")).unwrap(),
        PathBuf::from("copy")
    );
    assert_eq!(
        [
            mode(&a),
            mode(&a.join("copy")),
            mode(&a.join("zeros")),
            mode(&a.join("fifo"))
        ],
        [0o755, 0o640, 0o600, 0o620]
    );
    let m = fs::metadata(a.join("private")).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o7777),
        (daemon().0, daemon().1, 0o700)
    );
    assert!(!dest.join("ignored").exists());
}

#[test]
fn installer_check_reports_fix_repairs_and_missing_sources_stop_or_pass() {
    if !is_root() {
        return skip("installer gives owners only as root");
    }
    let d = scratch();
    fs::write(d.path().join("source"), "hello\n").unwrap();
    let dest = d.path().join("root");
    let t = dest.display().to_string();
    // a missing source stops an install, or is skipped with -m
    installer(d.path(), &[&t], "f:::0644:/:f:nosource\n").assert(
        111,
        "",
        "installer: fatal: nosource: file does not exist\n",
    );
    installer(d.path(), &["-m", &t], LIST).assert_code(0);
    fs::set_permissions(dest.join("a/copy"), fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(dest.join("a/private"), Some(0), Some(0)).unwrap();
    fs::write(dest.join("a/zeros"), "").unwrap();
    let warn = format!(
        "installer: warn: {t}/a/private has wrong owner [root] should be [daemon]\n\
         installer: warn: {t}/a/private has wrong group [root] should be [daemon]\n\
         installer: warn: {t}/a/copy has wrong mode  [0666] should be [0640]\n\
         installer: warn: {t}/a/optional is missing\n\
         installer: warn: {t}/a/zeros is not the right size (10).\n"
    );
    // the link check looks for its target from the current directory, as the reference does
    let link = format!("make link {t}/a/link -source copy\n");
    installer(d.path(), &["-cm", &t], LIST).assert(0, &link, &warn);
    assert_eq!(mode(&dest.join("a/copy")), 0o666, "-c changes nothing");
    installer(d.path(), &["-c", &t], LIST).assert(
        111,
        "",
        &format!(
            "installer: warn: {t}/a/private has wrong owner [root] should be [daemon]\n\
             installer: warn: {t}/a/private has wrong group [root] should be [daemon]\n\
             installer: warn: {t}/a/copy has wrong mode  [0666] should be [0640]\n\
             installer: fatal: {t}/a/optional: file does not exist\n"
        ),
    );
    installer(d.path(), &["-fm", &t], LIST).assert(
        0,
        &format!("  chown daemon {t}/a/private\n  chgrp daemon {t}/a/private\n  chmod 0640 {t}/a/copy\n{link}"),
        &format!(
            "installer: warn: {t}/a/private has wrong owner [root], will change it to [daemon]\n\
             installer: warn: {t}/a/private has wrong group [root], will change it to [daemon]\n\
             installer: warn: {t}/a/copy has wrong mode  [0666], will change it to [0640]\n\
             installer: warn: {t}/a/optional is missing\n\
             installer: warn: {t}/a/zeros is not the right size (10).\n"
        ),
    );
    assert_eq!(mode(&dest.join("a/copy")), 0o640);
    let m = fs::metadata(dest.join("a/private")).unwrap();
    assert_eq!((m.uid(), m.gid()), daemon());
}

#[test]
fn installer_uninstalls_files_then_empty_directories() {
    let d = scratch();
    fs::write(d.path().join("source"), "hello\n").unwrap();
    let dest = d.path().join("root");
    let t = dest.display().to_string();
    installer(d.path(), &["-m", &t], LIST).assert_code(0);
    // directories first: a is not empty yet; listing them last removes them
    let list = LIST.lines().skip(4).chain(
        LIST.lines()
            .skip(2)
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev(),
    );
    let list: String = list.map(|l| format!("{l}\n")).collect();
    installer(d.path(), &["-u", &t], &list).assert(
        0,
        &format!(
            "delete {t}/a/copy\ndelete {t}/a/optional\ndelete {t}/a/zeros\nunlink {t}/a/fifo\n\
             unlink {t}/a/link\nrmdir {t}/a/private\nrmdir {t}/a\n"
        ),
        "",
    );
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
    installer(d.path(), &["-u", &t], "d:::0755:/gone::\n").assert(
        0,
        &format!("rmdir {t}/gone\n"),
        "",
    );
    fs::create_dir_all(dest.join("full/x")).unwrap();
    installer(
        d.path(),
        &["-u", &t],
        "d:::0755:/full::\nf:::0644:/:full:x\n",
    )
    .assert(
        111,
        &format!("rmdir {t}/full\ndelete {t}/full\n"),
        &format!(
            "installer: warn: rmdir {t}/full: directory not empty\n\
             installer: fatal: {t}/full: is a directory\n"
        ),
    );
}

#[test]
fn installer_as_an_ordinary_user_sets_modes_only() {
    if !is_root() {
        return skip("running as nobody needs root");
    }
    let (uid, gid, _) = blackbox::user("nobody").expect("nobody");
    let d = scratch();
    fs::write(d.path().join("source"), "hello\n").unwrap();
    let dest = d.path().join("root");
    fs::create_dir(&dest).unwrap();
    std::os::unix::fs::chown(&dest, Some(uid), Some(gid)).unwrap();
    let t = dest.display().to_string();
    Cmd::bin("installer")
        .clean_env()
        .cwd(d.path())
        .user(uid, gid)
        .arg(&t)
        .stdin("f:root:root:0644:/:copy:source\nd:::0700:/sub::\n")
        .run()
        .assert(
            0,
            &format!(
                "install file {t}/copy -owner root -group root -mode 0644 -source source -size 6\n\
                 \tchmod 0644 {t}/copy\nmkdir {t}/sub -mode 0755\n"
            ),
            "",
        );
    let m = fs::metadata(dest.join("copy")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (uid, 0o644));
    // a directory made by an ordinary user gets 0755 less the umask (077)
    assert_eq!(mode(&dest.join("sub")), 0o700);
    // fixing needs root: only the warning, nothing changes
    Cmd::bin("installer")
        .clean_env()
        .cwd(d.path())
        .user(uid, gid)
        .args(["-f", &t])
        .stdin("f:root:root:0644:/:copy:source\n")
        .run()
        .assert(0, "", "installer: warn: installer not running as uid 0\n");
    assert_eq!(fs::metadata(dest.join("copy")).unwrap().uid(), uid);
}

#[test]
fn installer_unknown_owner_is_left_alone_with_a_warning() {
    let d = scratch();
    let t = d.path().join("root").display().to_string();
    installer(
        d.path(),
        &[&t],
        "d:no-such-user-x:no-such-group-x:0755:/dir::\n",
    )
    .assert(
        0,
        &format!("mkdir {t}/dir -mode 0755\n"),
        "installer: warn: unknown user no-such-user-x: not changed\n\
         installer: warn: unknown group no-such-group-x: not changed\n",
    );
}

#[test]
fn installer_usage_names_the_program_it_runs_as() {
    let usage = "installer: fatal: USAGE: installer [options] dest_dir\noptions\n       \
                 -c check permissions of dir/files\n       -m ignore missing files\n       \
                 -f fix permissions\n       -u uninstall\n";
    Cmd::bin("installer").clean_env().arg("-x").run().assert(
        100,
        "",
        &format!("installer: illegal option -- x\n{usage}"),
    );
    Cmd::bin("uinstaller").clean_env().arg("-z").run().assert(
        100,
        "",
        &format!("uinstaller: illegal option -- z\n{usage}"),
    );
}

#[test]
fn installer_reads_a_last_line_without_newline() {
    let d = scratch();
    let t = d.path().join("root").display().to_string();
    installer(d.path(), &[&t], "d:::0755:/dir::").assert(
        0,
        &format!("mkdir {t}/dir -mode 0755\n"),
        "",
    );
    assert!(d.path().join("root/dir").is_dir());
}

// ----- instcheck -----

/// `SYSCONFDIR/perms.d/demo` with an INPUT and two lists.
fn perms(d: &Path) -> PathBuf {
    let lists = d.join("etc/perms.d/demo");
    fs::create_dir_all(&lists).unwrap();
    fs::write(
        lists.join("INPUT"),
        "/            DIRS\n/opt/demo    BIN\n\n",
    )
    .unwrap();
    fs::write(
        lists.join("DIRS"),
        "d:::0755:/opt::\nd:::0755:/opt/demo::\nd:::0755:/opt/demo/bin::\n",
    )
    .unwrap();
    fs::write(lists.join("BIN"), "f:::0755:/bin/:prog:prog\n").unwrap();
    lists
}

fn instcheck(name: &str, d: &Path, args: &[&str]) -> Output {
    Cmd::bin(name)
        .clean_env()
        .env("SYSCONFDIR", d.join("etc"))
        .env("DESTDIR", d.join("dest"))
        .args(args)
        .run()
}

#[test]
fn instcheck_runs_installer_over_each_list_of_the_package() {
    let d = scratch();
    perms(d.path());
    let dest = d.path().join("dest");
    let inst = bin_dir().join("installer");
    let (i, t) = (inst.display(), dest.display());
    instcheck("instcheck", d.path(), &["demo", "-cm"]).assert(
        0,
        &format!(
            "{i} -cm {t} < DIRS\nmkdir {t}/opt -mode 0755\nmkdir {t}/opt/demo -mode 0755\n\
             mkdir {t}/opt/demo/bin -mode 0755\n{i} -cm {t}/opt/demo < BIN\n"
        ),
        &format!("installer: warn: {t}/opt/demo/bin/prog is missing\n"),
    );
    // the default options -cfm; without -m a missing file ends the check with its status
    let o = instcheck("instcheck", d.path(), &["demo", "-c"]);
    o.assert(
        111,
        &format!("{i} -c {t} < DIRS\n{i} -c {t}/opt/demo < BIN\n"),
        &format!("installer: fatal: {t}/opt/demo/bin/prog: file does not exist\n"),
    );
}

#[test]
fn instcheck_takes_the_package_from_its_name() {
    let d = scratch();
    perms(d.path());
    let link = d.path().join("instcheck.demo");
    std::os::unix::fs::symlink(bin_dir().join("instcheck"), &link).unwrap();
    let o = Cmd::new(&link)
        .clean_env()
        .env("SYSCONFDIR", d.path().join("etc"))
        .env("DESTDIR", d.path().join("dest"))
        .run();
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(o.stdout_str().contains(" -cfm "), "{o:?}");
    assert!(d.path().join("dest/opt/demo/bin").is_dir());
}

#[test]
fn instcheck_messages() {
    let d = scratch();
    let bin = bin_dir().join("instcheck");
    instcheck("instcheck", d.path(), &[]).assert(100, "", "package name must be specified\n");
    instcheck("instcheck", d.path(), &["a", "b", "c"]).assert(
        100,
        "",
        &format!("USAGE: {} package [options]\n", bin.display()),
    );
    let etc = d.path().join("etc").display().to_string();
    instcheck("instcheck", d.path(), &["nopkg"]).assert(
        111,
        "",
        &format!("nopkg: missing permission files dir [{etc}/perms.d/nopkg]\n"),
    );
    fs::create_dir_all(d.path().join("etc/perms.d/empty")).unwrap();
    instcheck("instcheck", d.path(), &["empty"]).assert(
        111,
        "",
        "empty: missing INPUT definition\n",
    );
}

// ----- set-network-wait -----

#[test]
fn set_network_wait_writes_the_drop_in_for_the_active_network_manager() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../svscan/scripts/set-network-wait");
    let stub = "#!/bin/sh\necho \"$*\" >>/tmp/calls\ncase \"$*\" in\n\
                \"is-active NetworkManager.service\") echo active ;;\nis-active*) echo inactive ;;\nesac\n";
    // private mounts over the unit directory and /tmp: nothing of the host is touched
    let body = format!(
        "mount -t tmpfs none /usr/lib/systemd/system && mount -t tmpfs none /tmp || exit 99\n\
         mkdir /tmp/stubs && printf '%s' \"$STUB\" >/tmp/stubs/systemctl && chmod +x /tmp/stubs/systemctl\n\
         PATH=/tmp/stubs:$PATH; export PATH\n\
         sh {s} && sh {s} && cat /usr/lib/systemd/system/svscan.service.d/override.conf && \
         ls -d /tmp/svscan && echo --- && cat /tmp/calls",
        s = script.display()
    );
    let o = Cmd::new("unshare")
        .clean_env()
        .env("STUB", stub)
        .args(["--mount", "--propagation", "private", "sh", "-c", &body])
        .run();
    if o.code == Some(99) || (o.code == Some(1) && o.stderr_str().contains("unshare")) {
        return skip("no private mount namespace here");
    }
    let out = o.stdout_str();
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(
        out.matches("Setting wait-online for NetworkManager\n")
            .count(),
        1,
        "{o:?}"
    );
    assert!(
        out.contains("After=systemd-time-wait-sync.service NetworkManager-wait-online.service\n")
    );
    assert!(
        out.contains("Also=systemd-time-wait-sync.service NetworkManager-wait-online.service\n")
    );
    let (out, calls) = out.split_once("---\n").unwrap();
    assert!(out.ends_with("/tmp/svscan\n"));
    // the second run found the drop-in up to date: one reload only
    assert_eq!(calls.matches("daemon-reload").count(), 1, "{calls}");
}
