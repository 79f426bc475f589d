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
    // Proves a one-shot estimate: input 90/100/115 + the assistant's 650, output 40/350/1500 → 1,692/4,500/14,877 credits.
    let l = ledger(json!([]));
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let cal = l.output_calibration(Some("assistant"), "claude-sonnet-4-6");
    assert_eq!(cal.source, CalibrationSource::Catalogue);
    let e = l.estimate_message(at, &request("assistant"), cal).unwrap();
    assert_eq!(
        e.input_tokens,
        Range {
            low: 740,
            expected: 750,
            high: 765
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
    // (740·1800 + 40·9000)/1000 = 1692; (750·1800 + 350·9000)/1000 = 4500; (765·1800 + 1500·9000)/1000 = 14877.
    assert_eq!(
        e.credits,
        Range {
            low: 1692,
            expected: 4500,
            high: 14877
        }
    );
    // 4,500,000 millicredits / 600 = 7,500 µ$.
    assert_eq!(e.cost_usd_micros.expected, 7500);
    assert_eq!(
        (e.billed_to, e.allowed, e.available),
        (BilledTo::Credits, true, 3_000_000)
    );
    assert_eq!(e.available_after_expected, 3_000_000 - 4500);
    assert_eq!(e.available_after_worst, 3_000_000 - 14877);
    assert!(!e.worst_exceeds_available);
    assert_eq!(e.draws_expected.len(), 1);
}

#[test]
fn agent_requests_pay_for_every_round_and_the_growing_context() {
    // Proves the agent model: 3 rounds of a 100-token text + 650 of instructions, 350 out, 600 per tool result.
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
    // input = 3·750 + 3·(350 + 600) = 5100; output = 3·350 = 1050.
    assert_eq!(
        (e.input_tokens.expected, e.output_tokens.expected),
        (5100, 1050)
    );
    // (5100·1800 + 1050·9000)/1000 = 18,630.
    assert_eq!(e.credits.expected, 18630);
    // high: 6·765 + 15·(1500 + 600) = 36,090 in, 9,000 out → (36090·1800 + 9000·9000)/1000 = 145,962.
    assert_eq!(e.credits.high, 145_962);
}

#[test]
fn history_percentiles_do_not_depend_on_the_order_answers_came_in() {
    // Proves p10/median/p90 are the nearest-rank percentiles of the samples sorted, for 37 answers arriving out of order (with repeats).
    let outputs: Vec<u64> = (0..37u64)
        .map(|i| (i * 17 % 37) * 50 + (i % 3) * 7)
        .collect();
    let events: Vec<_> = outputs
        .iter()
        .enumerate()
        .map(|(i, out)| json!({"at": format!("2026-01-01T10:{i:02}:00Z"), "kind": "usage", "id": format!("u{i}"),
            "model": "claude-sonnet-4-6", "input_tokens": 10, "output_tokens": out, "feature": "assistant"}))
        .collect();
    let l = ledger(json!(events));
    let cal = l.output_calibration(Some("assistant"), "claude-sonnet-4-6");
    let mut sorted = outputs.clone();
    sorted.sort();
    assert_ne!(sorted, outputs, "the answers must arrive out of order");
    // Nearest rank of p% of 37: ceil(37·p/100) → ranks 4, 19 and 34.
    assert_eq!(
        (cal.samples, cal.output_tokens),
        (
            37,
            Range {
                low: sorted[3],
                expected: sorted[18],
                high: sorted[33]
            }
        )
    );
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
        (10_000 - 4500, 0)
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
    assert_eq!(e.would_be_credits.expected, 4500);
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
    // Proves a quick action is priced from its catalogue token counts: 450 in, 100 out on Sonnet.
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
    // (450·1800 + 100·9000)/1000 = 1,710.
    assert_eq!(
        e.credits,
        Range {
            low: 1710,
            expected: 1710,
            high: 1710
        }
    );
    // On Kimi K2: (450·360 + 100·1500)/1000 = 312.
    assert_eq!(
        l.estimate_quick_action(at, &action, "kimi-k2")
            .unwrap()
            .credits
            .expected,
        312
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

#[test]
fn every_quick_action_estimates_below_its_text_typed_freely() {
    // Proves each built-in quick action's own budget costs less than its prompt typed into the composer (the feature's instructions and tools, an open-ended answer), on every model: below the typed estimate's expected cost, with fewer input and output tokens.
    use ai_credits::estimate::is_task;
    use ai_credits::tokens::estimate_tokens;
    let l = ledger(json!([]));
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let catalogue = l.catalogue().clone();
    assert!(!catalogue.quick_actions.is_empty());
    for action in &catalogue.quick_actions {
        for model in &catalogue.models {
            let typed = MessageRequest {
                model: model.id.clone(),
                text_tokens: estimate_tokens(&action.prompt, model.tokenizer),
                task: is_task(&action.prompt),
                ..request(&action.feature)
            };
            let typed = l
                .estimate_message(
                    at,
                    &typed,
                    l.output_calibration(Some(&action.feature), &model.id),
                )
                .unwrap();
            let quick = l.estimate_quick_action(at, action, &model.id).unwrap();
            let what = format!("{} on {}", action.id, model.id);
            assert!(
                quick.input_tokens.expected < typed.input_tokens.expected,
                "{what}"
            );
            assert!(
                quick.output_tokens.expected < typed.output_tokens.expected,
                "{what}"
            );
            assert!(
                quick.would_be_credits.high < typed.would_be_credits.expected,
                "{what}: {} against {}",
                quick.would_be_credits.high,
                typed.would_be_credits.expected
            );
        }
    }
}

#[test]
fn a_features_instructions_are_sent_in_every_round() {
    // Proves `estimation.prompt_tokens` adds a feature's own tokens to each round's prompt and nothing to a feature it does not name.
    let mut doc: serde_json::Value =
        serde_json::from_str(include_str!("../catalogue/catalogue.json")).unwrap();
    doc["estimation"]["prompt_tokens"] = json!({"assistant": 1000, "agents": 200});
    let catalogue = Arc::new(Catalogue::from_json(&doc.to_string()).unwrap());
    let account = Account {
        plan: "growth".into(),
        cycle_anchor: parse_instant("2026-01-01T00:00:00Z").unwrap(),
    };
    let l = Ledger::new(catalogue, account).unwrap();
    let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
    let input = |feature: &str| {
        let cal = l.output_calibration(Some(feature), "claude-sonnet-4-6");
        l.estimate_message(at, &request(feature), cal)
            .unwrap()
            .input_tokens
            .expected
    };
    assert_eq!(input("assistant"), 1100);
    assert_eq!(input("reports"), 100);
    // Agents: 3 rounds of (100 + 200), and the growth 3·(350 + 600).
    assert_eq!(input("agents"), 3 * 300 + 3 * 950);
    // A bad value is refused with its path.
    doc["estimation"]["prompt_tokens"] = json!({"assistant": -1});
    let err = Catalogue::from_json(&doc.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("estimation.prompt_tokens.assistant"),
        "{err}"
    );
}
