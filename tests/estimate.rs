//! Message estimates and quick actions, with hand-checked numbers (Claude Sonnet 4.6: 1,800
//! millicredits per input token, 9,000 per output token).
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use ai_credits::catalogue::Range;
use ai_credits::estimate::{CalibrationSource, MessageRequest};
use ai_credits::time::parse_instant;
use ai_credits::tokens::TokenEstimate;
use ai_credits::{Account, BilledTo, Catalogue, Ledger};
use serde_json::json;

fn ledger(events: serde_json::Value) -> Ledger {
    let account = Account {
        plan: "growth".into(),
        cycle_anchor: parse_instant("2026-01-01T00:00:00Z").unwrap(),
    };
    let mut ledger = Ledger::new(Arc::new(Catalogue::default()), account).unwrap();
    ledger.replay(events.as_array().unwrap()).unwrap();
    ledger
}

fn request(feature: &str) -> MessageRequest {
    MessageRequest {
        model: "claude-sonnet-4-6".into(),
        text_tokens: TokenEstimate {
            tokens: 100,
            low: 90,
            high: 115,
        },
        history_tokens: 0,
        feature: Some(feature.into()),
        member: None,
        task: false,
    }
}

#[test]
fn without_history_the_catalogue_defaults_give_the_range() {
    // Proves a one-shot estimate: input 90/100/115, output 40/350/1500 → 522/3,330/13,707 credits.
    let l = ledger(json!([]));
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let cal = l.output_calibration(Some("assistant"), "claude-sonnet-4-6");
    assert_eq!(cal.source, CalibrationSource::Catalogue);
    let e = l.estimate_message(at, &request("assistant"), cal).unwrap();
    assert_eq!(
        e.input_tokens,
        Range {
            low: 90,
            expected: 100,
            high: 115
        }
    );
    assert_eq!(
        e.output_tokens,
        Range {
            low: 40,
            expected: 350,
            high: 1500
        }
    );
    // (90·1800 + 40·9000)/1000 = 522; (100·1800 + 350·9000)/1000 = 3330; (115·1800 + 1500·9000)/1000 = 13707.
    assert_eq!(
        e.credits,
        Range {
            low: 522,
            expected: 3330,
            high: 13707
        }
    );
    // 3,330,000 millicredits / 600 = 5,550 µ$.
    assert_eq!(e.cost_usd_micros.expected, 5550);
    assert_eq!(
        (e.billed_to, e.allowed, e.available),
        (BilledTo::Credits, true, 3_000_000)
    );
    assert_eq!(e.available_after_expected, 3_000_000 - 3330);
    assert_eq!(e.available_after_worst, 3_000_000 - 13707);
    assert!(!e.worst_exceeds_available);
    assert_eq!(e.draws_expected.len(), 1);
}

#[test]
fn agent_requests_pay_for_every_round_and_the_growing_context() {
    // Proves the agent model: 3 rounds of a 100-token prompt, 350 out, 600 per tool result.
    let l = ledger(json!([]));
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let cal = l.output_calibration(Some("agents"), "claude-sonnet-4-6");
    let e = l.estimate_message(at, &request("agents"), cal).unwrap();
    assert!(e.agent);
    assert_eq!(
        e.rounds,
        Range {
            low: 2,
            expected: 3,
            high: 6
        }
    );
    // input = 3·100 + 3·(350 + 600) = 3150; output = 3·350 = 1050.
    assert_eq!(
        (e.input_tokens.expected, e.output_tokens.expected),
        (3150, 1050)
    );
    // (3150·1800 + 1050·9000)/1000 = 15,120.
    assert_eq!(e.credits.expected, 15120);
    // high: 6·115 + 15·(1500 + 600) = 32,190 in, 9,000 out → (32190·1800 + 9000·9000)/1000 = 138,942.
    assert_eq!(e.credits.high, 138_942);
}

#[test]
fn the_accounts_own_history_calibrates_output() {
    // Proves p10/median/p90 of past output tokens of the same feature and model are used.
    let events: Vec<_> = (1..=10)
        .map(|i| json!({"at": format!("2026-01-01T10:{i:02}:00Z"), "kind": "usage", "id": format!("u{i}"),
            "model": "claude-sonnet-4-6", "input_tokens": 10, "output_tokens": i * 100, "feature": "assistant"}))
        .collect();
    let l = ledger(json!(events));
    let cal = l.output_calibration(Some("assistant"), "claude-sonnet-4-6");
    assert_eq!(
        (cal.source, cal.samples),
        (CalibrationSource::FeatureModel, 10)
    );
    assert_eq!(
        cal.output_tokens,
        Range {
            low: 100,
            expected: 500,
            high: 900
        }
    );
    // Another model of the same feature borrows the feature's history.
    let other = l.output_calibration(Some("assistant"), "gpt-5");
    assert_eq!(other.source, CalibrationSource::Feature);
    // A feature with no history but a model with enough borrows the model's.
    assert_eq!(
        l.output_calibration(Some("agents"), "claude-sonnet-4-6")
            .source,
        CalibrationSource::Model
    );
}

