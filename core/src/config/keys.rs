//! Configuration from data: one value at a time, by the specification's key
//! path (JSON, TOML, JavaScript options).

use super::builder::{Raw, RawTrip, UNSET};
use super::{ConfigBuilder, ConfigError};
use crate::policy::AnyPolicy;

impl ConfigBuilder<AnyPolicy> {
    /// Sets one value by its specification key path, e.g. `"openMs"`,
    /// `"consecutiveFailures"`, `"failureRate.window"`, `"backoff.maxOpenMs"`.
    ///
    /// Giving any key of a trip policy selects that policy; its keys must
    /// then be given, except those with a default (`minimumCalls`: 1) and
    /// the rule a window policy leaves out (`percent` or `failures`: at least
    /// one). Values are checked by [`build`](Self::build), so a
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
            "halfOpenMaxWaitMs" => r.half_open_max_wait_ms = Some(value),
            "jitter.percent" => r.jitter = Some((value, r.jitter.map_or(0, |j| j.1))),
            "jitter.seed" => r.jitter = Some((r.jitter.map_or(UNSET, |j| j.0), value)),
            _ => {
                if let Some(field) = key.strip_prefix("failureRate.") {
                    let (mut p, mut f, mut w, mut m) = match r.trip {
                        RawTrip::Rate {
                            percent,
                            failures,
                            window,
                            minimum_calls,
                        } => (percent, failures, window, minimum_calls),
                        _ => (UNSET, UNSET, UNSET, UNSET),
                    };
                    match field {
                        "percent" => p = value,
                        "failures" => f = value,
                        "window" => w = value,
                        "minimumCalls" => m = value,
                        _ => return Err(ConfigError::unknown_key()),
                    }
                    let next = RawTrip::Rate {
                        percent: p,
                        failures: f,
                        window: w,
                        minimum_calls: m,
                    };
                    policy_key(r, next);
                } else if let Some(field) = key.strip_prefix("timeWindow.") {
                    let (mut p, mut f, mut w, mut b, mut m) = match r.trip {
                        RawTrip::Time {
                            percent,
                            failures,
                            window_ms,
                            buckets,
                            minimum_calls,
                        } => (percent, failures, window_ms, buckets, minimum_calls),
                        _ => (UNSET, UNSET, UNSET, UNSET, UNSET),
                    };
                    match field {
                        "percent" => p = value,
                        "failures" => f = value,
                        "windowMs" => w = value,
                        "buckets" => b = value,
                        "minimumCalls" => m = value,
                        _ => return Err(ConfigError::unknown_key()),
                    }
                    let next = RawTrip::Time {
                        percent: p,
                        failures: f,
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
