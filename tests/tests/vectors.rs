//! The project's own vectors pass on the core, and the runner really checks.

use std::path::PathBuf;

use halfopen_conformance::{run_files, run_text};

fn vector_files() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/vectors exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

#[test]
fn project_vectors_pass() {
    let files = vector_files();
    assert!(!files.is_empty(), "no vector files");
    let mut out = Vec::new();
    let (passed, failed) = run_files(&files, &mut out).unwrap();
    let report = String::from_utf8(out).unwrap();
    assert_eq!(failed, 0, "{report}");
    assert!(passed >= 60, "only {passed} cases");
    assert!(report.ends_with(&format!("{passed} passed, 0 failed\n")));
}

#[test]
fn a_wrong_expectation_fails_with_step_expected_and_got() {
    let text = r#"[{"name": "wrong", "config": {"trip": {"consecutiveFailures": 1}},
        "steps": [{"at": 0, "do": "call", "outcome": "failure", "expect": {"state": "closed"}}]}]"#;
    let r = run_text(text).unwrap();
    assert_eq!(
        r[0].line(),
        r#"FAIL wrong: step 0: expected state "closed", got "open""#
    );
}

#[test]
fn config_errors_are_compared_by_key() {
    let ok = r#"[{"name": "e", "config": {"trip": {"failureRate": {"percent": 50, "window": 65, "minimumCalls": 1}}},
        "steps": [{"at": 0, "do": "state", "expect": {"configError": "failureRate.window"}}]}]"#;
    assert_eq!(run_text(ok).unwrap()[0].failure, None);
    let wrong = ok.replace("\"failureRate.window\"", "\"openMs\"");
    let r = run_text(&wrong).unwrap();
    assert!(r[0].line().starts_with(
        "FAIL e: step 0: expected configError openMs, got configError failureRate.window"
    ));
}

#[test]
fn malformed_cases_fail_with_a_reason() {
    let r =
        run_text(r#"[{"name": "m", "config": {}, "steps": [{"at": 0, "do": "jump"}]}]"#).unwrap();
    assert_eq!(r[0].line(), "FAIL m: step 0: unknown action \"jump\"");
    let r = run_text(
        r#"[{"name": "p", "config": {}, "steps": [{"at": 0, "do": "success", "permit": "x"}]}]"#,
    )
    .unwrap();
    assert_eq!(r[0].line(), "FAIL p: step 0: no held permit named \"x\"");
    assert!(run_text("{}").is_err());
}

#[test]
fn metrics_include_epoch_opened_at_and_retry_at() {
    let text = r#"[{"name": "m", "config": {"trip": {"consecutiveFailures": 1}, "openMs": 100},
        "steps": [{"at": 7, "do": "call", "outcome": "failure",
                   "expect": {"metrics": {"epoch": 1, "openedAt": 7, "retryAt": 107, "state": "open"}}},
                  {"at": 8, "do": "reset", "expect": {"metrics": {"epoch": 2, "openedAt": null}}}]}]"#;
    assert_eq!(run_text(text).unwrap()[0].failure, None);
}

#[test]
fn the_selftest_file_fails_with_the_expected_lines() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("selftest");
    let file = dir.join("failing.json").to_string_lossy().into_owned();
    let mut out = Vec::new();
    let (passed, failed) = run_files(&[file], &mut out).unwrap();
    let expected = std::fs::read_to_string(dir.join("failing.expected")).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    assert_eq!((passed, failed), (1, 42));
}

#[test]
fn a_case_parses_into_typed_steps() {
    use halfopen::{RejectReason, State};
    use halfopen_conformance::model::{parse_file, Expect, Metric, MetricValue, Op, Outcome};

    let text = r#"[{"name": "t", "config": {"trip": {"consecutiveFailures": 2}, "openMs": 10},
        "steps": [{"at": 0, "do": "acquire", "permit": "a"},
                  {"at": 1, "do": "call", "outcome": "drop", "durationMs": 4,
                   "expect": {"reject": "open", "metrics": {"retryAt": null, "state": "open"}}},
                  {"at": 2, "do": "failure", "permit": "a", "expect": {"state": "closed"}},
                  {"at": 3, "do": "jump"}, {"at": 4, "do": "reset"}]}]"#;
    let cases = parse_file(text).unwrap();
    let c = &cases[0];
    assert_eq!(c.name, "t");
    assert_eq!(c.malformed, None);
    // In key order: `openMs` before `trip`.
    assert_eq!(
        c.config,
        [
            ("openMs".to_owned(), 10),
            ("consecutiveFailures".to_owned(), 2)
        ]
    );
    assert_eq!(c.permits, ["a"]);
    assert_eq!(c.steps.len(), 3, "the steps before the malformed one");
    assert_eq!(c.stop.as_deref(), Some("step 3: unknown action \"jump\""));
    assert_eq!(c.steps[0].op, Op::Acquire(Some(0)));
    assert_eq!(c.steps[1].op, Op::Call(Outcome::Drop, 4));
    assert_eq!(
        c.steps[1].expect,
        Expect {
            reject: Some(RejectReason::Open),
            metrics: vec![
                (Metric::RetryAt, MetricValue::Null),
                (Metric::State, MetricValue::State(State::Open))
            ],
            ..Expect::default()
        }
    );
    assert_eq!(c.steps[2].op, Op::Record(Outcome::Failure, 0));
}

