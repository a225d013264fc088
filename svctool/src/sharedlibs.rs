//! `control/libindimail` and `control/libmysql` (docs/svctool.md#configuration-actions `qmail`, #command-line `--fixsharedlibs`): the
//! shared libraries indimail-mta and tcpserver open with dlopen(3), found the way the
//! reference looks for them (shell globs under the prefix and the system library
//! directories, the highest major version winning) under the host-facts root, or pinned
//! with `SVCTOOL_LIBINDIMAIL` / `SVCTOOL_LIBMYSQL`.

use crate::render::Ctx;
use crate::{fsx, Stop};
use std::path::Path;

/// Does `name` match shell pattern `pat` (`*` only; a leading `.` is never matched by it)?
pub fn wildmatch(pat: &str, name: &str) -> bool {
    if name.starts_with('.') && !pat.starts_with('.') {
        return false;
    }
    fn m(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| m(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && m(rest, &n[1..]),
        }
    }
    m(pat.as_bytes(), name.as_bytes())
}

/// The logical paths an absolute shell glob matches under the root, sorted as `ls -d`.
pub fn glob(ctx: &Ctx, pattern: &str) -> Vec<String> {
    let mut found = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            if !comp.contains('*') {
                let p = format!("{base}/{comp}");
                if std::fs::symlink_metadata(ctx.host.disk(&p)).is_ok() {
                    next.push(p);
                }
                continue;
            }
            let dir = if base.is_empty() { "/" } else { base.as_str() };
            let Ok(rd) = std::fs::read_dir(ctx.host.disk(dir)) else {
                continue;
            };
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if wildmatch(comp, &n) {
                    next.push(format!("{base}/{n}"));
                }
            }
        }
        found = next;
    }
    found.retain(|p| !p.is_empty());
    found.sort();
    found
}

/// `check_update_if_diff`: write `value` into control file `name` unless it already holds
/// it, saying so.
fn update_if_diff(ctx: &Ctx, name: &str, value: &str) -> Result<(), Stop> {
    let logical = format!("{}/{name}", ctx.cntrldir);
    let p = ctx.host.disk(&logical);
    let cur = std::fs::read_to_string(&p).unwrap_or_default();
    if !cur.is_empty() && cur.trim_end_matches('\n') == value {
        return Ok(());
    }
    if !ctx.o.flag("--silent") {
        println!("updating {logical} with {value}");
    }
    fsx::mkdir_p(p.parent().unwrap_or(Path::new("/")), 0o755)?;
    fsx::write(&p, format!("{value}\n").as_bytes(), 0o644)
}

fn remove_control(ctx: &Ctx, name: &str) -> Result<(), Stop> {
    let logical = format!("{}/{name}", ctx.cntrldir);
    let p = ctx.host.disk(&logical);
    if p.is_file() {
        println!("removing {logical}");
        fsx::remove(&p)?;
    }
    Ok(())
}

