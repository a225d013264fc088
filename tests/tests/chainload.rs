//! Black-box tests of the chain-loading programs: envdir, envuidgid, setuidgid, softlimit,
//! setlock, fghack, pgrphack, readproctitle, waitfor.
//!
//! `checkNN_*` tests are acceptance checks NN of docs/daemontools.md#acceptance-checks; the rest cover the
//! error paths of docs/daemontools.md#envdir and #the-other-chain-loaders, and docs/decisions.md#d8, #d9.
//!
//! Every test works in its own temporary directory and runs the binaries with the harness's
//! default umask 022 and, unless said otherwise, an environment holding only
//! `PATH=<bin dir>:/usr/local/bin:/usr/bin:/bin` (see `Cmd::clean_env`).
//! Only Debian tools are used: sh, env, id, od, ps (procps), sleep, true.

use blackbox::{bin, group, is_root, sh, skip, test_path, user, Cmd, Output};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ENVDIR_USAGE: &str = "usage: envdir [-cwi] dir child\n";
const ENVUIDGID_USAGE: &str = "envuidgid: usage: envuidgid account child\n";
const SETUIDGID_USAGE: &str = "usage: setuidgid [-s] [-g gid_list] account child\n";
const SOFTLIMIT_USAGE: &str = "softlimit: usage: softlimit [-a allbytes] [-c corebytes] \
[-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] \
[-r residentbytes] [-s stackbytes] [-t cpusecs] child\n";
const SETLOCK_USAGE: &str = "setlock: usage: setlock [ -nNxX ] file program [ arg ... ]\n";
const PGRPHACK_USAGE: &str = "pgrphack: usage: pgrphack child\n";
const FGHACK_USAGE: &str = "fghack: usage: fghack child\n";
const WAITFOR_USAGE: &str = "waitfor: fatal: USAGE: waitfor [-v] pid\n";

/// A fresh temporary directory, mode 0755 so that a child run as `nobody` can enter it.
fn tmp() -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("chainload.")
        .tempdir()
        .expect("create temp dir");
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// Write `data` to `dir/name`, creating parent directories.
fn put(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, data).unwrap();
    p
}

fn mkdir(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    fs::create_dir_all(&p).unwrap();
    p
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Workspace binary `name`, run in `cwd` with the clean environment.
fn tool(name: &str, cwd: &Path) -> Cmd {
    // chain-loaders never meet the run-fs mirror: an environment of PATH alone
    Cmd::bin(name)
        .clean_env()
        .env_remove("DISABLE_RUN")
        .cwd(cwd)
}

/// stdout split into lines, sorted (for comparing `env` output).
fn sorted_lines(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    v.sort();
    v
}

fn lines(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn path_line() -> String {
    format!("PATH={}", test_path())
}

/// uid and gid of `nobody`, which every Debian system has.
fn nobody() -> (u32, u32, String) {
    user("nobody").expect("no `nobody` account in the password database")
}

/// Assert a usage error: exit 100, stderr exactly `usage`.
#[track_caller]
fn assert_usage(out: &Output, usage: &str) {
    out.assert(100, "", usage);
}

/// Assert a usage error caused by a bad option: exit 100 and the usage text on stderr (a
/// getopt-style `illegal option` line may come first).
#[track_caller]
fn assert_option_usage(out: &Output, usage: &str) {
    assert_eq!(out.code, Some(100), "{out:?}");
    assert!(
        out.stderr_str().contains(usage),
        "usage text missing: {out:?}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

// ----------------------------------------------------------------------------------------
// 48-51: envdir

#[test]
fn check48_envdir_first_line_trimmed_empty_unsets_nul_is_newline() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, "FOO", b"bar \t\nsecond");
    put(&e, "HOME", b"");
    put(&e, "NL", b"a\0b");
    let out = tool("envdir", t.path())
        .env("HOME", "/home/somebody")
        .args(["e"])
        .args(sh(r#"echo "$FOO|${HOME-unset}"; printf %s "$NL" | od -c"#))
        .run();
    out.assert_code(0);
    let text = out.stdout_str();
    assert!(text.starts_with("bar|unset\n"), "{out:?}");
    assert!(
        text.contains("a  \\n   b\n"),
        "od does not show a\\nb: {out:?}"
    );
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn check48_envdir_nul_value_exact_bytes() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, "NL", b"a\0b");
    put(&e, "FOO", b"bar \t\nsecond");
    tool("envdir", t.path())
        .args(["e"])
        .args(sh(r#"printf '%s|%s' "$NL" "$FOO""#))
        .run()
        .assert(0, "a\nb|bar", "");
}

/// The layout of check 49: e/.envfile, e/.envdir -> ../f (a symlink to a directory).
fn check49_tree(t: &Path) {
    let e = mkdir(t, "e");
    let f = mkdir(t, "f");
    put(&e, ".envfile", b"# c\n  X=1\nY\nZ=z \n");
    put(&f, "X", b"2\n");
    symlink("../f", e.join(".envdir")).unwrap();
}

#[test]
fn check49_envdir_symlink_beats_envfile() {
    let t = tmp();
    check49_tree(t.path());
    let out = tool("envdir", t.path())
        .env("Y", "keep")
        .args(["e", "env"])
        .run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "X=2", "Z=z "]),
        "{out:?}"
    );
}

#[test]
fn check49_own_files_beat_envdir() {
    let t = tmp();
    check49_tree(t.path());
    put(&t.path().join("e"), "X", b"3\n");
    let out = tool("envdir", t.path())
        .env("Y", "keep")
        .args(["e", "env"])
        .run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "X=3", "Z=z "]),
        "{out:?}"
    );
}

