//! A thread-mode executor that sleeps with `wfi`.
//!
//! embassy's stock Cortex-M executor sleeps with `wfe`, which QEMU treats as a
//! no-op: it works but spins the host CPU, and under `-icount` it burns
//! minutes of wall time. This one runs `embassy_executor::raw::Executor`
//! with a `__pender` that only sets a flag, and sleeps with `wfi` when the
//! flag is clear.
//!
//! The race between "flag is clear" and "go to sleep" is closed the usual
//! way: the flag is checked with interrupts masked, and `wfi` still wakes on
//! an interrupt that becomes pending while they are masked; the handler runs
//! as soon as they are unmasked.

use core::sync::atomic::{AtomicBool, Ordering};

use embassy_executor::{raw, Spawner};

/// Set by the pender (from any context), cleared by the run loop before it
/// polls.
static WORK_PENDING: AtomicBool = AtomicBool::new(false);

// SAFETY: `__pender` is the symbol embassy-executor's raw executor calls to
// ask for a poll (no platform feature is enabled, so nothing else defines
// it). It has exactly the signature the executor declares, and it only does
// an atomic store, so it is sound to call from any context, reentrantly too.
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    WORK_PENDING.store(true, Ordering::Release);
}

/// Builds the executor, lets `init` spawn the tasks, and runs forever.
pub fn run(init: impl FnOnce(Spawner)) -> ! {
    let executor: &'static raw::Executor =
        cortex_m::singleton!(: raw::Executor = raw::Executor::new(core::ptr::null_mut()))
            .expect("executor::run called twice");
    init(executor.spawner());
    loop {
        WORK_PENDING.store(false, Ordering::Release);
        // SAFETY: `poll` must not be called reentrantly on one executor. It is
        // called only here, in thread mode, from this loop that never returns
        // and of which there is one (the singleton above panics on a second
        // call); the pender never polls, it only sets a flag.
        unsafe { executor.poll() };
        cortex_m::interrupt::free(|_| {
            if !WORK_PENDING.load(Ordering::Acquire) {
                cortex_m::asm::wfi();
            }
        });
    }
}
