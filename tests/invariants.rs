//! Property tests of the ledger's invariants over random event streams: credits are never
//! created or lost, nothing goes negative, draws follow the order, a rejected event changes
//! nothing, and replaying the accepted events gives the same ledger.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use ai_credits::ledger::{Draw, Source};
use ai_credits::time::{Instant, format_instant, parse_instant};
use ai_credits::{Catalogue, EventDraft, Ledger, Report};
use proptest::prelude::*;
use serde_json::{Value, json};

const MODELS: [&str; 6] = [
    "gpt-5.4-mini",
    "gpt-5",
    "claude-sonnet-4-6",
    "kimi-k2",
    "grok-4",
    "nope",
];
const PROVIDERS: [&str; 4] = ["openai", "anthropic", "xai", "acme"];
const PACKS: [&str; 3] = ["1M", "2M", "XL"];
const FEATURES: [&str; 2] = ["assistant", "agents"];
const MEMBERS: [&str; 3] = ["ana", "ben", "cy"];

/// One random step: how far time moves, then what happens.
#[derive(Clone, Debug)]
enum Step {
    Usage {
        model: usize,
        input: u64,
        output: u64,
        cached: u64,
    },
    Debit {
        credits: u64,
    },
    Hold {
        credits: u64,
        minutes: i64,
    },
    Commit {
        hold: usize,
        model: usize,
        output: u64,
    },
    Release {
        hold: usize,
    },
    Purchase {
        pack: usize,
    },
    Connect {
        provider: usize,
    },
    Invalid {
        provider: usize,
    },
    Remove {
        provider: usize,
    },
    Select {
        model: usize,
    },
    Plan {
        pro: bool,
    },
    Malformed,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..MODELS.len(), 0u64..400_000, 0u64..200_000, 0u64..50_000)
            .prop_map(|(model, input, output, cached)| Step::Usage { model, input, output, cached }),
        3 => prop_oneof![1u64..5_000, 1u64..3_000_000, 1u64..20_000_000].prop_map(|credits| Step::Debit { credits }),
        2 => (1u64..2_000_000, 1i64..600).prop_map(|(credits, minutes)| Step::Hold { credits, minutes }),
        2 => (0usize..8, 0..MODELS.len(), 0u64..100_000).prop_map(|(hold, model, output)| Step::Commit { hold, model, output }),
        1 => (0usize..8).prop_map(|hold| Step::Release { hold }),
        2 => (0..PACKS.len()).prop_map(|pack| Step::Purchase { pack }),
        1 => (0..PROVIDERS.len()).prop_map(|provider| Step::Connect { provider }),
        1 => (0..PROVIDERS.len()).prop_map(|provider| Step::Invalid { provider }),
        1 => (0..PROVIDERS.len()).prop_map(|provider| Step::Remove { provider }),
        1 => (0..MODELS.len()).prop_map(|model| Step::Select { model }),
        1 => any::<bool>().prop_map(|pro| Step::Plan { pro }),
        1 => Just(Step::Malformed),
    ]
}

/// Minutes between events: mostly close together, sometimes weeks (cycles and expiries pass).
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![6 => 0i64..120, 3 => 0i64..(60 * 24 * 3), 1 => 0i64..(60 * 24 * 120)]
}

/// Turns steps into JSON events; ids repeat now and then so retries and conflicts happen.
fn events(steps: &[(i64, Step, u8)]) -> Vec<Value> {
    let mut t = parse_instant("2026-01-31T09:00:00Z").unwrap();
    let mut out = Vec::new();
    for (i, (minutes, step, reuse)) in steps.iter().enumerate() {
        t += chrono::Duration::minutes(*minutes);
        let at = format_instant(&t);
        // A fresh id, or (1 in 8) the id of an earlier event: a retry or a conflict.
        let id = if *reuse < 32 && i > 0 {
            format!("e{}", usize::from(*reuse) % i)
        } else {
            format!("e{i}")
        };
        let e = match step {
            Step::Usage {
                model,
                input,
                output,
                cached,
            } => json!({"at": at, "kind": "usage", "id": id,
                "model": MODELS[*model], "input_tokens": input, "output_tokens": output,
                "cached_input_tokens": cached, "feature": FEATURES[i % 2], "member": MEMBERS[i % 3]}),
            Step::Debit { credits } => {
                json!({"at": at, "kind": "debit", "id": id, "credits": credits, "feature": "text_generation"})
            }
            Step::Hold { credits, minutes } => {
                json!({"at": at, "kind": "hold", "id": id, "credits": credits,
                "expires_at": format_instant(&(t + chrono::Duration::minutes(*minutes))), "member": "ana"})
            }
            Step::Commit {
                hold,
                model,
                output,
            } => json!({"at": at, "kind": "commit", "id": id,
                "hold": format!("e{}", hold % (i + 1)), "model": MODELS[*model], "input_tokens": 1000, "output_tokens": output}),
            Step::Release { hold } => {
                json!({"at": at, "kind": "release", "id": id, "hold": format!("e{}", hold % (i + 1))})
            }
            Step::Purchase { pack } => {
                json!({"at": at, "kind": "purchase_pack", "id": id, "pack": PACKS[*pack]})
            }
            Step::Connect { provider } => {
                json!({"at": at, "kind": "connect_key", "provider": PROVIDERS[*provider]})
            }
            Step::Invalid { provider } => {
                json!({"at": at, "kind": "key_invalid", "provider": PROVIDERS[*provider]})
            }
            Step::Remove { provider } => {
                json!({"at": at, "kind": "remove_key", "provider": PROVIDERS[*provider]})
            }
            Step::Select { model } => {
                json!({"at": at, "kind": "select_model", "model": MODELS[*model]})
            }
            Step::Plan { pro } => {
                json!({"at": at, "kind": "change_plan", "plan": if *pro { "pro" } else { "growth" }})
            }
            Step::Malformed => json!({"at": at, "kind": "debit", "id": id, "credits": -5}),
        };
        out.push(e);
    }
    out
}

