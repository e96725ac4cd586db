//! The owner bit and the backlog: how several callers change one window
//! without a lock (see the parent module).

use crate::sync::{atomic_u32, const_fn, fence, AtomicU32, Ordering::*};

pub(super) const OWNED: u32 = 1 << 31;
/// The window's tag: the whole epoch.
pub(super) const TAG_MASK: u32 = 0x3FFF;
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u32 = (1 << COUNT_BITS) - 1;

/// The window's tag for `epoch`.
#[inline(always)]
pub(super) const fn tag_of(epoch: u16) -> u32 {
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
    pub(super) word: AtomicU32,
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

    pub(super) fn try_own(&self) -> Option<u32> {
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
    pub(super) fn backlog_pending(&self) -> bool {
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
                    // See `backlog_pending`. The owner may have released
                    // before the deposit landed.
                    fence(SeqCst);
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

    pub(super) fn drain(
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
    pub(super) fn drain_owned(
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
            // The layout bits are `apply`'s to clear (some outlive a reset).
            *meta = (*meta & !TAG_MASK) | tag;
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

    /// If the window can be owned now and its tag reads `epoch`: runs
    /// `clear(meta)` and re-tags it with the epoch before, with the layout
    /// bits `clear` returns.
    pub(super) fn clear_for(&self, epoch: u16, clear: impl FnOnce(u32) -> u32) {
        if let Some(meta) = self.try_own() {
            if meta & TAG_MASK == tag_of(epoch) {
                let keep = clear(meta) & !(OWNED | TAG_MASK);
                self.word
                    .store(tag_of(epoch.wrapping_sub(1)) | keep, Release);
            } else {
                self.word.store(meta, Release);
            }
        }
    }

    /// Takes the owner bit for a restore, if nobody holds it; the backlog is
    /// emptied (outcomes of the breaker's previous life are stale).
    pub(super) fn claim(&self) -> bool {
        if self.try_own().is_none() {
            return false;
        }
        self.successes.store(0, Relaxed);
        self.failures.store(0, Relaxed);
        true
    }

    /// Releases a [`claim`](Self::claim) with the window's new metadata.
    pub(super) fn release_with(&self, meta: u32) {
        self.word.store(meta & !OWNED, Release);
    }

    /// The tag of the data currently in the window (racy read, for metrics).
    pub(crate) fn meta(&self) -> u32 {
        self.word.load(Acquire) & !OWNED
    }
}
