//! The `Client` class: the browser's synced copy of one account. The backend decides every
//! event; the client starts from the account's checkpoint (`/checkpoint`, with the catalogue
//! it names), applies the events the server accepted after it (`/entries?after=`), keeps that
//! copy (a checkpoint: small, whatever the account's age) in `localStorage` for offline
//! previews, and shows holds it sent but the server has not confirmed yet as held at once.
//!
//! The replica logic is the core's (`crate::replica`, tested natively); this file only
//! fetches, stores and converts. Previews go through the `Ledger` class itself, so the client
//! and `Ledger` cannot disagree about a number. The bearer token lives in memory only: it is
//! never stored and never logged.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use gloo_net::http::{Request, RequestBuilder};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use wasm_bindgen_futures::{JsFuture, future_to_promise};

use super::js;
use super::ledger::Ledger;
use crate::replica::Replica;
use crate::time::{Instant, format_instant, parse_instant};

#[wasm_bindgen(typescript_custom_section)]
const CLIENT_TYPES: &str = r#"
/** How `Client.connect` reaches an account. */
export interface ClientOptions {
  /** The API's origin, e.g. "https://credits.example.com"; "" for the page's own origin. */
  base_url: string;
  account_id: string;
  /** A bearer token of the account; kept in memory only, never stored. */
  token: string;
  /** The localStorage key of the offline copy (default `ai-credits:<account_id>`). */
  storage_key?: string;
}
export interface ClientStatus {
  /** Whether the last request reached the server. */
  online: boolean;
  /** When the local copy was last synced (also for a copy loaded from localStorage). */
  fetched_at: Instant;
  /** Milliseconds since then, by `Date.now()`. */
  stale_ms: number;
  /** The sequence number of the last event synced. */
  cursor: number;
  /** Holds sent but not confirmed yet; they already count as held in previews. */
  pending_holds: number;
  /** Why the last save of the offline copy failed (e.g. a full `localStorage`), or null. */
  storage_error: string | null;
}
/** `client.entriesPage`'s argument: a cursor (default: older than what the client knows). */
export interface EntriesPageRequest { before?: number; limit?: number; }
/** A page of older entries, oldest first, and the cursor of the page before it (null: none). */
export interface EntriesPage { entries: Entry[]; before: number | null; }
export interface SyncStatus extends ClientStatus {
  /** Events this sync brought (0 when offline). */
  new_events: number;
}
/** `client.hold`'s argument: the hold's `expires_at` is now + `expires_in_ms`. */
export interface HoldRequest {
  credits: number; expires_in_ms: number; feature?: string; member?: string;
  /** An idempotency id to retry a hold with (default: a new one). */
  id?: string;
}
/** An event as `client.send` takes it: `at` defaults to now, `id` to a new one. */
export type Unsent<E> = E extends unknown ? Omit<E, "at" | "id"> & { at?: Instant; id?: string } : never;
export type ClientEvent = Unsent<LedgerEvent>;
/** The server's own codes (the ledger's are `RejectCode`); `ai-credits-server`'s tests keep this
 * union and the server's `ErrorCode` enum the same. */
export type ServerErrorCode =
  | "unauthorized" | "token_expired" | "forbidden" | "member_mismatch" | "not_your_hold"
  | "hold_too_long" | "not_found" | "token_not_found" | "method_not_allowed" | "invalid_json"
  | "invalid_request" | "invalid_body" | "body_too_large" | "uri_too_long" | "request_timeout"
  | "rate_limited" | "overloaded" | "shutting_down" | "storage_unavailable" | "clock_skew"
  | "ledger_unreadable" | "internal_error" | "payment_declined" | "payment_unavailable"
  | "use_keys_endpoint" | "own_keys_not_in_plan" | "keys_unavailable" | "encryption_failed"
  | "provider_unavailable" | "provider_error" | "own_key_refused";
/** Codes of the client's errors: the package's, the server's, and the client's own (`offline`,
 * `sync_diverged`, and `server_error` for an answer that carries no code). */
export type ClientErrorCode = ErrorCode | ServerErrorCode | "offline" | "sync_diverged" | "server_error";
export interface ClientError extends Error { name: "AiCreditsError"; code: ClientErrorCode; }
"#;

