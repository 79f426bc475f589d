//! Token estimates for a message being typed: `estimateTokens`, `estimateTokenRange` and the
//! `TokenCounter` class, which takes the edits of each keystroke instead of the whole text.

use std::cell::RefCell;

use js_sys::JsString;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::js;
use crate::tokens::{TokenEstimate, TokenizerFamily};

#[wasm_bindgen(typescript_custom_section)]
const TOKEN_TYPES: &str = r#"
/**
 * An estimated input-token count on a model's tokenizer: the point estimate and the range the
 * true count is likely in (`low` ≤ `tokens` ≤ `high`).
 */
export interface TokenEstimate { tokens: number; low: number; high: number; }
"#;

/// The tokenizer family of `model`: a model of the built-in catalogue, or a family's own name
/// (`o200k`, `anthropic`, `moonshot`, `xai`, `google`: what a model of a catalogue of your own
/// names as its `tokenizer`); else an `unknown_model` error.
fn family(model: &str) -> Result<TokenizerFamily, JsValue> {
    TokenizerFamily::for_builtin_model(model).ok_or_else(|| {
        let ids =
            crate::error::comma_list(crate::tokens::BUILTIN_TOKENIZERS.iter().map(|(id, _)| *id));
        js::error(
            "unknown_model",
            &[
                "no model `",
                model,
                "` in the built-in catalogue (",
                &ids,
                "); for a model of a catalogue of your own, pass its `tokenizer` (o200k, \
                 anthropic, moonshot, xai or google)",
            ]
            .concat(),
        )
    })
}

/// The decimal digits of `n`: made without `core::fmt` in the estimator's module, which
/// leaves it out; the whole module links it anyway, and `to_string` is the smaller code there.
fn decimal(n: u64) -> String {
    if cfg!(feature = "estimator") {
        crate::tokens::decimal(n)
    } else {
        n.to_string()
    }
}

/// A refused splice's message, likewise.
fn splice_message(e: &crate::tokens::SpliceError) -> String {
    if cfg!(feature = "estimator") {
        e.message()
    } else {
        e.to_string()
    }
}

/// A JS number used as a UTF-16 offset or count: a whole number from 0 to 2³² − 1. (wasm-bindgen's
/// own `u32` conversion would wrap −1 and truncate 1.5 silently.)
fn utf16_count(value: f64, name: &str) -> Result<usize, JsValue> {
    if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
        Ok(value as usize)
    } else {
        Err(js::error(
            "invalid_argument",
            // The value is not quoted: formatting an f64 links ~14 KB of float printing.
            &[
                name,
                " must be a whole number of UTF-16 units from 0 to 4294967295",
            ]
            .concat(),
        ))
    }
}

// The host's `TextEncoder` and the estimate's object, through helpers of one import each
// (src/wasm/js/text.js: fewer import shapes for V8 to compile wrappers for at start).
#[wasm_bindgen(module = "/src/wasm/js/text.js")]
extern "C" {
    /// `TextEncoder.encodeInto(source, destination).written`.
    #[wasm_bindgen(js_name = encodeInto)]
    fn encode_into(source: &JsString, destination: &js_sys::Uint8Array) -> u32;
    /// `new Uint8Array(memory.buffer, offset, length)`.
    #[wasm_bindgen(js_name = memoryView)]
    fn memory_view(memory: &JsValue, offset: u32, length: u32) -> js_sys::Uint8Array;
    /// `{ tokens, low, high }`.
    #[wasm_bindgen(js_name = tokenEstimate)]
    fn token_estimate(tokens: f64, low: f64, high: f64) -> JsValue;
}

thread_local! {
    /// The model of the last estimate and its family: a page estimates for one model again and
    /// again, and comparing JS strings is cheaper than copying one into this module.
    static LAST_MODEL: RefCell<Option<(JsValue, TokenizerFamily)>> = const { RefCell::new(None) };
    static UTF8: RefCell<Utf8Buffer> = const {
        RefCell::new(Utf8Buffer { bytes: Vec::new(), view: None })
    };
}

/// Where JS strings are encoded, and a JS view of it, kept between calls.
struct Utf8Buffer {
    /// Only grows, so it is never cleared or re-zeroed.
    bytes: Vec<u8>,
    /// A `Uint8Array` over `bytes` and the memory size (in pages) when it was made: it stays
    /// valid until `bytes` is reallocated or the memory grows (which detaches the old buffer).
    view: Option<(js_sys::Uint8Array, usize)>,
}

