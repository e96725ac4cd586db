//! What a breaker reports about itself: the metrics snapshot and the coarse
//! health summary.

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::observer::{Observer, Totals};
use crate::policy::{window_halfway, Kind, Policy};
use crate::state::{Health, State};
use crate::window::WindowStore;

/// A snapshot of the metrics: totals (when the observer keeps them) and the
/// current decision state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
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

    /// Calls whose outcome was recorded: successes, failures and ignored
    /// (0 unless the totals are kept). Rejected acquires are not calls.
    ///
    /// ```
    /// use halfopen::{Breaker, Config, Counters, MockClock};
    ///
    /// let config = Config::consecutive_failures(5).build().unwrap();
    /// let clock = MockClock::new(0);
    /// let breaker = Breaker::with_observer(&config, &clock, Counters::new());
    /// for _ in 0..3 {
    ///     breaker.try_acquire().unwrap().success();
    /// }
    /// breaker.try_acquire().unwrap().failure();
    /// let m = breaker.metrics();
    /// assert_eq!(m.calls(), 4);
    /// assert_eq!(m.success_rate_percent(), Some(75));
    /// ```
    pub fn calls(&self) -> u64 {
        self.successes as u64 + self.failures as u64 + self.ignored as u64
    }

    /// Successes in percent of successes and failures, rounded down; `None`
    /// before any (or when the totals are not kept).
    pub fn success_rate_percent(&self) -> Option<u8> {
        let decided = self.successes as u64 + self.failures as u64;
        (self.successes as u64 * 100)
            .checked_div(decided)
            .map(|p| p as u8)
    }
}

impl<C: Clock, P: Policy, O: Observer> Breaker<'_, C, P, O> {
    /// The metrics: totals if the observer keeps them, and the decision state.
    /// Reads the clock only when open, half-open with `halfOpenMaxWaitMs`,
    /// or for a time window.
    pub fn metrics(&self) -> Metrics {
        let w = self.load();
        let kind = self.config.policy.kind();
        let timed_half_open = cfg!(feature = "half-open-max-wait")
            && w.state() == State::HalfOpen
            && self.config.half_open_max_wait_ms != 0;
        let now = if w.state() == State::Open || timed_half_open || matches!(kind, Kind::Time(_)) {
            self.now()
        } else {
            0
        };
        let totals = self.observer.totals();
        let t = totals.unwrap_or_default();
        let (opened_at, retry_at) = if w.state() == State::Open {
            let retry_at = self.retry_at(w);
            let d = self.config.open_duration_ms(w.k() as u32) as u64;
            (retry_at.map(|t| t.saturating_sub(d)), retry_at)
        } else if timed_half_open && self.half_open_expired(w, now) {
            // Open from the deadline on, as a trial failure then would be.
            let deadline = self.time.half_open_at(w).and_then(|at| {
                let elapsed = crate::machine::half_open_elapsed(at, now)?;
                // (An entry before the clock's zero puts the deadline there
                // too: reported as 0.)
                Some((now + self.config.half_open_max_wait_ms as u64).saturating_sub(elapsed))
            });
            let d = self
                .config
                .open_duration_ms(crate::machine::retrip_k(w) as u32) as u64;
            (deadline, deadline.map(|t| t + d))
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
                    Kind::Consecutive(p) => {
                        m.failure_run > 0 && m.failure_run as u32 * 2 >= p.threshold as u32
                    }
                    Kind::Rate(p) => m.window.is_some_and(|(f, n)| {
                        window_halfway(f, n, p.percent, p.minimum_calls as u64, p.failures as u64)
                    }),
                    Kind::Time(p) => m.window.is_some_and(|(f, n)| {
                        window_halfway(f, n, p.percent, p.minimum_calls as u64, p.failures as u64)
                    }),
                };
                if halfway {
                    Health::Degraded
                } else {
                    Health::Healthy
                }
            }
        }
    }
}