#[test]
fn the_worst_case_beyond_what_is_left_is_flagged() {
    // Proves the flag and the draws when the high end exceeds the available credits.
    let l = ledger(
        json!([{"at": "2026-01-01T01:00:00Z", "kind": "debit", "id": "d", "credits": 2_990_000}]),
    );
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let e = l
        .estimate_message(
            at,
            &request("assistant"),
            l.output_calibration(None, "claude-sonnet-4-6"),
        )
        .unwrap();
    assert_eq!(e.available, 10_000);
    assert!(e.allowed && e.worst_exceeds_available);
    assert_eq!(
        (e.available_after_expected, e.available_after_worst),
        (10_000 - 3330, 0)
    );
    assert_eq!(e.draws_worst.iter().map(|d| d.credits).sum::<u64>(), 10_000);
}

#[test]
fn own_key_models_cost_no_credits_but_show_their_ai_cost() {
    // Proves own-key routing in estimates: 0 credits, would-be credits and cost still shown.
    let l = ledger(
        json!([{"at": "2026-01-01T01:00:00Z", "kind": "connect_key", "provider": "anthropic"}]),
    );
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let e = l
        .estimate_message(
            at,
            &request("assistant"),
            l.output_calibration(None, "claude-sonnet-4-6"),
        )
        .unwrap();
    assert_eq!(e.billed_to, BilledTo::OwnKey);
    assert_eq!(e.credits, Range::default());
    assert_eq!(e.would_be_credits.expected, 3330);
    assert!(e.draws_expected.is_empty());
    let grok = MessageRequest {
        model: "grok-4".into(),
        ..request("assistant")
    };
    let refused = l
        .estimate_message(at, &grok, l.output_calibration(None, "grok-4"))
        .unwrap();
    assert!(!refused.allowed);
    assert_eq!(
        refused.rejection.map(|r| r.code.as_str()),
        Some("model_unavailable")
    );
}

#[test]
fn quick_actions_show_their_cost_before_use() {
    // Proves a quick action is priced from its catalogue token counts: 900 in, 120 out on Sonnet.
    let l = ledger(json!([]));
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let action = l
        .catalogue()
        .quick_action("bookings-today")
        .unwrap()
        .clone();
    let e = l
        .estimate_quick_action(at, &action, "claude-sonnet-4-6")
        .unwrap();
    // (900·1800 + 120·9000)/1000 = 2,700.
    assert_eq!(
        e.credits,
        Range {
            low: 2700,
            expected: 2700,
            high: 2700
        }
    );
    // On Kimi K2: (900·360 + 120·1500)/1000 = 504.
    assert_eq!(
        l.estimate_quick_action(at, &action, "kimi-k2")
            .unwrap()
            .credits
            .expected,
        504
    );
}

#[test]
fn any_burn_window_is_answered_without_panicking() {
    // Proves out-of-range windows (0, u32::MAX days) are clamped, not a date-arithmetic panic.
    let l = ledger(
        json!([{"at": "2026-01-02T00:00:00Z", "kind": "debit", "id": "d", "credits": 1000}]),
    );
    let at = parse_instant("2026-01-03T00:00:00Z").unwrap();
    for days in [0, 1, u32::MAX] {
        let f = l.forecast(at, days).unwrap();
        assert!(f.burn.window_start <= f.burn.window_end);
        assert_eq!(f.burn.credits, 1000);
    }
}

#[test]
fn a_request_to_change_things_or_naming_several_items_reads_as_a_task() {
    // Proves the classifier on the seeds' two examples and on openers, counts in words and digits, and questions that only look busy.
    use ai_credits::estimate::is_task;
    assert!(!is_task("How many bookings today?"));
    assert!(is_task(
        "Create a booking for three products over five days"
    ));
    assert!(is_task("Please update the price of the red tent"));
    assert!(is_task("can you cancel Maya's booking"));
    assert!(is_task("Compare 3 products by revenue"));
    assert!(is_task("What did the two kayaks earn this month?"));
    assert!(!is_task(
        "Which rentals are overdue for return, and who has them?"
    ));
    assert!(!is_task(
        "Summarise this week's bookings and revenue compared with last week."
    ));
    assert!(!is_task(
        "Write a short, friendly description for this product."
    ));
    assert!(!is_task("Is 1 booking left?"));
    assert!(!is_task(""));
}

#[test]
fn the_seeds_task_is_estimated_above_the_seeds_question() {
    // Proves "Create a booking for three products over five days" estimates more than "How many bookings today?" at every end (more rounds, its tool results), in the task rounds of the catalogue, on every model on credits.
    use ai_credits::estimate::is_task;
    use ai_credits::tokens::estimate_tokens;
    let l = ledger(json!([]));
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    for model in l.catalogue().models.iter().filter(|m| m.on_credits) {
        let estimate = |text: &str| {
            let request = MessageRequest {
                model: model.id.clone(),
                text_tokens: estimate_tokens(text, model.tokenizer),
                task: is_task(text),
                ..request("assistant")
            };
            l.estimate_message(
                at,
                &request,
                l.output_calibration(Some("assistant"), &model.id),
            )
            .unwrap()
        };
        let question = estimate("How many bookings today?");
        let task = estimate("Create a booking for three products over five days");
        assert!(!question.task && task.task);
        assert_eq!(task.rounds, l.catalogue().estimation.task_rounds);
        assert_eq!(question.rounds.high, 1);
        assert!(task.credits.low >= question.credits.low, "{}", model.id);
        assert!(
            task.credits.expected > question.credits.expected,
            "{}",
            model.id
        );
        assert!(
            task.credits.high > 2 * question.credits.high,
            "{}",
            model.id
        );
    }
}
