//! Every conformance scenario through the WASM facade, under Node (wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

mod support;

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn every_scenario_matches_its_expected_result_in_wasm_under_node() {
    // Proves the WASM build gives SPEC §4's result for every scenario, run by Node.
    let run = |text: &str| ai_credits::wasm::run_scenario_json(text).map_err(|e| format!("{e:?}"));
    match support::run_all(run) {
        Ok(n) => assert!(n >= 40, "only {n} scenarios"),
        Err(report) => panic!("scenarios differ from their expected results:\n\n{report}"),
    }
}

#[wasm_bindgen_test]
fn every_forecast_case_matches_in_wasm() {
    // Proves the forecast cases give the same hand-checked numbers in WASM, under Node.
    match support::run_all_forecasts() {
        Ok(n) => assert!(n >= 3, "only {n} forecast cases"),
        Err(report) => panic!("forecasts differ:\n{report}"),
    }
}
