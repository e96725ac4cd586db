//! A Redis for the example and the benchmark: the one named by
//! `HALFOPEN_REDIS_URL`, or a `redis-server` started here on a free loopback
//! port from 16400 up (no persistence), stopped when dropped.

#![allow(dead_code)]

use std::error::Error;
use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// A `redis-server` this program started: stopped when dropped (also on an
/// error). Ctrl-C reaches it too: it runs in this terminal's process group.
pub struct RedisServer {
    child: Option<Child>,
    pub url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn redis_server() -> Res<RedisServer> {
    if let Ok(url) = std::env::var("HALFOPEN_REDIS_URL") {
        ping(&url, Duration::from_secs(2))
            .map_err(|e| format!("HALFOPEN_REDIS_URL={url} does not answer PING: {e}"))?;
        println!("redis: {url} (from HALFOPEN_REDIS_URL)");
        return Ok(RedisServer { child: None, url });
    }
    let port = (16400..16500)
        .find(|p| StdListener::bind(("127.0.0.1", *p)).is_ok())
        .ok_or("no free loopback port in 16400..16500 for redis-server")?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start redis-server (is it installed?): {e}"))?;
    let server = RedisServer {
        child: Some(child),
        url: format!("redis://127.0.0.1:{port}/"),
    };
    ping(&server.url, Duration::from_secs(5))?;
    println!(
        "redis: started redis-server on 127.0.0.1:{port} (set HALFOPEN_REDIS_URL to use another)"
    );
    Ok(server)
}

pub fn ping(url: &str, within: Duration) -> Res<()> {
    let client = redis::Client::open(url)?;
    let until = Instant::now() + within;
    loop {
        let r = client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        match r {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= until => return Err(e.into()),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

pub fn forget(url: &str, name: &str) {
    if let Ok(mut c) = redis::Client::open(url).and_then(|c| c.get_connection()) {
        let _: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(format!("{{halfopen:{name}}}:record"))
            .arg(format!("{{halfopen:{name}}}:counts"))
            .query(&mut c);
    }
}

/// `INFO section`.
pub fn info(url: &str, section: &str) -> Res<String> {
    let mut c = redis::Client::open(url)?.get_connection()?;
    Ok(redis::cmd("INFO").arg(section).query(&mut c)?)
}
