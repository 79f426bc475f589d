//! The demo's stand-in for a host app's assistant backend: `POST /v1/accounts/{id}/assistant`.
//!
//! A person's browser sends its message here with its session token. The backend calls the
//! model the way a host app would: with the provider's own request shape, through the gateway
//! (`/v1/accounts/{id}/providers/{provider}/…`) with the demo's service token, the person as
//! `AI-Credits-Member`, the feature as `AI-Credits-Feature` and the message's id as
//! `Idempotency-Key`. The gateway decides where it is billed, holds, calls the demo's stand-in
//! provider (or the business's own key's), and charges what the provider reports. The reply
//! streams back to the browser as it arrives (server-sent events: `delta`, then `done` with the
//! entry the call made, or `error`), or whole as JSON when the caller does not accept
//! `text/event-stream`.
//!
//! Each message belongs to a conversation (`conversation`, the backend names a new one when
//! the browser does not), which the backend passes on as `AI-Credits-Conversation`: the
//! gateway keeps the call there as a turn once it is charged. A message sent again after its
//! answer was lost is answered from that turn: the same reply and credits, charged once.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use ai_credits::{Model, RejectCode, Rejection};

use super::{ACCOUNT_ID, MESSAGE_CHARS_MAX, optional_text, unknown_fields};
use crate::engine::{self, EntriesWanted};
use crate::error::{ApiError, ErrorCode};
use crate::gateway::shapes::{Api, StreamReader};
use crate::http::auth::{self, Caller};
use crate::http::roles::{Action, Grant};
use crate::http::{self, AppState};
use crate::store::TurnRow;

/// The instructions the host app's backend sends with every message.
pub const SYSTEM_PROMPT: &str = "You are the assistant of a rental business's back office. \
Answer staff questions about bookings, stock, customers and reports from the business's own \
records, briefly and in plain words. When a request would change a record, say what you would \
change and ask before doing it. Never invent numbers: say when the data is not there.";
/// Most earlier turns a message may carry.
pub const HISTORY_TURNS_MAX: usize = 50;
/// Most output tokens the backend asks for (Anthropic requires a bound).
pub const OUTPUT_TOKENS_MAX: u64 = 1500;
/// Entries searched for the call's entry once its stream ended.
const ENTRIES_SEARCHED: i64 = 64;

/// What the browser sends.
struct AssistantRequest {
    model: String,
    message: String,
    id: Option<String>,
    feature: String,
    /// The conversation the message is part of.
    conversation: Option<String>,
    /// Earlier turns, oldest first: (`user` or `assistant`, text).
    history: Vec<(String, String)>,
}

fn read_request(body: Map<String, Value>) -> Result<AssistantRequest, ApiError> {
    unknown_fields(
        &body,
        &[
            "model",
            "message",
            "id",
            "feature",
            "conversation",
            "history",
        ],
    )?;
    let model = optional_text(&body, "model")?
        .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidRequest, "`model` is required"))?
        .to_owned();
    let text_ok = |t: &str| (1..=MESSAGE_CHARS_MAX).contains(&t.chars().count());
    let message = match body.get("message") {
        Some(Value::String(m)) if text_ok(m) => m.clone(),
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                format!("`message` must be a string of 1 to {MESSAGE_CHARS_MAX} characters"),
            ));
        }
    };
    let bad_history = || {
        ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!(
                "`history` must be at most {HISTORY_TURNS_MAX} turns of {{\"role\": \"user\" or \"assistant\", \"text\": 1 to {MESSAGE_CHARS_MAX} characters}}"
            ),
        )
    };
    let history = match body.get("history") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(turns)) if turns.len() <= HISTORY_TURNS_MAX => turns
            .iter()
            .map(|turn| {
                let turn = turn.as_object().ok_or_else(bad_history)?;
                let role = turn.get("role").and_then(Value::as_str);
                let text = turn.get("text").and_then(Value::as_str);
                match (role, text) {
                    (Some(role @ ("user" | "assistant")), Some(text))
                        if turn.len() == 2 && text_ok(text) =>
                    {
                        Ok((role.to_owned(), text.to_owned()))
                    }
                    _ => Err(bad_history()),
                }
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad_history()),
    };
    Ok(AssistantRequest {
        model,
        message,
        id: optional_text(&body, "id")?.map(str::to_owned),
        feature: optional_text(&body, "feature")?
            .unwrap_or("assistant")
            .to_owned(),
        conversation: match optional_text(&body, "conversation")? {
            Some(c) if !crate::http::conversations::valid_id(c) => {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    "`conversation` is 1 to 64 of A-Z a-z 0-9 . _ : -",
                ));
            }
            c => c.map(str::to_owned),
        },
        history,
    })
}

