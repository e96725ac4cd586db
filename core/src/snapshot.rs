//! Snapshot and restore: the decision state as 40 versioned bytes.
//!
//! Firmware keeps a snapshot in RAM that survives a warm reset, an edge
//! function keeps it in a key-value store between isolates; either restores it
//! into a fresh breaker with the same configuration, so a reboot loop does not
//! hammer a dead downstream.
//!
//! ```text
//!  0..2   magic "HO"          16..20  closed: failure run; half-open: trial successes
//!  2      version (1)         20..28  failure-rate ring: failure bits
//!  3      state               28      ring: next slot
//!  4..6   epoch (LE)          29      ring: length
//!  6      k (re-trips)        30..32  zero
//!  7      policy (0, 1, 2)    32..36  configuration fingerprint (LE)
//!  8..16  openedAt (LE)       36..40  FNV-1a checksum of bytes 0..36 (LE)
//! ```
//!
//! What is not carried: trial permits in flight (they did not survive the
//! restart either; a restored half-open breaker has every slot free), the
//! buckets of a time window (a restored time-window breaker starts with an
//! empty window), and the metrics totals. Timestamps are restored as they
//! were when the clock reads at or past them; an `openedAt` ahead of the clock
//! (a clock that restarted from zero) counts as opening at the restore, so a
//! restored breaker stays open at most one open duration (at most
//! 2^31 - 1 ms) from the restore, whatever the bytes say: longer than it had
//! left, never shorter.
//!
//! # Integrity, not authenticity
//!
//! The checksum (FNV-1a) detects damage: a torn write, a flipped bit, bytes
//! of another breaker or format. It is not a signature: anyone who can write
//! the stored bytes can compute a valid checksum and configuration
//! fingerprint from the public configuration. Such bytes still restore only
//! a state a breaker can be in (never one open longer than one open
//! duration), but they can choose which. Where others can write the stored
//! snapshot, seal it: append a MAC over the 40 bytes (HMAC-SHA-256, or a
//! keyed BLAKE2s/SipHash on firmware) with a key the writer keeps, and verify
//! it before calling `restore`.

use core::fmt;

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::config::Config;
use crate::observer::Observer;
use crate::policy::{Kind, Policy};
use crate::state::{State, Word, EPOCH_MASK, K_MAX, TIME_LIMIT};
use crate::window::WindowStore;

/// The length of a snapshot in bytes.
pub const SNAPSHOT_LEN: usize = 40;
const MAGIC: [u8; 2] = *b"HO";
const VERSION: u8 = 1;

/// Why bytes could not be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not [`SNAPSHOT_LEN`] bytes.
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
            Self::Length(n) => write!(f, "snapshot is {n} bytes, expected {SNAPSHOT_LEN}"),
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

/// A fingerprint of everything in a configuration.
fn fingerprint<P: Policy>(c: &Config<P>) -> u32 {
    let mut b = [0u8; 28];
    let kind = c.policy.kind();
    b[0] = policy_code(kind);
    match kind {
        Kind::Consecutive(p) => b[1..3].copy_from_slice(&p.threshold.to_le_bytes()),
        Kind::Rate(p) => {
            b[1] = p.percent;
            b[2] = p.window;
            b[3] = p.minimum_calls;
        }
        Kind::Time(p) => {
            b[1] = p.percent;
            b[2] = p.buckets;
            b[4..8].copy_from_slice(&p.window_ms.to_le_bytes());
            b[8..12].copy_from_slice(&p.minimum_calls.to_le_bytes());
        }
    }
    b[12..16].copy_from_slice(&c.open_ms.to_le_bytes());
    b[16] = c.half_open_max_calls;
    b[17] = c.backoff_factor;
    b[18..20].copy_from_slice(&c.success_threshold.to_le_bytes());
    b[20..24].copy_from_slice(&c.slow_call_ms.to_le_bytes());
    b[24..28].copy_from_slice(&c.max_open_ms.to_le_bytes());
    fnv1a(&b)
}

