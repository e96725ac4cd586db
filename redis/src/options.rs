//! Building a fleet handle, and what can go wrong doing it.

use std::fmt;
use std::time::Duration;

use halfopen::fleet::{FleetRules, FleetRulesError};
use halfopen::{AnyPolicy, Config, MAX_DURATION_MS};

use crate::fleet::Fleet;
use crate::name::{FleetName, NameError};
use crate::store::Target;

/// Options of a [`Fleet`], from [`Fleet::builder`].
///
/// ```no_run
/// # async fn example() -> Result<(), halfopen_redis::FleetError> {
/// use halfopen::{AnyPolicy, Config};
/// use halfopen_redis::Fleet;
///
/// static CONFIG: std::sync::LazyLock<Config<AnyPolicy>> = std::sync::LazyLock::new(|| {
///     Config::consecutive_failures(5).open_ms(10_000).build().unwrap().into_any()
/// });
/// let fleet = Fleet::builder("payments-api", &CONFIG)
///     .sync_ms(500)
///     .connect("redis://127.0.0.1:6379/")
///     .await?;
/// let reply = fleet.call_async(async { Ok::<_, std::io::Error>("pong") }).await;
/// # let _ = reply; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FleetBuilder {
    name: String,
    config: &'static Config<AnyPolicy>,
    sync_ms: u64,
    deadline_ms: u64,
    lease_ms: Option<u64>,
    counting: Option<Option<(u64, u64)>>,
    pubsub: bool,
    /// PEM root certificates for `rediss://` (else the webpki roots).
    root_cert: Option<Vec<u8>>,
}

impl FleetBuilder {
    pub(crate) fn new(name: &str, config: &'static Config<AnyPolicy>) -> Self {
        Self {
            name: name.to_owned(),
            config,
            sync_ms: 1_000,
            deadline_ms: 250,
            lease_ms: None,
            counting: None,
            pubsub: true,
            root_cert: None,
        }
    }

    /// How often the record is read (and counts flushed) without a push, in
    /// ms (10 ..= 2^31 - 1; default 1000).
    pub fn sync_ms(mut self, ms: u64) -> Self {
        self.sync_ms = ms;
        self
    }

    /// The deadline of every store call, in ms (1 ..= 60 000; default 250).
    pub fn deadline_ms(mut self, ms: u64) -> Self {
        self.deadline_ms = ms;
        self
    }

    /// How long a probe lease lasts before the fleet counts the probe as
    /// failed, in ms (default: `halfOpenMaxWaitMs` if set, else 10 000).
    pub fn lease_ms(mut self, ms: u64) -> Self {
        self.lease_ms = Some(ms);
        self
    }

    /// Counts a `timeWindow` policy's outcomes for the whole fleet in its own
    /// window: the fleet trips on its failure rate even where no instance
    /// sees `minimumCalls` calls.
    pub fn count_for_fleet(mut self) -> Self {
        self.counting = Some(None);
        self
    }

    /// Counts a window policy's outcomes for the whole fleet over the last
    /// `window_ms` of the store's clock, in `buckets` buckets (the way to
    /// count a `failureRate` policy, whose own window is a number of calls).
    pub fn count_for_fleet_over(mut self, window_ms: u64, buckets: u64) -> Self {
        self.counting = Some(Some((window_ms, buckets)));
        self
    }

