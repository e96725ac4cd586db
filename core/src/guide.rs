//! # Guide: from one protected call to breakers in firmware `static`s
//!
//! ## 1. Protect one call
//!
//! A breaker watches the outcomes of calls to one downstream. While the
//! downstream is healthy it is *closed* and lets every call through; after too
//! many failures it *opens* and rejects calls at once, for `openMs`; then it
//! lets a few *trial* calls through (*half-open*) and closes again if they
//! succeed.
//!
//! ```
//! use halfopen::{Breaker, CallError, Config, MockClock, State};
//!
//! let config = Config::consecutive_failures(3).open_ms(10_000).build()?;
//! let clock = MockClock::new(0);
//! let breaker = Breaker::new(&config, &clock);
//!
//! for _ in 0..3 {
//!     let _ = breaker.call(|| Err::<(), _>("connection refused"));
//! }
//! assert_eq!(breaker.state(), State::Open);
//! let err = breaker.call(|| Ok::<_, &str>(())).unwrap_err();
//! assert!(matches!(err, CallError::Rejected(r) if r.retry_after_ms() == Some(10_000)));
//! # Ok::<(), halfopen::ConfigError>(())
//! ```
//!
//! ## 2. Decide what a failure is
//!
//! Not every error is the downstream's fault. `call_classified` lets you say,
//! per result, whether it is a [`Success`](crate::Outcome::Success), a
//! [`Failure`](crate::Outcome::Failure) or [`Ignore`](crate::Outcome::Ignore)d.
//!
//! ```
//! use halfopen::{Breaker, Config, MockClock, Outcome};
//! # let config = Config::consecutive_failures(3).build()?;
//! # let clock = MockClock::new(0);
//! # let breaker = Breaker::new(&config, &clock);
//! let status = breaker.call_classified(
//!     || Err::<(), u16>(404),
//!     |r| match r {
//!         Ok(_) => Outcome::Success,
//!         Err(code) if *code >= 500 => Outcome::Failure,
//!         Err(_) => Outcome::Ignore, // the caller's mistake, not an outage
//!     },
//! );
//! assert!(status.is_err());
//! # Ok::<(), halfopen::ConfigError>(())
//! ```
//!
//! ## 3. Permits, for code that cannot be wrapped in a closure
//!
//! [`try_acquire`](crate::Breaker::try_acquire) returns a
//! [`Permit`](crate::Permit); record how the call ended on it, once. A permit
//! dropped without an outcome (a cancelled future) frees its half-open slot.
//!
//! ```
//! # use halfopen::{Breaker, Config, MockClock};
//! # let config = Config::consecutive_failures(3).build()?;
//! # let clock = MockClock::new(0);
//! # let breaker = Breaker::new(&config, &clock);
//! match breaker.try_acquire() {
//!     Ok(permit) => {
//!         // ... make the call ...
//!         permit.success();
//!     }
//!     Err(rejected) => println!("skipped: {rejected}"),
//! }
//! # Ok::<(), halfopen::ConfigError>(())
//! ```
//!
//! ## 4. Test your code with the mock clock
//!
//! [`MockClock`](crate::MockClock) moves only when told to, so a test can walk
//! a breaker through its whole life in microseconds, deterministically.
//!
//! ```
//! use halfopen::{Breaker, Config, MockClock, State};
//!
//! let config = Config::consecutive_failures(1).open_ms(30_000).backoff(2, 120_000).build()?;
//! let clock = MockClock::new(0);
//! let breaker = Breaker::new(&config, &clock);
//!
//! breaker.try_acquire().unwrap().failure(); // trips
//! clock.advance(30_000);
//! breaker.try_acquire().unwrap().failure(); // the trial fails: open for 60 s now
//! clock.advance(59_999);
//! assert_eq!(breaker.state(), State::Open);
//! clock.advance(1);
//! assert_eq!(breaker.state(), State::HalfOpen);
//! # Ok::<(), halfopen::ConfigError>(())
//! ```
//!
//! ## 5. Metrics and listeners
//!
//! The third type parameter is an [`Observer`](crate::Observer). `()` costs
//! nothing; [`Counters`](crate::Counters) keeps totals;
//! [`OnTransition`](crate::OnTransition) calls a function on every change of
//! state; `(Counters, OnTransition(f))` does both.
//!
//! ```
//! use halfopen::{Breaker, Config, Counters, MockClock, OnTransition, Transition};
//! # let config = Config::consecutive_failures(1).build()?;
//! # let clock = MockClock::new(0);
//! let breaker = Breaker::with_observer(
//!     &config,
//!     &clock,
//!     (Counters::new(), OnTransition(|t: Transition| println!("{} -> {}", t.from, t.to))),
//! );
//! breaker.try_acquire().unwrap().failure();
//! assert_eq!(breaker.metrics().transitions, 1);
//! # Ok::<(), halfopen::ConfigError>(())
//! ```
//!
//! ## 6. Statics on firmware
//!
//! Configurations and breakers are `const`-constructible: put them in
//! `static`s, with no cell, mutex or allocator, and share them between tasks
//! and interrupt handlers. [`config!`](crate::config!) checks the
//! configuration at compile time: an invalid one does not build. On embassy,
//! `EmbassyClock` (feature `embassy-time`) reads the firmware's time driver,
//! and `call_with_timeout` bounds an async call.
//!
//! ```
//! use halfopen::{config, Breaker, Config, FnClock};
//!
//! fn millis() -> u64 {
//!     0 // read your timer here
//! }
//!
//! static SENSOR: Config = config!(Config::consecutive_failures(3).open_ms(2_000));
//! static SENSOR_BREAKER: Breaker<FnClock<fn() -> u64>> =
//!     Breaker::new(&SENSOR, FnClock(millis as fn() -> u64));
//!
//! fn read_sensor() -> Option<u16> {
//!     SENSOR_BREAKER.call(|| Ok::<u16, ()>(512)).ok()
//! }
//! assert_eq!(read_sensor(), Some(512));
//! ```
//!
//! Where the time is already at hand (a timer interrupt that counts
//! milliseconds, an event loop's reading for this turn), a
//! [`CoarseClock`](crate::CoarseClock) holds it: the breaker's clock reads
//! (open rejections, time-window outcomes) are then one load each.
//!
//! On Cortex-M0 (thumbv6m) and riscv32imc, which have no compare-and-swap,
//! enable the `critical-section` feature and link an implementation in the
//! final binary (e.g. cortex-m's `critical-section-single-core`).
//!
//! ## 7. Survive a reboot
//!
//! [`snapshot`](crate::Breaker::snapshot) gives 40 bytes;
//! [`restore`](crate::Breaker::restore) puts them back into a breaker with
//! the same configuration, refusing damaged or foreign bytes with an error.
