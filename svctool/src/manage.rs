//! Service management (docs/svctool.md#managing-services, #rmsvc-and-ensvc): `--rmsvc`, `--ensvc`, `--refreshsvc`, `--autorefresh`.

use crate::render::Ctx;
use crate::{fsx, Stop};
use std::path::{Path, PathBuf};
use std::process::Command;

fn split_path(p: &str) -> (String, String) {
    let path = Path::new(p.trim_end_matches('/'));
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".".into());
    (dir, name)
}

/// The svscan run-time mirror (`/run/svscan`), where supervise keeps its state.
pub fn svscan_mirror(ctx: &Ctx) -> Option<PathBuf> {
    ["/run/svscan", "/var/run/svscan"]
        .iter()
        .map(|p| ctx.host.disk(p))
        .find(|p| p.is_dir())
}

fn is_fifo(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}

fn run_tool(ctx: &Ctx, tool: &str, args: &[&Path]) {
    match ctx.host.tool(tool) {
        Some(p) => {
            let _ = Command::new(p).args(args).status();
        }
        None => crate::warn(&format!("{tool} not found: run {tool} yourself")),
    }
}

fn sleep_secs(default: u64) -> std::time::Duration {
    let s = std::env::var("SVCTOOL_SLEEP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    std::time::Duration::from_secs(s)
}

/// A service of an `--rmsvc`, `--ensvc`, `--refreshsvc` or `--autorefresh` list: its directory
/// on disk, parent and name; None (said on stderr) when it is no directory.
fn listed_service(ctx: &Ctx, path: &str) -> Option<(PathBuf, String, String)> {
    let disk = ctx.host.disk(path);
    if !disk.is_dir() {
        eprintln!("{path}: No such file or directory");
        return None;
    }
    let (dir, name) = split_path(path);
    Some((disk, dir, name))
}

/// `--rmsvc="PATH..."`: rename each supervised service to a dot name and stop it.
pub fn rmsvc(ctx: &Ctx, list: &str) -> Result<(), Stop> {
    let mirror = svscan_mirror(ctx);
    for path in list.split_whitespace() {
        let Some((disk, dir, name)) = listed_service(ctx, path) else {
            continue;
        };
        if name.starts_with('.') {
            eprintln!("skipping {path} that starts with .");
            continue;
        }
        let in_mirror = mirror
            .as_ref()
            .filter(|m| is_fifo(&m.join(&name).join("supervise/control")));
        if in_mirror.is_none() && !is_fifo(&disk.join("supervise/control")) {
            eprintln!("{path}/supervise not a supervise directory");
            continue;
        }
        let target = ctx.host.disk(&dir).join(format!(".{name}"));
        if let Err(e) = std::fs::rename(&disk, &target) {
            eprintln!("svctool: unable to rename {path}: {}", indicore::errstr(&e));
            continue;
        }
        let base = match in_mirror {
            Some(m) => {
                let (from, to) = (m.join(&name), m.join(format!(".{name}")));
                if from.is_dir() && !to.is_dir() && std::fs::rename(&from, &to).is_err() {
                    continue;
                }
                m.clone()
            }
            None => ctx.host.disk(&dir),
        };
        println!("Removed Service {name}");
        let gone = base.join(format!(".{name}"));
        run_tool(ctx, "svc", &[Path::new("-dx"), &gone]);
        if gone.join("log").is_dir() {
            println!("Removed Service {name}/log");
            run_tool(ctx, "svc", &[Path::new("-dx"), &gone.join("log")]);
        }
    }
    Ok(())
}

/// `--ensvc="PATH..."`: rename `.NAME` back to `NAME`, then show svstat.
pub fn ensvc(ctx: &Ctx, list: &str) -> Result<(), Stop> {
    let mirror = svscan_mirror(ctx);
    let mut enabled = Vec::new();
    for path in list.split_whitespace() {
        let Some((disk, dir, name)) = listed_service(ctx, path) else {
            continue;
        };
        let Some(plain) = name.strip_prefix('.') else {
            eprintln!(
                "Service {path} is not disabled (should have a '.' as the first char in {name})"
            );
            continue;
        };
        if plain.is_empty() || plain.starts_with('.') {
            eprintln!("skipping {path}");
            continue;
        }
        let target = ctx.host.disk(&dir).join(plain);
        if target.is_dir() {
            println!("{dir}/{plain} exists");
            continue;
        }
        if let Err(e) = std::fs::rename(&disk, &target) {
            eprintln!("svctool: unable to rename {path}: {}", indicore::errstr(&e));
            continue;
        }
        if let Some(m) = &mirror {
            let _ = std::fs::remove_dir_all(m.join(format!(".{plain}")));
        }
        println!("Enabled Service {plain}");
        enabled.push(target);
    }
    if !enabled.is_empty() {
        std::thread::sleep(sleep_secs(5));
    }
    for t in enabled {
        run_tool(ctx, "svstat", &[&t]);
        if t.join("log").is_dir() {
            run_tool(ctx, "svstat", &[&t.join("log")]);
        }
    }
    Ok(())
}

/// Run a recorded `.options` command. Its first word is svctool's installed path; this
/// svctool re-runs it (so a scratch root refreshes with the same program and facts).
fn rerun(ctx: &Ctx, options: &Path) -> Result<(), Stop> {
    let text = std::fs::read_to_string(options).map_err(|e| Stop::io("read", options, &e))?;
    let line = text.lines().next().unwrap_or("");
    // svctool re-runs svctool's records, minisvc minisvc's, with this very program
    let me = format!("{}/sbin/{}", ctx.host.prefix, ctx.o.program_name());
    let cmd = match (line.strip_prefix(&me), std::env::current_exe()) {
        (Some(rest), Ok(exe)) if exe.file_name().is_some_and(|n| n == ctx.o.program_name()) => {
            format!("'{}'{rest}", exe.display())
        }
        _ => line.to_string(),
    };
    // the reference drops --run-file-only here (COMPATIBILITY.md#svctool-and-qmailctl V33): it is passed on
    let cmd = if ctx.o.run_file_only {
        format!("{cmd} --run-file-only")
    } else {
        cmd
    };
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(&cmd)
        .status()
        .map_err(|e| Stop::io("run", Path::new("/bin/sh"), &e))?;
    if !status.success() {
        crate::warn(&format!("refresh of {} exited {status}", options.display()));
    }
    Ok(())
}

fn read_trimmed(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_default()
}

fn nonempty(p: &Path) -> bool {
    std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false)
}

