//! Runs BEHAVIOR.md conformance vectors against the halfopen core.
//!
//! A vector file is a JSON array of cases; each case builds a breaker from
//! its `config` through the same key paths a JavaScript or JSON user gives
//! (`Config::builder().set(path, value)`), drives it step by step with a
//! [`MockClock`] set to each step's `at`, and compares what it sees with the
//! step's `expect`.

use std::collections::HashMap;

use halfopen::{
    AnyPolicy, Breaker, Config, ConfigError, Counters, MockClock, Outcome, PermitToken,
};
use serde_json::{Map, Value};

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// `None` if it passed, else `step I: expected X, got Y`.
    pub failure: Option<String>,
}

impl CaseResult {
    /// The line the runner prints for it.
    pub fn line(&self) -> String {
        match &self.failure {
            None => format!("ok {}", self.name),
            Some(why) => format!("FAIL {}: {}", self.name, why),
        }
    }
}

/// Runs every case of a vector file's text. An unreadable file is an error;
/// a malformed case is a failed case that says what is malformed.
pub fn run_text(text: &str) -> Result<Vec<CaseResult>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let cases = doc
        .as_array()
        .ok_or("a vector file is a JSON array of cases")?;
    Ok(cases
        .iter()
        .enumerate()
        .map(|(i, c)| run_case(i, c))
        .collect())
}

/// Runs one case.
pub fn run_case(index: usize, case: &Value) -> CaseResult {
    let name = case
        .get("name")
        .and_then(Value::as_str)
        .map_or_else(|| format!("case #{index}"), str::to_owned);
    let failure = Case::run(case).err();
    CaseResult { name, failure }
}

/// Flattens a `config` object into `(path, value)` pairs, as BEHAVIOR.md
/// names them: `trip: {failureRate: {window: 5}}` gives `failureRate.window`.
pub fn config_pairs(config: &Value) -> Result<Vec<(String, i64)>, String> {
    let obj = config.as_object().ok_or("config is not an object")?;
    let mut out = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            "trip" => {
                let trip = value.as_object().ok_or("config.trip is not an object")?;
                if trip.len() != 1 {
                    return Err(format!(
                        "config.trip holds {} policies, expected one",
                        trip.len()
                    ));
                }
                for (policy, params) in trip {
                    flatten(policy, params, &mut out)?;
                }
            }
            _ => flatten(key, value, &mut out)?,
        }
    }
    Ok(out)
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, i64)>) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out)?;
            }
            Ok(())
        }
        v => {
            let n = number(v).ok_or_else(|| format!("config {prefix} is not an integer: {v}"))?;
            out.push((prefix.to_owned(), n));
            Ok(())
        }
    }
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
}

/// Builds the configuration a vector's `config` describes.
pub fn build_config(config: &Value) -> Result<Result<Config<AnyPolicy>, ConfigError>, String> {
    let mut builder = Config::builder();
    for (key, value) in config_pairs(config)? {
        builder = match builder.set(&key, value) {
            Ok(b) => b,
            Err(e) => return Err(format!("unknown config key {key} ({e})")),
        };
    }
    Ok(builder.build())
}

struct Case;

impl Case {
    fn run(case: &Value) -> Result<(), String> {
        let config = case.get("config").ok_or("case has no config")?;
        let steps = case
            .get("steps")
            .and_then(Value::as_array)
            .ok_or("case has no steps")?;
        let built = build_config(config)?;
        let config = match built {
            Err(err) => {
                let want = steps.first().and_then(|s| s.pointer("/expect/configError"));
                return match want.and_then(Value::as_str) {
                    Some(key) if key == err.key() => Ok(()),
                    Some(key) => Err(format!(
                        "step 0: expected configError {key}, got configError {} ({err})",
                        err.key()
                    )),
                    None => Err(format!(
                        "step 0: expected a valid config, got configError {err}"
                    )),
                };
            }
            Ok(c) => c,
        };
        if let Some(key) = steps.first().and_then(|s| s.pointer("/expect/configError")) {
            return Err(format!(
                "step 0: expected configError {key}, got a valid config"
            ));
        }
        let clock = MockClock::new(0);
        let breaker = Breaker::with_observer(&config, &clock, Counters::new());
        let mut permits: HashMap<String, PermitToken> = HashMap::new();
        let mut held = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            Step {
                i,
                step,
                clock: &clock,
                breaker: &breaker,
            }
            .run(&mut permits, &mut held)?;
        }
        Ok(())
    }
}

type Subject<'a> = Breaker<'a, &'a MockClock, AnyPolicy, Counters>;

struct Step<'s, 'a> {
    i: usize,
    step: &'s Value,
    clock: &'a MockClock,
    breaker: &'s Subject<'a>,
}

impl Step<'_, '_> {
    fn fail(&self, what: impl std::fmt::Display) -> String {
        format!("step {}: {what}", self.i)
    }

