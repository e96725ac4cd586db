//! What a fleet costs: the closed call path with a fleet attached against
//! the same breaker alone (criterion), store round trips per process per
//! second and Redis CPU at 8 processes, and how long a trip takes to reach
//! another process (with pub/sub, and by polling only).
//!
//! ```text
//! cargo bench -p halfopen-redis --bench fleet
//! ```
//!
//! Uses the Redis at `HALFOPEN_REDIS_URL` if set, else starts its own
//! `redis-server` (no persistence) on a free loopback port from 16400 up.
//! The processes are this binary again, in the role named by the
//! environment variable `HALFOPEN_FLEET_BENCH_ROLE`. Under `cargo test
//! --benches` (no `--bench` argument) every part runs once, briefly.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::Criterion;
use halfopen::{AnyPolicy, Breaker, Config, Counters, StdClock};
use halfopen_redis::Fleet;

const ROLE: &str = "HALFOPEN_FLEET_BENCH_ROLE";

/// The closed-path rows and the load: a breaker that never trips here.
static CLOSED: LazyLock<Config<AnyPolicy>> = LazyLock::new(|| {
    Config::consecutive_failures(5)
        .open_ms(10_000)
        .build()
        .expect("a valid configuration")
        .into_any()
});

/// Propagation: one failure trips; the open period outlasts a measurement.
static TRIP: LazyLock<Config<AnyPolicy>> = LazyLock::new(|| {
    Config::consecutive_failures(1)
        .open_ms(60_000)
        .build()
        .expect("a valid configuration")
        .into_any()
});

fn main() {
    let result = match std::env::var(ROLE) {
        Ok(role) => role_main(&role),
        Err(_) => bench_main(),
    };
    if let Err(e) = result {
        eprintln!("fleet bench: {e}");
        std::process::exit(1);
    }
}

fn epoch_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn unique(what: &str) -> String {
    format!("bench-{what}-{}-{}", std::process::id(), epoch_us())
}

#[path = "../examples/support/server.rs"]
mod server;

use server::{forget, info, redis_server, Res};

/// Redis's CPU time so far (`used_cpu_sys + used_cpu_user`), in seconds.
fn redis_cpu(url: &str) -> Res<f64> {
    let text = info(url, "cpu")?;
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    Ok(field("used_cpu_sys") + field("used_cpu_user"))
}

// ---------------------------------------------------------------------------
// Child processes, spoken to by lines on stdin and stdout.

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(role: &str, args: &[&str]) -> Res<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(ROLE, role)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            lines,
        })
    }

    fn send(&mut self, line: &str) -> Res<()> {
        let s = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(s, "{line}")?;
        Ok(())
    }

    /// The next line, which must start with `word`.
    fn expect(&self, word: &str, within: Duration) -> Res<String> {
        let l = self
            .lines
            .recv_timeout(within)
            .map_err(|_| format!("no `{word}` line within {within:?}"))?;
        if l.split(' ').next() != Some(word) {
            return Err(format!("expected `{word} ...`, got `{l}`").into());
        }
        Ok(l)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // End of stdin ends a process; kill it if it has not ended soon.
        self.stdin = None;
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field<T: std::str::FromStr>(line: &str, key: &str) -> Res<T> {
    line.split(' ')
        .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {key}= in `{line}`").into())
}

fn stdin_line() -> Option<String> {
    let mut l = String::new();
    match std::io::stdin().read_line(&mut l) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(l.trim().to_owned()),
    }
}

// ---------------------------------------------------------------------------
// The roles.

