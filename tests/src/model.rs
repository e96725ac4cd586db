//! The vector model: a vector file's JSON parsed into typed cases, with
//! every rule of the format and the reason text for whatever is malformed.
//!
//! Both runners of these cases, the host one ([`crate::run`]) and the
//! firmware's (`embedded-example`, whose `build.rs` prints the parsed cases
//! as a Rust table), take them from here, so they read a file the same way.
//!
//! A case is parsed as far as it is well formed: a malformed case-level part
//! (no `config`, a `config` that does not flatten, no `steps`) stops it
//! before its breaker is built ([`Case::malformed`]); a malformed step stops
//! it after the steps before it have run ([`Case::stop`]), so a runner
//! reports the first thing that goes wrong in step order.

use halfopen::{FleetState, RejectReason, State};
use serde_json::{Map, Value};

/// One case of a vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `name`, or `case #I` for a case without one.
    pub name: String,
    /// Why the case cannot start: it fails with this before its breaker is
    /// built.
    pub malformed: Option<String>,
    /// `config` flattened to `(key path, value)` pairs for
    /// `Config::builder().set` (see [`config_pairs`]).
    pub config: Vec<(String, i64)>,
    /// `expect.configError` of the first step: the key the config's error
    /// must name (a value that is not a string is kept as its JSON text).
    pub config_error: Option<String>,
    /// Permit names, indexed by the `slot` of the steps that use them.
    pub permits: Vec<String>,
    /// The well-formed steps, up to the first malformed one.
    pub steps: Vec<Step>,
    /// Why the step after [`Case::steps`] is malformed (`step I: ...`): the
    /// case fails with this once those steps have run.
    pub stop: Option<String>,
}

/// One step: set the clock to `at`, do `op`, check `expect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The clock reading, in ms.
    pub at: u64,
    /// What to do.
    pub op: Op,
    /// What to check afterwards.
    pub expect: Expect,
}

/// The `do` of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Acquire a permit; hold it in the named slot (`permit`) if allowed.
    /// A permit held without a name, or replaced under its name, is never
    /// recorded: a token is plain data, letting it go is holding it.
    Acquire(Option<usize>),
    /// Record the outcome for the permit held in the slot.
    Record(Outcome, usize),
    /// Acquire at `at`; if allowed, record the outcome at `at + durationMs`.
    Call(Outcome, u64),
    /// Only check.
    State,
    /// `isolate()`.
    Isolate,
    /// `reset()`.
    Reset,
    /// `adopt(state)`: a fleet state, checked as `FleetState::open` checks
    /// it.
    Adopt(FleetState),
    /// Snapshot at `at`; restore into a fresh breaker of the same config
    /// (fresh totals) whose clock reads `restore_at`, re-based unless
    /// `same_clock`. Every held permit is forgotten, and later steps read
    /// the new clock.
    Restart {
        /// `restoreAt`: the new clock's reading at the restore.
        restore_at: u64,
        /// `sameClock`: restore with the times kept (the core re-bases
        /// anyway when `restore_at` is behind `at`).
        same_clock: bool,
    },
}

/// An outcome a vector records: the core's three, and `drop` (the permit is
/// released without an outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `success`.
    Success,
    /// `failure`.
    Failure,
    /// `ignore`.
    Ignore,
    /// `drop`.
    Drop,
}

/// A step's `expect`. A runner checks its keys in this order (the JSON
/// keys' alphabetical order) and reports the first mismatch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// `allowed`: whether the step's acquire was allowed.
    pub allowed: Option<bool>,
    /// `configError` is present. Only the first step of an invalid config
    /// may carry it ([`Case::config_error`]); anywhere else it fails the
    /// step when checked.
    pub config_error: bool,
    /// `metrics`, key by key, in key order.
    pub metrics: Vec<(Metric, MetricValue)>,
    /// `reject`: why the step's acquire was rejected.
    pub reject: Option<RejectReason>,
    /// `state`: the state at the step's last clock reading.
    pub state: Option<State>,
}

/// A key of `expect.metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `epoch`.
    Epoch,
    /// `failures`.
    Failures,
    /// `ignored`.
    Ignored,
    /// `openedAt`.
    OpenedAt,
    /// `rejected`.
    Rejected,
    /// `retryAt`.
    RetryAt,
    /// `slowCalls`.
    SlowCalls,
    /// `state`.
    State,
    /// `successes`.
    Successes,
    /// `transitions`.
    Transitions,
}

impl Metric {
    /// Every metric, with its name in a vector.
    pub const ALL: [(Metric, &'static str); 10] = [
        (Metric::Epoch, "epoch"),
        (Metric::Failures, "failures"),
        (Metric::Ignored, "ignored"),
        (Metric::OpenedAt, "openedAt"),
        (Metric::Rejected, "rejected"),
        (Metric::RetryAt, "retryAt"),
        (Metric::SlowCalls, "slowCalls"),
        (Metric::State, "state"),
        (Metric::Successes, "successes"),
        (Metric::Transitions, "transitions"),
    ];

    /// Its name in a vector.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("", |p| p.1)
    }
}

