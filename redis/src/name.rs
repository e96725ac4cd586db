//! Breaker names and the Redis keys they map to.

use std::fmt;

/// The longest breaker name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// A checked breaker name: 1 to 64 bytes of `A-Z a-z 0-9 _ - . :`. Every key
/// of the breaker shares the hash tag `{halfopen:NAME}`, so Redis Cluster
/// keeps them in one slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FleetName {
    name: String,
    record: String,
    counts: String,
    channel: String,
}

impl FleetName {
    /// Checks `name`.
    ///
    /// ```
    /// use halfopen_redis::FleetName;
    ///
    /// let name = FleetName::new("payments-api").unwrap();
    /// assert_eq!(name.record_key(), "{halfopen:payments-api}:record");
    /// let err = FleetName::new("pay ments").unwrap_err();
    /// assert_eq!(err.to_string(), "breaker name \"pay ments\" has ' ' at byte 3: use A-Z a-z 0-9 _ - . :");
    /// ```
    pub fn new(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(name.len()));
        }
        if let Some((at, c)) = name
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
        {
            return Err(NameError::Character {
                name: name.to_owned(),
                at,
                found: c,
            });
        }
        Ok(Self {
            record: format!("{{halfopen:{name}}}:record"),
            counts: format!("{{halfopen:{name}}}:counts"),
            channel: format!("{{halfopen:{name}}}:changes"),
            name: name.to_owned(),
        })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The hash holding the fleet record: fields `gen`, `record`, `config`.
    pub fn record_key(&self) -> &str {
        &self.record
    }

    /// The hash of outcome counts per store-clock bucket (window policies
    /// counted for the fleet).
    pub fn counts_key(&self) -> &str {
        &self.counts
    }

    /// The pub/sub channel on which every record change is announced (its
    /// message is the new generation).
    pub fn channel(&self) -> &str {
        &self.channel
    }
}

impl fmt::Display for FleetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A breaker name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    TooLong(usize),
    /// The name holds a character outside `A-Z a-z 0-9 _ - . :`.
    Character {
        /// The name.
        name: String,
        /// The byte offset of the character.
        at: usize,
        /// The character.
        found: char,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("breaker name is empty"),
            Self::TooLong(n) => write!(f, "breaker name is {n} bytes long: at most {MAX_NAME_LEN}"),
            Self::Character { name, at, found } => write!(
                f,
                "breaker name {name:?} has {found:?} at byte {at}: use A-Z a-z 0-9 _ - . :"
            ),
        }
    }
}

impl std::error::Error for NameError {}
