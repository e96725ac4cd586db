//! The conformance vectors, run on the device.
//!
//! `build.rs` turns the JSON vector files (BEHAVIOR.md format) into the
//! static table included below. [`run`] executes every case against a real
//! breaker (`AnyPolicy`, `Counters`) whose clock reads each step's `at`,
//! following the host runner (tests/src/lib.rs) rule for rule, and logs one
//! line per case, `ok NAME` or `FAIL NAME: step I: expected X, got Y`, then
//! the totals.
//!
//! The step clock is a `Cell<u64>`, not the core's `MockClock`: that one is
//! a 64-bit atomic, which on a 32-bit MCU is portable-atomic's fallback lock.

use core::cell::Cell;

use halfopen::{
    AnyPolicy, Breaker, Clock, Config, ConfigError, ConfigErrorKind, Counters, Outcome,
    PermitToken, RejectReason, State,
};

// The generated table uses whichever variants the vector files need.
#[allow(dead_code)]
#[derive(Clone, Copy)]
pub enum Op {
    /// Acquire a permit and hold it without a name.
    Acquire,
    /// Acquire a permit and hold it under the name of `slot`.
    AcquireNamed,
    Success,
    Failure,
    Ignore,
    Drop,
    CallSuccess,
    CallFailure,
    CallIgnore,
    CallDrop,
    State,
    Isolate,
    Reset,
}

#[allow(dead_code)] // as for `Op`
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Successes,
    Failures,
    SlowCalls,
    Ignored,
    Rejected,
    Transitions,
    Epoch,
    OpenedAt,
    RetryAt,
    State,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Successes => "successes",
            Metric::Failures => "failures",
            Metric::SlowCalls => "slowCalls",
            Metric::Ignored => "ignored",
            Metric::Rejected => "rejected",
            Metric::Transitions => "transitions",
            Metric::Epoch => "epoch",
            Metric::OpenedAt => "openedAt",
            Metric::RetryAt => "retryAt",
            Metric::State => "state",
        }
    }
}

#[allow(dead_code)] // as for `Op`
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MetricValue {
    Num(u64),
    Null,
    State(State),
}

impl defmt::Format for MetricValue {
    fn format(&self, f: defmt::Formatter) {
        match self {
            MetricValue::Num(n) => defmt::write!(f, "{=u64}", n),
            MetricValue::Null => defmt::write!(f, "null"),
            MetricValue::State(s) => defmt::write!(f, "\"{=str}\"", s.as_str()),
        }
    }
}

pub struct Expect {
    pub allowed: Option<bool>,
    pub reject: Option<RejectReason>,
    pub state: Option<State>,
    /// `configError` on this step (only meaningful on step 0 of an invalid
    /// config, where the case's `config_error` carries it).
    pub config_error: bool,
    pub metrics: &'static [(Metric, MetricValue)],
}

impl Expect {
    #[allow(dead_code)]
    pub const NONE: Expect = Expect {
        allowed: None,
        reject: None,
        state: None,
        config_error: false,
        metrics: &[],
    };
}

pub struct Step {
    pub at: u64,
    pub op: Op,
    /// Permit name slot, for `AcquireNamed` and the outcome ops.
    pub slot: u8,
    /// For the `Call*` ops.
    pub duration_ms: u64,
    pub expect: Expect,
}

pub struct Case {
    pub name: &'static str,
    /// Why the host runner would refuse the case before its first step.
    pub malformed: Option<&'static str>,
    /// `(key path, value)` pairs for `Config::builder().set`.
    pub config: &'static [(&'static str, i64)],
    /// `configError` of the first step.
    pub config_error: Option<&'static str>,
    /// The host runner stops after `steps` with this message (a malformed
    /// step follows them).
    pub stop: Option<&'static str>,
    pub steps: &'static [Step],
}

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

