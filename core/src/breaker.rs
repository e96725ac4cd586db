//! The breaker: the state machine of BEHAVIOR.md applied with compare-and-swap.
//!
//! Three 32-bit words hold everything a consecutive-failure breaker decides
//! with (the rate policies add their window, see `window.rs`):
//!
//! - the state word (see `state.rs`): state, epoch and the per-state counters,
//!   changed only by CAS, so each transition has exactly one winner;
//! - two time words, each `tag << 24 | 24 bits`: while open, bits 0..24 and
//!   24..48 of `openedAt` (bits 48..59 ride in the state word); while
//!   half-open, the first holds the trial-success count. The tag is the low
//!   8 bits of the epoch the value belongs to.
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
//! The clock is read only when a decision needs it: in open state, when
//! tripping, for time-window bucketing, and around calls when `slowCallMs` is
//! set. A closed-state success with the consecutive policy is one atomic load
//! at acquire and one at record, and writes nothing unless a failure run has
//! to be reset.

use core::fmt;
use core::future::Future;

use crate::clock::Clock;
use crate::config::Config;
use crate::observer::{Observer, Totals, Transition};
use crate::policy::{ConsecutiveFailures, Kind, Policy};
use crate::state::{next_epoch, Health, State, Word, K_MAX, TIME_LIMIT};
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};
use crate::window::{empty_window, WindowStore};

const TAG_SHIFT: u32 = 24;
const LOW24: u32 = (1 << 24) - 1;

/// The reading a time bucket is chosen by: one out of range (see
/// [`RejectReason::ClockOutOfRange`]) counts as a clock behind the window
/// (0), so it records into the newest bucket and moves no window.
#[inline(always)]
const fn bucket_time(t: u64) -> u64 {
    if t < TIME_LIMIT {
        t
    } else {
        0
    }
}

#[inline(always)]
const fn tag(epoch: u16) -> u32 {
    (epoch as u32 & 0xFF) << TAG_SHIFT
}

/// A circuit breaker.
///
/// - `C`: the [`Clock`] it reads (a `&MockClock` in tests, [`StdClock`],
///   [`EmbassyClock`], or your own);
/// - `P`: the trip [`Policy`] (default [`ConsecutiveFailures`]);
/// - `O`: the [`Observer`] (default `()`: no metrics, no cost).
///
/// Every method takes `&self`: share one breaker by reference between tasks,
/// threads and interrupt handlers. It is `const`-constructible, so it can be a
/// `static` with no cell, mutex or allocator.
///
/// ```
/// use halfopen::{Breaker, CallError, Config, MockClock, State};
///
/// let config = Config::consecutive_failures(2).open_ms(1_000).build()?;
/// let clock = MockClock::new(0);
/// let breaker = Breaker::new(&config, &clock);
///
/// let flaky = || -> Result<u32, &str> { Err("timeout") };
/// assert!(matches!(breaker.call(flaky), Err(CallError::Inner("timeout"))));
/// assert!(matches!(breaker.call(flaky), Err(CallError::Inner("timeout"))));
/// assert_eq!(breaker.state(), State::Open);
/// assert!(matches!(breaker.call(flaky), Err(CallError::Rejected(_))));
///
/// clock.advance(1_000);
/// assert_eq!(breaker.call(|| Ok::<_, &str>(7)), Ok(7));
/// assert_eq!(breaker.state(), State::Closed);
/// # Ok::<(), halfopen::ConfigError>(())
/// ```
///
/// [`StdClock`]: crate::clock
/// [`EmbassyClock`]: crate::clock
pub struct Breaker<'a, C, P: Policy = ConsecutiveFailures, O = ()> {
    config: &'a Config<P>,
    clock: C,
    observer: O,
    word: AtomicU32,
    t1: AtomicU32,
    t2: AtomicU32,
    window: P::Window,
}

impl<C, P: Policy, O> fmt::Debug for Breaker<'_, C, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = Word(self.word.load(Acquire));
        f.debug_struct("Breaker")
            .field("state", &w.state())
            .field("epoch", &w.epoch())
            .finish_non_exhaustive()
    }
}

/// Why an acquire was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RejectReason {
    /// The breaker is open.
    Open,
    /// Half-open, and every trial permit is in flight.
    HalfOpenFull,
    /// The breaker is isolated.
    Isolated,
    /// The clock read at or past 2^59 ms (18 million years), where the
    /// breaker cannot keep an opening time: almost certainly a clock in
    /// microseconds or nanoseconds given where milliseconds are expected.
    /// Every decision that needs the time refuses such a reading this way
    /// rather than guess; a breaker that tripped on one stays open until
    /// [`reset`](Breaker::reset).
    ClockOutOfRange,
}

