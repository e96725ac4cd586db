//! Time sources.
//!
//! The breaker never reads a clock it was not handed, and it reads the one it
//! was handed only when a decision needs the time: when the breaker is open
//! (is the open period over?), when it trips (when did it open?), and around a
//! call when slow-call detection is configured. The steady closed-state path
//! never reads it.
//!
//! Time is integer milliseconds in a `u64`. Any origin will do (boot, the Unix
//! epoch, the start of a test): the breaker only compares readings of the same
//! clock. A clock that wraps a narrower counter must widen it before it reaches
//! the breaker.

use portable_atomic::{AtomicU32, Ordering::SeqCst};

#[cfg(feature = "embassy-time")]
mod embassy;
#[cfg(feature = "std")]
mod std_clock;

#[cfg(feature = "embassy-time")]
pub use embassy::EmbassyClock;
#[cfg(feature = "std")]
pub use std_clock::{StdClock, SystemClock};

/// A source of time in integer milliseconds.
///
/// Implement it for whatever your target counts time with. Readings should not
/// decrease, but the breaker tolerates a clock that goes backwards: elapsed
/// time then counts as zero, so an open breaker stays open longer, never
/// shorter.
///
/// ```
/// use halfopen::Clock;
///
/// /// A clock over a hardware tick counter already widened to 64 bits.
/// struct Ticks;
/// impl Clock for Ticks {
///     fn now_ms(&self) -> u64 {
///         42 // read the timer here
///     }
/// }
/// assert_eq!(Ticks.now_ms(), 42);
/// ```
pub trait Clock {
    /// The current time in milliseconds.
    fn now_ms(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
}

/// A clock that moves only when told to: the one to test code that uses a
/// breaker.
///
/// Share it by reference (`&MockClock` is a [`Clock`]) between the breaker and
/// the test, and move it with [`advance`](Self::advance) or
/// [`set`](Self::set). It is `Sync`, so threads may share it too.
///
/// ```
/// use halfopen::{Breaker, Config, MockClock, State};
///
/// let config = Config::consecutive_failures(1).open_ms(1_000).build().unwrap();
/// let clock = MockClock::new(0);
/// let breaker = Breaker::new(&config, &clock);
///
/// breaker.try_acquire().unwrap().failure();
/// assert_eq!(breaker.state(), State::Open);
///
/// clock.advance(1_000);
/// assert_eq!(breaker.state(), State::HalfOpen);
/// ```
/// It keeps its 64-bit reading in 32-bit atomics (a sequence counter and two
/// halves), so it works on every target, including those where a 64-bit
/// atomic would take a lock. Move it from one thread at a time; any number of
/// threads may read it. A reader that overlaps a move retries until the move
/// is done, so do not read it from an interrupt handler that can interrupt a
/// move (it is a test clock: firmware uses its timer).
#[derive(Debug, Default)]
pub struct MockClock {
    seq: AtomicU32,
    hi: AtomicU32,
    lo: AtomicU32,
}

impl MockClock {
    /// A clock that reads `start_ms` until moved.
    pub const fn new(start_ms: u64) -> Self {
        Self {
            seq: AtomicU32::new(0),
            hi: AtomicU32::new((start_ms >> 32) as u32),
            lo: AtomicU32::new(start_ms as u32),
        }
    }

    /// Moves the clock forward by `ms` (wrapping past `u64::MAX`).
    pub fn advance(&self, ms: u64) {
        self.set(self.get().wrapping_add(ms));
    }

    /// Sets the reading, forwards or backwards.
    pub fn set(&self, now_ms: u64) {
        self.seq.fetch_add(1, SeqCst);
        self.hi.store((now_ms >> 32) as u32, SeqCst);
        self.lo.store(now_ms as u32, SeqCst);
        self.seq.fetch_add(1, SeqCst);
    }

    /// The current reading (the same as [`Clock::now_ms`]).
    #[inline]
    pub fn get(&self) -> u64 {
        loop {
            let before = self.seq.load(SeqCst);
            let value = (self.hi.load(SeqCst) as u64) << 32 | self.lo.load(SeqCst) as u64;
            if before % 2 == 0 && self.seq.load(SeqCst) == before {
                return value;
            }
            core::hint::spin_loop();
        }
    }
}

impl Clock for MockClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        self.get()
    }
}