/// The buffer's first size: most messages fit without a second try.
const UTF8_BYTES_MIN: usize = 16 * 1024;
/// The most the buffer keeps between calls; a larger one (for a long document) is freed.
const UTF8_BYTES_KEPT: usize = 1024 * 1024;

impl Utf8Buffer {
    /// Grows the buffer to at least `len` bytes.
    fn reserve(&mut self, len: usize) {
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
            self.view = None;
        }
    }

    /// A view of the whole buffer in the current memory.
    fn view(&mut self) -> &js_sys::Uint8Array {
        let pages = core::arch::wasm32::memory_size::<0>();
        if self.view.as_ref().is_some_and(|(_, p)| *p != pages) {
            self.view = None;
        }
        let bytes = &self.bytes;
        let (view, _) = self.view.get_or_insert_with(|| {
            let view = memory_view(
                &wasm_bindgen::memory(),
                bytes.as_ptr() as u32,
                bytes.len() as u32,
            );
            (view, pages)
        });
        view
    }

    /// Encodes `text` at the start of the buffer and returns how many bytes it took.
    fn encode(&mut self, text: &JsString) -> usize {
        self.reserve(UTF8_BYTES_MIN);
        let view = self.view();
        let written = encode_into(text, view) as usize;
        // `encodeInto` stops where the next character (up to 4 bytes) would not fit.
        if written + 4 <= self.bytes.len() {
            return written;
        }
        // At most three bytes per UTF-16 unit.
        self.reserve(text.length() as usize * 3 + 4);
        let view = self.view();
        encode_into(text, view) as usize
    }
}

/// The tokenizer family of a model id given as a JS value (a string, or an `invalid_argument`
/// error), remembering the last one.
fn family_of(model: &JsValue) -> Result<TokenizerFamily, JsValue> {
    LAST_MODEL.with_borrow_mut(|last| {
        if let Some((id, family)) = last.as_ref()
            && id == model
        {
            return Ok(*family);
        }
        let id = model
            .as_string()
            .ok_or_else(|| js::error("invalid_argument", "model must be a string"))?;
        let family = family(&id)?;
        *last = Some((model.clone(), family));
        Ok(family)
    })
}

/// A JS value that must be a string (the TypeScript signature says so; plain JS may not).
fn js_string<'a>(value: &'a JsValue, name: &str) -> Result<&'a JsString, JsValue> {
    value
        .dyn_ref::<JsString>()
        .ok_or_else(|| js::error("invalid_argument", &[name, " must be a string"].concat()))
}

/// Calls `f` with a JS string as UTF-8 bytes. wasm-bindgen hands a `&str` parameter over one
/// UTF-16 unit at a time in JS (about 3 ns per character, more than the estimate itself), so
/// strings are encoded by the host's `TextEncoder.encodeInto` straight into this module's
/// memory instead, through a view kept between calls. Lone surrogates become U+FFFD either way,
/// and what `encodeInto` writes is always UTF-8.
fn with_utf8<R>(text: &JsString, f: impl FnOnce(&[u8]) -> R) -> R {
    UTF8.with_borrow_mut(|buffer| {
        let written = buffer.encode(text);
        let result = f(buffer.bytes.get(..written).unwrap_or_default());
        if buffer.bytes.len() > UTF8_BYTES_KEPT {
            *buffer = Utf8Buffer {
                bytes: Vec::new(),
                view: None,
            };
        }
        result
    })
}

/// Estimated input tokens of `text` on the tokenizer of `model` (a model of the built-in
/// catalogue such as `gpt-5` or `claude-sonnet-4-6`, or a tokenizer's name such as `o200k`);
/// throws `unknown_model` for anything else.
#[wasm_bindgen(js_name = estimateTokens)]
pub fn estimate_tokens(
    #[wasm_bindgen(unchecked_param_type = "string")] text: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] model: &JsValue,
) -> Result<f64, JsValue> {
    let text = js_string(text, "text")?;
    let family = family_of(model)?;
    Ok(with_utf8(text, |utf8| {
        crate::tokens::estimate_tokens_encoded(utf8, family)
    })
    .tokens as f64)
}

