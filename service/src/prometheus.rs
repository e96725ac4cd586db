//! Prometheus / OpenMetrics export with the `prometheus-client` crate.
//!
//! [`Breakers`] is a `prometheus_client` collector: each scrape reads every
//! breaker (no background task, no second copy of the counts) and writes,
//! with the breaker's name as the label `name`:
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `halfopen_state` | gauge | `name`, `state` | 1 for the current state, 0 for the three others |
//! | `halfopen_successes_total`, `halfopen_failures_total`, `halfopen_slow_calls_total`, `halfopen_ignored_total`, `halfopen_rejected_total` | counter | `name` | the specification's totals |
//! | `halfopen_transitions_total` | counter | `name`, `from`, `to` | transitions by state left and entered |
//! | `halfopen_recovery_attempts_total` | counter | `name` | `open -> halfOpen` |
//! | `halfopen_retry_after_seconds` | gauge | `name` | while open: time until a trial call is let through; else 0 |
//! | `halfopen_call_duration_seconds` | histogram | `name` | calls made through the registry, when it is [`timed`](Breakers::timed) |
//!
//! ```
//! use std::sync::Arc;
//! use halfopen::presets;
//! use halfopen_service::{prometheus, Breakers};
//!
//! let breakers = Arc::new(Breakers::new(presets::HTTP_API));
//! let _ = breakers.execute("search", || Ok::<_, ()>(()));
//!
//! let mut registry = prometheus_client::registry::Registry::default();
//! prometheus::register(&mut registry, Arc::clone(&breakers));
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
//! assert!(text.contains(r#"halfopen_state{name="search",state="closed"} 1"#));
//! assert!(text.contains(r#"halfopen_successes_total{name="search"} 1"#));
//! ```

use std::sync::Arc;

use halfopen::{Clock, Totals};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::registry::{Breakers, ServiceBreaker};

const STATES: [halfopen::State; 4] = [
    halfopen::State::Closed,
    halfopen::State::Open,
    halfopen::State::HalfOpen,
    halfopen::State::Isolated,
];

/// A breaker's name as a label value, escaped as the text format requires
/// (`\\`, `\"`, `\n`): prometheus-client writes label values as given, and a
/// name is whatever the service chose.
struct Name<'a>(&'a str);

impl EncodeLabelValue for Name<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Registers `breakers` as a collector of `registry`.
pub fn register<C: Clock + Clone + Send + Sync + 'static>(
    registry: &mut Registry,
    breakers: Arc<Breakers<C>>,
) {
    registry.register_collector(Box::new(breakers));
}

type Total = (&'static str, &'static str, fn(&Totals) -> u32);

const TOTALS: [Total; 5] = [
    ("halfopen_successes", "Successes recorded.", |t| t.successes),
    (
        "halfopen_failures",
        "Failures recorded, slow calls included.",
        |t| t.failures,
    ),
    (
        "halfopen_slow_calls",
        "Successes recorded as failures because they were slow.",
        |t| t.slow_calls,
    ),
    ("halfopen_ignored", "Outcomes recorded as ignored.", |t| {
        t.ignored
    }),
    ("halfopen_rejected", "Calls the breaker rejected.", |t| {
        t.rejected
    }),
];

impl<C: Clock + Clone + Send + Sync + 'static> Collector for Breakers<C> {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let breakers: Vec<(String, Arc<ServiceBreaker<C>>)> = self.breakers();
        let now = self.now_ms();

        let mut m = encoder.encode_descriptor(
            "halfopen_state",
            "The breaker's state: 1 for the current one.",
            None,
            MetricType::Gauge,
        )?;
        for (name, b) in &breakers {
            let state = b.state();
            for s in STATES {
                let labels = [("name", Name(name)), ("state", Name(s.as_str()))];
                ConstGauge::new(i64::from(s == state)).encode(m.encode_family(&labels)?)?;
            }
        }

        for (metric, help, read) in TOTALS {
            let mut m = encoder.encode_descriptor(metric, help, None, MetricType::Counter)?;
            for (name, b) in &breakers {
                let totals = b.totals().unwrap_or_default();
                let labels = [("name", Name(name))];
                ConstCounter::new(u64::from(read(&totals))).encode(m.encode_family(&labels)?)?;
            }
        }

        let mut m = encoder.encode_descriptor(
            "halfopen_transitions",
            "Transitions, by the state left and the state entered.",
            None,
            MetricType::Counter,
        )?;
        for (name, b) in &breakers {
            for (from, to, n) in b.observer().transition_counts() {
                let labels = [
                    ("name", Name(name)),
                    ("from", Name(from.as_str())),
                    ("to", Name(to.as_str())),
                ];
                ConstCounter::new(u64::from(n)).encode(m.encode_family(&labels)?)?;
            }
        }

        let mut m = encoder.encode_descriptor(
            "halfopen_recovery_attempts",
            "Times trial calls were let through (open to halfOpen).",
            None,
            MetricType::Counter,
        )?;
        for (name, b) in &breakers {
            let n = b.observer().recovery_attempts();
            ConstCounter::new(u64::from(n)).encode(m.encode_family(&[("name", Name(name))])?)?;
        }

        let mut m = encoder.encode_descriptor(
            "halfopen_retry_after_seconds",
            "While open: seconds until a trial call is let through; else 0.",
            None,
            MetricType::Gauge,
        )?;
        for (name, b) in &breakers {
            let ms = b.metrics().retry_at.map_or(0, |t| t.saturating_sub(now));
            ConstGauge::new(ms as f64 / 1_000.0)
                .encode(m.encode_family(&[("name", Name(name))])?)?;
        }

        if breakers.iter().any(|(_, b)| b.observer().is_timed()) {
            let mut m = encoder.encode_descriptor(
                "halfopen_call_duration_seconds",
                "Duration of the calls made through the breaker.",
                None,
                MetricType::Histogram,
            )?;
            for (name, b) in &breakers {
                if let Some(h) = b.observer().durations() {
                    h.encode(m.encode_family(&[("name", Name(name))])?)?;
                }
            }
        }
        Ok(())
    }
}
