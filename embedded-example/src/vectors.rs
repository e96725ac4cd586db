//! The conformance vectors, run on the device (the self-test binary,
//! feature `vectors`).
//!
//! `build.rs` prints the cases the conformance crate parses
//! (`halfopen_conformance::model`, the host runner's reading of the vector
//! files) as the static table included below; the types here mirror that
//! model field for field. [`run`] executes every case as the host runner
//! (`tests/src/run.rs`) does: a real breaker (`AnyPolicy`, `Counters`) on the
//! core's `MockClock` (its 64-bit reading is kept in 32-bit atomics, so no
//! lock on either board), the clock set to each step's `at`, the checks in
//! the model's order. A `restart` step replaces the breaker with a fresh one
//! restored from the old one's snapshot, on the clock set to `restoreAt`. It logs the host runner's lines: `ok NAME` or
//! `FAIL NAME: ...` per case, then `N passed, N failed`.

use halfopen::{
    AnyPolicy, Breaker, Config, ConfigError, ConfigErrorKind, Counters, FleetState, MockClock,
    PermitToken, RejectReason, SnapshotError, State, SNAPSHOT_LEN,
};

// The variants the generated table uses depend on the vector files.
#[allow(dead_code)]
#[derive(Clone, Copy)]
pub enum Op {
    /// Acquire; hold a granted permit in the named slot, if any.
    Acquire(Option<u8>),
    /// End the permit held in the slot.
    Record(Outcome, u8),
    /// Acquire at `at`; if granted, end it at `at + duration_ms`.
    Call(Outcome, u64),
    State,
    Isolate,
    Reset,
    /// `adopt(state)`.
    Adopt(FleetState),
    /// Snapshot at `at`, restore into a fresh breaker (fresh totals) on the
    /// clock set to `restore_at`; every held permit is forgotten.
    Restart {
        restore_at: u64,
        same_clock: bool,
    },
}

#[allow(dead_code)] // as for `Op`
#[derive(Clone, Copy)]
pub enum Outcome {
    Success,
    Failure,
    Ignore,
    Drop,
}

#[allow(dead_code)] // as for `Op`
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Epoch,
    Failures,
    Ignored,
    OpenedAt,
    Rejected,
    RetryAt,
    SlowCalls,
    State,
    Successes,
    Transitions,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Epoch => "epoch",
            Metric::Failures => "failures",
            Metric::Ignored => "ignored",
            Metric::OpenedAt => "openedAt",
            Metric::Rejected => "rejected",
            Metric::RetryAt => "retryAt",
            Metric::SlowCalls => "slowCalls",
            Metric::State => "state",
            Metric::Successes => "successes",
            Metric::Transitions => "transitions",
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
    /// As JSON, like the host runner.
    fn format(&self, f: defmt::Formatter) {
        match self {
            MetricValue::Num(n) => defmt::write!(f, "{=u64}", n),
            MetricValue::Null => defmt::write!(f, "null"),
            MetricValue::State(s) => defmt::write!(f, "\"{=str}\"", s.as_str()),
        }
    }
}

/// A step's checks, in the order they are made.
pub struct Expect {
    pub allowed: Option<bool>,
    /// `configError` on a step where it does not belong.
    pub config_error: bool,
    pub metrics: &'static [(Metric, MetricValue)],
    pub reject: Option<RejectReason>,
    pub state: Option<State>,
}

pub struct Step {
    pub at: u64,
    pub op: Op,
    pub expect: Expect,
}

pub struct Case {
    pub name: &'static str,
    /// Why the case fails before it starts.
    pub malformed: Option<&'static str>,
    /// `(key path, value)` pairs for `Config::builder().set`.
    pub config: &'static [(&'static str, i64)],
    /// `configError` of the first step.
    pub config_error: Option<&'static str>,
    /// Permit names, by slot.
    pub permits: &'static [&'static str],
    /// Why the case fails once `steps` have run (a malformed step follows).
    pub stop: Option<&'static str>,
    pub steps: &'static [Step],
}

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

