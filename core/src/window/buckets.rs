//! The time window of `timeWindow`: outcome counts per time bucket, for
//! the last `buckets` buckets.
//!
//! A success in the newest bucket, the steady state, takes no owner bit: it
//! adds one to a *pending* count with one compare-and-swap, and the owner
//! (a failure, or the first outcome of a newer bucket) later adds the pending
//! successes to the bucket they belong to. Every other change (moving the
//! window to a newer bucket, a failure and its rule, a new epoch) is made by
//! the window's owner, as in the parent module.
//!
//! - The window's metadata carries a 16-bit *generation*, which the owner
//!   advances whenever the newest bucket changes (the window moves, or a new
//!   epoch starts it afresh). Each pending count is `generation << 16 |
//!   count`: a recorder adds only to a pending count of the generation it
//!   read with the newest bucket, so a success never lands in a bucket or an
//!   epoch it did not see. Moving the window swaps every pending count to
//!   the new generation first (and adds what it held to the bucket it was
//!   counted for), then publishes the new newest bucket (`Release`): a
//!   recorder that reads the new bucket index (`Acquire`) finds its
//!   generation retired and goes the owner's way. A success that lands just
//!   before the swap is counted in the bucket that was newest when it
//!   landed, which is where the sequential rule puts it.
//! - A pending count saturates at 65 535 successes; the recorder that finds it
//!   full goes the owner's way, which empties it into its bucket.
//! - Whether a reading falls in the newest bucket is one multiplication and
//!   compare against the newest bucket's end, not a 64-bit division; a
//!   reading behind it records into it (the window never moves backwards).
//! - On targets with 64-bit pointers (hosts, with caches) the pending count
//!   is spread over 4 blocks of 128 bytes, a recorder picking one by its
//!   stack address (threads run on different stacks), so that two threads
//!   recording successes do not pass one cache line back and forth; the
//!   owner sums them. 128, not 64: x86 cores fetch lines in aligned pairs,
//!   and two threads on neighbouring 64-byte lines measured 3 to 9 times
//!   slower than on separate pairs. That is 512 bytes a time window on a
//!   host. On 32-bit targets (microcontrollers have no data cache to share)
//!   there is one pending word: 4 bytes.
//!
//! A recorder that reads a generation and is held up while the window moves
//! 65 536 times could find its generation current again (the same bound as
//! the tags elsewhere: a wrap during one call).

use super::guard::{tag_of, Guard, TAG_MASK};
use super::{empty_meta, WindowStore};
use crate::policy::{window_trips, TimeWindow};
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};

/// One bucket of a time window, changed only by the window's owner.
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

/// Successes of the newest bucket not yet added to it:
/// `generation << 16 | count`. On 64-bit targets, one per 128 bytes.
#[derive(Debug)]
#[cfg_attr(target_pointer_width = "64", repr(align(128)))]
struct Pending(AtomicU32);

impl Pending {
    const_fn! {
        fn new() -> Self {
            Self(atomic_u32!(0))
        }
    }
}

#[cfg(all(target_pointer_width = "64", not(loom)))]
const STRIPES: usize = 4;
#[cfg(loom)]
const STRIPES: usize = 2;
#[cfg(all(not(target_pointer_width = "64"), not(loom)))]
const STRIPES: usize = 1;

/// The pending count a recorder adds to: one per thread stack, as well as
/// addresses tell (any choice is correct; a good one avoids sharing).
#[cfg(not(loom))]
#[inline(always)]
// One stripe on 32-bit targets: the early return makes the `% 1` unreachable.
#[allow(clippy::modulo_one)]
fn stripe(_now: u64) -> usize {
    if STRIPES == 1 {
        return 0;
    }
    let probe = 0u8;
    let at = core::ptr::addr_of!(probe) as usize >> 20;
    (at ^ at >> 3 ^ at >> 6) % STRIPES
}

/// Under loom, by the reading: a model must be deterministic (stack
/// addresses are not), and its threads read different clocks.
#[cfg(loom)]
fn stripe(now: u64) -> usize {
    now as usize % STRIPES
}

const MAX_BUCKETS: usize = 64;
/// Bucket meta bit 14: `last` holds the index of the newest bucket.
const HAS_LAST: u32 = 1 << 14;
/// Bucket meta bits 15..31: the generation (see the module docs).
const GEN_SHIFT: u32 = 15;
const GEN_MASK: u32 = 0xFFFF << GEN_SHIFT;
const COUNT_MASK: u32 = 0xFFFF;

#[inline(always)]
const fn generation(meta: u32) -> u32 {
    (meta & GEN_MASK) >> GEN_SHIFT
}

/// Outcomes per time bucket, for the last `buckets` buckets.
#[derive(Debug)]
#[doc(hidden)]
pub struct BucketWindow {
    guard: Guard,
    /// The index (`floor(now / bucket_ms)`) of the newest bucket, 64 bits.
    last_lo: AtomicU32,
    last_hi: AtomicU32,
    pending: [Pending; STRIPES],
    buckets: [Bucket; MAX_BUCKETS],
}