impl<C: Clock, P: Policy, O: Observer> Breaker<'_, C, P, O> {
    /// The decision state as bytes; see the module docs for the layout.
    ///
    /// ```
    /// use halfopen::{Breaker, Config, MockClock, State};
    ///
    /// let config = Config::consecutive_failures(1).open_ms(60_000).build().unwrap();
    /// let clock = MockClock::new(5);
    /// let before = Breaker::new(&config, &clock);
    /// before.try_acquire().unwrap().failure();
    /// let bytes = before.snapshot();
    ///
    /// let after = Breaker::new(&config, &clock);
    /// after.restore(&bytes).unwrap();
    /// assert_eq!(after.state(), State::Open);
    /// assert!(after.restore(&bytes[..39]).is_err());
    /// ```
    pub fn snapshot(&self) -> [u8; SNAPSHOT_LEN] {
        let w = self.load();
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
                    .opened_at(w)
                    .unwrap_or_else(|| self.clock().now_ms().min(TIME_LIMIT - 1));
                b[8..16].copy_from_slice(&at.to_le_bytes());
            }
            State::Closed => b[16..20].copy_from_slice(&(w.run() as u32).to_le_bytes()),
            State::HalfOpen => {
                b[16..20].copy_from_slice(&self.time.trial_successes(w).to_le_bytes());
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
        b[32..36].copy_from_slice(&fingerprint(self.config()).to_le_bytes());
        let sum = fnv1a(&b[..36]);
        b[36..40].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Restores bytes from [`snapshot`](Self::snapshot) into this breaker.
    ///
    /// Meant for start-up: the breaker must not have been used since it was
    /// built (it is still closed in its first epoch with no failure run),
    /// else [`SnapshotError::InUse`]; it may already be shared (a `static`
    /// that an interrupt handler could touch), and the restore is one atomic
    /// step for every other caller. It replaces the decision state without a
    /// transition event. Damaged, foreign or impossible bytes are refused with
    /// an error and change nothing.
    ///
    /// An open snapshot whose `openedAt` is ahead of this breaker's clock (a
    /// clock that restarted) is restored as opening now: it stays open one
    /// open duration from the restore, never longer.
    pub fn restore(&self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let b: &[u8; SNAPSHOT_LEN] = bytes
            .try_into()
            .map_err(|_| SnapshotError::Length(bytes.len()))?;
        if b[0..2] != MAGIC {
            return Err(SnapshotError::Magic);
        }
        if b[2] != VERSION {
            return Err(SnapshotError::Version(b[2]));
        }
        let le32 = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        if le32(36) != fnv1a(&b[..36]) {
            return Err(SnapshotError::Checksum);
        }
        let config = self.config();
        let kind = config.policy.kind();
        if le32(32) != fingerprint(config) || b[7] != policy_code(kind) {
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
        let mut opened_at_bytes = [0u8; 8];
        opened_at_bytes.copy_from_slice(&b[8..16]);
        let opened_at = u64::from_le_bytes(opened_at_bytes);
        if opened_at >= TIME_LIMIT || (opened_at != 0 && state != State::Open) {
            return Err(SnapshotError::Invalid("openedAt"));
        }
        let counter = le32(16);
        let (bits, head, len) = {
            let mut bb = [0u8; 8];
            bb.copy_from_slice(&b[20..28]);
            (u64::from_le_bytes(bb), b[28], b[29])
        };
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
            State::Open => Word::open(epoch, k, opened_at),
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
        let (word, opened_at) = match state {
            State::Open => {
                // Elapsed time never counts backwards: a clock behind the
                // opening (it restarted) re-bases the opening to now.
                let now = self.clock().now_ms();
                if now < opened_at {
                    (Word::open(epoch, k, now), now)
                } else {
                    (word, opened_at)
                }
            }
            _ => (word, opened_at),
        };
        self.install(word, opened_at, counter, window)
    }
}
