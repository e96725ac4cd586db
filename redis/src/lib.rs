//! One [halfopen] circuit breaker for a fleet of processes, shared through
//! Redis or Redis Cluster.
//!
//! Each process keeps its own lock-free breaker, and its fast path stays
//! local: a closed call never waits on Redis. A background task keeps the
//! breaker in step with one fleet record per breaker name:
//!
//! - a process whose breaker trips opens the fleet (a compare-and-set on the
//!   record's generation), and every other process adopts the open state
//!   within milliseconds (pub/sub) or one `syncMs` (polling);
//! - when the open period ends, at most `halfOpenMaxCalls` processes get a
//!   probe lease; the others stay open until the probes decide;
//! - `successThreshold` probe successes close the fleet; a failure, or a
//!   lease that ends unreported (a process killed mid-probe), re-opens it with
//!   the backoff's next step;
//! - window policies can count for the whole fleet
//!   ([`FleetBuilder::count_for_fleet`]): the fleet trips on its failure rate
//!   even where no single process sees `minimumCalls` calls.
//!
//! Every rule is one of the core's pure functions ([`halfopen::fleet`]);
//! Redis runs three small Lua scripts that only read, count and
//! compare-and-set (the files `lua/read.lua`, `lua/write.lua`,
//! `lua/count.lua`, which the npm package loads too). Times in the store are
//! Redis's own clock (`TIME`); what reaches a process is a remaining duration,
//! applied at its own clock with [`Breaker::adopt`](halfopen::Breaker::adopt).
//!
//! The store failing is a fault the breaker survives: every store call has a
//! deadline, errors never reach the caller's operation, the breaker decides
//! locally meanwhile ([`FleetMetrics::attached`] is `false` and
//! [`FleetMetrics::last_error`] says why), and on return a local trip the
//! fleet missed is published.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use halfopen::{AnyPolicy, Config};
//! use halfopen_redis::Fleet;
//! use std::sync::LazyLock;
//!
//! static CONFIG: LazyLock<Config<AnyPolicy>> = LazyLock::new(|| {
//!     Config::consecutive_failures(5).open_ms(10_000).build().unwrap().into_any()
//! });
//!
//! let fleet = Fleet::builder("inventory", &CONFIG)
//!     .connect("redis://127.0.0.1:6379/")
//!     .await?;
//! match fleet.call_async(async { Ok::<_, std::io::Error>(42) }).await {
//!     Ok(n) => println!("{n}"),
//!     Err(e) => println!("not now: {e:?}"),
//! }
//! println!("{:?}", fleet.metrics());
//! # Ok(()) }
//! ```
//!
//! Features: `cluster` ([`FleetBuilder::connect_cluster`]), `tls`
//! (`rediss://` URLs).
//!
//! [halfopen]: https://docs.rs/halfopen

mod fleet;
mod name;
mod options;
mod store;
mod task;

pub use fleet::{Fleet, FleetMetrics, FleetPermit, Hooks, LocalBreaker};
pub use name::{FleetName, NameError, MAX_NAME_LEN};
pub use options::{FleetBuilder, FleetError};
pub use store::{StoreError, COUNT_LUA, READ_LUA, WRITE_LUA};
