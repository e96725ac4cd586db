//! What differs between the two QEMU machines, chosen by `build.rs` from the
//! compilation target.

/// Core clock that feeds SysTick (CLKSOURCE = processor clock).
#[cfg(board = "mps2_an386")]
pub const CORE_CLOCK_HZ: u32 = 25_000_000;
#[cfg(board = "microbit")]
pub const CORE_CLOCK_HZ: u32 = 16_000_000;

/// Name printed at boot.
#[cfg(board = "mps2_an386")]
pub const NAME: &str = "mps2-an386 (Cortex-M4, thumbv7em, native atomics)";
#[cfg(board = "microbit")]
pub const NAME: &str = "microbit (Cortex-M0, thumbv6m, critical-section atomics)";
