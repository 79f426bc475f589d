//! AI calls through ai-credits (SPEC §5.4): `POST /v1/accounts/{id}/providers/{provider}/{*path}`
//! forwards a call to the provider's own API and bills it like a usage.
//!
//! A host app keeps each provider's SDK, points its base URL at the gateway and passes the
//! account's **service** token as the SDK's API key (`Authorization: Bearer`, `x-api-key` or
//! `x-goog-api-key`). Optional headers: `AI-Credits-Feature`, `AI-Credits-Member`,
//! `Idempotency-Key`, and `AI-Credits-Conversation` (the host's id of the person's
//! conversation: once charged, the call is kept there as a turn, with the person's message,
//! the reply and the credits it used; see `http::conversations`).
//!
//! Each call: the core decides where it is billed (the business's own key when connected,
//! else credits with the platform's key `AI_CREDITS_PLATFORM_KEY_<PROVIDER>`, else 403
//! `model_unavailable` before any upstream call); the gate runs; a hold of the worst case
//! (input estimated from the request, output from its bound or the catalogue's default,
//! capped at what is available) is placed; the call is forwarded (a stream passes through
//! chunk by chunk); the usage the provider reports is committed; then the answer ends. A
//! caller that goes away mid-stream is still charged: the provider's stream is read to its end.
//! A stream that ends without usage is charged the core's estimate of what was sent and
//! streamed. When the provider refuses the business's key (401/403: `auth`; a quota or
//! billing error: `billing`), the key turns `invalid` (audited) and a model on credits is
//! called once more with the platform's key.

pub mod shapes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use ai_credits::time::format_instant;
use ai_credits::tokens::estimate_tokens;
use ai_credits::{BilledTo, Charge, EventDraft, Model, Tokens};

use crate::engine::key_change::{KeyChange, KeyStep};
use crate::engine::{self, Poster};
use crate::error::{ApiError, ErrorCode};
use crate::http::auth::{self, Caller};
use crate::http::roles::Action;
use crate::http::{AppState, Shared};
use crate::store::TurnRow;
use crate::vault::providers::{TestResult, classify};
use crate::vault::secret::Secret;
use shapes::{Api, StreamReader};

/// The gateway's settings and what it holds between calls.
pub struct Gateway {
    http: reqwest::Client,
    /// The platform's key per provider (`AI_CREDITS_PLATFORM_KEY_<PROVIDER>`, or the file
    /// `AI_CREDITS_PLATFORM_KEY_<PROVIDER>_FILE` names). Never logged.
    platform_keys: HashMap<String, Secret>,
    /// Longest wait for the provider's answer to begin, and between two chunks of it.
    pub first_byte_timeout: Duration,
    pub chunk_timeout: Duration,
    /// Most calls in flight per account; one more is 429 `rate_limited`.
    pub calls_max_per_account: usize,
    in_flight: Mutex<HashMap<String, usize>>,
}

/// Longest a gateway hold lasts: past it, a call still streaming is charged without its hold
/// (its entry is then `unpaid` for what was no longer available).
const HOLD_FOR: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// The response header naming the entry a call makes (its `id` in `/entries`).
pub const CALL_HEADER: &str = "ai-credits-call";
/// Largest answer read whole (a non-streamed one).
const ANSWER_BYTES_MAX: usize = 16 << 20;

