//! The HTTP API (`/v1`). Handlers only read the request, check who may do it, and hand the
//! event to the engine; every number comes from the core.

pub mod auth;
pub mod keys;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant as Stopwatch;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use tower_http::services::ServeDir;

use ai_credits::time::{format_instant, parse_instant};
use ai_credits::{Account, EventDraft, EventKind, Ledger};

#[cfg(feature = "demo")]
use crate::demo::{self, DemoSettings};
use crate::engine::{self, Ctx, Engine};
use crate::error::ApiError;
use crate::http::auth::{Authenticator, Role};
use crate::http::keys::KeyService;

/// Largest request body accepted.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Most events one page of `/entries` scans.
pub const ENTRIES_PAGE_MAX: i64 = 1000;
/// Entries `/state` lists unless asked for all of them (`?entries=all`).
pub const STATE_ENTRIES_DEFAULT: i64 = 100;

/// Everything a handler needs.
pub struct AppState {
    pub ctx: Arc<Ctx>,
    pub engine: Engine,
    pub auth: Authenticator,
    pub keys: KeyService,
    /// Demo mode's settings; `None` unless the server runs with `--demo`.
    #[cfg(feature = "demo")]
    pub demo: Option<DemoSettings>,
    catalogue_json: Bytes,
    catalogue_etag: String,
}

impl AppState {
    pub fn new(ctx: Arc<Ctx>, engine: Engine, auth: Authenticator, keys: KeyService) -> AppState {
        let catalogue_json = Bytes::from(ctx.catalogue.to_json());
        // The content hash checkpoints name, so a client can tell whether its own copy of the
        // catalogue is the one a checkpoint was made with.
        let catalogue_etag = format!("\"{}\"", ctx.catalogue.content_hash());
        AppState {
            ctx,
            engine,
            auth,
            keys,
            #[cfg(feature = "demo")]
            demo: None,
            catalogue_json,
            catalogue_etag,
        }
    }

    /// Switches demo mode on: the demo routes are served (see `demo`).
    #[cfg(feature = "demo")]
    pub fn with_demo(self, settings: DemoSettings) -> AppState {
        AppState {
            demo: Some(settings),
            ..self
        }
    }
}

type Shared = State<Arc<AppState>>;

/// The API under `/v1` (with the demo routes when `state.demo` is set); with `www`, the static
/// files of that directory at every other path.
pub fn router(state: Arc<AppState>, www: Option<&std::path::Path>) -> Router {
    let router = Router::new()
        .route("/v1/accounts", post(create_account))
        .route("/v1/accounts/{id}/tokens", post(create_token))
        .route("/v1/accounts/{id}/events", post(post_event))
        .route("/v1/accounts/{id}/state", get(get_state))
        .route("/v1/accounts/{id}/entries", get(get_entries))
        .route("/v1/accounts/{id}/checkpoint", get(get_checkpoint))
        .route(
            "/v1/accounts/{id}/keys",
            get(keys::get_keys).put(keys::put_keys),
        )
        .route(
            "/v1/accounts/{id}/keys/{provider}",
            delete(keys::delete_key),
        )
        .route(
            "/v1/accounts/{id}/keys/{provider}/rejected",
            post(keys::post_rejected),
        )
        .route("/v1/accounts/{id}/audit", get(keys::get_audit))
        .route("/v1/catalogue", get(get_catalogue))
        .route("/v1/openapi.json", get(get_openapi));
    // Without --demo these paths are unknown like any other: 404 `not_found`.
    #[cfg(feature = "demo")]
    let router = if state.demo.is_some() {
        demo::routes(router)
    } else {
        router
    };
    let router = match www {
        // Unknown API paths keep their JSON 404; everything else is a file or a plain 404.
        // ServeDir never lists a directory (it serves its index.html or nothing), refuses `..`
        // and names the MIME type from the extension (`.wasm` → application/wasm).
        Some(dir) => router
            .route("/v1", any(not_found))
            .route("/v1/{*rest}", any(not_found))
            .fallback_service(static_files(dir)),
        None => router.fallback(not_found),
    };
    router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One log line per request: method, route template, status, latency. Never headers (they
/// carry bearer tokens) and never bodies.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Stopwatch::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if status >= 500 {
        tracing::warn!(%method, route, status, latency_us, "request");
    } else {
        tracing::info!(%method, route, status, latency_us, "request");
    }
    response
}

/// The files of `dir`, served at every path the API does not take: nothing outside the folder
/// (a link that leads out of it is not followed), no dotfiles (`.env`, `.git/`), and hashed
/// build assets (`/assets/…`) cached for a year.
fn static_files(dir: &std::path::Path) -> Router {
    let root = Arc::new(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()));
    Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(middleware::from_fn_with_state(root, guard_static))
}

