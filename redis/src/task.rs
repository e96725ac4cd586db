//! The background task: local transitions to the store, the store's record
//! to the local breaker. Every decision is one of the core's fleet rules;
//! every store call has a deadline; a failing store leaves the breaker
//! working locally.

use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use halfopen::fleet::{FleetMode, FleetRecord, Lease};
use halfopen::{Observer, State};
use tokio::sync::{mpsc, watch};
use tokio::time::{interval, sleep, Instant, MissedTickBehavior};

use crate::fleet::{rebuilt, Inner, Shared};
use crate::options::FleetError;
use crate::store::{Read, Store, StoreError, Written};

#[derive(Debug)]
pub(crate) enum Event {
    /// The local breaker tripped.
    Tripped,
    /// A probe of the period ended.
    Probe {
        period: u64,
        success: bool,
    },
    /// An acquire found the open period over and no lease held.
    LeaseWanted,
    Isolate,
    Reset,
    /// A change was pushed.
    Changed,
}

/// What the task keeps between events.
struct Task<'a> {
    inner: &'a Inner,
    shared: &'a Shared,
    store: &'a mut Store,
    config_text: &'a str,
    /// The last record read had no configuration text.
    config_missing: bool,
}

/// A store failure, or the fleet refusing this instance.
enum Stop {
    Store(StoreError),
    Refused(String),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl Task<'_> {
    fn note_error(&self, e: &str) {
        if let Ok(mut last) = self.shared.last_error.lock() {
            *last = Some(e.to_owned());
        }
    }

