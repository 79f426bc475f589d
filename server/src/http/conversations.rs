//! Conversations with the assistant over HTTP: `GET …/conversations`, `GET …/conversations/{cid}`
//! and `DELETE …/conversations/{cid}`. The gateway writes them (a call with an
//! `AI-Credits-Conversation` header). A person reads and deletes only its own, admins too: they
//! are people's, not the business's. The host app's backend (a service token) names the person
//! with `?member=`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorCode};
use crate::http::Shared;
use crate::http::auth::Caller;
use crate::http::roles::{Action, Grant};
use crate::store::{ConversationRow, TurnRow};

/// Most conversations one list returns (the most recently used).
pub const CONVERSATIONS_LISTED_MAX: i64 = 200;
/// Most turns one conversation returns (its newest).
pub const TURNS_MAX: i64 = 500;
/// Longest conversation id a caller may name, in bytes.
pub const CONVERSATION_ID_BYTES_MAX: usize = 64;

/// Whether `id` may name a conversation: 1 to 64 of `A–Z a–z 0–9 . _ : -`.
pub fn valid_id(id: &str) -> bool {
    (1..=CONVERSATION_ID_BYTES_MAX).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Whose conversations the caller reads: its own, or the named member's for the service.
fn whose(
    caller: &Caller,
    account: &str,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<String, ApiError> {
    let grant = caller.may(Action::Conversations, Some(account))?;
    let named = query
        .map(|Query(q)| q)
        .map_err(|e| {
            ApiError::bad_request(ErrorCode::InvalidRequest, format!("bad query string: {e}"))
        })?
        .remove("member");
    match (grant, named) {
        (Grant::OwnMember, None) => Ok(caller.member().to_owned()),
        (Grant::OwnMember, Some(m)) if m == caller.member() => Ok(m),
        (Grant::OwnMember, Some(_)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::MemberMismatch,
            "conversations are their person's own: a token reads only its member's",
        )),
        (_, Some(m)) if !m.is_empty() && m.len() <= 200 => Ok(m),
        _ => Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            "a service token names whose conversations it reads: `?member=…`",
        )),
    }
}

fn conversation_json(c: &ConversationRow) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "started_at": c.started_at,
        "updated_at": c.updated_at,
        "turns": c.turns,
        "credits": c.credits,
    })
}

pub fn turn_json(t: &TurnRow) -> Value {
    json!({
        "entry": t.entry_id,
        "at": t.at,
        "model": t.model,
        "feature": t.feature,
        "message": t.message,
        "reply": t.reply,
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "credits": t.credits,
        "billed_to": t.billed_to,
        "estimated": t.estimated,
    })
}

fn unknown(cid: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!("no conversation {cid:?} of this member"),
    )
}

fn check_id(cid: &str) -> Result<(), ApiError> {
    if valid_id(cid) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("a conversation id is 1 to {CONVERSATION_ID_BYTES_MAX} of A-Z a-z 0-9 . _ : -"),
        ))
    }
}

/// `GET /v1/accounts/{id}/conversations`: the member's conversations, most recent first.
pub async fn list(
    axum::extract::State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let member = whose(&caller, &id, query)?;
    let rows = app
        .ctx
        .db
        .conversations(&id, &member, CONVERSATIONS_LISTED_MAX)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    Ok(Json(json!({
        "member": member,
        "conversations": rows.iter().map(conversation_json).collect::<Vec<_>>(),
    })))
}

/// `GET /v1/accounts/{id}/conversations/{cid}`: one conversation and its turns, oldest first.
pub async fn get_one(
    axum::extract::State(app): Shared,
    Path((id, cid)): Path<(String, String)>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let member = whose(&caller, &id, query)?;
    check_id(&cid)?;
    let (conversation, turns) = app
        .ctx
        .db
        .conversation(&id, &member, &cid, TURNS_MAX)
        .await
        .map_err(|e| ApiError::storage(&e))?
        .ok_or_else(|| unknown(&cid))?;
    let mut body = conversation_json(&conversation);
    body["turns_shown"] = json!(turns.len());
    body["messages"] = Value::Array(turns.iter().map(turn_json).collect());
    Ok(Json(body))
}

/// `DELETE /v1/accounts/{id}/conversations/{cid}`: deletes it and its turns; the ledger's
/// entries of its calls stay.
pub async fn delete(
    axum::extract::State(app): Shared,
    Path((id, cid)): Path<(String, String)>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let member = whose(&caller, &id, query)?;
    check_id(&cid)?;
    let deleted = app
        .ctx
        .db
        .delete_conversation(&id, &member, &cid)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown(&cid))
    }
}
