//! The host app's words (issue 13): a catalogue names where its app sells packs and connects
//! keys, and every person-facing message says so; without them, the seeds' words.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use ai_credits::catalogue::DEFAULT_CATALOGUE_JSON;
use ai_credits::{Account, Catalogue, Charge, EventDraft, Ledger, RejectCode, Tokens};

fn ledger(catalogue: Catalogue) -> Ledger {
    let account = Account {
        plan: "growth".into(),
        cycle_anchor: ai_credits::time::parse_instant("2026-01-01T00:00:00Z").unwrap(),
    };
    Ledger::new(Arc::new(catalogue), account).expect("a ledger")
}

/// The messages of an own-key-only model without a key, of credits used up, and of a
/// provider's billing refusal.
fn messages(catalogue: Catalogue) -> Vec<String> {
    let billing = catalogue.provider_billing_message("openai");
    let mut ledger = ledger(catalogue);
    let at = ai_credits::time::parse_instant("2026-01-02T00:00:00Z").unwrap();
    let grok = ledger.catalogue().model("grok-4").cloned().expect("grok-4");
    let unavailable = ledger.route(&grok).expect_err("no xAI key").message;
    let spend = serde_json::json!({"at": "2026-01-02T00:00:00Z", "kind": "debit", "id": "all", "credits": 3_000_000});
    ledger
        .apply_draft(EventDraft::from_json(&spend))
        .expect("the allowance is spent");
    let usage = Charge::Usage {
        model: "gpt-5".into(),
        tokens: Tokens {
            input: 10,
            ..Tokens::default()
        },
    };
    let preview = ledger.preview(at, &usage).expect("a preview");
    let exhausted = preview.rejection.expect("credits are exhausted");
    assert_eq!(exhausted.code, RejectCode::CreditsExhausted);
    vec![unavailable, exhausted.message, billing]
}

#[test]
fn messages_name_the_host_apps_menus_or_the_seeds_words() {
    // Proves buy_packs_at and connect_keys_at reach every person-facing message, the defaults are the seeds' words, and the built-in catalogue's document (hence its content hash) is unchanged by them.
    let seeds = messages(Catalogue::default());
    assert!(
        seeds[0].contains("connect one in Settings → AI Assistant"),
        "{}",
        seeds[0]
    );
    assert!(
        seeds[1].contains("buy a credit pack in Settings → Billing & Plan"),
        "{}",
        seeds[1]
    );
    assert!(
        seeds[2].contains("credits in Settings → AI Assistant"),
        "{}",
        seeds[2]
    );

    let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_CATALOGUE_JSON).unwrap();
    doc["buy_packs_at"] = "Account → Credits".into();
    doc["connect_keys_at"] = "Integrations → AI providers".into();
    let host = Catalogue::from_json(&doc.to_string()).expect("a catalogue with the host's words");
    let words = messages(host.clone());
    assert!(
        words[0].contains("connect one in Integrations → AI providers"),
        "{}",
        words[0]
    );
    assert!(
        words[1].contains("buy a credit pack in Account → Credits"),
        "{}",
        words[1]
    );
    assert!(
        words[2].contains("credits in Integrations → AI providers"),
        "{}",
        words[2]
    );
    assert!(words.iter().all(|m| !m.contains("Settings →")), "{words:?}");
    assert_ne!(
        host.content_hash(),
        Catalogue::default().content_hash(),
        "the words are part of the document"
    );

    assert!(
        !Catalogue::default().to_json().contains("buy_packs_at"),
        "the default is not written out"
    );
    doc["buy_packs_at"] = 7.into();
    assert_eq!(
        Catalogue::from_json(&doc.to_string()).unwrap_err().code(),
        "catalogue_invalid_value"
    );
}
