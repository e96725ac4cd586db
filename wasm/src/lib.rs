//! WebAssembly bindings of the `halfopen` circuit breaker, for the npm
//! package `halfopen`.
//!
//! This crate translates; it decides nothing. Every decision (states, epochs,
//! trip policies, backoff, half-open permits, configuration validation,
//! snapshots) is the core's. What is here:
//!
//! - [`WasmBreaker`]: one core [`Breaker`] with a run-time trip policy
//!   ([`AnyPolicy`]), the metrics totals ([`Counters`]) and a transition hook
//!   that calls back into JavaScript (with the transition's [`CAUSES`] code).
//!   JavaScript drives it by its address through the plain functions of
//!   [`handle`] (not a wasm-bindgen class: see there why). The hand-written
//!   JS layer (`js/`) gives the idiomatic class, promises, errors and types
//!   around it;
//! - [`JsClock`]: the core's [`Clock`] over `Date.now()` or the user's
//!   `clock` function. The core reads it only when a decision needs the time,
//!   so the steady closed-state path never calls out to JavaScript for it.
//!
//! # Only numbers cross
//!
//! Every export and import takes and returns numbers: no JS object is created
//! or held on the Rust side, so the `.wasm` carries none of wasm-bindgen's
//! object-table machinery, and a call allocates nothing in wasm memory.
//!
//! - An acquire returns an `i32`: a permit token `>= 0` ([`encode_token`]:
//!   the core's [`PermitToken`] epoch, plus [`HALF_OPEN_PERMIT`] when the
//!   permit holds a half-open trial slot, plus [`TIMED_PERMIT`] when the core
//!   times the call), or a rejection code `< 0` (`-1 - i` for
//!   [`REJECT_REASONS`]`[i]`). The JS layer keeps the token as it is and
//!   gives it back with the start time [`WasmBreaker::started_ms`] reported,
//!   which it reads only for a token with [`TIMED_PERMIT`]: an untimed token
//!   rebuilds to the core's [`PermitToken::NOT_TIMED`] whatever start time
//!   comes back ([`decode_token`]), so the core's untimed fast path holds
//!   for calls made from JavaScript. A half-open token is guarded by the JS
//!   layer with a `FinalizationRegistry`, so that a permit lost to the
//!   garbage collector is a *drop*. A rejection's retry hint is read with
//!   [`WasmBreaker::number`].
//! - Outcomes are [`OUTCOME_SUCCESS`], [`OUTCOME_FAILURE`],
//!   [`OUTCOME_IGNORE`]; a state's code is its index in [`STATES`].
//! - Times are milliseconds in `f64`: exact for every integer up to 2^53.
//! - Wider results (metrics, a snapshot, a configuration error) are computed
//!   once into a buffer and read number by number.
//! - A fleet state to adopt is a code of [`FLEET_STATES`] and two numbers;
//!   the core's `FleetState::open` decides whether the remaining time is
//!   valid ([`WasmBreaker::adopt`]).
//!
//! # One source for the facts both sides know
//!
//! The codes above, the configuration keys ([`config_keys`],
//! [`TRIP_POLICIES`]), the order of the metrics ([`METRIC_NAMES`]), the
//! configuration-error kinds ([`CONFIG_ERROR_KINDS`]), the snapshot-error
//! reasons ([`SNAPSHOT_REASONS`]) and the wording of every error the core
//! reports (its `Display` impls) are defined here or in the core, once. The
//! JS layer does not restate them: it imports `js/facts.js`, which
//! `tests/generated.rs` writes from these definitions (message templates
//! included, derived from the core's own `Display` text) and fails on when it
//! is stale. None of it is linked into the `.wasm`.
//!
//! # Runtime
//!
//! On wasm32 the crate is `no_std` (unless the `std` feature is on, as the
//! wasm-bindgen tests need): allocation goes through a small allocator of
//! its own (`src/alloc.rs`: size classes, each a free list, so that
//! allocating and freeing cost the same however many breakers were freed
//! before) and a panic traps. std's allocator and panic formatting would
//! take about 11 KB of the 25 KB budget. Nothing allocates per call: the
//! allocator serves the breaker itself and its construction-time arrays.
#![deny(missing_docs)]
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

extern crate alloc;

use alloc::boxed::Box;
use core::alloc::Layout;
use core::cell::Cell;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use halfopen::{
    AnyPolicy, Breaker, Cause, Clock, Config, ConfigError, ConfigErrorKind, Counters, FleetState,
    Metrics, Observer, Outcome, PermitToken, RejectReason, SnapshotError, State, Transition,
    MAX_DURATION_MS, SNAPSHOT_LEN,
};
use wasm_bindgen::prelude::*;

