//! The embassy-time driver: SysTick at 1 kHz (`embassy-time-driver/tick-hz-1_000`).
//!
//! SysTick is programmed from the core clock to interrupt every millisecond;
//! the handler advances a 64-bit tick count and, when the earliest alarm is
//! due, lets `embassy_time_queue_utils::Queue` wake the expired timers and
//! report the next one. All state sits behind one critical section, so the
//! same code runs on the Cortex-M4 and on the Cortex-M0 (no CAS).
//!
//! On a real board, delete this file: the embassy HAL of the chip supplies a
//! time driver (RTC/TIMER based, tickless) through its `time-driver-*`
//! feature.

use core::cell::RefCell;
use core::task::Waker;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

use crate::board::CORE_CLOCK_HZ;

struct State {
    /// Milliseconds since `init`.
    ticks: u64,
    /// Tick at which the queue next needs attention (u64::MAX: none).
    alarm: u64,
    queue: Queue,
}

struct SysTickDriver {
    state: Mutex<RefCell<State>>,
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow_ref(cs).ticks)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut s = self.state.borrow_ref_mut(cs);
            if s.queue.schedule_wake(at, waker) {
                let now = s.ticks;
                // Wakes anything already due and returns the next deadline.
                s.alarm = s.queue.next_expiration(now);
            }
        });
    }
}

impl SysTickDriver {
    fn on_tick(&self) {
        critical_section::with(|cs| {
            let mut s = self.state.borrow_ref_mut(cs);
            s.ticks += 1;
            if s.ticks >= s.alarm {
                let now = s.ticks;
                s.alarm = s.queue.next_expiration(now);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    state: Mutex::new(RefCell::new(State { ticks: 0, alarm: u64::MAX, queue: Queue::new() })),
});

const _: () = assert!(
    embassy_time_driver::TICK_HZ == 1_000,
    "the SysTick driver ticks at 1 kHz"
);

/// Starts SysTick: one interrupt per millisecond.
pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_CLOCK_HZ / 1_000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[cortex_m_rt::exception]
fn SysTick() {
    DRIVER.on_tick();
}
