//! Runtime pieces shared by the firmware binaries: the board description,
//! the `wfi` executor, the SysTick embassy-time driver, the firmware clock
//! (continuous across a warm reset), a tiny async channel, the
//! exit/panic/HardFault paths, and (feature `vectors`, for the self-test
//! binary) the on-device conformance vector runner. Linking this crate also links the defmt
//! logger (semihosting) and the critical-section implementation (cortex-m's
//! single-core one).

#![no_std]

pub mod board;
pub mod channel;
pub mod executor;
pub mod exit;
#[cfg(feature = "stack-report")]
pub mod stack;
pub mod time_driver;
pub mod uptime;
#[cfg(feature = "vectors")]
pub mod vectors;

// The critical-section implementation (cortex-m's single-core one) is only
// linked if the crate is referenced.
use cortex_m as _;
use defmt_semihosting as _;

// Log timestamps are the firmware clock: continuous across a warm reset.
defmt::timestamp!("{=u64:ms}", uptime::now_ms());
