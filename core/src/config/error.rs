//! Why a configuration was refused: the key (by its path), the value and
//! what would be valid.

use core::fmt;

/// Why a configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The value is outside `min ..= max`.
    OutOfRange {
        /// The smallest valid value.
        min: i64,
        /// The largest valid value.
        max: i64,
    },
    /// The value must be a multiple of another key's value.
    NotMultiple {
        /// The other key.
        of: &'static str,
        /// Its value.
        divisor: i64,
    },
    /// A trip policy given by key lacks this key.
    Missing,
    /// Keys of more than one trip policy were given.
    Conflict,
    /// The key is not a configuration key.
    UnknownKey,
    /// The key needs a crate feature this build does not have.
    NeedsFeature(&'static str),
}

/// An invalid configuration: which key, what value, and what would be valid.
///
/// `Display` gives a sentence such as
/// `backoff.maxOpenMs = 500 is out of range 1000..=2147483647`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConfigError {
    key: &'static str,
    value: i64,
    kind: ConfigErrorKind,
}

impl ConfigError {
    pub(crate) const fn new(key: &'static str, value: i64, kind: ConfigErrorKind) -> Self {
        Self { key, value, kind }
    }

    pub(crate) const fn unknown_key() -> Self {
        Self::new("", 0, ConfigErrorKind::UnknownKey)
    }

    /// The key, by its path in the specification (`openMs`, `failureRate.window`,
    /// `backoff.maxOpenMs`, ...; `trip` for conflicting policies). Empty for
    /// [`ConfigErrorKind::UnknownKey`]: the caller holds the unknown name.
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// The value given.
    pub const fn value(&self) -> i64 {
        self.value
    }

    /// What is wrong with it.
    pub const fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// Stops a `const` evaluation with this error: used by
    /// [`config!`](crate::config!), where it becomes a build error.
    #[doc(hidden)]
    pub const fn fail_build(&self) -> ! {
        match self.kind {
            ConfigErrorKind::OutOfRange { .. } => {
                panic!("invalid halfopen configuration: a value is out of range (see the key)")
            }
            _ => panic!("invalid halfopen configuration"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ConfigErrorKind::OutOfRange { min, max } => {
                write!(
                    f,
                    "{} = {} is out of range {}..={}",
                    self.key, self.value, min, max
                )
            }
            ConfigErrorKind::NotMultiple { of, divisor } => write!(
                f,
                "{} = {} is not a multiple of {} ({})",
                self.key, self.value, of, divisor
            ),
            ConfigErrorKind::Missing => write!(f, "{} is missing", self.key),
            ConfigErrorKind::Conflict => {
                f.write_str("trip: more than one trip policy was given; choose one")
            }
            ConfigErrorKind::UnknownKey => f.write_str("unknown configuration key"),
            ConfigErrorKind::NeedsFeature(feature) => write!(
                f,
                "{} needs the halfopen crate feature `{}`, which this build leaves out",
                self.key, feature
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
