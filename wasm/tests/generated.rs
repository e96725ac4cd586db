//! The JS layer's copy of the facts the Rust side defines, generated and
//! checked here (on the host: `cargo test -p halfopen-wasm --test generated`).
//!
//! - `js/facts.js`: state names, token flags, rejection reasons, outcome
//!   codes, the configuration keys and trip policies, the metrics' names in
//!   their order, the configuration-error kinds, the snapshot-error reasons,
//!   and a message template for every error the core reports, derived from
//!   the core's own `Display` text. `js/breaker.js` imports it; it ships in
//!   the package.
//! - `test/node/core-errors.json`: every error the JS API can get from the
//!   core (configuration errors for every key and kind, every rejection,
//!   every snapshot refusal), with the core's `Display` text, for the Node
//!   test that triggers each through the JS API and compares.
//!
//! Both files are committed: a test fails when either differs from what the
//! Rust definitions give (`HALFOPEN_REGENERATE=1` rewrites them), so a
//! change of a code, a key or a message in Rust cannot ship with stale JS.
//! The templates are checked against the `Display` of every sample of their
//! kind (every key), and `js/index.d.ts`'s string-literal unions against
//! the names here.
#![cfg(not(target_arch = "wasm32"))]

use std::fmt::Write as _;
use std::path::PathBuf;

use halfopen::{
    AnyPolicy, Breaker, Cause, Config, ConfigError, ConfigErrorKind, FleetState, MockClock,
    Rejected, SnapshotError, State, SNAPSHOT_LEN,
};
use halfopen_wasm::{
    cause_code, config_error_values, config_input, config_keys, decode_token, encode_token,
    metric_values, reject_code, state_code, WasmBreaker, CAUSES, CONFIG_ERROR_KINDS,
    CONFIG_ERROR_LEN, CONFIG_ERROR_OTHER, FLEET_CLOSED, FLEET_ISOLATED, FLEET_OPEN, FLEET_STATES,
    HALF_OPEN_PERMIT, METRIC_NAMES, OUTCOME_FAILURE, OUTCOME_IGNORE, OUTCOME_SUCCESS,
    REJECT_REASONS, SNAPSHOT_IN_USE, SNAPSHOT_OTHER, SNAPSHOT_REASONS, STATES, TIMED_PERMIT,
    TRIP_POLICIES,
};

// ---------------------------------------------------------------------------
// Message templates: the core's Display text with its variable parts cut out.

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Param(usize),
}

/// A message with parameters: `params` are the JS function's parameter
/// names, in order.
#[derive(Debug, Clone)]
struct Template {
    params: &'static [&'static str],
    pieces: Vec<Piece>,
}

/// The template of `text`, in which `args` (parameter index, its rendering
/// in `text`) each occur exactly once. Samples are chosen so that they do;
/// should a wording change make one ambiguous, this says so rather than
/// guess.
fn template(text: &str, params: &'static [&'static str], args: &[(usize, String)]) -> Template {
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (param, value) in args {
        let found: Vec<usize> = text.match_indices(value.as_str()).map(|(i, _)| i).collect();
        assert!(
            found.len() == 1,
            "{:?} occurs {} times in {text:?}: choose a sample whose {} is distinctive",
            value,
            found.len(),
            params[*param]
        );
        spans.push((found[0], found[0] + value.len(), *param));
    }
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping parameters in {text:?}");
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    for (start, end, param) in spans {
        if start > at {
            pieces.push(Piece::Text(text[at..start].to_owned()));
        }
        pieces.push(Piece::Param(param));
        at = end;
    }
    if at < text.len() {
        pieces.push(Piece::Text(text[at..].to_owned()));
    }
    Template { params, pieces }
}

impl Template {
    /// The message for `args` (one per parameter), as the JS function gives it.
    fn render(&self, args: &[String]) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Param(i) => args[*i].clone(),
            })
            .collect()
    }

    /// A JS arrow function of the template.
    fn js(&self) -> String {
        let body: Vec<String> = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => json_str(t),
                Piece::Param(i) => self.params[*i].to_owned(),
            })
            .collect();
        let body = match body.len() {
            0 => "''".to_owned(),
            // One parameter alone: still a string.
            1 if matches!(self.pieces[0], Piece::Param(_)) => format!("'' + {}", body[0]),
            _ => body.join(" + "),
        };
        format!("({}) => {body}", self.params.join(", "))
    }
}

/// A JSON (and JS) string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                write!(out, "\\u{:04x}", c as u32).unwrap()
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn js_list<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> String) -> String {
    let items: Vec<String> = items.into_iter().map(f).collect();
    format!("[{}]", items.join(", "))
}

/// [`js_list`], an item a line.
fn js_lines<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> String) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|x| format!("    {},\n", f(x)))
        .collect();
    format!("[\n{}]", items.concat())
}

// ---------------------------------------------------------------------------
// Configuration errors: a sample of every kind for every key.

/// A valid value of every key (the samples start from these): a key added to
/// the list needs one here.
fn valid_value(key: &str) -> i64 {
    match key {
        "consecutiveFailures" => 3,
        "failureRate.percent" | "timeWindow.percent" => 50,
        "failureRate.failures" | "timeWindow.failures" => 4,
        "failureRate.window" => 10,
        "timeWindow.buckets" => 8,
        "failureRate.minimumCalls" | "timeWindow.minimumCalls" => 5,
        "timeWindow.windowMs" => 1_000,
        "openMs" => 1_000,
        "halfOpenMaxCalls" | "successThreshold" => 2,
        "slowCallMs" => 100,
        "backoff.factor" => 2,
        "backoff.maxOpenMs" => 60_000,
        "halfOpenMaxWaitMs" => 5_000,
        "jitter.percent" => 20,
        "jitter.seed" => 42,
        _ => panic!("give the new configuration key {key} a valid value in tests/generated.rs"),
    }
}

