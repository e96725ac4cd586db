//! A fixed-capacity set of named breakers, and presets for common downstreams.
//!
//! The registry is a `heapless::Vec`: its capacity is a const generic, it
//! never allocates, and a full registry says so instead of panicking.

use core::fmt;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::observer::Observer;
use crate::policy::{ConsecutiveFailures, Policy};
use crate::state::Health;

/// The longest name a registry entry may have, in bytes.
pub const MAX_NAME_LEN: usize = 32;

/// Why a breaker could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry holds its capacity already.
    Full {
        /// The capacity.
        capacity: usize,
    },
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong {
        /// Its length.
        len: usize,
    },
    /// A breaker of that name is registered already.
    Duplicate,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { capacity } => write!(f, "registry is full ({capacity} breakers)"),
            Self::NameTooLong { len } => {
                write!(
                    f,
                    "breaker name is {len} bytes, at most {MAX_NAME_LEN} allowed"
                )
            }
            Self::Duplicate => f.write_str("a breaker of that name is registered already"),
        }
    }
}

impl core::error::Error for RegistryError {}

type Name = heapless::String<MAX_NAME_LEN>;

/// Up to `N` named breakers sharing one clock type, policy and observer type.
///
/// ```
/// use halfopen::{presets, Health, MockClock, Registry};
///
/// let clock = MockClock::new(0);
/// let mut registry: Registry<&MockClock, _, (), 4> = Registry::new();
/// registry.register("payments", &presets::CRITICAL_SERVICE, &clock, ()).unwrap();
/// registry.register("search", &presets::HTTP_API, &clock, ()).unwrap();
///
/// let payments = registry.get("payments").unwrap();
/// payments.try_acquire().unwrap().failure();
/// payments.try_acquire().unwrap().failure();
/// assert_eq!(registry.health(), Health::Critical);
/// ```
pub struct Registry<'a, C, P: Policy = ConsecutiveFailures, O = (), const N: usize = 8> {
    entries: heapless::Vec<(Name, Breaker<'a, C, P, O>), N>,
}

/// Lists the breakers by name, with each one's state and epoch.
impl<C, P: Policy, O, const N: usize> core::fmt::Debug for Registry<'_, C, P, O, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(name, b)| (name.as_str(), b)))
            .finish()
    }
}

impl<C: Clock, P: Policy, O: Observer, const N: usize> Default for Registry<'_, C, P, O, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, C: Clock, P: Policy, O: Observer, const N: usize> Registry<'a, C, P, O, N> {
    /// An empty registry.
    pub const fn new() -> Self {
        Self {
            entries: heapless::Vec::new(),
        }
    }

    /// The breaker named `name`, registered with `config`, `clock` and
    /// `observer` first if there is none (they are dropped if there is).
    ///
    /// ```
    /// use halfopen::{presets, MockClock, Registry};
    ///
    /// let clock = MockClock::new(0);
    /// let mut registry: Registry<&MockClock, _, (), 4> = Registry::new();
    /// let a = registry.get_or_register("search", &presets::HTTP_API, &clock, ()).unwrap().epoch();
    /// let b = registry.get_or_register("search", &presets::DATABASE, &clock, ()).unwrap();
    /// assert_eq!(b.config().open_ms(), 30_000); // the first registration stands
    /// assert_eq!(registry.len(), 1);
    /// # let _ = a;
    /// ```
    pub fn get_or_register(
        &mut self,
        name: &str,
        config: &'a Config<P>,
        clock: C,
        observer: O,
    ) -> Result<&Breaker<'a, C, P, O>, RegistryError> {
        match self.entries.iter().position(|(n, _)| n.as_str() == name) {
            Some(i) => Ok(&self.entries[i].1),
            None => self.register(name, config, clock, observer),
        }
    }

    /// Adds a breaker named `name`, and returns it.
    pub fn register(
        &mut self,
        name: &str,
        config: &'a Config<P>,
        clock: C,
        observer: O,
    ) -> Result<&Breaker<'a, C, P, O>, RegistryError> {
        if self.get(name).is_some() {
            return Err(RegistryError::Duplicate);
        }
        let key =
            Name::try_from(name).map_err(|_| RegistryError::NameTooLong { len: name.len() })?;
        let breaker = Breaker::with_observer(config, clock, observer);
        self.entries
            .push((key, breaker))
            .map_err(|_| RegistryError::Full { capacity: N })?;
        Ok(&self.entries[self.entries.len() - 1].1)
    }

    /// The breaker named `name`.
    pub fn get(&self, name: &str) -> Option<&Breaker<'a, C, P, O>> {
        self.entries
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, b)| b)
    }

    /// Every `(name, breaker)`, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Breaker<'a, C, P, O>)> {
        self.entries.iter().map(|(n, b)| (n.as_str(), b))
    }

    /// How many breakers are registered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A report on every breaker, in registration order: name, health and
    /// metrics. It answers "which downstreams are degraded" in one call
    /// (with feature `serde`, each report serializes as JSON or anything
    /// else serde writes).
    ///
    /// ```
    /// use halfopen::{presets, Health, MockClock, Registry};
    ///
    /// let clock = MockClock::new(0);
    /// let mut registry: Registry<&MockClock, _, (), 4> = Registry::new();
    /// registry.register("payments", &presets::CRITICAL_SERVICE, &clock, ()).unwrap();
    /// registry.register("search", &presets::HTTP_API, &clock, ()).unwrap();
    /// registry.get("payments").unwrap().isolate();
    ///
    /// let mut unhealthy = registry.report().filter(|r| r.health != Health::Healthy);
    /// assert_eq!(unhealthy.next().map(|r| r.name), Some("payments"));
    /// assert!(unhealthy.next().is_none());
    /// ```
    pub fn report(&self) -> impl Iterator<Item = BreakerReport<'_>> {
        self.entries.iter().map(|(name, b)| BreakerReport {
            name: name.as_str(),
            health: b.health(),
            metrics: b.metrics(),
        })
    }

    /// The worst health of all breakers (`Healthy` when empty).
    pub fn health(&self) -> Health {
        self.entries
            .iter()
            .map(|(_, b)| b.health())
            .max()
            .unwrap_or(Health::Healthy)
    }
}

