//! The fleet's rules: unit tests, and property tests against a sequential
//! model of FLEET.md's table.
//!
//! The model keeps the fleet as an enum with plain fields (no record, no
//! generations) and applies each event as the table says it; the property
//! drives both with the same events at a store clock that moves forwards, and
//! compares the fleet state, `k`, the open period and what an instance would
//! adopt after every event. A second property runs several instances with
//! stale reads against a store that compare-and-sets on the generation, in
//! any interleaving, and checks what the fleet promises: at most
//! `halfOpenMaxCalls` probes per open period, generations only grow, a
//! stale trip never re-opens a fleet that moved on.

#![cfg(feature = "fleet")]

use std::collections::BTreeSet;

use halfopen::fleet::{
    FleetCounts, FleetMode, FleetRecord, FleetRecordError, FleetRules, FleetRulesError, Lease,
};
use halfopen::{AnyPolicy, Config, FleetState, MAX_DURATION_MS};
use proptest::prelude::*;

fn rules(threshold: u32, open_ms: u32, max_calls: u32, successes: u32) -> FleetRules {
    let config = Config::consecutive_failures(threshold)
        .open_ms(open_ms)
        .half_open_max_calls(max_calls)
        .success_threshold(successes)
        .build()
        .unwrap();
    FleetRules::new(&config, 2_000).unwrap()
}

#[test]
fn a_trip_opens_a_closed_fleet_at_the_generation_seen() {
    let r = rules(5, 10_000, 1, 1);
    let rec = FleetRecord::new();
    let open = r.trip(&rec, 0, 100).unwrap();
    assert_eq!(open.mode, FleetMode::Open);
    assert_eq!((open.gen, open.opened_gen, open.k), (1, 1, 0));
    assert_eq!(open.open_until_ms, 10_100);
    // A stale trip (the instance saw an older generation) loses.
    assert_eq!(r.trip(&open, 0, 200), None);
    let closed = r.reset(&open);
    assert_eq!(
        r.trip(&closed, 1, 300),
        None,
        "the fleet moved on since gen 1"
    );
    assert!(r.trip(&closed, 2, 300).is_some());
}

#[test]
fn leases_are_limited_per_period_and_expire_into_a_reopening() {
    let r = rules(5, 1_000, 2, 2);
    let open = r.trip(&FleetRecord::new(), 0, 0).unwrap();
    assert_eq!(r.lease(&open, 999), Lease::Denied, "open period not over");
    let Lease::Granted(a) = r.lease(&open, 1_000) else {
        panic!()
    };
    assert_eq!((a.leases, a.lease_until_ms, a.opened_gen), (1, 3_000, 1));
    assert_eq!(r.view(&a, 1_001), FleetState::open(0, 0).unwrap());
    let Lease::Granted(b) = r.lease(&a, 1_500) else {
        panic!()
    };
    assert_eq!((b.leases, b.lease_until_ms), (2, 3_000));
    assert_eq!(r.lease(&b, 1_600), Lease::Denied);
    // Refused: open until the leases end (3_000), at most one open period
    // (1_000) from now.
    assert_eq!(r.view(&b, 1_600), FleetState::open(1_000, 0).unwrap());
    assert_eq!(r.view(&b, 2_500), FleetState::open(500, 0).unwrap());
    // One success of two: still open, and the probe's lease is free again.
    let c = r.probe(&b, 1, true, 1_700).unwrap();
    assert_eq!((c.mode, c.successes, c.leases), (FleetMode::Open, 1, 1));
    // Leases end unreported: the fleet re-opens with k + 1.
    let Lease::Reopen(d) = r.lease(&c, 3_000) else {
        panic!()
    };
    assert_eq!(
        (d.mode, d.k, d.leases, d.successes),
        (FleetMode::Open, 1, 0, 0)
    );
    assert_eq!(d.open_until_ms, 4_000);
    assert_eq!(r.expire(&c, 3_000), Some(d));
    // A late report of the old period changes nothing.
    assert_eq!(r.probe(&d, 1, true, 3_001), None);
}

