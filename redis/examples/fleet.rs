//! A fleet of worker processes sharing one breaker through Redis, against a
//! flaky downstream, run twice: with the fleet, and with one local breaker
//! per process. Prints a merged timeline of both runs and a summary.
//!
//! ```text
//! cargo run -p halfopen-redis --example fleet
//! HALFOPEN_REDIS_URL=redis://127.0.0.1:6379/ cargo run -p halfopen-redis --example fleet
//! ```
//!
//! Without `HALFOPEN_REDIS_URL`, the example starts its own `redis-server`
//! (no persistence) on a free loopback port from 16400 up, and stops it at
//! the end. The downstream is a small TCP server in this process that
//! answers each request line `ok` or `fail`: healthy for 1.5 s, down for
//! 3 s, healthy again for 2 s; it counts every request it receives. Four
//! worker processes (this program again, `fleet worker ...`) call it at
//! different steady rates, each through its own breaker:
//! `consecutive_failures(5)`, `open_ms(500)`, one probe at a time. Each
//! worker prints what its breaker does as tab-separated lines (`event`, ms
//! since the start, worker, what happened) and its counters at the end; the
//! parent merges them into one timeline.
//!
//! Exits non-zero if a worker failed, or if the fleet did not do what it
//! promises (fewer calls reach the dead downstream than without it, at most
//! one probe per half-open period, the fleet closed after the recovery).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use halfopen::{AnyPolicy, Breaker, Config, Counters, Permit, State, StdClock};
use halfopen_redis::{Fleet, FleetPermit};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as TokioBufReader};
use tokio::net::{TcpListener, TcpStream};

/// Failures in a row that trip a breaker.
const THRESHOLD: u32 = 5;
/// The open period, in ms.
const OPEN_MS: u32 = 500;
/// How often a fleet member reads the record without a push, in ms.
const SYNC_MS: u64 = 200;
/// Worker processes.
const WORKERS: usize = 4;
/// The downstream's schedule, in ms from the start: healthy, then down
/// from `DOWN_AT` to `UP_AT`, then healthy until `END`.
const DOWN_AT: u64 = 1_500;
const UP_AT: u64 = 4_500;
const END: u64 = 6_500;

static CONFIG: LazyLock<Config<AnyPolicy>> = LazyLock::new(|| {
    Config::consecutive_failures(THRESHOLD)
        .open_ms(OPEN_MS)
        .half_open_max_calls(1)
        .success_threshold(1)
        .build()
        .expect("a valid configuration")
        .into_any()
});

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("worker") {
        worker_main(&args[1..])
    } else {
        parent_main()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet example: {e}");
            ExitCode::FAILURE
        }
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[path = "support/server.rs"]
mod server;

use server::{forget, redis_server, Res};

// ---------------------------------------------------------------------------
// The parent: redis, the downstream, the workers, the report.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Fleet,
    Local,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Fleet => "fleet",
            Mode::Local => "local",
        }
    }
}

/// One request as the downstream saw it.
#[derive(Clone, Debug)]
struct Request {
    t: u64,
    trial: bool,
    answered_ok: bool,
}

/// What one run produced.
struct Run {
    mode: Mode,
    /// (t, worker, text), from the workers, and the downstream's own lines.
    events: Vec<(u64, String, String)>,
    requests: Vec<Request>,
    /// The workers' final counters, by worker.
    done: BTreeMap<usize, BTreeMap<String, String>>,
}

fn parent_main() -> Res<()> {
    let redis = redis_server()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for mode in [Mode::Fleet, Mode::Local] {
        let name = format!("example-fleet-{}-{}", std::process::id(), epoch_ms());
        let run = rt.block_on(scenario(mode, &redis.url, &name));
        forget(&redis.url, &name);
        runs.push(run?);
    }
    drop(rt);
    let failures = report(&runs);
    drop(redis);
    if failures.is_empty() {
        println!("\nok: every check passed");
        Ok(())
    } else {
        for f in &failures {
            println!("FAILED: {f}");
        }
        Err(format!("{} check(s) failed", failures.len()).into())
    }
}

