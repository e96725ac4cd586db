//! Acquiring a permit: the closed-state fast path (one load, no write) and
//! the decisions that need the state word's details or the clock.

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::machine::{self, Step};
use crate::observer::{Cause, Observer};
use crate::permit::{Permit, PermitToken, SlotGuard};
use crate::policy::Policy;
use crate::reject::{RejectReason, Rejected};
use crate::state::{State, Word, CLOCK_LIMIT};

impl<'a, C: Clock, P: Policy, O: Observer> Breaker<'a, C, P, O> {
    /// Asks to make a call: a [`Permit`], or why not.
    ///
    /// In `open` state this reads the clock; the first acquire at or past
    /// `retryAt` moves the breaker to `halfOpen` and gets a trial permit.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_, 'a, C, P, O>, Rejected> {
        match self.acquire() {
            Ok(token) => Ok(Permit {
                breaker: self,
                token,
            }),
            Err(r) => Err(r),
        }
    }

    /// [`try_acquire`](Self::try_acquire) for bindings: the permit as plain
    /// data.
    #[inline]
    pub fn try_acquire_token(&self) -> Result<PermitToken, Rejected> {
        self.acquire()
    }

    #[inline(always)]
    fn acquire(&self) -> Result<PermitToken, Rejected> {
        let w = self.load();
        // The steady state: closed, no slow-call timing. One load, no write.
        if w.state() == State::Closed && self.config.slow_call_ms == 0 {
            return Ok(PermitToken::granted(w, PermitToken::NOT_TIMED));
        }
        self.acquire_slow(w)
    }

    #[inline(never)]
    fn acquire_slow(&self, w: Word) -> Result<PermitToken, Rejected> {
        let mut now = None;
        // The open rejection: one clock read, the opening's end, one
        // compare. Anything else (the period is over, a reading out of
        // range, time words not written yet) goes the general way below,
        // with this reading. The general way decides the same, 2 ns later
        // on a host; firmware (no operating system) keeps its 112 bytes, and
        // the npm package (a call from JavaScript costs more than the
        // difference) its share of the `.wasm`.
        if cfg!(not(any(target_os = "none", target_family = "wasm"))) && w.state() == State::Open {
            let t = self.now();
            now = Some(t);
            if t < CLOCK_LIMIT {
                if let Some(retry_at) = self.time.retry_at(w) {
                    if t < retry_at {
                        return Err(self.reject(RejectReason::Open, Some(retry_at - t)));
                    }
                }
            }
        }
        let started_ms = if self.config.slow_call_ms != 0 {
            let t = *now.get_or_insert_with(|| self.now());
            if t >= CLOCK_LIMIT {
                return Err(self.reject(RejectReason::ClockOutOfRange, None));
            }
            now = Some(t);
            t
        } else {
            PermitToken::NOT_TIMED
        };
        // A half-open breaker past its deadline re-opens first.
        let w = self.expire(w, &mut now);
        // The rule says which word the permit is granted under, or why not.
        let (result, swapped) = self.update(w, |w| match w.state() {
            State::Closed => Step::Keep(Ok(w)),
            State::HalfOpen => match machine::take_slot(w, self.config.half_open_max_calls) {
                Some(next) => Step::Swap(next, Ok(next)),
                None => {
                    // Full, as loaded: look again before saying so (another
                    // caller may have re-opened it at the half-open
                    // deadline meanwhile).
                    let x = self.load();
                    if x != w {
                        return Step::Retry(x);
                    }
                    Step::Keep(Err((RejectReason::HalfOpenFull, None)))
                }
            },
            State::Isolated => Step::Keep(Err((RejectReason::Isolated, None))),
            State::Open => {
                let t = *now.get_or_insert_with(|| self.now());
                if t >= CLOCK_LIMIT {
                    return Step::Keep(Err((RejectReason::ClockOutOfRange, None)));
                }
                let Some(retry_at) = self.time.retry_at(w) else {
                    // Either `w` is stale (a later epoch has tagged the time
                    // words already: look again), or the opening caller has
                    // not written the time yet and the open period has only
                    // just begun.
                    let x = self.load();
                    if x != w {
                        return Step::Retry(x);
                    }
                    let duration = self.config.open_duration_ms(w.k() as u32) as u64;
                    return Step::Keep(Err((RejectReason::Open, Some(duration))));
                };
                if t < retry_at {
                    return Step::Keep(Err((RejectReason::Open, Some(retry_at - t))));
                }
                let next = machine::half_open(w, t);
                Step::Swap(next, Ok(next))
            }
        });
        let granted = match result {
            Ok(granted) => granted,
            Err((reason, retry_after_ms)) => return Err(self.reject(reason, retry_after_ms)),
        };
        let token = PermitToken::granted(granted, started_ms);
        if let Some((from, to)) = swapped {
            if from.state() == State::Open {
                if cfg!(feature = "half-open-max-wait") {
                    let at = now.unwrap_or_default();
                    self.time.begin_half_open(&self.word, to.epoch(), at);
                } else {
                    self.time.begin(&self.word, to.epoch());
                }
                // The slot is taken but no permit exists yet: if the
                // transition hook unwinds, give the slot back.
                let guard = SlotGuard {
                    breaker: self,
                    token: &token,
                };
                self.transition(State::Open, State::HalfOpen, to.epoch(), Cause::RetryAt);
                core::mem::forget(guard);
            }
        }
        Ok(token)
    }
}
