//! Webhooks: the host app hears of an account's alerts (the core's `Ledger::alerts`, the same
//! the browser's banner shows) as signed JSON POSTs.
//!
//! - `POST /v1/accounts/{id}/webhooks {"url"}` (admin or platform) answers `{id, url, secret,
//!   created_at}`: the secret is shown this once, and kept only sealed with the data key.
//!   `GET …/webhooks` lists them (never a secret), `DELETE …/webhooks/{wid}` removes one, and
//!   `GET …/webhooks/deliveries` is the delivery log (the newest 200).
//! - Every `--webhook-scan-ms` (default 1000) a server reads the alerts that hold now for each
//!   account with a webhook and records one delivery per webhook and alert. The delivery's row
//!   is keyed by (account, webhook, alert id), so each alert (one per threshold per cycle, or
//!   per pack) is delivered once, across restarts and several servers.
//! - Due deliveries are claimed (a row update only one server wins), POSTed with a timeout of
//!   10 s and the header `AI-Credits-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//!   "<t>.<body>" with the secret>`, and retried with doubling backoff from
//!   `--webhook-retry-base-ms` (default 1000, at most an hour apart) until a 2xx answer or the
//!   8th attempt (then `failed`).
//!
//! A delivery's body: `{"id", "type": "alert.<kind>", "account", "created_at", "alert"}`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::Row;

use ai_credits::time::format_instant;

use crate::engine::{self, Ctx};
use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::http::auth::{Caller, random_hex};
use crate::http::roles::Action;
use crate::store::Db;
use crate::vault::secret::{DataKey, Sealed, Secret};

/// Most webhooks per account.
pub const WEBHOOKS_MAX: usize = 10;
/// Longest URL accepted.
const URL_BYTES_MAX: usize = 2000;
/// Attempts before a delivery is given up.
pub const ATTEMPTS_MAX: i64 = 8;
/// How long a claimed delivery is a server's own before another may take it over.
const CLAIM_MS: i64 = 30_000;
/// Longest wait for a receiver's answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries sent per round.
const DUE_PER_ROUND: i64 = 32;
/// Longest wait between two attempts.
const BACKOFF_MAX_MS: i64 = 3_600_000;
/// Entries of the delivery log returned.
const LOG_MAX: i64 = 200;

/// How the worker runs (`serve --webhook-scan-ms`, `--webhook-retry-base-ms`).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub scan_every: Duration,
    pub retry_base_ms: i64,
    /// `--webhooks-allow-private`: receivers on the server's own networks are allowed.
    pub allow_private: bool,
}

fn sealing_context(account: &str, id: &str) -> String {
    format!("webhook:{account}/{id}")
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn now_ms() -> i64 {
    engine::clock().timestamp_millis()
}

/// The wait before attempt `attempts + 1`, doubling from `base`.
fn backoff_ms(base: i64, attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    base.max(1)
        .saturating_mul(1i64 << shift)
        .min(BACKOFF_MAX_MS)
}

/// Whether `url`'s host is `localhost` or an address of this machine's own networks (see
/// [`private_ip`]). A name that resolves to such an address is caught when a delivery is
/// sent, by [`PublicOnly`].
fn private_host(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return true;
    };
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => private_ip(ip),
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Whether `ip` is on this machine's own networks: loopback, private (RFC 1918, unique-local),
/// link-local, unspecified, broadcast or CGNAT (an IPv4-mapped IPv6 address as its IPv4).
fn private_ip(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The refusal of a receiver whose name resolves only to the server's own networks.
#[derive(Debug)]
struct OwnNetworksOnly;

impl std::fmt::Display for OwnNetworksOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the name resolves only to addresses of the server's own networks")
    }
}

impl std::error::Error for OwnNetworksOnly {}

