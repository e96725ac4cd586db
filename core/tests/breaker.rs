//! Behaviour of the breaker, rule by rule, on the mock clock.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use halfopen::{
    config, presets, AnyPolicy, Breaker, CallError, Clock, Config, ConfigErrorKind, Counters,
    Health, MockClock, OnTransition, Outcome, Registry, RegistryError, RejectReason, SnapshotError,
    State, Transition, SNAPSHOT_LEN,
};

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A clock that counts how often it is read.
#[derive(Default)]
struct CountingClock {
    inner: MockClock,
    reads: std::sync::atomic::AtomicU32,
}

impl Clock for CountingClock {
    fn now_ms(&self) -> u64 {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get()
    }
}

impl CountingClock {
    fn reads(&self) -> u32 {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn consecutive_failures_trip_and_success_resets_the_run() {
    let config = Config::consecutive_failures(3).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().success();
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Closed);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn ignore_and_drop_neither_extend_nor_reset_the_run() {
    let config = Config::consecutive_failures(2).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().ignore();
    drop(b.try_acquire().unwrap());
    assert_eq!(b.state(), State::Closed);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn closed_success_does_not_read_the_clock() {
    let config = Config::consecutive_failures(2).build().unwrap();
    let clock = CountingClock::default();
    let b = Breaker::new(&config, &clock);
    for _ in 0..100 {
        b.try_acquire().unwrap().success();
        assert_eq!(b.call(|| Ok::<_, ()>(1)), Ok(1));
    }
    b.try_acquire().unwrap().failure();
    assert_eq!(clock.reads(), 0);
    b.try_acquire().unwrap().failure(); // trips: now the time is needed
    assert_eq!(clock.reads(), 1);
}

#[test]
fn slow_call_detection_reads_the_clock_around_calls_only() {
    let config = Config::consecutive_failures(1)
        .slow_call_ms(100)
        .build()
        .unwrap();
    let clock = CountingClock::default();
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    let p = b.try_acquire().unwrap();
    clock.inner.advance(99);
    p.success();
    assert_eq!(clock.reads(), 2);
    assert_eq!(b.state(), State::Closed);
    let p = b.try_acquire().unwrap();
    clock.inner.advance(100);
    p.success();
    assert_eq!(b.state(), State::Open);
    let m = b.metrics();
    assert_eq!((m.successes, m.failures, m.slow_calls), (1, 1, 1));
}

#[test]
fn open_rejects_with_retry_hint_then_half_open_is_lazy() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(10);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    b.try_acquire().unwrap().failure();
    clock.set(500);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.reason(), RejectReason::Open);
    assert_eq!(r.retry_after_ms(), Some(510));
    assert_eq!(
        r.to_string(),
        "circuit open: call rejected, retry in 510 ms"
    );
    clock.set(1_010);
    // Reading the state is pure: half-open, but no transition recorded yet.
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.metrics().transitions, 1);
    let p = b.try_acquire().unwrap();
    assert_eq!(b.metrics().transitions, 2);
    let full = b.try_acquire().unwrap_err();
    assert_eq!(full.reason(), RejectReason::HalfOpenFull);
    assert_eq!(full.retry_after_ms(), None);
    p.success();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().transitions, 3);
}

#[test]
fn half_open_limits_trials_and_needs_the_success_threshold() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .half_open_max_calls(2)
        .success_threshold(3)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    clock.set(100);
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    assert_eq!(
        b.try_acquire().unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
    p1.success();
    let p3 = b.try_acquire().unwrap();
    drop(p2); // a cancelled trial frees its slot and counts nothing
    let p4 = b.try_acquire().unwrap();
    p3.success();
    assert_eq!(b.state(), State::HalfOpen);
    p4.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn any_trial_failure_reopens_with_backoff_up_to_the_cap() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .backoff(3, 500)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    b.try_acquire().unwrap().failure();
    let mut t = 0;
    for expected in [100u64, 300, 500, 500, 500] {
        assert_eq!(b.metrics().retry_at, Some(t + expected));
        t += expected;
        clock.set(t - 1);
        assert_eq!(b.state(), State::Open);
        clock.set(t);
        b.try_acquire().unwrap().failure();
    }
    // Closing clears the backoff step.
    clock.set(t + 500);
    b.try_acquire().unwrap().success();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.metrics().retry_at, Some(t + 500 + 100));
}

