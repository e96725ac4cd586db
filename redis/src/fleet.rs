//! The fleet handle: a local breaker kept in step with a fleet record.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Acquire, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use halfopen::fleet::{FleetRecord, FleetRules};
use halfopen::{
    AnyPolicy, Breaker, Cause, Config, Counters, Metrics, Observer, Outcome, Permit, RejectReason,
    Rejected, State, StdClock, Transition,
};
use tokio::sync::{mpsc, watch};

use crate::options::{FleetBuilder, FleetError};
use crate::store::{Store, Target};
use crate::task::{self, Event};
use crate::FleetName;

/// The local breaker a [`Fleet`] wraps.
pub type LocalBreaker = Breaker<'static, StdClock, AnyPolicy, Hooks>;

/// One breaker for a fleet of processes: a local [`Breaker`] whose fast path
/// never waits on the store, kept in step with the fleet record in Redis by a
/// background task (see the crate documentation). Cheap to clone; the task
/// ends when the last clone is dropped.
pub struct Fleet {
    pub(crate) inner: Arc<Inner>,
}

impl Clone for Fleet {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) struct Inner {
    pub breaker: LocalBreaker,
    pub rules: FleetRules,
    pub name: FleetName,
    pub sync_ms: u32,
    pub pubsub: bool,
    // Dropped with the last handle: the background tasks end.
    pub _shutdown: watch::Sender<()>,
}

/// What the local breaker and the background task share.
pub(crate) struct Shared {
    pub tx: mpsc::UnboundedSender<Event>,
    pub attached: AtomicBool,
    /// Set once the fleet refused this instance (a configuration mismatch):
    /// it stays a local breaker.
    pub refused: AtomicBool,
    pub seen_gen: AtomicU64,
    pub lease_period: AtomicU64,
    pub leases: AtomicU32,
    pub lease_wanted: AtomicBool,
    /// A local trip the store has not taken yet (it failed meanwhile).
    pub trip_pending: AtomicBool,
    /// The totals already added to the store's buckets.
    pub flushed_successes: AtomicU64,
    pub flushed_failures: AtomicU64,
    pub store_errors: AtomicU64,
    pub syncs: AtomicU64,
    pub round_trips: AtomicU64,
    pub pushes: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl Shared {
    fn take_lease(&self) -> Option<u64> {
        // Acquire pairs with the grant's Release: the period read after a
        // lease was taken is the one the lease was granted in (or newer).
        self.leases
            .fetch_update(Acquire, Relaxed, |n| n.checked_sub(1))
            .ok()
            .map(|_| self.lease_period.load(Relaxed))
            .filter(|&p| p != 0)
    }

    fn give_back(&self, period: u64) {
        if self.lease_period.load(Relaxed) == period {
            self.leases.fetch_add(1, Relaxed);
        }
    }

    fn want_lease(&self) {
        if !self.lease_wanted.swap(true, Relaxed) {
            let _ = self.tx.send(Event::LeaseWanted);
        }
    }

    /// Whether probes need a lease: the fleet is attached and has not
    /// refused this instance. Detached, the breaker decides alone.
    fn leased_probes(&self) -> bool {
        self.attached.load(Relaxed) && !self.refused.load(Relaxed)
    }
}

/// The local breaker's observer: totals, and local transitions sent to the
/// background task (never a store call on the caller's thread).
pub struct Hooks {
    /// In the breaker itself: an outcome's count is one pointer away.
    pub(crate) counters: Counters,
    pub(crate) shared: Arc<Shared>,
}

impl Observer for Hooks {
    #[inline]
    fn on_success(&self) {
        self.counters.on_success()
    }
    #[inline]
    fn on_failure(&self, slow: bool) {
        self.counters.on_failure(slow)
    }
    #[inline]
    fn on_ignore(&self) {
        self.counters.on_ignore()
    }
    #[inline]
    fn on_reject(&self, reason: RejectReason) {
        self.counters.on_reject(reason)
    }
    fn on_transition(&self, t: Transition) {
        self.counters.on_transition(t);
        let event = match (t.from, t.to, t.cause) {
            (State::Closed, State::Open, Cause::Trip) => Event::Tripped,
            // A probe that never reported before the local half-open deadline.
            (State::HalfOpen, State::Open, Cause::HalfOpenMaxWait) => Event::Probe {
                period: self.shared.lease_period.load(Relaxed),
                success: false,
            },
            _ => return,
        };
        let _ = self.shared.tx.send(event);
    }
    fn totals(&self) -> Option<halfopen::Totals> {
        self.counters.totals()
    }
}

/// A permit of a [`Fleet`]: a local permit, and for a probe, the lease it
/// reports to. End it with [`success`](Self::success),
/// [`failure`](Self::failure), [`ignore`](Self::ignore) or
/// [`record`](Self::record); dropped without an outcome, it is ignored (and
/// a probe's lease is free again).
#[must_use = "a permit records nothing until it is ended"]
pub struct FleetPermit<'f> {
    permit: Permit<'f, 'static, StdClock, AnyPolicy, Hooks>,
    probe: Probe<'f>,
}

