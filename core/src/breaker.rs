//! The breaker: the state machine of the specification (`SPEC.md`) applied
//! with compare-and-swap.
//!
//! Three 32-bit words hold everything a consecutive-failure breaker decides
//! with (the rate policies add their window, see `window.rs`):
//!
//! - the state word (see `state.rs`): state, epoch and the per-state counters,
//!   changed only by CAS, so each transition has exactly one winner;
//! - two time words (`time_words.rs`): the opening time while open, the
//!   trial successes while half-open, tagged with their epoch so that no
//!   reader or writer ever waits.
//!
//! The clock is read only when a decision needs it: in open state, when
//! tripping, for time-window bucketing, and around calls when `slowCallMs` is
//! set. A closed-state success with the consecutive policy is one atomic load
//! at acquire and one at record, and writes nothing unless a failure run has
//! to be reset.

use core::fmt;

use crate::clock::Clock;
use crate::config::Config;
use crate::machine::{self, Step};
use crate::observer::{Observer, Transition};
use crate::permit::{Counted, Outcome, Permit, PermitToken, SlotGuard};
use crate::policy::{ConsecutiveFailures, Kind, Policy};
use crate::reject::{RejectReason, Rejected};
use crate::state::{State, Word, TIME_LIMIT};
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};
use crate::time_words::TimeWords;
use crate::window::{empty_window, WindowStore};

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
    pub(crate) config: &'a Config<P>,
    pub(crate) clock: C,
    pub(crate) observer: O,
    /// The state word (`state.rs`): changed only by compare-and-swap.
    pub(crate) word: AtomicU32,
    /// The opening time or trial successes, tagged (`time_words.rs`).
    pub(crate) time: TimeWords,
    /// The policy's outcome window (`window.rs`); empty for the consecutive
    /// policy.
    pub(crate) window: P::Window,
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
                time: TimeWords::new(),
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
    pub(crate) fn load(&self) -> Word {
        Word(self.word.load(Acquire))
    }

    #[inline(always)]
    pub(crate) fn cas(&self, old: Word, new: Word) -> Result<(), Word> {
        self.word
            .compare_exchange(old.0, new.0, AcqRel, Acquire)
            .map(drop)
            .map_err(Word)
    }

    #[inline(always)]
    pub(crate) fn now(&self) -> u64 {
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
            return Ok(PermitToken::granted(w, PermitToken::NOT_TIMED));
        }
        self.acquire_slow(w)
    }

    #[inline(never)]
    fn acquire_slow(&self, w: Word) -> Result<PermitToken, Rejected> {
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
        // The rule says which word the permit is granted under, or why not.
        let (result, swapped) = self.update(w, |w| match w.state() {
            State::Closed => Step::Keep(Ok(w)),
            State::HalfOpen => match machine::take_slot(w, self.config.half_open_max_calls) {
                Some(next) => Step::Swap(next, Ok(next)),
                None => Step::Keep(Err((RejectReason::HalfOpenFull, None))),
            },
            State::Isolated => Step::Keep(Err((RejectReason::Isolated, None))),
            State::Open => {
                let t = *now.get_or_insert_with(|| self.now());
                if t >= TIME_LIMIT {
                    return Step::Keep(Err((RejectReason::ClockOutOfRange, None)));
                }
                let duration = self.config.open_duration_ms(w.k() as u32) as u64;
                let Some(opened) = self.time.opened_at(w) else {
                    // Either `w` is stale (a later epoch has tagged the time
                    // words already: look again), or the opening caller has
                    // not written the time yet and the open period has only
                    // just begun.
                    let x = self.load();
                    if x != w {
                        return Step::Retry(x);
                    }
                    return Step::Keep(Err((RejectReason::Open, Some(duration))));
                };
                match machine::open_left(opened, duration, t) {
                    Err(left) => Step::Keep(Err((RejectReason::Open, Some(left)))),
                    Ok(()) => {
                        let next = machine::half_open(w);
                        Step::Swap(next, Ok(next))
                    }
                }
            }
        });
        let granted = match result {
            Ok(granted) => granted,
            Err((reason, retry_after_ms)) => return Err(self.reject(reason, retry_after_ms)),
        };
        let token = PermitToken::granted(granted, started_ms);
        if let Some((from, to)) = swapped {
            if from.state() == State::Open {
                self.time.begin(&self.word, to.epoch());
                // The slot is taken but no permit exists yet: if the
                // transition hook unwinds, give the slot back.
                let guard = SlotGuard {
                    breaker: self,
                    token: &token,
                };
                self.transition(State::Open, State::HalfOpen, to.epoch());
                core::mem::forget(guard);
            }
        }
        Ok(token)
    }

    /// Applies `rule` to the state word, starting from `w` (a fresh load):
    /// the one compare-and-swap loop every state change goes through (a
    /// restore's claim aside). Returns the rule's result and, if it swapped,
    /// the word it replaced and the word it wrote.
    #[inline(always)]
    pub(crate) fn update<T>(
        &self,
        mut w: Word,
        mut rule: impl FnMut(Word) -> Step<T>,
    ) -> (T, Option<(Word, Word)>) {
        loop {
            match rule(w) {
                Step::Keep(t) => return (t, None),
                Step::Retry(x) => w = x,
                Step::Swap(new, t) => match self.cas(w, new) {
                    Ok(()) => return (t, Some((w, new))),
                    Err(x) => w = x,
                },
            }
        }
    }

    #[cold]
    pub(crate) fn reject(&self, reason: RejectReason, retry_after_ms: Option<u64>) -> Rejected {
        self.observer.on_reject(reason);
        Rejected {
            reason,
            retry_after_ms,
        }
    }

    #[inline(always)]
    pub(crate) fn transition(&self, from: State, to: State, epoch: u16) {
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
            if w.0 != token.key as u32 || !matches!(self.config.policy.kind(), Kind::Consecutive(_))
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
    pub(crate) fn apply_slow(&self, token: &PermitToken, w: Word, failed: bool, now: Option<u64>) {
        // A permit of an earlier epoch changes nothing. A permit counts only
        // in an epoch of the state it was granted in: a closed permit held
        // while the 14-bit epoch wrapped onto a half-open epoch (or a trial
        // permit onto a closed one) is stale too. Both in one compare.
        if w.0 as u16 != token.key {
            return;
        }
        match w.state() {
            State::Closed => {
                if failed {
                    self.closed_failure(w, now);
                } else {
                    self.closed_success(w, now);
                }
            }
            State::HalfOpen => {
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
    fn closed_success(&self, w: Word, now: Option<u64>) {
        match self.config.policy.kind() {
            Kind::Consecutive(_) => {
                // The steady state (no run to reset) writes nothing.
                let epoch = w.epoch();
                self.update(w, |w| {
                    if w.0 as u16 == Word::closed(epoch, 0).0 as u16 && w.run() != 0 {
                        Step::Swap(Word::closed(epoch, 0), ())
                    } else {
                        Step::Keep(())
                    }
                });
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

    fn closed_failure(&self, w: Word, mut now: Option<u64>) {
        let epoch = w.epoch();
        match self.config.policy.kind() {
            Kind::Consecutive(p) => self.fail(w, w, Some(p.threshold), now),
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
    pub(crate) fn trip_closed(&self, epoch: u16, now: Option<u64>) {
        self.fail(self.load(), Word::closed(epoch, 0), None, now);
    }

    /// A failure that counts in the epoch and state of `key` (closed or
    /// half-open), from `w`: with `run_to`, the consecutive policy's run
    /// grows and trips at that threshold; without, it trips (a window fired,
    /// or a trial failed). A trip opens with the re-trip count of its state;
    /// the winner writes the opening time, then reports the transition. Every
    /// way into `open` goes through here.
    #[inline(never)]
    fn fail(&self, w: Word, key: Word, run_to: Option<u16>, mut now: Option<u64>) {
        let (t, swapped) = self.update(w, |w| {
            if w.0 as u16 != key.0 as u16 {
                return Step::Keep(0);
            }
            // Re-decided on every retry: a success that lands first resets
            // the run, and this failure then does not trip.
            if let Some(threshold) = run_to {
                if let Some(next) = machine::failure_run(w, threshold) {
                    return Step::Swap(next, 0);
                }
            }
            let k = if w.state() == State::HalfOpen {
                machine::retrip_k(w)
            } else {
                0
            };
            // A reading out of range cannot be kept: the breaker opens at
            // the last time it can keep, which every in-range reading is
            // behind, so it stays open (and says why at every acquire that
            // reads such a clock) until reset.
            let t = (*now.get_or_insert_with(|| self.now())).min(TIME_LIMIT - 1);
            Step::Swap(machine::open(w, k, t), t)
        });
        if let Some((from, to)) = swapped {
            if to.state() == State::Open {
                self.time.write_opening(&self.word, to.epoch(), t);
                self.transition(from.state(), State::Open, to.epoch());
            }
        }
    }

    fn trial_success(&self, w: Word) {
        let epoch = w.epoch();
        let Some(successes) = self.time.add_trial_success(&self.word, epoch) else {
            return;
        };
        if successes < self.config.success_threshold as u32 {
            return self.release_slot(epoch);
        }
        let (_, swapped) = self.update(self.load(), |w| {
            if w.epoch() != epoch {
                return Step::Keep(());
            }
            let next = machine::close(w);
            self.window.clear_for(next.epoch());
            Step::Swap(next, ())
        });
        if let Some((_, to)) = swapped {
            self.time.begin(&self.word, to.epoch());
            self.transition(State::HalfOpen, State::Closed, to.epoch());
        }
    }

    /// Any trial failure re-opens, whatever else changed in the half-open
    /// epoch meanwhile (slots taken or freed).
    fn trial_failure(&self, w: Word, now: Option<u64>) {
        self.fail(w, w, None, now);
    }

    /// Frees the half-open slot of a trial permit, if its epoch is current.
    fn release(&self, token: &PermitToken) {
        if token.is_trial() {
            self.release_slot(token.epoch());
        }
    }

    /// Frees a half-open slot of `epoch`, if that epoch is current.
    fn release_slot(&self, epoch: u16) {
        self.update(self.load(), |w| match machine::free_slot(w, epoch) {
            Some(next) => Step::Swap(next, ()),
            None => Step::Keep(()),
        });
    }

    /// Moves to `to` (`closed` with a clean slate, or `isolated`) from any
    /// state, starting a new epoch.
    fn force(&self, to: State) {
        let (_, swapped) = self.update(self.load(), |w| {
            let next = machine::forced(w, to);
            if to == State::Closed {
                self.window.clear_for(next.epoch());
            }
            Step::Swap(next, ())
        });
        if let Some((from, next)) = swapped {
            self.time.begin(&self.word, next.epoch());
            if from.state() != to {
                self.transition(from.state(), to, next.epoch());
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

    pub(crate) fn state_at_word(&self, w: Word, now: u64) -> State {
        match (w.state(), self.retry_at(w)) {
            // A reading out of range never ends an open period.
            (State::Open, Some(at)) if now >= at && now < TIME_LIMIT => State::HalfOpen,
            (s, _) => s,
        }
    }

    pub(crate) fn retry_at(&self, w: Word) -> Option<u64> {
        let opened = self.time.opened_at(w)?;
        Some(opened.saturating_add(self.config.open_duration_ms(w.k() as u32) as u64))
    }

    /// The current epoch.
    pub fn epoch(&self) -> u16 {
        self.load().epoch()
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
        self.time.install(&self.word, w, opened_at, trial_successes);
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
