//! The HTTP API (`/v1`). Handlers only read the request, check who may do it, and hand the
//! event to the engine; every number comes from the core.

pub mod accounts;
pub mod auth;
pub mod body;
pub mod catalogue;
pub mod conversations;
pub mod cors;
pub mod events;
pub mod keys;
pub mod limits;
pub mod reads;
pub mod roles;
pub mod serve;
pub mod static_files;

use std::sync::Arc;
use std::time::Instant as Stopwatch;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use serde_json::{Map, Value};

#[cfg(feature = "demo")]
use crate::demo::{self, Demo};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ErrorCode};
use crate::http::auth::Authenticator;
use crate::http::keys::KeyService;

/// Largest request body accepted.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Longest request target (path and query) read; a longer one is 414 `uri_too_long`.
pub const URI_BYTES_MAX: usize = 8 * 1024;

/// The bounds the edge puts on what callers post (SPEC §5.1–5.2).
#[derive(Clone, Debug)]
pub struct Policy {
    /// Longest a hold may last from when it is placed (`--hold-max-duration-s`; `None`: 0).
    pub hold_max: Option<chrono::Duration>,
    /// The clock bound (`--clock-skew-max-ms`): how far past the server's clock a platform's
    /// `at` may be on an `--allow-client-time` server.
    pub clock_skew_max: chrono::Duration,
    /// Longest a client may take to send a request's body (`--body-timeout-s`).
    pub body_timeout: std::time::Duration,
    /// Largest body the gateway forwards (`--gateway-body-max-kb`).
    pub gateway_body_bytes_max: usize,
    /// Origins whose pages may call the API (`--cors-origin`).
    pub cors_origins: Vec<String>,
    /// Whether a webhook may name a loopback, private or link-local address
    /// (`--webhooks-allow-private`).
    pub webhooks_allow_private: bool,
}

/// Everything a handler needs.
pub struct AppState {
    pub ctx: Arc<Ctx>,
    pub engine: Engine,
    pub auth: Arc<Authenticator>,
    pub keys: KeyService,
    pub limits: limits::Limits,
    pub policy: Policy,
    pub gateway: Arc<crate::gateway::Gateway>,
    /// Demo mode's settings; `None` unless the server runs with `--demo`.
    #[cfg(feature = "demo")]
    pub demo: Option<Arc<Demo>>,
    pub(crate) catalogue_json: Bytes,
    pub(crate) catalogue_etag: String,
}

impl AppState {
    pub fn new(
        ctx: Arc<Ctx>,
        engine: Engine,
        auth: Arc<Authenticator>,
        keys: KeyService,
        limits: limits::Limits,
        policy: Policy,
        gateway: Arc<crate::gateway::Gateway>,
    ) -> AppState {
        let catalogue_json = Bytes::from(ctx.catalogue.to_json());
        // The content hash checkpoints name, so a client can tell whether its own copy of the
        // catalogue is the one a checkpoint was made with.
        let catalogue_etag = format!("\"{}\"", ctx.catalogue.content_hash());
        AppState {
            ctx,
            engine,
            auth,
            keys,
            limits,
            policy,
            gateway,
            #[cfg(feature = "demo")]
            demo: None,
            catalogue_json,
            catalogue_etag,
        }
    }

    /// Switches demo mode on: the demo routes are served (see `demo`).
    #[cfg(feature = "demo")]
    pub fn with_demo(self, demo: Arc<Demo>) -> AppState {
        AppState {
            demo: Some(demo),
            ..self
        }
    }
}

pub(crate) type Shared = State<Arc<AppState>>;

