//! The two time words: the opening time and the trial-success count, tagged
//! with the epoch they belong to.
//!
//! Each word is `tag << 24 | 24 bits`. While open they hold bits 0..24 and
//! 24..48 of `retryAt` (bits 48..59 ride in the state word, see `state.rs`):
//! the end of the open period rather than its start, so that an opening
//! adopted from a fleet or re-based by a restore, which may have begun
//! before the clock's zero, is kept exactly, and an acquire decides with one
//! compare.
//! While half-open they hold `halfOpenAt`, the clock reading of the acquire
//! that entered half-open, modulo 2^34 (bits 0..24 in the second word, bits
//! 24..31 in the first, bits 31..34 in the state word) and, in the first
//! word's low 16 bits, the trial-success count; the first word's bit 23 says
//! the entry time has been written. The tag is the low 8 bits of the epoch
//! the value belongs to.
//!
//! Why tags: a transition into `open` is one CAS on the state word; the
//! winner then writes the two time words. A reader that sees the open state
//! before the time words carry its epoch's tag treats the open period as just
//! begun (rejects, with the full open duration as its retry hint); it never
//! waits. A winner that was overtaken (an `isolate` or `reset` and a new trip
//! while it was between its CAS and its writes) writes each time word with a
//! CAS that re-checks the epoch first, so it can never overwrite the newer
//! epoch's time. So the timestamp is full-width and exact, elapsed time is
//! unbounded, and no reader or writer ever blocks (an interrupt handler may
//! share the breaker with the code it interrupts).
//!
//! The invariant that makes an 8-bit tag enough: **every epoch leaves its tag
//! on both words** (an opening writes its time; any other epoch writes its
//! bare tag as it begins, and a restore writes the restored epoch's), so a
//! new open epoch never finds words that carry its tag from 256 epochs
//! earlier.

use crate::state::Word;
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};

const TAG_SHIFT: u32 = 24;
const LOW24: u32 = (1 << 24) - 1;
/// Half-open, first word: the trial successes.
const SUCCESSES: u32 = 0xFFFF;
/// Half-open, first word: bits 24..31 of `halfOpenAt`.
const AT_MID_SHIFT: u32 = 16;
/// Half-open, first word: `halfOpenAt` has been written.
const AT_WRITTEN: u32 = 1 << 23;

/// The tag of `epoch`'s values.
#[inline(always)]
const fn tag(epoch: u16) -> u32 {
    (epoch as u32 & 0xFF) << TAG_SHIFT
}

/// The time words of one breaker.
#[derive(Debug)]
pub(crate) struct TimeWords {
    t1: AtomicU32,
    t2: AtomicU32,
}

impl TimeWords {
    const_fn! {
        pub(crate) fn new() -> Self {
            Self { t1: atomic_u32!(0), t2: atomic_u32!(0) }
        }
    }

    /// Writes `retryAt` `t` of open epoch `epoch`, unless the state word
    /// `state` has moved past it.
    pub(crate) fn write_retry(&self, state: &AtomicU32, epoch: u16, t: u64) {
        let low = tag(epoch) | (t as u32 & LOW24);
        let mid = tag(epoch) | ((t >> 24) as u32 & LOW24);
        tagged_write(state, &self.t1, epoch, low, false);
        tagged_write(state, &self.t2, epoch, mid, false);
    }

    /// Marks both words as belonging to `epoch`, which just began (not open:
    /// an opening writes its time instead). A word already tagged is left
    /// alone (a trial success may have landed first).
    pub(crate) fn begin(&self, state: &AtomicU32, epoch: u16) {
        tagged_write(state, &self.t1, epoch, tag(epoch), true);
        tagged_write(state, &self.t2, epoch, tag(epoch), true);
    }

    /// Writes the entry time `at` of half-open epoch `epoch` (whose word
    /// carries bits 31..34 of it), unless the state word has moved past it. A
    /// trial success that landed first keeps its count.
    pub(crate) fn begin_half_open(&self, state: &AtomicU32, epoch: u16, at: u64) {
        tagged_write(
            state,
            &self.t2,
            epoch,
            tag(epoch) | (at as u32 & LOW24),
            false,
        );
        let mid = ((at >> 24) as u32 & 0x7F) << AT_MID_SHIFT | AT_WRITTEN;
        let mut x = self.t1.load(Acquire);
        loop {
            if Word(state.load(Acquire)).epoch() != epoch {
                return;
            }
            let successes = if x & !LOW24 == tag(epoch) {
                x & SUCCESSES
            } else {
                0
            };
            match self
                .t1
                .compare_exchange_weak(x, tag(epoch) | mid | successes, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(y) => x = y,
            }
        }
    }