#[test]
fn check49_envdir_cycle_ends_without_error() {
    let t = tmp();
    check49_tree(t.path());
    symlink("../e", t.path().join("f/.envdir")).unwrap();
    let out = tool("envdir", t.path())
        .env("Y", "keep")
        .args(["e", "env"])
        .run();
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "X=2", "Z=z "]),
        "{out:?}"
    );
}

#[test]
fn check49_envdir_list_file_later_line_wins() {
    let t = tmp();
    put(t.path(), "e/.envdir", b"f\ng\n");
    put(t.path(), "f/X", b"f\n");
    put(t.path(), "f/ONLY_F", b"f\n");
    put(t.path(), "g/X", b"g\n");
    let out = tool("envdir", t.path()).args(["e", "env"]).run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "ONLY_F=f", "X=g"]),
        "{out:?}"
    );
}

#[test]
fn envdir_list_file_paths_are_relative_to_cwd_not_dir() {
    let t = tmp();
    // Dot names so that the decoy e/.f is not itself read as an entry of e.
    put(t.path(), "e/.envdir", b".f\n");
    put(t.path(), ".f/X", b"right\n");
    put(t.path(), "e/.f/X", b"wrong\n");
    let out = tool("envdir", t.path()).args(["e", "env"]).run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "X=right"]),
        "{out:?}"
    );
}

#[test]
fn check50_envdir_missing_directory_fatal() {
    assert!(!Path::new("/nonexistent").exists());
    let t = tmp();
    tool("envdir", t.path())
        .args(["/nonexistent", "true"])
        .run()
        .assert(
            111,
            "",
            "envdir: fatal: unable to open environment directory: /nonexistent: file does not exist\n",
        );
}

#[test]
fn check50_envdir_w_missing_directory_warns_and_runs_child() {
    assert!(!Path::new("/nonexistent").exists());
    let t = tmp();
    let out = tool("envdir", t.path())
        .env("ORIG", "1")
        .args(["-w", "/nonexistent", "env"])
        .run();
    assert_eq!(
        out.stderr_str(),
        "envdir: warn: unable to open environment directory: /nonexistent: file does not exist\n",
        "{out:?}"
    );
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "ORIG=1"]),
        "{out:?}"
    );
}

#[test]
fn check51_envdir_c_clears_environment() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, "A", b"1\n");
    put(&e, "B", b"two\n");
    let out = tool("envdir", t.path())
        .env("ORIG", "1")
        .env("HOME", "/root")
        .args(["-c", "e", "env"])
        .run();
    out.assert_code(0);
    assert_eq!(sorted_lines(&out), lines(&["A=1", "B=two"]), "{out:?}");
}

#[test]
fn check51_envdir_subdirectory_is_fatal() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    mkdir(&e, "sub");
    tool("envdir", t.path()).args(["e", "true"]).run().assert(
        111,
        "",
        "envdir: fatal: unable to open environment file: e/sub: is a directory\n",
    );
}

#[test]
fn check51_envdir_i_ignores_subdirectory() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    mkdir(&e, "sub");
    put(&e, "A", b"1\n");
    tool("envdir", t.path())
        .args(["-i", "e", "true"])
        .run()
        .assert(0, "", "");
    // ...and the readable entries are still applied.
    let out = tool("envdir", t.path()).args(["-i", "e", "env"]).run();
    out.assert_code(0);
    assert_eq!(sorted_lines(&out), lines(&[&path_line(), "A=1"]), "{out:?}");
}

// ----------------------------------------------------------------------------------------
// 52: envuidgid

#[test]
fn check52_envuidgid_root_without_root() {
    let t = tmp();
    let mut cmd = tool("envuidgid", t.path()).args(["root", "env"]);
    if is_root() {
        // Show that no privilege is needed: run it as nobody.
        let (uid, gid, _) = nobody();
        cmd = cmd.user(uid, gid);
    }
    let out = cmd.run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "GID=0", "UID=0"]),
        "{out:?}"
    );
}

#[test]
fn check52_envuidgid_unknown_account() {
    let t = tmp();
    tool("envuidgid", t.path())
        .args(["nosuchuser", "true"])
        .run()
        .assert(111, "", "envuidgid: fatal: unknown account nosuchuser\n");
}

// ----------------------------------------------------------------------------------------
// 53: setuidgid

#[test]
fn check53_setuidgid_uid() {
    if !is_root() {
        return skip("setuidgid nobody needs root");
    }
    let t = tmp();
    let (uid, _, _) = nobody();
    tool("setuidgid", t.path())
        .args(["nobody", "id", "-u"])
        .run()
        .assert(0, &format!("{uid}\n"), "");
}

