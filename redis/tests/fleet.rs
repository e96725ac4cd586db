//! Fleet handles in one test process, each on its own connection, against
//! real Redis: propagation, probe leases, bad input, and the store's faults
//! (killed and restarted, paused past the deadline, garbage in the record).

mod common;

use std::time::Duration;

use common::*;
use halfopen::fleet::FleetRecord;
use halfopen::{Config, RejectReason, State};
use halfopen_redis::{Fleet, FleetError, FleetName, NameError};

const WAIT: Duration = Duration::from_secs(15);

fn consecutive(threshold: u32, open_ms: u32) -> &'static Config<halfopen::AnyPolicy> {
    leak(
        Config::consecutive_failures(threshold)
            .open_ms(open_ms)
            .build()
            .unwrap()
            .into_any(),
    )
}

async fn fleet(name: &str, url: &str, config: &'static Config<halfopen::AnyPolicy>) -> Fleet {
    Fleet::builder(name, config)
        .sync_ms(50)
        .deadline_ms(200)
        .lease_ms(1_000)
        .connect(url)
        .await
        .unwrap()
}

fn fail(f: &Fleet, n: usize) {
    for _ in 0..n {
        let _ = f.call(|| Err::<(), _>("down"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_propagates_and_a_probe_closes_the_fleet() {
    let url = redis_url();
    let name = unique("propagate");
    let config = consecutive(3, 300);
    let a = fleet(&name, &url, config).await;
    let b = fleet(&name, &url, config).await;
    assert!(a.metrics().attached && b.metrics().attached);
    fail(&a, 3);
    assert_eq!(a.state(), State::Open);
    eventually(WAIT, "b adopts the fleet's opening", || {
        b.state() == State::Open
    })
    .await;
    let e = b.try_acquire().err().unwrap();
    assert_eq!(e.reason(), RejectReason::Open);
    // After openMs one of them gets the lease and probes; the other waits.
    eventually(WAIT, "one handle gets the probe lease", || {
        [&a, &b].iter().any(|f| match f.try_acquire() {
            Ok(p) => {
                assert!(
                    p.is_probe(),
                    "the first permit after the open period is the probe"
                );
                p.success();
                true
            }
            Err(_) => false,
        })
    })
    .await;
    eventually(WAIT, "both adopt the fleet's closing", || {
        a.state() == State::Closed && b.state() == State::Closed
    })
    .await;
    assert!(a.metrics().generation >= 3, "{:?}", a.metrics());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_instance_probes_per_period() {
    let url = redis_url();
    let name = unique("one-probe");
    let config = consecutive(1, 200);
    let fleets = [
        fleet(&name, &url, config).await,
        fleet(&name, &url, config).await,
        fleet(&name, &url, config).await,
    ];
    fail(&fleets[0], 1);
    eventually(WAIT, "all open", || {
        fleets.iter().all(|f| f.state() == State::Open)
    })
    .await;
    // Everyone keeps asking; probes are held (not ended) to count them.
    let mut probes = Vec::new();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_millis(800) {
        for f in &fleets {
            if let Ok(p) = f.try_acquire() {
                assert!(p.is_probe());
                probes.push(p);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(probes.len(), 1, "halfOpenMaxCalls = 1 fleet-wide");
    probes.pop().unwrap().failure();
    eventually(WAIT, "the fleet re-opens with k = 1", || {
        fleets.iter().all(|f| f.state() == State::Open)
            && fleets[1].metrics().breaker.retry_at.is_some()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolate_and_reset_reach_every_instance() {
    let url = redis_url();
    let name = unique("isolate");
    let config = consecutive(5, 1_000);
    let a = fleet(&name, &url, config).await;
    let b = fleet(&name, &url, config).await;
    a.isolate();
    eventually(WAIT, "b isolated", || b.state() == State::Isolated).await;
    b.reset();
    eventually(WAIT, "a closed", || a.state() == State::Closed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_options_and_configurations_are_refused_by_name() {
    let url = redis_url();
    let config = consecutive(5, 1_000);
    let long = "x".repeat(65);
    let err = Fleet::builder(&long, config)
        .connect(&url)
        .await
        .err()
        .unwrap();
    assert_eq!(err, FleetError::Name(NameError::TooLong(65)));
    assert_eq!(err.to_string(), "breaker name is 65 bytes long: at most 64");
    for bad in ["", "a b", "a{b}", "é", "a\nb", "a*"] {
        assert!(FleetName::new(bad).is_err(), "{bad:?}");
    }
    let err = Fleet::builder("ok", config)
        .sync_ms(0)
        .connect(&url)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "fleet option syncMs = 0 is out of range 10..=2147483647"
    );
    let err = Fleet::builder("ok", config)
        .connect("http://nowhere")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, FleetError::Url(_)), "{err}");

    let name = unique("mismatch");
    let _a = fleet(&name, &url, config).await;
    let other = consecutive(5, 2_000);
    let err = Fleet::builder(&name, other)
        .connect(&url)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("(openMs: 2000 here, 1000 in the fleet)"),
        "{err}"
    );
    let rate = leak(Config::failure_rate(50, 20, 10).build().unwrap().into_any());
    let err = Fleet::builder("ok", rate)
        .count_for_fleet()
        .connect(&url)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("fleet.windowMs"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_cannot_be_reached_leaves_a_working_local_breaker() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = fleet(
        "unreachable",
        &format!("redis://127.0.0.1:{port}/"),
        consecutive(2, 60_000),
    )
    .await;
    let m = f.metrics();
    assert!(!m.attached);
    assert!(m.store_errors >= 1);
    assert!(m.last_error.is_some(), "{m:?}");
    assert_eq!(f.call(|| Ok::<_, ()>(7)).unwrap(), 7);
    fail(&f, 2);
    assert_eq!(f.state(), State::Open, "it trips locally");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_the_fleet_converges() {
    let mut redis = OwnRedis::start();
    let name = unique("killed");
    let config = consecutive(2, 60_000);
    let a = fleet(&name, &redis.url(), config).await;
    let b = fleet(&name, &redis.url(), config).await;
    redis.kill();
    // A trips while the store is gone: local decisions, no panic.
    fail(&a, 2);
    assert_eq!(a.state(), State::Open);
    assert_eq!(b.call(|| Ok::<_, ()>(1)).unwrap(), 1);
    eventually(WAIT, "a notices the store is gone", || {
        !a.metrics().attached
    })
    .await;
    redis.restart();
    eventually(
        WAIT,
        "the trip is published on return and b adopts it",
        || b.state() == State::Open,
    )
    .await;
    eventually(WAIT, "both attached again", || {
        a.metrics().attached && b.metrics().attached
    })
    .await;
    assert!(a.metrics().store_errors >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_past_the_deadline_the_fleet_converges() {
    let redis = OwnRedis::start();
    let name = unique("paused");
    let config = consecutive(2, 60_000);
    let a = fleet(&name, &redis.url(), config).await;
    let b = fleet(&name, &redis.url(), config).await;
    redis.signal("-STOP");
    fail(&a, 2);
    assert_eq!(a.state(), State::Open);
    eventually(
        WAIT,
        "a's store calls miss their deadline: a detaches",
        || {
            let m = a.metrics();
            !m.attached && m.last_error.is_some()
        },
    )
    .await;
    assert_eq!(b.call(|| Ok::<_, ()>(1)).unwrap(), 1, "b decides locally");
    redis.signal("-CONT");
    eventually(WAIT, "b adopts a's trip", || b.state() == State::Open).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_record_is_replaced_and_the_fleet_goes_on() {
    let redis = OwnRedis::start();
    let name = unique("garbage");
    let config = consecutive(2, 60_000);
    let a = fleet(&name, &redis.url(), config).await;
    let b = fleet(&name, &redis.url(), config).await;
    let key = FleetName::new(&name).unwrap().record_key().to_owned();
    for garbage in [
        vec!["HSET", &key, "record", "\u{1}\u{2}garbage"],
        vec!["HSET", &key, "gen", "minus one"],
        vec!["DEL", &key],
        vec!["SET", &key, "not a hash"],
    ] {
        redis.cli(&garbage);
        let errors = a.metrics().store_errors + b.metrics().store_errors;
        eventually(WAIT, "the record is valid again", || {
            let gen = redis.cli(&["HGET", &key, "gen"]);
            let rec = redis.cli(&["HGET", &key, "record"]);
            // Absent is valid too: a fleet nobody has written.
            (gen.is_empty() && rec.is_empty()) || FleetRecord::parse(&gen, &rec).is_ok()
        })
        .await;
        assert_eq!(a.state(), State::Closed, "{garbage:?}: {:?}", a.metrics());
        let _ = errors;
    }
    assert!(a.metrics().store_errors + b.metrics().store_errors >= 2);
    fail(&a, 2);
    eventually(WAIT, "b adopts the trip after the garbage", || {
        b.state() == State::Open
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_counts_trip_the_fleet_where_no_instance_sees_minimum_calls() {
    let url = redis_url();
    let name = unique("window");
    let config = leak(
        Config::time_window(50, 4_000, 4, 20)
            .open_ms(60_000)
            .build()
            .unwrap()
            .into_any(),
    );
    let mk = || async {
        Fleet::builder(&name, config)
            .sync_ms(50)
            .count_for_fleet()
            .connect(&url)
            .await
            .unwrap()
    };
    let fleets = [mk().await, mk().await, mk().await, mk().await];
    // 6 failures each: 24 in the fleet >= minimumCalls 20; 6 < 20 locally.
    for f in &fleets {
        fail(f, 6);
        assert_eq!(f.state(), State::Closed, "no instance trips on its own");
    }
    eventually(WAIT, "the fleet trips on its sums", || {
        fleets.iter().all(|f| f.state() == State::Open)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolate_while_the_store_is_paused_reaches_the_fleet_on_its_return() {
    let redis = OwnRedis::start();
    let name = unique("isolate-paused");
    let config = consecutive(5, 1_000);
    let a = fleet(&name, &redis.url(), config).await;
    let b = fleet(&name, &redis.url(), config).await;
    redis.signal("-STOP");
    a.isolate();
    assert_eq!(a.state(), State::Isolated, "at once, locally");
    eventually(WAIT, "a detaches", || !a.metrics().attached).await;
    redis.signal("-CONT");
    eventually(
        WAIT,
        "b adopts the isolation made while the store was away",
        || b.state() == State::Isolated,
    )
    .await;
    a.reset();
    eventually(WAIT, "b adopts the reset", || b.state() == State::Closed).await;
}
