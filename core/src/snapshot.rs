//! Snapshot and restore: the decision state as 48 versioned bytes.
//!
//! Firmware keeps a snapshot in RAM that survives a warm reset, an edge
//! function keeps it in a key-value store between isolates; either restores it
//! into a fresh breaker with the same configuration, so a reboot loop does not
//! hammer a dead downstream.
//!
//! ```text
//!  0..2   magic "HO"          16..20  closed: failure run; half-open: trial successes
//!  2      version (2)         20..28  failure-rate ring: failure bits
//!  3      state               28      ring: next slot
//!  4..6   epoch (LE)          29      ring: length
//!  6      k (re-trips)        30..32  zero
//!  7      policy (0, 1, 2)    32..36  configuration fingerprint (LE)
//!  8..16  time (LE)           36..44  takenAt: the clock reading of the snapshot (LE)
//!                             44..48  FNV-1a checksum of bytes 0..44 (LE)
//! ```
//!
//! The time is `retryAt` when open (version 1 kept `openedAt`), the time
//! spent half-open so far when half-open (a duration, so an entry before the
//! clock's zero is kept exactly; 0 if the entry time was not written yet),
//! else 0.
//!
//! What is not carried: trial permits in flight (they did not survive the
//! restart either; a restored half-open breaker has every slot free), the
//! buckets of a time window (a restored time-window breaker starts with an
//! empty window), and the metrics totals.
//!
//! # Clocks across restarts
//!
//! Clocks do not survive restarts (SysTick from zero after a reset, an
//! `Instant` per process, another machine), so [`restore`](Breaker::restore)
//! re-bases: the time between snapshot and restore counts as zero. An open
//! breaker that had `r` ms of its open period left has `r` ms left after the
//! restore; a half-open one keeps what it had left of `halfOpenMaxWaitMs`.
//! [`restore_same_clock`](Breaker::restore_same_clock) is for a clock that
//! does survive (a wall clock, an RTC, a store's clock): times are kept as
//! they are and the downtime counts, unless the clock reads behind the
//! snapshot, where it re-bases. Either way no bytes hold a breaker open longer
//! than one open duration (at most 2^31 - 1 ms) from the restore.
//!
//! A version 1 snapshot (40 bytes, no `takenAt`) still restores, into a
//! configuration without the keys version 2 added: its times are read as on
//! the same clock (as if taken at the restore), and an `openedAt` ahead of
//! the clock counts as opening at the restore.
//!
//! # Integrity, not authenticity
//!
//! The checksum (FNV-1a) detects damage: a torn write, a flipped bit, bytes
//! of another breaker or format. It is not a signature: anyone who can write
//! the stored bytes can compute a valid checksum and configuration
//! fingerprint from the public configuration. Such bytes still restore only
//! a state a breaker can be in (never one open longer than one open
//! duration), but they can choose which. Where others can write the stored
//! snapshot, seal it: append a MAC over the 48 bytes (HMAC-SHA-256, or a
//! keyed BLAKE2s/SipHash on firmware) with a key the writer keeps, and verify
//! it before calling `restore`.

use core::fmt;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::config::Config;
use crate::machine;
use crate::observer::Observer;
use crate::policy::{Kind, Policy};
use crate::state::{State, Word, CLOCK_LIMIT, EPOCH_MASK, K_MAX, TIME_LIMIT};
use crate::window::WindowStore;
use crate::MAX_DURATION_MS;

/// The length of a snapshot in bytes.
pub const SNAPSHOT_LEN: usize = 48;
/// The length of a version 1 snapshot, which [`Breaker::restore`] still reads.
pub const SNAPSHOT_V1_LEN: usize = 40;
const MAGIC: [u8; 2] = *b"HO";
const VERSION: u8 = 2;

/// Why bytes could not be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not [`SNAPSHOT_LEN`] bytes (nor the 40 of a version 1 snapshot).
    Length(usize),
    /// Not a halfopen snapshot.
    Magic,
    /// A snapshot format this version does not know.
    Version(u8),
    /// The checksum does not match: the bytes were damaged.
    Checksum,
    /// A snapshot of a breaker with another configuration.
    ForeignConfig,
    /// A field holds a value no breaker can be in; names the field.
    Invalid(&'static str),
    /// The breaker has been used since it was built (it left its first
    /// closed epoch) or another caller is changing it: restore into a new
    /// breaker.
    InUse,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(n) => write!(
                f,
                "snapshot is {n} bytes, expected {SNAPSHOT_LEN} (or {SNAPSHOT_V1_LEN} for version 1)"
            ),
            Self::Magic => f.write_str("not a halfopen snapshot (bad magic)"),
            Self::Version(v) => write!(f, "unsupported snapshot version {v}"),
            Self::Checksum => f.write_str("snapshot checksum mismatch: the bytes are damaged"),
            Self::ForeignConfig => {
                f.write_str("snapshot was taken from a breaker with another configuration")
            }
            Self::Invalid(field) => write!(f, "snapshot field {field} holds an impossible value"),
            Self::InUse => f.write_str(
                "restore needs a breaker that has not been used since it was built: restore into a new breaker",
            ),
        }
    }
}

