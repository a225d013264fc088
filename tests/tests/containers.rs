//! Black-box suite for the container pieces: docker-entrypoint (options, time zone, mail
//! domain, /etc/mtab, webmail, the podman FIFO hot-fix, the exec of svscan), svscan as
//! pid 1 behind it (orphans reaped, SIGTERM as an ordered shutdown inside the grace
//! period, the exit status), a read-only service tree with a tmpfs /run, and runpod with a
//! stand-in engine.
//!
//! Files the entrypoint touches live under a scratch root (`SVCTOOL_ROOT`); the pid-1 tests
//! run in `unshare --pid --fork --mount-proc` (root, as CI runs), with a private tmpfs on
//! /run where supervise needs it, so nothing of the host is read or written.

use blackbox::{bin, is_root, skip, test_path, Cmd, Output};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(20);

fn tmp() -> tempfile::TempDir {
    let t = tempfile::Builder::new().prefix("ctr.").tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).unwrap();
    t
}

fn write(p: &Path, body: &str, mode: u32) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// docker-entrypoint with the scratch root `root` and `args`.
fn entrypoint(root: &Path, args: &[&str]) -> Cmd {
    Cmd::bin("docker-entrypoint")
        .clean_env()
        .env("SVCTOOL_ROOT", root)
        .env("HOSTNAME", "mail.example.org")
        .args(args)
}

/// A stand-in svscan under the root: prints what it was started with.
fn fake_svscan(root: &Path) {
    write(
        &root.join("usr/sbin/svscan"),
        "#!/bin/sh\necho \"svscan $* KILLWAIT=${KILLWAIT-unset} TZ=${TZ-unset} X=${X-unset} cwd=$(pwd)\"\n",
        0o755,
    );
}

#[test]
fn bad_options_print_getopts_words_and_the_usage() {
    let t = tmp();
    let out = entrypoint(t.path(), &["-x", "--bogus", "-d"]).run();
    assert_eq!(out.code, Some(100), "{out:?}");
    let err = out.stderr_str();
    assert!(
        err.starts_with(
            "entrypoint: unrecognized option '-x'\nentrypoint: unrecognized option '--bogus'\n\
             entrypoint: option requires an argument -- 'd'\nusage: docker-entrypoint "
        ),
        "{err}"
    );
    // `ls -l` without `--`: -l is taken as an option, as the reference's getopt does.
    let out = entrypoint(t.path(), &["ls", "-l"]).run();
    assert_eq!(out.code, Some(100));
    assert!(out
        .stderr_str()
        .starts_with("entrypoint: unrecognized option '-l'\n"));
    entrypoint(t.path(), &["-g", "0"]).run().assert(
        100,
        "",
        "docker-entrypoint: fatal: grace period must be a positive number of seconds: 0\n",
    );
}

#[test]
fn commands_other_than_svscan_are_execd() {
    let t = tmp();
    entrypoint(t.path(), &["--", "sh", "-c", "echo $0 in $(pwd)"])
        .run()
        .assert(
            0,
            "docker-entrypoint: executing sh -c echo $0 in $(pwd)\nsh in /\n",
            "",
        );
    entrypoint(t.path(), &["--", "/nonexistent/prog"])
        .run()
        .assert(
            127,
            "docker-entrypoint: executing /nonexistent/prog\n",
            "docker-entrypoint: fatal: unable to run /nonexistent/prog: file does not exist\n",
        );
    let dir = t.path().join("adir");
    fs::create_dir(&dir).unwrap();
    let out = entrypoint(t.path(), &["--", dir.to_str().unwrap()]).run();
    assert_eq!(out.code, Some(126), "{out:?}");
}

