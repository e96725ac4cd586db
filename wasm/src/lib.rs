//! WebAssembly bindings of the `halfopen` circuit breaker, for the npm
//! package `halfopen`.
//!
//! This crate translates; it decides nothing. Every decision (states, epochs,
//! trip policies, backoff, half-open permits, configuration validation,
//! snapshots) is the core's. What is here:
//!
//! - [`WasmBreaker`]: one core [`Breaker`] with a run-time trip policy
//!   ([`AnyPolicy`]), the metrics totals ([`Counters`]) and a transition hook
//!   that calls back into JavaScript. Its methods are coarse and take and
//!   return plain numbers, so a call crosses the JS/wasm boundary once and
//!   allocates nothing in wasm memory (the hand-written JS layer, `js/`,
//!   gives the idiomatic class, promises, errors and types);
//! - [`JsClock`]: the core's [`Clock`] over `Date.now()` or the user's
//!   `clock` function. The core reads it only when a decision needs the time,
//!   so the steady closed-state path never calls out to JavaScript for it.
//!
//! # The numbers that cross
//!
//! - An acquire returns an `i32`: a permit token `>= 0` (the core's
//!   [`PermitToken`] epoch, plus [`HALF_OPEN_PERMIT`] when the permit holds a
//!   half-open trial slot, which the JS layer then guards with a
//!   `FinalizationRegistry` so that a permit lost to the garbage collector is
//!   a *drop*), or a rejection code `< 0` ([`REJECT_OPEN`],
//!   [`REJECT_HALF_OPEN_FULL`], [`REJECT_ISOLATED`]). The token's start time
//!   (nonzero only with `slowCallMs`) and a rejection's retry hint are read
//!   with [`WasmBreaker::started_ms`] and [`WasmBreaker::retry_after_ms`],
//!   which the JS layer calls only when it needs them.
//! - Outcomes are [`OUTCOME_SUCCESS`], [`OUTCOME_FAILURE`],
//!   [`OUTCOME_IGNORE`]; states are [`State`] codes 0..=3 in the order
//!   closed, open, halfOpen, isolated.
//! - Times are milliseconds in `f64`: exact for every integer up to 2^53.
#![deny(missing_docs)]

use core::cell::Cell;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;

use halfopen::{
    AnyPolicy, Breaker, Clock, Config, ConfigError, ConfigErrorKind, Counters, Observer, Outcome,
    PermitToken, RejectReason, SnapshotError, State, Transition, MAX_DURATION_MS, SNAPSHOT_LEN,
};
use js_sys::{Array, Float64Array, Uint8Array};
use wasm_bindgen::prelude::*;

/// Added to an acquire's token when the permit holds a half-open trial slot.
pub const HALF_OPEN_PERMIT: i32 = 1 << 16;
/// Rejection code: the breaker is open.
pub const REJECT_OPEN: i32 = -1;
/// Rejection code: half-open, and every trial permit is in flight.
pub const REJECT_HALF_OPEN_FULL: i32 = -2;
/// Rejection code: the breaker is isolated.
pub const REJECT_ISOLATED: i32 = -3;
/// Outcome code: the call worked.
pub const OUTCOME_SUCCESS: u32 = 0;
/// Outcome code: the call failed.
pub const OUTCOME_FAILURE: u32 = 1;
/// Outcome code: the outcome says nothing about the downstream's health.
pub const OUTCOME_IGNORE: u32 = 2;

/// The number of values [`WasmBreaker::metrics`] returns, in this order:
/// state, epoch, successes, failures, slowCalls, ignored, rejected,
/// transitions, openedAt, retryAt, failureRun, window failures, window
/// calls. Absent values (`openedAt` when not open, the window of the
/// consecutive policy) are `NaN`.
pub const METRICS_LEN: usize = 13;

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
    fn js_transition(id: f64, from: u32, to: u32, epoch: u32);
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
        );
    }
    fn totals(&self) -> Option<halfopen::Totals> {
        self.counters.totals()
    }
}

fn state_code(s: State) -> u32 {
    match s {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::Isolated => 3,
    }
}

type Inner = Breaker<'static, JsClock, AnyPolicy, JsObserver>;

