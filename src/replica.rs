//! A replica of an account that the server decides: what the browser's `Client` keeps. It
//! starts from the server's checkpoint (SPEC §5.3), applies the events the server accepted
//! after it, and shows holds it sent but the server has not confirmed yet as held, so a
//! preview never offers credits that are already set aside. It never decides a debit.
//!
//! The JS `Client` only fetches, stores and converts; everything here runs (and is tested)
//! natively.

use std::sync::Arc;

use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::checkpoint::Checkpoint;
use crate::error::{CheckpointError, Rejection};
use crate::event::EventDraft;
use crate::ledger::Ledger;
use crate::time::{format_instant, parse_instant};

/// The `format` of the offline copy a replica writes.
pub const OFFLINE_FORMAT: &str = "ai-credits/client-copy";
/// Its version: 2 keeps a checkpoint (1 kept the whole event log).
pub const OFFLINE_VERSION: u64 = 2;
/// Events the synced ledger applies before it forgets them (its entries stay in `entries`).
const HISTORY_KEPT_MAX: usize = 1_000;
/// Entries the offline copy keeps (the newest), for a screen shown offline.
pub const OFFLINE_ENTRIES_MAX: usize = 50;

/// One account as the server decided it, plus the holds sent and not yet confirmed.
#[derive(Clone, Debug)]
pub struct Replica {
    /// The server's checkpoint and every event it accepted after it.
    synced: Ledger,
    /// The sequence number of the last event in `synced` (the server's cursor).
    cursor: i64,
    /// Hold events sent, not yet among the synced events.
    pending: Vec<Value>,
    /// `synced` with the pending holds applied; `None` when there are none.
    with_pending: Option<Ledger>,
    /// Entries known here (as `Entry`'s JSON) with the sequence numbers of their events,
    /// oldest first: the pages of older ones read from the server (as a person asks for them),
    /// then those synced since the replica began.
    entries: Vec<(i64, Value)>,
    /// Whether the server said there are no entries older than the oldest known.
    oldest_known: bool,
}

impl Replica {
    /// A replica of the server's checkpoint at `cursor`.
    pub fn new(
        catalogue: Arc<Catalogue>,
        checkpoint: &Checkpoint,
        cursor: i64,
    ) -> Result<Replica, CheckpointError> {
        let synced = Ledger::from_checkpoint(catalogue, checkpoint)?;
        Ok(Replica {
            synced,
            cursor,
            pending: Vec::new(),
            with_pending: None,
            entries: Vec::new(),
            oldest_known: false,
        })
    }

    /// The ledger previews read: the synced state, pending holds counted as held.
    pub fn view(&self) -> &Ledger {
        self.with_pending.as_ref().unwrap_or(&self.synced)
    }

    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    pub fn pending_holds(&self) -> usize {
        self.pending.len()
    }

