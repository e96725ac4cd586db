//! wasm-bindgen tests of the binding layer, run under Node:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test -p halfopen-wasm --target wasm32-unknown-unknown` (ci.sh does).
//! A host `cargo test` compiles this file away.
#![cfg(target_arch = "wasm32")]

use halfopen_wasm::WasmBreaker;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn placeholder_counts_calls() {
    let mut b = WasmBreaker::new();
    assert_eq!(b.acquire(0.0), 1);
    assert_eq!(b.acquire(0.0), 2);
}
