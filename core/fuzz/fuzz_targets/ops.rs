//! Arbitrary bytes -> a configuration set key by key (valid or not) -> an
//! operation sequence on a breaker with a clock that jumps anywhere. No input
//! may panic or overflow (built with debug assertions and overflow checks),
//! and the invariants that need no model hold after every step: totals match
//! the outcomes and rejections the driver made, `openedAt <= retryAt <=
//! openedAt + maxOpenMs`, windows hold no more than they can, a breaker's own
//! snapshot restores.
#![no_main]

use halfopen::{Breaker, Counters, MockClock};
use libfuzzer_sys::fuzz_target;

mod common;
use common::Input;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let Some(config) = common::config(&mut input) else {
        return;
    };
    let clock = MockClock::new(input.instant(0));
    let breaker = Breaker::with_observer(&config, &clock, Counters::new());
    common::run_ops(&breaker, &clock, &config, &mut input, 512);
});