    /// Entries known here (as `Entry`'s JSON), oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, e)| e)
    }

    /// The cursor of the next older page of entries (`/entries?before=`): older than the
    /// oldest known, or than the replica's start; `None` once the server said there is none.
    pub fn older_entries(&self) -> Option<i64> {
        if self.oldest_known {
            return None;
        }
        Some(
            self.entries
                .first()
                .map_or(self.cursor.saturating_add(1), |(seq, _)| *seq),
        )
    }

    /// Applies the events the server accepted after the cursor (as `/entries?after=` lists
    /// them), moves to the account's latest time and the new cursor, and drops the pending
    /// holds they confirm. Returns how many events were new. A refused event means the
    /// server and this copy of the rules disagree: the replica is left as it was.
    pub fn merge(
        &mut self,
        events: &[Value],
        now: Option<&str>,
        cursor: i64,
    ) -> Result<usize, Rejection> {
        let mut next = self.synced.clone();
        let mut fresh = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let before = next.entries().len();
            next.replay_drafts(std::iter::once(EventDraft::from_json(event)))?;
            if let Some(entry) = next.entries().get(before) {
                let seq = self.cursor.saturating_add(1 + i as i64);
                fresh.push((seq, crate::json::to_tree(entry)));
            }
        }
        if let Some(now) = now {
            let now = parse_instant(now)
                .ok_or_else(|| Rejection::invalid("the server's `now` is not a time"))?;
            next.advance(now)?;
        }
        let confirmed = |hold: &Value| {
            events
                .iter()
                .any(|e| e.get("kind") == hold.get("kind") && e.get("id") == hold.get("id"))
        };
        self.pending.retain(|h| !confirmed(h));
        if next.events().len() > HISTORY_KEPT_MAX {
            next.forget_history();
        }
        self.synced = next;
        self.cursor = cursor;
        self.entries.extend(fresh);
        self.refresh();
        Ok(events.len())
    }

    /// Adds a page of entries read from the server (`/entries?before=`, with their events'
    /// sequence numbers), older than those known; `more` says whether the server has older.
    /// The server sends a page oldest first (its API says so); a page in another order is not
    /// the server's, and is left out (`false`): the entries known stay as they were.
    pub fn merge_older(&mut self, page: Vec<(i64, Value)>, more: bool) -> bool {
        // Checked rather than sorted: a sort of these pairs was 1.8 KB gzipped of the
        // WebAssembly module (issue 13).
        if !page.windows(2).all(|w| w[0].0 < w[1].0) {
            return false;
        }
        let oldest = self.older_entries().unwrap_or(0);
        let mut page: Vec<(i64, Value)> =
            page.into_iter().filter(|(seq, _)| *seq < oldest).collect();
        page.append(&mut self.entries);
        self.entries = page;
        self.oldest_known = !more;
        true
    }

    /// A hold sent to the server: held here at once, until a merge confirms it or `drop_pending`.
    pub fn add_pending(&mut self, hold: Value) {
        self.pending.push(hold);
        self.refresh();
    }

    /// Forgets a pending hold the server refused (or that was never sent).
    pub fn drop_pending(&mut self, id: &str) -> bool {
        let before = self.pending.len();
        self.pending
            .retain(|h| h.get("id").and_then(Value::as_str) != Some(id));
        let dropped = self.pending.len() != before;
        if dropped {
            self.refresh();
        }
        dropped
    }

    /// Rebuilds the view with the pending holds. A hold dated before the synced state's latest
    /// time is shown at that time; one this copy refuses is left out (the server decides, and
    /// the next sync shows what it decided).
    fn refresh(&mut self) {
        if self.pending.is_empty() {
            self.with_pending = None;
            return;
        }
        let mut view = self.synced.clone();
        for hold in &self.pending {
            let mut hold = hold.clone();
            if let (Some(now), Some(at)) = (
                view.now(),
                hold.get("at")
                    .and_then(Value::as_str)
                    .and_then(parse_instant),
            ) && now > at
            {
                hold["at"] = Value::from(format_instant(&now));
            }
            let _ = view.apply_draft(EventDraft::from_json(&hold));
        }
        self.with_pending = Some(view);
    }

    /// The offline copy: the synced state's checkpoint, the cursor and when it was fetched,
    /// and the catalogue document when it is not the built-in one. Never the token, never the
    /// pending holds. Its size does not grow with the account's history.
    pub fn offline_copy(&self, account_id: &str, fetched_at_ms: u64) -> Value {
        let catalogue = self.synced.catalogue();
        let builtin = catalogue.content_hash() == Catalogue::builtin().content_hash();
        crate::json::object! {
            "format" => OFFLINE_FORMAT,
            "version" => OFFLINE_VERSION,
            "account_id" => account_id,
            "cursor" => self.cursor,
            "fetched_at" => fetched_at_ms,
            "catalogue" => if builtin { Value::Null } else { Value::from(catalogue.to_json()) },
            "checkpoint" => crate::json::to_tree(&self.synced.checkpoint()),
            "entries" => self.entries[self.entries.len().saturating_sub(OFFLINE_ENTRIES_MAX)..]
                .iter()
                .map(|(seq, e)| Value::Array(vec![Value::from(*seq), e.clone()]))
                .collect::<Vec<_>>(),
            "oldest_known" => self.oldest_known && self.entries.len() <= OFFLINE_ENTRIES_MAX,
        }
    }

    /// Reads an offline copy of `account_id` back: the replica and when it was fetched.
    /// `None` when it is not one (another account, another format, or damaged).
    pub fn from_offline_copy(copy: &Value, account_id: &str) -> Option<(Replica, u64)> {
        if copy.get("format")?.as_str()? != OFFLINE_FORMAT
            || copy.get("version")?.as_u64()? != OFFLINE_VERSION
            || copy.get("account_id")?.as_str()? != account_id
        {
            return None;
        }
        let catalogue = match copy.get("catalogue")? {
            Value::Null => Catalogue::builtin(),
            Value::String(text) => Arc::new(Catalogue::from_json(text).ok()?),
            _ => return None,
        };
        let checkpoint = Checkpoint::from_value(copy.get("checkpoint")?).ok()?;
        let cursor = copy.get("cursor")?.as_i64()?;
        let fetched_at = copy.get("fetched_at")?.as_u64()?;
        let mut replica = Replica::new(catalogue, &checkpoint, cursor).ok()?;
        for pair in copy.get("entries")?.as_array()? {
            let [seq, entry] = pair.as_array()?.as_slice() else {
                return None;
            };
            replica.entries.push((seq.as_i64()?, entry.clone()));
        }
        replica.oldest_known = copy.get("oldest_known")?.as_bool()?;
        Some((replica, fetched_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Account;
    use serde_json::json;

    fn server_ledger() -> Ledger {
        let account = Account {
            plan: "growth".into(),
            cycle_anchor: parse_instant("2026-01-01T00:00:00Z").unwrap(),
        };
        Ledger::new(Arc::new(Catalogue::default()), account).unwrap()
    }

    fn usage(i: u64) -> Value {
        json!({"at": format!("2026-01-02T00:{:02}:00Z", i), "kind": "usage", "id": format!("u{i}"),
               "model": "gpt-5", "input_tokens": 1000 * i, "output_tokens": 100, "feature": "assistant"})
    }

    #[test]
    fn a_replica_follows_the_server_through_a_checkpoint_and_deltas() {
        // Proves checkpoint + merged deltas = the server's ledger (balance, report totals), the entries it knows are the synced ones, and an older page merges only oldest first.
        let mut server = server_ledger();
        for i in 0..5 {
            server
                .apply_draft(EventDraft::from_json(&usage(i)))
                .unwrap();
        }
        let mut replica =
            Replica::new(Arc::clone(server.catalogue()), &server.checkpoint(), 5).unwrap();
        let delta: Vec<Value> = (5..9).map(usage).collect();
        for e in &delta {
            server.apply_draft(EventDraft::from_json(e)).unwrap();
        }
        assert_eq!(
            replica
                .merge(&delta, Some("2026-01-02T00:30:00Z"), 9)
                .unwrap(),
            4
        );
        server
            .advance(parse_instant("2026-01-02T00:30:00Z").unwrap())
            .unwrap();
        let at = server.now().unwrap();
        assert_eq!(
            replica.view().balance(at).unwrap(),
            server.balance(at).unwrap()
        );
        assert_eq!(replica.view().checkpoint(), server.checkpoint());
        assert_eq!(replica.entries().count(), 4);
        assert_eq!(replica.cursor(), 9);
        assert_eq!(replica.older_entries(), Some(6), "u5's event is number 6");
        // A page out of order is not the server's: nothing changes.
        assert!(!replica.merge_older(
            vec![(2, json!({"id": "u1"})), (1, json!({"id": "u0"}))],
            false,
        ));
        assert_eq!(replica.entries().count(), 4);
        assert_eq!(replica.older_entries(), Some(6));
        assert!(replica.merge_older(
            vec![(1, json!({"id": "u0"})), (2, json!({"id": "u1"}))],
            false,
        ));
        let ids: Vec<&Value> = replica.entries().map(|e| &e["id"]).collect();
        assert_eq!(ids, ["u0", "u1", "u5", "u6", "u7", "u8"]);
        assert_eq!(replica.older_entries(), None);
    }

    #[test]
    fn a_pending_hold_is_held_once_until_confirmed_and_gone_when_refused() {
        // Proves the pending-hold arithmetic: held at once, held once (not twice) after the merge that confirms it, and released in the view when the server refuses it.
        let server = server_ledger();
        let mut replica =
            Replica::new(Arc::clone(server.catalogue()), &server.checkpoint(), 0).unwrap();
        let at = parse_instant("2026-01-02T00:01:00Z").unwrap();
        let free = replica.view().balance(at).unwrap().available;
        let hold = json!({"at": "2026-01-02T00:00:00Z", "kind": "hold", "id": "h1",
                          "credits": 1000, "expires_at": "2026-01-02T00:05:00Z"});
        replica.add_pending(hold.clone());
        assert_eq!(replica.view().balance(at).unwrap().available, free - 1000);
        replica.merge(std::slice::from_ref(&hold), None, 1).unwrap();
        assert_eq!(replica.pending_holds(), 0);
        assert_eq!(replica.view().balance(at).unwrap().available, free - 1000);
        let second = json!({"at": "2026-01-02T00:00:30Z", "kind": "hold", "id": "h2",
                            "credits": 500, "expires_at": "2026-01-02T00:05:00Z"});
        replica.add_pending(second);
        assert_eq!(replica.view().balance(at).unwrap().available, free - 1500);
        assert!(replica.drop_pending("h2"));
        assert_eq!(replica.view().balance(at).unwrap().available, free - 1000);
    }

    #[test]
    fn an_offline_copy_is_small_and_reads_back_to_the_same_state() {
        // Proves the offline copy restores the replica exactly (with its newest 50 entries), names no pending hold, and stays under 32 KB.
        let mut server = server_ledger();
        let events: Vec<Value> = (0..59).map(usage).collect();
        let mut replica =
            Replica::new(Arc::clone(server.catalogue()), &server.checkpoint(), 0).unwrap();
        for e in &events {
            server.apply_draft(EventDraft::from_json(e)).unwrap();
        }
        replica.merge(&events, None, 59).unwrap();
        replica.add_pending(
            json!({"at": "2026-01-02T01:00:00Z", "kind": "hold", "id": "p",
                                   "credits": 10, "expires_at": "2026-01-02T02:00:00Z"}),
        );
        let copy = replica.offline_copy("acc_1", 1_700_000_000_000);
        let text = copy.to_string();
        assert!(text.len() < 32 * 1024, "{} bytes", text.len());
        assert!(!text.contains("\"p\""), "no pending hold in the copy");
        let (back, fetched_at) = Replica::from_offline_copy(&copy, "acc_1").unwrap();
        assert_eq!(fetched_at, 1_700_000_000_000);
        assert_eq!(back.view().checkpoint(), server.checkpoint());
        assert_eq!(back.entries().count(), OFFLINE_ENTRIES_MAX);
        assert_eq!(back.entries().last(), replica.entries().last());
        assert!(Replica::from_offline_copy(&copy, "acc_2").is_none());
    }

    #[test]
    fn an_event_the_rules_refuse_leaves_the_replica_as_it_was() {
        // Proves a delta this copy of the rules cannot replay is refused whole: nothing of it is applied.
        let server = server_ledger();
        let mut replica =
            Replica::new(Arc::clone(server.catalogue()), &server.checkpoint(), 0).unwrap();
        let bad = vec![
            usage(1),
            json!({"at": "2026-01-01T00:00:00Z", "kind": "usage", "id": "late", "model": "gpt-5"}),
        ];
        assert!(replica.merge(&bad, None, 2).is_err());
        assert_eq!(replica.cursor(), 0);
        assert_eq!(replica.entries().count(), 0);
        assert_eq!(replica.view().checkpoint(), server.checkpoint());
    }
}
