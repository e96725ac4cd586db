//! Outcome windows for the rate policies, on 32-bit atomics, lock-free for
//! every caller.
//!
//! A window is several words (a 64-bit ring, or 64 buckets and a 64-bit
//! bucket index) that must change together. Rather than a lock that a caller
//! could wait on (an interrupt handler waiting on the thread it interrupted
//! would wait forever), a window has an *owner bit* and a *backlog*:
//!
//! - a caller that takes the owner bit applies its outcome, drains the
//!   backlog, evaluates the trip rule and releases the bit;
//! - a caller that finds the bit taken adds its outcome to the backlog (two
//!   counters, successes and failures, tagged with the epoch) and returns at
//!   once; then it tries the bit once more, so that nothing is stranded if the
//!   owner released in between. The owner, after releasing, looks at the
//!   backlog again and takes the bit back if it is not empty.
//!
//! Nobody ever waits. Single-threaded, every outcome is applied in order, so
//! a window behaves exactly like the sequential model of BEHAVIOR.md; under
//! contention, outcomes that raced are applied in a batch (successes, then
//! failures, the rule checked after each failure).
//!
//! Every window belongs to one closed epoch (the window's tag is the whole
//! 14-bit epoch; the backlog, drained within moments, carries its low 8 bits).
//! A window whose tag is not the current closed epoch's is empty:
//! entering `closed` clears the windows without touching them. Outcomes of an
//! earlier epoch are never applied.

use crate::policy::{rate_trips, FailureRate, TimeWindow};
use crate::sync::{atomic_u32, const_fn, fence, AtomicU32, Ordering::*};

const OWNED: u32 = 1 << 31;
/// The window's tag: the whole epoch.
const TAG_MASK: u32 = 0x3FFF;
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u32 = (1 << COUNT_BITS) - 1;

/// The window's tag for `epoch`.
#[inline(always)]
const fn tag_of(epoch: u16) -> u32 {
    epoch as u32 & TAG_MASK
}

/// The backlog's tag for `epoch`.
#[inline(always)]
const fn backlog_tag(epoch: u16) -> u32 {
    epoch as u32 & 0xFF
}

/// The owner bit, the window's own metadata (tag and layout-specific bits)
/// and the backlog.
#[derive(Debug)]
pub(crate) struct Guard {
    /// `OWNED | meta`; meta bits 0..14 are the tag.
    word: AtomicU32,
    /// Backlog: `tag << 24 | count`.
    successes: AtomicU32,
    failures: AtomicU32,
}

impl Guard {
    const_fn! {
        pub(crate) fn new() -> Self {
            Self { word: atomic_u32!(0), successes: atomic_u32!(0), failures: atomic_u32!(0) }
        }
    }

    fn try_own(&self) -> Option<u32> {
        let mut w = self.word.load(Relaxed);
        loop {
            if w & OWNED != 0 {
                return None;
            }
            match self
                .word
                .compare_exchange_weak(w, w | OWNED, Acquire, Relaxed)
            {
                Ok(_) => return Some(w),
                Err(x) => w = x,
            }
        }
    }

    fn deposit(&self, epoch: u16, failed: bool, current: &dyn Fn() -> Option<u16>) {
        let word = if failed {
            &self.failures
        } else {
            &self.successes
        };
        let tag = backlog_tag(epoch);
        let mut b = word.load(Relaxed);
        loop {
            let next = if b >> COUNT_BITS == tag {
                // 16 million outcomes behind one owner: the count saturates.
                if b & COUNT_MASK == COUNT_MASK {
                    return;
                }
                b + 1
            } else if current() == Some(epoch) {
                // The backlog holds an earlier epoch's outcomes: stale, replace.
                tag << COUNT_BITS | 1
            } else {
                // This outcome is the stale one.
                return;
            };
            match word.compare_exchange_weak(b, next, Release, Relaxed) {
                Ok(_) => return,
                Err(x) => b = x,
            }
        }
    }

