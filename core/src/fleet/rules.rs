//! The fleet's rules: pure functions from a record (and the store's time) to
//! the record a store should write.

use core::fmt;

use crate::adopt::FleetState;
use crate::policy::{window_trips, AnyPolicy};
use crate::state::K_MAX;
use crate::{Config, State, MAX_DURATION_MS};

use super::config_text::ConfigText;
use super::record::{FleetMode, FleetRecord, STORE_TIME_LIMIT};

/// The fleet's rules for one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetRules {
    pub(crate) config: Config<AnyPolicy>,
    pub(crate) lease_ms: u32,
    pub(crate) window: Option<FleetWindow>,
}

/// What [`FleetRules::lease`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// The caller holds a probe lease of the period `record.opened_gen`,
    /// once the store has written `record`.
    Granted(FleetRecord),
    /// No lease: the fleet is not open, its open period is not over, or
    /// every lease of the period is taken. Adopt [`FleetRules::view`].
    Denied,
    /// The period's leases ended unreported: the fleet re-opens (write
    /// `record`, then adopt it).
    Reopen(FleetRecord),
}

/// Outcome counts summed over a fleet's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetCounts {
    /// Successes.
    pub successes: u64,
    /// Failures (slow calls included).
    pub failures: u64,
}

/// How a fleet counts a window policy's outcomes: in time buckets of the
/// store's clock, with the policy's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetWindow {
    window_ms: u32,
    buckets: u8,
    percent: u8,
    failures: u32,
    minimum_calls: u32,
}

impl FleetWindow {
    /// The window's length in ms.
    pub const fn window_ms(&self) -> u32 {
        self.window_ms
    }
    /// How many buckets the window has.
    pub const fn buckets(&self) -> u8 {
        self.buckets
    }
    /// One bucket's width in ms.
    pub const fn bucket_ms(&self) -> u32 {
        self.window_ms / self.buckets as u32
    }
    /// The bucket that store time `now_ms` falls in.
    pub const fn bucket_at(&self, now_ms: u64) -> u64 {
        now_ms / self.bucket_ms() as u64
    }
    /// Whether bucket `bucket` is in the window that ends with bucket
    /// `current` (a store deletes the others).
    pub const fn holds(&self, current: u64, bucket: u64) -> bool {
        bucket <= current && bucket + self.buckets as u64 > current
    }
    /// The window's sums at store time `now_ms` from a store's count fields
    /// (`BUCKET:s` and `BUCKET:f` with their counts): fields of buckets
    /// outside the window, and fields of any other shape, count nothing.
    ///
    /// ```
    /// use halfopen::Config;
    /// use halfopen::fleet::{FleetCounts, FleetRules};
    ///
    /// let config = Config::time_window(50, 3_000, 3, 10).build().unwrap();
    /// let w = FleetRules::new(&config, 1_000).unwrap().counting().unwrap().window().unwrap();
    /// let fields = [("10:s", 4), ("10:f", 1), ("12:f", 2), ("9:f", 7), ("x:f", 1)];
    /// assert_eq!(w.sum(12_500, fields), FleetCounts { successes: 4, failures: 3 });
    /// ```
    pub fn sum<'a>(
        &self,
        now_ms: u64,
        fields: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> FleetCounts {
        let current = self.bucket_at(now_ms);
        let mut sums = FleetCounts::default();
        for (field, n) in fields {
            let Some((b, kind)) = field.split_once(':') else {
                continue;
            };
            let Ok(b) = b.parse::<u64>() else { continue };
            if !self.holds(current, b) {
                continue;
            }
            match kind {
                "s" => sums.successes = sums.successes.saturating_add(n),
                "f" => sums.failures = sums.failures.saturating_add(n),
                _ => {}
            }
        }
        sums
    }

    /// The policy's rule on the fleet's sums.
    pub const fn trips(&self, counts: FleetCounts) -> bool {
        window_trips(
            counts.failures,
            counts.successes.saturating_add(counts.failures),
            self.percent,
            self.minimum_calls as u64,
            self.failures as u64,
        )
    }
}

