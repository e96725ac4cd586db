//! wasm-bindgen tests of the binding layer, run under Node by
//! wasm-bindgen-test-runner (ci.sh does):
//!
//! ```text
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!     cargo test -p halfopen-wasm --target wasm32-unknown-unknown --features std
//! ```
//!
//! A host `cargo test` compiles this file away. The breakers here have a
//! "user clock" with no JS hooks registered, so their clock reads stand
//! still at 0: the tests are deterministic.
#![cfg(target_arch = "wasm32")]

use halfopen::PermitToken;
use halfopen_wasm::{
    config_error, config_input, config_keys, decode_token, WasmBreaker, CONFIG_ERROR_OUT_OF_RANGE,
    FLEET_OPEN, HALF_OPEN_PERMIT, METRICS_LEN, OUTCOME_FAILURE, OUTCOME_SUCCESS, REJECT_OPEN,
    RESTORED, SNAPSHOT_CHECKSUM, SNAPSHOT_FOREIGN_CONFIG, SNAPSHOT_LENGTH, TIMED_PERMIT,
};
use wasm_bindgen_test::wasm_bindgen_test;

fn key(name: &str) -> u32 {
    config_keys()
        .position(|k| k == name)
        .expect("a configuration key") as u32
}

fn breaker(pairs: &[(&str, f64)]) -> Option<WasmBreaker> {
    for (i, (k, v)) in pairs.iter().enumerate() {
        config_input(i as u32, key(k), *v);
    }
    WasmBreaker::create(pairs.len() as u32, 1.0, true)
}

#[wasm_bindgen_test]
fn defaults_build() {
    let b = breaker(&[]).expect("the defaults are valid");
    assert_eq!(b.state(), 0);
}

#[wasm_bindgen_test]
fn a_config_error_names_key_and_range() {
    assert!(breaker(&[("openMs", 0.0)]).is_none());
    assert_eq!(config_error(0), key("openMs") as f64);
    assert_eq!(config_error(1), CONFIG_ERROR_OUT_OF_RANGE);
    assert_eq!(config_error(2), 0.0);
    assert_eq!(config_error(3), 1.0);
    assert_eq!(config_error(4), 2_147_483_647.0);

    assert!(breaker(&[
        ("failureRate.percent", 50.0),
        ("failureRate.window", 65.0),
        ("failureRate.minimumCalls", 1.0)
    ])
    .is_none());
    assert_eq!(config_error(0), key("failureRate.window") as f64);
    assert_eq!((config_error(3), config_error(4)), (1.0, 64.0));
}

#[wasm_bindgen_test]
fn trips_rejects_and_reports_metrics() {
    let b = breaker(&[("consecutiveFailures", 2.0), ("openMs", 1000.0)]).unwrap();
    for _ in 0..2 {
        let t = b.acquire();
        assert!(t >= 0 && t & HALF_OPEN_PERMIT == 0);
        b.record(t, b.started_ms(), OUTCOME_FAILURE);
    }
    assert_eq!(b.state(), 1);
    assert_eq!(b.acquire(), REJECT_OPEN);
    assert_eq!(b.number(), 1000.0);
    b.load_metrics();
    let m: Vec<f64> = (0..METRICS_LEN as u32).map(|i| b.metric(i)).collect();
    assert_eq!(&m[..8], &[1.0, 1.0, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0]);
    assert_eq!((m[8], m[9]), (0.0, 1000.0));
    assert!(m[11].is_nan(), "no window for the consecutive policy");
    b.reset();
    let t = b.acquire();
    b.record(t, 0.0, OUTCOME_SUCCESS);
    assert_eq!(b.state(), 0);
}

