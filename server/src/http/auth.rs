//! Who is calling: the platform operator (the `AI_CREDITS_ADMIN_TOKEN` bearer, which creates
//! accounts and issues their tokens) or a token of one account with one role. Tokens are
//! random, shown once, and stored only as their SHA-256; each has a public id, an optional
//! expiry, and can be revoked. Looked-up tokens are cached; a revocation bumps the database's
//! token epoch, which every server reads every [`EPOCH_POLL`] and forgets its cache when it
//! moved, so a revoked token stops working everywhere within about that time (one query per
//! poll, whatever the number of tokens). When a token was last used is kept in memory and
//! written every `--last-used-flush-s` (default [`LAST_USED_FLUSH`]), in one transaction.
//!
//! The caller is an extractor: a handler that takes a [`Caller`] is only reached with a
//! token the server knows, within its rate limits (see `limits`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as Stopwatch};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use ai_credits::time::{format_instant, parse_instant};

use crate::error::{ApiError, ErrorCode};
use crate::http::AppState;
use crate::store::{Db, TokenRow};

/// Most token lookups kept in memory; past it the cache starts again empty.
const TOKEN_CACHE_MAX: usize = 100_000;
/// How often the token epoch is read: about the most a revoked token keeps working on a
/// server that had it cached.
pub const EPOCH_POLL: Duration = Duration::from_millis(500);
/// How often the tokens' `last_used_at` are written by default (`--last-used-flush-s`).
pub const LAST_USED_FLUSH: Duration = Duration::from_secs(30);
/// Longest expiry a token may be issued with: ten years.
pub const TOKEN_EXPIRES_IN_S_MAX: u64 = 10 * 366 * 24 * 3600;
/// Longest bearer token read.
const TOKEN_BYTES_MAX: usize = 512;

/// What a token of an account may do (see `roles` for the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The business's administrator: packs, provider keys, the model, the audit log; and,
    /// being a team member who uses the assistant too, what a member may.
    Admin,
    /// A team member in the browser: reads the account, places and releases its own holds.
    Member,
    /// The host application's backend: usage, debits, commits and releases for any member,
    /// and reporting a provider key the provider refused.
    Service,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Service];

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Service => "service",
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The platform operator.
    Platform,
    /// A token of one account.
    Account {
        account_id: String,
        member: String,
        role: Role,
    },
}

impl Caller {
    /// The member the caller acts as (`platform` for the operator).
    pub fn member(&self) -> &str {
        match self {
            Caller::Platform => "platform",
            Caller::Account { member, .. } => member,
        }
    }

    /// The caller's role as the audit log names it.
    pub fn role_name(&self) -> &'static str {
        match self {
            Caller::Platform => "platform",
            Caller::Account { role, .. } => role.as_str(),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        let (caller, hash) = app.auth.caller(&app.ctx.db, &parts.headers).await?;
        if let Caller::Account { account_id, .. } = &caller {
            app.limits.check(&hash, account_id)?;
        }
        Ok(caller)
    }
}

/// A token's owner, as looked up.
#[derive(Clone, Debug)]
struct TokenInfo {
    account_id: String,
    member: String,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
}

/// Resolves bearer tokens.
pub struct Authenticator {
    /// SHA-256 of the platform tokens: the current one and, during a rotation, the next
    /// (`AI_CREDITS_ADMIN_TOKEN_NEXT`); none switches the platform's endpoints off.
    admin_hashes: Vec<[u8; 32]>,
    cache: Mutex<HashMap<[u8; 32], TokenInfo>>,
    /// Tokens used since the last flush, with when.
    used: Mutex<HashMap<[u8; 32], DateTime<Utc>>>,
}

