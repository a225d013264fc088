//! Manual pages (man/README.md): every installed program has a page, mandoc lints every page
//! clean, `man -l` renders it, it has the required sections, and every option the program
//! accepts (asked of the program itself) is in the OPTIONS section of its page.

use blackbox::conformance::{install_layout, Source};
use blackbox::{bin_dir, Cmd, Output};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Programs that parse no options: a leading `-word` is an operand (a file, a directory, a
/// program to run, a pattern) or a command. Each must keep not rejecting `-@`; every other
/// program must reject it, so the test always knows which kind a program is.
/// Programs that take no options and act on their operands at once (spipe starts a
/// supervise for each, svalert sends an alert), so `-@ -@` is never run: they have no
/// options to find.
const NOT_PROBED: &[&str] = &["spipe", "svalert"];

const NO_OPTIONS: &[&str] = &[
    "envuidgid",
    "pgrphack",
    "fghack",
    "readproctitle",
    "supervise",
    "svstat",
    "svok",
    "multilog",
    "tai64n",
    "tai64nlocal",
    "tai64nunix",
    "tai64n2tai",
    "tai2tai64n",
    "qfilelog",
    "tcprules",
    "tcprulescheck",
    "addcr",
    "delcr",
    "fixcrio",
    "recordio",
    "argv0",
    "mconnect-io",
    "qmailctl",
    "multipipe",
    "teepipe",
    "logselect",
    "qlogselect",
    "instcheck",
];

/// The sections every page has, in this order.
const SECTIONS: &[&str] = &[
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "ENVIRONMENT",
    "FILES",
    "EXIT STATUS",
    "EXAMPLES",
    "SEE ALSO",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// An installed program: a workspace binary, or a shell script from the source tree.
struct Program {
    name: String,
    script: Option<PathBuf>,
}

/// Every program and script `make install` installs (scripts/install-layout; links left
/// out: they share their target's page).
fn installed() -> Vec<Program> {
    let out: Vec<Program> = install_layout()
        .into_iter()
        .filter_map(|i| match i.from {
            Source::Built => Some(Program {
                name: i.name,
                script: None,
            }),
            Source::Tree(p) => Some(Program {
                name: i.name,
                script: Some(repo().join(p)),
            }),
            Source::Link(_) => None,
        })
        .collect();
    assert!(
        out.iter().any(|p| p.name == "svc") && out.iter().any(|p| p.script.is_some()),
        "found no programs or no scripts in scripts/install-layout: has its format changed?"
    );
    out
}

/// Every page under man/man1 and man/man8, by file stem.
fn pages() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for sec in ["1", "8"] {
        let dir = repo().join("man").join(format!("man{sec}"));
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let stem = file
                .strip_suffix(&format!(".{sec}"))
                .unwrap_or_else(|| panic!("{}: not a section {sec} page name", path.display()));
            if let Some(old) = out.insert(stem.to_string(), path.clone()) {
                panic!(
                    "two pages for {stem}: {} and {}",
                    old.display(),
                    path.display()
                );
            }
        }
    }
    out
}

fn section_of(page: &Path) -> String {
    page.extension().unwrap().to_string_lossy().into_owned()
}

fn tool(name: &str) -> Cmd {
    Cmd::new(name).clean_env().env("LC_ALL", "C.UTF-8")
}

#[track_caller]
fn ran(out: &Output, what: &str) {
    assert!(
        out.code.is_some(),
        "{what}: did not run (is it installed? `make test` installs mandoc and man-db): {out:?}"
    );
}

