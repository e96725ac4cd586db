//! The Prometheus export: a registry's breakers scraped as OpenMetrics text
//! by `prometheus-client` and the text parsed back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use halfopen::{Config, MockClock};
use halfopen_service::{prometheus, Breakers, DURATION_BUCKETS};

type Labels = BTreeMap<String, String>;

/// The samples (name and labels to value) and the `# TYPE` of each family.
struct Scrape {
    samples: HashMap<(String, Labels), f64>,
    types: HashMap<String, String>,
}

impl Scrape {
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        *self
            .samples
            .get(&(name.to_string(), labels.clone()))
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }
}

/// Parses the text exposition: `# TYPE name type`, `# HELP`, `# EOF`, and
/// samples `name{key="value",...} number`.
fn parse(text: &str) -> Scrape {
    let mut samples = HashMap::new();
    let mut types = HashMap::new();
    let mut eof = false;
    for line in text.lines() {
        assert!(!eof, "a line after # EOF: {line}");
        if line == "# EOF" {
            eof = true;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
        } else if line.starts_with("# HELP ") {
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap();
                    let labels = body
                        .split(',')
                        .map(|kv| {
                            let (k, v) = kv.split_once('=').unwrap();
                            (k.to_string(), v.trim_matches('"').to_string())
                        })
                        .collect();
                    (name, labels)
                }
                None => (series, Labels::new()),
            };
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            assert!(
                samples.insert((name.to_string(), labels), value).is_none(),
                "duplicate {line}"
            );
        }
    }
    assert!(eof, "no # EOF");
    Scrape { samples, types }
}

fn scrape(breakers: &Arc<Breakers<&'static MockClock>>) -> Scrape {
    let mut registry = prometheus_client::registry::Registry::default();
    prometheus::register(&mut registry, Arc::clone(breakers));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    parse(&text)
}

#[test]
fn every_breaker_is_exported_with_its_name() {
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new(0)));
    let config = Config::consecutive_failures(2)
        .open_ms(4_000)
        .build()
        .unwrap();
    let breakers = Arc::new(Breakers::with_clock(config, clock).timed(DURATION_BUCKETS));

    // search: a 30 ms success, a 20 ms success, an error.
    let _ = breakers.execute("search", || {
        clock.advance(30);
        Ok::<_, ()>(())
    });
    let _ = breakers.execute("search", || {
        clock.advance(20);
        Ok::<_, ()>(())
    });
    let _ = breakers.execute("search", || Err::<(), _>(()));
    // payments: trips, is rejected, and 1.5 s later is still open.
    for _ in 0..2 {
        let _ = breakers.execute("payments", || Err::<(), _>(()));
    }
    let _ = breakers.execute("payments", || Ok::<_, ()>(()));
    clock.advance(1_500);

    let s = scrape(&breakers);
    assert_eq!(s.types["halfopen_state"], "gauge");
    assert_eq!(s.types["halfopen_successes"], "counter");
    assert_eq!(s.types["halfopen_transitions"], "counter");
    assert_eq!(s.types["halfopen_retry_after_seconds"], "gauge");
    assert_eq!(s.types["halfopen_call_duration_seconds"], "histogram");

    for (name, current) in [("search", "closed"), ("payments", "open")] {
        for state in ["closed", "open", "halfOpen", "isolated"] {
            let v = s.value("halfopen_state", &[("name", name), ("state", state)]);
            assert_eq!(v, f64::from(u8::from(state == current)), "{name} {state}");
        }
    }
    let search = [("name", "search")];
    let payments = [("name", "payments")];
    assert_eq!(s.value("halfopen_successes_total", &search), 2.0);
    assert_eq!(s.value("halfopen_failures_total", &search), 1.0);
    assert_eq!(s.value("halfopen_failures_total", &payments), 2.0);
    assert_eq!(s.value("halfopen_rejected_total", &payments), 1.0);
    assert_eq!(s.value("halfopen_slow_calls_total", &payments), 0.0);
    assert_eq!(s.value("halfopen_ignored_total", &payments), 0.0);
    let tripped = [("name", "payments"), ("from", "closed"), ("to", "open")];
    assert_eq!(s.value("halfopen_transitions_total", &tripped), 1.0);
    let closed = [("name", "payments"), ("from", "halfOpen"), ("to", "closed")];
    assert_eq!(s.value("halfopen_transitions_total", &closed), 0.0);
    assert_eq!(s.value("halfopen_recovery_attempts_total", &payments), 0.0);
    assert_eq!(s.value("halfopen_retry_after_seconds", &payments), 2.5);
    assert_eq!(s.value("halfopen_retry_after_seconds", &search), 0.0);

    // The histogram: search's three calls (30 ms, 20 ms, 0 ms); payments'
    // two calls that ran (the rejected one is not a call).
    assert_eq!(
        s.value("halfopen_call_duration_seconds_count", &search),
        3.0
    );
    assert!((s.value("halfopen_call_duration_seconds_sum", &search) - 0.05).abs() < 1e-9);
    let le = |le| [("name", "search"), ("le", le)];
    assert_eq!(
        s.value("halfopen_call_duration_seconds_bucket", &le("0.005")),
        1.0
    );
    assert_eq!(
        s.value("halfopen_call_duration_seconds_bucket", &le("0.025")),
        2.0
    );
    assert_eq!(
        s.value("halfopen_call_duration_seconds_bucket", &le("0.05")),
        3.0
    );
    assert_eq!(
        s.value("halfopen_call_duration_seconds_bucket", &le("+Inf")),
        3.0
    );
    assert_eq!(
        s.value("halfopen_call_duration_seconds_count", &payments),
        2.0
    );

    // A recovery attempt shows up at the next scrape.
    clock.advance(2_500);
    let _ = breakers.execute("payments", || Ok::<_, ()>(()));
    let s = scrape(&breakers);
    assert_eq!(s.value("halfopen_recovery_attempts_total", &payments), 1.0);
    assert_eq!(
        s.value(
            "halfopen_state",
            &[("name", "payments"), ("state", "closed")]
        ),
        1.0
    );
}

#[test]
fn an_untimed_registry_has_no_histogram() {
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new(0)));
    let breakers = Arc::new(Breakers::with_clock(halfopen::presets::HTTP_API, clock));
    let _ = breakers.execute("a", || Ok::<_, ()>(()));
    let s = scrape(&breakers);
    assert!(!s.types.contains_key("halfopen_call_duration_seconds"));
    assert_eq!(s.value("halfopen_successes_total", &[("name", "a")]), 1.0);
}

#[test]
fn names_are_escaped_in_label_values() {
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new(0)));
    let breakers = Arc::new(Breakers::with_clock(halfopen::presets::HTTP_API, clock));
    let _ = breakers.execute("a \"quoted\" \\ name\nwith a newline", || Ok::<_, ()>(()));
    let mut registry = prometheus_client::registry::Registry::default();
    prometheus::register(&mut registry, Arc::clone(&breakers));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let line = r#"halfopen_successes_total{name="a \"quoted\" \\ name\nwith a newline"} 1"#;
    assert!(text.lines().any(|l| l == line), "{text}");
}
