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
/// A tool's parameter: its name, JSON type and meaning.
pub type Parameter = (&'static str, &'static str, &'static str);
/// A tool: its name, what it does and its parameters.
pub type Tool = (&'static str, &'static str, &'static [Parameter]);

/// The tools the host app's assistant offers the model with every message (name, what it
/// does, its parameters as (name, JSON type, meaning)). With [`SYSTEM_PROMPT`] they are the
/// tokens the catalogue's `estimation.prompt_tokens` counts for the `assistant` feature: a
/// test keeps the two within a sixth of each other.
pub const TOOLS: &[Tool] = &[
    (
        "find_bookings",
        "Lists bookings that match the filters, newest first, with their customer, products, dates, status and total. Use it for any question about what is booked, when, or for whom.",
        &[
            (
                "from",
                "string",
                "First day to include, as YYYY-MM-DD in the business's time zone",
            ),
            ("to", "string", "Last day to include, as YYYY-MM-DD"),
            (
                "status",
                "string",
                "One of requested, confirmed, picked_up, returned, cancelled",
            ),
            (
                "customer",
                "string",
                "A customer's id or part of their name",
            ),
            ("product", "string", "A product's id or part of its name"),
            (
                "limit",
                "integer",
                "Most bookings to return, 1 to 100 (default 20)",
            ),
        ],
    ),
    (
        "get_booking",
        "Reads one booking in full: its lines, deposits, payments, notes and history of changes.",
        &[(
            "booking_id",
            "string",
            "The booking's id, as shown in the back office",
        )],
    ),
    (
        "check_availability",
        "Tells how many units of a product are free over a period, counting bookings, maintenance and units out for repair.",
        &[
            ("product", "string", "A product's id"),
            ("from", "string", "First day, YYYY-MM-DD"),
            ("to", "string", "Last day, YYYY-MM-DD"),
            ("quantity", "integer", "Units wanted"),
        ],
    ),
    (
        "create_booking",
        "Drafts a booking for a customer. The draft is shown to the staff member for confirmation; nothing is saved until they confirm.",
        &[
            ("customer", "string", "The customer's id"),
            (
                "lines",
                "array",
                "Products and quantities, each as {product, quantity}",
            ),
            ("from", "string", "Pick-up day, YYYY-MM-DD"),
            ("to", "string", "Return day, YYYY-MM-DD"),
            ("note", "string", "A note for the team, optional"),
        ],
    ),
    (
        "update_booking",
        "Drafts a change to a booking (dates, lines, status or note), shown for confirmation before it is saved.",
        &[
            ("booking_id", "string", "The booking's id"),
            (
                "changes",
                "object",
                "The fields to change and their new values",
            ),
        ],
    ),
    (
        "find_customers",
        "Finds customers by name, e-mail, phone or company, with their open bookings and balance due.",
        &[
            ("query", "string", "Words to look for"),
            (
                "limit",
                "integer",
                "Most customers to return, 1 to 50 (default 10)",
            ),
        ],
    ),
    (
        "list_overdue_returns",
        "Lists rentals past their return date that are not back yet, with the customer, their contact details and the days overdue.",
        &[(
            "min_days",
            "integer",
            "Only those at least this many days late (default 1)",
        )],
    ),
    (
        "sales_report",
        "Sums bookings and revenue over a period, by day, product or customer, optionally compared with the period before.",
        &[
            ("from", "string", "First day, YYYY-MM-DD"),
            ("to", "string", "Last day, YYYY-MM-DD"),
            ("group_by", "string", "day, product or customer"),
            (
                "compare",
                "boolean",
                "Also sum the period of the same length just before",
            ),
        ],
    ),
];
/// The instructions of a quick action: it answers one known request, briefly, from what its
/// tool returns, so it is sent with no other tools and a short answer's output limit.
pub const QUICK_ACTION_PROMPT: &str = "You are the assistant of a rental business's back \
office, answering one ready-made request from its records. Answer in two or three sentences \
with the figures asked for.";
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
    /// The feature named, else the quick action's, else `assistant`.
    feature: Option<String>,
    /// The conversation the message is part of.
    conversation: Option<String>,
    /// The catalogue's quick action the message is, sent with its own instructions and limit.
    quick_action: Option<String>,
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
            "quick_action",
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
        feature: optional_text(&body, "feature")?.map(str::to_owned),
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
        quick_action: optional_text(&body, "quick_action")?.map(str::to_owned),
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
    let (shape, feature) = match &request.quick_action {
        None => (
            Shape::ASSISTANT,
            request.feature.as_deref().unwrap_or("assistant"),
        ),
        Some(id) => {
            let action = catalogue.quick_action(id).ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("there is no quick action {id:?}; see /v1/catalogue"),
                )
            })?;
            let as_listed = request.message == action.prompt
                && request.history.is_empty()
                && request
                    .feature
                    .as_ref()
                    .is_none_or(|f| *f == action.feature);
            if !as_listed {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    "a quick action is sent as the catalogue lists it: its own prompt, under its \
                     feature, at the start of a conversation",
                ));
            }
            let shape = Shape {
                system: QUICK_ACTION_PROMPT,
                tools: false,
                output_tokens_max: action.output_tokens,
            };
            (shape, action.feature.as_str())
        }
    };
    let (api, path, body) = provider_request(model, &request, shape);
    let url = format!(
        "{}/v1/accounts/{}/providers/{}/{path}",
        demo.self_base, ACCOUNT_ID, model.provider
    );
    let mut call = demo
        .http
        .post(url)
        .bearer_auth(demo.service_token.expose())
        .header("ai-credits-member", &member)
        .header("ai-credits-feature", feature)
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