impl Gateway {
    pub fn from_env(
        providers: &[&str],
        first_byte_timeout: Duration,
        chunk_timeout: Duration,
        calls_max_per_account: usize,
    ) -> Gateway {
        let mut platform_keys = HashMap::new();
        for provider in providers {
            let var = format!("AI_CREDITS_PLATFORM_KEY_{}", provider.to_ascii_uppercase());
            let key = std::env::var(&var).ok().or_else(|| {
                let file = std::env::var(format!("{var}_FILE")).ok()?;
                std::fs::read_to_string(file).ok()
            });
            if let Some(key) = key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) {
                platform_keys.insert((*provider).to_owned(), Secret::new(key));
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(first_byte_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Gateway {
            http,
            platform_keys,
            first_byte_timeout,
            chunk_timeout,
            calls_max_per_account: calls_max_per_account.max(1),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Sets `provider`'s platform key unless one is configured (the demo's stand-ins).
    pub fn platform_key_or(&mut self, provider: &str, key: Secret) {
        self.platform_keys.entry(provider.to_owned()).or_insert(key);
    }

    /// Which providers have a platform key (for the start-up log; never the keys).
    pub fn platform_providers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.platform_keys.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// A place among the account's calls in flight, given back when dropped.
    fn slot(self: &Arc<Self>, account: &str) -> Result<Slot, ApiError> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(account.to_owned()).or_default();
        if *n >= self.calls_max_per_account {
            return Err(ApiError::rate_limited(
                format!(
                    "this account has {} AI calls in flight, the most allowed; retry when one ends",
                    self.calls_max_per_account
                ),
                1,
            ));
        }
        *n += 1;
        Ok(Slot {
            gateway: Arc::clone(self),
            account: account.to_owned(),
        })
    }
}

struct Slot {
    gateway: Arc<Gateway>,
    account: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .gateway
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.account) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.account);
            }
        }
    }
}

/// What the caller's headers say about the call.
#[derive(Clone, Debug, Default)]
struct CallOptions {
    feature: Option<String>,
    member: Option<String>,
    /// The caller's `Idempotency-Key`: a call with a key already used is never charged again.
    idempotency_key: Option<String>,
    anthropic_version: Option<String>,
    /// `AI-Credits-Conversation`: the conversation the call is recorded in, once charged.
    conversation: Option<String>,
}

impl CallOptions {
    fn from_headers(headers: &HeaderMap) -> Result<CallOptions, ApiError> {
        let text = |name: &str| -> Result<Option<String>, ApiError> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && t.len() <= 200)
                    .map(|t| Some(t.to_owned()))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            ErrorCode::InvalidRequest,
                            format!("`{name}` must be text of at most 200 bytes"),
                        )
                    }),
            }
        };
        let conversation = text("ai-credits-conversation")?;
        if let Some(id) = &conversation
            && !crate::http::conversations::valid_id(id)
        {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "`AI-Credits-Conversation` is 1 to 64 of A-Z a-z 0-9 . _ : -",
            ));
        }
        Ok(CallOptions {
            conversation,
            feature: text("ai-credits-feature")?,
            member: text("ai-credits-member")?,
            idempotency_key: text("idempotency-key")?,
            anthropic_version: text("anthropic-version")?,
        })
    }
}

/// `POST /v1/accounts/{id}/providers/{provider}/{*path}`.
pub async fn call(
    State(app): Shared,
    Path((id, provider, path)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.may(Action::GatewayCall, Some(&id))?;
    let body = crate::http::body::read_bytes(body, app.policy.gateway_body_bytes_max)?;
    let (api, path_model) = Api::of(&provider, &path).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!(
                "the gateway forwards openai, xai and moonshot chat/completions, openai and xai responses, anthropic messages and google models/{{model}}:generateContent or :streamGenerateContent, not {provider} {path}"
            ),
        )
    })?;
    if api == Api::StreamGenerateContent && !query.as_deref().unwrap_or("").contains("alt=sse") {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            "streamGenerateContent is forwarded as server-sent events: add ?alt=sse",
        ));
    }
    let mut request = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => o,
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidJson,
                "the body must be a JSON object, as the provider's API takes it",
            ));
        }
    };
    // Google names the model in the path; the rest of the gateway reads it from the body.
    if let Some(model) = path_model {
        request.insert("model".into(), Value::String(model));
    }
    let options = CallOptions::from_headers(&headers)?;
    let slot = app.gateway.slot(&id)?;
    let call = Call {
        app: Arc::clone(&app),
        account: id,
        provider,
        api,
        message: if options.conversation.is_some() {
            api.last_user_text(&request)
        } else {
            String::new()
        },
        member: options
            .member
            .clone()
            .unwrap_or_else(|| caller.member().to_owned()),
        options,
    };
    call.run(request, true, slot).await
}

/// How often a conversation's turn is tried before it is given up (and logged).
const RECORD_TRIES: u64 = 3;

/// What a charge made: the call's entry, and whether its usage is the core's estimate.
struct Charged {
    entry: Option<ai_credits::Entry>,
    estimated: bool,
}