    /// Whether the backlog holds outcomes. The fence pairs with the one a
    /// depositor runs between its deposit and its `try_own`: of an owner that
    /// releases and then looks at the backlog, and a depositor that deposits
    /// and then looks at the owner bit, at least one sees the other's write
    /// (without them both may miss, and an outcome would wait in the backlog
    /// for the next recorder).
    fn backlog_pending(&self) -> bool {
        fence(SeqCst);
        self.successes.load(Relaxed) & COUNT_MASK != 0
            || self.failures.load(Relaxed) & COUNT_MASK != 0
    }

    /// Records one outcome of `epoch`. `current` gives the current epoch if
    /// the breaker is closed. `apply(meta, reset, successes, failures)` applies
    /// a batch to the window data (`reset`: clear it first, it belonged to an
    /// earlier epoch) and says whether the trip rule fired. Returns the epoch
    /// to trip, if any.
    pub(crate) fn record(
        &self,
        own: Option<(u16, bool)>,
        current: &dyn Fn() -> Option<u16>,
        apply: &mut dyn FnMut(&mut u32, bool, u32, u32) -> bool,
    ) -> Option<u16> {
        let mut own = (own.map(|o| o.0), own.is_some_and(|o| o.1));
        let mut trip = None;
        loop {
            let Some(mut meta) = self.try_own() else {
                if let (Some(e), f) = own {
                    self.deposit(e, f, current);
                    own.0 = None;
                    fence(SeqCst); // see `backlog_pending`
                                   // The owner may have released before the deposit landed.
                    if let Some(m) = self.try_own() {
                        let t = self.drain(m, None, current, apply);
                        trip = t.or(trip);
                        if self.backlog_pending() {
                            continue;
                        }
                    }
                }
                return trip;
            };
            let t = self.drain_owned(&mut meta, own.0.take().map(|e| (e, own.1)), current, apply);
            trip = t.or(trip);
            self.word.store(meta & !OWNED, Release);
            if !self.backlog_pending() {
                return trip;
            }
        }
    }

    fn drain(
        &self,
        mut meta: u32,
        own: Option<(u16, bool)>,
        current: &dyn Fn() -> Option<u16>,
        apply: &mut dyn FnMut(&mut u32, bool, u32, u32) -> bool,
    ) -> Option<u16> {
        let t = self.drain_owned(&mut meta, own, current, apply);
        self.word.store(meta & !OWNED, Release);
        t
    }

    /// Applies `own` and the backlog while owning the window.
    fn drain_owned(
        &self,
        meta: &mut u32,
        own: Option<(u16, bool)>,
        current: &dyn Fn() -> Option<u16>,
        apply: &mut dyn FnMut(&mut u32, bool, u32, u32) -> bool,
    ) -> Option<u16> {
        // Usually empty: look before paying for a read-modify-write.
        let take = |w: &AtomicU32| {
            if w.load(Relaxed) == 0 {
                0
            } else {
                w.swap(0, Acquire)
            }
        };
        let b_s = take(&self.successes);
        let b_f = take(&self.failures);
        let cur = current()?;
        let tag = tag_of(cur);
        let reset = *meta & TAG_MASK != tag;
        if reset {
            *meta = (*meta & !TAG_MASK & OWNED) | tag;
        }
        let mut s = 0;
        let mut f = 0;
        if let Some((e, failed)) = own {
            if e == cur {
                if failed {
                    f += 1;
                } else {
                    s += 1;
                }
            }
        }
        if b_s >> COUNT_BITS == backlog_tag(cur) {
            s += b_s & COUNT_MASK;
        }
        if b_f >> COUNT_BITS == backlog_tag(cur) {
            f += b_f & COUNT_MASK;
        }
        if apply(meta, reset, s, f) {
            Some(cur)
        } else {
            None
        }
    }

