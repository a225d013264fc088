//! Hostile input for supervise and its clients, as properties checked on the real
//! binaries: status files of any length and content read by svstat and svok, and any
//! bytes written into a live supervise's control FIFO.
//!
//! Each property: no panic, no hang (every run is bounded by a timeout), the documented
//! exit code and message, and nothing on disk changed. supervise runs with
//! `DISABLE_RUN=1`, so its state stays in the temporary service directory.
//! `PROPTEST_CASES` raises the case counts; failures are kept in
//! `prop_supervise.proptest-regressions` beside this file.

use blackbox::prop::{config, exited, runner, Snapshot};
use blackbox::{bin, test_path, Cmd};
use proptest::collection::vec;
use proptest::prelude::*;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(20);

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn client(name: &str, dir: &Path, args: &[&str]) -> Cmd {
    Cmd::bin(name)
        .clean_env()
        .env("DISABLE_RUN", "1")
        .cwd(dir)
        .args(args)
        .timeout(BOUND)
}

/// Status files: the lengths supervise writers use (djb 18, encore 20 and 40, IndiMail
/// 21), with any bytes, and any other length.
fn status_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 18),
        vec(any::<u8>(), 20),
        vec(any::<u8>(), 21),
        vec(any::<u8>(), 40),
        vec(any::<u8>(), 0..64),
    ]
}

/// Whether svstat reads a status file of `len` bytes: djb's 18, encore's 20, and 21 or more
/// (IndiMail's layout; a longer file is read as its first 21, or as encore's 40).
fn readable(len: usize) -> bool {
    len == 18 || len == 20 || len >= 21
}

proptest! {
    #![proptest_config(config(64))]

    /// svstat and svok on a service whose supervise answers on `ok` but whose status file
    /// holds anything: one line and 0 (up), 1 (down), 3 (paused) or 5 (want down), or
    /// `bad format` and 100; svok 0. Nothing is written.
    #[test]
    fn svstat_and_svok_any_status_file(bytes in status_bytes(), down in any::<bool>()) {
        let t = tempfile::tempdir().unwrap();
        let s = t.path().join("s");
        fs::create_dir_all(s.join("supervise")).unwrap();
        if down {
            File::create(s.join("down")).unwrap();
        }
        mkfifo(&s.join("supervise/ok"));
        // A reader on `ok`, as a live supervise holds one.
        let _reader = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(s.join("supervise/ok"))
            .unwrap();
        fs::write(s.join("supervise/status"), &bytes).unwrap();
        let before = Snapshot::of(t.path());
        let out = client("svstat", t.path(), &["s"]).run();
        let ok = client("svok", t.path(), &["s"]).run();
        prop_assert!(Snapshot::of(t.path()) == before, "something changed");
        prop_assert_eq!(ok.code, Some(0), "{:?}", ok);
        let o = out.stdout_str();
        match out.code {
            Some(100) => {
                prop_assert!(!readable(bytes.len()));
                prop_assert_eq!(o, "");
                prop_assert_eq!(
                    out.stderr_str(),
                    "svstat: warning: unable to read s/supervise/status: bad format\n"
                );
            }
            Some(code @ (0 | 1 | 3 | 5)) => {
                prop_assert!(readable(bytes.len()));
                prop_assert_eq!(out.stderr_str(), "");
                let words: Vec<&str> = o.split_whitespace().collect();
                prop_assert!(o.ends_with('\n') && o.lines().count() == 1, "{}", o);
                prop_assert_eq!(words[0], "s:");
                let state = words[1];
                // A waiting service is shown as `wait` whatever its up flag; the code still
                // follows the flag and the pid, as the reference's.
                prop_assert!(
                    matches!((code, state), (0 | 3 | 5, "up" | "wait") | (1, "down" | "wait")),
                    "{code} {o}"
                );
            }
            _ => prop_assert!(false, "unexpected {:?}", out),
        }
    }
}

/// A supervise on `dir/s` (DISABLE_RUN), in a process group of its own killed on drop.
struct Sup(Child);

impl Drop for Sup {
    fn drop(&mut self) {
        // SAFETY: kill(2) of the process group this test created.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) -> Result<(), TestCaseError> {
    let end = Instant::now() + BOUND;
    while !f() {
        if Instant::now() > end {
            return Err(TestCaseError::fail(format!("{what} not within {BOUND:?}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Any bytes written into the control FIFO of a live supervise (every command letter,
/// repeated, mixed with unknown bytes; `x`, which asks supervise to exit, is left out):
/// supervise lives on, its status file stays 21 bytes, and `svc -cu` brings the service
/// back up. Finally `svc -dx` ends it with exit 0.
#[test]
fn any_bytes_on_the_control_fifo() {
    let t = tempfile::tempdir().unwrap();
    let s = t.path().join("s");
    fs::create_dir(&s).unwrap();
    fs::write(s.join("run"), "#!/bin/sh\nexec sleep 1000\n").unwrap();
    fs::set_permissions(s.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut sup = Sup(blackbox::command(bin("supervise"))
        .arg("s")
        .current_dir(t.path())
        .env_clear()
        .env("PATH", test_path())
        .env("DISABLE_RUN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap());
    let up = || client("svstat", t.path(), &["s"]).run().code == Some(0);
    wait_until("first start", up).unwrap();
    let letters = b"udoprchaitkq12UGwWT+-\0\n\xff ";
    let byte = prop_oneof![
        4 => proptest::sample::select(letters.to_vec()),
        1 => any::<u8>().prop_filter("x exits", |b| *b != b'x'),
    ];
    runner(16, file!())
        .run(&vec(byte, 0..64), |bytes| {
            let mut control = fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(s.join("supervise/control"))
                .unwrap();
            control.write_all(&bytes).unwrap();
            control.write_all(b"cu").unwrap();
            drop(control);
            wait_until("up again", up)?;
            prop_assert!(!exited(sup.0.id()), "supervise exited");
            prop_assert_eq!(fs::read(s.join("supervise/status")).unwrap().len(), 21);
            Ok(())
        })
        .unwrap();
    client("svc", t.path(), &["-dx", "s"]).run().assert_code(0);
    let end = Instant::now() + BOUND;
    while sup.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "supervise did not exit after svc -dx");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sup.0.wait().unwrap().code(), Some(0));
}