/// A fleet configuration that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetRulesError {
    /// `fleet.leaseMs` is out of range.
    LeaseMs(u64),
    /// `fleet.windowMs` is out of range, or not a multiple of `fleet.buckets`.
    WindowMs(u64),
    /// `fleet.buckets` is out of range.
    Buckets(u64),
    /// The policy has no window to count for the fleet.
    NoWindow,
    /// A count window needs a time window to be counted in a store.
    NeedsWindowMs,
}

impl fmt::Display for FleetRulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::LeaseMs(v) => write!(f, "fleet.leaseMs = {v} is out of range 1..={MAX_DURATION_MS}"),
            Self::WindowMs(v) => write!(
                f,
                "fleet.windowMs = {v} is out of range 1..={MAX_DURATION_MS} or not a multiple of fleet.buckets"
            ),
            Self::Buckets(v) => write!(f, "fleet.buckets = {v} is out of range 1..=64"),
            Self::NoWindow => f.write_str(
                "consecutiveFailures has no window to count for the fleet: its trips propagate",
            ),
            Self::NeedsWindowMs => f.write_str(
                "failureRate counts calls, not time: give the fleet's window (fleet.windowMs, fleet.buckets) to count it for the fleet",
            ),
        }
    }
}

impl core::error::Error for FleetRulesError {}

impl FleetRules {
    /// The rules for `config`, with probe leases of `lease_ms` (how long a
    /// probe may take before the fleet counts it as failed: 1 ..= 2^31 - 1).
    /// Outcomes are not counted for the fleet (see
    /// [`counting`](Self::counting)).
    pub fn new<P: Copy + Into<AnyPolicy>>(
        config: &Config<P>,
        lease_ms: u32,
    ) -> Result<Self, FleetRulesError> {
        if lease_ms == 0 || lease_ms > MAX_DURATION_MS {
            return Err(FleetRulesError::LeaseMs(lease_ms as u64));
        }
        Ok(Self {
            config: config.into_any(),
            lease_ms,
            window: None,
        })
    }

    /// Counts a `timeWindow` policy's outcomes for the whole fleet, in its
    /// own window and buckets.
    ///
    /// ```
    /// use halfopen::Config;
    /// use halfopen::fleet::{FleetRules, FleetRulesError};
    ///
    /// let config = Config::time_window(50, 10_000, 10, 20).build().unwrap();
    /// let rules = FleetRules::new(&config, 5_000).unwrap().counting().unwrap();
    /// assert_eq!(rules.window().unwrap().bucket_ms(), 1_000);
    ///
    /// let consecutive = Config::consecutive_failures(5).build().unwrap();
    /// let err = FleetRules::new(&consecutive, 5_000).unwrap().counting().unwrap_err();
    /// assert_eq!(err, FleetRulesError::NoWindow);
    /// ```
    pub fn counting(self) -> Result<Self, FleetRulesError> {
        match self.config.policy {
            AnyPolicy::TimeWindow(p) => self.counting_over(p.window_ms(), p.buckets() as u32),
            AnyPolicy::FailureRate(_) => Err(FleetRulesError::NeedsWindowMs),
            AnyPolicy::ConsecutiveFailures(_) => Err(FleetRulesError::NoWindow),
        }
    }

    /// Counts a window policy's outcomes for the whole fleet over the last
    /// `window_ms` of the store's clock, in `buckets` buckets (1 ..= 64;
    /// `window_ms` a multiple of it). A `failureRate` policy keeps its
    /// `percent`, `failures` and `minimumCalls` rules.
    pub fn counting_over(self, window_ms: u32, buckets: u32) -> Result<Self, FleetRulesError> {
        if buckets == 0 || buckets > 64 {
            return Err(FleetRulesError::Buckets(buckets as u64));
        }
        if window_ms == 0 || window_ms > MAX_DURATION_MS || window_ms % buckets != 0 {
            return Err(FleetRulesError::WindowMs(window_ms as u64));
        }
        let (percent, failures, minimum_calls) = match self.config.policy {
            AnyPolicy::TimeWindow(p) => (p.percent, p.failures, p.minimum_calls),
            AnyPolicy::FailureRate(p) => (p.percent, p.failures as u32, p.minimum_calls as u32),
            AnyPolicy::ConsecutiveFailures(_) => return Err(FleetRulesError::NoWindow),
        };
        Ok(Self {
            window: Some(FleetWindow {
                window_ms,
                buckets: buckets as u8,
                percent,
                failures,
                minimum_calls,
            }),
            ..self
        })
    }