/// What the browser is told as the reply goes.
enum Said {
    Delta(String),
    Done(Value),
    Error(ApiError),
}

/// `POST /v1/accounts/{id}/assistant` (member or admin, for itself).
pub async fn post_assistant(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let member = match caller.may(Action::Hold, Some(&id))? {
        Grant::OwnMember => caller.member().to_owned(),
        _ => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "the demo assistant answers members and admins of the account",
            ));
        }
    };
    let demo = app.demo.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "not a demo server",
        )
    })?;
    let request = read_request(http::json_object(body)?)?;
    let streamed = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let message_id = request
        .id
        .clone()
        .unwrap_or_else(|| format!("msg-{}", auth::random_hex(12)));
    let conversation = request
        .conversation
        .clone()
        .unwrap_or_else(|| format!("c-{}", auth::random_hex(12)));
    // The gateway names the call's entry after its Idempotency-Key.
    let call_id = format!("gw-{message_id}");
    let (tx, rx) = mpsc::channel::<Said>(64);
    let given = app
        .ctx
        .db
        .turn(ACCOUNT_ID, &member, &call_id)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if let Some(given) = given {
        if given.message != request.message || given.model != request.model {
            return Err(Rejection::new(
                RejectCode::IdempotencyConflict,
                "this message id was used for another message; send a new id",
            )
            .into());
        }
        let entry = find_entry(&app, &call_id).await;
        let _ = tx.send(Said::Delta(given.reply.clone())).await;
        let _ = tx.send(Said::Done(done(&given, entry, true))).await;
        return Ok(respond(streamed, rx).await);
    }
    let catalogue = &app.ctx.catalogue;
    let model = catalogue.model(&request.model).ok_or_else(|| {
        ApiError::from(Rejection::new(
            RejectCode::UnknownModel,
            format!("no model {:?}; see /v1/catalogue", request.model),
        ))
    })?;
    let (api, path, body) = provider_request(model, &request);
    let url = format!(
        "{}/v1/accounts/{}/providers/{}/{path}",
        demo.self_base, ACCOUNT_ID, model.provider
    );
    let mut call = demo
        .http
        .post(url)
        .bearer_auth(demo.service_token.expose())
        .header("ai-credits-member", &member)
        .header("ai-credits-feature", &request.feature)
        .header("idempotency-key", &message_id)
        .header("ai-credits-conversation", &conversation)
        .json(&body);
    if api == Api::Messages {
        call = call.header("anthropic-version", "2023-06-01");
    }
    let mut upstream = call.send().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ProviderUnavailable,
            "the assistant could not reach the gateway; nothing was charged",
        )
    })?;
    if !upstream.status().is_success() {
        // The gateway's own answer (`{code, message}`), passed on as it is.
        let status = upstream.status();
        let body = upstream.bytes().await.unwrap_or_default();
        return Ok((
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response());
    }
    tokio::spawn(async move {
        let mut reader = StreamReader::default();
        let mut told = 0;
        // Read to the end even when the browser has gone: the reply is kept for its retry.
        loop {
            let chunk = match upstream.chunk().await {
                Ok(Some(chunk)) => chunk,
                _ => break,
            };
            reader.read(api, &chunk, true);
            if reader.text.len() > told {
                let _ = tx.send(Said::Delta(reader.text[told..].to_owned())).await;
                told = reader.text.len();
            }
        }
        reader.finish(api, true);
        if reader.text.len() > told {
            let _ = tx.send(Said::Delta(reader.text[told..].to_owned())).await;
        }
        // The gateway keeps the turn before its stream ends.
        let turn = app.ctx.db.turn(ACCOUNT_ID, &member, &call_id).await;
        let Ok(Some(turn)) = turn else {
            let _ = tx
                .send(Said::Error(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    ErrorCode::ProviderError,
                    "the reply was cut off before it was charged; see the account's entries",
                )))
                .await;
            return;
        };
        let entry = find_entry(&app, &call_id).await;
        let _ = tx.send(Said::Done(done(&turn, entry, false))).await;
    });
    Ok(respond(streamed, rx).await)
}

