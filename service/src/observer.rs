//! Observers for services: `tracing` events, and the counters a health
//! report and a Prometheus scrape read.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use halfopen::{Clock, Counters, Observer, RejectReason, State, Totals, Transition};
use prometheus_client::metrics::histogram::Histogram;

/// Emits a `tracing` event (target `halfopen`) at every transition of the
/// breaker named `name`, with the fields `breaker`, `from`, `to`, `cause`
/// (`trip`, `trialFailed`, `halfOpenMaxWait`, `fleet`, `isolate`, `reset`,
/// ...) and `epoch`: at `WARN` when the breaker starts rejecting calls (to
/// `open` or `isolated`), at `INFO` otherwise. Each rejection is an event at
/// `DEBUG` with `breaker` and `reason`.
///
/// ```
/// use halfopen::{Breaker, Config, MockClock};
/// use halfopen_service::TracingObserver;
///
/// let config = Config::consecutive_failures(1).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::with_observer(&config, &clock, TracingObserver::new("payments"));
/// // WARN halfopen: breaker transition breaker=payments from="closed" to="open" cause="trip" epoch=1
/// breaker.try_acquire().unwrap().failure();
/// ```
#[derive(Debug, Clone)]
pub struct TracingObserver {
    name: Arc<str>,
}

impl TracingObserver {
    /// An observer that names its breaker `name` in every event.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self { name: name.into() }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Observer for TracingObserver {
    fn on_reject(&self, reason: RejectReason) {
        tracing::debug!(
            target: "halfopen",
            breaker = %self.name,
            reason = reason.as_str(),
            "call rejected"
        );
    }

    fn on_transition(&self, t: Transition) {
        if matches!(t.to, State::Open | State::Isolated) {
            tracing::warn!(
                target: "halfopen",
                breaker = %self.name,
                from = t.from.as_str(),
                to = t.to.as_str(),
                cause = t.cause.as_str(),
                epoch = t.epoch,
                "breaker transition"
            );
        } else {
            tracing::info!(
                target: "halfopen",
                breaker = %self.name,
                from = t.from.as_str(),
                to = t.to.as_str(),
                cause = t.cause.as_str(),
                epoch = t.epoch,
                "breaker transition"
            );
        }
    }
}

const STATES: [State; 4] = [State::Closed, State::Open, State::HalfOpen, State::Isolated];

fn index(s: State) -> usize {
    match s {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::Isolated => 3,
    }
}

/// The observer of a [`Breakers`](crate::Breakers) breaker: the
/// specification's totals ([`Counters`]), a [`TracingObserver`], transitions
/// counted by `(from, to)`, recovery attempts (`open -> halfOpen`), the clock
/// reading at which the current state began, and, when the registry is
/// timed, a call-duration histogram.
#[derive(Debug)]
pub struct ServiceObserver<C> {
    counters: Counters,
    tracing: TracingObserver,
    clock: C,
    transitions: [[AtomicU32; 4]; 4],
    recovery_attempts: AtomicU32,
    state_since_ms: AtomicU64,
    durations: Option<Histogram>,
}

impl<C: Clock> ServiceObserver<C> {
    /// An observer for the breaker `name`, reading `clock` at transitions;
    /// with `buckets` (in seconds), it keeps a call-duration histogram.
    pub fn new(name: impl Into<Arc<str>>, clock: C, buckets: Option<&[f64]>) -> Self {
        let now = clock.now_ms();
        Self {
            counters: Counters::new(),
            tracing: TracingObserver::new(name),
            clock,
            transitions: Default::default(),
            recovery_attempts: AtomicU32::new(0),
            state_since_ms: AtomicU64::new(now),
            durations: buckets.map(|b| Histogram::new(b.iter().copied())),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        self.tracing.name()
    }

    /// Transitions counted from `from` to `to` (they wrap at 2^32).
    pub fn transitions(&self, from: State, to: State) -> u32 {
        self.transitions[index(from)][index(to)].load(Relaxed)
    }

    /// Every `(from, to, count)` with `from != to`.
    pub fn transition_counts(&self) -> impl Iterator<Item = (State, State, u32)> + '_ {
        STATES.into_iter().flat_map(move |from| {
            STATES
                .into_iter()
                .filter(move |to| *to != from)
                .map(move |to| (from, to, self.transitions(from, to)))
        })
    }

    /// Recovery attempts: how many times the breaker let trial calls through
    /// (`open -> halfOpen`).
    pub fn recovery_attempts(&self) -> u32 {
        self.recovery_attempts.load(Relaxed)
    }

    /// The clock reading at which the current state was recorded (the
    /// breaker's creation before any transition). A lazy `open -> halfOpen`
    /// counts once a call records it.
    pub fn state_since_ms(&self) -> u64 {
        self.state_since_ms.load(Relaxed)
    }

    /// The call-duration histogram, if the registry is timed.
    pub fn durations(&self) -> Option<&Histogram> {
        self.durations.as_ref()
    }

    /// Records a call of `ms` milliseconds in the histogram (if timed).
    pub fn observe_duration_ms(&self, ms: u64) {
        if let Some(h) = &self.durations {
            h.observe(ms as f64 / 1_000.0);
        }
    }

    /// Whether calls are timed.
    pub fn is_timed(&self) -> bool {
        self.durations.is_some()
    }
}

impl<C: Clock> Observer for ServiceObserver<C> {
    fn on_success(&self) {
        self.counters.on_success();
    }
    fn on_failure(&self, slow: bool) {
        self.counters.on_failure(slow);
    }
    fn on_ignore(&self) {
        self.counters.on_ignore();
    }
    fn on_reject(&self, reason: RejectReason) {
        self.counters.on_reject(reason);
        self.tracing.on_reject(reason);
    }
    fn on_transition(&self, t: Transition) {
        self.state_since_ms.store(self.clock.now_ms(), Relaxed);
        self.transitions[index(t.from)][index(t.to)].fetch_add(1, Relaxed);
        if t.from == State::Open && t.to == State::HalfOpen {
            self.recovery_attempts.fetch_add(1, Relaxed);
        }
        self.counters.on_transition(t);
        self.tracing.on_transition(t);
    }
    fn totals(&self) -> Option<Totals> {
        self.counters.totals()
    }
}
