//! A ledger's snapshot: its account, the latest time it saw and its accepted events. Replaying
//! the events rebuilds the ledger exactly, so a snapshot can never disagree with the rules.

use std::sync::Arc;

use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::error::Rejection;
use crate::event::EventDraft;
use crate::ledger::{Account, Ledger};
use crate::time::{format_instant, parse_instant};

/// The `format` value of a snapshot document.
pub const SNAPSHOT_FORMAT: &str = "ai-credits/ledger-snapshot";

impl Ledger {
    /// The snapshot document. A ledger restored from a checkpoint has no events from before
    /// it: its snapshot carries its checkpoint instead (and no events).
    pub fn snapshot(&self) -> Value {
        if self.has_earlier_events() {
            return crate::json::object! {
                "format" => SNAPSHOT_FORMAT,
                "version" => 1,
                "checkpoint" => crate::json::to_tree(&self.checkpoint()),
                "events" => Vec::<Value>::new(),
            };
        }
        let account = self.account();
        crate::json::object! {
            "format" => SNAPSHOT_FORMAT,
            "version" => 1,
            "catalogue_version" => self.catalogue().version,
            "account" => crate::json::object! {
                "plan" => account.plan.clone(),
                "cycle_anchor" => format_instant(&account.cycle_anchor),
            },
            "now" => self.now().map(|t| format_instant(&t)),
            "events" => self.events().iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        }
    }

    /// Rebuilds a ledger from its snapshot; every event in it must be accepted again.
    pub fn from_snapshot(catalogue: Arc<Catalogue>, snapshot: &Value) -> Result<Ledger, Rejection> {
        let doc = snapshot
            .as_object()
            .filter(|d| d.get("format").and_then(Value::as_str) == Some(SNAPSHOT_FORMAT))
            .ok_or_else(|| {
                Rejection::invalid(format!(
                    "not a ledger snapshot (format `{SNAPSHOT_FORMAT}`)"
                ))
            })?;
        if let Some(checkpoint) = doc.get("checkpoint") {
            let checkpoint = crate::Checkpoint::from_value(checkpoint)
                .map_err(|e| Rejection::invalid(e.to_string()))?;
            return Ledger::from_checkpoint(catalogue, &checkpoint)
                .map_err(|e| Rejection::invalid(e.to_string()));
        }
        let account = read_account(doc.get("account"))?;
        let mut ledger = Ledger::new(catalogue, account)?;
        let events = doc
            .get("events")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        ledger.replay(events)?;
        if let Some(now) = doc.get("now").and_then(Value::as_str) {
            let now = parse_instant(now)
                .ok_or_else(|| Rejection::invalid("the snapshot's `now` is not a time"))?;
            ledger.advance(now)?;
        }
        Ok(ledger)
    }

    /// Applies events that were all accepted before (a snapshot, a server's log); the first
    /// one refused now stops the replay with its rejection, naming it.
    pub fn replay(&mut self, events: &[Value]) -> Result<(), Rejection> {
        self.replay_drafts(events.iter().map(EventDraft::from_json))
            .map(|_| ())
    }
}

/// Reads `{"plan", "cycle_anchor"}`.
pub fn read_account(value: Option<&Value>) -> Result<Account, Rejection> {
    let account = value
        .and_then(Value::as_object)
        .ok_or_else(|| Rejection::invalid("an account needs `plan` and `cycle_anchor`"))?;
    let plan = account
        .get("plan")
        .and_then(Value::as_str)
        .ok_or_else(|| Rejection::invalid("the account needs a `plan` id"))?;
    let anchor = account
        .get("cycle_anchor")
        .and_then(Value::as_str)
        .ok_or_else(|| Rejection::invalid("the account needs a `cycle_anchor` time"))?;
    let cycle_anchor = parse_instant(anchor).ok_or_else(|| {
        Rejection::invalid(format!("cycle_anchor {anchor:?} is not an RFC 3339 time"))
    })?;
    Ok(Account {
        plan: plan.to_owned(),
        cycle_anchor,
    })
}
