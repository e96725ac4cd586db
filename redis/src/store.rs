//! The store: three small Lua scripts (the repository's `redis/lua/*.lua`,
//! shared with the npm package) over one Redis or a Redis Cluster, every
//! call under a deadline. No breaker logic here: the scripts read, count and
//! compare-and-set; the rules are the core's.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script, ScriptInvocation, Value};

use crate::name::FleetName;

/// `read.lua`: the store clock and the record.
pub const READ_LUA: &str = include_str!("../lua/read.lua");
/// `write.lua`: compare-and-set the record on its generation, and publish.
pub const WRITE_LUA: &str = include_str!("../lua/write.lua");
/// `count.lua`: add outcome counts to the current bucket, read the window
/// and the record.
pub const COUNT_LUA: &str = include_str!("../lua/count.lua");

/// What a script read of the record: its generation as stored (`""` when
/// there is none, `"!TYPE"` when the key holds another type), the record
/// text and the configuration text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Raw {
    pub gen: String,
    pub record: Option<String>,
    pub config: Option<String>,
}

/// A reply of a script: the store's clock in ms, and what else it returned.
#[derive(Debug)]
pub(crate) struct Read {
    pub now_ms: u64,
    pub raw: Raw,
    /// `count.lua` only: (field, count) pairs of the window's buckets.
    pub counts: Vec<(String, u64)>,
}

#[derive(Debug)]
pub(crate) enum Written {
    Yes { now_ms: u64 },
    Lost(Read),
}

/// A store failure, as the fleet's metrics report it.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// The call did not finish within the deadline.
    Deadline(Duration),
    /// Redis (or the connection to it) failed.
    Redis(String),
    /// Redis replied something the scripts never return.
    Reply(&'static str),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deadline(d) => write!(
                f,
                "store call took longer than its {} ms deadline",
                d.as_millis()
            ),
            Self::Redis(e) => write!(f, "redis: {e}"),
            Self::Reply(what) => write!(f, "unexpected reply from redis: {what}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        Self::Redis(e.to_string())
    }
}

#[derive(Clone)]
pub(crate) enum Target {
    Single(Box<Client>),
    #[cfg(feature = "cluster")]
    Cluster(Box<redis::cluster::ClusterClient>),
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

pub(crate) struct Store {
    target: Target,
    conn: Option<Conn>,
    deadline: Duration,
    read: Script,
    write: Script,
    count: Script,
}

impl Store {
    pub fn new(target: Target, deadline: Duration) -> Self {
        Self {
            target,
            conn: None,
            deadline,
            read: Script::new(READ_LUA),
            write: Script::new(WRITE_LUA),
            count: Script::new(COUNT_LUA),
        }
    }

    async fn conn(&mut self) -> Result<Conn, StoreError> {
        if let Some(c) = &self.conn {
            return Ok(c.clone());
        }
        let d = self.deadline;
        let c = match &self.target {
            Target::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(d))
                    .set_response_timeout(Some(d))
                    .set_number_of_retries(1)
                    .set_max_delay(d);
                Conn::Single(ConnectionManager::new_lazy_with_config(
                    (**client).clone(),
                    config,
                )?)
            }
            #[cfg(feature = "cluster")]
            Target::Cluster(client) => {
                let c = tokio::time::timeout(d, client.get_async_connection())
                    .await
                    .map_err(|_| StoreError::Deadline(d))??;
                Conn::Cluster(c)
            }
        };
        self.conn = Some(c.clone());
        Ok(c)
    }

    async fn invoke(&mut self, inv: ScriptInvocation<'_>) -> Result<Value, StoreError> {
        let d = self.deadline;
        let conn = self.conn().await?;
        let r = tokio::time::timeout(d, async move {
            match conn {
                Conn::Single(mut c) => run(&inv, &mut c).await,
                #[cfg(feature = "cluster")]
                Conn::Cluster(mut c) => run(&inv, &mut c).await,
            }
        })
        .await;
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(StoreError::Deadline(d)),
        }
    }

    pub async fn read(&mut self, name: &FleetName) -> Result<Read, StoreError> {
        let script = self.read.clone();
        let mut inv = script.prepare_invoke();
        inv.key(name.record_key());
        let v = self.invoke(inv).await?;
        let items = array(v)?;
        read_reply(&items, 0)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn write(
        &mut self,
        name: &FleetName,
        expected: &str,
        gen: u64,
        record: &str,
        config: &str,
        clear_counts: bool,
    ) -> Result<Written, StoreError> {
        let script = self.write.clone();
        let mut inv = script.prepare_invoke();
        inv.key(name.record_key())
            .key(name.counts_key())
            .arg(expected)
            .arg(gen.to_string())
            .arg(record)
            .arg(config)
            .arg(name.channel())
            .arg(if clear_counts { "1" } else { "0" });
        let items = array(self.invoke(inv).await?)?;
        match items.first() {
            Some(Value::Int(1)) => Ok(Written::Yes {
                now_ms: clock(&items, 1)?,
            }),
            Some(Value::Int(0)) => Ok(Written::Lost(read_reply(&items, 1)?)),
            _ => Err(StoreError::Reply("write.lua did not return 0 or 1 first")),
        }
    }

    pub async fn count(
        &mut self,
        name: &FleetName,
        bucket_ms: u32,
        buckets: u8,
        successes: u64,
        failures: u64,
    ) -> Result<Read, StoreError> {
        let script = self.count.clone();
        let mut inv = script.prepare_invoke();
        inv.key(name.record_key())
            .key(name.counts_key())
            .arg(bucket_ms)
            .arg(buckets)
            .arg(successes)
            .arg(failures);
        let items = array(self.invoke(inv).await?)?;
        let mut read = read_reply(&items, 0)?;
        let rest = items.get(5..).unwrap_or(&[]);
        for pair in rest.chunks(2) {
            let (Some(field), Some(count)) =
                (pair.first().and_then(text), pair.get(1).and_then(text))
            else {
                return Err(StoreError::Reply("count.lua returned an odd field list"));
            };
            let count = count.parse().map_err(|_| {
                StoreError::Reply("count.lua returned a count that is not a number")
            })?;
            read.counts.push((field, count));
        }
        Ok(read)
    }
}

async fn run<C: ConnectionLike + Send>(
    inv: &ScriptInvocation<'_>,
    c: &mut C,
) -> redis::RedisResult<Value> {
    inv.invoke_async(c).await
}

fn array(v: Value) -> Result<Vec<Value>, StoreError> {
    match v {
        Value::Array(items) => Ok(items),
        _ => Err(StoreError::Reply("a script did not return an array")),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// `TIME` as returned at `at` (seconds) and `at + 1` (microseconds), in ms.
fn clock(items: &[Value], at: usize) -> Result<u64, StoreError> {
    let part = |i: usize| -> Result<u64, StoreError> {
        items
            .get(i)
            .and_then(text)
            .and_then(|s| s.parse().ok())
            .ok_or(StoreError::Reply("TIME is not two numbers"))
    };
    Ok(part(at)? * 1_000 + part(at + 1)? / 1_000)
}

fn read_reply(items: &[Value], at: usize) -> Result<Read, StoreError> {
    Ok(Read {
        now_ms: clock(items, at)?,
        raw: Raw {
            gen: items.get(at + 2).and_then(text).unwrap_or_default(),
            record: items.get(at + 3).and_then(text),
            config: items.get(at + 4).and_then(text),
        },
        counts: Vec::new(),
    })
}
