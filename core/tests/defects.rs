//! Regression tests for defects an adversarial review reproduced: each test
//! is the reproduction, and failed before its fix. (The defects that are
//! interleavings, a skipped open period after a restore, a snapshot refused
//! by its own restore and a restore racing a trip, are loom models in
//! `loom.rs`.)

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use halfopen::{
    Breaker, Config, Counters, FnClock, Health, MockClock, Observer, OnTransition, RejectReason,
    SnapshotError, State, Transition, SNAPSHOT_LEN,
};

const MAX_OPEN: u64 = i32::MAX as u64;

/// Panics (a user's bug) while the flag is set.
static PANIC_NOW: AtomicBool = AtomicBool::new(false);

fn maybe_panic(what: &str) {
    if PANIC_NOW.load(Ordering::Relaxed) {
        panic!("user code panicked in {what}");
    }
}

/// An observer whose hooks panic while [`PANIC_NOW`] is set.
struct Panicky;

impl Observer for Panicky {
    fn on_success(&self) {
        maybe_panic("on_success");
    }
    fn on_failure(&self, _: bool) {
        maybe_panic("on_failure");
    }
    fn on_ignore(&self) {
        maybe_panic("on_ignore");
    }
    fn on_transition(&self, _: Transition) {
        maybe_panic("on_transition");
    }
}

fn quiet<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r
}

/// Defect 2: a panicking hook or clock wedged the breaker in half-open (the
/// slot was taken before a permit existed, or the permit was forgotten before
/// the state was updated). Whatever user code does, the slot comes back.
#[test]
fn panicking_hooks_and_clocks_never_wedge_half_open() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .success_threshold(2)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Panicky);
    b.try_acquire().unwrap().failure();
    clock.set(100);

    // The open -> halfOpen hook panics: the slot the acquire took is freed.
    PANIC_NOW.store(true, Ordering::Relaxed);
    assert!(quiet(|| b.try_acquire().map(drop)).is_err());
    PANIC_NOW.store(false, Ordering::Relaxed);
    assert_eq!(b.state(), State::HalfOpen);
    let trial = b
        .try_acquire()
        .expect("the slot leaked by a panicking hook");

    // The outcome hook panics: the trial success was counted, the slot freed.
    PANIC_NOW.store(true, Ordering::Relaxed);
    assert!(quiet(|| trial.success()).is_err());
    PANIC_NOW.store(false, Ordering::Relaxed);
    assert_eq!(b.state(), State::HalfOpen);
    let trial = b
        .try_acquire()
        .expect("the slot leaked by a panicking on_success");
    trial.success(); // the second trial success closes
    assert_eq!(b.state(), State::Closed);

    // Ignore's hook panics: same.
    b.try_acquire().unwrap().failure();
    clock.advance(100);
    let trial = b.try_acquire().unwrap();
    PANIC_NOW.store(true, Ordering::Relaxed);
    assert!(quiet(|| trial.ignore()).is_err());
    PANIC_NOW.store(false, Ordering::Relaxed);
    assert!(
        b.try_acquire().is_ok(),
        "the slot leaked by a panicking on_ignore"
    );
}

#[test]
fn a_panicking_clock_during_a_slow_call_check_frees_the_slot() {
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .slow_call_ms(50)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    // `SystemTime::now().duration_since(..).unwrap()`, say, on a bad day.
    let fallible = FnClock(|| {
        maybe_panic("the clock");
        clock.get()
    });
    let b = Breaker::new(&config, &fallible);
    b.try_acquire().unwrap().failure();
    clock.set(100);
    let trial = b.try_acquire().unwrap();
    PANIC_NOW.store(true, Ordering::Relaxed);
    assert!(quiet(|| trial.success()).is_err());
    PANIC_NOW.store(false, Ordering::Relaxed);
    // Was: `HalfOpenFull` for ever (2^40 ms later too).
    clock.set(1 << 40);
    assert!(
        b.try_acquire().is_ok(),
        "the slot leaked by a panicking clock"
    );
}

