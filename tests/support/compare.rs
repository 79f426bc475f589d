//! How a result is compared with its expected file (SPEC §4): shared by the core's test suites
//! (native and WASM) and the server's HTTP replay, which include this file by path.

use serde_json::Value;

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
