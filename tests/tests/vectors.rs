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