/// The group of a key: its trip policy, its object (`backoff`), or itself.
fn group(key: &str) -> &str {
    key.split('.').next().unwrap()
}

fn group_keys(g: &str) -> Vec<&'static str> {
    config_keys().filter(|k| group(k) == g).collect()
}

type Pairs = Vec<(&'static str, i64)>;

fn build(pairs: &Pairs) -> Result<Config<halfopen::AnyPolicy>, ConfigError> {
    let mut b = Config::builder();
    for (k, v) in pairs {
        b = b.set(k, *v)?;
    }
    b.build()
}

/// The parameters of a configuration error's message, in the JS function's
/// order, and which of them its kind's message shows.
const CONFIG_PARAMS: &[&str] = &["key", "value", "min", "max", "of", "divisor"];

fn config_args(e: &ConfigError) -> (Vec<String>, Vec<usize>) {
    let (min, max, of, divisor, shown): (i64, i64, &str, i64, &[usize]) = match e.kind() {
        ConfigErrorKind::OutOfRange { min, max } => (min, max, "", 0, &[0, 1, 2, 3]),
        ConfigErrorKind::NotMultiple { of, divisor } => (0, 0, of, divisor, &[0, 1, 4, 5]),
        ConfigErrorKind::Missing => (0, 0, "", 0, &[0]),
        ConfigErrorKind::Conflict | ConfigErrorKind::UnknownKey => (0, 0, "", 0, &[]),
        other => panic!("a configuration error kind this generator does not know: {other:?}"),
    };
    let args = vec![
        e.key().to_owned(),
        e.value().to_string(),
        min.to_string(),
        max.to_string(),
        of.to_owned(),
        divisor.to_string(),
    ];
    (args, shown.to_vec())
}

struct ConfigCase {
    pairs: Pairs,
    error: ConfigError,
}

fn config_cases() -> Vec<ConfigCase> {
    let mut cases = Vec::new();
    let mut push = |pairs: Pairs| {
        let error = build(&pairs).expect_err("a sample configuration error");
        cases.push(ConfigCase { pairs, error });
    };
    let with = |key: &'static str, value: Option<i64>| -> Pairs {
        group_keys(group(key))
            .into_iter()
            .filter_map(|k| {
                if k == key {
                    value.map(|v| (k, v))
                } else {
                    Some((k, valid_value(k)))
                }
            })
            .collect()
    };
    for key in config_keys() {
        let valid = with(key, Some(valid_value(key)));
        build(&valid).unwrap_or_else(|e| panic!("{valid:?} should be valid: {e}"));
        // Below the range, then just above it.
        let low = with(key, Some(-7));
        let e = build(&low).expect_err("below the range");
        assert_eq!(e.key(), key, "{low:?}: {e}");
        push(low);
        if let ConfigErrorKind::OutOfRange { max, .. } = e.kind() {
            push(with(key, Some(max + 1)));
        }
        // Missing, for a key of a group of several (if the core requires it).
        if group_keys(group(key)).len() > 1 {
            let missing = with(key, None);
            if build(&missing).is_err() {
                push(missing);
            }
        }
        // Not a multiple (a valid value plus one).
        let next = with(key, Some(valid_value(key) + 1));
        if let Err(e) = build(&next) {
            assert!(
                matches!(e.kind(), ConfigErrorKind::NotMultiple { .. }),
                "{next:?}: {e}"
            );
            push(next);
        }
    }
    // Two trip policies.
    for (i, a) in TRIP_POLICIES.iter().enumerate() {
        for b in &TRIP_POLICIES[i + 1..] {
            let pairs: Pairs = [a, b]
                .iter()
                .flat_map(|p| group_keys(p).into_iter().map(|k| (k, valid_value(k))))
                .collect();
            let e = build(&pairs).expect_err("two policies");
            assert_eq!(e.kind(), ConfigErrorKind::Conflict);
            push(pairs);
        }
    }
    cases
}

/// An unknown key: the JS layer never gives one to the core, but the
/// message is the core's all the same.
fn unknown_key_error() -> ConfigError {
    Config::builder()
        .set("noSuchKey", 1)
        .expect_err("an unknown key")
}

fn config_kind_code(e: &ConfigError) -> usize {
    let code = config_error_values(e, "")[1];
    assert_ne!(code, CONFIG_ERROR_OTHER, "{e:?} has no code of its own");
    code as usize
}

/// One template per configuration-error kind (by code).
fn config_templates(cases: &[ConfigCase]) -> Vec<Option<Template>> {
    let mut templates: Vec<Option<Template>> = vec![None; CONFIG_ERROR_KINDS.len()];
    let errors = cases
        .iter()
        .map(|c| c.error)
        .chain([unknown_key_error()])
        .collect::<Vec<_>>();
    for e in &errors {
        let (args, shown) = config_args(e);
        let t = templates[config_kind_code(e)].get_or_insert_with(|| {
            let shown: Vec<(usize, String)> = shown.iter().map(|&i| (i, args[i].clone())).collect();
            template(&e.to_string(), CONFIG_PARAMS, &shown)
        });
        assert_eq!(t.render(&args), e.to_string(), "the template of {e:?}");
    }
    templates
}

// ---------------------------------------------------------------------------
// Rejections: every reason, from scenarios the Node test plays again.

struct Rejection {
    scenario: &'static str,
    rejected: Rejected,
}

