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
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct StdClock;

impl Clock for StdClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        let origin = ORIGIN.get_or_init(Instant::now);
        // Whole seconds and the milliseconds within: 64-bit arithmetic, not
        // the 128-bit `as_millis`.
        let d = origin.elapsed();
        d.as_secs()
            .saturating_mul(1_000)
            .saturating_add(d.subsec_millis() as u64)
    }
}

/// The wall clock, in milliseconds since the UNIX epoch (feature `std`):
/// for snapshots that travel between processes and machines, restored with
/// [`Breaker::restore_same_clock`](crate::Breaker::restore_same_clock) so the
/// downtime counts. It is not monotonic (NTP may step it back; the breaker
/// then counts elapsed time as zero, never shortening an open period), so
/// prefer [`StdClock`] for a breaker that lives in one process.
///
/// A system clock set before 1970 reads 0.
///
/// ```
/// use halfopen::{Clock, SystemClock};
/// assert!(SystemClock.now_ms() > 1_600_000_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}
