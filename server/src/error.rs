//! HTTP errors: every refusal is `{"code", "message"}` with a stable snake_case code. The
//! ledger's rejections keep the core's codes (SPEC §3 rule 12); the server adds its own for
//! what only HTTP can get wrong (authentication, bodies, storage).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use ai_credits::{RejectCode, Rejection};

/// Every code the server answers with besides the ledger's own: one enum, so that the
/// TypeScript union of the client's codes and `openapi.json` can be checked against it (a
/// test fails when either lacks one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No bearer token, or one the server does not know (or revoked).
    Unauthorized,
    /// The token's `expires_at` has passed.
    TokenExpired,
    /// The token is valid, but SPEC §5.1's table does not let its role do this.
    Forbidden,
    /// An admin's or member's hold names another member (SPEC §5.1).
    MemberMismatch,
    /// A member released a hold placed for another member (SPEC §5.1).
    NotYourHold,
    /// A hold lasts longer than `--hold-max-duration-s` (SPEC §5.1).
    HoldTooLong,
    /// No such account for this token (another account's token gets the same), file or endpoint.
    NotFound,
    /// The account has no token with that id.
    TokenNotFound,
    /// The endpoint does not take that method.
    MethodNotAllowed,
    /// The body is not JSON, or not a JSON object.
    InvalidJson,
    /// The body, path or query is not what the endpoint reads.
    InvalidRequest,
    /// The body could not be read in full (the connection broke), or is not sent as JSON.
    InvalidBody,
    /// The body is over the limit.
    BodyTooLarge,
    /// The request target is over the limit.
    UriTooLong,
    /// The body did not arrive within `--body-timeout-s`.
    RequestTimeout,
    /// Too many requests from one token or account; `Retry-After` says when to retry.
    RateLimited,
    /// Too many events waiting, or too many connections open; retry shortly with the same id.
    Overloaded,
    /// The server stopped before deciding the event; retry with the same id.
    ShuttingDown,
    /// The database failed; nothing was applied, retry with the same id.
    StorageUnavailable,
    /// This server's clock differs from the database's beyond the bound (SPEC §5.2); it writes nothing.
    ClockSkew,
    /// The account's stored events do not replay: a bug or a tampered database.
    LedgerUnreadable,
    /// The server failed to answer; read the account before repeating anything not idempotent.
    InternalError,
    /// The payment processor declined the purchase; no credits were added.
    PaymentDeclined,
    /// The payment processor failed or did not answer in time; nothing was charged or credited.
    PaymentUnavailable,
    /// Key events are posted through the keys endpoints, except on a replay server.
    UseKeysEndpoint,
    /// The account's plan does not allow own provider keys.
    OwnKeysNotInPlan,
    /// The server has no data key, so it cannot store provider keys.
    KeysUnavailable,
    /// A provider key could not be encrypted.
    EncryptionFailed,
    /// Gateway: no platform key for the provider, the provider could not be reached or did
    /// not answer in time; nothing was charged.
    ProviderUnavailable,
    /// Gateway: the provider refused the call (its HTTP status is kept); nothing was charged.
    ProviderError,
    /// Gateway: the provider refused the business's own key, which is now `invalid`.
    OwnKeyRefused,
    /// A ledger rejection, with the core's code (SPEC §3 rule 12).
    Ledger(RejectCode),
}

