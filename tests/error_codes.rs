//! The package's TypeScript unions of error codes tell the truth: every code the core, the WASM
//! facade or the package's entry can throw is in `ErrorCode` (src/wasm/types.rs) or, for the
//! sync client's own, in `ClientErrorCode` (src/wasm/client.rs), and `ErrorCode` names no code
//! that nothing throws. Codes are read from the sources: the `code()` arms of the core's error
//! types, every `error("…")` of the facade and every `new AiCreditsError('…'` of the entries (src/wasm/js/).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::path::Path;

use ai_credits::RejectCode;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The quoted names of a TypeScript union `export type NAME = "a" | "b" | …;` in `text`.
fn union(text: &str, name: &str) -> BTreeSet<String> {
    let start = text
        .find(&format!("export type {name} ="))
        .unwrap_or_else(|| panic!("no union {name}"));
    let end = start + text[start..].find(';').expect("the union ends");
    quoted(&text[start..end], '"')
}

/// Every `q…q` string in `text`.
fn quoted(text: &str, q: char) -> BTreeSet<String> {
    text.split(q)
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The string literal right after each `marker` (whitespace and newlines allowed between).
fn after(text: &str, marker: &str, q: char) -> BTreeSet<String> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = text[i + marker.len()..].trim_start();
            let rest = rest.strip_prefix(q)?;
            Some(rest[..rest.find(q)?].to_owned())
        })
        .collect()
}

/// The string literals the `code()` functions of `text` return.
fn code_arms(text: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (i, _) in text.match_indices("pub fn code(&self) -> &'static str {") {
        let body = &text[i..];
        let end = body.find("\n    }\n").expect("the function ends");
        codes.extend(quoted(&body[..end], '"'));
    }
    codes
}

#[test]
fn every_code_thrown_is_in_the_typescript_unions_and_no_union_member_is_stale() {
    // Proves the .d.ts unions name exactly the codes the sources can throw: a new code missing from ErrorCode, or a member nothing throws, fails here.
    let types = read("src/wasm/types.rs");
    let client = read("src/wasm/client.rs");
    let reject_code = union(&types, "RejectCode");
    // ErrorCode is `RejectCode | "…" | …`.
    let mut error_code = union(&types, "ErrorCode");
    error_code.extend(reject_code.iter().cloned());
    let client_only: BTreeSet<String> = ["offline", "sync_diverged", "server_error"]
        .map(String::from)
        .into();
    assert!(
        client.contains(
            r#"export type ClientErrorCode = ErrorCode | ServerErrorCode | "offline" | "sync_diverged" | "server_error";"#
        ),
        "ClientErrorCode is ErrorCode, the server's codes and the client's own"
    );

    let rejects: BTreeSet<String> = RejectCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(reject_code, rejects, "RejectCode is every RejectCode");

    let mut thrown: BTreeSet<String> = rejects.clone();
    thrown.extend(code_arms(&read("src/error.rs")));
    thrown.extend(code_arms(&read("src/tokens.rs")));
    let mut facade = BTreeSet::new();
    for file in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/wasm")).expect("src/wasm")
    {
        let path = file.expect("a file").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            facade.extend(after(&text, "error(", '"'));
        }
    }
    let mut entry = BTreeSet::new();
    for file in [
        "guard.js",
        "index.js",
        "tokens.js",
        "react.js",
        "node-wasm.js",
    ] {
        entry.extend(after(
            &read(&format!("src/wasm/js/{file}")),
            "new AiCreditsError(",
            '\'',
        ));
    }
    assert!(
        entry.contains("not_initialized") && entry.contains("freed"),
        "the entry's own codes were read: {entry:?}"
    );
    assert!(
        facade.contains("invalid_argument") && facade.contains("offline"),
        "the facade's codes were read: {facade:?}"
    );
    thrown.extend(facade);
    thrown.extend(entry);

    let missing: Vec<&String> = thrown
        .iter()
        .filter(|c| !error_code.contains(*c) && !client_only.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "thrown but not in ErrorCode: {missing:?}"
    );
    let stale: Vec<&String> = error_code.iter().filter(|c| !thrown.contains(*c)).collect();
    assert!(stale.is_empty(), "in ErrorCode but never thrown: {stale:?}");
}