/// A value of `expect.metrics` (and what a runner reads to compare with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricValue {
    /// A count, an epoch or a time in ms.
    Num(u64),
    /// `null`: no `openedAt` / `retryAt`.
    Null,
    /// A state name.
    State(State),
}

impl std::fmt::Display for MetricValue {
    /// As JSON: `3`, `null`, `"open"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricValue::Num(n) => write!(f, "{n}"),
            MetricValue::Null => f.write_str("null"),
            MetricValue::State(s) => write!(f, "\"{}\"", s.as_str()),
        }
    }
}

/// The states, as vectors name them.
pub const STATES: [State; 4] = [State::Closed, State::Open, State::HalfOpen, State::Isolated];

/// The rejection reasons, as vectors name them.
pub const REJECT_REASONS: [RejectReason; 4] = [
    RejectReason::Open,
    RejectReason::HalfOpenFull,
    RejectReason::Isolated,
    RejectReason::ClockOutOfRange,
];

fn state_named(v: &Value) -> Option<State> {
    STATES.into_iter().find(|s| v.as_str() == Some(s.as_str()))
}

/// Parses a vector file's text. Text that is not JSON, or not an array, is
/// an error; a malformed case is a case that says what is malformed.
pub fn parse_file(text: &str) -> Result<Vec<Case>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let cases = doc
        .as_array()
        .ok_or("a vector file is a JSON array of cases")?;
    Ok(cases
        .iter()
        .enumerate()
        .map(|(i, c)| Case::parse(i, c))
        .collect())
}

impl Case {
    /// A case that fails with `why` before it starts: how a runner that
    /// reports per case (the firmware's) reports a file [`parse_file`]
    /// refuses.
    pub fn unreadable(name: String, why: String) -> Case {
        Case {
            name,
            malformed: Some(why),
            config: Vec::new(),
            config_error: None,
            permits: Vec::new(),
            steps: Vec::new(),
            stop: None,
        }
    }

    /// Parses the case at `index` of its file.
    pub fn parse(index: usize, case: &Value) -> Case {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("case #{index}"), str::to_owned);
        let Some(config) = case.get("config") else {
            return Case::unreadable(name, "case has no config".into());
        };
        let Some(steps) = case.get("steps").and_then(Value::as_array) else {
            return Case::unreadable(name, "case has no steps".into());
        };
        let mut parsed = match config_pairs(config) {
            Ok(pairs) => Case {
                config: pairs,
                malformed: None,
                ..Case::unreadable(name, String::new())
            },
            Err(why) => return Case::unreadable(name, why),
        };
        parsed.config_error = steps
            .first()
            .and_then(|s| s.pointer("/expect/configError"))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        for (i, step) in steps.iter().enumerate() {
            match parsed.parse_step(step) {
                Ok(s) => parsed.steps.push(s),
                Err(why) => {
                    parsed.stop = Some(format!("step {i}: {why}"));
                    break;
                }
            }
        }
        parsed
    }

    fn slot(&mut self, name: &str) -> usize {
        match self.permits.iter().position(|p| p == name) {
            Some(slot) => slot,
            None => {
                self.permits.push(name.to_owned());
                self.permits.len() - 1
            }
        }
    }

    /// One step, its parts checked in this order: `at`, `do`, `permit`,
    /// then the action's own keys (`outcome`, `durationMs` of a `call`;
    /// `state`, `remainingMs`, `k` of an `adopt`; `restoreAt`, `sameClock`
    /// of a `restart`), then `expect`.
    fn parse_step(&mut self, step: &Value) -> Result<Step, String> {
        let s = step.as_object().ok_or("step is not an object")?;
        let at = s
            .get("at")
            .and_then(Value::as_u64)
            .ok_or("step has no non-negative integer `at`")?;
        let action = s
            .get("do")
            .and_then(Value::as_str)
            .ok_or("step has no `do`")?;
        let permit = match s.get("permit") {
            None => None,
            Some(Value::String(name)) => Some(name.as_str()),
            Some(_) => return Err("permit is not a string".into()),
        };
        let op = match action {
            "acquire" => Op::Acquire(permit.map(|name| self.slot(name))),
            "success" | "failure" | "ignore" | "drop" => {
                let name = permit.ok_or_else(|| format!("`{action}` needs a permit"))?;
                Op::Record(outcome(action).unwrap_or(Outcome::Success), self.slot(name))
            }
            "call" => {
                let o = match s.get("outcome") {
                    None => Outcome::Success,
                    Some(v) => v
                        .as_str()
                        .and_then(outcome)
                        .ok_or_else(|| format!("unknown outcome {v}"))?,
                };
                let duration = match s.get("durationMs") {
                    None => 0,
                    Some(v) => v
                        .as_u64()
                        .ok_or("durationMs is not a non-negative integer")?,
                };
                Op::Call(o, duration)
            }
            "state" => Op::State,
            "isolate" => Op::Isolate,
            "reset" => Op::Reset,
            "adopt" => Op::Adopt(fleet_state(s)?),
            "restart" => {
                let restore_at = s
                    .get("restoreAt")
                    .and_then(Value::as_u64)
                    .ok_or("`restart` needs a non-negative integer `restoreAt`")?;
                let same_clock = match s.get("sameClock") {
                    None => false,
                    Some(v) => v
                        .as_bool()
                        .ok_or_else(|| format!("sameClock is not a boolean: {v}"))?,
                };
                Op::Restart {
                    restore_at,
                    same_clock,
                }
            }
            other => return Err(format!("unknown action {other:?}")),
        };
        let expect = match s.get("expect") {
            None => Expect::default(),
            Some(Value::Object(map)) => parse_expect(map)?,
            Some(_) => return Err("expect is not an object".into()),
        };
        Ok(Step { at, op, expect })
    }
}

