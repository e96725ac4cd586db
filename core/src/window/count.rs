//! The count window of `failureRate`: the last `window` (<= 64) outcomes as
//! a ring of failure bits.

use super::guard::{tag_of, Guard, OWNED, TAG_MASK};
use super::{empty_meta, WindowStore};
use crate::policy::{window_trips, FailureRate};
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};

// Count window meta: bits 14..20 the next slot, bits 20..27 the length,
// bit 27 set while the ring is full and holds no failure (set by the owner
// that leaves it so; a restored ring starts without it, which only costs its
// first success the owner's way).
const HEAD_SHIFT: u32 = 14;
const LEN_SHIFT: u32 = 20;
const CLEAN: u32 = 1 << 27;

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

    /// A success of closed epoch `epoch` that changes nothing: the ring is
    /// full, holds no failure and nobody owns it, so one more success shifts
    /// a success out. The ring as it stands is the ring after this success
    /// (its head is not moved: in a ring of successes every rotation is the
    /// same ring). One load, no write: the healthy steady state.
    #[inline(always)]
    pub(crate) fn success_is_noop(&self, epoch: u16) -> bool {
        self.guard.word.load(Acquire) & (OWNED | CLEAN | TAG_MASK) == CLEAN | tag_of(epoch)
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
        // Validation keeps it in 1..=64; the clamp says so to the compiler
        // (no remainder-by-zero panic).
        let window = (p.window as u32).clamp(1, 64);
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
            if window_trips(
                fails as u64,
                len as u64,
                p.percent,
                p.minimum_calls as u64,
                p.failures as u64,
            ) {
                tripped = true;
                break;
            }
        }
        let clean = if fails == 0 && len == window {
            CLEAN
        } else {
            0
        };
        *meta = (*meta & (TAG_MASK | OWNED)) | head << HEAD_SHIFT | len << LEN_SHIFT | clean;
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
        self.guard.clear_for(epoch, |_| {
            self.lo.store(0, Relaxed);
            self.hi.store(0, Relaxed);
            0
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
