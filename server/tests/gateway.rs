//! AI calls through the gateway (SPEC §5.4), against fake providers on loopback that speak
//! OpenAI's Chat Completions and Anthropic's Messages as their documentation shows, streams
//! (SSE) included: where a call is billed and with which key, what it is charged, a refused
//! own key, a stream the caller drops, and a retried Idempotency-Key.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use support::{ServerProcess, Tokens, answer};

const PLATFORM_OPENAI: &str = "sk-platform-openai-7f3e";
const PLATFORM_ANTHROPIC: &str = "sk-ant-platform-1c9d";
const USAGE: &str = r#"{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200},"completion_tokens_details":{"reasoning_tokens":100}}"#;

/// Keys the fake providers were called with, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn keys(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn key_of(headers: &HeaderMap) -> String {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    h("authorization")
        .map(|a| a.trim_start_matches("Bearer ").to_owned())
        .or_else(|| h("x-api-key"))
        .or_else(|| h("x-goog-api-key"))
        .unwrap_or_default()
}

/// A key the fake refuses at call time (but accepts when tested): revoked since it was saved.
fn refusal(key: &str) -> Option<Response> {
    if key.contains("revoked") {
        let body = json!({"error": {"message": format!("Incorrect API key provided: {key}"), "type": "invalid_request_error", "code": "invalid_api_key"}});
        return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
    }
    if key.contains("broke") {
        let body = json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}});
        return Some((StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response());
    }
    None
}

async fn chat(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> Response {
    let key = key_of(&headers);
    seen.0.lock().unwrap().push(key.clone());
    if let Some(refused) = refusal(&key) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request["model"].as_str().unwrap_or("").to_owned();
    if request["stream"] != json!(true) {
        let answer = format!(
            r#"{{"id":"chatcmpl-1","object":"chat.completion","model":"{model}","choices":[{{"index":0,"message":{{"role":"assistant","content":"Hello there"}},"finish_reason":"stop"}}],"usage":{USAGE}}}"#
        );
        return ([("content-type", "application/json")], answer).into_response();
    }
    let content = request["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    // A provider whose stream breaks off before its usage chunk.
    let with_usage =
        request["stream_options"]["include_usage"] == json!(true) && !content.contains("cut off");
    let slow = content.contains("slowly");
    let stream = futures_util::stream::unfold(0usize, move |i| async move {
        if slow {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let line = match i {
            0..=9 => format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"word{i} \"}}}}]}}\n\n"
            ),
            10 if with_usage => format!("data: {{\"choices\":[],\"usage\":{USAGE}}}\n\n"),
            10 | 11 => "data: [DONE]\n\n".to_owned(),
            _ => return None,
        };
        let next = if i == 10 && !with_usage { 12 } else { i + 1 };
        Some((Ok::<_, std::io::Error>(Bytes::from(line)), next))
    });
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn messages(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> Response {
    let key = key_of(&headers);
    seen.0.lock().unwrap().push(key.clone());
    if let Some(refused) = refusal(&key) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if request["stream"] != json!(true) {
        let answer = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": request["model"], "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn", "usage": {"input_tokens": 800, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0, "output_tokens": 150}});
        return axum::Json(answer).into_response();
    }
    let events = [
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":800,"cache_read_input_tokens":100,"output_tokens":1}}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":150}}"#,
        r#"{"type":"message_stop"}"#,
    ];
    let body: String = events
        .iter()
        .map(|e| {
            let kind: Value = serde_json::from_str(e).unwrap();
            format!("event: {}\ndata: {e}\n\n", kind["type"].as_str().unwrap())
        })
        .collect();
    ([("content-type", "text/event-stream")], body).into_response()
}

const RESPONSES_USAGE: &str = r#"{"input_tokens":500,"input_tokens_details":{"cached_tokens":100},"output_tokens":80,"output_tokens_details":{"reasoning_tokens":20},"total_tokens":580}"#;

async fn responses(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> Response {
    seen.0.lock().unwrap().push(key_of(&headers));
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if request["stream"] != json!(true) {
        let answer = format!(
            r#"{{"id":"resp_1","object":"response","status":"completed","output":[{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"Hi"}}]}}],"usage":{RESPONSES_USAGE}}}"#
        );
        return ([("content-type", "application/json")], answer).into_response();
    }
    let body = format!(
        "event: response.created\ndata: {{\"type\":\"response.created\",\"response\":{{\"id\":\"resp_1\"}}}}\n\nevent: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}}\n\nevent: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{{\"id\":\"resp_1\",\"usage\":{RESPONSES_USAGE}}}}}\n\n"
    );
    ([("content-type", "text/event-stream")], body).into_response()
}

const GEMINI_USAGE: &str = r#"{"promptTokenCount":300,"cachedContentTokenCount":50,"candidatesTokenCount":40,"thoughtsTokenCount":10,"totalTokenCount":350}"#;

/// Gemini's `models/{model}:generateContent` and `:streamGenerateContent?alt=sse`.
async fn gemini(
    State(seen): State<Seen>,
    axum::extract::Path(call): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    seen.0
        .lock()
        .unwrap()
        .push(format!("{} {call}", key_of(&headers)));
    let chunk = |text: &str, usage: &str| {
        format!(
            r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"text":"{text}"}}]}}}}],"usageMetadata":{usage}}}"#
        )
    };
    if call.ends_with(":generateContent") {
        return (
            [("content-type", "application/json")],
            chunk("Hi from Gemini", GEMINI_USAGE),
        )
            .into_response();
    }
    let early = r#"{"promptTokenCount":300,"candidatesTokenCount":5,"totalTokenCount":305}"#;
    let body = format!(
        "data: {}\r\n\r\ndata: {}\r\n\r\n",
        chunk("Hi ", early),
        chunk("there", GEMINI_USAGE)
    );
    ([("content-type", "text/event-stream")], body).into_response()
}