#[test]
fn timezone_is_linked_or_refused() {
    let t = tmp();
    let root = t.path();
    write(&root.join("usr/share/zoneinfo/Europe/Paris"), "TZif", 0o644);
    fs::create_dir_all(root.join("etc")).unwrap();
    write(&root.join("etc/localtime"), "old", 0o644);
    entrypoint(root, &["-t", "Europe/Paris", "--", "true"])
        .run()
        .assert(0, "docker-entrypoint: executing true\n", "");
    assert_eq!(
        fs::read_link(root.join("etc/localtime")).unwrap(),
        PathBuf::from("/usr/share/zoneinfo/Europe/Paris")
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/timezone")).unwrap(),
        "Europe/Paris\n"
    );
    entrypoint(root, &["--timezone", "Mars/Olympus", "--", "true"])
        .run()
        .assert(
            1,
            "",
            "ERROR: unable to open /usr/share/zoneinfo/Mars/Olympus\n\
             WARNING: unable to set timezone Mars/Olympus\n",
        );
}

#[test]
fn svscan_is_execd_on_the_service_directory_with_a_killwait_for_the_grace_period() {
    let t = tmp();
    let root = t.path();
    fake_svscan(root);
    fs::create_dir_all(root.join("service")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    let sv = root.join("service");
    let svscan = root.join("usr/sbin/svscan");
    let out = entrypoint(root, &[]).run();
    out.assert(
        0,
        &format!(
            "docker-entrypoint: [svscan] executing {s} {d}\nsvscan {d} KILLWAIT=7 TZ=unset X=unset cwd=/\n",
            s = svscan.display(),
            d = sv.display()
        ),
        "Warning  linking /etc/mtab to /proc/self/mounts\n",
    );
    assert_eq!(
        fs::read_link(root.join("etc/mtab")).unwrap(),
        PathBuf::from("/proc/self/mounts")
    );
    // GRACE_PERIOD, then -g; an explicit KILLWAIT wins.
    let out = entrypoint(root, &["indimail"])
        .env("GRACE_PERIOD", "30")
        .run();
    assert!(out.stdout_str().contains(" KILLWAIT=27 "), "{out:?}");
    let out = entrypoint(root, &["-g", "5", "indimail-mta"])
        .env("GRACE_PERIOD", "30")
        .run();
    assert!(
        out.stdout_str()
            .starts_with("docker-entrypoint: [indimail-mta] executing"),
        "{out:?}"
    );
    assert!(out.stdout_str().contains(" KILLWAIT=2 "), "{out:?}");
    let out = entrypoint(root, &[]).env("KILLWAIT2", "9").run();
    assert!(out.stdout_str().contains(" KILLWAIT=unset "), "{out:?}");
    // With .svscan/variables, through envdir.
    write(&sv.join(".svscan/variables/X"), "from-envdir\n", 0o644);
    let out = entrypoint(root, &["svscan"]).run();
    let envdir = bin("envdir");
    out.assert(
        0,
        &format!(
            "docker-entrypoint: [svscan] {e} {d}/.svscan/variables {s} {d}\nsvscan {d} KILLWAIT=7 TZ=unset X=from-envdir cwd=/\n",
            e = envdir.display(),
            s = svscan.display(),
            d = sv.display()
        ),
        "",
    );
    // Another service directory.
    let other = root.join("srv");
    fs::create_dir_all(&other).unwrap();
    let out = entrypoint(root, &["--servicedir", "/srv"]).run();
    assert!(
        out.stdout_str().ends_with(&format!(
            "svscan {} KILLWAIT=7 TZ=unset X=unset cwd=/\n",
            other.display()
        )),
        "{out:?}"
    );
}

#[test]
fn the_mail_domain_follows_the_host_name_through_svctool() {
    let t = tmp();
    let root = t.path();
    fake_svscan(root);
    fs::create_dir_all(root.join("service")).unwrap();
    fs::create_dir_all(root.join("etc/indimail/control")).unwrap();
    write(
        &root.join("etc/indimail/control/defaultdomain"),
        "old.org\n",
        0o644,
    );
    let calls = root.join("svctool.calls");
    write(
        &root.join("usr/sbin/svctool"),
        &format!(
            "#!/bin/sh\necho \"$*\" >> {}\nexit ${{SVCTOOL_RC:-0}}\n",
            calls.display()
        ),
        0o755,
    );
    entrypoint(root, &["--", "true"]).run().assert_code(0);
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "--default-domain=example.org --config=recontrol\n"
    );
    entrypoint(root, &["-d", "old.org", "--", "true"])
        .run()
        .assert_code(0);
    entrypoint(root, &["-domain", "new.net", "--", "true"])
        .run()
        .assert_code(0);
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "--default-domain=example.org --config=recontrol\n\
         --default-domain=new.net --config=recontrol\n"
    );
    // A refusing svctool (ours refuses recontrol) is a warning, not the end.
    entrypoint(root, &["-d", "x.org", "--", "true"])
        .env("SVCTOOL_RC", "100")
        .run()
        .assert(
            0,
            "docker-entrypoint: executing true\n",
            "docker-entrypoint: warning: svctool --config=recontrol failed (exit 100): the control files keep domain [old.org]\n",
        );
}