/// Tries of one POST: the first and its retries, each with the same idempotency id.
const POST_TRIES_MAX: u32 = 5;
/// The wait before the first retry; every next retry waits twice as long.
const BACKOFF_BASE_MS: u32 = 100;
/// A request without an answer after this long counts as a network failure.
const REQUEST_TIMEOUT_MS: u32 = 10_000;
/// Most pages one sync reads (1000 events each): a bound on following a server.
const SYNC_PAGES_MAX: u32 = 100_000;
/// Syncs that found the cursor moved by another sync meanwhile, before giving up.
const SYNC_RACES_MAX: u32 = 8;

/// The wait before retry `retry` (0 for the first retry): 100 ms × 2^retry, saturating.
fn backoff_ms(retry: u32) -> u32 {
    BACKOFF_BASE_MS.saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
}

/// Whether a failed POST is tried again: no answer at all (`None`), or a server error (5xx).
/// A 4xx is the server's decision, final for that event.
fn is_retryable(status: Option<u16>) -> bool {
    status.is_none_or(|s| s >= 500)
}

/// Events whose `id` is an idempotency key (SPEC §4): the client makes one when it is missing.
fn is_idempotent_kind(kind: &str) -> bool {
    matches!(
        kind,
        "usage" | "debit" | "hold" | "commit" | "release" | "purchase_pack"
    )
}

/// Why a request did not succeed.
enum Failure {
    /// No answer: the server is down, the network is, or the request timed out.
    Network,
    /// An answer other than 2xx, with the server's code and message.
    Server {
        status: u16,
        code: String,
        message: String,
    },
}

impl Failure {
    fn status(&self) -> Option<u16> {
        match self {
            Failure::Network => None,
            Failure::Server { status, .. } => Some(*status),
        }
    }

    /// The error for JS; `url` is where the request went (for what a page cannot see).
    fn into_js(self, url: &str) -> JsValue {
        match self {
            Failure::Network => js::error(
                "offline",
                &format!("{}; the local copy is unchanged", unreachable(url)),
            ),
            Failure::Server { code, message, .. } => js::error(&code, &message),
        }
    }
}

/// `scheme://host[:port]` of an absolute URL; `None` for a path (this page's origin).
fn origin_of(url: &str) -> Option<&str> {
    // Bytes, not `str::find("://")`: substring search is 0.5 KB gzipped of the module.
    let rest = url.as_bytes().windows(3).position(|w| w == b"://")? + 3;
    let end = url[rest..].find('/').map_or(url.len(), |i| rest + i);
    Some(&url[..end])
}

/// The origin of the page (or worker) running this code, when there is one.
fn page_origin() -> Option<String> {
    let location = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("location")).ok()?;
    if !location.is_object() {
        return None;
    }
    js_sys::Reflect::get(&location, &JsValue::from_str("origin"))
        .ok()?
        .as_string()
}

/// Why a request to `url` may have failed, as far as this code can tell: a browser reports a
/// refused origin (CORS) only in its console, so a page on another origin than the server's
/// is told it is a possible cause, and what to do.
fn unreachable(url: &str) -> String {
    match (page_origin(), origin_of(url)) {
        (Some(page), Some(server)) if !page.eq_ignore_ascii_case(server) => format!(
            "the server at {server} could not be reached, or it refused this page's origin {page} \
             (CORS: start it with `--cors-origin {page}`, or serve this page from {server})"
        ),
        _ => "the server could not be reached".to_owned(),
    }
}

/// One HTTP exchange: status and body text, or `Failure::Network`.
async fn exchange(
    request: RequestBuilder,
    token: &str,
    body: Option<&str>,
) -> Result<(u16, String), Failure> {
    let signal = web_sys::AbortSignal::timeout_with_u32(REQUEST_TIMEOUT_MS);
    let request = request
        .header("authorization", &format!("Bearer {token}"))
        .abort_signal(Some(&signal));
    let request = match body {
        Some(text) => request
            .header("content-type", "application/json")
            .body(text),
        None => request.build(),
    }
    .map_err(|_| Failure::Network)?;
    let response = request.send().await.map_err(|_| Failure::Network)?;
    let text = response.text().await.map_err(|_| Failure::Network)?;
    Ok((response.status(), text))
}

