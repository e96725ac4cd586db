//! The tower layer: services called through it, responses classified,
//! rejections typed with their retry-after, dropped calls give their permit
//! back.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use halfopen::{CallError, Config, MockClock, Outcome, RejectReason, State};
use halfopen_service::{Breakers, ErrorsFail};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};

fn clock() -> &'static MockClock {
    Box::leak(Box::new(MockClock::new(0)))
}

fn status(code: u16) -> http::Response<()> {
    http::Response::builder().status(code).body(()).unwrap()
}

/// A service that answers each request with the status in its URI path.
fn echo_status() -> impl Service<
    http::Request<()>,
    Response = http::Response<()>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<http::Response<()>, Infallible>> + Send,
> + Clone {
    service_fn(|req: http::Request<()>| async move {
        let code: u16 = req.uri().path()[1..].parse().unwrap();
        Ok::<_, Infallible>(status(code))
    })
}

fn get(code: u16) -> http::Request<()> {
    http::Request::get(format!("/{code}")).body(()).unwrap()
}

#[tokio::test]
async fn server_errors_fail_client_errors_are_ignored() {
    let config = Config::consecutive_failures(3)
        .open_ms(10_000)
        .build()
        .unwrap();
    let breakers = Breakers::with_clock(config, clock());
    let mut svc = ServiceBuilder::new()
        .layer(breakers.layer("api"))
        .service(echo_status());

    for code in [500, 404, 429, 502, 200, 503, 503, 400] {
        let r = svc.ready().await.unwrap().call(get(code)).await.unwrap();
        assert_eq!(r.status(), code);
    }
    let b = breakers.get("api");
    let m = b.metrics();
    assert_eq!((m.successes, m.failures, m.ignored), (1, 4, 3));
    assert_eq!(m.state, State::Closed);

    // The third 5xx in a row trips: the next call is rejected, typed, with
    // its retry-after, and the inner service is not called.
    let r = svc.ready().await.unwrap().call(get(500)).await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(b.state(), State::Open);
    let Err(CallError::Rejected(rejected)) = svc.ready().await.unwrap().call(get(200)).await else {
        panic!("not rejected");
    };
    assert_eq!(rejected.reason(), RejectReason::Open);
    assert_eq!(rejected.retry_after_ms(), Some(10_000));
    assert_eq!(
        rejected.to_string(),
        "circuit open: call rejected, retry in 10000 ms"
    );
    assert_eq!(b.metrics().rejected, 1);
}

#[tokio::test]
async fn errors_of_the_inner_service_are_failures_and_typed() {
    let config = Config::consecutive_failures(2).build().unwrap();
    let breakers = Breakers::with_clock(config, clock());
    let inner = service_fn(|fail: bool| async move {
        if fail {
            Err("connection refused")
        } else {
            Ok(1)
        }
    });
    let mut svc = breakers.layer("db").classify(ErrorsFail).layer(inner);
    assert_eq!(svc.ready().await.unwrap().call(false).await, Ok(1));
    assert_eq!(
        svc.ready().await.unwrap().call(true).await,
        Err(CallError::Inner("connection refused"))
    );
    let _ = svc.ready().await.unwrap().call(true).await;
    assert_eq!(breakers.get("db").state(), State::Open);
}

#[tokio::test]
async fn a_closure_classifies() {
    let config = Config::consecutive_failures(1).build().unwrap();
    let breakers = Breakers::with_clock(config, clock());
    // An empty body is a failure, whatever the status.
    let layer = breakers.layer("search").classify(
        |r: &Result<http::Response<String>, Infallible>| match r {
            Ok(r) if r.body().is_empty() => Outcome::Failure,
            _ => Outcome::Success,
        },
    );
    let mut svc = layer.layer(service_fn(|body: String| async move {
        Ok::<_, Infallible>(http::Response::new(body))
    }));
    let _ = svc.ready().await.unwrap().call("hits".into()).await;
    assert_eq!(breakers.get("search").state(), State::Closed);
    let _ = svc.ready().await.unwrap().call(String::new()).await;
    assert_eq!(breakers.get("search").state(), State::Open);
}

#[tokio::test]
async fn a_dropped_call_gives_its_trial_slot_back() {
    let clock = clock();
    let config = Config::consecutive_failures(1)
        .open_ms(100)
        .build()
        .unwrap();
    let breakers = Breakers::with_clock(config, clock);
    let mut svc = breakers.layer("api").layer(echo_status());
    let _ = svc.ready().await.unwrap().call(get(500)).await;
    clock.advance(100);

    // A trial call whose future never completes, then is dropped.
    let mut never = breakers
        .layer("api")
        .layer(service_fn(|_: http::Request<()>| {
            std::future::pending::<Result<http::Response<()>, Infallible>>()
        }));
    let mut trial = never.ready().await.unwrap().call(get(200));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut trial).poll(&mut cx).is_pending());
    let b = breakers.get("api");
    assert_eq!(b.state(), State::HalfOpen);
    let Err(CallError::Rejected(full)) = svc.ready().await.unwrap().call(get(200)).await else {
        panic!("not rejected");
    };
    assert_eq!(full.reason(), RejectReason::HalfOpenFull);
    drop(trial);

    // The slot is free again: the next trial runs and closes the breaker.
    let r = svc.ready().await.unwrap().call(get(200)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().successes, 1);
}
