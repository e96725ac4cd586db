//! The embassy clock and `call_with_timeout`, on embassy-time's mock driver.
#![cfg(feature = "embassy-time")]

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embassy_time::{Duration, MockDriver, Timer};
use halfopen::{Breaker, CallError, Clock, Config, EmbassyClock, State};

// The mock driver is global: the tests share one function so they never race.
#[test]
fn embassy_clock_and_timeouts() {
    let driver = MockDriver::get();
    driver.reset();

    // The clock reads the driver, in milliseconds.
    assert_eq!(EmbassyClock.now_ms(), 0);
    driver.advance(Duration::from_millis(1_500));
    assert_eq!(EmbassyClock.now_ms(), 1_500);

    let config = Config::consecutive_failures(1)
        .open_ms(1_000)
        .build()
        .unwrap();
    let breaker = Breaker::new(&config, EmbassyClock);
    let cx = &mut Context::from_waker(Waker::noop());

    // A call that finishes in time is a success.
    let mut ok =
        pin!(breaker.call_with_timeout(Duration::from_millis(100), async { Ok::<_, ()>(3) }));
    assert_eq!(ok.as_mut().poll(cx), Poll::Ready(Ok(3)));

    // A call that hangs past its timeout counts as a failure and trips.
    let mut hang = pin!(
        breaker.call_with_timeout(Duration::from_millis(100), async {
            Timer::after(Duration::from_secs(60)).await;
            Ok::<(), ()>(())
        })
    );
    assert!(hang.as_mut().poll(cx).is_pending());
    driver.advance(Duration::from_millis(100));
    assert_eq!(
        hang.as_mut().poll(cx),
        Poll::Ready(Err(CallError::TimedOut))
    );
    assert_eq!(breaker.state(), State::Open);

    // The open period runs on embassy time.
    driver.advance(Duration::from_millis(999));
    assert_eq!(breaker.state(), State::Open);
    driver.advance(Duration::from_millis(1));
    assert_eq!(breaker.state(), State::HalfOpen);
}
