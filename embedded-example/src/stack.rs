//! Stack high-water mark, for the 16 KiB of RAM of the microbit.
//!
//! cortex-m-rt's `paint-stack` feature fills the stack area (from
//! `_stack_end`, just past the statics, up to `_stack_start`, the top of RAM)
//! with `STACK_PAINT_VALUE` before `main`. The deepest the stack has reached
//! is where the paint stops being intact.

use core::ptr::addr_of;

use cortex_m_rt::STACK_PAINT_VALUE;

extern "C" {
    // Linker symbols from cortex-m-rt's link.x; only their addresses are used.
    static _stack_end: u32;
    static _stack_start: u32;
}

/// `(deepest use so far, stack area)` in bytes.
pub fn usage() -> (usize, usize) {
    // Only the symbols' addresses are taken (safe): nothing is read through them.
    let (lo, hi) = (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    );
    let mut p = lo;
    while p < hi {
        // SAFETY: `lo..hi` is the stack area of RAM that cortex-m-rt painted
        // (word-aligned: the linker script asserts it); the words below the
        // live stack belong to no Rust object, and a volatile read of a u32
        // is valid for any bit pattern.
        let w = unsafe { (p as *const u32).read_volatile() };
        if w != STACK_PAINT_VALUE {
            break;
        }
        p += 4;
    }
    (hi - p, hi - lo)
}