/// One breaker of a [`Registry::report`]: its name, health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct BreakerReport<'r> {
    /// The name it was registered under.
    pub name: &'r str,
    /// Its health.
    pub health: Health,
    /// Its metrics.
    pub metrics: Metrics,
}

/// Configurations for common downstreams.
///
/// The configurations the services this project was specified from
/// named, with their numbers. Time windows of 60 s use 12 buckets of 5 s.
/// Where a preset comes with an operation timeout, its `*_TIMEOUT_MS`
/// constant gives it, for the target's timeout (embassy
/// `call_with_timeout`, npm `timeoutMs`).
pub mod presets {
    use crate::config::Config;
    use crate::policy::{ConsecutiveFailures, FailureRate, TimeWindow};

    /// An HTTP API: 5 failures in a row, open 30 s.
    pub const HTTP_API: Config<ConsecutiveFailures> =
        crate::config!(Config::consecutive_failures(5).open_ms(30_000));
    /// A database: 3 failures in a row, open 60 s.
    pub const DATABASE: Config<ConsecutiveFailures> =
        crate::config!(Config::consecutive_failures(3).open_ms(60_000));
    /// A critical service: 2 failures in a row, open 5 min.
    pub const CRITICAL_SERVICE: Config<ConsecutiveFailures> =
        crate::config!(Config::consecutive_failures(2).open_ms(300_000));
    /// A high-volume downstream: 20 failures, or 50 % of at least 20 calls,
    /// of the last 40; open 30 s.
    pub const HIGH_VOLUME: Config<FailureRate> = crate::config!(Config::failure_rate(50, 40, 20)
        .failures(20)
        .open_ms(30_000));
    /// A platform API: 5 failures in a row, open 30 s, 3 trial calls, 3
    /// successes to close.
    pub const PLATFORM_API: Config<ConsecutiveFailures> =
        crate::config!(Config::consecutive_failures(5)
            .open_ms(30_000)
            .half_open_max_calls(3)
            .success_threshold(3));
    /// A realtime messaging service (PubNub): 3 failures in a row, open 10 s,
    /// 2 trial calls, 2 successes to close.
    pub const REALTIME: Config<ConsecutiveFailures> =
        crate::config!(Config::consecutive_failures(3)
            .open_ms(10_000)
            .half_open_max_calls(2)
            .success_threshold(2));
    /// An embedding service: 5 failures in a row, open 60 s, 3 trial calls, 3
    /// successes to close.
    pub const EMBEDDING_SERVICE: Config<ConsecutiveFailures> =
        crate::config!(Config::consecutive_failures(5)
            .open_ms(60_000)
            .half_open_max_calls(3)
            .success_threshold(3));
    /// Cloud-service defaults: 5 failures within 60 s, open 30 s, up to 5
    /// trial calls, 3 successes to close; operations time out after 10 s.
    pub const CLOUD_SERVICE: Config<TimeWindow> =
        crate::config!(Config::failures_within(5, 60_000, 12)
            .open_ms(30_000)
            .half_open_max_calls(5)
            .success_threshold(3));
    /// The operation timeout of [`CLOUD_SERVICE`].
    pub const CLOUD_SERVICE_TIMEOUT_MS: u32 = 10_000;
    /// A service bus: 5 failures within 60 s, open 30 s, 3 trial calls, 3
    /// successes to close; operations time out after 5 s.
    pub const SERVICE_BUS: Config<TimeWindow> =
        crate::config!(Config::failures_within(5, 60_000, 12)
            .open_ms(30_000)
            .half_open_max_calls(3)
            .success_threshold(3));
    /// The operation timeout of [`SERVICE_BUS`].
    pub const SERVICE_BUS_TIMEOUT_MS: u32 = 5_000;
    /// Blob storage: 5 failures within 60 s, open 30 s, up to 5 trial calls,
    /// 2 successes to close; operations time out after 10 s.
    pub const BLOB_STORAGE: Config<TimeWindow> =
        crate::config!(Config::failures_within(5, 60_000, 12)
            .open_ms(30_000)
            .half_open_max_calls(5)
            .success_threshold(2));
    /// The operation timeout of [`BLOB_STORAGE`].
    pub const BLOB_STORAGE_TIMEOUT_MS: u32 = 10_000;
    /// A key vault: 3 failures within 60 s, open 60 s, 2 trial calls, 2
    /// successes to close; operations time out after 5 s.
    pub const KEY_VAULT: Config<TimeWindow> =
        crate::config!(Config::failures_within(3, 60_000, 12)
            .open_ms(60_000)
            .half_open_max_calls(2)
            .success_threshold(2));
    /// The operation timeout of [`KEY_VAULT`].
    pub const KEY_VAULT_TIMEOUT_MS: u32 = 5_000;
}