/// Defect 4: forged or restart-spanning snapshots held a breaker open for
/// days or years. No bytes can now leave more than one open duration.
#[test]
fn no_snapshot_holds_a_breaker_open_past_one_open_duration() {
    let config = Config::consecutive_failures(1)
        .open_ms(30_000)
        .build()
        .unwrap();
    // Tripped at 20 days of uptime, restored in a new process (clock from 0).
    let before = MockClock::new(20 * 86_400_000);
    let b = Breaker::new(&config, &before);
    b.try_acquire().unwrap().failure();
    let bytes = b.snapshot();
    let after = MockClock::new(5);
    let fresh = Breaker::new(&config, &after);
    fresh.restore(&bytes).unwrap();
    let r = fresh.try_acquire().unwrap_err();
    assert_eq!(r.reason(), RejectReason::Open);
    assert_eq!(r.retry_after_ms(), Some(30_000), "was 20 days");
    after.advance(30_000);
    assert!(fresh.try_acquire().is_ok());

    // Forged ends of the open period, with a valid checksum and fingerprint
    // (computable from the public configuration): one at the last
    // representable millisecond (refused: no open period is that long), and
    // the longest one allowed (2^31 - 1 ms after the snapshot's reading).
    let forge = |retry_at: u64, taken_at: u64| {
        let mut f = bytes;
        f[8..16].copy_from_slice(&retry_at.to_le_bytes());
        f[36..44].copy_from_slice(&taken_at.to_le_bytes());
        let sum = fnv1a(&f[..44]);
        f[44..48].copy_from_slice(&sum.to_le_bytes());
        f
    };
    let taken = 20 * 86_400_000;
    let far = forge((1u64 << 59) - 1, taken);
    let longest = forge(taken + MAX_OPEN, taken);
    for now in [0, 1 << 32, (1 << 59) - (1 << 31) - 2] {
        let clock = MockClock::new(now);
        let fresh = Breaker::new(&config, &clock);
        assert_eq!(
            fresh.restore(&far),
            Err(SnapshotError::Invalid("retryAt")),
            "was open for 576,458,736,943,424,487 ms"
        );
        for restore in [Breaker::restore, Breaker::restore_same_clock] {
            let fresh = Breaker::new(&config, &clock);
            restore(&fresh, &longest).unwrap();
            // On the same clock the period may be over already.
            let left = fresh.try_acquire().err().map(|r| r.retry_after_ms());
            if let Some(left) = left {
                assert!(left.unwrap() <= MAX_OPEN, "open {left:?} ms more");
            }
        }
    }

    // The longest open duration any configuration allows is the bound.
    let longest = Config::consecutive_failures(1)
        .open_ms(MAX_OPEN as u32)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let fresh = Breaker::new(&longest, &clock);
    let mut forged = [0u8; SNAPSHOT_LEN];
    forged.copy_from_slice(&{
        let c = MockClock::new(1 << 50);
        let b = Breaker::new(&longest, &c);
        b.try_acquire().unwrap().failure();
        b.snapshot()
    });
    fresh.restore(&forged).unwrap();
    assert!(fresh.try_acquire().unwrap_err().retry_after_ms().unwrap() <= MAX_OPEN);
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// Defect 5: at a clock reading of 2^59 ms or more, the opening time was
/// clamped and the open period vanished (a trip went straight to half-open),
/// and an open snapshot taken there was refused by its own restore. Such a
/// reading (a clock in microseconds or nanoseconds) is now refused loudly at
/// every decision that needs the time, and never ends an open period.
#[test]
fn clock_readings_past_2_pow_59_are_refused_loudly() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .build()
        .unwrap();
    let ns_since_1970 = 1_764_000_000_000_000_000u64;
    let clock = MockClock::new(ns_since_1970);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open);
    for later in [0, 1_000, 1 << 40] {
        clock.set(ns_since_1970 + later);
        let r = b.try_acquire().unwrap_err();
        assert_eq!(r.reason(), RejectReason::ClockOutOfRange);
        assert!(
            r.to_string().contains("milliseconds") && r.to_string().contains("nanoseconds"),
            "{r}"
        );
        assert_eq!(b.state(), State::Open);
    }
    assert_eq!(RejectReason::ClockOutOfRange.as_str(), "clockOutOfRange");
    // Its snapshot restores.
    let bytes = b.snapshot();
    let fresh = Breaker::new(&config, &clock);
    fresh.restore(&bytes).unwrap();
    assert_eq!(fresh.state(), State::Open);

    // Slow-call timing needs the time at acquire: refused there too.
    let slow = Config::consecutive_failures(1)
        .slow_call_ms(10)
        .build()
        .unwrap();
    let b = Breaker::new(&slow, &clock);
    assert_eq!(
        b.try_acquire().unwrap_err().reason(),
        RejectReason::ClockOutOfRange
    );

    // In range below 2^59 - 2^31 (so that any open period ends at a time
    // that can be kept): the open period is kept to the millisecond.
    let edge = MockClock::new((1 << 59) - (1 << 31) - 2_000);
    let b = Breaker::new(&config, &edge);
    b.try_acquire().unwrap().failure();
    edge.advance(999);
    assert_eq!(b.try_acquire().unwrap_err().retry_after_ms(), Some(1));
    edge.advance(1);
    assert!(b.try_acquire().is_ok());
}