impl Authenticator {
    pub fn new(admin_tokens: &[Option<&str>]) -> Authenticator {
        Authenticator {
            admin_hashes: admin_tokens
                .iter()
                .flatten()
                .filter(|t| !t.trim().is_empty())
                .map(|t| sha256(t.trim()))
                .collect(),
            cache: Mutex::new(HashMap::new()),
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Polls the token epoch (forgetting the cache when it moves) and flushes `last_used_at`,
    /// until the runtime stops.
    pub fn start(self: &Arc<Self>, db: Db, flush_every: Duration) {
        let auth = Arc::clone(self);
        tokio::spawn(async move {
            let mut epoch = db.token_epoch().await.ok();
            let mut poll = tokio::time::interval(EPOCH_POLL);
            let mut flushed = Stopwatch::now();
            loop {
                poll.tick().await;
                match db.token_epoch().await {
                    Ok(now) if Some(now) != epoch => {
                        auth.lock().clear();
                        epoch = Some(now);
                    }
                    Ok(_) => {}
                    // Unsure what was revoked: trust nothing cached.
                    Err(_) => auth.lock().clear(),
                }
                if flushed.elapsed() >= flush_every {
                    flushed = Stopwatch::now();
                    auth.flush_last_used(&db).await;
                }
            }
        });
    }

    /// Writes the `last_used_at` of the tokens used since the last flush.
    pub async fn flush_last_used(&self, db: &Db) {
        let used: Vec<(String, String)> = {
            let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
            used.drain()
                .map(|(hash, at)| (hex::encode(hash), format_instant(&at)))
                .collect()
        };
        if used.is_empty() {
            return;
        }
        if let Err(e) = db.touch_tokens(&used).await {
            tracing::debug!(error = %e, "last_used_at not written");
        }
    }

    pub fn admin_enabled(&self) -> bool {
        !self.admin_hashes.is_empty()
    }

    /// The caller named by the request's token, and the token's hash. The token is read from
    /// `Authorization: Bearer`, else `x-api-key` or `x-goog-api-key` (what providers' SDKs
    /// send, for the gateway).
    pub async fn caller(
        &self,
        db: &Db,
        headers: &HeaderMap,
    ) -> Result<(Caller, [u8; 32]), ApiError> {
        let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
        let hash = sha256(token);
        // Comparing digests, not tokens: the time taken says nothing about the admin token.
        if self.admin_hashes.contains(&hash) {
            return Ok((Caller::Platform, hash));
        }
        let cached = self.lock().get(&hash).cloned();
        let info = match cached {
            Some(info) => info,
            None => {
                let row = db
                    .token(&hex::encode(hash))
                    .await
                    .map_err(|e| ApiError::storage(&e))?
                    .ok_or_else(ApiError::unauthorized)?;
                let info = token_info(&row).ok_or_else(ApiError::unauthorized)?;
                self.remember(hash, info.clone());
                info
            }
        };
        let now = crate::engine::clock();
        if info.expires_at.is_some_and(|t| t <= now) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::TokenExpired,
                "this token has expired; ask the platform for a new one",
            ));
        }
        {
            let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
            if used.len() < TOKEN_CACHE_MAX {
                used.insert(hash, now);
            }
        }
        let caller = Caller::Account {
            account_id: info.account_id,
            member: info.member,
            role: info.role,
        };
        Ok((caller, hash))
    }

    fn remember(&self, hash: [u8; 32], info: TokenInfo) {
        let mut cache = self.lock();
        if cache.len() >= TOKEN_CACHE_MAX {
            cache.clear();
        }
        cache.insert(hash, info);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], TokenInfo>> {
        // A panic while holding this lock cannot leave the map half-changed; keep serving.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The request's token, from the first header that carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| header("x-api-key"))
        .or_else(|| header("x-goog-api-key"))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= TOKEN_BYTES_MAX)
}

fn token_info(row: &TokenRow) -> Option<TokenInfo> {
    Some(TokenInfo {
        account_id: row.account_id.clone(),
        member: row.member.clone(),
        role: Role::parse(&row.role)?,
        expires_at: match &row.expires_at {
            Some(text) => Some(parse_instant(text)?),
            None => None,
        },
    })
}

/// Issues a new token of `account_id` for `member` with `role`, expiring `expires_in_s`
/// after now when given: the secret is returned, once, with the stored row; only the
/// secret's SHA-256 is kept. `None` when there is no such account.
pub async fn issue_token(
    db: &Db,
    account_id: &str,
    member: &str,
    role: Role,
    expires_in_s: Option<u64>,
) -> Result<Option<(String, TokenRow)>, ApiError> {
    let storage = |e: sqlx::Error| ApiError::storage(&e);
    if !db.account_exists(account_id).await.map_err(storage)? {
        return Ok(None);
    }
    let now = crate::engine::clock();
    let expires_at = expires_in_s
        .map(|s| now + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX)))
        .map(|t| format_instant(&t));
    let token = new_token();
    let row = TokenRow {
        id: format!("tok_{}", random_hex(12)),
        account_id: account_id.to_owned(),
        member: member.to_owned(),
        role: role.as_str().to_owned(),
        created_at: format_instant(&now),
        expires_at,
        last_used_at: None,
    };
    db.create_token(&row, &hex::encode(sha256(&token)))
        .await
        .map_err(storage)?;
    Ok(Some((token, row)))
}

/// A new secret: `aic_` and 32 random bytes in hex.
pub fn new_token() -> String {
    format!("aic_{}", random_hex(32))
}

/// `bytes` random bytes in hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_are_hex() {
        // Proves two tokens differ and a stored hash is 64 hex characters.
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(hex::encode(sha256(&a)).len(), 64);
    }
}
