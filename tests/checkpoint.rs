//! Checkpoints (SPEC §5.3): bounded in size whatever the history, and refused when they were
//! not made by this core with this catalogue.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use ai_credits::time::{format_instant, parse_instant};
use ai_credits::{Account, Catalogue, Checkpoint, EventDraft, Ledger};
use serde_json::{Value, json};

const FEATURES: [&str; 4] = ["assistant", "text_generation", "suggestions", "agents"];
const MEMBERS: [&str; 4] = ["maya", "ana", "ben", "cy"];
const MODELS: [&str; 5] = [
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "gpt-5.4-mini",
    "kimi-k2",
    "gpt-5",
];

/// A busy team's account: `events` usages, holds and commits spread over `days`, a pack a
/// month, a few key and model changes. Deterministic.
fn busy_ledger(events: usize, days: i64) -> Ledger {
    let catalogue = Arc::new(Catalogue::default());
    let start = parse_instant("2025-01-10T08:00:00Z").unwrap();
    let account = Account {
        plan: "pro".into(),
        cycle_anchor: start,
    };
    let mut ledger = Ledger::new(catalogue, account).unwrap();
    let step_ms = days * 86_400_000 / events as i64;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut month = -1;
    for i in 0..events {
        let at = start + chrono::Duration::milliseconds(step_ms * i as i64);
        let t = format_instant(&at);
        let r = next();
        let (feature, member, model) = (
            FEATURES[(r % 4) as usize],
            MEMBERS[(r / 4 % 4) as usize],
            MODELS[(r / 16 % 5) as usize],
        );
        let this_month = (at - start).num_days() / 30;
        let event = if this_month != month {
            month = this_month;
            json!({"at": t, "kind": "purchase_pack", "id": format!("p{i}"), "pack": "10M"})
        } else {
            match r / 80 % 10 {
                0..=5 => json!({"at": t, "kind": "usage", "id": format!("u{i}"), "model": model,
                    "input_tokens": 800 + r % 9_000, "output_tokens": 100 + r % 2_500,
                    "feature": feature, "member": member}),
                6 => json!({"at": t, "kind": "hold", "id": format!("h{i}"), "credits": 5_000,
                    "expires_at": format_instant(&(at + chrono::Duration::minutes(10))),
                    "feature": feature, "member": member}),
                7 => {
                    json!({"at": t, "kind": "commit", "id": format!("c{i}"), "hold": format!("h{}", i - 1),
                    "model": model, "input_tokens": 1_200, "output_tokens": 400})
                }
                8 => {
                    json!({"at": t, "kind": "debit", "id": format!("d{i}"), "credits": 1 + r % 3_000,
                    "feature": feature, "member": member})
                }
                _ => json!({"at": t, "kind": "select_model", "model": model}),
            }
        };
        let _ = ledger.apply_draft(EventDraft::from_json(&event));
    }
    ledger
}

#[test]
fn a_checkpoint_stays_small_and_flat_whatever_the_history() {
    // Proves the document does not grow with history: a year of 50,000 events (20 feature ×
    // model pairs, lapsed holds left behind) checkpoints in at most 24 KB, within 1.5× of
    // 2,000 events over the same year.
    let small = busy_ledger(2_000, 365).checkpoint().to_json().len();
    let large = busy_ledger(50_000, 365).checkpoint().to_json().len();
    assert!(large <= 24 * 1024, "{large} bytes for 50,000 events");
    assert!(
        large * 2 <= small * 3,
        "{large} bytes for 50,000 events against {small} for 2,000"
    );
}

#[test]
fn a_checkpoint_round_trips_through_json_and_restores_the_same_state() {
    // Proves restore(checkpoint) checkpoints to the very same document.
    let ledger = busy_ledger(5_000, 200);
    let checkpoint = ledger.checkpoint();
    let text = checkpoint.to_json();
    let read = Checkpoint::from_json(&text).unwrap();
    assert_eq!(read, checkpoint);
    let restored = Ledger::from_checkpoint(Arc::clone(ledger.catalogue()), &read).unwrap();
    assert_eq!(restored.checkpoint(), checkpoint);
    assert_eq!(restored.sequence(), ledger.sequence());
    assert!(
        restored.entries().is_empty(),
        "a restored ledger has no history of its own"
    );
}

