//! The fleet's rules of the `halfopen` core for WebAssembly: the `.wasm` of
//! the npm package's `halfopen/fleet` entry.
//!
//! This crate translates; it decides nothing. Every decision is one of the
//! core's [`halfopen::fleet::FleetRules`], over the same record text and
//! configuration text as the Redis crate (`FleetRecord::to_text`/`parse`,
//! `ConfigText`), so a Node process, a Durable Object and a Rust service read
//! and write the same records.
//!
//! A record crosses as its generation (a decimal string, as stores keep it)
//! and its text; a rule that writes returns the new record as
//! `GEN|TEXT`, or `undefined` when the record stays as it is. A record that
//! does not parse is refused with the core's error (the field at fault).
//!
//! It is its own `.wasm` (not the base package's): the base `.wasm` has a
//! size budget of its own, and only programs that import `halfopen/fleet`
//! pay for these rules and their string glue.
#![deny(missing_docs)]
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

extern crate alloc;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};

// The base package's allocator, the same source (`alloc` is the crate's
// name here).
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[path = "../../src/alloc.rs"]
mod allocator;

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod runtime {
    /// The allocator of the no_std `.wasm`: the base package's
    /// (`wasm/src/alloc.rs`), size classes each with a free list.
    #[global_allocator]
    static ALLOCATOR: crate::allocator::Allocator = crate::allocator::Allocator::new();

    #[cfg(target_feature = "atomics")]
    compile_error!("the no_std build assumes one thread");

    /// The rules never panic on input; should anything, trap.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}

use halfopen::fleet::{FleetCounts, FleetRecord, FleetRules, Lease};
use halfopen::{AnyPolicy, Config, FleetState, State};
use wasm_bindgen::prelude::*;

/// The fleet's rules for one configuration.
#[wasm_bindgen(js_name = FleetRules)]
pub struct WasmFleetRules {
    rules: FleetRules,
}

fn parse(gen: &str, text: &str) -> Result<FleetRecord, JsError> {
    FleetRecord::parse(gen, text).map_err(|e| JsError::new(&e.to_string()))
}

fn out(r: &FleetRecord) -> String {
    let mut s = r.gen.to_string();
    s.push('|');
    s.push_str(r.to_text().as_str());
    s
}

/// The record a fleet nobody wrote yet has, at generation `gen`: closed.
#[wasm_bindgen(js_name = closedRecord)]
pub fn closed_record(gen: f64) -> String {
    out(&FleetRecord {
        gen: gen as u64,
        ..FleetRecord::new()
    })
}

/// Checks a record: its fields as
/// `GEN|mode|k|openUntil|leases|leaseUntil|successes|openedGen`, or the
/// core's error naming the field at fault.
#[wasm_bindgen(js_name = parseRecord)]
pub fn parse_record(gen: &str, text: &str) -> Result<String, JsError> {
    let r = parse(gen, text)?;
    Ok(format!(
        "{}|{}|{}|{}|{}|{}|{}|{}",
        r.gen,
        r.mode.as_str(),
        r.k,
        r.open_until_ms,
        r.leases,
        r.lease_until_ms,
        r.successes,
        r.opened_gen
    ))
}

#[wasm_bindgen(js_class = FleetRules)]
impl WasmFleetRules {
    /// The rules for the configuration given as `key=value` pairs
    /// (`;`-separated, the specification's key names), probe leases of
    /// `lease_ms`, and, when `window_ms` is not 0, outcomes counted for the
    /// fleet over `window_ms` in `buckets` buckets (`window_ms` -1: in the
    /// `timeWindow` policy's own window).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: &str,
        lease_ms: f64,
        window_ms: f64,
        buckets: f64,
    ) -> Result<WasmFleetRules, JsError> {
        let mut builder = Config::builder();
        for pair in config.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value: i64 = value
                .parse()
                .map_err(|_| JsError::new(&format!("{key} = {value:?} is not an integer")))?;
            builder = builder
                .set(key, value)
                .map_err(|e| JsError::new(&e.to_string()))?;
        }
        let config: Config<AnyPolicy> =
            builder.build().map_err(|e| JsError::new(&e.to_string()))?;
        let lease = if (1.0..=u32::MAX as f64).contains(&lease_ms) {
            lease_ms as u32
        } else {
            0
        };
        let err = |e: halfopen::fleet::FleetRulesError| JsError::new(&e.to_string());
        let mut rules = FleetRules::new(&config, lease).map_err(|e| {
            if lease == 0 {
                JsError::new(&format!(
                    "fleet.leaseMs = {lease_ms} is out of range 1..={}",
                    halfopen::MAX_DURATION_MS
                ))
            } else {
                err(e)
            }
        })?;
        if window_ms < 0.0 {
            rules = rules.counting().map_err(err)?;
        } else if window_ms > 0.0 {
            let w = if window_ms <= u32::MAX as f64 {
                window_ms as u32
            } else {
                u32::MAX
            };
            let b = if buckets <= u32::MAX as f64 && buckets >= 0.0 {
                buckets as u32
            } else {
                u32::MAX
            };
            rules = rules.counting_over(w, b).map_err(err)?;
        }
        Ok(Self { rules })
    }

    /// The configuration text instances sharing the fleet must agree on.
    #[wasm_bindgen(js_name = configText)]
    pub fn config_text(&self) -> String {
        self.rules.config_text().as_str().to_owned()
    }

    /// The first key on which `other` (the fleet's configuration text)
    /// differs from this one (`openMs: 2000 here, 1000 in the fleet`), or
    /// `undefined` if they agree.
    pub fn difference(&self, other: &str) -> Option<String> {
        let ours = self.rules.config_text();
        ours.difference(other).map(|d| d.to_string())
    }

    /// `halfOpenMaxCalls` of the configuration.
    #[wasm_bindgen(js_name = halfOpenMaxCalls)]
    pub fn half_open_max_calls(&self) -> u32 {
        self.rules.config().half_open_max_calls() as u32
    }

    /// The width of a counting bucket in ms, or 0 if outcomes are not
    /// counted for the fleet.
    #[wasm_bindgen(js_name = bucketMs)]
    pub fn bucket_ms(&self) -> f64 {
        self.rules.window().map_or(0.0, |w| w.bucket_ms() as f64)
    }

    /// The number of buckets in the fleet's window (0 if not counted).
    pub fn buckets(&self) -> u32 {
        self.rules.window().map_or(0, |w| w.buckets() as u32)
    }

    /// Whether bucket `bucket` is in the window that ends with the bucket
    /// of store time `now`.
    pub fn holds(&self, now: f64, bucket: f64) -> bool {
        self.rules
            .window()
            .is_some_and(|w| w.holds(w.bucket_at(now as u64), bucket as u64))
    }

    /// An instance that last saw generation `seen_gen` tripped.
    pub fn trip(
        &self,
        gen: &str,
        text: &str,
        seen_gen: f64,
        now: f64,
    ) -> Result<Option<String>, JsError> {
        let r = parse(gen, text)?;
        Ok(self
            .rules
            .trip(&r, seen_gen as u64, now as u64)
            .map(|n| out(&n)))
    }

    /// A probe lease: `granted|GEN|TEXT`, `reopen|GEN|TEXT` or `denied`.
    pub fn lease(&self, gen: &str, text: &str, now: f64) -> Result<String, JsError> {
        let r = parse(gen, text)?;
        Ok(match self.rules.lease(&r, now as u64) {
            Lease::Granted(n) => format!("granted|{}", out(&n)),
            Lease::Reopen(n) => format!("reopen|{}", out(&n)),
            Lease::Denied => "denied".to_owned(),
        })
    }

    /// A probe of the period `opened_gen` reported.
    pub fn probe(
        &self,
        gen: &str,
        text: &str,
        opened_gen: f64,
        success: bool,
        now: f64,
    ) -> Result<Option<String>, JsError> {
        let r = parse(gen, text)?;
        Ok(self
            .rules
            .probe(&r, opened_gen as u64, success, now as u64)
            .map(|n| out(&n)))
    }

    /// The period's leases ended unreported.
    pub fn expire(&self, gen: &str, text: &str, now: f64) -> Result<Option<String>, JsError> {
        let r = parse(gen, text)?;
        Ok(self.rules.expire(&r, now as u64).map(|n| out(&n)))
    }

    /// The fleet's window sums.
    #[wasm_bindgen(js_name = windowTrip)]
    pub fn window_trip(
        &self,
        gen: &str,
        text: &str,
        successes: f64,
        failures: f64,
        now: f64,
    ) -> Result<Option<String>, JsError> {
        let r = parse(gen, text)?;
        let counts = FleetCounts {
            successes: successes as u64,
            failures: failures as u64,
        };
        Ok(self
            .rules
            .window_trip(&r, counts, now as u64)
            .map(|n| out(&n)))
    }

    /// The window's sums `SUCCESSES|FAILURES` at store time `now` from a
    /// store's count fields, as `FIELD=COUNT` pairs joined by `;` (the
    /// core's `FleetWindow::sum`); `0|0` when outcomes are not counted for
    /// the fleet. A pair of another shape counts nothing.
    pub fn sum(&self, now: f64, fields: &str) -> String {
        let Some(w) = self.rules.window() else {
            return "0|0".to_owned();
        };
        let pairs = fields.split(';').filter_map(|p| {
            let (field, n) = p.split_once('=')?;
            Some((field, n.parse::<u64>().ok()?))
        });
        let c = w.sum(now as u64, pairs);
        format!("{}|{}", c.successes, c.failures)
    }

    /// What a periodic sync writes (the core's `FleetRules::sync`): the
    /// leases' end, the window sums when `successes`/`failures` are given,
    /// or a trip made while the store was away (`missed_trip`: the
    /// generation the instance had seen).
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &self,
        gen: &str,
        text: &str,
        successes: Option<f64>,
        failures: Option<f64>,
        missed_trip: Option<f64>,
        now: f64,
    ) -> Result<Option<String>, JsError> {
        let r = parse(gen, text)?;
        let counts = match (successes, failures) {
            (Some(s), Some(f)) => Some(FleetCounts {
                successes: s as u64,
                failures: f as u64,
            }),
            _ => None,
        };
        Ok(self
            .rules
            .sync(&r, counts, missed_trip.map(|g| g as u64), now as u64)
            .map(|n| out(&n)))
    }

    /// The record that replaces garbage (the core's `FleetRules::rebuild`):
    /// `local` is the instance's recorded state (`closed`, `open`,
    /// `halfOpen`, `isolated`), `stored_gen` the generation as the store
    /// holds it.
    pub fn rebuild(
        &self,
        seen_gen: f64,
        stored_gen: &str,
        local: &str,
        now: f64,
    ) -> Result<String, JsError> {
        let local = match local {
            "closed" => State::Closed,
            "open" => State::Open,
            "halfOpen" => State::HalfOpen,
            "isolated" => State::Isolated,
            other => {
                return Err(JsError::new(&format!(
                    "halfopen: unknown local state {other:?}"
                )))
            }
        };
        Ok(out(&self.rules.rebuild(
            seen_gen as u64,
            stored_gen.parse().ok(),
            local,
            now as u64,
        )))
    }

    /// `isolate()` on the fleet.
    pub fn isolate(&self, gen: &str, text: &str) -> Result<String, JsError> {
        Ok(out(&self.rules.isolate(&parse(gen, text)?)))
    }

    /// `reset()` on the fleet.
    pub fn reset(&self, gen: &str, text: &str) -> Result<String, JsError> {
        Ok(out(&self.rules.reset(&parse(gen, text)?)))
    }

    /// A record written again at the next generation, unchanged otherwise
    /// (the first instance of a fleet writes its configuration with it).
    pub fn touch(&self, gen: &str, text: &str) -> Result<String, JsError> {
        let r = parse(gen, text)?;
        Ok(out(&FleetRecord {
            gen: r.gen.wrapping_add(1),
            ..r
        }))
    }

    /// What an instance adopts at store time `now`: `open|REMAINING|K`,
    /// `closed` or `isolated`.
    pub fn view(&self, gen: &str, text: &str, now: f64) -> Result<String, JsError> {
        let r = parse(gen, text)?;
        Ok(match self.rules.view(&r, now as u64) {
            FleetState::Open { remaining_ms, k } => format!("open|{remaining_ms}|{k}"),
            FleetState::Closed => "closed".to_owned(),
            FleetState::Isolated => "isolated".to_owned(),
        })
    }
}
