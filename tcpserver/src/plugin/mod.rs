//! In-process plugins (docs/ucspi-tcp.md#plugins, docs/decisions.md#u12): a program named by a path that
//! contains `/` and ends in `.so` is not exec'd but loaded into the connection's own
//! process, and its entry `int NAME(int argc, char **argv, char **envp)` is called,
//! NAME being the file's basename without its extension.
//!
//! * [`preload`] runs in the server after the privilege drop: every `PLUGINn=path` in
//!   its environment is loaded (in a namespace of its own with `USE_DLMOPEN`), its
//!   `PLUGINn_dir` becomes the working directory, its `PLUGINn_init` is called with 0.
//!   Connection processes are forks of the server, so whatever init set up is theirs
//!   at no cost. [`reload`] calls every init again with 1 (SIGHUP).
//! * [`call::run`] is the program step of a connection: find or load the object,
//!   reset SIGHUP and SIGUSR1, call the entry, `_exit(0)` when it returns.
//! * [`entry`] turns a C entry's arguments into Rust ones, for plugins written in
//!   Rust (rblsmtpd.so is one).

pub mod call;
pub mod dl;
pub mod entry;

use crate::server::log::Log;
use dl::{Handle, Lmid, Space};
use indicore::exec::Env;
use indicore::{errstr, Failure};
use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::OnceLock;

/// Whether `prog` names a plugin: it holds a `/` and ends in `.so`.
pub fn is_plugin(prog: &OsStr) -> bool {
    let p = prog.as_bytes();
    p.contains(&b'/') && p.ends_with(b".so")
}

/// The entry symbol of the object at `path`: its basename up to the last `.`.
pub fn entry_name(path: &[u8]) -> &[u8] {
    let base = match path.iter().rposition(|&c| c == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    match base.iter().rposition(|&c| c == b'.') {
        Some(i) => &base[..i],
        None => base,
    }
}

/// An object the server loaded from `PLUGINn`.
#[derive(Debug)]
pub struct Preloaded {
    pub path: CString,
    /// n of `PLUGINn`.
    pub number: u64,
    pub handle: Handle,
    /// Its namespace, with `USE_DLMOPEN`.
    pub lmid: Option<Lmid>,
}

/// What the server loaded, inherited by every connection process.
#[derive(Debug, Default)]
pub struct Host {
    pub plugins: Vec<Preloaded>,
    /// `USE_DLMOPEN` was set: every plugin gets a namespace of its own.
    pub dlmopen: bool,
}

impl Host {
    /// The preloaded object named exactly `path`.
    pub fn find(&self, path: &[u8]) -> Option<&Preloaded> {
        self.plugins.iter().find(|p| p.path.as_bytes() == path)
    }

    /// `LMIDn=path` for each namespace, for the programs' environment.
    pub fn exports(&self) -> impl Iterator<Item = (OsString, OsString)> + '_ {
        self.plugins.iter().filter_map(|p| {
            let id = p.lmid?;
            Some((
                OsString::from(format!("LMID{id}")),
                OsString::from_vec(p.path.as_bytes().to_vec()),
            ))
        })
    }
}

static HOST: OnceLock<Host> = OnceLock::new();

/// The server's plugins; None in a process that is not a tcpserver (a Rust plugin
/// such as rblsmtpd.so has its own copy of this library, with nothing preloaded).
pub fn host() -> Option<&'static Host> {
    HOST.get()
}

/// `env` with the `LMIDn` variables of the server's namespaces added (borrowed as it
/// is when there are none).
pub fn with_exports(env: &Env) -> Cow<'_, Env> {
    match host() {
        Some(h) if h.exports().next().is_some() => {
            let mut env = env.clone();
            for (name, value) in h.exports() {
                env.set(name, value);
            }
            Cow::Owned(env)
        }
        _ => Cow::Borrowed(env),
    }
}

/// `PLUGINn` names n; `PLUGINn_init`, `PLUGINx` and `PLUGIN` do not.
fn plugin_number(name: &[u8]) -> Option<u64> {
    let digits = name.strip_prefix(b"PLUGIN")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // scan_uint: leading digits, as a number (PLUGIN007 reads PLUGIN7_init).
    Some(digits.iter().fold(0u64, |n, d| {
        n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
    }))
}

fn var(name: String) -> Option<OsString> {
    std::env::var_os(name)
}

/// `NAME.so`, as the link-map line names an object.
fn shown(path: &[u8]) -> String {
    format!("{}.so", String::from_utf8_lossy(entry_name(path)))
}

/// Change to `PLUGINn_dir`, if set.
fn enter_dir(number: u64) -> Result<(), String> {
    let Some(dir) = var(format!("PLUGIN{number}_dir")) else {
        return Ok(());
    };
    std::env::set_current_dir(&dir).map_err(|e| {
        format!(
            "chdir: {}: {}",
            String::from_utf8_lossy(dir.as_bytes()),
            errstr(&e)
        )
    })
}

