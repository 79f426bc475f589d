//! `runScenario`: the conformance runner of SPEC §4, the same code as the native binary.

use wasm_bindgen::prelude::*;

use super::js;

/// Runs a scenario (an object, or its JSON text) and returns the result document.
#[wasm_bindgen(js_name = runScenario, unchecked_return_type = "ScenarioResult")]
pub fn run_scenario(
    #[wasm_bindgen(unchecked_param_type = "Scenario | string")] scenario: JsValue,
) -> Result<JsValue, JsValue> {
    let doc = js::json_from_js(scenario)?;
    let report = crate::scenario::run(&doc, crate::Catalogue::builtin())
        .map_err(|e| js::error(e.code(), &e.to_string()))?;
    js::to_js(&report)
}

/// Runs a scenario given as JSON text and returns the result as JSON text, byte for byte what
/// `ai-credits scenario` prints.
#[wasm_bindgen(js_name = runScenarioJson)]
pub fn run_scenario_json(text: &str) -> Result<String, JsValue> {
    crate::scenario::run_json(text)
        .map(|r| r.to_json_pretty())
        .map_err(|e| js::error(e.code(), &e.to_string()))
}
