//! Ending the run: semihosting exit codes, the panic handler and the
//! HardFault handler.
//!
//! Everything on stdout is the binary defmt stream, so nothing here prints
//! plain text: a panic is logged with defmt, then QEMU is ended through
//! semihosting with a failure code that `run.sh` checks.

/// Exit code of a run whose checks all passed.
pub const EXIT_OK: i32 = 0;
/// Exit code of a run whose checks found a wrong result.
pub const EXIT_CHECKS_FAILED: i32 = 1;
/// Exit code after a panic.
pub const EXIT_PANIC: i32 = 101;
/// Exit code after a HardFault.
pub const EXIT_HARDFAULT: i32 = 102;

/// Ends the QEMU run with `code` (SYS_EXIT_EXTENDED, so the code reaches the
/// host process's exit status).
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // Display2Format formats on the device: costs flash, but a panic message
    // is worth it in an example.
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(EXIT_PANIC)
}

#[cortex_m_rt::exception]
// SAFETY: cortex-m-rt requires the HardFault handler to be an `unsafe fn`; it
// only reads the stacked frame it is handed and never returns.
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!(
        "HardFault at pc={=u32:#010x} lr={=u32:#010x}",
        frame.pc(),
        frame.lr()
    );
    exit(EXIT_HARDFAULT)
}