impl ErrorCode {
    /// The server's own codes (the ledger's are [`RejectCode::ALL`]).
    pub const SERVER: [ErrorCode; 31] = [
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::Forbidden,
        ErrorCode::MemberMismatch,
        ErrorCode::NotYourHold,
        ErrorCode::HoldTooLong,
        ErrorCode::NotFound,
        ErrorCode::TokenNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidBody,
        ErrorCode::BodyTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::RequestTimeout,
        ErrorCode::RateLimited,
        ErrorCode::Overloaded,
        ErrorCode::ShuttingDown,
        ErrorCode::StorageUnavailable,
        ErrorCode::ClockSkew,
        ErrorCode::LedgerUnreadable,
        ErrorCode::InternalError,
        ErrorCode::PaymentDeclined,
        ErrorCode::PaymentUnavailable,
        ErrorCode::UseKeysEndpoint,
        ErrorCode::OwnKeysNotInPlan,
        ErrorCode::KeysUnavailable,
        ErrorCode::EncryptionFailed,
        ErrorCode::ProviderUnavailable,
        ErrorCode::ProviderError,
        ErrorCode::OwnKeyRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::MemberMismatch => "member_mismatch",
            ErrorCode::NotYourHold => "not_your_hold",
            ErrorCode::HoldTooLong => "hold_too_long",
            ErrorCode::NotFound => "not_found",
            ErrorCode::TokenNotFound => "token_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::ClockSkew => "clock_skew",
            ErrorCode::LedgerUnreadable => "ledger_unreadable",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::PaymentDeclined => "payment_declined",
            ErrorCode::PaymentUnavailable => "payment_unavailable",
            ErrorCode::UseKeysEndpoint => "use_keys_endpoint",
            ErrorCode::OwnKeysNotInPlan => "own_keys_not_in_plan",
            ErrorCode::KeysUnavailable => "keys_unavailable",
            ErrorCode::EncryptionFailed => "encryption_failed",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderError => "provider_error",
            ErrorCode::OwnKeyRefused => "own_key_refused",
            ErrorCode::Ledger(code) => code.as_str(),
        }
    }

    /// Every code: the server's and the ledger's.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        ErrorCode::SERVER
            .into_iter()
            .chain(RejectCode::ALL.into_iter().map(ErrorCode::Ledger))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to wait before retrying, sent as `Retry-After` (rate limits, overload).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// No bearer token, or one the server does not know.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "send `Authorization: Bearer TOKEN` with a token issued for this account",
        )
    }

    /// The token is valid but its role may not do this.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("this token's role may not {what}; use a token with a role that may"),
        )
    }

    /// The account does not exist, or the token belongs to another one (the two are not told
    /// apart, so a token cannot probe for other accounts).
    pub fn account_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "there is no such account for this token",
        )
    }

    /// Too many requests from one token or account (429, with `Retry-After`).
    pub fn rate_limited(message: String, retry_after_s: u64) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                message,
            )
        }
    }

    /// The request body is over `limit` bytes.
    pub fn body_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("the request body is over {limit} bytes"),
        )
    }

    /// The request body or query is not what the endpoint reads.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The database failed or is unreachable; nothing was acknowledged, a retry with the same
    /// idempotency id is safe. The cause goes to the log, not to the client.
    pub fn storage(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "storage error");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StorageUnavailable,
            "the ledger could not be stored; nothing was applied, retry with the same id",
        )
    }

    /// Stored data that the core refuses to replay: a bug or a tampered database.
    pub fn corrupt(account: &str, cause: &str) -> ApiError {
        tracing::error!(account, cause, "stored events do not replay");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::LedgerUnreadable,
            "this account's stored events could not be replayed; the operator has been told",
        )
    }
}

/// The HTTP status of a ledger rejection.
pub fn status_of(code: RejectCode) -> StatusCode {
    match code {
        RejectCode::IdempotencyConflict | RejectCode::HoldClosed => StatusCode::CONFLICT,
        RejectCode::CreditsExhausted | RejectCode::InsufficientCredits => {
            StatusCode::PAYMENT_REQUIRED
        }
        RejectCode::HoldNotFound => StatusCode::NOT_FOUND,
        RejectCode::ModelUnavailable
        | RejectCode::UnknownModel
        | RejectCode::UnknownProvider
        | RejectCode::UnknownPack
        | RejectCode::UnknownPlan
        | RejectCode::InvalidEvent => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> ApiError {
        ApiError::new(status_of(r.code), ErrorCode::Ledger(r.code), r.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"code": self.code.as_str(), "message": self.message}));
        let mut response = (self.status, body).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The string literals of a TypeScript union `export type NAME = "a" | "b" …;` in `text`.
    fn union<'a>(text: &'a str, name: &str) -> BTreeSet<&'a str> {
        let body = text
            .split(&format!("export type {name} ="))
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("no `export type {name}`"));
        body.split('"').skip(1).step_by(2).collect()
    }

    #[test]
    fn every_code_is_in_the_typescript_unions_and_openapi() {
        // Proves the server's codes are exactly the package's ServerErrorCode union, the ledger's are its RejectCode union, openapi.json's Error.code lists every one and the README names each server code.
        let server: BTreeSet<&str> = ErrorCode::SERVER.iter().map(|c| c.as_str()).collect();
        let ledger: BTreeSet<&str> = RejectCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(server.len(), ErrorCode::SERVER.len(), "a code twice");
        let client = include_str!("../../src/wasm/client.rs");
        let types = include_str!("../../src/wasm/types.rs");
        assert_eq!(union(client, "ServerErrorCode"), server);
        assert_eq!(union(types, "RejectCode"), ledger);
        let openapi: serde_json::Value =
            serde_json::from_str(crate::http::catalogue::OPENAPI_JSON).expect("openapi.json");
        let listed: BTreeSet<&str> =
            openapi["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
                .as_array()
                .expect("Error.code has an enum")
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
        let all: BTreeSet<&str> = ErrorCode::all().map(ErrorCode::as_str).collect();
        assert_eq!(listed, all);
        // The README lists the server's codes.
        let readme = include_str!("../../README.md");
        let missing: Vec<&str> = server
            .iter()
            .copied()
            .filter(|c| !readme.contains(&format!("`{c}`")))
            .collect();
        assert!(missing.is_empty(), "README.md lacks {missing:?}");
    }
}
