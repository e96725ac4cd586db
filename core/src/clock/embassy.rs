use super::Clock;

/// embassy-time's `Instant::now()`, in milliseconds since boot (feature
/// `embassy-time`).
///
/// A zero-sized type: the time driver is the one the firmware registered with
/// `embassy_time_driver::time_driver_impl!`, chosen at link time. This crate
/// never picks a tick rate.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(docsrs, doc(cfg(feature = "embassy-time")))]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        embassy_time::Instant::now().as_millis()
    }
}

impl<C: Clock, P: crate::Policy, O: crate::Observer> crate::Breaker<'_, C, P, O> {
    /// Awaits `future` for at most `timeout` if the breaker allows it (feature
    /// `embassy-time`). An `Err` and a timeout count as failures; a timeout
    /// returns [`CallError::TimedOut`](crate::CallError::TimedOut) and drops
    /// the operation's future.
    #[cfg_attr(docsrs, doc(cfg(feature = "embassy-time")))]
    pub async fn call_with_timeout<T, E, F>(
        &self,
        timeout: embassy_time::Duration,
        future: F,
    ) -> Result<T, crate::CallError<E>>
    where
        F: core::future::Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(crate::CallError::Rejected)?;
        match embassy_time::with_timeout(timeout, future).await {
            Ok(Ok(v)) => {
                permit.success();
                Ok(v)
            }
            Ok(Err(e)) => {
                permit.failure();
                Err(crate::CallError::Inner(e))
            }
            Err(embassy_time::TimeoutError) => {
                permit.failure();
                Err(crate::CallError::TimedOut)
            }
        }
    }
}
