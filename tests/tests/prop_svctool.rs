//! Hostile input for svctool, as properties checked on the real binary in a scratch root
//! (`SVCTOOL_ROOT`): option lines made of real option names with values of any text, and
//! damaged `variables/.options` records replayed by `--refreshsvc`.
//!
//! Each property: no panic, no hang (every run is bounded by a timeout), a documented exit
//! code, nothing written outside the scratch root, and a recorded command that, replayed,
//! re-creates exactly the tree it recorded. `PROPTEST_CASES` raises the case counts;
//! failures are kept in `prop_svctool.proptest-regressions` beside this file.

mod svctool_common;

use blackbox::prop::{config, Node, Snapshot};
use proptest::collection::vec;
use proptest::prelude::*;
use std::path::Path;
use svctool_common::Root;

/// Service-creating actions (ports and names as garbled as the values can be).
fn action() -> impl Strategy<Value = String> {
    let value = prop_oneof!["[0-9]{1,5}", "[a-z0-9.]{1,8}", "[ -~]{0,10}",];
    (
        proptest::sample::select(vec![
            "--qmqp",
            "--qmtp",
            "--smtp",
            "--greylist",
            "--fifologger",
            "--udplogger",
            "--imap",
            "--pop3",
            "--delivery",
            "--queueParam",
        ]),
        value,
    )
        .prop_map(|(n, v)| format!("{n}={v}"))
}

/// Options that shape the service, with values of any printable text.
fn option() -> impl Strategy<Value = String> {
    let name = proptest::sample::select(vec![
        "--maxdaemons",
        "--maxperip",
        "--qbase",
        "--qcount",
        "--qstart",
        "--cntrldir",
        "--localip",
        "--servicetag",
        "--timeout",
        "--persistdb",
        "--rbl",
        "--setuser",
        "--qhpsi",
        "--memory",
        "--dmemory",
        "--infifo",
    ]);
    prop_oneof![
        (name, "[ -~]{0,12}").prop_map(|(n, v)| format!("{n}={v}")),
        proptest::sample::select(vec![
            "--fsync",
            "--syncdir",
            "--ssl",
            "--starttls",
            "--nolog"
        ])
        .prop_map(str::to_string),
    ]
}

/// Directories a real installation uses: a scratch-root run must not touch them.
const HOST_PATHS: [&str; 4] = ["/service", "/etc/indimail", "/var/indimail", "/var/log/svc"];

fn host_state() -> Vec<Option<Vec<String>>> {
    HOST_PATHS
        .iter()
        .map(|p| {
            std::fs::read_dir(p).ok().map(|d| {
                let mut v: Vec<String> = d
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                v.sort();
                v
            })
        })
        .collect()
}

fn services(r: &Root) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(r.path("service"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Everything in the root but the log of svctool's own runs.
fn tree(r: &Root) -> Snapshot {
    let mut s = Snapshot::of(&r.path(""));
    s.0.retain(|p, _| !p.starts_with("var/log/svc/svctool.log"));
    s
}

proptest! {
    #![proptest_config(config(16))]

    /// Any option line: exit 0, 1 (refused option or value, with a message), 100 or 111;
    /// only the scratch root is written; and when a service was made, `--refreshsvc`
    /// replaying its `.options` makes exactly the same tree again.
    #[test]
    fn svctool_any_option_line(
        act in action(),
        opts in vec(option(), 0..6),
        seed in any::<bool>(),
    ) {
        let r = Root::new();
        let host = host_state();
        let mut args: Vec<String> = vec![act, "--servicedir=/service".to_string()];
        if seed {
            args.extend(svctool_common::SEED.iter().map(|s| s.to_string()));
        }
        args.extend(opts);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = r.cmd("svctool").args(&argv).timeout(std::time::Duration::from_secs(30)).run();
        prop_assert!(matches!(out.code, Some(0 | 1 | 100 | 111)), "{:?}", out);
        prop_assert!(!out.stderr_str().contains("panicked"), "{:?}", out);
        prop_assert_eq!(host_state(), host.clone(), "a host path changed");
        if out.code != Some(0) {
            prop_assert!(!out.stderr_str().is_empty() || !out.stdout_str().is_empty(), "a silent failure");
            return Ok(());
        }
        for svc in services(&r) {
            if !r.exists(&format!("service/{svc}/variables/.options")) {
                continue;
            }
            let before = tree(&r);
            let again = r
                .cmd("svctool")
                .args([format!("--refreshsvc=/service/{svc}"), "--servicedir=/service".into()])
                .run();
            prop_assert_eq!(again.code, Some(0), "{:?}", again);
            let changed = before.changes(&tree(&r), |_| false);
            prop_assert!(changed.is_empty(), "refresh of {svc} changed {changed:?}");
        }
        prop_assert_eq!(host_state(), host, "a host path changed");
    }

    /// A damaged `.options` record (quotes unbalanced, words cut, options garbled) replayed
    /// by `--refreshsvc`: svctool reports the failed replay and exits 0, writing only under
    /// the scratch root.
    #[test]
    fn refresh_of_a_damaged_options_record(
        edits in vec((any::<usize>(), proptest::sample::select(b"\"' =-/x\n\t.".to_vec()), any::<bool>()), 1..6),
    ) {
        let r = Root::new();
        let host = host_state();
        let out = r.svctool(svctool_common::SEED);
        prop_assert_eq!(out.code, Some(0), "{:?}", out);
        let rec = "service/qmail-qmqpd.628/variables/.options";
        let mut text = r.read(rec).into_bytes();
        for (at, b, insert) in edits {
            let at = at % (text.len() + 1);
            if insert || at == text.len() {
                text.insert(at, b);
            } else {
                text[at] = b;
            }
        }
        let p = r.path(rec);
        let dir = p.parent().unwrap();
        let mode = std::fs::metadata(dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&p, &text).unwrap();
        std::fs::set_permissions(dir, mode.permissions()).unwrap();
        let out = r
            .cmd("svctool")
            .args(["--refreshsvc=/service/qmail-qmqpd.628", "--servicedir=/service"])
            .timeout(std::time::Duration::from_secs(30))
            .run();
        prop_assert!(matches!(out.code, Some(0 | 1 | 100 | 111)), "{:?}", out);
        prop_assert!(!out.stderr_str().contains("panicked"), "{:?}", out);
        prop_assert_eq!(host_state(), host, "a host path changed");
        let s = Snapshot::of(&r.path(""));
        let tree_kept = matches!(s.0.get(Path::new("service")), Some(Node::Dir { .. }));
        prop_assert!(tree_kept, "the service directory is gone");
    }
}