    /// If the window can be owned now and its tag reads `epoch`: runs `clear`
    /// and re-tags it with the epoch before, with empty layout bits.
    fn clear_for(&self, epoch: u16, clear: impl FnOnce()) {
        if let Some(meta) = self.try_own() {
            if meta & TAG_MASK == tag_of(epoch) {
                clear();
                self.word.store(tag_of(epoch.wrapping_sub(1)), Release);
            } else {
                self.word.store(meta, Release);
            }
        }
    }

    /// Takes the owner bit for a restore, if nobody holds it; the backlog is
    /// emptied (outcomes of the breaker's previous life are stale).
    fn claim(&self) -> bool {
        if self.try_own().is_none() {
            return false;
        }
        self.successes.store(0, Relaxed);
        self.failures.store(0, Relaxed);
        true
    }

    /// Releases a [`claim`](Self::claim) with the window's new metadata.
    fn release_with(&self, meta: u32) {
        self.word.store(meta & !OWNED, Release);
    }

    /// The tag of the data currently in the window (racy read, for metrics).
    pub(crate) fn meta(&self) -> u32 {
        self.word.load(Acquire) & !OWNED
    }
}

/// The storage a policy adds to a breaker.
pub trait WindowStore: Sized {
    #[doc(hidden)]
    #[cfg(not(loom))]
    const EMPTY: Self;
    #[doc(hidden)]
    #[cfg(loom)]
    fn empty() -> Self;
    /// Called before a transition into closed epoch `epoch`: if the window's
    /// tag already reads `epoch` (the 14-bit epoch has wrapped on an idle
    /// breaker), empty it and tag it as older, so the new epoch starts empty.
    /// Outcomes of the new epoch cannot exist yet, so none is erased.
    #[doc(hidden)]
    fn clear_for(&self, epoch: u16) {
        let _ = epoch;
    }
    #[doc(hidden)]
    fn count(&self) -> Option<&CountWindow> {
        None
    }
    #[doc(hidden)]
    fn buckets(&self) -> Option<&BucketWindow> {
        None
    }
    /// For a restore: takes every owner bit of the window, or none (a
    /// recorder is inside it). Followed by exactly one `install` or `unclaim`.
    #[doc(hidden)]
    fn claim(&self) -> bool {
        true
    }
    /// For a restore: installs the restored count ring `(bits, head, len)`
    /// for closed epoch `epoch` (`None`: the window is empty in `epoch` and
    /// after) and releases the owner bits.
    #[doc(hidden)]
    fn install(&self, epoch: u16, ring: Option<(u64, u8, u8)>) {
        let _ = (epoch, ring);
    }
    /// Releases a [`claim`](Self::claim) without changing the window.
    #[doc(hidden)]
    fn unclaim(&self) {}
}

/// The metadata of a window that is empty in `epoch`: tagged with the epoch
/// before, so the first recorder of `epoch` starts afresh.
const fn empty_meta(epoch: u16) -> u32 {
    tag_of(epoch.wrapping_sub(1))
}

/// An empty window of type `W`, in a `const` context where atomics allow it.
#[cfg(not(loom))]
pub(crate) const fn empty_window<W: WindowStore>() -> W {
    W::EMPTY
}

/// An empty window of type `W` (loom's atomics cannot be built in `const`).
#[cfg(loom)]
pub(crate) fn empty_window<W: WindowStore>() -> W {
    W::empty()
}

/// No storage: the consecutive-failure run lives in the state word.
#[derive(Debug)]
#[doc(hidden)]
pub struct NoWindow;

impl WindowStore for NoWindow {
    #[cfg(not(loom))]
    const EMPTY: Self = NoWindow;
    #[cfg(loom)]
    fn empty() -> Self {
        NoWindow
    }
}

// Count window meta: bits 14..20 the next slot, bits 20..27 the length.
const HEAD_SHIFT: u32 = 14;
const LEN_SHIFT: u32 = 20;

/// The last `window` (<= 64) outcomes, as a ring of failure bits.
#[derive(Debug)]
#[doc(hidden)]
pub struct CountWindow {
    guard: Guard,
    lo: AtomicU32,
    hi: AtomicU32,
}

