//! What the gateway adds (issue 12): the same OpenAI-style calls made to a fake provider on
//! loopback directly, and through `ai-credits serve`'s gateway (release build, SQLite with
//! durable commits: each call is a hold and a commit), in one run. For 1 and 64 concurrent
//! callers: latency p50 / p99 of whole answers, time to first byte of streams, calls per
//! second. The fake answers at once, so the difference is the gateway's own cost.
//!
//! cargo bench -p ai-credits-server --bench gateway

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

const USAGE: &str = r#"{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}"#;
const PLATFORM_KEY: &str = "sk-bench-platform";

async fn chat(body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if request["stream"] != json!(true) {
        let answer = format!(
            r#"{{"id":"c","object":"chat.completion","choices":[{{"index":0,"message":{{"role":"assistant","content":"Hello"}},"finish_reason":"stop"}}],"usage":{USAGE}}}"#
        );
        return ([("content-type", "application/json")], answer).into_response();
    }
    let mut sse = String::new();
    for word in ["Hello ", "there"] {
        sse.push_str(&format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{word}\"}}}}]}}\n\n"
        ));
    }
    if request["stream_options"]["include_usage"] == json!(true) {
        sse.push_str(&format!("data: {{\"choices\":[],\"usage\":{USAGE}}}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    ([("content-type", "text/event-stream")], Body::from(sse)).into_response()
}

/// Latencies (whole answer, or first byte) of every call made in `measured`, and the count.
struct Figures {
    latencies: Vec<Duration>,
    calls: usize,
    secs: f64,
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = (sorted.len() * p).div_ceil(100).max(1) - 1;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn run(
    url: Arc<String>,
    token: Arc<String>,
    callers: usize,
    stream: bool,
    warmup: Duration,
    measured: Duration,
) -> Figures {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let (http, url, token) = (http.clone(), Arc::clone(&url), Arc::clone(&token));
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let body = json!({"model": "gpt-5", "max_tokens": 50, "stream": stream, "messages": [{"role": "user", "content": "Hi"}]});
                while start.elapsed() < warmup + measured {
                    let t0 = Instant::now();
                    let mut response = http.post(url.as_str()).bearer_auth(token.as_str()).json(&body).send().await.expect("call");
                    assert!(response.status().is_success(), "{}", response.status());
                    let latency = if stream {
                        let first = t0.elapsed();
                        while response.chunk().await.expect("chunk").is_some() {}
                        first
                    } else {
                        let _ = response.bytes().await.expect("body");
                        t0.elapsed()
                    };
                    if start.elapsed() > warmup {
                        seen.push(latency);
                    }
                }
                seen
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    latencies.sort();
    Figures {
        calls: latencies.len(),
        latencies,
        secs: measured.as_secs_f64(),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let secs: u64 = std::env::var("AI_CREDITS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let (warmup, measured) = (Duration::from_secs(1), Duration::from_secs(secs));
    let fake = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                Router::new().route("/v1/chat/completions", post(chat)),
            )
            .await
            .unwrap()
        });
        format!("http://{addr}")
    });
    let dir = std::env::temp_dir().join(format!("ai-credits-gateway-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("bench.db").display().to_string();
    let server = common::start_env(
        &db,
        &["--gateway-calls-max", "256"],
        &[
            ("AI_CREDITS_PROVIDER_BASE_OPENAI", fake.as_str()),
            ("AI_CREDITS_PLATFORM_KEY_OPENAI", PLATFORM_KEY),
        ],
    );
    let (account, token) = runtime.block_on(async {
        let http = reqwest::Client::new();
        let post = |path: String, body: Value| {
            http.post(format!("{}{path}", server.1))
                .bearer_auth(common::ADMIN)
                .json(&body)
                .send()
        };
        let account: Value = post("/v1/accounts".into(), json!({"plan": "growth"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = account["id"].as_str().unwrap().to_owned();
        let token: Value = post(
            format!("/v1/accounts/{id}/tokens"),
            json!({"member": "bench", "role": "service"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        (id, token["token"].as_str().unwrap().to_owned())
    });
    let direct = Arc::new(format!("{fake}/v1/chat/completions"));
    let through = Arc::new(format!(
        "{}/v1/accounts/{account}/providers/openai/chat/completions",
        server.1
    ));
    println!(
        "ai-credits gateway benchmark: a fake OpenAI-style provider on loopback, directly and through the gateway (SQLite, durable commits), {secs} s per run"
    );
    for callers in [1, 64] {
        for stream in [false, true] {
            let what = if stream {
                "time to first byte"
            } else {
                "whole answer"
            };
            let d = runtime.block_on(run(
                Arc::clone(&direct),
                Arc::new(PLATFORM_KEY.into()),
                callers,
                stream,
                warmup,
                measured,
            ));
            let g = runtime.block_on(run(
                Arc::clone(&through),
                Arc::new(token.clone()),
                callers,
                stream,
                warmup,
                measured,
            ));
            println!(
                "{callers:>2} callers, {what:<18}  direct p50 {:6.2} ms p99 {:6.2} ms {:7.0} calls/s | gateway p50 {:6.2} ms p99 {:6.2} ms {:7.0} calls/s | added p50 {:+.2} ms p99 {:+.2} ms",
                pct(&d.latencies, 50),
                pct(&d.latencies, 99),
                d.calls as f64 / d.secs,
                pct(&g.latencies, 50),
                pct(&g.latencies, 99),
                g.calls as f64 / g.secs,
                pct(&g.latencies, 50) - pct(&d.latencies, 50),
                pct(&g.latencies, 99) - pct(&d.latencies, 99),
            );
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