/// A 2xx body as JSON, or the failure a non-2xx answer names.
fn read_answer(status: u16, text: &str) -> Result<Value, Failure> {
    let body = crate::json::parse(text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    Err(Failure::Server {
        status,
        code: field("code").unwrap_or_else(|| "server_error".to_owned()),
        message: field("message").unwrap_or_else(|| format!("the server answered HTTP {status}")),
    })
}

/// A promise of `future`, through one `future_to_promise` for every call: the future is
/// boxed, so the glue that drives it and settles the promise is compiled once, not once per
/// method (issue 13).
fn promise_of(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> js_sys::Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    future_to_promise(future)
}

/// Waits `ms` milliseconds (a `setTimeout` promise).
async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let timeout = i32::try_from(ms).unwrap_or(i32::MAX);
        let scheduled = web_sys::window().map(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, timeout)
                .is_ok()
        });
        if scheduled != Some(true) {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// A new id no other client makes: the clock and 64 random bits, in hex.
fn new_id(prefix: &str) -> String {
    let random = || (js_sys::Math::random() * 4_294_967_296.0) as u32;
    format!(
        "{prefix}_{:x}{:08x}{:08x}",
        js_sys::Date::now() as u64,
        random(),
        random()
    )
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Events after a cursor, read page by page until the server has no more.
struct Delta {
    /// The cursor it was read from.
    from: i64,
    account: Value,
    events: Vec<Value>,
    cursor: i64,
    now: Option<String>,
}

async fn fetch_delta(
    base_url: &str,
    account_id: &str,
    token: &str,
    from: i64,
) -> Result<Delta, Failure> {
    let mut delta = Delta {
        from,
        account: Value::Null,
        events: Vec::new(),
        cursor: from,
        now: None,
    };
    for _ in 0..SYNC_PAGES_MAX {
        let url = format!(
            "{base_url}/v1/accounts/{account_id}/entries?after={}",
            delta.cursor
        );
        let (status, text) = exchange(Request::get(&url), token, None).await?;
        let mut page = read_answer(status, &text)?;
        let malformed = || Failure::Server {
            status,
            code: "server_error".to_owned(),
            message: "the server's /entries page lacks `events`, `account` or `next_cursor`"
                .to_owned(),
        };
        let Some(Value::Array(events)) = page.get_mut("events").map(Value::take) else {
            return Err(malformed());
        };
        delta.cursor = page
            .get("next_cursor")
            .and_then(Value::as_i64)
            .ok_or_else(malformed)?;
        delta.account = page
            .get_mut("account")
            .map(Value::take)
            .filter(Value::is_object)
            .ok_or_else(malformed)?;
        delta.now = page.get("now").and_then(Value::as_str).map(str::to_owned);
        delta.events.extend(events);
        if page.get("has_more") != Some(&Value::Bool(true)) {
            return Ok(delta);
        }
    }
    Ok(delta)
}

/// Everything the client knows; shared by the class and its promises.
struct State {
    base_url: String,
    account_id: String,
    /// Memory only.
    token: String,
    storage_key: String,
    /// The account as the server decided it, plus the pending holds.
    replica: Replica,
    /// `replica.view()` as the `Ledger` class, which the previews go through.
    view: Ledger,
    /// `Date.now()` of the last successful sync.
    fetched_at_ms: f64,
    online: bool,
    /// Why the last save of the offline copy failed.
    storage_error: Option<String>,
}

impl State {
    fn new(
        (base_url, account_id, token, storage_key): (String, String, String, String),
        replica: Replica,
        fetched_at_ms: f64,
        online: bool,
    ) -> State {
        State {
            base_url,
            account_id,
            token,
            storage_key,
            view: Ledger::from_core(replica.view().clone()),
            replica,
            fetched_at_ms,
            online,
            storage_error: None,
        }
    }

    /// The `Ledger` previews read, after the replica changed.
    fn refresh_view(&mut self) {
        self.view = Ledger::from_core(self.replica.view().clone());
    }

    /// Applies a delta; returns the number of new events.
    fn merge(&mut self, delta: Delta) -> Result<usize, JsValue> {
        let changed = !delta.events.is_empty()
            || delta.now.as_deref().and_then(parse_instant) != self.replica.view().now();
        let new_events = self
            .replica
            .merge(&delta.events, delta.now.as_deref(), delta.cursor)
            .map_err(|r| {
                js::error(
                    "sync_diverged",
                    &format!(
                        "the server's events do not replay on this copy of the rules: {}",
                        r.message
                    ),
                )
            })?;
        if changed {
            self.refresh_view();
        }
        self.fetched_at_ms = js_sys::Date::now();
        self.online = true;
        if changed {
            self.store();
        }
        Ok(new_events)
    }

    /// Keeps the synced copy (a checkpoint; never the token, never pending holds) in
    /// localStorage. A failure (a full storage, storage switched off) is kept for `status`.
    fn store(&mut self) {
        let copy = self
            .replica
            .offline_copy(&self.account_id, self.fetched_at_ms as u64);
        let copy = crate::json::to_text(&copy);
        self.storage_error = match local_storage() {
            None => Some("localStorage is not available".to_owned()),
            Some(storage) => storage.set_item(&self.storage_key, &copy).err().map(|e| {
                js_sys::Reflect::get(&e, &JsValue::from_str("name"))
                    .ok()
                    .and_then(|n| n.as_string())
                    .unwrap_or_else(|| "the offline copy could not be saved".to_owned())
            }),
        };
    }

    /// The copy kept by `store`, if there is one for this account.
    fn load_stored(storage_key: &str, account_id: &str) -> Option<(Replica, f64)> {
        let text = local_storage()?.get_item(storage_key).ok()??;
        let doc = crate::json::parse(&text).ok()?;
        let (replica, fetched_at) = Replica::from_offline_copy(&doc, account_id)?;
        Some((replica, fetched_at as f64))
    }

    /// The time a new event is sent at: this machine's clock, never before the account's
    /// latest time (a clock behind the server's would be refused).
    fn send_time(&self) -> Instant {
        let clock = js::clock_now();
        match self.replica.view().now() {
            Some(now) if now > clock => now,
            _ => clock,
        }
    }

    fn status(&self, new_events: Option<usize>) -> JsValue {
        let fetched_at =
            chrono::DateTime::from_timestamp_millis(self.fetched_at_ms as i64).unwrap_or_default();
        let stale_ms = (js_sys::Date::now() - self.fetched_at_ms).max(0.0);
        let status = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&status, &JsValue::from_str(k), &v);
        };
        set("online", self.online.into());
        set("fetched_at", format_instant(&fetched_at).into());
        set("stale_ms", stale_ms.into());
        set("cursor", (self.replica.cursor() as f64).into());
        set(
            "pending_holds",
            (self.replica.pending_holds() as f64).into(),
        );
        set(
            "storage_error",
            self.storage_error
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
        );
        if let Some(n) = new_events {
            set("new_events", (n as f64).into());
        }
        status.into()
    }
}