/// An unprivileged user may "drop" to its own account (nothing to drop), but to no other.
#[test]
fn setuidgid_unprivileged_to_itself_only() {
    if !is_root() {
        return skip("running as nobody needs root");
    }
    let t = tmp();
    let (uid, gid, _) = nobody();
    tool("setuidgid", t.path())
        .args(["nobody", "id", "-u"])
        .user(uid, gid)
        .run()
        .assert(0, &format!("{uid}\n"), "");
    tool("setuidgid", t.path())
        .args(["root", "id", "-u"])
        .user(uid, gid)
        .run()
        .assert(
            111,
            "",
            "setuidgid: fatal: unable to set group id: permission denied\n",
        );
    // Asking for supplementary groups is still refused.
    let out = tool("setuidgid", t.path())
        .args(["-g", "0", "nobody", "id", "-u"])
        .user(uid, gid)
        .run();
    out.assert_code(111);
}

#[test]
fn check53_setuidgid_only_primary_group() {
    if !is_root() {
        return skip("setuidgid nobody needs root");
    }
    let t = tmp();
    let (_, gid, _) = nobody();
    tool("setuidgid", t.path())
        .args(["nobody", "id", "-G"])
        .run()
        .assert(0, &format!("{gid}\n"), "");
}

/// Debian has no `wheel` group: use the first of wheel, adm, daemon, sys, bin that exists and
/// is neither gid 0 nor nobody's primary group.
fn other_group() -> Option<(&'static str, u32)> {
    let (_, nobody_gid, _) = nobody();
    ["wheel", "adm", "daemon", "sys", "bin"]
        .into_iter()
        .filter_map(|g| group(g).map(|gid| (g, gid)))
        .find(|&(_, gid)| gid != 0 && gid != nobody_gid)
}

#[test]
fn check53_setuidgid_g_list_is_exact() {
    if !is_root() {
        return skip("setuidgid nobody needs root");
    }
    let Some((gname, ggid)) = other_group() else {
        return skip("no group among wheel, adm, daemon, sys, bin");
    };
    let t = tmp();
    let (_, gid, _) = nobody();
    let out = tool("setuidgid", t.path())
        .args(["-g", &format!("0,{gname}"), "nobody", "id", "-G"])
        .run();
    out.assert_code(0);
    let got: Vec<u32> = out
        .stdout_str()
        .split_whitespace()
        .map(|w| w.parse().expect("id -G prints numbers"))
        .collect();
    assert_eq!(got.first(), Some(&gid), "egid must come first: {out:?}");
    let mut set = got.clone();
    set.sort();
    set.dedup();
    let mut want = vec![gid, 0, ggid];
    want.sort();
    assert_eq!(set, want, "groups: {out:?}");
}

#[test]
fn check53_setuidgid_e_sets_home_user_logname() {
    if !is_root() {
        return skip("setuidgid nobody needs root");
    }
    let t = tmp();
    let (_, _, home) = nobody();
    let out = tool("setuidgid", t.path())
        .args(["-e", "nobody", "env"])
        .run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[
            &path_line(),
            &format!("HOME={home}"),
            "USER=nobody",
            "LOGNAME=nobody"
        ]),
        "{out:?}"
    );
}

#[test]
fn check53_setuidgid_without_e_leaves_environment() {
    if !is_root() {
        return skip("setuidgid nobody needs root");
    }
    let t = tmp();
    let out = tool("setuidgid", t.path()).args(["nobody", "env"]).run();
    out.assert_code(0);
    assert_eq!(sorted_lines(&out), lines(&[&path_line()]), "{out:?}");
}

#[test]
fn check53_setuidgid_unknown_account() {
    // getpwnam comes first, so this needs no privilege.
    let t = tmp();
    tool("setuidgid", t.path())
        .args(["nosuchuser", "true"])
        .run()
        .assert(111, "", "setuidgid: fatal: unknown account nosuchuser\n");
}

// ----------------------------------------------------------------------------------------
// 54: softlimit

#[test]
fn check54_softlimit_o_sets_soft_limit() {
    let t = tmp();
    tool("softlimit", t.path())
        .args(["-o", "7"])
        .args(sh("ulimit -n"))
        .run()
        .assert(0, "7\n", "");
}

#[test]
fn check54_softlimit_o_equals_raises_soft_to_hard() {
    let t = tmp();
    // Lower the soft limit first so that `=` has something to do.
    let out = Cmd::new("sh")
        .clean_env()
        .cwd(t.path())
        .args([
            "-c",
            r#"ulimit -Sn 9 && exec softlimit -o = sh -c 'ulimit -Sn; ulimit -Hn'"#,
        ])
        .run();
    out.assert_code(0);
    let text = out.stdout_str();
    let v: Vec<&str> = text.lines().collect();
    assert_eq!(v.len(), 2, "{out:?}");
    assert_ne!(v[0], "9", "soft limit not raised: {out:?}");
    assert_eq!(v[0], v[1], "soft != hard: {out:?}");
}

#[test]
fn check54_softlimit_bad_value_usage() {
    let t = tmp();
    assert_usage(
        &tool("softlimit", t.path()).args(["-o", "x", "true"]).run(),
        SOFTLIMIT_USAGE,
    );
    assert_usage(
        &tool("softlimit", t.path()).args(["-o", "7x", "true"]).run(),
        SOFTLIMIT_USAGE,
    );
}

#[test]
fn check54_softlimit_no_args_usage() {
    let t = tmp();
    assert_usage(&tool("softlimit", t.path()).run(), SOFTLIMIT_USAGE);
}

