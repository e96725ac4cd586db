//! The simulated world: a temperature sensor on a bus that fails in bursts,
//! and an uplink that sometimes hangs. Both follow fixed schedules, so the
//! breakers' transitions are known in advance (see "What the fault schedule
//! must cause" and `COLD_BOOT` / `WARM_BOOT` in main.rs).

use core::convert::Infallible;
use core::ops::{Range, RangeInclusive};

use embassy_time::Timer;

use halfopen_firmware::uptime;

/// A read of the sensor.
#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub struct Reading {
    /// Read sequence number (continues across a warm reset).
    pub seq: u32,
    /// Hundredths of a degree Celsius.
    pub centi_celsius: i32,
    /// `false` when the breaker (or the bus) gave nothing and the last good
    /// value stands in.
    pub fresh: bool,
}

/// A failed bus transaction.
#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum BusError {
    /// The sensor did not acknowledge its address.
    Nack,
}

/// Reads (by sequence number) during which the sensor does not answer:
/// three bursts, the second long enough to fail a half-open trial.
pub const BUS_FAULTS: [RangeInclusive<u32>; 3] = [4..=9, 16..=27, 36..=39];

/// What the sensor reports when it answers.
pub fn true_value(seq: u32) -> i32 {
    2_000 + ((seq * 37) % 50) as i32
}

/// One bus transaction (1 ms), failing on the fault schedule.
pub async fn read_sensor(seq: u32) -> Result<i32, BusError> {
    Timer::after_millis(1).await;
    if BUS_FAULTS.iter().any(|r| r.contains(&seq)) {
        Err(BusError::Nack)
    } else {
        Ok(true_value(seq))
    }
}

/// Firmware-clock window in which the link accepts a send and never answers.
pub const LINK_OUTAGE_MS: Range<u64> = 640..760;

/// Sends one reading (2 ms), or hangs forever if started during the outage:
/// only the caller's timeout ends it.
pub async fn link_send(_reading: &Reading) -> Result<(), Infallible> {
    if LINK_OUTAGE_MS.contains(&uptime::now_ms()) {
        core::future::pending::<()>().await;
    }
    Timer::after_millis(2).await;
    Ok(())
}
