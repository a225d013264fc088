//! Shared library of the daemontools / ucspi-tcp rewrite.
//!
//! Every program links this crate for the things the C originals took from
//! libqmail: djb-style diagnostics and exit codes, PATH search and
//! environment building, TAI64N labels, file and lock helpers with the
//! reference modes, the recursive envdir engine, getopt, and the GNU long-option parsing
//! of the reference's shell scripts.

pub mod argv;
pub mod diag;
pub mod envdir;
pub mod exec;
pub mod fd;
pub mod getopt;
pub mod getopt_long;
pub mod privs;
pub mod proxyproto;
pub mod pwgr;
pub mod scan;
pub mod spawn;
pub mod sys;
pub mod tai;
pub mod tcpmetrics;

pub use diag::{errstr, Failure, Prog, EXIT_TEMP, EXIT_USAGE};

/// Define a program's C `main` (use with `#![cfg_attr(not(test), no_main)]`): the program then starts as a C
/// program does, without std's runtime set-up. That set-up costs start-up time on every
/// exec of a chain, and it ignores SIGPIPE, which an exec'd child would inherit. The command
/// line comes from `main`'s own argc and argv (see `argv`), so it arrives with any C library.
#[macro_export]
macro_rules! program {
    ($prog:expr, $run:path) => {
        /// # Safety
        /// Called by the C runtime with the process's own argc and argv.
        // Under `cargo test` the harness supplies main.
        #[cfg(not(test))]
        #[no_mangle]
        pub unsafe extern "C" fn main(
            argc: ::std::ffi::c_int,
            argv: *const *const ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            // SAFETY: argc and argv are what the C runtime passed to main.
            $prog.main(unsafe { $crate::argv::from_c(argc, argv) }, $run)
        }
    };
}
