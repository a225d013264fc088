//! The local time as text (the C library's time zone rules, which rustix does not have).

use std::ffi::CStr;

/// The current local time formatted by strftime(3) with `format` (at most 127 bytes of
/// output; empty when it would be longer).
pub fn local_now(format: &CStr) -> String {
    // SAFETY: time, localtime_r and strftime with a zeroed tm and a buffer of the size given.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let mut buf = [0u8; 128];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_the_year() {
        let y = super::local_now(c"%Y");
        assert_eq!(y.len(), 4);
        assert!(y.bytes().all(|b| b.is_ascii_digit()));
    }
}
