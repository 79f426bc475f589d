//! What only the platform does (SPEC §5.1): create accounts, change their plans, and issue,
//! list and revoke their tokens.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use ai_credits::time::{format_instant, parse_instant};
use ai_credits::{Account, EventDraft, Ledger};

use crate::engine::{self, Poster};
use crate::error::{ApiError, ErrorCode};
use crate::http::Shared;
use crate::http::auth::{self, Caller, Role, TOKEN_EXPIRES_IN_S_MAX};
use crate::http::body::Body;
use crate::http::roles::Action;
use crate::store::TokenRow;

/// Longest member name or plan id read.
const NAME_BYTES_MAX: usize = 256;

fn name<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() || value.len() > NAME_BYTES_MAX {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("`{field}` must be a non-empty string of at most {NAME_BYTES_MAX} bytes"),
        ));
    }
    Ok(value)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    plan: String,
    cycle_anchor: Option<String>,
}

pub async fn create_account(
    State(app): Shared,
    caller: Caller,
    Body(body): Body<NewAccount>,
) -> Result<Response, ApiError> {
    caller.may(Action::CreateAccount, None)?;
    app.ctx.clock.check()?;
    let plan = name("plan", &body.plan)?;
    let cycle_anchor = match body.cycle_anchor.as_deref() {
        None => engine::clock(),
        Some(text) => parse_instant(text).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidRequest,
                format!("`cycle_anchor` is not an RFC 3339 time: {text:?}"),
            )
        })?,
    };
    // The core decides whether the account is valid (known plan, anchor in range).
    Ledger::new(
        Arc::clone(&app.ctx.catalogue),
        Account {
            plan: plan.to_owned(),
            cycle_anchor,
        },
    )?;
    let id = format!("acc_{}", auth::random_hex(12));
    let anchor = format_instant(&cycle_anchor);
    app.ctx
        .db
        .create_account(&id, plan, &anchor, &format_instant(&engine::clock()))
        .await
        .map_err(|e| ApiError::storage(&e))?;
    tracing::info!(account = %id, plan, "account created");
    let reply = json!({"id": id, "plan": plan, "cycle_anchor": anchor});
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    plan: String,
}

/// Changes the account's plan (`POST /v1/accounts/{id}/plan`): the platform's billing
/// decides plans, never the account itself. The core decides it as a `change_plan` event at
/// the server's clock.
pub async fn change_plan(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
    Body(body): Body<NewPlan>,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::ChangePlan, Some(&id))?;
    let plan = name("plan", &body.plan)?;
    let draft = EventDraft::from_json(&json!({"kind": "change_plan", "plan": plan}));
    let poster = Poster {
        role: caller.role_name(),
        ..Poster::server(caller.member())
    };
    app.engine.submit(id.clone(), draft, poster).await?;
    tracing::info!(account = %id, plan, "plan changed");
    Ok(Json(json!({"account": id, "plan": plan})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    member: String,
    role: String,
    /// Seconds until the token stops working; none: it works until revoked.
    expires_in_s: Option<u64>,
}

/// A token as listed: never its secret.
fn view(row: &TokenRow) -> Value {
    json!({
        "id": row.id,
        "member": row.member,
        "role": row.role,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
    })
}

pub async fn create_token(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
    Body(body): Body<NewToken>,
) -> Result<Response, ApiError> {
    caller.may(Action::IssueToken, Some(&id))?;
    app.ctx.clock.check()?;
    let member = name("member", &body.member)?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::InvalidRequest,
            "`role` must be one of admin, member, service",
        )
    })?;
    if body
        .expires_in_s
        .is_some_and(|s| s == 0 || s > TOKEN_EXPIRES_IN_S_MAX)
    {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("`expires_in_s` must be from 1 to {TOKEN_EXPIRES_IN_S_MAX}"),
        ));
    }
    let (token, row) = auth::issue_token(&app.ctx.db, &id, member, role, body.expires_in_s)
        .await?
        .ok_or_else(ApiError::account_not_found)?;
    tracing::info!(account = %id, member, role = role.as_str(), token_id = %row.id, "token issued");
    let mut reply = view(&row);
    if let Value::Object(o) = &mut reply {
        o.insert("token".into(), token.into());
        o.insert("account".into(), id.into());
    }
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

pub async fn list_tokens(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::ListTokens, Some(&id))?;
    crate::http::account_must_exist(&app.ctx.db, &id).await?;
    let rows = app
        .ctx
        .db
        .tokens(&id)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    let tokens: Vec<Value> = rows.iter().map(view).collect();
    Ok(Json(json!({ "tokens": tokens })))
}

/// Revokes a token: every server sharing the database refuses it within about
/// [`auth::EPOCH_POLL`].
pub async fn revoke_token(
    State(app): Shared,
    Path((id, token_id)): Path<(String, String)>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.may(Action::RevokeToken, Some(&id))?;
    let deleted = app
        .ctx
        .db
        .delete_token(&id, &token_id)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    if !deleted {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::TokenNotFound,
            "this account has no token with that id",
        ));
    }
    tracing::info!(account = %id, token_id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
