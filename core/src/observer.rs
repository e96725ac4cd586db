//! Observability that costs nothing unless asked for.
//!
//! A breaker's third type parameter is an [`Observer`]. The default, `()`,
//! has empty hooks that compile to nothing: no counter, no shared write on the
//! hot path. [`Counters`] keeps the monotonic totals of the specification;
//! [`OnTransition`] calls a function at every change of state (it allocates
//! nothing, so firmware can log with defmt from it); a pair `(A, B)` does
//! both. Hooks run after the state change they report has been committed.

use crate::reject::RejectReason;
use crate::state::State;
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::Relaxed};

/// A change of state, as reported to an [`Observer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub struct Transition {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// The epoch that the transition started.
    pub epoch: u16,
    /// What caused it.
    pub cause: Cause,
}

/// What caused a [`Transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
#[non_exhaustive]
pub enum Cause {
    /// The trip policy fired in `closed`.
    Trip,
    /// An acquire came at or after `retryAt` (open -> half-open).
    RetryAt,
    /// Enough trials succeeded (half-open -> closed).
    TrialsSucceeded,
    /// A trial failed (half-open -> open).
    TrialFailed,
    /// The trials did not decide within `halfOpenMaxWaitMs`.
    HalfOpenMaxWait,
    /// [`Breaker::isolate`](crate::Breaker::isolate).
    Isolate,
    /// [`Breaker::reset`](crate::Breaker::reset).
    Reset,
    /// A fleet state adopted with [`Breaker::adopt`](crate::Breaker::adopt).
    Fleet,
}

impl Cause {
    /// A short name: `trip`, `retryAt`, `trialsSucceeded`, `trialFailed`,
    /// `halfOpenMaxWait`, `isolate`, `reset`, `fleet`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trip => "trip",
            Self::RetryAt => "retryAt",
            Self::TrialsSucceeded => "trialsSucceeded",
            Self::TrialFailed => "trialFailed",
            Self::HalfOpenMaxWait => "halfOpenMaxWait",
            Self::Isolate => "isolate",
            Self::Reset => "reset",
            Self::Fleet => "fleet",
        }
    }
}

/// The monotonic totals of the specification. They wrap rather than panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub struct Totals {
    /// Successes recorded (slow successes count as failures instead).
    pub successes: u32,
    /// Failures recorded, slow calls included.
    pub failures: u32,
    /// Successes recorded as failures because they were slow.
    pub slow_calls: u32,
    /// Outcomes recorded as ignored.
    pub ignored: u32,
    /// Acquires rejected.
    pub rejected: u32,
    /// Changes of state.
    pub transitions: u32,
}

/// Hooks a breaker calls; every method has an empty default.
///
/// ```
/// use halfopen::{Breaker, Config, MockClock, Observer, Transition};
/// use core::sync::atomic::{AtomicU32, Ordering};
///
/// /// Counts trips, nothing else.
/// #[derive(Default)]
/// struct Trips(AtomicU32);
/// impl Observer for Trips {
///     fn on_transition(&self, t: Transition) {
///         if t.to == halfopen::State::Open {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let config = Config::consecutive_failures(1).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::with_observer(&config, &clock, Trips::default());
/// breaker.try_acquire().unwrap().failure();
/// assert_eq!(breaker.observer().0.load(Ordering::Relaxed), 1);
/// ```
pub trait Observer {
    /// A success was recorded (also for a permit of an earlier epoch).
    #[inline(always)]
    fn on_success(&self) {}
    /// A failure was recorded; `slow` if it was a success past `slowCallMs`.
    #[inline(always)]
    fn on_failure(&self, slow: bool) {
        let _ = slow;
    }
    /// An outcome was recorded as ignored.
    #[inline(always)]
    fn on_ignore(&self) {}
    /// An acquire was rejected.
    #[inline(always)]
    fn on_reject(&self, reason: RejectReason) {
        let _ = reason;
    }
    /// The state changed.
    #[inline(always)]
    fn on_transition(&self, transition: Transition) {
        let _ = transition;
    }
    /// The totals, if this observer keeps them.
    #[inline(always)]
    fn totals(&self) -> Option<Totals> {
        None
    }
}

impl Observer for () {}

