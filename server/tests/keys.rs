//! Own provider keys over HTTP against a fake provider on loopback: save and test several at
//! once (accepted, refused in each provider's own error shape, too slow), routing before and
//! after, invalid-on-rejection with both reasons and the exact billing message, removal,
//! selection fallback, the audit log, who may call what, and the key never appearing in a
//! response, the server's log at `RUST_LOG=trace`, the SQLite file or a PostgreSQL dump; nor
//! pieces of it a provider echoed back. Each key change is one transaction: two servers on one
//! PostgreSQL racing changes keep the key table, the ledger and the audit log agreeing, and a
//! change that cannot be stored leaves nothing behind. The plan gate follows the catalogue
//! the server was started with.

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use ai_credits_server::store::{Db, Location};
use support::{ServerProcess, Storage, Tokens, answer};

/// Keys the fake provider accepts: they contain `GOOD`. `SLOW` answers after
/// [`SLOW_MS`] (past the server's timeout); `OKSLOW` accepts after [`OKSLOW_MS`] (within it);
/// `BROKE` is a billing error; anything else is refused with 401 (Google: 400
/// `API_KEY_INVALID`).
const OPENAI_KEY: &str = "sk-proj-GOOD-openai-3f9a1c7e5b2d8046";
const ANTHROPIC_BAD_KEY: &str = "sk-ant-api03-wrong-a71c0e93b5d24f68";
const XAI_KEY: &str = "xai-GOOD-xai-9b8e7d6c5a4f3e2d1c0b";
const GOOGLE_SLOW_KEY: &str = "AIzaSy-SLOW-google-4e5f6a7b8c9d0e1f";
const MOONSHOT_SLOW_KEY: &str = "sk-moon-OKSLOW-moonshot-2a3b4c5d6e";
const ALL_KEYS: [&str; 5] = [
    OPENAI_KEY,
    ANTHROPIC_BAD_KEY,
    XAI_KEY,
    GOOGLE_SLOW_KEY,
    MOONSHOT_SLOW_KEY,
];
/// The server's per-key test timeout in these tests.
const TIMEOUT_MS: u64 = 1500;
const SLOW_MS: u64 = 5000;
const OKSLOW_MS: u64 = 1000;

/// The key a provider's request carries, by that provider's scheme.
fn key_of(provider: &str, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    match provider {
        "anthropic" => {
            if header("anthropic-version") != "2023-06-01" {
                return String::new();
            }
            header("x-api-key")
        }
        "google" => header("x-goog-api-key"),
        _ => header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or("")
            .to_owned(),
    }
}

/// Each provider's documented 401 (Google: 400) for a wrong key.
fn refused(provider: &str) -> Response {
    let (status, body) = match provider {
        "anthropic" => (
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        ),
        "google" => (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                   "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                   "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        ),
    };
    (status, axum::Json(body)).into_response()
}

/// Each provider's billing refusal: OpenAI 429 `insufficient_quota`, Anthropic 400 "credit
/// balance is too low".
fn broke(provider: &str) -> Response {
    let (status, body) = match provider {
        "anthropic" => (
            StatusCode::BAD_REQUEST,
            json!({"type": "error", "error": {"type": "invalid_request_error",
                   "message": "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}),
        ),
        _ => (
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"message": "You exceeded your current quota, please check your plan and billing details.",
                   "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}),
        ),
    };
    (status, axum::Json(body)).into_response()
}

/// OpenAI's 401 for a wrong key, echoing it the way OpenAI does (its start, masked, its last
/// four), plus a piece of its middle and another `sk-` token, and the whole key reversed,
/// spaced out and base64-encoded, as a careless provider might.
fn echoed(key: &str) -> Response {
    let chars: Vec<char> = key.chars().collect();
    let piece = |from: usize, to: usize| {
        chars[from.min(chars.len())..to.min(chars.len())]
            .iter()
            .collect::<String>()
    };
    let reversed: String = chars.iter().rev().collect();
    let spaced: String = chars.iter().map(|c| format!("{c} ")).collect();
    let message = format!(
        "Incorrect API key provided: {}{}{}. The middle {} looks odd; sk-live-0000zzzz is not it either. Reversed: {reversed}; spaced: {spaced}; encoded: {}.",
        piece(0, 8),
        "*".repeat(24),
        piece(chars.len().saturating_sub(4), chars.len()),
        piece(12, 22),
        support::base64(key.as_bytes()),
    );
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})),
    )
        .into_response()
}

async fn models(provider: String, headers: HeaderMap) -> Response {
    let key = key_of(&provider, &headers);
    if key.contains("SLOW") && !key.contains("OKSLOW") {
        tokio::time::sleep(Duration::from_millis(SLOW_MS)).await;
    }
    if key.contains("OKSLOW") {
        tokio::time::sleep(Duration::from_millis(OKSLOW_MS)).await;
        return axum::Json(json!({"object": "list", "data": []})).into_response();
    }
    if key.contains("BROKE") {
        return broke(&provider);
    }
    if key.contains("ECHO") {
        return echoed(&key);
    }
    if key.contains("GOOD") {
        return axum::Json(json!({"object": "list", "data": [{"id": "some-model"}]}))
            .into_response();
    }
    refused(&provider)
}

