//! The `Client` class: the browser's synced copy of one account. The backend decides every
//! event; the client replays what it decided (the stored events of `/entries`, page by page)
//! into a local `Ledger`, keeps that copy in `localStorage` for offline previews, and shows
//! holds it sent but the server has not confirmed yet as held at once.
//!
//! Previews go through the `Ledger` class itself (rebuilt from a snapshot of the synced log),
//! so the client and `Ledger` cannot disagree about a number. The bearer token lives in memory
//! only: it is never stored and never logged.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_net::http::{Request, RequestBuilder};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use super::js;
use super::ledger::Ledger;
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
}
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
/** Codes of the client's errors: the package's, the server's, and `offline`. */
export type ClientErrorCode =
  | ErrorCode | "offline" | "sync_diverged" | "server_error" | "unauthorized" | "forbidden"
  | "not_found" | "invalid_request" | "body_too_large" | "payment_declined"
  | "storage_unavailable" | "overloaded" | "method_not_allowed";
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

    fn into_js(self) -> JsValue {
        match self {
            Failure::Network => js::error(
                "offline",
                "the server could not be reached; the local copy is unchanged",
            ),
            Failure::Server { code, message, .. } => js::error(&code, &message),
        }
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
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
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

/// A log as `connect` starts from: read from the server, or the copy in localStorage.
struct StoredCopy {
    account: Value,
    now: Option<String>,
    events: Vec<Value>,
    cursor: i64,
    fetched_at_ms: f64,
}

/// Everything the client knows; shared by the class and its promises.
struct State {
    base_url: String,
    account_id: String,
    /// Memory only.
    token: String,
    storage_key: String,
    account: Value,
    /// Every event the server accepted, as stored, in order.
    events: Vec<Value>,
    cursor: i64,
    /// The account's latest time, as the server said.
    now: Option<String>,
    /// `Date.now()` of the last successful sync.
    fetched_at_ms: f64,
    online: bool,
    /// Hold events sent and not yet seen among `events`.
    pending: Vec<Value>,
    /// `events` replayed on `account`, advanced to `now`, plus the pending holds.
    view: Ledger,
}

impl State {
    /// The synced log as a `Ledger` snapshot document (JSON text).
    fn snapshot_text(account: &Value, now: Option<&str>, events: &[Value]) -> String {
        let now = now.map_or_else(|| "null".to_owned(), |t| Value::from(t).to_string());
        let mut text = format!(
            "{{\"format\":\"ai-credits/ledger-snapshot\",\"version\":1,\"account\":{account},\"now\":{now},\"events\":["
        );
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&event.to_string());
        }
        text.push_str("]}");
        text
    }

    /// Replays a log into a ledger, then shows the pending holds on it.
    fn build_view(
        account: &Value,
        now: Option<&str>,
        events: &[Value],
        pending: &[Value],
    ) -> Result<Ledger, JsValue> {
        let snapshot = Self::snapshot_text(account, now, events);
        let mut view = Ledger::from_snapshot(JsValue::from_str(&snapshot), None).map_err(|e| {
            let why = js_sys::Reflect::get(&e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string());
            js::error(
                "sync_diverged",
                &format!(
                    "the server's events do not replay on this copy of the rules: {}",
                    why.unwrap_or_default()
                ),
            )
        })?;
        for hold in pending {
            show_pending(&mut view, hold);
        }
        Ok(view)
    }

    fn rebuild(&mut self) -> Result<(), JsValue> {
        self.view = Self::build_view(
            &self.account,
            self.now.as_deref(),
            &self.events,
            &self.pending,
        )?;
        Ok(())
    }

    /// Adds a delta to the log; the view is rebuilt only when something changed. Returns the
    /// number of new events.
    fn merge(&mut self, delta: Delta) -> Result<usize, JsValue> {
        let new_events = delta.events.len();
        let changed = new_events > 0 || delta.now != self.now;
        let before = self.events.len();
        self.events.extend(delta.events);
        let confirmed = |hold: &Value| {
            let id = hold.get("id");
            self.events
                .iter()
                .any(|e| e.get("kind") == hold.get("kind") && e.get("id") == id)
        };
        let pending: Vec<Value> = self
            .pending
            .iter()
            .filter(|h| !confirmed(h))
            .cloned()
            .collect();
        // With no pending hold before or after, the view is exactly the synced log: apply just
        // the new events to it (a year of history replays in about a third of a second; a
        // sync should cost what it brings).
        let incremental = changed
            && self.pending.is_empty()
            && pending.is_empty()
            && self.view.inner.replay(&self.events[before..]).is_ok()
            && delta
                .now
                .as_deref()
                .and_then(parse_instant)
                .is_none_or(|now| self.view.inner.advance(now).is_ok());
        if !incremental && (changed || pending.len() != self.pending.len()) {
            match Self::build_view(&delta.account, delta.now.as_deref(), &self.events, &pending) {
                Ok(view) => self.view = view,
                Err(e) => {
                    self.events.truncate(before);
                    return Err(e);
                }
            }
        }
        self.pending = pending;
        self.account = delta.account;
        self.cursor = delta.cursor;
        self.now = delta.now;
        self.fetched_at_ms = js_sys::Date::now();
        self.online = true;
        self.store();
        Ok(new_events)
    }

    /// Keeps the synced copy (never the token, never pending holds) in localStorage. A full
    /// storage leaves the previous copy: the next connect reads the server anyway.
    fn store(&self) {
        let Some(storage) = local_storage() else {
            return;
        };
        let mut text = format!(
            "{{\"format\":\"ai-credits/client-copy\",\"version\":1,\"account_id\":{},\"cursor\":{},\"fetched_at\":{},\"copy\":",
            Value::from(self.account_id.as_str()),
            self.cursor,
            self.fetched_at_ms as u64
        );
        text.push_str(&Self::snapshot_text(
            &self.account,
            self.now.as_deref(),
            &self.events,
        ));
        text.push('}');
        let _ = storage.set_item(&self.storage_key, &text);
    }

    /// The copy kept by `store`, if there is one for this account.
    fn load_stored(storage_key: &str, account_id: &str) -> Option<StoredCopy> {
        let text = local_storage()?.get_item(storage_key).ok()??;
        let mut doc: Value = serde_json::from_str(&text).ok()?;
        if doc.get("format")?.as_str()? != "ai-credits/client-copy"
            || doc.get("account_id")?.as_str()? != account_id
        {
            return None;
        }
        let cursor = doc.get("cursor")?.as_i64()?;
        let fetched_at_ms = doc.get("fetched_at")?.as_u64()? as f64;
        let copy = doc.get_mut("copy")?;
        let account = copy
            .get_mut("account")
            .map(Value::take)
            .filter(Value::is_object)?;
        let now = copy.get("now").and_then(Value::as_str).map(str::to_owned);
        let Value::Array(events) = copy.get_mut("events").map(Value::take)? else {
            return None;
        };
        Some(StoredCopy {
            account,
            now,
            events,
            cursor,
            fetched_at_ms,
        })
    }

    /// The time a new event is sent at: this machine's clock, never before the account's
    /// latest time (a clock behind the server's would be refused).
    fn send_time(&self) -> Instant {
        let clock = js::clock_now();
        match self.view.now().as_deref().and_then(parse_instant) {
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
        set("cursor", (self.cursor as f64).into());
        set("pending_holds", (self.pending.len() as f64).into());
        if let Some(n) = new_events {
            set("new_events", (n as f64).into());
        }
        status.into()
    }
}

