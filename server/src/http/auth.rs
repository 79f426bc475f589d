//! Who is calling: the platform operator (the `AI_CREDITS_ADMIN_TOKEN` bearer, which creates
//! accounts and issues their tokens) or a token of one account with one role. Tokens are
//! random, shown once, and stored only as their SHA-256.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use ai_credits::EventKind;
use ai_credits::time::format_instant;

use crate::error::ApiError;
use crate::store::Db;

/// Most token lookups kept in memory (tokens are never revoked by this API, so a cached
/// token is never stale).
const TOKEN_CACHE_MAX: usize = 100_000;

/// What a token of an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The business's administrator: packs, plan, provider keys, the model; and, being a
    /// team member who uses the assistant too, whatever a member may (holds and releases).
    Admin,
    /// A team member in the browser: reads state and entries, places and releases holds,
    /// picks the model.
    Member,
    /// The host application's backend after each AI call: usage, debit, commit, release, and
    /// reporting a provider key the provider refused.
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

    /// Whether this role may post an event of `kind`.
    pub fn may_post(self, kind: EventKind) -> bool {
        use EventKind as K;
        match self {
            Role::Admin => matches!(
                kind,
                K::PurchasePack
                    | K::ChangePlan
                    | K::ConnectKey
                    | K::KeyInvalid
                    | K::RemoveKey
                    | K::SelectModel
                    | K::Hold
                    | K::Release
            ),
            Role::Member => matches!(kind, K::Hold | K::Release | K::SelectModel),
            Role::Service => matches!(
                kind,
                K::Usage | K::Debit | K::Commit | K::Release | K::KeyInvalid
            ),
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
    /// May this caller read `account_id`'s state and entries? A token of another account
    /// gets the same 404 as an account that does not exist.
    pub fn check_read(&self, account_id: &str) -> Result<(), ApiError> {
        match self {
            Caller::Platform => Ok(()),
            Caller::Account {
                account_id: own, ..
            } if own == account_id => Ok(()),
            Caller::Account { .. } => Err(ApiError::account_not_found()),
        }
    }

    /// May this caller post events to `account_id` at all (the kind is checked later)?
    pub fn check_post(&self, account_id: &str) -> Result<Role, ApiError> {
        match self {
            Caller::Platform => Err(ApiError::forbidden(
                "post events (use a token of the account)",
            )),
            Caller::Account {
                account_id: own,
                role,
                ..
            } if own == account_id => Ok(*role),
            Caller::Account { .. } => Err(ApiError::account_not_found()),
        }
    }

    /// Only a token of `account_id` with one of `roles`: the platform and other roles get 403,
    /// another account's token the same 404 as an account that does not exist. The member
    /// named by the token, and its role, when it may.
    pub fn check_role(
        &self,
        account_id: &str,
        roles: &[Role],
        what: &str,
    ) -> Result<(&str, Role), ApiError> {
        match self {
            Caller::Platform => Err(ApiError::forbidden(&format!(
                "{what} (use a token of the account)"
            ))),
            Caller::Account {
                account_id: own, ..
            } if own != account_id => Err(ApiError::account_not_found()),
            Caller::Account { member, role, .. } if roles.contains(role) => Ok((member, *role)),
            Caller::Account { role, .. } => Err(ApiError::forbidden(&format!(
                "{what} (role {})",
                role.as_str()
            ))),
        }
    }

    pub fn check_platform(&self) -> Result<(), ApiError> {
        match self {
            Caller::Platform => Ok(()),
            Caller::Account { .. } => Err(ApiError::forbidden(
                "create accounts or tokens (that takes the platform admin token)",
            )),
        }
    }

    pub fn member(&self) -> &str {
        match self {
            Caller::Platform => "platform",
            Caller::Account { member, .. } => member,
        }
    }
}

/// A token's owner, as stored.
#[derive(Clone, Debug)]
struct TokenInfo {
    account_id: String,
    member: String,
    role: Role,
}

/// Resolves bearer tokens.
pub struct Authenticator {
    /// SHA-256 of the platform admin token; `None` switches the admin endpoints off.
    admin_hash: Option<[u8; 32]>,
    cache: Mutex<HashMap<[u8; 32], TokenInfo>>,
}

impl Authenticator {
    pub fn new(admin_token: Option<&str>) -> Authenticator {
        Authenticator {
            admin_hash: admin_token.filter(|t| !t.is_empty()).map(sha256),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn admin_enabled(&self) -> bool {
        self.admin_hash.is_some()
    }

    /// The caller named by the `Authorization` header.
    pub async fn caller(&self, db: &Db, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 512)
            .ok_or_else(ApiError::unauthorized)?;
        let hash = sha256(token);
        // Comparing digests, not tokens: the time taken says nothing about the admin token.
        if self.admin_hash == Some(hash) {
            return Ok(Caller::Platform);
        }
        let cached = self.lock().get(&hash).cloned();
        let info = match cached {
            Some(info) => info,
            None => {
                let row = db
                    .token(&hex::encode(hash))
                    .await
                    .map_err(|e| ApiError::storage(&e))?;
                let Some((account_id, member, role)) = row else {
                    return Err(ApiError::unauthorized());
                };
                let role = Role::parse(&role).ok_or_else(ApiError::unauthorized)?;
                let info = TokenInfo {
                    account_id,
                    member,
                    role,
                };
                let mut cache = self.lock();
                if cache.len() >= TOKEN_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(hash, info.clone());
                info
            }
        };
        Ok(Caller::Account {
            account_id: info.account_id,
            member: info.member,
            role: info.role,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], TokenInfo>> {
        // A panic while holding this lock cannot leave the map half-changed; keep serving.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Issues a new token of `account_id` for `member` with `role`: the secret is returned, once,
/// and only its SHA-256 is stored. `None` when there is no such account.
pub async fn issue_token(
    db: &Db,
    account_id: &str,
    member: &str,
    role: Role,
) -> Result<Option<String>, ApiError> {
    let storage = |e: sqlx::Error| ApiError::storage(&e);
    if !db.account_exists(account_id).await.map_err(storage)? {
        return Ok(None);
    }
    let token = new_token();
    db.create_token(
        &hex::encode(sha256(&token)),
        account_id,
        member,
        role.as_str(),
        &format_instant(&crate::engine::clock()),
    )
    .await
    .map_err(storage)?;
    Ok(Some(token))
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
    fn roles_post_exactly_their_kinds() {
        // Proves the role table: admin buys, configures and may do what a member may, member holds, service charges.
        let may = |r: Role| -> Vec<&str> {
            EventKind::ALL
                .into_iter()
                .filter(|k| r.may_post(*k))
                .map(EventKind::as_str)
                .collect()
        };
        assert_eq!(
            may(Role::Admin),
            [
                "hold",
                "release",
                "purchase_pack",
                "connect_key",
                "key_invalid",
                "remove_key",
                "select_model",
                "change_plan"
            ]
        );
        assert_eq!(may(Role::Member), ["hold", "release", "select_model"]);
        assert_eq!(
            may(Role::Service),
            ["usage", "debit", "commit", "release", "key_invalid"]
        );
    }

    #[test]
    fn tokens_are_random_and_hashes_are_hex() {
        // Proves two tokens differ and a stored hash is 64 hex characters.
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(hex::encode(sha256(&a)).len(), 64);
    }
}