    /// `halfOpenAt` modulo 2^34 of half-open word `w`, once its writer has
    /// written it.
    pub(crate) fn half_open_at(&self, w: Word) -> Option<u64> {
        let a = self.t1.load(Acquire);
        let b = self.t2.load(Acquire);
        let t = tag(w.epoch());
        if a & !LOW24 != t || b & !LOW24 != t || a & AT_WRITTEN == 0 {
            return None;
        }
        Some(
            (w.at_hi() as u64) << 31
                | (((a >> AT_MID_SHIFT) & 0x7F) as u64) << 24
                | (b & LOW24) as u64,
        )
    }

    /// `retryAt` of open word `w`, once its writer has written it.
    #[inline]
    pub(crate) fn retry_at(&self, w: Word) -> Option<u64> {
        let a = self.t1.load(Acquire);
        let b = self.t2.load(Acquire);
        let t = tag(w.epoch());
        if a & !LOW24 != t || b & !LOW24 != t {
            return None;
        }
        Some(w.time_hi() | ((b & LOW24) as u64) << 24 | (a & LOW24) as u64)
    }

    /// Counts one trial success of half-open epoch `epoch`: the count so
    /// far, or `None` if the state word has moved past the epoch.
    pub(crate) fn add_trial_success(&self, state: &AtomicU32, epoch: u16) -> Option<u32> {
        let mut x = self.t1.load(Acquire);
        loop {
            if Word(state.load(Acquire)).epoch() != epoch {
                return None;
            }
            // The count never reaches 2^16: it stops at successThreshold.
            let next = if x & !LOW24 == tag(epoch) {
                x + 1
            } else {
                tag(epoch) | 1
            };
            match self.t1.compare_exchange_weak(x, next, AcqRel, Acquire) {
                Ok(_) => return Some(next & SUCCESSES),
                Err(y) => x = y,
            }
        }
    }

    /// The trial successes of half-open word `w` (0 in any other state).
    pub(crate) fn trial_successes(&self, w: Word) -> u32 {
        let x = self.t1.load(Acquire);
        if w.state() == crate::State::HalfOpen && x & !LOW24 == tag(w.epoch()) {
            x & SUCCESSES
        } else {
            0
        }
    }

    /// Writes the words of a restored state `w` while the state word holds
    /// the restore's claim on `w`'s epoch: the opening time if open, the
    /// entry time and trial successes if half-open, the bare tag otherwise.
    /// `at` is `retryAt` (open) or `halfOpenAt` (half-open).
    pub(crate) fn install(&self, state: &AtomicU32, w: Word, at: u64, successes: u32) {
        let e = w.epoch();
        match w.state() {
            crate::State::Open => self.write_retry(state, e, at),
            crate::State::HalfOpen => {
                tagged_write(state, &self.t1, e, tag(e) | (successes & SUCCESSES), false);
                self.begin_half_open(state, e, at);
            }
            crate::State::Closed | crate::State::Isolated => {
                tagged_write(state, &self.t1, e, tag(e), false);
                tagged_write(state, &self.t2, e, tag(e), false);
            }
        }
    }
}

/// Writes `value` (which carries `epoch`'s tag) into `word` while `epoch` is
/// the state word's: an overtaken writer gives up instead of overwriting a
/// newer epoch's value. With `keep_tagged`, a word that already carries the
/// tag is left alone.
fn tagged_write(state: &AtomicU32, word: &AtomicU32, epoch: u16, value: u32, keep_tagged: bool) {
    let mut x = word.load(Acquire);
    loop {
        if Word(state.load(Acquire)).epoch() != epoch || (keep_tagged && x & !LOW24 == tag(epoch)) {
            return;
        }
        match word.compare_exchange_weak(x, value, AcqRel, Acquire) {
            Ok(_) => return,
            Err(y) => x = y,
        }
    }
}
