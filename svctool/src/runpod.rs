//! `runpod -i image [options] [prog args...]`: run an IndiMail container image with podman
//! or docker, with the ports, capabilities, host name and volumes IndiMail images expect.
//!
//! It prints the command it runs (the reference's lines, spacing included), runs it, and
//! for a detached container opens a shell in it (`exec -ti NAME bash`); a container that
//! failed to start is removed again.
//!
//! Fixed here: `-g`/`--cgroups` takes its value (the reference loops for ever on `-g` and
//! refuses `--cgroups`); `auto` as prog is replaced by the image's init rather than passed
//! to it; a failed run exits with the engine's status (not `rm`'s); bad options exit 1, as
//! the script's other usage errors, not 0. Values are split at blanks as the script's
//! unquoted expansions split them, but never glob-expanded.

use indicore::getopt_long::{Found, Long, Spec};
use indicore::{errstr, Failure, Prog};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub const PROG: Prog = Prog("runpod");

const USAGE: &str = "\
usage: runpod -i|--id image [-n|--name name] [-c|--cmd podman|docker]
         [-a|--args engine_args]... [-h|--host hostname] [-g|--cgroups auto|args]
         [-p|--port local:container]... [-v|--volume dir_or_volume:mount_point]...
         [-C|--capa capability|auto]... [--] [prog [args...]]
  every option marked ... may be given more than once";

const SPEC: Spec = Spec {
    name: "runpod",
    short: "a:n:h:c:i:p:C:g:v:",
    long: &[
        Long::value("args"),
        Long::value("name"),
        Long::value("host"),
        Long::value("cmd"),
        Long::value("id"),
        Long::value("port"),
        Long::value("capa"),
        Long::value("cgroups"),
        Long::value("volume"),
    ],
    long_only: true,
};

/// The mail ports IndiMail images publish (local:container).
const MAIL_PORTS: &str = "-p 2025:25   -p 2106:106  -p 2110:110  -p 2143:143 \
-p 2209:209  -p 2366:366  -p 2465:465  -p 2587:587 \
-p 2628:628  -p 2993:993  -p 2995:995  -p 3110:4110 \
-p 3143:4143 -p 5110:9110 -p 5143:9143 -p 8080:80 -p 8081:443";

const AUTO_CAPS: &str = "--cap-add SYS_PTRACE --cap-add SYS_ADMIN \
--cap-add IPC_LOCK   --cap-add SYS_RESOURCE --cap-add SYS_NICE ";

const DEFAULT_CAPS: &str = "--cap-add SYS_PTRACE --cap-add SYS_ADMIN \
--cap-add IPC_LOCK   --cap-add SYS_RESOURCE \
--cap-add=NET_ADMIN  --cap-add=CAP_NET_RAW \
--cap-add=SYS_NICE ";

/// The pieces of the command line, kept as the strings the reference builds (its echo
/// lines print them as they are).
#[derive(Default)]
struct Run {
    command: String,
    name: String,
    detached: bool,
    ports: String,
    host: String,
    volumes: String,
    caps: String,
    extra: String,
    cgroup: String,
    init: String,
    image: String,
}

/// Stop with a message (or none) and the usage text; exit 1.
fn usage(msg: Option<String>) -> Failure {
    let mut text = String::new();
    if let Some(m) = msg {
        text.push_str(&m);
        text.push('\n');
    }
    text.push_str(USAGE);
    indicore::diag::emit(format_args!("{text}\n"));
    Failure::Silent(1)
}

