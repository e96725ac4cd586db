//! `serde` (feature `serde`): a [`Config<AnyPolicy>`] deserialized from the
//! specification's keys, in the shape the npm package takes its options:
//! a trip policy under `trip`, `backoff` and `jitter` as objects.
//!
//! ```toml
//! openMs = 10000
//! halfOpenMaxCalls = 2
//! trip = { failureRate = { percent = 50, window = 20, minimumCalls = 10 } }
//! backoff = { factor = 2, maxOpenMs = 60000 }
//! ```
//!
//! Every value goes through [`ConfigBuilder::set`] and the whole through
//! [`ConfigBuilder::build`], so a file is refused with the same error a
//! builder gives (`failureRate.window = 65 is out of range 1..=64`), an
//! unknown key by its path (`unknown configuration key backoff.factr`), a
//! value that is not an integer with the key it was given for. Nothing is
//! allocated: keys are matched as they are read.

use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::builder::UNSET;
use super::{Config, ConfigBuilder, ConfigError, ConfigErrorKind};
use crate::policy::AnyPolicy;

/// An object of the configuration: the top level, or one nested under a key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Top,
    Trip,
    FailureRate,
    TimeWindow,
    Backoff,
    Jitter,
}

impl Section {
    /// The path prefix of this object's keys.
    const fn prefix(self) -> &'static str {
        match self {
            Self::Top | Self::Trip => "",
            Self::FailureRate => "failureRate.",
            Self::TimeWindow => "timeWindow.",
            Self::Backoff => "backoff.",
            Self::Jitter => "jitter.",
        }
    }

    /// What `name` is in this object: a value's key path or a nested object.
    fn key(self, name: &str) -> Option<Key> {
        use Key::{Object, Value};
        Some(match (self, name) {
            (Self::Top, "trip") => Object(Self::Trip),
            (Self::Top, "backoff") => Object(Self::Backoff),
            (Self::Top, "jitter") => Object(Self::Jitter),
            (Self::Top, "openMs") => Value("openMs"),
            (Self::Top, "halfOpenMaxCalls") => Value("halfOpenMaxCalls"),
            (Self::Top, "successThreshold") => Value("successThreshold"),
            (Self::Top, "slowCallMs") => Value("slowCallMs"),
            (Self::Top, "halfOpenMaxWaitMs") => Value("halfOpenMaxWaitMs"),
            (Self::Trip, "consecutiveFailures") => Value("consecutiveFailures"),
            (Self::Trip, "failureRate") => Object(Self::FailureRate),
            (Self::Trip, "timeWindow") => Object(Self::TimeWindow),
            (Self::FailureRate, "percent") => Value("failureRate.percent"),
            (Self::FailureRate, "failures") => Value("failureRate.failures"),
            (Self::FailureRate, "window") => Value("failureRate.window"),
            (Self::FailureRate, "minimumCalls") => Value("failureRate.minimumCalls"),
            (Self::TimeWindow, "percent") => Value("timeWindow.percent"),
            (Self::TimeWindow, "failures") => Value("timeWindow.failures"),
            (Self::TimeWindow, "windowMs") => Value("timeWindow.windowMs"),
            (Self::TimeWindow, "buckets") => Value("timeWindow.buckets"),
            (Self::TimeWindow, "minimumCalls") => Value("timeWindow.minimumCalls"),
            (Self::Backoff, "factor") => Value("backoff.factor"),
            (Self::Backoff, "maxOpenMs") => Value("backoff.maxOpenMs"),
            (Self::Jitter, "percent") => Value("jitter.percent"),
            (Self::Jitter, "seed") => Value("jitter.seed"),
            _ => return None,
        })
    }
}

#[derive(Clone, Copy)]
enum Key {
    Value(&'static str),
    Object(Section),
}

/// Reads one key of `section`; an unknown one is an error naming its path.
struct KeySeed(Section);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a configuration key")
    }
    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        self.0.key(name).ok_or_else(|| {
            E::custom(format_args!(
                "unknown configuration key {}{}",
                self.0.prefix(),
                name
            ))
        })
    }
}

/// Reads one integer value of key `path`.
struct ValueSeed(&'static str);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = i64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_i64(self)
    }
}

impl Visitor<'_> for ValueSeed {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer for {}", self.0)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    /// Past `i64::MAX` is out of every range: reported as `i64::MAX`.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        Ok(i64::try_from(v).unwrap_or(i64::MAX))
    }
    /// Only a float that is an integer (`30000.0`, as some formats write
    /// every number) is taken; `1.5` is refused with its key.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // Truncation and its exact round trip, without `f64::trunc` (std).
        let i = v as i64;
        if i as f64 == v {
            Ok(i)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

/// The configuration being built, and how many policies `trip` named.
struct Building {
    builder: ConfigBuilder<AnyPolicy>,
    policies: u32,
}

/// Reads the object `section` into `building`.
struct ObjectSeed<'b> {
    section: Section,
    building: &'b mut Building,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.section {
            Section::Top => f.write_str("a breaker configuration (an object of keys)"),
            Section::Trip => f.write_str("trip: an object naming one policy"),
            s => write!(f, "an object of {}* keys", s.prefix()),
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.building;
        while let Some(key) = map.next_key_seed(KeySeed(self.section))? {
            match key {
                Key::Value(path) => {
                    let v = map.next_value_seed(ValueSeed(path))?;
                    if path == "consecutiveFailures" {
                        b.policies += 1;
                    }
                    b.builder = b.builder.set(path, v).map_err(de::Error::custom)?;
                }
                Key::Object(section) => {
                    // A policy object chooses its policy even when empty
                    // (its required keys are then reported missing).
                    let chosen = match section {
                        Section::FailureRate => Some("failureRate.minimumCalls"),
                        Section::TimeWindow => Some("timeWindow.minimumCalls"),
                        _ => None,
                    };
                    if let Some(path) = chosen {
                        b.policies += 1;
                        b.builder = b.builder.set(path, UNSET).map_err(de::Error::custom)?;
                    }
                    map.next_value_seed(ObjectSeed {
                        section,
                        building: &mut *b,
                    })?;
                    if section == Section::Trip && b.policies == 0 {
                        let e = ConfigError::new("trip", 0, ConfigErrorKind::Missing);
                        return Err(de::Error::custom(e));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A configuration from the specification's keys (feature `serde`): a trip
/// policy under `trip` (`{"failureRate": {"percent": 50, "window": 20}}`),
/// `backoff` and `jitter` as objects, the other keys at the top. Refused
/// with the error [`ConfigBuilder::build`] gives, an unknown key by its path.
///
/// ```
/// use halfopen::{AnyPolicy, Config};
///
/// let config: Config<AnyPolicy> = serde_json::from_str(
///     r#"{"trip": {"consecutiveFailures": 3}, "openMs": 5000}"#,
/// ).unwrap();
/// assert_eq!(config.open_ms(), 5_000);
///
/// let err = serde_json::from_str::<Config<AnyPolicy>>(r#"{"openMs": 0}"#).unwrap_err();
/// assert!(err.to_string().starts_with("openMs = 0 is out of range 1..=2147483647"));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for Config<AnyPolicy> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut building = Building {
            builder: Config::builder(),
            policies: 0,
        };
        ObjectSeed {
            section: Section::Top,
            building: &mut building,
        }
        .deserialize(d)?;
        building.builder.build().map_err(de::Error::custom)
    }
}
