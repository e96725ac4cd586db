//! What both fuzz targets share: reading values out of the fuzzer's bytes,
//! a configuration built key by key (valid or not), and an operation driver
//! that checks the invariants that need no model.

#![allow(dead_code)]

use halfopen::{
    AnyPolicy, Breaker, CallError, Config, ConfigErrorKind, Counters, FleetState, MockClock,
    Outcome, Permit, PermitToken, RejectReason, SnapshotError, State, MAX_DURATION_MS,
};

/// The fuzzer's bytes, read front to back; past the end every read is 0.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        u64::from_le_bytes(b)
    }

    /// A configuration value: small, at a boundary of some key's range, or
    /// any `i64`.
    pub fn value(&mut self) -> i64 {
        const EDGES: [i64; 20] = [
            0,
            -1,
            1,
            2,
            16,
            17,
            64,
            65,
            100,
            101,
            255,
            256,
            65_535,
            65_536,
            MAX_DURATION_MS as i64,
            MAX_DURATION_MS as i64 + 1,
            u32::MAX as i64,
            u32::MAX as i64 + 1,
            i64::MIN,
            i64::MAX,
        ];
        match self.byte() % 4 {
            0 | 1 => self.byte() as i64,
            2 => EDGES[self.byte() as usize % EDGES.len()],
            _ => self.u64() as i64,
        }
    }

    /// A clock reading relative to `now`: a small step either way, a jump,
    /// a 2^24 / 2^32 / 2^48 boundary, or anything at all (up to `u64::MAX`).
    pub fn instant(&mut self, now: u64) -> u64 {
        match self.byte() % 6 {
            0 | 1 => now.wrapping_add(self.byte() as u64 * 7),
            2 => now.saturating_sub(self.byte() as u64 * 13),
            3 => {
                let base = [1u64 << 24, 1 << 32, 1 << 48, 1 << 59, u64::MAX - 300]
                    [self.byte() as usize % 5];
                base.wrapping_add(self.byte() as u64)
            }
            4 => now.saturating_add((self.byte() as u64) << (self.byte() % 64)),
            _ => self.u64(),
        }
    }
}

/// How many of [`KEYS`] are real keys (the rest are not keys).
pub const REAL_KEYS: usize = 19;

/// Every key of BEHAVIOR.md's table, by path, and a few that are not keys.
pub const KEYS: [&str; 23] = [
    "consecutiveFailures",
    "failureRate.percent",
    "failureRate.failures",
    "failureRate.window",
    "failureRate.minimumCalls",
    "timeWindow.percent",
    "timeWindow.failures",
    "timeWindow.windowMs",
    "timeWindow.buckets",
    "timeWindow.minimumCalls",
    "openMs",
    "halfOpenMaxCalls",
    "successThreshold",
    "slowCallMs",
    "backoff.factor",
    "backoff.maxOpenMs",
    "halfOpenMaxWaitMs",
    "jitter.percent",
    "jitter.seed",
    "failureRate.",
    "timeWindow.bogus",
    "backoff",
    "",
];

/// Reads keys and values and builds a configuration; checks that every
/// refusal names a key and that an accepted one is within the table.
pub fn config(input: &mut Input) -> Option<Config<AnyPolicy>> {
    let mut builder = Config::builder();
    for _ in 0..input.byte() % 16 {
        let key = KEYS[input.byte() as usize % KEYS.len()];
        let value = input.value();
        match builder.set(key, value) {
            Ok(b) => builder = b,
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ConfigErrorKind::UnknownKey,
                    "set({key:?}) refused"
                );
                assert!(
                    !KEYS[..REAL_KEYS].contains(&key),
                    "a real key was refused: {key}"
                );
                let _ = e.to_string();
            }
        }
    }
    match builder.build() {
        Ok(c) => {
            check_config(&c);
            Some(c)
        }
        Err(e) => {
            let text = e.to_string();
            match e.kind() {
                ConfigErrorKind::Conflict => assert_eq!(e.key(), "trip"),
                _ => assert!(
                    KEYS[..REAL_KEYS].contains(&e.key()),
                    "error names {:?}: {text}",
                    e.key()
                ),
            }
            None
        }
    }
}

