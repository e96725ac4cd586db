//! A Rust instance of a fleet, driven line by line on stdin: the npm
//! package's tests run it beside Node processes to show that both share one
//! breaker record (same Lua scripts, keys, record and configuration text).
//!
//!   cargo run -p halfopen-redis --example peer -- URL NAME [OPEN_MS]
//!
//! Configuration: `consecutiveFailures` 5, `openMs` OPEN_MS (default 400),
//! `fleet.leaseMs` 2000, `syncMs` 100. Commands (one per line), each
//! answered with one line:
//!
//! - `fail` / `ok`: one call that fails / succeeds (`CALL allowed|rejected`);
//! - `state`: `STATE <state> gen=<generation> attached=<bool>`;
//! - `isolate`, `reset`: on the whole fleet (`DONE`);
//! - `quit`.

use std::io::{BufRead, Write};

use halfopen::Config;
use halfopen_redis::Fleet;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(name)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: peer URL NAME [OPEN_MS]");
        std::process::exit(2);
    };
    let open_ms: u32 = args.get(3).map_or(400, |s| s.parse().expect("OPEN_MS"));
    let config: &'static _ = Box::leak(Box::new(
        Config::consecutive_failures(5)
            .open_ms(open_ms)
            .build()
            .expect("configuration")
            .into_any(),
    ));
    let fleet = match Fleet::builder(name, config)
        .sync_ms(100)
        .lease_ms(2_000)
        .connect(url)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            println!("ERROR {e}");
            return;
        }
    };
    println!("READY {}", fleet.metrics().breaker.state.as_str());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let reply = match line.trim() {
            "fail" | "ok" => {
                let ok = line.trim() == "ok";
                let r = fleet.call(|| if ok { Ok(()) } else { Err(()) });
                match r {
                    Err(halfopen::CallError::Rejected(_)) => "CALL rejected".to_owned(),
                    _ => "CALL allowed".to_owned(),
                }
            }
            "state" => {
                let m = fleet.metrics();
                format!(
                    "STATE {} gen={} attached={}",
                    fleet.state().as_str(),
                    m.generation,
                    m.attached
                )
            }
            "isolate" => {
                fleet.isolate();
                "DONE".to_owned()
            }
            "reset" => {
                fleet.reset();
                "DONE".to_owned()
            }
            "quit" => break,
            other => format!("UNKNOWN {other}"),
        };
        println!("{reply}");
        let _ = std::io::stdout().flush();
    }
}
