//! `ai-credits verify`: the audit that materialised state is right. For each account it
//! replays the whole log from the first event, as if there were no checkpoints, and checks
//! two things against what the server stores and serves:
//!
//! 1. the stored checkpoint is the checkpoint of the events it says it covers (replayed from
//!    the start and brought to the checkpoint's time);
//! 2. the account as the server loads it (checkpoint, the events after it, its latest time)
//!    is the account of the whole log: the same checkpoint document and the same answers
//!    (balance, previews, estimates, burn, forecast) at its latest time.
//!
//! Every difference is reported with the first field that differs.

use std::sync::Arc;

use serde_json::Value;

use ai_credits::time::parse_instant;
use ai_credits::{Catalogue, Checkpoint};

use crate::engine;
use crate::store::{self, Db};

/// What differs for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub account: String,
    pub what: String,
}

/// What `verify` looked at and found.
#[derive(Clone, Debug, Default)]
pub struct Verified {
    pub accounts: usize,
    pub events: usize,
    pub checkpoints: usize,
    pub differences: Vec<Difference>,
}

/// Verifies one account (`Some`) or every account of the database.
pub async fn verify(
    db: &Db,
    catalogue: &Arc<Catalogue>,
    account: Option<&str>,
) -> Result<Verified, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    let ids = match account {
        Some(id) => vec![id.to_owned()],
        None => store::account_ids(&mut conn).await?,
    };
    drop(conn);
    let mut verified = Verified::default();
    for id in ids {
        let mut tx = db.begin_read().await?;
        let Some(row) = store::account_row(&mut tx, &id, "").await? else {
            verified.differences.push(Difference {
                account: id,
                what: "no such account".into(),
            });
            continue;
        };
        let bodies = store::event_bodies(&mut tx, &id).await?;
        let checkpoint = store::checkpoint(&mut tx, &id).await?;
        tx.commit().await?;
        verified.accounts += 1;
        verified.events += bodies.len();
        verified.checkpoints += usize::from(checkpoint.is_some());
        let mut differ = |what: String| {
            verified.differences.push(Difference {
                account: id.clone(),
                what,
            })
        };
        if let Err(what) = check_account(catalogue, &id, &row, checkpoint.as_ref(), &bodies) {
            differ(what);
        }
    }
    Ok(verified)
}

fn check_account(
    catalogue: &Arc<Catalogue>,
    id: &str,
    row: &store::AccountRow,
    checkpoint: Option<&(i64, String)>,
    bodies: &[String],
) -> Result<(), String> {
    let whole = engine::replay_from_start(catalogue, id, row, bodies)
        .map_err(|e| format!("the log does not replay from the start: {}", e.message))?;
    let seq = checkpoint.map_or(0, |(seq, _)| *seq);
    let covered = usize::try_from(seq)
        .ok()
        .filter(|n| *n <= bodies.len())
        .ok_or_else(|| {
            format!(
                "the checkpoint covers {seq} events; the log has {}",
                bodies.len()
            )
        })?;
    if let Some((_, body)) = checkpoint {
        let stored = Checkpoint::from_json(body)
            .map_err(|e| format!("the stored checkpoint does not read: {e}"))?;
        let first = engine::replay_from_start(
            catalogue,
            id,
            &store::AccountRow {
                now_at: stored.now.clone(),
                ..row.clone()
            },
            &bodies[..covered],
        )
        .map_err(|e| {
            format!(
                "the events the checkpoint covers do not replay: {}",
                e.message
            )
        })?;
        same(
            &json(&first.checkpoint()),
            &json(&stored),
            "stored checkpoint",
        )?;
    }
    let loaded = engine::restore(catalogue, id, row, checkpoint, &bodies[covered..])
        .map_err(|e| format!("the stored state does not load: {}", e.message))?;
    same(
        &json(&loaded.checkpoint()),
        &json(&whole.checkpoint()),
        "loaded state",
    )?;
    let at = whole
        .now()
        .or_else(|| parse_instant(&row.cycle_anchor))
        .unwrap_or_default();
    same(
        &ai_credits::scenario::answers(&loaded, at),
        &ai_credits::scenario::answers(&whole, at),
        "answers",
    )
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// `Err` names the first path where `actual` (the stored state) differs from `expected` (the
/// whole log replayed).
fn same(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    ai_credits::scenario::first_difference(actual, expected, path)
        .map_err(|e| format!("{e} (expected: the whole log replayed; got: the stored state)"))
}
