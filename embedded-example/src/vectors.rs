//! The conformance vectors, run on the device.
//!
//! `build.rs` turns the JSON vector files (BEHAVIOR.md format) into the
//! static table below; [`run`] executes every case against a real breaker
//! with a clock that reads the step's `at`, and logs one line per case
//! (`ok NAME` / `FAIL NAME: step I: expected X, got Y`) and the totals.

#![allow(dead_code)]

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Op {
    Acquire,
    Success,
    Failure,
    Ignore,
    Drop,
    Call,
    State,
    Isolate,
    Reset,
}

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Outcome {
    Success,
    Failure,
    Ignore,
    Drop,
}

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Reject {
    Open,
    HalfOpenFull,
    Isolated,
}

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum StateName {
    Closed,
    Open,
    HalfOpen,
    Isolated,
}

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
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

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum MetricValue {
    Num(u64),
    Null,
    State(StateName),
}

pub struct Expect {
    pub allowed: Option<bool>,
    pub reject: Option<Reject>,
    pub state: Option<StateName>,
    pub config_error: Option<&'static str>,
    pub metrics: &'static [(Metric, MetricValue)],
}

impl Expect {
    pub const NONE: Expect =
        Expect { allowed: None, reject: None, state: None, config_error: None, metrics: &[] };
}

pub struct Step {
    pub at: u64,
    pub op: Op,
    /// Permit slot: set by `acquire`, used by `success`/`failure`/`ignore`/`drop`.
    pub slot: usize,
    /// For `call`.
    pub outcome: Outcome,
    pub duration_ms: u64,
    pub expect: Expect,
}

pub struct Case {
    pub name: &'static str,
    pub file: &'static str,
    /// Why the device cannot run this case (reported as a failure).
    pub unsupported: Option<&'static str>,
    /// `(key path, value)` pairs for `Config::builder().set`.
    pub config: &'static [(&'static str, i64)],
    pub steps: &'static [Step],
}

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
