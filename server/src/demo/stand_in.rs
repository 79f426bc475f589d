//! The demo's stand-in providers, served under [`super::PROVIDERS_PATH`]: each speaks its
//! provider's own API shapes (from the providers' public API references), so the key test and
//! the gateway work offline exactly as they do against the real ones.
//!
//! - `GET …/{provider}/v1/models` (Google: `…/v1beta/models`, also with `?key=`): the list a
//!   key test reads.
//! - `POST` the paths the gateway forwards (`shapes::Api`): OpenAI-style `chat/completions`
//!   (OpenAI, xAI, Moonshot), `responses` (OpenAI, xAI), Anthropic `messages`, Google
//!   `generateContent` and `streamGenerateContent?alt=sse`. The reply is made up
//!   ([`super::stand_in_reply`]); its usage is the core's estimate of what was sent and of the
//!   reply, reported where that provider reports it. A stream comes word by word, spread over
//!   the demo's reply delay, so a person sees it arrive.
//!
//! A key starting with `demo-` is accepted (the demo's platform key is one), any other gets
//! the provider's own refusal. A key is never logged or echoed whole.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use ai_credits::Catalogue;
use ai_credits::tokens::{TokenizerFamily, estimate_tokens};

use crate::error::{ApiError, ErrorCode};
use crate::gateway::shapes::{self, Api};
use crate::http::AppState;

/// The platform key a demo server calls its own stand-ins with.
pub const PLATFORM_KEY: &str = "demo-platform-key";
/// Words per streamed chunk.
const WORDS_PER_CHUNK: usize = 3;
/// Longest pause between two chunks of a stream.
const CHUNK_PAUSE_MAX: Duration = Duration::from_millis(60);

type QueryMap = Query<std::collections::HashMap<String, String>>;

pub async fn models_v1(
    State(app): State<Arc<AppState>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
) -> Response {
    match provider.as_str() {
        "openai" | "anthropic" | "moonshot" | "xai" => {
            list_models(&app.ctx.catalogue, &provider, &headers, None)
        }
        _ => not_a_provider_path(),
    }
}

pub async fn models_v1beta(
    State(app): State<Arc<AppState>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Response {
    match provider.as_str() {
        "google" => list_models(
            &app.ctx.catalogue,
            &provider,
            &headers,
            query.get("key").map(String::as_str),
        ),
        _ => not_a_provider_path(),
    }
}

fn not_a_provider_path() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no stand-in provider serves this path; see the demo's stand_in.rs",
    )
    .into_response()
}

/// The key `provider`'s API reads: its header (Google also `?key=`), or "".
fn presented_key<'a>(
    provider: &str,
    headers: &'a HeaderMap,
    query_key: Option<&'a str>,
) -> &'a str {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match provider {
        "anthropic" => header("x-api-key"),
        "google" => header("x-goog-api-key").or(query_key),
        _ => header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
    }
    .unwrap_or("")
}

