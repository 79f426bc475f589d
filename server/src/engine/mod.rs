//! Deciding events: group commit over per-account serialisation.
//!
//! Events wait in a bounded queue; a writer takes every event waiting (up to
//! [`BATCH_EVENTS_MAX`]) and decides them in **one** transaction: it locks every account the
//! batch names, in sorted order (PostgreSQL `SELECT … FOR UPDATE`; on SQLite `BEGIN
//! IMMEDIATE` holds the file's one write lock), rebuilds each ledger from its stored events (or
//! takes it from the cache when the row's version says the cache is current), applies the
//! events with the core in arrival order, writes the accepted events, the new `now` and
//! version, commits, and only then answers. One fsync carries the whole batch.
//!
//! A job is one event, or one change to an account's provider keys ([`KeyChange`]): its key
//! rows, its ledger events and its audit rows are written in the same transaction, under the
//! same lock, so they commit or roll back together.
//!
//! Cost does not grow with an account's age: at the end of a batch in which an account's
//! stored checkpoint fell `checkpoint_every` accepted events behind, the writer stores a new
//! one (SPEC §5.3) in the same transaction, and the in-memory ledger forgets its history at
//! that very point. A cold account is one checkpoint and the events after it. Idempotency for
//! ids older than the checkpoint comes from the database (the unique `(account_id, idem_id)`
//! index), read for the whole batch in one query before its events are decided.
//!
//! SQLite has one writer; PostgreSQL several, each owning a share of the accounts (by hash),
//! so one account's events stay in one queue and its cached ledger stays warm. Several server
//! processes may share one PostgreSQL database: the row locks serialise them, and the
//! version check keeps each process's cache honest.

pub mod clock;
pub mod key_change;
pub mod payment;
pub mod purchase;
pub mod verify;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::{mpsc, oneshot};

use ai_credits::time::{format_instant, parse_instant};
use ai_credits::{
    Account, Catalogue, Checkpoint, EarlierEvents, Entry, EventBody, EventDraft, EventKind, Ledger,
    NoEarlierEvents, Rejection,
};

use crate::engine::key_change::{KeyChange, KeysDone};
use crate::engine::payment::{ChargeRequest, PaymentError, PaymentProcessor};
use crate::engine::purchase::Captured;
use crate::error::{ApiError, ErrorCode};
use crate::store::{
    self, AccountRow, AccountUpdate, AuditRow, Backend, CheckpointRow, Db, EventRow,
};

/// Most events decided in one transaction.
pub const BATCH_EVENTS_MAX: usize = 512;
/// Most events waiting per writer; beyond it the server answers 503 `overloaded`.
pub const QUEUE_EVENTS_MAX: usize = 8192;
/// Writers on PostgreSQL (each a connection of its own).
const PG_WRITERS: usize = 8;
/// The ledger cache's default bound, in bytes (`serve --cache-mb`).
pub const CACHE_BYTES_DEFAULT: usize = 256 << 20;
/// How many accepted events an account's checkpoint may lag behind (`serve --checkpoint-every`).
pub const CHECKPOINT_EVERY_DEFAULT: i64 = 256;

pub use clock::clock;

/// Ledgers rebuilt from the database, keyed by account and the version they were rebuilt at,
/// bounded in bytes (each ledger's `approx_bytes`): past the bound the ledgers used least
/// recently are forgotten, and rebuilt from their checkpoints when next used.
pub struct LedgerCache {
    inner: Mutex<CacheMap>,
    bytes_max: usize,
}

#[derive(Default)]
struct CacheMap {
    map: HashMap<String, Cached>,
    bytes: usize,
    tick: u64,
}

struct Cached {
    version: i64,
    ledger: Arc<Ledger>,
    bytes: usize,
    used: u64,
}

impl Default for LedgerCache {
    fn default() -> Self {
        LedgerCache::new(CACHE_BYTES_DEFAULT)
    }
}

