//! The `Catalogue` class.

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use super::js;
use crate::keys::{KeyRing, KeyState, available_models};

/// The model catalogue: providers, models, plans and packs.
#[wasm_bindgen]
pub struct Catalogue(pub(crate) Arc<crate::Catalogue>);

#[wasm_bindgen]
impl Catalogue {
    /// The catalogue built into the package.
    #[wasm_bindgen(js_name = "default")]
    pub fn builtin() -> Catalogue {
        Catalogue(crate::Catalogue::builtin())
    }

    /// Loads and validates a catalogue document; throws an error whose `code` names the problem.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<Catalogue, JsValue> {
        crate::Catalogue::from_json(text)
            .map(|c| Catalogue(Arc::new(c)))
            .map_err(|e| js::error(e.code(), &e.to_string()))
    }

    /// Another handle to the same catalogue (nothing is copied): freeing one leaves the other.
    /// The package's entry hands a ledger a clone, so the caller's catalogue stays usable.
    #[wasm_bindgen(js_name = clone)]
    pub fn clone_handle(&self) -> Catalogue {
        Catalogue(Arc::clone(&self.0))
    }

    /// The catalogue document as JSON text.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The document's content hash: what checkpoints name and the server sends as
    /// `/v1/catalogue`'s ETag.
    #[wasm_bindgen(js_name = contentHash)]
    pub fn content_hash(&self) -> String {
        self.0.content_hash()
    }

    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u32 {
        self.0.version
    }

    #[wasm_bindgen(getter, js_name = platformName)]
    pub fn platform_name(&self) -> String {
        self.0.platform_name.clone()
    }

    /// Where the host app sells credit packs, as messages name it.
    #[wasm_bindgen(getter, js_name = buyPacksAt)]
    pub fn buy_packs_at(&self) -> String {
        self.0.buy_packs_at.clone()
    }

    /// Where the host app connects provider keys, as messages name it.
    #[wasm_bindgen(getter, js_name = connectKeysAt)]
    pub fn connect_keys_at(&self) -> String {
        self.0.connect_keys_at.clone()
    }

    #[wasm_bindgen(getter, js_name = defaultModel)]
    pub fn default_model(&self) -> String {
        self.0.default_model.clone()
    }

    #[wasm_bindgen(unchecked_return_type = "Model[]")]
    pub fn models(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.models)
    }

    #[wasm_bindgen(unchecked_return_type = "Provider[]")]
    pub fn providers(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.providers)
    }

    #[wasm_bindgen(unchecked_return_type = "Plan[]")]
    pub fn plans(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.plans)
    }

    #[wasm_bindgen(unchecked_return_type = "PackOffer[]")]
    pub fn packs(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.packs)
    }

    #[wasm_bindgen(js_name = quickActions, unchecked_return_type = "QuickAction[]")]
    pub fn quick_actions(&self) -> Result<JsValue, JsValue> {
        js::to_js(&self.0.quick_actions)
    }

    /// The models a person can pick with these key states: every model on credits, and the
    /// own-key-only models whose provider key is connected.
    #[wasm_bindgen(js_name = availableModels, unchecked_return_type = "Model[]")]
    pub fn available_models(
        &self,
        #[wasm_bindgen(unchecked_param_type = "KeyStates")] keys: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ring = if keys.is_undefined() || keys.is_null() {
            KeyRing::default()
        } else {
            key_ring(js::json_from_js(keys)?)?
        };
        let models: Vec<_> = available_models(&self.0, &ring).collect();
        js::to_js(&models)
    }

    /// The message to show when a provider refuses a call for billing reasons.
    #[wasm_bindgen(js_name = billingMessage)]
    pub fn billing_message(&self, provider: &str) -> Result<String, JsValue> {
        match self.0.provider(provider) {
            Some(_) => Ok(self.0.provider_billing_message(provider)),
            None => Err(js::error(
                "unknown_provider",
                &format!("there is no AI provider `{provider}`"),
            )),
        }
    }
}

/// `{provider: "none" | "connected" | "invalid"}` → key ring.
fn key_ring(value: serde_json::Value) -> Result<KeyRing, JsValue> {
    let bad = || {
        js::error(
            "invalid_argument",
            "key states must be an object of provider → \"none\" | \"connected\" | \"invalid\"",
        )
    };
    let object = value.as_object().ok_or_else(bad)?;
    let mut ring = KeyRing::default();
    for (provider, state) in object {
        let state = match state.as_str() {
            Some("none") => KeyState::None,
            Some("connected") => KeyState::Connected,
            Some("invalid") => KeyState::Invalid,
            _ => return Err(bad()),
        };
        ring.set(provider, state);
    }
    Ok(ring)
}
