//! `rediss://`: a fleet over TLS to a redis-server of the test's own, whose
//! certificate comes from a certificate authority made here with openssl.

#![cfg(feature = "tls")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use halfopen::{Config, State};
use halfopen_redis::Fleet;

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is on PATH")
        .success();
    assert!(ok, "openssl {args:?}");
}

struct TlsRedis {
    child: Child,
    port: u16,
    ca: Vec<u8>,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_redis(dir: &Path) -> TlsRedis {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=halfopen test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
        ])
        .args(["--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis-server with TLS did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    TlsRedis {
        child,
        port,
        ca: std::fs::read(dir.join("ca.crt")).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_over_tls_with_a_private_certificate_authority() {
    let dir = std::env::temp_dir().join(unique("halfopen-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let redis = tls_redis(&dir);
    let url = format!("rediss://127.0.0.1:{}/", redis.port);
    let config = leak(
        Config::consecutive_failures(2)
            .open_ms(60_000)
            .build()
            .unwrap()
            .into_any(),
    );
    let name = unique("tls");
    let connect = || {
        Fleet::builder(&name, config)
            .sync_ms(50)
            .tls_root_certificate(redis.ca.clone())
            .connect(&url)
    };
    let a = connect().await.unwrap();
    let b = connect().await.unwrap();
    assert!(a.metrics().attached, "{:?}", a.metrics());
    for _ in 0..2 {
        let _ = a.call(|| Err::<(), _>("down"));
    }
    eventually(
        Duration::from_secs(15),
        "b adopts the trip over TLS",
        || b.state() == State::Open,
    )
    .await;

    // Without the authority's certificate the server is not trusted: the
    // breaker works locally and says why.
    let untrusted = Fleet::builder(&unique("tls-untrusted"), config)
        .connect(&url)
        .await
        .unwrap();
    let m = untrusted.metrics();
    assert!(!m.attached, "{m:?}");
    assert!(m.last_error.is_some(), "{m:?}");
    assert_eq!(untrusted.call(|| Ok::<_, ()>(1)).unwrap(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