pub fn run(args: &[OsString]) -> Result<i32, Failure> {
    let parsed = SPEC.parse(args);
    if !parsed.errors.is_empty() {
        for e in &parsed.errors {
            indicore::diag::emit(format_args!("{e}\n"));
        }
        return Err(usage(None));
    }
    let mut r = Run {
        command: "podman".into(),
        name: "test".into(),
        ..Run::default()
    };
    for opt in &parsed.options {
        let (key, value) = match opt {
            Found::Short(c, v) => (*c, v),
            Found::Long(name, v) => (long_key(name), v),
        };
        let v = value
            .as_deref()
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        match key {
            b'a' => {
                if v.contains("-d") {
                    r.detached = true;
                }
                r.extra = format!("{} {v}", r.extra);
            }
            b'n' => r.name = v,
            b'h' => r.host = format!("-h {v}"),
            b'c' => {
                if v != "podman" && v != "docker" {
                    return Err(usage(Some("command should be podman or docker".into())));
                }
                r.command = v;
            }
            b'i' => r.image = v,
            b'p' => r.ports.push_str(&format!("-p {v} ")),
            b'C' if v == "auto" => r.caps.push_str(AUTO_CAPS),
            b'C' => r.caps.push_str(&format!("--cap-add {v} ")),
            b'g' if v == "auto" => r.cgroup = "-v /sys/fs/cgroup:/sys/fs/cgroup:rw".into(),
            b'g' => r.cgroup = v,
            b'v' => add_volume(&mut r, &v)?,
            _ => return Err(usage(None)),
        }
    }
    if r.image.is_empty() {
        return Err(usage(None));
    }
    let mut prog: Vec<String> = parsed
        .operands
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    defaults(&mut r, prog.is_empty());
    if prog.first().map(String::as_str) == Some("auto") {
        prog.remove(0);
        if r.init.is_empty() {
            r.init = init_of(&r).into();
        }
    }
    if !r.init.is_empty() {
        prog.insert(0, r.init.clone());
    }
    print_command(&mut r, &prog);
    let mut argv: Vec<String> = vec!["run".into()];
    for part in [&r.cgroup, &r.extra] {
        argv.extend(words(part));
    }
    argv.extend(["--publish-all", "--name", &r.name, "--device", "/dev/fuse"].map(String::from));
    for part in [&r.host, &r.caps, &r.ports, &r.volumes] {
        argv.extend(words(part));
    }
    argv.push(r.image.clone());
    argv.extend(prog.iter().flat_map(|p| words(p)));
    let _ = std::io::stdout().flush();
    let status = engine(&r.command, &argv)?;
    if status == 0 {
        if r.detached {
            return engine(
                &r.command,
                &["exec", "-ti", &r.name, "bash"].map(String::from),
            );
        }
        return Ok(0);
    }
    indicore::diag::emit(format_args!("Removing container id {}\n", r.name));
    let _ = Command::new(&r.command)
        .args(["rm", &r.name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    Ok(status)
}

fn long_key(name: &str) -> u8 {
    match name {
        "capa" => b'C',
        "cgroups" => b'g',
        other => other.as_bytes()[0],
    }
}

/// Words of a string the way the script's unquoted expansion splits them.
fn words(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(String::from).collect()
}

/// `-v dir:mount_point`: a directory (absolute) or a named volume, and an absolute
/// mount point.
fn add_volume(r: &mut Run, v: &str) -> Result<(), Failure> {
    let fields: Vec<&str> = v.split(':').collect();
    let count = fields
        .iter()
        .take(3)
        .map(|f| f.split_ascii_whitespace().count())
        .sum::<usize>();
    if count != 2 {
        indicore::diag::emit(format_args!(
            "volume should be of the form \"dir:mount_point\"\n"
        ));
        return Err(Failure::Silent(1));
    }
    let (dir, mount) = (fields[0], fields.get(1).copied().unwrap_or(""));
    if dir.starts_with('/') {
        if !Path::new(dir).is_dir() {
            return Err(usage(Some(format!("{dir}: No such directory"))));
        }
    } else {
        let known = Command::new(&r.command)
            .args(["volume", "inspect", dir])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !known {
            indicore::diag::emit(format_args!("{dir}: No such volume\nList of volumes are\n"));
            let _ = Command::new(&r.command)
                .args(["volume", "ls"])
                .stdout(Stdio::from(std::io::stderr()))
                .status();
            return Err(usage(None));
        }
    }
    if !mount.starts_with('/') {
        return Err(usage(Some(format!("{mount} should be a valid path"))));
    }
    r.volumes.push_str(&format!("-v {v} "));
    Ok(())
}

/// What the IndiMail image names get when nothing was given.
fn defaults(r: &mut Run, no_prog: bool) {
    let name = r.name.as_str();
    if matches!(
        name,
        "indimail" | "indimail-mta" | "webmail" | "devel" | "svscan" | "test" | "mail"
    ) {
        if r.ports.is_empty() && matches!(name, "indimail" | "indimail-mta" | "webmail") {
            r.ports = MAIL_PORTS.into();
        }
        if r.caps.is_empty() {
            r.caps = DEFAULT_CAPS.into();
        } else if !r.caps.contains("SYS_ADMIN") {
            r.caps.push_str("--cap-add SYS_ADMIN ");
        }
        if r.host.is_empty() {
            r.host = "-h indimail.org".into();
        }
        if r.volumes.is_empty() {
            let home = format!("/home/{}", r.command);
            if Path::new(&format!("{home}/queue")).is_dir() {
                r.volumes.push_str(&format!("-v {home}/queue:/var/queue "));
            }
            if Path::new(&format!("{home}/mail")).is_dir() {
                r.volumes.push_str(&format!("-v {home}/mail:/home/mail "));
            }
            if name == "devel" && Path::new("/usr/local/src").is_dir() {
                r.volumes.push_str("-v /usr/local/src:/usr/local/src ");
            }
        }
        if name == "devel" || name == "test" {
            if no_prog {
                r.init = "bash".into();
                r.extra = format!("{} -ti --rm", r.extra);
            }
        } else if name == "svscan" {
            r.extra = format!("{} -ti", r.extra);
        }
        if r.extra.is_empty() {
            r.detached = true;
            r.extra = "-d".into();
        }
    }
}

/// The init of an image, from its tag in `CMD images`.
fn init_of(r: &Run) -> &'static str {
    let listing = Command::new(&r.command)
        .arg("images")
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let tag = listing
        .lines()
        .find(|l| l.contains(&r.image))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| tag.starts_with(p));
    if starts(&["xenial", "debian", "focal", "bionic", "archlinux", "ubi"]) {
        "/lib/systemd/systemd"
    } else if starts(&["alpine", "gentoo"]) {
        "/sbin/init"
    } else {
        "/usr/lib/systemd/systemd"
    }
}

