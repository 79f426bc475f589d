//! A change to an account's provider keys, decided as one unit: the key row, the ledger
//! events that tell the core (`connect_key`, `key_invalid`, `remove_key`) and the audit rows
//! (with the `selection_reset` the core forced, if it did) are written by the engine in the
//! batch transaction that holds the account's lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL
//! `SELECT … FOR UPDATE`). Two requests, on one server or on several sharing PostgreSQL,
//! cannot interleave halfway through a change, so the key table, the ledger's key states and
//! the audit log never disagree; a failure anywhere rolls back all of it.
//!
//! What is not in the unit, on purpose: testing a key against its provider (a network call
//! of up to the adapter's timeout) happens before the change is submitted, so no lock is held
//! while a provider thinks.

use axum::http::StatusCode;
use sqlx::AnyConnection;

use ai_credits::Catalogue;

use crate::error::{ApiError, ErrorCode};
use crate::store::{self, AuditRow, KeyRow};
use crate::vault::secret::Sealed;

/// One step of a key change, for one provider.
#[derive(Clone, Debug)]
pub enum KeyStep {
    /// A tested key, saved (or replacing the one there). The ledger learns the key exists
    /// (`connect_key`), then, when the provider refused it (`row.reason` set), that it is
    /// invalid (`key_invalid`). Needs a plan with own keys, checked again under the lock:
    /// the plan may have changed while the key was being tested.
    Save { sealed: Sealed, row: KeyRow },
    /// The key deleted, ciphertext and all (`remove_key`).
    Remove { provider: String },
    /// The host app reported that the provider refused a call with the key (`key_invalid`).
    MarkInvalid {
        provider: String,
        /// `auth` or `billing`.
        reason: String,
    },
}

impl KeyStep {
    pub fn provider(&self) -> &str {
        match self {
            KeyStep::Save { row, .. } => &row.provider,
            KeyStep::Remove { provider } | KeyStep::MarkInvalid { provider, .. } => provider,
        }
    }

    /// The ledger events of this step, in the order the core applies them.
    pub fn event_kinds(&self) -> &'static [&'static str] {
        match self {
            KeyStep::Save { row, .. } if row.reason.is_some() => &["connect_key", "key_invalid"],
            KeyStep::Save { .. } => &["connect_key"],
            KeyStep::Remove { .. } => &["remove_key"],
            KeyStep::MarkInvalid { .. } => &["key_invalid"],
        }
    }
}

/// A change to one account's keys; the engine decides it as one unit with its events and
/// audit rows (see the module's documentation).
#[derive(Clone, Debug)]
pub struct KeyChange {
    /// The role of who is acting, for the audit log (the member travels with the job).
    pub role: &'static str,
    /// At most [`crate::http::keys::KEYS_PER_REQUEST_MAX`] steps, applied in order.
    pub steps: Vec<KeyStep>,
}

impl KeyChange {
    /// Whether the account's plan must include own keys (saving does; removing and marking
    /// invalid never need a plan's permission).
    pub fn needs_own_keys(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, KeyStep::Save { .. }))
    }

    /// How many ledger events the change applies.
    pub fn event_count(&self) -> usize {
        self.steps.iter().map(|s| s.event_kinds().len()).sum()
    }
}

/// What a committed key change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysDone {
    /// Per step, in order: whether there was a stored key to change (always true for a save;
    /// false for removing or marking invalid a key that is not there, which changes nothing).
    pub found: Vec<bool>,
    /// The account's selected model once the change is committed.
    pub selected_model: String,
}

/// Growth plan or higher: the catalogue's `own_keys` flag of the account's plan.
pub fn plan_allows_own_keys(catalogue: &Catalogue, plan: &str) -> Result<(), ApiError> {
    if catalogue.plan(plan).is_some_and(|p| p.own_keys) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OwnKeysNotInPlan,
            format!(
                "the {plan} plan does not include using your own AI keys; change to a plan that does"
            ),
        ))
    }
}

/// Writes the step's key row on the transaction's connection; whether there was a key to
/// change.
pub async fn write_row(
    conn: &mut AnyConnection,
    account_id: &str,
    step: &KeyStep,
    at: &str,
) -> Result<bool, sqlx::Error> {
    match step {
        KeyStep::Save { sealed, row } => store::put_key(conn, account_id, sealed, row)
            .await
            .map(|()| true),
        KeyStep::Remove { provider } => store::delete_key(conn, account_id, provider).await,
        KeyStep::MarkInvalid { provider, reason } => {
            store::mark_key_invalid(conn, account_id, provider, reason, at).await
        }
    }
}

