//! The `Ledger` class: the browser's copy of an account's ledger, for previews. The backend is
//! the only authority on debits; this copy replays what it decided.

use std::cell::RefCell;
use std::sync::Arc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::catalogue::Catalogue;
use super::js;
use crate::estimate::{Calibration, MessageRequest};
use crate::event::EventDraft;
use crate::ledger::Charge;
use crate::snapshot::read_account;
use crate::time::Instant;

/// One account's ledger.
#[wasm_bindgen]
pub struct Ledger {
    pub(super) inner: crate::Ledger,
    /// The last output calibration, kept while the ledger has the same entries: a person
    /// typing asks for the same feature and model on every keystroke.
    calibration: RefCell<Option<CachedCalibration>>,
}

struct CachedCalibration {
    /// The ledger's `sequence()` when it was computed.
    sequence: u64,
    feature: Option<String>,
    model: String,
    value: Calibration,
}

impl Ledger {
    /// The class around a core ledger (the client's view of its replica).
    pub(super) fn from_core(inner: crate::Ledger) -> Ledger {
        Ledger::wrap(inner)
    }

    fn wrap(inner: crate::Ledger) -> Ledger {
        Ledger {
            inner,
            calibration: RefCell::new(None),
        }
    }

    fn calibration(&self, feature: Option<&str>, model: &str) -> Calibration {
        let sequence = self.inner.sequence();
        let mut cache = self.calibration.borrow_mut();
        if let Some(c) = cache.as_ref()
            && c.sequence == sequence
            && c.feature.as_deref() == feature
            && c.model == model
        {
            return c.value;
        }
        let value = self.inner.output_calibration(feature, model);
        *cache = Some(CachedCalibration {
            sequence,
            feature: feature.map(str::to_owned),
            model: model.to_owned(),
            value,
        });
        value
    }
}

/// `estimateMessage`'s argument, read by hand from JSON like events are (serde's derived
/// readers would link float formatting into the WASM for their error messages).
struct MessageRequestJs {
    model: String,
    text: Option<String>,
    text_tokens: Option<crate::tokens::TokenEstimate>,
    history_tokens: u64,
    feature: Option<String>,
    member: Option<String>,
}

impl MessageRequestJs {
    fn read(value: &serde_json::Value) -> Result<MessageRequestJs, JsValue> {
        let bad = |what: &str| {
            js::error(
                "invalid_argument",
                &format!("not a message request: {what}"),
            )
        };
        let o = value.as_object().ok_or_else(|| bad("expected an object"))?;
        if let Some(k) = o.keys().find(|k| {
            ![
                "model",
                "text",
                "text_tokens",
                "history_tokens",
                "feature",
                "member",
            ]
            .contains(&k.as_str())
        }) {
            return Err(bad(&format!("unknown field `{k}`")));
        }
        let field = |k: &str| o.get(k).filter(|v| !v.is_null());
        let text = |k: &str| -> Result<Option<String>, JsValue> {
            field(k)
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad(&format!("`{k}` must be a string")))
                })
                .transpose()
        };
        let count = |v: &serde_json::Value, k: &str| {
            v.as_u64()
                .ok_or_else(|| bad(&format!("`{k}` must be a whole number ≥ 0")))
        };
        let text_tokens = match field("text_tokens") {
            None => None,
            Some(t) => {
                let get = |k: &str| {
                    t.get(k)
                        .ok_or_else(|| bad(&format!("`text_tokens.{k}` is missing")))
                };
                let estimate = crate::tokens::TokenEstimate {
                    tokens: count(get("tokens")?, "text_tokens.tokens")?,
                    low: count(get("low")?, "text_tokens.low")?,
                    high: count(get("high")?, "text_tokens.high")?,
                };
                if !(estimate.low <= estimate.tokens && estimate.tokens <= estimate.high) {
                    return Err(bad("text_tokens needs low ≤ tokens ≤ high"));
                }
                Some(estimate)
            }
        };
        Ok(MessageRequestJs {
            model: text("model")?.ok_or_else(|| bad("`model` is missing"))?,
            text: text("text")?,
            text_tokens,
            history_tokens: field("history_tokens")
                .map(|v| count(v, "history_tokens"))
                .transpose()?
                .unwrap_or(0),
            feature: text("feature")?,
            member: text("member")?,
        })
    }
}