impl RejectReason {
    /// The BEHAVIOR.md name: `open`, `halfOpenFull`, `isolated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::HalfOpenFull => "halfOpenFull",
            Self::Isolated => "isolated",
            Self::ClockOutOfRange => "clockOutOfRange",
        }
    }
}

/// An acquire that was not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rejected {
    reason: RejectReason,
    retry_after_ms: Option<u64>,
}

impl Rejected {
    /// Why.
    pub const fn reason(&self) -> RejectReason {
        self.reason
    }

    /// When open: how long until an acquire may be let through as a trial.
    pub const fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reason, self.retry_after_ms) {
            (RejectReason::Open, Some(ms)) => {
                write!(f, "circuit open: call rejected, retry in {ms} ms")
            }
            (RejectReason::Open, None) => f.write_str("circuit open: call rejected"),
            (RejectReason::HalfOpenFull, _) => {
                f.write_str("circuit half-open: every trial call is in flight, call rejected")
            }
            (RejectReason::Isolated, _) => {
                f.write_str("circuit isolated: calls are rejected until it is reset")
            }
            (RejectReason::ClockOutOfRange, _) => f.write_str(
                "clock reading at or past 2^59 ms: the clock must count milliseconds \
                 (is it counting microseconds or nanoseconds?); call rejected",
            ),
        }
    }
}

impl core::error::Error for Rejected {}

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

/// The error of a protected call: rejected by the breaker, or the
/// operation's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CallError<E> {
    /// The breaker did not let the call through; the operation did not run.
    Rejected(Rejected),
    /// The operation ran and returned this error.
    Inner(E),
    /// The operation ran out of time (async calls with a timeout only); it
    /// counts as a failure.
    TimedOut,
}

impl<E> CallError<E> {
    /// The operation's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => r.fmt(f),
            Self::Inner(e) => e.fmt(f),
            Self::TimedOut => f.write_str("call timed out"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for CallError<E> {}

/// The right to make one call; record how it ended.
///
/// An outcome is recorded exactly once: each method takes the permit by value.
/// A permit dropped without an outcome (a cancelled future, an early return)
/// is a *drop*: it frees its half-open slot and counts toward nothing.
#[must_use = "a permit records nothing until success(), failure() or ignore() is called"]
pub struct Permit<'b, 'a, C: Clock, P: Policy = ConsecutiveFailures, O: Observer = ()> {
    breaker: &'b Breaker<'a, C, P, O>,
    token: PermitToken,
}

impl<C: Clock, P: Policy, O: Observer> fmt::Debug for Permit<'_, '_, C, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("epoch", &self.token.epoch)
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
    epoch: u16,
    trial: bool,
    started_ms: u64,
}

impl PermitToken {
    /// The `started_ms` of a permit whose call is not timed (no
    /// `slowCallMs`): recording its success needs no clock and no look at
    /// the configuration.
    pub const NOT_TIMED: u64 = u64::MAX;