/// Why a case failed; formats as the host runner's message.
enum Failure {
    Malformed(&'static str),
    UnknownKey(&'static str, ConfigError),
    ConfigError {
        want: &'static str,
        got: ConfigError,
    },
    UnexpectedConfigError(ConfigError),
    ValidConfig {
        want: &'static str,
    },
    Step {
        i: usize,
        what: Mismatch,
    },
}

enum Mismatch {
    NoPermit(&'static str),
    NotAcquire(&'static str),
    ConfigErrorLater,
    Allowed {
        want: bool,
        got: bool,
    },
    Metric {
        key: Metric,
        want: MetricValue,
        got: MetricValue,
    },
    Reject {
        want: RejectReason,
        got: Option<RejectReason>,
    },
    State {
        want: State,
        got: State,
    },
    Restore(SnapshotError),
}

impl defmt::Format for Failure {
    fn format(&self, f: defmt::Formatter) {
        match self {
            Failure::Malformed(why) => defmt::write!(f, "{=str}", why),
            Failure::UnknownKey(key, e) => {
                defmt::write!(f, "unknown config key {=str} ({})", key, Sentence(*e))
            }
            Failure::ConfigError { want, got } => defmt::write!(
                f,
                "step 0: expected configError {=str}, got configError {=str} ({})",
                want,
                got.key(),
                Sentence(*got)
            ),
            Failure::UnexpectedConfigError(got) => defmt::write!(
                f,
                "step 0: expected a valid config, got configError {}",
                Sentence(*got)
            ),
            Failure::ValidConfig { want } => defmt::write!(
                f,
                "step 0: expected configError {=str}, got a valid config",
                want
            ),
            Failure::Step { i, what } => {
                defmt::write!(f, "step {=usize}: ", i);
                match what {
                    Mismatch::NoPermit(name) => {
                        defmt::write!(f, "no held permit named \"{=str}\"", name)
                    }
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
                    Mismatch::Metric { key, want, got } => defmt::write!(
                        f,
                        "expected metrics.{=str} {}, got {}",
                        key.name(),
                        want,
                        got
                    ),
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
                    Mismatch::Restore(e) => {
                        defmt::write!(f, "restore refused: {}", SnapshotSentence(*e))
                    }
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

/// A snapshot error as the core's `Display` words it.
struct SnapshotSentence(SnapshotError);

impl defmt::Format for SnapshotSentence {
    fn format(&self, f: defmt::Formatter) {
        match self.0 {
            SnapshotError::Length(n) => defmt::write!(
                f,
                "snapshot is {=usize} bytes, expected {=usize} (or 40 for version 1)",
                n,
                SNAPSHOT_LEN
            ),
            SnapshotError::Magic => defmt::write!(f, "not a halfopen snapshot (bad magic)"),
            SnapshotError::Version(v) => defmt::write!(f, "unsupported snapshot version {=u8}", v),
            SnapshotError::Checksum => {
                defmt::write!(f, "snapshot checksum mismatch: the bytes are damaged")
            }
            SnapshotError::ForeignConfig => defmt::write!(
                f,
                "snapshot was taken from a breaker with another configuration"
            ),
            SnapshotError::Invalid(field) => defmt::write!(
                f,
                "snapshot field {=str} holds an impossible value",
                field
            ),
            SnapshotError::InUse => defmt::write!(
                f,
                "restore needs a breaker that has not been used since it was built: restore into a new breaker"
            ),
            _ => defmt::write!(f, "unknown snapshot error"),
        }
    }
}

/// A held permit, kept as its token's parts: 12 bytes instead of the 24 of
/// an `Option<PermitToken>`, because a case may hold 256 names at once and
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

type Subject<'a> = Breaker<'a, &'a MockClock, AnyPolicy, Counters>;

fn run_case(case: &Case) -> Result<(), Failure> {
    if let Some(why) = case.malformed {
        return Err(Failure::Malformed(why));
    }
    let mut builder = Config::builder();
    for &(key, value) in case.config {
        builder = builder
            .set(key, value)
            .map_err(|e| Failure::UnknownKey(key, e))?;
    }
    let config = match (builder.build(), case.config_error) {
        (Err(e), Some(want)) if want == e.key() => return Ok(()),
        (Err(e), Some(want)) => return Err(Failure::ConfigError { want, got: e }),
        (Err(e), None) => return Err(Failure::UnexpectedConfigError(e)),
        (Ok(_), Some(want)) => return Err(Failure::ValidConfig { want }),
        (Ok(c), None) => c,
    };
    let clock = MockClock::new(0);
    let mut breaker: Subject<'_> = Breaker::with_observer(&config, &clock, Counters::new());
    let mut held = [Held::EMPTY; MAX_NAMES];
    for (i, step) in case.steps.iter().enumerate() {
        run_step(case, step, (&config, &clock), &mut breaker, &mut held)
            .map_err(|what| Failure::Step { i, what })?;
    }
    match case.stop {
        Some(why) => Err(Failure::Malformed(why)),
        None => Ok(()),
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

fn run_step<'a>(
    case: &Case,
    step: &Step,
    (config, clock): (&'a Config<AnyPolicy>, &'a MockClock),
    breaker: &mut Subject<'a>,
    held: &mut [Held; MAX_NAMES],
) -> Result<(), Mismatch> {
    clock.set(step.at);
    let mut last = step.at;
    let mut acquired: Option<Result<(), RejectReason>> = None;
    match step.op {
        // A permit held without a name, or replaced under its name, is never
        // recorded: a token is plain data, letting it go is holding it.
        Op::Acquire(slot) => {
            let r = breaker.try_acquire_token();
            acquired = Some(r.as_ref().map(|_| ()).map_err(|e| e.reason()));
            if let (Ok(token), Some(slot)) = (r, slot) {
                held[usize::from(slot)] = Held::from(token);
            }
        }
        Op::Record(outcome, slot) => {
            let slot = usize::from(slot);
            let token = held[slot]
                .take()
                .ok_or(Mismatch::NoPermit(case.permits[slot]))?;
            record(breaker, token, outcome);
        }
        Op::Call(outcome, duration_ms) => {
            let r = breaker.try_acquire_token();
            acquired = Some(r.as_ref().map(|_| ()).map_err(|e| e.reason()));
            if let Ok(token) = r {
                last = step.at.saturating_add(duration_ms);
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
            *breaker = Breaker::with_observer(config, clock, Counters::new());
            *held = [Held::EMPTY; MAX_NAMES];
            let restored = if same_clock {
                breaker.restore_same_clock(&bytes)
            } else {
                breaker.restore(&bytes)
            };
            restored.map_err(Mismatch::Restore)?;
        }
    }
    check(&step.expect, breaker, acquired, last)
}

/// The checks, in [`Expect`]'s order (the host runner's).
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
        let opt = |v: Option<u64>| v.map_or(MetricValue::Null, MetricValue::Num);
        for &(key, want) in e.metrics {
            let got = match key {
                Metric::Epoch => MetricValue::Num(m.epoch.into()),
                Metric::Failures => MetricValue::Num(m.failures.into()),
                Metric::Ignored => MetricValue::Num(m.ignored.into()),
                Metric::OpenedAt => opt(m.opened_at),
                Metric::Rejected => MetricValue::Num(m.rejected.into()),
                Metric::RetryAt => opt(m.retry_at),
                Metric::SlowCalls => MetricValue::Num(m.slow_calls.into()),
                Metric::State => MetricValue::State(breaker.state_at(last)),
                Metric::Successes => MetricValue::Num(m.successes.into()),
                Metric::Transitions => MetricValue::Num(m.transitions.into()),
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

/// Runs every case and logs the host runner's lines. Returns `(passed,
/// failed)`.
pub fn run() -> (u32, u32) {
    defmt::info!(
        "vectors: {=usize} cases; the breaker under test is {=usize} bytes",
        CASES.len(),
        core::mem::size_of::<Subject<'static>>()
    );
    let (mut passed, mut failed) = (0u32, 0u32);
    for case in CASES {
        match run_case(case) {
            Ok(()) => {
                passed += 1;
                defmt::info!("ok {=str}", case.name);
            }
            Err(why) => {
                failed += 1;
                defmt::error!("FAIL {=str}: {}", case.name, why);
            }
        }
    }
    defmt::info!("{=u32} passed, {=u32} failed", passed, failed);
    (passed, failed)
}