/// The lease a probe holds: the period it was granted in (0: not a probe;
/// periods are generations, which start at 1).
struct Probe<'f> {
    period: u64,
    shared: &'f Shared,
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if self.period != 0 {
            self.shared.give_back(self.period);
        }
    }
}

impl FleetPermit<'_> {
    /// Records a success.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success)
    }
    /// Records a failure.
    #[inline]
    pub fn failure(self) {
        self.record(Outcome::Failure)
    }
    /// Records nothing (the call said nothing of the downstream's health).
    #[inline]
    pub fn ignore(self) {
        self.record(Outcome::Ignore)
    }
    /// Records `outcome`. A probe's success or failure is reported to the
    /// fleet by the background task.
    #[inline(always)]
    pub fn record(self, outcome: Outcome) {
        let Self { permit, mut probe } = self;
        permit.record(outcome);
        if probe.period != 0 && outcome != Outcome::Ignore {
            let period = core::mem::take(&mut probe.period);
            let success = outcome == Outcome::Success;
            let _ = probe.shared.tx.send(Event::Probe { period, success });
        }
    }
    /// Whether this permit is the fleet's probe (it holds a lease).
    #[inline]
    pub fn is_probe(&self) -> bool {
        self.probe.period != 0
    }
}

/// A fleet's metrics: the local breaker's, and the fleet's own.
#[derive(Debug, Clone)]
pub struct FleetMetrics {
    /// The local breaker's metrics (totals included).
    pub breaker: Metrics,
    /// Whether the last store call succeeded (and the fleet did not refuse
    /// this instance's configuration): decisions are the fleet's. Detached,
    /// the breaker decides locally.
    pub attached: bool,
    /// Store calls that failed (deadline, connection, garbage record).
    pub store_errors: u64,
    /// Periodic syncs done.
    pub syncs: u64,
    /// Store round trips made (scripts run).
    pub round_trips: u64,
    /// Changes pushed on the pub/sub channel.
    pub pushes: u64,
    /// The last fleet generation seen.
    pub generation: u64,
    /// Why the fleet is detached or refused this instance, if it is.
    pub last_error: Option<String>,
}

impl Fleet {
    /// A builder for the fleet `name` with the configuration every instance
    /// sharing the name must have (kept for the life of the process: a
    /// `static`, or a leaked box).
    pub fn builder(name: &str, config: &'static Config<AnyPolicy>) -> FleetBuilder {
        FleetBuilder::new(name, config)
    }