/// Defect 6: the 14-bit epoch wraps. A closed call's permit held while the
/// breaker flaps 16,384 transitions lands on a half-open epoch with its
/// number; its drop used to free a trial slot it never held (two trials in
/// flight with `halfOpenMaxCalls = 1`). A permit now counts only in an epoch
/// of the state it was granted in.
#[test]
fn a_closed_permit_held_across_the_epoch_wrap_frees_no_trial_slot() {
    let config = Config::consecutive_failures(1).open_ms(10).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    let held = b.try_acquire().unwrap(); // closed, epoch 0
    assert!(!held.is_trial());
    b.try_acquire().unwrap().failure(); // open, epoch 1
    loop {
        clock.advance(10);
        let trial = b.try_acquire().unwrap(); // half-open
        if b.epoch() == 0 {
            assert!(trial.is_trial());
            drop(held); // the wrapped epoch is half-open with one slot taken
            assert_eq!(
                b.try_acquire().unwrap_err().reason(),
                RejectReason::HalfOpenFull,
                "a stale closed permit freed a trial slot"
            );
            trial.success();
            assert_eq!(b.state(), State::Closed);
            return;
        }
        trial.failure(); // open again
    }
}

/// Defect 7: `health()` truncated the window's failure count to 16 bits: a
/// time window with 65,536 failures and 1 success reported `Healthy`.
#[test]
fn health_counts_every_failure_of_a_large_window() {
    let config = Config::time_window(100, 60_000, 6, 65_537)
        .open_ms(1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::new(&config, &clock);
    b.try_acquire().unwrap().success();
    for _ in 0..65_536 {
        b.try_acquire().unwrap().failure();
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().window, Some((65_536, 65_537)));
    assert_eq!(b.health(), Health::Degraded);
}

/// Defect 8: `restore` on a breaker in use neither cleared the time window
/// nor invalidated permits of the restored epoch. It is now refused on a
/// breaker that has left its first closed epoch, changing nothing; on a
/// breaker built and untouched it works, and time-window buckets start empty.
#[test]
fn restore_is_refused_on_a_breaker_in_use() {
    let config = Config::consecutive_failures(2)
        .open_ms(100)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let source = Breaker::new(&config, &clock);
    source.try_acquire().unwrap().failure();
    let bytes = source.snapshot(); // closed, epoch 0, failure run 1

    let used = Breaker::new(&config, &clock);
    used.try_acquire().unwrap().failure();
    used.try_acquire().unwrap().failure(); // open, epoch 1
    let before = used.snapshot();
    let err = used.restore(&bytes).unwrap_err();
    assert_eq!(err, SnapshotError::InUse);
    assert!(err.to_string().contains("new breaker"), "{err}");
    assert_eq!(
        used.snapshot(),
        before,
        "a refused restore changed the breaker"
    );

    // A failure run is use too: restoring over it would lose it silently.
    let running = Breaker::new(&config, &clock);
    running.try_acquire().unwrap().failure();
    assert_eq!(running.restore(&bytes), Err(SnapshotError::InUse));

    // Untouched (successes in the first closed epoch write nothing): fine.
    let fresh = Breaker::with_observer(&config, &clock, Counters::new());
    fresh.try_acquire().unwrap().success();
    fresh.restore(&bytes).unwrap();
    assert_eq!(fresh.metrics().failure_run, 1);
    fresh.try_acquire().unwrap().failure();
    assert_eq!(fresh.state(), State::Open);

    // A time window restored into a fresh breaker starts empty.
    let tw = Config::time_window(50, 1_000, 4, 1).build().unwrap();
    let a = Breaker::new(&tw, &clock);
    a.try_acquire().unwrap().success();
    let b = Breaker::new(&tw, &clock);
    b.restore(&a.snapshot()).unwrap();
    assert_eq!(b.metrics().window, Some((0, 0)));
}

/// The transition hook runs after the state change it reports, with the
/// breaker consistent: a listener may read the breaker.
#[test]
fn hooks_see_the_state_they_report() {
    let config = Config::consecutive_failures(1).open_ms(10).build().unwrap();
    let clock = MockClock::new(0);
    let seen = std::sync::Mutex::new(Vec::new());
    let b = Breaker::with_observer(
        &config,
        &clock,
        OnTransition(|t: Transition| seen.lock().unwrap().push(t.to)),
    );
    b.try_acquire().unwrap().failure();
    clock.advance(10);
    b.try_acquire().unwrap().success();
    assert_eq!(
        *seen.lock().unwrap(),
        [State::Open, State::HalfOpen, State::Closed]
    );
}
