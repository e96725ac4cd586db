//! halfopen on a microcontroller: a sensor on a flaky bus and an uplink
//! that sometimes hangs, each behind a circuit breaker in a `static`,
//! driven by embassy tasks and logged with defmt.
//!
//! Tasks:
//! - **sensor** reads the temperature every 50 ms through the `SENSOR`
//!   breaker. The bus fails in bursts on a fixed schedule (src/sim.rs); a
//!   rejected or failed read falls back to the last good value.
//! - **uplink** sends every reading over a link that hangs during an outage,
//!   through the `UPLINK` breaker with an embassy-time timeout that counts as
//!   a failure. Readings it may not send yet wait in a backlog.
//! - **monitor** receives the breakers' transition events (an `OnTransition`
//!   listener pushes them into a queue) and the uplink's reports, logs them,
//!   and checks them against what the fault schedule must cause.
//!
//! Two boots. The cold boot runs reads 0..40, ends with the sensor breaker
//! open, writes both breakers' snapshots (and the firmware clock) to
//! `.uninit` RAM and resets the core (SYSRESETREQ). The warm boot restores
//! them, checks the round trip, logs the open time the sensor breaker has
//! left, restores the same bytes once more on a clock that starts again from
//! zero (a board without an RTC: `restore` re-bases, so exactly that time is
//! left) and checks it, runs reads 40..50 (the restored open breaker rejects
//! until its retry time, then closes), and exits through semihosting: 0 when
//! every check passed.
//!
//! This is the example to copy. The conformance vectors run in a separate
//! self-test binary (src/bin/selftest.rs, feature `vectors`).

#![no_std]
#![no_main]

mod persist;
mod sim;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use embassy_time::{Duration, Ticker};
use halfopen::{
    config, Breaker, CallError, Config, ConsecutiveFailures, Counters, FnClock, OnTransition,
    State, Totals, Transition,
};
use heapless::{Deque, Vec};

use halfopen_firmware::channel::Channel;
use halfopen_firmware::uptime::{self, Uptime};
use halfopen_firmware::{board, executor, exit, time_driver};
use persist::Saved;
use sim::Reading;

// ---------------------------------------------------------------------------
// The breakers

/// Metrics totals, plus a listener that queues every transition for the
/// monitor.
type Observers = (Counters, OnTransition<fn(Transition)>);
/// A breaker in a `static`: const-constructed, shared by `&` reference.
type LinkBreaker = Breaker<'static, Uptime, ConsecutiveFailures, Observers>;

/// Three failed reads in a row open the sensor breaker for 180 ms, doubled
/// at each failed trial (up to 720 ms). Checked at compile time.
static SENSOR_CONFIG: Config =
    config!(Config::consecutive_failures(3).open_ms(180).backoff(2, 720));
/// Two failed sends (timeouts) in a row open the uplink breaker for 300 ms.
static UPLINK_CONFIG: Config = config!(Config::consecutive_failures(2).open_ms(300));

static SENSOR: LinkBreaker = Breaker::with_observer(
    &SENSOR_CONFIG,
    Uptime,
    (
        Counters::new(),
        OnTransition(on_sensor_transition as fn(Transition)),
    ),
);
static UPLINK: LinkBreaker = Breaker::with_observer(
    &UPLINK_CONFIG,
    Uptime,
    (
        Counters::new(),
        OnTransition(on_uplink_transition as fn(Transition)),
    ),
);

/// How long the uplink waits for the link before it counts a failure.
const SEND_TIMEOUT: Duration = Duration::from_millis(40);
const SENSOR_PERIOD: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------
// Events

#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
enum Link {
    Sensor,
    Uplink,
}

/// A transition as the monitor sees it: which breaker, during which read.
#[derive(Clone, Copy, PartialEq, Eq, defmt::Format)]
struct Observed {
    link: Link,
    seq: u32,
    from: State,
    to: State,
}

#[derive(Clone, Copy, defmt::Format)]
enum Event {
    Transition { observed: Observed, epoch: u16 },
    Sent(Reading),
    SensorDone { next_seq: u32, last_good: i32 },
}

