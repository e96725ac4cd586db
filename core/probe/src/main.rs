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
//! Features `failure-rate` and `time-window` build the same loop on a
//! breaker of that policy (reported, no budget).
//!
//! Feature `atomic64-canary` (never measured) plants a 64-bit atomic, so
//! that measure.sh's negative control can show its lock check finds a
//! portable-atomic fallback lock when there is one.
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

/// The SysTick counter as a breaker clock (a firmware would widen it to 64
/// bits across wraps; 32 bits of milliseconds is 49 days). Zero-sized.
#[cfg(any(feature = "breaker", feature = "sizes"))]
pub struct Ticks;

#[cfg(any(feature = "breaker", feature = "sizes"))]
impl halfopen::Clock for Ticks {
    fn now_ms(&self) -> u64 {
        TICKS.load(Relaxed) as u64
    }
}

#[cfg(feature = "breaker")]
mod guarded {
    use halfopen::{config, Breaker, Config};

    use super::Ticks;

    #[cfg(not(any(feature = "all-keys", feature = "failure-rate", feature = "time-window")))]
    static UPLINK: Config = config!(Config::consecutive_failures(3).open_ms(1_000));
    #[cfg(feature = "all-keys")]
    static UPLINK: Config = config!(Config::consecutive_failures(3)
        .open_ms(1_000)
        .backoff(2, 60_000)
        .half_open_max_wait_ms(5_000)
        .jitter(20, 0xC0FFEE));
    #[cfg(not(any(feature = "failure-rate", feature = "time-window")))]
    pub static BREAKER: Breaker<'static, Ticks> = Breaker::new(&UPLINK, Ticks);

    // The rate policies (measure.sh reports their flash; no budget).
    #[cfg(feature = "failure-rate")]
    static UPLINK: Config<halfopen::FailureRate> =
        config!(Config::failure_rate(50, 20, 10).open_ms(1_000));
    #[cfg(feature = "failure-rate")]
    pub static BREAKER: Breaker<'static, Ticks, halfopen::FailureRate> =
        Breaker::new(&UPLINK, Ticks);
    #[cfg(feature = "time-window")]
    static UPLINK: Config<halfopen::TimeWindow> =
        config!(Config::time_window(50, 10_000, 10, 10).open_ms(1_000));
    #[cfg(feature = "time-window")]
    pub static BREAKER: Breaker<'static, Ticks, halfopen::TimeWindow> =
        Breaker::new(&UPLINK, Ticks);

    // The DESIGN.md budget, checked by the compiler on this target.
    const _: () = assert!(
        core::mem::size_of::<Breaker<'static, Ticks>>() <= 16,
        "a consecutive-failure breaker is over 16 bytes on thumbv7em"
    );
}

/// `size_of` per policy and clock, as symbol sizes (`nm -S`): the build with
/// feature `sizes` keeps them, measure.sh prints them.
#[cfg(feature = "sizes")]
mod sizes {
    use core::mem::size_of;

    use halfopen::{
        AnyPolicy, Breaker, ConsecutiveFailures, Counters, FailureRate, MockClock, TimeWindow,
    };

    use super::Ticks;

    type Mock = &'static MockClock;

    macro_rules! size_symbols {
        ($($name:ident: $t:ty;)*) => {
            $(
                #[no_mangle]
                #[used]
                pub static $name: [u8; size_of::<$t>()] = [0; size_of::<$t>()];
            )*
            /// Keeps every symbol through LTO and section GC.
            pub fn keep() {
                $( core::hint::black_box(&$name); )*
            }
        };
    }

    size_symbols! {
        SIZE_OF_CONSECUTIVE_ZST_CLOCK: Breaker<'static, Ticks, ConsecutiveFailures>;
        SIZE_OF_CONSECUTIVE_MOCK_REF: Breaker<'static, Mock, ConsecutiveFailures>;
        SIZE_OF_CONSECUTIVE_COUNTERS_ZST_CLOCK: Breaker<'static, Ticks, ConsecutiveFailures, Counters>;
        SIZE_OF_CONSECUTIVE_COUNTERS_MOCK_REF: Breaker<'static, Mock, ConsecutiveFailures, Counters>;
        SIZE_OF_FAILURE_RATE_ZST_CLOCK: Breaker<'static, Ticks, FailureRate>;
        SIZE_OF_FAILURE_RATE_MOCK_REF: Breaker<'static, Mock, FailureRate>;
        SIZE_OF_TIME_WINDOW_ZST_CLOCK: Breaker<'static, Ticks, TimeWindow>;
        SIZE_OF_TIME_WINDOW_MOCK_REF: Breaker<'static, Mock, TimeWindow>;
        SIZE_OF_ANY_POLICY_ZST_CLOCK: Breaker<'static, Ticks, AnyPolicy>;
        SIZE_OF_ANY_POLICY_MOCK_REF: Breaker<'static, Mock, AnyPolicy>;
    }
}

#[entry]
fn main() -> ! {
    #[cfg(feature = "sizes")]
    sizes::keep();

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

        // The lock check's negative control (measure.sh): a 64-bit atomic,
        // which thumbv7em only has through portable-atomic's fallback lock.
        #[cfg(feature = "atomic64-canary")]
        {
            static CANARY: portable_atomic::AtomicU64 = portable_atomic::AtomicU64::new(0);
            black_box(CANARY.fetch_add(u64::from(input), Relaxed));
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
