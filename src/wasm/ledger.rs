//! The `Ledger` class: the browser's copy of an account's ledger, for previews. The backend is
//! the only authority on debits; this copy replays what it decided.

use std::sync::Arc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::catalogue::Catalogue;
use super::js;
use crate::event::EventDraft;
use crate::ledger::Charge;
use crate::snapshot::read_account;
use crate::time::Instant;

/// One account's ledger.
#[wasm_bindgen]
pub struct Ledger(crate::Ledger);

#[derive(Serialize)]
struct ApplyOutcome<'a> {
    duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<&'a crate::Entry>,
}

fn catalogue_or_default(catalogue: Option<Catalogue>) -> Arc<crate::Catalogue> {
    catalogue.map_or_else(
        || Arc::new(crate::Catalogue::default()),
        |c| Arc::clone(&c.0),
    )
}

#[wasm_bindgen]
impl Ledger {
    /// An empty ledger for an account (`{plan, cycle_anchor}`), on the given catalogue or the
    /// built-in one.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "AccountInit")] account: JsValue,
        catalogue: Option<Catalogue>,
    ) -> Result<Ledger, JsValue> {
        let account = read_account(Some(&js::json_from_js(account)?))?;
        Ok(Ledger(crate::Ledger::new(
            catalogue_or_default(catalogue),
            account,
        )?))
    }

    /// A ledger rebuilt from events that were all accepted before (a list, or its JSON text);
    /// throws on the first event refused now.
    #[wasm_bindgen(js_name = fromEvents)]
    pub fn from_events(
        #[wasm_bindgen(unchecked_param_type = "AccountInit")] account: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LedgerEvent[] | string")] events: JsValue,
        catalogue: Option<Catalogue>,
    ) -> Result<Ledger, JsValue> {
        let mut ledger = Ledger::new(account, catalogue)?;
        let drafts = EventDraft::list_from_json(&js::json_text_from_js(events)?).map_err(|e| {
            js::error(
                "invalid_argument",
                &format!("events must be a JSON list of events: {e}"),
            )
        })?;
        ledger.0.replay_drafts(drafts)?;
        Ok(ledger)
    }

    /// A ledger rebuilt from `snapshot()` (the object or its JSON text).
    #[wasm_bindgen(js_name = fromSnapshot)]
    pub fn from_snapshot(
        #[wasm_bindgen(unchecked_param_type = "LedgerSnapshot | string")] snapshot: JsValue,
        catalogue: Option<Catalogue>,
    ) -> Result<Ledger, JsValue> {
        let doc = js::json_from_js(snapshot)?;
        Ok(Ledger(crate::Ledger::from_snapshot(
            catalogue_or_default(catalogue),
            &doc,
        )?))
    }

    /// The account, the latest time seen and every accepted event.
    #[wasm_bindgen(unchecked_return_type = "LedgerSnapshot")]
    pub fn snapshot(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.snapshot())
    }

    /// Applies one event; throws an error with the rejection's `code` when it is refused (a
    /// refused event changes nothing).
    #[wasm_bindgen(unchecked_return_type = "ApplyOutcome")]
    pub fn apply(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "LedgerEvent")] event: JsValue,
    ) -> Result<JsValue, JsValue> {
        let draft = EventDraft::from_json(&js::json_from_js(event)?);
        let outcome = self.0.apply_draft(draft)?;
        js::to_js(&ApplyOutcome {
            duplicate: outcome.duplicate,
            entry: outcome.entry.as_ref(),
        })
    }

    /// The balance at `at` (RFC 3339; default: now, or the latest event if the clock is behind).
    #[wasm_bindgen(unchecked_return_type = "Balance")]
    pub fn balance(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.balance(self.when(at)?)?)
    }

    /// What a usage or debit would do now, without doing it: draws, unpaid, balance after,
    /// whether the gate lets it through.
    #[wasm_bindgen(unchecked_return_type = "Preview")]
    pub fn preview(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChargeRequest")] charge: JsValue,
        at: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let charge = Charge::from_json(&js::json_from_js(charge)?)?;
        js::to_js(&self.0.preview(self.when(at)?, &charge)?)
    }

    /// SPEC §4's result document at `at` (`rejected` and `duplicates` are empty: they are
    /// answered per event by `apply`).
    #[wasm_bindgen(unchecked_return_type = "ScenarioResult")]
    pub fn report(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.report(self.when(at)?, Vec::new(), Vec::new())?)
    }

    /// The models that can be picked now.
    #[wasm_bindgen(js_name = availableModels, unchecked_return_type = "Model[]")]
    pub fn available_models(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.available_models().collect::<Vec<_>>())
    }

    /// Every entry, in time order.
    #[wasm_bindgen(unchecked_return_type = "Entry[]")]
    pub fn entries(&self) -> Result<JsValue, JsValue> {
        js::to_js(self.0.entries())
    }

    /// Key states of providers that have a key.
    #[wasm_bindgen(unchecked_return_type = "KeyStates")]
    pub fn keys(&self) -> Result<JsValue, JsValue> {
        js::to_js(self.0.keys())
    }

    /// The latest time seen, once an event was applied.
    #[wasm_bindgen(getter)]
    pub fn now(&self) -> Option<String> {
        self.0.now().map(|t| crate::time::format_instant(&t))
    }

    #[wasm_bindgen(getter)]
    pub fn plan(&self) -> String {
        self.0.plan().to_owned()
    }

    #[wasm_bindgen(getter, js_name = selectedModel)]
    pub fn selected_model(&self) -> String {
        self.0.selected_model().to_owned()
    }

    #[wasm_bindgen(getter, js_name = entryCount)]
    pub fn entry_count(&self) -> usize {
        self.0.entries().len()
    }

    fn when(&self, at: Option<String>) -> Result<Instant, JsValue> {
        let explicit = at.is_some();
        let t = js::instant_or_now(at)?;
        match self.0.now() {
            Some(now) if !explicit && t < now => Ok(now),
            _ => Ok(t),
        }
    }
}
