//! The program step for a plugin (docs/ucspi-tcp.md#plugins): in the connection's process,
//! find the object (the server's preloaded handle, else `LMIDn` from the environment,
//! else a fresh load), look up its entry, reset SIGHUP and SIGUSR1, and call it with
//! the command line and the connection's environment. When it returns, its value is
//! ignored and the process `_exit`s 0, as the reference does.

use super::dl::{self, Handle, Lmid, Space};
use super::{c_string, entry_name, host, shown, text};
use crate::server::log::Log;
use indicore::exec::Env;
use std::ffi::{CStr, CString, OsString};
use std::os::unix::ffi::OsStrExt;

/// `int NAME(int argc, char **argv, char **envp)`.
pub type Entry = unsafe extern "C" fn(
    libc::c_int,
    *mut *mut libc::c_char,
    *mut *mut libc::c_char,
) -> libc::c_int;

/// The entry at `p`.
fn as_entry(p: std::ptr::NonNull<std::ffi::c_void>) -> Entry {
    // SAFETY: the plugin ABI says the entry has this signature; it is only called.
    unsafe { std::mem::transmute::<std::ptr::NonNull<std::ffi::c_void>, Entry>(p) }
}

/// `tcpserver: fatal: ...` (the reference's loader says tcpserver wherever it runs,
/// rblsmtpd.so included), then exit 111.
fn fatal(log: &Log, why: std::fmt::Arguments<'_>) -> ! {
    log.at(1, format_args!("fatal: {why}"));
    // SAFETY: leave the connection's process.
    unsafe { libc::_exit(111) }
}

/// The namespace `LMIDn=path` names for `path` in `env`.
fn exported_namespace(env: &Env, path: &[u8]) -> Option<Lmid> {
    env.iter().find_map(|(name, value)| {
        let n = name.as_bytes().strip_prefix(b"LMID")?;
        if value.as_bytes() != path || n.is_empty() || !n.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(n).ok()?.parse().ok()
    })
}

/// The handle of `path`: the one the server loaded; with `USE_DLMOPEN` the namespace an
/// `LMIDn` names, else a new one (logged); without, the caller's namespace, where an
/// object loaded before is found again. The error is the whole fatal message.
fn open(path: &CStr, env: &Env, log: &Log) -> Result<Handle, String> {
    let bytes = path.to_bytes();
    let failed = |e: String| format!("tcdlmopen: {}: {e}", text(path));
    let dlmopen = match host() {
        Some(h) => {
            if let Some(p) = h.find(bytes) {
                return Ok(p.handle);
            }
            h.dlmopen
        }
        None => env.get("USE_DLMOPEN").is_some(),
    };
    if !dlmopen {
        return dl::open(Space::Caller, path, dl::LOAD).map_err(failed);
    }
    if let Some(id) = exported_namespace(env, bytes) {
        if let Ok(h) = dl::open(Space::Id(id), path, dl::FIND) {
            return Ok(h);
        }
    }
    let h = dl::open(Space::New, path, dl::LOAD).map_err(failed)?;
    let id = dl::namespace(h).map_err(|e| format!("dlinfo: {}: {e}", text(path)))?;
    log.at(1, format_args!("{}: link map ID: {id}", shown(bytes)));
    Ok(h)
}

/// NUL-terminated, writable copies of `items` and a NULL-terminated array of pointers
/// to them (C code may permute argv, as getopt does, or edit the strings).
struct CArray {
    _store: Vec<Vec<u8>>,
    ptrs: Vec<*mut libc::c_char>,
}

impl CArray {
    fn new(items: impl Iterator<Item = CString>) -> CArray {
        let mut store: Vec<Vec<u8>> = items.map(CString::into_bytes_with_nul).collect();
        let mut ptrs: Vec<*mut libc::c_char> =
            store.iter_mut().map(|s| s.as_mut_ptr().cast()).collect();
        ptrs.push(std::ptr::null_mut());
        CArray {
            _store: store,
            ptrs,
        }
    }
}

