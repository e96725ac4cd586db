//! Runs parsed cases ([`crate::model`]) against the core on the host.
//!
//! Each case builds a breaker from its `config` through the same key paths
//! a JavaScript or JSON user gives (`Config::builder().set(path, value)`),
//! drives it step by step with a [`MockClock`] set to each step's `at`, and
//! compares what it sees with the step's `expect`. A `restart` step
//! replaces the breaker with a fresh one (fresh totals) restored from the
//! old one's snapshot, on the same clock set to `restoreAt`.

use halfopen::{
    AnyPolicy, Breaker, Config, ConfigError, Counters, MockClock, PermitToken, RejectReason, State,
};

use crate::model::{Case, Expect, Metric, MetricValue, Op, Outcome};

/// Builds the configuration of a case's `(path, value)` pairs: the outer
/// error is a key the builder does not know, the inner one the config's
/// validation.
pub fn build_config(
    pairs: &[(String, i64)],
) -> Result<Result<Config<AnyPolicy>, ConfigError>, String> {
    let mut builder = Config::builder();
    for (key, value) in pairs {
        builder = match builder.set(key, *value) {
            Ok(b) => b,
            Err(e) => return Err(format!("unknown config key {key} ({e})")),
        };
    }
    Ok(builder.build())
}

type Subject<'a> = Breaker<'a, &'a MockClock, AnyPolicy, Counters>;

/// Runs one case: `Err` holds why it failed, as the runner prints it after
/// `FAIL NAME: `.
pub fn run_case(case: &Case) -> Result<(), String> {
    if let Some(why) = &case.malformed {
        return Err(why.clone());
    }
    let config = match (build_config(&case.config)?, &case.config_error) {
        (Err(e), Some(want)) if *want == e.key() => return Ok(()),
        (Err(e), Some(want)) => {
            return Err(format!(
                "step 0: expected configError {want}, got configError {} ({e})",
                e.key()
            ))
        }
        (Err(e), None) => {
            return Err(format!(
                "step 0: expected a valid config, got configError {e}"
            ))
        }
        (Ok(_), Some(want)) => {
            return Err(format!(
                "step 0: expected configError {want}, got a valid config"
            ))
        }
        (Ok(c), None) => c,
    };
    let clock = MockClock::new(0);
    let mut session = Session::new(&config, &clock);
    for (i, step) in case.steps.iter().enumerate() {
        session
            .exec(step.at, step.op, &case.permits)
            .and_then(|done| check(&step.expect, &session, done))
            .map_err(|what| format!("step {i}: {what}"))?;
    }
    match &case.stop {
        Some(why) => Err(why.clone()),
        None => Ok(()),
    }
}

/// What a step did, for its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// The step's acquire (`acquire`, `call`): granted, or why not.
    pub acquired: Option<Result<(), RejectReason>>,
    /// The step's last clock reading, at which `state` is read.
    pub last: u64,
}

/// One case's breaker as the steps drive it: the breaker on a [`MockClock`]
/// with the totals kept, and the permits it holds by slot. The step
/// executor of the host runner, and of anything that runs steps the way it
/// does (the vector generator records what it sees).
pub struct Session<'a> {
    config: &'a Config<AnyPolicy>,
    clock: &'a MockClock,
    breaker: Subject<'a>,
    held: Vec<Option<PermitToken>>,
}

impl<'a> Session<'a> {
    /// A fresh breaker of `config` on `clock`, holding no permit.
    pub fn new(config: &'a Config<AnyPolicy>, clock: &'a MockClock) -> Self {
        Session {
            config,
            clock,
            breaker: Breaker::with_observer(config, clock, Counters::new()),
            held: Vec::new(),
        }
    }

    /// Whether a permit is held in `slot`.
    pub fn holds(&self, slot: usize) -> bool {
        self.held.get(slot).is_some_and(Option::is_some)
    }

