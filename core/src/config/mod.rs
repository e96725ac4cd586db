//! Configuration: a `const fn` builder, validation, and the errors it gives.
//!
//! A [`ConfigBuilder`] holds the raw values as given; [`ConfigBuilder::build`]
//! checks every one against the configuration table of the specification (`SPEC.md`) and returns either a
//! [`Config`] (valid by construction: its fields are private) or a
//! [`ConfigError`] that names the key by its path, the value and the valid
//! range. `build` is a `const fn`, so a configuration in a `const` or `static`
//! is checked by the compiler: the [`config!`](crate::config!) macro turns an
//! invalid one into a build error. Nothing is ever clamped.

mod builder;
mod error;
mod keys;
#[cfg(feature = "serde")]
mod serde_keys;

pub use builder::ConfigBuilder;
pub use error::{ConfigError, ConfigErrorKind};

use crate::policy::{AnyPolicy, ConsecutiveFailures};

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
    /// 0: no half-open deadline.
    pub(crate) half_open_max_wait_ms: u32,
    /// 0: no jitter.
    pub(crate) jitter_percent: u8,
    pub(crate) jitter_seed: u32,
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
            half_open_max_wait_ms: self.half_open_max_wait_ms,
            jitter_percent: self.jitter_percent,
            jitter_seed: self.jitter_seed,
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
        let d = if self.backoff_factor <= 1 {
            self.open_ms
        } else {
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
        };
        if !cfg!(feature = "jitter") || self.jitter_percent == 0 {
            d
        } else {
            jittered(d, k, self.jitter_percent, self.jitter_seed)
        }
    }

    /// `halfOpenMaxWaitMs`, if set.
    pub const fn half_open_max_wait_ms(&self) -> Option<u32> {
        if self.half_open_max_wait_ms == 0 {
            None
        } else {
            Some(self.half_open_max_wait_ms)
        }
    }

    /// `jitter` as `(percent, seed)`, if set.
    pub const fn jitter(&self) -> Option<(u8, u32)> {
        if self.jitter_percent == 0 {
            None
        } else {
            Some((self.jitter_percent, self.jitter_seed))
        }
    }
}

/// MurmurHash3's 32-bit finalizer.
const fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h
}

/// An opening of `d` ms at re-trip count `k`, shortened by the jitter of
/// `seed`: `d - floor(floor(d * percent / 100) * u / 2^32)` with `u =
/// fmix32(seed + k * 0x9E3779B9)`; never below 1 ms.
const fn jittered(d: u32, k: u32, percent: u8, seed: u32) -> u32 {
    let u = fmix32(seed.wrapping_add(k.wrapping_mul(0x9E37_79B9)));
    // floor(d * percent / 100) in 32 bits (no 64-bit division on small
    // targets): d = 100 q + r, so it is q * percent + floor(r * percent / 100).
    let p = percent as u32;
    let span = (d / 100) * p + (d % 100) * p / 100;
    let cut = ((span as u64 * u as u64) >> 32) as u32;
    if d - cut < 1 {
        1
    } else {
        d - cut
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