fn rejections() -> Vec<Rejection> {
    let clock = MockClock::new(0);
    let mut out = Vec::new();
    let one_failure = build(&vec![("consecutiveFailures", 1), ("openMs", 1_000)]).unwrap();

    // open: a failure at 0, a call at 250.
    let b = Breaker::new(&one_failure, &clock);
    b.try_acquire().unwrap().failure();
    clock.set(250);
    let rejected = b.try_acquire().expect_err("open");
    out.push(Rejection {
        scenario: "open",
        rejected,
    });

    // halfOpenFull: a failure at 0, a trial at 1000 still in flight, a call.
    clock.set(0);
    let b = Breaker::new(&one_failure, &clock);
    b.try_acquire().unwrap().failure();
    clock.set(1_000);
    let trial = b.try_acquire().expect("a trial");
    let rejected = b.try_acquire().expect_err("half-open, full");
    trial.success();
    out.push(Rejection {
        scenario: "halfOpenFull",
        rejected,
    });

    // isolated.
    let b = Breaker::new(&one_failure, &clock);
    b.isolate();
    let rejected = b.try_acquire().expect_err("isolated");
    out.push(Rejection {
        scenario: "isolated",
        rejected,
    });

    // clockOutOfRange: a clock at 2^59 ms, read at acquire (slowCallMs).
    let timed = build(&vec![("slowCallMs", 100)]).unwrap();
    clock.set(1 << 59);
    let b = Breaker::new(&timed, &clock);
    let rejected = b.try_acquire().expect_err("clock out of range");
    out.push(Rejection {
        scenario: "clockOutOfRange",
        rejected,
    });

    for (i, r) in REJECT_REASONS.iter().enumerate() {
        assert!(
            out.iter().any(|x| x.rejected.reason() == *r),
            "no sample of rejection {i} ({})",
            r.as_str()
        );
    }
    out
}

const REJECT_PARAMS: &[&str] = &["retryAfterMs"];

