//! The repository explains itself (docs/architecture.md, "Where the design is written
//! down"): every design citation in the tree (code, tests, scripts, documents) names a file
//! inside the repository, every Markdown file cited with an anchor has that heading or
//! anchor, every `COMPATIBILITY.md ID` has its row (one row, or the cited section's), and the
//! acceptance-check tables of docs/ name tests that exist, as every `checkNN_*` test is named
//! by one of them.

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds tests/")
        .to_path_buf()
}

/// Every text file of the tree, as (path relative to the root, content). Build output, the
/// demo's work directory and version control are not the repository's text.
fn tree() -> Vec<(PathBuf, String)> {
    const SKIP: [&str; 3] = ["target", ".git", "demo/work"];
    let root = root();
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(&root).unwrap().to_path_buf();
            if SKIP.iter().any(|s| rel == Path::new(s)) {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                todo.push(path);
            } else if meta.is_file() {
                // binary files (charts, cdbs, keys in DER) are not text
                if let Ok(text) = String::from_utf8(fs::read(&path).unwrap()) {
                    out.push((rel, text));
                }
            }
        }
    }
    out.sort();
    assert!(
        out.len() > 100,
        "the tree was not found at {}",
        root.display()
    );
    out
}

/// Mentions of documents outside the repository. The patterns are built from pieces so
/// that this file does not match itself.
fn outside_patterns() -> Vec<(Regex, &'static str)> {
    let section = '\u{a7}';
    vec![
        (
            // a section sign cites a document; only an RFC's sections are outside by nature
            Regex::new(&section.to_string()).unwrap(),
            "a section sign: cite a file of docs/ and its heading instead",
        ),
        (
            Regex::new(concat!("DECI", "SIONS")).unwrap(),
            "the decisions are in docs/decisions.md, one anchor each",
        ),
        (
            Regex::new(concat!(r"(?:^|[^A-Za-z0-9_])spec", "/")).unwrap(),
            "a spec file outside the repository",
        ),
        (
            Regex::new(concat!("shared", "/")).unwrap(),
            "the steering folder is outside the repository",
        ),
        (
            Regex::new(concat!("DESI", r#"GN(?:\.md| ")"#)).unwrap(),
            "the design notes are docs/architecture.md and docs/decisions.md",
        ),
        (
            Regex::new(concat!(r#"(?:^|[\s"'(`=])/wo"#, "rk/")).unwrap(),
            "a path of the development machine",
        ),
    ]
}

/// Mentions of the steering folder that are not citations: an IndiMail installation path in
/// generated files (or built from sysconfdir), and the place the conformance suites and bench
/// look for the reference's sources at run time.
fn allowed_shared(line: &str, at: usize) -> bool {
    let before = &line[..at];
    let after = &line[at..];
    before.ends_with("indimail/")
        || before.ends_with("}/")
        || after.starts_with(concat!("shared", "/reference"))
}

#[test]
fn no_citation_points_outside_the_repository() {
    let rfc = Regex::new("RFC [0-9]+ \u{a7}").unwrap();
    let patterns = outside_patterns();
    let mut bad = Vec::new();
    for (path, text) in tree() {
        for (n, line) in text.lines().enumerate() {
            for (re, why) in &patterns {
                for m in re.find_iter(line) {
                    let shared = m.as_str().ends_with(concat!("shared", "/"));
                    if shared && allowed_shared(line, m.end() - concat!("shared", "/").len()) {
                        continue;
                    }
                    if m.as_str().ends_with('\u{a7}') {
                        let end = m.end();
                        if rfc.find_iter(line).any(|r| r.end() == end) {
                            continue;
                        }
                    }
                    bad.push(format!(
                        "{}:{}: {why}: {}",
                        path.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "citations outside the repository:\n{}",
        bad.join("\n")
    );
}

/// GitHub's anchor for a heading: lowercase, only letters, digits, `-`, `_` and blanks,
/// blanks as `-`; a repeated heading gets `-1`, `-2`, ...
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a Markdown file offers: its headings' slugs (outside code blocks) and
/// explicit `<a id="...">` / `<a name="...">`.
fn anchors(text: &str) -> BTreeSet<String> {
    let explicit = Regex::new(r#"<a (?:id|name)="([^"]+)""#).unwrap();
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let hashes = line.bytes().take_while(|&b| b == b'#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let s = slug(&line[hashes..]);
            let n = seen.entry(s.clone()).or_insert(0);
            out.insert(if *n == 0 {
                s.clone()
            } else {
                format!("{s}-{n}")
            });
            *n += 1;
        }
        for c in explicit.captures_iter(line) {
            out.insert(c[1].to_string());
        }
    }
    out
}

/// The rows of COMPATIBILITY.md: id → the anchors of the sections holding a row with it.
fn compatibility_rows(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = slug(h);
        } else if let Some(rest) = line.strip_prefix("| ") {
            if let Some(id) = rest.split(" |").next() {
                rows.entry(id.trim().to_string())
                    .or_default()
                    .push(section.clone());
            }
        }
    }
    rows
}

/// Checks the citations of one file after another, collecting what does not resolve.
struct Resolver {
    root: PathBuf,
    md: Regex,
    bare: Regex,
    compat: Regex,
    id: Regex,
    rows: BTreeMap<String, Vec<String>>,
    anchors: BTreeMap<PathBuf, BTreeSet<String>>,
    bad: Vec<String>,
    checked: usize,
}

impl Resolver {
    fn new(compatibility: &str) -> Resolver {
        Resolver {
            root: root(),
            md: Regex::new(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md(?:#([A-Za-z0-9_-]+))?").unwrap(),
            // `#anchor` alone, after a Markdown file was cited: an anchor of that file
            bare: Regex::new(r"(?:^|[\s(,;])#([a-z][a-z0-9-]*)").unwrap(),
            compat: Regex::new(concat!(
                r"COMPATIBILITY(?:\.md)?(?:#([a-z0-9-]+))?[ :]+",
                r"([A-Z]{1,2}[0-9]+[a-z]?(?:(?:, | and |[-–]|/)[A-Z]{1,2}[0-9]+[a-z]?)*)(?-u:\b)"
            ))
            .unwrap(),
            id: Regex::new(r"[A-Z]{1,2}[0-9]+[a-z]?").unwrap(),
            rows: compatibility_rows(compatibility),
            anchors: BTreeMap::new(),
            bad: Vec::new(),
            checked: 0,
        }
    }

    fn file(&mut self, path: &Path, text: &str) {
        // the last Markdown file cited in this paragraph
        let mut current: Option<(PathBuf, String)> = None;
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            if line
                .trim_matches(|c: char| "/!#* \t".contains(c))
                .is_empty()
            {
                current = None;
            }
            let cited = self.markdown(path, line, &at);
            self.bare_anchors(path, line, &at, &cited, &current);
            if let Some((_, target, name)) = cited.into_iter().last() {
                current = Some((target, name));
            }
            self.compatibility(line, &at);
        }
    }

    /// Markdown files cited, with or without an anchor, relative to the citing file or to
    /// the root; returns where each citation ends, the file and its name as cited.
    fn markdown(&mut self, path: &Path, line: &str, at: &str) -> Vec<(usize, PathBuf, String)> {
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut cited = Vec::new();
        let found: Vec<(usize, usize)> = self
            .md
            .find_iter(line)
            .map(|m| (m.start(), m.end()))
            .collect();
        for (start, end) in found {
            // a path a program builds ($out/README.md, {rel}/README.md, a string literal)
            // is no citation, and neither is the text of a Markdown link
            let before = line[..start].chars().last();
            if matches!(before, Some('$' | '}' | '{' | '"')) || line[end..].starts_with("](") {
                continue;
            }
            let text = &line[start..end];
            let (file, anchor) = match text.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (text, None),
            };
            let target = [dir.join(file), PathBuf::from(file)]
                .into_iter()
                .map(|p| normalize(&p))
                .find(|p| self.root.join(p).is_file());
            let Some(target) = target else {
                self.bad.push(format!("{at}: no file {file}"));
                continue;
            };
            self.checked += 1;
            if let Some(anchor) = anchor {
                self.anchor(at, &target, file, anchor);
            }
            cited.push((end, target, file.to_string()));
        }
        cited
    }

    /// `#anchor` after a cited file (in this line or the paragraph's lines before), and
    /// `[text](#...)` links to a heading of the file itself.
    fn bare_anchors(
        &mut self,
        path: &Path,
        line: &str,
        at: &str,
        cited: &[(usize, PathBuf, String)],
        current: &Option<(PathBuf, String)>,
    ) {
        let found: Vec<(usize, String)> = self
            .bare
            .captures_iter(line)
            .map(|c| (c.get(0).unwrap().start(), c[1].to_string()))
            .collect();
        for (pos, anchor) in found {
            let file = if line[..pos].ends_with(']') {
                Some((path.to_path_buf(), path.display().to_string()))
            } else {
                cited
                    .iter()
                    .rev()
                    .find(|c| c.0 <= pos)
                    .map(|c| (c.1.clone(), c.2.clone()))
                    .or_else(|| current.clone())
            };
            if let Some((target, name)) = file {
                self.anchor(at, &target, &name, &anchor);
            }
        }
    }

    fn anchor(&mut self, at: &str, target: &Path, name: &str, anchor: &str) {
        self.checked += 1;
        let root = &self.root;
        let set = self
            .anchors
            .entry(target.to_path_buf())
            .or_insert_with(|| anchors(&fs::read_to_string(root.join(target)).unwrap()));
        if !set.contains(anchor) {
            self.bad
                .push(format!("{at}: no heading or anchor #{anchor} in {name}"));
        }
    }

    /// `COMPATIBILITY.md ID` (one row with that id), or with the section named after a `#`.
    fn compatibility(&mut self, line: &str, at: &str) {
        let mut problems = Vec::new();
        for c in self.compat.captures_iter(line) {
            let section = c.get(1).map(|s| s.as_str());
            for i in self.id.find_iter(&c[2]) {
                self.checked += 1;
                let id = i.as_str();
                let sections = self.rows.get(id).cloned().unwrap_or_default();
                let problem = match section {
                    Some(s) if !sections.iter().any(|x| x == s) => {
                        Some(format!("COMPATIBILITY.md#{s} has no row {id}"))
                    }
                    None if sections.is_empty() => {
                        Some(format!("COMPATIBILITY.md has no row {id}"))
                    }
                    None if sections.len() > 1 => Some(format!(
                        "COMPATIBILITY.md {id} is ambiguous (in {}): name the section",
                        sections.join(", ")
                    )),
                    _ => None,
                };
                problems.extend(problem.map(|p| format!("{at}: {p}")));
            }
        }
        self.bad.extend(problems);
    }
}

#[test]
fn every_document_citation_resolves() {
    let files = tree();
    let compatibility = &files
        .iter()
        .find(|(p, _)| p == Path::new("COMPATIBILITY.md"))
        .expect("COMPATIBILITY.md")
        .1;
    let mut r = Resolver::new(compatibility);
    for (path, text) in &files {
        r.file(path, text);
    }
    assert!(
        r.checked > 300,
        "only {} citations seen: is a pattern broken?",
        r.checked
    );
    assert!(
        r.bad.is_empty(),
        "citations that do not resolve:\n{}",
        r.bad.join("\n")
    );
}

/// `a/../b` → `b`, `./a` → `a`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The names of the `#[test]` functions of the black-box suites.
fn test_functions() -> BTreeSet<String> {
    let re = Regex::new(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn ([a-z0-9_]+)").unwrap();
    tree()
        .iter()
        .filter(|(p, _)| p.starts_with("tests/tests") && p.extension().is_some_and(|e| e == "rs"))
        .flat_map(|(_, t)| {
            re.captures_iter(t)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The tests the acceptance-check tables of docs/ name: the backquoted names in the last
/// cell of each numbered row after an "Acceptance checks" heading.
fn named_in_acceptance_tables() -> BTreeMap<String, String> {
    let row = Regex::new(r"^\| *[0-9]+ *\|.*\|([^|]*)\| *$").unwrap();
    let name = Regex::new(r"`([a-z0-9_]+)`").unwrap();
    let mut out = BTreeMap::new();
    for (path, text) in tree() {
        if !path.starts_with("docs") {
            continue;
        }
        let mut inside = false;
        for line in text.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                inside = h.trim() == "Acceptance checks";
            }
            if let Some(c) = row.captures(line).filter(|_| inside) {
                for n in name.captures_iter(&c[1]) {
                    out.insert(n[1].to_string(), path.display().to_string());
                }
            }
        }
    }
    out
}

#[test]
fn acceptance_checks_and_tests_name_each_other() {
    let tests = test_functions();
    let named = named_in_acceptance_tables();
    assert!(
        named.len() > 150,
        "only {} tests named in docs/",
        named.len()
    );
    let mut bad: Vec<String> = named
        .iter()
        .filter(|(t, _)| !tests.contains(*t))
        .map(|(t, doc)| format!("{doc} names {t}, which is not a test"))
        .collect();
    let check = Regex::new(r"^check[0-9]+").unwrap();
    bad.extend(
        tests
            .iter()
            .filter(|t| check.is_match(t) && !named.contains_key(*t))
            .map(|t| format!("{t} is no acceptance check of docs/")),
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug(" supervise: startup"), "supervise-startup");
    assert_eq!(slug(" svctool.log"), "svctoollog");
    assert_eq!(
        slug(" The program's environment"),
        "the-programs-environment"
    );
    assert_eq!(slug(" `.svscan`"), "svscan");
    let a = anchors("# A\n```\n# not a heading\n```\n## A\n| <a id=\"d1\"></a>D1 |\n");
    assert_eq!(
        a.into_iter().collect::<Vec<_>>(),
        ["a", "a-1", "d1"].map(String::from)
    );
}
