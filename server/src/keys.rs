//! The business's own provider keys over HTTP: save and test (`PUT …/keys`), list, remove,
//! mark invalid when a provider refuses a call (`POST …/keys/{provider}/rejected`), and the
//! audit log. Keys are tested against their providers, stored encrypted, and only ever shown
//! as provider, state, last four characters and when they were tested. The ledger's key
//! states change through the engine, like every other event.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use ai_credits::time::format_instant;
use ai_credits::{Catalogue, EventDraft};

use crate::api::AppState;
use crate::auth::{Caller, Role};
use crate::engine;
use crate::error::ApiError;
use crate::providers::{self, Providers, TestResult};
use crate::secret::{DataKey, Secret};
use crate::store::{AuditRow, KeyRow};

/// Most keys saved in one request (one per provider).
const KEYS_PER_REQUEST_MAX: usize = 16;
/// Longest key accepted, in bytes.
const KEY_BYTES_MAX: usize = 512;
/// Shortest key accepted (a last four must not be most of it).
const KEY_CHARS_MIN: usize = 8;
/// Account locks kept before idle ones are forgotten.
const KEY_LOCKS_MAX: usize = 4096;
/// Most audit entries returned.
const AUDIT_ENTRIES_MAX: i64 = 1000;

/// What the keys endpoints need besides the engine.
pub struct KeyService {
    /// `None` when no data key is configured (PostgreSQL without one): the endpoints answer
    /// 503 `keys_unavailable` rather than store keys nobody could decrypt elsewhere.
    pub data_key: Option<DataKey>,
    pub providers: Providers,
    /// One lock per account, held while a key row and the ledger's key state change together,
    /// so two requests for one account cannot interleave and leave them disagreeing (within
    /// this process; several processes sharing a database are not serialised here).
    locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyService {
    pub fn new(data_key: Option<DataKey>, providers: Providers) -> KeyService {
        KeyService {
            data_key,
            providers,
            locks: std::sync::Mutex::default(),
        }
    }

    /// Waits for the account's key lock.
    async fn lock(&self, account_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            // Bounded: forget locks nobody holds or waits for.
            if locks.len() >= KEY_LOCKS_MAX {
                locks.retain(|_, l| Arc::strong_count(l) > 1);
            }
            Arc::clone(locks.entry(account_id.to_owned()).or_default())
        };
        lock.lock_owned().await
    }
}

type Shared = State<Arc<AppState>>;

/// Who is acting, for the audit log, once the role is checked.
struct Actor {
    member: String,
    role: Role,
}

/// Only a token of this account with one of `roles`; the platform and other roles get 403,
/// another account's token 404.
fn check_role(caller: Caller, id: &str, roles: &[Role], what: &str) -> Result<Actor, ApiError> {
    match caller {
        Caller::Platform => Err(ApiError::forbidden(&format!(
            "{what} (use a token of the account)"
        ))),
        Caller::Account { account_id, .. } if account_id != id => {
            Err(ApiError::account_not_found())
        }
        Caller::Account { member, role, .. } if roles.contains(&role) => Ok(Actor { member, role }),
        Caller::Account { role, .. } => Err(ApiError::forbidden(&format!(
            "{what} (role {})",
            role.as_str()
        ))),
    }
}

fn data_key(app: &AppState) -> Result<&DataKey, ApiError> {
    app.keys.data_key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
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
            "unknown_provider",
            format!("there is no provider {provider:?}; see /v1/catalogue for the providers"),
        ))
    }
}

/// Growth plan or higher: the catalogue's `own_keys` flag of the account's plan.
fn plan_allows_own_keys(catalogue: &Catalogue, plan: &str) -> Result<(), ApiError> {
    if catalogue.plan(plan).is_some_and(|p| p.own_keys) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "own_keys_not_in_plan",
            format!(
                "the {plan} plan does not include using your own AI keys; change to a plan that does"
            ),
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
    let bytes = body
        .map_err(|_| ApiError::bad_request("invalid_body", "the request body could not be read"))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::bad_request("invalid_request", format!("the body must be {expected}"))
    })
}

