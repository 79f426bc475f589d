//! The conformance runner (SPEC §4): an account, events in time order and a query time in;
//! the result document out. The native binary and the WASM package both call `run`.

use std::sync::Arc;

use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::checkpoint::{Checkpoint, EventLog};
use crate::error::ScenarioError;
use crate::estimate::MessageRequest;
use crate::event::{EventDraft, Tokens};
use crate::ledger::{Charge, Ledger};
use crate::report::{RejectedItem, Report};
use crate::snapshot::read_account;
use crate::time::{Instant, parse_instant};
use crate::tokens::TokenEstimate;

/// Most events one scenario may hold.
pub const SCENARIO_EVENTS_MAX: usize = 1_000_000;

/// Runs a scenario given as JSON text.
pub fn run_json(text: &str) -> Result<Report, ScenarioError> {
    let doc: Value =
        crate::json::parse(text).map_err(|e| ScenarioError::InvalidJson(e.to_string()))?;
    run(&doc, Catalogue::builtin())
}

/// A scenario's parts.
struct Parsed<'a> {
    account: crate::ledger::Account,
    events: &'a [Value],
    query_at: Instant,
}

fn parse(doc: &Value) -> Result<Parsed<'_>, ScenarioError> {
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
                "expected a time string, got {}",
                crate::json::to_text(other)
            )));
        }
        None => {
            return Err(ScenarioError::BadQueryAt(
                "the scenario has no query_at".into(),
            ));
        }
    };
    Ok(Parsed {
        account,
        events,
        query_at,
    })
}

/// What a scenario run leaves: the result document and the ledger that answered it.
pub struct Run {
    pub report: Report,
    pub ledger: Ledger,
}

/// Runs a scenario document against `catalogue`.
pub fn run(doc: &Value, catalogue: Arc<Catalogue>) -> Result<Report, ScenarioError> {
    // No cut: the checkpoint code is not even linked into a build that only runs scenarios
    // (the WASM package's size is a budget).
    drive(doc, catalogue, |_, _, _| Ok(())).map(|r| r.report)
}

/// Runs a scenario the way a server with checkpoints does: after each cut (a number of
/// events, in ascending order) the ledger is checkpointed, the document written to JSON and
/// read back, and a ledger restored from it goes on, the events before it answered by an
/// [`EventLog`] (the server's store). The report's `entries` are the store's and then the last
/// ledger's, as a server's `?entries=all` reads them. With no cuts it is the plain runner.
pub fn run_through(
    doc: &Value,
    catalogue: Arc<Catalogue>,
    cuts: &[usize],
) -> Result<Run, ScenarioError> {
    let mut cuts = cuts.iter().copied().peekable();
    let restore_catalogue = Arc::clone(&catalogue);
    drive(doc, catalogue, move |i, ledger, store| {
        while cuts.next_if(|&c| c <= i).is_some() {
            store.log.extend_from(ledger);
            store.entries.extend_from_slice(ledger.entries());
            let text = ledger.checkpoint().to_json();
            let checkpoint = Checkpoint::from_json(&text)
                .map_err(|e| ScenarioError::NotAScenario(e.to_string()))?;
            *ledger = Ledger::from_checkpoint(Arc::clone(&restore_catalogue), &checkpoint)
                .map_err(|e| ScenarioError::NotAScenario(e.to_string()))?;
        }
        Ok(())
    })
}

/// What a server's store keeps of the events before a ledger's checkpoint: the events by id
/// and their entries.
#[derive(Default)]
struct Store {
    log: EventLog,
    entries: Vec<crate::ledger::Entry>,
}

/// Applies a scenario's events, calling `before_event(i, …)` before event `i`.
fn drive(
    doc: &Value,
    catalogue: Arc<Catalogue>,
    mut before_event: impl FnMut(usize, &mut Ledger, &mut Store) -> Result<(), ScenarioError>,
) -> Result<Run, ScenarioError> {
    let Parsed {
        account,
        events,
        query_at,
    } = parse(doc)?;
    let plan = account.plan.clone();
    let mut ledger =
        Ledger::new(catalogue, account).map_err(|_| ScenarioError::UnknownPlan(plan))?;
    let mut store = Store::default();
    let mut rejected = Vec::new();
    let mut duplicates = Vec::new();
    for (i, value) in events.iter().enumerate() {
        before_event(i, &mut ledger, &mut store)?;
        let draft = EventDraft::from_json(value);
        let name = draft.name();
        match ledger.apply_after(draft, &store.log) {
            Ok(outcome) if outcome.duplicate => duplicates.push(name),
            Ok(_) => {}
            Err(rejection) => rejected.push(RejectedItem::new(name, rejection)),
        }
    }
    let mut report = ledger
        .report(query_at, rejected, duplicates)
        .map_err(|r| ScenarioError::BadQueryAt(r.message))?;
    if !store.entries.is_empty() {
        store.entries.append(&mut report.entries);
        report.entries = store.entries;
    }
    Ok(Run { report, ledger })
}