static READINGS: Channel<Reading, 4> = Channel::new();
static EVENTS: Channel<Event, 16> = Channel::new();
/// Set if the listener found the event queue full.
static EVENT_LOST: AtomicBool = AtomicBool::new(false);
/// The read each task is working on, to tag transitions with.
static SENSOR_SEQ: AtomicU32 = AtomicU32::new(0);
static UPLINK_SEQ: AtomicU32 = AtomicU32::new(0);

fn on_sensor_transition(t: Transition) {
    report(Link::Sensor, SENSOR_SEQ.load(Relaxed), t);
}

fn on_uplink_transition(t: Transition) {
    report(Link::Uplink, UPLINK_SEQ.load(Relaxed), t);
}

/// Called by the breaker right after a transition: never blocks, never
/// allocates (a full queue is recorded and fails the run).
fn report(link: Link, seq: u32, t: Transition) {
    let observed = Observed {
        link,
        seq,
        from: t.from,
        to: t.to,
    };
    if EVENTS
        .try_send(Event::Transition {
            observed,
            epoch: t.epoch,
        })
        .is_err()
    {
        EVENT_LOST.store(true, Relaxed);
    }
}

// ---------------------------------------------------------------------------
// What the fault schedule must cause
//
// Reads happen at t = 50 (n + 1) ms of the cold boot's clock (read n), a bus
// transaction takes 1 ms. Bus faults: reads 4..=9, 16..=27, 36..=39.
//
//   read 6  (351 ms)  3rd failure in a row: closed -> open, retry at 531
//   reads 7..9        rejected: the last good value stands in
//   read 10 (550)     open -> halfOpen, the trial read works: -> closed
//   read 18 (951)     closed -> open, retry at 1131
//   read 22 (1150)    open -> halfOpen, the trial fails: -> open for 360 ms
//                     (backoff x2), retry at 1511
//   read 30 (1550)    open -> halfOpen -> closed
//   read 38 (1951)    closed -> open, retry at 2131; read 39 rejected
//   -- snapshot, warm reset; the clock continues from the saved reading --
//   reads 40, 41      rejected by the restored open breaker
//   read 42 (~2152)   open -> halfOpen -> closed
//
// The link hangs for sends started in 640..760 ms:
//
//   read 12 (651)     send hangs, times out at 691: failure 1
//   read 13 (701)     resend of 12 hangs, times out at 741: failure 2,
//                     closed -> open, retry at 1041
//   reads 14..19      rejected: kept in the backlog
//   read 20 (1050)    open -> halfOpen, the trial resend of 12 works:
//                     -> closed, the backlog (13..20) drains

use State::{Closed as C, HalfOpen as H, Open as O};

const fn t(link: Link, seq: u32, from: State, to: State) -> Observed {
    Observed {
        link,
        seq,
        from,
        to,
    }
}

const fn totals(successes: u32, failures: u32, rejected: u32, transitions: u32) -> Totals {
    Totals {
        successes,
        failures,
        slow_calls: 0,
        ignored: 0,
        rejected,
        transitions,
    }
}

/// One boot's part of the scene and what it must observe.
struct Plan {
    boot: u32,
    first_seq: u32,
    reads: u32,
    transitions: &'static [Observed],
    /// Cumulative totals at the end of this boot.
    sensor_totals: Totals,
    uplink_totals: Totals,
    /// Readings sent with the last good value instead of a fresh one.
    stale_readings: u32,
    /// The sensor breaker's state when the boot's reads are done.
    sensor_state_at_end: State,
}

