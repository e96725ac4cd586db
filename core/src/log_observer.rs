//! `LogObserver` (feature `log`): transitions and rejections through the
//! `log` facade, for programs that log with `log` rather than `tracing` or
//! defmt. It formats nothing unless the logger takes the record, and
//! allocates nothing.

use crate::observer::{Observer, Transition};
use crate::reject::RejectReason;
use crate::state::State;

/// Logs every transition of a breaker named `name` (target `halfopen`):
/// at `warn` when it starts rejecting calls (to `open` or `isolated`), at
/// `info` otherwise; and each rejection at `debug`. Pair it with
/// [`Counters`](crate::Counters) as `(Counters::new(), LogObserver::new("db"))`
/// to keep the totals too.
///
/// ```
/// use halfopen::{Breaker, Config, LogObserver, MockClock};
///
/// let config = Config::consecutive_failures(1).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::with_observer(&config, &clock, LogObserver::new("payments"));
/// // logs "breaker payments: closed -> open (trip), epoch 1" at warn
/// breaker.try_acquire().unwrap().failure();
/// ```
#[derive(Debug, Clone, Copy)]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub struct LogObserver<'n> {
    name: &'n str,
}

impl<'n> LogObserver<'n> {
    /// An observer that names its breaker `name` in every record.
    pub const fn new(name: &'n str) -> Self {
        Self { name }
    }

    /// The breaker's name.
    pub const fn name(&self) -> &'n str {
        self.name
    }
}

impl Observer for LogObserver<'_> {
    fn on_reject(&self, reason: RejectReason) {
        log::debug!(target: "halfopen", "breaker {}: call rejected ({})", self.name, reason.as_str());
    }

    fn on_transition(&self, t: Transition) {
        let level = if matches!(t.to, State::Open | State::Isolated) {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        log::log!(
            target: "halfopen",
            level,
            "breaker {}: {} -> {} ({}), epoch {}",
            self.name,
            t.from.as_str(),
            t.to.as_str(),
            t.cause.as_str(),
            t.epoch
        );
    }
}
