//! Named breakers for a service: get-or-create, per-name configurations,
//! `execute(name, f)`, and one health report over all of them.
//!
//! The core's `Registry` is a fixed-capacity `heapless` vector for firmware;
//! a service creates breakers by name as requests name downstreams, so this
//! one is a map behind a read-write lock (taken for writing only when a
//! breaker is created). A breaker borrows its configuration for its whole
//! life: each distinct configuration is kept once for the life of the
//! process, so configuring names over and over does not grow memory.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use halfopen::{AnyPolicy, Breaker, CallError, Clock, Config, Health, Metrics, State, StdClock};
use serde::Serialize;

use crate::layer::BreakerLayer;
use crate::observer::ServiceObserver;

/// The breaker a [`Breakers`] hands out: any trip policy (chosen by its
/// configuration), a [`ServiceObserver`].
pub type ServiceBreaker<C = StdClock> = Breaker<'static, C, AnyPolicy, ServiceObserver<C>>;

/// Why [`Breakers::configure`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigureError {
    /// The breaker exists already, with the configuration it was created
    /// with; a breaker's configuration never changes.
    AlreadyCreated {
        /// Its name.
        name: String,
    },
}

impl fmt::Display for ConfigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyCreated { name } => write!(
                f,
                "breaker {name} exists already: configure it before its first use"
            ),
        }
    }
}

impl std::error::Error for ConfigureError {}

/// Named breakers on one clock, created on first use.
///
/// A name's configuration is, in this order: one given with
/// [`configure`](Self::configure) (from a file, say), the one passed to
/// [`get_or_create`](Self::get_or_create) (a preset), or the registry's
/// default.
///
/// ```
/// use std::collections::HashMap;
/// use halfopen::{presets, AnyPolicy, Config, Health};
/// use halfopen_service::Breakers;
///
/// let file = r#"{"payments": {"trip": {"consecutiveFailures": 2}, "openMs": 60000}}"#;
/// let configs: HashMap<String, Config<AnyPolicy>> = serde_json::from_str(file).unwrap();
///
/// let breakers = Breakers::new(presets::HTTP_API);
/// breakers.configure_all(configs).unwrap();
///
/// for _ in 0..2 {
///     let _ = breakers.execute("payments", || Err::<(), _>("502"));
/// }
/// let db = breakers.get_or_create("db", presets::DATABASE);
/// assert_eq!(db.config().open_ms(), 60_000);
///
/// let report = breakers.report();
/// assert_eq!(report.health, Health::Critical);
/// assert_eq!(report.degraded, ["payments"]);
/// ```
pub struct Breakers<C = StdClock> {
    clock: C,
    default: &'static Config<AnyPolicy>,
    configs: RwLock<HashMap<String, &'static Config<AnyPolicy>>>,
    breakers: RwLock<BTreeMap<String, Arc<ServiceBreaker<C>>>>,
    buckets: Option<Vec<f64>>,
}

