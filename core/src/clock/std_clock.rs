extern crate std;

use std::sync::OnceLock;
use std::time::Instant;

use super::Clock;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// The monotonic `std::time::Instant` clock, in milliseconds since the first
/// time any `StdClock` was read in this process (feature `std`).
///
/// It is a zero-sized type, so a breaker on it costs no space for its clock.
///
/// ```
/// use halfopen::{Clock, StdClock};
/// let a = StdClock.now_ms();
/// let b = StdClock.now_ms();
/// assert!(b >= a);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StdClock;

impl Clock for StdClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        let origin = ORIGIN.get_or_init(Instant::now);
        u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
