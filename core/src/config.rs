//! Configuration: a `const fn` builder, validation, and the errors it gives.
//!
//! A [`ConfigBuilder`] holds the raw values as given; [`ConfigBuilder::build`]
//! checks every one against the table of BEHAVIOR.md and returns either a
//! [`Config`] (valid by construction: its fields are private) or a
//! [`ConfigError`] that names the key by its path, the value and the valid
//! range. `build` is a `const fn`, so a configuration in a `const` or `static`
//! is checked by the compiler: the [`config!`](crate::config!) macro turns an
//! invalid one into a build error. Nothing is ever clamped.

use core::fmt;
use core::marker::PhantomData;

use crate::policy::{AnyPolicy, ConsecutiveFailures, FailureRate, TimeWindow};

/// The largest duration, in milliseconds, that any duration key accepts
/// (2^31 - 1 ms, about 24.8 days).
pub const MAX_DURATION_MS: u32 = i32::MAX as u32;

/// A validated breaker configuration for the trip policy `P`.
///
/// Build one with [`Config::consecutive_failures`], [`Config::failure_rate`],
/// [`Config::time_window`] or [`Config::builder`] (any policy, chosen at run
/// time), then the builder's setters and [`build`](ConfigBuilder::build).
///
/// ```
/// use halfopen::Config;
///
/// let config = Config::consecutive_failures(3)
///     .open_ms(10_000)
///     .backoff(2, 60_000)
///     .build()
///     .unwrap();
/// assert_eq!(config.open_ms(), 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config<P = ConsecutiveFailures> {
    pub(crate) policy: P,
    pub(crate) open_ms: u32,
    pub(crate) half_open_max_calls: u8,
    pub(crate) success_threshold: u16,
    /// 0: slow-call detection off.
    pub(crate) slow_call_ms: u32,
    /// 0: no backoff.
    pub(crate) backoff_factor: u8,
    pub(crate) max_open_ms: u32,
}

/// The raw values of a configuration, as the user gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Raw {
    trip: RawTrip,
    /// Whether a trip policy was chosen by key (run-time builder only).
    trip_chosen: bool,
    open_ms: i64,
    half_open_max_calls: i64,
    success_threshold: i64,
    slow_call_ms: Option<i64>,
    backoff: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawTrip {
    Consecutive(i64),
    Rate {
        percent: i64,
        window: i64,
        minimum_calls: i64,
    },
    Time {
        percent: i64,
        window_ms: i64,
        buckets: i64,
        minimum_calls: i64,
    },
    /// Keys of more than one policy were given (run-time builder only).
    Conflict,
}

/// Builds a [`Config`]; see [`Config`] for the entry points.
///
/// Setters take the values as given and never fail; [`build`](Self::build)
/// checks them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder<P = ConsecutiveFailures> {
    raw: Raw,
    _policy: PhantomData<P>,
}

const DEFAULT: Raw = Raw {
    trip: RawTrip::Consecutive(5),
    trip_chosen: false,
    open_ms: 30_000,
    half_open_max_calls: 1,
    success_threshold: 1,
    slow_call_ms: None,
    backoff: None,
};

impl Config<ConsecutiveFailures> {
    /// Trips after `n` failures in a row (1 ..= 65535).
    pub const fn consecutive_failures(n: u32) -> ConfigBuilder<ConsecutiveFailures> {
        ConfigBuilder::with_trip(RawTrip::Consecutive(n as i64))
    }
}

impl Config<FailureRate> {
    /// Trips when, over the last `window` recorded outcomes (1 ..= 64), at
    /// least `minimum_calls` are recorded and `failures * 100 >= percent *
    /// recorded`.
    pub const fn failure_rate(
        percent: u32,
        window: u32,
        minimum_calls: u32,
    ) -> ConfigBuilder<FailureRate> {
        ConfigBuilder::with_trip(RawTrip::Rate {
            percent: percent as i64,
            window: window as i64,
            minimum_calls: minimum_calls as i64,
        })
    }
}

