//! Embeds the conformance scenarios (`tests/scenarios/*.json` with their `.expected.json`)
//! into `$OUT_DIR/scenarios.rs`, so the same list runs natively, in Node and in Chromium,
//! where the WASM tests cannot read files. Only the tests include the generated file.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("tests/scenarios");
    println!("cargo:rerun-if-changed=tests/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json") && !n.ends_with(".expected.json"))
                .map(|n| n.trim_end_matches(".json").to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut out =
        String::from("/// (name, scenario JSON, expected JSON) for every conformance scenario.\n");
    out.push_str("pub const SCENARIOS: &[(&str, &str, &str)] = &[\n");
    for name in &names {
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({scenario:?}), include_str!({expected:?})),",
            scenario = format!("{root}/tests/scenarios/{name}.json"),
            expected = format!("{root}/tests/scenarios/{name}.expected.json"),
        );
    }
    out.push_str("];\n");
    // Forecast cases: one JSON file each (ledger, instant, expected forecast).
    println!("cargo:rerun-if-changed=tests/forecasts");
    let mut forecasts: Vec<String> = std::fs::read_dir("tests/forecasts")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    forecasts.sort();
    out.push_str("/// (name, case JSON) for every forecast case.\n");
    out.push_str("pub const FORECASTS: &[(&str, &str)] = &[\n");
    for name in &forecasts {
        let path = format!("{root}/tests/forecasts/{name}");
        let _ = writeln!(out, "    ({name:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let path =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("scenarios.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
}