#[test]
fn webmail_enables_php_fpm_and_httpd() {
    let t = tmp();
    let root = t.path();
    fake_svscan(root);
    fs::create_dir_all(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("/proc/self/mounts", root.join("etc/mtab")).unwrap();
    for s in ["php-fpm", "httpd"] {
        write(&root.join(format!("service/{s}/down")), "", 0o644);
    }
    let out = entrypoint(root, &["webmail"]).run();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout_str().starts_with(
            "enabling /service/php-fpm\nenabling /service/httpd\ndocker-entrypoint: [webmail] executing "
        ),
        "{out:?}"
    );
    assert!(!root.join("service/php-fpm/down").exists());
    assert!(!root.join("service/httpd/down").exists());
}

#[test]
fn the_podman_fifo_hotfix_runs_queue_fix() {
    let t = tmp();
    let root = t.path();
    write(&root.join("usr/sbin/qmail-queue"), "", 0o755);
    let calls = root.join("queue-fix.calls");
    write(
        &root.join("usr/bin/queue-fix"),
        &format!("#!/bin/sh\necho \"$(pwd) $*\" >> {}\n", calls.display()),
        0o755,
    );
    let q = root.join("var/indimail/queue");
    for d in [
        "queue1/lock",
        "queue2/lock",
        "nqueue",
        "slowq",
        "qmta",
        "other",
    ] {
        fs::create_dir_all(q.join(d)).unwrap();
    }
    // queue2 still has its FIFO.
    let fifo = std::ffi::CString::new(q.join("queue2/lock/trigger").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    entrypoint(root, &["--", "true"]).run().assert(
        0,
        "docker-entrypoint: executing true\n",
        "Your podman/docker container suffers from named pipe bug. Applying hotfix\n",
    );
    let qs = q.display();
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        format!("{qs} -v queue1\n{qs} -v nqueue\n{qs} -rv slowq\n{qs} -mv qmta\n")
    );
}

// ----- pid 1 -----

/// `unshare --pid --fork --mount-proc sh -c SETUP; exec docker-entrypoint ARGS` with a
/// private tmpfs on /run; returns the child and the host pid of the namespace's pid 1.
struct Pid1 {
    child: Child,
    err: PathBuf,
}

