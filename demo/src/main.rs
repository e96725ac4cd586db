//! A flaky downstream behind a breaker, on the real clock.
//!
//! The downstream goes through five phases: healthy, an outage (every call
//! fails), healthy, a slow period (calls succeed but take longer than the
//! slow-call threshold), healthy again. The demo calls it every 25 ms for four seconds
//! and prints a timeline of calls, rejections and transitions, then the
//! metrics.
//!
//! Transitions are printed where they happened: one the breaker makes while
//! granting a call (open -> halfOpen once the open period is over) comes
//! before that call's line, one its outcome causes (closed -> open) after it.
//!
//! Run: `cargo run --release -p halfopen-demo`

use std::sync::Mutex;
use std::thread::sleep;
use std::time::Duration;

use halfopen::{
    Breaker, CallError, Clock, Config, Counters, OnTransition, State, StdClock, Transition,
};

/// What the downstream does at `t` ms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Healthy,
    Outage,
    Slow,
}

fn phase(t: u64) -> Phase {
    match t {
        0..700 => Phase::Healthy,
        700..1_300 => Phase::Outage,
        1_300..2_000 => Phase::Healthy,
        2_000..2_800 => Phase::Slow,
        _ => Phase::Healthy,
    }
}

fn downstream(t: u64) -> Result<u32, &'static str> {
    match phase(t) {
        Phase::Healthy => {
            sleep(Duration::from_millis(2));
            Ok(200)
        }
        Phase::Outage => Err("connection refused"),
        Phase::Slow => {
            sleep(Duration::from_millis(60));
            Ok(200)
        }
    }
}

/// Prints runs of identical events as one line.
struct Timeline {
    kind: String,
    since: u64,
    count: u32,
}

impl Timeline {
    fn event(&mut self, t: u64, kind: String) {
        if kind == self.kind {
            self.count += 1;
            return;
        }
        self.flush();
        self.kind = kind;
        self.since = t;
        self.count = 1;
    }

    fn flush(&mut self) {
        if self.count > 0 {
            let times = if self.count > 1 {
                format!("  x{}", self.count)
            } else {
                String::new()
            };
            println!(
                "  {:>6.3}s  {}{}",
                self.since as f64 / 1000.0,
                self.kind,
                times
            );
            self.count = 0;
        }
    }

    fn note(&mut self, t: u64, text: &str) {
        self.flush();
        self.kind.clear();
        println!("  {:>6.3}s  {}", t as f64 / 1000.0, text);
    }
}

fn main() {
    let config = Config::consecutive_failures(3)
        .open_ms(300)
        .backoff(2, 1_200)
        .slow_call_ms(40)
        .success_threshold(2)
        .build()
        .expect("a valid configuration");
    let start = StdClock.now_ms();
    let now = || StdClock.now_ms() - start;
    // Each transition with the time it happened, in the order it happened.
    let transitions = Mutex::new(Vec::new());
    let breaker = Breaker::with_observer(
        &config,
        StdClock,
        (
            Counters::new(),
            OnTransition(|tr: Transition| transitions.lock().unwrap().push((now(), tr))),
        ),
    );

    println!("halfopen demo: a flaky downstream behind a circuit breaker");
    println!(
        "  breaker: trips after 3 failures in a row, open 300 ms (x2 per failed trial, up to 1200 ms),"
    );
    println!("           calls of 40 ms or more count as failures, 2 trial successes close it");
    println!("  downstream: healthy, outage at 0.7 s, healthy at 1.3 s, slow at 2.0 s, healthy at 2.8 s\n");

    let mut timeline = Timeline {
        kind: String::new(),
        since: 0,
        count: 0,
    };
    let mut last_phase = None;
    while now() < 4_000 {
        let t = now();
        let p = phase(t);
        if last_phase != Some(p) {
            timeline.note(t, &format!("-- downstream is now {p:?} --").to_lowercase());
            last_phase = Some(p);
        }
        let started = now();
        // How many transitions had happened when the downstream was called:
        // those the acquire made come before this call's line, those its
        // outcome made after it.
        let mut before_call = None;
        let result = breaker.call(|| {
            before_call = Some(transitions.lock().unwrap().len());
            downstream(t)
        });
        let kind = match result {
            Ok(_) if now() - started >= 40 => "call ok but slow (counted as a failure)".to_owned(),
            Ok(_) => "call ok".to_owned(),
            Err(CallError::Inner(e)) => format!("call failed: {e}"),
            Err(CallError::Rejected(r)) => format!("rejected: {}", r.reason().as_str()),
            Err(e) => format!("error: {e}"),
        };
        let retry_at = breaker.metrics().retry_at;
        let note = |timeline: &mut Timeline, (at, tr): (u64, Transition)| {
            let retry = match (tr.to, retry_at) {
                (State::Open, Some(retry)) => {
                    format!(" (retry at {:.3}s)", (retry - start) as f64 / 1000.0)
                }
                _ => String::new(),
            };
            timeline.note(at, &format!("==> {} -> {}{}", tr.from, tr.to, retry));
        };
        let happened: Vec<_> = transitions.lock().unwrap().drain(..).collect();
        // A rejected call never reached the downstream: all its transitions
        // came from the acquire.
        let (in_acquire, at_outcome) = happened.split_at(before_call.unwrap_or(happened.len()));
        for &tr in in_acquire {
            note(&mut timeline, tr);
        }
        timeline.event(t, kind);
        for &tr in at_outcome {
            note(&mut timeline, tr);
        }
        sleep(Duration::from_millis(25));
    }
    timeline.flush();

    let m = breaker.metrics();
    println!("\nmetrics:");
    println!("  state        {}", m.state);
    println!("  successes    {}", m.successes);
    println!(
        "  failures     {} (of which slow: {})",
        m.failures, m.slow_calls
    );
    println!("  rejected     {}", m.rejected);
    println!("  transitions  {}", m.transitions);
    println!("  health       {}", breaker.health().as_str());
}