#[test]
fn stale_outcomes_count_in_totals_but_change_nothing() {
    let config = Config::consecutive_failures(2)
        .open_ms(100)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    let old = b.try_acquire().unwrap();
    b.try_acquire().unwrap().failure();
    b.reset(); // a new epoch
    b.try_acquire().unwrap().failure();
    old.failure(); // belongs to the earlier epoch: no trip
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().failures, 3);
}

#[test]
fn stale_trial_permit_cannot_close_a_reopened_breaker() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .half_open_max_calls(2)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    clock.set(100);
    let a = b.try_acquire().unwrap();
    let c = b.try_acquire().unwrap();
    a.failure();
    assert_eq!(b.state(), State::Open);
    c.success();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn isolate_and_reset_from_every_state() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    b.reset(); // closed -> closed: a new epoch, no transition
    assert_eq!((b.epoch(), b.metrics().transitions), (1, 0));
    b.isolate();
    assert_eq!(
        b.try_acquire().unwrap_err().reason(),
        RejectReason::Isolated
    );
    b.isolate(); // isolated -> isolated: a new epoch, no transition
    assert_eq!((b.epoch(), b.metrics().transitions), (3, 1));
    clock.set(1_000_000);
    assert_eq!(b.state(), State::Isolated);
    b.reset();
    b.try_acquire().unwrap().failure();
    b.isolate();
    assert_eq!(b.state(), State::Isolated);
    b.reset();
    b.try_acquire().unwrap().failure();
    clock.advance(100);
    let _trial = b.try_acquire().unwrap();
    b.isolate();
    assert_eq!(b.state(), State::Isolated);
    assert_eq!(b.metrics().transitions, 8);
}

#[test]
fn clock_going_backwards_never_shortens_an_open_period() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(5_000);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    clock.set(0);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.try_acquire().unwrap_err().retry_after_ms(), Some(6_000));
    clock.set(5_999);
    assert_eq!(b.state(), State::Open);
    clock.set(6_000);
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn elapsed_time_is_unbounded() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .build()
        .unwrap();
    for opened in [
        0u64,
        (1 << 32) - 10,
        1 << 40,
        1_764_000_000_000,
        (1 << 58) + 12_345,
    ] {
        let clock = MockClock::new(opened);
        let b = Breaker::with_observer(&config, &clock, Counters::new());
        b.try_acquire().unwrap().failure();
        assert_eq!(b.metrics().opened_at, Some(opened));
        // Just over 2^32 ms later: past retryAt, not wrapped back into the open period.
        clock.set(opened + (1 << 32) + 1);
        assert_eq!(b.state(), State::HalfOpen, "opened at {opened}");
        // Years later.
        clock.set(opened + 10 * 365 * 24 * 3_600_000);
        assert!(b.try_acquire().is_ok());
    }
}

#[test]
fn failure_rate_window_keeps_the_last_outcomes() {
    let config = Config::failure_rate(50, 4, 4).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    for ok in [false, true, true, true, true, false] {
        b.try_acquire().unwrap().record(if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        });
    }
    // Window: S S S F -> 25 %.
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().window, Some((1, 4)));
    b.try_acquire().unwrap().failure(); // S S F F -> 50 %
    assert_eq!(b.state(), State::Open);
}

