//! The business's own provider keys over HTTP: save and test (`PUT …/keys`), list, remove,
//! mark invalid when a provider refuses a call (`POST …/keys/{provider}/rejected`), and the
//! audit log. Keys are tested against their providers, stored encrypted, and only ever shown
//! as provider, state, last four characters and when they were tested. Each change (its key
//! rows, its ledger events and its audit rows) is one unit the engine decides in the
//! transaction that locks the account (`key_change`); testing keys against their providers
//! happens before, outside any lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use ai_credits::time::format_instant;

use crate::engine;
use crate::engine::key_change::{KeyChange, KeyStep, plan_allows_own_keys};
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::roles::Action;
use crate::store::KeyRow;
use crate::vault::providers::{Providers, TestResult};
use crate::vault::secret::{DataKey, Secret};

/// Most keys saved in one request (one per provider).
pub const KEYS_PER_REQUEST_MAX: usize = 16;
/// Longest key accepted, in bytes.
const KEY_BYTES_MAX: usize = 512;
/// Shortest key accepted (a last four must not be most of it).
const KEY_CHARS_MIN: usize = 8;
/// Most audit entries returned.
const AUDIT_ENTRIES_MAX: i64 = 1000;

/// What the keys endpoints need besides the engine.
pub struct KeyService {
    /// `None` when no data key is configured (PostgreSQL without one): the endpoints answer
    /// 503 `keys_unavailable` rather than store keys nobody could decrypt elsewhere.
    pub data_key: Option<DataKey>,
    pub providers: Providers,
}

impl KeyService {
    pub fn new(data_key: Option<DataKey>, providers: Providers) -> KeyService {
        KeyService {
            data_key,
            providers,
        }
    }
}

type Shared = State<Arc<AppState>>;

/// Who is acting, for the audit log, once the role is checked.
struct Actor {
    member: String,
    role: &'static str,
}

/// Only a caller the roles table lets do `action` on this account, as the actor the audit
/// log names.
fn check_role(caller: &Caller, id: &str, action: Action) -> Result<Actor, ApiError> {
    caller.may(action, Some(id))?;
    Ok(Actor {
        member: caller.member().to_owned(),
        role: caller.role_name(),
    })
}

fn data_key(app: &AppState) -> Result<&DataKey, ApiError> {
    app.keys.data_key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::KeysUnavailable,
            "this server has no data key configured (set AI_CREDITS_DATA_KEY or --data-key-file), so it cannot store provider keys",
        )
    })
}

fn known_provider(app: &AppState, provider: &str) -> Result<(), ApiError> {
    if app.ctx.catalogue.provider(provider).is_some() && app.keys.providers.knows(provider) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Ledger(ai_credits::RejectCode::UnknownProvider),
            format!("there is no provider {provider:?}; see /v1/catalogue for the providers"),
        ))
    }
}

fn storage(e: sqlx::Error) -> ApiError {
    ApiError::storage(&e)
}

/// Reads a small JSON body into `T`. The serde error is not echoed: it can quote the input.
fn read_body<T: for<'de> Deserialize<'de>>(
    body: Result<Bytes, BytesRejection>,
    expected: &str,
) -> Result<T, ApiError> {
    let bytes = crate::http::body::read_bytes(body, crate::http::BODY_BYTES_MAX)?;
    serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("the body must be {expected}"),
        )
    })
}

/// Hands a key change to the engine, which decides it as one unit with the account locked.
async fn change_keys(
    app: &AppState,
    id: &str,
    actor: &Actor,
    steps: Vec<KeyStep>,
) -> Result<crate::engine::key_change::KeysDone, ApiError> {
    let change = KeyChange {
        role: actor.role,
        steps,
    };
    app.engine
        .submit_keys(
            id.to_owned(),
            change,
            crate::engine::Poster {
                role: actor.role,
                ..crate::engine::Poster::server(actor.member.clone())
            },
        )
        .await
}