/// Shows a hold that was sent but not confirmed on the view: applied locally, at the view's
/// latest time if the view is already past the hold's. A hold the local copy refuses is left
/// out: the server decides, and the next sync shows what it decided.
fn show_pending(view: &mut Ledger, hold: &Value) {
    let mut hold = hold.clone();
    if let (Some(now), Some(at)) = (
        view.now(),
        hold.get("at")
            .and_then(Value::as_str)
            .and_then(parse_instant),
    ) && parse_instant(&now).is_some_and(|now| now > at)
    {
        hold["at"] = Value::from(now);
    }
    let _ = view.apply(JsValue::from_str(&hold.to_string()));
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
                s.cursor,
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
        if s.cursor != delta.from {
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
    let body = event.to_string();
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
            let before = s.pending.len();
            s.pending.retain(|h| h.get("id") != id.as_ref());
            if s.pending.len() != before {
                s.rebuild()?;
            }
            Err(failure.into_js())
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
            show_pending(&mut s.view, &event);
            s.pending.push(event.clone());
        }
        Ok(event)
    }

    fn promise(&self, event: Value) -> js_sys::Promise {
        let state = Rc::clone(&self.state);
        future_to_promise(post_and_sync(state, event))
    }
}

#[wasm_bindgen]
impl Client {
    /// Loads the account's whole event log from the server and replays it; when the server
    /// cannot be reached, loads the copy kept in localStorage (offline, stale) instead, and
    /// rejects with `offline` when there is none.
    #[wasm_bindgen(unchecked_return_type = "Promise<Client>")]
    pub fn connect(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> js_sys::Promise {
        future_to_promise(async move {
            let (base_url, account_id, token, storage_key) = read_options(options)?;
            let (copy, online) = match fetch_delta(&base_url, &account_id, &token, 0).await {
                Ok(d) => {
                    let fetched_at_ms = js_sys::Date::now();
                    (
                        StoredCopy {
                            account: d.account,
                            now: d.now,
                            events: d.events,
                            cursor: d.cursor,
                            fetched_at_ms,
                        },
                        true,
                    )
                }
                Err(failure) if is_retryable(failure.status()) => {
                    let copy = State::load_stored(&storage_key, &account_id).ok_or_else(|| {
                        js::error(
                            "offline",
                            "the server could not be reached and there is no stored copy of this account",
                        )
                    })?;
                    (copy, false)
                }
                Err(failure) => return Err(failure.into_js()),
            };
            let view = State::build_view(&copy.account, copy.now.as_deref(), &copy.events, &[])?;
            let state = State {
                base_url,
                account_id,
                token,
                storage_key,
                account: copy.account,
                events: copy.events,
                cursor: copy.cursor,
                now: copy.now,
                fetched_at_ms: copy.fetched_at_ms,
                online,
                pending: Vec::new(),
                view,
            };
            if online {
                state.store();
            }
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
        future_to_promise(async move {
            match sync_state(&state).await {
                Ok(n) => Ok(state.borrow().status(Some(n))),
                Err(failure) if is_retryable(failure.status()) => {
                    Ok(state.borrow().status(Some(0)))
                }
                Err(failure) => Err(failure.into_js()),
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
        let event = serde_json::json!({"kind": "release", "hold": hold_id});
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

    /// The models that can be picked now.
    #[wasm_bindgen(js_name = availableModels, unchecked_return_type = "Model[]")]
    pub fn available_models(&self) -> Result<JsValue, JsValue> {
        self.state.borrow().view.available_models()
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

    /// SPEC §4's result document of the local copy.
    #[wasm_bindgen(unchecked_return_type = "ScenarioResult")]
    pub fn report(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        self.state.borrow().view.report(at)
    }

    /// Key states of providers that have a key.
    #[wasm_bindgen(unchecked_return_type = "KeyStates")]
    pub fn keys(&self) -> Result<JsValue, JsValue> {
        self.state.borrow().view.keys()
    }

    /// Every confirmed entry, in time order.
    #[wasm_bindgen(unchecked_return_type = "Entry[]")]
    pub fn entries(&self) -> Result<JsValue, JsValue> {
        self.state.borrow().view.entries()
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
        let mut event = serde_json::json!({
            "at": format_instant(&at),
            "kind": "hold",
            "credits": credits,
            "expires_at": format_instant(&expires_at),
        });
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

    #[wasm_bindgen_test]
    fn a_pending_hold_counts_as_held_until_the_sync_confirms_it() {
        // Proves the pending-hold arithmetic: a sent hold is held in the view at once, and a merge that brings the confirmed hold leaves it held once, not twice.
        let account = serde_json::json!({"plan": "growth", "cycle_anchor": "2026-01-01T00:00:00Z"});
        let hold = serde_json::json!({"at": "2026-01-02T00:00:00Z", "kind": "hold", "id": "h1", "credits": 1000, "expires_at": "2026-01-02T00:05:00Z"});
        let balance = |view: &Ledger| -> (u64, u64) {
            let b = js::json_from_js(view.balance(Some("2026-01-02T00:01:00Z".into())).unwrap())
                .unwrap();
            (
                b["held"].as_u64().unwrap(),
                b["available"].as_u64().unwrap(),
            )
        };
        let synced = State::build_view(&account, Some("2026-01-01T00:00:00Z"), &[], &[]).unwrap();
        let (held, available) = balance(&synced);
        assert_eq!(held, 0);
        let pending = State::build_view(
            &account,
            Some("2026-01-01T00:00:00Z"),
            &[],
            std::slice::from_ref(&hold),
        )
        .unwrap();
        assert_eq!(balance(&pending), (1000, available - 1000));
        let confirmed = State::build_view(
            &account,
            Some("2026-01-02T00:00:00Z"),
            std::slice::from_ref(&hold),
            &[],
        )
        .unwrap();
        assert_eq!(balance(&confirmed), (1000, available - 1000));
    }
}
