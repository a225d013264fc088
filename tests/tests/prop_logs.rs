//! Hostile input for envdir and multilog, as properties checked on the real binaries:
//! envdir trees with any files, `.envfile` text, `.envdir` links and list files (loops,
//! dangling links, garbage lines); multilog scripts of any actions; and multilog started
//! on a log directory left in any state by a crash (`current` clean or not, `previous`,
//! `processed`, `newstate`, `state` with any contents, archives).
//!
//! Each property: no panic, no hang (every run is bounded by a timeout), the documented
//! exit code and message, and nothing on disk changed but what the program is for.
//! `PROPTEST_CASES` raises the case counts; failures are kept in
//! `prop_logs.proptest-regressions` beside this file.

use blackbox::prop::{config, Node, Snapshot};
use blackbox::Cmd;
use proptest::collection::vec;
use proptest::prelude::*;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
enum Link {
    None,
    Symlink(usize),
    List(Vec<Option<usize>>),
    Dangling,
    Empty,
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![
            Just(b'\n'),
            Just(b'='),
            Just(b'#'),
            Just(0u8),
            Just(b' '),
            b'A'..b'D',
            any::<u8>()
        ],
        0..40,
    )
}

type Tree = Vec<(Vec<(String, Vec<u8>)>, Option<Vec<u8>>, Link)>;

fn tree() -> impl Strategy<Value = Tree> {
    let link = prop_oneof![
        Just(Link::None),
        (0usize..4).prop_map(Link::Symlink),
        vec(proptest::option::of(0usize..4), 0..5).prop_map(Link::List),
        Just(Link::Dangling),
        Just(Link::Empty),
    ];
    vec(
        (
            vec(("[A-D]{1,2}", text()), 0..4),
            proptest::option::of(text()),
            link,
        ),
        4,
    )
}

fn build(root: &Path, tree: &Tree) {
    let d = |i: usize| root.join(format!("d{i}"));
    for i in 0..tree.len() {
        fs::create_dir(d(i)).unwrap();
    }
    for (i, (files, envfile, link)) in tree.iter().enumerate() {
        for (n, c) in files {
            fs::write(d(i).join(n), c).unwrap();
        }
        if let Some(e) = envfile {
            fs::write(d(i).join(".envfile"), e).unwrap();
        }
        let dot = d(i).join(".envdir");
        match link {
            Link::None => {}
            Link::Symlink(j) => symlink(format!("../d{j}"), &dot).unwrap(),
            Link::Dangling => symlink("../nowhere", &dot).unwrap(),
            Link::Empty => fs::write(&dot, "").unwrap(),
            Link::List(lines) => {
                // Relative to envdir's working directory (the root).
                let l: Vec<String> = lines
                    .iter()
                    .map(|x| x.map_or("no such dir".to_string(), |j| format!("d{j}")))
                    .collect();
                fs::write(&dot, l.join("\n")).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// envdir on any tree: the program runs (exit 0) with each of `d0`'s own files
    /// setting its variable, or envdir says which path failed (`envdir: fatal: unable to
    /// ...`, exit 111). Nothing is written. With `-i`, unreadable entries are skipped.
    #[test]
    fn envdir_any_tree(tree in tree(), ignore in any::<bool>()) {
        let t = tempfile::tempdir().unwrap();
        build(t.path(), &tree);
        let before = Snapshot::of(t.path());
        let mut cmd = Cmd::bin("envdir").clean_env().cwd(t.path()).timeout(BOUND);
        if ignore {
            cmd = cmd.arg("-i");
        }
        let out = cmd.args(["d0", "env"]).run();
        prop_assert!(Snapshot::of(t.path()) == before, "envdir changed the tree");
        match out.code {
            Some(0) => {
                prop_assert_eq!(out.stderr_str(), "");
                for (n, c) in &tree[0].0 {
                    let last = tree[0].0.iter().rev().find(|(m, _)| m == n).unwrap();
                    if last.1 != *c || c.is_empty() || c.contains(&0) || c.contains(&b'\n') {
                        continue; // removed, or a value env prints on several lines
                    }
                    let mut want = format!("{n}=").into_bytes();
                    let end = c.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |i| i + 1);
                    want.extend_from_slice(&c[..end]);
                    want.push(b'\n');
                    prop_assert!(
                        out.stdout.windows(want.len()).any(|w| w == &want[..]),
                        "{:?} missing from {:?}", String::from_utf8_lossy(&want), out.stdout_str()
                    );
                }
            }
            Some(111) => {
                let e = out.stderr_str();
                prop_assert!(e.starts_with("envdir: fatal: unable to "), "{}", e);
                prop_assert!(e.ends_with('\n') && e.lines().count() == 1, "{}", e);
            }
            _ => prop_assert!(false, "unexpected {:?}", out),
        }
    }
}

/// Script actions, directories and status files only under the temporary directory.
fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("t".to_string()),
        "[-+][a-c* ]{0,5}",
        Just("e".to_string()),
        Just("=st".to_string()),
        Just("=file/st".to_string()),
        Just("./L".to_string()),
        Just("./M".to_string()),
        Just("./file".to_string()),
        Just("./no/such/L".to_string()),
        "s[0-9]{0,8}",
        "n[0-9]{0,2}",
        Just("!cat".to_string()),
        Just("!exit 1".to_string()),
        "[a-z?#]{0,3}",
    ]
}