#[test]
fn adopt_and_restart_steps_parse_into_typed_steps() {
    use halfopen::FleetState;
    use halfopen_conformance::model::{parse_file, Op};

    let text = r#"[{"name": "t", "config": {},
        "steps": [{"at": 0, "do": "adopt", "state": "open", "remainingMs": 2147483647, "k": 40},
                  {"at": 1, "do": "adopt", "state": "closed"},
                  {"at": 2, "do": "adopt", "state": "isolated"},
                  {"at": 3, "do": "restart", "restoreAt": 9},
                  {"at": 4, "do": "restart", "restoreAt": 0, "sameClock": true}]}]"#;
    let c = &parse_file(text).unwrap()[0];
    assert_eq!(c.stop, None);
    let ops: Vec<Op> = c.steps.iter().map(|s| s.op).collect();
    assert_eq!(
        ops,
        [
            Op::Adopt(FleetState::open(2_147_483_647, 40).unwrap()),
            Op::Adopt(FleetState::Closed),
            Op::Adopt(FleetState::Isolated),
            Op::Restart {
                restore_at: 9,
                same_clock: false
            },
            Op::Restart {
                restore_at: 0,
                same_clock: true
            },
        ]
    );
}

#[test]
fn malformed_adopt_and_restart_steps_fail_with_a_reason() {
    let line = |steps: &str| {
        let text = format!(
            r#"[{{"name": "m", "config": {{}}, "steps": [{{"at": 0, "do": "state"}}, {steps}]}}]"#
        );
        run_text(&text).unwrap()[0].line()
    };
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "open", "remainingMs": 2147483648, "k": 0}"#),
        "FAIL m: step 1: fleet remainingMs = 2147483648 is out of range 0..=2147483647"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "open", "k": 0}"#),
        "FAIL m: step 1: adopting \"open\" needs `remainingMs`"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "open", "remainingMs": 5}"#),
        "FAIL m: step 1: adopting \"open\" needs `k`"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "open", "remainingMs": -1, "k": 0}"#),
        "FAIL m: step 1: remainingMs is not a non-negative integer: -1"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "open", "remainingMs": 1, "k": 4294967296}"#),
        "FAIL m: step 1: k = 4294967296 is out of range 0..=4294967295"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "closed", "remainingMs": 5}"#),
        "FAIL m: step 1: `remainingMs` and `k` only go with state \"open\", not \"closed\""
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt", "state": "halfOpen"}"#),
        "FAIL m: step 1: unknown fleet state \"halfOpen\""
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "adopt"}"#),
        "FAIL m: step 1: `adopt` needs a `state`"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "restart"}"#),
        "FAIL m: step 1: `restart` needs a non-negative integer `restoreAt`"
    );
    assert_eq!(
        line(r#"{"at": 1, "do": "restart", "restoreAt": 5, "sameClock": 1}"#),
        "FAIL m: step 1: sameClock is not a boolean: 1"
    );
}

#[test]
fn a_restart_forgets_named_permits_and_the_totals() {
    let text = r#"[{"name": "r", "config": {"trip": {"consecutiveFailures": 1}},
        "steps": [{"at": 0, "do": "acquire", "permit": "p"},
                  {"at": 1, "do": "call", "outcome": "success"},
                  {"at": 2, "do": "restart", "restoreAt": 7,
                   "expect": {"state": "closed", "metrics": {"successes": 0, "state": "closed"}}},
                  {"at": 8, "do": "failure", "permit": "p"}]}]"#;
    assert_eq!(
        run_text(text).unwrap()[0].line(),
        "FAIL r: step 3: no held permit named \"p\""
    );
}