// `alloc` is the name of the `alloc` crate here.
#[cfg(any(test, all(target_arch = "wasm32", not(feature = "std"))))]
#[path = "alloc.rs"]
mod allocator;

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod runtime {
    /// The allocator of the no_std `.wasm` (`src/alloc.rs`).
    #[global_allocator]
    static ALLOCATOR: crate::allocator::Allocator = crate::allocator::Allocator::new();

    #[cfg(target_feature = "atomics")]
    compile_error!(
        "the no_std build assumes one thread; build with the `std` feature for wasm threads"
    );

    /// The core never panics at run time; should anything, trap.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}

/// Added to an acquire's token when the permit holds a half-open trial slot.
pub const HALF_OPEN_PERMIT: i32 = 1 << 16;
/// Added to an acquire's token when the core times the call (slow-call
/// detection is on): its start time is then [`WasmBreaker::started_ms`].
pub const TIMED_PERMIT: i32 = 1 << 17;

/// The token JS holds for a permit: the epoch, [`HALF_OPEN_PERMIT`] if it is
/// a trial, [`TIMED_PERMIT`] if it is timed. Every flag comes from the core's
/// token as it is.
pub fn encode_token(token: &PermitToken) -> i32 {
    let mut code = token.epoch() as i32;
    if token.is_trial() {
        code |= HALF_OPEN_PERMIT;
    }
    if token.is_timed() {
        code |= TIMED_PERMIT;
    }
    code
}

/// The core's token back from JS's token and the start time JS was given
/// for it: a token without [`TIMED_PERMIT`] is untimed
/// ([`PermitToken::NOT_TIMED`]) whatever `started_ms` says.
pub fn decode_token(token: i32, started_ms: f64) -> PermitToken {
    PermitToken::from_parts(
        (token & 0xFFFF) as u16,
        token & HALF_OPEN_PERMIT != 0,
        if token & TIMED_PERMIT != 0 {
            // Exact: the start time came from this module as an f64 of an
            // integer clock reading.
            started_ms as u64
        } else {
            PermitToken::NOT_TIMED
        },
    )
}

/// The states, each at the index that is its code (in transitions, metrics
/// and [`WasmBreaker::state`]).
pub const STATES: [State; 4] = [State::Closed, State::Open, State::HalfOpen, State::Isolated];

/// The code of a state: its index in [`STATES`] (a match, not a search: the
/// smaller code; `tests/generated.rs` checks the two agree).
pub fn state_code(s: State) -> u32 {
    match s {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::Isolated => 3,
    }
}

/// The rejection reasons: reason `i` is rejection code `-1 - i`.
pub const REJECT_REASONS: [RejectReason; 4] = [
    RejectReason::Open,
    RejectReason::HalfOpenFull,
    RejectReason::Isolated,
    RejectReason::ClockOutOfRange,
];
/// Rejection code: the breaker is open.
pub const REJECT_OPEN: i32 = -1;
/// Rejection code: half-open, and every trial permit is in flight.
pub const REJECT_HALF_OPEN_FULL: i32 = -2;
/// Rejection code: the breaker is isolated.
pub const REJECT_ISOLATED: i32 = -3;
/// Rejection code: the clock read at or past 2^59 ms (not milliseconds?).
pub const REJECT_CLOCK_OUT_OF_RANGE: i32 = -4;

/// The rejection code of a reason (`-1 - ` its index in [`REJECT_REASONS`]).
pub fn reject_code(r: RejectReason) -> i32 {
    match r {
        RejectReason::Open => REJECT_OPEN,
        RejectReason::HalfOpenFull => REJECT_HALF_OPEN_FULL,
        RejectReason::Isolated => REJECT_ISOLATED,
        RejectReason::ClockOutOfRange => REJECT_CLOCK_OUT_OF_RANGE,
    }
}

/// The causes of a transition, each at the index that is its code (the
/// last, `other`, for a cause this version does not know: `Cause` is
/// non-exhaustive).
pub const CAUSES: [&str; 9] = [
    "trip",
    "retryAt",
    "trialsSucceeded",
    "trialFailed",
    "halfOpenMaxWait",
    "isolate",
    "reset",
    "fleet",
    "other",
];

/// The code of a cause: its index in [`CAUSES`] (`tests/generated.rs`
/// checks the names agree with the core's).
pub fn cause_code(c: Cause) -> u32 {
    match c {
        Cause::Trip => 0,
        Cause::RetryAt => 1,
        Cause::TrialsSucceeded => 2,
        Cause::TrialFailed => 3,
        Cause::HalfOpenMaxWait => 4,
        Cause::Isolate => 5,
        Cause::Reset => 6,
        Cause::Fleet => 7,
        _ => 8,
    }
}

/// Outcome code: the call worked.
pub const OUTCOME_SUCCESS: u32 = 0;
/// Outcome code: the call failed.
pub const OUTCOME_FAILURE: u32 = 1;
/// Outcome code: the outcome says nothing about the downstream's health.
pub const OUTCOME_IGNORE: u32 = 2;

/// The configuration keys of the core (`ConfigBuilder::set` paths), each
/// followed by a comma; a key's index in it is how JS names the key. (One
/// string rather than an array of strings, and searched with a plain loop:
/// the smallest code and data.)
const CONFIG_KEYS: &str = "consecutiveFailures,\
failureRate.percent,failureRate.failures,failureRate.window,failureRate.minimumCalls,\
timeWindow.percent,timeWindow.failures,timeWindow.windowMs,timeWindow.buckets,timeWindow.minimumCalls,\
openMs,halfOpenMaxCalls,successThreshold,slowCallMs,\
backoff.factor,backoff.maxOpenMs,halfOpenMaxWaitMs,jitter.percent,jitter.seed,";

/// The trip policies: a configuration key is a policy's if its path starts
/// with one of these (`consecutiveFailures` is a policy and its own key).
/// Keys of two policies conflict; the core says which of a policy's keys
/// are required.
pub const TRIP_POLICIES: [&str; 3] = ["consecutiveFailures", "failureRate", "timeWindow"];

/// The configuration keys, in the order whose indices
/// [`config_input`] takes: a byte loop (`str::split` would bring in a
/// searcher several times its size).
pub fn config_keys() -> impl Iterator<Item = &'static str> {
    let mut rest = CONFIG_KEYS;
    core::iter::from_fn(move || {
        let end = rest.bytes().position(|b| b == b',')?;
        // `get`, not indexing: no panic path (and its formatting) to link.
        let key = rest.get(..end)?;
        rest = rest.get(end + 1..)?;
        Some(key)
    })
}

