//! `Breakers`: configurations loaded from a TOML file, get-or-create with a
//! default or a preset, `execute`, and the health report as JSON.

use std::collections::HashMap;

use halfopen::{presets, AnyPolicy, CallError, Config, Health, MockClock, State};
use halfopen_service::{Breakers, ConfigureError};

fn clock() -> &'static MockClock {
    Box::leak(Box::new(MockClock::new(1_000)))
}

fn from_file() -> HashMap<String, Config<AnyPolicy>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/breakers.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn names_take_their_file_configuration_a_preset_or_the_default() {
    let breakers = Breakers::with_clock(presets::HTTP_API, clock());
    breakers.configure_all(from_file()).unwrap();

    assert_eq!(breakers.get("payments").config().open_ms(), 60_000);
    // The file wins over a preset named in code.
    assert_eq!(
        breakers
            .get_or_create("search", presets::HIGH_VOLUME)
            .config()
            .open_ms(),
        5_000
    );
    // A preset for a name the file does not know.
    let db = breakers.get_or_create("db", presets::DATABASE);
    assert_eq!(*db.config(), presets::DATABASE.into_any());
    // The default for any other name; the same breaker every time.
    let other = breakers.get("other");
    assert_eq!(*other.config(), presets::HTTP_API.into_any());
    assert!(std::sync::Arc::ptr_eq(&other, &breakers.get("other")));

    // A breaker's configuration never changes once it is in use.
    assert_eq!(
        breakers.configure("payments", presets::DATABASE),
        Err(ConfigureError::AlreadyCreated {
            name: "payments".into()
        })
    );
    assert_eq!(
        breakers
            .configure("payments", presets::DATABASE)
            .unwrap_err()
            .to_string(),
        "breaker payments exists already: configure it before its first use"
    );
}

#[test]
fn a_bad_file_is_refused_naming_the_key() {
    let err = toml::from_str::<HashMap<String, Config<AnyPolicy>>>(
        "[payments]\ntrip = { consecutiveFailures = 0 }\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("consecutiveFailures = 0 is out of range 1..=65535"),
        "{err}"
    );
}

#[test]
fn execute_and_the_health_report() {
    let clock = clock();
    let breakers = Breakers::with_clock(presets::HTTP_API, clock);
    breakers.configure_all(from_file()).unwrap();

    assert_eq!(breakers.execute("search", || Ok::<_, ()>(1)), Ok(1));
    assert_eq!(breakers.execute("payments", || Ok::<_, ()>(1)), Ok(1));
    clock.advance(500);
    for _ in 0..2 {
        assert_eq!(
            breakers.execute("payments", || Err::<(), _>("502")),
            Err(CallError::Inner("502"))
        );
    }
    let r = breakers.execute("payments", || Ok::<_, ()>(()));
    assert!(matches!(r, Err(CallError::Rejected(_))));

    let report = breakers.report();
    assert_eq!(report.health, Health::Critical);
    assert_eq!(report.degraded, ["payments"]);
    let payments = &report.breakers[0];
    assert_eq!(payments.name, "payments");
    assert_eq!(payments.state, State::Open);
    assert_eq!(payments.calls, 3);
    assert_eq!(payments.success_rate_percent, Some(33));
    assert_eq!(payments.state_since_ms, 1_500);
    assert_eq!(payments.retry_after_ms, Some(60_000));
    assert_eq!(payments.recovery_attempts, 0);

    // A recovery attempt that fails, then one that closes.
    clock.advance(60_000);
    let _ = breakers.execute("payments", || Err::<(), _>("502"));
    clock.advance(120_000);
    assert_eq!(breakers.execute("payments", || Ok::<_, ()>(2)), Ok(2));
    let report = breakers.report();
    assert_eq!(report.health, Health::Healthy);
    assert!(report.degraded.is_empty());
    assert_eq!(report.breakers[0].recovery_attempts, 2);
    assert_eq!(report.breakers[0].state_since_ms, 181_500);

    // As JSON, for a /health endpoint.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["health"], "healthy");
    assert_eq!(json["breakers"][0]["name"], "payments");
    assert_eq!(json["breakers"][0]["state"], "closed");
    assert_eq!(json["breakers"][0]["recoveryAttempts"], 2);
    assert_eq!(json["breakers"][0]["successRatePercent"], 40);
    assert_eq!(json["breakers"][0]["metrics"]["transitions"], 5);
    assert_eq!(json["breakers"][1]["name"], "search");
    assert_eq!(json["breakers"][1]["retryAfterMs"], serde_json::Value::Null);
}

#[tokio::test]
async fn execute_async() {
    let breakers = Breakers::with_clock(presets::CRITICAL_SERVICE, clock());
    assert_eq!(
        breakers.execute_async("kv", async { Ok::<_, ()>(3) }).await,
        Ok(3)
    );
    for _ in 0..2 {
        let _ = breakers
            .execute_async("kv", async { Err::<(), _>(()) })
            .await;
    }
    assert_eq!(breakers.get("kv").state(), State::Open);
}