#[test]
fn failure_rate_needs_minimum_calls() {
    let config = Config::failure_rate(50, 10, 3).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Closed);
    b.try_acquire().unwrap().success(); // a success never trips
    assert_eq!(b.state(), State::Closed);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn time_window_forgets_old_buckets() {
    let config = Config::time_window(50, 1_000, 10, 2).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    b.try_acquire().unwrap().failure(); // bucket 0
    clock.set(1_000); // bucket 10: bucket 0 has left the window
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().window, Some((1, 1)));
    clock.set(1_999); // bucket 19: bucket 10 is still in
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn time_window_counts_successes_past_a_full_pending_count() {
    // 100 %, at least 200 000 calls: the failures below never trip; what is
    // checked is that every success is counted, in the bucket it belongs to.
    let config = Config::time_window(100, 1_000, 10, 200_000)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    // A pending count holds 65 535 successes; past that they are emptied
    // into their bucket.
    for _ in 0..150_000 {
        b.try_acquire().unwrap().success();
    }
    assert_eq!(b.metrics().window, Some((0, 150_000)));
    clock.set(150); // bucket 1: the pending successes move into bucket 0
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().success();
    assert_eq!(b.metrics().window, Some((1, 150_002)));
    clock.set(50); // behind the newest bucket: records into it
    b.try_acquire().unwrap().success();
    clock.set(1_050); // bucket 10: bucket 0 has left the window
    assert_eq!(b.metrics().window, Some((1, 3)));
    b.try_acquire().unwrap().success();
    assert_eq!(b.metrics().window, Some((1, 4)));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn full_count_window_of_successes_stays_full() {
    let config = Config::failure_rate(50, 4, 4).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    for _ in 0..10 {
        b.try_acquire().unwrap().success();
    }
    assert_eq!(b.metrics().window, Some((0, 4)));
    b.try_acquire().unwrap().failure(); // S S S F
    b.try_acquire().unwrap().success(); // S S F S
    b.try_acquire().unwrap().success(); // S F S S
    assert_eq!(b.metrics().window, Some((1, 4)));
    b.try_acquire().unwrap().failure(); // F S S F: 50 %
    assert_eq!(b.state(), State::Open);
}

#[test]
fn entering_closed_clears_the_windows() {
    let config = Config::failure_rate(50, 4, 2).open_ms(10).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    b.try_acquire().unwrap().failure();
    b.reset();
    assert_eq!(b.metrics().window, Some((0, 0)));
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn config_errors_name_key_value_and_range() {
    let e = Config::consecutive_failures(0).build().unwrap_err();
    assert_eq!(e.key(), "consecutiveFailures");
    assert_eq!(
        e.to_string(),
        "consecutiveFailures = 0 is out of range 1..=65535"
    );
    let e = Config::consecutive_failures(3)
        .open_ms(0)
        .build()
        .unwrap_err();
    assert_eq!((e.key(), e.value()), ("openMs", 0));
    let e = Config::consecutive_failures(3)
        .backoff(2, 10)
        .open_ms(100)
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "backoff.maxOpenMs = 10 is out of range 100..=2147483647"
    );
    let e = Config::time_window(50, 1_001, 10, 1).build().unwrap_err();
    assert_eq!(e.key(), "timeWindow.windowMs");
    assert!(matches!(
        e.kind(),
        ConfigErrorKind::NotMultiple { divisor: 10, .. }
    ));
    let e = Config::failure_rate(50, 10, 11).build().unwrap_err();
    assert_eq!(
        e.to_string(),
        "failureRate.minimumCalls = 11 is out of range 1..=10"
    );
    let e = Config::builder()
        .set("openMs", -5)
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(e.to_string(), "openMs = -5 is out of range 1..=2147483647");
    let e = Config::builder()
        .set("failureRate.percent", 50)
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(e.to_string(), "failureRate.window is missing");
    let e = Config::builder()
        .set("consecutiveFailures", 3)
        .unwrap()
        .set("timeWindow.percent", 3)
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(e.key(), "trip");
    assert!(Config::builder().set("openMS", 1).is_err());
    assert!(Config::builder().set("failureRate.size", 1).is_err());
}

#[test]
fn run_time_builder_defaults_match_behavior_md() {
    let c = Config::builder().build().unwrap();
    assert_eq!(
        c.policy(),
        &AnyPolicy::ConsecutiveFailures(*Config::consecutive_failures(5).build().unwrap().policy())
    );
    assert_eq!(c.open_ms(), 30_000);
    assert_eq!(c.half_open_max_calls(), 1);
    assert_eq!(c.success_threshold(), 1);
    assert_eq!(c.slow_call_ms(), None);
    assert_eq!(c.backoff(), None);
}

#[test]
fn statics_need_no_cell_or_allocator() {
    static CONFIG: Config = config!(Config::consecutive_failures(1).open_ms(50));
    static CLOCK: MockClock = MockClock::new(0);
    static BREAKER: Breaker<&MockClock> = Breaker::new(&CONFIG, &CLOCK);
    std::thread::scope(|s| {
        s.spawn(|| BREAKER.try_acquire().unwrap().failure());
    });
    assert_eq!(BREAKER.state(), State::Open);
}

#[test]
fn transitions_reach_the_listener_in_order() {
    use std::sync::Mutex;
    let seen = Mutex::new(Vec::new());
    let config = Config::consecutive_failures(1).open_ms(10).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(
        &config,
        &clock,
        OnTransition(|t: Transition| seen.lock().unwrap().push((t.from, t.to, t.epoch))),
    );
    b.try_acquire().unwrap().failure();
    clock.set(10);
    b.try_acquire().unwrap().success();
    b.isolate();
    b.reset();
    use State::*;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Closed, Open, 1),
            (Open, HalfOpen, 2),
            (HalfOpen, Closed, 3),
            (Closed, Isolated, 4),
            (Isolated, Closed, 5)
        ]
    );
}