/// Key `i` of [`config_keys`], or `""` (which the core refuses as unknown).
fn config_key(i: u8) -> &'static str {
    config_keys().nth(i as usize).unwrap_or("")
}

/// The index of `key` in [`config_keys`], or -1 (`trip`, or none). Not
/// inlined: one copy of the search loop, not one per caller.
#[inline(never)]
fn key_index(key: &str) -> f64 {
    config_keys()
        .position(|k| k == key)
        .map_or(-1.0, |i| i as f64)
}

/// The number of values [`WasmBreaker::load_metrics`] computes.
pub const METRICS_LEN: usize = 13;

/// The JS names of the metrics, in the order [`metric_values`] gives them
/// and [`WasmBreaker::metric`] reads them. A dotted name is a field of an
/// object (`window.failures`), absent as a whole when its values are. (Not
/// in the `.wasm`: `tests/generated.rs` writes them into `js/facts.js`.)
pub const METRIC_NAMES: [&str; METRICS_LEN] = [
    "state",
    "epoch",
    "successes",
    "failures",
    "slowCalls",
    "ignored",
    "rejected",
    "transitions",
    "openedAt",
    "retryAt",
    "failureRun",
    "window.failures",
    "window.calls",
];

/// The metrics as [`WasmBreaker::load_metrics`] computes them, in the order
/// of [`METRIC_NAMES`] (the one place that order is written). An absent
/// value (`openedAt` when not open, the window of the consecutive policy)
/// is `NaN`.
pub fn metric_values(m: &Metrics) -> [f64; METRICS_LEN] {
    let opt = |v: Option<u64>| v.map_or(f64::NAN, |v| v as f64);
    let (wf, wn) = m
        .window
        .map_or((f64::NAN, f64::NAN), |(f, n)| (f as f64, n as f64));
    [
        state_code(m.state) as f64,
        m.epoch as f64,
        m.successes as f64,
        m.failures as f64,
        m.slow_calls as f64,
        m.ignored as f64,
        m.rejected as f64,
        m.transitions as f64,
        opt(m.opened_at),
        opt(m.retry_at),
        m.failure_run as f64,
        wf,
        wn,
    ]
}

/// The number of values of a configuration error ([`config_error`]):
/// key index, kind, value, min, max, `of` key index, divisor.
pub const CONFIG_ERROR_LEN: usize = 7;

/// The kinds of configuration error, each at the index that is its code
/// ([`config_error`] value 1), with whether JS reports it as a `RangeError`
/// (a value outside what is valid) rather than a `TypeError`.
pub const CONFIG_ERROR_KINDS: [(&str, bool); 6] = [
    ("outOfRange", true),
    ("notMultiple", true),
    ("missing", false),
    ("conflict", false),
    ("unknownKey", false),
    // A kind this version does not know (`ConfigErrorKind` is non-exhaustive).
    ("other", false),
];
/// Configuration error kind code: see [`CONFIG_ERROR_KINDS`].
pub const CONFIG_ERROR_OUT_OF_RANGE: f64 = 0.0;
/// See [`CONFIG_ERROR_OUT_OF_RANGE`].
pub const CONFIG_ERROR_NOT_MULTIPLE: f64 = 1.0;
/// See [`CONFIG_ERROR_OUT_OF_RANGE`].
pub const CONFIG_ERROR_MISSING: f64 = 2.0;
/// See [`CONFIG_ERROR_OUT_OF_RANGE`].
pub const CONFIG_ERROR_CONFLICT: f64 = 3.0;
/// See [`CONFIG_ERROR_OUT_OF_RANGE`].
pub const CONFIG_ERROR_UNKNOWN_KEY: f64 = 4.0;
/// See [`CONFIG_ERROR_OUT_OF_RANGE`].
pub const CONFIG_ERROR_OTHER: f64 = 5.0;

