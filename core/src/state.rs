//! The four states and the packed state word.
//!
//! The whole decision state of a breaker is one 32-bit word, changed only by
//! compare-and-swap, so every transition is a single atomic step that exactly
//! one caller wins:
//!
//! ```text
//!  bits  0..2   state: closed, open, half-open, isolated
//!  bits  2..16  epoch (14 bits, wrapping): a new one at every transition
//!  bits 16..32  payload, by state:
//!               closed     the consecutive-failure run (0 ..= 65534)
//!               open       k (bits 0..5), time bits 48..59 of retryAt (5..16)
//!               half-open  trial permits in flight (0..8), k (8..13),
//!                          bits 31..34 of halfOpenAt (13..16; the rest
//!                          rides in the time words, see `time_words.rs`)
//!               isolated   0
//! ```
//!
//! `k` counts half-open re-trips since the breaker last entered closed; it
//! stops at 31, where `openMs * factor^k` is past any `maxOpenMs` for every
//! factor >= 2 (and with factor 1 it does not matter).
//!
//! # What the 14-bit epoch wrap leaves
//!
//! A permit carries the low half of the word it was granted under (state and
//! epoch), and counts only while the word's low half is the same. So a
//! permit held across 16,384 transitions is taken as current again only if
//! it lands on an epoch of the *same state*: a closed call's permit can never
//! free a trial slot or count as a trial (every even-length flap sequence
//! would otherwise line a closed epoch up with a half-open one), and a trial
//! permit never counts in a closed window. What remains is a trial permit
//! held while the breaker makes a multiple of 16,384 transitions and is
//! half-open again at its epoch number: its outcome counts as one of that
//! epoch's trials (a drop or ignore frees one slot it does not hold, so one
//! extra trial call may run; a failure re-opens, the safe side). Reaching it
//! takes 8,192 open/half-open flaps during one trial call.

/// The state of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub enum State {
    /// Calls are allowed; the trip policy watches their outcomes.
    Closed,
    /// Calls are rejected until the open period is over.
    Open,
    /// A limited number of trial calls decide between closed and open.
    HalfOpen,
    /// Calls are rejected until [`reset`](crate::Breaker::reset).
    Isolated,
}

impl State {
    /// The specification's name: `closed`, `open`, `halfOpen`, `isolated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "halfOpen",
            Self::Isolated => "isolated",
        }
    }

    /// Parses a name of the specification.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "closed" => Some(Self::Closed),
            "open" => Some(Self::Open),
            "halfOpen" => Some(Self::HalfOpen),
            "isolated" => Some(Self::Isolated),
            _ => None,
        }
    }

    pub(crate) const fn code(self) -> u32 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
            Self::Isolated => 3,
        }
    }

    pub(crate) const fn from_code(code: u32) -> Self {
        match code & 3 {
            0 => Self::Closed,
            1 => Self::Open,
            2 => Self::HalfOpen,
            _ => Self::Isolated,
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A coarse health summary, for dashboards and registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub enum Health {
    /// Closed, and less than half way to tripping.
    Healthy,
    /// Closed but at least half way to tripping, or half-open (testing).
    Degraded,
    /// Open or isolated: calls are being rejected.
    Critical,
}

impl Health {
    /// `healthy`, `degraded` or `critical`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Critical => "critical",
        }
    }
}

pub(crate) const EPOCH_MASK: u16 = 0x3FFF;
pub(crate) const K_MAX: u8 = 31;
const HI_BITS: u32 = 11;
/// Timestamps are kept to 59 bits: 2^59 ms is about 18 million years.
pub(crate) const TIME_LIMIT: u64 = 1 << (48 + HI_BITS);
/// Clock readings must be below this (2^59 - 2^31 ms), so that a reading
/// plus any open duration (at most 2^31 - 1 ms) is a time that can be kept.
pub(crate) const CLOCK_LIMIT: u64 = TIME_LIMIT - (1 << 31);

#[inline(always)]
pub(crate) const fn next_epoch(e: u16) -> u16 {
    e.wrapping_add(1) & EPOCH_MASK
}

/// The packed state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u32);