#[test]
fn call_wrappers_tell_rejections_from_errors() {
    let config = Config::consecutive_failures(1).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    assert_eq!(
        b.call(|| Err::<(), _>("boom")),
        Err(CallError::Inner("boom"))
    );
    match b.call(|| Ok::<_, &str>(1)) {
        Err(CallError::Rejected(r)) => assert_eq!(r.reason(), RejectReason::Open),
        other => panic!("expected a rejection, got {other:?}"),
    }
    let e: CallError<&str> = CallError::Inner("x");
    assert_eq!(e.into_inner(), Some("x"));
}

#[test]
fn classifier_sees_successful_results_too() {
    let config = Config::consecutive_failures(1).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    let r = b.call_classified(
        || Ok::<Vec<u8>, ()>(Vec::new()),
        |r| match r {
            Ok(body) if body.is_empty() => Outcome::Failure,
            Ok(_) => Outcome::Success,
            Err(()) => Outcome::Failure,
        },
    );
    assert_eq!(r, Ok(Vec::new()));
    assert_eq!(b.state(), State::Open);
}

#[test]
fn async_call_and_cancellation() {
    let config = Config::consecutive_failures(1).open_ms(10).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    assert_eq!(block_on(b.call_async(async { Ok::<_, ()>(5) })), Ok(5));
    b.try_acquire().unwrap().failure();
    clock.set(10);
    // A trial call whose future is dropped mid-flight frees its slot.
    {
        let mut fut = pin!(b.call_async(core::future::pending::<Result<(), ()>>()));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            b.try_acquire().unwrap_err().reason(),
            RejectReason::HalfOpenFull
        );
    }
    assert!(b.try_acquire().is_ok());
}

#[test]
fn snapshot_round_trips_every_state() {
    let config = Config::consecutive_failures(2)
        .open_ms(100)
        .success_threshold(2)
        .build()
        .unwrap();
    let clock = MockClock::new(1 << 33);
    let b = Breaker::new(&config, &clock);
    let check = |b: &Breaker<&MockClock>| {
        let bytes = b.snapshot();
        let fresh = Breaker::new(&config, &clock);
        fresh.restore(&bytes).unwrap();
        assert_eq!(fresh.state(), b.state());
        assert_eq!(fresh.epoch(), b.epoch());
        assert_eq!(fresh.snapshot(), bytes);
    };
    check(&b);
    b.try_acquire().unwrap().failure();
    check(&b);
    b.try_acquire().unwrap().failure();
    check(&b);
    clock.advance(100);
    b.try_acquire().unwrap().success();
    check(&b);
    b.isolate();
    check(&b);
}

