//! Every conformance scenario, run by the native core.

mod support;

#[test]
fn every_scenario_matches_its_expected_result_natively() {
    // Proves the native core gives SPEC §4's result for every scenario in tests/scenarios/.
    let run = |text: &str| {
        ai_credits::scenario::run_json(text)
            .map(|r| r.to_json_pretty())
            .map_err(|e| e.to_string())
    };
    match support::run_all(run) {
        Ok(n) => assert!(n >= 1, "no scenarios found"),
        Err(report) => panic!("scenarios differ from their expected results:\n\n{report}"),
    }
}

#[test]
fn the_streaming_reader_reads_every_scenario_event_like_the_tree_reader() {
    // Proves EventDraft::list_from_json (used for long histories) and from_text (stored bodies) equal from_json on every event.
    for (name, scenario, _) in support::SCENARIOS {
        let doc: serde_json::Value = serde_json::from_str(scenario).expect("scenario JSON");
        let Some(events) = doc.get("events").filter(|e| e.is_array()) else {
            continue;
        };
        let tree: Vec<_> = events
            .as_array()
            .unwrap()
            .iter()
            .map(ai_credits::EventDraft::from_json)
            .collect();
        let streamed = ai_credits::EventDraft::list_from_json(&events.to_string()).expect("a list");
        assert_eq!(streamed, tree, "{name}");
        // Each event from its own text too (how the server reads what it stored).
        for (event, expected) in events.as_array().unwrap().iter().zip(&tree) {
            let from_text =
                ai_credits::EventDraft::from_text(&event.to_string()).expect("an event");
            assert_eq!(&from_text, expected, "{name}");
        }
    }
}

#[test]
fn every_forecast_case_matches_its_hand_checked_numbers_natively() {
    // Proves burn rate, runway and pack what-ifs (with breakage) on the cases in tests/forecasts/.
    support::assert_forecasts();
}

#[test]
fn every_scenario_through_a_checkpoint_at_every_cut_agrees_with_the_whole_log_natively() {
    // Proves SPEC §5.3 on every scenario: restore + the remaining events = full replay, for the
    // report and for balance, previews, estimates, burn and forecast.
    support::assert_checkpoints_agree_on_every_scenario();
}