/// Reads the account's checkpoint, the catalogue it names (the built-in one when the hashes
/// match, else the server's `/v1/catalogue`, checked against the hash) and the events after
/// it: a replica as of now.
async fn fetch_replica(base_url: &str, account_id: &str, token: &str) -> Result<Replica, Failure> {
    let url = format!("{base_url}/v1/accounts/{account_id}/checkpoint");
    let (status, text) = exchange(Request::get(&url), token, None).await?;
    let doc = read_answer(status, &text)?;
    let diverged = |message: String| Failure::Server {
        status,
        code: "sync_diverged".to_owned(),
        message,
    };
    let checkpoint =
        crate::Checkpoint::from_value(doc.get("checkpoint").unwrap_or(&Value::Null))
            .map_err(|e| diverged(format!("the server's checkpoint does not read: {e}")))?;
    let cursor = doc
        .get("cursor")
        .and_then(Value::as_i64)
        .ok_or_else(|| diverged("the server's checkpoint has no cursor".to_owned()))?;
    let builtin = crate::Catalogue::builtin();
    let catalogue = if builtin.content_hash() == checkpoint.catalogue {
        builtin
    } else {
        let (status, text) = exchange(
            Request::get(&format!("{base_url}/v1/catalogue")),
            token,
            None,
        )
        .await?;
        if !(200..300).contains(&status) {
            return Err(read_answer(status, &text).err().unwrap_or(Failure::Network));
        }
        let served = crate::Catalogue::from_json(&text)
            .map_err(|e| diverged(format!("the server's catalogue does not read: {e}")))?;
        if served.content_hash() != checkpoint.catalogue {
            return Err(diverged(
                "the server's catalogue is not the one its checkpoint names; reload".to_owned(),
            ));
        }
        std::sync::Arc::new(served)
    };
    let mut replica =
        Replica::new(catalogue, &checkpoint, cursor).map_err(|e| diverged(e.to_string()))?;
    let delta = fetch_delta(base_url, account_id, token, cursor).await?;
    replica
        .merge(&delta.events, delta.now.as_deref(), delta.cursor)
        .map_err(|r| diverged(r.message))?;
    Ok(replica)
}

