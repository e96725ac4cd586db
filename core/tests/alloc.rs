//! Zero heap, ever: a counting global allocator watches breakers of every
//! policy and observer go through every state and every public operation,
//! and the count must stay at zero.
//!
//! The allocator counts only on the thread that asked it to (a thread-local
//! flag), so the test harness's own allocations on other threads do not
//! count. A first check proves the counter sees a `Box`.

use core::fmt::{self, Write as _};
use core::future::Future;
use core::pin::{pin, Pin};
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::{Context, Poll, Waker};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use halfopen::{
    presets, AnyPolicy, Breaker, CallError, Config, ConsecutiveFailures, Counters, FailureRate,
    MockClock, Observer, OnTransition, Outcome, Policy, Registry, RejectReason, State, TimeWindow,
    Transition,
};

// ------------------------------------------------------------ the allocator

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    TRACKING.with(|t| t.set(true));
    f();
    TRACKING.with(|t| t.set(false));
    ALLOCATIONS.with(|n| n.get())
}

// ------------------------------------------------------------------ helpers

/// A fixed buffer to format into: `Display` of errors without a `String`.
struct Buf {
    bytes: [u8; 256],
    len: usize,
}

impl Buf {
    fn new() -> Self {
        Self {
            bytes: [0; 256],
            len: 0,
        }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap()
    }
}

impl fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn formatted(value: &dyn fmt::Display) -> Buf {
    let mut buf = Buf::new();
    write!(buf, "{value}").unwrap();
    buf
}

/// Polls `future` to completion with a no-op waker; no executor.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Pending once, then ready with `value`.
struct YieldOnce<T> {
    value: Option<T>,
    yielded: bool,
}