    /// The epoch the permit belongs to.
    pub const fn epoch(&self) -> u16 {
        self.epoch
    }
    /// Whether the permit holds a half-open trial slot (it was granted in
    /// `halfOpen`); a permit granted in `closed` holds none. A permit only
    /// ever counts in an epoch of the state it was granted in.
    pub const fn is_trial(&self) -> bool {
        self.trial
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
        Self {
            epoch,
            trial,
            started_ms,
        }
    }
}

impl<C: Clock, P: Policy, O: Observer> Permit<'_, '_, C, P, O> {
    /// The call worked.
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
    pub fn record(self, outcome: Outcome) {
        // The permit stays armed while the state is updated: if user code
        // unwinds in there (a clock read for a slow-call check or a trip, a
        // transition hook), its drop frees the half-open slot it holds. Every
        // state change that can precede such a panic starts a new epoch, so
        // that late release is then a no-op, never a second one.
        let breaker = self.breaker;
        let counted = breaker.apply(&self.token, Some(outcome));
        core::mem::forget(self);
        // The outcome hooks run last, on a consistent breaker.
        breaker.report(counted);
    }
    /// Detaches the permit from its breaker (see [`PermitToken`]).
    pub fn into_token(self) -> PermitToken {
        let token = PermitToken {
            epoch: self.token.epoch,
            trial: self.token.trial,
            started_ms: self.token.started_ms,
        };
        core::mem::forget(self);
        token
    }
    /// Whether the permit holds a half-open trial slot.
    pub fn is_trial(&self) -> bool {
        self.token.trial
    }
    /// The epoch the permit belongs to.
    pub fn epoch(&self) -> u16 {
        self.token.epoch
    }
}

impl<C: Clock, P: Policy, O: Observer> Drop for Permit<'_, '_, C, P, O> {
    fn drop(&mut self) {
        self.breaker.apply(&self.token, None);
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
struct SlotGuard<'g, 'a, C: Clock, P: Policy, O: Observer> {
    breaker: &'g Breaker<'a, C, P, O>,
    token: &'g PermitToken,
}

impl<C: Clock, P: Policy, O: Observer> Drop for SlotGuard<'_, '_, C, P, O> {
    fn drop(&mut self) {
        self.breaker.apply(self.token, None);
    }
}

/// A snapshot of the metrics: totals (when the observer keeps them) and the
/// current decision state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Metrics {
    /// Successes recorded.
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
    /// Whether the totals above are kept (the observer is or holds
    /// [`Counters`](crate::Counters)); if not they read 0.
    pub totals_kept: bool,
    /// The state, as `state()` reads it.
    pub state: State,
    /// The current epoch.
    pub epoch: u16,
    /// When the breaker opened, while open.
    pub opened_at: Option<u64>,
    /// When an acquire will be let through as a trial, while open.
    pub retry_at: Option<u64>,
    /// The consecutive-failure run (consecutive policy, closed).
    pub failure_run: u16,
    /// `(failures, recorded)` in the current window (rate policies, closed).
    pub window: Option<(u64, u64)>,
}

impl Metrics {
    /// The failure rate of the current window in percent (rate policies).
    pub fn failure_rate_percent(&self) -> Option<u8> {
        match self.window {
            Some((f, n)) if n > 0 => Some((f * 100 / n) as u8),
            _ => None,
        }
    }
}

impl<'a, C: Clock, P: Policy> Breaker<'a, C, P, ()> {
    const_fn! {
        /// A breaker with no observer.
        pub fn new(config: &'a Config<P>, clock: C) -> Self {
            Self::with_observer(config, clock, ())
        }
    }
}

impl<'a, C: Clock, P: Policy, O: Observer> Breaker<'a, C, P, O> {
    const_fn! {
        /// A breaker that reports to `observer` ([`Counters`](crate::Counters)
        /// for metrics, [`OnTransition`](crate::OnTransition) for a listener).
        pub fn with_observer(config: &'a Config<P>, clock: C, observer: O) -> Self {
            Self {
                config,
                clock,
                observer,
                word: atomic_u32!(0),
                t1: atomic_u32!(0),
                t2: atomic_u32!(0),
                window: empty_window(),
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &'a Config<P> {
        self.config
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    #[inline(always)]
    fn load(&self) -> Word {
        Word(self.word.load(Acquire))
    }

    #[inline(always)]
    fn cas(&self, old: Word, new: Word) -> Result<(), Word> {
        self.word
            .compare_exchange(old.0, new.0, AcqRel, Acquire)
            .map(drop)
            .map_err(Word)
    }

    #[inline(always)]
    fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Asks to make a call: a [`Permit`], or why not.
    ///
    /// In `open` state this reads the clock; the first acquire at or past
    /// `retryAt` moves the breaker to `halfOpen` and gets a trial permit.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_, 'a, C, P, O>, Rejected> {
        match self.acquire() {
            Ok(token) => Ok(Permit {
                breaker: self,
                token,
            }),
            Err(r) => Err(r),
        }
    }

    /// [`try_acquire`](Self::try_acquire) for bindings: the permit as plain
    /// data.
    #[inline]
    pub fn try_acquire_token(&self) -> Result<PermitToken, Rejected> {
        self.acquire()
    }

    #[inline(always)]
    fn acquire(&self) -> Result<PermitToken, Rejected> {
        let w = self.load();
        // The steady state: closed, no slow-call timing. One load, no write.
        if w.state() == State::Closed && self.config.slow_call_ms == 0 {
            return Ok(PermitToken {
                epoch: w.epoch(),
                trial: false,
                started_ms: PermitToken::NOT_TIMED,
            });
        }
        self.acquire_slow(w)
    }

    #[inline(never)]
    fn acquire_slow(&self, mut w: Word) -> Result<PermitToken, Rejected> {
        let mut now = None;
        let started_ms = if self.config.slow_call_ms != 0 {
            let t = self.now();
            if t >= TIME_LIMIT {
                return Err(self.reject(RejectReason::ClockOutOfRange, None));
            }
            now = Some(t);
            t
        } else {
            PermitToken::NOT_TIMED
        };
        loop {
            match w.state() {
                State::Closed => {
                    return Ok(PermitToken {
                        epoch: w.epoch(),
                        trial: false,
                        started_ms,
                    })
                }
                State::HalfOpen => {
                    if w.in_flight() >= self.config.half_open_max_calls {
                        return Err(self.reject(RejectReason::HalfOpenFull, None));
                    }
                    let next = Word::half_open(w.epoch(), w.in_flight() + 1, w.k());
                    match self.cas(w, next) {
                        Ok(()) => {
                            return Ok(PermitToken {
                                epoch: w.epoch(),
                                trial: true,
                                started_ms,
                            })
                        }
                        Err(x) => w = x,
                    }
                }
                State::Isolated => return Err(self.reject(RejectReason::Isolated, None)),
                State::Open => {
                    let t = *now.get_or_insert_with(|| self.now());
                    if t >= TIME_LIMIT {
                        return Err(self.reject(RejectReason::ClockOutOfRange, None));
                    }
                    let duration = self.config.open_duration_ms(w.k() as u32) as u64;
                    let Some(opened) = self.opened_at(w) else {
                        // Either `w` is stale (a later epoch has tagged the
                        // time words already: look again), or the opening
                        // caller has not written the time yet and the open
                        // period has only just begun.
                        let x = self.load();
                        if x != w {
                            w = x;
                            continue;
                        }
                        return Err(self.reject(RejectReason::Open, Some(duration)));
                    };
                    let retry_at = opened.saturating_add(duration);
                    if t < retry_at {
                        return Err(self.reject(RejectReason::Open, Some(retry_at - t)));
                    }
                    let epoch = next_epoch(w.epoch());
                    match self.cas(w, Word::half_open(epoch, 1, w.k())) {
                        Ok(()) => {
                            self.begin_epoch(epoch);
                            let token = PermitToken {
                                epoch,
                                trial: true,
                                started_ms,
                            };
                            // The slot is taken but no permit exists yet: if
                            // the transition hook unwinds, give the slot back.
                            let guard = SlotGuard {
                                breaker: self,
                                token: &token,
                            };
                            self.transition(State::Open, State::HalfOpen, epoch);
                            core::mem::forget(guard);
                            return Ok(token);
                        }
                        Err(x) => w = x,
                    }
                }
            }
        }
    }

    #[cold]
    fn reject(&self, reason: RejectReason, retry_after_ms: Option<u64>) -> Rejected {
        self.observer.on_reject(reason);
        Rejected {
            reason,
            retry_after_ms,
        }
    }

    #[inline(always)]
    fn transition(&self, from: State, to: State, epoch: u16) {
        self.observer.on_transition(Transition { from, to, epoch });
    }

    /// Records the outcome of a detached permit.
    #[inline]
    pub fn record_token(&self, token: PermitToken, outcome: Outcome) {
        let counted = self.apply(&token, Some(outcome));
        self.report(counted);
    }

    /// Gives back a detached permit without an outcome (a *drop*).
    pub fn release_token(&self, token: PermitToken) {
        self.apply(&token, None);
    }

    /// Runs the observer hook of an outcome, after the state was updated.
    #[inline(always)]
    pub(crate) fn report(&self, counted: Counted) {
        match counted {
            Counted::Success => self.observer.on_success(),
            Counted::Failure { slow } => self.observer.on_failure(slow),
            Counted::Ignored => self.observer.on_ignore(),
            Counted::Dropped => {}
        }
    }

    /// Applies an outcome (`None`: a drop) of a permit to the state. Calls no
    /// outcome hook (see [`report`](Self::report)); the only user code it may
    /// run is a clock read (slow calls, a trip, a time bucket) and a
    /// transition hook.
    #[inline(always)]
    pub(crate) fn apply(&self, token: &PermitToken, outcome: Option<Outcome>) -> Counted {
        if outcome == Some(Outcome::Success) && !token.is_timed() {
            // Relaxed: the fast path reads nothing the word could publish; the
            // slow path's compare-and-swaps order what they change.
            let w = Word(self.word.load(Relaxed));
            // The steady state of the consecutive policy: a closed success
            // with no failure run to reset writes nothing.
            if w.0 != Word::closed(token.epoch, 0).0
                || !matches!(self.config.policy.kind(), Kind::Consecutive(_))
            {
                self.apply_slow(token, w, false, None);
            }
            return Counted::Success;
        }
        self.apply_outcome(token, outcome)
    }

    #[inline(never)]
    fn apply_outcome(&self, token: &PermitToken, outcome: Option<Outcome>) -> Counted {
        let mut now = None;
        let (failed, counted) = match outcome {
            Some(Outcome::Success) => {
                let mut slow = false;
                // An untimed token (forged: they are timed when slowCallMs
                // is set) starts at `u64::MAX` and is never slow.
                if self.config.slow_call_ms != 0 {
                    let t = self.now();
                    now = Some(t);
                    slow = t.saturating_sub(token.started_ms) >= self.config.slow_call_ms as u64;
                }
                if slow {
                    (true, Counted::Failure { slow: true })
                } else {
                    (false, Counted::Success)
                }
            }
            Some(Outcome::Failure) => (true, Counted::Failure { slow: false }),
            Some(Outcome::Ignore) => {
                self.release(token);
                return Counted::Ignored;
            }
            None => {
                self.release(token);
                return Counted::Dropped;
            }
        };
        self.apply_slow(token, self.load(), failed, now);
        counted
    }

    /// Applies a success or failure of `token`; `w` is a fresh load of the
    /// state word.
    #[inline(never)]
    fn apply_slow(&self, token: &PermitToken, w: Word, failed: bool, now: Option<u64>) {
        if w.epoch() != token.epoch {
            return; // A permit of an earlier epoch changes nothing.
        }
        // A permit counts only in an epoch of the state it was granted in: a
        // closed permit held while the 14-bit epoch wrapped onto a half-open
        // epoch (or a trial permit onto a closed one) is stale too.
        match (w.state(), token.trial) {
            (State::Closed, false) => {
                if failed {
                    self.closed_failure(w, now);
                } else {
                    self.closed_success(w, now);
                }
            }
            (State::HalfOpen, true) => {
                if failed {
                    self.trial_failure(w, now);
                } else {
                    self.trial_success(w);
                }
            }
            // An epoch has one state: a permit is never of an open or
            // isolated epoch.
            _ => {}
        }
    }

    /// The current closed epoch, if closed.
    pub(crate) fn closed_epoch(&self) -> Option<u16> {
        let w = self.load();
        (w.state() == State::Closed).then_some(w.epoch())
    }

    #[inline(always)]
    fn closed_success(&self, mut w: Word, now: Option<u64>) {
        match self.config.policy.kind() {
            Kind::Consecutive(_) => {
                // The steady state: nothing to write.
                while w.run() != 0 {
                    match self.cas(w, Word::closed(w.epoch(), 0)) {
                        Ok(()) => return,
                        Err(x) if x.epoch() == w.epoch() => w = x,
                        Err(_) => return,
                    }
                }
            }
            Kind::Rate(p) => {
                if let Some(win) = self.window.count() {
                    win.record(&p, w.epoch(), false, &|| self.closed_epoch());
                }
            }
            Kind::Time(p) => {
                if let Some(win) = self.window.buckets() {
                    let t = bucket_time(now.unwrap_or_else(|| self.now()));
                    win.record(&p, w.epoch(), false, t, &|| self.closed_epoch());
                }
            }
        }
    }

    fn closed_failure(&self, mut w: Word, mut now: Option<u64>) {
        let epoch = w.epoch();
        match self.config.policy.kind() {
            Kind::Consecutive(p) => loop {
                let run = w.run() + 1;
                let result = if run >= p.threshold {
                    // Re-decided on every retry: a success that lands first
                    // resets the run, and this failure then does not trip.
                    self.try_open(w, 0, &mut now)
                } else {
                    self.cas(w, Word::closed(epoch, run))
                };
                match result {
                    Err(x) if x.epoch() == epoch && x.state() == State::Closed => w = x,
                    _ => return,
                }
            },
            Kind::Rate(p) => {
                let trip = self
                    .window
                    .count()
                    .and_then(|win| win.record(&p, epoch, true, &|| self.closed_epoch()));
                if let Some(e) = trip {
                    self.trip_closed(e, now);
                }
            }
            Kind::Time(p) => {
                let t = bucket_time(*now.get_or_insert_with(|| self.now()));
                let trip = self
                    .window
                    .buckets()
                    .and_then(|win| win.record(&p, epoch, true, t, &|| self.closed_epoch()));
                if let Some(e) = trip {
                    self.trip_closed(e, now);
                }
            }
        }
    }

    /// A window fired in closed epoch `epoch`: open, if that epoch is current.
    pub(crate) fn trip_closed(&self, epoch: u16, mut now: Option<u64>) {
        let mut w = self.load();
        while w.epoch() == epoch && w.state() == State::Closed {
            match self.try_open(w, 0, &mut now) {
                Ok(()) => return,
                Err(x) => w = x,
            }
        }
    }

    /// One attempt to move `from` (closed or half-open) to open with `k`. The
    /// winner writes the opening time and reports the transition.
    fn try_open(&self, from: Word, k: u8, now: &mut Option<u64>) -> Result<(), Word> {
        // A reading out of range cannot be kept: the breaker opens at the
        // last time it can keep, which every in-range reading is behind, so
        // it stays open (and says why at every acquire that reads such a
        // clock) until reset.
        let t = (*now.get_or_insert_with(|| self.now())).min(TIME_LIMIT - 1);
        let next = next_epoch(from.epoch());
        self.cas(from, Word::open(next, k, t))?;
        self.write_time(next, t);
        self.transition(from.state(), State::Open, next);
        Ok(())
    }

    fn write_time(&self, epoch: u16, t: u64) {
        self.tagged_write(&self.t1, epoch, tag(epoch) | (t as u32 & LOW24), false);
        self.tagged_write(
            &self.t2,
            epoch,
            tag(epoch) | ((t >> 24) as u32 & LOW24),
            false,
        );
    }

    /// Writes `value` (which carries `epoch`'s tag) into a side word while
    /// `epoch` is current: an overtaken writer gives up instead of
    /// overwriting a newer epoch's value. With `keep_tagged`, a word that
    /// already carries the tag is left alone (a trial success may have
    /// landed first).
    fn tagged_write(&self, word: &AtomicU32, epoch: u16, value: u32, keep_tagged: bool) {
        let mut x = word.load(Acquire);
        loop {
            if self.load().epoch() != epoch || (keep_tagged && x & !LOW24 == tag(epoch)) {
                return;
            }
            match word.compare_exchange_weak(x, value, AcqRel, Acquire) {
                Ok(_) => return,
                Err(y) => x = y,
            }
        }
    }

    /// Marks the side words as belonging to `epoch`, which just began (not
    /// open: an opening writes its time instead). Every epoch leaves its tag
    /// on the time words, so a fresh open epoch never finds matching tags left
    /// from 256 epochs earlier. (Windows are handled before the transition
    /// into closed, by `clear_for`.)
    fn begin_epoch(&self, epoch: u16) {
        self.tagged_write(&self.t1, epoch, tag(epoch), true);
        self.tagged_write(&self.t2, epoch, tag(epoch), true);
    }

    /// The opening time of open word `w`, once its writer has written it.
    fn opened_at(&self, w: Word) -> Option<u64> {
        let a = self.t1.load(Acquire);
        let b = self.t2.load(Acquire);
        let t = tag(w.epoch());
        if a & !LOW24 != t || b & !LOW24 != t {
            return None;
        }
        Some(w.time_hi() | ((b & LOW24) as u64) << 24 | (a & LOW24) as u64)
    }

    fn trial_success(&self, w: Word) {
        let epoch = w.epoch();
        let mut x = self.t1.load(Acquire);
        let successes = loop {
            let cur = self.load();
            if cur.epoch() != epoch {
                return;
            }
            let n = if x & !LOW24 == tag(epoch) {
                x & LOW24
            } else {
                0
            } + 1;
            match self
                .t1
                .compare_exchange_weak(x, tag(epoch) | n, AcqRel, Acquire)
            {
                Ok(_) => break n,
                Err(y) => x = y,
            }
        };
        if successes >= self.config.success_threshold as u32 {
            let mut from = self.load();
            let next = next_epoch(epoch);
            loop {
                if from.epoch() != epoch {
                    return;
                }
                self.window.clear_for(next);
                match self.cas(from, Word::closed(next, 0)) {
                    Ok(()) => {
                        self.begin_epoch(next);
                        self.transition(State::HalfOpen, State::Closed, next);
                        return;
                    }
                    Err(x) => from = x,
                }
            }
        } else {
            self.release_slot(epoch);
        }
    }

    /// Any trial failure re-opens, whatever else changed in the half-open
    /// epoch meanwhile (slots taken or freed).
    fn trial_failure(&self, mut w: Word, mut now: Option<u64>) {
        let epoch = w.epoch();
        while w.epoch() == epoch && w.state() == State::HalfOpen {
            let k = if w.k() < K_MAX { w.k() + 1 } else { K_MAX };
            match self.try_open(w, k, &mut now) {
                Ok(()) => return,
                Err(x) => w = x,
            }
        }
    }

    /// Frees the half-open slot of a trial permit, if its epoch is current.
    fn release(&self, token: &PermitToken) {
        if token.trial {
            self.release_slot(token.epoch);
        }
    }

    /// Frees a half-open slot of `epoch`, if that epoch is current.
    fn release_slot(&self, epoch: u16) {
        let mut w = self.load();
        while w.epoch() == epoch && w.state() == State::HalfOpen && w.in_flight() > 0 {
            match self.cas(w, Word::half_open(epoch, w.in_flight() - 1, w.k())) {
                Ok(()) => return,
                Err(x) => w = x,
            }
        }
    }

    /// Moves to `to` (`closed` with a clean slate, or `isolated`) from any
    /// state, starting a new epoch.
    fn force(&self, to: State) {
        let mut w = self.load();
        loop {
            let next = next_epoch(w.epoch());
            let word = if to == State::Closed {
                Word::closed(next, 0)
            } else {
                Word::isolated(next)
            };
            if to == State::Closed {
                self.window.clear_for(next);
            }
            match self.cas(w, word) {
                Ok(()) => {
                    self.begin_epoch(next);
                    if w.state() != to {
                        self.transition(w.state(), to, next);
                    }
                    return;
                }
                Err(x) => w = x,
            }
        }
    }

    /// Rejects every call until [`reset`](Self::reset), from any state.
    pub fn isolate(&self) {
        self.force(State::Isolated);
    }

    /// Closes the breaker with a clean slate (failure run, windows, half-open
    /// counts, backoff step), from any state. Metrics totals are kept.
    pub fn reset(&self) {
        self.force(State::Closed);
    }

    /// The state as of now. Reads the clock only when open: once the open
    /// period is over this reports `HalfOpen`, although only the next acquire
    /// records the transition.
    pub fn state(&self) -> State {
        let w = self.load();
        match w.state() {
            State::Open => self.state_at_word(w, self.now()),
            s => s,
        }
    }

    /// The state as it reads at time `now_ms`; pure, like [`state`](Self::state).
    pub fn state_at(&self, now_ms: u64) -> State {
        self.state_at_word(self.load(), now_ms)
    }

    fn state_at_word(&self, w: Word, now: u64) -> State {
        match (w.state(), self.retry_at(w)) {
            // A reading out of range never ends an open period.
            (State::Open, Some(at)) if now >= at && now < TIME_LIMIT => State::HalfOpen,
            (s, _) => s,
        }
    }

    fn retry_at(&self, w: Word) -> Option<u64> {
        let opened = self.opened_at(w)?;
        Some(opened.saturating_add(self.config.open_duration_ms(w.k() as u32) as u64))
    }

    /// The current epoch.
    pub fn epoch(&self) -> u16 {
        self.load().epoch()
    }

    /// The metrics: totals if the observer keeps them, and the decision state.
    /// Reads the clock only when open or for a time window.
    pub fn metrics(&self) -> Metrics {
        let w = self.load();
        let kind = self.config.policy.kind();
        let now = if w.state() == State::Open || matches!(kind, Kind::Time(_)) {
            self.now()
        } else {
            0
        };
        let totals = self.observer.totals();
        let t = totals.unwrap_or_default();
        let (opened_at, retry_at) = if w.state() == State::Open {
            (self.opened_at(w), self.retry_at(w))
        } else {
            (None, None)
        };
        let closed = w.state() == State::Closed;
        let window = match kind {
            Kind::Consecutive(_) => None,
            Kind::Rate(_) => {
                let (f, n) = self.window.count().map_or((0, 0), |c| c.totals(w.epoch()));
                Some(if closed { (f as u64, n as u64) } else { (0, 0) })
            }
            Kind::Time(p) => {
                let tw = self
                    .window
                    .buckets()
                    .map_or((0, 0), |b| b.totals(&p, w.epoch(), now));
                Some(if closed { tw } else { (0, 0) })
            }
        };
        Metrics {
            successes: t.successes,
            failures: t.failures,
            slow_calls: t.slow_calls,
            ignored: t.ignored,
            rejected: t.rejected,
            transitions: t.transitions,
            totals_kept: totals.is_some(),
            state: self.state_at_word(w, now),
            epoch: w.epoch(),
            opened_at,
            retry_at,
            failure_run: if closed { w.run() } else { 0 },
            window,
        }
    }

    /// The totals, if the observer keeps them.
    pub fn totals(&self) -> Option<Totals> {
        self.observer.totals()
    }

    /// A coarse health summary: `Critical` when open or isolated, `Degraded`
    /// when half-open or closed but at least half way to tripping, else
    /// `Healthy`.
    pub fn health(&self) -> Health {
        let m = self.metrics();
        match m.state {
            State::Open | State::Isolated => Health::Critical,
            State::HalfOpen => Health::Degraded,
            State::Closed => {
                let halfway = match self.config.policy.kind() {
                    Kind::Consecutive(p) => m.failure_run as u32 * 2 >= p.threshold as u32,
                    Kind::Rate(p) => m.window.is_some_and(|(f, n)| {
                        n >= p.minimum_calls as u64 && f * 200 >= p.percent as u64 * n
                    }),
                    Kind::Time(p) => m.window.is_some_and(|(f, n)| {
                        n >= p.minimum_calls as u64 && f * 200 >= p.percent as u64 * n
                    }),
                };
                if halfway && m.failure_run as u64 + m.window.map_or(0, |w| w.0) > 0 {
                    Health::Degraded
                } else {
                    Health::Healthy
                }
            }
        }
    }

    /// Runs `f` if the breaker allows it; an `Err` counts as a failure, an
    /// `Ok` as a success.
    #[inline]
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_classified(f, |r| match r {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
    }

    /// Runs `f` if the breaker allows it, and records what `classify` makes
    /// of its result: per error (a 404 may be [`Outcome::Ignore`]) and per
    /// success (an empty reply may be a [`Outcome::Failure`]).
    ///
    /// ```
    /// use halfopen::{Breaker, Config, MockClock, Outcome, State};
    ///
    /// let config = Config::consecutive_failures(1).build().unwrap();
    /// let clock = MockClock::new(0);
    /// let breaker = Breaker::new(&config, &clock);
    /// let not_found = breaker.call_classified(
    ///     || Err::<(), u16>(404),
    ///     |r| match r {
    ///         Err(404) => Outcome::Ignore,
    ///         Err(_) => Outcome::Failure,
    ///         Ok(_) => Outcome::Success,
    ///     },
    /// );
    /// assert!(not_found.is_err());
    /// assert_eq!(breaker.state(), State::Closed);
    /// ```
    #[inline]
    pub fn call_classified<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = f();
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// Awaits `future` if the breaker allows it; an `Err` counts as a
    /// failure. No executor is assumed. If the returned future is dropped
    /// before it completes, the permit is dropped: its half-open slot is freed
    /// and nothing is counted.
    #[inline]
    pub async fn call_async<T, E, F>(&self, future: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.call_async_classified(future, |r| match r {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
        .await
    }

    /// [`call_async`](Self::call_async) with a classifier, as in
    /// [`call_classified`](Self::call_classified).
    #[inline]
    pub async fn call_async_classified<T, E, F>(
        &self,
        future: F,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = future.await;
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    // --- snapshot support (see snapshot.rs) ---

    pub(crate) fn raw_word(&self) -> Word {
        self.load()
    }

    pub(crate) fn raw_opened_at(&self, w: Word) -> Option<u64> {
        self.opened_at(w)
    }

    pub(crate) fn raw_trial_successes(&self, w: Word) -> u32 {
        let x = self.t1.load(Acquire);
        if w.state() == State::HalfOpen && x & !LOW24 == tag(w.epoch()) {
            x & LOW24
        } else {
            0
        }
    }

    pub(crate) fn raw_window(&self) -> &P::Window {
        &self.window
    }

    /// Installs a restored decision state `w` (see
    /// [`restore`](Self::restore)), if this breaker is still in the word it
    /// was built with (closed, epoch 0, no failure run).
    ///
    /// The restore claims the breaker with one compare-and-swap (to
    /// `isolated` in the restored epoch, so nothing counts meanwhile), takes
    /// the window's owner bits, writes the window and the time words with the
    /// restored epoch's tag, and publishes `w` with a last compare-and-swap.
    /// A breaker someone else is changing is refused (`InUse`) and left as it
    /// was; an `isolate` or `reset` that lands during the restore wins, as
    /// if it came just after it.
    pub(crate) fn install(
        &self,
        w: Word,
        opened_at: u64,
        trial_successes: u32,
        ring: Option<(u64, u8, u8)>,
    ) -> Result<(), crate::SnapshotError> {
        let e = w.epoch();
        let claim = Word::isolated(e);
        if self.cas(Word(0), claim).is_err() {
            return Err(crate::SnapshotError::InUse);
        }
        if !self.window.claim() {
            // A recorder of the first epoch is inside the window: give the
            // breaker back as it was, unless a reset or isolate overtook us.
            return match self.cas(claim, Word(0)) {
                Ok(()) => Err(crate::SnapshotError::InUse),
                Err(_) => Ok(()),
            };
        }
        self.window.install(e, ring);
        // Every time word carries the restored epoch's tag, so no later epoch
        // can mistake a leftover value for its own (a time word reading 0 is
        // the tag of epochs 0, 256, 512, ...).
        let (a, b) = match w.state() {
            State::Open => (
                tag(e) | (opened_at as u32 & LOW24),
                tag(e) | ((opened_at >> 24) as u32 & LOW24),
            ),
            State::HalfOpen => (tag(e) | (trial_successes & LOW24), tag(e)),
            State::Closed | State::Isolated => (tag(e), tag(e)),
        };
        self.tagged_write(&self.t1, e, a, false);
        self.tagged_write(&self.t2, e, b, false);
        // Fails only if an isolate or reset overtook the restore: it stands.
        let _ = self.cas(claim, w);
        Ok(())
    }
}

// A breaker is shared by reference between threads: every field it mutates
// is atomic. These assertions keep it that way.
#[cfg(not(loom))]
const _: () = {
    const fn assert_sync<T: Sync + Send>() {}
    assert_sync::<Breaker<'static, crate::clock::MockClock, ConsecutiveFailures, ()>>();
    assert_sync::<Breaker<'static, crate::clock::MockClock, crate::AnyPolicy, crate::Counters>>();
};