/// The audit rows of a step: what changed (nothing when `found` is false for a removal or a
/// refusal), then the selection the core reset because of it, if it did.
pub fn audit_rows(
    step: &KeyStep,
    found: bool,
    selection_changed: Option<(String, String)>,
    member: &str,
    role: &str,
    at: &str,
) -> Vec<AuditRow> {
    let row = |action: &str, detail: Option<String>| AuditRow {
        at: at.to_owned(),
        member: member.to_owned(),
        role: role.to_owned(),
        action: action.to_owned(),
        provider: Some(step.provider().to_owned()),
        detail,
    };
    let mut rows = Vec::with_capacity(3);
    match step {
        KeyStep::Save { row: key, .. } => {
            let result = match &key.reason {
                None => "connected".to_owned(),
                Some(r) => format!("rejected: {r}"),
            };
            rows.push(row("added", None));
            rows.push(row("tested", Some(result)));
        }
        KeyStep::Remove { .. } if found => rows.push(row("removed", None)),
        KeyStep::MarkInvalid { reason, .. } if found => {
            rows.push(row("marked_invalid", Some(reason.clone())));
        }
        KeyStep::Remove { .. } | KeyStep::MarkInvalid { .. } => {}
    }
    if let Some((from, to)) = selection_changed {
        rows.push(row("selection_reset", Some(format!("{from} -> {to}"))));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_plan_without_own_keys_is_refused() {
        // Proves the plan gate reads the catalogue's own_keys flag: the default plans allow keys, a plan with the flag off gets 403 own_keys_not_in_plan.
        let default = Catalogue::default();
        assert!(plan_allows_own_keys(&default, "growth").is_ok());
        assert!(plan_allows_own_keys(&default, "pro").is_ok());
        let mut doc: Value = serde_json::from_str(&default.to_json()).expect("json");
        for plan in doc["plans"].as_array_mut().expect("plans") {
            if plan["id"] == "growth" {
                plan["own_keys"] = json!(false);
            }
        }
        let starter = Catalogue::from_json(&doc.to_string()).expect("a valid catalogue");
        let refused = plan_allows_own_keys(&starter, "growth").expect_err("refused");
        assert_eq!(
            (refused.status, refused.code.as_str()),
            (StatusCode::FORBIDDEN, "own_keys_not_in_plan")
        );
        assert!(plan_allows_own_keys(&starter, "pro").is_ok());
    }

    #[test]
    fn each_step_audits_what_it_changed_and_the_selection_it_forced() {
        // Proves the audit rows of each step: a save is added and tested, a removal or refusal of a missing key writes nothing, and a forced selection follows its change.
        let save = |reason: Option<&str>| KeyStep::Save {
            sealed: Sealed {
                ciphertext_hex: String::new(),
                nonce_hex: String::new(),
            },
            row: KeyRow {
                provider: "xai".into(),
                last4: "abcd".into(),
                state: if reason.is_some() {
                    "rejected"
                } else {
                    "connected"
                }
                .into(),
                reason: reason.map(str::to_owned),
                detail: None,
                tested_at: "2026-01-01T00:00:00Z".into(),
            },
        };
        let lines = |step: &KeyStep, found: bool, changed: Option<(&str, &str)>| -> Vec<String> {
            let changed = changed.map(|(a, b)| (a.to_owned(), b.to_owned()));
            audit_rows(step, found, changed, "m", "admin", "t")
                .iter()
                .map(|r| format!("{} {}", r.action, r.detail.as_deref().unwrap_or("")))
                .map(|l| l.trim_end().to_owned())
                .collect()
        };
        assert_eq!(save(None).event_kinds(), ["connect_key"]);
        assert_eq!(
            lines(&save(None), true, None),
            ["added", "tested connected"]
        );
        assert_eq!(
            save(Some("auth")).event_kinds(),
            ["connect_key", "key_invalid"]
        );
        assert_eq!(
            lines(&save(Some("auth")), true, Some(("grok-4", "d"))),
            [
                "added",
                "tested rejected: auth",
                "selection_reset grok-4 -> d"
            ]
        );
        let remove = KeyStep::Remove {
            provider: "xai".into(),
        };
        assert_eq!(lines(&remove, true, None), ["removed"]);
        assert!(lines(&remove, false, None).is_empty());
        let mark = KeyStep::MarkInvalid {
            provider: "xai".into(),
            reason: "billing".into(),
        };
        assert_eq!(lines(&mark, true, None), ["marked_invalid billing"]);
        assert!(lines(&mark, false, None).is_empty());
        let change = KeyChange {
            role: "admin",
            steps: vec![save(Some("auth")), remove],
        };
        assert!(change.needs_own_keys() && change.event_count() == 3);
    }
}
