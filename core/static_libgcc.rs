//! Build script shared by every package that ships programs (`build = "../core/static_libgcc.rs"`).
//!
//! Release binaries link gcc's unwinder statically (libgcc_eh.a) instead of loading
//! libgcc_s.so at every exec: with panic=abort nothing unwinds, and the dynamic load was
//! the largest part of the start-up cost that a chain of run-script programs pays per link
//! (bench/: chain workload). Where the archive cannot be found the default link is kept,
//! and so it is for C libraries other than glibc (musl's target brings its own unwinder).

use std::path::PathBuf;
use std::process::Command;

pub fn main() {
    println!("cargo:rerun-if-changed=../core/static_libgcc.rs");
    if std::env::var("PROFILE").as_deref() != Ok("release")
        || std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu")
    {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let Some(dir) = path
        .parent()
        .filter(|_| path.is_absolute() && path.exists())
    else {
        return;
    };
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static=gcc_eh");
}