async fn guard_static(
    State(root): State<Arc<std::path::PathBuf>>,
    request: Request,
    next: Next,
) -> Response {
    let raw = request.uri().path().to_owned();
    let decoded = percent_encoding::percent_decode_str(&raw).decode_utf8_lossy();
    let hidden = decoded.split('/').any(|segment| segment.starts_with('.'));
    let relative = decoded.trim_start_matches('/');
    let outside = !relative.is_empty()
        && std::fs::canonicalize(root.join(relative)).is_ok_and(|real| !real.starts_with(&*root));
    if hidden || outside {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such file").into_response();
    }
    let mut response = next.run(request).await;
    if raw.starts_with("/assets/") && response.status().is_success() {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /v1/openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /v1/openapi.json",
    )
}

/// Reads a JSON object body, mapping every failure to a coded 4xx.
pub(crate) fn json_object(
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is over {BODY_BYTES_MAX} bytes"),
            )
        } else {
            ApiError::bad_request("invalid_body", "the request body could not be read")
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
    })?;
    match value {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::bad_request(
            "invalid_json",
            "the body must be a JSON object",
        )),
    }
}

pub(crate) fn unknown_fields(body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_request",
            format!("unknown field(s): {}", unknown.join(", ")),
        ))
    }
}

pub(crate) fn optional_text<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(
            "invalid_request",
            format!("`{key}` must be a non-empty string of at most 256 bytes"),
        )),
    }
}

async fn create_account(
    State(app): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    app.auth
        .caller(&app.ctx.db, &headers)
        .await?
        .check_platform()?;
    let body = json_object(body)?;
    unknown_fields(&body, &["plan", "cycle_anchor"])?;
    let plan = optional_text(&body, "plan")?
        .ok_or_else(|| ApiError::bad_request("invalid_request", "`plan` is required"))?;
    let cycle_anchor = match optional_text(&body, "cycle_anchor")? {
        None => engine::clock(),
        Some(text) => parse_instant(text).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
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

async fn create_token(
    State(app): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    app.auth
        .caller(&app.ctx.db, &headers)
        .await?
        .check_platform()?;
    let body = json_object(body)?;
    unknown_fields(&body, &["member", "role"])?;
    let member = optional_text(&body, "member")?
        .ok_or_else(|| ApiError::bad_request("invalid_request", "`member` is required"))?;
    let role = optional_text(&body, "role")?
        .and_then(Role::parse)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
                "`role` must be one of admin, member, service",
            )
        })?;
    let token = auth::issue_token(&app.ctx.db, &id, member, role)
        .await?
        .ok_or_else(ApiError::account_not_found)?;
    tracing::info!(account = %id, member, role = role.as_str(), "token issued");
    let reply = json!({"token": token, "account": id, "member": member, "role": role.as_str()});
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

async fn post_event(
    State(app): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = app.auth.caller(&app.ctx.db, &headers).await?;
    let role = caller.check_post(&id)?;
    let event = json_object(body).map_err(|e| match e.code.as_str() {
        // A body that is not an event object is an invalid event, in the core's words.
        "invalid_json" => ApiError::bad_request("invalid_event", e.message),
        _ => e,
    })?;
    let draft = EventDraft::from_json(&Value::Object(event));
    // Nothing but what the core reads is stored: a field it does not read is refused (a
    // usage's or commit's `provider_usage` is read by the core into its token counts).
    let unknown: Vec<&String> = draft.extra.keys().collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|k| k.as_str()).collect();
        return Err(ApiError::bad_request(
            "invalid_event",
            format!(
                "a {} event does not read field(s) {}; remove them (a typo would otherwise be ignored)",
                draft.kind.as_ref().map_or("", |k| k.as_str()),
                names.join(", ")
            ),
        ));
    }
    // An event without a known kind is refused by the core (`invalid_event`) for any role.
    if let Ok(kind) = draft.kind.as_ref().copied()
        && !role.may_post(kind)
    {
        return Err(ApiError::forbidden(&format!(
            "post {} events (role {})",
            kind.as_str(),
            role.as_str()
        )));
    }
    // Key states change only through the keys endpoints, which write the stored key, the
    // ledger's event and the audit entry as one unit; a bare key event here would leave the
    // ledger saying `connected` with no key stored. Replays and imports of history
    // (--allow-client-time) carry key events as they happened.
    if !app.ctx.allow_client_time
        && let Ok(kind @ (EventKind::ConnectKey | EventKind::KeyInvalid | EventKind::RemoveKey)) =
            draft.kind
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "use_keys_endpoint",
            format!(
                "{} events are not posted here: use PUT /v1/accounts/{id}/keys, DELETE …/keys/{{provider}} or POST …/keys/{{provider}}/rejected, which keep the stored key, the ledger and the audit log together",
                kind.as_str()
            ),
        ));
    }
    let accepted = app
        .engine
        .submit(id, draft, caller.member().to_owned())
        .await?;
    Ok(Json(
        json!({"duplicate": accepted.duplicate, "entry": accepted.entry}),
    ))
}

