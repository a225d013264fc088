//! readproctitle needs the real argv memory, which std does not expose: capture
//! it the way glibc hands it to `.init_array` constructors.

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

static ARGC: AtomicUsize = AtomicUsize::new(0);
static ARGV: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn capture(
    argc: libc::c_int,
    argv: *mut *mut libc::c_char,
    _env: *mut *mut libc::c_char,
) {
    ARGC.store(argc.max(0) as usize, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn(libc::c_int, *mut *mut libc::c_char, *mut *mut libc::c_char) = capture;

fn main() {
    let (argc, argv) = (ARGC.load(Ordering::Relaxed), ARGV.load(Ordering::Relaxed));
    let last: &mut [u8] = if argc >= 2 && !argv.is_null() {
        // SAFETY: argv[argc-1] is a NUL-terminated string in this process's argument block,
        // which stays mapped and writable for the life of the process.
        unsafe {
            let p = *argv.add(argc - 1);
            std::slice::from_raw_parts_mut(p as *mut u8, libc::strlen(p))
        }
    } else {
        &mut []
    };
    let title = chainload::readproctitle::Title::new(last);
    chainload::readproctitle::PROG_NAME.finish(chainload::readproctitle::run(title))
}