impl Config<TimeWindow> {
    /// Trips on the failure rate of the outcomes recorded in the last
    /// `window_ms` milliseconds, kept in `buckets` buckets (1 ..= 64;
    /// `window_ms` a multiple of `buckets`).
    pub const fn time_window(
        percent: u32,
        window_ms: u32,
        buckets: u32,
        minimum_calls: u32,
    ) -> ConfigBuilder<TimeWindow> {
        ConfigBuilder::with_trip(RawTrip::Time {
            percent: percent as i64,
            window_ms: window_ms as i64,
            buckets: buckets as i64,
            minimum_calls: minimum_calls as i64,
        })
    }
}

impl Config<AnyPolicy> {
    /// A builder whose trip policy is chosen at run time, by key; it starts
    /// from the defaults (`consecutiveFailures: 5`, `openMs: 30000`, ...).
    /// This is the entry point for configurations that arrive as data (JSON,
    /// JavaScript options): see [`ConfigBuilder::set`].
    pub const fn builder() -> ConfigBuilder<AnyPolicy> {
        ConfigBuilder {
            raw: DEFAULT,
            _policy: PhantomData,
        }
    }
}

impl<P> ConfigBuilder<P> {
    const fn with_trip(trip: RawTrip) -> Self {
        let mut raw = DEFAULT;
        raw.trip = trip;
        Self {
            raw,
            _policy: PhantomData,
        }
    }

    /// How long the breaker stays open before it lets a trial call through
    /// (`openMs`, 1 ..= 2^31 - 1; default 30000).
    pub const fn open_ms(mut self, ms: u32) -> Self {
        self.raw.open_ms = ms as i64;
        self
    }

    /// How many trial permits may be in flight in half-open
    /// (`halfOpenMaxCalls`, 1 ..= 255; default 1).
    pub const fn half_open_max_calls(mut self, n: u32) -> Self {
        self.raw.half_open_max_calls = n as i64;
        self
    }

    /// How many trial successes close the breaker (`successThreshold`,
    /// 1 ..= 65535; default 1).
    pub const fn success_threshold(mut self, n: u32) -> Self {
        self.raw.success_threshold = n as i64;
        self
    }

    /// Records a success that took at least `ms` as a failure (`slowCallMs`,
    /// 1 ..= 2^31 - 1; default unset). The clock is then read at acquire and
    /// at record.
    pub const fn slow_call_ms(mut self, ms: u32) -> Self {
        self.raw.slow_call_ms = Some(ms as i64);
        self
    }

    /// Multiplies the open period by `factor` (1 ..= 16) at each half-open
    /// re-trip, up to `max_open_ms` (>= `openMs`, <= 2^31 - 1).
    pub const fn backoff(mut self, factor: u32, max_open_ms: u32) -> Self {
        self.raw.backoff = Some((factor as i64, max_open_ms as i64));
        self
    }
}

macro_rules! typed_build {
    ($policy:ident, $variant:ident) => {
        impl ConfigBuilder<$policy> {
            /// Checks every value and returns the configuration, or an error
            /// naming the first invalid key, its value and the valid range.
            pub const fn build(self) -> Result<Config<$policy>, ConfigError> {
                match validate(&self.raw) {
                    Ok(c) => match c.policy {
                        AnyPolicy::$variant(policy) => Ok(Config {
                            policy,
                            open_ms: c.open_ms,
                            half_open_max_calls: c.half_open_max_calls,
                            success_threshold: c.success_threshold,
                            slow_call_ms: c.slow_call_ms,
                            backoff_factor: c.backoff_factor,
                            max_open_ms: c.max_open_ms,
                        }),
                        // A typed builder can only hold its own policy.
                        _ => Err(ConfigError::new("trip", 0, ConfigErrorKind::Conflict)),
                    },
                    Err(e) => Err(e),
                }
            }
        }
    };
}
typed_build!(ConsecutiveFailures, ConsecutiveFailures);
typed_build!(FailureRate, FailureRate);
typed_build!(TimeWindow, TimeWindow);

impl ConfigBuilder<AnyPolicy> {
    /// Checks every value and returns the configuration, or an error naming
    /// the first invalid key, its value and the valid range.
    pub const fn build(self) -> Result<Config<AnyPolicy>, ConfigError> {
        validate(&self.raw)
    }

