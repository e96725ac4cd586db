//! The builder: raw values as given (setters never fail), and the one
//! validation that turns them into a [`Config`] or names what is wrong.

use core::marker::PhantomData;

use super::{Config, ConfigError, ConfigErrorKind, MAX_DURATION_MS};
use crate::policy::{AnyPolicy, ConsecutiveFailures, FailureRate, TimeWindow};

/// The raw values of a configuration, as the user gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Raw {
    pub(super) trip: RawTrip,
    /// Whether a trip policy was chosen by key (run-time builder only).
    pub(super) trip_chosen: bool,
    pub(super) open_ms: i64,
    pub(super) half_open_max_calls: i64,
    pub(super) success_threshold: i64,
    pub(super) slow_call_ms: Option<i64>,
    pub(super) backoff: Option<(i64, i64)>,
    pub(super) half_open_max_wait_ms: Option<i64>,
    /// `(percent, seed)`.
    pub(super) jitter: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawTrip {
    Consecutive(i64),
    /// `percent` and `failures` may be [`UNSET`] (not given); at least one
    /// must be given. `minimum_calls` defaults to 1.
    Rate {
        percent: i64,
        failures: i64,
        window: i64,
        minimum_calls: i64,
    },
    Time {
        percent: i64,
        failures: i64,
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
    pub(super) raw: Raw,
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
    half_open_max_wait_ms: None,
    jitter: None,
};

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

    /// Re-opens a half-open breaker whose trials have not decided within
    /// `ms` of entering half-open (`halfOpenMaxWaitMs`, 1 ..= 2^31 - 1;
    /// default unset): a trial that never reports (a lost promise, a hung
    /// peripheral) cannot hold it half-open for ever. The clock is then read
    /// by acquires and outcomes in half-open.
    pub const fn half_open_max_wait_ms(mut self, ms: u32) -> Self {
        self.raw.half_open_max_wait_ms = Some(ms as i64);
        self
    }

    /// Shortens each opening of this breaker by up to `percent` % (1 ..=
    /// 100), by an amount fixed by `seed` and the re-trip count, so that
    /// instances with different seeds (a device id, an isolate id) do not all
    /// retry at the same moment (`jitter`). Deterministic: no random number
    /// generator is involved.
    pub const fn jitter(mut self, percent: u32, seed: u32) -> Self {
        self.raw.jitter = Some((percent as i64, seed as i64));
        self
    }
}

impl ConfigBuilder<FailureRate> {
    /// Also trips when the window holds at least `n` failures, whatever the
    /// number of calls (`failureRate.failures`, 1 ..= `window`): "20
    /// failures or 50 %" is one policy.
    pub const fn failures(mut self, n: u32) -> Self {
        if let RawTrip::Rate {
            ref mut failures, ..
        } = self.raw.trip
        {
            *failures = n as i64;
        }
        self
    }
}