#[test]
fn probes_close_or_reopen() {
    let r = rules(5, 1_000, 1, 1);
    let open = r.trip(&FleetRecord::new(), 0, 0).unwrap();
    let Lease::Granted(leased) = r.lease(&open, 1_000) else {
        panic!()
    };
    let closed = r.probe(&leased, leased.opened_gen, true, 1_010).unwrap();
    assert_eq!(closed.mode, FleetMode::Closed);
    assert_eq!(
        closed,
        FleetRecord {
            gen: leased.gen + 1,
            ..FleetRecord::new()
        }
    );
    let reopened = r.probe(&leased, leased.opened_gen, false, 1_010).unwrap();
    assert_eq!((reopened.mode, reopened.k), (FleetMode::Open, 1));
    // Without a lease, a report is nobody's.
    assert_eq!(r.probe(&open, open.opened_gen, true, 1_010), None);
}

#[test]
fn backoff_applies_to_fleet_reopenings() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .backoff(2, 5_000)
        .build()
        .unwrap();
    let r = FleetRules::new(&config, 500).unwrap();
    let mut rec = r.trip(&FleetRecord::new(), 0, 0).unwrap();
    let mut now = 0;
    for want in [2_000, 4_000, 5_000, 5_000] {
        now = rec.open_until_ms;
        let Lease::Granted(l) = r.lease(&rec, now) else {
            panic!()
        };
        rec = r.probe(&l, l.opened_gen, false, now).unwrap();
        assert_eq!(rec.open_until_ms - now, want);
    }
    assert_eq!(rec.k, 4);
    let _ = now;
}

#[test]
fn isolate_and_reset_take_the_whole_fleet() {
    let r = rules(5, 1_000, 1, 1);
    let iso = r.isolate(&FleetRecord::new());
    assert_eq!((iso.gen, iso.mode), (1, FleetMode::Isolated));
    assert_eq!(r.view(&iso, 0), FleetState::Isolated);
    assert_eq!(r.trip(&iso, 1, 0), None);
    assert_eq!(r.lease(&iso, 10_000), Lease::Denied);
    let closed = r.reset(&iso);
    assert_eq!((closed.gen, closed.mode), (2, FleetMode::Closed));
}

#[test]
fn window_sums_trip_a_closed_fleet() {
    let config = Config::time_window(50, 10_000, 10, 20).build().unwrap();
    let r = FleetRules::new(&config, 1_000).unwrap().counting().unwrap();
    let w = r.window().unwrap();
    assert_eq!((w.bucket_ms(), w.bucket_at(12_345)), (1_000, 12));
    assert!(w.holds(12, 3) && !w.holds(12, 2) && !w.holds(12, 13));
    let rec = FleetRecord::new();
    let few = FleetCounts {
        successes: 5,
        failures: 14,
    };
    assert_eq!(
        r.window_trip(&rec, few, 0),
        None,
        "19 calls < minimumCalls 20"
    );
    let enough = FleetCounts {
        successes: 10,
        failures: 10,
    };
    let open = r.window_trip(&rec, enough, 7).unwrap();
    assert_eq!(
        (open.mode, open.open_until_ms),
        (FleetMode::Open, 7 + 30_000)
    );
    assert_eq!(r.window_trip(&open, enough, 8), None);

    let rate = Config::failure_rate(50, 20, 10).build().unwrap();
    let r = FleetRules::new(&rate, 1_000).unwrap();
    assert_eq!(r.counting(), Err(FleetRulesError::NeedsWindowMs));
    let r = r.counting_over(5_000, 5).unwrap();
    assert!(r.window().unwrap().trips(FleetCounts {
        successes: 5,
        failures: 5
    }));
    assert_eq!(
        r.counting_over(5_001, 5).unwrap_err().to_string(),
        "fleet.windowMs = 5001 is out of range 1..=2147483647 or not a multiple of fleet.buckets"
    );
}

