//! Trip policies: when a closed breaker opens.
//!
//! Exactly one policy per breaker. The policy is a type parameter of
//! [`Breaker`](crate::Breaker) so that a breaker carries the storage its
//! policy needs and nothing more: [`ConsecutiveFailures`] keeps its failure
//! run inside the breaker's state word and adds no storage at all;
//! [`FailureRate`] adds a 64-outcome ring; [`TimeWindow`] adds 64 buckets.
//! [`AnyPolicy`] chooses among the three at run time (configurations that
//! arrive as data) and carries the storage of both windows.

use crate::window::{AnyWindow, BucketWindow, CountWindow, NoWindow, WindowStore};

/// Trips after `threshold` failures in a row (`consecutiveFailures`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConsecutiveFailures {
    pub(crate) threshold: u16,
}

impl ConsecutiveFailures {
    /// `consecutiveFailures`: failures in a row that trip the breaker.
    pub const fn threshold(&self) -> u16 {
        self.threshold
    }
}

/// Trips on the failure rate of the last `window` recorded outcomes
/// (`failureRate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FailureRate {
    /// 0: no rate rule.
    pub(crate) percent: u8,
    /// 0: no count rule.
    pub(crate) failures: u8,
    pub(crate) window: u8,
    pub(crate) minimum_calls: u8,
}

impl FailureRate {
    /// `failureRate.percent`: the rate rule, if given.
    pub const fn percent(&self) -> Option<u8> {
        if self.percent == 0 {
            None
        } else {
            Some(self.percent)
        }
    }
    /// `failureRate.failures`: the count rule, if given.
    pub const fn failures(&self) -> Option<u8> {
        if self.failures == 0 {
            None
        } else {
            Some(self.failures)
        }
    }
    /// `failureRate.window`: how many recent outcomes are kept.
    pub const fn window(&self) -> u8 {
        self.window
    }
    /// `failureRate.minimumCalls`.
    pub const fn minimum_calls(&self) -> u8 {
        self.minimum_calls
    }
}

/// Trips on the failure rate of the outcomes of the last `window_ms`
/// milliseconds, kept in `buckets` buckets (`timeWindow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimeWindow {
    /// 0: no rate rule.
    pub(crate) percent: u8,
    /// 0: no count rule.
    pub(crate) failures: u32,
    pub(crate) window_ms: u32,
    pub(crate) buckets: u8,
    pub(crate) minimum_calls: u32,
    /// `window_ms / buckets`, kept so that no outcome divides by `buckets`.
    pub(crate) bucket_ms: u32,
}

impl TimeWindow {
    /// `timeWindow.percent`: the rate rule, if given.
    pub const fn percent(&self) -> Option<u8> {
        if self.percent == 0 {
            None
        } else {
            Some(self.percent)
        }
    }
    /// `timeWindow.failures`: the count rule, if given.
    pub const fn failures(&self) -> Option<u32> {
        if self.failures == 0 {
            None
        } else {
            Some(self.failures)
        }
    }
    /// `timeWindow.windowMs`.
    pub const fn window_ms(&self) -> u32 {
        self.window_ms
    }
    /// `timeWindow.buckets`.
    pub const fn buckets(&self) -> u8 {
        self.buckets
    }
    /// `timeWindow.minimumCalls`.
    pub const fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }
    /// The width of one bucket in milliseconds.
    #[inline(always)]
    pub const fn bucket_ms(&self) -> u32 {
        self.bucket_ms
    }
}

/// Any of the three policies, chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AnyPolicy {
    /// See [`ConsecutiveFailures`].
    ConsecutiveFailures(ConsecutiveFailures),
    /// See [`FailureRate`].
    FailureRate(FailureRate),
    /// See [`TimeWindow`].
    TimeWindow(TimeWindow),
}

impl From<ConsecutiveFailures> for AnyPolicy {
    fn from(p: ConsecutiveFailures) -> Self {
        Self::ConsecutiveFailures(p)
    }
}
impl From<FailureRate> for AnyPolicy {
    fn from(p: FailureRate) -> Self {
        Self::FailureRate(p)
    }
}
impl From<TimeWindow> for AnyPolicy {
    fn from(p: TimeWindow) -> Self {
        Self::TimeWindow(p)
    }
}

/// The policy as the breaker dispatches on it.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub enum Kind {
    Consecutive(ConsecutiveFailures),
    Rate(FailureRate),
    Time(TimeWindow),
}

mod sealed {
    pub trait Sealed {
        fn kind(&self) -> super::Kind;
    }
}

/// A trip policy: [`ConsecutiveFailures`], [`FailureRate`], [`TimeWindow`] or
/// [`AnyPolicy`]. Sealed: the breaker's correctness proofs cover exactly these.
pub trait Policy: sealed::Sealed + Copy {
    /// The storage the policy adds to a breaker.
    #[doc(hidden)]
    type Window: WindowStore;
}

impl Policy for ConsecutiveFailures {
    type Window = NoWindow;
}
impl sealed::Sealed for ConsecutiveFailures {
    #[inline(always)]
    fn kind(&self) -> Kind {
        Kind::Consecutive(*self)
    }
}
impl Policy for FailureRate {
    type Window = CountWindow;
}
impl sealed::Sealed for FailureRate {
    #[inline(always)]
    fn kind(&self) -> Kind {
        Kind::Rate(*self)
    }
}
impl Policy for TimeWindow {
    type Window = BucketWindow;
}
impl sealed::Sealed for TimeWindow {
    #[inline(always)]
    fn kind(&self) -> Kind {
        Kind::Time(*self)
    }
}
impl Policy for AnyPolicy {
    type Window = AnyWindow;
}
impl sealed::Sealed for AnyPolicy {
    #[inline(always)]
    fn kind(&self) -> Kind {
        match *self {
            Self::ConsecutiveFailures(p) => Kind::Consecutive(p),
            Self::FailureRate(p) => Kind::Rate(p),
            Self::TimeWindow(p) => Kind::Time(p),
        }
    }
}

/// The trip rules shared by both window policies, over the outcomes in the
/// window: the rate rule (`percent` given, at least `minimum` recorded, and
/// `failures * 100 >= percent * recorded`) or the count rule (`count` given
/// and at least `count` failures). 0 turns a rule off.
pub(crate) const fn window_trips(
    failures: u64,
    recorded: u64,
    percent: u8,
    minimum: u64,
    count: u64,
) -> bool {
    (percent != 0
        && recorded >= minimum
        && recorded > 0
        && failures * 100 >= percent as u64 * recorded)
        || (count != 0 && failures >= count)
}

/// Whether a window is at least half way to either of its rules (for
/// [`Health`](crate::Health)).
pub(crate) const fn window_halfway(
    failures: u64,
    recorded: u64,
    percent: u8,
    minimum: u64,
    count: u64,
) -> bool {
    failures > 0
        && ((percent != 0 && recorded >= minimum && failures * 200 >= percent as u64 * recorded)
            || (count != 0 && failures * 2 >= count))
}