/// The API under `/v1` (with the demo routes when `state.demo` is set); with `www`, the static
/// files of that directory at every other path.
pub fn router(state: Arc<AppState>, www: Option<&std::path::Path>) -> Router {
    let router = Router::new()
        .route("/v1/accounts", post(accounts::create_account))
        .route(
            "/v1/accounts/{id}/tokens",
            post(accounts::create_token).get(accounts::list_tokens),
        )
        .route(
            "/v1/accounts/{id}/tokens/{token_id}",
            delete(accounts::revoke_token),
        )
        .route("/v1/accounts/{id}/plan", post(accounts::change_plan))
        .route("/v1/accounts/{id}/events", post(events::post_event))
        .route("/v1/accounts/{id}/state", get(reads::get_state))
        .route("/v1/accounts/{id}/entries", get(reads::get_entries))
        .route("/v1/accounts/{id}/checkpoint", get(reads::get_checkpoint))
        .route("/v1/accounts/{id}/receipts", get(reads::get_receipts))
        .route(
            "/v1/accounts/{id}/payment-method",
            get(reads::get_payment_method),
        )
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
        .route(
            "/v1/accounts/{id}/webhooks",
            post(crate::webhooks::create).get(crate::webhooks::list),
        )
        .route(
            "/v1/accounts/{id}/webhooks/deliveries",
            get(crate::webhooks::deliveries),
        )
        .route(
            "/v1/accounts/{id}/webhooks/{wid}",
            delete(crate::webhooks::delete),
        )
        .route("/v1/accounts/{id}/conversations", get(conversations::list))
        .route(
            "/v1/accounts/{id}/conversations/{cid}",
            get(conversations::get_one).delete(conversations::delete),
        )
        .route(
            "/v1/accounts/{id}/providers/{provider}/{*path}",
            post(crate::gateway::call)
                .layer(DefaultBodyLimit::max(state.policy.gateway_body_bytes_max)),
        )
        .route("/v1/catalogue", get(catalogue::get_catalogue))
        .route("/v1/openapi.json", get(catalogue::get_openapi));
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
            .fallback_service(static_files::static_files(dir)),
        None => router.fallback(not_found),
    };
    let cors = cors::layer(&state.policy.cors_origins);
    let router = router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(
            (
                state.policy.body_timeout,
                BODY_BYTES_MAX.max(state.policy.gateway_body_bytes_max),
            ),
            read_body_in_time,
        ))
        .layer(middleware::from_fn(errors_as_json));
    // Outside every refusal, so a page of an allowed origin can read each one.
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
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

/// Every refusal is `{code, message}` JSON, the router's and extractors' own too (a path that
/// does not decode, a body over the limit, a method the route lacks), and a request target
/// over [`URI_BYTES_MAX`] is refused before routing.
async fn errors_as_json(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > URI_BYTES_MAX {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            ErrorCode::UriTooLong,
            format!("the request target is over {URI_BYTES_MAX} bytes"),
        )
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (
            ErrorCode::InvalidRequest,
            "the request could not be read (is the path percent-encoded correctly?)",
        ),
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            "no such file or endpoint; see /v1/openapi.json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "this endpoint does not take that method; see /v1/openapi.json",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::BodyTooLarge, "the request body is too large"),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::RequestTimeout,
            "the request was not received in time",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorCode::InvalidBody, "send the body as JSON"),
        s if s.is_client_error() => (ErrorCode::InvalidRequest, "the request was refused"),
        _ => (
            ErrorCode::InternalError,
            "the server failed to answer; retry, and read the account before repeating anything that is not idempotent",
        ),
    };
    let mut json = ApiError::new(status, code, message).into_response();
    // Keep what the original answer said about retrying or caching.
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            json.headers_mut().insert(name, v.clone());
        }
    }
    json
}

/// Reads a request's whole body within the body timeout (a client that dribbles its body a
/// byte at a time is answered 408 and its connection closed), refusing one over `limit` (the
/// largest any route takes) with 413; the handler then reads it from memory, within its own
/// route's `DefaultBodyLimit`.
async fn read_body_in_time(
    State((timeout, limit)): State<(std::time::Duration, usize)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.into_inner().is::<http_body_util::LengthLimitError>();
            return if too_large {
                ApiError::body_too_large(limit)
            } else {
                ApiError::bad_request(
                    ErrorCode::InvalidBody,
                    "the request body could not be read in full",
                )
            }
            .into_response();
        }
        Err(_) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs()
                ),
            )
            .into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such endpoint; see /v1/openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method; see /v1/openapi.json",
    )
}

/// 404 `not_found` unless the account exists (a caller's own account may have been deleted
/// from the store, and the platform may name any id).
pub(crate) async fn account_must_exist(db: &crate::store::Db, id: &str) -> Result<(), ApiError> {
    if db
        .account_exists(id)
        .await
        .map_err(|e| ApiError::storage(&e))?
    {
        Ok(())
    } else {
        Err(ApiError::account_not_found())
    }
}

/// Reads a JSON object body, mapping every failure to a coded 4xx.
pub(crate) fn json_object(
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = body::read_bytes(body, BODY_BYTES_MAX)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    match value {
        Value::Object(o) => Ok(o),
        _ => Err(ApiError::bad_request(
            ErrorCode::InvalidJson,
            "the body must be a JSON object",
        )),
    }
}