#[test]
fn bad_rules_are_refused_with_the_key() {
    let config = Config::consecutive_failures(5).build().unwrap();
    assert_eq!(
        FleetRules::new(&config, 0).unwrap_err().to_string(),
        "fleet.leaseMs = 0 is out of range 1..=2147483647"
    );
    assert_eq!(
        FleetRules::new(&config, 1_000)
            .unwrap()
            .counting_over(1_000, 0),
        Err(FleetRulesError::Buckets(0))
    );
}

#[test]
fn record_text_round_trips_and_garbage_is_named() {
    let r = rules(5, 1_000, 3, 2);
    let open = r.trip(&FleetRecord::new(), 41, 0);
    assert_eq!(open, None);
    let rec = FleetRecord {
        gen: 41,
        ..FleetRecord::new()
    };
    let open = r.trip(&rec, 41, 5).unwrap();
    let Lease::Granted(l) = r.lease(&open, 1_005) else {
        panic!()
    };
    let text = l.to_text();
    assert_eq!(
        text.as_str(),
        "mode=open;k=0;openUntil=1005;leases=1;leaseUntil=3005;successes=0;openedGen=42"
    );
    assert_eq!(FleetRecord::parse("43", text.as_str()), Ok(l));
    for (gen, garbage, err) in [
        ("x", text.as_str(), FleetRecordError::Field("gen")),
        ("1", "", FleetRecordError::Missing("mode")),
        ("1", "garbage\u{0}\u{ff}", FleetRecordError::Missing("mode")),
        ("1", "mode=half;k=0", FleetRecordError::Field("mode")),
        (
            "1",
            "mode=open;k=0;openUntil=-1;leases=0;leaseUntil=0;successes=0;openedGen=0",
            FleetRecordError::Field("openUntil"),
        ),
        (
            "1",
            "mode=open;k=0;openUntil=1;leases=0;leaseUntil=0;successes=0;openedGen=0;x=1",
            FleetRecordError::Trailing,
        ),
        (
            "1",
            "mode=closed;k=0;openUntil=1;leases=2;leaseUntil=0;successes=0;openedGen=0",
            FleetRecordError::Inconsistent,
        ),
    ] {
        assert_eq!(FleetRecord::parse(gen, garbage), Err(err), "{garbage:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn config_text_names_every_key_and_the_difference() {
    let a = Config::time_window(50, 10_000, 10, 20)
        .open_ms(5_000)
        .build()
        .unwrap();
    let b = Config::time_window(50, 10_000, 10, 20)
        .open_ms(6_000)
        .build()
        .unwrap();
    let ra = FleetRules::new(&a, 1_000).unwrap().counting().unwrap();
    let rb = FleetRules::new(&b, 1_000).unwrap().counting().unwrap();
    let ta = ra.config_text();
    assert_eq!(
        ta.as_str(),
        "timeWindow.percent=50;timeWindow.failures=0;timeWindow.windowMs=10000;timeWindow.buckets=10;\
         timeWindow.minimumCalls=20;openMs=5000;halfOpenMaxCalls=1;successThreshold=1;slowCallMs=0;\
         backoff.factor=0;backoff.maxOpenMs=5000;halfOpenMaxWaitMs=0;jitter.percent=0;jitter.seed=0;\
         fleet.leaseMs=1000;fleet.windowMs=10000;fleet.buckets=10"
    );
    assert_ne!(ta.fingerprint(), rb.config_text().fingerprint());
    assert_eq!(
        ta.difference(rb.config_text().as_str())
            .unwrap()
            .to_string(),
        "openMs: 5000 here, 6000 in the fleet"
    );
    let c = FleetRules::new(&Config::consecutive_failures(3).build().unwrap(), 1_000).unwrap();
    assert_eq!(
        ta.difference(c.config_text().as_str()).unwrap().to_string(),
        "timeWindow.percent: 50 here, absent in the fleet"
    );
    assert_eq!(
        ta.difference("garbage").unwrap().to_string(),
        "timeWindow.percent: 50 here, absent in the fleet"
    );
}

// ---- the sequential model ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    Closed,
    Isolated,
    Open {
        k: u8,
        until: u64,
        /// Leases granted this period, and when they end.
        leases: u8,
        lease_end: u64,
        successes: u16,
        period: u32,
    },
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Advance(u64),
    Trip { fresh: bool },
    Lease,
    Probe { success: bool, stale: bool },
    Window { successes: u64, failures: u64 },
    Isolate,
    Reset,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (0u64..3_000).prop_map(Event::Advance),
        2 => any::<bool>().prop_map(|fresh| Event::Trip { fresh }),
        3 => Just(Event::Lease),
        3 => (any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(success, stale)| Event::Probe { success, stale }),
        1 => (0u64..30, 0u64..30).prop_map(|(successes, failures)| Event::Window { successes, failures }),
        1 => Just(Event::Isolate),
        1 => Just(Event::Reset),
    ]
}