/// One call, as it goes.
struct Call {
    app: Arc<AppState>,
    account: String,
    provider: String,
    api: Api,
    member: String,
    options: CallOptions,
    /// The person's message, when the call is recorded in a conversation.
    message: String,
}

/// Where the call went and what it was held for.
struct Placed {
    billed: BilledTo,
    model: String,
    /// The hold's id, when one was placed (a call on credits).
    hold: Option<String>,
    /// The call's own id: the commit's or the usage's.
    id: String,
    input_estimate: u64,
}

impl Call {
    fn poster(&self) -> Poster {
        Poster {
            role: "service",
            hold_max: None,
            ..Poster::server(self.member.clone())
        }
    }

    /// Decides, holds, forwards and charges. `may_retry`: a refused own key may send the call
    /// once more on the platform's key.
    async fn run(
        self,
        request: Map<String, Value>,
        may_retry: bool,
        slot: Slot,
    ) -> Result<Response, ApiError> {
        let model_id = request
            .get("model")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ApiError::bad_request(ErrorCode::InvalidRequest, "the request names no `model`")
            })?
            .to_owned();
        let placed = self.place(&model_id, &request).await?;
        let key = match self.key(placed.billed).await {
            Ok(key) => key,
            Err(e) => {
                self.release(&placed).await;
                return Err(e);
            }
        };
        let streams = self.api.streams(&request);
        // What goes upstream may ask for the usage; a retry starts again from the caller's own.
        let mut upstream_request = request.clone();
        let caller_asked_usage = !streams || self.api.ask_for_usage(&mut upstream_request);
        let upstream = match self.send(&upstream_request, &key).await {
            Ok(upstream) => upstream,
            Err(e) => {
                self.release(&placed).await;
                return Err(e);
            }
        };
        let status = upstream.status().as_u16();
        if !(200..300).contains(&status) {
            let body = read_limited(upstream, self.app.gateway.chunk_timeout)
                .await
                .unwrap_or_default();
            self.release(&placed).await;
            return self
                .refused(status, &body, placed, request, may_retry, slot)
                .await;
        }
        let call_id = HeaderValue::from_str(&placed.id).ok();
        let mut response = if streams {
            self.stream(upstream, placed, caller_asked_usage, slot)
        } else {
            self.whole(upstream, placed, slot).await?
        };
        if let Some(id) = call_id {
            response.headers_mut().insert(CALL_HEADER, id);
        }
        Ok(response)
    }

    /// A whole answer: read, charged, then passed on.
    async fn whole(
        &self,
        upstream: reqwest::Response,
        placed: Placed,
        slot: Slot,
    ) -> Result<Response, ApiError> {
        let body = read_limited(upstream, self.app.gateway.chunk_timeout)
            .await
            .map_err(|_| unavailable("the provider's answer did not arrive in time"))?;
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let usage = self.api.usage_of(&answer);
        let charged = self.charge(&placed, usage, "").await?;
        self.record(charged, &self.api.answer_text(&answer)).await;
        drop(slot);
        Ok((
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response())
    }

    /// Where the call is billed, the gate, and the hold of its worst case.
    async fn place(
        &self,
        model_id: &str,
        request: &Map<String, Value>,
    ) -> Result<Placed, ApiError> {
        let (ledger, _) = engine::read_ledger(&self.app.ctx, &self.account).await?;
        let catalogue = ledger.catalogue();
        let model: &Model = catalogue
            .model(model_id)
            .filter(|m| m.provider == self.provider)
            .ok_or_else(|| {
                ApiError::from(ai_credits::Rejection::new(
                    ai_credits::RejectCode::UnknownModel,
                    format!(
                        "{} has no model {model_id:?}; see /v1/catalogue",
                        self.provider
                    ),
                ))
            })?;
        // Refused before any upstream call: 403, as the gateway's callers read it (SPEC §5.4).
        let billed = ledger.route(model).map_err(|refused| ApiError {
            status: StatusCode::FORBIDDEN,
            ..ApiError::from(refused)
        })?;
        if billed == BilledTo::Credits
            && !self.app.gateway.platform_keys.contains_key(&self.provider)
        {
            return Err(unavailable(&format!(
                "this server has no platform key for {}, so calls on credits cannot be made",
                catalogue.provider_name(&self.provider)
            )));
        }
        let at = ledger
            .now()
            .map_or(engine::clock(), |n| n.max(engine::clock()));
        let input_estimate = estimate_tokens(&shapes::request_text(request), model.tokenizer);
        let output = self
            .api
            .max_output_tokens(request)
            .unwrap_or(catalogue.estimation.output_tokens.high);
        let worst = Charge::Usage {
            model: model.id.clone(),
            tokens: Tokens {
                input: input_estimate.high,
                output,
                ..Tokens::default()
            },
        };
        let preview = ledger.preview(at, &worst)?;
        if let Some(refused) = preview.rejection.filter(|_| !preview.allowed) {
            return Err(refused.into());
        }
        let id = match &self.options.idempotency_key {
            Some(key) => format!("gw-{key}"),
            None => format!("gw-{}", auth::random_hex(12)),
        };
        let mut placed = Placed {
            billed,
            model: model.id.clone(),
            hold: None,
            id,
            input_estimate: input_estimate.tokens,
        };
        if billed == BilledTo::Credits {
            let available = ledger.balance(at)?.available;
            let credits = preview.credits.min(available).max(1);
            let hold_id = format!("{}-hold", placed.id);
            let mut hold = json!({
                "kind": "hold", "id": hold_id, "credits": credits,
                "expires_at": format_instant(&(engine::clock() + HOLD_FOR)),
                "member": self.member,
            });
            if let Some(feature) = &self.options.feature {
                hold["feature"] = json!(feature);
            }
            let held = self
                .app
                .engine
                .submit(
                    self.account.clone(),
                    EventDraft::from_json(&hold),
                    self.poster(),
                )
                .await?;
            if held.duplicate {
                return Err(ApiError::from(ai_credits::Rejection::new(
                    ai_credits::RejectCode::IdempotencyConflict,
                    "this Idempotency-Key was used for a call already; it is never charged twice (send a new key for a new call)",
                )));
            }
            placed.hold = Some(hold_id);
        }
        Ok(placed)
    }

    /// The key the call is made with: the business's own, or the platform's.
    async fn key(&self, billed: BilledTo) -> Result<Secret, ApiError> {
        match billed {
            BilledTo::Credits => self
                .app
                .gateway
                .platform_keys
                .get(&self.provider)
                .cloned()
                .ok_or_else(|| unavailable("no platform key")),
            BilledTo::OwnKey => {
                let data_key = self.app.keys.data_key.as_ref().ok_or_else(|| {
                    unavailable("this server has no data key, so it cannot use stored keys")
                })?;
                let sealed = self
                    .app
                    .ctx
                    .db
                    .sealed_key(&self.account, &self.provider)
                    .await
                    .map_err(|e| ApiError::storage(&e))?
                    .ok_or_else(|| unavailable("the business's key is not stored"))?;
                data_key
                    .open(&sealed, &format!("{}/{}", self.account, self.provider))
                    .map_err(|_| unavailable("the business's stored key does not decrypt"))
            }
        }
    }

    /// Sends the request to the provider; waits at most the first-byte timeout for its answer
    /// to begin.
    async fn send(
        &self,
        request: &Map<String, Value>,
        key: &Secret,
    ) -> Result<reqwest::Response, ApiError> {
        let base = self
            .app
            .keys
            .providers
            .base(&self.provider)
            .ok_or_else(|| unavailable("unknown provider"))?;
        let model = request.get("model").and_then(Value::as_str).unwrap_or("");
        let url = format!("{base}{}", self.api.path(model));
        let builder = self.app.gateway.http.post(url);
        let builder = match self.api {
            // The model travels in Google's path, not its body.
            Api::GenerateContent | Api::StreamGenerateContent => {
                let mut body = request.clone();
                body.remove("model");
                builder.json(&body).header("x-goog-api-key", key.expose())
            }
            _ => builder.json(request),
        };
        let builder = match self.api {
            Api::ChatCompletions | Api::Responses => builder.bearer_auth(key.expose()),
            Api::GenerateContent | Api::StreamGenerateContent => builder,
            Api::Messages => builder.header("x-api-key", key.expose()).header(
                "anthropic-version",
                self.options
                    .anthropic_version
                    .as_deref()
                    .unwrap_or("2023-06-01"),
            ),
        };
        // Never format a reqwest error: its message names the URL.
        match tokio::time::timeout(self.app.gateway.first_byte_timeout, builder.send()).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(unavailable("the provider could not be reached")),
            Err(_) => Err(unavailable(&format!(
                "the provider did not answer within {} s",
                self.app.gateway.first_byte_timeout.as_secs()
            ))),
        }
    }

    /// The provider refused the call. A refused own key turns `invalid`; a model on credits
    /// is then called once more on the platform's key. Otherwise the caller gets the
    /// provider's status with our code and message (never the provider's words).
    async fn refused(
        self,
        status: u16,
        body: &[u8],
        placed: Placed,
        request: Map<String, Value>,
        may_retry: bool,
        slot: Slot,
    ) -> Result<Response, ApiError> {
        let reason = match classify(status, body) {
            TestResult::Rejected { reason, .. } => reason,
            TestResult::Connected => "provider_error",
        };
        let http_status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let catalogue = &self.app.ctx.catalogue;
        if placed.billed == BilledTo::OwnKey && matches!(reason, "auth" | "billing") {
            let change = KeyChange {
                role: "service",
                steps: vec![KeyStep::MarkInvalid {
                    provider: self.provider.clone(),
                    reason: reason.to_owned(),
                }],
            };
            self.app
                .engine
                .submit_keys(self.account.clone(), change, self.poster())
                .await?;
            tracing::info!(account = %self.account, provider = %self.provider, reason, "the provider refused the business's key: marked invalid");
            let on_credits = catalogue.model(&placed.model).is_some_and(|m| m.on_credits);
            if may_retry && on_credits {
                return Box::pin(self.run(request, false, slot)).await;
            }
            let message =
                crate::vault::providers::own_key_refused_message(catalogue, &self.provider, reason);
            return Err(ApiError::new(
                http_status,
                ErrorCode::OwnKeyRefused,
                message,
            ));
        }
        Err(ApiError::new(
            http_status,
            ErrorCode::ProviderError,
            crate::vault::providers::reason_message(reason, Some(status)),
        ))
    }

    /// Passes a stream through chunk by chunk, reading it to its end whatever the caller does,
    /// and charges it when it ends.
    fn stream(
        self,
        mut upstream: reqwest::Response,
        placed: Placed,
        caller_asked_usage: bool,
        slot: Slot,
    ) -> Response {
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let content_type = upstream
            .headers()
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("text/event-stream"));
        let chunk_timeout = self.app.gateway.chunk_timeout;
        tokio::spawn(async move {
            let mut reader = StreamReader::default();
            let mut caller_gone = false;
            loop {
                let chunk = match tokio::time::timeout(chunk_timeout, upstream.chunk()).await {
                    Ok(Ok(Some(chunk))) => chunk,
                    // The end, a broken stream, or one silent past the chunk timeout.
                    _ => break,
                };
                let out = reader.read(self.api, &chunk, caller_asked_usage);
                if !out.is_empty() && !caller_gone && tx.send(Bytes::from(out)).await.is_err() {
                    // The caller went away: keep reading, for the usage.
                    caller_gone = true;
                }
            }
            let rest = reader.finish(self.api, caller_asked_usage);
            let usage = reader.usage.take();
            match self.charge(&placed, usage, &reader.text).await {
                Ok(charged) => self.record(charged, &reader.text).await,
                Err(e) => {
                    tracing::error!(account = %self.account, code = %e.code, "a streamed call could not be charged");
                }
            }
            if !rest.is_empty() && !caller_gone {
                let _ = tx.send(Bytes::from(rest)).await;
            }
            drop(slot);
        });
        let body = crate::http::body::from_channel(rx, |chunk| chunk);
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
    }

    /// Commits the call's usage against its hold (or posts it as a usage, for an own key);
    /// without a usage reported, the core's estimate of what was sent and streamed.
    async fn charge(
        &self,
        placed: &Placed,
        usage: Option<Value>,
        streamed: &str,
    ) -> Result<Charged, ApiError> {
        let mut event = json!({"id": placed.id, "model": placed.model, "member": self.member});
        let estimated = usage.is_none();
        match usage {
            Some(usage) => event["provider_usage"] = usage,
            None => {
                let family = self
                    .app
                    .ctx
                    .catalogue
                    .model(&placed.model)
                    .map_or(ai_credits::tokens::TokenizerFamily::O200k, |m| m.tokenizer);
                event["input_tokens"] = json!(placed.input_estimate);
                event["output_tokens"] = json!(estimate_tokens(streamed, family).tokens);
                // Its entry says so (SPEC §5.4).
                event["estimated"] = json!(true);
            }
        }
        match &placed.hold {
            Some(hold) => {
                event["kind"] = json!("commit");
                event["hold"] = json!(hold);
                if let Value::Object(o) = &mut event {
                    o.remove("member");
                }
            }
            None => {
                event["kind"] = json!("usage");
                if let Some(feature) = &self.options.feature {
                    event["feature"] = json!(feature);
                }
            }
        }
        self.app
            .engine
            .submit(
                self.account.clone(),
                EventDraft::from_json(&event),
                self.poster(),
            )
            .await
            .map(|accepted| Charged {
                entry: accepted.entry,
                estimated,
            })
    }

    /// Records the charged call in its conversation, when it names one. The charge stands
    /// whatever happens here; a turn that cannot be stored after a few tries is logged.
    async fn record(&self, charged: Charged, reply: &str) {
        let (Some(conversation), Some(entry)) = (&self.options.conversation, charged.entry) else {
            return;
        };
        let turn = TurnRow {
            entry_id: entry.id.clone(),
            member: self.member.clone(),
            conversation_id: conversation.clone(),
            at: format_instant(&entry.at),
            model: entry.model.clone().unwrap_or_default(),
            feature: self.options.feature.clone(),
            message: self.message.clone(),
            reply: reply.to_owned(),
            input_tokens: entry
                .tokens
                .map_or(0, |t| i64::try_from(t.input).unwrap_or(i64::MAX)),
            output_tokens: entry
                .tokens
                .map_or(0, |t| i64::try_from(t.output).unwrap_or(i64::MAX)),
            credits: i64::try_from(entry.credits).unwrap_or(i64::MAX),
            billed_to: match entry.billed_to {
                BilledTo::Credits => "credits",
                BilledTo::OwnKey => "own_key",
            }
            .to_owned(),
            estimated: charged.estimated,
        };
        for attempt in 1..=RECORD_TRIES {
            match self.app.ctx.db.put_turn(&self.account, &turn).await {
                Ok(_) => return,
                Err(e) if attempt == RECORD_TRIES => {
                    tracing::error!(account = %self.account, entry = %turn.entry_id, error = %e, "a charged call could not be recorded in its conversation");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100 * attempt)).await,
            }
        }
    }

    /// Frees the call's hold when the call did not happen.
    async fn release(&self, placed: &Placed) {
        let Some(hold) = &placed.hold else {
            return;
        };
        let release =
            json!({"kind": "release", "id": format!("{}-release", placed.id), "hold": hold});
        if let Err(e) = self
            .app
            .engine
            .submit(
                self.account.clone(),
                EventDraft::from_json(&release),
                self.poster(),
            )
            .await
        {
            tracing::warn!(account = %self.account, code = %e.code, "a gateway hold was not released (it lapses at its expiry)");
        }
    }
}

/// A whole answer, at most [`ANSWER_BYTES_MAX`], each chunk within `chunk_timeout`.
async fn read_limited(
    mut response: reqwest::Response,
    chunk_timeout: Duration,
) -> Result<Vec<u8>, ()> {
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout(chunk_timeout, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                body.extend_from_slice(&chunk);
                if body.len() > ANSWER_BYTES_MAX {
                    return Err(());
                }
            }
            Ok(Ok(None)) => return Ok(body),
            _ => return Err(()),
        }
    }
}

fn unavailable(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ProviderUnavailable,
        format!("{why}; nothing was charged"),
    )
}