#[test]
fn check54_softlimit_exec_failure() {
    let t = tmp();
    tool("softlimit", t.path())
        .args(["./nonexistent"])
        .run()
        .assert(
            111,
            "",
            "softlimit: fatal: unable to run ./nonexistent: file does not exist\n",
        );
}

// ----------------------------------------------------------------------------------------
// 55: setlock

#[test]
fn check55_setlock_n_fails_while_locked() {
    let t = tmp();
    tool("setlock", t.path())
        .args(["lk"])
        .args(sh("setlock -n lk echo one; echo $?"))
        .run()
        .assert(
            0,
            "111\n",
            "setlock: fatal: unable to lock lk: temporary failure\n",
        );
}

#[test]
fn check55_setlock_nx_exits_0_silently_while_locked() {
    let t = tmp();
    tool("setlock", t.path())
        .args(["lk"])
        .args(sh("setlock -nx lk echo one; echo $?"))
        .run()
        .assert(0, "0\n", "");
}

#[test]
fn check55_setlock_open_failure() {
    let t = tmp();
    tool("setlock", t.path())
        .args(["nodir/lk", "true"])
        .run()
        .assert(
            111,
            "",
            "setlock: fatal: unable to open nodir/lk: file does not exist\n",
        );
}

#[test]
fn check55_setlock_x_open_failure_exits_0() {
    let t = tmp();
    tool("setlock", t.path())
        .args(["-x", "nodir/lk", "echo", "ran"])
        .run()
        .assert(0, "", "");
}