impl<T: Observer + ?Sized> Observer for &T {
    fn on_success(&self) {
        (**self).on_success()
    }
    fn on_failure(&self, slow: bool) {
        (**self).on_failure(slow)
    }
    fn on_ignore(&self) {
        (**self).on_ignore()
    }
    fn on_reject(&self, reason: RejectReason) {
        (**self).on_reject(reason)
    }
    fn on_transition(&self, transition: Transition) {
        (**self).on_transition(transition)
    }
    fn totals(&self) -> Option<Totals> {
        (**self).totals()
    }
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_success(&self) {
        self.0.on_success();
        self.1.on_success();
    }
    fn on_failure(&self, slow: bool) {
        self.0.on_failure(slow);
        self.1.on_failure(slow);
    }
    fn on_ignore(&self) {
        self.0.on_ignore();
        self.1.on_ignore();
    }
    fn on_reject(&self, reason: RejectReason) {
        self.0.on_reject(reason);
        self.1.on_reject(reason);
    }
    fn on_transition(&self, transition: Transition) {
        self.0.on_transition(transition);
        self.1.on_transition(transition);
    }
    fn totals(&self) -> Option<Totals> {
        self.0.totals().or_else(|| self.1.totals())
    }
}

/// The metrics totals, kept in relaxed atomic counters.
///
/// ```
/// use halfopen::{Breaker, Config, Counters, MockClock};
///
/// let config = Config::consecutive_failures(2).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::with_observer(&config, &clock, Counters::new());
/// breaker.try_acquire().unwrap().success();
/// breaker.try_acquire().unwrap().failure();
/// let m = breaker.metrics();
/// assert_eq!((m.successes, m.failures), (1, 1));
/// ```
#[derive(Debug, Default)]
pub struct Counters {
    successes: AtomicU32,
    failures: AtomicU32,
    slow_calls: AtomicU32,
    ignored: AtomicU32,
    rejected: AtomicU32,
    transitions: AtomicU32,
}

impl Counters {
    const_fn! {
        /// All zero.
        pub fn new() -> Self {
            Self {
                successes: atomic_u32!(0),
                failures: atomic_u32!(0),
                slow_calls: atomic_u32!(0),
                ignored: atomic_u32!(0),
                rejected: atomic_u32!(0),
                transitions: atomic_u32!(0),
            }
        }
    }

    /// Sets every total (used when restoring a snapshot of metrics).
    pub fn set(&self, t: Totals) {
        self.successes.store(t.successes, Relaxed);
        self.failures.store(t.failures, Relaxed);
        self.slow_calls.store(t.slow_calls, Relaxed);
        self.ignored.store(t.ignored, Relaxed);
        self.rejected.store(t.rejected, Relaxed);
        self.transitions.store(t.transitions, Relaxed);
    }
}

#[inline(always)]
fn bump(c: &AtomicU32) {
    c.fetch_add(1, Relaxed);
}

impl Observer for Counters {
    fn on_success(&self) {
        bump(&self.successes);
    }
    fn on_failure(&self, slow: bool) {
        bump(&self.failures);
        if slow {
            bump(&self.slow_calls);
        }
    }
    fn on_ignore(&self) {
        bump(&self.ignored);
    }
    fn on_reject(&self, _: RejectReason) {
        bump(&self.rejected);
    }
    fn on_transition(&self, _: Transition) {
        bump(&self.transitions);
    }
    fn totals(&self) -> Option<Totals> {
        Some(Totals {
            successes: self.successes.load(Relaxed),
            failures: self.failures.load(Relaxed),
            slow_calls: self.slow_calls.load(Relaxed),
            ignored: self.ignored.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            transitions: self.transitions.load(Relaxed),
        })
    }
}

/// Calls a function at every change of state.
///
/// ```
/// use halfopen::{Breaker, Config, MockClock, OnTransition, State};
///
/// let config = Config::consecutive_failures(1).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::with_observer(
///     &config,
///     &clock,
///     OnTransition(|t: halfopen::Transition| assert_eq!(t.to, State::Open)),
/// );
/// breaker.try_acquire().unwrap().failure();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OnTransition<F>(pub F);

impl<F: Fn(Transition)> Observer for OnTransition<F> {
    fn on_transition(&self, transition: Transition) {
        (self.0)(transition)
    }
}
