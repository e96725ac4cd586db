//! One call: the permit that lets it through, the plain-data token bindings
//! carry instead, and how it ended.
//!
//! A permit records exactly once (each method takes it by value); a permit
//! dropped without an outcome is a *drop*. While the breaker's state is being
//! updated for an outcome, the permit stays armed, so user code that unwinds
//! in there (a clock, a transition hook) cannot leak its half-open slot; the
//! outcome hooks run last, on a consistent breaker.

use core::fmt;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::observer::Observer;
use crate::policy::{ConsecutiveFailures, Policy};
use crate::state::{State, Word};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// It worked (recorded as a failure if slower than `slowCallMs`).
    Success,
    /// It failed: counts toward tripping.
    Failure,
    /// Neither: counts toward nothing, frees a half-open slot.
    Ignore,
}

/// The right to make one call; record how it ended.
///
/// An outcome is recorded exactly once: each method takes the permit by value.
/// A permit dropped without an outcome (a cancelled future, an early return)
/// is a *drop*: it frees its half-open slot and counts toward nothing.
#[must_use = "a permit records nothing until success(), failure() or ignore() is called"]
pub struct Permit<'b, 'a, C: Clock, P: Policy = ConsecutiveFailures, O: Observer = ()> {
    pub(crate) breaker: &'b Breaker<'a, C, P, O>,
    pub(crate) token: PermitToken,
}

impl<C: Clock, P: Policy, O: Observer> fmt::Debug for Permit<'_, '_, C, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("epoch", &self.token.epoch())
            .field("trial", &self.token.is_trial())
            .finish()
    }
}

/// A permit detached from its breaker, as plain data: for bindings (wasm,
/// FFI) that cannot hold a borrow. Give it back with
/// [`Breaker::record_token`] or [`Breaker::release_token`]; it is not `Clone`,
/// so it too is used once.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PermitToken {
    /// The low half of the state word the permit was granted under: its
    /// state (closed or half-open) and epoch, so that "is this permit's epoch
    /// current" is one compare.
    pub(crate) key: u16,
    pub(crate) started_ms: u64,
}

impl PermitToken {
    /// The `started_ms` of a permit whose call is not timed (no
    /// `slowCallMs`): recording its success needs no clock and no look at
    /// the configuration.
    pub const NOT_TIMED: u64 = u64::MAX;

    /// The epoch the permit belongs to.
    pub const fn epoch(&self) -> u16 {
        Word(self.key as u32).epoch()
    }
    /// Whether the permit holds a half-open trial slot (it was granted in
    /// `halfOpen`); a permit granted in `closed` holds none. A permit only
    /// ever counts in an epoch of the state it was granted in.
    pub const fn is_trial(&self) -> bool {
        matches!(Word(self.key as u32).state(), State::HalfOpen)
    }
    /// The clock reading at acquire if slow-call detection is on, else
    /// [`PermitToken::NOT_TIMED`].
    pub const fn started_ms(&self) -> u64 {
        self.started_ms
    }
    /// Whether recording a success of this permit reads the clock (slow-call
    /// detection is on).
    pub const fn is_timed(&self) -> bool {
        self.started_ms != Self::NOT_TIMED
    }
    /// Rebuilds a token from its parts (as carried across an FFI boundary).
    pub const fn from_parts(epoch: u16, trial: bool, started_ms: u64) -> Self {
        let w = if trial {
            Word::half_open(epoch, 0, 0)
        } else {
            Word::closed(epoch, 0)
        };
        Self::granted(w, started_ms)
    }

    /// A copy, for the breaker's own use while the permit stays armed (the
    /// public type is not `Clone`: a token is used once).
    #[inline(always)]
    pub(crate) const fn dup(&self) -> Self {
        Self {
            key: self.key,
            started_ms: self.started_ms,
        }
    }

    /// The token of a permit granted under state word `w` (closed or
    /// half-open).
    #[inline(always)]
    pub(crate) const fn granted(w: Word, started_ms: u64) -> Self {
        Self {
            key: w.0 as u16,
            started_ms,
        }
    }
}

impl<C: Clock, P: Policy, O: Observer> Permit<'_, '_, C, P, O> {
    /// The call worked.
    #[inline(always)]
    pub fn success(self) {
        self.record(Outcome::Success);
    }
    /// The call failed.
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }
    /// The call's outcome says nothing about the downstream's health.
    pub fn ignore(self) {
        self.record(Outcome::Ignore);
    }
    /// Records `outcome`.
    #[inline(always)]
    pub fn record(self, outcome: Outcome) {
        if self.token.is_trial() {
            return self.record_trial(outcome);
        }
        // A closed call's permit holds no slot: nothing to give back if user
        // code unwinds while the state is updated.
        let breaker = self.breaker;
        let token = self.into_token();
        let counted = breaker.apply(token, Some(outcome));
        breaker.report(counted);
    }

    /// A trial permit stays armed while the state is updated: if user code
    /// unwinds in there (a clock read for a slow-call check or a trip, a
    /// transition hook), its drop frees the half-open slot it holds. Every
    /// state change that can precede such a panic starts a new epoch, so
    /// that late release is then a no-op, never a second one.
    #[inline(never)]
    fn record_trial(self, outcome: Outcome) {
        let breaker = self.breaker;
        let counted = breaker.apply(self.token.dup(), Some(outcome));
        core::mem::forget(self);
        // The outcome hooks run last, on a consistent breaker.
        breaker.report(counted);
    }

    /// Detaches the permit from its breaker (see [`PermitToken`]).
    pub fn into_token(self) -> PermitToken {
        let token = PermitToken {
            key: self.token.key,
            started_ms: self.token.started_ms,
        };
        core::mem::forget(self);
        token
    }
    /// Whether the permit holds a half-open trial slot.
    pub fn is_trial(&self) -> bool {
        self.token.is_trial()
    }
    /// The epoch the permit belongs to.
    pub fn epoch(&self) -> u16 {
        self.token.epoch()
    }
}

impl<C: Clock, P: Policy, O: Observer> Drop for Permit<'_, '_, C, P, O> {
    fn drop(&mut self) {
        self.breaker.apply(self.token.dup(), None);
    }
}

/// What an outcome counted as, for the observer hooks that run after the
/// state update.
#[derive(Clone, Copy)]
pub(crate) enum Counted {
    Success,
    Failure { slow: bool },
    Ignored,
    Dropped,
}

/// Frees a trial slot taken for a permit that does not exist yet, if user
/// code (an observer hook) unwinds before it is handed out.
pub(crate) struct SlotGuard<'g, 'a, C: Clock, P: Policy, O: Observer> {
    pub(crate) breaker: &'g Breaker<'a, C, P, O>,
    pub(crate) token: &'g PermitToken,
}

impl<C: Clock, P: Policy, O: Observer> Drop for SlotGuard<'_, '_, C, P, O> {
    fn drop(&mut self) {
        self.breaker.apply(self.token.dup(), None);
    }
}
