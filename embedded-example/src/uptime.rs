//! The firmware's clock: milliseconds since the last *cold* boot.
//!
//! It is embassy-time's `Instant` (milliseconds since this boot) plus a base
//! that a warm boot restores from the record kept in `.uninit` RAM
//! (src/persist.rs). That makes the clock continuous across a warm reset, as
//! a real board's RTC would be: a breaker snapshot restored after the reset
//! compares its `openedAt` with readings of the same clock. (Without the
//! base, the clock would restart at 0; the core then sees a clock that went
//! backwards and keeps a restored open breaker open longer, never shorter.)
//!
//! The base is written once, at boot, before any task runs; it is read as
//! two 32-bit halves with plain loads and stores (no 64-bit atomic: on a
//! 32-bit MCU that would be portable-atomic's fallback lock).

use core::sync::atomic::{AtomicU32, Ordering};

static BASE_LO: AtomicU32 = AtomicU32::new(0);
static BASE_HI: AtomicU32 = AtomicU32::new(0);

/// Sets the reading at this boot's time zero. Call it at boot, before the
/// executor starts.
pub fn set_base(ms: u64) {
    BASE_LO.store(ms as u32, Ordering::Relaxed);
    BASE_HI.store((ms >> 32) as u32, Ordering::Relaxed);
}

/// Milliseconds since the last cold boot.
pub fn now_ms() -> u64 {
    let base = u64::from(BASE_LO.load(Ordering::Relaxed))
        | (u64::from(BASE_HI.load(Ordering::Relaxed)) << 32);
    base + embassy_time::Instant::now().as_millis()
}

/// [`now_ms`] as a `halfopen::Clock`: the clock of the firmware's breakers.
#[derive(Clone, Copy, Default)]
pub struct Uptime;

impl halfopen::Clock for Uptime {
    #[inline]
    fn now_ms(&self) -> u64 {
        now_ms()
    }
}