/// Key tests (`GET /v1/models`) accept every key.
async fn models() -> Response {
    axum::Json(json!({"object": "list", "data": []})).into_response()
}

/// The fake providers on loopback, and the keys they see.
async fn fake_providers() -> (String, Seen) {
    let seen = Seen::default();
    let provider = || {
        Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/messages", post(messages))
            .route("/v1/responses", post(responses))
            .route("/v1/models", get(models))
    };
    let google = Router::new()
        .route("/v1beta/models", get(models))
        .route("/v1beta/models/{call}", post(gemini));
    let app = Router::new()
        .nest("/google", google)
        .nest("/openai", provider())
        .nest("/xai", provider())
        .nest("/anthropic", provider())
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

struct World {
    server: ServerProcess,
    seen: Seen,
    http: reqwest::Client,
    /// The server's SQLite file.
    db: std::path::PathBuf,
}

async fn world(name: &str) -> World {
    world_with(name, &[]).await
}

async fn world_with(name: &str, args: &[&str]) -> World {
    let (fake, seen) = fake_providers().await;
    let bases: Vec<(String, String)> = ["openai", "xai", "anthropic", "google"]
        .iter()
        .map(|p| {
            (
                format!("AI_CREDITS_PROVIDER_BASE_{}", p.to_uppercase()),
                format!("{fake}/{p}"),
            )
        })
        .collect();
    let mut envs: Vec<(&str, &str)> = bases
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let data_key = "3c".repeat(32);
    envs.extend([
        ("AI_CREDITS_PLATFORM_KEY_OPENAI", PLATFORM_OPENAI),
        ("AI_CREDITS_PLATFORM_KEY_ANTHROPIC", PLATFORM_ANTHROPIC),
        ("AI_CREDITS_DATA_KEY", data_key.as_str()),
    ]);
    let storage = support::sqlite(name);
    let server = ServerProcess::start_env(&storage, false, args, &envs);
    let support::Storage::Sqlite(db) = storage else {
        unreachable!()
    };
    World {
        server,
        seen,
        http: support::client(),
        db,
    }
}

impl World {
    async fn account(&self) -> (String, Tokens) {
        let base = &self.server.base;
        let account = support::create_account(&self.http, base, &json!({"plan": "growth"})).await;
        let tokens = Tokens::issue(&self.http, base, &account).await;
        (account, tokens)
    }

    fn call(
        &self,
        account: &str,
        token: &str,
        path: &str,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        self.http
            .post(format!(
                "{}/v1/accounts/{account}/providers/{path}",
                self.server.base
            ))
            .bearer_auth(token)
            .header("AI-Credits-Feature", "assistant")
            .header("AI-Credits-Member", "ana")
            .json(body)
    }

    /// `GET /v1/accounts/{account}/{path}`: status and JSON answer.
    async fn read(&self, account: &str, token: &str, path: &str) -> (u16, Value) {
        let url = format!("{}/v1/accounts/{account}/{path}", self.server.base);
        answer(self.http.get(url).bearer_auth(token).send().await.unwrap()).await
    }

    /// A streamed call's status and the text it streamed.
    async fn stream(&self, account: &str, token: &str, path: &str, body: &Value) -> (u16, String) {
        let response = self.call(account, token, path, body).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A call's status and JSON answer.
    async fn send(&self, account: &str, token: &str, path: &str, body: &Value) -> (u16, Value) {
        answer(self.call(account, token, path, body).send().await.unwrap()).await
    }

    async fn entries(&self, account: &str, token: &str) -> Vec<Value> {
        let (_, state) =
            support::get_state(&self.http, &self.server.base, account, token, None).await;
        state["entries"].as_array().cloned().unwrap_or_default()
    }

    /// What a `usage` of `provider_usage` on `model` is charged, decided by the core on an
    /// account of its own.
    async fn charged_by_the_core(&self, model: &str, provider_usage: Value) -> Value {
        let (account, t) = self.account().await;
        let usage =
            json!({"kind": "usage", "id": "u", "model": model, "provider_usage": provider_usage});
        let (status, body) =
            support::post_event(&self.http, &self.server.base, &account, &t.service, &usage)
                .await
                .unwrap();
        assert_eq!(status, 200, "{body}");
        body["entry"].clone()
    }
}

fn chat_request(stream: bool, text: &str) -> Value {
    json!({"model": "gpt-5", "max_tokens": 2000, "stream": stream, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_credits_use_the_platform_key_and_are_charged_the_catalogue_rates() {
    // Proves a call on credits reaches the provider with the platform's key, answers the provider's body, and is charged exactly what the core charges for the reported usage (cached and reasoning tokens included), for member and feature; also for Anthropic.
    let w = world("gw-credits").await;
    let (account, t) = w.account().await;
    let (status, body) = w
        .send(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(false, "Hello"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello there");
    assert_eq!(w.seen.keys(), [PLATFORM_OPENAI]);
    let want = w
        .charged_by_the_core("gpt-5", serde_json::from_str(USAGE).unwrap())
        .await;
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(
        (e["credits"].clone(), e["billed_to"].as_str()),
        (want["credits"].clone(), Some("credits")),
        "{e}"
    );
    assert_eq!(
        (e["member"].as_str(), e["feature"].as_str()),
        (Some("ana"), Some("assistant"))
    );
    assert_eq!(e["input_tokens"], want["input_tokens"]);
    assert_eq!(e["output_tokens"], want["output_tokens"]);
    let claude = json!({"model": "claude-sonnet-4-6", "max_tokens": 1000, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, body) = w
        .send(&account, &t.service, "anthropic/messages", &claude)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.seen.keys().last().map(String::as_str),
        Some(PLATFORM_ANTHROPIC)
    );
    let want = w
        .charged_by_the_core("claude-sonnet-4-6", json!({"input_tokens": 800, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0, "output_tokens": 150}))
        .await;
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.last().unwrap()["credits"], want["credits"]);
    assert_eq!(
        entries
            .iter()
            .map(|e| e["held"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        0
    );
    let (_, state) = support::get_state(&w.http, &w.server.base, &account, &t.admin, None).await;
    assert_eq!(state["held"], 0, "every hold was committed: {state}");
}

async fn save_key(w: &World, account: &str, t: &Tokens, provider: &str, key: &str) {
    let (status, body) = answer(
        w.http
            .put(format!("{}/v1/accounts/{account}/keys", w.server.base))
            .bearer_auth(&t.admin)
            .json(&json!({"keys": {provider: key}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["keys"][0]["state"], "connected", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_business_key_is_used_when_connected_and_costs_no_credits() {
    // Proves a call on a model whose provider key is connected reaches the provider with that key and charges 0 credits, billed to the own key.
    let w = world("gw-own").await;
    let (account, t) = w.account().await;
    save_key(&w, &account, &t, "openai", "sk-own-business-9a8b7c6d").await;
    let (status, _) = w
        .send(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(false, "Hi"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        w.seen.keys().last().map(String::as_str),
        Some("sk-own-business-9a8b7c6d")
    );
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(
        (
            entries[0]["credits"].as_u64(),
            entries[0]["billed_to"].as_str()
        ),
        (Some(0), Some("own_key")),
        "{entries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_business_key_turns_invalid_and_the_call_goes_to_credits() {
    // Proves a 401 on the business's key marks it invalid (auth, audited as the service) and the same call is made once more with the platform's key, billed to credits; a billing refusal on an own-key-only model gives the caller SPEC §3's message; and no key reaches an answer, the log or the database files (plainly or in base64).
    let w = world("gw-refused").await;
    let (account, t) = w.account().await;
    save_key(&w, &account, &t, "openai", "sk-own-revoked-1234abcd").await;
    let (status, body) = w
        .send(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(false, "Hi"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.seen.keys()[w.seen.keys().len() - 2..],
        [
            "sk-own-revoked-1234abcd".to_owned(),
            PLATFORM_OPENAI.to_owned()
        ]
    );
    let (_, keys) = w.read(&account, &t.admin, "keys").await;
    assert_eq!(
        (
            keys["keys"][0]["state"].as_str(),
            keys["keys"][0]["reason"].as_str()
        ),
        (Some("invalid"), Some("auth")),
        "{keys}"
    );
    let (_, audit) = w.read(&account, &t.admin, "audit").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "marked_invalid" && e["role"] == "service"),
        "{audit}"
    );
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["billed_to"], "credits");

    // A stream retried on credits: the caller still gets no usage chunk it did not ask for.
    save_key(&w, &account, &t, "openai", "sk-own-revoked-5678efgh").await;
    let streamed = w
        .call(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(true, "Hi"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        streamed.contains("word9") && !streamed.contains("usage"),
        "{streamed}"
    );
    assert_eq!(w.entries(&account, &t.admin).await.len(), 2);

    save_key(&w, &account, &t, "xai", "xai-own-broke-5566").await;
    let grok = json!({"model": "grok-4", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, body) = w
        .send(&account, &t.service, "xai/chat/completions", &grok)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("own_key_refused")),
        "{body}"
    );
    assert_eq!(
        body["message"],
        "Your xAI account is out of credits or has a billing issue. Top up your xAI account, then try again. (You can switch to EquipDash credits in Settings → AI Assistant if you'd rather not use your own key.)"
    );
    let log = w.server.log_text();
    let files: Vec<(String, Vec<u8>)> = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let path = format!("{}{suffix}", w.db.display());
            std::fs::read(&path).ok().map(|bytes| (path, bytes))
        })
        .collect();
    assert!(
        files
            .iter()
            .any(|(_, b)| b.windows(account.len()).any(|w| w == account.as_bytes())),
        "the scan sees the account's rows"
    );
    for key in [
        "sk-own-revoked-1234abcd",
        "xai-own-broke-5566",
        PLATFORM_OPENAI,
    ] {
        assert!(
            !log.contains(key) && !body.to_string().contains(key),
            "a key leaked"
        );
        let b64 = support::base64(key.as_bytes());
        for (path, bytes) in &files {
            for form in [key.as_bytes(), b64.as_bytes()] {
                assert!(
                    !bytes.windows(form.len()).any(|w| w == form),
                    "a key is in {path}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_key_only_model_without_a_key_is_refused_before_any_upstream_call() {
    // Proves 403 model_unavailable with the core's message and no call to the provider, and that only the service token may call the gateway.
    let w = world("gw-unavailable").await;
    let (account, t) = w.account().await;
    let grok = json!({"model": "grok-4", "messages": [{"role": "user", "content": "Hi"}]});
    let (status, body) = w
        .send(&account, &t.service, "xai/chat/completions", &grok)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("model_unavailable")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("own xAI key"),
        "{body}"
    );
    assert!(w.seen.keys().is_empty());
    let (status, _) = w
        .send(
            &account,
            &t.member,
            "openai/chat/completions",
            &chat_request(false, "Hi"),
        )
        .await;
    assert_eq!(status, 403, "a member token may not call the gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_passes_through_and_a_dropped_one_is_charged_once() {
    // Proves a streamed call reaches the caller chunk by chunk without the usage chunk it did not ask for, is charged the reported usage, and that a caller dropping a stream halfway is still charged once.
    let w = world("gw-stream").await;
    let (account, t) = w.account().await;
    let (status, text) = w
        .stream(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(true, "Hi"),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        text.contains("word9") && text.contains("[DONE]") && !text.contains("usage"),
        "{text}"
    );
    let want = w
        .charged_by_the_core("gpt-5", serde_json::from_str(USAGE).unwrap())
        .await;
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["credits"], want["credits"]);

    let mut response = w
        .call(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(true, "answer slowly"),
        )
        .send()
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("word0"));
    drop(response);
    let mut charged = Vec::new();
    for _ in 0..60 {
        charged = w.entries(&account, &t.admin).await;
        if charged.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        charged.len(),
        2,
        "the dropped stream is charged: {charged:?}"
    );
    assert_eq!(
        charged[1]["credits"], want["credits"],
        "with the usage the provider reported"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.entries(&account, &t.admin).await.len(), 2, "once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_idempotency_key_is_never_charged_twice() {
    // Proves a second call with an Idempotency-Key already charged is refused (409 idempotency_conflict) and charges nothing more.
    let w = world("gw-idem").await;
    let (account, t) = w.account().await;
    let send = || {
        w.call(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(false, "Hi"),
        )
        .header("Idempotency-Key", "call-42")
        .send()
    };
    let (status, _) = answer(send().await.unwrap()).await;
    assert_eq!(status, 200);
    let (status, body) = answer(send().await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("idempotency_conflict")),
        "{body}"
    );
    assert_eq!(w.entries(&account, &t.admin).await.len(), 1);
    assert_eq!(
        w.seen.keys().len(),
        1,
        "the retry never reached the provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_on_little_credit_never_draw_more_than_was_available() {
    // Proves 64 streamed calls at once on an account with 10,000 credits left draw at most those 10,000: each holds at most what is left, calls past the gate are refused before any upstream call, and what a committed call cost beyond its hold is recorded as unpaid (SPEC §3.6).
    let w = world_with("gw-concurrent", &["--gateway-calls-max", "64"]).await;
    let (account, t) = w.account().await;
    let debit = json!({"kind": "debit", "id": "d1", "credits": 2_990_000});
    let (status, body) = support::post_event(&w.http, &w.server.base, &account, &t.service, &debit)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let request = w.call(
                &account,
                &t.service,
                "openai/chat/completions",
                &chat_request(true, "Hi"),
            );
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                (status, text)
            })
        })
        .collect();
    let mut served = 0;
    for call in calls {
        let (status, text) = call.await.unwrap();
        match status {
            200 => served += 1,
            402 => assert!(
                text.contains("credits_exhausted") || text.contains("insufficient_credits"),
                "{text}"
            ),
            other => panic!("{other}: {text}"),
        }
    }
    assert!(served >= 1, "some calls went through");
    let (_, state) = support::get_state(&w.http, &w.server.base, &account, &t.admin, None).await;
    assert_eq!(state["held"], 0, "{state}");
    let entries = state["entries"].as_array().unwrap();
    let calls: Vec<&Value> = entries.iter().filter(|e| e["id"] != "d1").collect();
    assert_eq!(calls.len(), served, "one entry per call served");
    let drawn: u64 = calls
        .iter()
        .flat_map(|e| e["draws"].as_array().cloned().unwrap_or_default())
        .map(|d| d["credits"].as_u64().unwrap())
        .sum();
    assert!(drawn <= 10_000, "drew {drawn} of 10,000");
    for e in &calls {
        let paid: u64 = e["draws"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["credits"].as_u64().unwrap())
            .sum();
        assert_eq!(
            paid + e["unpaid"].as_u64().unwrap(),
            e["credits"].as_u64().unwrap(),
            "{e}"
        );
    }
    assert_eq!(state["monthly"]["remaining"].as_u64(), Some(10_000 - drawn));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_responses_calls_are_charged_whole_or_streamed() {
    // Proves OpenAI's Responses API goes through the gateway, answered whole and streamed, each charged what the core charges for the reported usage (cached input and reasoning included).
    let w = world("gw-responses").await;
    let (account, t) = w.account().await;
    let request = |stream: bool| json!({"model": "gpt-5", "input": "Hello", "max_output_tokens": 500, "stream": stream});
    let (status, body) = w
        .send(&account, &t.service, "openai/responses", &request(false))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "response");
    let response = w
        .call(&account, &t.service, "openai/responses", &request(true))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(text.contains("response.completed"), "{text}");
    let want = w
        .charged_by_the_core("gpt-5", serde_json::from_str(RESPONSES_USAGE).unwrap())
        .await;
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e["credits"], want["credits"], "{e}");
    }
    assert_eq!(w.seen.keys(), [PLATFORM_OPENAI, PLATFORM_OPENAI]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_usage_is_charged_the_estimate_and_says_so() {
    // Proves a stream that ends without a usage report is charged the core's estimate of what was sent and streamed, and its entry is marked estimated (SPEC §5.4).
    let w = world("gw-estimated").await;
    let (account, t) = w.account().await;
    let (status, _) = w
        .stream(
            &account,
            &t.service,
            "openai/chat/completions",
            &chat_request(true, "cut off early"),
        )
        .await;
    assert_eq!(status, 200);
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["estimated"], true, "{e}");
    assert!(
        e["output_tokens"].as_u64().unwrap() > 0 && e["credits"].as_u64().unwrap() > 0,
        "{e}"
    );
    let (_, state) = support::get_state(&w.http, &w.server.base, &account, &t.admin, None).await;
    assert_eq!(state["held"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_calls_go_to_the_business_key_whole_or_streamed() {
    // Proves Google's generateContent and streamGenerateContent (?alt=sse) go through the gateway with the model from the path and the business's key, each charged 0 credits but what the core would charge for its usage, the stream's last usageMetadata counting; a stream asked without alt=sse is refused before any call.
    let w = world("gw-gemini").await;
    let (account, t) = w.account().await;
    save_key(&w, &account, &t, "google", "AIza-own-google-4411").await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}], "generationConfig": {"maxOutputTokens": 300}});
    let (status, answer) = w
        .send(
            &account,
            &t.service,
            "google/v1beta/models/gemini-2.5-flash:generateContent",
            &body,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["candidates"][0]["content"]["parts"][0]["text"],
        "Hi from Gemini"
    );
    let (status, refused) = w
        .send(
            &account,
            &t.service,
            "google/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            &body,
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_request")),
        "{refused}"
    );
    let (status, text) = w
        .stream(
            &account,
            &t.service,
            "google/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            &body,
        )
        .await;
    assert_eq!(status, 200);
    assert!(text.contains("Hi ") && text.contains("there"), "{text}");
    let entries = w.entries(&account, &t.admin).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    // What the core charges the same usage on this account (a model for own keys only).
    let usage = json!({"kind": "usage", "id": "u-check", "model": "gemini-2.5-flash", "provider_usage": serde_json::from_str::<Value>(GEMINI_USAGE).unwrap()});
    let (status, posted) =
        support::post_event(&w.http, &w.server.base, &account, &t.service, &usage)
            .await
            .unwrap();
    assert_eq!(status, 200, "{posted}");
    let want = &posted["entry"];
    for e in &entries {
        assert_eq!(
            (e["billed_to"].as_str(), e["credits"].as_u64()),
            (Some("own_key"), Some(0)),
            "{e}"
        );
        assert_eq!(e["would_be_credits"], want["would_be_credits"], "{e}");
    }
    let calls: Vec<String> = w
        .seen
        .keys()
        .into_iter()
        .filter(|k| k.contains(':'))
        .collect();
    assert_eq!(
        calls,
        [
            "AIza-own-google-4411 gemini-2.5-flash:generateContent",
            "AIza-own-google-4411 gemini-2.5-flash:streamGenerateContent"
        ]
    );
}