/// The reference's lines describing the command.
fn print_command(r: &mut Run, prog: &[String]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} run {} {}", r.command, r.cgroup, r.extra);
    let _ = writeln!(out, "  --publish-all --name {}", r.name);
    let _ = writeln!(out, "  --device /dev/fuse");
    if !r.host.is_empty() {
        let _ = writeln!(out, "  {}", r.host);
    }
    if !r.caps.is_empty() {
        if r.extra.contains("--privileged") {
            r.caps.clear();
        } else {
            let _ = writeln!(out, "  {}", r.caps);
        }
    }
    if !r.ports.is_empty() {
        let _ = writeln!(out, "  {}", r.ports);
    }
    if !r.volumes.is_empty() {
        let _ = writeln!(out, "  {}", r.volumes);
    }
    let mut shown = prog.join(" ");
    if !r.init.is_empty() && prog.len() == 1 {
        shown.push(' ');
    }
    let _ = writeln!(out, "  {} {shown}", r.image);
}

/// Run the engine with `argv`; its exit status.
fn engine(command: &str, argv: &[String]) -> Result<i32, Failure> {
    match Command::new(command).args(argv).status() {
        Ok(s) => Ok(s.code().unwrap_or(indicore::EXIT_TEMP)),
        Err(e) => Err(Failure::Fatal {
            code: 127,
            msg: format!("unable to run {command}: {}", errstr(&e)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_like_the_shell() {
        assert_eq!(words(" -ti --rm"), vec!["-ti", "--rm"]);
        assert!(words("").is_empty());
    }

    #[test]
    fn defaults_by_name() {
        let mut r = Run {
            command: "podman".into(),
            name: "indimail".into(),
            ..Run::default()
        };
        defaults(&mut r, true);
        assert!(r.ports.starts_with("-p 2025:25 "));
        assert_eq!((r.extra.as_str(), r.detached), ("-d", true));
        assert_eq!(r.host, "-h indimail.org");
        let mut r = Run {
            command: "podman".into(),
            name: "test".into(),
            caps: "--cap-add NET_ADMIN ".into(),
            ..Run::default()
        };
        defaults(&mut r, true);
        assert_eq!(r.caps, "--cap-add NET_ADMIN --cap-add SYS_ADMIN ");
        assert_eq!((r.init.as_str(), r.extra.as_str()), ("bash", " -ti --rm"));
        let mut r = Run {
            name: "custom".into(),
            ..Run::default()
        };
        defaults(&mut r, true);
        assert!(r.extra.is_empty() && r.caps.is_empty() && !r.detached);
    }
}
