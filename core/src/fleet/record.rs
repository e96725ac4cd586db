//! The fleet record and its text form (what a store keeps).

use core::fmt;

use super::text::FixedText;

/// The largest time a record holds, in ms of the store clock: 2^53 (a
/// JavaScript number holds every integer up to it, so the npm package reads
/// the same records).
pub(crate) const STORE_TIME_LIMIT: u64 = 1 << 53;

/// The longest record text [`FleetRecord::to_text`] writes, in bytes.
pub const RECORD_TEXT_CAPACITY: usize = 128;

/// A fleet's state, as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FleetMode {
    /// The fleet is closed.
    Closed,
    /// The fleet is open until `open_until_ms`, then probing.
    Open,
    /// The fleet is isolated.
    Isolated,
}

impl FleetMode {
    /// `closed`, `open`, `isolated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::Isolated => "isolated",
        }
    }
}

/// One breaker's shared state in a store. Times are the store's clock, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FleetRecord {
    /// Incremented by every fleet transition; a store writes a new record
    /// only over the generation it was computed from.
    pub gen: u64,
    /// The fleet's state.
    pub mode: FleetMode,
    /// Half-open re-trips (0 ..= 31), for the backoff.
    pub k: u8,
    /// Open: when the open period ends and probing may begin.
    pub open_until_ms: u64,
    /// Open: probe leases granted in this open period.
    pub leases: u8,
    /// Open: when the granted leases end (0 while none is granted).
    pub lease_until_ms: u64,
    /// Open: probe successes reported in this open period.
    pub successes: u16,
    /// Open: the generation of the write that opened this period, which
    /// names its probe leases (every write, a lease grant too, increments
    /// `gen`; this stays while the period lasts).
    pub opened_gen: u64,
}

impl Default for FleetRecord {
    fn default() -> Self {
        Self::new()
    }
}

impl FleetRecord {
    /// The record of a fleet nobody has written yet: closed, generation 0.
    pub const fn new() -> Self {
        Self {
            gen: 0,
            mode: FleetMode::Closed,
            k: 0,
            open_until_ms: 0,
            leases: 0,
            lease_until_ms: 0,
            successes: 0,
            opened_gen: 0,
        }
    }

    /// The record's text, without its generation (a store keeps that beside
    /// it, to compare-and-set on it):
    /// `mode=open;k=0;openUntil=11000;leases=1;leaseUntil=16000;successes=0;openedGen=1`.
    ///
    /// ```
    /// use halfopen::fleet::FleetRecord;
    ///
    /// let text = FleetRecord::new().to_text();
    /// assert_eq!(text.as_str(), "mode=closed;k=0;openUntil=0;leases=0;leaseUntil=0;successes=0;openedGen=0");
    /// assert_eq!(FleetRecord::parse("0", text.as_str()), Ok(FleetRecord::new()));
    /// ```
    pub fn to_text(&self) -> RecordText {
        let mut t = RecordText::new();
        // The longest record is far below the capacity: 6 keys, 3 numbers of
        // at most 16 digits.
        let _ = fmt::write(
            &mut t,
            format_args!(
                "mode={};k={};openUntil={};leases={};leaseUntil={};successes={};openedGen={}",
                self.mode.as_str(),
                self.k,
                self.open_until_ms,
                self.leases,
                self.lease_until_ms,
                self.successes,
                self.opened_gen
            ),
        );
        t
    }

    /// Reads a record from its generation and its text, as a store returns
    /// them. Anything else than what [`to_text`](Self::to_text) writes is
    /// refused with the field at fault: a store may hold garbage.
    ///
    /// ```
    /// use halfopen::fleet::FleetRecord;
    ///
    /// let err = FleetRecord::parse("3", "mode=open;k=99;openUntil=0;leases=0;leaseUntil=0;successes=0;openedGen=0");
    /// assert_eq!(err.unwrap_err().to_string(), "fleet record field k is not a number in 0..=31");
    /// assert!(FleetRecord::parse("x", "").is_err());
    /// ```
    pub fn parse(gen: &str, text: &str) -> Result<Self, FleetRecordError> {
        let gen = number(gen, u64::MAX).ok_or(FleetRecordError::Field("gen"))?;
        let mut fields = text.split(';');
        let mut next = |key: &'static str| -> Result<&str, FleetRecordError> {
            let f = fields.next().ok_or(FleetRecordError::Missing(key))?;
            match f.split_once('=') {
                Some((k, v)) if k == key => Ok(v),
                _ => Err(FleetRecordError::Missing(key)),
            }
        };
        let mode = match next("mode")? {
            "closed" => FleetMode::Closed,
            "open" => FleetMode::Open,
            "isolated" => FleetMode::Isolated,
            _ => return Err(FleetRecordError::Field("mode")),
        };
        let field = |key: &'static str, v: &str, max: u64| -> Result<u64, FleetRecordError> {
            number(v, max).ok_or(FleetRecordError::Field(key))
        };
        let k = field("k", next("k")?, 31)? as u8;
        let open_until_ms = field("openUntil", next("openUntil")?, STORE_TIME_LIMIT)?;
        let leases = field("leases", next("leases")?, 255)? as u8;
        let lease_until_ms = field("leaseUntil", next("leaseUntil")?, STORE_TIME_LIMIT)?;
        let successes = field("successes", next("successes")?, 65_535)? as u16;
        let opened_gen = field("openedGen", next("openedGen")?, u64::MAX)?;
        if fields.next().is_some() {
            return Err(FleetRecordError::Trailing);
        }
        let r = Self {
            gen,
            mode,
            k,
            open_until_ms,
            leases,
            lease_until_ms,
            successes,
            opened_gen,
        };
        if r.mode != FleetMode::Open && (r.leases != 0 || r.successes != 0) {
            return Err(FleetRecordError::Inconsistent);
        }
        Ok(r)
    }
}

/// Decimal digits only, at most `max`.
fn number(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n <= max)
}

/// A record's text, as [`FleetRecord::to_text`] writes it (no allocation).
pub type RecordText = FixedText<RECORD_TEXT_CAPACITY>;

/// A record a store returned that is not one [`FleetRecord::to_text`]
/// writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FleetRecordError {
    /// A field is missing or out of order.
    Missing(&'static str),
    /// A field's value is not what it may hold.
    Field(&'static str),
    /// Text follows the last field.
    Trailing,
    /// A closed or isolated record holds probe leases or successes.
    Inconsistent,
}

impl fmt::Display for FleetRecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Missing(k) => write!(f, "fleet record field {k} is missing or out of order"),
            Self::Field("mode") => {
                f.write_str("fleet record field mode is not closed, open or isolated")
            }
            Self::Field("gen") => f.write_str("fleet record field gen is not a number"),
            Self::Field(k) => {
                let max: u64 = match k {
                    "k" => 31,
                    "leases" => 255,
                    "successes" => 65_535,
                    "openedGen" => u64::MAX,
                    _ => STORE_TIME_LIMIT,
                };
                write!(f, "fleet record field {k} is not a number in 0..={max}")
            }
            Self::Trailing => f.write_str("fleet record has text after its last field"),
            Self::Inconsistent => {
                f.write_str("fleet record is not open but holds probe leases or successes")
            }
        }
    }
}

impl core::error::Error for FleetRecordError {}
