//! Flash probe: what one halfopen breaker adds to a thumbv7em firmware.
//!
//! Built twice by `measure.sh` at opt-level "z" with fat LTO:
//!
//! - feature `breaker`: each loop reads an input, asks a consecutive-failure
//!   breaker in a `static` for a permit, runs the operation, records success
//!   or failure, and reads the state;
//! - without it: the same input, the same operation and the same sinks, no
//!   breaker.
//!
//! The `.text` difference is the breaker's code: acquire, record, trip,
//! the open-state clock check, the half-open trial logic, `state()`.
//!
//! The clock is a SysTick millisecond counter (both builds have the
//! interrupt handler; only the breaker reads it).
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use cortex_m_rt::{entry, exception};

/// Milliseconds since boot, counted by the SysTick handler.
static TICKS: AtomicU32 = AtomicU32::new(0);

/// SysTick current value register: an input the compiler cannot predict.
const SYST_CVR: *const u32 = 0xE000_E018 as *const u32;

#[exception]
fn SysTick() {
    TICKS.fetch_add(1, Relaxed);
}

/// The guarded operation: succeeds on even inputs.
#[inline(always)]
fn operation(input: u32) -> bool {
    input & 1 == 0
}

#[cfg(feature = "breaker")]
mod guarded {
    use halfopen::{config, Breaker, Clock, Config};

    /// The SysTick counter as a breaker clock (a firmware would widen it to
    /// 64 bits across wraps; 32 bits of milliseconds is 49 days).
    pub struct Ticks;

    impl Clock for Ticks {
        fn now_ms(&self) -> u64 {
            super::TICKS.load(core::sync::atomic::Ordering::Relaxed) as u64
        }
    }

    static UPLINK: Config = config!(Config::consecutive_failures(3).open_ms(1_000));
    pub static BREAKER: Breaker<'static, Ticks> = Breaker::new(&UPLINK, Ticks);
}

#[entry]
fn main() -> ! {
    loop {
        // SAFETY: SYST_CVR is the always-mapped SysTick current value
        // register of every Cortex-M; reading it has no side effect.
        let input = unsafe { core::ptr::read_volatile(SYST_CVR) };

        #[cfg(feature = "breaker")]
        {
            let breaker = &guarded::BREAKER;
            match breaker.try_acquire() {
                Ok(permit) => {
                    let ok = operation(input);
                    black_box(ok);
                    if ok {
                        permit.success();
                    } else {
                        permit.failure();
                    }
                }
                Err(rejected) => {
                    black_box(&rejected);
                }
            }
            black_box(breaker.state() as u8);
        }

        #[cfg(not(feature = "breaker"))]
        {
            let ok = operation(input);
            black_box(ok);
            black_box(0u8);
        }
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}
