//! Benchmark: replaying a year of history (100,000 events, 50 packs) natively, and answering
//! balance and preview queries on the result. Writes the history and the native figures to
//! `target/bench/` for `bench/replay.mjs`, which measures the WASM package on the same history
//! in the same run and prints both side by side. Run: `bash bench/run.sh`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant as Clock;

use ai_credits::time::{Instant, format_instant, parse_instant};
use ai_credits::{Account, Catalogue, Charge, EventDraft, Ledger, Tokens};
use serde_json::{Value, json};

const EVENTS: usize = 100_000;
const PACKS: usize = 50;
const ROUNDS: usize = 5;

/// A deterministic year of plausible history: usages of every model on credits, debits, holds
/// that are committed or left to lapse, a pack bought every week or so, key changes.
fn history() -> (Value, Vec<Value>) {
    let models = [
        "claude-sonnet-4-6",
        "gpt-5.4-mini",
        "gpt-5",
        "claude-haiku-4-5",
        "kimi-k2",
    ];
    let members = ["ana", "ben", "cy", "dee", "eli", "fay"];
    let features = ["assistant", "text_generation", "suggestions", "agents"];
    let start = parse_instant("2026-01-01T08:00:00Z").expect("valid");
    let step_ms = 365 * 24 * 3600 * 1000 / EVENTS as i64;
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut events = Vec::with_capacity(EVENTS);
    let mut packs = 0;
    for i in 0..EVENTS {
        let at: Instant = start + chrono::Duration::milliseconds(step_ms * i as i64);
        let at_text = format_instant(&at);
        let r = next();
        let model = models[(r % 5) as usize];
        let member = members[((r >> 8) % 6) as usize];
        let feature = features[((r >> 16) % 4) as usize];
        let e = if i % (EVENTS / PACKS) == 0 && packs < PACKS {
            packs += 1;
            json!({"at": at_text, "kind": "purchase_pack", "id": format!("p{i}"), "pack": "10M"})
        } else if i % 97 == 1 {
            json!({"at": at_text, "kind": "hold", "id": format!("h{i}"), "credits": 20_000,
                   "expires_at": format_instant(&(at + chrono::Duration::minutes(5))), "feature": feature, "member": member})
        } else if i % 97 == 2 && r % 4 != 0 {
            json!({"at": at_text, "kind": "commit", "id": format!("c{i}"), "hold": format!("h{}", i - 1),
                   "model": model, "input_tokens": 900 + r % 2000, "output_tokens": 300 + (r >> 20) % 800})
        } else if i % 1000 == 500 {
            let kind = if (i / 1000) % 2 == 0 {
                "connect_key"
            } else {
                "remove_key"
            };
            json!({"at": at_text, "kind": kind, "provider": "openai"})
        } else if i % 10 == 3 {
            json!({"at": at_text, "kind": "debit", "id": format!("d{i}"), "credits": 500 + r % 5000, "feature": feature, "member": member})
        } else {
            json!({"at": at_text, "kind": "usage", "id": format!("u{i}"), "model": model,
                   "input_tokens": 400 + r % 3000, "cached_input_tokens": (r >> 12) % 2000,
                   "output_tokens": 100 + (r >> 24) % 900, "feature": feature, "member": member})
        };
        events.push(e);
    }
    (
        json!({"plan": "pro", "cycle_anchor": "2026-01-01T00:00:00Z"}),
        events,
    )
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let (account_json, events) = history();
    let catalogue = Arc::new(Catalogue::default());
    let account = Account {
        plan: "pro".into(),
        cycle_anchor: parse_instant(account_json["cycle_anchor"].as_str().expect("anchor"))
            .expect("valid"),
    };
    let text = serde_json::to_string(&events).expect("serializable");

    // Replay of events already read (what a server does with a loaded log).
    let drafts: Vec<EventDraft> = events.iter().map(EventDraft::from_json).collect();
    let mut typed_s = Vec::new();
    let mut ledger = Ledger::new(catalogue.clone(), account.clone()).expect("plan");
    for _ in 0..ROUNDS {
        let batch = drafts.clone();
        let mut fresh = Ledger::new(catalogue.clone(), account.clone()).expect("plan");
        let t = Clock::now();
        black_box(fresh.replay_drafts(batch).expect("all accepted"));
        typed_s.push(t.elapsed().as_secs_f64());
        ledger = fresh;
    }
    // Replay from JSON text (parse + read + apply), what the WASM side does.
    let mut json_s = Vec::new();
    for _ in 0..ROUNDS {
        let t = Clock::now();
        let drafts = EventDraft::list_from_json(&text).expect("a list of events");
        let mut fresh = Ledger::new(catalogue.clone(), account.clone()).expect("plan");
        fresh.replay_drafts(drafts).expect("all accepted");
        json_s.push(t.elapsed().as_secs_f64());
        black_box(&fresh);
    }
    let mut parse_s = Vec::new();
    for _ in 0..ROUNDS {
        let t = Clock::now();
        black_box(EventDraft::list_from_json(&text).expect("a list of events"));
        parse_s.push(t.elapsed().as_secs_f64());
    }
    let accepted = ledger.events().len();
    let now = ledger.now().expect("events applied");
    let charge = Charge::Usage {
        model: "claude-sonnet-4-6".into(),
        tokens: Tokens {
            input: 1200,
            output: 300,
            ..Tokens::default()
        },
    };
    let time_ns = |f: &dyn Fn()| {
        let mut samples = Vec::new();
        for _ in 0..2000 {
            let t = Clock::now();
            f();
            samples.push(t.elapsed().as_nanos() as f64);
        }
        median(samples)
    };
    let preview_ns = time_ns(&|| {
        black_box(ledger.preview(now, &charge).expect("preview"));
    });
    let balance_ns = time_ns(&|| {
        black_box(ledger.balance(now).expect("balance"));
    });
    let figures = json!({
        "events": EVENTS, "accepted": accepted, "packs": ledger.packs().len(),
        "replay_events_per_s": EVENTS as f64 / median(typed_s),
        "replay_json_events_per_s": EVENTS as f64 / median(json_s),
        "read_json_events_per_s": EVENTS as f64 / median(parse_s),
        "preview_us": preview_ns / 1000.0, "balance_us": balance_ns / 1000.0,
        "final_available": ledger.balance(now).expect("balance").available,
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(
        dir.join("history.json"),
        json!({"account": account_json, "events": events}).to_string(),
    )
    .expect("write");
    std::fs::write(dir.join("native.json"), figures.to_string()).expect("write");
    println!("{figures}");
}
