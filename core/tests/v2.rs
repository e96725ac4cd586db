//! The rules the specification added in its second version, rule by rule on
//! the mock clock: the count rule, `halfOpenMaxWaitMs`, jitter, restarts that
//! re-base time, and fleet adoption.

use halfopen::{
    Breaker, Cause, Config, Counters, FleetState, MockClock, OnTransition, RejectReason,
    SnapshotError, State, Transition,
};

fn fail<C: halfopen::Clock, P: halfopen::Policy, O: halfopen::Observer>(b: &Breaker<C, P, O>) {
    b.try_acquire().unwrap().failure();
}

#[test]
fn count_rule_trips_on_failures_whatever_the_calls() {
    // "5 failures within 60 s".
    let config = Config::failures_within(5, 60_000, 6).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    for _ in 0..100 {
        b.try_acquire().unwrap().success();
    }
    for i in 0..5 {
        assert_eq!(b.state(), State::Closed, "after {i} failures");
        clock.advance(1_000);
        fail(&b);
    }
    assert_eq!(b.state(), State::Open);

    // "20 failures or 50 %": the count fires before the rate.
    let config = Config::failure_rate(50, 64, 64)
        .failures(3)
        .build()
        .unwrap();
    let b = Breaker::new(&config, &clock);
    for _ in 0..10 {
        b.try_acquire().unwrap().success();
    }
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn window_policies_need_a_rule_and_check_the_count_bounds() {
    let err = Config::builder()
        .set("failureRate.window", 10)
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "failureRate.percent");
    let err = Config::failures_in_last(11, 10).build().unwrap_err();
    assert_eq!(err.key(), "failureRate.failures");
    assert_eq!(
        err.to_string(),
        "failureRate.failures = 11 is out of range 1..=10"
    );
    let err = Config::failures_within(0, 60_000, 6).build().unwrap_err();
    assert_eq!(err.key(), "timeWindow.failures");
    // minimumCalls defaults to 1 when a policy comes by key.
    let c = Config::builder()
        .set("failureRate.percent", 50)
        .unwrap()
        .set("failureRate.window", 4)
        .unwrap()
        .build()
        .unwrap();
    assert!(matches!(c.policy(), halfopen::AnyPolicy::FailureRate(p) if p.minimum_calls() == 1));
    for (key, value, range) in [
        ("halfOpenMaxWaitMs", 0, "1..=2147483647"),
        ("jitter.percent", 101, "1..=100"),
        ("jitter.seed", 1 << 32, "0..=4294967295"),
    ] {
        // (Bounds are checked before the feature, so these hold either way.)
        let mut b = Config::builder().set(key, value).unwrap();
        if key == "jitter.seed" {
            b = b.set("jitter.percent", 10).unwrap();
        }
        let err = b.build().unwrap_err();
        assert_eq!(err.key(), key);
        assert!(err.to_string().ends_with(range), "{err}");
    }
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

#[test]
#[cfg(feature = "jitter")]
fn jitter_shortens_each_opening_by_the_formula() {
    for (seed, percent) in [(0u32, 100u32), (7, 20), (u32::MAX, 50)] {
        let config = Config::consecutive_failures(1)
            .open_ms(10_000)
            .backoff(2, 80_000)
            .jitter(percent, seed)
            .build()
            .unwrap();
        for k in 0..4u32 {
            let d = (10_000u64 << k).min(80_000);
            let u = fmix32(seed.wrapping_add(k.wrapping_mul(0x9E37_79B9))) as u64;
            let expected = (d - ((d * percent as u64 / 100 * u) >> 32)).max(1);
            assert_eq!(
                config.open_duration_ms(k) as u64,
                expected,
                "seed {seed} k {k}"
            );
        }
    }
}

#[test]
#[cfg(feature = "half-open-max-wait")]
fn half_open_max_wait_reopens_at_the_deadline() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .half_open_max_wait_ms(50)
        .backoff(2, 1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let seen = std::sync::Mutex::new(Vec::new());
    let b = Breaker::with_observer(
        &config,
        &clock,
        (
            Counters::new(),
            OnTransition(|t: Transition| seen.lock().unwrap().push(t.cause)),
        ),
    );
    fail(&b);
    clock.set(100);
    let lost = b.try_acquire().unwrap(); // half-open at 100, never reports
    clock.set(149);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(
        b.try_acquire().unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
    clock.set(150);
    assert_eq!(
        b.state(),
        State::Open,
        "state(t) reads open from the deadline"
    );
    let m = b.metrics();
    assert_eq!((m.opened_at, m.retry_at), (Some(150), Some(350)));
    let r = b.try_acquire().unwrap_err();
    assert_eq!(r.reason(), RejectReason::Open);
    assert_eq!(
        r.retry_after_ms(),
        Some(200),
        "k + 1: the doubled open period"
    );
    lost.success(); // stale: changes nothing
    assert_eq!(b.state(), State::Open);
    assert_eq!(
        *seen.lock().unwrap(),
        [Cause::Trip, Cause::RetryAt, Cause::HalfOpenMaxWait]
    );

    // An outcome at the deadline re-opens first, then is stale.
    clock.set(350);
    let trial = b.try_acquire().unwrap();
    clock.set(400);
    trial.success();
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.totals().unwrap().transitions, 5);
}

#[test]
#[cfg(feature = "half-open-max-wait")]
fn restarts_rebase_the_time_that_was_left() {
    let config = Config::consecutive_failures(1)
        .open_ms(30_000)
        .half_open_max_wait_ms(10_000)
        .build()
        .unwrap();
    // Open, 10 s into 30 s, at 10 days of uptime; restored on a clock at 7.
    let old = MockClock::new(864_000_000);
    let b = Breaker::new(&config, &old);
    fail(&b);
    old.advance(10_000);
    let bytes = b.snapshot();
    let new = MockClock::new(7);
    let r = Breaker::new(&config, &new);
    r.restore(&bytes).unwrap();
    assert_eq!(r.try_acquire().unwrap_err().retry_after_ms(), Some(20_000));
    // The same clock, 5 s of downtime later: the downtime counts.
    let later = MockClock::new(864_000_000 + 15_000);
    let s = Breaker::new(&config, &later);
    s.restore_same_clock(&bytes).unwrap();
    assert_eq!(s.try_acquire().unwrap_err().retry_after_ms(), Some(15_000));
    // A clock behind the snapshot re-bases even when called the same.
    let behind = MockClock::new(1_000);
    let t = Breaker::new(&config, &behind);
    t.restore_same_clock(&bytes).unwrap();
    assert_eq!(t.try_acquire().unwrap_err().retry_after_ms(), Some(20_000));

    // Half-open 4 s into a 10 s max wait: 6 s left after the restore.
    old.advance(20_000);
    let _trial = b.try_acquire().unwrap();
    old.advance(4_000);
    let bytes = b.snapshot();
    let new = MockClock::new(3);
    let r = Breaker::new(&config, &new);
    r.restore(&bytes).unwrap();
    assert_eq!(r.state(), State::HalfOpen);
    new.advance(5_999);
    assert_eq!(r.state(), State::HalfOpen);
    new.advance(1);
    assert_eq!(r.state(), State::Open);
}

#[test]
#[cfg(feature = "jitter")]
fn version_1_snapshots_restore_as_on_the_same_clock() {
    let config = Config::consecutive_failures(1)
        .open_ms(30_000)
        .build()
        .unwrap();
    // A version 1 snapshot of an open breaker opened at 1000, epoch 1.
    let mut v1 = [0u8; 40];
    v1[0..2].copy_from_slice(b"HO");
    v1[2] = 1;
    v1[3] = 1;
    v1[4] = 1;
    v1[8..16].copy_from_slice(&1_000u64.to_le_bytes());
    // Fingerprint of the configuration as version 1 computed it.
    let mut f = [0u8; 28];
    f[1..3].copy_from_slice(&1u16.to_le_bytes());
    f[12..16].copy_from_slice(&30_000u32.to_le_bytes());
    f[16] = 1;
    f[18..20].copy_from_slice(&1u16.to_le_bytes());
    f[24..28].copy_from_slice(&30_000u32.to_le_bytes());
    v1[32..36].copy_from_slice(&fnv1a(&f).to_le_bytes());
    let sum = fnv1a(&v1[..36]);
    v1[36..40].copy_from_slice(&sum.to_le_bytes());
    let clock = MockClock::new(11_000);
    let b = Breaker::new(&config, &clock);
    b.restore(&v1).unwrap();
    assert_eq!(b.try_acquire().unwrap_err().retry_after_ms(), Some(20_000));
    // Its times ahead of the clock count from the restore.
    let early = MockClock::new(0);
    let b = Breaker::new(&config, &early);
    b.restore(&v1).unwrap();
    assert_eq!(b.try_acquire().unwrap_err().retry_after_ms(), Some(30_000));
    // Into a configuration with a version 2 key: another configuration.
    let v2 = Config::consecutive_failures(1)
        .open_ms(30_000)
        .jitter(10, 1)
        .build()
        .unwrap();
    let b = Breaker::new(&v2, &clock);
    assert_eq!(b.restore(&v1), Err(SnapshotError::ForeignConfig));
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

#[test]
#[cfg(feature = "jitter")]
fn adopt_follows_the_table() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .backoff(2, 100_000)
        .jitter(50, 9)
        .build()
        .unwrap();
    let clock = MockClock::new(10_000);
    let seen = std::sync::Mutex::new(Vec::new());
    let b = Breaker::with_observer(
        &config,
        &clock,
        (
            Counters::new(),
            OnTransition(|t: Transition| seen.lock().unwrap().push((t.to, t.cause))),
        ),
    );
    // closed -> open: exactly now + r (no jitter on an adopted opening).
    let permit = b.try_acquire().unwrap();
    b.adopt(FleetState::open(5_000, 2).unwrap());
    assert_eq!(b.metrics().retry_at, Some(15_000));
    permit.failure(); // a permit of the closed epoch: stale
    assert_eq!(b.totals().unwrap().transitions, 1);
    // open -> open: the later retry wins, the earlier changes nothing.
    let epoch = b.epoch();
    b.adopt(FleetState::open(1_000, 0).unwrap());
    assert_eq!((b.metrics().retry_at, b.epoch()), (Some(15_000), epoch));
    b.adopt(FleetState::open(9_000, 0).unwrap());
    assert_eq!(b.metrics().retry_at, Some(19_000));
    assert_eq!(b.totals().unwrap().transitions, 1, "no transition counted");
    // open -> closed, as reset().
    b.adopt(FleetState::Closed);
    assert_eq!(b.state(), State::Closed);
    b.adopt(FleetState::Closed); // closed: no change
    assert_eq!(b.totals().unwrap().transitions, 2);
    // isolated, then open changes nothing, closed resets.
    b.adopt(FleetState::Isolated);
    b.adopt(FleetState::open(5_000, 0).unwrap());
    assert_eq!(b.state(), State::Isolated);
    b.adopt(FleetState::Closed);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (State::Open, Cause::Fleet),
            (State::Closed, Cause::Fleet),
            (State::Isolated, Cause::Fleet),
            (State::Closed, Cause::Fleet),
        ]
    );
    assert!(FleetState::open(1 << 31, 0).is_err());
}

/// A build without the timing features (a firmware counting bytes) refuses
/// their keys with an error that names the feature, never ignores them.
#[test]
#[cfg(not(any(feature = "jitter", feature = "half-open-max-wait")))]
fn keys_without_their_feature_are_refused_by_name() {
    let err = Config::consecutive_failures(1)
        .half_open_max_wait_ms(5_000)
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "halfOpenMaxWaitMs");
    assert_eq!(
        err.to_string(),
        "halfOpenMaxWaitMs needs the halfopen crate feature `half-open-max-wait`, which this build leaves out"
    );
    let err = Config::consecutive_failures(1)
        .jitter(10, 1)
        .build()
        .unwrap_err();
    assert_eq!(err.key(), "jitter.percent");
    assert!(err.to_string().contains("`jitter`"), "{err}");
}
