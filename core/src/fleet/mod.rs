//! The fleet's rules: one breaker shared by many instances through a store.
//!
//! A store (Redis, a Durable Object) holds one [`FleetRecord`] per breaker
//! name and does only what stores do atomically: it adds to counters and
//! compare-and-sets the record guarded by its generation. Every decision
//! (when the fleet opens, who may probe, when it closes, what the fleet's
//! window sums decide) is one of the pure functions of [`FleetRules`] here,
//! over plain data, so every target (the Redis crate, the npm package's
//! `.wasm`) decides the same way.
//!
//! Times in a record are the **store's** clock: instances' clocks are not
//! comparable. What crosses to an instance is [`FleetRules::view`], a
//! remaining duration, which the instance applies at its own clock with
//! [`Breaker::adopt`](crate::Breaker::adopt).
//!
//! | event | rule |
//! |---|---|
//! | an instance trips | [`FleetRules::trip`]: the fleet opens if the record is closed at the generation the instance last saw |
//! | an instance's open period ends | [`FleetRules::lease`]: at most `halfOpenMaxCalls` probe leases per open period; the others stay open until the leases end |
//! | a probe reports | [`FleetRules::probe`]: `successThreshold` successes close the fleet, one failure re-opens it with `k + 1` |
//! | leases end unreported | [`FleetRules::expire`]: the fleet re-opens with `k + 1` |
//! | the fleet's window sums | [`FleetRules::window_trip`]: the policy's rule on the fleet's counts |
//! | `isolate()` / `reset()` | [`FleetRules::isolate`] / [`FleetRules::reset`] |
//!
//! Every rule that changes the record returns the new record with `gen + 1`
//! (a store writes it only if the generation is still the one read), or
//! `None` when the record stays as it is.
//!
//! ```
//! use halfopen::{Config, FleetState};
//! use halfopen::fleet::{FleetRecord, FleetRules, Lease};
//!
//! let config = Config::consecutive_failures(5).open_ms(10_000).build().unwrap();
//! let rules = FleetRules::new(&config, 5_000).unwrap();
//! let closed = FleetRecord::new();
//!
//! // An instance that last saw generation 0 trips at store time 1_000.
//! let open = rules.trip(&closed, 0, 1_000).unwrap();
//! assert_eq!((open.gen, open.open_until_ms), (1, 11_000));
//! // Another instance adopts what is left of the open period.
//! assert_eq!(rules.view(&open, 4_000), FleetState::open(7_000, 0).unwrap());
//!
//! // At 11_000 one instance gets the single probe lease, the next waits.
//! let Lease::Granted(leased) = rules.lease(&open, 11_000) else { panic!() };
//! assert_eq!(rules.lease(&leased, 11_001), Lease::Denied);
//! // The probe succeeds: the fleet closes.
//! let closed = rules.probe(&leased, leased.opened_gen, true, 11_050).unwrap();
//! assert_eq!(rules.view(&closed, 11_050), FleetState::Closed);
//! ```

mod config_text;
mod record;
mod rules;
mod text;

pub use config_text::{ConfigDifference, ConfigText, CONFIG_TEXT_CAPACITY};
pub use record::{FleetMode, FleetRecord, FleetRecordError, RecordText, RECORD_TEXT_CAPACITY};
pub use rules::{FleetCounts, FleetRules, FleetRulesError, FleetWindow, Lease};
pub use text::FixedText;
