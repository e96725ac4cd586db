//! The vector generator (`gen-vectors`): the same seed gives the same file,
//! the host passes what it generates, and its cases reach every rule.

use std::collections::BTreeSet;

use halfopen_conformance::generate::generate;
use halfopen_conformance::{parse_file, run_text};
use serde_json::Value;

#[test]
fn a_seed_gives_the_same_file() {
    let (a, refused) = generate(7, 40);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(a, generate(7, 40).0);
    assert_ne!(a, generate(8, 40).0);
    // Case I does not depend on how many cases the file has.
    let short: Vec<Value> = serde_json::from_str(&generate(7, 10).0).unwrap();
    let long: Vec<Value> = serde_json::from_str(&a).unwrap();
    assert_eq!(short[..], long[..10]);
}

#[test]
fn the_host_passes_what_it_generates() {
    for seed in [1, 2, 3] {
        let (text, refused) = generate(seed, 100);
        assert!(refused.is_empty(), "seed {seed}: {refused:?}");
        let cases = parse_file(&text).unwrap();
        assert_eq!(cases.len(), 100);
        assert!(cases
            .iter()
            .all(|c| c.malformed.is_none() && c.stop.is_none()));
        let results = run_text(&text).unwrap();
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.failure.is_some())
            .map(|r| r.line())
            .collect();
        assert!(failed.is_empty(), "seed {seed}: {failed:#?}");
        let names: BTreeSet<&str> = results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names.len(), 100, "case names are unique");
    }
}

/// What a file's cases cover: the configuration keys and policies, what
/// the steps do and what they expect.
fn coverage(text: &str) -> BTreeSet<String> {
    let cases: Vec<Value> = serde_json::from_str(text).unwrap();
    let mut seen = BTreeSet::new();
    for case in &cases {
        let config = case["config"].as_object().unwrap();
        for (key, value) in config {
            seen.insert(format!("config {key}"));
            if key == "trip" {
                for (policy, params) in value.as_object().unwrap() {
                    let rules: Vec<&str> = ["percent", "failures"]
                        .into_iter()
                        .filter(|r| params.get(r).is_some())
                        .collect();
                    seen.insert(format!("trip {policy} {}", rules.join("+")));
                }
            }
        }
        let mut last = 0;
        for step in case["steps"].as_array().unwrap() {
            let at = step["at"].as_u64().unwrap();
            if at < last {
                seen.insert("clock backwards".into());
            }
            last = step["restoreAt"].as_u64().unwrap_or(at);
            let what = match step["do"].as_str().unwrap() {
                "acquire" => format!("acquire named {}", step.get("permit").is_some()),
                "call" => format!(
                    "call {} duration {}",
                    step["outcome"].as_str().unwrap_or("default"),
                    step.get("durationMs").is_some()
                ),
                "adopt" => format!("adopt {}", step["state"].as_str().unwrap()),
                "restart" => format!("restart sameClock {}", step["sameClock"]),
                other => other.to_owned(),
            };
            seen.insert(what);
            let expect = &step["expect"];
            for key in ["state", "reject"] {
                if let Some(v) = expect[key].as_str() {
                    seen.insert(format!("expect {key} {v}"));
                }
            }
            for (key, value) in expect["metrics"].as_object().into_iter().flatten() {
                if !matches!(value, Value::Null | Value::Number(_)) || value.as_u64() != Some(0) {
                    seen.insert(format!("metrics {key} nonzero"));
                }
            }
        }
    }
    seen
}

#[test]
fn the_cases_mix_every_rule() {
    let seen = coverage(&generate(1, 200).0);
    let mut want: Vec<String> = [
        "trip consecutiveFailures ",
        "trip failureRate percent",
        "trip failureRate failures",
        "trip failureRate percent+failures",
        "trip timeWindow percent",
        "trip timeWindow failures",
        "trip timeWindow percent+failures",
        "clock backwards",
        "acquire named true",
        "acquire named false",
        "success",
        "failure",
        "ignore",
        "drop",
        "state",
        "isolate",
        "reset",
        "adopt open",
        "adopt closed",
        "adopt isolated",
        "restart sameClock true",
        "restart sameClock false",
        "restart sameClock null",
        "expect state closed",
        "expect state open",
        "expect state halfOpen",
        "expect state isolated",
        "expect reject open",
        "expect reject halfOpenFull",
        "expect reject isolated",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for key in [
        "trip",
        "openMs",
        "halfOpenMaxCalls",
        "successThreshold",
        "slowCallMs",
        "backoff",
        "halfOpenMaxWaitMs",
        "jitter",
    ] {
        want.push(format!("config {key}"));
    }
    for outcome in ["success", "failure", "ignore", "drop", "default"] {
        for duration in [true, false] {
            want.push(format!("call {outcome} duration {duration}"));
        }
    }
    for metric in [
        "epoch",
        "failures",
        "ignored",
        "openedAt",
        "rejected",
        "retryAt",
        "slowCalls",
        "state",
        "successes",
        "transitions",
    ] {
        want.push(format!("metrics {metric} nonzero"));
    }
    let missing: Vec<&String> = want.iter().filter(|w| !seen.contains(*w)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}