    fn run(
        &self,
        permits: &mut HashMap<String, PermitToken>,
        held: &mut Vec<PermitToken>,
    ) -> Result<(), String> {
        let s = self
            .step
            .as_object()
            .ok_or_else(|| self.fail("step is not an object"))?;
        let at = s
            .get("at")
            .and_then(Value::as_u64)
            .ok_or_else(|| self.fail("step has no non-negative integer `at`"))?;
        let action = s
            .get("do")
            .and_then(Value::as_str)
            .ok_or_else(|| self.fail("step has no `do`"))?;
        let permit_name = s.get("permit").and_then(Value::as_str);
        let empty = Map::new();
        let expect = s.get("expect").and_then(Value::as_object).unwrap_or(&empty);
        self.clock.set(at);
        let mut last = at;
        let mut acquired: Option<Result<(), halfopen::Rejected>> = None;
        match action {
            "acquire" => {
                let r = self.breaker.try_acquire_token();
                acquired = Some(r.as_ref().map(|_| ()).map_err(|e| *e));
                if let Ok(token) = r {
                    match permit_name {
                        Some(name) => {
                            if let Some(old) = permits.insert(name.to_owned(), token) {
                                held.push(old);
                            }
                        }
                        None => held.push(token),
                    }
                }
            }
            "success" | "failure" | "ignore" | "drop" => {
                let name =
                    permit_name.ok_or_else(|| self.fail(format!("`{action}` needs a permit")))?;
                let token = permits
                    .remove(name)
                    .ok_or_else(|| self.fail(format!("no held permit named {name:?}")))?;
                match action {
                    "success" => self.breaker.record_token(token, Outcome::Success),
                    "failure" => self.breaker.record_token(token, Outcome::Failure),
                    "ignore" => self.breaker.record_token(token, Outcome::Ignore),
                    _ => self.breaker.release_token(token),
                }
            }
            "call" => {
                let outcome = s
                    .get("outcome")
                    .and_then(Value::as_str)
                    .unwrap_or("success");
                let duration = match s.get("durationMs") {
                    None => 0,
                    Some(v) => v
                        .as_u64()
                        .ok_or_else(|| self.fail("durationMs is not a non-negative integer"))?,
                };
                let r = self.breaker.try_acquire_token();
                acquired = Some(r.as_ref().map(|_| ()).map_err(|e| *e));
                if let Ok(token) = r {
                    last = at.saturating_add(duration);
                    self.clock.set(last);
                    match outcome {
                        "success" => self.breaker.record_token(token, Outcome::Success),
                        "failure" => self.breaker.record_token(token, Outcome::Failure),
                        "ignore" => self.breaker.record_token(token, Outcome::Ignore),
                        "drop" => self.breaker.release_token(token),
                        other => return Err(self.fail(format!("unknown outcome {other:?}"))),
                    }
                }
            }
            "state" => {}
            "isolate" => self.breaker.isolate(),
            "reset" => self.breaker.reset(),
            other => return Err(self.fail(format!("unknown action {other:?}"))),
        }
        self.check(expect, acquired, last)
    }

    fn check(
        &self,
        expect: &Map<String, Value>,
        acquired: Option<Result<(), halfopen::Rejected>>,
        last: u64,
    ) -> Result<(), String> {
        for (key, want) in expect {
            match key.as_str() {
                "allowed" => {
                    let got = acquired.ok_or_else(|| {
                        self.fail("`allowed` expected on a step that does not acquire")
                    })?;
                    let got = Value::Bool(got.is_ok());
                    if &got != want {
                        return Err(self.fail(format!("expected allowed {want}, got {got}")));
                    }
                }
                "reject" => {
                    let got = match acquired {
                        Some(Err(r)) => Value::from(r.reason().as_str()),
                        Some(Ok(())) => Value::from("allowed"),
                        None => {
                            return Err(
                                self.fail("`reject` expected on a step that does not acquire")
                            )
                        }
                    };
                    if &got != want {
                        return Err(self.fail(format!("expected reject {want}, got {got}")));
                    }
                }
                "state" => {
                    let got = Value::from(self.breaker.state_at(last).as_str());
                    if &got != want {
                        return Err(self.fail(format!("expected state {want}, got {got}")));
                    }
                }
                "metrics" => self.check_metrics(want, last)?,
                "configError" => {
                    return Err(self.fail(
                        "configError is only expected on the first step of an invalid config",
                    ))
                }
                other => return Err(self.fail(format!("unknown expect key {other:?}"))),
            }
        }
        Ok(())
    }

    fn check_metrics(&self, want: &Value, last: u64) -> Result<(), String> {
        let want = want
            .as_object()
            .ok_or_else(|| self.fail("metrics is not an object"))?;
        let m = self.breaker.metrics();
        let state = self.breaker.state_at(last);
        for (key, w) in want {
            let got: Value = match key.as_str() {
                "successes" => m.successes.into(),
                "failures" => m.failures.into(),
                "slowCalls" => m.slow_calls.into(),
                "ignored" => m.ignored.into(),
                "rejected" => m.rejected.into(),
                "transitions" => m.transitions.into(),
                "state" => state.as_str().into(),
                "epoch" => m.epoch.into(),
                "openedAt" => m.opened_at.map_or(Value::Null, Value::from),
                "retryAt" => m.retry_at.map_or(Value::Null, Value::from),
                other => return Err(self.fail(format!("unknown metrics key {other:?}"))),
            };
            if &got != w {
                return Err(self.fail(format!("expected metrics.{key} {w}, got {got}")));
            }
        }
        Ok(())
    }
}

/// Runs files and prints the BEHAVIOR.md report; returns `(passed, failed)`.
pub fn run_files<W: std::io::Write>(
    paths: &[String],
    out: &mut W,
) -> std::io::Result<(usize, usize)> {
    let mut passed = 0;
    let mut failed = 0;
    for path in paths {
        let results = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {path}: {e}"))
            .and_then(|text| run_text(&text).map_err(|e| format!("{path}: {e}")));
        match results {
            Ok(results) => {
                for r in results {
                    writeln!(out, "{}", r.line())?;
                    if r.failure.is_none() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
            Err(e) => {
                writeln!(out, "FAIL {path}: {e}")?;
                failed += 1;
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok((passed, failed))
}
