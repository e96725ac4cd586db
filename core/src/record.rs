//! Recording an outcome: what a success, failure, ignore or drop of a
//! permit does to the state, by policy and by the state the permit was
//! granted in. Every way into `open` goes through [`Breaker::fail`].

use crate::breaker::{bucket_time, Breaker};
use crate::clock::Clock;
use crate::machine::{self, Step};
use crate::observer::{Cause, Observer};
use crate::permit::{Counted, Outcome, PermitToken};
use crate::policy::{Kind, Policy};
use crate::state::{State, Word, CLOCK_LIMIT};
use crate::sync::Ordering::Relaxed;
use crate::window::WindowStore;

impl<C: Clock, P: Policy, O: Observer> Breaker<'_, C, P, O> {
    /// Records the outcome of a detached permit.
    #[inline]
    pub fn record_token(&self, token: PermitToken, outcome: Outcome) {
        let counted = self.apply(token, Some(outcome));
        self.report(counted);
    }

    /// Gives back a detached permit without an outcome (a *drop*).
    pub fn release_token(&self, token: PermitToken) {
        self.apply(token, None);
    }

    /// Runs the observer hook of an outcome, after the state was updated.
    #[inline(always)]
    pub(crate) fn report(&self, counted: Counted) {
        match counted {
            Counted::Success => self.observer.on_success(),
            Counted::Failure { slow } => self.observer.on_failure(slow),
            Counted::Ignored => self.observer.on_ignore(),
            Counted::Dropped => {}
        }
    }

    /// Applies an outcome (`None`: a drop) of a permit to the state. Calls no
    /// outcome hook (see [`report`](Self::report)); the only user code it may
    /// run is a clock read (slow calls, a trip, a time bucket) and a
    /// transition hook.
    #[inline(always)]
    pub(crate) fn apply(&self, token: PermitToken, outcome: Option<Outcome>) -> Counted {
        if outcome == Some(Outcome::Success) && !token.is_timed() {
            // Relaxed: the fast path reads nothing the word could publish
            // (what a window publishes, its own loads acquire); the slow
            // path's compare-and-swaps order what they change. A stale read
            // only lets a success of an epoch that just ended into that
            // epoch's window, which no later epoch reads.
            let w = Word(self.word.load(Relaxed));
            let mut now = None;
            if w.0 == token.key as u32 {
                match self.config.policy.kind() {
                    // The steady state of the consecutive policy: a closed
                    // success with no failure run to reset writes nothing.
                    Kind::Consecutive(_) => return Counted::Success,
                    // A full count window of successes: nothing changes.
                    Kind::Rate(_) => {
                        if let Some(win) = self.window.count() {
                            if win.success_is_noop(w.epoch()) {
                                return Counted::Success;
                            }
                        }
                    }
                    // The newest time bucket: one pending count, no owner.
                    Kind::Time(p) => {
                        if let Some(win) = self.window.buckets() {
                            let t = self.now();
                            if win.try_success(&p, w.epoch(), bucket_time(t)) {
                                return Counted::Success;
                            }
                            now = Some(t);
                        }
                    }
                }
            }
            self.apply_slow(token.key, w, false, now);
            return Counted::Success;
        }
        self.apply_outcome(token, outcome)
    }

    #[inline(never)]
    fn apply_outcome(&self, token: PermitToken, outcome: Option<Outcome>) -> Counted {
        let mut now = None;
        let (failed, counted) = match outcome {
            Some(Outcome::Success) => {
                let mut slow = false;
                // An untimed token (forged: they are timed when slowCallMs
                // is set) starts at `u64::MAX` and is never slow.
                if self.config.slow_call_ms != 0 {
                    let t = self.now();
                    now = Some(t);
                    slow = t.saturating_sub(token.started_ms) >= self.config.slow_call_ms as u64;
                }
                if slow {
                    (true, Counted::Failure { slow: true })
                } else {
                    (false, Counted::Success)
                }
            }
            Some(Outcome::Failure) => (true, Counted::Failure { slow: false }),
            Some(Outcome::Ignore) => {
                if cfg!(feature = "half-open-max-wait") && self.config.half_open_max_wait_ms != 0 {
                    self.expire(self.load(), &mut now);
                }
                self.release(&token);
                return Counted::Ignored;
            }
            None => {
                if cfg!(feature = "half-open-max-wait") && self.config.half_open_max_wait_ms != 0 {
                    self.expire(self.load(), &mut now);
                }
                self.release(&token);
                return Counted::Dropped;
            }
        };
        self.apply_slow(token.key, self.load(), failed, now);
        counted
    }

    /// Applies a success or failure of the permit granted under the low
    /// half `key` of a state word; `w` is a fresh load of the state word.
    #[inline(never)]
    pub(crate) fn apply_slow(&self, key: u16, w: Word, failed: bool, mut now: Option<u64>) {
        // A half-open breaker past its deadline re-opens first: then this
        // outcome is stale.
        let w = self.expire(w, &mut now);
        // A permit of an earlier epoch changes nothing. A permit counts only
        // in an epoch of the state it was granted in: a closed permit held
        // while the 14-bit epoch wrapped onto a half-open epoch (or a trial
        // permit onto a closed one) is stale too. Both in one compare.
        if w.0 as u16 != key {
            return;
        }
        match w.state() {
            State::Closed => {
                if failed {
                    self.closed_failure(w, now);
                } else {
                    self.closed_success(w, now);
                }
            }
            State::HalfOpen => {
                if failed {
                    self.trial_failure(w, now);
                } else {
                    self.trial_success(w);
                }
            }
            // An epoch has one state: a permit is never of an open or
            // isolated epoch.
            _ => {}
        }
    }

    /// The current closed epoch, if closed.
    pub(crate) fn closed_epoch(&self) -> Option<u16> {
        let w = self.load();
        (w.state() == State::Closed).then_some(w.epoch())
    }

    #[inline(always)]
    fn closed_success(&self, w: Word, now: Option<u64>) {
        match self.config.policy.kind() {
            Kind::Consecutive(_) => {
                // The steady state (no run to reset) writes nothing.
                let epoch = w.epoch();
                self.update(w, |w| {
                    if w.0 as u16 == Word::closed(epoch, 0).0 as u16 && w.run() != 0 {
                        Step::Swap(Word::closed(epoch, 0), ())
                    } else {
                        Step::Keep(())
                    }
                });
            }
            // A success never trips, but its recorder may own the window
            // while another caller's failure is drained from the backlog:
            // if that failure fires the rule, the trip is this caller's to
            // make (the failure's recorder has left).
            Kind::Rate(p) => {
                let trip = self
                    .window
                    .count()
                    .and_then(|win| win.record(&p, w.epoch(), false, &|| self.closed_epoch()));
                if let Some(e) = trip {
                    self.trip_closed(e, now);
                }
            }
            Kind::Time(p) => {
                let mut now = now;
                let t = bucket_time(*now.get_or_insert_with(|| self.now()));
                let trip = self
                    .window
                    .buckets()
                    .and_then(|win| win.record(&p, w.epoch(), false, t, &|| self.closed_epoch()));
                if let Some(e) = trip {
                    self.trip_closed(e, now);
                }
            }
        }
    }

    fn closed_failure(&self, w: Word, mut now: Option<u64>) {
        let epoch = w.epoch();
        match self.config.policy.kind() {
            Kind::Consecutive(p) => self.fail(w, w, Some(p.threshold), now, Cause::Trip),
            Kind::Rate(p) => {
                let trip = self
                    .window
                    .count()
                    .and_then(|win| win.record(&p, epoch, true, &|| self.closed_epoch()));
                if let Some(e) = trip {
                    self.trip_closed(e, now);
                }
            }
            Kind::Time(p) => {
                let t = bucket_time(*now.get_or_insert_with(|| self.now()));
                let trip = self
                    .window
                    .buckets()
                    .and_then(|win| win.record(&p, epoch, true, t, &|| self.closed_epoch()));
                if let Some(e) = trip {
                    self.trip_closed(e, now);
                }
            }
        }
    }

    /// A window fired in closed epoch `epoch`: open, if that epoch is current.
    pub(crate) fn trip_closed(&self, epoch: u16, now: Option<u64>) {
        self.fail(self.load(), Word::closed(epoch, 0), None, now, Cause::Trip);
    }

    /// A failure that counts in the epoch and state of `key` (closed or
    /// half-open), from `w`: with `run_to`, the consecutive policy's run
    /// grows and trips at that threshold; without, it trips (a window fired,
    /// or a trial failed). A trip opens with the re-trip count of its state;
    /// the winner writes the opening time, then reports the transition. Every
    /// way into `open` goes through here.
    #[inline(never)]
    pub(crate) fn fail(
        &self,
        w: Word,
        key: Word,
        run_to: Option<u16>,
        mut now: Option<u64>,
        cause: Cause,
    ) {
        let (t, swapped) = self.update(w, |w| {
            if w.0 as u16 != key.0 as u16 {
                return Step::Keep(0);
            }
            // Re-decided on every retry: a success that lands first resets
            // the run, and this failure then does not trip.
            if let Some(threshold) = run_to {
                if let Some(next) = machine::failure_run(w, threshold) {
                    return Step::Swap(next, 0);
                }
            }
            let k = if w.state() == State::HalfOpen {
                machine::retrip_k(w)
            } else {
                0
            };
            // A reading out of range cannot be kept: the breaker opens at
            // the last time it can keep, which every in-range reading is
            // behind, so it stays open (and says why at every acquire that
            // reads such a clock) until reset.
            let t = (*now.get_or_insert_with(|| self.now())).min(CLOCK_LIMIT - 1);
            let retry_at = t + self.config.open_duration_ms(k as u32) as u64;
            Step::Swap(machine::open(w, k, retry_at), retry_at)
        });
        if let Some((from, to)) = swapped {
            if to.state() == State::Open {
                self.time.write_retry(&self.word, to.epoch(), t);
                self.transition(from.state(), State::Open, to.epoch(), cause);
            }
        }
    }

    fn trial_success(&self, w: Word) {
        let epoch = w.epoch();
        let Some(successes) = self.time.add_trial_success(&self.word, epoch) else {
            return;
        };
        if successes < self.config.success_threshold as u32 {
            return self.release_slot(epoch);
        }
        let (_, swapped) = self.update(self.load(), |w| {
            if w.epoch() != epoch {
                return Step::Keep(());
            }
            let next = machine::close(w);
            self.window.clear_for(next.epoch());
            Step::Swap(next, ())
        });
        if let Some((_, to)) = swapped {
            self.time.begin(&self.word, to.epoch());
            self.transition(
                State::HalfOpen,
                State::Closed,
                to.epoch(),
                Cause::TrialsSucceeded,
            );
        }
    }

    /// Any trial failure re-opens, whatever else changed in the half-open
    /// epoch meanwhile (slots taken or freed).
    fn trial_failure(&self, w: Word, now: Option<u64>) {
        self.fail(w, w, None, now, Cause::TrialFailed);
    }

    /// Frees the half-open slot of a trial permit, if its epoch is current.
    fn release(&self, token: &PermitToken) {
        if token.is_trial() {
            self.release_slot(token.epoch());
        }
    }

    /// Frees a half-open slot of `epoch`, if that epoch is current.
    fn release_slot(&self, epoch: u16) {
        self.update(self.load(), |w| match machine::free_slot(w, epoch) {
            Some(next) => Step::Swap(next, ()),
            None => Step::Keep(()),
        });
    }
}