/// What every call checks first, Anthropic's version header then the key: the provider's
/// refusal, or `None` to go on.
fn refusal_of(provider: &str, headers: &HeaderMap, query_key: Option<&str>) -> Option<Response> {
    if provider == "anthropic" && headers.get("anthropic-version").is_none() {
        return Some(anthropic_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    }
    let key = presented_key(provider, headers, query_key);
    if key.starts_with("demo-") {
        return None;
    }
    let (status, body) = refusal(provider, key);
    Some((status, Json(body)).into_response())
}

/// One provider's list-models endpoint: a few of the catalogue's models of that provider.
fn list_models(
    catalogue: &Catalogue,
    provider: &str,
    headers: &HeaderMap,
    query_key: Option<&str>,
) -> Response {
    refusal_of(provider, headers, query_key)
        .unwrap_or_else(|| (StatusCode::OK, Json(model_list(catalogue, provider))).into_response())
}

/// The catalogue's models of `provider` in that provider's list shape.
fn model_list(catalogue: &Catalogue, provider: &str) -> Value {
    let ids: Vec<(&str, &str)> = catalogue
        .models
        .iter()
        .filter(|m| m.provider == provider)
        .map(|m| (m.id.as_str(), m.name.as_str()))
        .collect();
    let created = 1_735_689_600; // 2025-01-01T00:00:00Z
    match provider {
        "anthropic" => json!({
            "data": ids.iter().map(|(id, name)| json!({
                "type": "model", "id": id, "display_name": name,
                "created_at": "2025-01-01T00:00:00Z",
            })).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": ids.first().map(|(id, _)| *id),
            "last_id": ids.last().map(|(id, _)| *id),
        }),
        "google" => json!({
            "models": ids.iter().map(|(id, name)| json!({
                "name": format!("models/{id}"), "displayName": name,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            })).collect::<Vec<_>>(),
        }),
        _ => json!({
            "object": "list",
            "data": ids.iter().map(|(id, _)| json!({
                "id": id, "object": "model", "created": created, "owned_by": provider,
            })).collect::<Vec<_>>(),
        }),
    }
}

/// `key` masked as providers mask it in their messages: a few characters of each end.
fn mask(key: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= head + tail {
        return "***".to_owned();
    }
    let start: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{start}***{end}")
}

/// Each provider's answer to a wrong key, as the provider sends it: OpenAI, Anthropic and
/// Moonshot 401; xAI 400 with its string `error`; Google 400 `API_KEY_INVALID`.
fn refusal(provider: &str, key: &str) -> (StatusCode, Value) {
    match provider {
        "anthropic" => (
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
        ),
        "moonshot" => (
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "Invalid Authentication", "type": "invalid_authentication_error"}}),
        ),
        "xai" => (
            StatusCode::BAD_REQUEST,
            json!({"code": "Client specified an invalid argument",
                   "error": format!("Incorrect API key provided: {}. You can obtain an API key from https://console.x.ai.", mask(key, 2, 2))}),
        ),
        "google" => (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                   "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                                "metadata": {"service": "generativelanguage.googleapis.com"}}]}}),
        ),
        _ if key.is_empty() => (
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                   "type": "invalid_request_error", "param": null, "code": null}}),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": format!("Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.", mask(key, 3, 4)),
                   "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        ),
    }
}

fn anthropic_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"type": "error", "error": {"type": kind, "message": message}})),
    )
        .into_response()
}

/// A bad request in the provider's own error shape.
fn bad_request(provider: &str, message: &str) -> Response {
    let body = match provider {
        "anthropic" => {
            return anthropic_error(StatusCode::BAD_REQUEST, "invalid_request_error", message);
        }
        "google" => {
            json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})
        }
        _ => {
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
        }
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `POST /demo/providers/{provider}/{*path}`: a generation call, whole or streamed.
pub async fn generate(
    State(app): State<Arc<AppState>>,
    Path((provider, path)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): QueryMap,
    body: Bytes,
) -> Response {
    let Some((api, path_model)) = Api::of(&provider, &path) else {
        return not_a_provider_path();
    };
    if let Some(refused) = refusal_of(&provider, &headers, query.get("key").map(String::as_str)) {
        return refused;
    }
    let mut request = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => o,
        _ => return bad_request(&provider, "the body must be a JSON object"),
    };
    if let Some(model) = path_model {
        request.insert("model".into(), Value::String(model));
    }
    let catalogue = &app.ctx.catalogue;
    let Some(model) = request
        .get("model")
        .and_then(Value::as_str)
        .and_then(|id| catalogue.model(id))
        .filter(|m| m.provider == provider)
    else {
        return bad_request(
            &provider,
            "this model does not exist or you do not have access to it",
        );
    };
    let reply = super::stand_in_reply(&last_user_text(api, &request), &model.name);
    let reply = match output_limit(&request) {
        Some(limit) => within(reply, limit, model.tokenizer),
        None => reply,
    };
    let answer = Answer {
        api,
        model: model.id.clone(),
        family: model.tokenizer,
        input_tokens: estimate_tokens(&shapes::request_text(&request), model.tokenizer).tokens,
        id: format!("{:016x}", super::fnv1a(&reply) ^ rand::random::<u64>()),
        include_usage: request
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true),
    };
    let delay = app
        .demo
        .as_ref()
        .map_or(Duration::ZERO, |d| d.settings.reply_delay);
    if !api.streams(&request) {
        tokio::time::sleep(delay).await;
        return (StatusCode::OK, Json(answer.whole(&reply))).into_response();
    }
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let pieces = pieces(&reply);
        // Half the delay before the first words ("thinking"), the rest spread over the words.
        tokio::time::sleep(delay / 2).await;
        let pause =
            (delay / 2 / u32::try_from(pieces.len().max(1)).unwrap_or(1)).min(CHUNK_PAUSE_MAX);
        let mut sent = String::new();
        for event in answer.opening() {
            if tx.send(event).await.is_err() {
                return;
            }
        }
        for piece in &pieces {
            sent.push_str(piece);
            if tx.send(answer.delta(piece, &sent)).await.is_err() {
                return;
            }
            tokio::time::sleep(pause).await;
        }
        for event in answer.closing(&reply) {
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    let body = crate::http::body::from_channel(rx, |chunk| chunk);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        )],
        body,
    )
        .into_response()
}