/// The workers of a run: killed if still running when dropped.
struct Workers(Vec<(Child, Option<ChildStdin>)>);

impl Drop for Workers {
    fn drop(&mut self) {
        for (c, _) in &mut self.0 {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn phase(t: u64) -> &'static str {
    if t < DOWN_AT {
        "healthy"
    } else if t < UP_AT {
        "down"
    } else {
        "recovered"
    }
}

async fn downstream(listener: TcpListener, start: Arc<AtomicU64>, log: Arc<Mutex<Vec<Request>>>) {
    while let Ok((sock, _)) = listener.accept().await {
        let (start, log) = (start.clone(), log.clone());
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut lines = TokioBufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let t = epoch_ms().saturating_sub(start.load(Relaxed));
                let ok = phase(t) != "down";
                log.lock().unwrap().push(Request {
                    t,
                    trial: line.ends_with(" trial"),
                    answered_ok: ok,
                });
                let reply: &[u8] = if ok { b"ok\n" } else { b"fail\n" };
                if w.write_all(reply).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn scenario(mode: Mode, url: &str, name: &str) -> Res<Run> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let start = Arc::new(AtomicU64::new(u64::MAX));
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(downstream(listener, start.clone(), log.clone()));

    let exe = std::env::current_exe()?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String)>();
    let mut workers = Workers(Vec::new());
    for id in 0..WORKERS {
        let mut child = Command::new(&exe)
            .args(["worker", &id.to_string(), mode.arg(), url, name])
            .arg(addr.to_string())
            .arg(interval_ms(id).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        let stdin = child.stdin.take();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((id, line)).is_err() {
                    break;
                }
            }
        });
        workers.0.push((child, stdin));
    }
    drop(tx);

    // Every worker connected (to Redis and the downstream): go.
    let mut ready = 0;
    let wait = tokio::time::timeout(Duration::from_secs(10), async {
        while ready < WORKERS {
            match rx.recv().await {
                Some((_, l)) if l == "ready" => ready += 1,
                Some((id, l)) => eprintln!("worker {id}: {l}"),
                None => break,
            }
        }
    })
    .await;
    if wait.is_err() || ready < WORKERS {
        return Err(format!("{mode:?} run: only {ready} of {WORKERS} workers got ready").into());
    }
    let t0 = epoch_ms();
    start.store(t0, Relaxed);
    for (_, stdin) in &mut workers.0 {
        if let Some(s) = stdin {
            writeln!(s, "go {t0}")?;
        }
    }

    let mut events = vec![
        (DOWN_AT, "downstream".to_owned(), "goes down".to_owned()),
        (
            UP_AT,
            "downstream".to_owned(),
            "is healthy again".to_owned(),
        ),
    ];
    let mut done = BTreeMap::new();
    let collect = tokio::time::timeout(Duration::from_millis(END + 10_000), async {
        while let Some((id, line)) = rx.recv().await {
            // event TAB ms-since-start TAB worker TAB text; done TAB counters.
            let mut parts = line.splitn(4, '\t');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("event"), Some(t), Some(who), Some(text)) => {
                    events.push((t.parse().unwrap_or(0), who.to_owned(), text.to_owned()))
                }
                (Some("done"), Some(kv), _, _) => {
                    let kv = kv
                        .split(' ')
                        .filter_map(|p| p.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    done.insert(id, kv);
                }
                _ => eprintln!("worker {id}: {line}"),
            }
        }
    })
    .await;
    server.abort();
    if collect.is_err() {
        return Err(format!("{mode:?} run: workers did not finish in time").into());
    }
    for (id, (c, _)) in workers.0.iter_mut().enumerate() {
        let status = c.wait()?;
        if !status.success() {
            return Err(format!("{mode:?} run: worker {id} exited with {status}").into());
        }
    }
    events.sort_by_key(|e| e.0);
    let requests = log.lock().unwrap().clone();
    Ok(Run {
        mode,
        events,
        requests,
        done,
    })
}