fn view(row: &KeyRow) -> Value {
    let mut v = json!({
        "provider": row.provider,
        "state": row.state,
        "last4": row.last4,
        "tested_at": row.tested_at,
    });
    if let Some(reason) = &row.reason {
        v["reason"] = json!(reason);
    }
    if let Some(detail) = &row.detail {
        v["detail"] = json!(detail);
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutKeys {
    keys: BTreeMap<String, Secret>,
}

/// `PUT /v1/accounts/{id}/keys`: saves and tests keys together (admin).
pub async fn put_keys(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = check_role(&caller, &id, Action::ManageKeys)?;
    let data_key = data_key(&app)?;
    let body: PutKeys = read_body(body, r#"{"keys": {"PROVIDER": "KEY", …}}"#)?;
    if body.keys.is_empty() || body.keys.len() > KEYS_PER_REQUEST_MAX {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("`keys` must name 1 to {KEYS_PER_REQUEST_MAX} providers"),
        ));
    }
    for (provider, key) in &body.keys {
        known_provider(&app, provider)?;
        let text = key.expose();
        if text.len() > KEY_BYTES_MAX
            || text.chars().count() < KEY_CHARS_MIN
            || text.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                format!(
                    "the key for {provider} must be {KEY_CHARS_MIN} to {KEY_BYTES_MAX} bytes without spaces"
                ),
            ));
        }
    }
    let (ledger, _) = engine::read_ledger(&app.ctx, &id).await?;
    plan_allows_own_keys(&app.ctx.catalogue, ledger.plan())?;
    drop(ledger);
    // Every key tested at once, each with the adapter's timeout.
    let tests: Vec<_> = body
        .keys
        .iter()
        .map(|(provider, key)| {
            let providers = app.keys.providers.clone();
            let (provider, key) = (provider.clone(), key.clone());
            tokio::spawn(async move { providers.test(&provider, &key).await })
        })
        .collect();
    let mut steps = Vec::with_capacity(tests.len());
    let mut rows = Vec::with_capacity(tests.len());
    for ((provider, key), test) in body.keys.iter().zip(tests) {
        let result = test.await.unwrap_or(TestResult::Rejected {
            reason: "provider_error",
            detail: None,
        });
        let tested_at = format_instant(&engine::clock());
        let (state, reason, detail) = match result {
            TestResult::Connected => ("connected", None, None),
            // A billing refusal reads as SPEC §3's message; every detail is ours, never the
            // provider's words (which may carry the key in some disguise).
            TestResult::Rejected {
                reason: "billing", ..
            } => (
                "rejected",
                Some("billing".to_owned()),
                Some(app.ctx.catalogue.provider_billing_message(provider)),
            ),
            TestResult::Rejected { reason, detail } => {
                ("rejected", Some(reason.to_owned()), detail)
            }
        };
        let sealed = data_key
            .seal(key, &format!("{id}/{provider}"))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::EncryptionFailed,
                    e,
                )
            })?;
        let row = KeyRow {
            provider: provider.clone(),
            last4: key.last4(),
            state: state.to_owned(),
            reason,
            detail,
            tested_at,
        };
        rows.push(row.clone());
        steps.push(KeyStep::Save { sealed, row });
    }
    // The key rows, the ledger's key states and the audit rows, all in one transaction.
    change_keys(&app, &id, &actor, steps).await?;
    for row in &rows {
        tracing::info!(account = %id, provider = %row.provider, state = %row.state, reason = row.reason.as_deref().unwrap_or(""), "provider key saved");
    }
    Ok(Json(
        json!({"keys": rows.iter().map(view).collect::<Vec<_>>()}),
    ))
}

/// `GET /v1/accounts/{id}/keys`: every saved key's state, never the key (admin).
pub async fn get_keys(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    check_role(&caller, &id, Action::ManageKeys)?;
    let rows = app.ctx.db.keys(&id).await.map_err(storage)?;
    Ok(Json(
        json!({"keys": rows.iter().map(view).collect::<Vec<_>>()}),
    ))
}

/// `DELETE /v1/accounts/{id}/keys/{provider}`: deletes the key, ciphertext and all (admin).
pub async fn delete_key(
    State(app): Shared,
    Path((id, provider)): Path<(String, String)>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let actor = check_role(&caller, &id, Action::ManageKeys)?;
    known_provider(&app, &provider)?;
    // Removing a key the ledger does not have changes nothing (SPEC §3 rule 7).
    let step = KeyStep::Remove {
        provider: provider.clone(),
    };
    let done = change_keys(&app, &id, &actor, vec![step]).await?;
    let removed = done.found.first().copied().unwrap_or(false);
    if removed {
        tracing::info!(account = %id, provider = %provider, "provider key removed");
    }
    Ok(Json(json!({
        "provider": provider,
        "removed": removed,
        "state": "none",
        "selected_model": done.selected_model,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejected {
    reason: RejectedReason,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RejectedReason {
    /// The key was deleted or is wrong.
    Auth,
    /// The provider account is out of money or has a billing issue.
    Billing,
}

/// `POST /v1/accounts/{id}/keys/{provider}/rejected`: the host app reports that the provider
/// refused a call (service).
pub async fn post_rejected(
    State(app): Shared,
    Path((id, provider)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let actor = check_role(&caller, &id, Action::MarkKeyRejected)?;
    known_provider(&app, &provider)?;
    let body: Rejected = read_body(body, r#"{"reason": "auth" | "billing"}"#)?;
    let reason = match body.reason {
        RejectedReason::Auth => "auth",
        RejectedReason::Billing => "billing",
    };
    // Marking invalid a key the ledger does not have changes nothing (SPEC §3 rule 7).
    let step = KeyStep::MarkInvalid {
        provider: provider.clone(),
        reason: reason.to_owned(),
    };
    let done = change_keys(&app, &id, &actor, vec![step]).await?;
    let marked = done.found.first().copied().unwrap_or(false);
    if marked {
        tracing::info!(account = %id, provider = %provider, reason, "provider key marked invalid");
    }
    let message =
        crate::vault::providers::own_key_refused_message(&app.ctx.catalogue, &provider, reason);
    Ok(Json(json!({
        "provider": provider,
        "state": if marked { "invalid" } else { "none" },
        "reason": reason,
        "message": message,
    })))
}

/// `GET /v1/accounts/{id}/audit`: key changes and the selections they forced (admin).
pub async fn get_audit(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    check_role(&caller, &id, Action::ReadAudit)?;
    let rows = app
        .ctx
        .db
        .audit(&id, AUDIT_ENTRIES_MAX)
        .await
        .map_err(storage)?;
    let entries: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "at": r.at,
                "member": r.member,
                "role": r.role,
                "action": r.action,
                "provider": r.provider,
                "detail": r.detail,
            })
        })
        .collect();
    Ok(Json(json!({"entries": entries})))
}
