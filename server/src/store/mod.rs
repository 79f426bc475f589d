//! Storage: embedded SQLite (the zero-configuration default) or PostgreSQL, through sqlx's
//! `Any` driver with SQL both databases read. Only this module and `engine` speak SQL.
//!
//! Durability: SQLite runs in WAL mode with `synchronous = FULL` (every commit is on disk
//! before the server answers); PostgreSQL with its default `synchronous_commit = on`.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};

mod conversations;
pub use conversations::{ConversationRow, TurnRow, title_of};

/// Which database the server stores accounts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Most connections one server process opens to PostgreSQL (several processes may share one
/// database, whose default limit is 100 connections).
const PG_CONNECTIONS_MAX: u32 = 16;
/// Connections to an SQLite file: one writer at a time, readers beside it (WAL).
const SQLITE_CONNECTIONS_MAX: u32 = 8;
/// How long a writer waits for another process's SQLite write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// The storage of one server process.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Where to store: a PostgreSQL URL, or an SQLite file path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Postgres(String),
    SqliteFile(String),
}

impl Location {
    /// `--db` wins; then `DATABASE_URL` when it is a PostgreSQL URL; else `ai-credits.db` in
    /// the working directory.
    pub fn choose(db_flag: Option<&str>, database_url: Option<&str>) -> Location {
        let is_pg = |s: &str| s.starts_with("postgres://") || s.starts_with("postgresql://");
        match (db_flag, database_url) {
            (Some(flag), _) if is_pg(flag) => Location::Postgres(flag.to_owned()),
            (Some(flag), _) => Location::SqliteFile(flag.to_owned()),
            (None, Some(url)) if is_pg(url) => Location::Postgres(url.to_owned()),
            _ => Location::SqliteFile("ai-credits.db".to_owned()),
        }
    }

    /// Names the location for logs without the password of a PostgreSQL URL.
    pub fn describe(&self) -> String {
        match self {
            Location::SqliteFile(path) => format!("sqlite file {path}"),
            Location::Postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                format!("postgresql {host}")
            }
        }
    }
}

