//! `call_with_timeout` on tokio's clock, paused: a timeout counts as a
//! failure, and nothing here depends on how fast the machine is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use halfopen::{Breaker, CallError, Config, Counters, MockClock, RejectReason, State};
use halfopen_service::call_with_timeout;
use tokio::time::sleep;

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_failure_and_trips() {
    let config = Config::consecutive_failures(2)
        .open_ms(1_000)
        .build()
        .unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    let slow = || async {
        sleep(Duration::from_secs(5)).await;
        Ok::<_, &str>("late")
    };

    // In time: a success.
    let quick = async {
        sleep(Duration::from_millis(10)).await;
        Ok::<_, &str>("quick")
    };
    assert_eq!(
        call_with_timeout(&b, Duration::from_secs(1), quick).await,
        Ok("quick")
    );
    // An error: a failure.
    assert_eq!(
        call_with_timeout(&b, Duration::from_secs(1), async {
            Err::<(), _>("refused")
        })
        .await,
        Err(CallError::Inner("refused"))
    );
    assert_eq!(b.metrics().failure_run, 1);
    // A timeout: a failure, which trips.
    assert_eq!(
        call_with_timeout(&b, Duration::from_secs(1), slow()).await,
        Err(CallError::TimedOut)
    );
    assert_eq!(b.state(), State::Open);
    let m = b.metrics();
    assert_eq!((m.successes, m.failures), (1, 2));

    // Open: the operation does not even start.
    let started = AtomicBool::new(false);
    let r = call_with_timeout(&b, Duration::from_secs(1), async {
        started.store(true, Ordering::Relaxed);
        Ok::<_, &str>(())
    })
    .await;
    let Err(CallError::Rejected(rejected)) = r else {
        panic!("not rejected")
    };
    assert_eq!(rejected.reason(), RejectReason::Open);
    assert_eq!(rejected.retry_after_ms(), Some(1_000));
    assert!(!started.load(Ordering::Relaxed));
}

#[tokio::test(start_paused = true)]
async fn a_call_dropped_before_its_timeout_counts_nothing() {
    let config = Config::consecutive_failures(1).build().unwrap();
    let clock = MockClock::new(0);
    let b = Breaker::with_observer(&config, &clock, Counters::new());
    let call = call_with_timeout(&b, Duration::from_secs(10), async {
        sleep(Duration::from_secs(60)).await;
        Ok::<_, ()>(())
    });
    // A shorter deadline of the caller's drops the call.
    assert!(tokio::time::timeout(Duration::from_secs(1), call)
        .await
        .is_err());
    let m = b.metrics();
    assert_eq!((m.successes, m.failures, m.state), (0, 0, State::Closed));
}
