//! Runtime pieces shared by the firmware binaries: the board description,
//! the `wfi` executor, the SysTick embassy-time driver, a tiny async
//! channel, and the exit/panic/HardFault paths. Linking this crate also
//! links the defmt logger (semihosting) and the critical-section
//! implementation (cortex-m's single-core one).

#![no_std]

pub mod board;
pub mod channel;
pub mod executor;
pub mod exit;
pub mod time_driver;

// The critical-section implementation (cortex-m's single-core one) is only
// linked if the crate is referenced.
use cortex_m as _;
use defmt_semihosting as _;

defmt::timestamp!("{=u64:ms}", embassy_time::Instant::now().as_millis());