/// Worker `id` calls every this many ms (different rates: one busy
/// process, three quieter ones).
fn interval_ms(id: usize) -> u64 {
    10 + 15 * id as u64
}

fn sum(run: &Run, key: &str) -> u64 {
    run.done
        .values()
        .filter_map(|kv| kv.get(key)?.parse::<u64>().ok())
        .sum()
}

/// Prints both timelines and the summary; returns the checks that failed.
fn report(runs: &[Run]) -> Vec<String> {
    let mut failures = Vec::new();
    for run in runs {
        let title = match run.mode {
            Mode::Fleet => {
                format!("{WORKERS} processes, one fleet breaker (sync {SYNC_MS} ms + pub/sub)")
            }
            Mode::Local => format!("{WORKERS} processes, one local breaker each (no fleet)"),
        };
        println!("\n== {title}");
        println!("{:>7}  {:<10}  event", "t (ms)", "who");
        for (t, who, text) in &run.events {
            println!("{t:>7}  {who:<10}  {text}");
        }
        if run.done.len() != WORKERS {
            failures.push(format!(
                "{:?} run: {} of {WORKERS} workers reported",
                run.mode,
                run.done.len()
            ));
        }
    }

    let down = |run: &Run| -> (usize, Vec<u64>) {
        let calls: Vec<&Request> = run
            .requests
            .iter()
            .filter(|r| phase(r.t) == "down")
            .collect();
        let trials = calls.iter().filter(|r| r.trial).map(|r| r.t).collect();
        (calls.len(), trials)
    };
    let periods = (UP_AT - DOWN_AT) as f64 / OPEN_MS as f64;
    println!("\n== summary (counted by the downstream, except where said)");
    println!("{:<56}{:>12}{:>16}", "", "with fleet", "local only");
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let col = |f: &dyn Fn(&Run) -> String| -> (String, String) { (f(&runs[0]), f(&runs[1])) };
    let mut row = |label: &str, f: &dyn Fn(&Run) -> String| {
        let (a, b) = col(f);
        rows.push((label.to_owned(), a, b));
    };
    for p in ["healthy", "down", "recovered"] {
        row(&format!("requests received while {p}"), &|r| {
            r.requests
                .iter()
                .filter(|q| phase(q.t) == p)
                .count()
                .to_string()
        });
    }
    row("  while down: probes (fleet) / trials (local)", &|r| {
        down(r).1.len().to_string()
    });
    row(
        &format!("  probes or trials per {OPEN_MS} ms open period ({periods:.0} while down)"),
        &|r| format!("{:.1}", down(r).1.len() as f64 / periods),
    );
    row("  while down: failures before every breaker opened", &|r| {
        let (n, trials) = down(r);
        (n - trials.len()).to_string()
    });
    row("calls rejected by the breakers (workers' count)", &|r| {
        sum(r, "rejected").to_string()
    });
    row("first call answered ok after the recovery (ms)", &|r| {
        r.requests
            .iter()
            .filter(|q| q.t >= UP_AT && q.answered_ok)
            .map(|q| q.t.to_string())
            .next()
            .unwrap_or_else(|| "-".into())
    });
    row(
        "store round trips, all workers (workers' count)",
        &|r| match r.mode {
            Mode::Fleet => sum(r, "round_trips").to_string(),
            Mode::Local => "-".into(),
        },
    );
    row(
        "pushes received, all workers (workers' count)",
        &|r| match r.mode {
            Mode::Fleet => sum(r, "pushes").to_string(),
            Mode::Local => "-".into(),
        },
    );
    for (label, a, b) in rows {
        println!("{label:<56}{a:>12}{b:>16}");
    }
    println!(
        "(without a fleet every breaker needs its own {THRESHOLD} failures: up to {} in all)",
        WORKERS as u32 * THRESHOLD
    );

    let (fleet_down, fleet_probes) = down(&runs[0]);
    let (local_down, _) = down(&runs[1]);
    if fleet_down >= local_down {
        failures.push(format!(
            "the fleet let {fleet_down} calls reach the dead downstream, no fewer than local breakers ({local_down})"
        ));
    }
    // One probe per half-open period: probes are at least an open period
    // apart (half of one, to allow for scheduling).
    for w in fleet_probes.windows(2) {
        if w[1] - w[0] < OPEN_MS as u64 / 2 {
            failures.push(format!(
                "two probes reached the downstream {} ms apart (at {} and {} ms): more than one in a half-open period",
                w[1] - w[0],
                w[0],
                w[1]
            ));
        }
    }
    for run in runs {
        for (id, kv) in &run.done {
            if kv.get("state").map(String::as_str) != Some("closed") {
                failures.push(format!(
                    "{:?} run: worker {id} ended {}, not closed",
                    run.mode,
                    kv.get("state").map(String::as_str).unwrap_or("?")
                ));
            }
            if run.mode == Mode::Fleet && kv.get("store_errors").map(String::as_str) != Some("0") {
                failures.push(format!(
                    "fleet run: worker {id} saw store errors: {}",
                    kv.get("store_errors").map(String::as_str).unwrap_or("?")
                ));
            }
        }
    }
    failures
}

