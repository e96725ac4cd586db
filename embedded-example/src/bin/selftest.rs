//! The firmware's self-test: runs the conformance vectors on the device
//! (feature `vectors`; the table comes from build.rs) and exits through
//! semihosting, 0 when every case passed. It logs the host runner's lines,
//! `ok NAME` / `FAIL NAME: ...` and `N passed, N failed`, which run.sh
//! compares with the host runner's output on the same files.
#![no_std]
#![no_main]

use halfopen_firmware::{board, exit, vectors};

#[cortex_m_rt::entry]
fn main() -> ! {
    defmt::info!("selftest: conformance vectors on {=str}", board::NAME);
    let (passed, failed) = vectors::run();
    #[cfg(feature = "stack-report")]
    {
        let (used, size) = halfopen_firmware::stack::usage();
        defmt::info!(
            "firmware: stack high-water {=usize} of {=usize} bytes",
            used,
            size
        );
    }
    if failed == 0 && passed > 0 {
        defmt::info!("firmware: all checks passed");
        exit::exit(exit::EXIT_OK)
    }
    defmt::error!("firmware: checks FAILED");
    exit::exit(exit::EXIT_CHECKS_FAILED)
}