fn check_config(c: &Config<AnyPolicy>) {
    let max = MAX_DURATION_MS;
    assert!((1..=max).contains(&c.open_ms()));
    assert!(c.half_open_max_calls() >= 1);
    assert!(c.success_threshold() >= 1);
    if let Some(ms) = c.slow_call_ms() {
        assert!((1..=max).contains(&ms));
    }
    let cap = c.backoff().map_or(c.open_ms(), |(f, m)| {
        assert!((1..=16).contains(&f) && m >= c.open_ms() && m <= max);
        m
    });
    if let Some(ms) = c.half_open_max_wait_ms() {
        assert!((1..=max).contains(&ms));
    }
    let jitter = c.jitter().map_or(0, |(percent, _)| {
        assert!((1..=100).contains(&percent));
        percent as u64
    });
    for k in 0..40 {
        let d = c.open_duration_ms(k) as u64;
        // Jitter shortens an opening by at most `percent` % of it, never
        // below 1 ms.
        let floor = (c.open_ms() as u64 - c.open_ms() as u64 * jitter / 100).max(1);
        assert!(d >= floor && d <= cap as u64, "open_duration_ms({k}) = {d}");
    }
    match *c.policy() {
        AnyPolicy::ConsecutiveFailures(p) => assert!(p.threshold() >= 1),
        AnyPolicy::FailureRate(p) => {
            assert!(p.percent().is_some() || p.failures().is_some(), "no rule");
            assert!(p.percent().is_none_or(|x| (1..=100).contains(&x)));
            assert!((1..=64).contains(&p.window()));
            assert!(p.failures().is_none_or(|n| (1..=p.window()).contains(&n)));
            assert!((1..=p.window()).contains(&p.minimum_calls()));
        }
        AnyPolicy::TimeWindow(p) => {
            assert!(p.percent().is_some() || p.failures().is_some(), "no rule");
            assert!(p.percent().is_none_or(|x| (1..=100).contains(&x)));
            assert!(p.failures().is_none_or(|n| (1..=max).contains(&n)));
            assert!((1..=64).contains(&p.buckets()));
            assert!(p.window_ms() % p.buckets() as u32 == 0 && p.window_ms() <= max);
            assert!(p.bucket_ms() >= 1 && p.minimum_calls() >= 1);
        }
    }
}

/// A fleet state read from the input: open with a remaining time in range
/// (small, at the bounds, or anywhere) and any `k`, closed or isolated.
pub fn fleet(input: &mut Input) -> FleetState {
    match input.byte() % 4 {
        0 | 1 => {
            let r = match input.byte() % 4 {
                0 => input.byte() as u64,
                1 => 0,
                2 => MAX_DURATION_MS as u64,
                _ => input.u64() % (MAX_DURATION_MS as u64 + 1),
            };
            FleetState::open(r, input.byte() as u32).expect("remainingMs in range")
        }
        2 => FleetState::Closed,
        _ => FleetState::Isolated,
    }
}

/// Whether a snapshot is of a half-open breaker whose entry time it stores
/// as 0, which `restore` reads as "not written yet" (the breaker is then
/// restored as just entered): its round trip is not exact.
pub fn half_open_at_zero(bytes: &[u8]) -> bool {
    bytes.len() >= 16 && bytes[3] == 2 && bytes[8..16] == [0; 8]
}

type Core<'a> = Breaker<'a, &'a MockClock, AnyPolicy, Counters>;

/// What the driver did, to check the totals against.
#[derive(Default)]
pub struct Tally {
    pub outcomes: u32,
    pub ignored: u32,
    pub rejected: u32,
}

fn outcome(b: u8) -> Outcome {
    match b % 3 {
        0 => Outcome::Success,
        1 => Outcome::Failure,
        _ => Outcome::Ignore,
    }
}

