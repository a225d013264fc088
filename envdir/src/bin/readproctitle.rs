//! readproctitle needs the real argv memory, which std does not expose: take it from the
//! C `main` itself.
#![cfg_attr(not(test), no_main)]

/// # Safety
/// Called by the C runtime with the process's own argc and argv.
#[cfg(not(test))]
#[no_mangle]
pub unsafe extern "C" fn main(
    argc: std::ffi::c_int,
    argv: *mut *mut std::ffi::c_char,
) -> std::ffi::c_int {
    let argc = argc.max(0) as usize;
    let last: &mut [u8] = if argc >= 2 && !argv.is_null() {
        // SAFETY: argv[argc-1] is a NUL-terminated string in this process's argument block,
        // which stays mapped and writable for the life of the process.
        unsafe {
            let p = *argv.add(argc - 1);
            let len = std::ffi::CStr::from_ptr(p).to_bytes().len();
            std::slice::from_raw_parts_mut(p as *mut u8, len)
        }
    } else {
        &mut []
    };
    let title = chainload::readproctitle::Title::new(last);
    chainload::readproctitle::PROG_NAME.finish(chainload::readproctitle::run(title))
}
