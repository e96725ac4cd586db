//! Protected calls: acquire, run the operation, record what its result
//! means, in one method (blocking or async).

use core::future::Future;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::observer::Observer;
use crate::permit::Outcome;
use crate::policy::Policy;
use crate::reject::CallError;

impl<C: Clock, P: Policy, O: Observer> Breaker<'_, C, P, O> {
    /// Runs `f` if the breaker allows it; an `Err` counts as a failure, an
    /// `Ok` as a success.
    #[inline]
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_classified(f, |r| match r {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
    }

    /// Runs `f` if the breaker allows it, and records what `classify` makes
    /// of its result: per error (a 404 may be [`Outcome::Ignore`]) and per
    /// success (an empty reply may be a [`Outcome::Failure`]).
    ///
    /// ```
    /// use halfopen::{Breaker, Config, MockClock, Outcome, State};
    ///
    /// let config = Config::consecutive_failures(1).build().unwrap();
    /// let clock = MockClock::new(0);
    /// let breaker = Breaker::new(&config, &clock);
    /// let not_found = breaker.call_classified(
    ///     || Err::<(), u16>(404),
    ///     |r| match r {
    ///         Err(404) => Outcome::Ignore,
    ///         Err(_) => Outcome::Failure,
    ///         Ok(_) => Outcome::Success,
    ///     },
    /// );
    /// assert!(not_found.is_err());
    /// assert_eq!(breaker.state(), State::Closed);
    /// ```
    #[inline]
    pub fn call_classified<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = f();
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// Awaits `future` if the breaker allows it; an `Err` counts as a
    /// failure. No executor is assumed. If the returned future is dropped
    /// before it completes, the permit is dropped: its half-open slot is freed
    /// and nothing is counted.
    #[inline]
    pub async fn call_async<T, E, F>(&self, future: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.call_async_classified(future, |r| match r {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
        .await
    }

    /// [`call_async`](Self::call_async) with a classifier, as in
    /// [`call_classified`](Self::call_classified).
    #[inline]
    pub async fn call_async_classified<T, E, F>(
        &self,
        future: F,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let result = future.await;
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }
}
