//! The conformance suite's bookkeeping, checked without the reference (so `make test` runs
//! it too): the table of deliberate differences names only rows COMPATIBILITY.md has and
//! only cases that exist, row ids are unique, every installed program has cases, and the
//! README's per-program counts are true.
//!
//! `CONFORMANCE_COUNTS=write cargo test -p blackbox --test conformance_table` rewrites the
//! README's count block.

use blackbox::conformance::{case_ids_in_sources, install_layout, table, workspace_root, Source};
use std::collections::{BTreeMap, BTreeSet};

/// The row ids of COMPATIBILITY.md, with the line of each.
fn rows() -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(workspace_root().join("COMPATIBILITY.md"))
        .expect("read COMPATIBILITY.md");
    text.lines()
        .enumerate()
        .filter_map(|(n, l)| {
            let id = l.strip_prefix("| ")?.split(" |").next()?;
            let ok = id.len() > 1
                && id.as_bytes()[0].is_ascii_uppercase()
                && id.bytes().skip(1).all(|c| c.is_ascii_alphanumeric());
            ok.then(|| (id.to_string(), n + 1))
        })
        .collect()
}

/// The program a case id counts for: the text before its first dot.
fn program(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Installed programs (links aside), in install-layout order.
/// Programs of ours that the reference has no counterpart of, so no case can compare them:
/// each with its COMPATIBILITY.md row and the suite that covers it instead.
const EXTENSIONS: [(&str, &str, &str); 1] = [("svmetrics", "PM2", "tests/tests/svmetrics.rs")];

/// The installed programs the reference also has.
fn installed() -> Vec<String> {
    install_layout()
        .into_iter()
        .filter(|i| !matches!(i.from, Source::Link(_)))
        .filter(|i| !EXTENSIONS.iter().any(|(name, ..)| *name == i.name))
        .map(|i| i.name)
        .collect()
}

#[test]
fn extensions_are_documented_and_tested() {
    let rows: BTreeSet<String> = rows().into_iter().map(|(id, _)| id).collect();
    let layout: BTreeSet<String> = install_layout().into_iter().map(|i| i.name).collect();
    for (name, row, suite) in EXTENSIONS {
        assert!(layout.contains(name), "{name} is not installed");
        assert!(
            rows.contains(row),
            "COMPATIBILITY.md has no row {row} for {name}"
        );
        let suite_file = workspace_root().join(suite);
        assert!(suite_file.is_file(), "{suite} (for {name}) is missing");
    }
}

#[test]
fn row_ids_are_unique() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut twice = Vec::new();
    for (id, line) in rows() {
        if let Some(first) = seen.insert(id.clone(), line) {
            twice.push(format!("{id} (lines {first} and {line})"));
        }
    }
    assert!(
        twice.is_empty(),
        "COMPATIBILITY.md reuses row ids: {twice:?}"
    );
}

#[test]
fn table_names_existing_rows_and_cases() {
    let rows: BTreeSet<String> = rows().into_iter().map(|(id, _)| id).collect();
    let cases: BTreeSet<String> = case_ids_in_sources()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut problems = Vec::new();
    for e in table() {
        if !rows.contains(&e.row) {
            problems.push(format!(
                "{} names row {}, which COMPATIBILITY.md lacks",
                e.case, e.row
            ));
        }
        if !cases.iter().any(|c| e.matches(c)) {
            problems.push(format!("{} {}: no such case", e.case, e.row));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn case_ids_are_unique_and_name_installed_programs() {
    let programs: BTreeSet<String> = installed().into_iter().collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, file) in case_ids_in_sources() {
        if !programs.contains(program(&id)) {
            problems.push(format!(
                "{file}: case {id}: `{}` is no installed program",
                program(&id)
            ));
        }
        if let Some(other) = seen.insert(id.clone(), file.clone()) {
            problems.push(format!("case {id} in {other} and {file}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_installed_program_has_cases() {
    let counts = counts();
    let none: BTreeSet<String> = installed()
        .into_iter()
        .filter(|p| counts.get(p).copied().unwrap_or(0) == 0)
        .collect();
    assert!(
        none.is_empty(),
        "installed programs without conformance cases: {none:?}"
    );
}

/// Cases per program.
fn counts() -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (id, _) in case_ids_in_sources() {
        *out.entry(program(&id).to_string()).or_insert(0) += 1;
    }
    out
}

const BEGIN: &str = "<!-- conformance-counts: CONFORMANCE_COUNTS=write cargo test -p blackbox --test conformance_table -->";
const END: &str = "<!-- end conformance-counts -->";

/// The README block: one row per installed program, in install-layout order.
fn block() -> String {
    let counts = counts();
    let mut s = format!("{BEGIN}\n| program | cases | program | cases | program | cases |\n|---|--:|---|--:|---|--:|\n");
    let programs = installed();
    for row in programs.chunks(3) {
        let cells: Vec<String> = row
            .iter()
            .map(|p| format!("`{p}` | {}", counts.get(p).copied().unwrap_or(0)))
            .collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    let total: usize = counts.values().sum();
    s.push_str(&format!("\n{total} cases in all.\n{END}"));
    s
}

#[test]
fn readme_counts_are_true() {
    let path = workspace_root().join("README.md");
    let text = std::fs::read_to_string(&path).expect("read README.md");
    let (Some(a), Some(b)) = (text.find(BEGIN), text.find(END)) else {
        panic!("README.md has no conformance-counts block ({BEGIN} ... {END})");
    };
    let current = &text[a..b + END.len()];
    let want = block();
    if current == want {
        return;
    }
    if std::env::var_os("CONFORMANCE_COUNTS").is_some_and(|v| v == "write") {
        let new = format!("{}{want}{}", &text[..a], &text[b + END.len()..]);
        std::fs::write(&path, new).expect("write README.md");
        return;
    }
    panic!(
        "README.md's conformance counts are stale; run `CONFORMANCE_COUNTS=write cargo test -p \
         blackbox --test conformance_table`. Want:\n{want}"
    );
}