/// Applies one key event for the account through the engine; the selection change it forced, if any.
async fn apply(
    app: &AppState,
    id: &str,
    kind: &str,
    provider: &str,
    actor: &Actor,
) -> Result<Option<(String, String)>, ApiError> {
    let draft = EventDraft::from_json(&json!({"kind": kind, "provider": provider}));
    let accepted = app
        .engine
        .submit(id.to_owned(), draft, actor.member.clone())
        .await?;
    Ok(accepted.selection_changed)
}

async fn audit(
    app: &AppState,
    id: &str,
    actor: &Actor,
    action: &str,
    provider: &str,
    detail: Option<String>,
) -> Result<(), ApiError> {
    let row = AuditRow {
        at: format_instant(&engine::clock()),
        member: actor.member.clone(),
        role: actor.role.as_str().to_owned(),
        action: action.to_owned(),
        provider: Some(provider.to_owned()),
        detail,
    };
    app.ctx.db.add_audit(id, &row).await.map_err(storage)
}

/// Records a selection the core reset because of a key change.
async fn audit_selection(
    app: &AppState,
    id: &str,
    actor: &Actor,
    provider: &str,
    changed: Option<(String, String)>,
) -> Result<(), ApiError> {
    match changed {
        Some((from, to)) => {
            audit(
                app,
                id,
                actor,
                "selection_reset",
                provider,
                Some(format!("{from} -> {to}")),
            )
            .await
        }
        None => Ok(()),
    }
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
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = app.auth.caller(&app.ctx.db, &headers).await?;
    let actor = check_role(caller, &id, &[Role::Admin], "save provider keys")?;
    let data_key = data_key(&app)?;
    let body: PutKeys = read_body(body, r#"{"keys": {"PROVIDER": "KEY", …}}"#)?;
    if body.keys.is_empty() || body.keys.len() > KEYS_PER_REQUEST_MAX {
        return Err(ApiError::bad_request(
            "invalid_request",
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
                "invalid_request",
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
    let mut views = Vec::with_capacity(tests.len());
    let _lock = app.keys.lock(&id).await;
    for ((provider, key), test) in body.keys.iter().zip(tests) {
        let result = test.await.unwrap_or(TestResult::Rejected {
            reason: "provider_error",
            detail: None,
        });
        let tested_at = format_instant(&engine::clock());
        let (state, reason, detail) = match result {
            TestResult::Connected => ("connected", None, None),
            TestResult::Rejected { reason, detail } => {
                ("rejected", Some(reason.to_owned()), detail)
            }
        };
        let sealed = data_key
            .seal(key, &format!("{id}/{provider}"))
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "encryption_failed", e)
            })?;
        let row = KeyRow {
            provider: provider.clone(),
            last4: key.last4(),
            state: state.to_owned(),
            reason: reason.clone(),
            // Scrubbed again here, whatever the adapter did: a detail is stored and shown.
            detail: detail.and_then(|d| providers::scrub(&d, key)),
            tested_at,
        };
        app.ctx
            .db
            .put_key(&id, &sealed, &row)
            .await
            .map_err(storage)?;
        audit(&app, &id, &actor, "added", provider, None).await?;
        let result = match &reason {
            None => "connected".to_owned(),
            Some(r) => format!("rejected: {r}"),
        };
        audit(&app, &id, &actor, "tested", provider, Some(result)).await?;
        tracing::info!(account = %id, provider = %provider, state, reason = reason.as_deref().unwrap_or(""), "provider key saved");
        // The ledger learns the key exists, then, if the provider refused it, that it is invalid.
        let mut changed = apply(&app, &id, "connect_key", provider, &actor).await?;
        if reason.is_some() {
            changed = apply(&app, &id, "key_invalid", provider, &actor)
                .await?
                .or(changed);
        }
        audit_selection(&app, &id, &actor, provider, changed).await?;
        views.push(view(&row));
    }
    Ok(Json(json!({"keys": views})))
}

/// `GET /v1/accounts/{id}/keys`: every saved key's state, never the key (admin).
pub async fn get_keys(
    State(app): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = app.auth.caller(&app.ctx.db, &headers).await?;
    check_role(caller, &id, &[Role::Admin], "read provider keys")?;
    let rows = app.ctx.db.keys(&id).await.map_err(storage)?;
    Ok(Json(
        json!({"keys": rows.iter().map(view).collect::<Vec<_>>()}),
    ))
}

/// `DELETE /v1/accounts/{id}/keys/{provider}`: deletes the key, ciphertext and all (admin).
pub async fn delete_key(
    State(app): Shared,
    Path((id, provider)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = app.auth.caller(&app.ctx.db, &headers).await?;
    let actor = check_role(caller, &id, &[Role::Admin], "remove provider keys")?;
    known_provider(&app, &provider)?;
    let _lock = app.keys.lock(&id).await;
    let removed = app
        .ctx
        .db
        .delete_key(&id, &provider)
        .await
        .map_err(storage)?;
    // Removing a key the ledger does not have changes nothing (SPEC §3 rule 7).
    let changed = apply(&app, &id, "remove_key", &provider, &actor).await?;
    if removed {
        audit(&app, &id, &actor, "removed", &provider, None).await?;
        tracing::info!(account = %id, provider = %provider, "provider key removed");
    }
    audit_selection(&app, &id, &actor, &provider, changed.clone()).await?;
    let (ledger, _) = engine::read_ledger(&app.ctx, &id).await?;
    Ok(Json(json!({
        "provider": provider,
        "removed": removed,
        "state": "none",
        "selected_model": ledger.selected_model(),
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
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = app.auth.caller(&app.ctx.db, &headers).await?;
    let actor = check_role(
        caller,
        &id,
        &[Role::Service],
        "report a refused provider key",
    )?;
    known_provider(&app, &provider)?;
    let body: Rejected = read_body(body, r#"{"reason": "auth" | "billing"}"#)?;
    let reason = match body.reason {
        RejectedReason::Auth => "auth",
        RejectedReason::Billing => "billing",
    };
    let at = format_instant(&engine::clock());
    let _lock = app.keys.lock(&id).await;
    let marked = app
        .ctx
        .db
        .mark_key_invalid(&id, &provider, reason, &at)
        .await
        .map_err(storage)?;
    // Marking invalid a key the ledger does not have changes nothing (SPEC §3 rule 7).
    let changed = apply(&app, &id, "key_invalid", &provider, &actor).await?;
    if marked {
        audit(
            &app,
            &id,
            &actor,
            "marked_invalid",
            &provider,
            Some(reason.to_owned()),
        )
        .await?;
        tracing::info!(account = %id, provider = %provider, reason, "provider key marked invalid");
    }
    audit_selection(&app, &id, &actor, &provider, changed).await?;
    let catalogue = &app.ctx.catalogue;
    let message = match body.reason {
        RejectedReason::Billing => catalogue.provider_billing_message(&provider),
        RejectedReason::Auth => {
            let name = catalogue.provider_name(&provider);
            format!(
                "{name} refused your {name} key (it was deleted or is wrong). Add a new key in \
                 Settings → AI Assistant, or remove it to use {} credits.",
                catalogue.platform_name
            )
        }
    };
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
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let caller = app.auth.caller(&app.ctx.db, &headers).await?;
    check_role(caller, &id, &[Role::Admin], "read the audit log")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_without_own_keys_is_refused() {
        // Proves the plan gate reads the catalogue's own_keys flag: the default plans allow keys, a plan with the flag off gets 403 own_keys_not_in_plan.
        let default = Catalogue::default();
        assert!(plan_allows_own_keys(&default, "growth").is_ok());
        assert!(plan_allows_own_keys(&default, "pro").is_ok());
        let mut doc: Value = serde_json::from_str(&default.to_json()).expect("json");
        for plan in doc["plans"].as_array_mut().expect("plans") {
            if plan["id"] == "growth" {
                plan["own_keys"] = json!(false);
            }
        }
        let starter = Catalogue::from_json(&doc.to_string()).expect("a valid catalogue");
        let refused = plan_allows_own_keys(&starter, "growth").expect_err("refused");
        assert_eq!(
            (refused.status, refused.code.as_str()),
            (StatusCode::FORBIDDEN, "own_keys_not_in_plan")
        );
        assert!(plan_allows_own_keys(&starter, "pro").is_ok());
    }
}
