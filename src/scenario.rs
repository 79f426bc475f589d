//! The conformance runner (SPEC §4): an account, events in time order and a query time in;
//! the result document out. The native binary and the WASM package both call `run`.

use std::sync::Arc;

use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::error::ScenarioError;
use crate::event::EventDraft;
use crate::ledger::Ledger;
use crate::report::{RejectedItem, Report};
use crate::snapshot::read_account;
use crate::time::parse_instant;

/// Most events one scenario may hold.
pub const SCENARIO_EVENTS_MAX: usize = 1_000_000;

/// Runs a scenario given as JSON text.
pub fn run_json(text: &str) -> Result<Report, ScenarioError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| ScenarioError::InvalidJson(e.to_string()))?;
    run(&doc, Arc::new(Catalogue::default()))
}

/// Runs a scenario document against `catalogue`.
pub fn run(doc: &Value, catalogue: Arc<Catalogue>) -> Result<Report, ScenarioError> {
    let doc = doc
        .as_object()
        .ok_or_else(|| ScenarioError::NotAScenario("the document must be a JSON object".into()))?;
    let account =
        read_account(doc.get("account")).map_err(|r| ScenarioError::NotAScenario(r.message))?;
    let events = match doc.get("events") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(list)) if list.len() <= SCENARIO_EVENTS_MAX => list.as_slice(),
        Some(Value::Array(_)) => {
            return Err(ScenarioError::NotAScenario(format!(
                "more than {SCENARIO_EVENTS_MAX} events"
            )));
        }
        Some(_) => {
            return Err(ScenarioError::NotAScenario(
                "`events` must be a list".into(),
            ));
        }
    };
    let query_at = match doc.get("query_at") {
        Some(Value::String(s)) => parse_instant(s)
            .ok_or_else(|| ScenarioError::BadQueryAt(format!("{s:?} is not an RFC 3339 time")))?,
        Some(other) => {
            return Err(ScenarioError::BadQueryAt(format!(
                "expected a time string, got {other}"
            )));
        }
        None => {
            return Err(ScenarioError::BadQueryAt(
                "the scenario has no query_at".into(),
            ));
        }
    };
    let plan = account.plan.clone();
    let mut ledger =
        Ledger::new(catalogue, account).map_err(|_| ScenarioError::UnknownPlan(plan))?;
    let mut rejected = Vec::new();
    let mut duplicates = Vec::new();
    for value in events {
        let draft = EventDraft::from_json(value);
        let name = draft.name();
        match ledger.apply_draft(draft) {
            Ok(outcome) if outcome.duplicate => duplicates.push(name),
            Ok(_) => {}
            Err(rejection) => rejected.push(RejectedItem::new(name, rejection)),
        }
    }
    ledger
        .report(query_at, rejected, duplicates)
        .map_err(|r| ScenarioError::BadQueryAt(r.message))
}