/// The public addresses among `addrs`, or [`OwnNetworksOnly`] when there are none.
fn public_only(
    addrs: impl Iterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, OwnNetworksOnly> {
    let public: Vec<SocketAddr> = addrs.filter(|a| !private_ip(a.ip())).collect();
    if public.is_empty() {
        Err(OwnNetworksOnly)
    } else {
        Ok(public)
    }
}

/// The delivery client's name resolution unless `--webhooks-allow-private`: the system's,
/// keeping only public addresses, so a registered name that resolves (or later re-resolves)
/// to the server's own networks is never connected to. The address checked is the one
/// connected to: nothing resolves the name a second time in between.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public = public_only(found)?;
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Whether a send failed because the receiver's name resolves only to own networks.
fn refused_own_network(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<OwnNetworksOnly>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn storage(e: sqlx::Error) -> ApiError {
    ApiError::storage(&e)
}

fn data_key(app: &AppState) -> Result<&DataKey, ApiError> {
    app.keys.data_key.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::KeysUnavailable,
            "this server has no data key configured (set AI_CREDITS_DATA_KEY or --data-key-file), so it cannot keep webhook secrets",
        )
    })
}

/// `POST /v1/accounts/{id}/webhooks {"url"}`.
pub async fn create(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.may(Action::ManageWebhooks, Some(&id))?;
    let body = crate::http::json_object(body)?;
    if let Some(unknown) = body.keys().find(|k| k.as_str() != "url") {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("unknown field `{unknown}`: a webhook is {{\"url\": …}}"),
        ));
    }
    let url = body
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.len() <= URL_BYTES_MAX)
        .and_then(|u| reqwest::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "`url` must be an http or https URL of at most 2000 bytes",
            )
        })?;
    if !app.policy.webhooks_allow_private && private_host(&url) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            "`url` names a loopback, private or link-local address; this server refuses those (serve --webhooks-allow-private accepts them)",
        ));
    }
    let key = data_key(&app)?;
    crate::http::account_must_exist(&app.ctx.db, &id).await?;
    let db = &app.ctx.db;
    let count = sqlx::query("SELECT COUNT(*) FROM webhooks WHERE account_id = $1")
        .bind(&id)
        .fetch_one(&db.pool)
        .await
        .map_err(storage)?
        .try_get::<i64, _>(0)
        .map_err(storage)?;
    if count >= WEBHOOKS_MAX as i64 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::InvalidRequest,
            format!("an account has at most {WEBHOOKS_MAX} webhooks; remove one first"),
        ));
    }
    let webhook = format!("wh_{}", random_hex(12));
    let secret = Secret::new(format!("whsec_{}", random_hex(32)));
    let sealed = key
        .seal(&secret, &sealing_context(&id, &webhook))
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::EncryptionFailed,
                "the webhook's secret could not be encrypted; nothing was saved",
            )
        })?;
    let created_at = format_instant(&engine::clock());
    sqlx::query(
        "INSERT INTO webhooks (account_id, id, url, ciphertext, nonce, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&webhook)
    .bind(url.as_str())
    .bind(&sealed.ciphertext_hex)
    .bind(&sealed.nonce_hex)
    .bind(&created_at)
    .bind(caller.member())
    .execute(&db.pool)
    .await
    .map_err(storage)?;
    tracing::info!(account = %id, webhook = %webhook, "webhook registered");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": webhook,
            "url": url.as_str(),
            "secret": secret.expose(),
            "created_at": created_at,
        })),
    ))
}

/// `GET /v1/accounts/{id}/webhooks`.
pub async fn list(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::ManageWebhooks, Some(&id))?;
    let rows = sqlx::query(
        "SELECT id, url, created_at, created_by FROM webhooks WHERE account_id = $1 ORDER BY created_at, id",
    )
    .bind(&id)
    .fetch_all(&app.ctx.db.pool)
    .await
    .map_err(storage)?;
    let hooks = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<String, _>(0)?,
                "url": r.try_get::<String, _>(1)?,
                "created_at": r.try_get::<String, _>(2)?,
                "created_by": r.try_get::<String, _>(3)?,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(storage)?;
    Ok(Json(json!({"webhooks": hooks})))
}