impl CountWindow {
    const_fn! {
        pub(crate) fn new() -> Self {
            Self { guard: Guard::new(), lo: atomic_u32!(0), hi: atomic_u32!(0) }
        }
    }

    fn bit(&self, slot: u32) -> (&AtomicU32, u32) {
        if slot < 32 {
            (&self.lo, 1 << slot)
        } else {
            (&self.hi, 1 << (slot - 32))
        }
    }

    pub(crate) fn record(
        &self,
        p: &FailureRate,
        epoch: u16,
        failed: bool,
        current: &dyn Fn() -> Option<u16>,
    ) -> Option<u16> {
        self.guard
            .record(Some((epoch, failed)), current, &mut |meta, reset, s, f| {
                self.apply(p, meta, reset, s, f)
            })
    }

    /// Applies `s` successes, then `f` failures (checking the rule after
    /// each), while owning the window; says whether the rule fired.
    fn apply(&self, p: &FailureRate, meta: &mut u32, reset: bool, s: u32, f: u32) -> bool {
        let window = p.window as u32;
        if reset {
            self.lo.store(0, Relaxed);
            self.hi.store(0, Relaxed);
            *meta &= TAG_MASK;
        }
        let mut head = (*meta >> HEAD_SHIFT) & 0x3F;
        let mut len = (*meta >> LEN_SHIFT) & 0x7F;
        let mut fails = self.lo.load(Relaxed).count_ones() + self.hi.load(Relaxed).count_ones();
        let mut tripped = false;
        let push = |failed: bool, head: &mut u32, len: &mut u32, fails: &mut u32| {
            let (word, mask) = self.bit(*head);
            let old = word.load(Relaxed);
            if *len == window && old & mask != 0 {
                *fails -= 1;
            }
            if failed {
                word.store(old | mask, Relaxed);
                *fails += 1;
            } else {
                word.store(old & !mask, Relaxed);
            }
            *head = (*head + 1) % window;
            if *len < window {
                *len += 1;
            }
        };
        for _ in 0..s {
            push(false, &mut head, &mut len, &mut fails);
        }
        for _ in 0..f {
            push(true, &mut head, &mut len, &mut fails);
            if rate_trips(fails as u64, len as u64, p.percent, p.minimum_calls as u64) {
                tripped = true;
                break;
            }
        }
        *meta = (*meta & (TAG_MASK | OWNED)) | head << HEAD_SHIFT | len << LEN_SHIFT;
        tripped
    }

    /// `(failure bits, next slot, length)` of the ring of closed epoch
    /// `epoch`, for a snapshot, and the epoch to trip if the outcomes it
    /// drained from the backlog fire the rule.
    ///
    /// The ring is read as its owner (a recorder sets a slot's bit before it
    /// moves the head, so a read from outside could pair a new bit with the
    /// old head: a ring no breaker was in). If the owner bit stays taken (the
    /// snapshot interrupted its owner on the same core, which cannot finish
    /// until the snapshot returns), the ring is read from outside and cut to
    /// the outcomes its metadata covers: a not-yet-full ring exactly as it
    /// was before the owner's batch, a full one with that batch possibly
    /// partly applied. Either is a ring `restore` accepts.
    pub(crate) fn ring(
        &self,
        p: &FailureRate,
        epoch: u16,
        current: &dyn Fn() -> Option<u16>,
    ) -> ((u64, u8, u8), Option<u16>) {
        #[cfg(not(loom))]
        const TRIES: u32 = 64;
        #[cfg(loom)]
        const TRIES: u32 = 2;
        let read = |meta: u32| {
            if meta & TAG_MASK != tag_of(epoch) {
                return (0, 0, 0);
            }
            let mut bits = (self.hi.load(Relaxed) as u64) << 32 | self.lo.load(Relaxed) as u64;
            let mut head = (meta >> HEAD_SHIFT) & 0x3F;
            let len = (meta >> LEN_SHIFT) & 0x7F;
            if len < p.window as u32 {
                bits &= (1u64 << len) - 1;
                head = len;
            }
            (bits, head as u8, len as u8)
        };
        for _ in 0..TRIES {
            let Some(mut meta) = self.guard.try_own() else {
                core::hint::spin_loop();
                continue;
            };
            let mut apply = |meta: &mut u32, reset, s, f| self.apply(p, meta, reset, s, f);
            let mut trip = self.guard.drain_owned(&mut meta, None, current, &mut apply);
            let ring = read(meta);
            self.guard.word.store(meta & !OWNED, Release);
            if self.guard.backlog_pending() {
                // Deposited while this read owned the window: apply them as
                // their recorders expect the owner to.
                trip = self.guard.record(None, current, &mut apply).or(trip);
            }
            return (ring, trip);
        }
        (read(self.guard.meta()), None)
    }