    /// The configuration the rules apply.
    pub const fn config(&self) -> &Config<AnyPolicy> {
        &self.config
    }

    /// How long a probe lease lasts, in ms.
    pub const fn lease_ms(&self) -> u32 {
        self.lease_ms
    }

    /// The fleet's window, if outcomes are counted for the fleet.
    pub const fn window(&self) -> Option<FleetWindow> {
        self.window
    }

    /// The configuration instances sharing the fleet must agree on.
    pub fn config_text(&self) -> ConfigText {
        ConfigText::of(self)
    }

    /// The record the fleet opens to at store time `now` after `k` re-trips.
    fn open(&self, rec: &FleetRecord, now: u64, k: u8) -> FleetRecord {
        let gen = rec.gen.wrapping_add(1);
        let d = self.config.open_duration_ms(k as u32) as u64;
        FleetRecord {
            gen,
            mode: FleetMode::Open,
            k,
            open_until_ms: (now + d).min(STORE_TIME_LIMIT),
            leases: 0,
            lease_until_ms: 0,
            successes: 0,
            opened_gen: gen,
        }
    }

    fn settled(rec: &FleetRecord, mode: FleetMode) -> FleetRecord {
        FleetRecord {
            gen: rec.gen.wrapping_add(1),
            mode,
            ..FleetRecord::new()
        }
    }

    /// An instance's breaker tripped, and the last generation it saw was
    /// `seen_gen`: the fleet opens if the record is closed and still at that
    /// generation (else the trip lost a race: adopt the record).
    pub fn trip(&self, rec: &FleetRecord, seen_gen: u64, now: u64) -> Option<FleetRecord> {
        (rec.mode == FleetMode::Closed && rec.gen == seen_gen && now < STORE_TIME_LIMIT)
            .then(|| self.open(rec, now, 0))
    }

    /// An instance's open period is over: may it probe? At most
    /// `halfOpenMaxCalls` leases out at once (a probe that succeeds without
    /// closing the fleet frees its lease), all ending `leaseMs` after the
    /// first of them.
    pub fn lease(&self, rec: &FleetRecord, now: u64) -> Lease {
        if rec.mode != FleetMode::Open || now < rec.open_until_ms || now >= STORE_TIME_LIMIT {
            return Lease::Denied;
        }
        if let Some(r) = self.expire(rec, now) {
            return Lease::Reopen(r);
        }
        if rec.leases >= self.config.half_open_max_calls {
            return Lease::Denied;
        }
        Lease::Granted(FleetRecord {
            gen: rec.gen.wrapping_add(1),
            leases: rec.leases + 1,
            lease_until_ms: if rec.leases == 0 {
                (now + self.lease_ms as u64).min(STORE_TIME_LIMIT)
            } else {
                rec.lease_until_ms
            },
            ..*rec
        })
    }

    /// A probe of the period `opened_gen` succeeded or failed:
    /// `successThreshold` successes close the fleet (a success short of it
    /// frees its lease), a failure re-opens it with `k + 1`. A report for another period, or after the leases ended,
    /// changes nothing of the probe's own (the leases' end re-opens).
    pub fn probe(
        &self,
        rec: &FleetRecord,
        opened_gen: u64,
        success: bool,
        now: u64,
    ) -> Option<FleetRecord> {
        if rec.mode != FleetMode::Open || now >= STORE_TIME_LIMIT {
            return None;
        }
        if let Some(r) = self.expire(rec, now) {
            return Some(r);
        }
        if rec.opened_gen != opened_gen || rec.leases == 0 {
            return None;
        }
        if !success {
            return Some(self.open(rec, now, (rec.k + 1).min(K_MAX)));
        }
        let successes = rec.successes.saturating_add(1);
        Some(if successes >= self.config.success_threshold {
            Self::settled(rec, FleetMode::Closed)
        } else {
            // The probe's lease is free again: like a local trial slot, a
            // lease bounds the probes in flight, and more successes than
            // `halfOpenMaxCalls` may be needed.
            FleetRecord {
                gen: rec.gen.wrapping_add(1),
                successes,
                leases: rec.leases - 1,
                ..*rec
            }
        })
    }