/// What the host app sends besides the conversation: its instructions, whether with its
/// tools, and the most output tokens it asks for.
#[derive(Clone, Copy)]
struct Shape {
    system: &'static str,
    tools: bool,
    output_tokens_max: u64,
}

impl Shape {
    /// A message typed to the assistant.
    const ASSISTANT: Shape = Shape {
        system: SYSTEM_PROMPT,
        tools: true,
        output_tokens_max: OUTPUT_TOKENS_MAX,
    };
}

/// A tool's parameters as JSON Schema.
fn parameters(params: &[Parameter]) -> Value {
    let properties: Map<String, Value> = params
        .iter()
        .map(|(name, kind, about)| {
            let mut p = json!({"type": kind, "description": about});
            if *kind == "array" {
                p["items"] = json!({"type": "object"});
            }
            ((*name).to_owned(), p)
        })
        .collect();
    json!({"type": "object", "properties": properties})
}

/// [`TOOLS`] in one API's request shape.
fn tools_for(api: Api) -> Value {
    let each = TOOLS.iter().map(|(name, about, params)| match api {
        Api::Messages => {
            json!({"name": name, "description": about, "input_schema": parameters(params)})
        }
        Api::GenerateContent | Api::StreamGenerateContent => {
            json!({"name": name, "description": about, "parameters": parameters(params)})
        }
        _ => json!({"type": "function", "function": {
            "name": name, "description": about, "parameters": parameters(params),
        }}),
    });
    match api {
        Api::GenerateContent | Api::StreamGenerateContent => {
            json!([{"functionDeclarations": each.collect::<Vec<_>>()}])
        }
        _ => Value::Array(each.collect()),
    }
}