/// The most output tokens the request asks for, where each API takes it: `max_tokens`
/// (Anthropic, older Chat Completions), `max_completion_tokens` (Chat Completions),
/// `max_output_tokens` (Responses), `generationConfig.maxOutputTokens` (Google).
fn output_limit(request: &Map<String, Value>) -> Option<u64> {
    ["max_tokens", "max_completion_tokens", "max_output_tokens"]
        .iter()
        .find_map(|key| request.get(*key).and_then(Value::as_u64))
        .or_else(|| {
            request
                .get("generationConfig")
                .and_then(|c| c.get("maxOutputTokens"))
                .and_then(Value::as_u64)
        })
}

/// The reply cut to at most `limit` output tokens, as a model asked for a short answer
/// gives one: whole sentences while they fit, else as many words as fit.
fn within(reply: String, limit: u64, family: TokenizerFamily) -> String {
    let fits = |text: &str| estimate_tokens(text, family).tokens <= limit;
    if fits(&reply) {
        return reply;
    }
    let mut kept = String::new();
    for sentence in reply.split_inclusive(". ") {
        let longer = format!("{kept}{sentence}");
        if !fits(longer.trim_end()) {
            break;
        }
        kept = longer;
    }
    if kept.is_empty() {
        for word in reply.split(' ') {
            let longer = if kept.is_empty() {
                word.to_owned()
            } else {
                format!("{kept} {word}")
            };
            if !fits(&longer) {
                break;
            }
            kept = longer;
        }
    }
    kept.trim_end().to_owned()
}