/// The page as mandoc renders it to plain ASCII, overstrikes removed, lines not wrapped
/// (so an option is never split at a line end).
fn rendered(page: &Path) -> String {
    let out = tool("mandoc")
        .args(["-T", "ascii", "-O", "width=1000"])
        .arg(page)
        .run();
    ran(&out, "mandoc -T ascii");
    assert_eq!(
        out.code,
        Some(0),
        "mandoc -T ascii {}: {out:?}",
        page.display()
    );
    let mut text = Vec::with_capacity(out.stdout.len());
    for &b in &out.stdout {
        if b == 8 {
            text.pop();
        } else {
            text.push(b);
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The rendered page's sections in order: (heading, body).
fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let heading = !line.is_empty()
            && !line.starts_with(' ')
            && line.chars().all(|c| c.is_ascii_uppercase() || c == ' ');
        if heading {
            out.push((line.trim().to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn section<'a>(secs: &'a [(String, String)], name: &str) -> &'a str {
    secs.iter()
        .find(|(h, _)| h == name)
        .map(|(_, b)| b.as_str())
        .unwrap_or("")
}

/// `opt` (`-x` or `--name`) written out on its own in `text`: not part of a longer option
/// or word, so `-n` is not found inside `-nNxX` and `--check` not inside `--check-certs`.
fn mentions(text: &str, opt: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let long = opt.starts_with("--");
    text.match_indices(opt).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + opt.len()..].chars().next();
        !before.is_some_and(word)
            && !after.is_some_and(|c| {
                if long {
                    word(c)
                } else {
                    c.is_ascii_alphanumeric()
                }
            })
    })
}

/// Did the program name `c` as a bad option? (djb's getopt wording, or svps/svctool's.)
fn rejects(out: &Output, c: char) -> bool {
    let all = format!("{}{}", out.stdout_str(), out.stderr_str());
    all.contains(&format!("illegal option -- {c}"))
        || all.contains(&format!("invalid option [-{c}]"))
        // getopt(1) in its `-a` mode, as docker-entrypoint parses
        || all.contains(&format!("unrecognized option '-{c}'"))
}

fn probe(name: &str, args: &[&str], dir: &Path) -> Output {
    Cmd::new(bin_dir().join(name))
        .clean_env()
        .env("DISABLE_RUN", "1")
        .env("HOME", dir)
        .cwd(dir)
        .args(args)
        .timeout(Duration::from_secs(20))
        .run()
}

/// `--name` words in a text (a usage message).
fn long_options(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("--") {
        let rest = &text[i + 2..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        if text[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        out.insert(format!("--{}", &rest[..end]));
    }
    out
}

/// A shell script's options: the letters of its `getopts` string, if it has one.
fn script_options(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (i, _) in text.match_indices("getopts") {
        let spec = text[i + "getopts".len()..]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(['"', '\'']);
        out.extend(
            spec.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| format!("-{c}")),
        );
    }
    out
}

/// What a program accepts, asked of the program: its option letters, the `--long` names of
/// its usage text, and the commands of a `{a|b|c}` usage. See man/README.md.
struct Accepts {
    options: Vec<String>,
    commands: Vec<String>,
}

fn accepts(p: &Program, dir: &Path) -> Accepts {
    let mut acc = Accepts {
        options: Vec::new(),
        commands: Vec::new(),
    };
    if let Some(script) = &p.script {
        acc.options = script_options(script);
        return acc;
    }
    let name = p.name.as_str();
    if NOT_PROBED.contains(&name) {
        return acc;
    }
    let base = probe(name, &["-@", "-@"], dir);
    let usage = format!("{}{}", base.stdout_str(), base.stderr_str());
    let commands = usage
        .split_once(&format!("{name} {{"))
        .and_then(|(_, r)| r.split_once('}'));
    if let Some(cmds) = commands {
        acc.commands = cmds.0.split('|').map(str::to_string).collect();
    }
    if NO_OPTIONS.contains(&name) {
        assert!(
            !rejects(&base, '@'),
            "{name} now rejects `-@` as an option: it parses options, so take it out of \
             NO_OPTIONS in tests/tests/manpages.rs: {base:?}"
        );
        return acc;
    }
    assert!(
        rejects(&base, '@'),
        "{name} -@ -@: no `illegal option -- @` (or `invalid option [-@]`), so the test cannot \
         tell which options {name} accepts; if it takes none, add it to NO_OPTIONS: {base:?}"
    );
    let letters = ('a'..='z').chain('A'..='Z').chain('0'..='9');
    for c in letters {
        let flag = format!("-{c}");
        let out = probe(name, &[&flag, "-@", "-@"], dir);
        if rejects(&out, c) {
            continue;
        }
        assert_eq!(
            out.code, base.code,
            "{name} {flag} -@ -@ did not stop at a usage error like `{name} -@ -@`: {out:?}"
        );
        acc.options.push(flag);
    }
    acc.options.extend(long_options(&usage));
    if name == "svctool" {
        acc.options
            .extend(svctool::options::OPTIONS.iter().map(|o| o.0.to_string()));
    }
    acc.options.sort();
    acc.options.dedup();
    acc
}

#[test]
fn every_installed_program_has_a_page_and_every_page_a_program() {
    let programs = installed();
    let pages = pages();
    let mut problems = Vec::new();
    for p in &programs {
        if !pages.contains_key(&p.name) {
            problems.push(format!(
                "{}: no page (man/man1/{0}.1 or man/man8/{0}.8)",
                p.name
            ));
        }
    }
    for (name, page) in &pages {
        if !programs.iter().any(|p| &p.name == name) {
            problems.push(format!(
                "{}: no such installed program in scripts/install-layout",
                page.display()
            ));
        }
        let src = std::fs::read_to_string(page).unwrap();
        let want = format!(".Dt {} {}", name.to_uppercase(), section_of(page));
        if !src.lines().any(|l| l == want) {
            problems.push(format!("{}: no `{want}` line", page.display()));
        }
        // Cross-references to our own programs carry the section the page is in (sections
        // 1 and 8: a section 7 page of the same name, such as inotify(7), is the system's).
        for line in src.lines().filter(|l| l.starts_with(".Xr ")) {
            let mut w = line.split_whitespace().skip(1);
            let (Some(xname), Some(xsec)) = (w.next(), w.next()) else {
                problems.push(format!("{}: `{line}` has no section", page.display()));
                continue;
            };
            let program_section = matches!(xsec, "1" | "8");
            if let Some(target) = pages.get(xname).filter(|_| program_section) {
                if section_of(target) != xsec {
                    problems.push(format!(
                        "{}: `{line}`: {xname} is in section {}",
                        page.display(),
                        section_of(target)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn mandoc_lint_is_clean() {
    let pages: Vec<PathBuf> = pages().into_values().collect();
    let out = tool("mandoc").args(["-T", "lint"]).args(&pages).run();
    ran(&out, "mandoc -T lint");
    let all = format!("{}{}", out.stdout_str(), out.stderr_str());
    // Whether an `.Xr` target is installed on this host (the db notes, `referenced manual
    // not found`) is about the host, not the pages: ours are not installed when the test
    // runs. Our own targets are checked by every_installed_program_has_a_page...
    let host = |l: &&str| l.contains("mandoc.db") || l.contains("referenced manual not found");
    let messages: Vec<&str> = all.lines().filter(|l| !host(l)).collect();
    assert!(
        messages.is_empty(),
        "mandoc -T lint:\n{}",
        messages.join("\n")
    );
}

#[test]
fn man_renders_every_page() {
    for (name, page) in pages() {
        let out = tool("man")
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .arg("-l")
            .arg(&page)
            .run();
        ran(&out, "man -l");
        let text = out.stdout_str();
        assert!(
            out.code == Some(0) && out.stderr.is_empty() && text.contains("NAME"),
            "man -l {}: {out:?}",
            page.display()
        );
        assert!(
            text.contains(&name),
            "man -l {}: no {name} in {text}",
            page.display()
        );
    }
}

#[test]
fn every_page_has_the_sections_in_order() {
    let mut problems = Vec::new();
    for page in pages().into_values() {
        let heads: Vec<String> = sections(&rendered(&page))
            .into_iter()
            .map(|s| s.0)
            .collect();
        let mut want = SECTIONS.iter().peekable();
        for h in &heads {
            if want.peek() == Some(&&h.as_str()) {
                want.next();
            }
        }
        if let Some(missing) = want.next() {
            problems.push(format!(
                "{}: {missing} missing or out of order (sections: {heads:?})",
                page.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_option_a_program_accepts_is_in_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let pages = pages();
    let mut problems = Vec::new();
    for p in installed() {
        let Some(page) = pages.get(&p.name) else {
            continue; // reported by every_installed_program_has_a_page...
        };
        let secs = sections(&rendered(page));
        let acc = accepts(&p, dir.path());
        let options = section(&secs, "OPTIONS");
        for o in &acc.options {
            if !mentions(options, o) {
                problems.push(format!("{}: {o} is not in OPTIONS", page.display()));
            }
        }
        // Each command is an item of its own: a line of COMMANDS starts with it.
        let commands = section(&secs, "COMMANDS");
        let item = |c: &str| {
            commands.lines().any(|l| {
                l.trim_start().strip_prefix(c).is_some_and(|rest| {
                    !rest.starts_with(|ch: char| ch.is_ascii_alphanumeric() || ch == '-')
                })
            })
        };
        for c in &acc.commands {
            if !item(c) {
                problems.push(format!(
                    "{}: command {c} is not in COMMANDS",
                    page.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_option_check_finds_what_it_should() {
    // The matcher the option test relies on: options on their own only.
    assert!(mentions("     -n      fail at once", "-n"));
    assert!(!mentions("setlock [-nNxX] file", "-n"));
    assert!(mentions("[-n] [-x]", "-x"));
    assert!(!mentions("--check-certs[=FILE]", "--check"));
    assert!(mentions("--check-certs[=FILE] x", "--check-certs"));
    assert!(!mentions("a-b", "-b"));
    assert_eq!(
        long_options("usage: svps [-a|--all] [--servicedir=dir] -- x"),
        BTreeSet::from(["--all".to_string(), "--servicedir".to_string()])
    );
}