impl ConfigBuilder<TimeWindow> {
    /// Also trips when the window holds at least `n` failures, whatever the
    /// number of calls (`timeWindow.failures`, 1 ..= 2^31 - 1).
    pub const fn failures(mut self, n: u32) -> Self {
        if let RawTrip::Time {
            ref mut failures, ..
        } = self.raw.trip
        {
            *failures = n as i64;
        }
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
                            half_open_max_wait_ms: c.half_open_max_wait_ms,
                            jitter_percent: c.jitter_percent,
                            jitter_seed: c.jitter_seed,
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
}

/// Marks a key that a run-time policy was given without; reported as missing.
pub(super) const UNSET: i64 = i64::MIN;

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
            failures,
            window,
            minimum_calls,
        } => {
            tri!(rule("failureRate.percent", percent, failures));
            tri!(check("failureRate.window", window, 1, 64));
            tri!(optional("failureRate.failures", failures, 1, window));
            let minimum_calls = or_one(minimum_calls);
            tri!(check("failureRate.minimumCalls", minimum_calls, 1, window));
            AnyPolicy::FailureRate(FailureRate {
                percent: or_zero(percent) as u8,
                failures: or_zero(failures) as u8,
                window: window as u8,
                minimum_calls: minimum_calls as u8,
            })
        }
        RawTrip::Time {
            percent,
            failures,
            window_ms,
            buckets,
            minimum_calls,
        } => {
            tri!(rule("timeWindow.percent", percent, failures));
            tri!(optional("timeWindow.failures", failures, 1, MAX_MS));
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
            let minimum_calls = or_one(minimum_calls);
            tri!(check("timeWindow.minimumCalls", minimum_calls, 1, MAX_MS));
            AnyPolicy::TimeWindow(TimeWindow {
                percent: or_zero(percent) as u8,
                failures: or_zero(failures) as u32,
                window_ms: window_ms as u32,
                buckets: buckets as u8,
                minimum_calls: minimum_calls as u32,
                bucket_ms: (window_ms / buckets) as u32,
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
    let half_open_max_wait_ms = match r.half_open_max_wait_ms {
        Some(ms) => {
            tri!(check("halfOpenMaxWaitMs", ms, 1, MAX_MS));
            tri!(feature(
                "halfOpenMaxWaitMs",
                ms,
                cfg!(feature = "half-open-max-wait"),
                "half-open-max-wait"
            ));
            ms as u32
        }
        None => 0,
    };
    let (jitter_percent, jitter_seed) = match r.jitter {
        Some((percent, seed)) => {
            tri!(check("jitter.percent", percent, 1, 100));
            tri!(check("jitter.seed", seed, 0, u32::MAX as i64));
            tri!(feature(
                "jitter.percent",
                percent,
                cfg!(feature = "jitter"),
                "jitter"
            ));
            (percent as u8, seed as u32)
        }
        None => (0, 0),
    };
    Ok(Config {
        policy,
        open_ms: r.open_ms as u32,
        half_open_max_calls: r.half_open_max_calls as u8,
        success_threshold: r.success_threshold as u16,
        slow_call_ms,
        backoff_factor,
        max_open_ms,
        half_open_max_wait_ms,
        jitter_percent,
        jitter_seed,
    })
}

/// A key whose code this build left out (a firmware that counts bytes turns
/// default features off) is refused, never ignored.
const fn feature(
    key: &'static str,
    v: i64,
    present: bool,
    name: &'static str,
) -> Result<(), ConfigError> {
    if present {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            v,
            ConfigErrorKind::NeedsFeature(name),
        ))
    }
}

/// A window policy needs at least one of its rules: `percent` (checked
/// here) or `failures`; with neither, the error names `percent`.
const fn rule(key: &'static str, percent: i64, failures: i64) -> Result<(), ConfigError> {
    if percent == UNSET && failures == UNSET {
        return Err(ConfigError::new(key, 0, ConfigErrorKind::Missing));
    }
    optional(key, percent, 1, 100)
}

/// A key that may be left out.
const fn optional(key: &'static str, v: i64, min: i64, max: i64) -> Result<(), ConfigError> {
    if v == UNSET {
        Ok(())
    } else {
        check(key, v, min, max)
    }
}

const fn or_zero(v: i64) -> i64 {
    if v == UNSET {
        0
    } else {
        v
    }
}

const fn or_one(v: i64) -> i64 {
    if v == UNSET {
        1
    } else {
        v
    }
}

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
            failures: UNSET,
            window: window as i64,
            minimum_calls: minimum_calls as i64,
        })
    }

    /// Trips when the last `window` recorded outcomes (1 ..= 64) hold at
    /// least `failures` failures (1 ..= `window`), whatever the number of
    /// calls: the count rule alone. Add a rate with
    /// `failure_rate(..).failures(n)` instead for "n failures or p %".
    pub const fn failures_in_last(failures: u32, window: u32) -> ConfigBuilder<FailureRate> {
        ConfigBuilder::with_trip(RawTrip::Rate {
            percent: UNSET,
            failures: failures as i64,
            window: window as i64,
            minimum_calls: UNSET,
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
            failures: UNSET,
            window_ms: window_ms as i64,
            buckets: buckets as i64,
            minimum_calls: minimum_calls as i64,
        })
    }

    /// Trips when the last `window_ms` milliseconds (in `buckets` buckets)
    /// hold at least `failures` failures, whatever the number of calls: "5
    /// failures within 60 s" is `failures_within(5, 60_000, 6)`.
    pub const fn failures_within(
        failures: u32,
        window_ms: u32,
        buckets: u32,
    ) -> ConfigBuilder<TimeWindow> {
        ConfigBuilder::with_trip(RawTrip::Time {
            percent: UNSET,
            failures: failures as i64,
            window_ms: window_ms as i64,
            buckets: buckets as i64,
            minimum_calls: UNSET,
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
