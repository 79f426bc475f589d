//! Embeds the conformance scenarios (`tests/scenarios/*.json` with their `.expected.json`)
//! into `$OUT_DIR/scenarios.rs`, so the same list runs natively, in Node and in Chromium,
//! where the WASM tests cannot read files. Only the tests include the generated file.
//!
//! Also writes `$OUT_DIR/builtin_tokenizers.rs`: each model of the built-in catalogue and its
//! tokenizer, so a token estimate for a model id needs no catalogue parsed at run time.

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
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("scenarios.rs"), out).expect("OUT_DIR is writable");

    println!("cargo:rerun-if-changed=catalogue/catalogue.json");
    let text = std::fs::read_to_string("catalogue/catalogue.json").expect("the built-in catalogue");
    let doc: serde_json::Value =
        serde_json::from_str(&text).expect("the built-in catalogue is JSON");
    let mut tokenizers = String::from(
        "/// (model id, tokenizer name) of every model of the built-in catalogue.\n\
         pub const BUILTIN_TOKENIZERS: &[(&str, &str)] = &[\n",
    );
    for model in doc["models"].as_array().expect("the catalogue's models") {
        let id = model["id"].as_str().expect("a model id");
        let tokenizer = model["tokenizer"].as_str().expect("a model's tokenizer");
        let _ = writeln!(tokenizers, "    ({id:?}, {tokenizer:?}),");
    }
    tokenizers.push_str("];\n");
    std::fs::write(
        Path::new(&out_dir).join("builtin_tokenizers.rs"),
        tokenizers,
    )
    .expect("OUT_DIR is writable");
}
