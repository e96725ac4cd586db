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
//! to be reset; with a full count window of successes it is one load more;
//! with a time window, a clock read and one compare-and-swap on a pending
//! count (see `window/`).

use core::fmt;

use crate::clock::Clock;
use crate::config::Config;
use crate::machine::{self, Step};
use crate::observer::{Cause, Observer, Transition};

use crate::policy::{ConsecutiveFailures, Policy};
use crate::reject::{RejectReason, Rejected};
use crate::state::{State, Word, CLOCK_LIMIT};
use crate::sync::{atomic_u32, const_fn, AtomicU32, Ordering::*};
use crate::time_words::TimeWords;
use crate::window::{empty_window, WindowStore};

/// The reading a time bucket is chosen by: one out of range (see
/// [`RejectReason::ClockOutOfRange`]) counts as a clock behind the window
/// (0), so it records into the newest bucket and moves no window.
#[inline(always)]
pub(crate) const fn bucket_time(t: u64) -> u64 {
    if t < CLOCK_LIMIT {
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
    pub(crate) fn transition(&self, from: State, to: State, epoch: u16, cause: Cause) {
        self.observer.on_transition(Transition {
            from,
            to,
            epoch,
            cause,
        });
    }

    /// Whether half-open word `w` has passed its deadline
    /// (`halfOpenAt + halfOpenMaxWaitMs`) at `now`: never without the key,
    /// before the entry time is written, or on a clock behind the entry or
    /// out of range.
    pub(crate) fn half_open_expired(&self, w: Word, now: u64) -> bool {
        let wait = self.config.half_open_max_wait_ms;
        if !cfg!(feature = "half-open-max-wait")
            || wait == 0
            || w.state() != State::HalfOpen
            || now >= CLOCK_LIMIT
        {
            return false;
        }
        match self.time.half_open_at(w) {
            Some(at) => machine::half_open_elapsed(at, now).is_some_and(|e| e >= wait as u64),
            None => false,
        }
    }

    /// Before an acquire or outcome in half-open with `halfOpenMaxWaitMs`:
    /// re-opens `w` as a trial failure would if its deadline has passed
    /// (reading the clock into `now` if it was not read yet). Returns the
    /// word to go on with.
    #[inline]
    pub(crate) fn expire(&self, w: Word, now: &mut Option<u64>) -> Word {
        if !cfg!(feature = "half-open-max-wait")
            || self.config.half_open_max_wait_ms == 0
            || w.state() != State::HalfOpen
        {
            return w;
        }
        let t = *now.get_or_insert_with(|| self.now());
        if !self.half_open_expired(w, t) {
            return w;
        }
        self.fail(w, w, None, *now, Cause::HalfOpenMaxWait);
        self.load()
    }

    /// Moves to `to` (`closed` with a clean slate, or `isolated`) from any
    /// state, starting a new epoch.
    pub(crate) fn force_by(&self, to: State, cause: Cause) {
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
                self.transition(from.state(), to, next.epoch(), cause);
            }
        }
    }

    /// Rejects every call until [`reset`](Self::reset), from any state.
    pub fn isolate(&self) {
        self.force_by(State::Isolated, Cause::Isolate);
    }

    /// Closes the breaker with a clean slate (failure run, windows, half-open
    /// counts, backoff step), from any state. Metrics totals are kept.
    pub fn reset(&self) {
        self.force_by(State::Closed, Cause::Reset);
    }

    /// The state as of now. Reads the clock only when open: once the open
    /// period is over this reports `HalfOpen`, although only the next acquire
    /// records the transition.
    pub fn state(&self) -> State {
        let w = self.load();
        match w.state() {
            State::Open => self.state_at_word(w, self.now()),
            State::HalfOpen
                if cfg!(feature = "half-open-max-wait")
                    && self.config.half_open_max_wait_ms != 0 =>
            {
                self.state_at_word(w, self.now())
            }
            s => s,
        }
    }

    /// The state as last recorded, without reading the clock: an open
    /// breaker whose open period is over still reads `Open` here (the next
    /// acquire records `HalfOpen`). A wrapper's cheap test for the closed
    /// fast path.
    #[inline]
    pub fn recorded_state(&self) -> State {
        self.load().state()
    }

    /// The state as it reads at time `now_ms`; pure, like [`state`](Self::state).
    pub fn state_at(&self, now_ms: u64) -> State {
        self.state_at_word(self.load(), now_ms)
    }

    pub(crate) fn state_at_word(&self, w: Word, now: u64) -> State {
        match w.state() {
            // A reading out of range never ends an open period.
            State::Open => match self.retry_at(w) {
                Some(at) if now >= at && now < CLOCK_LIMIT => State::HalfOpen,
                _ => State::Open,
            },
            State::HalfOpen if self.half_open_expired(w, now) => State::Open,
            s => s,
        }
    }

    pub(crate) fn retry_at(&self, w: Word) -> Option<u64> {
        self.time.retry_at(w)
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
        at: u64,
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
        self.time.install(&self.word, w, at, trial_successes);
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