impl LedgerCache {
    /// A cache that holds at most about `bytes_max` bytes of ledgers.
    pub fn new(bytes_max: usize) -> LedgerCache {
        LedgerCache {
            inner: Mutex::new(CacheMap::default()),
            bytes_max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheMap> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ledger of `id` at exactly `version`, to read.
    pub fn get(&self, id: &str, version: i64) -> Option<Arc<Ledger>> {
        let mut cache = self.lock();
        cache.tick += 1;
        let tick = cache.tick;
        match cache.map.get_mut(id) {
            Some(c) if c.version == version => {
                c.used = tick;
                Some(Arc::clone(&c.ledger))
            }
            _ => None,
        }
    }

    /// The ledger of `id` at exactly `version`, to change (it leaves the cache until the
    /// change is committed).
    fn take(&self, id: &str, version: i64) -> Option<Ledger> {
        let mut cache = self.lock();
        let c = cache.map.remove(id)?;
        cache.bytes -= c.bytes;
        (c.version == version)
            .then(|| Arc::try_unwrap(c.ledger).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// Keeps `ledger` as `id` at `version`, unless a newer one is already there.
    pub fn put(&self, id: &str, version: i64, ledger: Arc<Ledger>) {
        let mut cache = self.lock();
        if cache.map.get(id).is_some_and(|c| c.version >= version) {
            return;
        }
        let bytes = ledger.approx_bytes() + id.len();
        if bytes > self.bytes_max {
            return;
        }
        cache.tick += 1;
        let used = cache.tick;
        if let Some(old) = cache.map.insert(
            id.to_owned(),
            Cached {
                version,
                ledger,
                bytes,
                used,
            },
        ) {
            cache.bytes -= old.bytes;
        }
        cache.bytes += bytes;
        while cache.bytes > self.bytes_max {
            // The scan is over the cache's entries, and runs only once it is full.
            let Some(victim) = cache
                .map
                .iter()
                .filter(|(k, _)| k.as_str() != id)
                .min_by_key(|(_, c)| c.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = cache.map.remove(&victim) {
                cache.bytes -= gone.bytes;
            }
        }
    }

    /// Bytes held now, and how many ledgers.
    pub fn usage(&self) -> (usize, usize) {
        let cache = self.lock();
        (cache.bytes, cache.map.len())
    }
}

/// What the engine needs from the server.
pub struct Ctx {
    pub db: Db,
    pub cache: LedgerCache,
    pub catalogue: Arc<Catalogue>,
    pub processor: Arc<dyn PaymentProcessor>,
    /// Honour a client's `at` (conformance replays, imports); otherwise `at` is the server's.
    pub allow_client_time: bool,
    /// Most accepted events an account's stored checkpoint may lag behind its log.
    pub checkpoint_every: i64,
    /// Whether this server's clock agrees with the database's (writes wait for it).
    pub clock: Arc<clock::ClockWatch>,
}

/// What an accepted event did.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub duplicate: bool,
    pub entry: Option<Entry>,
}

/// What a job asks a writer to decide.
// Events are the hot path and the common case: boxing them to make the rare key change's
// variant smaller would cost an allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Task {
    /// One event as posted, read.
    Event(EventDraft),
    /// A change to the account's provider keys, with its ledger events and audit rows.
    Keys(KeyChange),
    /// A purchase decided as a dry run (written nowhere): would the ledger take it, and for
    /// what price? The first phase of a payment (`purchase`).
    Check(EventDraft),
    /// A purchase whose price the processor captured: the pack and its charge, together.
    Purchase(EventDraft, Captured),
    /// A purchase of in-process history ([`Engine::submit_at`]), paid when it happened.
    History(EventDraft),
}

impl Task {
    /// The event the task decides, if it is one.
    fn draft(&self) -> Option<&EventDraft> {
        match self {
            Task::Event(d) | Task::Check(d) | Task::Purchase(d, _) | Task::History(d) => Some(d),
            Task::Keys(_) => None,
        }
    }
}

/// What a writer decided for a job, by its task.
// As for `Task`: an accepted event is the common answer, not worth a box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Decided {
    Event(Accepted),
    Keys(KeysDone),
    Checked(purchase::Checked),
}

/// Who posted a job, and the bounds the HTTP edge decided for it (SPEC §5.1–5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poster {
    /// The member acting (recorded with a purchase's charge and in the audit log).
    pub member: String,
    /// Its role, as the audit log names it (`platform`, `admin`, `member`, `service`, or
    /// `server` for events the server makes itself).
    pub role: &'static str,
    /// Only holds placed for `member` may be released (a member's token).
    pub own_holds_only: bool,
    /// The longest a hold may last from when it is placed; `None`: no bound.
    pub hold_max: Option<chrono::Duration>,
    /// Keep the event's own `at` instead of the server's clock: the platform's events on an
    /// `--allow-client-time` server (checked at the edge not to be past the clock's bound)
    /// and in-process history ([`Engine::submit_at`]).
    pub keep_at: bool,
}

impl Poster {
    /// Events the server makes or relays itself: the server's clock, no bounds.
    pub fn server(member: impl Into<String>) -> Poster {
        Poster {
            member: member.into(),
            role: "server",
            own_holds_only: false,
            hold_max: None,
            keep_at: false,
        }
    }
}

/// How a purchase in a job is paid for.
#[derive(Clone, Copy)]
enum Payment<'a> {
    /// Not a purchase job: a purchase here is refused (purchases go through
    /// [`Engine::purchase`], which pays before it decides).
    None,
    /// A dry run: decide it and leave the price to read; the caller puts the account back.
    Check,
    /// Paid: record this charge beside the pack.
    Captured(&'a Captured),
    /// In-process history: record the pack's charge as paid then.
    History,
}

/// One job to decide.
pub struct Job {
    pub account_id: String,
    pub task: Task,
    /// Who asked, and what that allows.
    pub poster: Poster,
    reply: oneshot::Sender<Result<Decided, ApiError>>,
}

/// The queues of the writers.
#[derive(Clone)]
pub struct Engine {
    queues: Arc<Vec<mpsc::Sender<Job>>>,
    /// The payment processor and its deadline, and the purchases being paid (`purchase`).
    payments: Arc<purchase::Payments>,
}

impl Engine {
    /// Starts the writers on the current tokio runtime.
    pub fn start(ctx: Arc<Ctx>) -> Engine {
        let writers = match ctx.db.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => PG_WRITERS,
        };
        let queues = (0..writers)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE_EVENTS_MAX);
                tokio::spawn(writer(Arc::clone(&ctx), rx));
                tx
            })
            .collect();
        Engine {
            queues: Arc::new(queues),
            payments: Arc::new(purchase::Payments::new(
                Arc::clone(&ctx.processor),
                purchase::PAYMENT_TIMEOUT_DEFAULT,
            )),
        }
    }

    /// The same engine with another deadline for each payment processor call
    /// (`serve --payment-timeout-s`).
    pub fn with_payment_timeout(self, timeout: std::time::Duration) -> Engine {
        Engine {
            payments: Arc::new(purchase::Payments::new(
                Arc::clone(&self.payments.processor),
                timeout,
            )),
            ..self
        }
    }

    /// Decides one event; answers after it is committed (or refused). `at` is the server's
    /// clock unless the server honours client times (`--allow-client-time`).
    pub async fn submit(
        &self,
        account_id: String,
        event: EventDraft,
        poster: Poster,
    ) -> Result<Accepted, ApiError> {
        if event.kind == Ok(EventKind::PurchasePack) {
            return self.purchase(account_id, event, poster).await;
        }
        match self.send(account_id, Task::Event(event), poster).await? {
            Decided::Event(accepted) => Ok(accepted),
            _ => Err(mixed_up()),
        }
    }

    /// Decides a change to an account's keys as one unit; answers after it is committed (or
    /// refused, in which case nothing of it was written).
    pub async fn submit_keys(
        &self,
        account_id: String,
        change: KeyChange,
        poster: Poster,
    ) -> Result<KeysDone, ApiError> {
        match self.send(account_id, Task::Keys(change), poster).await? {
            Decided::Keys(done) => Ok(done),
            _ => Err(mixed_up()),
        }
    }

    /// Decides events of one account that carry their own past times, in the order given,
    /// for trusted in-process callers only (the demo's seeded history). Each event's `at` must
    /// be a valid time no later than the server's clock; time order against the account's
    /// latest event is the core's usual check. The events are queued together, so the writer
    /// decides up to [`BATCH_EVENTS_MAX`] of them in one transaction. One answer per event.
    pub async fn submit_at(
        &self,
        account_id: &str,
        events: Vec<(EventDraft, String)>,
    ) -> Vec<Result<Accepted, ApiError>> {
        let mut answers = Vec::with_capacity(events.len());
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let queued: Vec<_> = events
                .by_ref()
                .take(BATCH_EVENTS_MAX)
                .map(|(event, member)| {
                    not_in_the_future(&event)?;
                    let poster = Poster {
                        keep_at: true,
                        ..Poster::server(member)
                    };
                    // History was paid for when it happened: its purchases are recorded
                    // without asking a processor.
                    let task = if event.kind == Ok(EventKind::PurchasePack) {
                        Task::History(event)
                    } else {
                        Task::Event(event)
                    };
                    self.enqueue(account_id.to_owned(), task, poster)
                })
                .collect();
            for answer in queued {
                answers.push(match answer {
                    Ok(answer) => match wait(answer).await {
                        Ok(Decided::Event(accepted)) => Ok(accepted),
                        Ok(_) => Err(mixed_up()),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                });
            }
        }
        answers
    }

    /// Queues a job with the writer that owns its account, and waits for the answer.
    pub(crate) async fn send(
        &self,
        account_id: String,
        task: Task,
        poster: Poster,
    ) -> Result<Decided, ApiError> {
        let answer = self.enqueue(account_id, task, poster)?;
        wait(answer).await
    }

    /// Queues one job on its account's writer.
    fn enqueue(
        &self,
        account_id: String,
        task: Task,
        poster: Poster,
    ) -> Result<oneshot::Receiver<Result<Decided, ApiError>>, ApiError> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        account_id.hash(&mut hasher);
        let queue = &self.queues[(hasher.finish() % self.queues.len() as u64) as usize];
        let (reply, answer) = oneshot::channel();
        let job = Job {
            account_id,
            task,
            poster,
            reply,
        };
        queue.try_send(job).map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Overloaded,
                "too many events are waiting; retry shortly with the same id",
            )
        })?;
        Ok(answer)
    }
}

