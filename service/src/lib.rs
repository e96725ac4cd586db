//! # halfopen-service
//!
//! [halfopen](https://docs.rs/halfopen) circuit breakers in host services,
//! with the libraries those services already run:
//!
//! | item | what |
//! |---|---|
//! | [`Breakers`] | named breakers: get-or-create with a default, a preset or a per-name configuration (from a TOML or JSON file), `execute(name, f)`, and a [`HealthReport`] of every breaker |
//! | [`TracingObserver`], [`ServiceObserver`] | a `tracing` event per transition (name, from, to, cause) and, at `debug`, per rejection |
//! | [`BreakerLayer`], [`BreakerService`] | a `tower` middleware: any tower service (axum, tonic, hyper, reqwest-middleware clients) behind a breaker, its responses classified ([`HttpStatus`]: 5xx fail, 4xx ignored) |
//! | [`call_with_timeout`] | an async call with a timeout on tokio's clock; a timeout counts as a failure |
//! | [`Breakers`] as a `prometheus_client` collector | every breaker exported with its name as a label (see [`prometheus`]) |
//!
//! The core crate `halfopen` is `no_std` and allocation-free; everything
//! here needs std (tower, tokio's clock, tracing's dispatcher,
//! prometheus-client), so it lives in this crate beside it.
//!
//! ```
//! use halfopen::{presets, CallError};
//! use halfopen_service::Breakers;
//!
//! let breakers = Breakers::new(presets::HTTP_API);
//! let price: Result<u32, CallError<&str>> = breakers.execute("prices", || Ok(42));
//! assert_eq!(price, Ok(42));
//!
//! let report = breakers.report();
//! assert!(report.degraded.is_empty());
//! assert_eq!(report.breakers[0].name, "prices");
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod layer;
mod observer;
pub mod prometheus;
mod registry;
mod timeout;

pub use layer::{BreakerLayer, BreakerService, Classify, ErrorsFail, HttpStatus, ResponseFuture};
pub use observer::{ServiceObserver, TracingObserver};
pub use registry::{
    BreakerStatus, Breakers, ConfigureError, HealthReport, ServiceBreaker, DURATION_BUCKETS,
};
pub use timeout::call_with_timeout;
