// The size probe, included by src/bin/probe_bare.rs (WITH_BREAKER = false)
// and src/bin/probe_breaker.rs (WITH_BREAKER = true). Both build the same
// small firmware: a 1 kHz loop that reads a sensor on a flaky bus and falls
// back to the last good value. The only difference is whether the read goes
// through a `static` breaker (consecutive failures, no observer: the
// smallest configuration a firmware would ship). The difference of their
// sizes is what the breaker adds to a firmware; sizes.sh prints it.
//
// Each probe also runs in QEMU and checks its own result, so the numbers
// come from a working program.

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use embassy_time::Timer;
use halfopen::{config, Breaker, Config};
use halfopen_firmware::uptime::Uptime;
use halfopen_firmware::{executor, exit, time_driver};

static CONFIG: Config = config!(Config::consecutive_failures(3).open_ms(20));
static BREAKER: Breaker<'static, Uptime> = Breaker::new(&CONFIG, Uptime);

/// A bus register; the read fails on a fixed schedule.
static BUS: AtomicU32 = AtomicU32::new(0);

fn bus_read(n: u32) -> Result<u32, ()> {
    let v = BUS.load(Relaxed).wrapping_add(n);
    BUS.store(v, Relaxed);
    if (20..30).contains(&n) {
        Err(())
    } else {
        Ok(v & 0xff)
    }
}

#[embassy_executor::task]
async fn run() {
    let (mut fresh, mut stale, mut last) = (0u32, 0u32, 0u32);
    for n in 0..100 {
        Timer::after_millis(1).await;
        let r = if WITH_BREAKER {
            BREAKER.call(|| bus_read(n)).map_err(|_| ())
        } else {
            bus_read(n)
        };
        match r {
            Ok(v) => {
                fresh += 1;
                last = v;
            }
            Err(()) => stale += 1,
        }
    }
    defmt::info!("probe: {} fresh, {} stale, last {}", fresh, stale, last);
    // Without the breaker every faulty read reaches the bus: 10 stale. With
    // it, 3 failures open it and the reads of the next 20 ms (one a
    // millisecond) are rejected without touching the bus: about 22.
    let ok = if WITH_BREAKER { (20..=25).contains(&stale) } else { stale == 10 };
    if ok {
        defmt::info!("firmware: all checks passed");
        exit::exit(exit::EXIT_OK)
    }
    defmt::error!("probe: unexpected number of stale reads");
    exit::exit(exit::EXIT_CHECKS_FAILED)
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().expect("core peripherals taken once");
    time_driver::init(cp.SYST);
    executor::run(|spawner| spawner.spawn(run().expect("spawn")))
}