    /// `(failures, recorded)` in the window if it belongs to `epoch`.
    pub(crate) fn totals(&self, epoch: u16) -> (u32, u32) {
        let meta = self.guard.meta();
        if meta & TAG_MASK != tag_of(epoch) {
            return (0, 0);
        }
        let fails = self.lo.load(Relaxed).count_ones() + self.hi.load(Relaxed).count_ones();
        (fails, (meta >> LEN_SHIFT) & 0x7F)
    }
}

impl WindowStore for CountWindow {
    #[cfg(not(loom))]
    const EMPTY: Self = Self::new();
    #[cfg(loom)]
    fn empty() -> Self {
        Self::new()
    }
    fn clear_for(&self, epoch: u16) {
        self.guard.clear_for(epoch, || {
            self.lo.store(0, Relaxed);
            self.hi.store(0, Relaxed);
        });
    }
    fn count(&self) -> Option<&CountWindow> {
        Some(self)
    }
    fn claim(&self) -> bool {
        self.guard.claim()
    }
    fn install(&self, epoch: u16, ring: Option<(u64, u8, u8)>) {
        let (bits, head, len) = ring.unwrap_or((0, 0, 0));
        self.lo.store(bits as u32, Relaxed);
        self.hi.store((bits >> 32) as u32, Relaxed);
        let meta = match ring {
            Some(_) => tag_of(epoch) | (head as u32) << HEAD_SHIFT | (len as u32) << LEN_SHIFT,
            None => empty_meta(epoch),
        };
        self.guard.release_with(meta);
    }
    fn unclaim(&self) {
        self.guard.release_with(self.guard.meta());
    }
}

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
                    if rate_trips(fails, fails + succ, p.percent, p.minimum_calls as u64) {
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

/// The storage of both windows, for [`AnyPolicy`](crate::AnyPolicy).
#[derive(Debug)]
#[doc(hidden)]
pub struct AnyWindow {
    count: CountWindow,
    buckets: BucketWindow,
}

impl WindowStore for AnyWindow {
    #[cfg(not(loom))]
    const EMPTY: Self = Self {
        count: CountWindow::new(),
        buckets: BucketWindow::new(),
    };
    #[cfg(loom)]
    fn empty() -> Self {
        Self {
            count: CountWindow::new(),
            buckets: BucketWindow::new(),
        }
    }
    fn clear_for(&self, epoch: u16) {
        self.count.clear_for(epoch);
        self.buckets.clear_for(epoch);
    }
    fn count(&self) -> Option<&CountWindow> {
        Some(&self.count)
    }
    fn buckets(&self) -> Option<&BucketWindow> {
        Some(&self.buckets)
    }
    fn claim(&self) -> bool {
        if !self.count.claim() {
            return false;
        }
        if !self.buckets.claim() {
            self.count.unclaim();
            return false;
        }
        true
    }
    fn install(&self, epoch: u16, ring: Option<(u64, u8, u8)>) {
        self.count.install(epoch, ring);
        self.buckets.install(epoch, None);
    }
    fn unclaim(&self) {
        self.count.unclaim();
        self.buckets.unclaim();
    }
}