impl<T: Unpin> Future for YieldOnce<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.yielded {
            Poll::Ready(self.value.take().expect("polled after completion"))
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn yield_once<T>(value: T) -> YieldOnce<T> {
    YieldOnce {
        value: Some(value),
        yielded: false,
    }
}

static TRANSITIONS: AtomicU32 = AtomicU32::new(0);

fn count_transition(_: Transition) {
    TRANSITIONS.fetch_add(1, Ordering::Relaxed);
}

// ------------------------------------------------------------- the workout

const OPEN_MS: u32 = 1_000;

/// Takes one breaker through every state and every public operation.
/// The configuration has `halfOpenMaxCalls` 2, `successThreshold` 2 and
/// backoff factor 2; `clock` starts at 10_000.
fn workout<P: Policy, O: Observer>(config: &Config<P>, observer: O, clock: &MockClock) {
    let b = Breaker::with_observer(config, clock, observer);
    let _ = b.config();
    let _ = b.clock();
    let _ = b.observer();
    let _ = b.epoch();

    // Closed: successes every way there is.
    for i in 0..10u32 {
        assert_eq!(b.call(|| Ok::<_, ()>(i)), Ok(i));
    }
    for _ in 0..5 {
        b.try_acquire().unwrap().success();
    }
    b.try_acquire().unwrap().record(Outcome::Success);
    b.try_acquire().unwrap().ignore();
    drop(b.try_acquire().unwrap());
    let permit = b.try_acquire().unwrap();
    let _ = permit.epoch();
    let token = permit.into_token();
    let _ = (token.epoch(), token.started_ms());
    b.record_token(token, Outcome::Success);
    let token = b.try_acquire_token().unwrap();
    b.release_token(token);
    let ignored = b.call_classified(
        || Err::<(), u16>(404),
        |r| match r {
            Err(404) => Outcome::Ignore,
            Err(_) => Outcome::Failure,
            Ok(_) => Outcome::Success,
        },
    );
    assert_eq!(ignored, Err(CallError::Inner(404)));
    assert_eq!(block_on(b.call_async(async { Ok::<_, ()>(3) })), Ok(3));
    assert_eq!(block_on(b.call_async(yield_once(Ok::<_, ()>(4)))), Ok(4));
    let classified =
        block_on(b.call_async_classified(yield_once(Err::<(), _>(7)), |_| Outcome::Ignore));
    assert_eq!(classified.unwrap_err().into_inner(), Some(7));
    assert_eq!(b.state(), State::Closed);
    let m = b.metrics();
    let _ = (m.failure_rate_percent(), b.health(), b.totals());
    let closed_snapshot = b.snapshot();

    // Trip: failures until open (each policy has its own count).
    let mut failures = 0;
    while b.state() == State::Closed {
        assert!(failures < 64, "never tripped");
        let r = b.call(|| Err::<(), _>("down"));
        assert_eq!(r, Err(CallError::Inner("down")));
        failures += 1;
    }
    assert_eq!(b.state(), State::Open);

    // Open: rejections, with a reason and a retry hint, formatted.
    for _ in 0..5 {
        let rejected = b.try_acquire().unwrap_err();
        assert_eq!(rejected.reason(), RejectReason::Open);
        assert!(rejected.retry_after_ms().is_some());
        assert!(formatted(&rejected).as_str().starts_with("circuit open"));
        let _ = rejected.reason().as_str();
    }
    match b.call(|| Ok::<_, &str>(1)) {
        Err(e @ CallError::Rejected(_)) => assert!(!formatted(&e).as_str().is_empty()),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(b.try_acquire_token().is_err());
    assert!(block_on(b.call_async(async { Ok::<_, ()>(0) })).is_err());
    let m = b.metrics();
    assert_eq!(m.state, State::Open);
    assert!(m.opened_at.is_some() && m.retry_at.is_some());
    let _ = b.health();
    let open_snapshot = b.snapshot();
    assert_eq!(b.state_at((1 << 59) - (1 << 31) - 1), State::HalfOpen);
    // A reading out of range never ends an open period.
    assert_eq!(b.state_at(u64::MAX), State::Open);

    // Half-open: first trial fails -> open again, with backoff (k = 1).
    clock.advance(OPEN_MS as u64);
    assert_eq!(b.state(), State::HalfOpen);
    let trial = b.try_acquire().unwrap();
    trial.failure();
    assert_eq!(b.state(), State::Open);
    clock.advance(2 * OPEN_MS as u64);

    // Half-open: two trial slots, a third caller is rejected; a trial
    // cancelled mid-await frees its slot; two successes close.
    let first = b.try_acquire().unwrap();
    let second = b.try_acquire().unwrap();
    assert_eq!(
        b.try_acquire().unwrap_err().reason(),
        RejectReason::HalfOpenFull
    );
    let half_open_snapshot = b.snapshot();
    second.ignore();
    {
        let mut pending = pin!(b.call_async(yield_once(Ok::<_, ()>(5))));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(pending.as_mut().poll(&mut cx).is_pending());
        // Dropped here, before completion: a drop, the slot is freed.
    }
    let m = b.metrics();
    assert_eq!(m.state, State::HalfOpen);
    first.success();
    assert_eq!(b.call(|| Ok::<_, ()>(6)), Ok(6));
    assert_eq!(b.state(), State::Closed);

    // Isolated until reset, from any state.
    b.isolate();
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::Isolated);
    let _ = formatted(&rejected);
    let _ = (b.metrics(), b.health(), b.snapshot());
    b.reset();
    assert_eq!(b.state(), State::Closed);
    b.reset();

    // Snapshots restore into fresh breakers; damaged ones are refused.
    for snapshot in [&closed_snapshot, &open_snapshot, &half_open_snapshot] {
        let fresh = Breaker::new(config, clock);
        fresh.restore(&snapshot[..]).unwrap();
        let _ = (fresh.state(), fresh.metrics());
    }
    let mut damaged = open_snapshot;
    damaged[10] ^= 0xFF;
    let fresh = Breaker::new(config, clock);
    let err = fresh.restore(&damaged).unwrap_err();
    let _ = formatted(&err);
    assert!(fresh.restore(&damaged[..39]).is_err());
}

/// Slow-call detection: a success slower than `slowCallMs` is a failure.
fn slow_calls(clock: &MockClock) {
    let config = Config::consecutive_failures(2)
        .slow_call_ms(100)
        .open_ms(OPEN_MS)
        .build()
        .unwrap();
    let b = Breaker::with_observer(&config, clock, Counters::new());
    for _ in 0..2 {
        let r = b.call(|| {
            clock.advance(150);
            Ok::<_, ()>(())
        });
        assert_eq!(r, Ok(()));
    }
    assert_eq!(b.state(), State::Open);
    let m = b.metrics();
    assert_eq!((m.slow_calls, m.failures), (2, 2));
}

/// Configuration: const, run-time keys, and errors formatted.
fn configuration() {
    let err = Config::consecutive_failures(0).build().unwrap_err();
    assert_eq!(err.key(), "consecutiveFailures");
    let _ = (err.value(), err.kind());
    assert!(!formatted(&err).as_str().is_empty());
    let any = Config::builder()
        .set("failureRate.percent", 50)
        .unwrap()
        .set("failureRate.window", 8)
        .unwrap()
        .set("failureRate.minimumCalls", 2)
        .unwrap()
        .set("openMs", 500)
        .unwrap()
        .build()
        .unwrap();
    let _ = (
        any.open_ms(),
        any.policy(),
        any.backoff(),
        any.slow_call_ms(),
    );
    let unknown = Config::builder().set("nope", 1).unwrap_err();
    let _ = formatted(&unknown);
    let _ = presets::HTTP_API.open_duration_ms(3);
}

/// A registry of named breakers on a fixed-capacity vector.
fn registry(clock: &MockClock) {
    let mut registry: Registry<&MockClock, ConsecutiveFailures, Counters, 4> = Registry::new();
    registry
        .register(
            "payments",
            &presets::CRITICAL_SERVICE,
            clock,
            Counters::new(),
        )
        .unwrap();
    registry
        .register("search", &presets::HTTP_API, clock, Counters::new())
        .unwrap();
    registry
        .register("db", &presets::DATABASE, clock, Counters::new())
        .unwrap();
    let err = registry
        .register("db", &presets::DATABASE, clock, Counters::new())
        .unwrap_err();
    let _ = formatted(&err);
    let payments = registry.get("payments").unwrap();
    payments.try_acquire().unwrap().failure();
    payments.try_acquire().unwrap().failure();
    assert_eq!(payments.state(), State::Open);
    for (name, b) in registry.iter() {
        let _ = (name.len(), b.health());
    }
    let _ = (registry.len(), registry.is_empty(), registry.health());
    let db = registry
        .get_or_register("db", &presets::HTTP_API, clock, Counters::new())
        .unwrap();
    assert_eq!(db.config().open_ms(), presets::DATABASE.open_ms());
    for report in registry.report() {
        let _ = (report.name.len(), report.health, report.metrics.calls());
        let _ = report.metrics.success_rate_percent();
    }
}

fn configs() -> (
    Config<ConsecutiveFailures>,
    Config<FailureRate>,
    Config<TimeWindow>,
    Config<AnyPolicy>,
) {
    let consecutive = Config::consecutive_failures(3)
        .open_ms(OPEN_MS)
        .half_open_max_calls(2)
        .success_threshold(2)
        .backoff(2, 60_000)
        .build()
        .unwrap();
    let rate = Config::failure_rate(50, 8, 4)
        .open_ms(OPEN_MS)
        .half_open_max_calls(2)
        .success_threshold(2)
        .backoff(2, 60_000)
        .build()
        .unwrap();
    let time = Config::time_window(50, 10_000, 10, 4)
        .open_ms(OPEN_MS)
        .half_open_max_calls(2)
        .success_threshold(2)
        .backoff(2, 60_000)
        .build()
        .unwrap();
    (consecutive, rate, time, consecutive.into_any())
}

// -------------------------------------------------------------------- tests

#[test]
fn the_counter_sees_an_allocation() {
    let n = allocations_in(|| {
        let b = std::hint::black_box(Box::new(7u64));
        drop(b);
    });
    assert_eq!(n, 1);
}

#[test]
fn every_policy_observer_and_state_allocates_nothing() {
    // Built outside the measured region only to show they need no heap
    // either: configs are plain values.
    let (consecutive, rate, time, any) = configs();
    let rate_any = rate.into_any();
    let time_any = time.into_any();

    let n = allocations_in(|| {
        let clock = MockClock::new(10_000);
        workout(&consecutive, (), &clock);
        workout(&consecutive, Counters::new(), &clock);
        workout(
            &consecutive,
            (Counters::new(), OnTransition(count_transition)),
            &clock,
        );
        workout(&rate, (), &clock);
        workout(&rate, Counters::new(), &clock);
        workout(&time, (), &clock);
        workout(&time, Counters::new(), &clock);
        workout(&any, (), &clock);
        workout(&rate_any, Counters::new(), &clock);
        workout(&time_any, OnTransition(count_transition), &clock);
        let counters = Counters::new();
        workout(&consecutive, &counters, &clock);
        assert!(counters.totals().unwrap().transitions > 0);
        slow_calls(&clock);
        configuration();
        registry(&clock);
    });
    assert!(TRANSITIONS.load(Ordering::Relaxed) > 0);
    assert_eq!(n, 0, "the breaker allocated {n} times");
}

#[cfg(feature = "std")]
#[test]
fn std_clock_allocates_nothing() {
    use halfopen::StdClock;
    let (consecutive, ..) = configs();
    // The clock's origin is a `OnceLock<Instant>`: set on first read, no heap.
    let n = allocations_in(|| {
        let b = Breaker::with_observer(&consecutive, StdClock, Counters::new());
        for _ in 0..3 {
            b.try_acquire().unwrap().failure();
        }
        assert_eq!(b.try_acquire().unwrap_err().reason(), RejectReason::Open);
        let _ = (b.metrics(), b.snapshot());
        b.reset();
        assert_eq!(b.call(|| Ok::<_, ()>(1)), Ok(1));
    });
    assert_eq!(n, 0, "the breaker allocated {n} times");
}

/// Feature `serde`: a configuration read from JSON text (serde_json borrows
/// the keys from the text) allocates nothing, and neither do the checks.
#[cfg(feature = "serde")]
#[test]
fn a_configuration_from_json_allocates_nothing() {
    let text = r#"{"trip": {"failureRate": {"percent": 50, "window": 20, "minimumCalls": 10}},
        "openMs": 10000, "backoff": {"factor": 2, "maxOpenMs": 60000},
        "jitter": {"percent": 20, "seed": 7}, "halfOpenMaxWaitMs": 5000}"#;
    let mut config = None;
    let n = allocations_in(|| {
        config = Some(serde_json::from_str::<Config<AnyPolicy>>(text).unwrap());
    });
    assert_eq!(config.unwrap().open_ms(), 10_000);
    assert_eq!(n, 0, "deserializing allocated {n} times");
}
