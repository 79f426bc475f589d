//! Shared by the native and the WASM test suites: the embedded scenarios and the comparison
//! of a result with its expected file.
#![allow(dead_code)]

use serde_json::Value;

include!(concat!(env!("OUT_DIR"), "/scenarios.rs"));

/// Compares a result with an expected result the way SPEC §4 says results are compared:
/// every field the expected file names must be equal; in `entries`, `packs` and `rejected`,
/// items are compared on the fields the expected item names (a result may carry more, and a
/// rejection's message is free text).
pub fn compare(actual: &Value, expected: &Value) -> Result<(), String> {
    let (Some(actual), Some(expected)) = (actual.as_object(), expected.as_object()) else {
        return Err("both results must be JSON objects".into());
    };
    let mut problems = Vec::new();
    for (key, want) in expected {
        let got = actual.get(key).unwrap_or(&Value::Null);
        let same = match (key.as_str(), got, want) {
            ("entries" | "packs" | "rejected", Value::Array(got), Value::Array(want)) => {
                got.len() == want.len() && got.iter().zip(want).all(|(g, w)| item_matches(g, w))
            }
            _ => got == want,
        };
        if !same {
            problems.push(format!("`{key}`:\n    expected {want}\n    actual   {got}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn item_matches(got: &Value, want: &Value) -> bool {
    match (got.as_object(), want.as_object()) {
        (Some(g), Some(w)) => w.iter().all(|(k, v)| g.get(k) == Some(v)),
        _ => got == want,
    }
}

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