#[derive(Serialize)]
struct ApplyOutcome<'a> {
    duplicate: bool,
    /// `null` for an event that makes no entry, as the server answers.
    entry: Option<&'a crate::Entry>,
}

/// The catalogue a ledger is made on: the caller's (the package's entry hands over a copy, so
/// the caller keeps its own), or the built-in one.
fn catalogue_or_default(catalogue: Option<Catalogue>) -> Arc<crate::Catalogue> {
    catalogue.map_or_else(crate::Catalogue::builtin, |c| Arc::clone(&c.0))
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
        Ok(Ledger::wrap(crate::Ledger::new(
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
        ledger.inner.replay_drafts(drafts)?;
        Ok(ledger)
    }

    /// A ledger rebuilt from `snapshot()` (the object or its JSON text).
    #[wasm_bindgen(js_name = fromSnapshot)]
    pub fn from_snapshot(
        #[wasm_bindgen(unchecked_param_type = "LedgerSnapshot | string")] snapshot: JsValue,
        catalogue: Option<Catalogue>,
    ) -> Result<Ledger, JsValue> {
        let doc = js::json_from_js(snapshot)?;
        Ok(Ledger::wrap(crate::Ledger::from_snapshot(
            catalogue_or_default(catalogue),
            &doc,
        )?))
    }

    /// A ledger restored from `checkpoint()` (the object or its JSON text), made with the
    /// same catalogue (else `checkpoint_catalogue_mismatch`). Events after it are applied as
    /// usual; it has no entries of its own from before.
    #[wasm_bindgen(js_name = fromCheckpoint)]
    pub fn from_checkpoint(
        #[wasm_bindgen(unchecked_param_type = "LedgerCheckpoint | string")] checkpoint: JsValue,
        catalogue: Option<Catalogue>,
    ) -> Result<Ledger, JsValue> {
        let checkpoint = crate::Checkpoint::from_json(&js::json_text_from_js(checkpoint)?)?;
        Ok(Ledger::wrap(crate::Ledger::from_checkpoint(
            catalogue_or_default(catalogue),
            &checkpoint,
        )?))
    }

    /// The state from the latest event on, in a document that does not grow with history
    /// (SPEC §5.3).
    #[wasm_bindgen(unchecked_return_type = "LedgerCheckpoint")]
    pub fn checkpoint(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.inner.checkpoint())
    }

    /// The account, the latest time seen and every accepted event.
    #[wasm_bindgen(unchecked_return_type = "LedgerSnapshot")]
    pub fn snapshot(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.inner.snapshot())
    }

    /// Applies one event; throws an error with the rejection's `code` when it is refused (a
    /// refused event changes nothing).
    #[wasm_bindgen(unchecked_return_type = "ApplyOutcome")]
    pub fn apply(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "LedgerEvent")] event: JsValue,
    ) -> Result<JsValue, JsValue> {
        let draft = EventDraft::from_json(&js::json_from_js(event)?);
        if let Some(refused) = draft.unread_fields() {
            return Err(refused.into());
        }
        let outcome = self.inner.apply_draft(draft)?;
        js::to_js(&ApplyOutcome {
            duplicate: outcome.duplicate,
            entry: outcome.entry.as_ref(),
        })
    }

    /// The balance at `at` (RFC 3339; default: now, or the latest event if the clock is behind).
    #[wasm_bindgen(unchecked_return_type = "Balance")]
    pub fn balance(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        js::to_js(&self.inner.balance(self.when(at)?)?)
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
        js::to_js(&self.inner.preview(self.when(at)?, &charge)?)
    }

    /// SPEC §4's result document at `at` (`rejected` and `duplicates` are empty: they are
    /// answered per event by `apply`).
    #[wasm_bindgen(unchecked_return_type = "ScenarioResult")]
    pub fn report(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        js::to_js(&self.inner.report(self.when(at)?, Vec::new(), Vec::new())?)
    }

    /// What a message will cost and leave, as ranges, before it is sent: from its `text`, or
    /// from `text_tokens` kept by a `TokenCounter` (so the text is not sent on every keystroke).
    #[wasm_bindgen(js_name = estimateMessage, unchecked_return_type = "MessageEstimate")]
    pub fn estimate_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageRequest")] request: JsValue,
        at: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let request = MessageRequestJs::read(&js::json_from_js(request)?)?;
        let catalogue = self.inner.catalogue();
        let model = catalogue.model(&request.model).ok_or_else(|| {
            js::error(
                "unknown_model",
                &format!("there is no model `{}`", request.model),
            )
        })?;
        let text_tokens = match (request.text_tokens, &request.text) {
            (Some(t), _) => t,
            (None, Some(text)) => crate::tokens::estimate_tokens(text, model.tokenizer),
            (None, None) => crate::tokens::TokenEstimate::default(),
        };
        let calibration = self.calibration(request.feature.as_deref(), &request.model);
        // Tokens from `text_tokens` when given; whether it is a task from the text when given.
        let task = request
            .text
            .as_deref()
            .is_some_and(crate::estimate::is_task);
        let request = MessageRequest {
            model: request.model,
            text_tokens,
            history_tokens: request.history_tokens,
            feature: request.feature,
            member: request.member,
            task,
        };
        js::to_js(
            &self
                .inner
                .estimate_message(self.when(at)?, &request, calibration)?,
        )
    }

    /// What a quick action of the catalogue will cost on `model` (default: the selected one).
    #[wasm_bindgen(js_name = estimateQuickAction, unchecked_return_type = "MessageEstimate")]
    pub fn estimate_quick_action(
        &self,
        id: &str,
        model: Option<String>,
        at: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let action = self.inner.catalogue().quick_action(id).ok_or_else(|| {
            js::error(
                "unknown_quick_action",
                &format!("there is no quick action `{id}`"),
            )
        })?;
        let model = model.unwrap_or_else(|| self.inner.selected_model().to_owned());
        js::to_js(
            &self
                .inner
                .estimate_quick_action(self.when(at)?, action, &model)?,
        )
    }

    /// Burn rate over the last `windowDays` (default 14), runway, and what each pack on offer
    /// would change, with what would expire unused.
    #[wasm_bindgen(unchecked_return_type = "Forecast")]
    pub fn forecast(
        &self,
        at: Option<String>,
        #[wasm_bindgen(js_name = windowDays)] window_days: Option<u32>,
    ) -> Result<JsValue, JsValue> {
        js::to_js(
            &self
                .inner
                .forecast(self.when(at)?, window_days.unwrap_or(14))?,
        )
    }

    /// The alerts that hold at `at` (default: now): monthly credits used
    /// past the catalogue's thresholds, credits lasting less than about a day at the recent
    /// pace, packs with credits left expiring soon. The server sends the same as webhooks.
    #[wasm_bindgen(unchecked_return_type = "Alert[]")]
    pub fn alerts(&self, at: Option<String>) -> Result<JsValue, JsValue> {
        js::to_js(&self.inner.alerts(self.when(at)?)?)
    }

    /// The models that can be picked now.
    #[wasm_bindgen(js_name = availableModels, unchecked_return_type = "Model[]")]
    pub fn available_models(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.inner.available_models().collect::<Vec<_>>())
    }

    /// Every entry, in time order.
    #[wasm_bindgen(unchecked_return_type = "Entry[]")]
    pub fn entries(&self) -> Result<JsValue, JsValue> {
        js::to_js(self.inner.entries())
    }

    /// Key states of providers that have a key.
    #[wasm_bindgen(unchecked_return_type = "KeyStates")]
    pub fn keys(&self) -> Result<JsValue, JsValue> {
        js::to_js(self.inner.keys())
    }

    /// The latest time seen, once an event was applied.
    #[wasm_bindgen(getter)]
    pub fn now(&self) -> Option<String> {
        self.inner.now().map(|t| crate::time::format_instant(&t))
    }

    #[wasm_bindgen(getter)]
    pub fn plan(&self) -> String {
        self.inner.plan().to_owned()
    }

    #[wasm_bindgen(getter, js_name = selectedModel)]
    pub fn selected_model(&self) -> String {
        self.inner.selected_model().to_owned()
    }

    #[wasm_bindgen(getter, js_name = entryCount)]
    pub fn entry_count(&self) -> usize {
        self.inner.entries().len()
    }

    fn when(&self, at: Option<String>) -> Result<Instant, JsValue> {
        let explicit = at.is_some();
        let t = js::instant_or_now(at)?;
        match self.inner.now() {
            Some(now) if !explicit && t < now => Ok(now),
            _ => Ok(t),
        }
    }
}