fn config() -> impl Strategy<Value = (Config<AnyPolicy>, u32)> {
    (
        1u32..4,
        1u32..4,
        1u32..3_000,
        prop::option::of(2u32..4),
        1u32..4_000,
    )
        .prop_map(|(max_calls, successes, open_ms, factor, lease_ms)| {
            let mut b = Config::time_window(50, 1_000, 1, 10)
                .open_ms(open_ms)
                .half_open_max_calls(max_calls)
                .success_threshold(successes);
            if let Some(f) = factor {
                b = b.backoff(f, open_ms * 10);
            }
            (b.build().unwrap().into_any(), lease_ms)
        })
}

struct Sim {
    model: Model,
    period: u32,
}

impl Sim {
    fn open(&mut self, c: &Config<AnyPolicy>, now: u64, k: u8) {
        self.period += 1;
        self.model = Model::Open {
            k,
            until: now + c.open_duration_ms(k as u32) as u64,
            leases: 0,
            lease_end: 0,
            successes: 0,
            period: self.period,
        };
    }

    /// The table: returns whether the fleet changed.
    fn apply(&mut self, c: &Config<AnyPolicy>, lease_ms: u32, now: u64, e: &Event) {
        match (*e, self.model) {
            (Event::Trip { fresh: true }, Model::Closed) => self.open(c, now, 0),
            (
                Event::Window {
                    successes,
                    failures,
                },
                Model::Closed,
            ) => {
                let calls = successes + failures;
                if calls >= 10 && failures * 100 >= 50 * calls {
                    self.open(c, now, 0)
                }
            }
            (Event::Isolate, _) => self.model = Model::Isolated,
            (Event::Reset, _) => self.model = Model::Closed,
            (
                Event::Lease | Event::Probe { .. },
                Model::Open {
                    k,
                    leases,
                    lease_end,
                    ..
                },
            ) if leases > 0 && now >= lease_end => self.open(c, now, (k + 1).min(31)),
            (
                Event::Lease,
                Model::Open {
                    until,
                    leases,
                    lease_end,
                    ..
                },
            ) if now >= until && leases < c.half_open_max_calls() => {
                if let Model::Open {
                    leases: l,
                    lease_end: e,
                    ..
                } = &mut self.model
                {
                    *l += 1;
                    *e = if leases == 0 {
                        now + lease_ms as u64
                    } else {
                        lease_end
                    };
                }
            }
            (
                Event::Probe {
                    success,
                    stale: false,
                },
                Model::Open {
                    k,
                    leases,
                    successes,
                    ..
                },
            ) if leases > 0 => {
                if !success {
                    self.open(c, now, (k + 1).min(31))
                } else if successes + 1 >= c.success_threshold() {
                    self.model = Model::Closed
                } else if let Model::Open {
                    successes: s,
                    leases: l,
                    ..
                } = &mut self.model
                {
                    *s += 1;
                    *l -= 1;
                }
            }
            _ => {}
        }
    }