/// Like `estimateTokens`, with the range the true count is likely in.
#[wasm_bindgen(js_name = estimateTokenRange, unchecked_return_type = "TokenEstimate")]
pub fn estimate_token_range(
    #[wasm_bindgen(unchecked_param_type = "string")] text: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] model: &JsValue,
) -> Result<JsValue, JsValue> {
    let text = js_string(text, "text")?;
    let family = family_of(model)?;
    estimate_to_js(with_utf8(text, |utf8| {
        crate::tokens::estimate_tokens_encoded(utf8, family)
    }))
}

/// `{tokens, low, high}` as a plain JS object, what `js::to_js` makes of a `TokenEstimate`
/// (the same keys in the same order, the same error past 2⁵³ − 1), built without serde: its
/// serializer was about 5 KB of the estimator's module (issue 13).
fn estimate_to_js(estimate: TokenEstimate) -> Result<JsValue, JsValue> {
    const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
    for value in [estimate.tokens, estimate.low, estimate.high] {
        if value > MAX_SAFE_INTEGER {
            return Err(js::error(
                "value_not_representable",
                &[
                    "cannot hand this value to JS: ",
                    &decimal(value),
                    " can't be represented as a JavaScript number",
                ]
                .concat(),
            ));
        }
    }
    Ok(token_estimate(
        estimate.tokens as f64,
        estimate.low as f64,
        estimate.high as f64,
    ))
}

/// The token estimate of a message being typed, kept up to date edit by edit: hand it each
/// change (`splice`) instead of the whole text, and it recounts only the words around the
/// change. It always equals `estimateTokens` of the whole text.
#[wasm_bindgen]
pub struct TokenCounter(crate::tokens::TokenCounter);

#[wasm_bindgen]
impl TokenCounter {
    /// An empty text on the tokenizer of `model` (a model of the built-in catalogue, or a
    /// tokenizer's name: a model's `tokenizer` in a catalogue of your own); throws
    /// `unknown_model` for anything else.
    #[wasm_bindgen(constructor)]
    pub fn new(model: &str) -> Result<TokenCounter, JsValue> {
        Ok(TokenCounter(crate::tokens::TokenCounter::new(family(
            model,
        )?)))
    }

    /// Replaces the whole text.
    #[wasm_bindgen(js_name = setText)]
    pub fn set_text(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: &JsValue,
    ) -> Result<(), JsValue> {
        let text = js_string(text, "text")?;
        with_utf8(text, |utf8| match std::str::from_utf8(utf8) {
            Ok(utf8) => self.0.set_text(utf8),
            // Not reached: `encodeInto` writes UTF-8.
            Err(_) => self.0.set_text(&String::from(text)),
        });
        Ok(())
    }

    /// Deletes `deleteCount` UTF-16 units at `start` and inserts `inserted` there (offsets as
    /// JS strings count them), and returns the new point estimate. Throws `invalid_argument`,
    /// changing nothing, when the edit reaches past the end or an offset splits a surrogate
    /// pair.
    pub fn splice(
        &mut self,
        start: f64,
        #[wasm_bindgen(js_name = deleteCount)] delete_count: f64,
        inserted: &str,
    ) -> Result<f64, JsValue> {
        let start = utf16_count(start, "start")?;
        let delete_count = utf16_count(delete_count, "deleteCount")?;
        self.0
            .splice(start, delete_count, inserted)
            .map_err(|e| js::error(e.code(), &splice_message(&e)))?;
        Ok(self.tokens())
    }

    /// The point estimate.
    #[wasm_bindgen(getter)]
    pub fn tokens(&self) -> f64 {
        self.0.estimate().tokens as f64
    }

    /// The lower end of the likely range.
    #[wasm_bindgen(getter)]
    pub fn low(&self) -> f64 {
        self.0.estimate().low as f64
    }

    /// The upper end of the likely range.
    #[wasm_bindgen(getter)]
    pub fn high(&self) -> f64 {
        self.0.estimate().high as f64
    }

    /// The length of the text in UTF-16 units (JS `string.length`).
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.0.len_utf16() as f64
    }

    /// `{tokens, low, high}`: what `JSON.stringify` writes, so a counter can be passed as a
    /// message request's `text_tokens` as it is.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "TokenEstimate")]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        estimate_to_js(self.0.estimate())
    }
}