impl Pid1 {
    fn start(dir: &Path, setup: &str, args: &[&str], env: &[(&str, &str)]) -> Pid1 {
        let err = dir.join("pid1.err");
        let mut cmd = blackbox::command("unshare");
        cmd.args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c"])
        .arg(format!(
            "mount -t tmpfs tmpfs /run && {setup} exec \"$0\" \"$@\""
        ))
        .arg(bin("docker-entrypoint"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", test_path())
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("pid1.out")).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start unshare");
        Pid1 { child, err }
    }

    /// The host pid of the namespace's pid 1 once it is svscan.
    fn svscan(&self) -> u32 {
        let mut found = None;
        wait_until("svscan as pid 1", || {
            found = children(self.child.id())
                .into_iter()
                .find(|&p| comm(p).as_deref() == Some("svscan"));
            found.is_some()
        });
        let pid = found.unwrap();
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
        assert!(
            nspid.ends_with("\t1"),
            "not pid 1 in its namespace: {nspid}"
        );
        pid
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            assert!(
                start.elapsed() < PATIENCE,
                "pid 1 did not exit: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pid1 {
    fn drop(&mut self) {
        // SAFETY: kill(2) to the process group this test created.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Children of `pid` (zombies included) with their state letter.
fn children_states(pid: u32) -> Vec<(u32, char)> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if f.get(1) == Some(&pid.to_string().as_str()) {
            v.push((p, f[0].chars().next().unwrap_or('?')));
        }
    }
    v
}

fn children(pid: u32) -> Vec<u32> {
    children_states(pid)
        .into_iter()
        .filter(|&(_, s)| s != 'Z')
        .map(|(p, _)| p)
        .collect()
}

fn environ(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .map(|kv| String::from_utf8_lossy(kv).into_owned())
        .collect()
}

/// pid 1 on the scratch root `dir/root` (its tree `dir/root/service`), verbose, with
/// supervise's state in the tree.
fn start_in_scratch_root(dir: &Path, args: &[&str]) -> Pid1 {
    let root = dir.join("root").to_string_lossy().into_owned();
    Pid1::start(
        dir,
        "",
        args,
        &[
            ("SVCTOOL_ROOT", &root),
            ("VERBOSE", "1"),
            ("DISABLE_RUN", "1"),
        ],
    )
}

const TERM_AWARE: &str = "#!/bin/sh\ntrap 'echo bye; exit 0' TERM\necho hi\n\
                          while :; do sleep 1 & wait $!; done\n";
const CAT_LOG: &str = "#!/bin/sh\nexec cat >> ../out\n";

#[test]
fn pid1_reaps_orphans_and_stops_in_order_with_status_0() {
    if !is_root() {
        return skip("needs root for unshare --pid");
    }
    let t = tmp();
    let root = t.path().join("root");
    let sv = root.join("service");
    write(
        &sv.join("orphans/run"),
        "#!/bin/sh\ni=0\nwhile [ $i -lt 50 ]; do ( sleep 0.1 & ); i=$((i + 1)); done\nexec sleep 1000\n",
        0o755,
    );
    write(&sv.join("s/run"), TERM_AWARE, 0o755);
    write(&sv.join("s/log/run"), CAT_LOG, 0o755);
    let mut p = start_in_scratch_root(t.path(), &[]);
    let pid = p.svscan();
    assert!(environ(pid).contains(&"KILLWAIT=7".to_string()));
    wait_until("50 orphans reaped", || {
        p.stderr()
            .matches("svscan: info: completed last rites for orphan ")
            .count()
            >= 50
    });
    wait_until("no zombies under pid 1", || {
        children_states(pid).iter().all(|&(_, s)| s != 'Z')
    });
    wait_until("s logging", || {
        fs::read_to_string(sv.join("s/out")).unwrap_or_default() == "hi\n"
    });
    // SAFETY: kill(2) to the svscan this test started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(p.wait_exit(), Some(0), "{}", p.stderr());
    assert_eq!(fs::read_to_string(sv.join("s/out")).unwrap(), "hi\nbye\n");
    assert!(p
        .stderr()
        .contains("svscan: info: pid: 1: no processes left...\n"));
    let out = fs::read_to_string(t.path().join("pid1.out")).unwrap();
    assert_eq!(
        out,
        format!(
            "docker-entrypoint: [svscan] executing {} {}\n",
            bin("svscan").display(),
            sv.display()
        )
    );
}

#[test]
fn pid1_exits_124_when_a_service_outlives_the_grace_period() {
    if !is_root() {
        return skip("needs root for unshare --pid");
    }
    let t = tmp();
    let root = t.path().join("root");
    let sv = root.join("service");
    // A service that ignores TERM (its supervise waits for it for ever).
    write(
        &sv.join("stubborn/run"),
        "#!/bin/sh\ntrap '' TERM\necho up\nwhile :; do sleep 1; done\n",
        0o755,
    );
    write(&sv.join("quick/run"), TERM_AWARE, 0o755);
    let mut p = start_in_scratch_root(t.path(), &["-g", "4"]);
    let pid = p.svscan();
    assert!(environ(pid).contains(&"KILLWAIT=1".to_string()));
    wait_until("both services up", || {
        ["stubborn", "quick"]
            .iter()
            .all(|s| Cmd::bin("svstat").arg(sv.join(s)).run().code == Some(0))
    });
    // ^C of `podman run -it` reaches pid 1 as SIGINT.
    // SAFETY: kill(2) to the svscan this test started.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    assert_eq!(p.wait_exit(), Some(124), "{}", p.stderr());
    let err = p.stderr();
    assert!(err.contains("svscan: info: pid: 1: exiting...\n"), "{err}");
    assert!(!err.contains("no processes left"), "{err}");
}

#[test]
fn pid1_with_a_read_only_service_tree_and_root() {
    if !is_root() {
        return skip("needs root for unshare --pid and mounts");
    }
    let t = tmp();
    let root = t.path().join("root");
    let sv = root.join("service");
    write(&sv.join("web/run"), TERM_AWARE, 0o755);
    write(
        &sv.join("web/log/run"),
        "#!/bin/sh\nexec cat > /dev/null\n",
        0o755,
    );
    write(&sv.join(".svscan/variables/SCANINTERVAL"), "3600\n", 0o644);
    write(&root.join("usr/share/zoneinfo/UTC"), "TZif", 0o644);
    fs::create_dir_all(root.join("etc")).unwrap();
    let roots = root.to_string_lossy().into_owned();
    // The whole scratch root read-only, as `--read-only` makes a container's; /run a tmpfs.
    let setup =
        format!("mount --bind {roots} {roots} && mount -o remount,bind,ro {roots} {roots} &&");
    let mut p = Pid1::start(
        t.path(),
        &setup,
        &["-t", "UTC"],
        &[("SVCTOOL_ROOT", &roots), ("VERBOSE", "1")],
    );
    let pid = p.svscan();
    let env = environ(pid);
    assert!(env.contains(&"TZ=UTC".to_string()), "{env:?}");
    assert!(env.contains(&"SCANINTERVAL=3600".to_string()), "{env:?}");
    // supervise keeps its state in the namespace's /run/svscan; svstat finds it there.
    let svstat = |name: &str| {
        // Inside the container's mount namespace: its /run/svscan is the one to read.
        Cmd::new("nsenter")
            .env_remove("DISABLE_RUN")
            .arg(format!("--mount=/proc/{pid}/ns/mnt"))
            .arg(bin("svstat"))
            .arg(sv.join(name))
            .run()
    };
    wait_until("web up", || svstat("web").code == Some(0));
    wait_until("web/log up", || svstat("web/log").code == Some(0));
    // Liveness and readiness as the README's probes run them.
    let probe = Cmd::new("nsenter")
        .env_remove("DISABLE_RUN")
        .arg(format!("--mount=/proc/{pid}/ns/mnt"))
        .arg(bin("svok"))
        .arg(sv.join("web"))
        .run();
    probe.assert(0, "", "");
    let mirror = PathBuf::from(format!("/proc/{pid}/root/run/svscan/web/supervise/status"));
    assert!(mirror.exists());
    assert!(!sv.join("web/supervise").exists());
    // SAFETY: kill(2) to the svscan this test started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    assert_eq!(p.wait_exit(), Some(0), "{}", p.stderr());
    let err = p.stderr();
    assert!(
        err.contains("read-only file system; TZ=UTC exported instead"),
        "{err}"
    );
    assert!(err.contains("Warning  linking /etc/mtab to /proc/self/mounts\n"));
    assert!(!root.join("etc/localtime").exists() && !root.join("etc/mtab").exists());
    // No supervise state was written into the tree.
    let mut written = Vec::new();
    visit(&root, &mut |p| {
        if p.ends_with("supervise") {
            written.push(p.to_path_buf());
        }
    });
    assert!(written.is_empty(), "{written:?}");
}

fn visit(dir: &Path, f: &mut impl FnMut(&Path)) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        f(&p);
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            visit(&p, f);
        }
    }
}

