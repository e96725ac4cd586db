//! Feature `serde`: a configuration from a TOML file and from JSON, with the
//! specification's keys and the builder's errors; metrics, states and
//! health serialized with the specification's names.
#![cfg(feature = "serde")]

use std::collections::BTreeMap;

use halfopen::{AnyPolicy, Breaker, Config, Counters, Health, MockClock, Registry, State};

fn json(text: &str) -> Result<Config<AnyPolicy>, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[test]
fn a_toml_file_configures_named_breakers() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/breakers.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let configs: BTreeMap<String, Config<AnyPolicy>> = toml::from_str(&text).unwrap();

    let payments = Config::consecutive_failures(3)
        .open_ms(60_000)
        .half_open_max_calls(2)
        .success_threshold(2)
        .backoff(2, 600_000)
        .build()
        .unwrap()
        .into_any();
    let search = Config::failure_rate(50, 20, 10)
        .failures(10)
        .slow_call_ms(2_000)
        .build()
        .unwrap()
        .into_any();
    let storage = Config::failures_within(5, 60_000, 12)
        .half_open_max_wait_ms(30_000)
        .jitter(20, 7)
        .build()
        .unwrap()
        .into_any();
    assert_eq!(configs["payments"], payments);
    assert_eq!(configs["search"], search);
    assert_eq!(configs["storage"], storage);

    // The configurations drive breakers.
    let clock = MockClock::new(0);
    let b = Breaker::new(&configs["payments"], &clock);
    for _ in 0..3 {
        b.try_acquire().unwrap().failure();
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn an_empty_object_is_the_default_configuration() {
    assert_eq!(json("{}").unwrap(), Config::builder().build().unwrap());
}

#[test]
fn bad_files_are_refused_naming_the_key() {
    let cases = [
        (
            r#"{"openMs": 0}"#,
            "openMs = 0 is out of range 1..=2147483647",
        ),
        (
            r#"{"trip": {"failureRate": {"percent": 50, "window": 65}}}"#,
            "failureRate.window = 65 is out of range 1..=64",
        ),
        (
            r#"{"trip": {"failureRate": {"window": 10}}}"#,
            "failureRate.percent is missing",
        ),
        (
            r#"{"trip": {"failureRate": {}}}"#,
            "failureRate.percent is missing",
        ),
        (
            r#"{"trip": {"timeWindow": {"failures": 5, "windowMs": 1000, "buckets": 3}}}"#,
            "timeWindow.windowMs = 1000 is not a multiple of timeWindow.buckets (3)",
        ),
        (
            r#"{"trip": {"consecutiveFailures": 3, "failureRate": {"percent": 50, "window": 10}}}"#,
            "trip: more than one trip policy was given; choose one",
        ),
        (r#"{"trip": {}}"#, "trip is missing"),
        (
            r#"{"backoff": {"factor": 2}}"#,
            "backoff.maxOpenMs is missing",
        ),
        (
            r#"{"backoff": {"factor": 2, "maxOpenMs": 500}}"#,
            "backoff.maxOpenMs = 500 is out of range 30000..=2147483647",
        ),
        (r#"{"openMS": 10}"#, "unknown configuration key openMS"),
        (
            r#"{"backoff": {"factr": 2}}"#,
            "unknown configuration key backoff.factr",
        ),
        (
            r#"{"trip": {"failureRate": {"size": 2}}}"#,
            "unknown configuration key failureRate.size",
        ),
        (
            r#"{"trip": {"leakyBucket": 2}}"#,
            "unknown configuration key leakyBucket",
        ),
        (
            r#"{"openMs": "10s"}"#,
            "invalid type: string \"10s\", expected an integer for openMs",
        ),
        (
            r#"{"openMs": 1.5}"#,
            "invalid value: floating point `1.5`, expected an integer for openMs",
        ),
        (
            r#"{"openMs": -5}"#,
            "openMs = -5 is out of range 1..=2147483647",
        ),
        (
            r#"{"halfOpenMaxCalls": 18446744073709551615}"#,
            "halfOpenMaxCalls = 9223372036854775807 is out of range 1..=255",
        ),
        (
            r#"{"trip": 3}"#,
            "invalid type: integer `3`, expected trip: an object naming one policy",
        ),
        (
            r#"[1]"#,
            "invalid type: sequence, expected a breaker configuration (an object of keys)",
        ),
    ];
    for (text, message) in cases {
        let err = json(text).unwrap_err();
        assert!(
            err.starts_with(message),
            "{text}: got {err:?}, want {message:?}"
        );
    }
    // TOML reports the same message, with the place in the file.
    let err = toml::from_str::<Config<AnyPolicy>>("openMs = 30000\nhalfOpenMaxCalls = 300\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("halfOpenMaxCalls = 300 is out of range 1..=255"),
        "{err}"
    );
    // A whole number written as a float is that number.
    assert_eq!(json(r#"{"openMs": 5000.0}"#).unwrap().open_ms(), 5_000);
}

#[test]
fn metrics_state_and_health_serialize_with_the_specification_names() {
    let config = Config::consecutive_failures(2)
        .open_ms(1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(100);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    b.try_acquire().unwrap().success();
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    let m = serde_json::to_value(b.metrics()).unwrap();
    assert_eq!(
        m,
        serde_json::json!({
            "successes": 1, "failures": 2, "slowCalls": 0, "ignored": 0,
            "rejected": 0, "transitions": 1, "totalsKept": true,
            "state": "open", "epoch": 1, "openedAt": 100, "retryAt": 1100,
            "failureRun": 0, "window": null
        })
    );
    assert_eq!(
        serde_json::to_string(&State::HalfOpen).unwrap(),
        "\"halfOpen\""
    );
    assert_eq!(
        serde_json::from_str::<State>("\"isolated\"").unwrap(),
        State::Isolated
    );
    assert_eq!(
        serde_json::to_string(&Health::Degraded).unwrap(),
        "\"degraded\""
    );

    let mut registry: Registry<&MockClock, _, (), 2> = Registry::new();
    registry.register("db", &config, &clock, ()).unwrap();
    let report: Vec<_> = registry.report().collect();
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v[0]["name"], "db");
    assert_eq!(v[0]["health"], "healthy");
    assert_eq!(v[0]["metrics"]["state"], "closed");
}