impl Db {
    /// Opens (creating an SQLite file if needed) and runs the migrations.
    pub async fn open(location: &Location) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let (url, backend, max) = match location {
            Location::Postgres(url) => (url.clone(), Backend::Postgres, PG_CONNECTIONS_MAX),
            Location::SqliteFile(path) => (
                format!("sqlite://{}?mode=rwc", Path::new(path).display()),
                Backend::Sqlite,
                SQLITE_CONNECTIONS_MAX,
            ),
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        // sqlx prepares and keeps every statement; PostgreSQL would then plan
                        // it once, generically, with the statistics of the moment — for a table
                        // that was nearly empty then, a scan that grows with it. Plan each
                        // execution with its values instead (point and range lookups on indexes).
                        conn.execute("SET plan_cache_mode = force_custom_plan")
                            .await?;
                    }
                    if backend == Backend::Sqlite {
                        // The busy timeout first: switching to WAL takes a lock that another
                        // server starting on the same file may hold for a moment.
                        conn.execute(
                            format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str(),
                        )
                        .await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let db = Db { pool, backend };
        match location {
            // PostgreSQL: sqlx's migrator holds an advisory lock while it migrates.
            Location::Postgres(_) => migrator().run(&db.pool).await?,
            // SQLite: sqlx takes no lock, so servers starting together on one new file would
            // both create its tables. An exclusive `flock` on the file (SQLite's own locks are
            // POSIX record locks, which it does not touch) makes them take turns.
            Location::SqliteFile(path) => {
                let lock = lock_file(Path::new(path)).await?;
                let migrated = migrator().run(&db.pool).await;
                drop(lock);
                migrated?;
            }
        }
        Ok(db)
    }

    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, where `BEGIN IMMEDIATE` already holds
    /// the database's one write lock.
    pub fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Starts a write transaction (rolled back if dropped before `commit`).
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        self.pool.begin_with(begin).await
    }

    /// Starts a read transaction that sees one snapshot for all its statements.
    pub async fn begin_read(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        self.pool.begin_with(begin).await
    }

    pub async fn create_account(
        &self,
        id: &str,
        plan: &str,
        cycle_anchor: &str,
        created_at: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO accounts (id, plan, cycle_anchor, now_at, version, event_count, created_at) \
             VALUES ($1, $2, $3, NULL, 0, 0, $4)",
        )
        .bind(id)
        .bind(plan)
        .bind(cycle_anchor)
        .bind(created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    pub async fn account_exists(&self, id: &str) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT 1 FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    pub async fn create_token(&self, token: &TokenRow, hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO tokens (hash, id, account_id, member, role, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hash)
        .bind(&token.id)
        .bind(&token.account_id)
        .bind(&token.member)
        .bind(&token.role)
        .bind(&token.created_at)
        .bind(&token.expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The token whose secret hashes to `hash`.
    pub async fn token(&self, hash: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| token_row(&r)).transpose()
    }

    /// An account's tokens, oldest first (never their secrets: only the hash is stored).
    pub async fn tokens(&self, account_id: &str) -> Result<Vec<TokenRow>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// Deletes an account's token and moves the token epoch, in one transaction, so every
    /// server forgets its cached tokens; whether there was one.
    pub async fn delete_token(&self, account_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM tokens WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() > 0 {
            sqlx::query(
                "INSERT INTO settings (name, value) VALUES ('token_epoch', '1') \
                 ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + 1 AS TEXT)",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The token epoch: moved by every revocation.
    pub async fn token_epoch(&self) -> Result<i64, sqlx::Error> {
        Ok(self
            .setting("token_epoch")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Records when tokens were last used, by hash, in one transaction.
    pub async fn touch_tokens(&self, used: &[(String, String)]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for (hash, at) in used {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE hash = $2")
                .bind(at)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// The database's own clock (SQLite: the clock of the process that opened it; PostgreSQL:
    /// the server's `clock_timestamp()`), to the millisecond.
    pub async fn clock(&self) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
        let query = match self.backend {
            Backend::Sqlite => "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Backend::Postgres => {
                "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
            }
        };
        let row = sqlx::query(query).fetch_one(&self.pool).await?;
        let text: String = row.try_get(0)?;
        ai_credits::time::parse_instant(&text).ok_or_else(|| {
            sqlx::Error::Decode(format!("the database's clock reads {text:?}").into())
        })
    }

    /// A deployment setting (`settings` table).
    pub async fn setting(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose()
    }

    /// Stores a setting unless one of that name exists; the value now stored.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(self
            .setting(name)
            .await?
            .unwrap_or_else(|| value.to_owned()))
    }

    /// An account's receipts, newest first: one per paid purchase, at most `limit`.
    pub async fn receipts(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<ReceiptRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT idem_id, pack, amount_cents, member, charged_at, processor_charge_id FROM charges \
             WHERE account_id = $1 ORDER BY charged_at DESC, idem_id LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReceiptRow {
                    purchase: r.try_get(0)?,
                    pack: r.try_get(1)?,
                    amount_cents: r.try_get(2)?,
                    member: r.try_get(3)?,
                    charged_at: r.try_get(4)?,
                    processor_charge_id: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// The charges recorded for an account, oldest first: (idempotency id, pack, cents).
    pub async fn charges(
        &self,
        account_id: &str,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT idem_id, pack, amount_cents FROM charges WHERE account_id = $1 ORDER BY charged_at, idem_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }
}

/// A paid purchase, as its receipt shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRow {
    /// The purchase event's id.
    pub purchase: String,
    pub pack: String,
    pub amount_cents: i64,
    pub member: String,
    pub charged_at: String,
    /// The payment processor's id of the charge.
    pub processor_charge_id: String,
}

/// A provider key row, without its ciphertext (what the API may show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub provider: String,
    pub last4: String,
    pub state: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub tested_at: String,
}

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub at: String,
    pub member: String,
    pub role: String,
    pub action: String,
    pub provider: Option<String>,
    pub detail: Option<String>,
}

/// Holds an exclusive lock on `path` (created when missing) until dropped.
async fn lock_file(path: &Path) -> Result<std::fs::File, sqlx::Error> {
    let path = path.to_owned();
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?;
    locked.map_err(sqlx::Error::Io)
}

/// A token as stored (without its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub account_id: String,
    pub member: String,
    pub role: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

const TOKEN_COLUMNS: &str = "id, account_id, member, role, created_at, expires_at, last_used_at";

fn token_row(r: &sqlx::any::AnyRow) -> Result<TokenRow, sqlx::Error> {
    Ok(TokenRow {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        member: r.try_get(2)?,
        role: r.try_get(3)?,
        created_at: r.try_get(4)?,
        expires_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
    })
}

/// Orders audit entries: microseconds since the epoch, strictly increasing in this process
/// ([`insert_audit`] also keeps it above the account's stored entries).
fn audit_seq() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_micros();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

impl Db {
    /// An account's keys, by provider, without their ciphertext.
    pub async fn keys(&self, account_id: &str) -> Result<Vec<KeyRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT provider, last4, state, reason, detail, tested_at FROM provider_keys \
             WHERE account_id = $1 ORDER BY provider",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    provider: r.try_get(0)?,
                    last4: r.try_get(1)?,
                    state: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    detail: r.try_get(4)?,
                    tested_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// An account's stored key for `provider`, sealed.
    pub async fn sealed_key(
        &self,
        account_id: &str,
        provider: &str,
    ) -> Result<Option<crate::vault::secret::Sealed>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT ciphertext, nonce FROM provider_keys WHERE account_id = $1 AND provider = $2",
        )
        .bind(account_id)
        .bind(provider)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(crate::vault::secret::Sealed {
                ciphertext_hex: r.try_get(0)?,
                nonce_hex: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// An account's audit log, oldest first, at most `limit` entries.
    /// The newest `limit` audit entries, oldest first.
    pub async fn audit(&self, account_id: &str, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at, member, role, action, provider, detail FROM \
             (SELECT seq, at, member, role, action, provider, detail FROM audit \
              WHERE account_id = $1 ORDER BY seq DESC LIMIT $2) AS newest ORDER BY seq",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    at: r.try_get(0)?,
                    member: r.try_get(1)?,
                    role: r.try_get(2)?,
                    action: r.try_get(3)?,
                    provider: r.try_get(4)?,
                    detail: r.try_get(5)?,
                })
            })
            .collect()
    }
}