/// A change made to a checkpoint document.
type Change = Box<dyn FnOnce(&mut Value)>;

fn tampered(change: impl FnOnce(&mut Value)) -> Result<Ledger, ai_credits::CheckpointError> {
    let ledger = busy_ledger(500, 40);
    let mut doc = serde_json::to_value(ledger.checkpoint()).unwrap();
    change(&mut doc);
    let checkpoint = Checkpoint::from_value(&doc)?;
    Ledger::from_checkpoint(Arc::new(Catalogue::default()), &checkpoint)
}

#[test]
fn a_checkpoint_that_this_core_did_not_make_is_refused_with_a_code() {
    // Proves tampered or foreign documents are refused (never trusted, never a panic).
    let code = |r: Result<Ledger, ai_credits::CheckpointError>| r.err().map(|e| e.code());
    assert_eq!(
        code(tampered(|_| {})),
        None,
        "the untouched document restores"
    );
    let cases: [(&str, Change); 8] = [
        ("version", Box::new(|d| d["version"] = json!(2))),
        ("unknown field", Box::new(|d| d["extra"] = json!(1))),
        (
            "pack over its size",
            Box::new(|d| d["packs"][0]["remaining"] = json!(99_000_000_000u64)),
        ),
        (
            "unknown model",
            Box::new(|d| d["selected_model"] = json!("gpt-9")),
        ),
        ("bad time", Box::new(|d| d["now"] = json!("yesterday"))),
        (
            "cycle elsewhere",
            Box::new(|d| d["cycle"]["index"] = json!(40)),
        ),
        (
            "negative credits",
            Box::new(|d| d["cycle"]["monthly_used"] = json!(-5)),
        ),
        (
            "deeply nested",
            Box::new(|d| {
                let mut v = json!(1);
                for _ in 0..200 {
                    v = json!([v]);
                }
                d["keys"] = v;
            }),
        ),
    ];
    for (what, change) in cases {
        assert_eq!(
            code(tampered(change)),
            Some("checkpoint_invalid"),
            "{what} is refused"
        );
    }
    let other = Catalogue::from_json(&Catalogue::default().to_json().replace(
        "\"platform_name\": \"EquipDash\"",
        "\"platform_name\": \"Other\"",
    ))
    .unwrap();
    let checkpoint = busy_ledger(100, 10).checkpoint();
    assert_eq!(
        Ledger::from_checkpoint(Arc::new(other), &checkpoint)
            .err()
            .map(|e| e.code()),
        Some("checkpoint_catalogue_mismatch")
    );
}

#[test]
fn the_published_schema_names_every_field_the_core_writes() {
    // Proves docs/checkpoint.schema.json lists exactly the top-level fields of a checkpoint.
    let schema: Value =
        serde_json::from_str(include_str!("../docs/checkpoint.schema.json")).unwrap();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut properties: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let doc = serde_json::to_value(busy_ledger(300, 20).checkpoint()).unwrap();
    let mut written: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    required.sort_unstable();
    properties.sort_unstable();
    written.sort_unstable();
    assert_eq!(required, written);
    assert_eq!(properties, written);
}

#[test]
fn an_entry_reads_back_from_its_json() {
    // Proves a store can keep an entry as JSON and hand the same entry back for a retry.
    let ledger = busy_ledger(600, 30);
    assert!(ledger.entries().len() > 100);
    for entry in ledger.entries() {
        let text = serde_json::to_string(entry).unwrap();
        let read: ai_credits::Entry = serde_json::from_str(&text).unwrap();
        assert_eq!(&read, entry);
    }
}

#[test]
fn a_restored_ledgers_snapshot_carries_its_checkpoint() {
    // Proves the snapshot of a ledger restored from a checkpoint rebuilds the same state (it would otherwise replay only the events since the checkpoint onto an empty account).
    let ledger = busy_ledger(800, 40);
    let restored =
        Ledger::from_checkpoint(Arc::clone(ledger.catalogue()), &ledger.checkpoint()).unwrap();
    let again =
        Ledger::from_snapshot(Arc::clone(ledger.catalogue()), &restored.snapshot()).unwrap();
    assert_eq!(again.checkpoint(), ledger.checkpoint());
}
