//! Size probe with the breaker (see src/probe.rs).
#![no_std]
#![no_main]
const WITH_BREAKER: bool = true;
include!("../probe.rs");