/// The entry the call made, among the account's newest.
async fn find_entry(app: &AppState, call_id: &str) -> Value {
    match engine::read_state(
        &app.ctx,
        ACCOUNT_ID,
        EntriesWanted::Newest(ENTRIES_SEARCHED),
    )
    .await
    {
        Ok(read) => read
            .entries
            .into_iter()
            .rev()
            .find(|e| e["id"] == call_id)
            .unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

/// What the browser is told when the reply is complete: the turn as the conversation keeps
/// it, and the entry of the call (null once it is older than the newest entries).
fn done(turn: &TurnRow, entry: Value, duplicate: bool) -> Value {
    json!({
        "reply": turn.reply,
        "conversation": turn.conversation_id,
        "turn": crate::http::conversations::turn_json(turn),
        "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens},
        "duplicate": duplicate,
        "entry": entry,
    })
}

/// The call as the host app makes it: the provider's API, path and body, with the system
/// prompt, the earlier turns and the message, streamed.
fn provider_request(model: &Model, request: &AssistantRequest) -> (Api, String, Value) {
    let turns = request
        .history
        .iter()
        .map(|(role, text)| (role.as_str(), text.as_str()))
        .chain([("user", request.message.as_str())]);
    match model.provider.as_str() {
        "anthropic" => (
            Api::Messages,
            "v1/messages".to_owned(),
            json!({
                "model": model.id, "max_tokens": OUTPUT_TOKENS_MAX, "stream": true,
                "system": SYSTEM_PROMPT,
                "messages": turns.map(|(role, text)| json!({"role": role, "content": text})).collect::<Vec<_>>(),
            }),
        ),
        "google" => (
            Api::StreamGenerateContent,
            format!("v1beta/models/{}:streamGenerateContent?alt=sse", model.id),
            json!({
                "systemInstruction": {"parts": [{"text": SYSTEM_PROMPT}]},
                "contents": turns.map(|(role, text)| json!({
                    "role": if role == "assistant" { "model" } else { "user" },
                    "parts": [{"text": text}],
                })).collect::<Vec<_>>(),
                "generationConfig": {"maxOutputTokens": OUTPUT_TOKENS_MAX},
            }),
        ),
        // OpenAI, xAI and Moonshot: Chat Completions.
        _ => {
            let mut messages = vec![json!({"role": "system", "content": SYSTEM_PROMPT})];
            messages.extend(turns.map(|(role, text)| json!({"role": role, "content": text})));
            (
                Api::ChatCompletions,
                "v1/chat/completions".to_owned(),
                json!({
                    "model": model.id, "stream": true, "messages": messages,
                    "max_completion_tokens": OUTPUT_TOKENS_MAX,
                }),
            )
        }
    }
}

/// The reply as server-sent events, or whole as JSON once it is done.
async fn respond(streamed: bool, mut rx: mpsc::Receiver<Said>) -> Response {
    if streamed {
        let body = crate::http::body::from_channel(rx, |said| {
            let (event, data) = match said {
                Said::Delta(text) => ("delta", json!({"text": text})),
                Said::Done(done) => ("done", done),
                Said::Error(e) => (
                    "error",
                    json!({"code": e.code.to_string(), "message": e.message}),
                ),
            };
            Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
        });
        return (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response();
    }
    while let Some(said) = rx.recv().await {
        match said {
            Said::Delta(_) => {}
            Said::Done(done) => return Json(done).into_response(),
            Said::Error(e) => return e.into_response(),
        }
    }
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        ErrorCode::ProviderError,
        "the reply ended without an answer",
    )
    .into_response()
}
