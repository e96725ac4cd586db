//! Why a call did not run or did not succeed: the breaker's rejection and
//! the error of a protected call.

use core::fmt;

/// Why an acquire was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub enum RejectReason {
    /// The breaker is open.
    Open,
    /// Half-open, and every trial permit is in flight.
    HalfOpenFull,
    /// The breaker is isolated.
    Isolated,
    /// The clock read at or past 2^59 ms (18 million years), where the
    /// breaker cannot keep an opening time: almost certainly a clock in
    /// microseconds or nanoseconds given where milliseconds are expected.
    /// Every decision that needs the time refuses such a reading this way
    /// rather than guess; a breaker that tripped on one stays open until
    /// [`reset`](crate::Breaker::reset).
    ClockOutOfRange,
}

impl RejectReason {
    /// The specification's name: `open`, `halfOpenFull`, `isolated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::HalfOpenFull => "halfOpenFull",
            Self::Isolated => "isolated",
            Self::ClockOutOfRange => "clockOutOfRange",
        }
    }
}

/// An acquire that was not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rejected {
    pub(crate) reason: RejectReason,
    pub(crate) retry_after_ms: Option<u64>,
}

impl Rejected {
    /// A rejection made on a breaker's behalf, by a wrapper that decides
    /// before the breaker does (a fleet handle waiting for a probe lease).
    ///
    /// ```
    /// use halfopen::{RejectReason, Rejected};
    ///
    /// let r = Rejected::new(RejectReason::Open, Some(250));
    /// assert_eq!(r.to_string(), "circuit open: call rejected, retry in 250 ms");
    /// ```
    pub const fn new(reason: RejectReason, retry_after_ms: Option<u64>) -> Self {
        Self {
            reason,
            retry_after_ms,
        }
    }

    /// Why.
    pub const fn reason(&self) -> RejectReason {
        self.reason
    }

    /// When open: how long until an acquire may be let through as a trial.
    pub const fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reason, self.retry_after_ms) {
            (RejectReason::Open, Some(ms)) => {
                write!(f, "circuit open: call rejected, retry in {ms} ms")
            }
            (RejectReason::Open, None) => f.write_str("circuit open: call rejected"),
            (RejectReason::HalfOpenFull, _) => {
                f.write_str("circuit half-open: every trial call is in flight, call rejected")
            }
            (RejectReason::Isolated, _) => {
                f.write_str("circuit isolated: calls are rejected until it is reset")
            }
            (RejectReason::ClockOutOfRange, _) => f.write_str(
                "clock reading at or past 2^59 ms: the clock must count milliseconds \
                 (is it counting microseconds or nanoseconds?); call rejected",
            ),
        }
    }
}

impl core::error::Error for Rejected {}

/// The error of a protected call: rejected by the breaker, or the
/// operation's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CallError<E> {
    /// The breaker did not let the call through; the operation did not run.
    Rejected(Rejected),
    /// The operation ran and returned this error.
    Inner(E),
    /// The operation ran out of time (async calls with a timeout only); it
    /// counts as a failure.
    TimedOut,
}

impl<E> CallError<E> {
    /// The operation's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => r.fmt(f),
            Self::Inner(e) => e.fmt(f),
            Self::TimedOut => f.write_str("call timed out"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display + core::error::Error + 'static> core::error::Error
    for CallError<E>
{
    /// The operation's own error for [`CallError::Inner`], the rejection for
    /// [`CallError::Rejected`].
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Inner(e) => Some(e),
            Self::Rejected(r) => Some(r),
            Self::TimedOut => None,
        }
    }
}