/// Call `PLUGINn_init`, if set, with `arg`.
fn init(p: &Preloaded, arg: libc::c_int) -> Result<(), String> {
    let Some(name) = var(format!("PLUGIN{}_init", p.number)) else {
        return Ok(());
    };
    let shown = String::from_utf8_lossy(name.as_bytes()).into_owned();
    let cname = CString::new(name.into_vec()).map_err(|_| format!("dlsym: {shown}: bad name"))?;
    let f = dl::symbol(p.handle, &cname).map_err(|e| format!("dlsym: {shown}: {e}"))?;
    // SAFETY: the ABI says PLUGINn_init is `int init(int)`.
    let f: unsafe extern "C" fn(libc::c_int) -> libc::c_int = unsafe { std::mem::transmute(f) };
    // SAFETY: calling the plugin's own init, as documented.
    unsafe { f(arg) };
    Ok(())
}

/// Load one `PLUGINn=path` at startup.
fn load(number: u64, path: &OsStr, dlmopen: bool, log: &Log) -> Result<Preloaded, String> {
    let text = String::from_utf8_lossy(path.as_bytes()).into_owned();
    let cpath = CString::new(path.as_bytes().to_vec())
        .map_err(|_| format!("tcdlmopen: {text}: bad file name"))?;
    let space = if dlmopen { Space::New } else { Space::Caller };
    let handle =
        dl::open(space, &cpath, dl::LOAD).map_err(|e| format!("tcdlmopen: {text}: {e}"))?;
    let lmid = if dlmopen {
        let id = dl::namespace(handle).map_err(|e| format!("dlinfo: {text}: {e}"))?;
        log.at(
            1,
            format_args!("{}: link map ID: {id}", shown(path.as_bytes())),
        );
        Some(id)
    } else {
        None
    };
    Ok(Preloaded {
        path: cpath,
        number,
        handle,
        lmid,
    })
}

/// Startup (docs/ucspi-tcp.md#tcpserver-startup, step 7): load every `PLUGINn`, in environment order, each followed by
/// its `_dir` and its `_init(0)`. Any failure is fatal (111).
pub fn preload(log: &Log) -> Result<(), Failure> {
    let mut host = Host {
        plugins: Vec::new(),
        dlmopen: std::env::var_os("USE_DLMOPEN").is_some(),
    };
    let found: Vec<(u64, OsString)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((plugin_number(name.as_bytes())?, value)))
        .collect();
    for (number, path) in found {
        let p = load(number, &path, host.dlmopen, log).map_err(Failure::temp)?;
        enter_dir(number).map_err(Failure::temp)?;
        init(&p, 0).map_err(Failure::temp)?;
        host.plugins.push(p);
    }
    let _ = HOST.set(host);
    Ok(())
}

/// SIGHUP (docs/ucspi-tcp.md#tcpserver-signals): every plugin's `_dir` again and its `_init(1)`. The objects stay
/// loaded; a failure is a warning, the server goes on.
pub fn reload(log: &Log) {
    let Some(host) = host() else {
        return;
    };
    for p in &host.plugins {
        if let Err(e) = enter_dir(p.number).and_then(|()| init(p, 1)) {
            log.at(1, format_args!("warning: {e}"));
        }
    }
}

/// The C string of an OS string, or None when it holds a NUL.
fn c_string(s: &OsStr) -> Option<CString> {
    CString::new(s.as_bytes().to_vec()).ok()
}

/// `p`'s text, for messages.
fn text(p: &CStr) -> std::borrow::Cow<'_, str> {
    p.to_string_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_are_paths_ending_in_so() {
        assert!(is_plugin(OsStr::new(
            "/usr/lib/indimail/plugins/qmail_smtpd.so"
        )));
        assert!(is_plugin(OsStr::new("./x.so")));
        assert!(!is_plugin(OsStr::new("x.so")));
        assert!(!is_plugin(OsStr::new("/bin/cat")));
        assert!(!is_plugin(OsStr::new("/lib/libc.so.6")));
    }

    #[test]
    fn entry_is_the_basename_without_extension() {
        assert_eq!(
            entry_name(b"/usr/lib/indimail/plugins/qmail_smtpd.so"),
            b"qmail_smtpd"
        );
        assert_eq!(entry_name(b"rblsmtpd.so"), b"rblsmtpd");
        assert_eq!(entry_name(b"/a.b/c.d.so"), b"c.d");
        assert_eq!(entry_name(b"/a.b/c"), b"c");
        assert_eq!(shown(b"/x/hello.so"), "hello.so");
    }

    #[test]
    fn plugin_variables() {
        assert_eq!(plugin_number(b"PLUGIN0"), Some(0));
        assert_eq!(plugin_number(b"PLUGIN12"), Some(12));
        assert_eq!(plugin_number(b"PLUGIN007"), Some(7));
        assert_eq!(plugin_number(b"PLUGIN0_init"), None);
        assert_eq!(plugin_number(b"PLUGIN0_dir"), None);
        assert_eq!(plugin_number(b"PLUGINx"), None);
        assert_eq!(plugin_number(b"PLUGIN"), None);
        assert_eq!(plugin_number(b"XPLUGIN0"), None);
    }
}
