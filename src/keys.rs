//! Own provider keys: their states and how a usage is routed (SPEC §3 rule 7).

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Model};
use crate::sorted_map::SortedMap;

/// The state of one provider's key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// No key saved.
    #[default]
    None,
    /// Saved and accepted by the provider: calls for it are billed to the own key.
    Connected,
    /// Rejected when saved, or later by the provider: calls go back to credits.
    Invalid,
}

/// Who pays for a usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BilledTo {
    Credits,
    OwnKey,
}

/// Key states by provider id; providers with no key are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KeyRing(SortedMap<KeyState>);

impl KeyRing {
    pub fn state(&self, provider: &str) -> KeyState {
        self.0.get(provider).copied().unwrap_or_default()
    }

    pub fn is_connected(&self, provider: &str) -> bool {
        self.state(provider) == KeyState::Connected
    }

    /// Sets a state; `None` removes the provider from the ring.
    pub fn set(&mut self, provider: &str, state: KeyState) {
        if state == KeyState::None {
            self.0.remove(provider);
        } else {
            self.0.insert(provider, state);
        }
    }

    /// Providers with a key, and their states.
    pub fn states(&self) -> &SortedMap<KeyState> {
        &self.0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, KeyState)> {
        self.0.iter().map(|(p, s)| (p, *s))
    }
}

impl FromIterator<(String, KeyState)> for KeyRing {
    fn from_iter<I: IntoIterator<Item = (String, KeyState)>>(iter: I) -> Self {
        let mut ring = KeyRing::default();
        for (p, s) in iter {
            ring.set(&p, s);
        }
        ring
    }
}

/// Who pays for a call to `model` with these keys: the own key when its provider's key is
/// connected, else credits when the model is on credits; `None` when it is unavailable.
pub fn billed_to(model: &Model, keys: &KeyRing) -> Option<BilledTo> {
    if keys.is_connected(&model.provider) {
        Some(BilledTo::OwnKey)
    } else if model.on_credits {
        Some(BilledTo::Credits)
    } else {
        None
    }
}

/// The models a person can pick with these keys (SPEC §3 rule 8).
pub fn available_models<'a>(
    catalogue: &'a Catalogue,
    keys: &'a KeyRing,
) -> impl Iterator<Item = &'a Model> {
    catalogue
        .models
        .iter()
        .filter(move |m| billed_to(m, keys).is_some())
}
