//! Arbitrary bytes -> `Breaker::restore` or `restore_same_clock` at any
//! clock reading: raw bytes, or a real snapshot (taken after operations
//! read from the input) with bytes changed, with or without a checksum that
//! matches again, truncated or extended. A refusal changes nothing; an
//! accepted snapshot snapshots back to the same bytes on the same clock and
//! the breaker keeps working (operations after it hold every invariant of
//! the `ops` target). Never a panic.
#![no_main]

use halfopen::{AnyPolicy, Breaker, Config, Counters, MockClock, SNAPSHOT_LEN};
use libfuzzer_sys::fuzz_target;

mod common;
use common::Input;

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// A few configurations, one per policy and with backoff, slow calls,
/// several half-open slots, the count rule, a half-open deadline and jitter,
/// so a snapshot meets a breaker of its own kind.
fn configs() -> [Config<AnyPolicy>; 7] {
    let key = |pairs: &[(&str, i64)]| {
        pairs
            .iter()
            .fold(Config::builder(), |b, (k, v)| b.set(k, *v).unwrap())
            .build()
            .unwrap()
    };
    [
        key(&[
            ("consecutiveFailures", 3),
            ("openMs", 100),
            ("successThreshold", 2),
        ]),
        key(&[
            ("failureRate.percent", 50),
            ("failureRate.window", 8),
            ("failureRate.minimumCalls", 2),
            ("halfOpenMaxCalls", 3),
            ("openMs", 1_000),
            ("backoff.factor", 2),
            ("backoff.maxOpenMs", 10_000),
        ]),
        key(&[
            ("timeWindow.percent", 50),
            ("timeWindow.windowMs", 1_000),
            ("timeWindow.buckets", 10),
            ("timeWindow.minimumCalls", 2),
            ("slowCallMs", 50),
        ]),
        key(&[
            ("failureRate.percent", 100),
            ("failureRate.window", 64),
            ("failureRate.minimumCalls", 64),
            ("openMs", 2_147_483_647),
        ]),
        key(&[
            ("failureRate.failures", 3),
            ("failureRate.window", 16),
            ("halfOpenMaxWaitMs", 200),
            ("openMs", 500),
            ("backoff.factor", 3),
            ("backoff.maxOpenMs", 100_000),
            ("jitter.percent", 50),
            ("jitter.seed", 12_345),
        ]),
        key(&[
            ("timeWindow.percent", 30),
            ("timeWindow.failures", 5),
            ("timeWindow.windowMs", 60_000),
            ("timeWindow.buckets", 6),
            ("halfOpenMaxCalls", 2),
            ("successThreshold", 2),
            ("halfOpenMaxWaitMs", 2_147_483_647),
        ]),
        key(&[
            ("consecutiveFailures", 1),
            ("openMs", 1),
            ("halfOpenMaxWaitMs", 1),
            ("jitter.percent", 100),
        ]),
    ]
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let configs = configs();
    let config = &configs[input.byte() as usize % configs.len()];
    let clock = MockClock::new(input.instant(0));
    let mode = input.byte() % 4;
    let bytes: Vec<u8> = if mode == 0 {
        input.rest().to_vec()
    } else {
        // A real snapshot, after some operations.
        let source = Breaker::with_observer(config, &clock, Counters::new());
        let n = input.byte() as usize % 64;
        common::run_ops(&source, &clock, config, &mut input, n);
        let mut bytes = source.snapshot().to_vec();
        for _ in 0..input.byte() % 8 {
            let i = input.byte() as usize % SNAPSHOT_LEN;
            bytes[i] ^= input.byte();
        }
        if mode >= 2 {
            let sum = fnv1a(&bytes[..44]);
            bytes[44..48].copy_from_slice(&sum.to_le_bytes());
        }
        if mode == 3 {
            bytes.resize(input.byte() as usize % (SNAPSHOT_LEN + 8), input.byte());
        }
        bytes
    };
    // The restore's clock: the snapshot's, or any other reading.
    if input.byte() % 2 == 1 {
        clock.set(input.instant(clock.get()));
    }
    let same_clock = input.byte() % 2 == 1;
    let breaker = Breaker::with_observer(config, &clock, Counters::new());
    let before = breaker.snapshot();
    let restored = if same_clock {
        breaker.restore_same_clock(&bytes)
    } else {
        breaker.restore(&bytes)
    };
    match restored {
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(
                breaker.snapshot(),
                before,
                "a refused restore changed the breaker"
            );
        }
        Ok(()) => {
            // A state a breaker can be in: its own snapshot restores to it
            // on the same clock.
            let again = breaker.snapshot();
            let other = Breaker::with_observer(config, &clock, Counters::new());
            match other.restore_same_clock(&again) {
                Ok(()) => {
                    if !common::half_open_at_zero(&again) {
                        assert_eq!(
                            other.snapshot(),
                            again,
                            "a restored state does not round-trip"
                        );
                    }
                }
                Err(e) if common::refused_own_snapshot(&again, e) => {}
                Err(e) => panic!("a restored state's own snapshot is refused: {e}"),
            }
            common::run_ops(&breaker, &clock, config, &mut input, 64);
        }
    }
});