    /// The leases of the open period ended without deciding it: the fleet
    /// re-opens with `k + 1`.
    pub fn expire(&self, rec: &FleetRecord, now: u64) -> Option<FleetRecord> {
        (rec.mode == FleetMode::Open
            && rec.leases > 0
            && now >= rec.lease_until_ms
            && now < STORE_TIME_LIMIT)
            .then(|| self.open(rec, now, (rec.k + 1).min(K_MAX)))
    }

    /// The fleet's window sums fire the policy's rule: a closed fleet opens.
    pub fn window_trip(
        &self,
        rec: &FleetRecord,
        counts: FleetCounts,
        now: u64,
    ) -> Option<FleetRecord> {
        let w = self.window?;
        (rec.mode == FleetMode::Closed && now < STORE_TIME_LIMIT && w.trips(counts))
            .then(|| self.open(rec, now, 0))
    }

    /// What a periodic sync writes, the first rule that applies: the
    /// period's leases ended unreported ([`expire`](Self::expire)), the
    /// fleet's window sums fire ([`window_trip`](Self::window_trip), when
    /// `counts` are given), or a trip the instance made while the store was
    /// away, `missed_trip` holding the generation it had seen then
    /// ([`trip`](Self::trip): published only if the fleet has not moved on).
    pub fn sync(
        &self,
        rec: &FleetRecord,
        counts: Option<FleetCounts>,
        missed_trip: Option<u64>,
        now: u64,
    ) -> Option<FleetRecord> {
        self.expire(rec, now)
            .or_else(|| counts.and_then(|c| self.window_trip(rec, c, now)))
            .or_else(|| missed_trip.and_then(|seen| self.trip(rec, seen, now)))
    }

    /// The record that replaces one a store holds as garbage, from what the
    /// instance knows: a generation past the last it saw and the stored one
    /// (if that still reads as a number), and its local state (open or
    /// half-open: the fleet opens; isolated: isolated; closed: closed).
    pub fn rebuild(
        &self,
        seen_gen: u64,
        stored_gen: Option<u64>,
        local: State,
        now: u64,
    ) -> FleetRecord {
        let base = FleetRecord {
            gen: seen_gen.max(stored_gen.unwrap_or(0)),
            ..FleetRecord::new()
        };
        let closed = FleetRecord {
            gen: base.gen.wrapping_add(1),
            ..base
        };
        match local {
            State::Closed => closed,
            State::Isolated => self.isolate(&base),
            State::Open | State::HalfOpen => self.trip(&base, base.gen, now).unwrap_or(closed),
        }
    }

    /// `isolate()` on the fleet.
    pub fn isolate(&self, rec: &FleetRecord) -> FleetRecord {
        Self::settled(rec, FleetMode::Isolated)
    }

    /// `reset()` on the fleet.
    pub fn reset(&self, rec: &FleetRecord) -> FleetRecord {
        Self::settled(rec, FleetMode::Closed)
    }

    /// What an instance adopts of the record at store time `now`: for an
    /// open fleet, the rest of its open period; once that is over, 0 while
    /// leases are left to take, else the rest of the leases' time, at most
    /// one open period of the current step.
    pub fn view(&self, rec: &FleetRecord, now: u64) -> FleetState {
        match rec.mode {
            FleetMode::Closed => FleetState::Closed,
            FleetMode::Isolated => FleetState::Isolated,
            FleetMode::Open => {
                let until = if now < rec.open_until_ms {
                    rec.open_until_ms
                } else if rec.leases >= self.config.half_open_max_calls {
                    // Until the leases end, but no longer than one open period
                    // of the current step: an adopted opening is only ever
                    // lengthened, and a failed probe's re-opening (at least
                    // that long from a later time) must be able to replace it.
                    let step = self.config.open_duration_ms(rec.k as u32) as u64;
                    rec.lease_until_ms.min(now + step)
                } else {
                    now
                };
                let remaining = until.saturating_sub(now).min(MAX_DURATION_MS as u64);
                FleetState::Open {
                    remaining_ms: remaining as u32,
                    k: rec.k.min(K_MAX),
                }
            }
        }
    }
}