#[test]
fn setlock_creates_0600_without_truncating_and_runs_program() {
    let t = tmp();
    // New file: open_append mode 0600 (umask 022).
    tool("setlock", t.path())
        .args(["new", "echo", "ran"])
        .run()
        .assert(0, "ran\n", "");
    let meta = fs::metadata(t.path().join("new")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert_eq!(meta.len(), 0);
    // Existing file: content kept.
    let old = put(t.path(), "old", b"keep me\n");
    tool("setlock", t.path())
        .args(["-n", "old", "true"])
        .run()
        .assert(0, "", "");
    assert_eq!(fs::read(old).unwrap(), b"keep me\n");
}

#[test]
fn setlock_lock_is_released_when_program_exits() {
    let t = tmp();
    tool("setlock", t.path())
        .args(["lk", "true"])
        .run()
        .assert(0, "", "");
    tool("setlock", t.path())
        .args(["-n", "lk", "echo", "free"])
        .run()
        .assert(0, "free\n", "");
}

// ----------------------------------------------------------------------------------------
// 56: fghack

#[test]
fn check56_fghack_waits_for_descendants() {
    let t = tmp();
    let out = tool("fghack", t.path()).args(sh("sleep 2 &")).run();
    out.assert(0, "", "");
    assert!(
        out.elapsed >= Duration::from_millis(1500),
        "fghack returned before the background sleep ended: {out:?}"
    );
}

#[test]
fn fghack_exit_code_is_childs() {
    let t = tmp();
    tool("fghack", t.path())
        .args(sh("exit 7"))
        .run()
        .assert(7, "", "");
}

#[test]
fn d9_fghack_child_killed_by_signal_exits_111() {
    let t = tmp();
    tool("fghack", t.path())
        .args(sh("kill -9 $$"))
        .run()
        .assert(111, "", "fghack: fatal: child crashed\n");
}

// ----------------------------------------------------------------------------------------
// 57: pgrphack

#[test]
fn check57_pgrphack_starts_new_session() {
    let t = tmp();
    // In the test's own process group: setsid fails for a group leader.
    let out = tool("pgrphack", t.path())
        .same_pgrp()
        .args(sh("echo $$; ps -o sid= -p $$"))
        .run();
    out.assert_code(0);
    let text = out.stdout_str();
    let v: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(v.len(), 2, "{out:?}");
    assert_eq!(v[0], v[1], "session id is not the shell's pid: {out:?}");
}

// ----------------------------------------------------------------------------------------
// 58: readproctitle

#[test]
fn check58_readproctitle_short_last_arg_exits_100() {
    let t = tmp();
    tool("readproctitle", t.path())
        .args(["abc"])
        .run()
        .assert(100, "", "");
}

#[test]
fn check58_readproctitle_reads_to_eof() {
    let t = tmp();
    tool("readproctitle", t.path())
        .args(["x", "........."])
        .stdin("hi\n")
        .run()
        .assert(0, "", "");
}

#[test]
fn readproctitle_no_args_exits_100() {
    let t = tmp();
    tool("readproctitle", t.path()).run().assert(100, "", "");
}

#[test]
fn readproctitle_shows_recent_input_in_ps() {
    let t = tmp();
    let mut child = tool("readproctitle", t.path())
        .args(["io", "errors:", ".........."])
        .stdin_pipe()
        .spawn();
    child.write_stdin(b"hi\n");
    // First 3 bytes kept, the other 7 are a rolling window: "...." + "hi\n".
    let want: &[u8] = b"io\0errors:\0.......hi\n";
    let cmdline = format!("/proc/{}/cmdline", child.pid());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while Instant::now() < deadline {
        got = fs::read(&cmdline).unwrap_or_default();
        if got.ends_with(want) || got.ends_with(&[want, b"\0"].concat()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        got.ends_with(want) || got.ends_with(&[want, b"\0"].concat()),
        "cmdline is {:?}",
        String::from_utf8_lossy(&got)
    );
    child.close_stdin();
    child.wait().assert(0, "", "");
}

// ----------------------------------------------------------------------------------------
// 59: waitfor

#[test]
fn check59_waitfor_v_waits_and_reports() {
    let t = tmp();
    let out = Cmd::new("sh")
        .clean_env()
        .cwd(t.path())
        .args(["-c", "sleep 1 & echo $!; waitfor -v $!"])
        .run();
    out.assert_code(0);
    let text = out.stdout_str();
    let pid = text.lines().next().unwrap_or_default().to_string();
    assert!(pid.parse::<u32>().is_ok(), "{out:?}");
    assert_eq!(text, format!("{pid}\nPID {pid} terminated!\n"), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(
        out.elapsed >= Duration::from_millis(700),
        "waitfor returned before the process ended: {out:?}"
    );
}

#[test]
fn check59_waitfor_no_such_pid() {
    if Path::new("/proc/999999").exists() {
        return skip("pid 999999 exists");
    }
    let t = tmp();
    tool("waitfor", t.path()).args(["999999"]).run().assert(
        111,
        "",
        "waitfor: fatal: unable to open pid 999999: no such process\n",
    );
}

#[test]
fn check59_waitfor_no_args_usage() {
    let t = tmp();
    assert_usage(&tool("waitfor", t.path()).run(), WAITFOR_USAGE);
}

// ----------------------------------------------------------------------------------------
// Usage errors: exit 100 with the reference's text.

#[test]
fn usage_envdir_no_args() {
    let t = tmp();
    assert_usage(
        &tool("envdir", t.path()).run(),
        &format!("envdir: fatal: directory and program must be specfied\n{ENVDIR_USAGE}"),
    );
}

#[test]
fn usage_envdir_dir_only() {
    let t = tmp();
    mkdir(t.path(), "e");
    assert_usage(
        &tool("envdir", t.path()).args(["e"]).run(),
        &format!("envdir: fatal: directory and program must be specfied\n{ENVDIR_USAGE}"),
    );
}

#[test]
fn usage_envdir_empty_dir_name() {
    let t = tmp();
    assert_usage(
        &tool("envdir", t.path()).args(["", "true"]).run(),
        &format!("envdir: fatal: directory not specified\n{ENVDIR_USAGE}"),
    );
}

#[test]
fn usage_envdir_empty_program_name() {
    let t = tmp();
    mkdir(t.path(), "e");
    assert_usage(
        &tool("envdir", t.path()).args(["e", ""]).run(),
        &format!("envdir: fatal: program to run not specified\n{ENVDIR_USAGE}"),
    );
}

#[test]
fn usage_envdir_unknown_option() {
    let t = tmp();
    mkdir(t.path(), "e");
    let out = tool("envdir", t.path()).args(["-z", "e", "true"]).run();
    assert_option_usage(&out, ENVDIR_USAGE);
    assert!(out.stderr_str().contains("envdir: fatal: "), "{out:?}");
}

#[test]
fn usage_envuidgid_no_args() {
    let t = tmp();
    assert_usage(&tool("envuidgid", t.path()).run(), ENVUIDGID_USAGE);
}

#[test]
fn usage_envuidgid_account_only() {
    let t = tmp();
    assert_usage(
        &tool("envuidgid", t.path()).args(["root"]).run(),
        ENVUIDGID_USAGE,
    );
}

#[test]
fn usage_setuidgid_no_args() {
    let t = tmp();
    assert_usage(&tool("setuidgid", t.path()).run(), SETUIDGID_USAGE);
}

#[test]
fn usage_setuidgid_account_only() {
    let t = tmp();
    assert_usage(
        &tool("setuidgid", t.path()).args(["nobody"]).run(),
        SETUIDGID_USAGE,
    );
}

#[test]
fn usage_setuidgid_unknown_option() {
    let t = tmp();
    assert_option_usage(
        &tool("setuidgid", t.path())
            .args(["-z", "nobody", "true"])
            .run(),
        SETUIDGID_USAGE,
    );
}

#[test]
fn usage_setuidgid_missing_option_argument() {
    let t = tmp();
    assert_option_usage(
        &tool("setuidgid", t.path()).args(["-g"]).run(),
        SETUIDGID_USAGE,
    );
}

#[test]
fn usage_softlimit_unknown_option() {
    let t = tmp();
    assert_option_usage(
        &tool("softlimit", t.path()).args(["-z", "1", "true"]).run(),
        SOFTLIMIT_USAGE,
    );
}

#[test]
fn usage_softlimit_missing_option_argument() {
    let t = tmp();
    assert_option_usage(
        &tool("softlimit", t.path()).args(["-o"]).run(),
        SOFTLIMIT_USAGE,
    );
}

#[test]
fn usage_softlimit_options_but_no_child() {
    let t = tmp();
    assert_usage(
        &tool("softlimit", t.path()).args(["-o", "7"]).run(),
        SOFTLIMIT_USAGE,
    );
}

#[test]
fn usage_setlock_no_args() {
    let t = tmp();
    assert_usage(&tool("setlock", t.path()).run(), SETLOCK_USAGE);
}

#[test]
fn usage_setlock_file_only() {
    let t = tmp();
    assert_usage(&tool("setlock", t.path()).args(["lk"]).run(), SETLOCK_USAGE);
    assert!(
        !t.path().join("lk").exists(),
        "usage error created the file"
    );
}

#[test]
fn usage_setlock_unknown_option() {
    let t = tmp();
    assert_option_usage(
        &tool("setlock", t.path()).args(["-z", "lk", "true"]).run(),
        SETLOCK_USAGE,
    );
}

#[test]
fn usage_pgrphack_no_args() {
    let t = tmp();
    assert_usage(&tool("pgrphack", t.path()).run(), PGRPHACK_USAGE);
}

#[test]
fn usage_fghack_no_args() {
    let t = tmp();
    assert_usage(&tool("fghack", t.path()).run(), FGHACK_USAGE);
}

#[test]
fn usage_waitfor_v_without_pid() {
    let t = tmp();
    assert_usage(&tool("waitfor", t.path()).args(["-v"]).run(), WAITFOR_USAGE);
}

#[test]
fn usage_waitfor_unknown_option() {
    let t = tmp();
    assert_option_usage(
        &tool("waitfor", t.path()).args(["-z", "1"]).run(),
        WAITFOR_USAGE,
    );
}

// ----------------------------------------------------------------------------------------
// envdir error paths and D8

#[test]
fn envdir_dangling_symlink_entry_is_fatal() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    symlink("nowhere", e.join("L")).unwrap();
    tool("envdir", t.path()).args(["e", "true"]).run().assert(
        111,
        "",
        "envdir: fatal: unable to open environment file: e/L: file does not exist\n",
    );
}

#[test]
fn envdir_i_skips_dangling_symlink_and_applies_the_rest() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    symlink("nowhere", e.join("L")).unwrap();
    put(&e, "A", b"1\n");
    let out = tool("envdir", t.path()).args(["-i", "e", "env"]).run();
    out.assert_code(0);
    assert_eq!(sorted_lines(&out), lines(&[&path_line(), "A=1"]), "{out:?}");
}

/// Run as nobody when the tests run as root (root ignores file modes).
fn unprivileged(cmd: Cmd) -> Cmd {
    if is_root() {
        let (uid, gid, _) = nobody();
        cmd.user(uid, gid)
    } else {
        cmd
    }
}

#[test]
fn envdir_unreadable_file_is_fatal() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, "B", b"b\n");
    chmod(&put(&e, "A", b"1\n"), 0o000);
    unprivileged(tool("envdir", t.path()).args(["e", "true"]))
        .run()
        .assert(
            111,
            "",
            "envdir: fatal: unable to open environment file: e/A: access denied\n",
        );
    let out = unprivileged(tool("envdir", t.path()).args(["-i", "e", "env"])).run();
    out.assert_code(0);
    assert_eq!(sorted_lines(&out), lines(&[&path_line(), "B=b"]), "{out:?}");
}

