//! Outcome windows for the rate policies, on 32-bit atomics, lock-free for
//! every caller.
//!
//! A window is several words (a 64-bit ring, or 64 buckets and a 64-bit
//! bucket index) that must change together. Rather than a lock that a caller
//! could wait on (an interrupt handler waiting on the thread it interrupted
//! would wait forever), a window has an *owner bit* and a *backlog*:
//!
//! - a caller that takes the owner bit applies its outcome, drains the
//!   backlog, evaluates the trip rule and releases the bit;
//! - a caller that finds the bit taken adds its outcome to the backlog (two
//!   counters, successes and failures, tagged with the epoch) and returns at
//!   once; then it tries the bit once more, so that nothing is stranded if the
//!   owner released in between. The owner, after releasing, looks at the
//!   backlog again and takes the bit back if it is not empty.
//!
//! The healthy steady state takes no owner bit and writes nothing shared
//! with other recorders:
//!
//! - a success into a full count window that holds no failure changes
//!   nothing (a success shifts a success out), so it is one load of the
//!   window's metadata, which carries a flag for exactly that case;
//! - a success into the newest time bucket is one compare-and-swap on a
//!   pending count tagged with the window's generation, later added to its
//!   bucket by the owner (see `buckets.rs`).
//!
//! Only failures, windows that are not full yet, and a time window that
//! moves to a newer bucket go through the owner bit.
//!
//! Nobody ever waits. Single-threaded, every outcome is applied in order, so
//! a window behaves exactly like the sequential model of the specification; under
//! contention, outcomes that raced are applied in a batch (successes, then
//! failures, the rule checked after each failure).
//!
//! Every window belongs to one closed epoch (the window's tag is the whole
//! 14-bit epoch; the backlog, drained within moments, carries its low 8 bits).
//! A window whose tag is not the current closed epoch's is empty:
//! entering `closed` clears the windows without touching them. Outcomes of an
//! earlier epoch are never applied.

mod buckets;
mod count;
mod guard;

pub use buckets::BucketWindow;
pub use count::CountWindow;
use guard::tag_of;

/// The storage a policy adds to a breaker.
pub trait WindowStore: Sized {
    #[doc(hidden)]
    #[cfg(not(loom))]
    const EMPTY: Self;
    #[doc(hidden)]
    #[cfg(loom)]
    fn empty() -> Self;
    /// Called before a transition into closed epoch `epoch`: if the window's
    /// tag already reads `epoch` (the 14-bit epoch has wrapped on an idle
    /// breaker), empty it and tag it as older, so the new epoch starts empty.
    /// Outcomes of the new epoch cannot exist yet, so none is erased.
    #[doc(hidden)]
    fn clear_for(&self, epoch: u16) {
        let _ = epoch;
    }
    #[doc(hidden)]
    fn count(&self) -> Option<&CountWindow> {
        None
    }
    #[doc(hidden)]
    fn buckets(&self) -> Option<&BucketWindow> {
        None
    }
    /// For a restore: takes every owner bit of the window, or none (a
    /// recorder is inside it). Followed by exactly one `install` or `unclaim`.
    #[doc(hidden)]
    fn claim(&self) -> bool {
        true
    }
    /// For a restore: installs the restored count ring `(bits, head, len)`
    /// for closed epoch `epoch` (`None`: the window is empty in `epoch` and
    /// after) and releases the owner bits.
    #[doc(hidden)]
    fn install(&self, epoch: u16, ring: Option<(u64, u8, u8)>) {
        let _ = (epoch, ring);
    }
    /// Releases a [`claim`](Self::claim) without changing the window.
    #[doc(hidden)]
    fn unclaim(&self) {}
}

/// The metadata of a window that is empty in `epoch`: tagged with the epoch
/// before, so the first recorder of `epoch` starts afresh.
pub(super) const fn empty_meta(epoch: u16) -> u32 {
    tag_of(epoch.wrapping_sub(1))
}

/// An empty window of type `W`, in a `const` context where atomics allow it.
#[cfg(not(loom))]
pub(crate) const fn empty_window<W: WindowStore>() -> W {
    W::EMPTY
}

/// An empty window of type `W` (loom's atomics cannot be built in `const`).
#[cfg(loom)]
pub(crate) fn empty_window<W: WindowStore>() -> W {
    W::empty()
}

/// No storage: the consecutive-failure run lives in the state word.
#[derive(Debug)]
#[doc(hidden)]
pub struct NoWindow;

impl WindowStore for NoWindow {
    #[cfg(not(loom))]
    const EMPTY: Self = NoWindow;
    #[cfg(loom)]
    fn empty() -> Self {
        NoWindow
    }
}

/// The storage of both windows, for [`AnyPolicy`](crate::AnyPolicy).
#[derive(Debug)]
#[doc(hidden)]
pub struct AnyWindow {
    count: CountWindow,
    buckets: BucketWindow,
}

impl WindowStore for AnyWindow {
    #[cfg(not(loom))]
    const EMPTY: Self = Self {
        count: CountWindow::new(),
        buckets: BucketWindow::new(),
    };
    #[cfg(loom)]
    fn empty() -> Self {
        Self {
            count: CountWindow::new(),
            buckets: BucketWindow::new(),
        }
    }
    fn clear_for(&self, epoch: u16) {
        self.count.clear_for(epoch);
        self.buckets.clear_for(epoch);
    }
    fn count(&self) -> Option<&CountWindow> {
        Some(&self.count)
    }
    fn buckets(&self) -> Option<&BucketWindow> {
        Some(&self.buckets)
    }
    fn claim(&self) -> bool {
        if !self.count.claim() {
            return false;
        }
        if !self.buckets.claim() {
            self.count.unclaim();
            return false;
        }
        true
    }
    fn install(&self, epoch: u16, ring: Option<(u64, u8, u8)>) {
        self.count.install(epoch, ring);
        self.buckets.install(epoch, None);
    }
    fn unclaim(&self) {
        self.count.unclaim();
        self.buckets.unclaim();
    }
}