/// Everything a ledger answers at `at` besides the report, as one JSON document: the balance,
/// previews of a debit and of a usage of every model, estimates of a message for each feature
/// it has seen and none, on every model, of every quick action, the burn rate over several
/// windows and the forecast. What a checkpoint must answer identically (SPEC §5.3).
pub fn answers(ledger: &Ledger, at: Instant) -> Value {
    let catalogue = Arc::clone(ledger.catalogue());
    let as_json = |r: Result<Value, crate::error::Rejection>| match r {
        Ok(v) => v,
        Err(e) => crate::json::object! {"rejection" => crate::json::to_tree(&e)},
    };
    let mut features: Vec<Option<String>> = vec![None];
    features.extend(
        ledger
            .output_samples()
            .by_feature
            .iter()
            .map(|(f, _)| Some(f.to_owned())),
    );
    features.push(Some("agents".to_owned()));
    let tokens = Tokens {
        estimated: false,
        input: 12_000,
        cached_input: 3_000,
        cache_write: 500,
        output: 2_500,
    };
    let mut previews = vec![as_json(
        ledger
            .preview(at, &Charge::Debit { credits: 25_000 })
            .map(|p| value(&p)),
    )];
    let mut estimates = Vec::new();
    for model in &catalogue.models {
        let charge = Charge::Usage {
            model: model.id.clone(),
            tokens,
        };
        previews.push(as_json(ledger.preview(at, &charge).map(|p| value(&p))));
        for feature in &features {
            let request = MessageRequest {
                model: model.id.clone(),
                text_tokens: TokenEstimate {
                    tokens: 300,
                    low: 250,
                    high: 380,
                },
                history_tokens: 1_200,
                feature: feature.clone(),
                member: None,
                task: false,
            };
            let calibration = ledger.output_calibration(feature.as_deref(), &model.id);
            estimates.push(as_json(
                ledger
                    .estimate_message(at, &request, calibration)
                    .map(|e| value(&e)),
            ));
        }
        for action in &catalogue.quick_actions {
            estimates.push(as_json(
                ledger
                    .estimate_quick_action(at, action, &model.id)
                    .map(|e| value(&e)),
            ));
        }
    }
    let burn: Vec<Value> = [1, 3, 7, 14]
        .into_iter()
        .map(|days| as_json(ledger.burn_rate(at, days).map(|b| value(&b))))
        .collect();
    crate::json::object! {
        "balance" => as_json(ledger.balance(at).map(|b| value(&b))),
        "available_models" => ledger.available_models().map(|m| m.id.clone()).collect::<Vec<_>>(),
        "previews" => previews,
        "estimates" => estimates,
        "burn" => burn,
        "forecast" => as_json(ledger.forecast(at, 14).map(|f| value(&f))),
        "alerts" => as_json(ledger.alerts(at).map(|a| value(&a))),
    }
}

/// Compares two result documents (or `answers`) field by field: `Err` names the first path at
/// which `actual` differs from `expected`, with both values. Objects must have the same keys,
/// lists the same length.
pub fn first_difference(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) if a.len() == e.len() => {
            e.iter().try_for_each(|(k, v)| {
                first_difference(a.get(k).unwrap_or(&Value::Null), v, &format!("{path}.{k}"))
            })
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => a
            .iter()
            .zip(e)
            .enumerate()
            .try_for_each(|(i, (a, e))| first_difference(a, e, &format!("{path}[{i}]"))),
        _ if actual == expected => Ok(()),
        _ => Err(format!(
            "{path}: expected {}, got {}",
            crate::json::to_text(expected),
            crate::json::to_text(actual)
        )),
    }
}

/// Plain data as JSON (serializing it cannot fail).
fn value<T: serde::Serialize>(v: &T) -> Value {
    crate::json::to_tree(v)
}
