//! Every conformance scenario and forecast case through the WASM build, under Node
//! (wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

mod support;

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn every_scenario_matches_its_expected_result_in_wasm_under_node() {
    // Proves the WASM build gives SPEC §4's result for every scenario, under Node.
    support::assert_scenarios_through_the_wasm_facade();
}

#[wasm_bindgen_test]
fn every_forecast_case_matches_in_wasm_under_node() {
    // Proves the forecast cases give the same hand-checked numbers in WASM, under Node.
    support::assert_forecasts();
}

#[wasm_bindgen_test]
fn every_scenario_through_a_checkpoint_at_every_cut_agrees_in_wasm_under_node() {
    // Proves SPEC §5.3 in the WASM build under Node: restore + the remaining events = the
    // whole log on every scenario, at every cut point.
    support::assert_checkpoints_agree_on_every_scenario();
}
