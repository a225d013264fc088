//! Plugins written in Rust: the C entry's arguments as Rust values, a way out that
//! never runs the host's exit handlers, and the entry of rblsmtpd.so.
//!
//! A Rust plugin is a `cdylib` whose entry, named after the file, is
//! `#[no_mangle] pub unsafe extern "C" fn NAME(argc: c_int, argv: *mut *mut c_char,
//! envp: *mut *mut c_char) -> c_int`; the examples call [`args`] and [`env`] first.

use crate::rblsmtpd::{self, Client, Next};
use indicore::exec::Env;
use indicore::{Failure, Prog, EXIT_USAGE};
use std::ffi::{CStr, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use ucspi::dns::Resolver;

/// The command line of an entry: `argc` strings, stopping early at a NULL.
///
/// # Safety
/// `argv` is NULL or points to at least `argc` pointers, each NULL or a NUL-terminated
/// string.
pub unsafe fn args(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<OsString> {
    let mut out = Vec::new();
    if argv.is_null() {
        return out;
    }
    for i in 0..argc.max(0) as usize {
        let p = *argv.add(i);
        if p.is_null() {
            break;
        }
        out.push(OsStr::from_bytes(CStr::from_ptr(p).to_bytes()).to_owned());
    }
    out
}

/// The environment of an entry: `NAME=value` strings up to a NULL; entries without
/// `=` are skipped.
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of NUL-terminated strings.
pub unsafe fn env(envp: *const *const libc::c_char) -> Env {
    let mut env = Env::empty();
    if envp.is_null() {
        return env;
    }
    let mut i = 0;
    loop {
        let p = *envp.add(i);
        if p.is_null() {
            return env;
        }
        let s = CStr::from_ptr(p).to_bytes();
        if let Some(eq) = s.iter().position(|&c| c == b'=') {
            env.set(OsStr::from_bytes(&s[..eq]), OsStr::from_bytes(&s[eq + 1..]));
        }
        i += 1;
    }
}

/// Leave the process with `code` at once: the host's exit handlers and stdio buffers
/// (copies of the server's) are not ours to run.
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process.
    unsafe { libc::_exit(code) }
}

/// Print what `failure` calls for as `prog` would, then [`exit`] with its code.
pub fn die(prog: Prog, failure: Failure) -> ! {
    let code = match failure {
        Failure::Usage(text) => {
            indicore::diag::emit(format_args!("{text}\n"));
            EXIT_USAGE
        }
        Failure::Fatal { code, msg } => {
            indicore::diag::emit(format_args!("{}: fatal: {msg}\n", prog.name()));
            code
        }
        Failure::Silent(code) => code,
    };
    exit(code)
}

/// rblsmtpd.so's entry (docs/ucspi-tcp.md#rblsmtpd): rblsmtpd on the connection (fds 0 and 1) with the
/// environment tcpserver built; a client it lets pass goes on to the next program, a
/// `.so` one in this same process.
pub fn rblsmtpd(args: &[OsString], env: &Env) -> ! {
    let client = Client {
        input: 0,
        output: 1,
    };
    match rblsmtpd::rblsmtpd(args, env, client, &Resolver::new()) {
        Ok(Next::Exit(code)) => exit(code),
        Ok(Next::Run(argv)) => die(rblsmtpd::PROG, rblsmtpd::hand_on(&argv, env)),
        Err(f) => die(rblsmtpd::PROG, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn c_arguments() {
        let a = [
            CString::new("/p/x.so").unwrap(),
            CString::new("-v").unwrap(),
        ];
        let mut ptrs: Vec<*const libc::c_char> = a.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        // SAFETY: two valid strings and a NULL.
        let v = unsafe { args(2, ptrs.as_ptr()) };
        assert_eq!(v, [OsString::from("/p/x.so"), OsString::from("-v")]);
        // SAFETY: as above; argc larger than the array stops at the NULL.
        assert_eq!(unsafe { args(5, ptrs.as_ptr()) }.len(), 2);
        // SAFETY: NULL is allowed.
        assert!(unsafe { args(1, std::ptr::null()) }.is_empty());

        let e = [
            CString::new("A=1").unwrap(),
            CString::new("junk").unwrap(),
            CString::new("B=x=y").unwrap(),
        ];
        let mut ptrs: Vec<*const libc::c_char> = e.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        // SAFETY: NULL-terminated array of valid strings.
        let env = unsafe { env(ptrs.as_ptr()) };
        assert_eq!(env.get("A"), Some(OsStr::new("1")));
        assert_eq!(env.get("B"), Some(OsStr::new("x=y")));
        assert_eq!(env.iter().count(), 2);
    }
}
