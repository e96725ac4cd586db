//! The state machine's rules as pure functions of the state word.
//!
//! Each rule takes the word as it was read (and plain numbers: the
//! configuration's, a clock reading, an opening time) and says what the word
//! becomes. None of them touches an atomic: `breaker.rs` applies them with
//! one compare-and-swap loop ([`Step`]), re-running a rule on the new word
//! when another caller changed it first. So every rule is tested here on
//! plain values, and a new rule is added in one place.

use crate::state::{next_epoch, State, Word, K_MAX};

/// What a rule does with the word it was given.
pub(crate) enum Step<T> {
    /// Leave the word as it is (nothing to change, or nothing this caller
    /// may change): done, with `T`.
    Keep(T),
    /// Replace the word with this one. If the compare-and-swap wins, done
    /// with `T`; if another caller changed the word first, the rule runs
    /// again on the word it finds.
    Swap(Word, T),
    /// The word the rule was given is stale (the rule looked at what it
    /// depends on and found a newer word): run again on this one.
    Retry(Word),
}

/// `from` (closed or half-open) trips into a new open epoch with re-trip
/// count `k`, opened at `t`.
#[inline(always)]
pub(crate) const fn open(from: Word, k: u8, t: u64) -> Word {
    Word::open(next_epoch(from.epoch()), k, t)
}

/// The re-trip count after a trial of half-open word `w` failed.
#[inline(always)]
pub(crate) const fn retrip_k(w: Word) -> u8 {
    if w.k() < K_MAX {
        w.k() + 1
    } else {
        K_MAX
    }
}

/// A failure recorded in closed word `w` of the consecutive policy: the
/// longer run, or `None` if it reaches `threshold` and trips.
#[inline(always)]
pub(crate) const fn failure_run(w: Word, threshold: u16) -> Option<Word> {
    let run = w.run() + 1;
    if run >= threshold {
        None
    } else {
        Some(Word::closed(w.epoch(), run))
    }
}

/// A trial permit from half-open word `w`: the word with one more slot
/// taken, or `None` if all `max` are in flight.
#[inline(always)]
pub(crate) const fn take_slot(w: Word, max: u8) -> Option<Word> {
    if w.in_flight() >= max {
        None
    } else {
        Some(w.with_in_flight(w.in_flight() + 1))
    }
}

/// A trial permit of `epoch` gives its slot back: the new word, or `None` if
/// `w` is not that half-open epoch or has no slot taken.
#[inline(always)]
pub(crate) fn free_slot(w: Word, epoch: u16) -> Option<Word> {
    (w.epoch() == epoch && w.state() == State::HalfOpen && w.in_flight() > 0)
        .then(|| w.with_in_flight(w.in_flight() - 1))
}

/// The open -> halfOpen transition of open word `w` at clock reading `now`,
/// with the acquiring caller's slot taken.
#[inline(always)]
pub(crate) const fn half_open(w: Word, now: u64) -> Word {
    Word::half_open_at(next_epoch(w.epoch()), 1, w.k(), (now >> 31) as u8)
}

/// The width of the half-open entry time kept (`halfOpenAt` modulo 2^34).
pub(crate) const AT_BITS: u32 = 34;
const AT_MASK: u64 = (1 << AT_BITS) - 1;

/// How long a breaker has been half-open at `now`, from `at` (its entry
/// time modulo 2^34): `None` if the clock reads behind the entry (it went
/// backwards: elapsed time counts as zero). Exact while the breaker has been
/// half-open for less than 2^33 ms (99 days) with no call reading the clock;
/// a clock behind by more than 2^33 ms is read as that much elapsed.
#[inline(always)]
pub(crate) const fn half_open_elapsed(at: u64, now: u64) -> Option<u64> {
    let e = now.wrapping_sub(at) & AT_MASK;
    if e > 1 << (AT_BITS - 1) {
        None
    } else {
        Some(e)
    }
}

/// `isolate()` (`to` = isolated) or `reset()` (`to` = closed, a clean
/// slate) from any word: a new epoch.
#[inline(always)]
pub(crate) const fn forced(w: Word, to: State) -> Word {
    let next = next_epoch(w.epoch());
    match to {
        State::Closed => Word::closed(next, 0),
        _ => Word::isolated(next),
    }
}

/// Half-open word `w` closes after its last needed trial success.
#[inline(always)]
pub(crate) const fn close(w: Word) -> Word {
    Word::closed(next_epoch(w.epoch()), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_failures_run_then_trip() {
        let w = Word::closed(7, 0);
        let w = failure_run(w, 3).unwrap();
        assert_eq!((w.run(), w.epoch()), (1, 7));
        let w = failure_run(w, 3).unwrap();
        assert_eq!(w.run(), 2);
        assert_eq!(failure_run(w, 3), None);
        let o = open(w, 0, 1_000);
        assert_eq!((o.state(), o.epoch(), o.k()), (State::Open, 8, 0));
    }

    #[test]
    fn trial_slots_are_bounded_and_freed_by_their_epoch_only() {
        let w = half_open(Word::open(3, 2, 0), 5 << 31);
        assert_eq!(w.at_hi(), 5);
        assert_eq!(
            (w.state(), w.epoch(), w.in_flight(), w.k()),
            (State::HalfOpen, 4, 1, 2)
        );
        assert_eq!(take_slot(w, 1), None);
        let w2 = take_slot(w, 2).unwrap();
        assert_eq!(w2.in_flight(), 2);
        assert_eq!(free_slot(w2, 4).unwrap().in_flight(), 1);
        assert_eq!(free_slot(w2, 5), None, "another epoch's permit");
        assert_eq!(
            free_slot(Word::half_open(4, 0, 2), 4),
            None,
            "no slot taken"
        );
        assert_eq!(free_slot(Word::closed(4, 0), 4), None, "not half-open");
    }

    #[test]
    fn retrips_count_up_to_the_cap() {
        assert_eq!(retrip_k(Word::half_open(1, 1, 0)), 1);
        assert_eq!(retrip_k(Word::half_open(1, 1, K_MAX)), K_MAX);
        assert_eq!(close(Word::half_open(9, 1, 5)), Word::closed(10, 0));
    }

    #[test]
    fn forced_words_start_a_new_epoch_from_any_state() {
        for w in [
            Word::closed(0x3FFF, 4),
            Word::open(1, 3, 99),
            Word::half_open(2, 1, 1),
            Word::isolated(3),
        ] {
            let next = next_epoch(w.epoch());
            assert_eq!(forced(w, State::Closed), Word::closed(next, 0));
            assert_eq!(forced(w, State::Isolated), Word::isolated(next));
        }
    }

    #[test]
    fn half_open_elapsed_time_is_modular_with_a_backwards_window() {
        assert_eq!(half_open_elapsed(100, 150), Some(50));
        assert_eq!(half_open_elapsed(100, 100), Some(0));
        assert_eq!(half_open_elapsed(100, 99), None, "a clock behind the entry");
        let at = (1u64 << 40) + 7;
        assert_eq!(half_open_elapsed(at & AT_MASK, at + 1_000), Some(1_000));
        assert_eq!(
            half_open_elapsed(at & AT_MASK, at + (1 << 33)),
            Some(1 << 33)
        );
    }
}