static COLD_BOOT: Plan = Plan {
    boot: 1,
    first_seq: 0,
    reads: 40,
    transitions: &[
        t(Link::Sensor, 6, C, O),
        t(Link::Sensor, 10, O, H),
        t(Link::Sensor, 10, H, C),
        t(Link::Uplink, 12, C, O),
        t(Link::Sensor, 18, C, O),
        t(Link::Uplink, 12, O, H),
        t(Link::Uplink, 12, H, C),
        t(Link::Sensor, 22, O, H),
        t(Link::Sensor, 22, H, O),
        t(Link::Sensor, 30, O, H),
        t(Link::Sensor, 30, H, C),
        t(Link::Sensor, 38, C, O),
    ],
    sensor_totals: totals(16, 10, 14, 9),
    uplink_totals: totals(40, 2, 6, 3),
    stale_readings: 24,
    sensor_state_at_end: O,
};

static WARM_BOOT: Plan = Plan {
    boot: 2,
    first_seq: 40,
    reads: 10,
    transitions: &[t(Link::Sensor, 42, O, H), t(Link::Sensor, 42, H, C)],
    sensor_totals: totals(24, 10, 16, 11),
    uplink_totals: totals(50, 2, 6, 3),
    stale_readings: 2,
    sensor_state_at_end: C,
};

// ---------------------------------------------------------------------------
// Tasks

#[embassy_executor::task]
async fn sensor(first_seq: u32, reads: u32, mut last_good: i32) {
    let mut ticker = Ticker::every(SENSOR_PERIOD);
    for seq in first_seq..first_seq + reads {
        ticker.next().await;
        SENSOR_SEQ.store(seq, Relaxed);
        let reading = match SENSOR.call_async(sim::read_sensor(seq)).await {
            Ok(value) => {
                last_good = value;
                Reading {
                    seq,
                    centi_celsius: value,
                    fresh: true,
                }
            }
            Err(CallError::Rejected(r)) => {
                defmt::debug!(
                    "sensor: read {} rejected ({}), using the last good value",
                    seq,
                    r
                );
                Reading {
                    seq,
                    centi_celsius: last_good,
                    fresh: false,
                }
            }
            Err(e) => {
                defmt::warn!(
                    "sensor: read {} failed: {}, using the last good value",
                    seq,
                    e
                );
                Reading {
                    seq,
                    centi_celsius: last_good,
                    fresh: false,
                }
            }
        };
        READINGS.send(reading).await;
    }
    EVENTS
        .send(Event::SensorDone {
            next_seq: first_seq + reads,
            last_good,
        })
        .await;
}

#[embassy_executor::task]
async fn uplink() {
    let mut backlog: Deque<Reading, 16> = Deque::new();
    loop {
        let reading = READINGS.recv().await;
        if let Err(oldest) = backlog.push_back(reading) {
            // Full: a real device would drop the oldest; here it fails the
            // run, because the schedule never fills it.
            defmt::error!("uplink: backlog full, dropping {}", oldest);
            exit::exit(exit::EXIT_CHECKS_FAILED);
        }
        while let Some(&next) = backlog.front() {
            UPLINK_SEQ.store(next.seq, Relaxed);
            match UPLINK
                .call_with_timeout(SEND_TIMEOUT, sim::link_send(&next))
                .await
            {
                Ok(()) => {
                    backlog.pop_front();
                    EVENTS.send(Event::Sent(next)).await;
                }
                Err(CallError::Rejected(r)) => {
                    defmt::debug!("uplink: {} readings waiting ({})", backlog.len(), r);
                    break;
                }
                Err(e) => {
                    defmt::warn!("uplink: sending read {} failed: {}", next.seq, e);
                    break;
                }
            }
        }
    }
}