/// A configuration error as [`config_error`] gives it: key index, kind
/// code, value, min, max, `of` key index, divisor. `key` names the key an
/// error without one ([`ConfigErrorKind::UnknownKey`]) was given for.
pub fn config_error_values(e: &ConfigError, key: &str) -> [f64; CONFIG_ERROR_LEN] {
    let (kind, min, max, of, divisor) = match e.kind() {
        ConfigErrorKind::OutOfRange { min, max } => (CONFIG_ERROR_OUT_OF_RANGE, min, max, "", 0),
        ConfigErrorKind::NotMultiple { of, divisor } => {
            (CONFIG_ERROR_NOT_MULTIPLE, 0, 0, of, divisor)
        }
        ConfigErrorKind::Missing => (CONFIG_ERROR_MISSING, 0, 0, "", 0),
        ConfigErrorKind::Conflict => (CONFIG_ERROR_CONFLICT, 0, 0, "", 0),
        ConfigErrorKind::UnknownKey => (CONFIG_ERROR_UNKNOWN_KEY, 0, 0, "", 0),
        _ => (CONFIG_ERROR_OTHER, 0, 0, "", 0),
    };
    let key = if e.key().is_empty() { key } else { e.key() };
    [
        key_index(key),
        kind,
        e.value() as f64,
        min as f64,
        max as f64,
        key_index(of),
        divisor as f64,
    ]
}

/// The last configuration error, as `f64` bits (one thread: see `runtime`).
static LAST_CONFIG_ERROR: [AtomicU64; CONFIG_ERROR_LEN] =
    [const { AtomicU64::new(0) }; CONFIG_ERROR_LEN];

fn store_config_error(e: &ConfigError, key: &str) {
    for (slot, v) in LAST_CONFIG_ERROR.iter().zip(config_error_values(e, key)) {
        slot.store(v.to_bits(), Relaxed);
    }
}

/// Configuration entries for the next [`WasmBreaker::create`] (one thread:
/// see `runtime`): key index, value bits. Passed entry by entry, as numbers,
/// so that no array crosses (and no array glue is linked).
static CONFIG_INPUT: [(AtomicU64, AtomicU64); CONFIG_INPUT_LEN] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; CONFIG_INPUT_LEN];

/// How many configuration entries [`config_input`] holds: more than there
/// are keys.
pub const CONFIG_INPUT_LEN: usize = 24;

/// Sets configuration entry `i` for the next [`WasmBreaker::create`]: `key`,
/// an index into [`config_keys`] (`openMs`,
/// `failureRate.window`, `backoff.maxOpenMs`, ...), and its value (a safe
/// integer; the JS layer passes -2^53 for a value it found ill-typed, to
/// learn the key's range from the core's error). Entries past
/// [`CONFIG_INPUT_LEN`] are dropped.
#[wasm_bindgen(js_name = configInput)]
pub fn config_input(i: u32, key: u32, value: f64) {
    if let Some((k, v)) = CONFIG_INPUT.get(i as usize) {
        k.store(key as u64, Relaxed);
        v.store(value.to_bits(), Relaxed);
    }
}

/// Value `i` of the last configuration error: key index (-1 for `trip`),
/// kind (`CONFIG_ERROR_*`), value, min, max, `of` key index, divisor.
#[wasm_bindgen(js_name = configError)]
pub fn config_error(i: u32) -> f64 {
    LAST_CONFIG_ERROR
        .get(i as usize)
        .map_or(f64::NAN, |v| f64::from_bits(v.load(Relaxed)))
}

