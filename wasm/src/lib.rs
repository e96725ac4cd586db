//! Placeholder: the pipeline (build, pack, every runtime) runs against this
//! until the core lands.
use wasm_bindgen::prelude::*;

/// Placeholder breaker: counts calls.
#[wasm_bindgen]
pub struct WasmBreaker {
    calls: u32,
}

#[wasm_bindgen]
impl WasmBreaker {
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmBreaker {
        WasmBreaker { calls: 0 }
    }

    pub fn acquire(&mut self, now: f64) -> u32 {
        let _ = now;
        self.calls += 1;
        self.calls
    }
}

impl Default for WasmBreaker {
    fn default() -> Self {
        Self::new()
    }
}