fn reject_templates(samples: &[Rejection]) -> Vec<Template> {
    REJECT_REASONS
        .iter()
        .map(|reason| {
            let r = samples
                .iter()
                .find(|s| s.rejected.reason() == *reason)
                .unwrap()
                .rejected;
            let args: Vec<(usize, String)> = r
                .retry_after_ms()
                .map(|ms| (0, ms.to_string()))
                .into_iter()
                .collect();
            let t = template(&r.to_string(), REJECT_PARAMS, &args);
            let arg = r
                .retry_after_ms()
                .map_or(String::new(), |ms| ms.to_string());
            assert_eq!(t.render(&[arg]), r.to_string());
            t
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Snapshot refusals: every one the JS API can meet, as bytes to restore.

struct SnapshotCase {
    /// The configuration of the breaker restored into.
    pairs: Pairs,
    bytes: Vec<u8>,
    error: SnapshotError,
    /// What the wasm module's restore gives for it: the code, and the
    /// number it reports then.
    code: u32,
    number: f64,
}

/// The wasm module's restore of `bytes` into a breaker of `pairs` (on the
/// host: none of this reaches JS, and a refusal reads no clock).
fn wasm_restore(pairs: &Pairs, bytes: &[u8]) -> (u32, f64) {
    let keys: Vec<&str> = config_keys().collect();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let key = keys.iter().position(|x| x == k).unwrap();
        config_input(i as u32, key as u32, *v as f64);
    }
    let b = WasmBreaker::create(pairs.len() as u32, 0.0, true).expect("a valid configuration");
    // As the JS layer passes them: padded to SNAPSHOT_LEN, if not longer.
    if bytes.len() <= SNAPSHOT_LEN {
        let mut padded = [0u8; SNAPSHOT_LEN];
        padded[..bytes.len()].copy_from_slice(bytes);
        for (i, w) in padded.chunks(4).enumerate() {
            b.set_snapshot_word(i as u32, u32::from_le_bytes(w.try_into().unwrap()));
        }
    }
    let code = b.restore(bytes.len() as u32, false);
    (code, b.number())
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h: u32, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

fn snapshot_cases() -> Vec<SnapshotCase> {
    let pairs: Pairs = vec![("consecutiveFailures", 1), ("openMs", 60_000)];
    let config = build(&pairs).unwrap();
    let clock = MockClock::new(5_000);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    let good = b.snapshot();

    let mut out = Vec::new();
    let mut case = |pairs: &Pairs, bytes: Vec<u8>| {
        let config = build(pairs).unwrap();
        let error = Breaker::new(&config, &clock)
            .restore(&bytes)
            .expect_err("a refused snapshot");
        let (code, number) = wasm_restore(pairs, &bytes);
        out.push(SnapshotCase {
            pairs: pairs.clone(),
            bytes,
            error,
            code,
            number,
        });
    };
    case(&pairs, good[..SNAPSHOT_LEN - 1].to_vec());
    let mut magic = good;
    magic[0] ^= 0xff;
    case(&pairs, magic.to_vec());
    let mut version = good;
    version[2] = 9;
    case(&pairs, version.to_vec());
    let mut damaged = good;
    damaged[10] ^= 1;
    case(&pairs, damaged.to_vec());
    case(
        &vec![("consecutiveFailures", 2), ("openMs", 60_000)],
        good.to_vec(),
    );
    let mut invalid = good;
    invalid[3] = 9;
    // The checksum: FNV-1a of the rest, in the last four bytes.
    let sum_at = SNAPSHOT_LEN - 4;
    let sum = fnv1a(&invalid[..sum_at]);
    invalid[sum_at..].copy_from_slice(&sum.to_le_bytes());
    case(&pairs, invalid.to_vec());
    out
}

/// A refusal the JS layer cannot meet (it restores into a new breaker).
fn in_use_error() -> SnapshotError {
    let config = build(&vec![("consecutiveFailures", 1)]).unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    let snapshot = b.snapshot();
    b.try_acquire().unwrap().failure();
    b.restore(&snapshot)
        .expect_err("restore into a used breaker")
}

const SNAPSHOT_PARAMS: &[&str] = &["detail"];

/// What a refusal's message shows and where JS finds it: `length`, the
/// length JS gave; `number`, the module's `number()`; `field`, the module's
/// `invalid_field_byte`s.
fn snapshot_detail(e: &SnapshotError) -> Option<(&'static str, String)> {
    match *e {
        SnapshotError::Length(n) => Some(("length", n.to_string())),
        SnapshotError::Version(v) => Some(("number", v.to_string())),
        SnapshotError::Invalid(field) => Some(("field", field.to_owned())),
        _ => None,
    }
}

/// One template per refusal code, and where its detail comes from.
type SnapshotTemplate = Option<(Template, Option<&'static str>)>;

fn snapshot_templates(cases: &[SnapshotCase]) -> Vec<SnapshotTemplate> {
    let mut templates: Vec<SnapshotTemplate> = vec![None; SNAPSHOT_REASONS.len()];
    // The one refusal JS cannot meet has no bytes to restore through the
    // module: its code is the module's constant.
    let samples = cases
        .iter()
        .map(|c| (c.error, c.code))
        .chain([(in_use_error(), SNAPSHOT_IN_USE)]);
    for (e, code) in samples {
        assert_ne!(code, SNAPSHOT_OTHER, "{e:?} has no code of its own");
        let detail = snapshot_detail(&e);
        let args: Vec<(usize, String)> = detail.iter().map(|(_, d)| (0, d.clone())).collect();
        let (t, _) = templates[code as usize].get_or_insert_with(|| {
            (
                template(&e.to_string(), SNAPSHOT_PARAMS, &args),
                detail.as_ref().map(|(from, _)| *from),
            )
        });
        let shown = detail.map(|(_, d)| d).unwrap_or_default();
        assert_eq!(t.render(&[shown]), e.to_string());
    }
    for c in cases {
        if let SnapshotError::Version(v) = c.error {
            assert_eq!(c.number, v as f64, "the version restore reports");
        }
    }
    for (code, t) in templates.iter().enumerate() {
        let expected = code != 0 && code != SNAPSHOT_OTHER as usize;
        assert_eq!(t.is_some(), expected, "a sample of snapshot refusal {code}");
    }
    templates
}

// ---------------------------------------------------------------------------
// Fleet states and transition causes.

const FLEET_PARAMS: &[&str] = &["remainingMs"];

/// The message of a refused fleet state (`FleetStateError`), with the
/// remaining time as its parameter.
fn fleet_template() -> Template {
    let sample = 1_099_511_627_776u64;
    let e = FleetState::open(sample, 0).expect_err("a remaining time too long");
    let t = template(&e.to_string(), FLEET_PARAMS, &[(0, sample.to_string())]);
    for r in [1u64 << 31, u64::MAX, 9_007_199_254_740_991] {
        let e = FleetState::open(r, 3).expect_err("too long");
        assert_eq!(t.render(&[r.to_string()]), e.to_string());
    }
    t
}

/// A fleet state refused by the core, for the Node test.
fn fleet_error_sample() -> (u64, String) {
    let r = (1u64 << 31) + 5;
    (r, FleetState::open(r, 0).unwrap_err().to_string())
}

/// Every cause the core reports (`Cause` is non-exhaustive: a new one
/// needs a line here and in `cause_code`).
const CORE_CAUSES: [Cause; 8] = [
    Cause::Trip,
    Cause::RetryAt,
    Cause::TrialsSucceeded,
    Cause::TrialFailed,
    Cause::HalfOpenMaxWait,
    Cause::Isolate,
    Cause::Reset,
    Cause::Fleet,
];

// ---------------------------------------------------------------------------
// Presets: the core's, as JS options.

/// The core's presets, by their JS names, with their operation timeouts.
fn presets() -> Vec<(&'static str, Config<AnyPolicy>, Option<u32>)> {
    use halfopen::presets as p;
    vec![
        ("httpApi", p::HTTP_API.into_any(), None),
        ("database", p::DATABASE.into_any(), None),
        ("criticalService", p::CRITICAL_SERVICE.into_any(), None),
        ("highVolume", p::HIGH_VOLUME.into_any(), None),
        ("platformApi", p::PLATFORM_API.into_any(), None),
        ("realtime", p::REALTIME.into_any(), None),
        ("embeddingService", p::EMBEDDING_SERVICE.into_any(), None),
        (
            "cloudService",
            p::CLOUD_SERVICE.into_any(),
            Some(p::CLOUD_SERVICE_TIMEOUT_MS),
        ),
        (
            "serviceBus",
            p::SERVICE_BUS.into_any(),
            Some(p::SERVICE_BUS_TIMEOUT_MS),
        ),
        (
            "blobStorage",
            p::BLOB_STORAGE.into_any(),
            Some(p::BLOB_STORAGE_TIMEOUT_MS),
        ),
        (
            "keyVault",
            p::KEY_VAULT.into_any(),
            Some(p::KEY_VAULT_TIMEOUT_MS),
        ),
    ]
}

/// The configuration keys of `c`: every key of its policy that holds a
/// value (`minimumCalls` only with a rate rule), the base keys, and the
/// optional keys that are set. Checked: the keys build `c` again.
fn preset_pairs(c: &Config<AnyPolicy>) -> Pairs {
    let mut out: Pairs = Vec::new();
    let opt = |out: &mut Pairs, k: &'static str, v: Option<i64>| {
        if let Some(v) = v {
            out.push((k, v));
        }
    };
    match c.policy() {
        AnyPolicy::ConsecutiveFailures(p) => {
            out.push(("consecutiveFailures", p.threshold().into()))
        }
        AnyPolicy::FailureRate(p) => {
            opt(&mut out, "failureRate.percent", p.percent().map(i64::from));
            opt(
                &mut out,
                "failureRate.failures",
                p.failures().map(i64::from),
            );
            out.push(("failureRate.window", p.window().into()));
            if p.percent().is_some() {
                out.push(("failureRate.minimumCalls", p.minimum_calls().into()));
            }
        }
        AnyPolicy::TimeWindow(p) => {
            opt(&mut out, "timeWindow.percent", p.percent().map(i64::from));
            opt(&mut out, "timeWindow.failures", p.failures().map(i64::from));
            out.push(("timeWindow.windowMs", p.window_ms().into()));
            out.push(("timeWindow.buckets", p.buckets().into()));
            if p.percent().is_some() {
                out.push(("timeWindow.minimumCalls", p.minimum_calls().into()));
            }
        }
    }
    out.push(("openMs", c.open_ms().into()));
    out.push(("halfOpenMaxCalls", c.half_open_max_calls().into()));
    out.push(("successThreshold", c.success_threshold().into()));
    opt(&mut out, "slowCallMs", c.slow_call_ms().map(i64::from));
    if let Some((factor, max)) = c.backoff() {
        out.push(("backoff.factor", factor.into()));
        out.push(("backoff.maxOpenMs", max.into()));
    }
    opt(
        &mut out,
        "halfOpenMaxWaitMs",
        c.half_open_max_wait_ms().map(i64::from),
    );
    if let Some((percent, seed)) = c.jitter() {
        out.push(("jitter.percent", percent.into()));
        out.push(("jitter.seed", seed.into()));
    }
    let again = build(&out).unwrap_or_else(|e| panic!("{out:?}: {e}"));
    assert_eq!(&again, c, "the keys {out:?} build the preset again");
    for (k, _) in &out {
        assert!(
            config_keys().any(|x| x == *k),
            "{k} is not a key of the module"
        );
    }
    out
}

/// Configuration keys (and JS-side entries) as a JS object literal, the
/// shape the JS options take: a policy's keys under `trip`, a dotted key a
/// field of an object.
fn options_literal(pairs: &[(&str, i64)]) -> String {
    // (name, fields or value), in order of first appearance.
    enum Node {
        Leaf(i64),
        Object(Vec<(String, Node)>),
    }
    fn insert(into: &mut Vec<(String, Node)>, path: &[&str], v: i64) {
        let (head, rest) = (path[0], &path[1..]);
        if rest.is_empty() {
            into.push((head.to_owned(), Node::Leaf(v)));
            return;
        }
        let at = match into.iter().position(|(k, _)| k == head) {
            Some(i) => i,
            None => {
                into.push((head.to_owned(), Node::Object(Vec::new())));
                into.len() - 1
            }
        };
        match &mut into[at].1 {
            Node::Object(fields) => insert(fields, rest, v),
            Node::Leaf(_) => panic!("{head} is a value and an object"),
        }
    }
    fn render(fields: &[(String, Node)]) -> String {
        let inner: Vec<String> = fields
            .iter()
            .map(|(k, n)| match n {
                Node::Leaf(v) => format!("{k}: {v}"),
                Node::Object(f) => format!("{k}: {}", render(f)),
            })
            .collect();
        format!("{{ {} }}", inner.join(", "))
    }
    let mut root = Vec::new();
    for (key, v) in pairs {
        let mut path: Vec<&str> = key.split('.').collect();
        if TRIP_POLICIES.contains(&path[0]) {
            path.insert(0, "trip");
        }
        insert(&mut root, &path, *v);
    }
    render(&root)
}

/// Each preset's options as a JS object literal (the package's `presets`,
/// and the text index.d.ts documents each with).
fn preset_literals() -> Vec<(&'static str, String)> {
    presets()
        .into_iter()
        .map(|(name, config, timeout)| {
            let mut pairs = preset_pairs(&config);
            if let Some(ms) = timeout {
                pairs.push(("timeoutMs", ms.into()));
            }
            (name, options_literal(&pairs))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The files.

const HEADER: &str =
    "// Generated by `cargo test -p halfopen-wasm --test generated` from the Rust\n\
// definitions (wasm/src/lib.rs and the core's Display impls); do not edit.\n\
// `HALFOPEN_REGENERATE=1 cargo test -p halfopen-wasm --test generated`\n\
// rewrites it.\n";

/// A message for a kind the core may add after this table: the only text
/// here that is not the core's.
const UNKNOWN_ERROR: &str =
    "() => 'the core refused it for a reason this version of the package does not know'";

fn facts_js() -> String {
    let cases = config_cases();
    let config_templates = config_templates(&cases);
    let rejections = rejections();
    let reject_templates = reject_templates(&rejections);
    let snapshot_templates = snapshot_templates(&snapshot_cases());
    let conflict = cases
        .iter()
        .find(|c| c.error.kind() == ConfigErrorKind::Conflict)
        .unwrap()
        .error
        .key();

    let mut s = String::from(HEADER);
    let mut item = |doc: &str, name: &str, value: String| {
        writeln!(s, "\n/** {doc} */\nexport const {name} = {value};").unwrap();
    };
    item(
        "The states, each at the index that is its code.",
        "STATES",
        js_list(STATES, |st| json_str(st.as_str())),
    );
    item(
        "Token flag: the permit holds a half-open trial slot.",
        "HALF_OPEN_PERMIT",
        HALF_OPEN_PERMIT.to_string(),
    );
    item(
        "Token flag: the core times the call; give the token back with its start time.",
        "TIMED_PERMIT",
        TIMED_PERMIT.to_string(),
    );
    item(
        "The rejection reasons: reason i is rejection code -1 - i.",
        "REJECT_REASONS",
        js_list(REJECT_REASONS, |r| json_str(r.as_str())),
    );
    item(
        "The core's message of each rejection reason (by index in REJECT_REASONS).",
        "REJECT_MESSAGES",
        js_lines(&reject_templates, Template::js),
    );
    item(
        "Outcome code: the call worked.",
        "OUTCOME_SUCCESS",
        OUTCOME_SUCCESS.to_string(),
    );
    item(
        "Outcome code: the call failed.",
        "OUTCOME_FAILURE",
        OUTCOME_FAILURE.to_string(),
    );
    item(
        "Outcome code: the outcome says nothing about the downstream's health.",
        "OUTCOME_IGNORE",
        OUTCOME_IGNORE.to_string(),
    );
    item(
        "The configuration keys: a key's index is how the wasm module takes it.",
        "CONFIG_KEYS",
        js_list(config_keys(), json_str),
    );
    item(
        "The trip policies: the keys under `trip` (a key is a policy's if its path starts with the policy).",
        "TRIP_POLICIES",
        js_list(TRIP_POLICIES, json_str),
    );
    item(
        "The key a configuration error names when it is not a configuration key.",
        "CONFLICT_KEY",
        json_str(conflict),
    );
    item(
        "The number of values of a configuration error.",
        "CONFIG_ERROR_LEN",
        CONFIG_ERROR_LEN.to_string(),
    );
    item(
        "The configuration-error kinds, by code: whether JS throws a RangeError (else a TypeError), and the core's message (key, value, min, max, of, divisor).",
        "CONFIG_ERRORS",
        js_lines(CONFIG_ERROR_KINDS.iter().zip(&config_templates), |((name, range), t)| {
            format!(
                "{{ name: {}, range: {range}, message: {} }}",
                json_str(name),
                t.as_ref().map_or(UNKNOWN_ERROR.to_owned(), Template::js)
            )
        }),
    );
    item(
        "The names of the metrics, in the order the wasm module gives them (a dot: a field of an object).",
        "METRICS",
        js_list(METRIC_NAMES, json_str),
    );
    item(
        "The causes of a transition, each at the index that is its code.",
        "CAUSES",
        js_list(CAUSES, json_str),
    );
    item(
        "The fleet states adopt() takes, each at the index that is its code.",
        "FLEET_STATES",
        js_list(FLEET_STATES, |f| json_str(f.as_str())),
    );
    item(
        "The core's message for a fleet state it refuses (FleetStateError), by its remaining time.",
        "FLEET_ERROR",
        fleet_template().js(),
    );
    item(
        "The core's presets (halfopen::presets) as options: each a configuration and, for some, an operation timeout.",
        "PRESETS",
        format!(
            "{{\n{}}}",
            preset_literals()
                .iter()
                .map(|(name, lit)| format!("    {name}: {lit},\n"))
                .collect::<String>()
        ),
    );
    item(
        "The length of a snapshot in bytes.",
        "SNAPSHOT_LEN",
        SNAPSHOT_LEN.to_string(),
    );
    item(
        "The snapshot refusals, by code (0: restored): the reason, the core's message, and where the refusal's detail comes from (`length`: the length given; `number`: the module's number(); `field`: the field it names).",
        "SNAPSHOT_ERRORS",
        js_lines(
            SNAPSHOT_REASONS.iter().zip(&snapshot_templates),
            |(name, t)| {
                if name.is_empty() {
                    return "undefined".to_owned();
                }
                let (message, detail) = t
                    .as_ref()
                    .map_or((UNKNOWN_ERROR.to_owned(), None), |(t, d)| (t.js(), *d));
                format!(
                    "{{ reason: {}, detail: {}, message: {message} }}",
                    json_str(name),
                    detail.map_or("undefined".to_owned(), json_str)
                )
            },
        ),
    );
    s
}

fn pairs_json(pairs: &Pairs) -> String {
    js_list(pairs, |(k, v)| format!("[{}, {v}]", json_str(k)))
}

fn core_errors_json() -> String {
    let mut s = String::from("{\n");
    writeln!(
        s,
        "  \"about\": {},",
        json_str("Generated by `cargo test -p halfopen-wasm --test generated`: every error the JS API can get from the core, with the core's Display text. Do not edit.")
    )
    .unwrap();
    writeln!(
        s,
        "  \"tripPolicies\": {},",
        js_list(TRIP_POLICIES, json_str)
    )
    .unwrap();
    s.push_str("  \"config\": [\n");
    let cases = config_cases();
    let lines: Vec<String> = cases
        .iter()
        .map(|c| {
            let (_, range) = CONFIG_ERROR_KINDS[config_kind_code(&c.error)];
            format!(
                "    {{ \"pairs\": {}, \"key\": {}, \"type\": {}, \"message\": {} }}",
                pairs_json(&c.pairs),
                json_str(c.error.key()),
                json_str(if range { "RangeError" } else { "TypeError" }),
                json_str(&c.error.to_string())
            )
        })
        .collect();
    s.push_str(&lines.join(",\n"));
    s.push_str("\n  ],\n  \"rejections\": [\n");
    let lines: Vec<String> = rejections()
        .iter()
        .map(|r| {
            format!(
                "    {{ \"scenario\": {}, \"reason\": {}, \"retryAfterMs\": {}, \"message\": {} }}",
                json_str(r.scenario),
                json_str(r.rejected.reason().as_str()),
                r.rejected
                    .retry_after_ms()
                    .map_or("null".to_owned(), |ms| ms.to_string()),
                json_str(&r.rejected.to_string())
            )
        })
        .collect();
    s.push_str(&lines.join(",\n"));
    let (r, message) = fleet_error_sample();
    write!(
        s,
        "\n  ],\n  \"fleet\": {{ \"remainingMs\": {r}, \"message\": {} }},",
        json_str(&message)
    )
    .unwrap();
    s.push_str("\n  \"snapshots\": [\n");
    let lines: Vec<String> = snapshot_cases()
        .iter()
        .map(|c| {
            format!(
                "    {{ \"pairs\": {}, \"bytes\": {}, \"reason\": {}, \"message\": {} }}",
                pairs_json(&c.pairs),
                js_list(&c.bytes, |b| b.to_string()),
                json_str(SNAPSHOT_REASONS[c.code as usize]),
                json_str(&c.error.to_string())
            )
        })
        .collect();
    s.push_str(&lines.join(",\n"));
    s.push_str("\n  ]\n}\n");
    s
}

/// Compares `path` (relative to the crate) with `want`; rewrites it with
/// `HALFOPEN_REGENERATE=1`.
fn check_file(path: &str, want: &str) {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("HALFOPEN_REGENERATE").is_some() {
        std::fs::write(&full, want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&full).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or(have.lines().count().min(want.lines().count()), |i| i)
            + 1;
        panic!(
            "wasm/{path} is stale (first difference at line {line}): rewrite it with\n  \
             HALFOPEN_REGENERATE=1 cargo test -p halfopen-wasm --test generated\nand commit it"
        );
    }
}

#[test]
fn facts_js_is_current() {
    check_file("js/facts.js", &facts_js());
}

#[test]
fn core_errors_json_is_current() {
    check_file("test/node/core-errors.json", &core_errors_json());
}

// ---------------------------------------------------------------------------
// The tables agree with the codes the module uses.

#[test]
fn codes_are_table_indices() {
    for (i, s) in STATES.iter().enumerate() {
        assert_eq!(state_code(*s) as usize, i, "{s:?}");
    }
    // Every state is in the table (the match in state_code is exhaustive).
    for s in [State::Closed, State::Open, State::HalfOpen, State::Isolated] {
        assert!(STATES.contains(&s));
    }
    for (i, r) in REJECT_REASONS.iter().enumerate() {
        assert_eq!(reject_code(*r), -1 - i as i32, "{r:?}");
    }
    assert_eq!(
        (OUTCOME_SUCCESS, OUTCOME_FAILURE, OUTCOME_IGNORE),
        (0, 1, 2),
        "record's match"
    );
    for c in CORE_CAUSES {
        assert_eq!(CAUSES[cause_code(c) as usize], c.as_str(), "{c:?}");
    }
    assert_eq!(CAUSES.len(), CORE_CAUSES.len() + 1);
    assert_eq!(CAUSES[CORE_CAUSES.len()], "other");
    for (code, f) in [
        (FLEET_OPEN, "open"),
        (FLEET_CLOSED, "closed"),
        (FLEET_ISOLATED, "isolated"),
    ] {
        assert_eq!(FLEET_STATES[code as usize].as_str(), f);
    }
}

#[test]
fn metric_values_are_in_the_order_of_their_names() {
    // Distinct values where the names say: a failure-rate breaker, open.
    let config = build(&vec![
        ("failureRate.percent", 50),
        ("failureRate.window", 4),
        ("openMs", 1_000),
    ])
    .unwrap();
    let clock = MockClock::new(7);
    let b = Breaker::with_observer(&config, &clock, halfopen::Counters::new());
    b.try_acquire().unwrap().success();
    b.try_acquire().unwrap().failure();
    let m = b.metrics();
    let values = metric_values(&m);
    let by_name = |n: &str| values[METRIC_NAMES.iter().position(|x| *x == n).unwrap()];
    assert_eq!(by_name("state"), state_code(State::Open) as f64);
    assert_eq!(by_name("epoch"), m.epoch as f64);
    assert_eq!(by_name("successes"), 1.0);
    assert_eq!(by_name("failures"), 1.0);
    assert_eq!(by_name("transitions"), 1.0);
    assert_eq!(by_name("openedAt"), 7.0);
    assert_eq!(by_name("retryAt"), 1_007.0);
    assert_eq!(by_name("rejected"), 0.0);
    let (wf, wn) = m
        .window
        .map_or((f64::NAN, f64::NAN), |(f, n)| (f as f64, n as f64));
    assert!(by_name("window.failures").total_cmp(&wf).is_eq());
    assert!(by_name("window.calls").total_cmp(&wn).is_eq());
}

#[test]
fn adopt_through_the_module_is_the_cores_adopt() {
    let pairs: Pairs = vec![("consecutiveFailures", 1), ("openMs", 1_000)];
    let keys: Vec<&str> = config_keys().collect();
    for (i, (k, v)) in pairs.iter().enumerate() {
        config_input(
            i as u32,
            keys.iter().position(|x| x == k).unwrap() as u32,
            *v as f64,
        );
    }
    // The module's clock and transition hook are JS's: on the host only the
    // refusals, which touch neither, are tried (the Node tests adopt).
    let b = WasmBreaker::create(pairs.len() as u32, 0.0, true).unwrap();
    for r in [-1.0, 0.5, 2_147_483_648.0, f64::NAN, f64::INFINITY, 1e300] {
        assert!(!b.adopt(FLEET_OPEN, r, 0), "{r}");
    }
    assert_eq!(b.state(), 0);
}

#[test]
fn every_key_is_the_cores_and_policies_are_what_the_core_says() {
    for key in config_keys() {
        let e = Config::builder().set(key, valid_value(key)).err();
        assert!(e.is_none(), "the core does not know {key}: {e:?}");
    }
    // Keys of two policies conflict; a policy and any other key do not.
    let others: Vec<&str> = config_keys()
        .filter(|k| !TRIP_POLICIES.contains(&group(k)))
        .collect();
    for p in TRIP_POLICIES {
        let mut pairs: Pairs = group_keys(p)
            .into_iter()
            .map(|k| (k, valid_value(k)))
            .collect();
        assert!(!pairs.is_empty(), "no key of policy {p}");
        pairs.extend(others.iter().map(|&k| (k, valid_value(k))));
        build(&pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
    }
}

#[test]
fn an_untimed_token_rebuilds_untimed_whatever_start_time_comes_back() {
    use halfopen::PermitToken;
    let untimed = PermitToken::from_parts(7, false, PermitToken::NOT_TIMED);
    let code = encode_token(&untimed);
    assert_eq!(code & TIMED_PERMIT, 0);
    for started in [0.0, 1.0, f64::NAN, 1.8446744073709552e19] {
        let back = decode_token(code, started);
        assert!(!back.is_timed(), "{started}");
        assert_eq!(back, untimed);
    }
    let trial = PermitToken::from_parts(3, true, PermitToken::NOT_TIMED);
    assert_eq!(decode_token(encode_token(&trial), 0.0), trial);
    let timed = PermitToken::from_parts(65_535, true, 1_234_567);
    let code = encode_token(&timed);
    assert!(code & TIMED_PERMIT != 0 && code & HALF_OPEN_PERMIT != 0);
    assert_eq!(decode_token(code, 1_234_567.0), timed);
    let at_zero = PermitToken::from_parts(1, false, 0);
    assert_eq!(decode_token(encode_token(&at_zero), 0.0), at_zero);
}

#[test]
fn the_closed_untimed_permit_of_a_breaker_is_untimed_through_the_encoding() {
    // The core's own token for the steady state, through what JS holds.
    let config = Config::builder().build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, halfopen::Counters::new());
    let token = b.try_acquire_token().unwrap();
    assert!(!token.is_timed());
    let code = encode_token(&token);
    assert_eq!(decode_token(code, 0.0), token);
    b.record_token(decode_token(code, 0.0), halfopen::Outcome::Success);
    assert_eq!(b.metrics().successes, 1);
}

// ---------------------------------------------------------------------------
// index.d.ts says the same names.

/// The string literals of the union after `marker` (after `within`, if
/// given), up to the `;`.
fn dts_union(dts: &str, within: &str, marker: &str) -> Vec<String> {
    let from = dts
        .find(within)
        .unwrap_or_else(|| panic!("index.d.ts has no {within}"));
    let at = dts[from..]
        .find(marker)
        .unwrap_or_else(|| panic!("index.d.ts has no {marker} after {within}"));
    let rest = &dts[from + at + marker.len()..];
    let end = rest.find(';').unwrap();
    rest[..end]
        .split('|')
        .map(|s| s.trim().trim_matches('\'').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn index_d_ts_unions_name_what_the_tables_name() {
    let dts =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/js/index.d.ts")).unwrap();
    let states: Vec<String> = STATES.iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(dts_union(&dts, "", "export type State ="), states);
    let reasons: Vec<String> = REJECT_REASONS
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    assert_eq!(dts_union(&dts, "", "export type RejectReason ="), reasons);
    // Isolation has an error class of its own; the others are BrokenCircuitError's.
    assert_eq!(
        dts_union(&dts, "class IsolatedCircuitError", "readonly reason:"),
        ["isolated"]
    );
    assert_eq!(
        dts_union(&dts, "class BrokenCircuitError", "readonly reason:"),
        ["Exclude<RejectReason, 'isolated'>"]
    );
    let snapshot: Vec<String> = SNAPSHOT_REASONS
        .iter()
        .filter(|r| !r.is_empty() && **r != "other")
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        dts_union(&dts, "class SnapshotError", "readonly reason:"),
        snapshot
    );
    let causes: Vec<String> = CORE_CAUSES.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(dts_union(&dts, "", "export type TransitionCause ="), causes);
    let fleet: Vec<String> = FLEET_STATES
        .iter()
        .filter(|f| !matches!(f, FleetState::Open { .. }))
        .map(|f| f.as_str().to_owned())
        .collect();
    assert_eq!(
        dts_union(&dts, "export type FleetState", "readonly state:"),
        ["open"]
    );
    assert_eq!(
        dts_union(&dts, "export type FleetState", "| { readonly state:"),
        fleet
    );
    // Each preset is documented with its options, as the package has them.
    let presets = dts.split("export declare const presets").nth(1).unwrap();
    for (name, literal) in preset_literals() {
        let at = presets
            .find(&format!("readonly {name}: PresetOptions;"))
            .unwrap_or_else(|| panic!("index.d.ts presets has no {name}"));
        let doc = &presets[..at];
        let doc = &doc[doc.rfind("/**").unwrap()..];
        let doc: String = doc
            .lines()
            .map(|l| l.trim().trim_start_matches('*').trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            doc.contains(&format!("`{literal}`")),
            "index.d.ts documents presets.{name} with `{literal}`"
        );
    }
    // Every metric (or its object) is a member of Metrics.
    let metrics = dts.split("export interface Metrics").nth(1).unwrap();
    let metrics = &metrics[..metrics.find("\n}").unwrap()];
    for name in METRIC_NAMES {
        let top = group(name);
        assert!(
            metrics.contains(&format!("readonly {top}")),
            "Metrics has no {top}"
        );
    }
}
