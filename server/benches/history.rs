//! What an account costs as it ages (issue: checkpoints). Accounts of 1,000, 10,000, 100,000
//! and 500,000 events with a realistic mix (usages, holds and their commits or releases,
//! debits, a pack a month, model changes) are seeded in-process through the engine, then a
//! real `ai-credits serve` process (release build) on that SQLite file is measured over HTTP:
//!
//! - `GET /state` (the newest 100 entries) and `GET /checkpoint`: bytes and median time;
//! - the first event of a cold account: the server runs with `--cache-mb 0`, so every event
//!   loads its account from the database (checkpoint + at most 256 events): p50 and p99;
//! - the server's RSS with many accounts cached.
//!
//! It writes `target/bench-history/accounts.json` (the database, account ids and member
//! tokens) for `bench/connect.mjs`, which measures `Client.connect` in Chromium; `bash
//! bench/history.sh` runs both. `AI_CREDITS_BENCH_SIZES` (e.g. `1000,10000`) and
//! `AI_CREDITS_BENCH_RSS_ACCOUNTS` / `AI_CREDITS_BENCH_RSS_EVENTS` scale it down.
//!
//! The figures of the build before checkpoints (measured and filed with the issue, for 1,000
//! and 150,000 events) are printed beside the new ones.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use common::{ADMIN, start};

use ai_credits::time::format_instant;
use ai_credits::{Catalogue, EventDraft};
use ai_credits_server::engine::payment::EmbeddedProcessor;
use ai_credits_server::engine::{self, Ctx, Engine, LedgerCache};
use ai_credits_server::http::auth::{self, Role};
use ai_credits_server::store::{Db, Location};

/// A deterministic stream of numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const FEATURES: [&str; 4] = ["assistant", "text_generation", "suggestions", "agents"];
const MEMBERS: [&str; 5] = ["maya", "ana", "ben", "cy", "dee"];
const MODELS: [&str; 4] = [
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "gpt-5.4-mini",
    "kimi-k2",
];

/// `count` events over the last 400 days, in time order, each with the member who sent it.
fn history(count: usize, seed: u64) -> Vec<(EventDraft, String)> {
    let end = Utc::now() - chrono::Duration::minutes(5);
    let start = end - chrono::Duration::days(400);
    let step_ms = (end - start).num_milliseconds() / count as i64;
    let mut rng = Rng(seed | 1);
    // Token counts shrink as the account gets busier, so a month's use stays near the plan's
    // allowance and its pack (a busier team sends more, shorter messages): thousandths.
    let scale = (4_000_000 / count as u64).clamp(1, 1_000);
    let tokens = |n: u64| (n * scale / 1_000).max(1);
    let mut out = Vec::with_capacity(count);
    let mut month = -1;
    let mut open_hold: Option<String> = None;
    for i in 0..count {
        let at = start + chrono::Duration::milliseconds(step_ms * i as i64);
        let t = format_instant(&at);
        let r = rng.next();
        let (feature, member, model) = (
            FEATURES[(r % 4) as usize],
            MEMBERS[(r / 4 % 5) as usize],
            MODELS[(r / 20 % 4) as usize],
        );
        let this_month = (at - start).num_days() / 30;
        let event = if this_month != month {
            month = this_month;
            json!({"at": t, "kind": "purchase_pack", "id": format!("p{i}"), "pack": "10M"})
        } else if let Some(hold) = open_hold.take() {
            if r.is_multiple_of(10) {
                json!({"at": t, "kind": "release", "id": format!("r{i}"), "hold": hold})
            } else {
                json!({"at": t, "kind": "commit", "id": format!("c{i}"), "hold": hold, "model": model,
                       "input_tokens": tokens(1_500 + r % 6_000), "output_tokens": tokens(150 + r % 1_800)})
            }
        } else {
            match r / 80 % 12 {
                0..=7 => json!({"at": t, "kind": "usage", "id": format!("u{i}"), "model": model,
                    "input_tokens": tokens(800 + r % 9_000), "output_tokens": tokens(100 + r % 2_500),
                    "cached_input_tokens": tokens(r % 3 * 400), "feature": feature, "member": member}),
                8 | 9 => {
                    let id = format!("h{i}");
                    open_hold = Some(id.clone());
                    json!({"at": t, "kind": "hold", "id": id, "credits": 20_000,
                           "expires_at": format_instant(&(at + chrono::Duration::minutes(10))),
                           "feature": feature, "member": member})
                }
                10 => {
                    json!({"at": t, "kind": "debit", "id": format!("d{i}"), "credits": tokens(1 + r % 3_000),
                    "feature": "text_generation", "member": member})
                }
                _ => json!({"at": t, "kind": "select_model", "model": model}),
            }
        };
        out.push((EventDraft::from_json(&event), member.to_owned()));
    }
    out
}