/// Why a case failed; formats like the host runner's message.
enum Failure {
    Malformed(&'static str),
    UnknownKey(&'static str),
    ConfigError {
        want: &'static str,
        got: ConfigError,
    },
    UnexpectedConfigError {
        got: ConfigError,
    },
    ValidConfig {
        want: &'static str,
    },
    Step {
        i: usize,
        what: Mismatch,
    },
}

enum Mismatch {
    NoPermit,
    NotAcquire(&'static str),
    ConfigErrorLater,
    Allowed {
        want: bool,
        got: bool,
    },
    Reject {
        want: RejectReason,
        got: Option<RejectReason>,
    },
    State {
        want: State,
        got: State,
    },
    Metric {
        key: Metric,
        want: MetricValue,
        got: MetricValue,
    },
}

impl defmt::Format for Failure {
    fn format(&self, f: defmt::Formatter) {
        match self {
            Failure::Malformed(why) => defmt::write!(f, "{=str}", why),
            Failure::UnknownKey(key) => {
                defmt::write!(
                    f,
                    "unknown config key {=str} (unknown configuration key)",
                    key
                )
            }
            Failure::ConfigError { want, got } => defmt::write!(
                f,
                "step 0: expected configError {=str}, got configError {=str} ({})",
                want,
                got.key(),
                Sentence(*got)
            ),
            Failure::UnexpectedConfigError { got } => {
                defmt::write!(
                    f,
                    "step 0: expected a valid config, got configError {}",
                    Sentence(*got)
                )
            }
            Failure::ValidConfig { want } => {
                defmt::write!(
                    f,
                    "step 0: expected configError {=str}, got a valid config",
                    want
                )
            }
            Failure::Step { i, what } => {
                defmt::write!(f, "step {=usize}: ", i);
                match what {
                    Mismatch::NoPermit => defmt::write!(f, "no held permit of that name"),
                    Mismatch::NotAcquire(key) => {
                        defmt::write!(f, "`{=str}` expected on a step that does not acquire", key)
                    }
                    Mismatch::ConfigErrorLater => defmt::write!(
                        f,
                        "configError is only expected on the first step of an invalid config"
                    ),
                    Mismatch::Allowed { want, got } => {
                        defmt::write!(f, "expected allowed {=bool}, got {=bool}", want, got)
                    }
                    Mismatch::Reject { want, got } => defmt::write!(
                        f,
                        "expected reject \"{=str}\", got \"{=str}\"",
                        want.as_str(),
                        got.map_or("allowed", |r| r.as_str())
                    ),
                    Mismatch::State { want, got } => defmt::write!(
                        f,
                        "expected state \"{=str}\", got \"{=str}\"",
                        want.as_str(),
                        got.as_str()
                    ),
                    Mismatch::Metric { key, want, got } => defmt::write!(
                        f,
                        "expected metrics.{=str} {}, got {}",
                        key.name(),
                        want,
                        got
                    ),
                }
            }
        }
    }
}

/// A configuration error as the core's `Display` words it.
struct Sentence(ConfigError);

impl defmt::Format for Sentence {
    fn format(&self, f: defmt::Formatter) {
        let e = &self.0;
        match e.kind() {
            ConfigErrorKind::OutOfRange { min, max } => defmt::write!(
                f,
                "{=str} = {=i64} is out of range {=i64}..={=i64}",
                e.key(),
                e.value(),
                min,
                max
            ),
            ConfigErrorKind::NotMultiple { of, divisor } => defmt::write!(
                f,
                "{=str} = {=i64} is not a multiple of {=str} ({=i64})",
                e.key(),
                e.value(),
                of,
                divisor
            ),
            ConfigErrorKind::Missing => defmt::write!(f, "{=str} is missing", e.key()),
            ConfigErrorKind::Conflict => {
                defmt::write!(f, "trip: more than one trip policy was given; choose one")
            }
            _ => defmt::write!(f, "unknown configuration key"),
        }
    }
}

/// A named permit, held as its token's parts: 12 bytes instead of the 24 of
/// an `Option<PermitToken>`, because one vector holds 255 names at once and
/// the microbit has 16 KiB of RAM.
#[derive(Clone, Copy)]
struct Held {
    live: bool,
    epoch: u16,
    trial: bool,
    started_ms: [u32; 2],
}

impl Held {
    const EMPTY: Held = Held {
        live: false,
        epoch: 0,
        trial: false,
        started_ms: [0; 2],
    };

    fn from(token: PermitToken) -> Held {
        let s = token.started_ms();
        Held {
            live: true,
            epoch: token.epoch(),
            trial: token.is_trial(),
            started_ms: [s as u32, (s >> 32) as u32],
        }
    }

    fn take(&mut self) -> Option<PermitToken> {
        if !core::mem::replace(&mut self.live, false) {
            return None;
        }
        let s = u64::from(self.started_ms[0]) | (u64::from(self.started_ms[1]) << 32);
        Some(PermitToken::from_parts(self.epoch, self.trial, s))
    }
}

/// A clock that reads what the current step says.
struct StepClock(Cell<u64>);

impl Clock for StepClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

type Subject<'a> = Breaker<'a, &'a StepClock, AnyPolicy, Counters>;

fn run_case(case: &Case) -> Result<(), Failure> {
    if let Some(why) = case.malformed {
        return Err(Failure::Malformed(why));
    }
    let mut builder = Config::builder();
    for &(key, value) in case.config {
        builder = builder
            .set(key, value)
            .map_err(|_| Failure::UnknownKey(key))?;
    }
    let config = match (builder.build(), case.config_error) {
        (Err(e), Some(want)) if want == e.key() => return Ok(()),
        (Err(e), Some(want)) => return Err(Failure::ConfigError { want, got: e }),
        (Err(e), None) => return Err(Failure::UnexpectedConfigError { got: e }),
        (Ok(_), Some(want)) => return Err(Failure::ValidConfig { want }),
        (Ok(c), None) => c,
    };
    let clock = StepClock(Cell::new(0));
    let breaker: Subject<'_> = Breaker::with_observer(&config, &clock, Counters::new());
    let mut named = [Held::EMPTY; MAX_NAMES];
    for (i, step) in case.steps.iter().enumerate() {
        run_step(step, &clock, &breaker, &mut named).map_err(|what| Failure::Step { i, what })?;
    }
    match case.stop {
        Some(why) => Err(Failure::Malformed(why)),
        None => Ok(()),
    }
}

fn run_step(
    step: &Step,
    clock: &StepClock,
    breaker: &Subject<'_>,
    named: &mut [Held; MAX_NAMES],
) -> Result<(), Mismatch> {
    clock.0.set(step.at);
    let mut last = step.at;
    let mut acquired: Option<Result<(), RejectReason>> = None;
    let call = |outcome: Option<Outcome>, acquired: &mut Option<_>, last: &mut u64| {
        let r = breaker.try_acquire_token();
        *acquired = Some(r.as_ref().map(|_| ()).map_err(|e| e.reason()));
        if let Ok(token) = r {
            *last = step.at.saturating_add(step.duration_ms);
            clock.0.set(*last);
            match outcome {
                Some(o) => breaker.record_token(token, o),
                None => breaker.release_token(token),
            }
        }
    };
    match step.op {
        // A held anonymous permit is never recorded: letting the token go
        // (it is plain data) is the same as holding it.
        Op::Acquire => {
            let r = breaker.try_acquire_token();
            acquired = Some(r.map(|_| ()).map_err(|e| e.reason()));
        }
        Op::AcquireNamed => {
            let r = breaker.try_acquire_token();
            acquired = Some(r.as_ref().map(|_| ()).map_err(|e| e.reason()));
            if let Ok(token) = r {
                named[usize::from(step.slot)] = Held::from(token);
            }
        }
        Op::Success | Op::Failure | Op::Ignore | Op::Drop => {
            let token = named[usize::from(step.slot)]
                .take()
                .ok_or(Mismatch::NoPermit)?;
            match step.op {
                Op::Success => breaker.record_token(token, Outcome::Success),
                Op::Failure => breaker.record_token(token, Outcome::Failure),
                Op::Ignore => breaker.record_token(token, Outcome::Ignore),
                _ => breaker.release_token(token),
            }
        }
        Op::CallSuccess => call(Some(Outcome::Success), &mut acquired, &mut last),
        Op::CallFailure => call(Some(Outcome::Failure), &mut acquired, &mut last),
        Op::CallIgnore => call(Some(Outcome::Ignore), &mut acquired, &mut last),
        Op::CallDrop => call(None, &mut acquired, &mut last),
        Op::State => {}
        Op::Isolate => breaker.isolate(),
        Op::Reset => breaker.reset(),
    }
    check(&step.expect, breaker, acquired, last)
}

/// The checks, in the order the host runner meets the keys (alphabetical).
fn check(
    e: &Expect,
    breaker: &Subject<'_>,
    acquired: Option<Result<(), RejectReason>>,
    last: u64,
) -> Result<(), Mismatch> {
    if let Some(want) = e.allowed {
        let got = acquired.ok_or(Mismatch::NotAcquire("allowed"))?.is_ok();
        if got != want {
            return Err(Mismatch::Allowed { want, got });
        }
    }
    if e.config_error {
        return Err(Mismatch::ConfigErrorLater);
    }
    if !e.metrics.is_empty() {
        let m = breaker.metrics();
        let state = breaker.state_at(last);
        for &(key, want) in e.metrics {
            let opt = |v: Option<u64>| v.map_or(MetricValue::Null, MetricValue::Num);
            let got = match key {
                Metric::Successes => MetricValue::Num(m.successes.into()),
                Metric::Failures => MetricValue::Num(m.failures.into()),
                Metric::SlowCalls => MetricValue::Num(m.slow_calls.into()),
                Metric::Ignored => MetricValue::Num(m.ignored.into()),
                Metric::Rejected => MetricValue::Num(m.rejected.into()),
                Metric::Transitions => MetricValue::Num(m.transitions.into()),
                Metric::Epoch => MetricValue::Num(m.epoch.into()),
                Metric::OpenedAt => opt(m.opened_at),
                Metric::RetryAt => opt(m.retry_at),
                Metric::State => MetricValue::State(state),
            };
            if got != want {
                return Err(Mismatch::Metric { key, want, got });
            }
        }
    }
    if let Some(want) = e.reject {
        let got = acquired.ok_or(Mismatch::NotAcquire("reject"))?.err();
        if got != Some(want) {
            return Err(Mismatch::Reject { want, got });
        }
    }
    if let Some(want) = e.state {
        let got = breaker.state_at(last);
        if got != want {
            return Err(Mismatch::State { want, got });
        }
    }
    Ok(())
}

/// Runs every case; logs a line per case and the totals. Returns
/// `(passed, failed)`.
pub fn run() -> (u32, u32) {
    let (mut passed, mut failed) = (0u32, 0u32);
    defmt::info!(
        "vectors: {=usize} cases, {=usize} steps from {=usize} files; breaker under test is {=usize} bytes",
        CASES.len(),
        STEPS,
        FILES,
        core::mem::size_of::<Subject<'static>>()
    );
    for case in CASES {
        match run_case(case) {
            Ok(()) => {
                passed += 1;
                defmt::debug!("ok {=str}", case.name);
            }
            Err(why) => {
                failed += 1;
                defmt::error!("FAIL {=str}: {}", case.name, why);
            }
        }
    }
    defmt::info!("vectors: {=u32} passed, {=u32} failed", passed, failed);
    (passed, failed)
}