/// `SERVICEDIR/*` (sorted, no dot names) that have `variables/.options`, then `.svscan`.
fn all_services(ctx: &Ctx) -> Vec<String> {
    let sd = ctx.host.disk(&ctx.servicedir);
    let mut names: Vec<String> = crate::fsx::sorted_names(&sd, false)
        .into_iter()
        .filter(|n| sd.join(n).join("variables/.options").is_file())
        .collect();
    if sd.join(".svscan/variables/.options").is_file() {
        names.push(".svscan".into());
    }
    names
        .into_iter()
        .map(|n| format!("{}/{n}", ctx.servicedir))
        .collect()
}

/// `--refreshsvc="PATH...|all"`: re-run each service's recorded command.
pub fn refresh(ctx: &Ctx, list: &str) -> Result<(), Stop> {
    let force = ctx.o.flag("--force");
    let silent = ctx.o.flag("--silent");
    let paths: Vec<&str> = list.split_whitespace().collect();
    if paths.is_empty() {
        return Err(Stop::fail(1, "refreshsvc service_with_full_path"));
    }
    if paths[0] == "all" {
        for i in all_services(ctx) {
            let d = ctx.host.disk(&i);
            let (_, name) = split_path(&i);
            if d.join("variables/.norefreshsvc").exists() && !force {
                if !silent {
                    println!("Skip Refreshing service {name}");
                }
                continue;
            }
            if !silent {
                println!(
                    "Refreshing service {name} command {}",
                    read_trimmed(&d.join("variables/.options"))
                );
            }
            rerun(ctx, &d.join("variables/.options"))?;
        }
        let q = ctx
            .host
            .disk(&format!("{}/control/defaultqueue", ctx.sysconfdir()));
        if q.join(".norefreshsvc").exists() && !force {
            if !silent {
                println!("Skip Refreshing config defaultqueue");
            }
        } else if q.join(".options").is_file() {
            if !silent {
                println!(
                    "Refreshing config defaultqueue command {}",
                    read_trimmed(&q.join(".options"))
                );
            }
            rerun(ctx, &q.join(".options"))?;
        }
        return Ok(());
    }
    for i in paths {
        let Some((d, _, name)) = listed_service(ctx, i) else {
            continue;
        };
        let (vo, co) = (d.join("variables/.options"), d.join(".options"));
        if !nonempty(&vo) && !nonempty(&co) {
            eprintln!("{i}/variables/.options or {i}/.options missing");
            continue;
        }
        if (d.join("variables/.norefreshsvc").exists() || d.join(".norefreshsvc").exists())
            && !force
        {
            if !silent {
                println!("Skip Refreshing service/config {name}");
            }
            continue;
        }
        if vo.is_file() {
            if !silent {
                println!("Refreshing service {name} command {}", read_trimmed(&vo));
            }
            rerun(ctx, &vo)?;
        } else {
            if !silent {
                println!("Refreshing config {name} command {}", read_trimmed(&co));
            }
            rerun(ctx, &co)?;
        }
    }
    Ok(())
}