/// `DELETE /v1/accounts/{id}/webhooks/{wid}`: its pending deliveries are given up.
pub async fn delete(
    State(app): State<Arc<AppState>>,
    Path((id, webhook)): Path<(String, String)>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.may(Action::ManageWebhooks, Some(&id))?;
    let well_formed = webhook
        .strip_prefix("wh_")
        .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            "a webhook id is `wh_` and 24 hexadecimal digits, as registering it answered",
        ));
    }
    let db = &app.ctx.db;
    let mut tx = db.begin_write().await.map_err(storage)?;
    let removed = sqlx::query("DELETE FROM webhooks WHERE account_id = $1 AND id = $2")
        .bind(&id)
        .bind(&webhook)
        .execute(&mut *tx)
        .await
        .map_err(storage)?
        .rows_affected();
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed', last_error = 'webhook removed' \
         WHERE account_id = $1 AND webhook_id = $2 AND state = 'pending'",
    )
    .bind(&id)
    .bind(&webhook)
    .execute(&mut *tx)
    .await
    .map_err(storage)?;
    tx.commit().await.map_err(storage)?;
    if removed == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no webhook {webhook:?} on this account"),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/accounts/{id}/webhooks/deliveries`: the newest first.
pub async fn deliveries(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::ManageWebhooks, Some(&id))?;
    let rows = sqlx::query(
        "SELECT id, webhook_id, alert_id, type, state, attempts, last_status, last_error, created_at, delivered_at, next_at \
         FROM webhook_deliveries WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(&id)
    .bind(LOG_MAX)
    .fetch_all(&app.ctx.db.pool)
    .await
    .map_err(storage)?;
    let log = rows
        .iter()
        .map(|r| {
            let state: String = r.try_get(4)?;
            let next_at: i64 = r.try_get(10)?;
            Ok(json!({
                "id": r.try_get::<String, _>(0)?,
                "webhook": r.try_get::<String, _>(1)?,
                "alert": r.try_get::<String, _>(2)?,
                "type": r.try_get::<String, _>(3)?,
                "attempts": r.try_get::<i64, _>(5)?,
                "last_status": r.try_get::<Option<i64>, _>(6)?,
                "last_error": r.try_get::<Option<String>, _>(7)?,
                "created_at": r.try_get::<String, _>(8)?,
                "delivered_at": r.try_get::<Option<String>, _>(9)?,
                "next_attempt_at": (state == "pending")
                    .then(|| chrono::DateTime::from_timestamp_millis(next_at).map(|t| format_instant(&t)))
                    .flatten(),
                "state": state,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(storage)?;
    Ok(Json(json!({"deliveries": log})))
}

/// Starts the worker: scans for alerts and sends due deliveries, every `scan_every`.
pub fn start(ctx: Arc<Ctx>, data_key: Option<DataKey>, settings: Settings) {
    let Some(key) = data_key else {
        return;
    };
    let mut http = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if !settings.allow_private {
        http = http.dns_resolver(Arc::new(PublicOnly));
    }
    let http = http.build().expect("an HTTP client");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(settings.scan_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = scan(&ctx).await {
                tracing::warn!(code = %e.code, "webhooks: the alert scan failed; it runs again");
            }
            if let Err(e) = send_due(&ctx.db, &http, &key, settings.retry_base_ms).await {
                tracing::warn!(error = %e, "webhooks: sending failed; it runs again");
            }
        }
    });
}

/// Records a delivery for every webhook and every alert that holds now (once per pair).
async fn scan(ctx: &Ctx) -> Result<(), ApiError> {
    let hooks = sqlx::query("SELECT account_id, id FROM webhooks ORDER BY account_id")
        .fetch_all(&ctx.db.pool)
        .await
        .map_err(storage)?;
    let mut by_account: Vec<(String, Vec<String>)> = Vec::new();
    for row in &hooks {
        let account: String = row.try_get(0).map_err(storage)?;
        let hook: String = row.try_get(1).map_err(storage)?;
        match by_account.last_mut() {
            Some((a, list)) if *a == account => list.push(hook),
            _ => by_account.push((account, vec![hook])),
        }
    }
    for (account, hooks) in by_account {
        let (ledger, _) = engine::read_ledger(ctx, &account).await?;
        let at = ledger
            .now()
            .map_or(engine::clock(), |n| n.max(engine::clock()));
        let alerts = ledger.alerts(at)?;
        if alerts.is_empty() {
            continue;
        }
        // An alert holds for days: read which are recorded already rather than try to insert
        // them again on every scan (each attempt would take SQLite's write lock).
        let recorded: std::collections::HashSet<(String, String)> = sqlx::query(
            "SELECT webhook_id, alert_id FROM webhook_deliveries WHERE account_id = $1",
        )
        .bind(&account)
        .fetch_all(&ctx.db.pool)
        .await
        .map_err(storage)?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(storage)?;
        for alert in &alerts {
            for hook in &hooks {
                if recorded.contains(&(hook.clone(), alert.id.clone())) {
                    continue;
                }
                let delivery = format!("whd_{}", random_hex(12));
                let created_at = format_instant(&engine::clock());
                let kind = format!("alert.{}", alert.kind.as_str());
                let body = json!({
                    "id": delivery,
                    "type": kind,
                    "account": account,
                    "created_at": created_at,
                    "alert": alert,
                })
                .to_string();
                let inserted = sqlx::query(
                    "INSERT INTO webhook_deliveries (account_id, webhook_id, alert_id, id, type, body, state, attempts, next_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8) \
                     ON CONFLICT (account_id, webhook_id, alert_id) DO NOTHING",
                )
                .bind(&account)
                .bind(hook)
                .bind(&alert.id)
                .bind(&delivery)
                .bind(&kind)
                .bind(&body)
                .bind(now_ms())
                .bind(&created_at)
                .execute(&ctx.db.pool)
                .await
                .map_err(storage)?
                .rows_affected();
                if inserted == 1 {
                    tracing::info!(account = %account, webhook = %hook, alert = %alert.id, "webhooks: alert to deliver");
                }
            }
        }
    }
    Ok(())
}

/// Sends the deliveries that are due, each claimed first so no other server sends it too.
async fn send_due(
    db: &Db,
    http: &reqwest::Client,
    key: &DataKey,
    retry_base_ms: i64,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let due = sqlx::query(
        "SELECT d.id, d.account_id, d.webhook_id, d.body, d.attempts, w.url, w.ciphertext, w.nonce \
         FROM webhook_deliveries d JOIN webhooks w ON w.account_id = d.account_id AND w.id = d.webhook_id \
         WHERE d.state = 'pending' AND d.next_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until < $1) \
         ORDER BY d.next_at LIMIT $2",
    )
    .bind(now)
    .bind(DUE_PER_ROUND)
    .fetch_all(&db.pool)
    .await?;
    for row in &due {
        let id: String = row.try_get(0)?;
        let claimed = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_until = $1 \
             WHERE id = $2 AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < $3)",
        )
        .bind(now + CLAIM_MS)
        .bind(&id)
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected();
        if claimed != 1 {
            continue; // another server has it
        }
        let account: String = row.try_get(1)?;
        let webhook: String = row.try_get(2)?;
        let body: String = row.try_get(3)?;
        let attempts: i64 = row.try_get::<i64, _>(4)? + 1;
        let url: String = row.try_get(5)?;
        let sealed = Sealed {
            ciphertext_hex: row.try_get(6)?,
            nonce_hex: row.try_get(7)?,
        };
        let outcome = match key.open(&sealed, &sealing_context(&account, &webhook)) {
            Err(_) => Err((
                None,
                "the webhook's secret does not decrypt with this data key".to_owned(),
            )),
            Ok(secret) => {
                let t = engine::clock().timestamp();
                let sent = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("ai-credits-signature", signature(secret.expose(), t, &body))
                    .header("ai-credits-delivery", &id)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => Ok(i64::from(r.status().as_u16())),
                    Ok(r) => Err((
                        Some(i64::from(r.status().as_u16())),
                        format!("the receiver answered {}", r.status().as_u16()),
                    )),
                    Err(e) if e.is_timeout() => {
                        Err((None, "the receiver did not answer in time".to_owned()))
                    }
                    Err(e) if refused_own_network(&e) => Err((
                        None,
                        "the receiver's name resolves only to the server's own networks \
                         (serve --webhooks-allow-private allows them)"
                            .to_owned(),
                    )),
                    Err(_) => Err((None, "the receiver could not be reached".to_owned())),
                }
            }
        };
        match outcome {
            Ok(status) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET state = 'delivered', attempts = $1, last_status = $2, \
                     last_error = NULL, delivered_at = $3, claimed_until = NULL WHERE id = $4",
                )
                .bind(attempts)
                .bind(status)
                .bind(format_instant(&engine::clock()))
                .bind(&id)
                .execute(&db.pool)
                .await?;
                tracing::info!(account = %account, delivery = %id, attempts, "webhooks: delivered");
            }
            Err((status, error)) => {
                let state = if attempts >= ATTEMPTS_MAX {
                    "failed"
                } else {
                    "pending"
                };
                sqlx::query(
                    "UPDATE webhook_deliveries SET state = $1, attempts = $2, last_status = $3, last_error = $4, \
                     next_at = $5, claimed_until = NULL WHERE id = $6",
                )
                .bind(state)
                .bind(attempts)
                .bind(status)
                .bind(&error)
                .bind(now_ms() + backoff_ms(retry_base_ms, attempts))
                .bind(&id)
                .execute(&db.pool)
                .await?;
                tracing::warn!(account = %account, delivery = %id, attempts, state, reason = %error, "webhooks: not delivered");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_time_and_the_body() {
        // Proves the header's shape (t=, then 64 hex digits of v1=) changes with the time, and that the HMAC used is HMAC-SHA256 (RFC 4231's test case 2).
        let sig = signature("Jefe", 0, "what do ya want for nothing?");
        assert!(sig.starts_with("t=0,v1="), "{sig}");
        assert_eq!(sig.len(), "t=0,v1=".len() + 64);
        assert_eq!(sig, signature("Jefe", 0, "what do ya want for nothing?"));
        assert_ne!(sig, signature("Jefe", 1, "what do ya want for nothing?"));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "RFC 4231 test case 2"
        );
    }

    #[tokio::test]
    async fn a_name_is_connected_to_only_at_its_public_addresses() {
        // Proves the delivery client's resolution keeps a name's public addresses and refuses one that resolves only to the server's own networks (localhost: loopback), with an error the send can tell apart.
        let mixed = [
            "127.0.0.1:0",
            "10.0.0.7:0",
            "8.8.4.4:0",
            "[::1]:0",
            "[2001:db8::5]:0",
        ]
        .map(|a| a.parse::<SocketAddr>().unwrap());
        let kept = public_only(mixed.into_iter()).unwrap();
        assert_eq!(
            kept,
            vec![
                "8.8.4.4:0".parse().unwrap(),
                "[2001:db8::5]:0".parse().unwrap()
            ]
        );
        assert!(public_only(mixed[..2].iter().copied()).is_err());
        let name: Name = "localhost".parse().unwrap();
        let refused = PublicOnly.resolve(name).await.err().expect("refused");
        assert!(refused.is::<OwnNetworksOnly>(), "{refused}");
        // Through a client, as deliveries are sent: the error names the cause.
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(PublicOnly))
            .build()
            .unwrap();
        let e = http
            .post("http://localhost:9/hook")
            .send()
            .await
            .expect_err("not sent");
        assert!(refused_own_network(&e), "{e:?}");
    }

    #[test]
    fn webhooks_to_the_servers_own_networks_are_recognised() {
        // Proves loopback, private, link-local, CGNAT, unique-local and localhost hosts are caught, and public hosts are not.
        let private = |u: &str| private_host(&reqwest::Url::parse(u).unwrap());
        for u in [
            "http://127.0.0.1/h",
            "http://10.1.2.3/h",
            "http://192.168.0.5/h",
            "http://172.16.0.1/h",
            "http://169.254.169.254/latest",
            "http://100.64.0.1/h",
            "http://0.0.0.0/h",
            "http://[::1]/h",
            "http://[fd00::1]/h",
            "http://[fe80::1]/h",
            "http://[::ffff:127.0.0.1]/h",
            "http://localhost:8080/h",
            "http://app.localhost/h",
        ] {
            assert!(private(u), "{u}");
        }
        for u in [
            "https://hooks.example.com/x",
            "http://8.8.8.8/h",
            "http://[2001:db8::1]/h",
            "https://172.32.0.1/h",
        ] {
            assert!(!private(u), "{u}");
        }
    }

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        // Proves the waits between attempts: base, 2×, 4×… capped at an hour.
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 2), 2000);
        assert_eq!(backoff_ms(1000, 4), 8000);
        assert_eq!(backoff_ms(1000, 40), BACKOFF_MAX_MS);
    }
}
