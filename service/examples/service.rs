//! A service that calls a flaky upstream through the breaker's tower layer,
//! serves `/metrics` (Prometheus text) and `/health` (JSON of every
//! breaker), and logs transitions with tracing.
//!
//! ```sh
//! cargo run -p halfopen-service --example service   # then: curl localhost:3000/price
//! ```
//!
//! The upstream is down for 10 s of every 30: watch `/price` fail five
//! times, the breaker open (`/price` answers 503 with `Retry-After` at once,
//! without calling the upstream), `/health` say which downstream is
//! degraded, and the breaker close again after its open period.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use halfopen::{presets, CallError};
use halfopen_service::{prometheus, BreakerService, Breakers, DURATION_BUCKETS};
use tower::{Layer, Service, ServiceExt};

/// The upstream: answers 503 while `down` is set, else 200 with a price.
#[derive(Clone)]
pub struct Upstream {
    pub down: Arc<AtomicBool>,
}

impl Service<http::Request<()>> for Upstream {
    type Response = http::Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        let (status, body) = if self.down.load(Ordering::Relaxed) {
            (503, "")
        } else {
            (200, "42")
        };
        let response = http::Response::builder().status(status).body(body.into());
        ready(Ok(response.unwrap_or_default()))
    }
}

#[derive(Clone)]
pub struct App {
    breakers: Arc<Breakers>,
    upstream: BreakerService<Upstream>,
    metrics: Arc<prometheus_client::registry::Registry>,
}

/// The service's routes, with the upstream behind the breaker `upstream`.
pub fn app(breakers: Arc<Breakers>, upstream: Upstream) -> Router {
    let mut metrics = prometheus_client::registry::Registry::default();
    prometheus::register(&mut metrics, Arc::clone(&breakers));
    let upstream = breakers.layer("upstream").layer(upstream);
    let state = App {
        breakers,
        upstream,
        metrics: Arc::new(metrics),
    };
    Router::new()
        .route("/price", get(price))
        .route("/metrics", get(metrics_text))
        .route("/health", get(health))
        .with_state(state)
}

async fn price(State(app): State<App>) -> Response {
    let reply = match app.upstream.clone().ready().await {
        Ok(upstream) => upstream.call(http::Request::new(())).await,
        Err(e) => Err(e),
    };
    match reply {
        Ok(r) if r.status().is_success() => r.into_body().into_response(),
        Ok(r) => (
            StatusCode::BAD_GATEWAY,
            format!("upstream answered {}", r.status()),
        )
            .into_response(),
        Err(CallError::Rejected(rejected)) => {
            let seconds = rejected.retry_after_ms().map_or(1, |ms| ms.div_ceil(1_000));
            let mut response =
                (StatusCode::SERVICE_UNAVAILABLE, rejected.to_string()).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

async fn metrics_text(State(app): State<App>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &app.metrics) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn health(State(app): State<App>) -> Json<halfopen_service::HealthReport> {
    Json(app.breakers.report())
}

/// Sets `down` for 10 s of every 30.
async fn flap(down: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    for n in 0u64.. {
        tick.tick().await;
        down.store(n % 3 == 1, Ordering::Relaxed);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().init();
    let breakers = Arc::new(Breakers::new(presets::HTTP_API).timed(DURATION_BUCKETS));
    let down = Arc::new(AtomicBool::new(false));
    tokio::spawn(flap(Arc::clone(&down)));
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(breakers, Upstream { down })).await
}