fn flag_file(file: &Path, on: bool) -> Result<(), Stop> {
    let parent = file.parent().unwrap_or(Path::new("/"));
    let _w = fsx::Writable::new(parent)?;
    if on {
        fsx::remove(file)
    } else {
        fsx::write(file, b"", 0o644)
    }
}

/// `--autorefresh="0|1 PATH...|all"`: remove (1) or create (0) `.norefreshsvc`.
pub fn autorefresh(ctx: &Ctx, arg: &str) -> Result<(), Stop> {
    let mut words = arg.split_whitespace();
    let (Some(opt), Some(_)) = (words.next(), arg.split_whitespace().nth(1)) else {
        return Err(Stop::fail(1, "autorefresh=0|1 service_with_full_path"));
    };
    let enable = match opt {
        "1" => true,
        "0" => false,
        _ => return Err(Stop::fail(1, "autorefresh=0|1 service_with_full_path")),
    };
    let silent = ctx.o.flag("--silent");
    let say = |what: &str| {
        if !silent {
            if enable {
                println!("Enabling  auto refresh for {what}");
            } else {
                println!("Disabling auto refresh for {what}");
            }
        }
    };
    let paths: Vec<&str> = words.collect();
    if paths.first() == Some(&"all") {
        for i in all_services(ctx) {
            say(&i);
            flag_file(&ctx.host.disk(&i).join("variables/.norefreshsvc"), enable)?;
        }
        let q = format!("{}/control/defaultqueue", ctx.sysconfdir());
        say(&q);
        if ctx.host.is_dir(&q) {
            flag_file(&ctx.host.disk(&q).join(".norefreshsvc"), enable)?;
        }
        return Ok(());
    }
    for i in paths {
        let Some((d, _, _)) = listed_service(ctx, i) else {
            continue;
        };
        if !nonempty(&d.join("variables/.options")) && !nonempty(&d.join(".options")) {
            eprintln!("{i}/variables/.options or {i}/.options missing");
            continue;
        }
        say(i);
        let f = if d.join("variables").is_dir() {
            d.join("variables/.norefreshsvc")
        } else {
            d.join(".norefreshsvc")
        };
        flag_file(&f, enable)?;
    }
    Ok(())
}