    /// The record a read returned, checked: garbage is replaced, a foreign
    /// configuration refused.
    async fn record(&mut self, read: &mut Read) -> Result<FleetRecord, Stop> {
        self.config_missing = read.raw.config.is_none();
        if let Some(theirs) = &read.raw.config {
            let ours = self.inner.rules.config_text();
            if theirs != self.config_text {
                let diff = ours
                    .difference(theirs)
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "the configuration text".to_owned());
                return Err(Stop::Refused(diff));
            }
        }
        let parsed = match (&read.raw.record, read.raw.gen.as_str()) {
            // No record (a new fleet, or a store that lost its data): closed,
            // at the last generation this instance saw, so that generations
            // never go back for it.
            (None, "") => return Ok(rebuilt(self.shared.seen_gen.load(Relaxed))),
            (Some(text), gen) => FleetRecord::parse(gen, text).map_err(|e| e.to_string()),
            (None, gen) => Err(format!("fleet record has gen {gen:?} and no record")),
        };
        match parsed {
            Ok(r) => Ok(r),
            Err(why) => {
                // Garbage: counted as a store error, and replaced by what
                // this instance knows, under a generation past any it saw.
                self.shared.store_errors.fetch_add(1, Relaxed);
                self.note_error(&why);
                log::warn!("fleet {}: {why}: rewriting the record", self.inner.name);
                let next = self.inner.rules.rebuild(
                    self.shared.seen_gen.load(Relaxed),
                    read.raw.gen.parse().ok(),
                    self.inner.breaker.recorded_state(),
                    read.now_ms,
                );
                let expected = read.raw.gen.clone();
                match self.write(&expected, &next).await? {
                    Written::Yes { now_ms } => {
                        read.now_ms = now_ms;
                        Ok(next)
                    }
                    Written::Lost(mut again) => {
                        // Someone else rewrote it first: take theirs (once).
                        let text = again.raw.record.take().unwrap_or_default();
                        *read = again;
                        FleetRecord::parse(&read.raw.gen, &text)
                            .map_err(|e| Stop::Store(StoreError::Redis(e.to_string())))
                    }
                }
            }
        }
    }

    async fn write(&mut self, expected: &str, next: &FleetRecord) -> Result<Written, StoreError> {
        self.shared.round_trips.fetch_add(1, Relaxed);
        let clear = next.mode == FleetMode::Closed;
        self.store
            .write(
                &self.inner.name,
                expected,
                next.gen,
                next.to_text().as_str(),
                self.config_text,
                clear,
            )
            .await
    }

    async fn read(&mut self) -> Result<Read, StoreError> {
        self.shared.round_trips.fetch_add(1, Relaxed);
        self.store.read(&self.inner.name).await
    }

    /// Reads the record, applies `rule`, compare-and-sets the result, and
    /// again on the newer record if another instance wrote first. Returns
    /// the record as it stands, the store time, and whether this call wrote.
    async fn transact(
        &mut self,
        mut read: Read,
        rule: impl Fn(&FleetRecord, u64) -> Option<FleetRecord>,
    ) -> Result<(FleetRecord, u64, bool), Stop> {
        for _ in 0..8 {
            let rec = self.record(&mut read).await?;
            let Some(next) = rule(&rec, read.now_ms) else {
                return Ok((rec, read.now_ms, false));
            };
            let expected = read.raw.gen.clone();
            match self.write(&expected, &next).await? {
                Written::Yes { now_ms } => return Ok((next, now_ms, true)),
                Written::Lost(r) => read = r,
            }
        }
        Err(Stop::Store(StoreError::Reply(
            "the record changed under eight writes in a row",
        )))
    }

    /// Applies the record to the local breaker (if it is newer than the last
    /// one seen, or `force`).
    fn adopt(&self, rec: &FleetRecord, now: u64, force: bool) {
        let seen = self.shared.seen_gen.swap(rec.gen, Relaxed);
        if rec.gen == seen && !force {
            return;
        }
        let period = self.shared.lease_period.load(Relaxed);
        let probing = rec.mode == FleetMode::Open && rec.opened_gen == period && period != 0;
        if !probing {
            self.shared.leases.store(0, Relaxed);
            self.shared.lease_period.store(0, Relaxed);
            self.inner.breaker.adopt(self.inner.rules.view(rec, now));
        }
    }

    /// The first instance of a fleet writes the record, so that the
    /// configuration every later one is checked against is there; an
    /// instance that finds it written meanwhile writes nothing.
    async fn claim(&mut self) -> Result<(), Stop> {
        let mut read = self.read().await?;
        for _ in 0..8 {
            let rec = self.record(&mut read).await?;
            if read.raw.config.is_some() {
                self.adopt(&rec, read.now_ms, false);
                return Ok(());
            }
            let next = FleetRecord {
                gen: rec.gen.wrapping_add(1),
                ..rec
            };
            let expected = read.raw.gen.clone();
            match self.write(&expected, &next).await? {
                Written::Yes { now_ms } => {
                    self.adopt(&next, now_ms, false);
                    return Ok(());
                }
                Written::Lost(r) => read = r,
            }
        }
        Err(Stop::Store(StoreError::Reply(
            "the record changed under eight writes in a row",
        )))
    }

    async fn handle(&mut self, event: Event) -> Result<(), Stop> {
        let rules = self.inner.rules;
        match event {
            Event::Tripped => {
                let seen = self.shared.seen_gen.load(Relaxed);
                let read = self.read().await?;
                let (rec, now, _) = self
                    .transact(read, |r, now| rules.trip(r, seen, now))
                    .await?;
                self.adopt(&rec, now, true);
            }
            Event::LeaseWanted => {
                self.shared.lease_wanted.store(false, Relaxed);
                let read = self.read().await?;
                let (rec, now, wrote) = self
                    .transact(read, |r, now| match rules.lease(r, now) {
                        Lease::Granted(n) | Lease::Reopen(n) => Some(n),
                        Lease::Denied => None,
                    })
                    .await?;
                if wrote && rec.mode == FleetMode::Open && rec.leases > 0 {
                    // Granted: this instance probes; its local open period is over.
                    self.shared.seen_gen.store(rec.gen, Relaxed);
                    if self.shared.lease_period.swap(rec.opened_gen, Relaxed) != rec.opened_gen {
                        self.shared.leases.store(0, Relaxed);
                    }
                    // Release: the period is written before the lease shows.
                    self.shared.leases.fetch_add(1, Release);
                } else {
                    self.adopt(&rec, now, true);
                }
            }
            Event::Probe { period, success } => {
                let read = self.read().await?;
                let (rec, now, _) = self
                    .transact(read, |r, now| rules.probe(r, period, success, now))
                    .await?;
                if self.shared.lease_period.load(Relaxed) == period
                    && (rec.opened_gen != period || rec.mode != FleetMode::Open)
                {
                    self.shared.lease_period.store(0, Relaxed);
                    self.shared.leases.store(0, Relaxed);
                }
                self.adopt(&rec, now, true);
            }
            Event::Isolate => {
                let read = self.read().await?;
                let (rec, now, _) = self.transact(read, |r, _| Some(rules.isolate(r))).await?;
                self.adopt(&rec, now, true);
            }
            Event::Reset => {
                let read = self.read().await?;
                let (rec, now, _) = self.transact(read, |r, _| Some(rules.reset(r))).await?;
                self.adopt(&rec, now, true);
            }
            Event::Changed => self.sync(false).await?,
        }
        Ok(())
    }

    /// The periodic sync: flush counts (window policies counted for the
    /// fleet), read the record, end expired leases, run the window rule,
    /// adopt; and publish a local trip the store missed while it was away.
    async fn sync(&mut self, periodic: bool) -> Result<(), Stop> {
        let rules = self.inner.rules;
        let (read, counts) = match rules.window() {
            Some(w) => {
                let totals = self
                    .inner
                    .breaker
                    .observer()
                    .counters
                    .totals()
                    .unwrap_or_default();
                let (s, f) = (totals.successes as u64, totals.failures as u64);
                let (fs, ff) = (
                    self.shared.flushed_successes.load(Relaxed),
                    self.shared.flushed_failures.load(Relaxed),
                );
                // Totals are 32-bit and wrap: the difference is modulo 2^32.
                let ds = s.wrapping_sub(fs) & 0xFFFF_FFFF;
                let df = f.wrapping_sub(ff) & 0xFFFF_FFFF;
                self.shared.round_trips.fetch_add(1, Relaxed);
                let read = self
                    .store
                    .count(&self.inner.name, w.bucket_ms(), w.buckets(), ds, df)
                    .await?;
                self.shared.flushed_successes.store(s, Relaxed);
                self.shared.flushed_failures.store(f, Relaxed);
                let sums = w.sum(
                    read.now_ms,
                    read.counts.iter().map(|(field, n)| (field.as_str(), *n)),
                );
                (read, Some(sums))
            }
            None => (self.read().await?, None),
        };
        if periodic {
            self.shared.syncs.fetch_add(1, Relaxed);
        }
        let seen = self.shared.seen_gen.load(Relaxed);
        let local_open = matches!(
            self.inner.breaker.recorded_state(),
            State::Open | State::HalfOpen
        );
        let pending_trip = self.shared.trip_pending.swap(false, Relaxed);
        let (rec, now, _) = self
            .transact(read, |r, now| {
                // A trip made while the store was away is published if the
                // fleet has not moved on.
                let missed = (pending_trip && local_open).then_some(seen);
                rules.sync(r, counts, missed, now)
            })
            .await?;
        self.adopt(&rec, now, false);
        Ok(())
    }
}

