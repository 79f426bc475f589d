//! HTTP errors: every refusal is `{"code", "message"}` with a stable snake_case code. The
//! ledger's rejections keep the core's codes (SPEC §3 rule 12); the server adds its own for
//! what only HTTP can get wrong (authentication, bodies, storage).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use ai_credits::{RejectCode, Rejection};

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds to wait before retrying, sent as `Retry-After` (rate limits, overload).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// No bearer token, or one the server does not know.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer TOKEN` with a token issued for this account",
        )
    }

    /// The token is valid but its role may not do this.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token's role may not {what}; use a token with a role that may"),
        )
    }

    /// The account does not exist, or the token belongs to another one (the two are not told
    /// apart, so a token cannot probe for other accounts).
    pub fn account_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such account for this token",
        )
    }

    /// Too many requests from one token or account (429, with `Retry-After`).
    pub fn rate_limited(message: String, retry_after_s: u64) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// The request body or query is not what the endpoint reads.
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The database failed or is unreachable; nothing was acknowledged, a retry with the same
    /// idempotency id is safe. The cause goes to the log, not to the client.
    pub fn storage(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "storage error");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the ledger could not be stored; nothing was applied, retry with the same id",
        )
    }

    /// Stored data that the core refuses to replay: a bug or a tampered database.
    pub fn corrupt(account: &str, cause: &str) -> ApiError {
        tracing::error!(account, cause, "stored events do not replay");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ledger_unreadable",
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
        ApiError::new(status_of(r.code), r.code.as_str(), r.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"code": self.code, "message": self.message}));
        let mut response = (self.status, body).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}