#[test]
fn envdir_unreadable_directory_is_fatal() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, "A", b"1\n");
    chmod(&e, 0o000);
    let out = unprivileged(tool("envdir", t.path()).args(["e", "true"])).run();
    chmod(&e, 0o755);
    out.assert_code(111);
    let err = out.stderr_str();
    // Which step trips first (.envfile lstat, .envdir lstat, opendir) is not pinned down.
    assert!(err.starts_with("envdir: fatal: unable to open "), "{out:?}");
    assert!(err.ends_with(": access denied\n"), "{out:?}");
    assert_eq!(err.lines().count(), 1, "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn envdir_not_a_directory_is_fatal() {
    let t = tmp();
    put(t.path(), "plain", b"x\n");
    let out = tool("envdir", t.path()).args(["plain", "true"]).run();
    out.assert_code(111);
    let err = out.stderr_str();
    // Which step trips first (.envfile lstat or opendir) is not pinned down by the spec.
    assert!(err.starts_with("envdir: fatal: unable to open "), "{out:?}");
    assert!(err.ends_with(": not a directory\n"), "{out:?}");
    assert_eq!(err.lines().count(), 1, "{out:?}");
}

#[test]
fn d8_envdir_exec_failure_exits_111() {
    let t = tmp();
    mkdir(t.path(), "e");
    tool("envdir", t.path())
        .args(["e", "nosuchprog"])
        .run()
        .assert(
            111,
            "",
            "envdir: fatal: unable to run nosuchprog: file does not exist\n",
        );
}

#[test]
fn envdir_w_error_restores_whole_environment() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, ".envfile", b"ORIG\nB=2\n");
    put(&e, "A", b"1\n");
    mkdir(&e, "sub");
    let out = tool("envdir", t.path())
        .env("ORIG", "1")
        .args(["-w", "e", "env"])
        .run();
    assert_eq!(
        out.stderr_str(),
        "envdir: warn: unable to open environment file: e/sub: is a directory\n",
        "{out:?}"
    );
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "ORIG=1"]),
        "{out:?}"
    );
}

