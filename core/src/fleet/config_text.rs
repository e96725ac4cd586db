//! The configuration a fleet shares, as text: instances that share one
//! breaker name must agree on it, and one that does not is told which key
//! differs.

use core::fmt::{self, Write as _};

use crate::policy::AnyPolicy;
use crate::Config;

use super::rules::FleetRules;
use super::text::FixedText;

/// The longest [`ConfigText`], in bytes.
pub const CONFIG_TEXT_CAPACITY: usize = 384;

/// A fleet's configuration in canonical text: `key=value` pairs by the
/// specification's key names, `;`-separated, in one fixed order, every key
/// written (0 for a key that is not set). Its [`fingerprint`](Self::fingerprint)
/// is a 32-bit FNV-1a hash of the text.
#[derive(Clone, Copy)]
pub struct ConfigText {
    text: FixedText<CONFIG_TEXT_CAPACITY>,
}

impl ConfigText {
    pub(crate) fn of(rules: &FleetRules) -> Self {
        let mut text = FixedText::new();
        // Every value is a bounded integer: far below the capacity.
        let _ = write_config(&mut text, &rules.config, rules);
        Self { text }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// FNV-1a (32 bits) of the text.
    pub fn fingerprint(&self) -> u32 {
        let mut h: u32 = 0x811C_9DC5;
        for &b in self.as_str().as_bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    }

    /// The first key whose value differs between this text and `other`
    /// (another instance's text, as a store returned it), or `None` if they
    /// are the same. A key only one side has is reported with `absent` on
    /// the other side.
    ///
    /// ```
    /// use halfopen::Config;
    /// use halfopen::fleet::FleetRules;
    ///
    /// let a = FleetRules::new(&Config::consecutive_failures(5).build().unwrap(), 5_000).unwrap();
    /// let b = FleetRules::new(&Config::consecutive_failures(3).build().unwrap(), 5_000).unwrap();
    /// let (ours, theirs) = (a.config_text(), b.config_text());
    /// let d = ours.difference(theirs.as_str()).unwrap();
    /// assert_eq!(d.to_string(), "consecutiveFailures: 5 here, 3 in the fleet");
    /// assert!(ours.difference(ours.as_str()).is_none());
    /// ```
    pub fn difference<'a>(&'a self, other: &'a str) -> Option<ConfigDifference<'a>> {
        let pairs = |s: &'a str| {
            s.split(';')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, "")))
        };
        for (key, ours) in pairs(self.as_str()) {
            let theirs = pairs(other).find(|&(k, _)| k == key).map(|(_, v)| v);
            if theirs != Some(ours) {
                return Some(ConfigDifference {
                    key,
                    here: ours,
                    fleet: theirs.unwrap_or("absent"),
                });
            }
        }
        pairs(other)
            .find(|&(k, _)| !pairs(self.as_str()).any(|(key, _)| key == k))
            .map(|(key, v)| ConfigDifference {
                key,
                here: "absent",
                fleet: v,
            })
    }
}

impl fmt::Debug for ConfigText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// One key on which two instances' fleet configurations differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDifference<'a> {
    /// The key, by the specification's name.
    pub key: &'a str,
    /// Its value in this instance's configuration (`absent` if it has none).
    pub here: &'a str,
    /// Its value in the fleet's (`absent` if it has none).
    pub fleet: &'a str,
}

impl fmt::Display for ConfigDifference<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} here, {} in the fleet",
            self.key, self.here, self.fleet
        )
    }
}

fn write_config(
    t: &mut FixedText<CONFIG_TEXT_CAPACITY>,
    c: &Config<AnyPolicy>,
    rules: &FleetRules,
) -> fmt::Result {
    match c.policy {
        AnyPolicy::ConsecutiveFailures(p) => write!(t, "consecutiveFailures={}", p.threshold())?,
        AnyPolicy::FailureRate(p) => write!(
            t,
            "failureRate.percent={};failureRate.failures={};failureRate.window={};failureRate.minimumCalls={}",
            p.percent, p.failures, p.window, p.minimum_calls
        )?,
        AnyPolicy::TimeWindow(p) => write!(
            t,
            "timeWindow.percent={};timeWindow.failures={};timeWindow.windowMs={};timeWindow.buckets={};timeWindow.minimumCalls={}",
            p.percent, p.failures, p.window_ms, p.buckets, p.minimum_calls
        )?,
    }
    write!(
        t,
        ";openMs={};halfOpenMaxCalls={};successThreshold={};slowCallMs={};backoff.factor={};backoff.maxOpenMs={};halfOpenMaxWaitMs={};jitter.percent={};jitter.seed={}",
        c.open_ms,
        c.half_open_max_calls,
        c.success_threshold,
        c.slow_call_ms,
        c.backoff_factor,
        c.max_open_ms,
        c.half_open_max_wait_ms,
        c.jitter_percent,
        c.jitter_seed
    )?;
    write!(t, ";fleet.leaseMs={}", rules.lease_ms)?;
    match rules.window {
        Some(w) => write!(
            t,
            ";fleet.windowMs={};fleet.buckets={}",
            w.window_ms(),
            w.buckets()
        ),
        None => t.write_str(";fleet.windowMs=0;fleet.buckets=0"),
    }
}
