//! Separate processes sharing one breaker name, against a downstream that
//! counts what reaches it: on one Redis and on the 3-master cluster. Each
//! worker is this test binary started again (`worker` below, which does
//! nothing unless `HALFOPEN_FLEET_WORKER` is set), with its own connection
//! and breaker.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use halfopen::{Config, State};
use halfopen_redis::Fleet;
use std::sync::atomic::Ordering::Relaxed;

const WORKERS: usize = 4;
const THRESHOLD: u32 = 5;

/// What a worker reads from its environment.
struct Job {
    urls: Vec<String>,
    name: String,
    downstream: String,
    mode: String,
    run_ms: u64,
    /// The pause between two calls: processes of a fleet do not all see the
    /// same load.
    pause_ms: u64,
}

#[test]
fn worker() {
    let Ok(mode) = std::env::var("HALFOPEN_FLEET_WORKER") else {
        return; // An ordinary test run: not a worker.
    };
    let var = |k: &str| std::env::var(k).unwrap();
    let job = Job {
        urls: var("HALFOPEN_FLEET_URLS")
            .split(',')
            .map(str::to_owned)
            .collect(),
        name: var("HALFOPEN_FLEET_NAME"),
        downstream: var("HALFOPEN_FLEET_DOWNSTREAM"),
        mode,
        run_ms: var("HALFOPEN_FLEET_RUN_MS").parse().unwrap(),
        pause_ms: var("HALFOPEN_FLEET_PAUSE_MS").parse().unwrap(),
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(work(job));
}

async fn work(job: Job) {
    let config = leak(
        Config::consecutive_failures(THRESHOLD)
            .open_ms(400)
            .build()
            .unwrap()
            .into_any(),
    );
    let builder = Fleet::builder(&job.name, config)
        .sync_ms(100)
        .lease_ms(2_000);
    let fleet = match job.mode.as_str() {
        "fleet" => Some(builder.connect(&job.urls[0]).await.unwrap()),
        #[cfg(feature = "cluster")]
        "cluster" => {
            let urls: Vec<&str> = job.urls.iter().map(String::as_str).collect();
            Some(builder.connect_cluster(&urls).await.unwrap())
        }
        _ => None,
    };
    let local = halfopen::Breaker::new(config, halfopen::StdClock);
    println!("READY");
    let start = Instant::now();
    let mut last = State::Closed;
    while start.elapsed() < Duration::from_millis(job.run_ms) {
        let r = match &fleet {
            Some(f) => f
                .call_async(request(&job.downstream))
                .await
                .map(|_| ())
                .map_err(|_| ()),
            None => local
                .call_async(request(&job.downstream))
                .await
                .map(|_| ())
                .map_err(|_| ()),
        };
        let _ = r;
        let state = fleet.as_ref().map_or_else(|| local.state(), |f| f.state());
        if state != last {
            println!("STATE {} {}", start.elapsed().as_millis(), state.as_str());
            last = state;
        }
        tokio::time::sleep(Duration::from_millis(job.pause_ms)).await;
    }
    let state = fleet.as_ref().map_or_else(|| local.state(), |f| f.state());
    let (attached, errors) = fleet.as_ref().map_or((false, 0), |f| {
        (f.metrics().attached, f.metrics().store_errors)
    });
    println!(
        "END {} attached={attached} store_errors={errors}",
        state.as_str()
    );
}

fn spawn(
    mode: &str,
    urls: &[String],
    name: &str,
    downstream: &str,
    run_ms: u64,
    pause_ms: u64,
) -> Child {
    Command::new(&*SELF_EXE)
        .args(["worker", "--exact", "--nocapture", "--test-threads=1"])
        .env("HALFOPEN_FLEET_WORKER", mode)
        .env("HALFOPEN_FLEET_URLS", urls.join(","))
        .env("HALFOPEN_FLEET_NAME", name)
        .env("HALFOPEN_FLEET_DOWNSTREAM", downstream)
        .env("HALFOPEN_FLEET_RUN_MS", run_ms.to_string())
        .env("HALFOPEN_FLEET_PAUSE_MS", pause_ms.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `WORKERS` processes, calling every 2, 17, 32 and 47 ms (uneven
/// load, as in a real fleet: with the same load everywhere and the same
/// moment of failure, every process reaches a consecutive-failure threshold
/// before any trip can propagate, fleet or not). The downstream is up for 0.5 s, down for 3 s,
/// then up again. Returns the requests each group of the down phase saw
/// (the first group: calls before the fleet rejected; each later one: a
/// half-open period's probes) and each worker's output.
async fn scenario(mode: &str, urls: &[String]) -> (Vec<usize>, Vec<String>) {
    let downstream = Downstream::start().await;
    let name = unique(mode);
    let run_ms = 6_000;
    let children: Vec<Child> = (0..WORKERS)
        .map(|i| {
            spawn(
                mode,
                urls,
                &name,
                &downstream.addr,
                run_ms,
                2 + 15 * i as u64,
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    downstream.up.store(false, Relaxed);
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    downstream.up.store(true, Relaxed);
    let outputs: Vec<String> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success(), "a worker failed: {out:?}");
                String::from_utf8(out.stdout).unwrap()
            })
            .collect()
    })
    .await
    .unwrap();
    (downstream.down_groups(Duration::from_millis(150)), outputs)
}

async fn fleet_behaves_as_one_breaker(mode: &str, urls: Vec<String>) {
    let (fleet, outputs) = scenario(mode, &urls).await;
    let (local, _) = scenario("local", &urls).await;
    println!("calls that reached the dead downstream before every process rejected: fleet {} ({mode}), {WORKERS} independent breakers {}", fleet[0], local[0]);
    println!(
        "probes per half-open period: fleet {:?}, independent breakers {:?}",
        &fleet[1..],
        &local[1..]
    );
    assert!(
        local[0] >= WORKERS * THRESHOLD as usize,
        "independent breakers: each trips on its own: {local:?}"
    );
    assert!(
        fleet[0] < WORKERS * THRESHOLD as usize,
        "the fleet trips as one: {} calls, against {} for independent breakers",
        fleet[0],
        local[0]
    );
    assert!(
        fleet.len() >= 2,
        "the fleet probed while the downstream was down: {fleet:?}"
    );
    for (i, probes) in fleet[1..].iter().enumerate() {
        assert!(
            *probes <= 1,
            "half-open period {i}: {probes} probes (halfOpenMaxCalls 1)"
        );
    }
    for out in &outputs {
        assert!(out.contains("STATE"), "{out}");
        let end = out.lines().find(|l| l.starts_with("END")).expect(out);
        assert!(
            end.starts_with("END closed attached=true"),
            "every process adopts the closing: {end}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_trip_probe_and_close_as_one() {
    fleet_behaves_as_one_breaker("fleet", vec![redis_url()]).await;
}

#[cfg(feature = "cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_the_cluster_trip_probe_and_close_as_one() {
    fleet_behaves_as_one_breaker("cluster", cluster_urls()).await;
}

/// A process killed while it holds the probe lease: the lease ends, and
/// another instance probes and closes the fleet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_killed_with_its_lease_is_taken_over() {
    let url = redis_url();
    let name = unique("killed-probe");
    let mut child = Command::new(&*SELF_EXE)
        .args([
            "worker_holding_a_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HALFOPEN_FLEET_PROBE_HOLDER", &name)
        .env("HALFOPEN_FLEET_URLS", &url)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.ends_with("PROBING"))
    })
    .await
    .unwrap();
    assert!(line.is_some(), "the worker took the probe lease");
    child.kill().unwrap();
    child.wait().unwrap();
    let config = probe_config();
    let f = Fleet::builder(&name, config)
        .sync_ms(50)
        .lease_ms(500)
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(f.state(), State::Open);
    eventually(
        Duration::from_secs(15),
        "another instance gets a lease and probes",
        || match f.try_acquire() {
            Ok(p) => {
                assert!(p.is_probe());
                p.success();
                true
            }
            Err(_) => false,
        },
    )
    .await;
    eventually(Duration::from_secs(15), "the fleet closes", || {
        f.state() == State::Closed
    })
    .await;
}

fn probe_config() -> &'static Config<halfopen::AnyPolicy> {
    leak(
        Config::consecutive_failures(1)
            .open_ms(100)
            .build()
            .unwrap()
            .into_any(),
    )
}

#[test]
fn worker_holding_a_probe() {
    let Ok(name) = std::env::var("HALFOPEN_FLEET_PROBE_HOLDER") else {
        return;
    };
    let url = std::env::var("HALFOPEN_FLEET_URLS").unwrap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let f = Fleet::builder(&name, probe_config())
                .sync_ms(50)
                .lease_ms(500)
                .connect(&url)
                .await
                .unwrap();
            let _ = f.call(|| Err::<(), _>("down"));
            loop {
                if let Ok(p) = f.try_acquire() {
                    assert!(p.is_probe());
                    println!("PROBING");
                    std::mem::forget(p);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_secs(3_600)).await;
        });
}