/// A synced copy of one account's ledger.
#[wasm_bindgen]
pub struct Client {
    state: Rc<RefCell<State>>,
}

/// Reads `ClientOptions`.
fn read_options(options: JsValue) -> Result<(String, String, String, String), JsValue> {
    let doc = js::json_from_js(options)?;
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
    let bad = |what: &str| js::error("invalid_argument", &format!("Client.connect: {what}"));
    let base_url = text("base_url")
        .ok_or_else(|| bad("`base_url` must be a string (\"\" for this origin)"))?;
    let account_id = text("account_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("`account_id` must be a non-empty string"))?;
    let token = text("token")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("`token` must be a non-empty string"))?;
    let storage_key = text("storage_key").unwrap_or_else(|| format!("ai-credits:{account_id}"));
    Ok((
        base_url.trim_end_matches('/').to_owned(),
        account_id,
        token,
        storage_key,
    ))
}

/// Syncs from the cursor; on a network failure (or a 5xx) marks the client offline and keeps
/// the old state. Another sync that moved the cursor meanwhile makes this one read again.
async fn sync_state(state: &Rc<RefCell<State>>) -> Result<usize, Failure> {
    let mut total = 0;
    for _ in 0..SYNC_RACES_MAX {
        let (base_url, account_id, token, from) = {
            let s = state.borrow();
            (
                s.base_url.clone(),
                s.account_id.clone(),
                s.token.clone(),
                s.replica.cursor(),
            )
        };
        let delta = match fetch_delta(&base_url, &account_id, &token, from).await {
            Ok(delta) => delta,
            Err(failure) => {
                if is_retryable(failure.status()) {
                    state.borrow_mut().online = false;
                }
                return Err(failure);
            }
        };
        let mut s = state.borrow_mut();
        if s.replica.cursor() != delta.from {
            continue;
        }
        total += s.merge(delta).map_err(|e| Failure::Server {
            status: 200,
            code: "sync_diverged".to_owned(),
            message: js_sys::Reflect::get(&e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_default(),
        })?;
        return Ok(total);
    }
    Ok(total)
}

/// POSTs one event, retrying a network failure or a 5xx with backoff (the same body, so the
/// same idempotency id); then syncs, so the local copy shows what the server decided.
async fn post_and_sync(state: Rc<RefCell<State>>, event: Value) -> Result<JsValue, JsValue> {
    let (url, token) = {
        let s = state.borrow();
        (
            format!("{}/v1/accounts/{}/events", s.base_url, s.account_id),
            s.token.clone(),
        )
    };
    let body = crate::json::to_text(&event);
    let mut outcome = Err(Failure::Network);
    for attempt in 0..POST_TRIES_MAX {
        if attempt > 0 {
            sleep_ms(backoff_ms(attempt - 1)).await;
        }
        outcome = match exchange(Request::post(&url), &token, Some(&body)).await {
            Ok((status, text)) => read_answer(status, &text).map(|_| text),
            Err(failure) => Err(failure),
        };
        let answered = !matches!(outcome, Err(Failure::Network));
        state.borrow_mut().online = answered;
        match &outcome {
            Err(failure) if is_retryable(failure.status()) => continue,
            _ => break,
        }
    }
    let id = event.get("id").cloned();
    match outcome {
        Ok(text) => {
            // Accepted: the next sync replaces the pending hold by the confirmed one. If that
            // sync fails, the hold stays pending (it is held on the server) until one succeeds.
            let _ = sync_state(&state).await;
            js_sys::JSON::parse(&text)
                .map_err(|_| js::error("server_error", "the server's answer is not JSON"))
        }
        Err(failure) => {
            let mut s = state.borrow_mut();
            if let Some(id) = id.as_ref().and_then(Value::as_str)
                && s.replica.drop_pending(id)
            {
                s.refresh_view();
            }
            Err(failure.into_js(&url))
        }
    }
}

impl Client {
    /// Completes an event for sending: `at` (now) and an id when its kind needs one; a hold is
    /// shown as pending at once.
    fn prepare(&self, mut event: Value) -> Result<Value, JsValue> {
        let mut s = self.state.borrow_mut();
        let o = event
            .as_object_mut()
            .ok_or_else(|| js::error("invalid_argument", "an event must be an object"))?;
        if o.get("at").is_none_or(Value::is_null) {
            o.insert("at".into(), format_instant(&s.send_time()).into());
        }
        let kind = o
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if is_idempotent_kind(&kind) && o.get("id").is_none_or(Value::is_null) {
            o.insert("id".into(), new_id(&kind).into());
        }
        if kind == "hold" {
            s.replica.add_pending(event.clone());
            s.refresh_view();
        }
        Ok(event)
    }

    fn promise(&self, event: Value) -> js_sys::Promise {
        let state = Rc::clone(&self.state);
        promise_of(post_and_sync(state, event))
    }
}

#[wasm_bindgen]
impl Client {
    /// Loads the account's checkpoint (and the catalogue it names) and the events after it;
    /// when the server cannot be reached, loads the copy kept in localStorage (offline,
    /// stale) instead, and rejects with `offline` when there is none.
    #[wasm_bindgen(unchecked_return_type = "Promise<Client>")]
    pub fn connect(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> js_sys::Promise {
        promise_of(async move {
            let options = read_options(options)?;
            let (base_url, account_id, token, storage_key) = &options;
            let state = match fetch_replica(base_url, account_id, token).await {
                Ok(replica) => {
                    let mut state = State::new(options, replica, js_sys::Date::now(), true);
                    state.store();
                    state
                }
                Err(failure) if is_retryable(failure.status()) => {
                    let (replica, fetched_at) = State::load_stored(storage_key, account_id)
                        .ok_or_else(|| {
                            js::error(
                                "offline",
                                &format!(
                                    "{} and there is no stored copy of this account",
                                    unreachable(base_url)
                                ),
                            )
                        })?;
                    State::new(options, replica, fetched_at, false)
                }
                Err(failure) => return Err(failure.into_js(base_url)),
            };
            Ok(Client {
                state: Rc::new(RefCell::new(state)),
            }
            .into())
        })
    }

    /// Reads the events after the cursor and applies them. Never rejects for the network:
    /// offline, it resolves with `online: false` and keeps the old state.
    #[wasm_bindgen(unchecked_return_type = "Promise<SyncStatus>")]
    pub fn sync(&self) -> js_sys::Promise {
        let state = Rc::clone(&self.state);
        promise_of(async move {
            match sync_state(&state).await {
                Ok(n) => Ok(state.borrow().status(Some(n))),
                Err(failure) if is_retryable(failure.status()) => {
                    Ok(state.borrow().status(Some(0)))
                }
                Err(failure) => {
                    let base_url = state.borrow().base_url.clone();
                    Err(failure.into_js(&base_url))
                }
            }
        })
    }

    /// Online or not, how stale, the cursor and the holds not confirmed yet.
    #[wasm_bindgen(getter, unchecked_return_type = "ClientStatus")]
    pub fn status(&self) -> JsValue {
        self.state.borrow().status(None)
    }

    /// Places a hold (`expires_at` = now + `expires_in_ms`), shown as held at once; resolves
    /// once the server accepted it and the copy is synced.
    #[wasm_bindgen(unchecked_return_type = "Promise<ApplyOutcome>")]
    pub fn hold(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HoldRequest")] request: JsValue,
    ) -> js_sys::Promise {
        match self.hold_event(request).and_then(|e| self.prepare(e)) {
            Ok(event) => self.promise(event),
            Err(e) => js_sys::Promise::reject(&e),
        }
    }

    /// Releases a hold.
    #[wasm_bindgen(unchecked_return_type = "Promise<ApplyOutcome>")]
    pub fn release(&self, #[wasm_bindgen(js_name = holdId)] hold_id: String) -> js_sys::Promise {
        let event = crate::json::object! {"kind" => "release", "hold" => hold_id};
        match self.prepare(event) {
            Ok(event) => self.promise(event),
            Err(e) => js_sys::Promise::reject(&e),
        }
    }

    /// Sends any event the token's role may post (`at` defaults to now, a missing idempotency
    /// id is made); a 4xx rejects with the server's `code`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ApplyOutcome>")]
    pub fn send(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ClientEvent")] event: JsValue,
    ) -> js_sys::Promise {
        match js::json_from_js(event).and_then(|e| self.prepare(e)) {
            Ok(event) => self.promise(event),
            Err(e) => js_sys::Promise::reject(&e),
        }
    }

    /// The balance (default: now), pending holds counted as held.
    #[wasm_bindgen(unchecked_return_type = "Balance")]
    pub fn balance(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        self.state.borrow().view.balance(at)
    }

    /// What a usage or debit would do now, after the pending holds.
    #[wasm_bindgen(unchecked_return_type = "Preview")]
    pub fn preview(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChargeRequest")] charge: JsValue,
        at: Option<String>,
    ) -> Result<JsValue, JsValue> {
        self.state.borrow().view.preview(charge, at)
    }

    /// What a message will cost and leave, as `Ledger.estimateMessage`.
    #[wasm_bindgen(js_name = estimateMessage, unchecked_return_type = "MessageEstimate")]
    pub fn estimate_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageRequest")] request: JsValue,
        at: Option<String>,
    ) -> Result<JsValue, JsValue> {
        self.state.borrow().view.estimate_message(request, at)
    }

    /// What a quick action will cost, as `Ledger.estimateQuickAction`.
    #[wasm_bindgen(js_name = estimateQuickAction, unchecked_return_type = "MessageEstimate")]
    pub fn estimate_quick_action(
        &self,
        id: &str,
        model: Option<String>,
        at: Option<String>,
    ) -> Result<JsValue, JsValue> {
        self.state
            .borrow()
            .view
            .estimate_quick_action(id, model, at)
    }

    /// The catalogue the account's checkpoint names (the server's, when it runs on its own).
    pub fn catalogue(&self) -> super::catalogue::Catalogue {
        super::catalogue::Catalogue(std::sync::Arc::clone(
            self.state.borrow().replica.view().catalogue(),
        ))
    }

    /// The models that can be picked now.
    #[wasm_bindgen(js_name = availableModels, unchecked_return_type = "Model[]")]
    pub fn available_models(&self) -> Result<JsValue, JsValue> {
        self.state.borrow().view.available_models()
    }

    /// The alerts that hold, as `Ledger.alerts` (default: now).
    #[wasm_bindgen(unchecked_return_type = "Alert[]")]
    pub fn alerts(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        self.state.borrow().view.alerts(at)
    }

    /// Burn rate, runway and what each pack would change, as `Ledger.forecast`.
    #[wasm_bindgen(unchecked_return_type = "Forecast")]
    pub fn forecast(
        &self,
        at: Option<String>,
        #[wasm_bindgen(js_name = windowDays)] window_days: Option<u32>,
    ) -> Result<JsValue, JsValue> {
        self.state.borrow().view.forecast(at, window_days)
    }

    /// SPEC §4's result document of the local copy; `entries` are those the client knows
    /// (synced since it connected, and older pages read with `entriesPage`).
    #[wasm_bindgen(unchecked_return_type = "ScenarioResult")]
    pub fn report(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        let s = self.state.borrow();
        let report = s.view.report(at)?;
        let entries = js::to_js(&s.replica.entries().collect::<Vec<_>>())?;
        js_sys::Reflect::set(&report, &JsValue::from_str("entries"), &entries)?;
        Ok(report)
    }

    /// Key states of providers that have a key.
    #[wasm_bindgen(unchecked_return_type = "KeyStates")]
    pub fn keys(&self) -> Result<JsValue, JsValue> {
        self.state.borrow().view.keys()
    }

    /// The confirmed entries the client knows, in time order: those synced since it
    /// connected, and the older pages read with `entriesPage`.
    #[wasm_bindgen(unchecked_return_type = "Entry[]")]
    pub fn entries(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.state.borrow().replica.entries().collect::<Vec<_>>())
    }

    /// Reads a page of older entries from the server (default: the page before the oldest
    /// the client knows, 100 entries), adds it to `entries()` and resolves with it. Offline it
    /// rejects with `offline`; what was read before stays.
    #[wasm_bindgen(js_name = entriesPage, unchecked_return_type = "Promise<EntriesPage>")]
    pub fn entries_page(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EntriesPageRequest | undefined")] request: JsValue,
    ) -> js_sys::Promise {
        let state = Rc::clone(&self.state);
        promise_of(async move {
            let doc = if request.is_undefined() || request.is_null() {
                Value::Null
            } else {
                js::json_from_js(request)?
            };
            let (url, token, default_before) = {
                let s = state.borrow();
                (
                    format!("{}/v1/accounts/{}/entries", s.base_url, s.account_id),
                    s.token.clone(),
                    s.replica.older_entries(),
                )
            };
            let before = doc.get("before").and_then(Value::as_i64).or(default_before);
            let limit = doc
                .get("limit")
                .and_then(Value::as_u64)
                .unwrap_or(100)
                .clamp(1, 1000);
            let Some(before) = before else {
                return js::to_js(&crate::json::object! {
                    "entries" => Vec::<Value>::new(),
                    "before" => Value::Null,
                });
            };
            let url = format!("{url}?before={before}&limit={limit}");
            let (status, text) = exchange(Request::get(&url), &token, None)
                .await
                .map_err(|f| f.into_js(&url))?;
            let page = read_answer(status, &text).map_err(|f| f.into_js(&url))?;
            let entries = page
                .get("entries")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let seqs = page
                .get("seqs")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let older = page.get("before").and_then(Value::as_i64);
            if default_before == Some(before) && seqs.len() == entries.len() {
                let numbered = seqs
                    .iter()
                    .map(|s| s.as_i64().unwrap_or(0))
                    .zip(entries.iter().cloned())
                    .collect();
                state
                    .borrow_mut()
                    .replica
                    .merge_older(numbered, older.is_some());
            }
            js::to_js(&crate::json::object! {"entries" => entries, "before" => older})
        })
    }
}

