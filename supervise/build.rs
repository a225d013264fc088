//! supervise's build script: the workspace's (gcc's unwinder linked statically), and for a
//! release build on x86_64 Linux the code layout of `cold.ld`: what only a panic's backtrace
//! runs (std's DWARF reader, decompressor and demangler) is placed after all other code, so
//! the pages a resting supervise maps hold code it runs (README, "Memory at rest").

#[path = "../core/static_libgcc.rs"]
mod static_libgcc;

use std::path::PathBuf;

fn main() {
    static_libgcc::main();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cold.ld");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("PROFILE") != "release"
        || var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ARCH") != "x86_64"
    {
        return;
    }
    // Where the cold code goes: after the last section of the executable segment that a
    // running program touches. rustc links x86_64 glibc programs with its lld, whose
    // segment ends .init .fini .plt; other targets with the system's GNU ld, whose ends .fini.
    let glibc = var("CARGO_CFG_TARGET_ENV") == "gnu";
    let anchor = if glibc { ".plt" } else { ".fini" };
    let script = std::fs::read_to_string("cold.ld").expect("supervise/cold.ld");
    let out = PathBuf::from(var("OUT_DIR")).join("cold.ld");
    std::fs::write(&out, script.replace("@AFTER@", anchor)).expect("write cold.ld");
    println!(
        "cargo:rustc-link-arg-bin=supervise=-Wl,-T,{}",
        out.display()
    );
    if glibc {
        // Each segment starts a page: the relocated data and the writable data then fill
        // two pages and one instead of three and two.
        println!("cargo:rustc-link-arg-bin=supervise=-Wl,-z,separate-loadable-segments");
    }
}