impl core::error::Error for SnapshotError {}

const fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}

fn policy_code(kind: Kind) -> u8 {
    match kind {
        Kind::Consecutive(_) => 0,
        Kind::Rate(_) => 1,
        Kind::Time(_) => 2,
    }
}

/// A fingerprint of everything in a configuration (version 1: of the keys
/// it knew; `None` if the configuration has a key it did not).
fn fingerprint<P: Policy>(c: &Config<P>, version: u8) -> Option<u32> {
    let mut b = [0u8; 44];
    let kind = c.policy.kind();
    b[0] = policy_code(kind);
    let mut v2 = c.half_open_max_wait_ms != 0 || c.jitter_percent != 0;
    match kind {
        Kind::Consecutive(p) => b[1..3].copy_from_slice(&p.threshold.to_le_bytes()),
        Kind::Rate(p) => {
            b[1] = p.percent;
            b[2] = p.window;
            b[3] = p.minimum_calls;
            b[28] = p.failures;
            v2 |= p.failures != 0 || p.percent == 0;
        }
        Kind::Time(p) => {
            b[1] = p.percent;
            b[2] = p.buckets;
            b[4..8].copy_from_slice(&p.window_ms.to_le_bytes());
            b[8..12].copy_from_slice(&p.minimum_calls.to_le_bytes());
            b[28..32].copy_from_slice(&p.failures.to_le_bytes());
            v2 |= p.failures != 0 || p.percent == 0;
        }
    }
    b[12..16].copy_from_slice(&c.open_ms.to_le_bytes());
    b[16] = c.half_open_max_calls;
    b[17] = c.backoff_factor;
    b[18..20].copy_from_slice(&c.success_threshold.to_le_bytes());
    b[20..24].copy_from_slice(&c.slow_call_ms.to_le_bytes());
    b[24..28].copy_from_slice(&c.max_open_ms.to_le_bytes());
    if version == 1 {
        return if v2 { None } else { Some(fnv1a(&b[..28])) };
    }
    b[32..36].copy_from_slice(&c.half_open_max_wait_ms.to_le_bytes());
    b[36] = c.jitter_percent;
    b[37..41].copy_from_slice(&c.jitter_seed.to_le_bytes());
    Some(fnv1a(&b))
}

/// How a restore reads the snapshot's times.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clocks {
    /// The clock restarted: the time between snapshot and restore is zero.
    Rebase,
    /// The same clock: the downtime counts (unless the clock reads behind
    /// the snapshot).
    Same,
}