/// The call as the host app makes it: the provider's API, path and body, with its
/// instructions and tools (`shape`), the earlier turns and the message, streamed.
fn provider_request(
    model: &Model,
    request: &AssistantRequest,
    shape: Shape,
) -> (Api, String, Value) {
    let turns = request
        .history
        .iter()
        .map(|(role, text)| (role.as_str(), text.as_str()))
        .chain([("user", request.message.as_str())]);
    let (api, path, mut body) = match model.provider.as_str() {
        "anthropic" => (
            Api::Messages,
            "v1/messages".to_owned(),
            json!({
                "model": model.id, "max_tokens": shape.output_tokens_max, "stream": true,
                "system": shape.system,
                "messages": turns.map(|(role, text)| json!({"role": role, "content": text})).collect::<Vec<_>>(),
            }),
        ),
        "google" => (
            Api::StreamGenerateContent,
            format!("v1beta/models/{}:streamGenerateContent?alt=sse", model.id),
            json!({
                "systemInstruction": {"parts": [{"text": shape.system}]},
                "contents": turns.map(|(role, text)| json!({
                    "role": if role == "assistant" { "model" } else { "user" },
                    "parts": [{"text": text}],
                })).collect::<Vec<_>>(),
                "generationConfig": {"maxOutputTokens": shape.output_tokens_max},
            }),
        ),
        // OpenAI, xAI and Moonshot: Chat Completions.
        _ => {
            let mut messages = vec![json!({"role": "system", "content": shape.system})];
            messages.extend(turns.map(|(role, text)| json!({"role": role, "content": text})));
            (
                Api::ChatCompletions,
                "v1/chat/completions".to_owned(),
                json!({
                    "model": model.id, "stream": true, "messages": messages,
                    "max_completion_tokens": shape.output_tokens_max,
                }),
            )
        }
    };
    if shape.tools {
        body["tools"] = tools_for(api);
    }
    (api, path, body)
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

#[cfg(test)]
mod tests {
    use ai_credits::Catalogue;
    use ai_credits::tokens::estimate_tokens;

    use super::*;

    fn request(message: &str) -> AssistantRequest {
        AssistantRequest {
            model: String::new(),
            message: message.to_owned(),
            id: None,
            feature: None,
            conversation: None,
            history: Vec::new(),
            quick_action: None,
        }
    }

    #[test]
    fn the_assistants_instructions_and_tools_weigh_what_the_catalogue_counts() {
        // Proves the demo sends, with each typed message, instructions and tools within a sixth of the catalogue's `prompt_tokens` for `assistant`, in every provider's shape and tokenizer.
        let catalogue = Catalogue::default();
        let counted = catalogue.estimation.prompt_tokens_of(Some("assistant"));
        assert!(counted > 0);
        for provider in &catalogue.providers {
            let model = catalogue
                .models
                .iter()
                .find(|m| m.provider == provider.id)
                .unwrap();
            let (_, _, body) = provider_request(model, &request("Hi"), Shape::ASSISTANT);
            let sent = estimate_tokens(
                &crate::gateway::shapes::request_text(body.as_object().unwrap()),
                model.tokenizer,
            )
            .tokens;
            let own = sent - estimate_tokens("Hi", model.tokenizer).tokens;
            assert!(
                own * 6 >= counted * 5 && own * 6 <= counted * 7,
                "{}: {own} sent against {counted} counted",
                model.id
            );
        }
    }

    #[test]
    fn a_quick_action_is_sent_with_its_own_instructions_and_limit() {
        // Proves a quick action's call carries no tools, the quick instructions and its output budget as the API's limit.
        let catalogue = Catalogue::default();
        let action = &catalogue.quick_actions[0];
        let shape = Shape {
            system: QUICK_ACTION_PROMPT,
            tools: false,
            output_tokens_max: action.output_tokens,
        };
        for model in ["claude-sonnet-4-6", "gpt-5", "gemini-2.5-flash"] {
            let model = catalogue.model(model).unwrap();
            let (_, _, body) = provider_request(model, &request(&action.prompt), shape);
            assert!(body.get("tools").is_none(), "{}", model.id);
            let text = body.to_string();
            assert!(text.contains("ready-made request"), "{text}");
            let limit = body
                .get("max_tokens")
                .or_else(|| body.get("max_completion_tokens"))
                .or_else(|| body.pointer("/generationConfig/maxOutputTokens"));
            assert_eq!(limit, Some(&json!(action.output_tokens)), "{}", model.id);
        }
    }
}