/// The reply in the chunks a stream sends: a few words each, spaces kept.
fn pieces(reply: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for (i, part) in reply.split(' ').enumerate() {
        if i > 0 {
            current.push(' ');
        }
        current.push_str(part);
        words += 1;
        if words == WORDS_PER_CHUNK {
            pieces.push(std::mem::take(&mut current));
            words = 0;
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The text of the request's last user turn (what the stand-in quotes).
fn last_user_text(api: Api, request: &Map<String, Value>) -> String {
    let (list, user) = match api {
        Api::ChatCompletions | Api::Messages => ("messages", "user"),
        Api::Responses => ("input", "user"),
        Api::GenerateContent | Api::StreamGenerateContent => ("contents", "user"),
    };
    let turn = match request.get(list) {
        Some(Value::String(text)) => return text.clone(),
        Some(Value::Array(turns)) => turns.iter().rev().find(|t| {
            t.get("role")
                .and_then(Value::as_str)
                .is_none_or(|r| r == user)
        }),
        _ => None,
    };
    let Some(turn) = turn else {
        return String::new();
    };
    let content = turn.get("content").or_else(|| turn.get("parts"));
    let text = match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.as_str().or_else(|| p.get("text").and_then(Value::as_str)))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    text.trim().to_owned()
}

/// One made-up answer, in the shapes of its API.
struct Answer {
    api: Api,
    model: String,
    family: TokenizerFamily,
    input_tokens: u64,
    id: String,
    /// An OpenAI-style stream asked for its usage chunk.
    include_usage: bool,
}

fn sse(event: Option<&str>, data: &Value) -> Bytes {
    Bytes::from(match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    })
}

impl Answer {
    fn output_tokens(&self, text: &str) -> u64 {
        estimate_tokens(text, self.family).tokens
    }

    fn created() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// The usage object where this API reports it.
    fn usage(&self, output: u64) -> Value {
        let input = self.input_tokens;
        match self.api {
            Api::ChatCompletions => json!({
                "prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            }),
            Api::Responses => json!({
                "input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input + output,
            }),
            Api::Messages => json!({
                "input_tokens": input, "output_tokens": output,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            }),
            Api::GenerateContent | Api::StreamGenerateContent => json!({
                "promptTokenCount": input, "candidatesTokenCount": output,
                "totalTokenCount": input + output,
            }),
        }
    }

    fn response(&self, status: &str, text: Option<&str>) -> Value {
        let output = match text {
            Some(text) => json!([{
                "type": "message", "id": format!("msg_{}", self.id), "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }]),
            None => json!([]),
        };
        let mut response = json!({
            "id": format!("resp_{}", self.id), "object": "response", "created_at": Self::created(),
            "status": status, "model": self.model, "output": output,
        });
        if let Some(text) = text {
            response["usage"] = self.usage(self.output_tokens(text));
        }
        response
    }

    fn whole(&self, reply: &str) -> Value {
        let usage = self.usage(self.output_tokens(reply));
        match self.api {
            Api::ChatCompletions => json!({
                "id": format!("chatcmpl-{}", self.id), "object": "chat.completion",
                "created": Self::created(), "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                             "finish_reason": "stop"}],
                "usage": usage,
            }),
            Api::Responses => self.response("completed", Some(reply)),
            Api::Messages => json!({
                "id": format!("msg_{}", self.id), "type": "message", "role": "assistant",
                "model": self.model, "content": [{"type": "text", "text": reply}],
                "stop_reason": "end_turn", "stop_sequence": null, "usage": usage,
            }),
            Api::GenerateContent | Api::StreamGenerateContent => json!({
                "candidates": [{"content": {"parts": [{"text": reply}], "role": "model"},
                                "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": self.model,
            }),
        }
    }

    fn chat_chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        sse(
            None,
            &json!({
                "id": format!("chatcmpl-{}", self.id), "object": "chat.completion.chunk",
                "created": Self::created(), "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }),
        )
    }

    /// The events before the first words.
    fn opening(&self) -> Vec<Bytes> {
        match self.api {
            Api::ChatCompletions => {
                vec![self.chat_chunk(json!({"role": "assistant", "content": ""}), None)]
            }
            Api::Responses => vec![
                sse(
                    Some("response.created"),
                    &json!({"type": "response.created", "sequence_number": 0,
                            "response": self.response("in_progress", None)}),
                ),
                sse(
                    Some("response.output_item.added"),
                    &json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                            "item": {"type": "message", "id": format!("msg_{}", self.id), "status": "in_progress",
                                     "role": "assistant", "content": []}}),
                ),
                sse(
                    Some("response.content_part.added"),
                    &json!({"type": "response.content_part.added", "sequence_number": 2,
                            "item_id": format!("msg_{}", self.id), "output_index": 0, "content_index": 0,
                            "part": {"type": "output_text", "text": "", "annotations": []}}),
                ),
            ],
            Api::Messages => vec![
                sse(
                    Some("message_start"),
                    &json!({"type": "message_start", "message": {
                        "id": format!("msg_{}", self.id), "type": "message", "role": "assistant",
                        "model": self.model, "content": [], "stop_reason": null, "stop_sequence": null,
                        "usage": self.usage(1)}}),
                ),
                sse(
                    Some("content_block_start"),
                    &json!({"type": "content_block_start", "index": 0,
                            "content_block": {"type": "text", "text": ""}}),
                ),
                sse(Some("ping"), &json!({"type": "ping"})),
            ],
            Api::GenerateContent | Api::StreamGenerateContent => Vec::new(),
        }
    }

    /// One chunk of words; `so_far` is everything sent, this chunk included.
    fn delta(&self, piece: &str, so_far: &str) -> Bytes {
        match self.api {
            Api::ChatCompletions => self.chat_chunk(json!({"content": piece}), None),
            Api::Responses => sse(
                Some("response.output_text.delta"),
                &json!({"type": "response.output_text.delta", "item_id": format!("msg_{}", self.id),
                        "output_index": 0, "content_index": 0, "delta": piece}),
            ),
            Api::Messages => sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": piece}}),
            ),
            // Each of Google's chunks carries the usage so far.
            Api::GenerateContent | Api::StreamGenerateContent => sse(
                None,
                &json!({"candidates": [{"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}],
                        "usageMetadata": self.usage(self.output_tokens(so_far)),
                        "modelVersion": self.model}),
            ),
        }
    }

    /// The events after the last words, the usage among them.
    fn closing(&self, reply: &str) -> Vec<Bytes> {
        let output = self.output_tokens(reply);
        match self.api {
            Api::ChatCompletions => {
                let mut events = vec![self.chat_chunk(json!({}), Some("stop"))];
                if self.include_usage {
                    events.push(sse(
                        None,
                        &json!({"id": format!("chatcmpl-{}", self.id), "object": "chat.completion.chunk",
                                "created": Self::created(), "model": self.model, "choices": [],
                                "usage": self.usage(output)}),
                    ));
                }
                events.push(Bytes::from_static(b"data: [DONE]\n\n"));
                events
            }
            Api::Responses => {
                let item = format!("msg_{}", self.id);
                vec![
                    sse(
                        Some("response.output_text.done"),
                        &json!({"type": "response.output_text.done", "item_id": item,
                                "output_index": 0, "content_index": 0, "text": reply}),
                    ),
                    sse(
                        Some("response.content_part.done"),
                        &json!({"type": "response.content_part.done", "item_id": item,
                                "output_index": 0, "content_index": 0,
                                "part": {"type": "output_text", "text": reply, "annotations": []}}),
                    ),
                    sse(
                        Some("response.output_item.done"),
                        &json!({"type": "response.output_item.done", "output_index": 0,
                                "item": self.response("completed", Some(reply))["output"][0]}),
                    ),
                    sse(
                        Some("response.completed"),
                        &json!({"type": "response.completed",
                                "response": self.response("completed", Some(reply))}),
                    ),
                ]
            }
            Api::Messages => vec![
                sse(
                    Some("content_block_stop"),
                    &json!({"type": "content_block_stop", "index": 0}),
                ),
                sse(
                    Some("message_delta"),
                    &json!({"type": "message_delta",
                            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                            "usage": {"output_tokens": output}}),
                ),
                sse(Some("message_stop"), &json!({"type": "message_stop"})),
            ],
            Api::GenerateContent | Api::StreamGenerateContent => vec![sse(
                None,
                &json!({"candidates": [{"content": {"parts": [{"text": ""}], "role": "model"},
                                        "finishReason": "STOP", "index": 0}],
                        "usageMetadata": self.usage(output), "modelVersion": self.model}),
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_sends_the_whole_reply_in_pieces() {
        // Proves the pieces of a reply join back into it, a few words each.
        let reply = "one two three four five six seven";
        let pieces = pieces(reply);
        assert_eq!(pieces.concat(), reply);
        assert_eq!(pieces.len(), 3);
    }

    #[test]
    fn the_quoted_turn_is_the_last_users() {
        // Proves the stand-in quotes the last user turn of each API's request shape.
        let chat = json!({"messages": [{"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]}]});
        let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]});
        let responses = json!({"input": "plain"});
        let text = |api, v: &Value| last_user_text(api, v.as_object().unwrap());
        assert_eq!(text(Api::ChatCompletions, &chat), "second");
        assert_eq!(text(Api::StreamGenerateContent, &gemini), "hello");
        assert_eq!(text(Api::Responses, &responses), "plain");
    }

    #[test]
    fn a_reply_keeps_within_the_output_tokens_asked_for() {
        // Proves the stand-in honours each API's output limit: whole sentences within it, the same reply without one.
        let reply = crate::demo::stand_in_reply("How many bookings today?", "GPT-5");
        let family = TokenizerFamily::O200k;
        assert!(estimate_tokens(&reply, family).tokens > 120);
        for request in [
            json!({"max_tokens": 120}),
            json!({"max_completion_tokens": 120}),
            json!({"max_output_tokens": 120}),
            json!({"generationConfig": {"maxOutputTokens": 120}}),
        ] {
            let limit = output_limit(request.as_object().unwrap()).unwrap();
            let short = within(reply.clone(), limit, family);
            let tokens = estimate_tokens(&short, family).tokens;
            assert!((60..=120).contains(&tokens), "{tokens}: {short}");
            assert!(reply.starts_with(&short) && short.ends_with('.'), "{short}");
        }
        assert_eq!(output_limit(&Map::new()), None);
        assert_eq!(within(reply.clone(), 10_000, family), reply);
        // A limit below the first sentence keeps the words that fit.
        let words = within(reply.clone(), 5, family);
        assert!(!words.is_empty() && estimate_tokens(&words, family).tokens <= 5);
    }

    #[test]
    fn masks_keep_only_the_ends() {
        // Proves a refusal's echoed key keeps at most its ends.
        assert_eq!(mask("sk-proj-abcdefgh1234", 3, 4), "sk-***1234");
        assert_eq!(mask("xai-abc", 2, 2), "xa***bc");
        assert_eq!(mask("abc", 2, 2), "***");
    }
}
