//! The packaging tools both daemontools and ucspi-tcp install: `installer` (also installed
//! as `uinstaller`) creates or checks directories, files, links, FIFOs and devices from a
//! permission list on standard input; `instcheck` runs it over a package's lists in
//! `perms.d`.
//!
//! * [`list`]: one line of a permission list, parsed as the reference parses it;
//! * [`installer`]: what each line does in install, check, fix and uninstall modes;
//! * [`instcheck`]: the per-package driver.

pub mod installer;
pub mod instcheck;
pub mod list;