proptest! {
    #![proptest_config(config(48))]

    /// multilog with any script: exit 0 with every selected line logged, or `multilog:
    /// fatal:` and 111 for a directory or file it cannot use. Only the directories and
    /// status files the script names change.
    #[test]
    fn multilog_any_script(args in vec(action(), 0..7), input in vec("[a-c ]{0,12}", 0..6)) {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("file"), "x").unwrap();
        let before = Snapshot::of(t.path());
        let input = input.join("\n");
        let out = Cmd::bin("multilog")
            .clean_env()
            .cwd(t.path())
            .args(&args)
            .stdin(input.clone())
            .timeout(BOUND)
            .run();
        let named = |p: &Path| {
            args.iter().any(|a| {
                let name = a.trim_start_matches('=').trim_start_matches("./");
                (a.starts_with("./") || a.starts_with('=')) && p.starts_with(name)
            })
        };
        let changed = before.changes(&Snapshot::of(t.path()), named);
        prop_assert!(changed.is_empty(), "changed {changed:?}");
        let err = out.stderr_str();
        match out.code {
            Some(0) => prop_assert!(!err.contains("fatal") && !err.contains("panicked"), "{}", err),
            Some(111) => prop_assert!(err.starts_with("multilog: fatal: "), "{}", err),
            _ => prop_assert!(false, "unexpected {:?}", out),
        }
    }
}

/// A file left by a crash: absent, or present with contents and a clean (0744) or
/// unclean (0644) mode.
fn leftover() -> impl Strategy<Value = Option<(Vec<u8>, bool)>> {
    proptest::option::of((
        vec(prop_oneof![Just(b'\n'), b'a'..b'e', any::<u8>()], 0..200),
        any::<bool>(),
    ))
}

