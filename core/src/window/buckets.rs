//! The time window of `timeWindow`: outcome counts per time bucket, for
//! the last `buckets` buckets.

use super::guard::{tag_of, Guard, TAG_MASK};
use super::{empty_meta, WindowStore};
use crate::policy::{window_trips, TimeWindow};
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};

/// One bucket of a time window.
#[derive(Debug)]
struct Bucket {
    successes: AtomicU32,
    failures: AtomicU32,
}

impl Bucket {
    const_fn! {
        fn new() -> Self {
            Self { successes: atomic_u32!(0), failures: atomic_u32!(0) }
        }
    }
    fn clear(&self) {
        self.successes.store(0, Relaxed);
        self.failures.store(0, Relaxed);
    }
}

const MAX_BUCKETS: usize = 64;
/// Bucket meta bit 14: `last` holds the index of the newest bucket.
const HAS_LAST: u32 = 1 << 14;

/// Outcomes per time bucket, for the last `buckets` buckets.
#[derive(Debug)]
#[doc(hidden)]
pub struct BucketWindow {
    guard: Guard,
    /// The index (`floor(now / bucket_ms)`) of the newest bucket, 64 bits.
    last_lo: AtomicU32,
    last_hi: AtomicU32,
    buckets: [Bucket; MAX_BUCKETS],
}

impl BucketWindow {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        // A `const` item is how an array of atomics is built in a `const fn`:
        // each element is a fresh copy, which is exactly what is wanted here.
        #[allow(clippy::declare_interior_mutable_const)]
        const B: Bucket = Bucket::new();
        Self {
            guard: Guard::new(),
            last_lo: atomic_u32!(0),
            last_hi: atomic_u32!(0),
            buckets: [B; MAX_BUCKETS],
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            guard: Guard::new(),
            last_lo: atomic_u32!(0),
            last_hi: atomic_u32!(0),
            buckets: core::array::from_fn(|_| Bucket::new()),
        }
    }

    fn last(&self) -> u64 {
        (self.last_hi.load(Relaxed) as u64) << 32 | self.last_lo.load(Relaxed) as u64
    }

    pub(crate) fn record(
        &self,
        p: &TimeWindow,
        epoch: u16,
        failed: bool,
        now: u64,
        current: &dyn Fn() -> Option<u16>,
    ) -> Option<u16> {
        let n = p.buckets as u64;
        let index = now / p.bucket_ms() as u64;
        self.guard
            .record(Some((epoch, failed)), current, &mut |meta, reset, s, f| {
                if reset {
                    *meta &= TAG_MASK;
                }
                let mut cur = index;
                if *meta & HAS_LAST == 0 {
                    for b in &self.buckets[..n as usize] {
                        b.clear();
                    }
                } else {
                    let last = self.last();
                    if cur > last {
                        // Clear the buckets that have fallen out of the window.
                        let stale = (cur - last).min(n);
                        for i in 0..stale {
                            self.buckets[((cur - i) % n) as usize].clear();
                        }
                    } else {
                        // A clock that went backwards records into the newest bucket.
                        cur = last;
                    }
                }
                *meta |= HAS_LAST;
                self.last_lo.store(cur as u32, Relaxed);
                self.last_hi.store((cur >> 32) as u32, Relaxed);
                let b = &self.buckets[(cur % n) as usize];
                let bs = b.successes.load(Relaxed).wrapping_add(s);
                b.successes.store(bs, Relaxed);
                if f == 0 {
                    return false;
                }
                let (mut fails, succ) = self.sum(n, cur, cur);
                let mut tripped = false;
                for _ in 0..f {
                    fails += 1;
                    b.failures
                        .store(b.failures.load(Relaxed).wrapping_add(1), Relaxed);
                    if window_trips(
                        fails,
                        fails + succ,
                        p.percent,
                        p.minimum_calls as u64,
                        p.failures as u64,
                    ) {
                        tripped = true;
                        break;
                    }
                }
                tripped
            })
    }

    /// `(failures, successes)` in the buckets of the window that ends at
    /// bucket `now_index`, of data whose newest bucket is `last`.
    fn sum(&self, n: u64, last: u64, now_index: u64) -> (u64, u64) {
        let mut f = 0u64;
        let mut s = 0u64;
        for i in 0..n {
            let Some(idx) = last.checked_sub(i) else {
                break;
            };
            if now_index >= n && idx <= now_index - n {
                break;
            }
            let b = &self.buckets[(idx % n) as usize];
            f += b.failures.load(Relaxed) as u64;
            s += b.successes.load(Relaxed) as u64;
        }
        (f, s)
    }

    /// `(failures, recorded)` in the window as it stands at `now`, if it
    /// belongs to `epoch`.
    pub(crate) fn totals(&self, p: &TimeWindow, epoch: u16, now: u64) -> (u64, u64) {
        let meta = self.guard.meta();
        if meta & TAG_MASK != tag_of(epoch) || meta & HAS_LAST == 0 {
            return (0, 0);
        }
        let last = self.last();
        let now_index = (now / p.bucket_ms() as u64).max(last);
        let (f, s) = self.sum(p.buckets as u64, last, now_index);
        (f, f + s)
    }
}

impl WindowStore for BucketWindow {
    #[cfg(not(loom))]
    const EMPTY: Self = Self::new();
    #[cfg(loom)]
    fn empty() -> Self {
        Self::new()
    }
    fn clear_for(&self, epoch: u16) {
        // Without `HAS_LAST` the first recorder clears the buckets it uses.
        self.guard.clear_for(epoch, || {});
    }
    fn buckets(&self) -> Option<&BucketWindow> {
        Some(self)
    }
    fn claim(&self) -> bool {
        self.guard.claim()
    }
    fn install(&self, epoch: u16, _: Option<(u64, u8, u8)>) {
        // A restored time window is empty: no `HAS_LAST`, so the first
        // recorder of `epoch` clears the buckets it uses.
        self.guard.release_with(empty_meta(epoch));
    }
    fn unclaim(&self) {
        self.guard.release_with(self.guard.meta());
    }
}
