//! What the fleet tests share: the servers the test script started, a Redis
//! of a test's own (for the fault tests), a downstream that counts what
//! reaches it, and polling with a generous deadline (no timing assertions).

#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use halfopen::{AnyPolicy, Config};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The Redis the test script started (`scripts/redis.sh`).
pub fn redis_url() -> String {
    std::env::var("HALFOPEN_REDIS_URL").expect(
        "HALFOPEN_REDIS_URL is not set: run the fleet tests through `bash redis/ci.sh` \
         (it starts redis-server and a 3-master cluster on loopback ports)",
    )
}

/// The cluster nodes the test script started.
pub fn cluster_urls() -> Vec<String> {
    std::env::var("HALFOPEN_REDIS_CLUSTER")
        .expect("HALFOPEN_REDIS_CLUSTER is not set: run the fleet tests through `bash redis/ci.sh`")
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Relaxed)
    )
}

/// A configuration kept for the life of the test process.
pub fn leak(config: Config<AnyPolicy>) -> &'static Config<AnyPolicy> {
    Box::leak(Box::new(config))
}

/// Polls `f` every 10 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A redis-server of the test's own, on a free loopback port, to kill,
/// pause and restart.
pub struct OwnRedis {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn start() -> Self {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(unique("halfopen-redis"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = Self {
            port,
            dir,
            child: None,
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) is on PATH");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.signal_quiet("-CONT");
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl OwnRedis {
    fn signal_quiet(&self, sig: &str) -> std::io::Result<()> {
        Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .map(|_| ())
    }
}

/// `redis-cli -p PORT args...`, its output trimmed.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (Debian's redis-tools package) is on PATH");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A downstream on a loopback port: each connection sends one line and gets
/// `ok` or `fail` back. It counts every request, and keeps the time of each
/// one that came while it was down.
#[derive(Clone)]
pub struct Downstream {
    pub addr: String,
    pub up: Arc<AtomicBool>,
    pub requests: Arc<AtomicU64>,
    pub while_down: Arc<Mutex<Vec<Instant>>>,
}

impl Downstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let d = Self {
            addr: listener.local_addr().unwrap().to_string(),
            up: Arc::new(AtomicBool::new(true)),
            requests: Arc::new(AtomicU64::new(0)),
            while_down: Arc::new(Mutex::new(Vec::new())),
        };
        let served = d.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let d = served.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut line = String::new();
                    if BufReader::new(r).read_line(&mut line).await.is_err() {
                        return;
                    }
                    d.requests.fetch_add(1, Relaxed);
                    let up = d.up.load(Relaxed);
                    if !up {
                        d.while_down.lock().unwrap().push(Instant::now());
                    }
                    let _ = w.write_all(if up { b"ok\n" } else { b"fail\n" }).await;
                });
            }
        });
        d
    }

    /// Requests that came while down, in groups separated by `gap` of quiet:
    /// the first group is the calls before the fleet rejected, each later
    /// one a half-open period's probes.
    pub fn down_groups(&self, gap: Duration) -> Vec<usize> {
        let mut times = self.while_down.lock().unwrap().clone();
        times.sort();
        let mut groups: Vec<usize> = Vec::new();
        let mut last: Option<Instant> = None;
        for t in times {
            match last {
                Some(l) if t.duration_since(l) < gap => *groups.last_mut().unwrap() += 1,
                _ => groups.push(1),
            }
            last = Some(t);
        }
        groups
    }
}

/// One request to a downstream: `Ok` if it answered `ok`.
pub async fn request(addr: &str) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(b"call\n").await.map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .await
        .map_err(|e| e.to_string())?;
    if line.trim() == "ok" {
        Ok(())
    } else {
        Err("downstream failed".into())
    }
}

/// The test binary's own path, to start it again as a worker process.
pub static SELF_EXE: LazyLock<PathBuf> = LazyLock::new(|| std::env::current_exe().unwrap());
