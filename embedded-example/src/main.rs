//! halfopen firmware example (phase 1 skeleton): three embassy tasks, a
//! SysTick time driver, defmt over semihosting, a clean semihosting exit.

#![no_std]
#![no_main]

mod vectors;

use embassy_time::{Duration, Instant, Timer};
use halfopen_firmware::channel::Channel;
use halfopen_firmware::{board, executor, exit, time_driver};

const READINGS: u32 = 20;
const SENSOR_PERIOD: Duration = Duration::from_millis(50);
const UPLINK_SEND_TIME: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, defmt::Format)]
struct Reading {
    seq: u32,
    centi_celsius: i32,
}

#[derive(Clone, Copy, defmt::Format)]
enum Event {
    Sent { seq: u32 },
    SensorDone { count: u32 },
}

static READINGS_CH: Channel<Reading, 4> = Channel::new();
static EVENTS_CH: Channel<Event, 8> = Channel::new();

#[embassy_executor::task]
async fn sensor() {
    for seq in 0..READINGS {
        Timer::after(SENSOR_PERIOD).await;
        let reading = Reading { seq, centi_celsius: 2_000 + (seq as i32 % 7) * 13 };
        defmt::debug!("sensor: {}", reading);
        READINGS_CH.send(reading).await;
    }
    EVENTS_CH.send(Event::SensorDone { count: READINGS }).await;
}

#[embassy_executor::task]
async fn uplink() {
    loop {
        let reading = READINGS_CH.recv().await;
        Timer::after(UPLINK_SEND_TIME).await;
        EVENTS_CH.send(Event::Sent { seq: reading.seq }).await;
    }
}

#[embassy_executor::task]
async fn monitor(started: Instant) {
    let mut sent = 0u32;
    let mut sensor_done = None;
    let mut ok = true;
    loop {
        match EVENTS_CH.recv().await {
            Event::Sent { seq } => {
                if seq != sent {
                    defmt::error!("monitor: reading {} sent out of order (expected {})", seq, sent);
                    ok = false;
                }
                sent += 1;
            }
            Event::SensorDone { count } => sensor_done = Some(count),
        }
        if let Some(count) = sensor_done {
            if sent == count {
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let expected = SENSOR_PERIOD * READINGS;
    defmt::info!("monitor: {} readings sent in {} ms", sent, elapsed.as_millis());
    if elapsed < expected || elapsed > expected + Duration::from_millis(100) {
        defmt::error!("monitor: timers off: {} ms elapsed, expected about {} ms", elapsed.as_millis(), expected.as_millis());
        ok = false;
    }
    let (_, failed) = vectors::run();
    ok &= failed == 0;
    if ok {
        defmt::info!("firmware: all checks passed");
        exit::exit(exit::EXIT_OK)
    } else {
        defmt::error!("firmware: checks FAILED");
        exit::exit(exit::EXIT_CHECKS_FAILED)
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().expect("core peripherals taken once");
    time_driver::init(cp.SYST);
    defmt::info!("firmware: boot on {=str}", board::NAME);
    executor::run(|spawner| {
        let started = Instant::now();
        spawner.spawn(sensor().expect("spawn sensor"));
        spawner.spawn(uplink().expect("spawn uplink"));
        spawner.spawn(monitor(started).expect("spawn monitor"));
    })
}