/// The largest duration any duration option accepts (2^31 - 1 ms), for the
/// JS-side `timeoutMs`.
#[wasm_bindgen(js_name = maxDurationMs)]
pub fn max_duration_ms() -> f64 {
    MAX_DURATION_MS as f64
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

// The JS side of a breaker, reached by its id: see js/hooks.js for why an id
// and not a function held here.
#[wasm_bindgen(module = "/js/hooks.js")]
extern "C" {
    #[wasm_bindgen(js_name = readClock)]
    fn read_clock(id: f64) -> f64;
    #[wasm_bindgen(js_name = transition)]
    fn js_transition(id: f64, from: u32, to: u32, epoch: u32, cause: u32);
}

/// The core's [`Clock`] for JavaScript: `Date.now()`, or the user's `clock`
/// function (through the breaker's hooks).
///
/// The JS layer's hook never throws and returns a finite number `>= 0` (it
/// reports a faulty user clock itself); should anything else come back, the
/// last good reading is used, so time stands still rather than jumping.
pub struct JsClock {
    /// The breaker's id, when it has a user clock.
    hook: Option<f64>,
    last: Cell<u64>,
}

impl Clock for JsClock {
    fn now_ms(&self) -> u64 {
        let t = match self.hook {
            None => date_now(),
            Some(id) => read_clock(id),
        };
        if t >= 0.0 && t.is_finite() {
            // Saturating and flooring: integer milliseconds.
            let ms = t as u64;
            self.last.set(ms);
            ms
        } else {
            self.last.get()
        }
    }
}

/// The observer: the metrics totals, and every change of state reported to
/// the breaker's JS hooks, after the change has been committed.
pub struct JsObserver {
    counters: Counters,
    id: f64,
}

impl Observer for JsObserver {
    #[inline(always)]
    fn on_success(&self) {
        self.counters.on_success();
    }
    #[inline(always)]
    fn on_failure(&self, slow: bool) {
        self.counters.on_failure(slow);
    }
    #[inline(always)]
    fn on_ignore(&self) {
        self.counters.on_ignore();
    }
    #[inline(always)]
    fn on_reject(&self, reason: RejectReason) {
        self.counters.on_reject(reason);
    }
    fn on_transition(&self, t: Transition) {
        self.counters.on_transition(t);
        js_transition(
            self.id,
            state_code(t.from),
            state_code(t.to),
            t.epoch as u32,
            cause_code(t.cause),
        );
    }
    fn totals(&self) -> Option<halfopen::Totals> {
        self.counters.totals()
    }
}

type Inner = Breaker<'static, JsClock, AnyPolicy, JsObserver>;

/// One circuit breaker, as the JS layer drives it (through the functions of
/// [`handle`], which take it by its address).
pub struct WasmBreaker {
    /// Borrows `*config`: dropped (in `Drop`) before `config` is freed.
    breaker: ManuallyDrop<Inner>,
    /// Owned (from `Box::leak`); freed in `Drop`. A raw pointer rather than a
    /// `Box`, so that moving this struct never asserts uniqueness of memory
    /// that `breaker` borrows.
    config: NonNull<Config<AnyPolicy>>,
    /// The start time of the last acquired permit, if timed.
    started: Cell<u64>,
    /// The number the last refusal carried: see [`WasmBreaker::number`].
    number: Cell<f64>,
    /// The last `load_metrics`.
    metrics: Cell<[f64; METRICS_LEN]>,
    /// The last `take_snapshot`, or the bytes being restored.
    snapshot: Cell<[u8; SNAPSHOT_LEN]>,
    /// The field a refused snapshot named (`SnapshotError::Invalid`).
    invalid_field: Cell<&'static str>,
}

impl Drop for WasmBreaker {
    fn drop(&mut self) {
        // SAFETY: `breaker` is dropped here and never used again; after that
        // nothing borrows `*config`, which came from `allocate` in
        // `WasmBreaker::create` and is freed exactly once, here.
        unsafe {
            ManuallyDrop::drop(&mut self.breaker);
            drop(Box::from_raw(self.config.as_ptr()));
        }
    }
}

/// `value` moved into an allocation of its own, freed with `Box::from_raw`.
/// `Box::new` would link `handle_alloc_error` and its formatted message; on
/// the no_std `.wasm` an exhausted memory traps instead.
fn allocate<T>(value: T) -> NonNull<T> {
    let layout = Layout::new::<T>();
    const { assert!(size_of::<T>() > 0) };
    // SAFETY: the layout is not zero-sized (checked above).
    let p = unsafe { alloc::alloc::alloc(layout) }.cast::<T>();
    let Some(p) = NonNull::new(p) else {
        #[cfg(all(target_arch = "wasm32", not(feature = "std")))]
        core::arch::wasm32::unreachable();
        #[cfg(not(all(target_arch = "wasm32", not(feature = "std"))))]
        alloc::alloc::handle_alloc_error(layout);
    };
    // SAFETY: `p` is a fresh allocation of `T`'s layout, written once.
    unsafe { p.as_ptr().write(value) };
    p
}

/// Fleet state code: open (see [`WasmBreaker::adopt`]).
pub const FLEET_OPEN: u32 = 0;
/// Fleet state code: closed.
pub const FLEET_CLOSED: u32 = 1;
/// Fleet state code: isolated.
pub const FLEET_ISOLATED: u32 = 2;
/// The fleet states, each at the index that is its code.
pub const FLEET_STATES: [FleetState; 3] = [
    FleetState::Open {
        remaining_ms: 0,
        k: 0,
    },
    FleetState::Closed,
    FleetState::Isolated,
];

/// Restore results: 0 for restored, else why the core refused the bytes
/// (which then changed nothing): the code is the index in
/// [`SNAPSHOT_REASONS`].
pub const RESTORED: u32 = 0;
/// See [`RESTORED`]: not [`SNAPSHOT_LEN`] bytes (nor a version 1
/// snapshot's 40).
pub const SNAPSHOT_LENGTH: u32 = 1;
/// See [`RESTORED`]: not a halfopen snapshot.
pub const SNAPSHOT_MAGIC: u32 = 2;
/// See [`RESTORED`]: a format version this build does not know.
pub const SNAPSHOT_VERSION: u32 = 3;
/// See [`RESTORED`]: damaged.
pub const SNAPSHOT_CHECKSUM: u32 = 4;
/// See [`RESTORED`]: taken from a breaker with another configuration.
pub const SNAPSHOT_FOREIGN_CONFIG: u32 = 5;
/// See [`RESTORED`]: a field holds an impossible value
/// ([`WasmBreaker::invalid_field_byte`] names it).
pub const SNAPSHOT_INVALID: u32 = 6;
/// See [`RESTORED`]: the breaker was used before the restore (the JS layer
/// restores into a new breaker, so it never sees this).
pub const SNAPSHOT_IN_USE: u32 = 7;
/// See [`RESTORED`]: a refusal this version does not know
/// (`SnapshotError` is non-exhaustive).
pub const SNAPSHOT_OTHER: u32 = 8;

/// The JS names of the restore results, by code: `""` for restored, then the
/// `reason` of JS's `SnapshotError`.
pub const SNAPSHOT_REASONS: [&str; 9] = [
    "",
    "length",
    "magic",
    "version",
    "checksum",
    "foreignConfig",
    "invalid",
    "inUse",
    "other",
];

impl WasmBreaker {
    /// Builds a breaker from the first `n` configuration entries given with
    /// [`config_input`], validated by the core. `None` if the core refuses
    /// them: [`config_error`] then tells why.
    ///
    /// `id` is the breaker's id in `js/hooks.js`, through which the core
    /// reports changes of state and, if `user_clock`, reads the time
    /// (otherwise `Date.now()`).
    pub fn create(n: u32, id: f64, user_clock: bool) -> Option<WasmBreaker> {
        let mut builder = Config::builder();
        for (key, value) in CONFIG_INPUT.iter().take(n as usize) {
            let key = config_key(key.load(Relaxed) as u8);
            let value = f64::from_bits(value.load(Relaxed));
            builder = match builder.set(key, value as i64) {
                Ok(b) => b,
                Err(e) => {
                    store_config_error(&e, key);
                    return None;
                }
            };
        }
        let config = match builder.build() {
            Ok(c) => c,
            Err(e) => {
                store_config_error(&e, "");
                return None;
            }
        };
        let config = allocate(config);
        // SAFETY: `config` points to a live, owned allocation that is freed
        // only in `Drop`, after `breaker` (its only borrower) is dropped; the
        // allocation never moves, so the `'static` borrow is valid for as
        // long as the breaker exists.
        let config_ref: &'static Config<AnyPolicy> = unsafe { config.as_ref() };
        let clock = JsClock {
            hook: user_clock.then_some(id),
            last: Cell::new(0),
        };
        let observer = JsObserver {
            counters: Counters::new(),
            id,
        };
        Some(WasmBreaker {
            breaker: ManuallyDrop::new(Breaker::with_observer(config_ref, clock, observer)),
            config,
            started: Cell::new(0),
            number: Cell::new(-1.0),
            metrics: Cell::new([0.0; METRICS_LEN]),
            snapshot: Cell::new([0; SNAPSHOT_LEN]),
            invalid_field: Cell::new(""),
        })
    }

    /// Asks to make a call: a permit token `>= 0`, or a rejection code `< 0`.
    pub fn acquire(&self) -> i32 {
        match self.breaker.try_acquire_token() {
            Ok(token) => {
                self.started.set(token.started_ms());
                encode_token(&token)
            }
            Err(r) => {
                self.number
                    .set(r.retry_after_ms().map_or(-1.0, |ms| ms as f64));
                reject_code(r.reason())
            }
        }
    }

    /// The start time of the permit the last `acquire` granted, to be given
    /// back with it; meaningful only for a token with [`TIMED_PERMIT`] (an
    /// untimed token ignores the start time it is given back with).
    pub fn started_ms(&self) -> f64 {
        self.started.get() as f64
    }

    /// The number the last refusal carried: the retry hint of the last
    /// rejection in milliseconds (-1 if it had none), or the version of a
    /// snapshot [`restore`](Self::restore) refused for its version.
    pub fn number(&self) -> f64 {
        self.number.get()
    }

    /// Records the outcome (`OUTCOME_*`) of a permit: its token and the start
    /// time [`started_ms`](Self::started_ms) gave for it (any number for an
    /// untimed token).
    pub fn record(&self, token: i32, started_ms: f64, outcome: u32) {
        let outcome = match outcome {
            OUTCOME_SUCCESS => Outcome::Success,
            OUTCOME_FAILURE => Outcome::Failure,
            _ => Outcome::Ignore,
        };
        self.breaker
            .record_token(decode_token(token, started_ms), outcome);
    }

    /// Gives a permit back without an outcome (a *drop*).
    pub fn release(&self, token: i32, started_ms: f64) {
        self.breaker.release_token(decode_token(token, started_ms));
    }

    /// The state code as of now (reads the clock only when open).
    pub fn state(&self) -> u32 {
        state_code(self.breaker.state())
    }

    /// Computes the metrics once ([`metric_values`]), for
    /// [`metric`](Self::metric) to read.
    pub fn load_metrics(&self) {
        let m = self.breaker.metrics();
        self.metrics.set(metric_values(&m));
    }

    /// Value `i` of the last [`load_metrics`](Self::load_metrics).
    pub fn metric(&self, i: u32) -> f64 {
        self.metrics
            .get()
            .get(i as usize)
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// Rejects every call until `reset`.
    pub fn isolate(&self) {
        self.breaker.isolate();
    }

    /// Closes the breaker with a clean slate; the totals are kept.
    pub fn reset(&self) {
        self.breaker.reset();
    }

    /// Takes a snapshot of the decision state ([`SNAPSHOT_LEN`] bytes), for
    /// [`snapshot_word`](Self::snapshot_word) to read.
    pub fn take_snapshot(&self) {
        self.snapshot.set(self.breaker.snapshot());
    }

    /// Bytes `4 i .. 4 i + 4` of the snapshot, little-endian: the
    /// snapshot taken last, or the one being given with
    /// [`set_snapshot_word`](Self::set_snapshot_word).
    pub fn snapshot_word(&self, i: u32) -> u32 {
        let b = self.snapshot.get();
        let i = i as usize * 4;
        match b.get(i..i + 4) {
            Some(w) => u32::from_le_bytes([w[0], w[1], w[2], w[3]]),
            None => 0,
        }
    }

    /// Sets bytes `4 i .. 4 i + 4` of the snapshot to restore, little-endian.
    pub fn set_snapshot_word(&self, i: u32, word: u32) {
        let mut b = self.snapshot.get();
        let i = i as usize * 4;
        if let Some(w) = b.get_mut(i..i + 4) {
            w.copy_from_slice(&word.to_le_bytes());
        }
        self.snapshot.set(b);
    }

    /// Restores the snapshot given with
    /// [`set_snapshot_word`](Self::set_snapshot_word); `len` is its length
    /// in bytes as the user gave it (the core reads its first `len` bytes:
    /// a version 1 snapshot is shorter). With `same_clock` the times are
    /// kept (the clock survived the restart: `Date.now`), else re-based.
    /// Returns [`RESTORED`], or why the core
    /// refused it (a code of [`SNAPSHOT_REASONS`]), which then changed
    /// nothing; a refusal's version is then [`number`](Self::number), its
    /// field [`invalid_field_byte`](Self::invalid_field_byte). (This match is
    /// the one mapping of refusals to codes.)
    pub fn restore(&self, len: u32, same_clock: bool) -> u32 {
        let bytes = self.snapshot.get();
        let result = match bytes.get(..len as usize) {
            Some(b) if same_clock => self.breaker.restore_same_clock(b),
            Some(b) => self.breaker.restore(b),
            None => Err(SnapshotError::Length(len as usize)),
        };
        match result {
            Ok(()) => RESTORED,
            Err(SnapshotError::Length(_)) => SNAPSHOT_LENGTH,
            Err(SnapshotError::Magic) => SNAPSHOT_MAGIC,
            Err(SnapshotError::Version(v)) => {
                self.number.set(v as f64);
                SNAPSHOT_VERSION
            }
            Err(SnapshotError::Checksum) => SNAPSHOT_CHECKSUM,
            Err(SnapshotError::ForeignConfig) => SNAPSHOT_FOREIGN_CONFIG,
            Err(SnapshotError::Invalid(field)) => {
                self.invalid_field.set(field);
                SNAPSHOT_INVALID
            }
            Err(SnapshotError::InUse) => SNAPSHOT_IN_USE,
            Err(_) => SNAPSHOT_OTHER,
        }
    }

    /// Applies a fleet's state ([`FLEET_STATES`] code `state`; for `open`,
    /// what is left of its open period and its re-trip count). Returns
    /// `false`, and changes nothing, if the core refuses the open state
    /// (`FleetStateError`: `remaining_ms` out of range; a negative or
    /// fractional number is out of it too).
    pub fn adopt(&self, state: u32, remaining_ms: f64, k: u32) -> bool {
        let fleet = match state {
            FLEET_OPEN => {
                // Exact for every integer 0..=2^53; anything else is refused
                // as the core refuses a remaining time it cannot hold.
                let r = remaining_ms as u64;
                if r as f64 != remaining_ms {
                    return false;
                }
                match FleetState::open(r, k) {
                    Ok(f) => f,
                    Err(_) => return false,
                }
            }
            FLEET_CLOSED => FleetState::Closed,
            _ => FleetState::Isolated,
        };
        self.breaker.adopt(fleet);
        true
    }

    /// Byte `i` of the field the last refused snapshot named, if it was
    /// [`SNAPSHOT_INVALID`]; 0 past the end.
    pub fn invalid_field_byte(&self, i: u32) -> u32 {
        self.invalid_field
            .get()
            .as_bytes()
            .get(i as usize)
            .map_or(0, |&b| b as u32)
    }
}

/// The exports the JS layer drives a breaker with, each taking the breaker
/// by its *handle*: its address in wasm memory, from [`handle::create`].
///
/// Plain functions of numbers rather than a `#[wasm_bindgen]` struct: the
/// struct's glue wraps every method in a shared-borrow check (an `Rc` and a
/// `RefCell`, their panics and messages), about 200 bytes each, for
/// exclusion this type does not need (every method takes `&self`; its
/// state is the core's atomics and `Cell`s, never borrowed across a call
/// out to JavaScript, so a re-entrant call from a clock or a listener is
/// safe).
///
/// The handle contract, which the JS layer (`js/breaker.js`, class `Inner`)
/// keeps: a handle is only ever one that [`handle::create`] returned, kept
/// private by one JS object, and given back only while that object is alive;
/// [`handle::free`] is called once, by a `FinalizationRegistry`, after it is
/// collected. (Everything that calls into a breaker, its permits and their
/// finalizers included, holds that object.)
#[cfg(target_arch = "wasm32")]
pub mod handle {
    use super::*;

    fn get<'a>(h: u32) -> &'a WasmBreaker {
        // SAFETY: by the handle contract, `h` is the address of a live
        // `WasmBreaker` from `create`, freed only after its last use.
        unsafe { &*(h as usize as *const WasmBreaker) }
    }

    /// [`WasmBreaker::create`]: the new breaker's handle, or 0 if the core
    /// refuses the configuration.
    #[wasm_bindgen]
    pub fn create(n: u32, id: f64, user_clock: bool) -> u32 {
        WasmBreaker::create(n, id, user_clock).map_or(0, |b| allocate(b).as_ptr() as usize as u32)
    }

    /// Frees a breaker (its last use: see the handle contract).
    #[wasm_bindgen]
    pub fn free(h: u32) {
        // SAFETY: by the handle contract `h` came from `create` (an
        // `allocate`d `WasmBreaker`) and is freed once, after its last use.
        drop(unsafe { Box::from_raw(h as usize as *mut WasmBreaker) });
    }

    /// [`WasmBreaker::acquire`].
    #[wasm_bindgen]
    pub fn acquire(h: u32) -> i32 {
        get(h).acquire()
    }

    /// [`WasmBreaker::started_ms`].
    #[wasm_bindgen(js_name = startedMs)]
    pub fn started_ms(h: u32) -> f64 {
        get(h).started_ms()
    }

    /// [`WasmBreaker::number`].
    #[wasm_bindgen]
    pub fn number(h: u32) -> f64 {
        get(h).number()
    }

    /// [`WasmBreaker::record`].
    #[wasm_bindgen]
    pub fn record(h: u32, token: i32, started_ms: f64, outcome: u32) {
        get(h).record(token, started_ms, outcome)
    }

    /// [`WasmBreaker::release`].
    #[wasm_bindgen]
    pub fn release(h: u32, token: i32, started_ms: f64) {
        get(h).release(token, started_ms)
    }

    /// [`WasmBreaker::state`].
    #[wasm_bindgen]
    pub fn state(h: u32) -> u32 {
        get(h).state()
    }

    /// [`WasmBreaker::load_metrics`].
    #[wasm_bindgen(js_name = loadMetrics)]
    pub fn load_metrics(h: u32) {
        get(h).load_metrics()
    }

    /// [`WasmBreaker::metric`].
    #[wasm_bindgen]
    pub fn metric(h: u32, i: u32) -> f64 {
        get(h).metric(i)
    }

    /// [`WasmBreaker::isolate`].
    #[wasm_bindgen]
    pub fn isolate(h: u32) {
        get(h).isolate()
    }

    /// [`WasmBreaker::reset`].
    #[wasm_bindgen]
    pub fn reset(h: u32) {
        get(h).reset()
    }

    /// [`WasmBreaker::take_snapshot`].
    #[wasm_bindgen(js_name = takeSnapshot)]
    pub fn take_snapshot(h: u32) {
        get(h).take_snapshot()
    }

    /// [`WasmBreaker::snapshot_word`].
    #[wasm_bindgen(js_name = snapshotWord)]
    pub fn snapshot_word(h: u32, i: u32) -> u32 {
        get(h).snapshot_word(i)
    }

    /// [`WasmBreaker::set_snapshot_word`].
    #[wasm_bindgen(js_name = setSnapshotWord)]
    pub fn set_snapshot_word(h: u32, i: u32, word: u32) {
        get(h).set_snapshot_word(i, word)
    }

    /// [`WasmBreaker::restore`].
    #[wasm_bindgen]
    pub fn restore(h: u32, len: u32, same_clock: bool) -> u32 {
        get(h).restore(len, same_clock)
    }

    /// [`WasmBreaker::adopt`].
    #[wasm_bindgen]
    pub fn adopt(h: u32, state: u32, remaining_ms: f64, k: u32) -> bool {
        get(h).adopt(state, remaining_ms, k)
    }

    /// [`WasmBreaker::invalid_field_byte`].
    #[wasm_bindgen(js_name = invalidFieldByte)]
    pub fn invalid_field_byte(h: u32, i: u32) -> u32 {
        get(h).invalid_field_byte(i)
    }
}
