//! Typed JSON bodies: `Body<T>` reads the request into `T` (whose fields deny unknown ones),
//! and every failure becomes the API's `{code, message}`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};
use crate::http::BODY_BYTES_MAX;

/// A JSON body read into `T`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, ApiError> {
        let bytes = read_bytes(Bytes::from_request(request, state).await, BODY_BYTES_MAX)?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                    ErrorCode::InvalidJson,
                    format!("the body is not valid JSON: {e}"),
                ),
                Category::Data => ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("the body is not what this endpoint reads: {e}"),
                ),
            }
        })
    }
}

/// A body's bytes, or the coded refusal of why they could not be read (`limit`: the route's
/// `DefaultBodyLimit`, for the message).
pub fn read_bytes(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::body_too_large(limit)
        } else {
            ApiError::bad_request(
                ErrorCode::InvalidBody,
                "the request body could not be read in time or in full",
            )
        }
    })
}

/// A response body streamed from a channel: each item is turned into bytes by `frame` and sent
/// as it arrives; the body ends when every sender is dropped.
pub fn from_channel<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
    frame: fn(T) -> Bytes,
) -> axum::body::Body {
    axum::body::Body::from_stream(futures_util::stream::unfold(rx, move |mut rx| async move {
        let item = rx.recv().await?;
        Some((Ok::<Bytes, std::io::Error>(frame(item)), rx))
    }))
}