/// Runs up to `max_ops` operations read from `input`; panics on any broken
/// invariant.
pub fn run_ops(
    b: &Core<'_>,
    clock: &MockClock,
    config: &Config<AnyPolicy>,
    input: &mut Input,
    max_ops: usize,
) {
    let mut permits: [Option<Permit<'_, '_, &MockClock, AnyPolicy, Counters>>; 4] =
        [None, None, None, None];
    let mut tally = Tally::default();
    let end = |p: Option<Permit<'_, '_, &MockClock, AnyPolicy, Counters>>,
               o: Option<Outcome>,
               tally: &mut Tally| {
        if let Some(p) = p {
            match o {
                Some(o) => {
                    if o == Outcome::Ignore {
                        tally.ignored += 1;
                    } else {
                        tally.outcomes += 1;
                    }
                    p.record(o)
                }
                None => drop(p),
            }
        }
    };
    for _ in 0..max_ops {
        if input.is_empty() {
            break;
        }
        let op = input.byte();
        let slot = (op >> 4) as usize % 4;
        let now = clock.get();
        match op % 16 {
            0 => {
                end(permits[slot].take(), None, &mut tally);
                match b.try_acquire() {
                    Ok(p) => permits[slot] = Some(p),
                    Err(r) => {
                        tally.rejected += 1;
                        check_rejection(b, r.reason(), r.retry_after_ms());
                    }
                }
            }
            1 => end(permits[slot].take(), Some(Outcome::Success), &mut tally),
            2 => end(permits[slot].take(), Some(Outcome::Failure), &mut tally),
            3 => end(permits[slot].take(), Some(Outcome::Ignore), &mut tally),
            4 => end(permits[slot].take(), None, &mut tally),
            5 => {
                let o = outcome(input.byte());
                let later = input.instant(now);
                match b.call_classified(
                    || {
                        clock.set(later);
                        Ok::<(), ()>(())
                    },
                    |_| o,
                ) {
                    Ok(()) => {
                        if o == Outcome::Ignore {
                            tally.ignored += 1;
                        } else {
                            tally.outcomes += 1;
                        }
                    }
                    Err(CallError::Rejected(r)) => {
                        tally.rejected += 1;
                        check_rejection(b, r.reason(), r.retry_after_ms());
                    }
                    Err(_) => panic!("a call that ran returned no result"),
                }
            }
            6 => b.isolate(),
            7 => b.reset(),
            8 => {
                let t = input.instant(now);
                let _ = (b.state_at(t), b.state(), b.health(), b.totals());
            }
            9 | 10 | 11 => clock.set(input.instant(now)),
            12 => {
                // A token forged across an FFI boundary: any epoch, any start.
                let token =
                    PermitToken::from_parts(input.u64() as u16, input.byte() & 1 == 1, input.u64());
                match input.byte() % 4 {
                    0 => b.release_token(token),
                    x => {
                        let o = outcome(x - 1);
                        if o == Outcome::Ignore {
                            tally.ignored += 1;
                        } else {
                            tally.outcomes += 1;
                        }
                        b.record_token(token, o);
                    }
                }
            }
            13 => {
                // Snapshot, restore into a fresh breaker on the same clock at
                // the same reading: the same state.
                let bytes = b.snapshot();
                let fresh = Breaker::with_observer(config, clock, Counters::new());
                match fresh.restore_same_clock(&bytes) {
                    Ok(()) => {}
                    Err(e) if refused_own_snapshot(&bytes, e) => continue,
                    Err(e) => panic!("a breaker's own snapshot is refused: {e}"),
                }
                // (A snapshot may record a `takenAt` ahead of the clock, see
                // `refused_own_snapshot`: then the restore re-bases.)
                let taken = u64::from_le_bytes(bytes[36..44].try_into().unwrap());
                if !half_open_at_zero(&bytes) && taken == now {
                    assert_eq!(fresh.snapshot(), bytes);
                    assert_eq!(fresh.state_at(now), b.state_at(now));
                }
                assert_eq!(fresh.epoch(), b.epoch());
            }
            14 => match b.try_acquire_token() {
                Ok(t) => {
                    tally.outcomes += 1;
                    let o = if input.byte() % 2 == 0 {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    b.record_token(t, o);
                }
                Err(r) => {
                    tally.rejected += 1;
                    check_rejection(b, r.reason(), r.retry_after_ms());
                }
            },
            _ => match input.byte() % 4 {
                0 => {
                    let _ = b.snapshot();
                }
                1 | 2 => adopt(b, fleet(input), now),
                _ => restart(b, clock, config, input, now),
            },
        }
        check_metrics(b, &tally, config);
    }
    for p in permits.iter_mut() {
        end(p.take(), None, &mut tally);
    }
    check_metrics(b, &tally, config);
}

/// Clock readings at or past this are out of range (`ClockOutOfRange`).
const CLOCK_LIMIT: u64 = (1 << 59) - (1 << 31);

/// Whether `restore` refused a breaker's own snapshot of an open state
/// taken while the clock read more than 2^31 - 1 ms before `retryAt` (the
/// clock went back after the trip): the core refuses such bytes as
/// `Invalid("retryAt")`, although BEHAVIOR.md restores them with the
/// opening's remaining duration (at most `d`). Tolerated here so that the
/// fuzzer looks past it.
pub fn refused_own_snapshot(bytes: &[u8], e: SnapshotError) -> bool {
    let le64 = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    e == SnapshotError::Invalid("retryAt")
        && bytes[3] == 1
        && le64(8).saturating_sub(le64(36)) > MAX_DURATION_MS as u64
}

/// `adopt` at `now`, checked against BEHAVIOR.md's fleet table.
fn adopt(b: &Core<'_>, state: FleetState, now: u64) {
    let isolated = b.state_at(0) == State::Isolated;
    let before = b.metrics();
    b.adopt(state);
    let after = b.metrics();
    match state {
        FleetState::Closed => assert_eq!(b.state_at(0), State::Closed),
        FleetState::Isolated => {
            assert_eq!(b.state_at(0), State::Isolated);
            assert_eq!(after.epoch, (before.epoch + 1) & 0x3FFF);
        }
        FleetState::Open { remaining_ms, .. } => {
            if isolated || now >= CLOCK_LIMIT {
                assert_eq!(after.epoch, before.epoch, "adopted into {}", before.state);
            } else {
                let until = now + remaining_ms as u64;
                let retry_at = after.retry_at.expect("adopted open, yet not open");
                assert!(
                    retry_at >= until,
                    "retryAt {retry_at} before now + r {until}"
                );
                if let (State::Open, Some(was)) = (before.state, before.retry_at) {
                    // Open (or reading half-open past retryAt): the later.
                    assert!(retry_at == was.max(until) || retry_at == until);
                }
            }
        }
    }
}

/// A restart: snapshot, then restore into a fresh breaker whose clock reads
/// anything (re-based, or on the same clock); the restored breaker is what
/// BEHAVIOR.md says, never open longer than 2^31 - 1 ms from the restore.
/// The clock keeps the new reading.
fn restart(
    b: &Core<'_>,
    clock: &MockClock,
    config: &Config<AnyPolicy>,
    input: &mut Input,
    now: u64,
) {
    let bytes = b.snapshot();
    let same_clock = input.byte() & 1 == 1;
    let later = input.instant(now);
    clock.set(later);
    let fresh = Breaker::with_observer(config, clock, Counters::new());
    let restored = if same_clock {
        fresh.restore_same_clock(&bytes)
    } else {
        fresh.restore(&bytes)
    };
    match restored {
        Ok(()) => {}
        Err(e) if refused_own_snapshot(&bytes, e) => return,
        Err(e) => panic!("a breaker's own snapshot is refused after a restart: {e}"),
    }
    let m = fresh.metrics();
    assert_eq!(m.epoch, b.epoch());
    assert_eq!((m.successes, m.failures, m.rejected), (0, 0, 0));
    let at = later.min(CLOCK_LIMIT - 1);
    if bytes[3] == 1 {
        let retry_at = m.retry_at.expect("restored open, yet not open");
        assert!(
            retry_at <= at + MAX_DURATION_MS as u64,
            "open until {retry_at}, more than 2^31 - 1 ms after the restore at {at}"
        );
    }
    let again = fresh.snapshot();
    let other = Breaker::with_observer(config, clock, Counters::new());
    match other.restore_same_clock(&again) {
        Ok(()) => {}
        Err(e) if refused_own_snapshot(&again, e) => return,
        Err(e) => panic!("a restored breaker's own snapshot is refused: {e}"),
    }
    if !half_open_at_zero(&again) {
        assert_eq!(
            other.snapshot(),
            again,
            "a restored state does not round-trip"
        );
    }
}

fn check_rejection(b: &Core<'_>, reason: RejectReason, retry: Option<u64>) {
    match reason {
        RejectReason::Open => {
            let d = retry.expect("an open rejection has a retry hint");
            assert!(d >= 1, "open rejection with hint 0");
        }
        RejectReason::HalfOpenFull | RejectReason::Isolated | RejectReason::ClockOutOfRange => {
            assert_eq!(retry, None)
        }
    }
    let _ = b;
}

fn check_metrics(b: &Core<'_>, tally: &Tally, config: &Config<AnyPolicy>) {
    let m = b.metrics();
    assert!(m.epoch < 1 << 14);
    assert_eq!(
        m.successes.wrapping_add(m.failures),
        tally.outcomes,
        "outcomes counted"
    );
    assert_eq!(m.ignored, tally.ignored);
    assert_eq!(m.rejected, tally.rejected);
    assert!(m.slow_calls <= m.failures);
    match (m.opened_at, m.retry_at) {
        (Some(o), Some(r)) => {
            // `openedAt` is `retryAt` less one opening's duration (floored
            // at 0), which jitter may make shorter than `openMs`.
            assert!(r >= o);
            if config.jitter().is_none() && o > 0 {
                assert!(r - o >= config.open_ms() as u64);
            }
            assert!(r - o <= config.backoff().map_or(config.open_ms(), |b| b.1) as u64);
        }
        (None, None) => {}
        other => panic!("openedAt and retryAt disagree: {other:?}"),
    }
    if let Some((f, n)) = m.window {
        assert!(f <= n, "window {f}/{n}");
        if let AnyPolicy::FailureRate(p) = config.policy() {
            assert!(n <= p.window() as u64);
        }
    }
    if b.state_at(0) != State::Closed {
        assert_eq!(m.failure_run, 0);
    }
}
