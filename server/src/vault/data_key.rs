//! Which data key sealed a database's provider keys, and moving them to a new one.
//!
//! The database stores the data key's fingerprint (an HMAC-SHA256 of a constant under the
//! key: it says which key, and nothing that helps find it). A server started with another
//! key refuses to start, saying what to do, instead of showing keys as `connected` that it can
//! never decrypt. `ai-credits rotate-data-key` re-encrypts every stored key with a new data
//! key and records the new fingerprint, in one transaction.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;

use crate::store::Db;
use crate::vault::secret::{DataKey, Sealed};

/// The `settings` row that holds the fingerprint.
pub const FINGERPRINT_SETTING: &str = "data_key_fingerprint";
/// What the fingerprint is the MAC of.
const FINGERPRINT_MESSAGE: &[u8] = b"ai-credits data key fingerprint v1";

impl DataKey {
    /// The key's fingerprint, in hex.
    pub fn fingerprint(&self) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.bytes())
            .expect("HMAC takes a key of any length");
        mac.update(FINGERPRINT_MESSAGE);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Why a data key cannot be used with a database.
#[derive(Debug)]
pub enum Mismatch {
    Storage(sqlx::Error),
    /// The database's keys were sealed with another data key.
    OtherKey,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Storage(e) => write!(f, "the database could not be read: {e}"),
            Mismatch::OtherKey => f.write_str(
                "this data key is not the one this database's provider keys were sealed with \
                 (its fingerprint differs); start with that key (AI_CREDITS_DATA_KEY or \
                 --data-key-file), or move the keys to a new one with `ai-credits \
                 rotate-data-key --new-key-file PATH` run with the old key",
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

impl From<sqlx::Error> for Mismatch {
    fn from(e: sqlx::Error) -> Mismatch {
        Mismatch::Storage(e)
    }
}

/// Checks `key` against the fingerprint the database holds; a database without one gets
/// this key's (after checking that the keys it already holds, if any, open with it).
pub async fn check(db: &Db, key: &DataKey) -> Result<(), Mismatch> {
    let ours = key.fingerprint();
    let stored = match db.setting(FINGERPRINT_SETTING).await? {
        Some(stored) => stored,
        None => {
            // A database from before fingerprints: its keys say which data key is theirs.
            if let Some((context, sealed)) = first_sealed(db).await?
                && key.open(&sealed, &context).is_err()
            {
                return Err(Mismatch::OtherKey);
            }
            db.setting_or_insert(FINGERPRINT_SETTING, &ours).await?
        }
    };
    if stored == ours {
        Ok(())
    } else {
        Err(Mismatch::OtherKey)
    }
}

/// One stored key and its context, if there is any.
async fn first_sealed(db: &Db) -> Result<Option<(String, Sealed)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT account_id, provider, ciphertext, nonce FROM provider_keys ORDER BY account_id, provider LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| sealed_row(&r).map(|(a, p, s)| (format!("{a}/{p}"), s)))
        .transpose()
}

fn sealed_row(r: &sqlx::any::AnyRow) -> Result<(String, String, Sealed), sqlx::Error> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        Sealed {
            ciphertext_hex: r.try_get(2)?,
            nonce_hex: r.try_get(3)?,
        },
    ))
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub keys: usize,
}

/// Why a rotation did nothing.
#[derive(Debug)]
pub enum RotateError {
    Mismatch(Mismatch),
    /// A stored key did not open with the old data key (named by account and provider).
    Unreadable(String),
    Seal(String),
}

impl std::fmt::Display for RotateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RotateError::Mismatch(m) => m.fmt(f),
            RotateError::Unreadable(which) => write!(
                f,
                "the stored key {which} does not open with the old data key; nothing was changed"
            ),
            RotateError::Seal(e) => write!(f, "encryption failed: {e}; nothing was changed"),
        }
    }
}

impl std::error::Error for RotateError {}

impl From<sqlx::Error> for RotateError {
    fn from(e: sqlx::Error) -> RotateError {
        RotateError::Mismatch(Mismatch::Storage(e))
    }
}

/// Re-encrypts every stored provider key and webhook secret from `old` to `new` and records
/// `new`'s fingerprint, in one transaction: all of it or none.
pub async fn rotate(db: &Db, old: &DataKey, new: &DataKey) -> Result<Rotated, RotateError> {
    check(db, old).await.map_err(RotateError::Mismatch)?;
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query("SELECT account_id, provider, ciphertext, nonce FROM provider_keys")
        .fetch_all(&mut *tx)
        .await?;
    let mut resealed = Vec::with_capacity(rows.len());
    for row in &rows {
        let (account, provider, sealed) = sealed_row(row)?;
        let context = format!("{account}/{provider}");
        let secret = old
            .open(&sealed, &context)
            .map_err(|_| RotateError::Unreadable(context.clone()))?;
        let again = new.seal(&secret, &context).map_err(RotateError::Seal)?;
        resealed.push((account, provider, again));
    }
    for (account, provider, sealed) in &resealed {
        sqlx::query(
            "UPDATE provider_keys SET ciphertext = $1, nonce = $2 WHERE account_id = $3 AND provider = $4",
        )
        .bind(&sealed.ciphertext_hex)
        .bind(&sealed.nonce_hex)
        .bind(account)
        .bind(provider)
        .execute(&mut *tx)
        .await?;
    }
    // Webhook secrets are sealed with the same key ("webhook:<account>/<id>").
    let hooks = sqlx::query("SELECT account_id, id, ciphertext, nonce FROM webhooks")
        .fetch_all(&mut *tx)
        .await?;
    for row in &hooks {
        let (account, id, sealed) = sealed_row(row)?;
        let context = format!("webhook:{account}/{id}");
        let secret = old
            .open(&sealed, &context)
            .map_err(|_| RotateError::Unreadable(context.clone()))?;
        let again = new.seal(&secret, &context).map_err(RotateError::Seal)?;
        sqlx::query(
            "UPDATE webhooks SET ciphertext = $1, nonce = $2 WHERE account_id = $3 AND id = $4",
        )
        .bind(&again.ciphertext_hex)
        .bind(&again.nonce_hex)
        .bind(&account)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE settings SET value = $1 WHERE name = $2")
        .bind(new.fingerprint())
        .bind(FINGERPRINT_SETTING)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Rotated {
        keys: resealed.len(),
    })
}