fn query_map(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("invalid_request", format!("bad query string: {e}")))
}

async fn get_state(
    State(app): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    app.auth
        .caller(&app.ctx.db, &headers)
        .await?
        .check_read(&id)?;
    let query = query_map(query)?;
    let at = query
        .get("at")
        .map(|text| {
            parse_instant(text).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_request",
                    format!("`at` is not an RFC 3339 time: {text:?}"),
                )
            })
        })
        .transpose()?;
    let wanted = match query.get("entries").map(String::as_str) {
        None => engine::EntriesWanted::Newest(STATE_ENTRIES_DEFAULT),
        Some("all") => engine::EntriesWanted::All,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!(
                    "`entries` is `all` or absent (the newest {STATE_ENTRIES_DEFAULT}), not {other:?}"
                ),
            ));
        }
    };
    let read = engine::read_state(&app.ctx, &id, wanted).await?;
    let at = at.unwrap_or_else(|| {
        let clock = engine::clock();
        read.ledger.now().map_or(clock, |now| now.max(clock))
    });
    let report = read.ledger.report(at, vec![], vec![])?;
    let mut doc =
        serde_json::to_value(&report).map_err(|e| ApiError::corrupt(&id, &e.to_string()))?;
    if let Value::Object(o) = &mut doc {
        // The entries come from the store (the ledger keeps only those since its checkpoint).
        o.insert("entries".into(), Value::Array(read.entries));
        o.insert(
            "entries_before".into(),
            read.older.map_or(Value::Null, Value::from),
        );
        o.insert("version".into(), read.version.into());
        o.insert("cursor".into(), read.event_count.into());
    }
    Ok(Json(doc))
}

/// The account's checkpoint as of its latest committed event (SPEC §5.3), with the cursor
/// to fetch the events after it from (`/entries?after=`) and the catalogue it names. ETag:
/// the account's version.
async fn get_checkpoint(
    State(app): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    app.auth
        .caller(&app.ctx.db, &headers)
        .await?
        .check_read(&id)?;
    let read = engine::read_state(&app.ctx, &id, engine::EntriesWanted::None).await?;
    let etag = format!("\"v{}\"", read.version);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag_header =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"v\""));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response());
    }
    let body = json!({
        "checkpoint": read.ledger.checkpoint(),
        "cursor": read.event_count,
        "version": read.version,
    });
    Ok(([(header::ETAG, etag_header)], Json(body)).into_response())
}

async fn get_entries(
    State(app): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    app.auth
        .caller(&app.ctx.db, &headers)
        .await?
        .check_read(&id)?;
    let query = query_map(query)?;
    let number = |key: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match query.get(key) {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_request",
                        format!("`{key}` must be a whole number from 0 to {max}"),
                    )
                }),
        }
    };
    let limit = number("limit", ENTRIES_PAGE_MAX, ENTRIES_PAGE_MAX)?.max(1);
    if query.contains_key("before") {
        if query.contains_key("after") {
            return Err(ApiError::bad_request(
                "invalid_request",
                "page with `before` (older entries) or `after` (newer events), not both",
            ));
        }
        let before = number("before", 0, i64::MAX)?;
        let (page, older) = engine::entries_before(&app.ctx, &id, before, limit).await?;
        let (seqs, entries): (Vec<i64>, Vec<Value>) = page.into_iter().unzip();
        return Ok(Json(
            json!({"entries": entries, "seqs": seqs, "before": older}),
        ));
    }
    let after = number("after", 0, i64::MAX)?;
    let page = engine::entries_after(&app.ctx, &id, after, limit).await?;
    Ok(Json(json!({
        "entries": page.entries,
        "events": page.events,
        "account": page.account,
        "now": page.now,
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
        "version": page.version,
    })))
}

async fn get_catalogue(State(app): Shared, headers: HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&app.catalogue_etag)
        .unwrap_or_else(|_| HeaderValue::from_static("\"catalogue\""));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == app.catalogue_etag)
        });
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (header::ETAG, etag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        app.catalogue_json.clone(),
    )
        .into_response()
}

/// The OpenAPI 3 description of this API, written by hand beside this file.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

async fn get_openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}