    /// Sets one value by its BEHAVIOR.md key path, e.g. `"openMs"`,
    /// `"consecutiveFailures"`, `"failureRate.window"`, `"backoff.maxOpenMs"`.
    ///
    /// Giving any key of a trip policy selects that policy; all of its keys
    /// must then be given. Values are checked by [`build`](Self::build), so a
    /// negative or huge value is reported there with its key. An unknown key
    /// is an error at once.
    ///
    /// ```
    /// use halfopen::Config;
    ///
    /// let err = Config::builder()
    ///     .set("failureRate.percent", 50).unwrap()
    ///     .set("failureRate.window", 65).unwrap()
    ///     .set("failureRate.minimumCalls", 10).unwrap()
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.key(), "failureRate.window");
    /// assert_eq!(err.to_string(), "failureRate.window = 65 is out of range 1..=64");
    /// ```
    pub fn set(mut self, key: &str, value: i64) -> Result<Self, ConfigError> {
        let r = &mut self.raw;
        match key {
            "consecutiveFailures" => policy_key(r, RawTrip::Consecutive(value)),
            "openMs" => r.open_ms = value,
            "halfOpenMaxCalls" => r.half_open_max_calls = value,
            "successThreshold" => r.success_threshold = value,
            "slowCallMs" => r.slow_call_ms = Some(value),
            "backoff.factor" => {
                r.backoff = Some((value, r.backoff.map_or(i64::MIN, |b| b.1)));
            }
            "backoff.maxOpenMs" => {
                r.backoff = Some((r.backoff.map_or(i64::MIN, |b| b.0), value));
            }
            _ => {
                if let Some(field) = key.strip_prefix("failureRate.") {
                    let (mut p, mut w, mut m) = match r.trip {
                        RawTrip::Rate {
                            percent,
                            window,
                            minimum_calls,
                        } => (percent, window, minimum_calls),
                        _ => (i64::MIN, i64::MIN, i64::MIN),
                    };
                    match field {
                        "percent" => p = value,
                        "window" => w = value,
                        "minimumCalls" => m = value,
                        _ => return Err(ConfigError::unknown_key()),
                    }
                    let next = RawTrip::Rate {
                        percent: p,
                        window: w,
                        minimum_calls: m,
                    };
                    policy_key(r, next);
                } else if let Some(field) = key.strip_prefix("timeWindow.") {
                    let (mut p, mut w, mut b, mut m) = match r.trip {
                        RawTrip::Time {
                            percent,
                            window_ms,
                            buckets,
                            minimum_calls,
                        } => (percent, window_ms, buckets, minimum_calls),
                        _ => (i64::MIN, i64::MIN, i64::MIN, i64::MIN),
                    };
                    match field {
                        "percent" => p = value,
                        "windowMs" => w = value,
                        "buckets" => b = value,
                        "minimumCalls" => m = value,
                        _ => return Err(ConfigError::unknown_key()),
                    }
                    let next = RawTrip::Time {
                        percent: p,
                        window_ms: w,
                        buckets: b,
                        minimum_calls: m,
                    };
                    policy_key(r, next);
                } else {
                    return Err(ConfigError::unknown_key());
                }
            }
        }
        Ok(self)
    }
}

/// Applies a policy key: it replaces the default policy or updates the same
/// policy; keys of a second policy make a conflict.
fn policy_key(raw: &mut Raw, next: RawTrip) {
    let same = matches!(
        (raw.trip, next),
        (RawTrip::Consecutive(_), RawTrip::Consecutive(_))
            | (RawTrip::Rate { .. }, RawTrip::Rate { .. })
            | (RawTrip::Time { .. }, RawTrip::Time { .. })
    );
    raw.trip = if same || !raw.trip_chosen {
        next
    } else {
        RawTrip::Conflict
    };
    raw.trip_chosen = true;
}

/// Marks a key that a run-time policy was given without; reported as missing.
const UNSET: i64 = i64::MIN;

