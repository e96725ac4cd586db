//! # halfopen
//!
//! A circuit breaker that runs everywhere a failure can cascade: one
//! allocation-free, clock-abstracted state machine on 32-bit atomics, for
//! microcontrollers (down to Cortex-M0, which has no compare-and-swap),
//! WebAssembly and host Rust.
//!
//! ```
//! use halfopen::{Breaker, CallError, Config, MockClock};
//!
//! let config = Config::consecutive_failures(5).open_ms(30_000).build()?;
//! let clock = MockClock::new(0);
//! let breaker = Breaker::new(&config, &clock);
//!
//! match breaker.call(|| fetch_price()) {
//!     Ok(price) => println!("price {price}"),
//!     Err(CallError::Rejected(r)) => println!("not calling: {r}"),
//!     Err(CallError::Inner(e)) => println!("call failed: {e}"),
//!     Err(_) => {}
//! }
//! # fn fetch_price() -> Result<u32, &'static str> { Ok(3) }
//! # Ok::<(), halfopen::ConfigError>(())
//! ```
//!
//! The behaviour is specified once, in the project's
//! [specification](https://github.com/halfopen/halfopen/blob/main/SPEC.md)
//! (`SPEC.md`), and checked on every target by the same conformance vectors.
//! The [`guide`] walks from
//! protecting one call to breakers in `static`s on firmware.
//!
//! ## What it is made of
//!
//! | item | role |
//! |---|---|
//! | [`Config`], [`ConfigBuilder`], [`config!`] | validated configuration; `const`, so it can be a `static` |
//! | [`Breaker`] | the state machine; `&self` everywhere, `const fn new` |
//! | [`Permit`], [`Outcome`], [`Rejected`] | one call: acquire, then record how it ended |
//! | [`ConsecutiveFailures`], [`FailureRate`], [`TimeWindow`], [`AnyPolicy`] | trip policies |
//! | [`Clock`], [`MockClock`], [`CoarseClock`], `StdClock`, `EmbassyClock`, [`FnClock`] | time sources |
//! | [`Observer`], [`Counters`], [`OnTransition`], [`Metrics`] | metrics and listeners, free when unused |
//! | [`Breaker::snapshot`], [`Breaker::restore`] | 40-byte state that survives a reboot |
//! | [`Registry`], [`presets`], [`BreakerReport`] | named breakers with fixed capacity, and their health report |
//!
//! ## Features
//!
//! | feature | adds |
//! |---|---|
//! | `std` | `StdClock` (monotonic `Instant`), `SystemClock` (wall clock, for snapshots that travel) |
//! | `defmt` | `defmt::Format` on every public type |
//! | `embassy-time` | `EmbassyClock` and [`Breaker::call_with_timeout`] |
//! | `critical-section` | atomics through a critical section on targets without CAS (thumbv6m, riscv32imc); the final binary provides the implementation |
//! | `serde` | `Config<AnyPolicy>` from the specification's keys (a TOML or JSON file), and `Metrics`, `State`, `Health`, `Totals`, `Transition`, [`BreakerReport`] serialized |
//! | `log` | `LogObserver`: transitions and rejections through the `log` facade |
//! | `half-open-max-wait` (default) | the `halfOpenMaxWaitMs` key |
//! | `jitter` (default) | the `jitter` key |
//!
//! The crate is `#![no_std]` and never allocates, with any features.
//! `tracing`, Prometheus, tower and tokio need std: they are in the
//! companion crate `halfopen-service`. The two
//! default features are the timing keys of the specification's second
//! version; a firmware that counts bytes turns default features off and pays
//! no flash for them (a key given without its feature is refused by name).
//!
//! ## Targets
//!
//! All state is in 32-bit atomics. Where the target has 32-bit CAS (x86_64,
//! aarch64, wasm32, thumbv7m/7em, riscv32imac) the breaker is lock-free: no
//! lock, no critical section, nothing an interrupt handler could wait on.
//! Where it has none (thumbv6m, riscv32imc) enable `critical-section` (or
//! build with portable-atomic's `unsafe-assume-single-core` cfg) and let the
//! final binary choose the implementation.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(loom))))]

#[cfg(feature = "std")]
extern crate std;

mod acquire;
mod adopt;
mod breaker;
mod call;
pub mod clock;
mod config;
#[cfg(feature = "fleet")]
pub mod fleet;
pub mod guide;
#[cfg(feature = "log")]
mod log_observer;
mod machine;
mod metrics;
mod observer;
mod permit;
mod policy;
mod record;
mod registry;
mod reject;
mod snapshot;
mod state;
mod sync;
mod time_words;
mod window;

pub use adopt::{FleetState, FleetStateError};
pub use breaker::Breaker;
#[cfg(feature = "embassy-time")]
pub use clock::EmbassyClock;
pub use clock::{Clock, CoarseClock, FnClock, MockClock};
#[cfg(feature = "std")]
pub use clock::{StdClock, SystemClock};
pub use config::{Config, ConfigBuilder, ConfigError, ConfigErrorKind, MAX_DURATION_MS};
#[cfg(feature = "log")]
pub use log_observer::LogObserver;
pub use metrics::Metrics;
pub use observer::{Cause, Counters, Observer, OnTransition, Totals, Transition};
pub use permit::{Outcome, Permit, PermitToken};
pub use policy::{AnyPolicy, ConsecutiveFailures, FailureRate, Policy, TimeWindow};
pub use registry::{presets, BreakerReport, Registry, RegistryError, MAX_NAME_LEN};
pub use reject::{CallError, RejectReason, Rejected};
pub use snapshot::{SnapshotError, SNAPSHOT_LEN};
pub use state::{Health, State};