/// A fake of the five providers' list-models endpoints on loopback, each under `/{provider}`.
async fn fake_provider() -> String {
    let app = Router::new()
        .route(
            "/{provider}/v1/models",
            get(|Path(p): Path<String>, h: HeaderMap| models(p, h)),
        )
        .route(
            "/{provider}/v1beta/models",
            get(|Path(p): Path<String>, h: HeaderMap| models(p, h)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A server whose adapters point at `fake`, logging at trace.
fn server(storage: &Storage, fake: &str, extra: &[(&str, &str)]) -> ServerProcess {
    server_with(storage, fake, &[], extra)
}

/// Like [`server`], with more arguments for `serve`.
fn server_with(
    storage: &Storage,
    fake: &str,
    args: &[&str],
    extra: &[(&str, &str)],
) -> ServerProcess {
    let bases: Vec<(String, String)> = ["openai", "anthropic", "moonshot", "xai", "google"]
        .iter()
        .map(|p| {
            (
                format!("AI_CREDITS_PROVIDER_BASE_{}", p.to_ascii_uppercase()),
                format!("{fake}/{p}"),
            )
        })
        .collect();
    let timeout = TIMEOUT_MS.to_string();
    let mut envs: Vec<(&str, &str)> = bases
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    envs.push(("AI_CREDITS_PROVIDER_TIMEOUT_MS", &timeout));
    envs.push(("RUST_LOG", "trace"));
    envs.extend_from_slice(extra);
    ServerProcess::start_env(storage, false, args, &envs)
}

/// Every response body the test saw, to search for keys at the end.
#[derive(Default)]
struct Seen(String);

impl Seen {
    async fn call(&mut self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let (status, body) = answer(request.send().await.expect("request")).await;
        self.0.push_str(&body.to_string());
        (status, body)
    }
}

fn usage(id: &str, model: &str) -> Value {
    json!({"kind": "usage", "id": id, "model": model, "input_tokens": 1000, "output_tokens": 200})
}

fn assert_no_key(what: &str, haystack: &[u8]) {
    for key in ALL_KEYS {
        let found = haystack.windows(key.len()).any(|w| w == key.as_bytes());
        assert!(!found, "the key {key} appears in {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_tested_together_route_usages_and_never_leak_on_sqlite() {
    // Proves save-and-test with mixed outcomes (one timing out) runs concurrently, routing follows key states, rejections mark keys invalid with the exact billing message, removal falls back to the default model, the audit log records it all, and no key appears in responses, trace logs or the SQLite files.
    let fake = fake_provider().await;
    let storage = support::sqlite("keys");
    let server = server(&storage, &fake, &[]);
    run_the_story(&server, &storage).await;
    let Storage::Sqlite(db) = &storage else {
        unreachable!()
    };
    let key_file = db.with_file_name("ai-credits.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("the data key file beside the database")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the data key file is private");
    }
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert_no_key(&path, &bytes);
        }
    }
    let log = server.log_text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log is at trace level"
    );
    assert_no_key("the server log", log.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_appear_in_a_postgresql_dump() {
    // Proves the same story on PostgreSQL (data key from the environment) and that `pg_dump` of the database holds no key.
    // A database of its own: its data key is this test's.
    let Some(storage) = support::fresh_postgres("keys_never_appear_in_a_postgresql_dump").await
    else {
        return;
    };
    let fake = fake_provider().await;
    let data_key = "5f".repeat(32);
    let server = server(&storage, &fake, &[("AI_CREDITS_DATA_KEY", &data_key)]);
    run_the_story(&server, &storage).await;
    let Storage::Postgres(url) = &storage else {
        unreachable!()
    };
    let pg_dump = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|dirs| {
            let mut bins: Vec<_> = dirs
                .filter_map(|d| Some(d.ok()?.path().join("bin/pg_dump")))
                .filter(|p| p.exists())
                .collect();
            bins.sort();
            bins.pop()
        })
        .map_or_else(|| "pg_dump".into(), |p| p.display().to_string());
    let dump = std::process::Command::new(pg_dump)
        .arg("--data-only")
        .arg(url)
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        text.contains("provider_keys"),
        "the dump has the keys table"
    );
    assert_no_key("the pg_dump", &dump.stdout);
    assert_no_key("the server log", server.log_text().as_bytes());
}

async fn run_the_story(server: &ServerProcess, _storage: &Storage) {
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let other = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    let other_t = Tokens::issue(&http, base, &other).await;
    let mut seen = Seen::default();
    let url = |path: &str| format!("{base}/v1/accounts/{account}{path}");
    let post_usage = |event: Value| {
        http.post(url("/events"))
            .bearer_auth(&t.service)
            .json(&event)
    };

    // Before: Grok is own-key only, so a usage of it is unavailable.
    let (status, body) = seen.call(post_usage(usage("u-before", "grok-4"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("model_unavailable")),
        "{body}"
    );

    // Who may save keys: the account's admin only.
    let keys_body = json!({"keys": {
        "openai": OPENAI_KEY, "anthropic": ANTHROPIC_BAD_KEY, "xai": XAI_KEY,
        "google": GOOGLE_SLOW_KEY, "moonshot": MOONSHOT_SLOW_KEY,
    }});
    for (token, expected) in [(&t.member, 403), (&t.service, 403), (&other_t.admin, 404)] {
        let (status, body) = seen
            .call(http.put(url("/keys")).bearer_auth(token).json(&keys_body))
            .await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, body) = seen
        .call(
            http.put(url("/keys"))
                .bearer_auth(&t.admin)
                .json(&json!({"keys": {"nope": "abcdefghijk"}})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("unknown_provider")),
        "{body}"
    );

    // Refused bodies never quote the key: an unknown field, a key with a space.
    for bad in [
        json!({"keys": {"openai": OPENAI_KEY}, "note": OPENAI_KEY}),
        json!({"keys": {"openai": format!("{OPENAI_KEY} {XAI_KEY}")}}),
        json!({"keys": {"openai": 42, "xai": XAI_KEY}}),
    ] {
        let (status, body) = seen
            .call(http.put(url("/keys")).bearer_auth(&t.admin).json(&bad))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }

    // Save five keys at once: tested together, so the whole takes about one timeout, not the
    // sum of the slow ones (1.5 s + 1 s one after the other).
    let started = Instant::now();
    let (status, body) = seen
        .call(
            http.put(url("/keys"))
                .bearer_auth(&t.admin)
                .json(&keys_body),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(
        took < Duration::from_millis(2400),
        "keys were not tested concurrently: {took:?}"
    );
    let by_provider = |body: &Value| -> std::collections::BTreeMap<String, Value> {
        body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| {
                (
                    k["provider"].as_str().expect("provider").to_owned(),
                    k.clone(),
                )
            })
            .collect()
    };
    let saved = by_provider(&body);
    assert_eq!(saved["openai"]["state"], "connected", "{body}");
    assert_eq!(saved["openai"]["last4"], "8046");
    assert!(saved["openai"]["tested_at"].is_string());
    assert_eq!(saved["xai"]["state"], "connected");
    assert_eq!(saved["moonshot"]["state"], "connected");
    assert_eq!(saved["anthropic"]["state"], "rejected");
    assert_eq!(saved["anthropic"]["reason"], "auth");
    // Our words, never the provider's ("invalid x-api-key").
    let detail = saved["anthropic"]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("did not accept this key") && detail.contains("HTTP 401"),
        "{detail}"
    );
    assert_eq!(saved["google"]["state"], "rejected");
    assert_eq!(saved["google"]["reason"], "timeout");
    let detail = saved["google"]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("could not be reached") && detail.contains("not checked"),
        "a key that timed out says plainly it was not checked: {detail}"
    );
    assert!(saved.values().all(|k| k.get("key").is_none()));

    // The list shows the same, and the ledger's key states follow.
    let (status, listed) = seen
        .call(http.get(url("/keys")).bearer_auth(&t.admin))
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(by_provider(&listed), saved);
    let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
    seen.0.push_str(&state.to_string());
    assert_eq!(
        state["keys"],
        json!({"anthropic": "invalid", "google": "invalid", "moonshot": "connected", "openai": "connected", "xai": "connected"}),
        "{state}"
    );

    // After: Grok is billed to the own key; Claude (key rejected) to credits.
    let (status, body) = seen.call(post_usage(usage("u-grok", "grok-4"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entry"]["billed_to"], "own_key", "{body}");
    assert_eq!(body["entry"]["credits"], 0);
    let (status, body) = seen
        .call(post_usage(usage("u-claude", "claude-sonnet-4-6")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entry"]["billed_to"], "credits", "{body}");

    // The host app reports refusals: only its service token may.
    let rejected = |provider: &str, reason: &str, token: &str| {
        http.post(url(&format!("/keys/{provider}/rejected")))
            .bearer_auth(token)
            .json(&json!({"reason": reason}))
    };
    let (status, _) = seen.call(rejected("xai", "billing", &t.admin)).await;
    assert_eq!(status, 403);
    let (status, _) = seen
        .call(rejected("xai", "billing", &other_t.service))
        .await;
    assert_eq!(status, 404);
    let (status, body) = seen.call(rejected("xai", "broke", &t.service)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // Select Grok, then xAI runs out of money: the exact billing message, Grok unavailable,
    // the selection back to the default.
    let (status, body) = seen
        .call(
            http.post(url("/events"))
                .bearer_auth(&t.admin)
                .json(&json!({"kind": "select_model", "model": "grok-4"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = seen.call(rejected("xai", "billing", &t.service)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "invalid");
    assert_eq!(
        body["message"],
        "Your xAI account is out of credits or has a billing issue. Top up your xAI account, then \
         try again. (You can switch to EquipDash credits in Settings → AI Assistant if you'd \
         rather not use your own key.)"
    );
    assert_eq!(
        body["message"].as_str(),
        Some(
            ai_credits::Catalogue::default()
                .provider_billing_message("xai")
                .as_str()
        )
    );
    let (status, body) = seen.call(post_usage(usage("u-grok-after", "grok-4"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("model_unavailable")),
        "{body}"
    );
    let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
    assert_eq!(state["selected_model"], "claude-sonnet-4-6", "{state}");

    // OpenAI's key is deleted on their side: back to credits.
    let (status, body) = seen.call(rejected("openai", "auth", &t.service)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reason"], "auth");
    let (status, body) = seen.call(post_usage(usage("u-gpt", "gpt-5"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entry"]["billed_to"], "credits", "{body}");
    let (_, listed) = seen
        .call(http.get(url("/keys")).bearer_auth(&t.admin))
        .await;
    let listed = by_provider(&listed);
    assert_eq!(
        (
            listed["xai"]["state"].as_str(),
            listed["xai"]["reason"].as_str()
        ),
        (Some("invalid"), Some("billing"))
    );
    assert_eq!(
        (
            listed["openai"]["state"].as_str(),
            listed["openai"]["reason"].as_str()
        ),
        (Some("invalid"), Some("auth"))
    );

    // Reconnect xAI, select Grok, remove the key: deleted at once, selection falls back.
    let (status, body) = seen
        .call(
            http.put(url("/keys"))
                .bearer_auth(&t.admin)
                .json(&json!({"keys": {"xai": XAI_KEY}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["keys"][0]["state"], "connected", "{body}");
    let (status, body) = seen
        .call(
            http.post(url("/events"))
                .bearer_auth(&t.admin)
                .json(&json!({"kind": "select_model", "model": "grok-4"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = seen
        .call(http.delete(url("/keys/xai")).bearer_auth(&t.member))
        .await;
    assert_eq!(status, 403);
    let (status, body) = seen
        .call(http.delete(url("/keys/xai")).bearer_auth(&t.admin))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed"], true);
    assert_eq!(body["selected_model"], "claude-sonnet-4-6");
    let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
    assert_eq!(state["selected_model"], "claude-sonnet-4-6", "{state}");
    assert!(state["keys"].get("xai").is_none(), "{state}");
    let (_, listed) = seen
        .call(http.get(url("/keys")).bearer_auth(&t.admin))
        .await;
    assert!(!by_provider(&listed).contains_key("xai"), "{listed}");
    let (status, body) = seen.call(post_usage(usage("u-grok-gone", "grok-4"))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("model_unavailable")),
        "{body}"
    );

    // The audit log: who, when, what — never the key.
    let (status, _) = seen
        .call(http.get(url("/audit")).bearer_auth(&t.service))
        .await;
    assert_eq!(status, 403);
    let (status, _) = seen
        .call(http.get(url("/audit")).bearer_auth(&other_t.admin))
        .await;
    assert_eq!(status, 404);
    let (status, audit) = seen
        .call(http.get(url("/audit")).bearer_auth(&t.admin))
        .await;
    assert_eq!(status, 200, "{audit}");
    let lines: Vec<String> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            assert!(e["at"].is_string() && e["member"].is_string(), "{e}");
            format!(
                "{} {} {} {}",
                e["role"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
                e["provider"].as_str().unwrap_or(""),
                e["detail"].as_str().unwrap_or("")
            )
            .trim_end()
            .to_owned()
        })
        .collect();
    let expected = [
        "admin added anthropic",
        "admin tested anthropic rejected: auth",
        "admin added google",
        "admin tested google rejected: timeout",
        "admin added moonshot",
        "admin tested moonshot connected",
        "admin added openai",
        "admin tested openai connected",
        "admin added xai",
        "admin tested xai connected",
        "admin model_selected  claude-sonnet-4-6 -> grok-4",
        "service marked_invalid xai billing",
        "service selection_reset xai grok-4 -> claude-sonnet-4-6",
        "service marked_invalid openai auth",
        "admin added xai",
        "admin tested xai connected",
        "admin model_selected  claude-sonnet-4-6 -> grok-4",
        "admin removed xai",
        "admin selection_reset xai grok-4 -> claude-sonnet-4-6",
    ];
    assert_eq!(lines, expected);

    // The new endpoints are described.
    let (_, openapi) = seen.call(http.get(format!("{base}/v1/openapi.json"))).await;
    for path in [
        "/v1/accounts/{id}/keys",
        "/v1/accounts/{id}/keys/{provider}",
        "/v1/accounts/{id}/keys/{provider}/rejected",
        "/v1/accounts/{id}/audit",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} is not described"
        );
    }

    assert_no_key("the HTTP responses", seen.0.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_right_role_of_the_account_reaches_the_keys_endpoints() {
    // Proves the authorization matrix of the keys endpoints: 401 without a token, 403 for the platform and for other roles, 404 for another account's token, and through for the one role that may.
    let fake = fake_provider().await;
    let server = server(&support::sqlite("keys-authz"), &fake, &[]);
    let http = support::client();
    let base = server.base.as_str();
    let own = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let other = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &own).await;
    let o = Tokens::issue(&http, base, &other).await;
    // (method, path, body, the role that may, its answer on success)
    let unknown = json!({"keys": {"nope": "abcdefghijk"}});
    let endpoints: [(&str, &str, Option<Value>, &str, u16); 5] = [
        ("GET", "/keys", None, "admin", 200),
        ("PUT", "/keys", Some(unknown), "admin", 422),
        ("DELETE", "/keys/openai", None, "admin", 200),
        (
            "POST",
            "/keys/openai/rejected",
            Some(json!({"reason": "auth"})),
            "service",
            200,
        ),
        ("GET", "/audit", None, "admin", 200),
    ];
    let mut problems = Vec::new();
    for (method, path, body, may, ok) in &endpoints {
        let own_by_role = |role: &str| match role {
            "admin" => t.admin.clone(),
            "member" => t.member.clone(),
            _ => t.service.clone(),
        };
        let other_token = if *may == "admin" {
            &o.admin
        } else {
            &o.service
        };
        let callers: Vec<(String, Option<String>, u16)> = vec![
            ("nobody".into(), None, 401),
            ("platform".into(), Some(support::ADMIN.into()), 403),
            ("other account".into(), Some(other_token.clone()), 404),
        ]
        .into_iter()
        .chain(["admin", "member", "service"].map(|role| {
            let expected = if role == *may { *ok } else { 403 };
            (role.to_owned(), Some(own_by_role(role)), expected)
        }))
        .collect();
        for (who, token, expected) in callers {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request =
                http.request(method.clone(), format!("{base}/v1/accounts/{own}{path}"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let (status, answer) = answer(request.send().await.expect("request")).await;
            if status != expected {
                problems.push(format!(
                    "{method} {path} as {who}: {status} (expected {expected}) {answer}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_without_a_data_key_refuses_to_store_keys() {
    // Proves a PostgreSQL server with no data key still serves the ledger but answers 503 keys_unavailable to saving keys, storing nothing.
    let Some(storage) = support::postgres("postgresql_without_a_data_key_refuses_to_store_keys")
    else {
        return;
    };
    let fake = fake_provider().await;
    let server = server(&storage, &fake, &[("AI_CREDITS_DATA_KEY", "")]);
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    let (status, body) = answer(
        http.put(format!("{base}/v1/accounts/{account}/keys"))
            .bearer_auth(&t.admin)
            .json(&json!({"keys": {"xai": XAI_KEY}}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("keys_unavailable")),
        "{body}"
    );
    let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
    assert_eq!(state["keys"], json!({}), "{state}");
    assert!(
        server.log_text().contains("no data key"),
        "the operator is told"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_leave_the_stored_key_and_the_ledger_agreeing() {
    // Proves that racing saves of good and wrong keys for one provider end with the stored state and the ledger's key state telling the same story.
    let fake = fake_provider().await;
    let server = server(&support::sqlite("keys-race"), &fake, &[]);
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    for round in 0..3 {
        let saves = (0..6).map(|i| {
            let key = if i % 2 == 0 {
                format!("xai-GOOD-race-{round}-{i}-000000")
            } else {
                format!("xai-wrong-race-{round}-{i}-00000")
            };
            let request = http
                .put(format!("{base}/v1/accounts/{account}/keys"))
                .bearer_auth(&t.admin)
                .json(&json!({"keys": {"xai": key}}));
            async move { answer(request.send().await.expect("request")).await }
        });
        for (status, body) in futures_join(saves).await {
            assert_eq!(status, 200, "{body}");
        }
        let (_, listed) = answer(
            http.get(format!("{base}/v1/accounts/{account}/keys"))
                .bearer_auth(&t.admin)
                .send()
                .await
                .expect("request"),
        )
        .await;
        let stored = listed["keys"][0]["state"].as_str().unwrap_or("").to_owned();
        let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
        let ledger = state["keys"]["xai"].as_str().unwrap_or("").to_owned();
        let agree = matches!(
            (stored.as_str(), ledger.as_str()),
            ("connected", "connected") | ("rejected", "invalid")
        );
        assert!(agree, "round {round}: stored {stored}, ledger {ledger}");
    }
}

/// Every run of more than four of `key`'s characters (what the API shows is its last four)
/// found in `haystack`.
fn key_runs_in(key: &str, haystack: &[u8]) -> Vec<String> {
    let key = key.as_bytes();
    key.windows(5)
        .filter(|run| haystack.windows(5).any(|w| w == *run))
        .map(|run| String::from_utf8_lossy(run).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_echoing_the_key_has_it_scrubbed_and_an_unreachable_one_says_not_checked() {
    // Proves a provider error that echoes the key (masked start, last four, a piece of its middle, another sk- token, reversed, spaced out, base64) is stored and shown as our own sentence with no trace of the key, in the PUT answer, GET keys, the audit and the SQLite file; and that a provider nobody can reach leaves the key rejected as unreachable with a detail saying it was not checked.
    let fake = fake_provider().await;
    let storage = support::sqlite("keys-echo");
    // Nothing listens on port 9 of loopback (discard): the connection is refused at once.
    let server = server(
        &storage,
        &fake,
        &[("AI_CREDITS_PROVIDER_BASE_MOONSHOT", "http://127.0.0.1:9")],
    );
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    // Letters a hex ciphertext cannot hold, so a run found in the file is the key's.
    let key = "sk-proj-ECHOxQwZrTyUvKpLmNsRgHjWq-wxyz";
    let url = |path: &str| format!("{base}/v1/accounts/{account}{path}");
    let saved = answer_of(
        http.put(url("/keys"))
            .bearer_auth(&t.admin)
            .json(&json!({"keys": {"openai": key, "moonshot": MOONSHOT_SLOW_KEY}})),
    )
    .await;
    // Keys are answered in provider order.
    let (moonshot, openai) = (&saved["keys"][0], &saved["keys"][1]);
    assert_eq!(
        (
            openai["provider"].as_str(),
            openai["state"].as_str(),
            openai["reason"].as_str()
        ),
        (Some("openai"), Some("rejected"), Some("auth")),
        "{saved}"
    );
    let detail = openai["detail"].as_str().expect("a detail");
    assert!(
        detail.contains("did not accept this key") && detail.contains("HTTP 401"),
        "{detail}"
    );
    assert!(
        !detail.contains("sk-") && !detail.contains("Incorrect"),
        "{detail}"
    );
    assert_eq!(
        (moonshot["state"].as_str(), moonshot["reason"].as_str()),
        (Some("rejected"), Some("unreachable")),
        "{saved}"
    );
    let detail = moonshot["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("could not be reached") && detail.contains("not checked"),
        "{detail}"
    );
    let listed = answer_of(http.get(url("/keys")).bearer_auth(&t.admin)).await;
    let audit = answer_of(http.get(url("/audit")).bearer_auth(&t.admin)).await;
    assert_eq!(listed["keys"][1]["detail"], openai["detail"], "{listed}");
    for (what, text) in [
        ("the PUT answer", &saved),
        ("GET keys", &listed),
        ("the audit", &audit),
    ] {
        let runs = key_runs_in(key, text.to_string().as_bytes());
        assert!(runs.is_empty(), "{what} shows pieces of the key: {runs:?}");
    }
    let Storage::Sqlite(db) = &storage else {
        unreachable!()
    };
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            let runs = key_runs_in(key, &bytes);
            assert!(runs.is_empty(), "{path} holds pieces of the key: {runs:?}");
        }
    }
    let runs = key_runs_in(key, server.log_text().as_bytes());
    assert!(runs.is_empty(), "the log holds pieces of the key: {runs:?}");
    // Nor in disguise: reversed, spaced out or base64-encoded, anywhere.
    let reversed: String = key.chars().rev().collect();
    let spaced: String = key.chars().take(12).map(|c| format!("{c} ")).collect();
    let encoded = support::base64(key.as_bytes());
    let mut places = vec![
        saved.to_string(),
        listed.to_string(),
        audit.to_string(),
        server.log_text(),
    ];
    for suffix in ["", "-wal"] {
        if let Ok(bytes) = std::fs::read(format!("{}{suffix}", db.display())) {
            places.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    for text in &places {
        for disguise in [&reversed[..12], spaced.as_str(), &encoded[..16]] {
            assert!(!text.contains(disguise), "the key in disguise: {disguise}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_without_own_keys_in_the_loaded_catalogue_cannot_save_keys() {
    // Proves `serve --catalogue PATH` serves that catalogue and gates keys by it: with growth's own_keys off, a growth account's PUT keys is 403 own_keys_not_in_plan and changes neither its ledger, its key table nor its audit log, while a pro account still saves keys.
    let mut doc: Value =
        serde_json::from_str(&ai_credits::Catalogue::default().to_json()).expect("json");
    for plan in doc["plans"].as_array_mut().expect("plans") {
        if plan["id"] == "growth" {
            plan["own_keys"] = json!(false);
        }
    }
    let dir = support::temp_dir("catalogue");
    let path = dir.join("catalogue.json");
    std::fs::write(&path, doc.to_string()).expect("writes the catalogue");
    let fake = fake_provider().await;
    let path_text = path.display().to_string();
    let server = server_with(
        &support::sqlite("keys-catalogue"),
        &fake,
        &["--catalogue", &path_text],
        &[],
    );
    let http = support::client();
    let base = server.base.as_str();
    let served = answer_of(http.get(format!("{base}/v1/catalogue"))).await;
    let growth = served["plans"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] == "growth")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        growth["own_keys"], false,
        "the loaded catalogue is served: {growth}"
    );

    let growth = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let g = Tokens::issue(&http, base, &growth).await;
    let url = |account: &str, path: &str| format!("{base}/v1/accounts/{account}{path}");
    let before = answer_of(http.get(url(&growth, "/entries")).bearer_auth(&g.admin)).await;
    let (status, body) = answer(
        http.put(url(&growth, "/keys"))
            .bearer_auth(&g.admin)
            .json(&json!({"keys": {"xai": XAI_KEY}}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("own_keys_not_in_plan")),
        "{body}"
    );
    let after = answer_of(http.get(url(&growth, "/entries")).bearer_auth(&g.admin)).await;
    assert_eq!(before, after, "the ledger did not change");
    let listed = answer_of(http.get(url(&growth, "/keys")).bearer_auth(&g.admin)).await;
    assert_eq!(listed["keys"], json!([]), "{listed}");
    let audit = answer_of(http.get(url(&growth, "/audit")).bearer_auth(&g.admin)).await;
    assert_eq!(audit["entries"], json!([]), "{audit}");
    let (_, state) = support::get_state(&http, base, &growth, &g.admin, None).await;
    assert_eq!(state["keys"], json!({}), "{state}");

    let pro = support::create_account(&http, base, &json!({"plan": "pro"})).await;
    let p = Tokens::issue(&http, base, &pro).await;
    let saved = answer_of(
        http.put(url(&pro, "/keys"))
            .bearer_auth(&p.admin)
            .json(&json!({"keys": {"xai": XAI_KEY}})),
    )
    .await;
    assert_eq!(saved["keys"][0]["state"], "connected", "{saved}");
    let (_, state) = support::get_state(&http, base, &pro, &p.admin, None).await;
    assert_eq!(state["keys"], json!({"xai": "connected"}), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_change_that_cannot_be_stored_leaves_nothing_behind_on_sqlite() {
    // Proves a key change is all or nothing: while the audit table refuses writes (a trigger), saving, removing and marking a key invalid answer 503 storage_unavailable and leave the key table, the ledger and the audit log exactly as they were; once it takes writes again the same removal goes through.
    let fake = fake_provider().await;
    let storage = support::sqlite("keys-rollback");
    let server = server(&storage, &fake, &[]);
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, base, &account).await;
    let url = |path: &str| format!("{base}/v1/accounts/{account}{path}");
    answer_of(
        http.put(url("/keys"))
            .bearer_auth(&t.admin)
            .json(&json!({"keys": {"xai": XAI_KEY}})),
    )
    .await;
    let snapshot = || async {
        (
            answer_of(http.get(url("/keys")).bearer_auth(&t.admin)).await,
            answer_of(http.get(url("/entries")).bearer_auth(&t.admin)).await,
            answer_of(http.get(url("/audit")).bearer_auth(&t.admin)).await,
        )
    };
    let before = snapshot().await;
    let Storage::Sqlite(path) = &storage else {
        unreachable!()
    };
    let db = Db::open(&Location::SqliteFile(path.display().to_string()))
        .await
        .expect("opens the server's database");
    sqlx::query(
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'the test refuses audit rows'); END",
    )
    .execute(&db.pool)
    .await
    .expect("creates the trigger");
    let changes = [
        http.put(url("/keys"))
            .bearer_auth(&t.admin)
            .json(&json!({"keys": {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_BAD_KEY}})),
        http.delete(url("/keys/xai")).bearer_auth(&t.admin),
        http.post(url("/keys/xai/rejected"))
            .bearer_auth(&t.service)
            .json(&json!({"reason": "billing"})),
    ];
    for change in changes {
        let (status, body) = answer(change.send().await.expect("request")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("storage_unavailable")),
            "{body}"
        );
    }
    assert!(
        before == snapshot().await,
        "a failed key change left something behind"
    );
    let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
    assert_eq!(state["keys"], json!({"xai": "connected"}), "{state}");
    sqlx::query("DROP TRIGGER refuse_audit")
        .execute(&db.pool)
        .await
        .expect("drops the trigger");
    let removed = answer_of(http.delete(url("/keys/xai")).bearer_auth(&t.admin)).await;
    assert_eq!(removed["removed"], true, "{removed}");
}

/// Rounds of racing key changes in the two-server test, and changes per round.
const RACE_ROUNDS: usize = 30;
const RACE_CHANGES_PER_ROUND: usize = 16;

/// Whether one provider's key row (`GET keys`), the ledger's key state (`GET state`) and the
/// last audit entry about that key (`GET audit`, selection resets aside) tell one story.
fn key_story_agrees(
    provider: &str,
    listed: &Value,
    state: &Value,
    audit: &Value,
) -> Result<(), String> {
    let row = listed["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["provider"] == provider)
        .map(|k| {
            (
                k["state"].as_str().unwrap_or("").to_owned(),
                k["reason"].as_str().unwrap_or("").to_owned(),
            )
        });
    let ledger = state["keys"][provider].as_str();
    let last = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .rfind(|e| e["provider"] == provider && e["action"] != "selection_reset")
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_owned(),
                e["detail"].as_str().unwrap_or("").to_owned(),
            )
        });
    let last = last.as_ref().map(|(a, d)| (a.as_str(), d.as_str()));
    let agrees = match row.as_ref().map(|(s, r)| (s.as_str(), r.as_str())) {
        None => ledger.is_none() && matches!(last, None | Some(("removed", _))),
        Some(("connected", _)) => {
            ledger == Some("connected") && last == Some(("tested", "connected"))
        }
        Some(("rejected", reason)) => {
            ledger == Some("invalid") && last == Some(("tested", &format!("rejected: {reason}")))
        }
        Some(("invalid", reason)) => {
            ledger == Some("invalid") && last == Some(("marked_invalid", reason))
        }
        Some(_) => false,
    };
    if agrees {
        Ok(())
    } else {
        Err(format!(
            "key row {row:?}, ledger {ledger:?}, last audit entry {last:?}"
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_racing_key_changes_leave_key_row_ledger_and_audit_agreeing() {
    // Proves a key change is one transaction under the account's row lock: two servers on one PostgreSQL racing saves (good and wrong keys), removals and refusals of one provider's key end every round with the key table, the ledger's key state and the last audit entry telling the same story.
    let Some(storage) = support::fresh_postgres(
        "two_servers_racing_key_changes_leave_key_row_ledger_and_audit_agreeing",
    )
    .await
    else {
        return;
    };
    let fake = fake_provider().await;
    let data_key = "6a".repeat(32);
    let env = [
        ("AI_CREDITS_DATA_KEY", data_key.as_str()),
        ("RUST_LOG", "warn"),
    ];
    let servers = [server(&storage, &fake, &env), server(&storage, &fake, &env)];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let http = support::client();
    let account = support::create_account(&http, &bases[0], &json!({"plan": "growth"})).await;
    let t = Tokens::issue(&http, &bases[0], &account).await;
    let provider = "openai";
    for round in 0..RACE_ROUNDS {
        let changes = (0..RACE_CHANGES_PER_ROUND).map(|i| {
            let base = &bases[(round + i) % bases.len()];
            let keys = format!("{base}/v1/accounts/{account}/keys");
            let request =
                match (round * 3 + i) % 5 {
                    0 | 3 => http.put(&keys).bearer_auth(&t.admin).json(
                        &json!({"keys": {provider: format!("sk-GOOD-race-{round}-{i}-0000")}}),
                    ),
                    1 => http.put(&keys).bearer_auth(&t.admin).json(
                        &json!({"keys": {provider: format!("sk-wrong-race-{round}-{i}-000")}}),
                    ),
                    2 => http
                        .delete(format!("{keys}/{provider}"))
                        .bearer_auth(&t.admin),
                    _ => http
                        .post(format!("{keys}/{provider}/rejected"))
                        .bearer_auth(&t.service)
                        .json(&json!({"reason": if i % 2 == 0 { "auth" } else { "billing" }})),
                };
            async move { answer(request.send().await.expect("request")).await }
        });
        for (status, body) in futures_join(changes).await {
            assert_eq!(status, 200, "round {round}: {body}");
        }
        let get = |path: &str| {
            answer_of(
                http.get(format!("{}/v1/accounts/{account}{path}", bases[round % 2]))
                    .bearer_auth(&t.admin),
            )
        };
        let (listed, state, audit) = (get("/keys").await, get("/state").await, get("/audit").await);
        if let Err(story) = key_story_agrees(provider, &listed, &state, &audit) {
            panic!("round {round}: the key table, the ledger and the audit log disagree: {story}");
        }
    }
}

/// The JSON body of a request that must answer 200.
async fn answer_of(request: reqwest::RequestBuilder) -> Value {
    let (status, body) = answer(request.send().await.expect("request")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Runs futures concurrently on the test's runtime and collects their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// `ai-credits` with `args` and the environment `envs` (no `DATABASE_URL`), to its end.
fn run_command(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ai-credits"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("AI_CREDITS_DATA_KEY");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_data_key_refuses_to_start_and_rotation_moves_every_key() {
    // Proves the data key's fingerprint is checked at start (another key exits 70 saying what to do, keys never shown as connected but undecryptable) and that rotate-data-key re-encrypts every stored key with the new key in one go: the old key is then refused, the new one serves, and each key opens to what was saved.
    let fake = fake_provider().await;
    let storage = support::sqlite("rotate");
    let Storage::Sqlite(path) = &storage else {
        unreachable!()
    };
    let db_path = path.display().to_string();
    let (old, new) = ("1a".repeat(32), "2b".repeat(32));
    let account = {
        let server = server(&storage, &fake, &[("AI_CREDITS_DATA_KEY", &old)]);
        let http = support::client();
        let account =
            support::create_account(&http, &server.base, &json!({"plan": "growth"})).await;
        let t = Tokens::issue(&http, &server.base, &account).await;
        let saved = answer_of(
            http.put(format!("{}/v1/accounts/{account}/keys", server.base))
                .bearer_auth(&t.admin)
                .json(&json!({"keys": {"openai": OPENAI_KEY, "xai": XAI_KEY}})),
        )
        .await;
        assert_eq!(saved["keys"][0]["state"], "connected", "{saved}");
        account
    };
    let serve = ["serve", "--addr", "127.0.0.1:0", "--db", db_path.as_str()];
    let refused = run_command(&serve, &[("AI_CREDITS_DATA_KEY", &new)]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.contains("fingerprint") && stderr.contains("rotate-data-key"),
        "{stderr}"
    );

    let rotate = ["rotate-data-key", "--db", db_path.as_str()];
    let wrong = run_command(
        &rotate,
        &[
            ("AI_CREDITS_DATA_KEY", &new),
            ("AI_CREDITS_NEW_DATA_KEY", &old),
        ],
    );
    assert_eq!(
        wrong.status.code(),
        Some(1),
        "rotating from a key that is not in use changes nothing"
    );
    let rotated = run_command(
        &rotate,
        &[
            ("AI_CREDITS_DATA_KEY", &old),
            ("AI_CREDITS_NEW_DATA_KEY", &new),
        ],
    );
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(stdout.contains("re-encrypted 2 provider keys"), "{stdout}");

    assert_eq!(
        run_command(&serve, &[("AI_CREDITS_DATA_KEY", &old)])
            .status
            .code(),
        Some(70)
    );
    let server = server(&storage, &fake, &[("AI_CREDITS_DATA_KEY", &new)]);
    let http = support::client();
    let t = Tokens::issue(&http, &server.base, &account).await;
    let listed = answer_of(
        http.get(format!("{}/v1/accounts/{account}/keys", server.base))
            .bearer_auth(&t.admin),
    )
    .await;
    assert_eq!(listed["keys"].as_array().map(Vec::len), Some(2), "{listed}");
    let key = ai_credits_server::vault::secret::DataKey::from_hex(&new).unwrap();
    let db = Db::open(&Location::SqliteFile(db_path.clone()))
        .await
        .unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT account_id, provider, ciphertext, nonce FROM provider_keys ORDER BY provider",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let opened: Vec<String> = rows
        .iter()
        .map(|(a, p, c, n)| {
            let sealed = ai_credits_server::vault::secret::Sealed {
                ciphertext_hex: c.clone(),
                nonce_hex: n.clone(),
            };
            key.open(&sealed, &format!("{a}/{p}"))
                .expect("opens with the new key")
                .expose()
                .to_owned()
        })
        .collect();
    assert_eq!(opened, [OPENAI_KEY, XAI_KEY]);
}