    fn view(&self, c: &Config<AnyPolicy>, now: u64) -> FleetState {
        match self.model {
            Model::Closed => FleetState::Closed,
            Model::Isolated => FleetState::Isolated,
            Model::Open {
                k,
                until,
                leases,
                lease_end,
                ..
            } => {
                let remaining = if now < until {
                    until - now
                } else if leases >= c.half_open_max_calls() {
                    lease_end
                        .saturating_sub(now)
                        .min(c.open_duration_ms(k as u32) as u64)
                } else {
                    0
                };
                FleetState::open(remaining.min(MAX_DURATION_MS as u64), k as u32).unwrap()
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn rules_agree_with_the_sequential_model(
        (config, lease_ms) in config(),
        events in prop::collection::vec(event(), 1..80),
    ) {
        let rules = FleetRules::new(&config, lease_ms).unwrap().counting().unwrap();
        let mut rec = FleetRecord::new();
        let mut sim = Sim { model: Model::Closed, period: 0 };
        let mut now = 1_000_000u64;
        for (i, e) in events.iter().enumerate() {
            let before = rec;
            let next = match *e {
                Event::Advance(d) => { now += d; None }
                Event::Trip { fresh } => rules.trip(&rec, if fresh { rec.gen } else { rec.gen.wrapping_sub(1) }, now),
                Event::Lease => match rules.lease(&rec, now) {
                    Lease::Granted(r) | Lease::Reopen(r) => Some(r),
                    Lease::Denied => None,
                },
                Event::Probe { success, stale } => {
                    let period = if stale { rec.opened_gen.wrapping_sub(1) } else { rec.opened_gen };
                    rules.probe(&rec, period, success, now)
                }
                Event::Window { successes, failures } => rules.window_trip(&rec, FleetCounts { successes, failures }, now),
                Event::Isolate => Some(rules.isolate(&rec)),
                Event::Reset => Some(rules.reset(&rec)),
            };
            sim.apply(&config, lease_ms, now, e);
            if let Some(n) = next {
                prop_assert_eq!(n.gen, before.gen + 1, "step {}: every write is one generation", i);
                let text = n.to_text();
                prop_assert_eq!(FleetRecord::parse(&n.gen.to_string(), text.as_str()), Ok(n));
                rec = n;
            }
            prop_assert_eq!(rules.view(&rec, now), sim.view(&config, now), "step {}: {:?} -> {:?}", i, e, rec);
            match sim.model {
                Model::Closed => prop_assert_eq!(rec.mode, FleetMode::Closed),
                Model::Isolated => prop_assert_eq!(rec.mode, FleetMode::Isolated),
                Model::Open { k, until, leases, successes, .. } => {
                    prop_assert_eq!(rec.mode, FleetMode::Open);
                    prop_assert_eq!((rec.k, rec.open_until_ms, rec.leases, rec.successes), (k, until, leases, successes), "step {}", i);
                }
            }
        }
    }

    /// Instances read the store, decide with the rules on what they read
    /// (possibly long ago), and compare-and-set on the generation: whatever
    /// the interleaving, a period grants at most `halfOpenMaxCalls` leases,
    /// generations only grow, and a write lands only over the record it was
    /// computed from.
    #[test]
    fn racing_instances_never_exceed_the_lease_limit(
        (config, lease_ms) in config(),
        ops in prop::collection::vec((0usize..4, 0u8..6, 0u64..800), 1..150),
    ) {
        let rules = FleetRules::new(&config, lease_ms).unwrap();
        let mut store = FleetRecord::new();
        let mut now = 0u64;
        // Each instance's last read of the store, and the periods it holds a lease of.
        let mut reads = [FleetRecord::new(); 4];
        let mut held: [Option<u64>; 4] = [None; 4];
        let mut granted: std::collections::BTreeMap<u64, u32> = Default::default();
        let mut gens = BTreeSet::new();
        for (who, op, dt) in ops {
            now += dt;
            let seen = reads[who];
            let proposal = match op {
                0 => { reads[who] = store; None }
                1 => rules.trip(&seen, seen.gen, now),
                2 | 3 => match rules.lease(&seen, now) {
                    Lease::Granted(r) => Some((r, true)).map(|(r, _)| r),
                    Lease::Reopen(r) => Some(r),
                    Lease::Denied => None,
                },
                4 => held[who].and_then(|p| rules.probe(&seen, p, dt % 2 == 0, now)),
                _ => rules.expire(&seen, now),
            };
            if let Some(next) = proposal {
                // The store's compare-and-set on the generation.
                if store.gen == seen.gen {
                    prop_assert!(next.gen > store.gen);
                    prop_assert!(gens.insert(next.gen));
                    if next.mode == FleetMode::Open && next.leases > seen.leases && next.opened_gen == seen.opened_gen {
                        held[who] = Some(next.opened_gen);
                        let n = granted.entry(next.opened_gen).or_default();
                        *n += 1;
                    }
                    // Leases out at once never exceed halfOpenMaxCalls; grants
                    // beyond it only follow successes that freed a lease.
                    prop_assert!(next.leases <= config.half_open_max_calls(), "{:?}", next);
                    if let Some(&n) = granted.get(&next.opened_gen) {
                        prop_assert!(n <= config.half_open_max_calls() as u32 + next.successes as u32, "period {} granted {} leases", next.opened_gen, n);
                    }
                    if op == 4 { held[who] = None; }
                    store = next;
                }
                reads[who] = store;
            }
        }
    }
}

#[test]
fn sync_takes_the_first_rule_that_applies_and_rebuild_replaces_garbage() {
    use halfopen::State;
    let config = Config::time_window(50, 10_000, 10, 4)
        .open_ms(1_000)
        .build()
        .unwrap();
    let r = FleetRules::new(&config, 500).unwrap().counting().unwrap();
    let rec = FleetRecord {
        gen: 7,
        ..FleetRecord::new()
    };
    let failing = FleetCounts {
        successes: 0,
        failures: 4,
    };
    // Nothing to do.
    assert_eq!(r.sync(&rec, Some(FleetCounts::default()), None, 10), None);
    // The window sums fire; a missed trip at a stale generation does not.
    assert_eq!(
        r.sync(&rec, Some(failing), None, 10),
        r.window_trip(&rec, failing, 10)
    );
    assert_eq!(r.sync(&rec, None, Some(6), 10), None);
    assert_eq!(r.sync(&rec, None, Some(7), 10), r.trip(&rec, 7, 10));
    // Leases that ended come first.
    let open = r.trip(&rec, 7, 0).unwrap();
    let Lease::Granted(leased) = r.lease(&open, 1_000) else {
        panic!()
    };
    assert_eq!(
        r.sync(&leased, Some(failing), Some(9), 1_500),
        r.expire(&leased, 1_500)
    );
    assert_eq!(r.sync(&leased, Some(failing), Some(9), 1_500).unwrap().k, 1);

    // Garbage: a generation past both the seen and the stored one.
    let c = r.rebuild(5, Some(9), State::Closed, 100);
    assert_eq!((c.gen, c.mode), (10, FleetMode::Closed));
    let o = r.rebuild(12, None, State::HalfOpen, 100);
    assert_eq!(
        (o.gen, o.mode, o.open_until_ms),
        (13, FleetMode::Open, 1_100)
    );
    assert_eq!(
        r.rebuild(0, None, State::Isolated, 0).mode,
        FleetMode::Isolated
    );
}