/// Waits for a queued job's answer.
async fn wait(answer: oneshot::Receiver<Result<Decided, ApiError>>) -> Result<Decided, ApiError> {
    answer.await.unwrap_or_else(|_| {
        Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ShuttingDown,
            "the server stopped before deciding the event; retry with the same id",
        ))
    })
}

/// A kept `at` must be a time, and not after the server's clock: history, not a forecast.
fn not_in_the_future(event: &EventDraft) -> Result<(), ApiError> {
    match &event.at {
        Ok(at) if *at <= clock() => Ok(()),
        Ok(at) => Err(ApiError::from(Rejection::invalid(format!(
            "the event is dated {}, after the server's clock; a kept time must be in the past",
            format_instant(at)
        )))),
        Err(problem) => Err(ApiError::from(Rejection::invalid(problem.clone()))),
    }
}

/// A writer answered a job with another task's answer: a bug, never expected. The job was
/// decided and committed, so the client must not blindly retry something that is not
/// idempotent.
pub(crate) fn mixed_up() -> ApiError {
    tracing::error!("a writer answered a job with another task's answer");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::InternalError,
        "the server lost track of its answer; read the account's state before retrying",
    )
}

async fn writer(ctx: Arc<Ctx>, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH_EVENTS_MAX {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        decide_batch(&ctx, batch).await;
    }
}

/// An account locked by the batch's transaction.
struct Locked {
    row: AccountRow,
    ledger: Ledger,
    version: i64,
    event_count: i64,
    changed: bool,
    /// The events the stored checkpoint covers (0: none stored).
    checkpoint_seq: i64,
    /// Events before the ledger's history, by id, read for this batch's events.
    earlier: StoredEarlier,
}

/// Events before a ledger's history (those its checkpoint covers), as read from the database
/// by id for one batch.
#[derive(Default)]
struct StoredEarlier(HashMap<String, ai_credits::Accepted>);

impl EarlierEvents for StoredEarlier {
    fn accepted(&self, id: &str) -> Option<ai_credits::Accepted> {
        self.0.get(id).cloned()
    }
}

struct ChargeRow {
    account_id: String,
    idem_id: String,
    pack: String,
    amount_cents: i64,
    member: String,
    charged_at: String,
    processor_charge_id: String,
}

#[derive(Default)]
struct Writes {
    events: Vec<EventRow>,
    /// Audit rows of events (model selections), by account.
    audit: Vec<(String, AuditRow)>,
    charges: Vec<ChargeRow>,
    checkpoints: Vec<CheckpointRow>,
}