/// Saves (or replaces) an account's key for a provider, encrypted. Key rows change only
/// here and in [`delete_key`] and [`mark_key_invalid`], each on the connection of the engine's
/// transaction that holds the account's lock (see `key_change`).
pub async fn put_key(
    conn: &mut AnyConnection,
    account_id: &str,
    sealed: &crate::vault::secret::Sealed,
    row: &KeyRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO provider_keys (account_id, provider, ciphertext, nonce, last4, state, reason, detail, tested_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (account_id, provider) DO UPDATE SET \
         ciphertext = excluded.ciphertext, nonce = excluded.nonce, last4 = excluded.last4, state = excluded.state, \
         reason = excluded.reason, detail = excluded.detail, tested_at = excluded.tested_at, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(&row.provider)
    .bind(&sealed.ciphertext_hex)
    .bind(&sealed.nonce_hex)
    .bind(&row.last4)
    .bind(&row.state)
    .bind(row.reason.as_deref())
    .bind(row.detail.as_deref())
    .bind(&row.tested_at)
    .bind(&row.tested_at)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// Marks a stored key invalid; false when there is no key for that provider.
pub async fn mark_key_invalid(
    conn: &mut AnyConnection,
    account_id: &str,
    provider: &str,
    reason: &str,
    at: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE provider_keys SET state = 'invalid', reason = $3, detail = NULL, updated_at = $4 \
         WHERE account_id = $1 AND provider = $2",
    )
    .bind(account_id)
    .bind(provider)
    .bind(reason)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes a key, ciphertext and all; false when there was none.
pub async fn delete_key(
    conn: &mut AnyConnection,
    account_id: &str,
    provider: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM provider_keys WHERE account_id = $1 AND provider = $2")
        .bind(account_id)
        .bind(provider)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Appends audit entries of one account, in order. Called with the account's row locked, so
/// each `seq` is above every stored one even when several processes (whose clocks may differ
/// a little) write the same account's log.
pub async fn insert_audit(
    conn: &mut AnyConnection,
    account_id: &str,
    entries: &[AuditRow],
) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let last: Option<i64> = sqlx::query("SELECT MAX(seq) FROM audit WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let mut seq = last.unwrap_or(0);
    for chunk in entries.chunks(ROWS_PER_STATEMENT_MAX) {
        let sql = format!(
            "INSERT INTO audit (account_id, seq, at, member, role, action, provider, detail) VALUES {}",
            value_rows(chunk.len(), 8)
        );
        let mut query = sqlx::query(&sql);
        for entry in chunk {
            seq = audit_seq().max(seq.saturating_add(1));
            query = query
                .bind(account_id)
                .bind(seq)
                .bind(&entry.at)
                .bind(&entry.member)
                .bind(&entry.role)
                .bind(&entry.action)
                .bind(entry.provider.as_deref())
                .bind(entry.detail.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// An account row as a writer or reader sees it.
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub plan: String,
    pub cycle_anchor: String,
    pub now_at: Option<String>,
    pub version: i64,
    pub event_count: i64,
}

/// Rows per multi-row statement (PostgreSQL takes at most 65,535 parameters, SQLite 32,766).
const ROWS_PER_STATEMENT_MAX: usize = 200;

/// Reads (and with `lock` = `FOR UPDATE`, locks) the rows of `ids`, in id order so that two
/// transactions locking overlapping sets cannot deadlock. Accounts that do not exist are absent.
pub async fn lock_accounts(
    conn: &mut AnyConnection,
    ids: &[&str],
    lock: &str,
) -> Result<Vec<(String, AccountRow)>, sqlx::Error> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(ROWS_PER_STATEMENT_MAX) {
        let sql = format!(
            "SELECT id, plan, cycle_anchor, now_at, version, event_count FROM accounts \
             WHERE id IN ({}) ORDER BY id{lock}",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.push((
                r.try_get(0)?,
                AccountRow {
                    plan: r.try_get(1)?,
                    cycle_anchor: r.try_get(2)?,
                    now_at: r.try_get(3)?,
                    version: r.try_get(4)?,
                    event_count: r.try_get(5)?,
                },
            ));
        }
    }
    Ok(out)
}

/// `$from, $from+1, …` (`count` of them).
fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, $3), ($4, $5, $6)…`: `rows` tuples of `width` parameters.
fn value_rows(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(1 + r * width, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An accepted event to store.
pub struct EventRow {
    pub account_id: String,
    pub seq: i64,
    pub idem_id: Option<String>,
    pub kind: &'static str,
    pub body: String,
    pub entry: Option<String>,
}

pub async fn insert_events(conn: &mut AnyConnection, rows: &[EventRow]) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT_MAX) {
        let sql = format!(
            "INSERT INTO events (account_id, seq, idem_id, kind, body, entry) VALUES {}",
            value_rows(chunk.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(&e.account_id)
                .bind(e.seq)
                .bind(e.idem_id.as_deref())
                .bind(e.kind)
                .bind(&e.body)
                .bind(e.entry.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What changed on a locked account.
pub struct AccountUpdate<'a> {
    pub id: &'a str,
    pub row: &'a AccountRow,
    pub now_at: Option<String>,
    pub version: i64,
    pub event_count: i64,
}

/// Writes `now_at`, `version` and `event_count` of locked accounts in one statement per
/// chunk. It is an upsert only because both databases read that form of a multi-row update;
/// the rows exist and are locked, so it never inserts.
pub async fn update_accounts(
    conn: &mut AnyConnection,
    updates: &[AccountUpdate<'_>],
) -> Result<(), sqlx::Error> {
    for chunk in updates.chunks(ROWS_PER_STATEMENT_MAX) {
        let sql = format!(
            "INSERT INTO accounts (id, plan, cycle_anchor, now_at, version, event_count, created_at) \
             VALUES {} ON CONFLICT (id) DO UPDATE SET now_at = excluded.now_at, \
             version = excluded.version, event_count = excluded.event_count",
            value_rows(chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for u in chunk {
            query = query
                .bind(u.id)
                .bind(&u.row.plan)
                .bind(&u.row.cycle_anchor)
                .bind(u.now_at.as_deref())
                .bind(u.version)
                .bind(u.event_count)
                .bind("");
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Reads an account row on `conn` (locking it when `lock` is `FOR UPDATE`).
pub async fn account_row(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    let sql = format!(
        "SELECT plan, cycle_anchor, now_at, version, event_count FROM accounts WHERE id = $1{lock}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        Ok(AccountRow {
            plan: r.try_get(0)?,
            cycle_anchor: r.try_get(1)?,
            now_at: r.try_get(2)?,
            version: r.try_get(3)?,
            event_count: r.try_get(4)?,
        })
    })
    .transpose()
}

/// The accepted events of an account, in order, as stored JSON text.
pub async fn event_bodies(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>, sqlx::Error> {
    event_bodies_after(conn, id, 0).await
}

/// The accepted events of an account after `after` (a sequence number), in order, as stored
/// JSON text.
pub async fn event_bodies_after(
    conn: &mut AnyConnection,
    id: &str,
    after: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT body FROM events WHERE account_id = $1 AND seq > $2 ORDER BY seq")
            .bind(id)
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// An account's latest checkpoint: the events it covers and the document's JSON.
pub async fn checkpoint(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT seq, body FROM checkpoints WHERE account_id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// A checkpoint to write: the account, the events it covers, the document's JSON.
pub struct CheckpointRow {
    pub account_id: String,
    pub seq: i64,
    pub body: String,
}

/// Writes (or replaces) accounts' checkpoints.
pub async fn put_checkpoints(
    conn: &mut AnyConnection,
    rows: &[CheckpointRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT_MAX) {
        let sql = format!(
            "INSERT INTO checkpoints (account_id, seq, body) VALUES {} ON CONFLICT (account_id) \
             DO UPDATE SET seq = excluded.seq, body = excluded.body",
            value_rows(chunk.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for c in chunk {
            query = query.bind(&c.account_id).bind(c.seq).bind(&c.body);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A stored event found by its idempotency id: its account, the id, the event's JSON, its
/// entry's JSON.
pub struct StoredById {
    pub account_id: String,
    pub idem_id: String,
    pub body: String,
    pub entry: Option<String>,
}

/// The stored events whose `(account, idempotency id)` pairs are among `wanted`: one statement
/// per 200 pairs, whatever the accounts, joining the pairs to the unique index `(account_id,
/// idem_id)`. (Written as `account_id = … AND idem_id IN (…)`, PostgreSQL's statistics, which
/// do not know an account created since they were taken, let it scan the index for the
/// account alone and filter every one of its events: a cost that grows with the account's
/// history.)
pub async fn events_by_idem(
    conn: &mut AnyConnection,
    wanted: &[(&str, Vec<&str>)],
) -> Result<Vec<StoredById>, sqlx::Error> {
    let pairs: Vec<(&str, &str)> = wanted
        .iter()
        .flat_map(|(account, ids)| ids.iter().map(move |id| (*account, *id)))
        .collect();
    let mut out = Vec::new();
    for chunk in pairs.chunks(ROWS_PER_STATEMENT_MAX) {
        let sql = format!(
            "SELECT e.account_id, e.idem_id, e.body, e.entry FROM (VALUES {}) AS w \
             JOIN events e ON e.account_id = w.column1 AND e.idem_id = w.column2",
            value_rows(chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (account, id) in chunk {
            query = query.bind(*account).bind(*id);
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.push(StoredById {
                account_id: r.try_get(0)?,
                idem_id: r.try_get(1)?,
                body: r.try_get(2)?,
                entry: r.try_get(3)?,
            });
        }
    }
    Ok(out)
}

/// Entries (their JSON and sequence numbers) of events before `before`, newest first, at most
/// `limit`.
pub async fn entries_before(
    conn: &mut AnyConnection,
    id: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, entry FROM events WHERE account_id = $1 AND seq < $2 AND entry IS NOT NULL \
         ORDER BY seq DESC LIMIT $3",
    )
    .bind(id)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Every entry of an account, oldest first (the one read whose cost grows with history).
pub async fn all_entries(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT entry FROM events WHERE account_id = $1 AND entry IS NOT NULL ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Accounts with at least `events` events and no checkpoint (a database of the build before
/// checkpoints), in id order.
pub async fn accounts_without_checkpoint(
    conn: &mut AnyConnection,
    events: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.id FROM accounts a LEFT JOIN checkpoints c ON c.account_id = a.id \
         WHERE c.account_id IS NULL AND a.event_count >= $1 ORDER BY a.id",
    )
    .bind(events)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Moves an account's version on (so no process trusts a ledger it cached before).
pub async fn bump_version(conn: &mut AnyConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET version = version + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Every account id, in order (for `verify`).
pub async fn account_ids(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT id FROM accounts ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// One stored event as `/entries` pages it: its sequence number, its body (the event's JSON)
/// and its entry's JSON, if it made one.
pub struct StoredEvent {
    pub seq: i64,
    pub body: String,
    pub entry: Option<String>,
}

/// Events after `after`, at most `limit`, in order.
pub async fn entries_after(
    conn: &mut AnyConnection,
    id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, body, entry FROM events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                seq: r.try_get(0)?,
                body: r.try_get(1)?,
                entry: r.try_get(2)?,
            })
        })
        .collect()
}

/// The schema, embedded at build time from `server/migrations/` (the binary needs no
/// migration files at run time). Versions already applied are checked by checksum.
fn migrator() -> Migrator {
    sqlx::migrate!()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_beats_the_environment_and_sqlite_is_the_default() {
        // Proves --db wins over DATABASE_URL, a non-PostgreSQL DATABASE_URL is ignored, and the default is ai-credits.db.
        assert_eq!(
            Location::choose(Some("x.db"), Some("postgres://h/db")),
            Location::SqliteFile("x.db".into())
        );
        assert_eq!(
            Location::choose(None, Some("postgres://h/db")),
            Location::Postgres("postgres://h/db".into())
        );
        assert_eq!(
            Location::choose(None, Some("mysql://h/db")),
            Location::SqliteFile("ai-credits.db".into())
        );
        assert_eq!(
            Location::choose(None, None),
            Location::SqliteFile("ai-credits.db".into())
        );
    }

    #[test]
    fn a_described_postgres_url_has_no_password() {
        // Proves logs name the database host, never its credentials.
        let d = Location::Postgres("postgres://u:secret@127.0.0.1:5432/db".into()).describe();
        assert!(!d.contains("secret"), "{d}");
        assert!(d.contains("127.0.0.1:5432/db"), "{d}");
    }
}