/// The fleet state of an `adopt` step: `state`, and for `open` its
/// `remainingMs` (0 ..= 2^31 - 1, as `FleetState::open` checks it) and `k`.
fn fleet_state(s: &Map<String, Value>) -> Result<FleetState, String> {
    let state = s.get("state").ok_or("`adopt` needs a `state`")?;
    let number = |key: &str| -> Result<Option<u64>, String> {
        s.get(key)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| format!("{key} is not a non-negative integer: {v}"))
            })
            .transpose()
    };
    let (remaining, k) = (number("remainingMs")?, number("k")?);
    match state.as_str() {
        Some("open") => {
            let remaining = remaining.ok_or("adopting \"open\" needs `remainingMs`")?;
            let k = k.ok_or("adopting \"open\" needs `k`")?;
            let k =
                u32::try_from(k).map_err(|_| format!("k = {k} is out of range 0..=4294967295"))?;
            FleetState::open(remaining, k).map_err(|e| e.to_string())
        }
        Some(name @ ("closed" | "isolated")) => {
            if remaining.is_some() || k.is_some() {
                return Err(format!(
                    "`remainingMs` and `k` only go with state \"open\", not {name:?}"
                ));
            }
            Ok(if name == "closed" {
                FleetState::Closed
            } else {
                FleetState::Isolated
            })
        }
        _ => Err(format!("unknown fleet state {state}")),
    }
}

fn outcome(name: &str) -> Option<Outcome> {
    Some(match name {
        "success" => Outcome::Success,
        "failure" => Outcome::Failure,
        "ignore" => Outcome::Ignore,
        "drop" => Outcome::Drop,
        _ => return None,
    })
}

fn parse_expect(map: &Map<String, Value>) -> Result<Expect, String> {
    let mut e = Expect::default();
    for (key, v) in map {
        match key.as_str() {
            "allowed" => {
                e.allowed = Some(
                    v.as_bool()
                        .ok_or(format!("allowed is not a boolean: {v}"))?,
                )
            }
            "configError" => e.config_error = true,
            "metrics" => {
                let m = v.as_object().ok_or("metrics is not an object")?;
                for (k, w) in m {
                    let metric = Metric::ALL
                        .iter()
                        .find(|(_, name)| name == k)
                        .ok_or_else(|| format!("unknown metrics key {k:?}"))?
                        .0;
                    let value = match w {
                        Value::Null => MetricValue::Null,
                        Value::Number(n) if n.is_u64() => MetricValue::Num(n.as_u64().unwrap_or(0)),
                        w => MetricValue::State(
                            state_named(w).ok_or(format!("metrics.{k}: unsupported value {w}"))?,
                        ),
                    };
                    e.metrics.push((metric, value));
                }
            }
            "reject" => {
                let r = REJECT_REASONS
                    .into_iter()
                    .find(|r| v.as_str() == Some(r.as_str()));
                e.reject = Some(r.ok_or(format!("unknown reject {v}"))?);
            }
            "state" => e.state = Some(state_named(v).ok_or(format!("unknown state {v}"))?),
            other => return Err(format!("unknown expect key {other:?}")),
        }
    }
    Ok(e)
}

/// Flattens a `config` object into `(path, value)` pairs, as the spec
/// ([SPEC.md](../../SPEC.md#configuration-keys)) names them:
/// `trip: {failureRate: {window: 5}}` gives `failureRate.window`.
/// Numbers above `i64::MAX` are saturated (the builder refuses them).
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
            let n = v
                .as_i64()
                .or_else(|| v.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
                .ok_or_else(|| format!("config {prefix} is not an integer: {v}"))?;
            out.push((prefix.to_owned(), n));
            Ok(())
        }
    }
}