fn pinned(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The libindimail shared library of this host, if any.
pub fn find_libindimail(ctx: &Ctx) -> Option<String> {
    if let Some(v) = pinned("SVCTOOL_LIBINDIMAIL") {
        return Some(v);
    }
    let p = ctx.prefix();
    let pattern = if ctx.host.uname_s == "Darwin" {
        "/opt/local/lib*/libindimail.*.dylib".to_string()
    } else if ctx.host.is_file("/etc/debian_version") {
        format!("{p}/lib/*-linux-gnu/libindimail.so.*.*.*")
    } else {
        format!("{p}/lib*/libindimail.so.*.*.*")
    };
    glob(ctx, &pattern).into_iter().next()
}

/// `control/libindimail`: the library when found, else no file.
pub fn fix_libindimail(ctx: &Ctx) -> Result<(), Stop> {
    match find_libindimail(ctx) {
        Some(lib) => update_if_diff(ctx, "libindimail", &lib),
        None => remove_control(ctx, "libindimail"),
    }
}

/// The MySQL installation prefix (`--mysqlPrefix`, else where the client library lives).
fn mysql_prefix(ctx: &Ctx) -> Option<String> {
    if let Some(p) = ctx.o.get("--mysqlPrefix") {
        return Some(p.to_string());
    }
    let h = ctx.host;
    let found = if h.is_dir("/usr/lib/mysql") || h.is_dir("/usr/lib64/mysql") {
        "/usr"
    } else if h.exists("/usr/local/lib/mysql") {
        "/usr/local"
    } else if h.exists("/usr/local/mysql/lib") {
        "/usr/local/mysql"
    } else if ["/usr/bin/mysqld", "/usr/sbin/mysqld", "/usr/sbin/mariadbd"]
        .iter()
        .any(|m| h.is_executable(m))
    {
        "/usr"
    } else {
        return None;
    };
    Some(found.to_string())
}

/// Of the files the patterns match, the one with the highest major version (the
/// `field`th dot-separated part of its name); the newest among equals.
fn highest(ctx: &Ctx, patterns: &[String], field: usize) -> Option<String> {
    let mut best: Option<(u64, i64, String)> = None;
    for pat in patterns {
        for p in glob(ctx, pat) {
            let base = p.rsplit('/').next().unwrap_or("");
            let Some(num) = base
                .split('.')
                .nth(field - 1)
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if num == 0 {
                continue;
            }
            let mtime = {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(ctx.host.disk(&p))
                    .map(|m| m.mtime())
                    .unwrap_or(0)
            };
            let better = match &best {
                None => true,
                Some((n, t, _)) => num > *n || (num == *n && mtime > *t),
            };
            if better {
                best = Some((num, mtime, p));
            }
        }
    }
    best.map(|(_, _, p)| p)
}

/// The MySQL/MariaDB client library, searched in the reference's order.
fn find_libmysql(ctx: &Ctx, prefix: &str) -> Option<String> {
    if let Some(v) = pinned("SVCTOOL_LIBMYSQL") {
        return Some(v);
    }
    let s = |v: &[&str]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let debian = ctx.host.is_file("/etc/debian_version");
    let (mine, field) = match ctx.host.uname_s.as_str() {
        "Darwin" => (
            vec![
                vec![format!("{prefix}/lib/libmysqlclient.*.dylib")],
                vec![format!("{prefix}/lib/libmariadb.*.dylib")],
            ],
            2,
        ),
        "FreeBSD" => (
            vec![
                vec![format!("{prefix}/lib/mysql/libmysqlclient.so.*")],
                vec![format!("{prefix}/lib/mysql/libmariadb.so.*")],
            ],
            3,
        ),
        _ => (
            vec![
                vec![format!("{prefix}/lib*/libmysqlclient.so.*.*.*")],
                vec![format!("{prefix}/lib*/libmariadb.so.*")],
            ],
            3,
        ),
    };
    let mut groups: Vec<(Vec<String>, usize)> = vec![
        (s(&["/usr/lib64/mysql/libmysqlclient.so.*.*.*"]), 3),
        (s(&["/usr/lib64/libmysqlclient.so.*.*.*"]), 3),
        (s(&["/usr/lib64/libmariadb.so.*"]), 3),
    ];
    groups.extend(mine.into_iter().map(|g| (g, field)));
    if debian {
        groups.push((s(&["/usr/lib/*-linux-gnu/libmariadbclient.so.*.*.*"]), 3));
        groups.push((s(&["/usr/lib/*-linux-gnu/libmariadb.so.*"]), 3));
        groups.push((
            s(&[
                "/usr/lib/*-linux-gnu/libmysqlclient.so.*.*.*",
                "/usr/lib*/mysql/libmariadbclient.so.*.*.*",
            ]),
            3,
        ));
    } else {
        groups.push((
            vec![
                format!("{prefix}/lib*/libmariadb.so.*"),
                format!("{prefix}/lib*/libmysqlclient.so.*.*.*"),
                format!("{prefix}/lib*/mysql/libmysqlclient.so.*.*.*"),
            ],
            3,
        ));
    }
    groups.iter().find_map(|(g, f)| highest(ctx, g, *f))
}

/// `control/libmysql` (check_libmysqlclient_lib): kept while it names an existing file,
/// else the library found, else removed. `Err` when the MySQL prefix is unknown.
pub fn fix_libmysql(ctx: &Ctx) -> Result<(), Stop> {
    let pinned_lib = pinned("SVCTOOL_LIBMYSQL");
    let prefix =
        match (mysql_prefix(ctx), &pinned_lib) {
            (Some(p), _) => p,
            (None, Some(_)) => String::new(),
            (None, None) => return Err(Stop::fail(
                1,
                "check_libmysqlclient_lib: Couldn't figure out mysqlPrefix. Specify --mysqlPrefix",
            )),
        };
    let cur = std::fs::read_to_string(ctx.host.disk(&format!("{}/libmysql", ctx.cntrldir)))
        .unwrap_or_default();
    let cur = cur.trim_end_matches('\n');
    if !cur.is_empty() && ctx.host.is_file(cur) && pinned_lib.is_none() {
        return Ok(());
    }
    match find_libmysql(ctx, &prefix) {
        Some(lib) => update_if_diff(ctx, "libmysql", &lib),
        None => {
            eprintln!(
                "Sorry: Couldn't figure out mysql shared library. Manually edit {}/libmysql",
                ctx.cntrldir
            );
            remove_control(ctx, "libmysql")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wildmatch;

    #[test]
    fn shell_patterns() {
        assert!(wildmatch("libindimail.so.*.*.*", "libindimail.so.3.0.0"));
        assert!(!wildmatch("libindimail.so.*.*.*", "libindimail.so.3"));
        assert!(wildmatch("lib*", "lib64"));
        assert!(wildmatch("*-linux-gnu", "x86_64-linux-gnu"));
        assert!(!wildmatch("*", ".hidden"));
        assert!(wildmatch("*", ""));
    }
}