async fn decide_batch(ctx: &Ctx, batch: Vec<Job>) {
    let (jobs, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|j| {
            let job = Decision {
                account_id: j.account_id,
                task: j.task,
                poster: j.poster,
            };
            (job, j.reply)
        })
        .unzip();
    // A server whose clock disagrees with the database's writes nothing (SPEC §5.2).
    if let Err(refused) = ctx.clock.check() {
        for reply in replies {
            let _ = reply.send(Err(refused.clone()));
        }
        return;
    }
    // A transaction dropped on an error is rolled back by sqlx before its connection is reused.
    let outcome = match ctx.db.begin_write().await {
        Ok(tx) => decide_in_transaction(ctx, tx, jobs).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok((answers, locked)) => {
            for (id, l) in locked {
                ctx.cache.put(&id, l.version, Arc::new(l.ledger));
            }
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            // Nothing was committed; the ledgers taken from the cache are dropped with the
            // transaction, and the next request rebuilds them from the database.
            let error = ApiError::storage(&e);
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

type Answers = Vec<Result<Decided, ApiError>>;

/// A job without its reply channel, as the transaction decides it.
struct Decision {
    account_id: String,
    task: Task,
    poster: Poster,
}

async fn decide_in_transaction(
    ctx: &Ctx,
    mut tx: Transaction<'static, Any>,
    jobs: Vec<Decision>,
) -> Result<(Answers, HashMap<String, Locked>), sqlx::Error> {
    let conn: &mut AnyConnection = &mut tx;
    // One statement locks every account of the batch, in id order: two processes locking
    // overlapping batches cannot deadlock.
    let ids: Vec<&str> = jobs.iter().map(|j| j.account_id.as_str()).collect();
    let rows = store::lock_accounts(conn, &ids, ctx.db.lock_suffix()).await?;
    let mut locked: HashMap<String, Locked> = HashMap::with_capacity(rows.len());
    let mut broken: HashMap<String, ApiError> = HashMap::new();
    for (id, row) in rows {
        let loaded = match ctx.cache.take(&id, row.version) {
            Some(ledger) => Ok((ledger, None)),
            None => rebuild(conn, &ctx.catalogue, &id, &row).await?,
        };
        let (ledger, checkpoint_seq) = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                broken.insert(id, e);
                continue;
            }
        };
        let checkpoint_seq = match checkpoint_seq {
            Some(seq) => seq,
            // A cached ledger forgot its history exactly where the stored checkpoint is.
            None => i64::try_from(ledger.sequence() - ledger.events().len() as u64).unwrap_or(0),
        };
        locked.insert(
            id,
            Locked {
                version: row.version,
                event_count: row.event_count,
                row,
                ledger,
                changed: false,
                checkpoint_seq,
                earlier: StoredEarlier::default(),
            },
        );
    }
    if let Err(e) = read_earlier(conn, &jobs, &mut locked).await? {
        // A stored event that does not read back: the account is unreadable, as on rebuild.
        for (id, error) in e {
            locked.remove(&id);
            broken.insert(id, error);
        }
    }
    let mut writes = Writes::default();
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let Decision {
            account_id: id,
            task,
            poster,
        } = job;
        let answer = match (locked.get_mut(&id), broken.get(&id), task) {
            (Some(account), _, Task::Event(event)) => {
                decide(&id, account, event, &poster, Payment::None, &mut writes).map(Decided::Event)
            }
            (Some(account), _, Task::Purchase(event, captured)) => decide(
                &id,
                account,
                event,
                &poster,
                Payment::Captured(&captured),
                &mut writes,
            )
            .map(Decided::Event),
            (Some(account), _, Task::History(event)) => {
                decide(&id, account, event, &poster, Payment::History, &mut writes)
                    .map(Decided::Event)
            }
            (Some(account), _, Task::Check(event)) => {
                let undo = Undo::take(account, &writes);
                let decided = decide(&id, account, event, &poster, Payment::Check, &mut writes);
                let checked = decided.map(|accepted| purchase::Checked {
                    pack: (!accepted.duplicate)
                        .then(|| account.ledger.packs().last().cloned())
                        .flatten(),
                    accepted,
                });
                undo.restore(account, &mut writes);
                checked.map(Decided::Checked)
            }
            (Some(account), _, Task::Keys(change)) => {
                decide_keys(ctx, conn, &id, account, change, &poster, &mut writes)
                    .await?
                    .map(Decided::Keys)
            }
            (None, Some(e), _) => Err(e.clone()),
            (None, None, _) => Err(ApiError::account_not_found()),
        };
        answers.push(answer);
    }
    for (id, account) in locked.iter_mut() {
        if account.changed && account.event_count - account.checkpoint_seq >= ctx.checkpoint_every {
            // The ledger forgets its history at the very point the stored checkpoint covers:
            // cached or rebuilt, an account's ledger is always that checkpoint and what came
            // after it.
            let checkpoint = account.ledger.checkpoint();
            account.ledger.forget_history();
            account.checkpoint_seq = account.event_count;
            writes.checkpoints.push(CheckpointRow {
                account_id: id.clone(),
                seq: account.event_count,
                body: checkpoint.to_json(),
            });
        }
    }
    store::insert_events(conn, &writes.events).await?;
    for (account_id, row) in &writes.audit {
        store::insert_audit(conn, account_id, std::slice::from_ref(row)).await?;
    }
    store::put_checkpoints(conn, &writes.checkpoints).await?;
    for c in &writes.charges {
        sqlx::query(
            "INSERT INTO charges (account_id, idem_id, pack, amount_cents, member, charged_at, processor_charge_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.account_id)
        .bind(&c.idem_id)
        .bind(&c.pack)
        .bind(c.amount_cents)
        .bind(&c.member)
        .bind(&c.charged_at)
        .bind(&c.processor_charge_id)
        .execute(&mut *conn)
        .await?;
    }
    let updates: Vec<AccountUpdate<'_>> = locked
        .iter()
        .filter(|(_, a)| a.changed)
        .map(|(id, a)| AccountUpdate {
            id,
            row: &a.row,
            now_at: a.ledger.now().map(|t| format_instant(&t)),
            version: a.version,
            event_count: a.event_count,
        })
        .collect();
    store::update_accounts(conn, &updates).await?;
    tx.commit().await?;
    Ok((answers, locked))
}

/// Rebuilds a ledger from its stored checkpoint, the events after it and `now`, with the
/// events the checkpoint covers. The outer error is the database's; the inner one means the
/// stored state no longer reads back.
pub async fn rebuild(
    conn: &mut AnyConnection,
    catalogue: &Arc<Catalogue>,
    id: &str,
    row: &AccountRow,
) -> Result<Result<(Ledger, Option<i64>), ApiError>, sqlx::Error> {
    let checkpoint = store::checkpoint(conn, id).await?;
    let after = checkpoint.as_ref().map_or(0, |(seq, _)| *seq);
    let bodies = store::event_bodies_after(conn, id, after).await?;
    Ok(restore(catalogue, id, row, checkpoint.as_ref(), &bodies).map(|l| (l, Some(after))))
}

/// The ledger of a stored checkpoint (or of none: a new account), the events after it and
/// the account's latest time.
pub fn restore(
    catalogue: &Arc<Catalogue>,
    id: &str,
    row: &AccountRow,
    checkpoint: Option<&(i64, String)>,
    bodies: &[String],
) -> Result<Ledger, ApiError> {
    let corrupt = |cause: &str| ApiError::corrupt(id, cause);
    let mut ledger = match checkpoint {
        Some((seq, body)) => {
            let doc = Checkpoint::from_json(body).map_err(|e| corrupt(&e.to_string()))?;
            let ledger = Ledger::from_checkpoint(Arc::clone(catalogue), &doc)
                .map_err(|e| corrupt(&e.to_string()))?;
            if i64::try_from(ledger.sequence()).ok() != Some(*seq) {
                return Err(corrupt("the checkpoint does not cover the events it says"));
            }
            ledger
        }
        None => {
            let cycle_anchor =
                parse_instant(&row.cycle_anchor).ok_or_else(|| corrupt("cycle_anchor"))?;
            let account = Account {
                plan: row.plan.clone(),
                cycle_anchor,
            };
            Ledger::new(Arc::clone(catalogue), account).map_err(|r| corrupt(&r.message))?
        }
    };
    // Each stored body is read on its own, straight into a draft (not wrapped in a list: a body
    // stored by an older build at the parser's depth limit still reads).
    let drafts = bodies
        .iter()
        .map(|body| EventDraft::from_text(body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(&e.to_string()))?;
    ledger
        .replay_drafts(drafts)
        .map_err(|r| corrupt(&r.message))?;
    if let Some(now) = &row.now_at {
        let now = parse_instant(now).ok_or_else(|| corrupt("now_at"))?;
        ledger.advance(now).map_err(|r| corrupt(&r.message))?;
    }
    Ok(ledger)
}

/// Builds the checkpoints a database of the build before checkpoints lacks: every account with
/// at least `checkpoint_every` events and no checkpoint gets one, in a write transaction that
/// locks its row (another server may be doing the same) and moves its version on. Run once at
/// start-up, before serving; returns how many were built. An account whose stored events do
/// not replay is left as it is, with a warning.
pub async fn backfill_checkpoints(ctx: &Ctx) -> Result<usize, sqlx::Error> {
    let mut conn = ctx.db.pool.acquire().await?;
    let ids = store::accounts_without_checkpoint(&mut conn, ctx.checkpoint_every).await?;
    drop(conn);
    let mut built = 0;
    for id in ids {
        let mut tx = ctx.db.begin_write().await?;
        let Some(row) = store::account_row(&mut tx, &id, ctx.db.lock_suffix()).await? else {
            continue;
        };
        if store::checkpoint(&mut tx, &id).await?.is_some() {
            continue;
        }
        match rebuild(&mut tx, &ctx.catalogue, &id, &row).await? {
            Ok((ledger, _)) if i64::try_from(ledger.sequence()).ok() == Some(row.event_count) => {
                let checkpoint = CheckpointRow {
                    account_id: id.clone(),
                    seq: row.event_count,
                    body: ledger.checkpoint().to_json(),
                };
                store::put_checkpoints(&mut tx, &[checkpoint]).await?;
                store::bump_version(&mut tx, &id).await?;
                tx.commit().await?;
                built += 1;
            }
            Ok(_) => {
                tracing::warn!(account = %id, "no checkpoint built: the event count disagrees with the log")
            }
            Err(e) => {
                tracing::warn!(account = %id, code = %e.code, "no checkpoint built: the stored events do not replay")
            }
        }
    }
    Ok(built)
}

/// The replay of a whole log from the first event, for `verify`: the ledger as it would be
/// without checkpoints.
pub fn replay_from_start(
    catalogue: &Arc<Catalogue>,
    id: &str,
    row: &AccountRow,
    bodies: &[String],
) -> Result<Ledger, ApiError> {
    restore(catalogue, id, row, None, bodies)
}

/// Reads, for every account of the batch whose ledger has forgotten history, the stored
/// events its jobs' ids (and the holds they name) may refer to: one query for the batch. An
/// account whose stored events do not read back is returned with its error.
async fn read_earlier(
    conn: &mut AnyConnection,
    jobs: &[Decision],
    locked: &mut HashMap<String, Locked>,
) -> Result<Result<(), Vec<(String, ApiError)>>, sqlx::Error> {
    let mut wanted: HashMap<&str, Vec<&str>> = HashMap::new();
    for job in jobs {
        let (Some(draft), Some(account)) = (job.task.draft(), locked.get(&job.account_id)) else {
            continue;
        };
        if !account.ledger.has_earlier_events() {
            continue;
        }
        let ids = wanted.entry(job.account_id.as_str()).or_default();
        if let (Some(id), Ok(kind)) = (&draft.id, &draft.kind)
            && kind.is_idempotent()
            && !account.ledger.knows_id(id)
        {
            ids.push(id);
        }
        if let Ok(EventBody::Commit { hold, .. } | EventBody::Release { hold }) = &draft.body
            && !account.ledger.knows_hold(hold)
        {
            ids.push(hold);
        }
    }
    let wanted: Vec<(&str, Vec<&str>)> = wanted
        .into_iter()
        .filter(|(_, ids)| !ids.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(Ok(()));
    }
    let rows = store::events_by_idem(conn, &wanted).await?;
    let mut found: HashMap<String, HashMap<String, ai_credits::Accepted>> = HashMap::new();
    let mut broken = Vec::new();
    for row in rows {
        match read_stored(&row) {
            Some(accepted) => {
                found
                    .entry(row.account_id)
                    .or_default()
                    .insert(row.idem_id, accepted);
            }
            None => {
                let error = ApiError::corrupt(
                    &row.account_id,
                    &format!("stored event `{}` does not read back", row.idem_id),
                );
                broken.push((row.account_id, error));
            }
        }
    }
    for (account_id, events) in found {
        if let Some(account) = locked.get_mut(&account_id) {
            account.earlier = StoredEarlier(events);
        }
    }
    Ok(if broken.is_empty() {
        Ok(())
    } else {
        Err(broken)
    })
}

/// A stored event and its entry, as the core reads them back.
fn read_stored(row: &store::StoredById) -> Option<ai_credits::Accepted> {
    let value: Value = serde_json::from_str(&row.body).ok()?;
    let event = EventDraft::from_json(&value).into_event()?;
    let entry = match &row.entry {
        Some(text) => Some(serde_json::from_str::<Entry>(text).ok()?),
        None => None,
    };
    Some(ai_credits::Accepted { event, entry })
}

/// The bounds of SPEC §5.1 that need the account: a hold lasts at most the poster's bound
/// (422 `hold_too_long`), and a member releases only its own holds (403 `not_your_hold`).
/// Checked before the core decides, so a refusal here changes nothing.
fn check_poster(account: &Locked, draft: &EventDraft, poster: &Poster) -> Result<(), ApiError> {
    match (&draft.body, &draft.at) {
        (Ok(EventBody::Hold { expires_at, .. }), Ok(at)) => {
            if let Some(max) = poster.hold_max
                && *expires_at - *at > max
            {
                return Err(ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::HoldTooLong,
                    format!(
                        "a hold may last at most {} s from when it is placed; ask for an earlier expires_at",
                        max.num_seconds()
                    ),
                ));
            }
        }
        (Ok(EventBody::Release { hold }), _) if poster.own_holds_only => {
            // The hold's member: from the ledger, or from the stored hold when it is older
            // than the ledger's history. An unknown hold is the core's to refuse.
            let stored;
            let owner = match account.ledger.hold_member(hold) {
                Some(owner) => Some(owner),
                None => {
                    stored = account.earlier.accepted(hold);
                    match stored.as_ref().map(|a| &a.event.body) {
                        Some(EventBody::Hold { by, .. }) => Some(by.member.as_deref()),
                        _ => None,
                    }
                }
            };
            if let Some(owner) = owner
                && owner != Some(poster.member.as_str())
            {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    ErrorCode::NotYourHold,
                    format!(
                        "hold `{hold}` was placed for another member; a member releases only its own holds"
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Decides one event against a locked account, recording what to write. Nothing here waits
/// on anything outside the process: the account is locked.
fn decide(
    account_id: &str,
    account: &mut Locked,
    mut draft: EventDraft,
    poster: &Poster,
    payment: Payment<'_>,
    writes: &mut Writes,
) -> Result<Accepted, ApiError> {
    let member = poster.member.as_str();
    let now_before = account.ledger.now();
    if !poster.keep_at {
        // The server's clock, never before the latest time the account has seen.
        draft.at = Ok(now_before.map_or(clock(), |now| now.max(clock())));
    }
    check_poster(account, &draft, poster)?;
    let selected_before = (draft.kind == Ok(EventKind::SelectModel))
        .then(|| account.ledger.selected_model().to_owned());
    let is_purchase = draft.kind == Ok(EventKind::PurchasePack);
    let at = draft.at.clone().ok();
    let before_purchase = is_purchase.then(|| account.ledger.clone());
    let events_before = account.ledger.events().len();
    let result = if account.ledger.has_earlier_events() {
        account.ledger.apply_after(draft, &account.earlier)
    } else {
        account.ledger.apply_after(draft, &NoEarlierEvents)
    };
    let outcome = match result {
        Ok(outcome) if !outcome.duplicate => outcome,
        other => {
            // Refused or a duplicate: nothing to store but the latest time seen.
            if account.ledger.now() != now_before {
                account.version += 1;
                account.changed = true;
            }
            return other
                .map(|o| Accepted {
                    duplicate: o.duplicate,
                    entry: o.entry,
                })
                .map_err(ApiError::from);
        }
    };
    debug_assert_eq!(account.ledger.events().len(), events_before + 1);
    let Some(stored) = account.ledger.events().last().cloned() else {
        return Err(ApiError::corrupt(
            account_id,
            "an accepted event was not kept",
        ));
    };
    if let Some(before) = before_purchase {
        let pack = account.ledger.packs().last().cloned();
        let paid = match (payment, pack) {
            (Payment::Check, Some(_)) => Ok(None),
            (Payment::History, Some(pack)) => Ok(Some(Captured {
                request: ChargeRequest {
                    account_id: account_id.to_owned(),
                    pack: pack.pack.clone(),
                    amount_cents: pack.price_cents,
                    idempotency_id: stored.id.clone().unwrap_or_default(),
                    member: member.to_owned(),
                },
                charge_id: "history".to_owned(),
            })),
            (Payment::Captured(c), Some(pack))
                if c.request.pack == pack.pack && c.request.amount_cents == pack.price_cents =>
            {
                Ok(Some(c.clone()))
            }
            (Payment::Captured(_), Some(_)) => Err(PaymentError::Failed(
                "the pack's price changed between the authorisation and the purchase".into(),
            )),
            (Payment::None, _) => Err(PaymentError::Failed(
                "a purchase is paid through the engine's payment flow".into(),
            )),
            (_, None) => Err(PaymentError::Failed("the purchase made no pack".into())),
        };
        match paid {
            Ok(None) => {}
            Ok(Some(captured)) => writes.charges.push(ChargeRow {
                account_id: account_id.to_owned(),
                idem_id: captured.request.idempotency_id,
                pack: captured.request.pack,
                amount_cents: i64::try_from(captured.request.amount_cents).unwrap_or(i64::MAX),
                member: captured.request.member,
                charged_at: format_instant(&stored.at),
                processor_charge_id: captured.charge_id,
            }),
            Err(e) => {
                // No money, no credits: back to the ledger before the purchase, keeping only
                // its time (it passed the time check).
                account.ledger = before;
                if let Some(at) = at {
                    let _ = account.ledger.advance(at);
                }
                if account.ledger.now() != now_before {
                    account.version += 1;
                    account.changed = true;
                }
                return Err(purchase::refused(&e));
            }
        }
    }
    account.event_count += 1;
    account.version += 1;
    account.changed = true;
    if let Some(from) = selected_before {
        // Choosing the model changes it for the whole business: audited like key changes.
        writes.audit.push((
            account_id.to_owned(),
            AuditRow {
                at: format_instant(&stored.at),
                member: member.to_owned(),
                role: poster.role.to_owned(),
                action: "model_selected".to_owned(),
                provider: None,
                detail: Some(format!("{from} -> {}", account.ledger.selected_model())),
            },
        ));
    }
    let kind = stored.body.kind();
    writes.events.push(EventRow {
        account_id: account_id.to_owned(),
        seq: account.event_count,
        idem_id: stored.id.clone().filter(|_| kind.is_idempotent()),
        kind: kind.as_str(),
        body: stored.to_json().to_string(),
        entry: outcome
            .entry
            .as_ref()
            .and_then(|e| serde_json::to_string(e).ok()),
    });
    Ok(Accepted {
        duplicate: false,
        entry: outcome.entry,
    })
}

/// The account as it was before a job, to put back when the job is refused halfway.
struct Undo {
    ledger: Ledger,
    version: i64,
    event_count: i64,
    changed: bool,
    events_len: usize,
}

impl Undo {
    fn take(account: &Locked, writes: &Writes) -> Undo {
        Undo {
            ledger: account.ledger.clone(),
            version: account.version,
            event_count: account.event_count,
            changed: account.changed,
            events_len: writes.events.len(),
        }
    }

    fn restore(self, account: &mut Locked, writes: &mut Writes) {
        account.ledger = self.ledger;
        account.version = self.version;
        account.event_count = self.event_count;
        account.changed = self.changed;
        writes.events.truncate(self.events_len);
    }
}

/// Decides a key change against a locked account, as one unit: the core applies its events
/// first, in memory (a refusal puts the account back as it was and nothing is written); then
/// the key rows and the audit rows go to the transaction, beside the events. The outer error
/// is the database's and fails the whole batch, so the change is rolled back with it.
async fn decide_keys(
    ctx: &Ctx,
    conn: &mut AnyConnection,
    account_id: &str,
    account: &mut Locked,
    change: KeyChange,
    poster: &Poster,
    writes: &mut Writes,
) -> Result<Result<KeysDone, ApiError>, sqlx::Error> {
    let member = poster.member.as_str();
    // `keep_at`: the time each event is given below.
    let inner = Poster {
        keep_at: true,
        ..poster.clone()
    };
    if change.needs_own_keys()
        && let Err(refused) =
            key_change::plan_allows_own_keys(&ctx.catalogue, account.ledger.plan())
    {
        return Ok(Err(refused));
    }
    // A refused first event changes nothing but the account's latest time (kept, like any
    // refused event's), so only a change of several events needs a copy to undo with.
    let undo = (change.event_count() > 1).then(|| Undo::take(account, writes));
    let mut selections = Vec::with_capacity(change.steps.len());
    for step in &change.steps {
        let selected_before = account.ledger.selected_model().to_owned();
        for kind in step.event_kinds() {
            let mut draft =
                EventDraft::from_json(&json!({"kind": kind, "provider": step.provider()}));
            // The server's clock even when clients may name their time: these events are the
            // server's own, and they take no `at` from anyone.
            let now = account.ledger.now();
            draft.at = Ok(now.map_or(clock(), |now| now.max(clock())));
            if let Err(refused) = decide(account_id, account, draft, &inner, Payment::None, writes)
            {
                if let Some(undo) = undo {
                    undo.restore(account, writes);
                }
                return Ok(Err(refused));
            }
        }
        let selected_after = account.ledger.selected_model();
        selections.push(
            (selected_after != selected_before)
                .then(|| (selected_before, selected_after.to_owned())),
        );
    }
    let at = format_instant(&clock());
    let mut found = Vec::with_capacity(change.steps.len());
    let mut audit = Vec::with_capacity(change.steps.len() * 3);
    for (step, selection) in change.steps.iter().zip(selections) {
        let hit = key_change::write_row(conn, account_id, step, &at).await?;
        audit.extend(key_change::audit_rows(
            step,
            hit,
            selection,
            member,
            change.role,
            &at,
        ));
        found.push(hit);
    }
    store::insert_audit(conn, account_id, &audit).await?;
    Ok(Ok(KeysDone {
        found,
        selected_model: account.ledger.selected_model().to_owned(),
    }))
}

/// An account's ledger as committed, for reading, and its version.
pub async fn read_ledger(ctx: &Ctx, id: &str) -> Result<(Arc<Ledger>, i64), ApiError> {
    read_state(ctx, id, EntriesWanted::None)
        .await
        .map(|s| (s.ledger, s.version))
}

/// Which entries a read of an account's state lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntriesWanted {
    None,
    /// The newest this many.
    Newest(i64),
    /// Every one (its cost grows with the account's history).
    All,
}

/// An account's state as committed: its ledger, version and event count, and the entries
/// asked for, all read from one snapshot of the database.
pub struct StateRead {
    pub ledger: Arc<Ledger>,
    pub version: i64,
    pub event_count: i64,
    /// Oldest first.
    pub entries: Vec<Value>,
    /// With `Newest`: the sequence number to page older entries from (`/entries?before=`),
    /// when there are older ones.
    pub older: Option<i64>,
}

pub async fn read_state(ctx: &Ctx, id: &str, wanted: EntriesWanted) -> Result<StateRead, ApiError> {
    let storage = |e: sqlx::Error| ApiError::storage(&e);
    let mut tx = ctx.db.begin_read().await.map_err(storage)?;
    let row = store::account_row(&mut tx, id, "")
        .await
        .map_err(storage)?
        .ok_or_else(ApiError::account_not_found)?;
    let ledger = match ctx.cache.get(id, row.version) {
        Some(ledger) => ledger,
        None => {
            let (ledger, _) = rebuild(&mut tx, &ctx.catalogue, id, &row)
                .await
                .map_err(storage)??;
            let ledger = Arc::new(ledger);
            ctx.cache.put(id, row.version, Arc::clone(&ledger));
            ledger
        }
    };
    let parse = |text: &str| -> Result<Value, ApiError> {
        serde_json::from_str(text).map_err(|e| ApiError::corrupt(id, &e.to_string()))
    };
    let (entries, older) = match wanted {
        EntriesWanted::None => (Vec::new(), None),
        EntriesWanted::All => {
            let rows = store::all_entries(&mut tx, id).await.map_err(storage)?;
            (
                rows.iter().map(|e| parse(e)).collect::<Result<_, _>>()?,
                None,
            )
        }
        EntriesWanted::Newest(n) => {
            let mut rows = store::entries_before(&mut tx, id, i64::MAX, n + 1)
                .await
                .map_err(storage)?;
            let more = rows.len() as i64 > n;
            rows.truncate(usize::try_from(n).unwrap_or(0));
            let older = more.then(|| rows.last().map_or(0, |(seq, _)| *seq));
            rows.reverse();
            let entries = rows
                .iter()
                .map(|(_, e)| parse(e))
                .collect::<Result<_, _>>()?;
            (entries, older)
        }
    };
    tx.commit().await.map_err(storage)?;
    Ok(StateRead {
        ledger,
        version: row.version,
        event_count: row.event_count,
        entries,
        older,
    })
}

/// One page of entries before `before` (a sequence number), with their events' sequence
/// numbers, oldest first, and the cursor for the page before it.
pub async fn entries_before(
    ctx: &Ctx,
    id: &str,
    before: i64,
    limit: i64,
) -> Result<(Vec<(i64, Value)>, Option<i64>), ApiError> {
    let storage = |e: sqlx::Error| ApiError::storage(&e);
    let mut tx = ctx.db.begin_read().await.map_err(storage)?;
    store::account_row(&mut tx, id, "")
        .await
        .map_err(storage)?
        .ok_or_else(ApiError::account_not_found)?;
    let mut rows = store::entries_before(&mut tx, id, before, limit + 1)
        .await
        .map_err(storage)?;
    tx.commit().await.map_err(storage)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let older = if more {
        rows.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    rows.reverse();
    let entries = rows
        .iter()
        .map(|(seq, e)| {
            serde_json::from_str(e)
                .map(|e| (*seq, e))
                .map_err(|e| ApiError::corrupt(id, &e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok((entries, older))
}

/// One page of the event log after `after` (a sequence number), at most `limit` events
/// scanned: their entries for display, and what a client needs to replay the same ledger (the
/// events as stored, the account as created, the latest time the account has seen).
pub struct EntriesPage {
    pub entries: Vec<Value>,
    pub events: Vec<Value>,
    pub account: Value,
    /// The account's latest time, read in the same transaction as the page.
    pub now: Option<String>,
    pub next_cursor: i64,
    pub has_more: bool,
    pub version: i64,
}

pub async fn entries_after(
    ctx: &Ctx,
    id: &str,
    after: i64,
    limit: i64,
) -> Result<EntriesPage, ApiError> {
    let storage = |e: sqlx::Error| ApiError::storage(&e);
    let mut tx = ctx.db.begin_read().await.map_err(storage)?;
    let row = store::account_row(&mut tx, id, "").await.map_err(storage)?;
    let rows = match &row {
        Some(_) => store::entries_after(&mut tx, id, after, limit + 1)
            .await
            .map_err(storage)?,
        None => Vec::new(),
    };
    tx.commit().await.map_err(storage)?;
    let mut rows = rows;
    let row = row.ok_or_else(ApiError::account_not_found)?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = rows.last().map_or(after, |r| r.seq);
    let parse = |text: &str| -> Result<Value, ApiError> {
        serde_json::from_str(text).map_err(|e| ApiError::corrupt(id, &e.to_string()))
    };
    let mut entries = Vec::new();
    let mut events = Vec::with_capacity(rows.len());
    for stored in &rows {
        events.push(parse(&stored.body)?);
        if let Some(entry) = &stored.entry {
            entries.push(parse(entry)?);
        }
    }
    Ok(EntriesPage {
        entries,
        events,
        account: serde_json::json!({"plan": row.plan, "cycle_anchor": row.cycle_anchor}),
        now: row.now_at,
        next_cursor,
        has_more,
        version: row.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Arc<Ledger> {
        let account = Account {
            plan: "growth".into(),
            cycle_anchor: parse_instant("2026-01-01T00:00:00Z").expect("time"),
        };
        Arc::new(Ledger::new(Arc::new(Catalogue::default()), account).expect("ledger"))
    }

    #[test]
    fn the_cache_answers_only_for_the_exact_version() {
        // Proves a cached ledger is used only when its version is the database's, and never replaced by an older one.
        let cache = LedgerCache::default();
        cache.put("a", 3, ledger());
        assert!(cache.get("a", 3).is_some());
        assert!(cache.get("a", 4).is_none());
        assert!(cache.get("a", 2).is_none());
        cache.put("a", 2, ledger());
        assert!(
            cache.get("a", 3).is_some(),
            "an older version replaced a newer one"
        );
        assert!(cache.take("a", 4).is_none());
        assert!(
            cache.get("a", 3).is_none(),
            "a stale take forgets the entry"
        );
        cache.put("a", 5, ledger());
        assert!(cache.take("a", 5).is_some());
        assert!(
            cache.get("a", 5).is_none(),
            "a ledger being changed is not served"
        );
    }
}
