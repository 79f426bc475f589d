//! Every conversion between JS values and core values, and every error object, in one place.
// The estimator-only module (feature `estimator`) uses the error objects alone.
#![cfg_attr(feature = "estimator", allow(dead_code))]

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::time::{Instant, parse_instant};

#[wasm_bindgen(module = "/src/wasm/js/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(code: &str, message: &str) -> JsValue;
}

/// An `AiCreditsError` (the package's `Error` subclass) whose `code` property is the stable
/// snake_case code.
pub fn error(code: &str, message: &str) -> JsValue {
    make_error(code, message)
}

impl From<crate::Rejection> for JsValue {
    fn from(r: crate::Rejection) -> JsValue {
        error(r.code.as_str(), &r.message)
    }
}

impl From<crate::CheckpointError> for JsValue {
    fn from(e: crate::CheckpointError) -> JsValue {
        error(e.code(), &e.to_string())
    }
}

/// Core value → plain JS object (maps as objects, integers as numbers): its JSON text, parsed
/// by `JSON.parse` (one serializer for every type; see `crate::json`). An integer a JS number
/// cannot hold exactly is refused.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let not_representable = |why: &str| {
        error(
            "value_not_representable",
            &format!("cannot hand this value to JS: Error: {why}"),
        )
    };
    let text = crate::json::to_js_text(value).map_err(|e| not_representable(&e))?;
    js_sys::JSON::parse(&text).map_err(|_| not_representable("not JSON"))
}

/// JS value → JSON value, for the core's own strict readers. A string is read as JSON text, so
/// `1e3` or `1.0` in a document are seen exactly as the native build sees them; anything else
/// goes through `JSON.stringify`, which refuses cycles and BigInts with a catchable error (a
/// direct walk of the object could recurse without bound), and serde_json's depth limit.
pub fn json_from_js(value: JsValue) -> Result<serde_json::Value, JsValue> {
    let text = json_text_from_js(value)?;
    crate::json::parse(&text).map_err(|e| error("invalid_json", &format!("not valid JSON: {e}")))
}

/// JS value → JSON text: a string as it is, anything else through `JSON.stringify`.
pub fn json_text_from_js(value: JsValue) -> Result<String, JsValue> {
    match value.as_string() {
        Some(text) => Ok(text),
        None => js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                error(
                    "invalid_argument",
                    "expected a JSON value (an object, a list or JSON text)",
                )
            }),
    }
}

/// An optional RFC 3339 time from JS; absent means "now" on this machine's clock.
pub fn instant_or_now(value: Option<String>) -> Result<Instant, JsValue> {
    match value {
        Some(text) => parse_instant(&text).ok_or_else(|| {
            error(
                "invalid_event",
                &format!("{text:?} is not an RFC 3339 time"),
            )
        }),
        None => Ok(clock_now()),
    }
}

/// This machine's clock (`Date.now()`), to the millisecond.
pub fn clock_now() -> Instant {
    let millis = js_sys::Date::now() as i64;
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}