fn role_main(role: &str) -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    match (role, args.as_slice()) {
        ("load", [url, name, sync_ms, rate, warm_ms, measure_ms]) => {
            let sync_ms: u64 = sync_ms.parse()?;
            let period = Duration::from_secs(1) / rate.parse::<u32>()?;
            let (warm, measure) = (
                Duration::from_millis(warm_ms.parse()?),
                Duration::from_millis(measure_ms.parse()?),
            );
            let fleet = rt.block_on(Fleet::builder(name, &CLOSED).sync_ms(sync_ms).connect(url))?;
            println!("ready");
            stdin_line().ok_or("no go")?;
            let line = rt.block_on(async {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let start = tokio::time::Instant::now();
                let mut calls = 0u64;
                let mut mark = None;
                loop {
                    tick.tick().await;
                    let now = tokio::time::Instant::now();
                    if mark.is_none() && now >= start + warm {
                        mark = Some((now, fleet.metrics().round_trips, calls));
                    }
                    if now >= start + warm + measure {
                        break;
                    }
                    let _ = fleet.call(|| Ok::<_, ()>(black_box(calls)));
                    calls += 1;
                }
                let (t0, rt0, c0) = mark.unwrap_or((start, 0, 0));
                let m = fleet.metrics();
                format!(
                    "result secs={:.3} round_trips={} calls={} attached={} store_errors={}",
                    t0.elapsed().as_secs_f64(),
                    m.round_trips - rt0,
                    calls - c0,
                    m.attached,
                    m.store_errors
                )
            });
            println!("{line}");
            stdin_line();
            Ok(())
        }
        ("trip", [url, name, sync_ms, pubsub]) => {
            let fleet = rt.block_on(latency_fleet(url, name, sync_ms, pubsub))?;
            println!("ready");
            while let Some(cmd) = stdin_line() {
                match cmd.as_str() {
                    "trip" => {
                        let gen = fleet.metrics().generation;
                        let t0 = epoch_us();
                        match fleet.try_acquire() {
                            Ok(p) => p.failure(),
                            Err(e) => {
                                println!("error not closed before the trip: {e:?}");
                                continue;
                            }
                        }
                        let published = wait_gen(&fleet, gen);
                        println!("tripped t0={t0} published={published}");
                    }
                    "reset" => {
                        let gen = fleet.metrics().generation;
                        fleet.reset();
                        let published = wait_gen(&fleet, gen);
                        println!("reset published={published}");
                    }
                    _ => break,
                }
            }
            Ok(())
        }
        ("watch", [url, name, sync_ms, pubsub]) => {
            let fleet = rt.block_on(latency_fleet(url, name, sync_ms, pubsub))?;
            println!("ready");
            // Ends with stdin.
            std::thread::spawn(|| {
                while stdin_line().is_some() {}
                std::process::exit(0);
            });
            let mut rejected = false;
            loop {
                match fleet.try_acquire() {
                    Ok(p) => {
                        p.success();
                        if rejected {
                            println!("closed t={}", epoch_us());
                            rejected = false;
                        }
                    }
                    Err(_) => {
                        if !rejected {
                            println!("rejected t1={}", epoch_us());
                            rejected = true;
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        _ => Err(format!("unknown role {role} {args:?}").into()),
    }
}

async fn latency_fleet(url: &str, name: &str, sync_ms: &str, pubsub: &str) -> Res<Fleet> {
    let mut b = Fleet::builder(name, &TRIP).sync_ms(sync_ms.parse()?);
    if pubsub == "0" {
        b = b.without_pubsub();
    }
    Ok(b.connect(url).await?)
}

/// Waits (up to 2 s) for the fleet generation to move past `gen`: the
/// change was written to the store.
fn wait_gen(fleet: &Fleet, gen: u64) -> bool {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if fleet.metrics().generation != gen {
            return true;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    false
}

// ---------------------------------------------------------------------------
// The benchmark.

fn bench_main() -> Res<()> {
    let full = std::env::args().any(|a| a == "--bench");
    let redis = redis_server()?;
    let url = redis.url.clone();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    closed_path(&mut c, &url)?;
    c.final_summary();
    let (rate, warm, measure) = if full {
        (1_000, 2_000, 10_000)
    } else {
        (100, 300, 1_000)
    };
    load(&url, rate, warm, measure, if full { 8 } else { 2 })?;
    let trips = if full { 100 } else { 3 };
    latency(&url, true, trips)?;
    latency(&url, false, trips)?;
    drop(redis);
    Ok(())
}

/// Criterion rows: the closed path with a fleet attached to a live Redis,
/// against the same configuration in a plain breaker.
fn closed_path(c: &mut Criterion, url: &str) -> Res<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let name = unique("closed");
    let fleet = rt.block_on(Fleet::builder(&name, &CLOSED).sync_ms(1_000).connect(url))?;
    if !fleet.metrics().attached {
        return Err(format!(
            "the fleet is not attached: {:?}",
            fleet.metrics().last_error
        )
        .into());
    }
    let local: Breaker<'_, StdClock, AnyPolicy, Counters> =
        Breaker::with_observer(&CLOSED, StdClock, Counters::new());
    let before = (Instant::now(), fleet.metrics().round_trips);
    let x = 7u64;
    let mut g = c.benchmark_group("fleet_closed");
    g.bench_function("local/acquire_success", |b| {
        b.iter(|| {
            let breaker = black_box(&local);
            let ok = match breaker.try_acquire() {
                Ok(p) => {
                    let r = Ok::<_, ()>(black_box(x));
                    p.success();
                    r.is_ok()
                }
                Err(_) => false,
            };
            black_box(ok)
        })
    });
    g.bench_function("fleet/acquire_success", |b| {
        b.iter(|| {
            let fleet = black_box(&fleet);
            let ok = match fleet.try_acquire() {
                Ok(p) => {
                    let r = Ok::<_, ()>(black_box(x));
                    p.success();
                    r.is_ok()
                }
                Err(_) => false,
            };
            black_box(ok)
        })
    });
    g.bench_function("local/call", |b| {
        b.iter(|| black_box(black_box(&local).call(|| Ok::<_, ()>(black_box(x))).is_ok()))
    });
    g.bench_function("fleet/call", |b| {
        b.iter(|| black_box(black_box(&fleet).call(|| Ok::<_, ()>(black_box(x))).is_ok()))
    });
    g.finish();
    let m = fleet.metrics();
    let secs = before.0.elapsed().as_secs_f64();
    println!(
        "closed path: the fleet made {} store round trips in {secs:.1} s of benchmarking ({} calls recorded; sync_ms 1000); attached={} store_errors={}",
        m.round_trips - before.1,
        m.breaker.successes,
        m.attached,
        m.store_errors
    );
    if !m.attached || m.store_errors != 0 {
        return Err("the fleet detached during the closed-path rows".into());
    }
    drop(fleet);
    forget(url, &name);
    Ok(())
}

/// Round trips per process per second, and Redis CPU, with `n` processes
/// calling at `rate` per second each, at sync_ms 1000 and 200.
fn load(url: &str, rate: u32, warm_ms: u64, measure_ms: u64, n: usize) -> Res<()> {
    // Redis alone, for reference.
    let cpu0 = redis_cpu(url)?;
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(measure_ms / 2));
    let idle = (redis_cpu(url)? - cpu0) / t.elapsed().as_secs_f64();
    println!(
        "\nload: redis-server idle: {:.3} % of one core over {:.1} s",
        idle * 100.0,
        t.elapsed().as_secs_f64()
    );
    for sync_ms in [1_000u64, 200] {
        let name = unique("load");
        let mut procs = Vec::new();
        for _ in 0..n {
            let args = [
                url.to_owned(),
                name.clone(),
                sync_ms.to_string(),
                rate.to_string(),
                warm_ms.to_string(),
                measure_ms.to_string(),
            ];
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            procs.push(Proc::spawn("load", &args)?);
        }
        for p in &procs {
            p.expect("ready", Duration::from_secs(10))?;
        }
        for p in &mut procs {
            p.send("go")?;
        }
        std::thread::sleep(Duration::from_millis(warm_ms));
        let (cpu0, t0) = (redis_cpu(url)?, Instant::now());
        std::thread::sleep(Duration::from_millis(measure_ms));
        let (cpu1, secs) = (redis_cpu(url)?, t0.elapsed().as_secs_f64());
        let mut per_process = Vec::new();
        let mut calls = 0u64;
        for p in &procs {
            let l = p.expect("result", Duration::from_secs(10))?;
            let (s, r, c): (f64, u64, u64) = (
                field(&l, "secs")?,
                field(&l, "round_trips")?,
                field(&l, "calls")?,
            );
            if field::<bool>(&l, "attached")? && field::<u64>(&l, "store_errors")? == 0 {
                per_process.push(r as f64 / s);
                calls += c;
            } else {
                return Err(format!("a load process lost the store: {l}").into());
            }
        }
        drop(procs);
        forget(url, &name);
        let mean = per_process.iter().sum::<f64>() / per_process.len() as f64;
        let max = per_process.iter().cloned().fold(0.0, f64::max);
        println!(
            "load: {n} processes, {rate} calls/s each ({calls} calls), sync_ms {sync_ms}: \
             {mean:.2} store round trips per process per second (max {max:.2}); \
             redis-server CPU {:.3} % of one core over {secs:.1} s",
            (cpu1 - cpu0) / secs * 100.0
        );
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// Trip propagation: process A trips, process B (polling its own
/// `try_acquire` every ~50 µs) is rejected; the fleet is reset between
/// trips. Both read the wall clock of one machine.
fn latency(url: &str, pubsub: bool, trips: usize) -> Res<()> {
    let name = unique("latency");
    let sync_ms = "200";
    let flag = if pubsub { "1" } else { "0" };
    let watch = Proc::spawn("watch", &[url, &name, sync_ms, flag])?;
    watch.expect("ready", Duration::from_secs(10))?;
    let mut trip = Proc::spawn("trip", &[url, &name, sync_ms, flag])?;
    trip.expect("ready", Duration::from_secs(10))?;
    let within = Duration::from_secs(3);
    let mut lat = Vec::with_capacity(trips);
    // Pauses between trips, spread over one sync period (a fixed LCG).
    let mut seed = 0x2545_f491_u32;
    for _ in 0..trips {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        std::thread::sleep(Duration::from_millis(10 + (seed >> 16) as u64 % 200));
        trip.send("trip")?;
        let l = trip.expect("tripped", within)?;
        let t0: u64 = field(&l, "t0")?;
        let w = watch.expect("rejected", within)?;
        let t1: u64 = field(&w, "t1")?;
        lat.push(t1.saturating_sub(t0) as f64 / 1_000.0);
        trip.send("reset")?;
        trip.expect("reset", within)?;
        watch.expect("closed", within)?;
    }
    drop(trip);
    drop(watch);
    forget(url, &name);
    lat.sort_by(f64::total_cmp);
    println!(
        "\nlatency ({}, sync_ms {sync_ms}, two processes): {} trips: p50 {:.2} ms, p99 {:.2} ms, min {:.2} ms, max {:.2} ms",
        if pubsub { "pub/sub" } else { "polling only" },
        lat.len(),
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        lat[0],
        lat[lat.len() - 1]
    );
    Ok(())
}
