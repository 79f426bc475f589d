//! The HTTP API's edges (who may call what is `roles.rs`, payments `payments.rs`): bad input
//! of every sort (always a 4xx with a code, never a 500), delta sync, the catalogue's ETag,
//! and logs without secrets.

mod support;

use serde_json::{Value, json};

use support::{ADMIN, ServerProcess, Tokens, answer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_coded_4xx_never_a_500() {
    // Proves malformed JSON, unknown fields, negative, fractional and huge numbers, oversized bodies and bad queries get a 4xx with a code.
    let server = ServerProcess::start(&support::sqlite("bad-input"), false);
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    let raw = |path: &str, token: &str, body: Vec<u8>| {
        http.post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let events = format!("/v1/accounts/{account}/events");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("truncated JSON", b"{\"kind\": \"usage\"".to_vec(), 400, "invalid_event"),
        ("not UTF-8", vec![0xff, 0xfe, 0x7b], 400, "invalid_event"),
        ("an array", b"[1, 2]".to_vec(), 400, "invalid_event"),
        ("empty body", Vec::new(), 400, "invalid_event"),
        ("unknown field", br#"{"kind": "usage", "id": "x1", "model": "gpt-5", "input_tokens": 1, "tokens_in": 5}"#.to_vec(), 400, "invalid_event"),
        ("negative tokens", br#"{"kind": "usage", "id": "x2", "model": "gpt-5", "input_tokens": -1}"#.to_vec(), 422, "invalid_event"),
        ("fractional tokens", br#"{"kind": "usage", "id": "x3", "model": "gpt-5", "input_tokens": 1.5}"#.to_vec(), 422, "invalid_event"),
        ("tokens as a string", br#"{"kind": "usage", "id": "x4", "model": "gpt-5", "input_tokens": "12"}"#.to_vec(), 422, "invalid_event"),
        ("huge tokens", br#"{"kind": "usage", "id": "x5", "model": "gpt-5", "input_tokens": 18446744073709551616}"#.to_vec(), 422, "invalid_event"),
        ("1e30 tokens", br#"{"kind": "usage", "id": "x6", "model": "gpt-5", "input_tokens": 1e30}"#.to_vec(), 422, "invalid_event"),
        ("zero debit", br#"{"kind": "debit", "id": "x7", "credits": 0}"#.to_vec(), 422, "invalid_event"),
        ("debit over the limit", br#"{"kind": "debit", "id": "x8", "credits": 1000000000001}"#.to_vec(), 422, "invalid_event"),
        ("negative debit", br#"{"kind": "debit", "id": "x9", "credits": -5}"#.to_vec(), 422, "invalid_event"),
        ("no id", br#"{"kind": "debit", "credits": 5}"#.to_vec(), 422, "invalid_event"),
        ("unknown kind", br#"{"kind": "refund", "id": "x10"}"#.to_vec(), 422, "invalid_event"),
        ("unknown model", br#"{"kind": "usage", "id": "x11", "model": "gpt-9"}"#.to_vec(), 422, "unknown_model"),
        ("deep nesting", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), 400, "invalid_event"),
        ("over 64 KiB", format!(r#"{{"kind": "usage", "id": "x12", "model": "gpt-5", "feature": "{}"}}"#, "a".repeat(70_000)).into_bytes(), 413, "body_too_large"),
    ];
    let mut problems = Vec::new();
    for (what, body, want_status, want_code) in cases {
        let (status, reply) = answer(raw(&events, &t.service, body).await.expect("request")).await;
        if status != want_status || reply["code"] != want_code || !reply["message"].is_string() {
            problems.push(format!("{what}: {status} {reply}"));
        }
    }
    // A raw provider usage payload is read by the core: 10 in, 5 out on GPT-5 is
    // ceil((10·750 + 5·6000) / 1000) = 38 credits; with token fields beside it, it is refused.
    let payload = br#"{"kind": "usage", "id": "ok1", "model": "gpt-5", "provider_usage": {"usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}}"#;
    let (status, reply) = answer(raw(&events, &t.service, payload.to_vec()).await.unwrap()).await;
    if status != 200 || reply["entry"]["credits"] != 38 || reply["entry"]["output_tokens"] != 5 {
        problems.push(format!("provider_usage: {status} {reply}"));
    }
    let both = br#"{"kind": "usage", "id": "ok2", "model": "gpt-5", "input_tokens": 1, "provider_usage": {"prompt_tokens": 1}}"#;
    let (status, reply) = answer(raw(&events, &t.service, both.to_vec()).await.unwrap()).await;
    if status != 422 || reply["code"] != "invalid_event" {
        problems.push(format!(
            "provider_usage with token fields: {status} {reply}"
        ));
    }
    // Accounts and tokens.
    let account_cases: Vec<(&str, String, &[u8], u16, &str)> = vec![
        (
            "unknown plan",
            "/v1/accounts".into(),
            br#"{"plan": "platinum"}"#,
            422,
            "unknown_plan",
        ),
        (
            "bad anchor",
            "/v1/accounts".into(),
            br#"{"plan": "growth", "cycle_anchor": "yesterday"}"#,
            400,
            "invalid_request",
        ),
        (
            "account field",
            "/v1/accounts".into(),
            br#"{"plan": "growth", "credits": 5}"#,
            400,
            "invalid_request",
        ),
        (
            "plan as a number",
            "/v1/accounts".into(),
            br#"{"plan": 5}"#,
            400,
            "invalid_request",
        ),
        (
            "account not JSON",
            "/v1/accounts".into(),
            b"plan=growth",
            400,
            "invalid_json",
        ),
        (
            "bad role",
            format!("/v1/accounts/{account}/tokens"),
            br#"{"member": "a", "role": "owner"}"#,
            400,
            "invalid_request",
        ),
        (
            "empty member",
            format!("/v1/accounts/{account}/tokens"),
            br#"{"member": "", "role": "member"}"#,
            400,
            "invalid_request",
        ),
    ];
    for (what, path, body, want_status, want_code) in account_cases {
        let (status, reply) =
            answer(raw(&path, ADMIN, body.to_vec()).await.expect("request")).await;
        if status != want_status || reply["code"] != want_code {
            problems.push(format!("{what}: {status} {reply}"));
        }
    }
    // Queries, unknown routes, wrong methods.
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .bearer_auth(&t.member)
            .send()
    };
    for (path, want_status, want_code) in [
        (
            format!("/v1/accounts/{account}/state?at=soon"),
            400,
            "invalid_request",
        ),
        (
            format!("/v1/accounts/{account}/state?at=2001-01-01T00:00:00Z"),
            422,
            "invalid_event",
        ),
        (
            format!("/v1/accounts/{account}/entries?after=-1"),
            400,
            "invalid_request",
        ),
        (
            format!("/v1/accounts/{account}/entries?after=abc"),
            400,
            "invalid_request",
        ),
        (
            format!("/v1/accounts/{account}/entries?limit=99999999999999999999"),
            400,
            "invalid_request",
        ),
        ("/v1/nothing-here".to_owned(), 404, "not_found"),
    ] {
        let (status, reply) = answer(get(path.clone()).await.expect("request")).await;
        if status != want_status || reply["code"] != want_code {
            problems.push(format!("GET {path}: {status} {reply}"));
        }
    }
    let (status, reply) = answer(
        http.delete(format!("{base}/v1/accounts/{account}/state"))
            .bearer_auth(&t.member)
            .send()
            .await
            .unwrap(),
    )
    .await;
    if status != 405 || reply["code"] != "method_not_allowed" {
        problems.push(format!("DELETE state: {status} {reply}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!server.log_text().contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_clock_dates_events_and_entries_sync_by_cursor() {
    // Proves a client's `at` is ignored without --allow-client-time, and /entries pages through every entry once with its cursor, with the stored events, the account and the latest time that replay to the server's own state.
    let server = ServerProcess::start(&support::sqlite("entries"), false);
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    for i in 0..7 {
        let e = json!({"kind": "usage", "id": format!("u{i}"), "model": "gpt-5", "input_tokens": 100, "at": "2020-01-01T00:00:00Z"});
        let (status, body) = support::post_event(&http, base, &account, &t.service, &e)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["entry"]["at"].as_str().unwrap() > "2026", "{body}");
        // Events without entries move the cursor too.
        let (status, _) = support::post_event(
            &http,
            base,
            &account,
            &t.admin,
            &json!({"kind": "select_model", "model": "gpt-5"}),
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
    }
    let mut after = 0;
    let mut seen = Vec::new();
    let mut events = Vec::new();
    let last_page = loop {
        let (status, page) = answer(
            http.get(format!("{base}/v1/accounts/{account}/entries"))
                .query(&[("after", after.to_string()), ("limit", "3".into())])
                .bearer_auth(&t.member)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        after = page["next_cursor"].as_i64().unwrap();
        if page["has_more"] == json!(false) {
            assert_eq!(after, 14);
            assert!(page["version"].as_i64().unwrap() >= 14);
            break page;
        }
    };
    assert_eq!(seen, (0..7).map(|i| format!("u{i}")).collect::<Vec<_>>());
    // Every event (also those without an entry), in order, as stored: with the server's `at`.
    assert_eq!(events.len(), 14);
    assert_eq!(events[0]["kind"], "usage");
    assert_eq!(events[0]["id"], "u0");
    assert!(events[0]["at"].as_str().unwrap() > "2026", "{}", events[0]);
    assert_eq!(events[1]["kind"], "select_model");
    assert_eq!(last_page["account"]["plan"], "growth");
    let now = last_page["now"].as_str().expect("now");
    assert_eq!(Some(now), events[13]["at"].as_str());
    // Replaying the page's events on the account gives the server's own state.
    let ledger = ai_credits::Ledger::from_snapshot(
        std::sync::Arc::new(ai_credits::Catalogue::default()),
        &json!({"format": "ai-credits/ledger-snapshot", "account": last_page["account"], "now": now, "events": events}),
    )
    .expect("the page's events replay");
    let (status, state) = support::get_state(&http, base, &account, &t.member, Some(now)).await;
    assert_eq!(status, 200);
    assert_eq!(state["monthly"]["used"], json!(7 * 75));
    let replayed = serde_json::to_value(
        ledger
            .report(
                ai_credits::time::parse_instant(now).unwrap(),
                vec![],
                vec![],
            )
            .unwrap(),
    )
    .unwrap();
    for key in ["monthly", "available", "entries", "selected_model", "cycle"] {
        assert_eq!(replayed[key], state[key], "{key}");
    }
    // Past the end: an empty page that keeps the cursor, still with the account and the time.
    let (status, page) = answer(
        http.get(format!("{base}/v1/accounts/{account}/entries?after=14"))
            .bearer_auth(&t.member)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["events"], json!([]));
    assert_eq!(page["next_cursor"], 14);
    assert_eq!(page["now"], now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_www_serves_static_files_beside_the_api() {
    // Proves `serve --www DIR` serves DIR's files at `/` with their MIME types (.wasm is application/wasm), never lists a directory, refuses `..`, and leaves the API and its JSON 404s as they were.
    let www = support::temp_dir("www");
    std::fs::write(www.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::create_dir_all(www.join("pkg")).unwrap();
    std::fs::write(www.join("pkg/ai_credits.js"), "export default 1;\n").unwrap();
    std::fs::write(www.join("pkg/ai_credits_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let server = ServerProcess::start_with(
        &support::sqlite("www"),
        false,
        &["--www", www.to_str().unwrap()],
    );
    let http = support::client();
    let fetch = |path: &str| {
        let request = http.get(server.url(path));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let mime = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, mime, response.bytes().await.unwrap())
        }
    };
    let (status, mime, body) = fetch("/").await;
    assert_eq!(
        (status, mime.starts_with("text/html")),
        (200, true),
        "{mime}"
    );
    assert!(body.starts_with(b"<!doctype html>"));
    let (status, mime, _) = fetch("/index.html").await;
    assert_eq!(
        (status, mime.starts_with("text/html")),
        (200, true),
        "{mime}"
    );
    let (status, mime, _) = fetch("/pkg/ai_credits.js").await;
    assert_eq!(status, 200);
    assert!(mime.contains("javascript"), "{mime}");
    let (status, mime, body) = fetch("/pkg/ai_credits_bg.wasm").await;
    assert_eq!((status, mime.as_str()), (200, "application/wasm"));
    assert_eq!(&body[..4], b"\0asm");
    // A directory without index.html is not listed.
    let (status, _, body) = fetch("/pkg/").await;
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("ai_credits.js"));
    let (status, _, _) = fetch("/missing.js").await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch("/pkg/../../etc/passwd").await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch("/%2e%2e/%2e%2e/etc/passwd").await;
    assert!(status == 404 || status == 400, "{status}");
    // The API is unchanged beside the files.
    let (status, _, body) = fetch("/v1/catalogue").await;
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["models"].is_array());
    for path in ["/v1/nothing", "/v1"] {
        let (status, _, body) = fetch(path).await;
        assert_eq!(status, 404, "{path}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
    }
    assert!(!server.log_text().contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_has_an_etag_and_answers_304() {
    // Proves GET /v1/catalogue carries an ETag and a matching If-None-Match gets 304 with no body.
    let server = ServerProcess::start(&support::sqlite("catalogue"), false);
    let http = support::client();
    let first = http.get(server.url("/v1/catalogue")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let doc: Value = first.json().await.unwrap();
    assert!(doc["models"].as_array().is_some_and(|m| !m.is_empty()));
    let again = http
        .get(server.url("/v1/catalogue"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let other = http
        .get(server.url("/v1/catalogue"))
        .header("if-none-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    let openapi: Value = http
        .get(server.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/accounts",
        "/v1/accounts/{id}/tokens",
        "/v1/accounts/{id}/events",
        "/v1/accounts/{id}/state",
        "/v1/accounts/{id}/entries",
        "/v1/accounts/{id}/conversations",
        "/v1/accounts/{id}/webhooks",
        "/v1/accounts/{id}/webhooks/deliveries",
        "/v1/accounts/{id}/conversations/{cid}",
        "/v1/catalogue",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} is not described"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_stay_inside_the_folder_and_skip_dotfiles() {
    // Proves `--www` serves its files, never a dotfile (also percent-encoded) and never a file a link leads to outside the folder, and caches hashed assets for a year.
    let dir = support::temp_dir("www");
    let www = dir.join("www");
    std::fs::create_dir_all(www.join("assets")).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(www.join(".env"), "SECRET=1").unwrap();
    std::fs::write(www.join("assets/app-1a2b3c4d.js"), "console.log(1)").unwrap();
    std::fs::write(dir.join("outside.txt"), "not for the web").unwrap();
    std::os::unix::fs::symlink(dir.join("outside.txt"), www.join("escape.txt")).unwrap();
    let storage = support::Storage::Sqlite(dir.join("db.sqlite"));
    let server =
        support::ServerProcess::start_with(&storage, false, &["--www", www.to_str().unwrap()]);
    let http = support::client();
    let get = |path: &str| http.get(server.url(path)).send();
    let index = get("/").await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("<title>app</title>"));
    for path in ["/.env", "/%2eenv", "/escape.txt", "/assets/../.env"] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("SECRET") && !body.contains("not for the web"),
            "{path}: {body}"
        );
    }
    let asset = get("/assets/app-1a2b3c4d.js").await.unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}