impl BucketWindow {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        // A `const` item is how an array of atomics is built in a `const fn`:
        // each element is a fresh copy, which is exactly what is wanted here.
        #[allow(clippy::declare_interior_mutable_const)]
        const B: Bucket = Bucket::new();
        #[allow(clippy::declare_interior_mutable_const)]
        const P: Pending = Pending::new();
        Self {
            guard: Guard::new(),
            last_lo: atomic_u32!(0),
            last_hi: atomic_u32!(0),
            pending: [P; STRIPES],
            buckets: [B; MAX_BUCKETS],
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            guard: Guard::new(),
            last_lo: atomic_u32!(0),
            last_hi: atomic_u32!(0),
            pending: core::array::from_fn(|_| Pending::new()),
            buckets: core::array::from_fn(|_| Bucket::new()),
        }
    }

    #[inline(always)]
    fn last(&self) -> u64 {
        (self.last_hi.load(Acquire) as u64) << 32 | self.last_lo.load(Acquire) as u64
    }

    /// Records a success of closed epoch `epoch` at bucket reading `now`
    /// without the owner bit, if the window belongs to `epoch` and `now`
    /// falls in (or behind) its newest bucket: one compare-and-swap on a
    /// pending count. `false`: nothing was recorded, take the owner's way.
    #[inline(always)]
    pub(crate) fn try_success(&self, p: &TimeWindow, epoch: u16, now: u64) -> bool {
        let meta = self.guard.word.load(Acquire);
        if meta & (HAS_LAST | TAG_MASK) != HAS_LAST | tag_of(epoch) {
            return false;
        }
        let end = self
            .last()
            .wrapping_add(1)
            .saturating_mul(p.bucket_ms() as u64);
        if now >= end {
            return false;
        }
        let stamp = generation(meta) << 16;
        let pending = &self.pending[stripe(now)].0;
        let mut v = pending.load(Relaxed);
        loop {
            if v & !COUNT_MASK != stamp || v & COUNT_MASK == COUNT_MASK {
                return false;
            }
            match pending.compare_exchange_weak(v, v + 1, Relaxed, Relaxed) {
                Ok(_) => return true,
                Err(x) => v = x,
            }
        }
    }

    /// Sets every pending count to generation `to`, empty; returns the
    /// successes they held for generation `from`.
    fn take_pending(&self, from: u32, to: u32) -> u32 {
        let mut moved = 0u32;
        for p in &self.pending {
            let v = p.0.swap(to << 16, Relaxed);
            if v >> 16 == from {
                moved = moved.wrapping_add(v & COUNT_MASK);
            }
        }
        moved
    }

    pub(crate) fn record(
        &self,
        p: &TimeWindow,
        epoch: u16,
        failed: bool,
        now: u64,
        current: &dyn Fn() -> Option<u16>,
    ) -> Option<u16> {
        // Validation keeps both in range; the clamps say so to the compiler,
        // which then leaves out the panics of a division by zero and of an
        // index out of bounds.
        let n = (p.buckets as u64).clamp(1, MAX_BUCKETS as u64);
        let index = now / p.bucket_ms().max(1) as u64;
        self.guard
            .record(Some((epoch, failed)), current, &mut |meta, reset, s, f| {
                if reset {
                    // An earlier epoch's window: start afresh, keeping the
                    // generation counting.
                    *meta &= TAG_MASK | GEN_MASK;
                }
                let g = generation(*meta);
                let mut cur = index;
                let fresh = *meta & HAS_LAST == 0;
                let last = if fresh { 0 } else { self.last() };
                if fresh || cur > last {
                    // The newest bucket changes: retire its generation first.
                    let next = g.wrapping_add(1) & COUNT_MASK;
                    let moved = self.take_pending(g, next);
                    if fresh {
                        // The pending successes were an earlier epoch's.
                        for b in &self.buckets[..n as usize] {
                            b.clear();
                        }
                    } else {
                        let b = &self.buckets[(last % n) as usize];
                        b.successes
                            .store(b.successes.load(Relaxed).wrapping_add(moved), Relaxed);
                        // Clear the buckets that have fallen out of the window.
                        let stale = (cur - last).min(n);
                        for i in 0..stale {
                            self.buckets[((cur - i) % n) as usize].clear();
                        }
                    }
                    // After the swap: a recorder that reads this index finds
                    // its generation retired.
                    self.last_lo.store(cur as u32, Release);
                    self.last_hi.store((cur >> 32) as u32, Release);
                    *meta = (*meta & !GEN_MASK) | next << GEN_SHIFT | HAS_LAST;
                } else {
                    // A clock that went backwards records into the newest bucket.
                    cur = last;
                    let moved = self.take_pending(g, g);
                    let b = &self.buckets[(cur % n) as usize];
                    b.successes
                        .store(b.successes.load(Relaxed).wrapping_add(moved), Relaxed);
                }
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
        let n = n.clamp(1, MAX_BUCKETS as u64);
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
        let n = (p.buckets as u64).clamp(1, MAX_BUCKETS as u64);
        let now_index = (now / p.bucket_ms().max(1) as u64).max(last);
        let (f, mut s) = self.sum(n, last, now_index);
        if now_index - last < n {
            // The newest bucket is in the window: its pending successes too.
            let g = generation(meta);
            for p in &self.pending {
                let v = p.0.load(Relaxed);
                if v >> 16 == g {
                    s += (v & COUNT_MASK) as u64;
                }
            }
        }
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
        self.guard.clear_for(epoch, |meta| meta & GEN_MASK);
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
        self.guard
            .release_with(empty_meta(epoch) | (self.guard.meta() & GEN_MASK));
    }
    fn unclaim(&self) {
        self.guard.release_with(self.guard.meta());
    }
}
