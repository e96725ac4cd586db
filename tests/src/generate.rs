//! Randomly generated vector files: cases that mix every rule, with the
//! expectations the host core gives.
//!
//! [`generate`] draws, from a seed, cases whose configuration is a random
//! valid one over every key of the spec's table (all three trip policies,
//! the count rule with and without a rate, `openMs`, `halfOpenMaxCalls`,
//! `successThreshold`, `slowCallMs`, `backoff`, `halfOpenMaxWaitMs`,
//! `jitter`) and whose steps mix every `do` of the format (named and
//! unnamed acquires, the four outcomes of held permits, calls with
//! durations, `state`, `isolate`, `reset`, `adopt` of the three fleet
//! states, restarts on the same clock and re-based, a clock that sometimes
//! goes backwards). Each step is run on the host core by the host runner's
//! own executor ([`crate::run::Session`]) and what it saw is written as the
//! step's `expect`: the host passes such a file by construction, and any
//! other runner that fails it disagrees with the core.
//!
//! The same seed gives the same file, byte for byte.

use halfopen::{FleetState, MockClock, RejectReason, State};
use serde_json::{json, Map, Value};

use crate::model::{config_pairs, Metric, MetricValue, Op, Outcome};
use crate::run::{build_config, Done, Session};

/// splitmix64: a small, fast generator whose whole state is one word.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo ..= hi` (`lo <= hi`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        match (hi - lo).checked_add(1) {
            Some(n) => lo + self.next_u64() % n,
            None => self.next_u64(),
        }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items`.
    pub fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }

    /// An index drawn with the given weights.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut r = self.range(0, weights.iter().sum::<u64>() - 1);
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// The largest duration a configuration key takes, 2^31 - 1 ms.
const MAX_MS: u64 = (1 << 31) - 1;

/// The permit names the steps use.
const PERMITS: [&str; 4] = ["p", "q", "r", "s"];

/// The metrics a step may check (each drawn with even odds).
const CHECKED: [Metric; 10] = [
    Metric::Epoch,
    Metric::Failures,
    Metric::Ignored,
    Metric::OpenedAt,
    Metric::Rejected,
    Metric::RetryAt,
    Metric::SlowCalls,
    Metric::State,
    Metric::Successes,
    Metric::Transitions,
];

/// A file of `cases` generated cases from `seed`, as its JSON text: one
/// line per step, so that a failing case is easy to read and cut down.
///
/// A case with a step the host refused ([`Refused`]) is written up to that
/// step, so the file fails it on the host too; the refusals are returned as
/// well, for the caller to report.
pub fn generate(seed: u64, cases: usize) -> (String, Vec<Refused>) {
    let mut out = String::from("[\n");
    let mut refused = Vec::new();
    for i in 0..cases {
        // Each case has a generator of its own, so that case I of a seed
        // does not depend on how many cases come before it.
        let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0xd134_2543_de82_ef95));
        let case = match generate_case(&mut rng, &format!("random seed {seed} case {i}")) {
            Ok(case) => case,
            Err(r) => {
                refused.push(r.clone());
                r.case
            }
        };
        out.push_str(&case_text(&case));
        out.push_str(if i + 1 < cases { ",\n" } else { "\n" });
    }
    out.push_str("]\n");
    (out, refused)
}

/// A case as vector text, one line per step.
pub fn case_text(case: &Value) -> String {
    let steps = case["steps"].as_array().map_or(&[][..], Vec::as_slice);
    let lines: Vec<String> = steps.iter().map(|s| format!("  {s}")).collect();
    format!(
        "{{\"name\": {},\n \"config\": {},\n \"steps\": [\n{}\n]}}",
        case["name"],
        case["config"],
        lines.join(",\n")
    )
}

/// A generated step the host runner's executor refused (a `restart` whose
/// restore the core refuses), or a panic while drawing a case (the core's,
/// on a step or a read): the core disagrees with itself.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The case up to the refused step: the host runner fails it at that
    /// step (or panics there).
    pub case: Value,
    /// The executor's error.
    pub why: String,
}

/// One case: a random valid configuration and 10 to 40 steps, each with
/// what the host core did as its `expect`. A step the host refuses, or on
/// which the core panics, ends the case there ([`Refused`]).
pub fn generate_case(rng: &mut Rng, name: &str) -> Result<Value, Refused> {
    let mut draft = Draft::default();
    let drawn =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| draw_case(rng, &mut draft)));
    let why = match drawn {
        Ok(Ok(())) => None,
        Ok(Err(why)) => Some(why),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?");
            // The step it panicked on (or, for a panic between steps, a
            // `state` step at the clock's reading), with every read a vector
            // makes, so that the host runner meets the panic too.
            let at = draft.clock;
            let step = draft
                .pending
                .get_or_insert_with(|| json!({"at": at, "do": "state"}));
            if let Value::Object(step) = step {
                let metrics: Map<String, Value> = CHECKED
                    .iter()
                    .map(|m| (m.name().to_owned(), Value::Null))
                    .collect();
                step.insert(
                    "expect".into(),
                    json!({"metrics": metrics, "state": "closed"}),
                );
            }
            Some(format!("panicked: {message}"))
        }
    };
    let mut steps = draft.steps;
    steps.extend(draft.pending.filter(|_| why.is_some()));
    let case = json!({"name": name, "config": draft.config, "steps": steps});
    match why {
        None => Ok(case),
        Some(why) => Err(Refused { case, why }),
    }
}

/// A case as it is drawn.
#[derive(Default)]
struct Draft {
    config: Value,
    /// The steps done, with their `expect`.
    steps: Vec<Value>,
    /// The step being done, without its `expect`.
    pending: Option<Value>,
    /// The clock's reading after the last step done.
    clock: u64,
}

fn draw_case(rng: &mut Rng, draft: &mut Draft) -> Result<(), String> {
    let config = random_config(rng);
    draft.config = config.clone();
    let pairs = config_pairs(&config).expect("a generated config flattens");
    let built = build_config(&pairs)
        .expect("a generated config names known keys")
        .unwrap_or_else(|e| panic!("a generated config is invalid: {e}: {config}"));
    let clock = MockClock::new(0);
    let mut session = Session::new(&built, &clock);
    let names: Vec<String> = PERMITS.iter().map(|p| (*p).to_owned()).collect();
    let open_ms = config
        .get("openMs")
        .and_then(Value::as_u64)
        .unwrap_or(30_000);
    // The step sizes follow the configuration's open time, so that cases
    // reach half-open; some cases run on a clock far from zero.
    let scale = open_ms.min(5_000);
    let mut now = if rng.chance(8) {
        rng.range(1 << 32, 1 << 50)
    } else {
        0
    };
    draft.clock = 0;
    let max_wait = config.get("halfOpenMaxWaitMs").and_then(Value::as_u64);
    // When the breaker last went half-open, roughly (the reading of the
    // step that saw it first): its deadline is a time worth visiting.
    let mut half_open_since: Option<u64> = None;
    for _ in 0..rng.range(10, 40) {
        let mut marks = Vec::new();
        if let MetricValue::Num(retry_at) = session.metric(Metric::RetryAt, now) {
            marks.push(retry_at);
        }
        if let (Some(entry), Some(wait)) = (half_open_since, max_wait) {
            marks.push(entry + wait);
        }
        now = next_reading(rng, now, scale, &marks);
        let (op, step) = random_step(rng, &session, now, scale, max_wait.is_some());
        draft.pending = Some(step.clone());
        let done = session.exec(now, op, &names)?;
        let step = with_expect(step, &session, done, rng);
        let state = session.state_at(done.last);
        if state != State::HalfOpen {
            half_open_since = None;
        } else if half_open_since.is_none() {
            half_open_since = Some(now);
        }
        if let Op::Restart { restore_at, .. } = op {
            now = restore_at;
        }
        draft.steps.push(step);
        draft.pending = None;
        draft.clock = done.last;
    }
    Ok(())
}

/// The next step's clock reading: mostly forwards by amounts around the
/// open time, sometimes the same, sometimes backwards, and sometimes at or
/// next to a time where the state changes (`marks`: `retryAt`, the
/// half-open deadline).
fn next_reading(rng: &mut Rng, now: u64, scale: u64, marks: &[u64]) -> u64 {
    let near_mark = if marks.is_empty() { 0 } else { 15 };
    match rng.weighted(&[10, 30, 30, 20, 6, 4, near_mark]) {
        0 => now,
        1 => now + rng.range(1, 20),
        2 => now + rng.range(1, scale),
        3 => now + rng.range(scale / 2, scale * 3),
        4 => now - rng.range(0, now.min(2 * scale)),
        5 => now + rng.range(scale * 3, scale * 40),
        _ => {
            let mark = *rng.pick(marks);
            match rng.range(0, 3) {
                0 => mark.saturating_sub(1),
                1 => mark,
                2 => mark + 1,
                _ => mark + rng.range(2, 50),
            }
        }
    }
}

/// The trip policy: one of the three, window policies with the rate rule,
/// the count rule or both.
fn random_trip(rng: &mut Rng) -> Value {
    match rng.range(0, 2) {
        0 => {
            let n = if rng.chance(5) {
                65_535
            } else {
                rng.range(1, 6)
            };
            json!({"consecutiveFailures": n})
        }
        1 => {
            let window = if rng.chance(5) { 64 } else { rng.range(1, 16) };
            let mut p = rules(rng, window);
            p.insert("window".into(), window.into());
            if rng.chance(50) {
                p.insert("minimumCalls".into(), rng.range(1, window).into());
            }
            json!({ "failureRate": p })
        }
        _ => {
            let buckets = if rng.chance(5) { 64 } else { rng.range(1, 8) };
            let mut p = rules(rng, 10);
            p.insert("buckets".into(), buckets.into());
            p.insert("windowMs".into(), (buckets * rng.range(1, 400)).into());
            if rng.chance(50) {
                p.insert("minimumCalls".into(), rng.range(1, 10).into());
            }
            json!({ "timeWindow": p })
        }
    }
}

/// A window policy's rules: `percent`, `failures` (at most `max`) or both.
fn rules(rng: &mut Rng, max: u64) -> Map<String, Value> {
    let mut p = Map::new();
    let which = rng.range(0, 2);
    if which != 1 {
        let percent = if rng.chance(10) {
            *rng.pick(&[1, 100])
        } else {
            rng.range(10, 90)
        };
        p.insert("percent".into(), percent.into());
    }
    if which != 0 {
        p.insert("failures".into(), rng.range(1, max).into());
    }
    p
}

/// A random valid configuration: a trip policy, and each other key of the
/// table present or left to its default.
fn random_config(rng: &mut Rng) -> Value {
    let mut c = Map::new();
    if rng.chance(90) {
        c.insert("trip".into(), random_trip(rng));
    }
    let open_ms = if rng.chance(80) {
        let v = if rng.chance(5) {
            1
        } else {
            rng.range(2, 3_000)
        };
        c.insert("openMs".into(), v.into());
        v
    } else {
        30_000
    };
    if rng.chance(50) {
        let v = if rng.chance(5) { 255 } else { rng.range(1, 4) };
        c.insert("halfOpenMaxCalls".into(), v.into());
    }
    if rng.chance(50) {
        c.insert("successThreshold".into(), rng.range(1, 4).into());
    }
    if rng.chance(40) {
        c.insert("slowCallMs".into(), rng.range(1, 300).into());
    }
    if rng.chance(40) {
        let factor = if rng.chance(10) { 16 } else { rng.range(1, 4) };
        let max = if rng.chance(10) {
            *rng.pick(&[open_ms, MAX_MS])
        } else {
            open_ms * rng.range(1, 10)
        };
        c.insert(
            "backoff".into(),
            json!({"factor": factor, "maxOpenMs": max}),
        );
    }
    if rng.chance(40) {
        c.insert("halfOpenMaxWaitMs".into(), rng.range(1, 3_000).into());
    }
    if rng.chance(40) {
        let mut j = Map::new();
        j.insert("percent".into(), rng.range(1, 100).into());
        if rng.chance(60) {
            let seed = if rng.chance(10) {
                u64::from(u32::MAX)
            } else {
                rng.range(0, 1_000)
            };
            j.insert("seed".into(), seed.into());
        }
        c.insert("jitter".into(), Value::Object(j));
    }
    Value::Object(c)
}

/// A step of a random kind at `at`, as the executor's [`Op`] and as the
/// vector's JSON (without `expect`).
///
/// `deadline` says whether the configuration has `halfOpenMaxWaitMs`.
fn random_step(
    rng: &mut Rng,
    session: &Session<'_>,
    at: u64,
    scale: u64,
    deadline: bool,
) -> (Op, Value) {
    let held: Vec<usize> = (0..PERMITS.len()).filter(|&s| session.holds(s)).collect();
    let outcomes = ["success", "failure", "ignore", "drop"];
    let mut step = Map::new();
    step.insert("at".into(), at.into());
    let mut set = |k: &str, v: Value| {
        step.insert(k.into(), v);
    };
    let outcomes_weight = if held.is_empty() { 0 } else { 22 };
    let restart_weight = if snapshot_restores(session, at) { 4 } else { 0 };
    // An isolated breaker stays so until a reset or an adopted state: let
    // one come sooner there, so that cases do not sit isolated.
    let isolated = session.state_at(at) == State::Isolated;
    let reset_weight = if isolated { 12 } else { 3 };
    let kind = rng.weighted(&[
        18,
        outcomes_weight,
        30,
        5,
        2,
        reset_weight,
        6,
        restart_weight,
    ]);
    let op = match kind {
        0 => {
            set("do", "acquire".into());
            if rng.chance(85) {
                let slot = rng.range(0, PERMITS.len() as u64 - 1) as usize;
                set("permit", PERMITS[slot].into());
                Op::Acquire(Some(slot))
            } else {
                Op::Acquire(None)
            }
        }
        1 => {
            let slot = *rng.pick(&held);
            let o = rng.weighted(&[40, 35, 15, 10]);
            set("do", outcomes[o].into());
            set("permit", PERMITS[slot].into());
            Op::Record(outcome(o), slot)
        }
        2 => {
            set("do", "call".into());
            let o = rng.weighted(&[45, 40, 10, 5]);
            if o != 0 || rng.chance(70) {
                set("outcome", outcomes[o].into());
            }
            let duration = match rng.weighted(&[25, 50, 25]) {
                0 => None,
                1 => Some(rng.range(0, 50)),
                _ => Some(rng.range(0, 400)),
            };
            if let Some(d) = duration {
                set("durationMs", d.into());
            }
            Op::Call(outcome(o), duration.unwrap_or(0))
        }
        3 => {
            set("do", "state".into());
            Op::State
        }
        4 => {
            set("do", "isolate".into());
            Op::Isolate
        }
        5 => {
            set("do", "reset".into());
            Op::Reset
        }
        6 => {
            set("do", "adopt".into());
            match rng.weighted(&[60, 25, 15]) {
                0 => {
                    let remaining = match rng.weighted(&[10, 80, 10]) {
                        0 => 0,
                        1 => rng.range(1, scale * 3),
                        _ => MAX_MS,
                    };
                    let k = if rng.chance(5) {
                        u64::from(u32::MAX)
                    } else {
                        rng.range(0, 5)
                    };
                    set("state", "open".into());
                    set("remainingMs", remaining.into());
                    set("k", k.into());
                    let k = u32::try_from(k).unwrap_or(u32::MAX);
                    Op::Adopt(FleetState::open(remaining, k).expect("remainingMs is in range"))
                }
                1 => {
                    set("state", "closed".into());
                    Op::Adopt(FleetState::Closed)
                }
                _ => {
                    set("state", "isolated".into());
                    Op::Adopt(FleetState::Isolated)
                }
            }
        }
        _ => {
            set("do", "restart".into());
            let back = if rebase_back_panics(session, at, deadline) {
                0
            } else {
                25
            };
            let restore_at = match rng.weighted(&[25, 25, back, back]) {
                0 => at,
                1 => at + rng.range(1, scale * 2),
                2 => rng.range(0, scale * 2),
                _ => at - rng.range(0, at.min(scale)),
            };
            set("restoreAt", restore_at.into());
            let same_clock = match rng.range(0, 2) {
                0 => None,
                1 => Some(false),
                _ => Some(true),
            };
            if let Some(same) = same_clock {
                set("sameClock", same.into());
            }
            Op::Restart {
                restore_at,
                same_clock: same_clock.unwrap_or(false),
            }
        }
    };
    (op, Value::Object(step))
}

/// Whether a snapshot taken at `at` is one the core restores. It refuses
/// bytes whose `retryAt` is more than 2^31 - 1 ms after their `takenAt`
/// (SPEC.md 14.3, "The bound"), and its own snapshot is such bytes when the
/// clock has gone back behind an opening of (nearly) the longest duration:
/// `retryAt` stays where it was and `takenAt` is the reading. No restart
/// is drawn there: a known disagreement of the core with itself, not one
/// between runners.
fn snapshot_restores(session: &Session<'_>, at: u64) -> bool {
    match session.metric(Metric::RetryAt, at) {
        MetricValue::Num(retry_at) => retry_at.saturating_sub(at) <= MAX_MS,
        _ => true,
    }
}

/// Whether a restart at `at` restored behind `at` could leave the core
/// unable to read its metrics. A re-based half-open breaker may enter
/// half-open before the clock's zero (SPEC.md R19), and past its
/// `halfOpenMaxWaitMs` deadline the core's `metrics()` then computes the
/// deadline as `now - elapsed + wait`, which overflows: a panic in a build
/// with overflow checks (this one), a wrapped `openedAt` in a release build.
/// No such restart is drawn: a known fault of the core, not a disagreement
/// between runners. (Closed and isolated breakers carry no entry time.)
fn rebase_back_panics(session: &Session<'_>, at: u64, deadline: bool) -> bool {
    deadline && !matches!(session.state_at(at), State::Closed | State::Isolated)
}

fn outcome(i: usize) -> Outcome {
    [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Ignore,
        Outcome::Drop,
    ][i]
}

/// The step with what the host saw as its `expect`: `allowed` and `reject`
/// of an acquire, `state`, and metrics.
fn with_expect(step: Value, session: &Session<'_>, done: Done, rng: &mut Rng) -> Value {
    let Value::Object(mut step) = step else {
        return step;
    };
    let mut expect = Map::new();
    if let Some(acquired) = done.acquired {
        expect.insert("allowed".into(), acquired.is_ok().into());
        if let Err(reason) = acquired {
            expect.insert("reject".into(), reject_name(reason).into());
        }
    }
    expect.insert("state".into(), session.state_at(done.last).as_str().into());
    let mut metrics = Map::new();
    for key in CHECKED {
        if rng.chance(50) {
            metrics.insert(
                key.name().into(),
                metric_json(session.metric(key, done.last)),
            );
        }
    }
    if !metrics.is_empty() {
        expect.insert("metrics".into(), Value::Object(metrics));
    }
    step.insert("expect".into(), Value::Object(expect));
    Value::Object(step)
}

fn reject_name(r: RejectReason) -> &'static str {
    r.as_str()
}

fn metric_json(v: MetricValue) -> Value {
    match v {
        MetricValue::Num(n) => n.into(),
        MetricValue::Null => Value::Null,
        MetricValue::State(s) => state_name(s).into(),
    }
}

fn state_name(s: State) -> &'static str {
    s.as_str()
}
