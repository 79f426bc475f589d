//! Static files beside the API (`serve --www DIR`), for a web app on the API's origin.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

use crate::error::{ApiError, ErrorCode};

/// The files of `dir`, served at every path the API does not take: nothing outside the folder
/// (a link that leads out of it is not followed), no dotfiles (`.env`, `.git/`), and hashed
/// build assets (`/assets/…`) cached for a year.
pub fn static_files(dir: &std::path::Path) -> Router {
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
        return ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such file")
            .into_response();
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
