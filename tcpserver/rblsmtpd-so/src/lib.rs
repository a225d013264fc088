//! rblsmtpd.so (docs/ucspi-tcp.md#rblsmtpd): rblsmtpd as a tcpserver plugin. Installed as
//! `rblsmtpd.so`, so that its entry is `rblsmtpd`:
//!
//! ```sh
//! tcpserver ... /usr/lib/indimail/plugins/rblsmtpd.so -r zen.example.org \
//!     /usr/lib/indimail/plugins/qmail_smtpd.so
//! ```
//!
//! A refused client gets rblsmtpd's conversation and the process exits; a client that
//! may pass goes on to the rest of the command line in this same process: a `.so` is
//! loaded (in the namespace `LMIDn` names under `USE_DLMOPEN`, where the server
//! preloaded it) and called, anything else exec'd.

use std::os::raw::{c_char, c_int};

/// `int rblsmtpd(int argc, char **argv, char **envp)`; never returns.
///
/// # Safety
/// Called by a plugin host with argc strings in argv and a NULL-terminated envp.
#[no_mangle]
pub unsafe extern "C" fn rblsmtpd(
    argc: c_int,
    argv: *mut *mut c_char,
    envp: *mut *mut c_char,
) -> c_int {
    use tcpserver::plugin::entry;
    let args = entry::args(argc, argv as *const *const c_char);
    let env = entry::env(envp as *const *const c_char);
    entry::rblsmtpd(&args, &env)
}