/// One circuit breaker, as the JS layer drives it.
#[wasm_bindgen]
pub struct WasmBreaker {
    /// Borrows `*config`: dropped (in `Drop`) before `config` is freed.
    breaker: ManuallyDrop<Inner>,
    /// Owned (from `Box::into_raw`); freed in `Drop`. A raw pointer rather
    /// than a `Box`, so that moving this struct never asserts uniqueness of
    /// memory that `breaker` borrows.
    config: NonNull<Config<AnyPolicy>>,
    /// The start time of the last acquired permit (0 unless `slowCallMs`).
    started: Cell<u64>,
    /// The retry hint of the last rejection, or -1.
    retry_after: Cell<f64>,
}

impl Drop for WasmBreaker {
    fn drop(&mut self) {
        // SAFETY: `breaker` is dropped here and never used again; after that
        // nothing borrows `*config`, which came from `Box::into_raw` in
        // `WasmBreaker::new` and is freed exactly once, here.
        unsafe {
            ManuallyDrop::drop(&mut self.breaker);
            drop(Box::from_raw(self.config.as_ptr()));
        }
    }
}

/// A configuration error as the JS layer reads it: `[key, kind, value, min,
/// max, of, divisor, message]`, kind being `outOfRange`, `notMultiple`,
/// `missing`, `conflict` or `unknownKey`. The message is the core's.
fn config_error(e: &ConfigError, key: &str) -> JsValue {
    let (kind, min, max, of, divisor) = match e.kind() {
        ConfigErrorKind::OutOfRange { min, max } => ("outOfRange", min, max, "", 0),
        ConfigErrorKind::NotMultiple { of, divisor } => ("notMultiple", 0, 0, of, divisor),
        ConfigErrorKind::Missing => ("missing", 0, 0, "", 0),
        ConfigErrorKind::Conflict => ("conflict", 0, 0, "", 0),
        ConfigErrorKind::UnknownKey => ("unknownKey", 0, 0, "", 0),
        _ => ("invalid", 0, 0, "", 0),
    };
    let key = if e.key().is_empty() { key } else { e.key() };
    let parts = Array::new();
    parts.push(&key.into());
    parts.push(&kind.into());
    parts.push(&(e.value() as f64).into());
    parts.push(&(min as f64).into());
    parts.push(&(max as f64).into());
    parts.push(&of.into());
    parts.push(&(divisor as f64).into());
    parts.push(&e.to_string().into());
    parts.into()
}

/// An `f64` option value as the core's `i64`. The JS layer passes only safe
/// integers (|v| <= 2^53), and -2^53 for a value it found ill-typed, to learn
/// the key's valid range from the core's error.
fn as_i64(v: f64) -> i64 {
    v as i64
}