const fn check(key: &'static str, v: i64, min: i64, max: i64) -> Result<(), ConfigError> {
    if v == UNSET {
        Err(ConfigError::new(key, 0, ConfigErrorKind::Missing))
    } else if v < min || v > max {
        Err(ConfigError::new(
            key,
            v,
            ConfigErrorKind::OutOfRange { min, max },
        ))
    } else {
        Ok(())
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}

const MAX_MS: i64 = MAX_DURATION_MS as i64;

const fn validate(r: &Raw) -> Result<Config<AnyPolicy>, ConfigError> {
    let policy = match r.trip {
        RawTrip::Consecutive(n) => {
            tri!(check("consecutiveFailures", n, 1, 65_535));
            AnyPolicy::ConsecutiveFailures(ConsecutiveFailures {
                threshold: n as u16,
            })
        }
        RawTrip::Rate {
            percent,
            window,
            minimum_calls,
        } => {
            tri!(check("failureRate.percent", percent, 1, 100));
            tri!(check("failureRate.window", window, 1, 64));
            tri!(check("failureRate.minimumCalls", minimum_calls, 1, window));
            AnyPolicy::FailureRate(FailureRate {
                percent: percent as u8,
                window: window as u8,
                minimum_calls: minimum_calls as u8,
            })
        }
        RawTrip::Time {
            percent,
            window_ms,
            buckets,
            minimum_calls,
        } => {
            tri!(check("timeWindow.percent", percent, 1, 100));
            tri!(check("timeWindow.buckets", buckets, 1, 64));
            tri!(check("timeWindow.windowMs", window_ms, buckets, MAX_MS));
            if window_ms % buckets != 0 {
                return Err(ConfigError::new(
                    "timeWindow.windowMs",
                    window_ms,
                    ConfigErrorKind::NotMultiple {
                        of: "timeWindow.buckets",
                        divisor: buckets,
                    },
                ));
            }
            tri!(check(
                "timeWindow.minimumCalls",
                minimum_calls,
                1,
                u32::MAX as i64
            ));
            AnyPolicy::TimeWindow(TimeWindow {
                percent: percent as u8,
                window_ms: window_ms as u32,
                buckets: buckets as u8,
                minimum_calls: minimum_calls as u32,
            })
        }
        RawTrip::Conflict => return Err(ConfigError::new("trip", 0, ConfigErrorKind::Conflict)),
    };
    tri!(check("openMs", r.open_ms, 1, MAX_MS));
    tri!(check("halfOpenMaxCalls", r.half_open_max_calls, 1, 255));
    tri!(check("successThreshold", r.success_threshold, 1, 65_535));
    let slow_call_ms = match r.slow_call_ms {
        Some(ms) => {
            tri!(check("slowCallMs", ms, 1, MAX_MS));
            ms as u32
        }
        None => 0,
    };
    let (backoff_factor, max_open_ms) = match r.backoff {
        Some((factor, max)) => {
            tri!(check("backoff.factor", factor, 1, 16));
            tri!(check("backoff.maxOpenMs", max, r.open_ms, MAX_MS));
            (factor as u8, max as u32)
        }
        None => (0, r.open_ms as u32),
    };
    Ok(Config {
        policy,
        open_ms: r.open_ms as u32,
        half_open_max_calls: r.half_open_max_calls as u8,
        success_threshold: r.success_threshold as u16,
        slow_call_ms,
        backoff_factor,
        max_open_ms,
    })
}

impl<P> Config<P> {
    fn with_policy<Q>(&self, policy: Q) -> Config<Q> {
        Config {
            policy,
            open_ms: self.open_ms,
            half_open_max_calls: self.half_open_max_calls,
            success_threshold: self.success_threshold,
            slow_call_ms: self.slow_call_ms,
            backoff_factor: self.backoff_factor,
            max_open_ms: self.max_open_ms,
        }
    }

    /// The trip policy.
    pub const fn policy(&self) -> &P {
        &self.policy
    }

    /// `openMs`: the first open period.
    pub const fn open_ms(&self) -> u32 {
        self.open_ms
    }

    /// `halfOpenMaxCalls`.
    pub const fn half_open_max_calls(&self) -> u8 {
        self.half_open_max_calls
    }

    /// `successThreshold`.
    pub const fn success_threshold(&self) -> u16 {
        self.success_threshold
    }

    /// `slowCallMs`, if slow-call detection is on.
    pub const fn slow_call_ms(&self) -> Option<u32> {
        if self.slow_call_ms == 0 {
            None
        } else {
            Some(self.slow_call_ms)
        }
    }

    /// `backoff` as `(factor, maxOpenMs)`, if set.
    pub const fn backoff(&self) -> Option<(u8, u32)> {
        if self.backoff_factor == 0 {
            None
        } else {
            Some((self.backoff_factor, self.max_open_ms))
        }
    }

    /// The open period after `k` half-open re-trips:
    /// `min(openMs * factor^k, maxOpenMs)`, without overflow for any `k`.
    pub const fn open_duration_ms(&self, k: u32) -> u32 {
        if self.backoff_factor <= 1 {
            return self.open_ms;
        }
        let cap = self.max_open_ms as u64;
        let mut d = self.open_ms as u64;
        let mut i = 0;
        while i < k && d < cap {
            d *= self.backoff_factor as u64;
            i += 1;
        }
        if d > cap {
            cap as u32
        } else {
            d as u32
        }
    }
}

impl<P: Copy> Config<P> {
    /// The same configuration with its policy widened to [`AnyPolicy`].
    pub fn into_any(self) -> Config<AnyPolicy>
    where
        P: Into<AnyPolicy>,
    {
        self.with_policy(self.policy.into())
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The value is outside `min ..= max`.
    OutOfRange {
        /// The smallest valid value.
        min: i64,
        /// The largest valid value.
        max: i64,
    },
    /// The value must be a multiple of another key's value.
    NotMultiple {
        /// The other key.
        of: &'static str,
        /// Its value.
        divisor: i64,
    },
    /// A trip policy given by key lacks this key.
    Missing,
    /// Keys of more than one trip policy were given.
    Conflict,
    /// The key is not a configuration key.
    UnknownKey,
}

/// An invalid configuration: which key, what value, and what would be valid.
///
/// `Display` gives a sentence such as
/// `backoff.maxOpenMs = 500 is out of range 1000..=2147483647`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigError {
    key: &'static str,
    value: i64,
    kind: ConfigErrorKind,
}

impl ConfigError {
    const fn new(key: &'static str, value: i64, kind: ConfigErrorKind) -> Self {
        Self { key, value, kind }
    }

    const fn unknown_key() -> Self {
        Self::new("", 0, ConfigErrorKind::UnknownKey)
    }

    /// The key, by its BEHAVIOR.md path (`openMs`, `failureRate.window`,
    /// `backoff.maxOpenMs`, ...; `trip` for conflicting policies). Empty for
    /// [`ConfigErrorKind::UnknownKey`]: the caller holds the unknown name.
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// The value given.
    pub const fn value(&self) -> i64 {
        self.value
    }

    /// What is wrong with it.
    pub const fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// Stops a `const` evaluation with this error: used by
    /// [`config!`](crate::config!), where it becomes a build error.
    #[doc(hidden)]
    pub const fn fail_build(&self) -> ! {
        match self.kind {
            ConfigErrorKind::OutOfRange { .. } => {
                panic!("invalid halfopen configuration: a value is out of range (see the key)")
            }
            _ => panic!("invalid halfopen configuration"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ConfigErrorKind::OutOfRange { min, max } => {
                write!(
                    f,
                    "{} = {} is out of range {}..={}",
                    self.key, self.value, min, max
                )
            }
            ConfigErrorKind::NotMultiple { of, divisor } => write!(
                f,
                "{} = {} is not a multiple of {} ({})",
                self.key, self.value, of, divisor
            ),
            ConfigErrorKind::Missing => write!(f, "{} is missing", self.key),
            ConfigErrorKind::Conflict => {
                f.write_str("trip: more than one trip policy was given; choose one")
            }
            ConfigErrorKind::UnknownKey => f.write_str("unknown configuration key"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// A [`Config`] checked at compile time, for `const` and `static` items.
///
/// An invalid configuration fails the build; a valid one costs nothing at run
/// time.
///
/// ```
/// use halfopen::{config, Breaker, Config, MockClock};
///
/// static UPLINK: Config = config!(Config::consecutive_failures(3).open_ms(5_000));
/// static CLOCK: MockClock = MockClock::new(0);
/// static BREAKER: Breaker<&MockClock> = Breaker::new(&UPLINK, &CLOCK);
/// assert!(BREAKER.try_acquire().is_ok());
/// ```
///
/// ```compile_fail
/// use halfopen::{config, Config};
/// // openMs = 0 is out of range 1..=2147483647: this does not compile.
/// static BAD: Config = config!(Config::consecutive_failures(3).open_ms(0));
/// ```
#[macro_export]
macro_rules! config {
    ($builder:expr) => {
        const {
            match $builder.build() {
                Ok(config) => config,
                Err(error) => error.fail_build(),
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_duration_multiplies_up_to_the_cap_without_overflow() {
        let c = Config::consecutive_failures(1)
            .open_ms(1_000)
            .backoff(16, MAX_DURATION_MS)
            .build()
            .unwrap();
        assert_eq!(c.open_duration_ms(0), 1_000);
        assert_eq!(c.open_duration_ms(1), 16_000);
        assert_eq!(c.open_duration_ms(5), 1_048_576_000);
        assert_eq!(c.open_duration_ms(6), MAX_DURATION_MS);
        assert_eq!(c.open_duration_ms(u32::MAX), MAX_DURATION_MS);
        let flat = Config::consecutive_failures(1)
            .open_ms(7)
            .backoff(1, 7)
            .build()
            .unwrap();
        assert_eq!(flat.open_duration_ms(30), 7);
        let none = Config::consecutive_failures(1).open_ms(7).build().unwrap();
        assert_eq!(none.open_duration_ms(30), 7);
    }

    #[test]
    fn every_bound_is_checked_on_both_sides() {
        let max = MAX_DURATION_MS;
        let ok = |b: ConfigBuilder<ConsecutiveFailures>| b.build().is_ok();
        let key = |b: ConfigBuilder<ConsecutiveFailures>| b.build().unwrap_err().key();
        let base = Config::consecutive_failures(5);
        assert!(ok(Config::consecutive_failures(1)) && ok(Config::consecutive_failures(65_535)));
        assert_eq!(
            key(Config::consecutive_failures(65_536)),
            "consecutiveFailures"
        );
        assert!(ok(base.open_ms(1)) && ok(base.open_ms(max)));
        assert_eq!(key(base.open_ms(max + 1)), "openMs");
        assert!(ok(base.half_open_max_calls(255)));
        assert_eq!(key(base.half_open_max_calls(256)), "halfOpenMaxCalls");
        assert_eq!(key(base.half_open_max_calls(0)), "halfOpenMaxCalls");
        assert_eq!(key(base.success_threshold(0)), "successThreshold");
        assert_eq!(key(base.success_threshold(65_536)), "successThreshold");
        assert!(ok(base.slow_call_ms(max)));
        assert_eq!(key(base.slow_call_ms(0)), "slowCallMs");
        assert_eq!(key(base.backoff(0, 30_000)), "backoff.factor");
        assert_eq!(key(base.backoff(17, 30_000)), "backoff.factor");
        assert!(ok(base.backoff(16, 30_000)));
        assert_eq!(key(base.backoff(2, 29_999)), "backoff.maxOpenMs");
        let rate = |p, w, m| Config::failure_rate(p, w, m).build().map_err(|e| e.key());
        assert_eq!(rate(0, 10, 1), Err("failureRate.percent"));
        assert_eq!(rate(101, 10, 1), Err("failureRate.percent"));
        assert_eq!(rate(50, 0, 1), Err("failureRate.window"));
        assert_eq!(rate(50, 65, 1), Err("failureRate.window"));
        assert_eq!(rate(50, 64, 0), Err("failureRate.minimumCalls"));
        assert!(rate(100, 64, 64).is_ok());
        let time = |p, w, b, m| Config::time_window(p, w, b, m).build().map_err(|e| e.key());
        assert_eq!(time(50, 1_000, 0, 1), Err("timeWindow.buckets"));
        assert_eq!(time(50, 1_000, 65, 1), Err("timeWindow.buckets"));
        assert_eq!(time(50, 0, 10, 1), Err("timeWindow.windowMs"));
        assert_eq!(time(50, 1_000, 10, 0), Err("timeWindow.minimumCalls"));
        assert_eq!(time(0, 1_000, 10, 1), Err("timeWindow.percent"));
        assert!(time(50, 2_147_483_584, 64, 1).is_ok());
    }
}