    pub(crate) async fn start(
        name: FleetName,
        config: &'static Config<AnyPolicy>,
        rules: FleetRules,
        target: Target,
        pubsub_client: Option<redis::Client>,
        deadline: Duration,
        sync_ms: u32,
    ) -> Result<Self, FleetError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            tx,
            attached: AtomicBool::new(false),
            refused: AtomicBool::new(false),
            seen_gen: AtomicU64::new(0),
            lease_period: AtomicU64::new(0),
            leases: AtomicU32::new(0),
            lease_wanted: AtomicBool::new(false),
            trip_pending: AtomicBool::new(false),
            flushed_successes: AtomicU64::new(0),
            flushed_failures: AtomicU64::new(0),
            store_errors: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            round_trips: AtomicU64::new(0),
            pushes: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        let (shutdown, shutdown_rx) = watch::channel(());
        let breaker = Breaker::with_observer(
            config,
            StdClock,
            Hooks {
                counters: Counters::new(),
                shared: shared.clone(),
            },
        );
        let inner = Arc::new(Inner {
            breaker,
            rules,
            name,
            sync_ms,
            pubsub: pubsub_client.is_some(),
            _shutdown: shutdown,
        });
        let mut store = Store::new(target, deadline);
        // The first sync, before the handle is returned: a configuration
        // the fleet does not share is refused here, with the key that
        // differs; a store that cannot be reached is not an error.
        task::first_sync(&inner, &shared, &mut store).await?;
        tokio::spawn(task::run(
            Arc::downgrade(&inner),
            shared.clone(),
            rx,
            store,
            shutdown_rx.clone(),
        ));
        if let Some(client) = pubsub_client {
            tokio::spawn(task::listen(
                Arc::downgrade(&inner),
                shared,
                client,
                inner.name.channel().to_owned(),
                shutdown_rx,
            ));
        }
        Ok(Self { inner })
    }

    fn shared(&self) -> &Shared {
        &self.inner.breaker.observer().shared
    }

    /// The local breaker (state, metrics, snapshot). Its fast path is the
    /// fleet's: use [`try_acquire`](Self::try_acquire) or the `call`
    /// methods to acquire, so that probes take a fleet lease.
    pub fn breaker(&self) -> &LocalBreaker {
        &self.inner.breaker
    }

    /// The breaker name.
    pub fn name(&self) -> &FleetName {
        &self.inner.name
    }

    /// The local state as of now.
    pub fn state(&self) -> State {
        self.inner.breaker.state()
    }

    /// Asks to run a call. Closed, this is the local breaker's acquire and
    /// nothing else. Once the open period is over, a probe needs one of the
    /// fleet's leases (at most `halfOpenMaxCalls` fleet-wide): without one,
    /// the call is rejected `open` while the lease is asked for in the
    /// background. Detached from the store, the local breaker probes alone.
    #[inline]
    pub fn try_acquire(&self) -> Result<FleetPermit<'_>, Rejected> {
        let b = &self.inner.breaker;
        if b.recorded_state() == State::Closed {
            let permit = b.try_acquire()?;
            if !permit.is_trial() {
                return Ok(FleetPermit {
                    permit,
                    probe: Probe {
                        period: 0,
                        shared: self.shared(),
                    },
                });
            }
            return self.unleased(permit);
        }
        self.acquire_slow()
    }

    #[cold]
    fn acquire_slow(&self) -> Result<FleetPermit<'_>, Rejected> {
        let b = &self.inner.breaker;
        let shared = self.shared();
        if b.state() != State::HalfOpen || !shared.leased_probes() {
            let permit = b.try_acquire()?;
            if permit.is_trial() && shared.leased_probes() {
                return self.unleased(permit);
            }
            return Ok(FleetPermit {
                permit,
                probe: Probe { period: 0, shared },
            });
        }
        let Some(period) = shared.take_lease() else {
            shared.want_lease();
            b.observer().counters.on_reject(RejectReason::Open);
            return Err(Rejected::new(RejectReason::Open, None));
        };
        match b.try_acquire() {
            Ok(permit) if permit.is_trial() => Ok(FleetPermit {
                permit,
                probe: Probe { period, shared },
            }),
            Ok(permit) => {
                shared.give_back(period);
                Ok(FleetPermit {
                    permit,
                    probe: Probe { period: 0, shared },
                })
            }
            Err(e) => {
                shared.give_back(period);
                Err(e)
            }
        }
    }

    /// A trial the local breaker handed out without a lease (its open period
    /// ended between the state test and the acquire): given back, and the
    /// call rejected while a lease is asked for.
    #[cold]
    fn unleased(
        &self,
        permit: Permit<'_, 'static, StdClock, AnyPolicy, Hooks>,
    ) -> Result<FleetPermit<'_>, Rejected> {
        let shared = self.shared();
        permit.ignore();
        shared.want_lease();
        self.inner
            .breaker
            .observer()
            .counters
            .on_reject(RejectReason::Open);
        Err(Rejected::new(RejectReason::Open, None))
    }

    /// Runs `f` if the fleet allows it; an `Err` counts as a failure.
    #[inline]
    pub fn call<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, halfopen::CallError<E>> {
        let permit = self.try_acquire().map_err(halfopen::CallError::Rejected)?;
        // One constant outcome per branch: each `record` folds to its case.
        match f() {
            Ok(v) => {
                permit.success();
                Ok(v)
            }
            Err(e) => {
                permit.failure();
                Err(halfopen::CallError::Inner(e))
            }
        }
    }

    /// Runs `future` if the fleet allows it; an `Err` counts as a failure.
    /// The store is never awaited on this path.
    pub async fn call_async<T, E, F>(&self, future: F) -> Result<T, halfopen::CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(halfopen::CallError::Rejected)?;
        match future.await {
            Ok(v) => {
                permit.success();
                Ok(v)
            }
            Err(e) => {
                permit.failure();
                Err(halfopen::CallError::Inner(e))
            }
        }
    }

    /// Isolates the whole fleet: this breaker at once, every instance when it
    /// adopts the record.
    pub fn isolate(&self) {
        self.inner.breaker.isolate();
        let _ = self.shared().tx.send(Event::Isolate);
    }

    /// Closes the whole fleet with a clean slate.
    pub fn reset(&self) {
        self.inner.breaker.reset();
        let _ = self.shared().tx.send(Event::Reset);
    }

    /// The local breaker's metrics and the fleet's.
    pub fn metrics(&self) -> FleetMetrics {
        let s = self.shared();
        FleetMetrics {
            breaker: self.inner.breaker.metrics(),
            attached: s.leased_probes(),
            store_errors: s.store_errors.load(Relaxed),
            syncs: s.syncs.load(Relaxed),
            round_trips: s.round_trips.load(Relaxed),
            pushes: s.pushes.load(Relaxed),
            generation: s.seen_gen.load(Relaxed),
            last_error: s.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// How often the record is read without a push, in ms.
    pub fn sync_ms(&self) -> u32 {
        self.inner.sync_ms
    }

    /// Whether changes are pushed (pub/sub) as well as polled.
    pub fn pushes_enabled(&self) -> bool {
        self.inner.pubsub
    }
}

/// The record a garbage or absent record is replaced with, from what this
/// instance knows: the last generation it saw, and its local state.
pub(crate) fn rebuilt(gen: u64) -> FleetRecord {
    FleetRecord {
        gen,
        ..FleetRecord::new()
    }
}