impl Client {
    /// `HoldRequest` → a hold event (without `at` and a missing `id`: `prepare` adds them).
    fn hold_event(&self, request: JsValue) -> Result<Value, JsValue> {
        let doc = js::json_from_js(request)?;
        let bad = |what: &str| js::error("invalid_argument", &format!("client.hold: {what}"));
        let count = |k: &str| {
            doc.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(&format!("`{k}` must be a whole number")))
        };
        let credits = count("credits")?;
        let expires_in_ms = count("expires_in_ms")?;
        let at = self.state.borrow().send_time();
        let expires_at =
            chrono::TimeDelta::try_milliseconds(i64::try_from(expires_in_ms).unwrap_or(i64::MAX))
                .and_then(|d| at.checked_add_signed(d))
                .ok_or_else(|| bad("`expires_in_ms` is too large"))?;
        let mut event = crate::json::object! {
            "at" => format_instant(&at),
            "kind" => "hold",
            "credits" => credits,
            "expires_at" => format_instant(&expires_at),
        };
        for k in ["id", "feature", "member"] {
            if let Some(v) = doc.get(k).filter(|v| !v.is_null()) {
                let text = v
                    .as_str()
                    .ok_or_else(|| bad(&format!("`{k}` must be a string")))?;
                event[k] = Value::from(text);
            }
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn backoff_doubles_from_100_ms_and_saturates() {
        // Proves the retry schedule: 100, 200, 400, 800 ms before tries 2 to 5, and no overflow for absurd retry counts.
        let schedule: Vec<u32> = (0..POST_TRIES_MAX - 1).map(backoff_ms).collect();
        assert_eq!(schedule, [100, 200, 400, 800]);
        assert_eq!(backoff_ms(40), u32::MAX);
        assert_eq!(backoff_ms(31), u32::MAX);
    }

    #[wasm_bindgen_test]
    fn only_no_answer_or_a_5xx_is_retried() {
        // Proves a 4xx (the server's decision) is final while a network failure or a 5xx is retried.
        assert!(is_retryable(None));
        assert!(is_retryable(Some(500)));
        assert!(is_retryable(Some(503)));
        assert!(!is_retryable(Some(400)));
        assert!(!is_retryable(Some(409)));
        assert!(!is_retryable(Some(422)));
    }
    // The pending-hold arithmetic is the core's (`replica`), tested natively.
}
