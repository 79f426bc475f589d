//! The catalogue the server decides with, and the API's own description.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::Shared;

/// The catalogue document, with its content hash as ETag (the hash checkpoints name).
pub async fn get_catalogue(State(app): Shared, headers: HeaderMap) -> Response {
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

pub async fn get_openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}