#[test]
fn snapshot_restores_the_failure_rate_window() {
    let config = Config::failure_rate(50, 4, 4).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    for _ in 0..3 {
        b.try_acquire().unwrap().success();
    }
    b.try_acquire().unwrap().failure();
    let fresh = Breaker::new(&config, &clock);
    fresh.restore(&b.snapshot()).unwrap();
    fresh.try_acquire().unwrap().failure();
    assert_eq!(fresh.state(), State::Open);
}

#[test]
fn damaged_or_foreign_snapshots_are_refused_and_change_nothing() {
    let config = Config::consecutive_failures(2).build().unwrap();
    let other = Config::consecutive_failures(3).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    let good = b.snapshot();
    let fresh = Breaker::new(&config, &clock);
    assert_eq!(fresh.restore(&good[..10]), Err(SnapshotError::Length(10)));
    let mut bad = good;
    bad[0] = b'X';
    assert_eq!(fresh.restore(&bad), Err(SnapshotError::Magic));
    let mut bad = good;
    bad[2] = 9;
    assert_eq!(fresh.restore(&bad), Err(SnapshotError::Version(9)));
    for i in 3..SNAPSHOT_LEN {
        let mut bad = good;
        bad[i] ^= 0x10;
        assert_eq!(
            fresh.restore(&bad),
            Err(SnapshotError::Checksum),
            "byte {i}"
        );
    }
    assert_eq!(
        Breaker::new(&other, &clock).restore(&good),
        Err(SnapshotError::ForeignConfig)
    );
    assert_eq!(fresh.epoch(), 0);
    assert_eq!(fresh.state(), State::Closed);
    fresh.restore(&good).unwrap();
    fresh.try_acquire().unwrap().failure();
    assert_eq!(fresh.state(), State::Open);
}

#[test]
fn health_summarises_the_state() {
    let config = Config::consecutive_failures(4).open_ms(10).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    assert_eq!(b.health(), Health::Healthy);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.health(), Health::Healthy);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.health(), Health::Degraded);
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.health(), Health::Critical);
    clock.set(10);
    assert_eq!(b.health(), Health::Degraded);
}

#[test]
fn registry_is_fixed_capacity_and_names_are_unique() {
    let clock = MockClock::new(0);
    let mut r: Registry<&MockClock, _, (), 2> = Registry::new();
    r.register("db", &presets::DATABASE, &clock, ()).unwrap();
    assert!(matches!(
        r.register("db", &presets::DATABASE, &clock, ()),
        Err(RegistryError::Duplicate)
    ));
    r.register("api", &presets::HTTP_API, &clock, ()).unwrap();
    assert!(matches!(
        r.register("extra", &presets::HTTP_API, &clock, ()),
        Err(RegistryError::Full { capacity: 2 })
    ));
    let long = "x".repeat(40);
    let mut r2: Registry<&MockClock, _, (), 2> = Registry::new();
    assert!(matches!(
        r2.register(&long, &presets::HTTP_API, &clock, ()),
        Err(RegistryError::NameTooLong { len: 40 })
    ));
    assert_eq!(r.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["db", "api"]);
    assert_eq!(presets::HIGH_VOLUME.policy().percent(), Some(50));
    assert_eq!(presets::HIGH_VOLUME.policy().minimum_calls(), 20);
    assert_eq!(presets::CRITICAL_SERVICE.open_ms(), 300_000);
}

#[test]
fn sizes_stay_small() {
    use core::mem::size_of;
    struct Zst;
    impl Clock for Zst {
        fn now_ms(&self) -> u64 {
            0
        }
    }
    // A reference to the configuration plus three 32-bit words: 16 bytes on
    // 32-bit targets, 24 (with padding) on 64-bit ones.
    let expected = (size_of::<&Config>() + 12).next_multiple_of(size_of::<&Config>());
    assert_eq!(size_of::<Breaker<Zst>>(), expected);
    let ptr = size_of::<&Config>();
    assert_eq!(
        size_of::<Breaker<Zst, halfopen::FailureRate>>(),
        (ptr + 32).next_multiple_of(ptr)
    );
}