impl Word {
    #[inline(always)]
    const fn pack(state: State, epoch: u16, payload: u16) -> Self {
        Self(state.code() | ((epoch & EPOCH_MASK) as u32) << 2 | (payload as u32) << 16)
    }
    #[inline(always)]
    pub(crate) const fn closed(epoch: u16, run: u16) -> Self {
        Self::pack(State::Closed, epoch, run)
    }
    #[inline(always)]
    pub(crate) const fn open(epoch: u16, k: u8, retry_at: u64) -> Self {
        let hi = ((retry_at >> 48) as u16) & ((1 << HI_BITS) - 1);
        Self::pack(State::Open, epoch, (k & 0x1F) as u16 | hi << 5)
    }
    #[inline(always)]
    pub(crate) const fn half_open(epoch: u16, in_flight: u8, k: u8) -> Self {
        Self::half_open_at(epoch, in_flight, k, 0)
    }
    /// Half-open, entered at a clock reading whose bits 31..34 are `at_hi`.
    #[inline(always)]
    pub(crate) const fn half_open_at(epoch: u16, in_flight: u8, k: u8, at_hi: u8) -> Self {
        Self::pack(
            State::HalfOpen,
            epoch,
            in_flight as u16 | ((k & 0x1F) as u16) << 8 | ((at_hi & 0x7) as u16) << 13,
        )
    }
    /// Half-open: the same word with one more (or one fewer) trial in flight.
    #[inline(always)]
    pub(crate) const fn with_in_flight(self, in_flight: u8) -> Self {
        Self((self.0 & !(0xFF << 16)) | (in_flight as u32) << 16)
    }
    /// Half-open: bits 31..34 of the clock reading it was entered at.
    #[inline(always)]
    pub(crate) const fn at_hi(self) -> u8 {
        ((self.payload() >> 13) & 0x7) as u8
    }
    #[inline(always)]
    pub(crate) const fn isolated(epoch: u16) -> Self {
        Self::pack(State::Isolated, epoch, 0)
    }
    #[inline(always)]
    pub(crate) const fn state(self) -> State {
        State::from_code(self.0)
    }
    #[inline(always)]
    pub(crate) const fn epoch(self) -> u16 {
        ((self.0 >> 2) as u16) & EPOCH_MASK
    }
    #[inline(always)]
    const fn payload(self) -> u16 {
        (self.0 >> 16) as u16
    }
    /// Closed: the consecutive-failure run.
    #[inline(always)]
    pub(crate) const fn run(self) -> u16 {
        self.payload()
    }
    /// Open or half-open: half-open re-trips since closed.
    #[inline(always)]
    pub(crate) const fn k(self) -> u8 {
        match self.state() {
            State::Open => (self.payload() & 0x1F) as u8,
            State::HalfOpen => ((self.payload() >> 8) & 0x1F) as u8,
            _ => 0,
        }
    }
    /// Open: bits 48.. of retryAt.
    #[inline(always)]
    pub(crate) const fn time_hi(self) -> u64 {
        ((self.payload() >> 5) as u64) << 48
    }
    /// Half-open: trial permits in flight.
    #[inline(always)]
    pub(crate) const fn in_flight(self) -> u8 {
        self.payload() as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_every_field() {
        for epoch in [0u16, 1, 0x1FFF, EPOCH_MASK] {
            let w = Word::closed(epoch, 65_534);
            assert_eq!(
                (w.state(), w.epoch(), w.run()),
                (State::Closed, epoch, 65_534)
            );
            let t = (TIME_LIMIT - 1) & !((1 << 48) - 1);
            let w = Word::open(epoch, K_MAX, t);
            assert_eq!(
                (w.state(), w.epoch(), w.k(), w.time_hi()),
                (State::Open, epoch, K_MAX, t)
            );
            let w = Word::half_open(epoch, 255, 17);
            assert_eq!(
                (w.state(), w.epoch(), w.in_flight(), w.k()),
                (State::HalfOpen, epoch, 255, 17)
            );
            let w = Word::isolated(epoch);
            assert_eq!((w.state(), w.epoch()), (State::Isolated, epoch));
        }
        assert_eq!(next_epoch(EPOCH_MASK), 0);
    }

    #[test]
    fn state_names_match_behavior_md() {
        for s in [State::Closed, State::Open, State::HalfOpen, State::Isolated] {
            assert_eq!(State::from_name(s.as_str()), Some(s));
            assert_eq!(State::from_code(s.code()), s);
        }
        assert_eq!(State::from_name("half-open"), None);
    }
}
