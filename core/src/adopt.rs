//! Adopting a fleet's shared state: the one way state from a store (Redis, a
//! Durable Object) enters a breaker, applied at the breaker's own clock.
//!
//! What crosses from the store is a *remaining* duration, never a time:
//! instances' clocks are not comparable. The table of the specification:
//!
//! | adopted | local isolated | local open | local closed / halfOpen |
//! |---|---|---|---|
//! | `open` (r, k') | no change | `retryAt = max(retryAt, now + r)`, `k = max(k, k')`, no transition | -> `open`: new epoch, `retryAt = now + r`, `k = k'` |
//! | `closed` | as `reset()` | as `reset()` | closed: no change; halfOpen: as `reset()` |
//! | `isolated` | as `isolate()` | as `isolate()` | as `isolate()` |
//!
//! An open breaker whose opening changes keeps its state and counts no
//! transition, but records the new opening under a new epoch: the opening
//! time and `k` live in three words, and only a new epoch lets every reader
//! tell the old ones from the new (no permit is current in an open epoch, so
//! none is affected).
//!
//! Jitter applies to a breaker's own openings, not to adopted ones. The
//! breaker keeps `retryAt` per open epoch (exactly `now + r` for an adopted
//! opening); `metrics().opened_at` reads `retryAt` minus the local open
//! duration for `k`, which for an adopted opening is not the adopting
//! call's clock reading.

use core::fmt;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::machine::{self, Step};
use crate::observer::{Cause, Observer};
use crate::policy::Policy;
use crate::state::{next_epoch, State, Word, CLOCK_LIMIT, K_MAX};
use crate::MAX_DURATION_MS;

/// A fleet's state, as a store publishes it for [`Breaker::adopt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FleetState {
    /// The fleet is open for `remaining_ms` more (at most 2^31 - 1), after
    /// `k` half-open re-trips.
    Open {
        /// What is left of the fleet's open period, in ms.
        remaining_ms: u32,
        /// The fleet's re-trip count (31 and above all mean the longest
        /// backoff step).
        k: u8,
    },
    /// The fleet is closed.
    Closed,
    /// The fleet is isolated.
    Isolated,
}

impl FleetState {
    /// An open fleet state, checked: `remaining_ms` at most 2^31 - 1.
    ///
    /// ```
    /// use halfopen::FleetState;
    ///
    /// assert!(FleetState::open(5_000, 1).is_ok());
    /// let err = FleetState::open(1 << 40, 0).unwrap_err();
    /// assert_eq!(err.to_string(), "fleet remainingMs = 1099511627776 is out of range 0..=2147483647");
    /// ```
    pub const fn open(remaining_ms: u64, k: u32) -> Result<Self, FleetStateError> {
        if remaining_ms > MAX_DURATION_MS as u64 {
            return Err(FleetStateError { remaining_ms });
        }
        Ok(Self::Open {
            remaining_ms: remaining_ms as u32,
            k: if k > K_MAX as u32 { K_MAX } else { k as u8 },
        })
    }

    /// The specification's name: `open`, `closed`, `isolated`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Open { .. } => "open",
            Self::Closed => "closed",
            Self::Isolated => "isolated",
        }
    }
}

/// A fleet state that cannot be adopted: its remaining open time is longer
/// than any open period (2^31 - 1 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FleetStateError {
    remaining_ms: u64,
}

impl fmt::Display for FleetStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fleet remainingMs = {} is out of range 0..={MAX_DURATION_MS}",
            self.remaining_ms
        )
    }
}

impl core::error::Error for FleetStateError {}

impl<C: Clock, P: Policy, O: Observer> Breaker<'_, C, P, O> {
    /// Applies a fleet's state at this breaker's clock (see the module
    /// table). Reads the clock only to adopt an open fleet. A transition it
    /// causes is reported with [`Cause::Fleet`].
    ///
    /// ```
    /// use halfopen::{Breaker, Config, FleetState, MockClock, State};
    ///
    /// let config = Config::consecutive_failures(5).open_ms(30_000).build().unwrap();
    /// let clock = MockClock::new(1_000);
    /// let breaker = Breaker::new(&config, &clock);
    /// breaker.adopt(FleetState::open(12_000, 0).unwrap());
    /// assert_eq!(breaker.state(), State::Open);
    /// assert_eq!(breaker.try_acquire().unwrap_err().retry_after_ms(), Some(12_000));
    /// breaker.adopt(FleetState::Closed);
    /// assert_eq!(breaker.state(), State::Closed);
    /// ```
    pub fn adopt(&self, state: FleetState) {
        match state {
            FleetState::Isolated => self.force_by(State::Isolated, Cause::Fleet),
            FleetState::Closed => {
                if self.load().state() != State::Closed {
                    self.force_by(State::Closed, Cause::Fleet);
                }
            }
            FleetState::Open { remaining_ms, k } => {
                self.adopt_open(remaining_ms as u64, k.min(K_MAX))
            }
        }
    }

    fn adopt_open(&self, r: u64, k: u8) {
        let now = self.now();
        if now >= CLOCK_LIMIT {
            return; // Refused like every decision on such a reading.
        }
        let until = now + r;
        let (at, swapped) = self.update(self.load(), |w| match w.state() {
            State::Isolated => Step::Keep(0),
            State::Open => {
                // The opener may not have written its time yet: its open
                // period began at about now.
                let retry_at = match self.time.retry_at(w) {
                    Some(t) => t,
                    None => {
                        let x = self.load();
                        if x != w {
                            return Step::Retry(x);
                        }
                        now + self.config.open_duration_ms(w.k() as u32) as u64
                    }
                };
                let k2 = w.k().max(k);
                let until2 = retry_at.max(until);
                if k2 == w.k() && until2 == retry_at {
                    return Step::Keep(0);
                }
                // The opening changes: under a new epoch, so that no reader
                // can pair the old time words with the new word.
                Step::Swap(Word::open(next_epoch(w.epoch()), k2, until2), until2)
            }
            State::Closed | State::HalfOpen => Step::Swap(machine::open(w, k, until), until),
        });
        if let Some((from, to)) = swapped {
            self.time.write_retry(&self.word, to.epoch(), at);
            if from.state() != State::Open {
                self.transition(from.state(), State::Open, to.epoch(), Cause::Fleet);
            }
        }
    }
}