#[embassy_executor::task]
async fn monitor(plan: &'static Plan, restored_last_good: Option<i32>) {
    let mut ok = true;
    let mut observed: Vec<Observed, 16> = Vec::new();
    let mut next_sent = plan.first_seq;
    let mut stale = 0u32;
    let mut last_fresh = restored_last_good;
    // Set when the sensor is done: (next read's sequence number, last good
    // value). The run ends once every read up to there has been sent.
    let mut done: Option<(u32, i32)> = None;
    let (next_seq, last_good) = loop {
        if let Some((next_seq, last_good)) = done {
            if next_sent == next_seq {
                break (next_seq, last_good);
            }
        }
        match EVENTS.recv().await {
            Event::Transition { observed: o, epoch } => {
                defmt::info!(
                    "monitor: {} breaker {} -> {} (epoch {=u16}) during read {=u32}",
                    o.link,
                    o.from,
                    o.to,
                    epoch,
                    o.seq
                );
                if observed.push(o).is_err() {
                    defmt::error!("monitor: more transitions than expected");
                    ok = false;
                }
            }
            Event::Sent(r) => {
                if r.seq != next_sent {
                    defmt::error!(
                        "monitor: read {} sent out of order (expected {})",
                        r.seq,
                        next_sent
                    );
                    ok = false;
                }
                next_sent = r.seq + 1;
                if r.fresh {
                    last_fresh = Some(r.centi_celsius);
                } else {
                    stale += 1;
                    if Some(r.centi_celsius) != last_fresh {
                        defmt::error!("monitor: stale read {} is not the last good value", r);
                        ok = false;
                    }
                }
            }
            Event::SensorDone {
                next_seq,
                last_good,
            } => done = Some((next_seq, last_good)),
        }
    };

    // Transitions: the same ones, in the same order, as the schedule causes.
    if observed.as_slice() != plan.transitions {
        defmt::error!(
            "monitor: transitions {} expected {}",
            observed.as_slice(),
            plan.transitions
        );
        ok = false;
    }
    if EVENT_LOST.load(Relaxed) {
        defmt::error!("monitor: the event queue overflowed");
        ok = false;
    }
    ok &= check("sensor totals", SENSOR.totals(), Some(plan.sensor_totals));
    ok &= check("uplink totals", UPLINK.totals(), Some(plan.uplink_totals));
    ok &= check("stale readings", stale, plan.stale_readings);
    ok &= check("sensor state", SENSOR.state(), plan.sensor_state_at_end);
    defmt::info!("monitor: sensor {}", SENSOR.metrics());
    defmt::info!("monitor: uplink {}", UPLINK.metrics());

    if !ok {
        finish(false);
    }
    defmt::info!(
        "monitor: boot {=u32}: every transition and total as the fault schedule says",
        plan.boot
    );

    if plan.boot == COLD_BOOT.boot {
        // Hand the breakers to the next boot and reset.
        let saved = Saved {
            boots: plan.boot,
            clock_ms: uptime::now_ms(),
            next_seq,
            last_good,
            sensor: SENSOR.snapshot(),
            uplink: UPLINK.snapshot(),
            sensor_totals: SENSOR.totals().unwrap_or_default(),
            uplink_totals: UPLINK.totals().unwrap_or_default(),
        };
        persist::save(&saved);
        defmt::info!("monitor: snapshots saved to .uninit RAM; warm reset (SYSRESETREQ)");
        cortex_m::peripheral::SCB::sys_reset();
    }

    finish(true);
}

fn check<T: PartialEq + defmt::Format>(what: &str, got: T, want: T) -> bool {
    if got != want {
        defmt::error!("monitor: {=str}: got {}, expected {}", what, got, want);
    }
    got == want
}

fn finish(ok: bool) -> ! {
    persist::clear();
    #[cfg(feature = "stack-report")]
    {
        let (used, size) = halfopen_firmware::stack::usage();
        defmt::info!(
            "firmware: stack high-water {=usize} of {=usize} bytes",
            used,
            size
        );
    }
    if ok {
        defmt::info!("firmware: all checks passed");
        exit::exit(exit::EXIT_OK)
    } else {
        defmt::error!("firmware: checks FAILED");
        exit::exit(exit::EXIT_CHECKS_FAILED)
    }
}

// ---------------------------------------------------------------------------
// Boot

/// What an open snapshot had left of its open period when it was taken:
/// `retryAt - takenAt` (format 2 layout, see the core's snapshot docs).
fn open_left(bytes: &[u8; halfopen::SNAPSHOT_LEN]) -> Option<u64> {
    let le64 = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(b)
    };
    (bytes[3] == 1).then(|| le64(8).saturating_sub(le64(36)))
}