/// A clock that reads the last time stored into it: one atomic load.
///
/// For code that already has the time: an event loop that reads the clock
/// once per turn, a timer interrupt that counts milliseconds, a request that
/// carries its arrival time, or a thread that refreshes it every millisecond
/// (a coarse clock). A breaker reads its clock at every open rejection, at
/// every time-window outcome and around timed calls; on this clock each of
/// those reads is one load instead of a system call or a timer read, at the
/// resolution of the updates.
///
/// Share it by reference (`&CoarseClock` is a [`Clock`]), e.g. as a
/// `static`:
///
/// ```
/// use halfopen::{Breaker, CoarseClock, Config, State};
///
/// static NOW: CoarseClock = CoarseClock::new(0);
/// let config = Config::consecutive_failures(1).open_ms(1_000).build().unwrap();
/// let breaker = Breaker::new(&config, &NOW);
///
/// NOW.set(5_000); // the event loop's reading for this turn
/// breaker.try_acquire().unwrap().failure();
/// assert!(breaker.try_acquire().is_err()); // open: no system clock read
/// NOW.set(6_000);
/// assert_eq!(breaker.state(), State::HalfOpen);
/// ```
///
/// A coarse monotonic clock on a host, refreshed by a thread:
///
/// ```
/// use std::time::{Duration, Instant};
/// use halfopen::{Clock, CoarseClock};
///
/// static NOW: CoarseClock = CoarseClock::new(0);
/// let start = Instant::now();
/// std::thread::spawn(move || loop {
///     NOW.set(start.elapsed().as_millis() as u64);
///     std::thread::sleep(Duration::from_millis(1));
/// });
/// assert!(NOW.now_ms() < 60_000);
/// ```
///
/// Readings should not go backwards, but the breaker tolerates it (see
/// [`Clock`]). On targets with 64-bit atomics (x86_64, aarch64, wasm32) it
/// is one `AtomicU64`. Elsewhere (32-bit microcontrollers) it is three
/// 32-bit words under a sequence count, like [`MockClock`]: set it from one
/// context at a time, one that its readers cannot interrupt in the middle of
/// a set (the timer interrupt itself, say), since a read that overlaps a set
/// retries until the set is done.
#[derive(Debug, Default)]
pub struct CoarseClock {
    #[cfg(target_has_atomic = "64")]
    ms: core::sync::atomic::AtomicU64,
    #[cfg(not(target_has_atomic = "64"))]
    ms: MockClock,
}

impl CoarseClock {
    /// A clock that reads `now_ms` until set.
    pub const fn new(now_ms: u64) -> Self {
        Self {
            #[cfg(target_has_atomic = "64")]
            ms: core::sync::atomic::AtomicU64::new(now_ms),
            #[cfg(not(target_has_atomic = "64"))]
            ms: MockClock::new(now_ms),
        }
    }

    /// Stores the current reading.
    #[inline]
    pub fn set(&self, now_ms: u64) {
        #[cfg(target_has_atomic = "64")]
        self.ms.store(now_ms, core::sync::atomic::Ordering::Relaxed);
        #[cfg(not(target_has_atomic = "64"))]
        self.ms.set(now_ms);
    }

    /// The last reading stored (the same as [`Clock::now_ms`]).
    #[inline]
    pub fn get(&self) -> u64 {
        #[cfg(target_has_atomic = "64")]
        return self.ms.load(core::sync::atomic::Ordering::Relaxed);
        #[cfg(not(target_has_atomic = "64"))]
        return self.ms.get();
    }
}

impl Clock for CoarseClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        self.get()
    }
}

/// A clock that is a function or closure returning milliseconds.
///
/// ```
/// use halfopen::{Clock, FnClock};
/// let clock = FnClock(|| 7);
/// assert_eq!(clock.now_ms(), 7);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FnClock<F>(pub F);

impl<F: Fn() -> u64> Clock for FnClock<F> {
    #[inline]
    fn now_ms(&self) -> u64 {
        (self.0)()
    }
}
