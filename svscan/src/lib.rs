//! svscan: start one `supervise` per service directory of a scan directory, pair each
//! service with its `log` service through a pipe that lives as long as svscan, keep the
//! supervisors running, and shut the tree down in order (docs/daemontools.md#svscan).
//!
//! The program is one thread around poll(2): signals arrive through a self-pipe
//! ([`signals`]) and file system events through inotify ([`watch`]), children are started
//! with posix_spawn ([`spawn`]), the table of services and the scan rules live in
//! [`scanner`], the SIGTERM sequence in [`shutdown`].
//! svscanboot is a shell script (`scripts/svscanboot`).

pub mod config;
pub mod log;
pub mod pidfile;
pub mod scanner;
pub mod shutdown;
pub mod signals;
pub mod spawn;
pub mod svscan;
pub mod watch;