/// Seeds `count` events into a new account through the engine (the demo's path).
async fn seed(ctx: &Arc<Ctx>, engine: &Engine, id: &str, count: usize) -> String {
    let anchor = format_instant(&(Utc::now() - chrono::Duration::days(401)));
    ctx.db
        .create_account(id, "pro", &anchor, &anchor)
        .await
        .expect("account");
    let events = history(count, 0x5eed ^ count as u64 ^ id.len() as u64);
    let mut refused = 0;
    for chunk in events.chunks(20_000) {
        for answer in engine.submit_at(id, chunk.to_vec()).await {
            if answer.is_err() {
                refused += 1;
            }
        }
    }
    assert!(
        refused * 10 < count,
        "{refused} of {count} seeded events were refused"
    );
    auth::issue_token(&ctx.db, id, "ana", Role::Member, None)
        .await
        .expect("token")
        .expect("account exists")
        .0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (usize, f64) {
    let started = Instant::now();
    let response = http.get(url).bearer_auth(token).send().await.expect("GET");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let bytes = response.bytes().await.expect("body").len();
    (bytes, started.elapsed().as_secs_f64() * 1000.0)
}

/// A new token of `role` for account `id`, issued by the platform.
async fn token(http: &reqwest::Client, base: &str, id: &str, role: &str) -> String {
    let response: Value = http
        .post(format!("{base}/v1/accounts/{id}/tokens"))
        .bearer_auth(ADMIN)
        .json(&json!({"member": "bench", "role": role}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    response["token"].as_str().expect("token").to_owned()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("AI_CREDITS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000, 500_000]);
    let rss_accounts = env_number("AI_CREDITS_BENCH_RSS_ACCOUNTS", 1_000);
    let rss_events = env_number("AI_CREDITS_BENCH_RSS_EVENTS", 1_000);
    let out_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-history");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let db_path = out_dir.join("history.db").display().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    println!("ai-credits history benchmark: accounts of {sizes:?} events, SQLite, release build");
    let started = Instant::now();
    let accounts: Vec<(usize, String, String)> = runtime.block_on(async {
        let db = Db::open(&Location::SqliteFile(db_path.clone()))
            .await
            .expect("database");
        let ctx = Arc::new(Ctx {
            db,
            cache: LedgerCache::default(),
            catalogue: Arc::new(Catalogue::default()),
            processor: Arc::new(EmbeddedProcessor),
            allow_client_time: false,
            checkpoint_every: engine::CHECKPOINT_EVERY_DEFAULT,
            clock: Arc::new(engine::clock::ClockWatch::new(
                std::time::Duration::from_secs(5),
            )),
        });
        let engine = Engine::start(Arc::clone(&ctx));
        let mut out = Vec::new();
        for &n in &sizes {
            let id = format!("acc_h{n}");
            let token = seed(&ctx, &engine, &id, n).await;
            out.push((n, id, token));
        }
        for a in 0..rss_accounts {
            seed(&ctx, &engine, &format!("acc_r{a:04}"), rss_events).await;
        }
        out
    });
    println!(
        "(seeded {} events in {:.0} s)",
        sizes.iter().sum::<usize>() + rss_accounts * rss_events,
        started.elapsed().as_secs_f64()
    );
    let doc = json!({
        "db": db_path,
        "accounts": accounts.iter().map(|(n, id, token)| json!({"events": n, "id": id, "token": token})).collect::<Vec<Value>>(),
    });
    std::fs::write(out_dir.join("accounts.json"), doc.to_string()).expect("accounts.json");

    let http = reqwest::Client::new();
    println!();
    println!(
        "{:>9}  {:>22}  {:>22}  {:>24}",
        "events", "GET /state (100 entries)", "GET /checkpoint", "cold account: 1st event"
    );
    let server = start(&db_path, &[]);
    let mut rows = Vec::new();
    runtime.block_on(async {
        for (n, id, token) in &accounts {
            let base = &server.1;
            let state_url = format!("{base}/v1/accounts/{id}/state");
            let checkpoint_url = format!("{base}/v1/accounts/{id}/checkpoint");
            let mut state = Vec::new();
            let mut checkpoint = Vec::new();
            let (mut state_bytes, mut checkpoint_bytes) = (0, 0);
            for _ in 0..21 {
                let (b, ms) = get(&http, &state_url, token).await;
                state_bytes = b;
                state.push(ms);
                let (b, ms) = get(&http, &checkpoint_url, token).await;
                checkpoint_bytes = b;
                checkpoint.push(ms);
            }
            rows.push((
                *n,
                state_bytes,
                median(state),
                checkpoint_bytes,
                median(checkpoint),
            ));
        }
    });
    drop(server);
    // Every event of a server without a cache loads its account: checkpoint + at most 256 events.
    let cold = start(&db_path, &["--cache-mb", "0"]);
    runtime.block_on(async {
        let mut service = Vec::new();
        for (_, id, _) in &accounts {
            service.push(token(&http, &cold.1, id, "service").await);
        }
        // Warm the fresh process up (connections, the binary's pages) on an account of its own,
        // so the first account measured does not pay for it.
        let warm: Value = http
            .post(format!("{}/v1/accounts", cold.1))
            .bearer_auth(ADMIN)
            .json(&json!({"plan": "pro"}))
            .send()
            .await
            .expect("account")
            .json()
            .await
            .expect("json");
        let warm_id = warm["id"].as_str().expect("id").to_owned();
        let warm_token = token(&http, &cold.1, &warm_id, "service").await;
        for i in 0..50 {
            http.post(format!("{}/v1/accounts/{warm_id}/events", cold.1))
                .bearer_auth(&warm_token)
                .json(&json!({"kind": "debit", "id": format!("warm-{i}"), "credits": 1}))
                .send()
                .await
                .expect("POST");
        }
        for (row, ((_, id, _), token)) in rows.iter().zip(accounts.iter().zip(&service)) {
            let url = format!("{}/v1/accounts/{id}/events", cold.1);
            let mut latencies = Vec::new();
            for i in 0..200 {
                let event = json!({"kind": "usage", "id": format!("cold-{i}"), "model": "gpt-5.4-mini",
                                   "input_tokens": 900, "output_tokens": 120, "feature": "assistant"});
                let started = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(token)
                    .json(&event)
                    .send()
                    .await
                    .expect("POST");
                assert!(response.status().is_success(), "{}", response.status());
                let _ = response.bytes().await;
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            latencies.sort_by(f64::total_cmp);
            println!(
                "{:>9}  {:>9.1} KB {:>7.2} ms  {:>9.1} KB {:>7.2} ms  p50 {:>6.2} ms  p99 {:>6.2} ms",
                row.0,
                row.1 as f64 / 1024.0,
                row.2,
                row.3 as f64 / 1024.0,
                row.4,
                pct(&latencies, 0.5),
                pct(&latencies, 0.99)
            );
        }
    });
    drop(cold);
    println!(
        "{:>9}  {:>9} KB {:>7} ms  {:>22}  {:>24}   (before checkpoints, from the issue)",
        "1000", "286", "84", "—", "10 ms"
    );
    println!(
        "{:>9}  {:>9} KB {:>7} ms  {:>22}  {:>24}   (before checkpoints, from the issue)",
        "150000", "44032", "2500", "—", "949 ms"
    );

    if rss_accounts > 0 {
        let server = start(&db_path, &[]);
        let pid = server.0.id();
        let idle = rss_kb(pid);
        runtime.block_on(async {
            for a in 0..rss_accounts {
                let id = format!("acc_r{a:04}");
                let token = token(&http, &server.1, &id, "member").await;
                get(
                    &http,
                    &format!("{}/v1/accounts/{id}/state", server.1),
                    &token,
                )
                .await;
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        let cached = rss_kb(pid);
        println!();
        println!(
            "server RSS: {:.1} MB idle, {:.1} MB with {rss_accounts} accounts of {rss_events} events cached \
             ({:.1} KB per account; before checkpoints: about 2 KB per event, 130 MB for one 100,000-event ledger)",
            idle as f64 / 1024.0,
            cached as f64 / 1024.0,
            (cached.saturating_sub(idle)) as f64 / rss_accounts as f64
        );
    }
}
