//! `serve --cors-origin ORIGIN`: pages of other origins may call the API from the browser.
//!
//! tower-http's `CorsLayer` answers preflight requests (`OPTIONS` with
//! `Access-Control-Request-Method`) and marks every answer to an allowed origin, refusals
//! included, so a page can read our `{code, message}`. Only the origins named are allowed:
//! tokens travel as `Authorization: Bearer`, never as cookies, so no credentials mode is
//! needed.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE_S: u64 = 600;

/// The layer for `origins` (already checked by `--cors-origin`'s parser), or `None` for none.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let named = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers(
                [
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_NONE_MATCH,
                ]
                .into_iter()
                .chain(named(&[
                    "idempotency-key",
                    "ai-credits-feature",
                    "ai-credits-member",
                    "x-api-key",
                    "x-goog-api-key",
                    "anthropic-version",
                ]))
                .collect::<Vec<_>>(),
            )
            .expose_headers(
                [header::ETAG, header::RETRY_AFTER]
                    .into_iter()
                    .chain(named(&[crate::gateway::CALL_HEADER]))
                    .collect::<Vec<_>>(),
            )
            .max_age(std::time::Duration::from_secs(PREFLIGHT_MAX_AGE_S)),
    )
}