/// Signals as a program would have them after exec: SIGHUP and SIGUSR1 (the server's)
/// back to their defaults.
pub fn default_signals() {
    // SAFETY: sigaction with a zeroed struct and SIG_DFL.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for s in [libc::SIGHUP, libc::SIGUSR1] {
            libc::sigaction(s, &dfl, std::ptr::null_mut());
        }
    }
}

/// The program of a server whose `prog` is a plugin. When the server preloaded it,
/// the handle and the entry are found once, in the server, and every connection
/// process inherits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    pub argv: Vec<OsString>,
    ready: Option<(Handle, Entry)>,
}

impl Plugin {
    /// Call after [`super::preload`].
    pub fn new(argv: Vec<OsString>) -> Plugin {
        let ready = (|| {
            let path = c_string(argv.first()?)?;
            let p = host()?.find(path.to_bytes())?;
            let name = CString::new(entry_name(path.to_bytes())).ok()?;
            let entry = dl::symbol(p.handle, &name).ok()?;
            Some((p.handle, as_entry(entry)))
        })();
        Plugin { argv, ready }
    }

    /// The entry the server found once, when it preloaded the object.
    pub fn entry(&self) -> Option<Entry> {
        self.ready.map(|(_, entry)| entry)
    }

    /// Run it in this (connection) process with `env`; never returns.
    pub fn run(&self, env: &Env, log: &Log) -> ! {
        match self.ready {
            Some((_, entry)) => call(entry, &self.argv, env),
            None => run(&self.argv, env, log),
        }
    }
}

/// Run the plugin `argv[0]` with `argv` and `env` in this process; never returns.
pub fn run(argv: &[OsString], env: &Env, log: &Log) -> ! {
    let Some(path) = argv.first().and_then(|p| c_string(p)) else {
        fatal(log, format_args!("tcdlmopen: bad file name"));
    };
    let handle = match open(&path, env, log) {
        Ok(h) => h,
        Err(e) => fatal(log, format_args!("{e}")),
    };
    let name = entry_name(path.to_bytes());
    let shown_name = String::from_utf8_lossy(name);
    let entry = match CString::new(name.to_vec()).map(|n| dl::symbol(handle, &n)) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => fatal(log, format_args!("dlsym: {shown_name}: {e}")),
        Err(_) => fatal(log, format_args!("dlsym: {shown_name}: bad name")),
    };
    call(as_entry(entry), argv, env)
}

/// Call `entry` with `argv` and `env`, then `_exit(0)`.
fn call(entry: Entry, argv: &[OsString], env: &Env) -> ! {
    let mut args = CArray::new(argv.iter().filter_map(|a| c_string(a)));
    let mut envp = CArray::new(env.to_envp().into_iter());
    let argc = (args.ptrs.len() - 1) as libc::c_int;
    default_signals();
    // SAFETY: argv and envp are NULL-terminated arrays of NUL-terminated strings that
    // live until the process ends; what the plugin does is its own affair.
    unsafe {
        entry(argc, args.ptrs.as_mut_ptr(), envp.ptrs.as_mut_ptr());
        libc::_exit(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_from_the_environment() {
        let mut env = Env::empty();
        env.set("LMID1", "/p/a.so");
        env.set("LMID2", "/p/b.so");
        env.set("LMIDX", "/p/c.so");
        assert_eq!(exported_namespace(&env, b"/p/b.so"), Some(2));
        assert_eq!(exported_namespace(&env, b"/p/a.so"), Some(1));
        assert_eq!(exported_namespace(&env, b"/p/c.so"), None);
        assert_eq!(exported_namespace(&env, b"/p/d.so"), None);
    }

    #[test]
    fn c_arrays_end_in_null() {
        let a = CArray::new(["a", "bc"].iter().map(|s| CString::new(*s).unwrap()));
        assert_eq!(a.ptrs.len(), 3);
        assert!(a.ptrs[2].is_null());
        // SAFETY: the pointers point into a's own NUL-terminated strings.
        assert_eq!(unsafe { CStr::from_ptr(a.ptrs[1]) }.to_bytes(), b"bc");
    }
}