// ---------------------------------------------------------------------------
// A worker process.

type LocalBreaker = Breaker<'static, StdClock, AnyPolicy, Counters>;

enum Guard {
    Fleet(Fleet),
    Local(Box<LocalBreaker>),
}

enum AnyPermit<'a> {
    Fleet(FleetPermit<'a>),
    Local(Permit<'a, 'static, StdClock, AnyPolicy, Counters>),
}

impl AnyPermit<'_> {
    fn is_trial(&self) -> bool {
        match self {
            Self::Fleet(p) => p.is_probe(),
            Self::Local(p) => p.is_trial(),
        }
    }
    fn record(self, ok: bool) {
        match (self, ok) {
            (Self::Fleet(p), true) => p.success(),
            (Self::Fleet(p), false) => p.failure(),
            (Self::Local(p), true) => p.success(),
            (Self::Local(p), false) => p.failure(),
        }
    }
}

impl Guard {
    fn acquire(&self) -> Option<AnyPermit<'_>> {
        match self {
            Self::Fleet(f) => f.try_acquire().ok().map(AnyPermit::Fleet),
            Self::Local(b) => b.try_acquire().ok().map(AnyPermit::Local),
        }
    }
    fn state(&self) -> State {
        match self {
            Self::Fleet(f) => f.breaker().recorded_state(),
            Self::Local(b) => b.recorded_state(),
        }
    }
    fn generation(&self) -> Option<u64> {
        match self {
            Self::Fleet(f) => Some(f.metrics().generation),
            Self::Local(_) => None,
        }
    }
}

/// Closed, or not (open and half-open alike: the breaker does not let
/// ordinary calls through).
fn is_open(s: State) -> bool {
    s != State::Closed
}

/// What the worker last reported, shared by the calling loop and the
/// watcher that notices adopted changes.
struct Tracker {
    id: usize,
    open: bool,
    rejected_while_open: u64,
    start: u64,
}

impl Tracker {
    fn event(&self, text: &str) {
        let t = epoch_ms().saturating_sub(self.start);
        println!("event\t{t}\tw{}\t{text}", self.id);
    }
}

/// The fleet's own log lines (store errors, reconnections), to stderr.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("{} {}", r.level(), r.args());
        }
    }
    fn flush(&self) {}
}

