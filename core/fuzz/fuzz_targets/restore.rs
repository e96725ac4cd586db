//! Arbitrary bytes -> `Breaker::restore`: raw bytes, or a real snapshot
//! (taken after operations read from the input) with bytes changed, with or
//! without a checksum that matches again, truncated or extended. A refusal
//! changes nothing; an accepted snapshot snapshots back to the same bytes
//! and the breaker keeps working (operations after it hold every invariant
//! of the `ops` target). Never a panic.
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

/// A few configurations, one per policy and with backoff, slow calls and
/// several half-open slots, so a snapshot meets a breaker of its own kind.
fn configs() -> [Config<AnyPolicy>; 4] {
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
    let breaker = Breaker::with_observer(config, &clock, Counters::new());
    let before = breaker.snapshot();
    match breaker.restore(&bytes) {
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(
                breaker.snapshot(),
                before,
                "a refused restore changed the breaker"
            );
        }
        Ok(()) => {
            // A state a breaker can be in: its own snapshot restores to it.
            let again = breaker.snapshot();
            let other = Breaker::with_observer(config, &clock, Counters::new());
            other.restore(&again).expect("a restored state's own snapshot is refused");
            assert_eq!(other.snapshot(), again, "a restored state does not round-trip");
            common::run_ops(&breaker, &clock, config, &mut input, 64);
        }
    }
});
