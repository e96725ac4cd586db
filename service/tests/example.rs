//! The example service (examples/service.rs) on a loopback port: its
//! `/price`, `/health` and `/metrics` endpoints over HTTP.

#[allow(dead_code)]
#[path = "../examples/service.rs"]
mod example;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use halfopen::presets;
use halfopen_service::{Breakers, DURATION_BUCKETS};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn the_service_answers_health_and_metrics_over_http() {
    let breakers = Arc::new(Breakers::new(presets::HTTP_API).timed(DURATION_BUCKETS));
    let down = Arc::new(AtomicBool::new(false));
    let app = example::app(
        Arc::clone(&breakers),
        example::Upstream {
            down: Arc::clone(&down),
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let r = get(addr, "/price").await;
    assert_eq!((r.status, r.body.as_str()), (200, "42"));
    let health: serde_json::Value = serde_json::from_str(&get(addr, "/health").await.body).unwrap();
    assert_eq!(health["health"], "healthy");
    assert_eq!(health["breakers"][0]["name"], "upstream");

    // The upstream goes down: five failures (HTTP_API) open the breaker.
    down.store(true, Ordering::Relaxed);
    for _ in 0..5 {
        assert_eq!(get(addr, "/price").await.status, 502);
    }
    let r = get(addr, "/price").await;
    assert_eq!(r.status, 503);
    assert!(
        r.body.starts_with("circuit open: call rejected"),
        "{}",
        r.body
    );
    let retry_after: u64 = r.headers[http::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");

    let r = get(addr, "/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers[http::header::CONTENT_TYPE], "application/json");
    let health: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(health["health"], "critical");
    assert_eq!(health["degraded"], serde_json::json!(["upstream"]));
    let upstream = &health["breakers"][0];
    assert_eq!(upstream["state"], "open");
    assert_eq!(upstream["calls"], 6);
    assert_eq!(upstream["successRatePercent"], 16);
    assert_eq!(upstream["metrics"]["rejected"], 1);

    let r = get(addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.headers[http::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    for line in [
        r#"halfopen_state{name="upstream",state="open"} 1"#,
        r#"halfopen_failures_total{name="upstream"} 5"#,
        r#"halfopen_successes_total{name="upstream"} 1"#,
        r#"halfopen_rejected_total{name="upstream"} 1"#,
        r#"halfopen_transitions_total{name="upstream",from="closed",to="open"} 1"#,
        r#"halfopen_call_duration_seconds_count{name="upstream"} 6"#,
        "# EOF",
    ] {
        assert!(
            r.body.lines().any(|l| l == line),
            "{line} not in\n{}",
            r.body
        );
    }
}