/// Lists the breakers by name.
impl<C> fmt::Debug for Breakers<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let breakers = self.breakers.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Breakers")
            .field("breakers", &breakers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Each distinct configuration, kept for the life of the process (a breaker
/// borrows its configuration).
fn intern(config: Config<AnyPolicy>) -> &'static Config<AnyPolicy> {
    static KEPT: Mutex<Vec<&'static Config<AnyPolicy>>> = Mutex::new(Vec::new());
    let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = kept.iter().find(|c| ***c == config) {
        return c;
    }
    let c: &'static Config<AnyPolicy> = Box::leak(Box::new(config));
    kept.push(c);
    c
}

/// Call-duration buckets in seconds (Prometheus' defaults).
pub const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Breakers<StdClock> {
    /// An empty registry on the monotonic clock, whose breakers take
    /// `default` unless configured otherwise.
    pub fn new<P: Copy + Into<AnyPolicy>>(default: Config<P>) -> Self {
        Self::with_clock(default, StdClock)
    }
}

impl<C: Clock + Clone + Send + Sync + 'static> Breakers<C> {
    /// An empty registry on `clock` (a `&'static MockClock` in tests).
    pub fn with_clock<P: Copy + Into<AnyPolicy>>(default: Config<P>, clock: C) -> Self {
        Self {
            clock,
            default: intern(default.into_any()),
            configs: RwLock::default(),
            breakers: RwLock::default(),
            buckets: None,
        }
    }

    /// Times the calls made through the registry ([`execute`](Self::execute),
    /// [`execute_async`](Self::execute_async), the tower layer) into a
    /// call-duration histogram per breaker, with these bucket bounds in
    /// seconds ([`DURATION_BUCKETS`] for Prometheus' defaults). Durations
    /// are read from the registry's clock, in milliseconds.
    pub fn timed(mut self, buckets: impl IntoIterator<Item = f64>) -> Self {
        self.buckets = Some(buckets.into_iter().collect());
        self
    }

    /// Sets the configuration of the breaker `name`, before its first use.
    pub fn configure<P: Copy + Into<AnyPolicy>>(
        &self,
        name: &str,
        config: Config<P>,
    ) -> Result<(), ConfigureError> {
        let breakers = self.breakers.read().unwrap_or_else(PoisonError::into_inner);
        if breakers.contains_key(name) {
            return Err(ConfigureError::AlreadyCreated { name: name.into() });
        }
        let mut configs = self.configs.write().unwrap_or_else(PoisonError::into_inner);
        configs.insert(name.into(), intern(config.into_any()));
        Ok(())
    }

    /// [`configure`](Self::configure) for every `(name, config)`, such as a
    /// map deserialized from a TOML or JSON file; stops at the first error.
    pub fn configure_all<K: AsRef<str>>(
        &self,
        configs: impl IntoIterator<Item = (K, Config<AnyPolicy>)>,
    ) -> Result<(), ConfigureError> {
        configs
            .into_iter()
            .try_for_each(|(name, config)| self.configure(name.as_ref(), config))
    }

    /// The breaker `name`, created with its configuration (or the default)
    /// on first use.
    pub fn get(&self, name: &str) -> Arc<ServiceBreaker<C>> {
        self.get_or_insert(name, None)
    }

    /// The breaker `name`, created on first use with `config` (a preset)
    /// unless the name was configured.
    pub fn get_or_create<P: Copy + Into<AnyPolicy>>(
        &self,
        name: &str,
        config: Config<P>,
    ) -> Arc<ServiceBreaker<C>> {
        self.get_or_insert(name, Some(config.into_any()))
    }

    fn get_or_insert(
        &self,
        name: &str,
        preset: Option<Config<AnyPolicy>>,
    ) -> Arc<ServiceBreaker<C>> {
        if let Some(b) = self
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Arc::clone(b);
        }
        let mut breakers = self
            .breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = breakers.get(name) {
            return Arc::clone(b);
        }
        let configured = self
            .configs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .copied();
        let config = configured
            .or_else(|| preset.map(intern))
            .unwrap_or(self.default);
        let observer = ServiceObserver::new(name, self.clock.clone(), self.buckets.as_deref());
        let breaker = Arc::new(Breaker::with_observer(config, self.clock.clone(), observer));
        breakers.insert(name.into(), Arc::clone(&breaker));
        breaker
    }

    /// The registry's clock reading.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Every breaker created so far, by name (sorted).
    pub fn breakers(&self) -> Vec<(String, Arc<ServiceBreaker<C>>)> {
        self.breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(n, b)| (n.clone(), Arc::clone(b)))
            .collect()
    }

    /// Runs `f` through the breaker `name` (created on first use); an `Err`
    /// counts as a failure.
    pub fn execute<T, E>(
        &self,
        name: &str,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        let breaker = self.get(name);
        let start = self.start(&breaker);
        let result = breaker.call(f);
        self.finish(&breaker, start, &result);
        result
    }

    /// Awaits `future` through the breaker `name`; an `Err` counts as a
    /// failure. Dropped before it completes, it counts nothing.
    pub async fn execute_async<T, E, F>(&self, name: &str, future: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let breaker = self.get(name);
        let start = self.start(&breaker);
        let result = breaker.call_async(future).await;
        self.finish(&breaker, start, &result);
        result
    }

    fn start(&self, breaker: &ServiceBreaker<C>) -> Option<u64> {
        breaker.observer().is_timed().then(|| self.clock.now_ms())
    }

    fn finish<T, E>(&self, b: &ServiceBreaker<C>, start: Option<u64>, r: &Result<T, CallError<E>>) {
        if let (Some(start), false) = (start, matches!(r, Err(CallError::Rejected(_)))) {
            b.observer()
                .observe_duration_ms(self.clock.now_ms().saturating_sub(start));
        }
    }

    /// A tower layer that protects a service with the breaker `name`.
    pub fn layer(&self, name: &str) -> BreakerLayer<C> {
        BreakerLayer::new(self.get(name))
    }

    /// The health of every breaker: the worst health, the names of those
    /// not healthy, and each breaker's status.
    pub fn report(&self) -> HealthReport {
        let breakers: Vec<BreakerStatus> = self
            .breakers()
            .iter()
            .map(|(name, b)| BreakerStatus::of(name, b, self.clock.now_ms()))
            .collect();
        HealthReport {
            health: breakers
                .iter()
                .map(|b| b.health)
                .max()
                .unwrap_or(Health::Healthy),
            degraded: breakers
                .iter()
                .filter(|b| b.health != Health::Healthy)
                .map(|b| b.name.clone())
                .collect(),
            breakers,
        }
    }
}

/// Which downstreams are degraded, in one call: serializes to JSON for a
/// `/health` endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HealthReport {
    /// The worst health of all breakers (`healthy` when there are none).
    pub health: Health,
    /// The names of the breakers that are not healthy.
    pub degraded: Vec<String>,
    /// Every breaker, by name.
    pub breakers: Vec<BreakerStatus>,
}

/// One breaker of a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BreakerStatus {
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// Its health.
    pub health: Health,
    /// Calls whose outcome was recorded (successes, failures, ignored).
    pub calls: u64,
    /// Successes in percent of successes and failures (none before any).
    pub success_rate_percent: Option<u8>,
    /// The clock reading (ms) at which the current state was recorded.
    pub state_since_ms: u64,
    /// Times trial calls were let through (`open -> halfOpen`).
    pub recovery_attempts: u32,
    /// While open: milliseconds until a trial call is let through.
    pub retry_after_ms: Option<u64>,
    /// The breaker's metrics.
    pub metrics: Metrics,
}

impl BreakerStatus {
    /// The status of `breaker`, named `name`, at clock reading `now_ms`.
    pub fn of<C: Clock>(name: &str, breaker: &ServiceBreaker<C>, now_ms: u64) -> Self {
        let metrics = breaker.metrics();
        let o = breaker.observer();
        Self {
            name: name.into(),
            state: metrics.state,
            health: breaker.health(),
            calls: metrics.calls(),
            success_rate_percent: metrics.success_rate_percent(),
            state_since_ms: o.state_since_ms(),
            recovery_attempts: o.recovery_attempts(),
            retry_after_ms: metrics.retry_at.map(|t| t.saturating_sub(now_ms)),
            metrics,
        }
    }
}
