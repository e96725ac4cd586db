//! Picks the board (and so the memory map) from the compilation target, so
//! that one crate builds for both QEMU machines:
//!
//! | target                | QEMU machine  | core       | flash            | RAM               | clock  |
//! |-----------------------|---------------|------------|------------------|-------------------|--------|
//! | thumbv7em-none-eabihf | mps2-an386    | Cortex-M4  | 4 MiB at 0x0     | 4 MiB at 0x2000_0000 | 25 MHz |
//! | thumbv6m-none-eabi    | microbit      | Cortex-M0  | 256 KiB at 0x0   | 16 KiB at 0x2000_0000 | 16 MHz |
//!
//! It writes the matching `memory.x` (read by cortex-m-rt's `link.x`) into
//! OUT_DIR and sets `cfg(board = "...")` for the code.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    println!("cargo::rustc-check-cfg=cfg(board, values(\"mps2_an386\", \"microbit\"))");
    let (board, memory) = if target.starts_with("thumbv6m") {
        ("microbit", "memory-microbit.x")
    } else if target.starts_with("thumbv7em") {
        ("mps2_an386", "memory-mps2.x")
    } else {
        // Host `cargo check` or an unknown target: nothing to link.
        println!("cargo::rerun-if-changed=build.rs");
        return;
    };
    println!("cargo::rustc-cfg=board=\"{board}\"");
    fs::copy(memory, out.join("memory.x")).expect("copy memory.x");
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed={memory}");
    println!("cargo::rerun-if-changed=build.rs");
}
