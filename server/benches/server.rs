//! Accepted usage events per second and latency at 64 concurrent connections, against a real
//! `ai-credits serve` process (release build) with durable commits, on SQLite and — when
//! `DATABASE_URL` names one — PostgreSQL.
//!
//! ```sh
//! cargo bench -p ai-credits-server --bench server                  # SQLite
//! eval "$(bash scripts/postgres.sh)"; cargo bench -p ai-credits-server --bench server   # + PostgreSQL
//! ```
//!
//! `AI_CREDITS_BENCH_SECS` sets the measured time per run (default 10 s, after 2 s of warm-up).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{ADMIN, start};

const CONNECTIONS: usize = 64;

async fn post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One account per connection, each with a service token.
async fn accounts(base: &str, count: usize) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for _ in 0..count {
        let (_, account) = post(
            &http,
            &format!("{base}/v1/accounts"),
            ADMIN,
            &json!({"plan": "pro"}),
        )
        .await;
        let id = account["id"].as_str().expect("account id").to_owned();
        let (_, token) = post(
            &http,
            &format!("{base}/v1/accounts/{id}/tokens"),
            ADMIN,
            &json!({"member": "bench", "role": "service"}),
        )
        .await;
        out.push((id, token["token"].as_str().expect("token").to_owned()));
    }
    out
}

struct Figures {
    accepted_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    refused: u64,
}

async fn run(base: &str, accounts_count: usize, warmup: Duration, measured: Duration) -> Figures {
    let accounts = Arc::new(accounts(base, accounts_count).await);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (accounts, measuring, stop, refused) = (
            Arc::clone(&accounts),
            Arc::clone(&measuring),
            Arc::clone(&stop),
            Arc::clone(&refused),
        );
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            // A client of its own: one connection per task.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let mut latencies_us = Vec::new();
            let mut accepted = 0u64;
            let mut i = 0u64;
            // About 10 credits an event: even one hot account does not run out in a run.
            while !stop.load(Ordering::Relaxed) {
                // Round-robin: connection c posts to accounts c, c + 64, c + 128, …
                let (account, token) =
                    &accounts[(c + i as usize * CONNECTIONS) % accounts.len()];
                let url = format!("{base}/v1/accounts/{account}/events");
                i += 1;
                let event = json!({"kind": "usage", "id": format!("b{c}-{i}"), "model": "gpt-5.4-mini",
                                   "input_tokens": 10 + i % 5, "output_tokens": 2,
                                   "feature": "assistant", "member": "bench"});
                let started = Instant::now();
                let (status, body) = post(&http, &url, token, &event).await;
                let took = started.elapsed();
                if measuring.load(Ordering::Relaxed) {
                    latencies_us.push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
                    if status == 200 && body["duplicate"] == json!(false) {
                        accepted += 1;
                    } else {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            (accepted, latencies_us)
        }));
    }
    tokio::time::sleep(warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(measured).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut accepted = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (a, l) = t.await.expect("task");
        accepted += a;
        latencies.extend(l);
    }
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as f64 / 1000.0
    };
    Figures {
        accepted_per_s: accepted as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        refused: refused.load(Ordering::Relaxed),
    }
}

fn report(label: &str, f: &Figures) {
    println!(
        "{label:<44} {:>9.0} accepted usage events/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   refused {}",
        f.accepted_per_s, f.p50_ms, f.p99_ms, f.max_ms, f.refused
    );
}

fn main() {
    let secs: u64 = std::env::var("AI_CREDITS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let (warmup, measured) = (Duration::from_secs(2), Duration::from_secs(secs));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("ai-credits-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!(
        "ai-credits server benchmark: {CONNECTIONS} connections, durable commits, {secs} s per run"
    );
    let mut targets = vec![(
        "SQLite (WAL, synchronous=FULL)".to_owned(),
        dir.join("bench.db").display().to_string(),
    )];
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            targets.push(("PostgreSQL (synchronous_commit=on)".to_owned(), url))
        }
        _ => println!("(PostgreSQL skipped: DATABASE_URL is not set)"),
    }
    for (label, db) in targets {
        let server = start(&db, &[]);
        runtime.block_on(async {
            let f = run(&server.1, CONNECTIONS, warmup, measured).await;
            report(&format!("{label}, 64 accounts"), &f);
            let f = run(&server.1, 8, warmup, measured).await;
            report(&format!("{label}, 8 accounts"), &f);
            let hot = run(&server.1, 1, warmup, measured).await;
            report(&format!("{label}, 1 hot account"), &hot);
            let many = run(&server.1, 1_000, warmup, measured).await;
            report(&format!("{label}, 1,000 accounts round-robin"), &many);
            println!(
                "{:<44} {:>8.0}% of one hot account's throughput (target ≥ 80%; before checkpoints: about 45%)",
                "", 100.0 * many.accepted_per_s / hot.accepted_per_s
            );
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
}