// ----- runpod -----

/// A stand-in engine that prints its arguments; `images` lists one image.
fn fake_engine(dir: &Path, name: &str) -> String {
    write(
        &dir.join(name),
        &format!(
            "#!/bin/sh\nprintf '{name}'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo\n\
             [ \"$1\" = images ] && echo 'localhost/im alpine-3 abc123 2 days ago 10MB'\n\
             [ \"$1\" = volume ] && [ \"$3\" != mailq ] && exit 1\n\
             [ \"$1\" = run ] && exit ${{RUN_RC:-0}}\nexit 0\n"
        ),
        0o755,
    );
    format!("{}:{}", dir.display(), test_path())
}

fn runpod(path: &str, args: &[&str]) -> Output {
    Cmd::bin("runpod")
        .env_clear()
        .env("PATH", path)
        .args(args)
        .run()
}

#[test]
fn runpod_builds_the_engines_command_line() {
    let t = tmp();
    let path = fake_engine(t.path(), "podman");
    fake_engine(t.path(), "docker");
    runpod(&path, &["-i", "abc", "-n", "indimail", "-a", "--rm -e X=1", "-p", "25:25", "-C", "auto"])
        .assert(
            0,
            "podman run   --rm -e X=1\n  --publish-all --name indimail\n  --device /dev/fuse\n  -h indimail.org\n  \
             --cap-add SYS_PTRACE --cap-add SYS_ADMIN --cap-add IPC_LOCK   --cap-add SYS_RESOURCE --cap-add SYS_NICE \n  \
             -p 25:25 \n  abc \n\
             podman [run] [--rm] [-e] [X=1] [--publish-all] [--name] [indimail] [--device] [/dev/fuse] [-h] [indimail.org] \
             [--cap-add] [SYS_PTRACE] [--cap-add] [SYS_ADMIN] [--cap-add] [IPC_LOCK] [--cap-add] [SYS_RESOURCE] [--cap-add] [SYS_NICE] \
             [-p] [25:25] [abc]\n",
            "",
        );
    // A detached container gets a shell; the mail ports by default.
    let out = runpod(&path, &["--id=abc", "--name=webmail", "-c", "docker"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let text = out.stdout_str();
    assert!(text.starts_with("docker run  -d\n"), "{text}");
    assert!(text.contains("\n  -p 2025:25   -p 2106:106 "), "{text}");
    assert!(
        text.ends_with("docker [exec] [-ti] [webmail] [bash]\n"),
        "{text}"
    );
    // `auto`: the image's init, by its tag.
    let out = runpod(
        &path,
        &[
            "-i",
            "abc123",
            "-n",
            "box",
            "-v",
            "mailq:/var/queue",
            "auto",
        ],
    );
    assert!(
        out.stdout_str()
            .ends_with("[-v] [mailq:/var/queue] [abc123] [/sbin/init]\n"),
        "{out:?}"
    );
    // --cgroups auto and -g (the reference hangs on -g).
    let out = runpod(
        &path,
        &["-i", "abc", "-n", "box", "-g", "auto", "--", "ls", "-l"],
    );
    assert!(
        out.stdout_str()
            .starts_with("podman run -v /sys/fs/cgroup:/sys/fs/cgroup:rw \n"),
        "{out:?}"
    );
    assert!(out.stdout_str().ends_with("[abc] [ls] [-l]\n"), "{out:?}");
}

#[test]
fn runpod_refusals_and_failures() {
    let t = tmp();
    let path = fake_engine(t.path(), "podman");
    let usage_start = "usage: runpod -i|--id image";
    for (args, first) in [
        (&[][..], None),
        (&["-x"][..], Some("runpod: unrecognized option '-x'")),
        (
            &["-i", "abc", "--c", "x"][..],
            Some("runpod: option '--c' is ambiguous; possibilities: '--cmd' '--capa' '--cgroups'"),
        ),
        (
            &["-i", "abc", "-c", "lxc"][..],
            Some("command should be podman or docker"),
        ),
        (
            &["-i", "abc", "-v", "/nonexistent:/x"][..],
            Some("/nonexistent: No such directory"),
        ),
        (
            &["-i", "abc", "-v", "/tmp:x"][..],
            Some("x should be a valid path"),
        ),
        (
            &["-i", "abc", "-v", "other:/x"][..],
            Some("other: No such volume"),
        ),
    ] {
        let out = runpod(&path, args);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        let err = out.stderr_str();
        match first {
            Some(f) => assert!(err.starts_with(&format!("{f}\n")), "{args:?}: {err}"),
            None => assert!(err.starts_with(usage_start), "{err}"),
        }
        assert!(err.contains(usage_start), "{args:?}: {err}");
    }
    runpod(&path, &["-i", "abc", "-v", "/tmp:/x:ro"]).assert(
        1,
        "",
        "volume should be of the form \"dir:mount_point\"\n",
    );
    // A failed run: the container is removed, the engine's status is runpod's.
    let out = Cmd::bin("runpod")
        .env_clear()
        .env("PATH", &path)
        .env("RUN_RC", "125")
        .args(["-i", "abc", "-n", "box"])
        .run();
    assert_eq!(out.code, Some(125), "{out:?}");
    assert_eq!(out.stderr_str(), "Removing container id box\n");
    runpod(
        &format!("{}/none", t.path().display()),
        &["-i", "abc", "-n", "box"],
    )
    .assert(
        127,
        "podman run  \n  --publish-all --name box\n  --device /dev/fuse\n  abc \n",
        "runpod: fatal: unable to run podman: file does not exist\n",
    );
}

// ----- the image, with podman -----

/// podman with its storage in `dir` (nothing of the host's /var/lib/containers is used),
/// and the settings this kind of machine needs: crun refuses its hybrid cgroup layout, so
/// runc runs the containers; its hard limits are below podman's default ulimits.
struct Podman {
    dir: PathBuf,
}

const ULIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

impl Podman {
    fn cmd(&self) -> Cmd {
        Cmd::new("podman")
            .args(["--root", &format!("{}/storage", self.dir.display())])
            .args(["--runroot", &format!("{}/runroot", self.dir.display())])
            .args(["--storage-driver", "vfs", "--runtime", "runc"])
            .timeout(Duration::from_secs(300))
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).run();
        assert_eq!(out.code, Some(0), "podman {args:?}: {out:?}");
        out
    }

    /// A runtime base made of this machine's busybox and the C libraries our binaries
    /// link (the Containerfile's default base comes from a registry this machine cannot
    /// reach).
    fn import_base(&self) {
        let base = self.dir.join("base");
        for d in [
            "bin",
            "lib64",
            "lib/x86_64-linux-gnu",
            "etc",
            "tmp",
            "usr/sbin",
        ] {
            fs::create_dir_all(base.join(d)).unwrap();
        }
        // busybox-static: a dynamic busybox would need libraries the base lacks
        fs::copy("/bin/busybox", base.join("bin/busybox")).unwrap();
        for tool in ["sh", "cat", "sleep", "ps", "ls"] {
            std::os::unix::fs::symlink("busybox", base.join("bin").join(tool)).unwrap();
        }
        fs::copy(
            "/lib64/ld-linux-x86-64.so.2",
            base.join("lib64/ld-linux-x86-64.so.2"),
        )
        .unwrap();
        for lib in ["libc.so.6", "libgcc_s.so.1", "libm.so.6"] {
            let from = Path::new("/lib/x86_64-linux-gnu").join(lib);
            fs::copy(&from, base.join("lib/x86_64-linux-gnu").join(lib)).unwrap();
        }
        let tar = self.dir.join("base.tar");
        Cmd::new("tar")
            .arg("-C")
            .arg(&base)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .run()
            .assert(0, "", "");
        self.run(&[
            "import",
            tar.to_str().unwrap(),
            "localhost/indimail-base:test",
        ]);
    }

    /// The image from the repository's Containerfile, with this build's binaries.
    fn build_image(&self) {
        let ctx = self.dir.join("ctx");
        let tree = ctx.join("image-tree/usr/bin");
        fs::create_dir_all(&tree).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        fs::copy(repo.join("Containerfile"), ctx.join("Containerfile")).unwrap();
        for p in [
            "docker-entrypoint",
            "svscan",
            "supervise",
            "svc",
            "svstat",
            "svok",
            "envdir",
            "multilog",
            "svstatd",
            "rsvc",
        ] {
            fs::copy(bin(p), tree.join(p)).unwrap();
        }
        let mut args = vec!["build", "--network", "none", "--format", "docker"];
        args.extend(ULIMITS);
        args.extend([
            "--build-arg",
            "BINARIES=prebuilt",
            "--build-arg",
            "RUNTIME_IMAGE=localhost/indimail-base:test",
            "-t",
            "localhost/indimail-svc:test",
        ]);
        let file = ctx.join("Containerfile");
        args.extend(["-f", file.to_str().unwrap(), ctx.to_str().unwrap()]);
        self.run(&args);
    }

    /// `podman run -d` of the image, read-only, with `service` as /service.
    fn start(&self, name: &str, service: &Path, extra: &[&str]) {
        let volume = format!("{}:/service:ro", service.display());
        let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
        args.extend(ULIMITS);
        args.extend(["--read-only", "--tmpfs", "/run", "-v", &volume]);
        args.extend_from_slice(extra);
        args.push("localhost/indimail-svc:test");
        self.run(&args);
    }

    fn exit_code(&self, name: &str) -> String {
        let out = self.run(&["inspect", name, "--format", "{{.State.ExitCode}}"]);
        out.stdout_str().trim().to_string()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd().args(["rm", "-f", "-a"]).run();
    }
}

#[test]
fn the_image_builds_and_runs_with_podman() {
    if blackbox::command("podman")
        .arg("--version")
        .output()
        .is_err()
    {
        return skip("podman is not installed (make test installs it)");
    }
    let t = tmp();
    let podman = Podman {
        dir: t.path().to_path_buf(),
    };
    podman.import_base();
    podman.build_image();
    let inspect = podman.run(&[
        "image",
        "inspect",
        "localhost/indimail-svc:test",
        "--format",
        "{{.Config.Entrypoint}} {{.Config.Cmd}} {{.Config.StopSignal}} {{.Config.Healthcheck.Test}}",
    ]);
    assert!(
        inspect
            .stdout_str()
            .starts_with("[docker-entrypoint] [svscan] SIGTERM [CMD /bin/sh -c "),
        "{inspect:?}"
    );
    let service = t.path().join("service");
    write(&service.join("web/run"), TERM_AWARE, 0o755);
    podman.start("ok", &service, &[]);
    wait_until("web up in the container", || {
        podman
            .cmd()
            .args(["exec", "ok", "svstat", "/service/web"])
            .run()
            .code
            == Some(0)
    });
    podman
        .run(&["exec", "ok", "cat", "/proc/1/comm"])
        .assert(0, "svscan\n", "");
    // The probes of the README.
    podman.run(&["exec", "ok", "svok", "/service/web"]);
    podman.run(&["healthcheck", "run", "ok"]);
    podman.run(&["stop", "-t", "10", "ok"]);
    assert_eq!(podman.exit_code("ok"), "0");
    let logs = podman.run(&["logs", "ok"]).stdout_str();
    assert!(
        logs.starts_with("docker-entrypoint: [svscan] executing /usr/bin/svscan /service\nhi\n"),
        "{logs}"
    );
    assert!(logs.contains("\nbye\n"), "{logs}");
    // A service that ignores TERM: the shutdown ends inside the grace period and says so.
    let stubborn = t.path().join("stubborn");
    write(
        &stubborn.join("s/run"),
        "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 1; done\n",
        0o755,
    );
    podman.start("late", &stubborn, &["-e", "GRACE_PERIOD=4"]);
    wait_until("s up in the container", || {
        podman
            .cmd()
            .args(["exec", "late", "svstat", "/service/s"])
            .run()
            .code
            == Some(0)
    });
    podman.run(&["stop", "-t", "10", "late"]);
    assert_eq!(podman.exit_code("late"), "124");
}