#[wasm_bindgen_test]
fn snapshot_words_round_trip() {
    let pairs = [("consecutiveFailures", 1.0), ("openMs", 60_000.0)];
    let a = breaker(&pairs).unwrap();
    let t = a.acquire();
    a.record(t, 0.0, OUTCOME_FAILURE);
    a.take_snapshot();
    let words: Vec<u32> = (0..12).map(|i| a.snapshot_word(i)).collect();

    let b = breaker(&pairs).unwrap();
    for (i, w) in words.iter().enumerate() {
        b.set_snapshot_word(i as u32, *w);
    }
    assert_eq!(b.restore(48, false), RESTORED);
    assert_eq!(b.state(), 1);

    let c = breaker(&pairs).unwrap();
    assert_eq!(c.restore(47, false), SNAPSHOT_LENGTH);
    assert_eq!(c.restore(49, false), SNAPSHOT_LENGTH);
    for (i, w) in words.iter().enumerate() {
        c.set_snapshot_word(i as u32, if i == 2 { w ^ 1 } else { *w });
    }
    assert_eq!(c.restore(48, true), SNAPSHOT_CHECKSUM);
    assert_eq!(c.state(), 0, "a refused snapshot changes nothing");

    let d = breaker(&[("consecutiveFailures", 2.0)]).unwrap();
    for (i, w) in words.iter().enumerate() {
        d.set_snapshot_word(i as u32, *w);
    }
    assert_eq!(d.restore(48, false), SNAPSHOT_FOREIGN_CONFIG);
}

#[wasm_bindgen_test]
fn an_untimed_permit_reaches_js_and_comes_back_untimed() {
    // The steady state: what JS gets for a closed-state permit without
    // slowCallMs says "untimed", and rebuilds to the core's untimed token
    // whatever start time JS gives back with it.
    let b = breaker(&[]).unwrap();
    let t = b.acquire();
    assert!(t >= 0);
    assert_eq!(t & (TIMED_PERMIT | HALF_OPEN_PERMIT), 0);
    for started in [0.0, b.started_ms()] {
        let token = decode_token(t, started);
        assert!(!token.is_timed());
        assert_eq!(token.started_ms(), PermitToken::NOT_TIMED);
    }
    b.record(t, 0.0, OUTCOME_SUCCESS);
    b.load_metrics();
    assert_eq!(b.metric(2), 1.0, "one success");
}

#[wasm_bindgen_test]
fn a_timed_permit_keeps_its_start_time_even_at_zero() {
    // These breakers' clock stands at 0: a start time of 0 is a timed
    // permit's, not "untimed".
    let b = breaker(&[("slowCallMs", 100.0)]).unwrap();
    let t = b.acquire();
    assert!(t >= 0 && t & TIMED_PERMIT != 0);
    assert_eq!(b.started_ms(), 0.0);
    let token = decode_token(t, b.started_ms());
    assert!(token.is_timed());
    assert_eq!(token.started_ms(), 0);
    b.record(t, b.started_ms(), OUTCOME_SUCCESS);
    b.load_metrics();
    assert_eq!(
        (b.metric(2), b.metric(4)),
        (1.0, 0.0),
        "a success, not slow"
    );
}

#[wasm_bindgen_test]
fn new_keys_build_and_adopt_refuses_what_the_core_refuses() {
    let b = breaker(&[
        ("timeWindow.failures", 3.0),
        ("timeWindow.windowMs", 1_000.0),
        ("timeWindow.buckets", 10.0),
        ("halfOpenMaxWaitMs", 500.0),
        ("jitter.percent", 20.0),
        ("jitter.seed", 4_294_967_295.0),
    ])
    .expect("the version 2 keys are valid");
    assert!(!b.adopt(FLEET_OPEN, 2_147_483_648.0, 0));
    assert!(!b.adopt(FLEET_OPEN, -1.0, 0));
    assert_eq!(b.state(), 0, "a refused fleet state changes nothing");
    assert!(
        breaker(&[("jitter.seed", 1.0)]).is_none(),
        "jitter needs its percent"
    );
    assert_eq!(config_error(0), key("jitter.percent") as f64);
}

#[wasm_bindgen_test]
fn handles_drive_the_same_breaker() {
    use halfopen_wasm::handle;
    config_input(0, key("consecutiveFailures"), 1.0);
    let h = handle::create(1, 1.0, true);
    assert_ne!(h, 0);
    let t = handle::acquire(h);
    handle::record(h, t, handle::started_ms(h), OUTCOME_FAILURE);
    assert_eq!(handle::state(h), 1);
    handle::free(h);
    config_input(0, key("openMs"), 0.0);
    assert_eq!(handle::create(1, 1.0, true), 0);
}
