//! `instcheck [package [options]]` (also installed as `instcheck.PACKAGE`): check a
//! package's installation against its permission lists.
//!
//! The lists live in `$SYSCONFDIR/perms.d/PACKAGE/` (SYSCONFDIR defaults to
//! `/etc/indimail`); their `INPUT` file names, one per line, a destination and a list
//! (`/opt/indimail BIN`, `/ DIRS`). For each, `installer OPTIONS $DESTDIR+destination <
//! list` is printed and run from that directory; the first failure ends the check with
//! installer's exit code. OPTIONS default to `-cfm` (check, fix, let missing files pass).
//! The installer is the one next to this program (`uinstaller` for ucspi-tcp when
//! present). Run in a directory that has an `INPUT` file (a build tree), the lists and
//! the installer there are used instead.

use indicore::{Failure, Prog};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const PROG: Prog = Prog("instcheck");

/// The package and the installer options from the command line.
fn package_and_options(args: &[OsString]) -> Result<(String, String), Failure> {
    let show = |a: &OsString| a.to_string_lossy().into_owned();
    match args {
        [zero] => {
            let name = show(zero);
            let base = name.rsplit('/').next().unwrap_or(&name).to_string();
            // `cut -d. -f2`: the second dot-separated field, or the whole name without a dot
            match base.split('.').nth(1) {
                Some(pkg) => Ok((pkg.to_string(), "-cfm".into())),
                None => {
                    indicore::diag::emit(format_args!("package name must be specified\n"));
                    Err(Failure::Silent(100))
                }
            }
        }
        [_, pkg] => Ok((show(pkg), "-cfm".into())),
        [_, pkg, opts] => Ok((show(pkg), show(opts))),
        _ => {
            let zero = args.first().map(show).unwrap_or_default();
            indicore::diag::emit(format_args!("USAGE: {zero} package [options]\n"));
            Err(Failure::Silent(100))
        }
    }
}

/// Where this program is installed: the installer is its neighbour.
fn libexec_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let (package, options) = package_and_options(args)?;
    let dir = if Path::new("INPUT").is_file() {
        PathBuf::from("./")
    } else {
        let mut lists = std::env::var_os("SYSCONFDIR")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| OsString::from("/etc/indimail"));
        // joined as text, as the script does (`perms.d//x` for a package named `/x`)
        lists.push(format!("/perms.d/{package}"));
        let lists = PathBuf::from(lists);
        if !lists.is_dir() {
            indicore::diag::emit(format_args!(
                "{package}: missing permission files dir [{}]\n",
                lists.display()
            ));
            return Err(Failure::Silent(111));
        }
        if let Err(e) = std::env::set_current_dir(&lists) {
            return Err(Failure::temp_sys(
                format_args!("unable to switch to {}: ", lists.display()),
                &e,
            ));
        }
        if !Path::new("INPUT").is_file() {
            indicore::diag::emit(format_args!("{package}: missing INPUT definition\n"));
            return Err(Failure::Silent(111));
        }
        libexec_dir()
    };
    let installer =
        if package == "ucspi-tcp" && indicore::exec::executable(&join(&dir, "uinstaller")) {
            join(&dir, "uinstaller")
        } else {
            join(&dir, "installer")
        };
    let input =
        std::fs::read("INPUT").map_err(|e| Failure::temp_sys("unable to read INPUT: ", &e))?;
    let destdir = std::env::var_os("DESTDIR").unwrap_or_default();
    for line in input.split(|&b| b == b'\n') {
        let words: Vec<&[u8]> = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        let Some(&first) = words.first() else {
            continue;
        };
        let sub: &[u8] = if first == b"/" { b"" } else { first };
        let list = String::from_utf8_lossy(words.get(1).copied().unwrap_or(b""));
        let mut dest = destdir.as_bytes().to_vec();
        dest.extend_from_slice(sub);
        let dest_text = String::from_utf8_lossy(&dest).into_owned();
        println!("{} {options} {dest_text} < {list}", installer.display());
        let stdin = std::fs::File::open(&*list)
            .map_err(|e| Failure::temp_sys(format_args!("unable to read {list}: "), &e))?;
        let status = Command::new(&installer)
            .args(options.split_ascii_whitespace())
            .args(dest_text.split_ascii_whitespace())
            .stdin(Stdio::from(stdin))
            .status()
            .map_err(|e| {
                let name = installer.display();
                Failure::temp_sys(format_args!("unable to run {name}: "), &e)
            })?;
        match status.code() {
            Some(0) => {}
            Some(code) => return Ok(code),
            None => return Ok(111),
        }
    }
    Ok(0)
}

/// `dir/name` as the script spells it (`.//installer` in a build tree).
fn join(dir: &Path, name: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    if !s.as_bytes().ends_with(b"/") || s.as_bytes() == b"./" {
        s.push("/");
    }
    s.push(name);
    PathBuf::from(s)
}
