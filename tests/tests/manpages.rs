//! Manual pages (man/README.md): every installed program has a page, mandoc lints every page
//! clean, `man -l` renders it, it has the required sections, and every option the program
//! accepts (asked of the program itself) is in the OPTIONS section of its page.

use blackbox::{bin_dir, Cmd, Output};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Programs that parse no options: a leading `-word` is an operand (a file, a directory, a
/// program to run, a pattern) or a command. Each must keep not rejecting `-@`; every other
/// program must reject it, so the test always knows which kind a program is.
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
    "spipe",
    "multipipe",
    "teepipe",
    "logselect",
    "qlogselect",
    "svalert",
    "instcheck",
];

/// Programs with GNU long options (indicore::getopt_long): the `--=@` probe must list their
/// long options, so a change of wording cannot turn the check of their pages into nothing.
const GETOPT_LONG: &[&str] = &["docker-entrypoint", "runpod"];

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

/// The Makefile's `PROGRAMS_<family>` and `SCRIPTS` words, continuation lines joined.
fn installed() -> Vec<Program> {
    let text = std::fs::read_to_string(repo().join("Makefile")).expect("read Makefile");
    let mut out = Vec::new();
    for line in text.replace("\\\n", " ").lines() {
        let Some((var, words)) = line.split_once('=') else {
            continue;
        };
        let var = var.trim_end_matches(['+', ':', '?']).trim();
        let script = var == "SCRIPTS";
        if !script && !var.starts_with("PROGRAMS_") {
            continue;
        }
        for w in words.split_whitespace().filter(|w| !w.contains("$(")) {
            out.push(if script {
                let path = repo().join(w);
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                Program {
                    name,
                    script: Some(path),
                }
            } else {
                Program {
                    name: w.to_string(),
                    script: None,
                }
            });
        }
    }
    assert!(
        out.iter().any(|p| p.name == "svc") && out.iter().any(|p| p.script.is_some()),
        "found no programs or no scripts in the Makefile: has its layout changed?"
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

/// Did the program name `c` as a bad option? (djb's getopt wording, svps/svctool's, or
/// glibc's getopt_long's: `invalid option -- 'c'`, and `unrecognized option '-c'` where long
/// options may take one dash.)
fn rejects(out: &Output, c: char) -> bool {
    let all = format!("{}{}", out.stdout_str(), out.stderr_str());
    all.contains(&format!("illegal option -- {c}"))
        || all.contains(&format!("invalid option [-{c}]"))
        || all.contains(&format!("invalid option -- '{c}'"))
        || all.contains(&format!("unrecognized option '-{c}'"))
}

/// A program's own scratch directory for its probes, set up so that no probe can act
/// outside it, reach the network or wait for ever.
fn probe_dir(name: &str, base: &Path) -> PathBuf {
    let dir = base.join(name);
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::create_dir_all(dir.join("root")).unwrap();
    match name {
        // spipe starts `supervise DIR` for every argument and runs until a signal. Its probe
        // finds stubs in PATH: supervise notes its directory and stops spipe (SIGTERM), svc
        // (spipe's `svc -dx DIR`) does nothing.
        "spipe" => {
            let stubs = dir.join("stubs");
            std::fs::create_dir_all(&stubs).unwrap();
            let supervise = "#!/bin/sh\necho \"$1\" >>supervised\nkill -TERM $PPID\n";
            for (stub, text) in [("supervise", supervise), ("svc", "#!/bin/sh\nexit 0\n")] {
                let path = stubs.join(stub);
                std::fs::write(&path, text).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        // svalert sends a datagram to PROBE_SERVER unless $SYSCONFDIR/svalerts.filter holds
        // a word of the event (for `svalert DIR PID`, the PID): the server is an address, so
        // no name is looked up, and the filter stops it before anything is sent.
        "svalert" => std::fs::write(dir.join("etc/svalerts.filter"), "-@\n").unwrap(),
        _ => {}
    }
    dir
}

/// `prog args` in its probe directory (see [`probe_dir`]). SYSCONFDIR points into it (instcheck
/// looks for its lists there, svalert for its filter), and so does SVCTOOL_ROOT (the root
/// svctool, minisvc, qmailctl and docker-entrypoint work in; it also lets them parse their
/// options when the test is not run as root).
fn probe(name: &str, args: &[&str], dir: &Path) -> Output {
    let mut cmd = Cmd::new(bin_dir().join(name))
        .clean_env()
        .env("DISABLE_RUN", "1")
        .env("HOME", dir)
        .env("SYSCONFDIR", dir.join("etc"))
        .env("SVCTOOL_ROOT", dir.join("root"))
        .cwd(dir)
        .args(args)
        .timeout(Duration::from_secs(20));
    match name {
        "spipe" => cmd = cmd.env("PATH", dir.join("stubs")),
        "svalert" => cmd = cmd.env("PROBE_SERVER", "127.0.0.1"),
        _ => {}
    }
    cmd.run()
}

/// The long options a GNU getopt_long parser lists when asked for the empty prefix
/// (`--=@` is ambiguous among all of them): `prog: option '--=@' is ambiguous;
/// possibilities: '--a' '--b'`. Empty for other parsers (and for a table of one option).
fn listed_long_options(out: &Output) -> Vec<String> {
    let all = format!("{}{}", out.stdout_str(), out.stderr_str());
    let Some(line) = all
        .lines()
        .find(|l| l.contains("option '--=@' is ambiguous; possibilities:"))
    else {
        return Vec::new();
    };
    let list = line.split_once("possibilities:").map_or("", |(_, r)| r);
    list.split_whitespace()
        .map(|w| w.trim_matches('\''))
        .filter(|w| w.starts_with("--"))
        .map(str::to_string)
        .collect()
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
    let dir = &probe_dir(name, dir);
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
        if name == "spipe" {
            // The stub supervise was started on `-@`: an operand, a service directory.
            let started = std::fs::read_to_string(dir.join("supervised")).unwrap_or_default();
            assert_eq!(
                started, "-@\n-@\n",
                "spipe -@ -@ did not supervise the directories `-@`: {base:?}"
            );
        }
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
    // A getopt_long parser names all its long options when asked for the empty prefix.
    let asked = probe(name, &["--=@", "-@", "-@"], dir);
    assert_eq!(
        asked.code, base.code,
        "{name} --=@ -@ -@ did not stop at a usage error like `{name} -@ -@`: {asked:?}"
    );
    let listed = listed_long_options(&asked);
    assert!(
        !GETOPT_LONG.contains(&name) || !listed.is_empty(),
        "{name} --=@ -@ -@ did not list its long options: {asked:?}"
    );
    acc.options.extend(listed);
    // svctool's and minisvc's parsers take `--name[=value]` only: their own tables.
    if name == "svctool" {
        acc.options
            .extend(svctool::options::OPTIONS.iter().map(|o| o.0.to_string()));
    }
    if name == "minisvc" {
        acc.options
            .extend(svctool::minisvc::OPTIONS.iter().map(|o| o.to_string()));
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
                "{}: no such installed program in the Makefile",
                page.display()
            ));
        }
        let src = std::fs::read_to_string(page).unwrap();
        let want = format!(".Dt {} {}", name.to_uppercase(), section_of(page));
        if !src.lines().any(|l| l == want) {
            problems.push(format!("{}: no `{want}` line", page.display()));
        }
        // Cross-references to our own programs carry the section the page is in; the same
        // name in a section we install nothing in is another manual's page.
        for line in src.lines().filter(|l| l.starts_with(".Xr ")) {
            let mut w = line.split_whitespace().skip(1);
            let (Some(xname), Some(xsec)) = (w.next(), w.next()) else {
                problems.push(format!("{}: `{line}` has no section", page.display()));
                continue;
            };
            // Only sections 1 and 8 hold our pages: `inotify 7` is the kernel's API page.
            if let Some(target) = pages.get(xname).filter(|_| ["1", "8"].contains(&xsec)) {
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
