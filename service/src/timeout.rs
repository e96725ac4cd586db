//! An async call with a timeout on tokio's clock: the host counterpart of
//! the core's `call_with_timeout` on embassy.

use std::future::Future;
use std::time::Duration;

use halfopen::{Breaker, CallError, Clock, Observer, Policy};

/// Awaits `future` for at most `timeout` (on tokio's clock) if `breaker`
/// allows it. An `Err` and a timeout count as failures; a timeout returns
/// [`CallError::TimedOut`] and drops the operation's future. If the returned
/// future is itself dropped first, nothing is counted.
///
/// ```
/// use std::time::Duration;
/// use halfopen::{Breaker, CallError, Config, MockClock, State};
/// use halfopen_service::call_with_timeout;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let config = Config::consecutive_failures(1).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::new(&config, &clock);
/// let slow = async {
///     tokio::time::sleep(Duration::from_secs(10)).await;
///     Ok::<_, ()>(1)
/// };
/// let r = call_with_timeout(&breaker, Duration::from_secs(1), slow).await;
/// assert_eq!(r, Err(CallError::TimedOut));
/// assert_eq!(breaker.state(), State::Open);
/// # }
/// ```
pub async fn call_with_timeout<C, P, O, T, E, F>(
    breaker: &Breaker<'_, C, P, O>,
    timeout: Duration,
    future: F,
) -> Result<T, CallError<E>>
where
    C: Clock,
    P: Policy,
    O: Observer,
    F: Future<Output = Result<T, E>>,
{
    let permit = breaker.try_acquire().map_err(CallError::Rejected)?;
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(v)) => {
            permit.success();
            Ok(v)
        }
        Ok(Err(e)) => {
            permit.failure();
            Err(CallError::Inner(e))
        }
        Err(_elapsed) => {
            permit.failure();
            Err(CallError::TimedOut)
        }
    }
}
