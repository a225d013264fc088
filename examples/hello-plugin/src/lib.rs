//! A tcpserver plugin written in Rust, with nothing but libc: the C ABI of
//! docs/ucspi-tcp.md#plugins as a `cdylib`.
//!
//! ```sh
//! cargo build --release -p hello-plugin
//! install -m 0755 target/release/libhello_rs.so /usr/lib/indimail/plugins/hello_rs.so
//! echo 'Welcome' > /etc/hello/greeting
//! env PLUGIN0=/usr/lib/indimail/plugins/hello_rs.so PLUGIN0_init=hello_rs_init \
//!     PLUGIN0_dir=/etc/hello tcpserver 0 7000 /usr/lib/indimail/plugins/hello_rs.so
//! ```
//!
//! The server calls `hello_rs_init(0)` once at startup, in `PLUGIN0_dir`: the greeting
//! file is read there, and every connection process (a fork of the server) has it
//! without reading anything. SIGHUP calls `hello_rs_init(1)`, which reads it again.
//! Per connection `hello_rs` greets the client by address and answers each line with
//! the line in capitals, until `quit` or end of input.

use std::ffi::CStr;
use std::io::{BufRead, BufReader, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// Read by init, used by every connection.
static GREETING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// The argument of the last init call (-1: none).
static GENERATION: AtomicI32 = AtomicI32::new(-1);

/// `PLUGINn_init`: 0 at startup, 1 on SIGHUP.
#[no_mangle]
pub extern "C" fn hello_rs_init(reload: c_int) -> c_int {
    let text = std::fs::read("greeting").unwrap_or_else(|_| b"hello".to_vec());
    let line = text
        .split(|&c| c == b'\n')
        .next()
        .unwrap_or_default()
        .to_vec();
    *GREETING.lock().unwrap_or_else(|e| e.into_inner()) = line;
    GENERATION.store(reload, Ordering::Relaxed);
    0
}

/// The value of `name` in the NULL-terminated `envp` (the connection's environment;
/// the process environment is the server's).
///
/// # Safety
/// `envp` is NULL or a NULL-terminated array of NUL-terminated strings.
unsafe fn lookup<'a>(envp: *const *const c_char, name: &[u8]) -> Option<&'a [u8]> {
    if envp.is_null() {
        return None;
    }
    let mut i = 0;
    loop {
        let p = *envp.add(i);
        if p.is_null() {
            return None;
        }
        let s = CStr::from_ptr(p).to_bytes();
        if s.len() > name.len() && s.starts_with(name) && s[name.len()] == b'=' {
            return Some(&s[name.len() + 1..]);
        }
        i += 1;
    }
}

/// The entry, named after the file (`hello_rs.so`).
///
/// # Safety
/// Called by tcpserver with argc strings in argv and a NULL-terminated envp.
#[no_mangle]
pub unsafe extern "C" fn hello_rs(
    _argc: c_int,
    _argv: *mut *mut c_char,
    envp: *mut *mut c_char,
) -> c_int {
    // fds 0 and 1 belong to tcpserver's connection: borrowed, never closed here.
    let mut out = ManuallyDrop::new(std::fs::File::from_raw_fd(1));
    let input = ManuallyDrop::new(std::fs::File::from_raw_fd(0));
    let ip = lookup(envp as *const *const c_char, b"TCPREMOTEIP").unwrap_or(b"unknown");
    let greeting = GREETING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let generation = GENERATION.load(Ordering::Relaxed);
    let mut reply = greeting;
    reply.extend_from_slice(b", ");
    reply.extend_from_slice(ip);
    reply.extend_from_slice(format!(" (generation {generation})\r\n").as_bytes());
    if out.write_all(&reply).is_err() {
        return 1;
    }
    let mut lines = BufReader::new(&*input);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => {}
        }
        let word: Vec<u8> = line
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if word.eq_ignore_ascii_case(b"quit") {
            let _ = out.write_all(b"bye\r\n");
            return 0;
        }
        if out.write_all(&line.to_ascii_uppercase()).is_err() {
            return 1;
        }
    }
}