    /// Runs one step's action at clock reading `at` ([`Op`] says what each
    /// does); `permits` names the slots, for the error of an outcome step
    /// whose slot holds no permit.
    pub fn exec(&mut self, at: u64, op: Op, permits: &[String]) -> Result<Done, String> {
        let (clock, breaker) = (self.clock, &mut self.breaker);
        clock.set(at);
        let mut last = at;
        let mut acquired: Option<Result<(), RejectReason>> = None;
        match op {
            Op::Acquire(slot) => {
                let r = breaker.try_acquire_token();
                acquired = Some(r.as_ref().map(|_| ()).map_err(|e| e.reason()));
                if let (Ok(token), Some(slot)) = (r, slot) {
                    if self.held.len() <= slot {
                        self.held.resize_with(slot + 1, || None);
                    }
                    self.held[slot] = Some(token);
                }
            }
            Op::Record(outcome, slot) => {
                let token = self
                    .held
                    .get_mut(slot)
                    .and_then(Option::take)
                    .ok_or_else(|| {
                        let name = permits.get(slot).map_or("", String::as_str);
                        format!("no held permit named {name:?}")
                    })?;
                record(breaker, token, outcome);
            }
            Op::Call(outcome, duration_ms) => {
                let r = breaker.try_acquire_token();
                acquired = Some(r.as_ref().map(|_| ()).map_err(|e| e.reason()));
                if let Ok(token) = r {
                    last = at.saturating_add(duration_ms);
                    clock.set(last);
                    record(breaker, token, outcome);
                }
            }
            Op::State => {}
            Op::Isolate => breaker.isolate(),
            Op::Reset => breaker.reset(),
            Op::Adopt(state) => breaker.adopt(state),
            Op::Restart {
                restore_at,
                same_clock,
            } => {
                let bytes = breaker.snapshot();
                clock.set(restore_at);
                last = restore_at;
                *breaker = Breaker::with_observer(self.config, clock, Counters::new());
                self.held.iter_mut().for_each(|h| *h = None);
                let restored = if same_clock {
                    breaker.restore_same_clock(&bytes)
                } else {
                    breaker.restore(&bytes)
                };
                restored.map_err(|e| format!("restore refused: {e}"))?;
            }
        }
        Ok(Done { acquired, last })
    }

    /// `state(t)`.
    pub fn state_at(&self, t: u64) -> State {
        self.breaker.state_at(t)
    }

    /// A metric as a vector reads it, `state` at `t`.
    pub fn metric(&self, key: Metric, t: u64) -> MetricValue {
        let m = self.breaker.metrics();
        let opt = |v: Option<u64>| v.map_or(MetricValue::Null, MetricValue::Num);
        match key {
            Metric::Epoch => MetricValue::Num(m.epoch.into()),
            Metric::Failures => MetricValue::Num(m.failures.into()),
            Metric::Ignored => MetricValue::Num(m.ignored.into()),
            Metric::OpenedAt => opt(m.opened_at),
            Metric::Rejected => MetricValue::Num(m.rejected.into()),
            Metric::RetryAt => opt(m.retry_at),
            Metric::SlowCalls => MetricValue::Num(m.slow_calls.into()),
            Metric::State => MetricValue::State(self.breaker.state_at(t)),
            Metric::Successes => MetricValue::Num(m.successes.into()),
            Metric::Transitions => MetricValue::Num(m.transitions.into()),
        }
    }
}

fn record(breaker: &Subject<'_>, token: PermitToken, outcome: Outcome) {
    match outcome {
        Outcome::Success => breaker.record_token(token, halfopen::Outcome::Success),
        Outcome::Failure => breaker.record_token(token, halfopen::Outcome::Failure),
        Outcome::Ignore => breaker.record_token(token, halfopen::Outcome::Ignore),
        Outcome::Drop => breaker.release_token(token),
    }
}

/// The checks, in [`Expect`]'s order.
fn check(e: &Expect, session: &Session<'_>, done: Done) -> Result<(), String> {
    let Done { acquired, last } = done;
    if let Some(want) = e.allowed {
        let got = acquired
            .ok_or("`allowed` expected on a step that does not acquire")?
            .is_ok();
        if got != want {
            return Err(format!("expected allowed {want}, got {got}"));
        }
    }
    if e.config_error {
        return Err("configError is only expected on the first step of an invalid config".into());
    }
    for &(key, want) in &e.metrics {
        let got = session.metric(key, last);
        if got != want {
            return Err(format!("expected metrics.{} {want}, got {got}", key.name()));
        }
    }
    if let Some(want) = e.reject {
        let got = acquired.ok_or("`reject` expected on a step that does not acquire")?;
        let got = got.err().map_or("allowed", RejectReason::as_str);
        if got != want.as_str() {
            return Err(format!(
                "expected reject \"{}\", got \"{got}\"",
                want.as_str()
            ));
        }
    }
    if let Some(want) = e.state {
        let got = session.state_at(last);
        if got != want {
            return Err(format!(
                "expected state \"{}\", got \"{}\"",
                want.as_str(),
                got.as_str()
            ));
        }
    }
    Ok(())
}
