//! Feature `log`: `LogObserver` through a real `log` logger that captures
//! the records.
#![cfg(feature = "log")]

use std::sync::Mutex;

use halfopen::{Breaker, Config, Counters, LogObserver, MockClock, State};

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        RECORDS.lock().unwrap().push((
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

#[test]
fn transitions_and_rejections_are_logged_with_the_name() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let config = Config::consecutive_failures(2)
        .open_ms(1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, (Counters::new(), LogObserver::new("db")));
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert!(b.try_acquire().is_err());
    clock.advance(1_000);
    b.try_acquire().unwrap().success();
    b.isolate();
    assert_eq!(b.state(), State::Isolated);
    assert_eq!(b.metrics().transitions, 4);

    let records = RECORDS.lock().unwrap();
    let got: Vec<_> = records
        .iter()
        .map(|(l, t, m)| {
            assert_eq!(t, "halfopen");
            (*l, m.as_str())
        })
        .collect();
    use log::Level::*;
    assert_eq!(
        got,
        [
            (Warn, "breaker db: closed -> open (trip), epoch 1"),
            (Debug, "breaker db: call rejected (open)"),
            (Info, "breaker db: open -> halfOpen (retryAt), epoch 2"),
            (
                Info,
                "breaker db: halfOpen -> closed (trialsSucceeded), epoch 3"
            ),
            (Warn, "breaker db: closed -> isolated (isolate), epoch 4"),
        ]
    );
}
