//! The command line as the C entry point receives it.
//!
//! Programs define their own C `main` (see `program!`), so std's runtime never records argc
//! and argv: `std::env::args_os()` then works only where std reads them behind the runtime's
//! back (glibc Linux), and is empty on musl. Taking them from `main`'s own arguments works
//! with every C library.

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStringExt;

/// The `argc` strings of `argv`, copied. A null `argv`, a negative `argc` or a null entry
/// before `argc` ends the list there.
///
/// # Safety
/// `argv` is null or points to at least `argc` pointers, each null or a NUL-terminated
/// string (what the C runtime passes to `main`).
pub unsafe fn from_c(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let n = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    let mut args = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: i < argc, within the array the caller vouches for.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: a non-null entry is a NUL-terminated string (the caller's contract).
        let bytes = unsafe { CStr::from_ptr(p) }.to_bytes().to_vec();
        args.push(OsString::from_vec(bytes));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::ptr;

    fn call(strings: &[&[u8]], argc: c_int) -> Vec<OsString> {
        let owned: Vec<CString> = strings.iter().map(|s| CString::new(*s).unwrap()).collect();
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(ptr::null());
        // SAFETY: ptrs holds argc (or fewer, null-ended) valid strings.
        unsafe { from_c(argc, ptrs.as_ptr()) }
    }

    #[test]
    fn copies_every_argument_byte_for_byte() {
        let got = call(&[b"envdir", b"d", b"\xff\xfe not utf-8", b""], 4);
        let want: Vec<OsString> = [&b"envdir"[..], b"d", b"\xff\xfe not utf-8", b""]
            .iter()
            .map(|b| OsString::from_vec(b.to_vec()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn stops_at_argc_or_a_null_entry() {
        assert_eq!(call(&[b"a", b"b", b"c"], 2), ["a", "b"]);
        assert_eq!(call(&[b"a"], 5), ["a"]);
        assert!(call(&[b"a"], -1).is_empty());
        // SAFETY: a null argv is accepted.
        assert!(unsafe { from_c(3, ptr::null()) }.is_empty());
    }
}
