//! Shared by the native and the WASM test suites: the embedded scenarios and the comparison
//! of a result with its expected file.
#![allow(dead_code)]

use serde_json::Value;

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

#[path = "compare.rs"]
mod compare;
pub use compare::compare;

/// Runs every scenario through `run` (JSON text in, JSON text out) and returns a report of
/// every mismatch; `Ok(n)` when all `n` scenarios match.
pub fn run_all(run: impl Fn(&str) -> Result<String, String>) -> Result<usize, String> {
    let mut failures = Vec::new();
    for (name, scenario, expected) in SCENARIOS {
        let expected: Value = match serde_json::from_str(expected) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: bad expected file: {e}"));
                continue;
            }
        };
        let outcome = run(scenario).and_then(|text| {
            let actual: Value =
                serde_json::from_str(&text).map_err(|e| format!("result is not JSON: {e}"))?;
            compare(&actual, &expected)
        });
        if let Err(e) = outcome {
            failures.push(format!("{name}:\n  {e}"));
        }
    }
    if failures.is_empty() {
        Ok(SCENARIOS.len())
    } else {
        Err(failures.join("\n\n"))
    }
}

/// Every field of `expected` equals the one in `actual`, recursively: objects on the keys the
/// expected object names, lists item by item with the same length.
pub fn matches_subset(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e.iter().try_for_each(|(k, v)| {
            matches_subset(a.get(k).unwrap_or(&Value::Null), v, &format!("{path}.{k}"))
        }),
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => a
            .iter()
            .zip(e)
            .enumerate()
            .try_for_each(|(i, (a, e))| matches_subset(a, e, &format!("{path}[{i}]"))),
        _ if actual == expected => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// Runs one forecast case: replays its events, forecasts at its instant and compares.
pub fn run_forecast_case(text: &str) -> Result<(), String> {
    let case: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let account = ai_credits::snapshot::read_account(case.get("account")).map_err(|e| e.message)?;
    let mut ledger = ai_credits::Ledger::new(
        std::sync::Arc::new(ai_credits::Catalogue::default()),
        account,
    )
    .map_err(|e| e.message)?;
    ledger
        .replay(case["events"].as_array().ok_or("no events")?)
        .map_err(|e| e.message)?;
    let at =
        ai_credits::time::parse_instant(case["at"].as_str().ok_or("no at")?).ok_or("bad at")?;
    let window = case["window_days"].as_u64().ok_or("no window_days")? as u32;
    let forecast = ledger.forecast(at, window).map_err(|e| e.message)?;
    let actual = serde_json::to_value(&forecast).map_err(|e| e.to_string())?;
    matches_subset(&actual, &case["expected"], "forecast")?;
    // The alerts at the same instant, where the case lists them (in order, all of them).
    if let Some(expected) = case.get("expected_alerts") {
        let alerts = ledger.alerts(at).map_err(|e| e.message)?;
        let actual = serde_json::to_value(&alerts).map_err(|e| e.to_string())?;
        matches_subset(&actual, expected, "alerts")?;
    }
    Ok(())
}

/// Runs every forecast case; `Ok(n)` when all `n` match.
pub fn run_all_forecasts() -> Result<usize, String> {
    let failures: Vec<String> = FORECASTS
        .iter()
        .filter_map(|(name, text)| {
            run_forecast_case(text)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    if failures.is_empty() {
        Ok(FORECASTS.len())
    } else {
        Err(failures.join("\n"))
    }
}

/// Every scenario through the WASM facade's `runScenarioJson`, checked against its expected
/// file (the body of the Node and the Chromium WASM tests).
#[cfg(target_arch = "wasm32")]
pub fn assert_scenarios_through_the_wasm_facade() {
    let run = |text: &str| ai_credits::wasm::run_scenario_json(text).map_err(|e| format!("{e:?}"));
    match run_all(run) {
        Ok(n) => assert!(n >= 40, "only {n} scenarios"),
        Err(report) => panic!("scenarios differ from their expected results:\n\n{report}"),
    }
}

/// Every forecast case, checked against its hand-checked numbers.
pub fn assert_forecasts() {
    match run_all_forecasts() {
        Ok(n) => assert!(n >= 3, "only {n} forecast cases"),
        Err(report) => panic!("forecasts differ:\n{report}"),
    }
}

/// Runs one scenario whole and through checkpoints at `cuts`; `Err` names the first
/// difference in the result document (entries from the store included) or in any of
/// `scenario::answers` at the query time.
pub fn checkpoint_agrees(doc: &Value, cuts: &[usize]) -> Result<(), String> {
    use ai_credits::scenario::{answers, run_through};
    let catalogue = std::sync::Arc::new(ai_credits::Catalogue::default());
    let whole = run_through(doc, catalogue.clone(), &[]).map_err(|e| e.to_string())?;
    let cut = run_through(doc, catalogue, cuts).map_err(|e| e.to_string())?;
    let [a, b] = [&whole.report, &cut.report].map(|r| serde_json::to_value(r).unwrap());
    compare_values(&b, &a, "report")?;
    let at = whole.report.at;
    compare_values(
        &answers(&cut.ledger, at),
        &answers(&whole.ledger, at),
        "answers",
    )
}

/// The whole log is what is expected; the checkpointed run is what is compared with it.
fn compare_values(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    ai_credits::scenario::first_difference(actual, expected, path)
        .map_err(|e| format!("{e} (expected: the whole log; got: through checkpoints)"))
}

/// Every scenario through a checkpoint at every cut point, and through all of them chained:
/// the same result document and the same answers as the whole log (SPEC §5.3).
pub fn assert_checkpoints_agree_on_every_scenario() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for (name, scenario, _) in SCENARIOS {
        let doc: Value = serde_json::from_str(scenario).expect("scenario JSON");
        if ai_credits::scenario::run(&doc, std::sync::Arc::new(Default::default())).is_err() {
            continue; // a runner-error case: no ledger to checkpoint
        }
        let n = doc["events"].as_array().map_or(0, Vec::len);
        let every: Vec<usize> = (0..=n).collect();
        for cuts in (0..=n).map(|k| vec![k]).chain([every]) {
            runs += 1;
            if let Err(e) = checkpoint_agrees(&doc, &cuts) {
                failures.push(format!("{name} cut at {cuts:?}: {e}"));
                break;
            }
        }
    }
    assert!(runs > 200, "only {runs} runs");
    assert!(
        failures.is_empty(),
        "checkpoints disagree with the whole log:\n{}",
        failures.join("\n")
    );
}
