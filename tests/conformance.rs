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