fn worker_main(args: &[String]) -> Res<()> {
    if log::set_logger(&StderrLog).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    let [id, mode, url, name, addr, interval] = args else {
        return Err("usage: fleet worker ID fleet|local REDIS_URL NAME ADDR INTERVAL_MS".into());
    };
    let id: usize = id.parse()?;
    let addr: SocketAddr = addr.parse()?;
    let interval = Duration::from_millis(interval.parse()?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let guard = match mode.as_str() {
            "fleet" => Guard::Fleet(
                Fleet::builder(name, &CONFIG)
                    .sync_ms(SYNC_MS)
                    .connect(url)
                    .await?,
            ),
            _ => Guard::Local(Box::new(Breaker::with_observer(&CONFIG, StdClock, Counters::new()))),
        };
        let sock = TcpStream::connect(addr).await?;
        sock.set_nodelay(true)?;
        let (r, mut w) = sock.into_split();
        let mut replies = TokioBufReader::new(r).lines();
        println!("ready");

        // Blocking on stdin off the runtime: the fleet's tasks keep running.
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await??;
        let start: u64 = line
            .strip_prefix("go ")
            .and_then(|s| s.trim().parse().ok())
            .ok_or("expected `go START_MS` on stdin")?;
        let end = start + END;
        let guard = Arc::new(guard);
        let tracker = Arc::new(Mutex::new(Tracker {
            id,
            open: false,
            rejected_while_open: 0,
            start,
        }));

        // The watcher: changes this process did not cause (adopted from
        // the fleet), noticed within a millisecond.
        let watcher = {
            let (guard, tracker) = (guard.clone(), tracker.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    let mut tr = tracker.lock().unwrap();
                    let open = is_open(guard.state());
                    if open != tr.open {
                        let gen = guard.generation().unwrap_or(0);
                        if open {
                            tr.event(&format!("adopted open (fleet generation {gen})"));
                        } else {
                            tr.event(&format!(
                                "adopted closed (fleet generation {gen}); {} calls rejected while open",
                                tr.rejected_while_open
                            ));
                            tr.rejected_while_open = 0;
                        }
                        tr.open = open;
                    }
                }
            })
        };

        let wait = start.saturating_sub(epoch_ms());
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut calls, mut ok, mut failed, mut rejected, mut trials) = (0u64, 0u64, 0u64, 0u64, 0u64);
        // Failures in a row this process saw: a breaker that opens on the
        // THRESHOLD-th tripped itself; one that opens earlier adopted the
        // fleet's trip while its own call was under way.
        let mut run = 0u32;
        while epoch_ms() < end {
            tick.tick().await;
            calls += 1;
            let Some(permit) = guard.acquire() else {
                rejected += 1;
                tracker.lock().unwrap().rejected_while_open += 1;
                continue;
            };
            let trial = permit.is_trial();
            let tag = if trial { "trial" } else { "call" };
            w.write_all(format!("{id} {tag}\n").as_bytes()).await?;
            let reply = replies.next_line().await?.ok_or("downstream closed")?;
            let good = reply == "ok";
            if good {
                ok += 1;
                run = 0;
            } else {
                failed += 1;
                run += 1;
            }
            let mut tr = tracker.lock().unwrap();
            permit.record(good);
            let open = is_open(guard.state());
            let what = match &*guard {
                Guard::Fleet(_) => "probe",
                Guard::Local(_) => "trial",
            };
            if trial {
                trials += 1;
                if good {
                    tr.event(&format!(
                        "{what} ok: closed; {} calls rejected while open",
                        tr.rejected_while_open
                    ));
                    tr.rejected_while_open = 0;
                } else {
                    tr.event(&format!("{what} failed: open again"));
                }
            } else if open && !tr.open {
                if run >= THRESHOLD {
                    tr.event(&format!("tripped after {run} failures in a row"));
                } else {
                    let gen = guard.generation().unwrap_or(0);
                    tr.event(&format!(
                        "adopted open (fleet generation {gen}) after {run} failure(s) of its own"
                    ));
                }
            }
            tr.open = open;
        }
        watcher.abort();
        let state = match guard.state() {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "halfOpen",
            State::Isolated => "isolated",
        };
        let mut kv = format!(
            "calls={calls} ok={ok} failed={failed} rejected={rejected} trials={trials} state={state}"
        );
        if let Guard::Fleet(f) = &*guard {
            let m = f.metrics();
            kv += &format!(
                " round_trips={} pushes={} syncs={} store_errors={} attached={}",
                m.round_trips, m.pushes, m.syncs, m.store_errors, m.attached
            );
        }
        println!("done\t{kv}");
        Ok(())
    })
}