#[test]
fn envdir_cw_error_restores_environment_from_before_c() {
    // docs/daemontools.md#envdir: -w runs the child with the environment it had before envdir (and -c).
    let t = tmp();
    let out = tool("envdir", t.path())
        .env("ORIG", "1")
        .args(["-c", "-w", "nosuchdir", "env"])
        .run();
    assert_eq!(
        out.stderr_str(),
        "envdir: warn: unable to open environment directory: nosuchdir: file does not exist\n",
        "{out:?}"
    );
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "ORIG=1"]),
        "{out:?}"
    );
}

#[test]
fn envdir_without_p_searches_the_old_path() {
    let t = tmp();
    let bin1 = mkdir(t.path(), "bin1");
    let prog = put(&bin1, "myprog", "#!/bin/sh\necho \"PATH=$PATH\"\n");
    chmod(&prog, 0o755);
    put(t.path(), "e/PATH", format!("{}\n", bin1.display()));
    tool("envdir", t.path()).args(["e", "myprog"]).run().assert(
        111,
        "",
        "envdir: fatal: unable to run myprog: file does not exist\n",
    );
}

#[test]
fn d8_envdir_p_searches_the_new_path() {
    let t = tmp();
    let bin1 = mkdir(t.path(), "bin1");
    let prog = put(&bin1, "myprog", "#!/bin/sh\necho \"PATH=$PATH\"\n");
    chmod(&prog, 0o755);
    // A single element: the reference's `PATH==value` quirk would skip it.
    put(t.path(), "e/PATH", format!("{}\n", bin1.display()));
    let want = format!("PATH={}\n", bin1.display());
    tool("envdir", t.path())
        .args(["-p", "e", "myprog"])
        .run()
        .assert(0, &want, "");
    tool("envdir", t.path())
        .args(["-c", "-p", "e", "myprog"])
        .run()
        .assert(0, &want, "");
}

#[test]
fn envdir_c_without_p_searches_bin_usr_bin() {
    let t = tmp();
    let bin1 = mkdir(t.path(), "bin1");
    let prog = put(&bin1, "myprog", "#!/bin/sh\necho ran\n");
    chmod(&prog, 0o755);
    mkdir(t.path(), "e");
    // PATH points at bin1, but -c removes it: the search falls back to /bin:/usr/bin.
    Cmd::bin("envdir")
        .env_clear()
        .env("PATH", &bin1)
        .cwd(t.path())
        .args(["-c", "e", "myprog"])
        .run()
        .assert(
            111,
            "",
            "envdir: fatal: unable to run myprog: file does not exist\n",
        );
    Cmd::bin("envdir")
        .env_clear()
        .cwd(t.path())
        .args(["-c", "e", "env"])
        .run()
        .assert(0, "", "");
}

#[test]
fn d8_envdir_envfile_last_line_without_newline() {
    let t = tmp();
    put(t.path(), "e/.envfile", b"A=1\nB=2");
    let out = tool("envdir", t.path()).args(["e", "env"]).run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "A=1", "B=2"]),
        "{out:?}"
    );
}

#[test]
fn envdir_envfile_nul_in_first_line_splits_lines() {
    let t = tmp();
    put(t.path(), "e/.envfile", b"A=1\0B=2\nC=3\n");
    let out = tool("envdir", t.path()).args(["e", "env"]).run();
    out.assert_code(0);
    assert_eq!(
        sorted_lines(&out),
        lines(&[&path_line(), "A=1", "B=2", "C=3"]),
        "{out:?}"
    );
}

#[test]
fn envdir_envfile_directory_is_ignored() {
    let t = tmp();
    let e = mkdir(t.path(), "e");
    put(&e, ".envfile/X", b"1\n");
    put(&e, "A", b"1\n");
    let out = tool("envdir", t.path()).args(["e", "env"]).run();
    out.assert_code(0);
    assert_eq!(sorted_lines(&out), lines(&[&path_line(), "A=1"]), "{out:?}");
}

#[test]
fn d8_envdir_nested_list_files_do_not_corrupt_each_other() {
    let t = tmp();
    let d = t.path();
    // e/.envdir lists a and b; a/.envdir lists c. All paths relative to the cwd.
    put(d, "e/.envdir", b"a\nb\n");
    put(d, "a/.envdir", b"c\n");
    put(d, "c/V", b"c\n");
    put(d, "c/W", b"c\n");
    put(d, "c/ONLY_C", b"c\n");
    put(d, "a/V", b"a\n");
    put(d, "a/W", b"a\n");
    put(d, "a/ONLY_A", b"a\n");
    put(d, "b/V", b"b\n");
    put(d, "b/ONLY_B", b"b\n");
    put(d, "e/OWN", b"e\n");
    let out = tool("envdir", d).args(["e", "env"]).run();
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    assert_eq!(
        sorted_lines(&out),
        lines(&[
            &path_line(),
            "ONLY_A=a",
            "ONLY_B=b",
            "ONLY_C=c",
            "OWN=e",
            "V=b",
            "W=a"
        ]),
        "{out:?}"
    );
}

// ----------------------------------------------------------------------------------------
// Accounts, groups, limits, exec failures