/// Restores what the cold boot saved, checking the round trip. Runs before
/// the executor starts, so before the breakers are shared.
fn warm_start(saved: &Saved) -> bool {
    uptime::set_base(saved.clock_ms);
    let mut ok = true;
    for (name, breaker, bytes, totals) in [
        ("sensor", &SENSOR, &saved.sensor, saved.sensor_totals),
        ("uplink", &UPLINK, &saved.uplink, saved.uplink_totals),
    ] {
        match breaker.restore(bytes) {
            Ok(()) => {
                // Totals are not part of a snapshot; the record carries them.
                breaker.observer().0.set(totals);
                defmt::info!("boot: {=str} breaker restored: {}", name, breaker.metrics());
                if let Some(left) = open_left(bytes) {
                    defmt::info!(
                        "boot: {=str} breaker open, {=u64} ms of its open period left",
                        name,
                        left
                    );
                }
                ok &= check("snapshot round trip", &breaker.snapshot(), bytes);
            }
            Err(e) => {
                defmt::error!("boot: {=str} snapshot refused: {}", name, e);
                ok = false;
            }
        }
    }
    // A board without a clock that survives the reset restarts SysTick from
    // zero: `restore` re-bases, so the open period keeps exactly the time it
    // had left (the reset itself counts as no time), whatever the clock
    // reads now.
    let since_boot = FnClock(|| embassy_time::Instant::now().as_millis());
    let from_zero = Breaker::new(&SENSOR_CONFIG, since_boot);
    ok &= check("re-based restore", from_zero.restore(&saved.sensor), Ok(()));
    let left = from_zero
        .metrics()
        .retry_at
        .map(|t| t.saturating_sub(embassy_time::Instant::now().as_millis()));
    defmt::info!(
        "boot: sensor restored on a clock from zero, {=?} ms of its open period left",
        left
    );
    ok &= check(
        "open time left after a re-based restore",
        left,
        open_left(&saved.sensor),
    );
    // What restore refuses: a damaged copy, and another breaker's bytes.
    let scratch = Breaker::new(&SENSOR_CONFIG, Uptime);
    let mut damaged = saved.sensor;
    damaged[9] ^= 0x40;
    ok &= check(
        "damaged snapshot",
        scratch.restore(&damaged),
        Err(halfopen::SnapshotError::Checksum),
    );
    ok &= check(
        "foreign snapshot",
        scratch.restore(&saved.uplink),
        Err(halfopen::SnapshotError::ForeignConfig),
    );
    ok
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().expect("core peripherals taken once");
    let (plan, last_good) = match persist::load() {
        Some(saved) if saved.boots == COLD_BOOT.boot => {
            if !warm_start(&saved) {
                finish(false);
            }
            defmt::info!(
                "firmware: warm boot on {=str}, clock continues at {=u64} ms",
                board::NAME,
                saved.clock_ms
            );
            ok_or_fail(
                saved.next_seq == WARM_BOOT.first_seq,
                "restored read sequence number",
            );
            (&WARM_BOOT, Some(saved.last_good))
        }
        other => {
            if let Some(s) = other {
                defmt::warn!(
                    "firmware: record of boot {=u32} left over, starting cold",
                    s.boots
                );
            }
            persist::clear();
            defmt::info!("firmware: cold boot on {=str}", board::NAME);
            (&COLD_BOOT, None)
        }
    };
    time_driver::init(cp.SYST);
    executor::run(|spawner| {
        spawner.spawn(
            sensor(plan.first_seq, plan.reads, last_good.unwrap_or(0)).expect("spawn sensor"),
        );
        spawner.spawn(uplink().expect("spawn uplink"));
        spawner.spawn(monitor(plan, last_good).expect("spawn monitor"));
    })
}

fn ok_or_fail(ok: bool, what: &str) {
    if !ok {
        defmt::error!("boot: {=str} is wrong", what);
        finish(false);
    }
}