fn new_ledger() -> Ledger {
    let account = ai_credits::Account {
        plan: "growth".into(),
        cycle_anchor: parse_instant("2026-01-31T09:00:00Z").unwrap(),
    };
    Ledger::new(Arc::new(Catalogue::default()), account).unwrap()
}

fn at_of(e: &Value) -> Instant {
    parse_instant(e["at"].as_str().unwrap()).unwrap()
}

/// Credits conservation and signs, checked on a report.
fn check_conservation(ledger: &Ledger, report: &Report) {
    let mut drawn_from_pack: HashMap<String, u64> = HashMap::new();
    let mut monthly_this_cycle = 0;
    for entry in &report.entries {
        let drawn: u64 = entry.draws.iter().map(|d| d.credits).sum();
        assert_eq!(
            drawn,
            entry.credits - entry.unpaid,
            "draws add up to credits − unpaid: {entry:?}"
        );
        assert!(entry.unpaid <= entry.credits);
        assert!(entry.draws.iter().all(|d| d.credits > 0), "no draw of 0");
        if entry.billed_to == ai_credits::BilledTo::OwnKey {
            assert_eq!((entry.credits, entry.unpaid, entry.draws.len()), (0, 0, 0));
        }
        // Draw order: the monthly allowance first, then packs in purchase order.
        let order: Vec<usize> = entry
            .draws
            .iter()
            .map(|d| match &d.source {
                Source::Monthly => 0,
                Source::Pack(id) => 1 + ledger.packs().iter().position(|p| p.id == *id).unwrap(),
            })
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "draw order {order:?}"
        );
        for Draw { source, credits } in &entry.draws {
            match source {
                Source::Monthly if report.cycle.contains(&entry.at) => {
                    monthly_this_cycle += credits
                }
                Source::Monthly => {}
                Source::Pack(id) => *drawn_from_pack.entry(id.to_string()).or_default() += credits,
            }
        }
    }
    // Per pack: bought = drawn + remaining + expired.
    for pack in &report.packs {
        let drawn = drawn_from_pack.get(&pack.id).copied().unwrap_or(0);
        assert_eq!(
            pack.credits,
            drawn + pack.remaining + pack.expired,
            "pack {}",
            pack.id
        );
        assert!(pack.remaining == 0 || pack.expired == 0);
    }
    // Per cycle: used = what entries of this cycle drew from the allowance.
    assert_eq!(report.monthly.used, monthly_this_cycle);
    assert_eq!(
        report.monthly.remaining,
        report.monthly.allowance.saturating_sub(report.monthly.used)
    );
    let remaining = report.monthly.remaining + report.purchased_remaining;
    assert_eq!(
        report.purchased_remaining,
        report.packs.iter().map(|p| p.remaining).sum::<u64>()
    );
    assert_eq!(report.available, remaining.saturating_sub(report.held));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn credits_are_never_created_or_lost(steps in prop::collection::vec((gap(), step(), any::<u8>()), 1..80)) {
        // Proves conservation per pack and per cycle, draw order and signs after every event.
        let mut ledger = new_ledger();
        for e in events(&steps) {
            let at = at_of(&e);
            let before = ledger.balance(at).ok();
            let outcome = ledger.apply_draft(EventDraft::from_json(&e));
            let report = ledger.report(at, vec![], vec![]).unwrap();
            check_conservation(&ledger, &report);
            // A draw from a pack happens only once the allowance is gone, and a pack is only
            // passed over when it is spent.
            if let (Ok(outcome), Some(before)) = (&outcome, before)
                && let Some(entry) = &outcome.entry
                && !outcome.duplicate
                && entry.draws.iter().any(|d| matches!(d.source, Source::Pack(_)))
            {
                let monthly: u64 = entry.draws.iter().filter(|d| d.source == Source::Monthly).map(|d| d.credits).sum();
                prop_assert_eq!(monthly, before.monthly.remaining);
            }
        }
    }

    #[test]
    fn a_rejected_event_changes_nothing(steps in prop::collection::vec((gap(), step(), any::<u8>()), 1..60)) {
        // Proves every refused event (and every duplicate) leaves the report unchanged.
        let mut ledger = new_ledger();
        for e in events(&steps) {
            let at = at_of(&e);
            let before = ledger.report(at, vec![], vec![]);
            let outcome = ledger.apply_draft(EventDraft::from_json(&e));
            if outcome.as_ref().map_or(true, |o| o.duplicate) {
                prop_assert_eq!(ledger.report(at, vec![], vec![]).ok(), before.ok());
            }
        }
    }

    #[test]
    fn replaying_accepted_events_gives_the_same_ledger(steps in prop::collection::vec((gap(), step(), any::<u8>()), 1..60)) {
        // Proves determinism: the accepted events (and a snapshot) rebuild an identical ledger.
        let mut ledger = new_ledger();
        for e in events(&steps) {
            let _ = ledger.apply_draft(EventDraft::from_json(&e));
        }
        let query = ledger.now().unwrap() + chrono::Duration::days(1);
        let original = ledger.report(query, vec![], vec![]).unwrap();
        let log: Vec<Value> = ledger.events().iter().map(|e| e.to_json()).collect();
        let mut replayed = new_ledger();
        replayed.replay(&log).unwrap();
        replayed.advance(ledger.now().unwrap()).unwrap();
        prop_assert_eq!(&replayed.report(query, vec![], vec![]).unwrap(), &original);
        let restored = Ledger::from_snapshot(Arc::new(Catalogue::default()), &ledger.snapshot()).unwrap();
        prop_assert_eq!(&restored.report(query, vec![], vec![]).unwrap(), &original);
    }

    #[test]
    fn a_preview_is_what_apply_then_does(steps in prop::collection::vec((gap(), step(), any::<u8>()), 1..40), credits in 1u64..6_000_000) {
        // Proves preview and apply share the rules: same draws, unpaid and balance after.
        let mut ledger = new_ledger();
        for e in events(&steps) {
            let _ = ledger.apply_draft(EventDraft::from_json(&e));
        }
        let at = ledger.now().unwrap();
        let preview = ledger.preview(at, &ai_credits::Charge::Debit { credits }).unwrap();
        let applied = ledger.apply_draft(EventDraft::from_json(&json!({"at": format_instant(&at), "kind": "debit", "id": "preview-check", "credits": credits})));
        match applied {
            Ok(outcome) => {
                let entry = outcome.entry.unwrap();
                prop_assert!(preview.allowed);
                prop_assert_eq!(&preview.draws, &entry.draws);
                prop_assert_eq!(preview.unpaid, entry.unpaid);
                prop_assert_eq!(preview.available_after, ledger.balance(at).unwrap().available);
            }
            Err(rejection) => {
                prop_assert!(!preview.allowed);
                prop_assert_eq!(preview.rejection.map(|r| r.code), Some(rejection.code));
            }
        }
    }

    #[test]
    fn a_checkpoint_at_random_cuts_answers_like_the_whole_log(
        steps in prop::collection::vec((gap(), step(), any::<u8>()), 1..120),
        cuts in prop::collection::vec(0usize..120, 1..4),
        query_minutes in prop_oneof![Just(0i64), 0i64..(60 * 24 * 40)],
    ) {
        // Proves SPEC §5.3 over random streams: restore at random cut points (chained) + the
        // remaining events = the whole log, for the report, balance, previews, estimates,
        // burn and forecast.
        let events = events(&steps);
        let last = at_of(events.last().unwrap());
        let doc = json!({
            "account": {"plan": "growth", "cycle_anchor": "2026-01-31T09:00:00Z"},
            "events": events,
            "query_at": format_instant(&(last + chrono::Duration::minutes(query_minutes))),
        });
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (steps.len() + 1)).collect();
        cuts.sort_unstable();
        if let Err(e) = support::checkpoint_agrees(&doc, &cuts) {
            prop_assert!(false, "cuts {:?}: {}", cuts, e);
        }
    }
}
