//! The local time (the C library's time zone rules, which rustix does not have) and the
//! interval timer.

use std::ffi::CStr;
use std::io;

/// A moment broken down in local time, as localtime(3) gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The year, in full (2026).
    pub year: i64,
    /// 1 to 12.
    pub month: i32,
    /// 1 to 31.
    pub mday: i32,
    pub hour: i32,
    pub min: i32,
    /// 0 to 60 (a leap second).
    pub sec: i32,
    /// Seconds east of UTC.
    pub gmtoff: i64,
}

/// `secs` since the epoch in local time (None outside what localtime can represent).
pub fn local(secs: i64) -> Option<LocalTime> {
    let t: libc::time_t = secs as _;
    // SAFETY: all-zero is a valid `tm`; localtime_r fills it or returns NULL.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to a time_t and a tm we own.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    Some(LocalTime {
        year: 1900 + i64::from(tm.tm_year),
        month: tm.tm_mon + 1,
        mday: tm.tm_mday,
        hour: tm.tm_hour,
        min: tm.tm_min,
        sec: tm.tm_sec,
        gmtoff: tm.tm_gmtoff as i64,
    })
}

/// setitimer(ITIMER_REAL): SIGALRM after `first` seconds, then every `every` seconds.
pub fn alarm_every(first: u64, every: u64) -> io::Result<()> {
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: every as _,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: first as _,
            tv_usec: 0,
        },
    };
    // SAFETY: setitimer with a valid itimerval; the old value is not wanted.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

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
        let t = super::local(0).unwrap();
        assert!(t.year == 1970 || t.year == 1969);
        assert!((1..=12).contains(&t.month) && (0..24).contains(&t.hour));
    }
}