/// The first sync, before `connect` returns.
pub(crate) async fn first_sync(
    inner: &Inner,
    shared: &Shared,
    store: &mut Store,
) -> Result<(), FleetError> {
    let config_text = inner.rules.config_text();
    let mut task = Task {
        inner,
        shared,
        store,
        config_text: config_text.as_str(),
        config_missing: false,
    };
    let mut result = task.sync(false).await;
    if result.is_ok() && task.config_missing {
        result = task.claim().await;
    }
    match result {
        Ok(()) => {
            shared.attached.store(true, Relaxed);
            Ok(())
        }
        Err(Stop::Refused(difference)) => Err(FleetError::ConfigMismatch {
            name: inner.name.as_str().to_owned(),
            difference,
        }),
        Err(Stop::Store(e)) => {
            shared.store_errors.fetch_add(1, Relaxed);
            task.note_error(&e.to_string());
            log::warn!(
                "fleet {}: {e}: deciding locally until the store answers",
                inner.name
            );
            Ok(())
        }
    }
}

/// The task's loop: until the last handle is dropped.
pub(crate) async fn run(
    inner: Weak<Inner>,
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Event>,
    mut store: Store,
    mut shutdown: watch::Receiver<()>,
) {
    let Some(sync_ms) = inner.upgrade().map(|i| i.sync_ms) else {
        return;
    };
    let sync = Duration::from_millis(sync_ms as u64);
    let mut tick = interval(sync);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // While the store fails: no store call before `retry_at`, and a delay
    // that doubles up to 8 syncs (at least 1 s).
    let mut retry_at: Option<Instant> = None;
    let mut backoff = sync;
    let mut command: Option<Event> = None;
    let max_backoff = (sync * 8).max(Duration::from_secs(1));
    loop {
        let event = tokio::select! {
            e = rx.recv() => match e {
                Some(e) => Some(e),
                None => return,
            },
            _ = tick.tick() => None,
            _ = shutdown.changed() => return,
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if shared.refused.load(Relaxed) {
            continue;
        }
        if let Some(at) = retry_at {
            if Instant::now() < at {
                // Detached: local decisions only; a trip is published later.
                if matches!(event, Some(Event::Tripped)) {
                    shared.trip_pending.store(true, Relaxed);
                }
                match event {
                    Some(Event::LeaseWanted) => shared.lease_wanted.store(false, Relaxed),
                    // The last of isolate() and reset() is kept for the
                    // store's return.
                    Some(e @ (Event::Isolate | Event::Reset)) => command = Some(e),
                    _ => {}
                }
                continue;
            }
        }
        let config_text = inner.rules.config_text();
        let mut task = Task {
            inner: &inner,
            shared: &shared,
            store: &mut store,
            config_text: config_text.as_str(),
            config_missing: false,
        };
        let tripped = matches!(event, Some(Event::Tripped));
        let failed_command = match (&event, &command) {
            (Some(Event::Isolate), _) => Some(Event::Isolate),
            (Some(Event::Reset), _) => Some(Event::Reset),
            (None, Some(Event::Isolate)) => Some(Event::Isolate),
            (None, Some(Event::Reset)) => Some(Event::Reset),
            _ => None,
        };
        if matches!(event, Some(Event::Isolate | Event::Reset)) {
            command = None; // A newer command replaces one kept.
        }
        let result = match event {
            Some(e) => task.handle(e).await,
            None => match command.take() {
                // The store is back: first the command it missed.
                Some(c) => match task.handle(c).await {
                    Ok(()) => task.sync(true).await,
                    Err(e) => Err(e),
                },
                None => task.sync(true).await,
            },
        };
        match result {
            Ok(()) => {
                if retry_at.take().is_some() || !shared.attached.load(Relaxed) {
                    log::info!("fleet {}: the store answers again", inner.name);
                    if let Ok(mut last) = shared.last_error.lock() {
                        *last = None;
                    }
                }
                shared.attached.store(true, Relaxed);
                backoff = sync;
            }
            Err(Stop::Store(e)) => {
                if tripped {
                    shared.trip_pending.store(true, Relaxed);
                }
                if let Some(c) = failed_command {
                    command.get_or_insert(c);
                }
                shared.lease_wanted.store(false, Relaxed);
                shared.store_errors.fetch_add(1, Relaxed);
                if shared.attached.swap(false, Relaxed) {
                    log::warn!(
                        "fleet {}: {e}: deciding locally until the store answers",
                        inner.name
                    );
                }
                task.note_error(&e.to_string());
                retry_at = Some(Instant::now() + backoff);
                backoff = (backoff * 2).min(max_backoff);
            }
            Err(Stop::Refused(difference)) => {
                let e = FleetError::ConfigMismatch {
                    name: inner.name.as_str().to_owned(),
                    difference,
                };
                log::error!("{e}: this instance stays a local breaker");
                task.note_error(&e.to_string());
                shared.refused.store(true, Relaxed);
                shared.attached.store(false, Relaxed);
            }
        }
    }
}

/// Listens for pushed changes on the breaker's channel, reconnecting with
/// a backoff, until the last handle is dropped.
pub(crate) async fn listen(
    inner: Weak<Inner>,
    shared: Arc<Shared>,
    client: redis::Client,
    channel: String,
    mut shutdown: watch::Receiver<()>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if inner.strong_count() == 0 {
            return;
        }
        let connected = tokio::time::timeout(Duration::from_secs(2), async {
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(ps)
        })
        .await;
        let mut ps = match connected {
            Ok(Ok(ps)) => {
                backoff = Duration::from_millis(100);
                // A change may have been missed while unsubscribed.
                let _ = shared.tx.send(Event::Changed);
                ps
            }
            _ => {
                tokio::select! {
                    _ = sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let mut messages = ps.on_message();
        loop {
            tokio::select! {
                m = messages.next() => match m {
                    Some(m) => {
                        let gen: Option<u64> = m.get_payload::<String>().ok().and_then(|s| s.parse().ok());
                        shared.pushes.fetch_add(1, Relaxed);
                        if gen != Some(shared.seen_gen.load(Relaxed)) {
                            let _ = shared.tx.send(Event::Changed);
                        }
                    }
                    None => break,
                },
                _ = shutdown.changed() => return,
            }
        }
    }
}