#[test]
fn setuidgid_unknown_group() {
    let t = tmp();
    let out = tool("setuidgid", t.path())
        .args(["-g", "nosuchgroup", "nobody", "true"])
        .run();
    if is_root() {
        out.assert(111, "", "setuidgid: fatal: unknown group nosuchgroup\n");
    } else {
        // Without root the earlier setgid already fails; still a 111.
        out.assert_code(111);
        assert!(
            out.stderr_str().starts_with("setuidgid: fatal: "),
            "{out:?}"
        );
    }
}

#[test]
fn setuidgid_exec_failure() {
    if !is_root() {
        return skip("setuidgid nobody needs root");
    }
    let t = tmp();
    tool("setuidgid", t.path())
        .args(["nobody", "nosuchprog"])
        .run()
        .assert(
            111,
            "",
            "setuidgid: fatal: unable to run nosuchprog: file does not exist\n",
        );
}

#[test]
fn setuidgid_as_non_root_fails_111() {
    let t = tmp();
    let (uid, gid, _) = nobody();
    let mut cmd = tool("setuidgid", t.path()).args(["root", "true"]);
    if is_root() {
        cmd = cmd.user(uid, gid);
    }
    let out = cmd.run();
    out.assert_code(111);
    assert!(
        out.stderr_str().starts_with("setuidgid: fatal: "),
        "{out:?}"
    );
    assert!(
        out.stderr_str().ends_with(": permission denied\n"),
        "{out:?}"
    );
}

#[test]
fn envuidgid_exec_failure() {
    let t = tmp();
    tool("envuidgid", t.path())
        .args(["root", "nosuchprog"])
        .run()
        .assert(
            111,
            "",
            "envuidgid: fatal: unable to run nosuchprog: file does not exist\n",
        );
}

#[test]
fn softlimit_infinite_nofile_fails_even_for_root() {
    // -1 asks for soft and hard RLIM_INFINITY; Linux caps NOFILE at fs.nr_open (EPERM).
    let t = tmp();
    tool("softlimit", t.path())
        .args(["-o", "-1", "true"])
        .run()
        .assert(
            111,
            "",
            "softlimit: fatal: setrlimit failed: permission denied\n",
        );
}

#[test]
fn softlimit_p_raising_hard_limit_as_non_root_fails() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into rl.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut rl) }, 0);
    if rl.rlim_max == libc::RLIM_INFINITY {
        return skip("hard RLIMIT_NPROC is already unlimited");
    }
    let t = tmp();
    unprivileged(tool("softlimit", t.path()).args(["-p", "-1", "true"]))
        .run()
        .assert(
            111,
            "",
            "softlimit: fatal: setrlimit failed: permission denied\n",
        );
}

#[test]
fn softlimit_value_above_hard_is_capped() {
    let t = tmp();
    let out = tool("softlimit", t.path())
        .args(["-o", "99999999999"])
        .args(sh("ulimit -Sn; ulimit -Hn"))
        .run();
    out.assert_code(0);
    let text = out.stdout_str();
    let v: Vec<&str> = text.lines().collect();
    assert_eq!(v.len(), 2, "{out:?}");
    assert_eq!(v[0], v[1], "{out:?}");
}

#[test]
fn setlock_exec_failure() {
    let t = tmp();
    tool("setlock", t.path())
        .args(["lk", "nosuchprog"])
        .run()
        .assert(
            111,
            "",
            "setlock: fatal: unable to run nosuchprog: file does not exist\n",
        );
}

#[test]
fn pgrphack_exec_failure() {
    let t = tmp();
    tool("pgrphack", t.path())
        .args(["nosuchprog"])
        .run()
        .assert(
            111,
            "",
            "pgrphack: fatal: unable to run nosuchprog: file does not exist\n",
        );
}

#[test]
fn fghack_exec_failure() {
    let t = tmp();
    tool("fghack", t.path()).args(["nosuchprog"]).run().assert(
        111,
        "",
        "fghack: fatal: unable to run nosuchprog: file does not exist\n",
    );
}

#[test]
fn harness_finds_binaries() {
    for name in [
        "envdir",
        "envuidgid",
        "setuidgid",
        "softlimit",
        "setlock",
        "pgrphack",
        "fghack",
        "readproctitle",
        "waitfor",
    ] {
        assert!(bin(name).is_absolute());
    }
}

/// A Rust program ignores SIGPIPE unless told otherwise, and an ignored signal survives
/// exec: every chain-loader must hand its child the dispositions it was given.
#[test]
fn chain_loaders_leave_sigpipe_to_the_child() {
    let t = tmp();
    mkdir(t.path(), "e");
    let lock = t.path().join("lk");
    let chains: [&[&str]; 6] = [
        &["envdir", "e"],
        &["softlimit", "-o", "64"],
        &["pgrphack"],
        &["setlock", lock.to_str().unwrap()],
        &["fghack"],
        &["envuidgid", "root"],
    ];
    let grep = ["grep", "^SigIgn:", "/proc/self/status"];
    let given = Cmd::new(grep[0]).args(&grep[1..]).clean_env().run();
    given.assert_code(0);
    let mask =
        u64::from_str_radix(given.stdout_str().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    assert_eq!(
        mask & (1 << (libc::SIGPIPE - 1)),
        0,
        "the test itself runs with SIGPIPE ignored"
    );
    for chain in chains {
        let out = tool(chain[0], t.path()).args(&chain[1..]).args(grep).run();
        out.assert(0, &given.stdout_str(), "");
    }
}
