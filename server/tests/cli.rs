//! The `ai-credits scenario` command, run as a process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ai-credits"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn documents_that_are_not_scenarios_exit_non_zero_with_a_message() {
    // Proves every file in tests/runner-errors/ gives exit 2 and a one-line error, never a panic.
    let dir = repo().join("tests/runner-errors");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/runner-errors exists") {
        let path = entry.expect("readable entry").path();
        let out = bin()
            .arg("scenario")
            .arg(&path)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(
            out.stdout.is_empty(),
            "{}: printed a result",
            path.display()
        );
        assert!(
            stderr.starts_with("ai-credits: ") && !stderr.contains("panicked"),
            "{stderr}"
        );
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} runner-error documents");
}

#[test]
fn reads_the_scenario_from_stdin_with_a_dash() {
    // Proves `scenario -` reads stdin and prints the same result as reading the file.
    let path = repo().join("tests/scenarios/spec-example.json");
    let from_file = bin().arg("scenario").arg(&path).output().expect("runs");
    let mut child = bin()
        .args(["scenario", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    let text = std::fs::read(&path).expect("readable");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &text).expect("writes");
    let from_stdin = child.wait_with_output().expect("finishes");
    assert!(from_file.status.success() && from_stdin.status.success());
    assert_eq!(from_file.stdout, from_stdin.stdout);
    assert!(String::from_utf8_lossy(&from_file.stdout).contains("\"available\": 8987065"));
}

#[test]
fn random_bytes_never_panic_the_runner() {
    // Proves arbitrary input (binary junk, truncated JSON) ends in exit 0 or 2, never a crash.
    let inputs: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00, 0x41],
        b"{\"account\": {\"plan\": \"growth\", \"cycle_anchor\": \"2026-01-01T00:00:00Z\"}, \"events\": [1, null, [], \"x\"], \"query_at\": \"2026-01-02T00:00:00Z\"}".to_vec(),
        b"{\"account\": {\"plan\": \"growth\", \"cycle_anchor\": \"2026-01-01T00:00:00Z\"}, \"events\": 7, \"query_at\": \"2026-01-02T00:00:00Z\"}".to_vec(),
        b"[[[[[[[[[[[[[[".to_vec(),
    ];
    for input in inputs {
        let mut child = bin()
            .args(["scenario", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &input).expect("writes");
        let out = child.wait_with_output().expect("finishes");
        assert!(matches!(out.status.code(), Some(0) | Some(2)), "{:?}", out);
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn a_catalogue_the_core_refuses_stops_start_up_with_its_code() {
    // Proves `serve --catalogue PATH` with a broken document (bad JSON, an unknown field, a default model that does not exist) or a missing file exits 70 before listening, naming the file and the core's error code, and creates no database.
    let dir = std::env::temp_dir().join(format!("ai-credits-cli-catalogue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut doc: serde_json::Value =
        serde_json::from_str(&ai_credits::Catalogue::default().to_json()).expect("json");
    doc["surprise"] = serde_json::json!(true);
    let mut no_default = doc.clone();
    if let Some(fields) = no_default.as_object_mut() {
        fields.remove("surprise");
    }
    no_default["default_model"] = serde_json::json!("gpt-0");
    let cases = [
        (
            "truncated.json",
            Some("{\"schema\": ".to_owned()),
            "catalogue_invalid_json",
        ),
        (
            "unknown-field.json",
            Some(doc.to_string()),
            "catalogue_unknown_field",
        ),
        (
            "no-default.json",
            Some(no_default.to_string()),
            "catalogue_unknown_default_model",
        ),
        ("missing.json", None, "cannot read it"),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).expect("writes");
        }
        let db = dir.join(format!("{name}.db"));
        let out = bin()
            .args(["serve", "--addr", "127.0.0.1:0", "--catalogue"])
            .arg(&path)
            .arg("--db")
            .arg(&db)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "error")
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(70), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: it listened");
        assert!(
            stderr.contains("cannot start: --catalogue")
                && stderr.contains(name)
                && stderr.contains(expected),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!db.exists(), "{name}: a database was created");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