fn file(p: &Path, f: &Option<(Vec<u8>, bool)>) {
    if let Some((bytes, clean)) = f {
        fs::write(p, bytes).unwrap();
        let mode = if *clean { 0o744 } else { 0o644 };
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn contents(s: &Snapshot) -> Vec<(PathBuf, Vec<u8>)> {
    s.0.iter()
        .filter_map(|(p, n)| match n {
            Node::File { bytes, .. } => Some((p.clone(), bytes.clone())),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(config(48))]

    /// multilog on a log directory in any state a crash can leave (and garbage in
    /// `state`, `newstate`, archives, a `lock` file): it starts, finishes the interrupted
    /// rotation, logs the new lines, and loses nothing: every archive stays, an unclean
    /// `current` and an unprocessed `previous` become `.u` archives byte for byte, a
    /// finished `processed` becomes the `.s` archive, a clean `current` is appended to.
    #[test]
    fn multilog_after_any_crash(
        current in leftover(),
        previous in leftover(),
        processed in leftover(),
        newstate in proptest::option::of(vec(any::<u8>(), 0..40)),
        state in proptest::option::of(vec(any::<u8>(), 0..40)),
        archives in vec((any::<u32>(), prop_oneof![Just('s'), Just('u')], vec(any::<u8>(), 0..60)), 0..4),
        processor in any::<bool>(),
    ) {
        let t = tempfile::tempdir().unwrap();
        let l = t.path().join("L");
        fs::create_dir(&l).unwrap();
        fs::write(t.path().join("outside"), "x").unwrap();
        file(&l.join("current"), &current);
        file(&l.join("previous"), &previous);
        file(&l.join("processed"), &processed);
        if let Some(b) = &newstate {
            fs::write(l.join("newstate"), b).unwrap();
        }
        if let Some(b) = &state {
            fs::write(l.join("state"), b).unwrap();
        }
        fs::write(l.join("lock"), "").unwrap();
        for (n, code, bytes) in &archives {
            fs::write(l.join(format!("@4000000000000000{n:08x}.{code}")), bytes).unwrap();
        }
        let before = Snapshot::of(t.path());
        let mut args = vec!["n100"];
        if processor {
            args.push("!cat");
        }
        args.push("./L");
        let out = Cmd::bin("multilog")
            .clean_env()
            .cwd(t.path())
            .args(&args)
            .stdin("new 1\nnew 2\n")
            .timeout(BOUND)
            .run();
        prop_assert_eq!(out.code, Some(0), "{:?}", out);
        prop_assert_eq!(out.stderr_str(), "");
        let after = Snapshot::of(t.path());
        let outside = before.changes(&after, |p| p.starts_with("L"));
        prop_assert!(outside.is_empty(), "changed outside the log: {outside:?}");
        let files = contents(&after);
        let get = |name: &str| files.iter().find(|(p, _)| p == Path::new(name)).map(|(_, b)| b.clone());
        let new_archives = |code: char| -> Vec<Vec<u8>> {
            files
                .iter()
                .filter(|(p, _)| {
                    let n = p.to_string_lossy();
                    n.starts_with("L/@") && n.ends_with(code) && !before.0.contains_key(p)
                })
                .map(|(_, b)| b.clone())
                .collect()
        };
        for (n, code, bytes) in &archives {
            let name = format!("L/@4000000000000000{n:08x}.{code}");
            prop_assert_eq!(get(&name), Some(bytes.clone()), "{} lost", name);
        }
        let cur = get("L/current").unwrap();
        prop_assert!(cur.ends_with(b"new 1\nnew 2\n"));
        match &current {
            Some((old, true)) => prop_assert!(cur.starts_with(old), "clean current not kept"),
            Some((old, false)) => {
                prop_assert_eq!(&cur, &b"new 1\nnew 2\n".to_vec());
                prop_assert!(new_archives('u').contains(old), "unclean current lost");
            }
            None => {}
        }
        if let Some((_, true)) = &current {
            // A clean current means no rotation was cut short: nothing to recover (what
            // else lies there is left as it is, as the reference leaves it).
            for kept in ["L/previous", "L/processed", "L/newstate"] {
                prop_assert_eq!(
                    before.0.get(Path::new(kept)).map(|n| match n {
                        Node::File { bytes, .. } => bytes.clone(),
                        _ => Vec::new(),
                    }),
                    get(kept),
                    "{} changed", kept
                );
            }
            return Ok(());
        }
        match (&processed, &previous) {
            (Some((out, true)), _) => {
                prop_assert!(new_archives('s').contains(out), "finished processed output lost");
                prop_assert!(get("L/previous").is_none());
            }
            (_, Some((old, _))) => prop_assert!(new_archives('u').contains(old), "previous lost"),
            _ => {}
        }
        for gone in ["L/previous", "L/processed", "L/newstate"] {
            prop_assert!(get(gone).is_none(), "{} left behind", gone);
        }
    }
}