    /// Trusts the PEM certificate(s) `pem` for `rediss://` connections
    /// (a Redis behind a private certificate authority), instead of the
    /// webpki roots.
    #[cfg(feature = "tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_cert = Some(pem.into());
        self
    }

    /// Turns the pub/sub push off: changes reach this instance by the
    /// periodic sync only.
    pub fn without_pubsub(mut self) -> Self {
        self.pubsub = false;
        self
    }

    fn client(&self, url: &str) -> Result<redis::Client, FleetError> {
        check_scheme(url)?;
        #[cfg(feature = "tls")]
        if let Some(pem) = &self.root_cert {
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            };
            return redis::Client::build_with_tls(url, certs)
                .map_err(|e| FleetError::Url(format!("{url:?}: {e}")));
        }
        let _ = &self.root_cert;
        redis::Client::open(url).map_err(|e| FleetError::Url(format!("{url:?}: {e}")))
    }

    fn rules(&self) -> Result<(FleetName, FleetRules, Duration, u32), FleetError> {
        let name = FleetName::new(&self.name)?;
        if !(10..=MAX_DURATION_MS as u64).contains(&self.sync_ms) {
            return Err(FleetError::Option {
                key: "syncMs",
                value: self.sync_ms,
                range: "10..=2147483647",
            });
        }
        if !(1..=60_000).contains(&self.deadline_ms) {
            return Err(FleetError::Option {
                key: "deadlineMs",
                value: self.deadline_ms,
                range: "1..=60000",
            });
        }
        let lease = self
            .lease_ms
            .or(self.config.half_open_max_wait_ms().map(u64::from))
            .unwrap_or(10_000);
        let lease = u32::try_from(lease).map_err(|_| FleetRulesError::LeaseMs(lease))?;
        let mut rules = FleetRules::new(self.config, lease)?;
        match self.counting {
            None => {}
            Some(None) => rules = rules.counting()?,
            Some(Some((w, b))) => {
                let w = u32::try_from(w).map_err(|_| FleetRulesError::WindowMs(w))?;
                let b = u32::try_from(b).map_err(|_| FleetRulesError::Buckets(b))?;
                rules = rules.counting_over(w, b)?;
            }
        }
        Ok((
            name,
            rules,
            Duration::from_millis(self.deadline_ms),
            self.sync_ms as u32,
        ))
    }

    /// Starts the fleet on one Redis (`redis://`, `rediss://` with the `tls`
    /// feature, `unix://`). Must run inside a tokio runtime (it spawns the
    /// background task).
    ///
    /// Fails only on what cannot be fixed by waiting: a bad name, option or
    /// URL, or a fleet of the same name whose configuration differs (the
    /// error names the key). A Redis that cannot be reached is not an error:
    /// the breaker works locally, [`Fleet::metrics`] says why, and it joins
    /// the fleet when Redis answers.
    pub async fn connect(self, url: &str) -> Result<Fleet, FleetError> {
        let (name, rules, deadline, sync_ms) = self.rules()?;
        let client = self.client(url)?;
        let pubsub = self.pubsub.then(|| client.clone());
        Fleet::start(
            name,
            self.config,
            rules,
            Target::Single(Box::new(client)),
            pubsub,
            deadline,
            sync_ms,
        )
        .await
    }

    /// Starts the fleet on a Redis Cluster, given some of its nodes' URLs.
    /// The breaker's keys share one hash tag, so one node serves them;
    /// pushes are subscribed on the first node (Redis Cluster forwards
    /// `PUBLISH` to every node).
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster(self, urls: &[&str]) -> Result<Fleet, FleetError> {
        let (name, rules, deadline, sync_ms) = self.rules()?;
        let first = urls
            .first()
            .ok_or(FleetError::Url("no cluster node URL given".into()))?;
        for url in urls {
            self.client(url)?;
        }
        let cluster = redis::cluster::ClusterClient::builder(urls.iter().copied())
            .connection_timeout(deadline)
            .response_timeout(deadline)
            .build()
            .map_err(|e| FleetError::Url(e.to_string()))?;
        let pubsub = if self.pubsub {
            Some(self.client(first)?)
        } else {
            None
        };
        Fleet::start(
            name,
            self.config,
            rules,
            Target::Cluster(Box::new(cluster)),
            pubsub,
            deadline,
            sync_ms,
        )
        .await
    }
}

/// Checks `url`'s scheme (the redis crate takes some URLs it cannot
/// connect to).
fn check_scheme(url: &str) -> Result<(), FleetError> {
    match url.split_once("://").map(|(s, _)| s) {
        Some("redis" | "unix" | "redis+unix") => Ok(()),
        Some("rediss") if cfg!(feature = "tls") => Ok(()),
        Some("rediss") => Err(FleetError::Url(format!(
            "{url:?}: rediss:// needs the crate's `tls` feature"
        ))),
        _ => Err(FleetError::Url(format!(
            "{url:?} is not a redis://, rediss:// or unix:// URL"
        ))),
    }
}

/// A fleet that cannot be started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetError {
    /// The breaker name.
    Name(NameError),
    /// The Redis URL.
    Url(String),
    /// An option out of range.
    Option {
        /// The option.
        key: &'static str,
        /// The value given.
        value: u64,
        /// What it may be.
        range: &'static str,
    },
    /// The fleet rules (lease, window).
    Rules(FleetRulesError),
    /// The fleet of this name runs another configuration.
    ConfigMismatch {
        /// The breaker name.
        name: String,
        /// The first key that differs, with both values
        /// (`key: A here, B in the fleet`).
        difference: String,
    },
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(e) => e.fmt(f),
            Self::Url(e) => write!(f, "redis URL: {e}"),
            Self::Option { key, value, range } => {
                write!(f, "fleet option {key} = {value} is out of range {range}")
            }
            Self::Rules(e) => e.fmt(f),
            Self::ConfigMismatch { name, difference } => write!(
                f,
                "fleet {name:?} runs another configuration ({difference}): every instance sharing a name must be configured alike"
            ),
        }
    }
}

impl std::error::Error for FleetError {}

impl From<NameError> for FleetError {
    fn from(e: NameError) -> Self {
        Self::Name(e)
    }
}

impl From<FleetRulesError> for FleetError {
    fn from(e: FleetRulesError) -> Self {
        Self::Rules(e)
    }
}
