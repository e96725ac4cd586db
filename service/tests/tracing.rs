//! `TracingObserver` and `ServiceObserver` through a real tracing
//! subscriber (tracing-subscriber's fmt layer writing into a buffer).

use std::io::Write;
use std::sync::{Arc, Mutex};

use halfopen::{Breaker, Config, FleetState, MockClock};
use halfopen_service::{Breakers, TracingObserver};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// The lines `f` logs at `level` and above.
fn captured(level: tracing::Level, f: impl FnOnce()) -> Vec<String> {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(level)
        .without_time()
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn every_cause_of_transition_is_an_event_with_the_name() {
    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .half_open_max_wait_ms(500)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let lines = captured(tracing::Level::INFO, || {
        let b = Breaker::with_observer(&config, &clock, TracingObserver::new("payments"));
        b.try_acquire().unwrap().failure(); // trip
        assert!(b.try_acquire().is_err()); // a rejection: DEBUG, not shown
        clock.advance(1_000);
        b.try_acquire().unwrap().failure(); // retryAt, then trialFailed
        clock.advance(1_000);
        let _lost = b.try_acquire().unwrap().into_token(); // retryAt
        clock.advance(500);
        assert!(b.try_acquire().is_err()); // halfOpenMaxWait
        b.reset(); // reset
        b.adopt(FleetState::Open {
            remaining_ms: 100,
            k: 0,
        }); // fleet
        b.isolate(); // isolate
    });
    let expect = [
        r#"WARN halfopen: breaker transition breaker=payments from="closed" to="open" cause="trip" epoch=1"#,
        r#"INFO halfopen: breaker transition breaker=payments from="open" to="halfOpen" cause="retryAt" epoch=2"#,
        r#"WARN halfopen: breaker transition breaker=payments from="halfOpen" to="open" cause="trialFailed" epoch=3"#,
        r#"INFO halfopen: breaker transition breaker=payments from="open" to="halfOpen" cause="retryAt" epoch=4"#,
        r#"WARN halfopen: breaker transition breaker=payments from="halfOpen" to="open" cause="halfOpenMaxWait" epoch=5"#,
        r#"INFO halfopen: breaker transition breaker=payments from="open" to="closed" cause="reset" epoch=6"#,
        r#"WARN halfopen: breaker transition breaker=payments from="closed" to="open" cause="fleet" epoch=7"#,
        r#"WARN halfopen: breaker transition breaker=payments from="open" to="isolated" cause="isolate" epoch=8"#,
    ];
    let lines: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    assert_eq!(lines, expect);
}

#[test]
fn rejections_are_events_at_debug() {
    let config = Config::consecutive_failures(1).build().unwrap();
    let clock = MockClock::new(0);
    let lines = captured(tracing::Level::DEBUG, || {
        let b = Breaker::with_observer(&config, &clock, TracingObserver::new("db"));
        b.try_acquire().unwrap().failure();
        assert!(b.try_acquire().is_err());
        b.isolate();
        assert!(b.try_acquire().is_err());
    });
    let rejections: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("DEBUG"))
        .collect();
    assert_eq!(
        rejections,
        [
            r#"DEBUG halfopen: call rejected breaker=db reason="open""#,
            r#"DEBUG halfopen: call rejected breaker=db reason="isolated""#,
        ]
    );
}

#[test]
fn a_registry_breaker_traces_under_its_name() {
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new(0)));
    let lines = captured(tracing::Level::INFO, || {
        let breakers =
            Breakers::with_clock(Config::consecutive_failures(1).build().unwrap(), clock);
        let _ = breakers.execute("search", || Err::<(), _>("down"));
    });
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("breaker=search"), "{lines:?}");
    assert!(lines[0].contains(r#"cause="trip""#), "{lines:?}");
}