#[wasm_bindgen]
impl WasmBreaker {
    /// Builds a breaker from option paths (`openMs`, `failureRate.window`,
    /// `backoff.maxOpenMs`, ...) and their values, validated by the core.
    /// Throws the core's first error as `[key, kind, value, min, max, of,
    /// divisor, message]`.
    ///
    /// `id`: the breaker's id in `js/hooks.js`, through which the core
    /// reports changes of state and, if `user_clock`, reads the time
    /// (otherwise `Date.now()`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        keys: Vec<String>,
        values: Vec<f64>,
        id: f64,
        user_clock: bool,
    ) -> Result<WasmBreaker, JsValue> {
        let mut builder = Config::builder();
        for (key, &value) in keys.iter().zip(values.iter()) {
            builder = builder
                .set(key, as_i64(value))
                .map_err(|e| config_error(&e, key))?;
        }
        let config = builder.build().map_err(|e| config_error(&e, ""))?;
        let config = NonNull::from(Box::leak(Box::new(config)));
        // SAFETY: `config` points to a live, owned allocation that is freed
        // only in `Drop`, after `breaker` (the only borrower) is dropped; the
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
        Ok(WasmBreaker {
            breaker: ManuallyDrop::new(Breaker::with_observer(config_ref, clock, observer)),
            config,
            started: Cell::new(0),
            retry_after: Cell::new(-1.0),
        })
    }

    /// Asks to make a call: a permit token `>= 0`, or a rejection code `< 0`.
    pub fn acquire(&self) -> i32 {
        match self.breaker.try_acquire_token() {
            Ok(token) => {
                self.started.set(token.started_ms());
                let mut t = token.epoch() as i32;
                if self.state_is_half_open(token.epoch()) {
                    t |= HALF_OPEN_PERMIT;
                }
                t
            }
            Err(r) => {
                self.retry_after
                    .set(r.retry_after_ms().map_or(-1.0, |ms| ms as f64));
                match r.reason() {
                    RejectReason::Open => REJECT_OPEN,
                    RejectReason::HalfOpenFull => REJECT_HALF_OPEN_FULL,
                    RejectReason::Isolated => REJECT_ISOLATED,
                }
            }
        }
    }

    fn state_is_half_open(&self, epoch: u16) -> bool {
        // Not open (a permit was just granted), so this reads no clock.
        self.breaker.epoch() == epoch && self.breaker.state() == State::HalfOpen
    }

    /// The start time of the permit the last `acquire` granted (nonzero only
    /// with `slowCallMs`).
    pub fn started_ms(&self) -> f64 {
        self.started.get() as f64
    }

    /// The retry hint of the last rejection in milliseconds, or -1 if it had
    /// none.
    pub fn retry_after_ms(&self) -> f64 {
        self.retry_after.get()
    }

    /// Records the outcome of a permit.
    pub fn record(&self, token: i32, started_ms: f64, outcome: u32) {
        let outcome = match outcome {
            OUTCOME_SUCCESS => Outcome::Success,
            OUTCOME_FAILURE => Outcome::Failure,
            _ => Outcome::Ignore,
        };
        self.breaker
            .record_token(Self::token(token, started_ms), outcome);
    }

    /// Gives a permit back without an outcome (a *drop*).
    pub fn release(&self, token: i32, started_ms: f64) {
        self.breaker.release_token(Self::token(token, started_ms));
    }

    fn token(token: i32, started_ms: f64) -> PermitToken {
        PermitToken::from_parts((token & 0xFFFF) as u16, started_ms as u64)
    }

    /// The state code as of now (reads the clock only when open).
    pub fn state(&self) -> u32 {
        state_code(self.breaker.state())
    }

    /// The metrics: [`METRICS_LEN`] numbers, see there.
    pub fn metrics(&self) -> Float64Array {
        let m = self.breaker.metrics();
        let opt = |v: Option<u64>| v.map_or(f64::NAN, |v| v as f64);
        let (wf, wn) = m
            .window
            .map_or((f64::NAN, f64::NAN), |(f, n)| (f as f64, n as f64));
        let values: [f64; METRICS_LEN] = [
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
        ];
        let out = Float64Array::new_with_length(METRICS_LEN as u32);
        out.copy_from(&values);
        out
    }

    /// Rejects every call until `reset`.
    pub fn isolate(&self) {
        self.breaker.isolate();
    }

    /// Closes the breaker with a clean slate; the totals are kept.
    pub fn reset(&self) {
        self.breaker.reset();
    }

    /// The decision state as [`SNAPSHOT_LEN`] bytes.
    pub fn snapshot(&self) -> Uint8Array {
        let bytes = self.breaker.snapshot();
        let out = Uint8Array::new_with_length(SNAPSHOT_LEN as u32);
        out.copy_from(&bytes);
        out
    }

    /// Restores a snapshot. Returns `undefined`, or `[reason, message]` when
    /// the core refuses the bytes (reason: `length`, `magic`, `version`,
    /// `checksum`, `foreignConfig`, `invalid`), which change nothing then.
    pub fn restore(&self, bytes: &Uint8Array) -> JsValue {
        let len = bytes.length() as usize;
        let result = if len == SNAPSHOT_LEN {
            let mut buf = [0u8; SNAPSHOT_LEN];
            bytes.copy_to(&mut buf);
            self.breaker.restore(&buf)
        } else {
            Err(SnapshotError::Length(len))
        };
        match result {
            Ok(()) => JsValue::UNDEFINED,
            Err(e) => {
                let reason = match e {
                    SnapshotError::Length(_) => "length",
                    SnapshotError::Magic => "magic",
                    SnapshotError::Version(_) => "version",
                    SnapshotError::Checksum => "checksum",
                    SnapshotError::ForeignConfig => "foreignConfig",
                    _ => "invalid",
                };
                let parts = Array::new();
                parts.push(&reason.into());
                parts.push(&e.to_string().into());
                parts.into()
            }
        }
    }
}

/// The largest duration any duration option accepts (2^31 - 1 ms), for the
/// JS-side `timeoutMs`.
#[wasm_bindgen(js_name = maxDurationMs)]
pub fn max_duration_ms() -> f64 {
    MAX_DURATION_MS as f64
}