impl<C: Clock, P: Policy, O: Observer> Breaker<'_, C, P, O> {
    /// The decision state as bytes; see the module docs for the layout.
    /// Reads the clock (for `takenAt`).
    ///
    /// ```
    /// use halfopen::{Breaker, Config, MockClock, State};
    ///
    /// let config = Config::consecutive_failures(1).open_ms(60_000).build().unwrap();
    /// let clock = MockClock::new(5);
    /// let before = Breaker::new(&config, &clock);
    /// before.try_acquire().unwrap().failure();
    /// clock.advance(20_000);
    /// let bytes = before.snapshot();
    ///
    /// // After a restart, on a clock that starts again from zero:
    /// let clock = MockClock::new(0);
    /// let after = Breaker::new(&config, &clock);
    /// after.restore(&bytes).unwrap();
    /// assert_eq!(after.state(), State::Open);
    /// assert_eq!(after.try_acquire().unwrap_err().retry_after_ms(), Some(40_000));
    /// assert!(after.restore(&bytes[..39]).is_err());
    /// ```
    pub fn snapshot(&self) -> [u8; SNAPSHOT_LEN] {
        let w = self.load();
        let now = self.clock().now_ms().min(CLOCK_LIMIT - 1);
        let mut b = [0u8; SNAPSHOT_LEN];
        b[0..2].copy_from_slice(&MAGIC);
        b[2] = VERSION;
        b[3] = w.state().code() as u8;
        b[4..6].copy_from_slice(&w.epoch().to_le_bytes());
        b[6] = w.k();
        let kind = self.config().policy.kind();
        b[7] = policy_code(kind);
        match w.state() {
            State::Open => {
                // If the opening caller has not written the time yet, the open
                // period has only just begun: record it as opening now.
                let at = self
                    .time
                    .retry_at(w)
                    .unwrap_or_else(|| now + self.config().open_duration_ms(w.k() as u32) as u64);
                b[8..16].copy_from_slice(&at.to_le_bytes());
            }
            State::Closed => b[16..20].copy_from_slice(&(w.run() as u32).to_le_bytes()),
            State::HalfOpen => {
                b[16..20].copy_from_slice(&self.time.trial_successes(w).to_le_bytes());
                // How long it has been half-open, from what is kept of the
                // entry (see time_words.rs): a duration, so an entry before
                // the clock's zero (a breaker re-based onto a clock that had
                // just started) is kept exactly. A clock behind the entry, or
                // an entry not written yet, reads as just entered.
                let spent = self
                    .time
                    .half_open_at(w)
                    .and_then(|at| machine::half_open_elapsed(at, now))
                    .unwrap_or(0);
                b[8..16].copy_from_slice(&spent.to_le_bytes());
            }
            State::Isolated => {}
        }
        if let (State::Closed, Kind::Rate(p), Some(count)) = (w.state(), kind, self.window.count())
        {
            let ((bits, head, len), trip) = count.ring(&p, w.epoch(), &|| self.closed_epoch());
            b[20..28].copy_from_slice(&bits.to_le_bytes());
            b[28] = head;
            b[29] = len;
            if let Some(e) = trip {
                self.trip_closed(e, None);
            }
        }
        let print = fingerprint(self.config(), VERSION).unwrap_or_default();
        b[32..36].copy_from_slice(&print.to_le_bytes());
        // A clock read behind an opening (it went back after the trip) would
        // make the open time left look longer than any open period: the
        // snapshot then records the latest reading that leaves at most
        // 2^31 - 1 ms, so its own restore accepts it.
        let taken = if w.state() == State::Open {
            let retry = u64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
            now.max(retry.saturating_sub(MAX_DURATION_MS as u64))
        } else {
            now
        };
        b[36..44].copy_from_slice(&taken.to_le_bytes());
        let sum = fnv1a(&b[..44]);
        b[44..48].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Restores bytes from [`snapshot`](Self::snapshot) into this breaker,
    /// on a clock that restarted since (re-based: the time between snapshot
    /// and restore counts as zero; see the module docs).
    ///
    /// Meant for start-up: the breaker must not have been used since it was
    /// built (it is still closed in its first epoch with no failure run),
    /// else [`SnapshotError::InUse`]; it may already be shared (a `static`
    /// that an interrupt handler could touch), and the restore is one atomic
    /// step for every other caller. It replaces the decision state without a
    /// transition event. Damaged, foreign or impossible bytes are refused with
    /// an error and change nothing.
    pub fn restore(&self, bytes: &[u8]) -> Result<(), SnapshotError> {
        self.restore_with(bytes, Clocks::Rebase)
    }

    /// [`restore`](Self::restore) for a clock that survives restarts (a wall
    /// clock such as [`SystemClock`](crate::clock), an RTC, a store's clock):
    /// the snapshot's times are kept and the downtime counts, unless the
    /// clock reads behind the snapshot's, where it re-bases.
    pub fn restore_same_clock(&self, bytes: &[u8]) -> Result<(), SnapshotError> {
        self.restore_with(bytes, Clocks::Same)
    }

    fn restore_with(&self, bytes: &[u8], clocks: Clocks) -> Result<(), SnapshotError> {
        let v1 = bytes.len() == SNAPSHOT_V1_LEN;
        if bytes.len() != SNAPSHOT_LEN && !v1 {
            return Err(SnapshotError::Length(bytes.len()));
        }
        // Read from a fixed array (a version 1 snapshot zero-padded): every
        // index below is then in bounds by construction, and the compiler
        // leaves out the bounds-check panics (smaller `.wasm`).
        let mut buf = [0u8; SNAPSHOT_LEN];
        if let Some(dst) = buf.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        let b = &buf;
        if b[0..2] != MAGIC {
            return Err(SnapshotError::Magic);
        }
        let (version, sum_at) = if v1 { (1, 36) } else { (VERSION, 44) };
        if b[2] != version {
            return Err(SnapshotError::Version(b[2]));
        }
        let le32 = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let le64 = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        if le32(sum_at) != fnv1a(&b[..sum_at]) {
            return Err(SnapshotError::Checksum);
        }
        let config = self.config();
        let kind = config.policy.kind();
        if Some(le32(32)) != fingerprint(config, version) || b[7] != policy_code(kind) {
            return Err(SnapshotError::ForeignConfig);
        }
        if b[3] > 3 {
            return Err(SnapshotError::Invalid("state"));
        }
        let state = State::from_code(b[3] as u32);
        let epoch = u16::from_le_bytes([b[4], b[5]]);
        if epoch > EPOCH_MASK {
            return Err(SnapshotError::Invalid("epoch"));
        }
        let k = b[6];
        if k > K_MAX || (k != 0 && matches!(state, State::Closed | State::Isolated)) {
            return Err(SnapshotError::Invalid("k"));
        }
        let mut at = le64(8);
        let timed = matches!(state, State::Open | State::HalfOpen);
        let field = match (state, v1) {
            (State::HalfOpen, _) => "halfOpenFor",
            (_, true) => "openedAt",
            _ => "retryAt",
        };
        if at >= TIME_LIMIT || (at != 0 && !timed) {
            return Err(SnapshotError::Invalid(field));
        }
        let taken_at = if v1 { None } else { Some(le64(36)) };
        if taken_at.is_some_and(|t| t >= TIME_LIMIT) {
            return Err(SnapshotError::Invalid("takenAt"));
        }
        if state == State::Open {
            if v1 {
                // Version 1 kept the opening: its end is one open duration on.
                at += config.open_duration_ms(k as u32) as u64;
            } else if at.saturating_sub(taken_at.unwrap_or(0)) > MAX_DURATION_MS as u64 {
                // No open period is longer than 2^31 - 1 ms.
                return Err(SnapshotError::Invalid("retryAt"));
            }
        }
        let counter = le32(16);
        let (bits, head, len) = (le64(20), b[28], b[29]);
        if b[30] != 0 || b[31] != 0 {
            return Err(SnapshotError::Invalid("reserved"));
        }
        let word = match state {
            State::Closed => {
                let run = match kind {
                    Kind::Consecutive(p) if counter < p.threshold as u32 => counter as u16,
                    _ if counter == 0 => 0,
                    _ => return Err(SnapshotError::Invalid("failureRun")),
                };
                Word::closed(epoch, run)
            }
            State::Open => Word::open(epoch, k, at),
            State::HalfOpen => {
                if counter >= config.success_threshold as u32 {
                    return Err(SnapshotError::Invalid("trialSuccesses"));
                }
                Word::half_open(epoch, 0, k)
            }
            State::Isolated => Word::isolated(epoch),
        };
        if state != State::HalfOpen && state != State::Closed && counter != 0 {
            return Err(SnapshotError::Invalid("counter"));
        }
        let window = match kind {
            Kind::Rate(p) if state == State::Closed => {
                let w = p.window;
                let in_window = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
                if len > w || head >= w || bits & !in_window != 0 {
                    return Err(SnapshotError::Invalid("window"));
                }
                if len < w && (head != len || (len < 64 && bits >> len != 0)) {
                    return Err(SnapshotError::Invalid("window"));
                }
                Some((bits, head, len))
            }
            _ => {
                if bits != 0 || head != 0 || len != 0 {
                    return Err(SnapshotError::Invalid("window"));
                }
                None
            }
        };
        let (word, at) = if timed {
            let now = self.clock().now_ms().min(CLOCK_LIMIT - 1);
            // The snapshot's reading: a version 1 snapshot is read as taken
            // now, on the same clock.
            let taken = taken_at.unwrap_or(now);
            let rebase = !v1 && (clocks == Clocks::Rebase || now < taken);
            match state {
                State::Open => {
                    // What was left of the open period at the snapshot is
                    // left from now; on the same clock the end stays (a
                    // version 1 opening ahead of the clock counts as
                    // opening now).
                    let d = config.open_duration_ms(k as u32) as u64;
                    let t = if rebase {
                        now + at.saturating_sub(taken)
                    } else if v1 {
                        at.min(now + d)
                    } else {
                        at
                    };
                    (Word::open(epoch, k, t), t)
                }
                _ => {
                    // The part of halfOpenMaxWaitMs that was left is left:
                    // `at` is the time spent half-open at the snapshot, and
                    // the entry is kept modulo 2^34, so an entry before the
                    // clock's zero is exact. (Version 1 kept no entry time:
                    // entered at the restore.)
                    let from = if rebase { now } else { taken };
                    let t = if v1 {
                        now
                    } else {
                        from.wrapping_sub(at) & ((1 << 34) - 1)
                    };
                    (Word::half_open_at(epoch, 0, k, (t >> 31) as u8), t)
                }
            }
        } else {
            (word, at)
        };
        self.install(word, at, counter, window)
    }
}
