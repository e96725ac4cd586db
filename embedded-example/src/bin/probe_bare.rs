//! Size probe without the breaker (see src/probe.rs).
#![no_std]
#![no_main]
const WITH_BREAKER: bool = false;
include!("../probe.rs");
