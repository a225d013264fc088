//! The suite's own hermeticity rules, checked:
//! * every program a test starts goes through the harness (`blackbox::command` or `Cmd`),
//!   which pins `DISABLE_RUN=1`, so no test reaches the host's `/run/svscan`;
//! * with `DISABLE_RUN` set, our clients do not read a mirror, even one that exists.
//!
//! `scripts/hermetic-check` runs the whole suite twice on a host with a live svscan and
//! `/run/svscan`, and lists any file the runs left outside their temporary directories.

use blackbox::{is_root, skip, workspace_root, Cmd};
use std::fs;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_program_is_started_through_the_harness() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("tests/tests"), &mut files);
    rust_files(&workspace_root().join("tests/src"), &mut files);
    // The harness's own `command` is the one place allowed to build a Command.
    files.retain(|f| !f.ends_with("tests/src/lib.rs"));
    assert!(files.len() > 10, "test sources not found: {files:?}");
    // Spelt in two pieces so this file does not match itself.
    let needle = format!("{}::new(", "Command");
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = fs::read_to_string(f).unwrap();
            let name = f.display().to_string();
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.contains(&needle))
                .map(|(i, _)| format!("{name}:{}", i + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "start programs with blackbox::command or Cmd, not {needle}: {offenders:?}"
    );
}

/// A mirror that exists and holds a live-looking service of the same name is ignored by
/// svok and svstat under `DISABLE_RUN`, and read without it (the pin works both ways).
#[test]
fn disable_run_keeps_clients_out_of_an_existing_mirror() {
    if !is_root() {
        return skip("a decoy /run/svscan needs a private mount namespace (root)");
    }
    let t = tempfile::tempdir().unwrap();
    fs::create_dir(t.path().join("s")).unwrap();
    let script = format!(
        r#"cd {dir}
mkdir -p /run/svscan/s/supervise
mkfifo /run/svscan/s/supervise/ok /run/svscan/s/supervise/control
exec 3<>/run/svscan/s/supervise/ok 4<>/run/svscan/s/supervise/control
svok s; echo "mirror read: $?"
DISABLE_RUN=1 svok s 2>/dev/null && echo "svok read the mirror" || echo "svok: not running"
DISABLE_RUN=1 svc -u s 2>/dev/null
dd if=/run/svscan/s/supervise/control bs=1 count=1 iflag=nonblock 2>/dev/null | od -An -c | tr -d ' '
echo end
"#,
        dir = t.path().display()
    );
    Cmd::in_runfs_namespace(&script).run().assert(
        0,
        "mirror read: 0\nsvok: not running\nend\n",
        "",
    );
}
