//! The model catalogue: providers, models and their rates, plans and packs. Data, not code:
//! one versioned JSON document (`catalogue/catalogue.json`, schema beside it) is embedded as the
//! default and can be replaced at run time after validation.

use serde::Serialize;

use crate::error::CatalogueError;
use crate::event::Tokens;
use crate::sorted_map::SortedMap;
use crate::tokens::TokenizerFamily;
use crate::units::{Credits, Millicredits};

/// The default catalogue document, embedded at build time.
pub const DEFAULT_CATALOGUE_JSON: &str = include_str!("../catalogue/catalogue.json");

/// The `schema` value every catalogue document carries.
pub const CATALOGUE_SCHEMA: &str = "ai-credits/catalogue";
/// The catalogue format version this build reads.
pub const CATALOGUE_VERSION: u32 = 1;

const DOCUMENT_BYTES_MAX: usize = 1 << 20;
const PROVIDERS_MAX: usize = 64;
const MODELS_MAX: usize = 256;
const PLANS_MAX: usize = 32;
const PACKS_MAX: usize = 64;
const QUICK_ACTIONS_MAX: usize = 64;
const ID_BYTES_MAX: usize = 64;
/// Most answers kept per feature, model and pair for calibration: a checkpoint carries them.
pub const HISTORY_SAMPLES_MAX: u32 = 256;
/// A rate above this (≈ $166,667 per 1M tokens) is surely a mistake, and keeping rates below
/// it means `tokens × rate` can never overflow.
const RATE_MAX: u64 = 100_000_000;

/// How a model is priced relative to the others on credits (shown in the model picker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditTier {
    Lowest,
    Lower,
    Higher,
}

/// An AI provider whose key a business may connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provider {
    pub id: String,
    /// Display name, used in messages ("Your OpenAI account is out of credits…").
    pub name: String,
    /// The consumer product people know it by (ChatGPT, Claude…).
    pub product: String,
    /// Where to create an API key.
    pub key_url: String,
}

/// Millicredits per token for each kind of token. A missing cached-input or cache-write rate
/// means those tokens are charged at the input rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rates {
    pub input: u64,
    pub cached_input: Option<u64>,
    pub cache_write: Option<u64>,
    pub output: u64,
}

/// A price tier: above `above_prompt_tokens` prompt tokens (input + cached + cache write) the
/// whole usage is charged at these rates; rates left out keep the model's base rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PriceTier {
    pub above_prompt_tokens: u64,
    pub input: Option<u64>,
    pub cached_input: Option<u64>,
    pub cache_write: Option<u64>,
    pub output: Option<u64>,
}

fn ser_tokenizer<S: serde::Serializer>(t: &TokenizerFamily, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

/// One model of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Model {
    pub id: String,
    /// Which tokenizer it uses, for offline token estimates.
    #[serde(serialize_with = "ser_tokenizer")]
    pub tokenizer: TokenizerFamily,
    pub name: String,
    pub provider: String,
    /// Whether the platform's credits pay for it; otherwise only an own key can.
    pub on_credits: bool,
    pub tier: Option<CreditTier>,
    pub best_for: String,
    pub context_tokens: u64,
    pub rates: Rates,
    /// Ascending thresholds; at most one applies to a usage (the highest one exceeded).
    pub price_tiers: Vec<PriceTier>,
}

impl Model {
    /// The exact cost of a usage in millicredits, before the single rounding step.
    pub fn cost_millicredits(&self, tokens: &Tokens) -> Millicredits {
        let prompt = tokens.prompt_tokens();
        let tier = self
            .price_tiers
            .iter()
            .rev()
            .find(|t| prompt > t.above_prompt_tokens);
        let input = tier.and_then(|t| t.input).unwrap_or(self.rates.input);
        let cached = tier
            .and_then(|t| t.cached_input)
            .or(self.rates.cached_input)
            .unwrap_or(input);
        let cache_write = tier
            .and_then(|t| t.cache_write)
            .or(self.rates.cache_write)
            .unwrap_or(input);
        let output = tier.and_then(|t| t.output).unwrap_or(self.rates.output);
        let term = |count: u64, rate: u64| u128::from(count) * u128::from(rate);
        term(tokens.input, input)
            + term(tokens.cached_input, cached)
            + term(tokens.cache_write, cache_write)
            + term(tokens.output, output)
    }
}

/// A subscription plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub monthly_credits: Credits,
    /// Whether the plan may connect its own provider keys.
    pub own_keys: bool,
    /// Whether the plan may buy credit packs.
    pub packs: bool,
}

/// A credit pack that can be bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackOffer {
    pub id: String,
    pub credits: Credits,
    /// Price in US cents.
    pub price_cents: u64,
    /// Months the credits stay usable after purchase.
    pub valid_months: u32,
}

/// A low / expected / high range of counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Range {
    pub low: u64,
    pub expected: u64,
    pub high: u64,
}

impl Range {
    pub fn is_ordered(&self) -> bool {
        self.low <= self.expected && self.expected <= self.high
    }
}

/// How agent-style requests (several tool rounds) are estimated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentEstimation {
    /// Features whose requests run as agents.
    pub features: Vec<String>,
    /// Model calls per request.
    pub rounds: Range,
    /// Tokens a tool result adds to the context of the next round.
    pub tool_result_tokens: u64,
}

/// Defaults for message estimates where the account's own history is thin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Estimation {
    /// Output tokens of one answer.
    pub output_tokens: Range,
    /// Past answers needed before the account's own history is trusted.
    pub history_samples_min: u32,
    /// Most recent answers looked at.
    pub history_samples_max: u32,
    pub agent: AgentEstimation,
    /// Rounds of a message that asks to change things or names several items or days
    /// (`estimate::is_task`), which the assistant answers with tool calls; default 1–2–4,
    /// written out only when not the default (the content hash again).
    #[serde(skip_serializing_if = "is_default_task_rounds")]
    pub task_rounds: Range,
    /// Tokens the host app sends with every call of a feature besides the person's text and
    /// the conversation: its instructions and tool definitions, in each round. A feature not
    /// named sends none; written out only when some feature is named (the content hash).
    #[serde(skip_serializing_if = "SortedMap::is_empty")]
    pub prompt_tokens: SortedMap<u64>,
}

impl Estimation {
    /// The host app's own tokens sent with each call of `feature` (see `prompt_tokens`).
    pub fn prompt_tokens_of(&self, feature: Option<&str>) -> u64 {
        feature
            .and_then(|f| self.prompt_tokens.get(f))
            .copied()
            .unwrap_or(0)
    }
}

/// A task's rounds unless the catalogue says otherwise.
pub const TASK_ROUNDS_DEFAULT: Range = Range {
    low: 1,
    expected: 2,
    high: 4,
};

fn is_default_task_rounds(r: &Range) -> bool {
    *r == TASK_ROUNDS_DEFAULT
}

/// A ready-made request whose cost can be shown before it is used. The host app sends it
/// with instructions and tools of its own, narrower than its feature's (`prompt_tokens`), and
/// asks for at most `output_tokens`: that is what makes it cheaper than the same text typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuickAction {
    pub id: String,
    pub label: String,
    pub prompt: String,
    pub feature: String,
    /// Input tokens of its call: its prompt with its own instructions and tools.
    pub input_tokens: u64,
    /// Output tokens of its answer, the most the host app asks for.
    pub output_tokens: u64,
}

/// The seeds' words for where packs are bought, unless a catalogue names its host app's.
pub const BUY_PACKS_AT_DEFAULT: &str = "Settings → Billing & Plan";
/// The seeds' words for where provider keys are connected.
pub const CONNECT_KEYS_AT_DEFAULT: &str = "Settings → AI Assistant";

fn is_default_packs_at(text: &str) -> bool {
    text == BUY_PACKS_AT_DEFAULT
}

fn is_default_keys_at(text: &str) -> bool {
    text == CONNECT_KEYS_AT_DEFAULT
}

/// When alerts hold (see `alerts`): the catalogue's `alerts`, defaulting to these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertSettings {
    /// Shares of the monthly allowance used, in percent, ascending (default 80 and 100).
    pub monthly_used_percent: Vec<u32>,
    /// Available credits lasting less than this many hours at the recent pace (default 24;
    /// 0 switches it off).
    pub runway_hours: u32,
    /// A pack with credits left expiring within this many days (default 7; 0: off).
    pub pack_expiry_days: u32,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            monthly_used_percent: vec![80, 100],
            runway_hours: 24,
            pack_expiry_days: 7,
        }
    }
}

fn is_default_alerts(a: &AlertSettings) -> bool {
    *a == AlertSettings::default()
}

/// A validated catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    pub schema: String,
    pub version: u32,
    pub source: String,
    /// The platform's name, used in messages ("switch to EquipDash credits").
    pub platform_name: String,
    /// Where in the host app credit packs are bought, as messages name it (default the seeds'
    /// "Settings → Billing & Plan"); written out only when it is not the default, so the
    /// built-in catalogue's content hash stays what checkpoints name.
    #[serde(skip_serializing_if = "is_default_packs_at")]
    pub buy_packs_at: String,
    /// Where in the host app provider keys are connected (default "Settings → AI Assistant").
    #[serde(skip_serializing_if = "is_default_keys_at")]
    pub connect_keys_at: String,
    /// Alert thresholds; written out only when not the defaults (the content hash again).
    #[serde(skip_serializing_if = "is_default_alerts")]
    pub alerts: AlertSettings,
    pub credits_per_usd: u64,
    pub default_model: String,
    pub providers: Vec<Provider>,
    pub models: Vec<Model>,
    pub plans: Vec<Plan>,
    pub estimation: Estimation,
    pub quick_actions: Vec<QuickAction>,
    pub packs: Vec<PackOffer>,
    /// `content_hash()`, computed once (every checkpoint names it).
    #[serde(skip)]
    hash: HashCache,
}

/// A value computed from the rest of the catalogue: not part of what makes two equal.
#[derive(Clone, Debug, Default)]
struct HashCache(std::sync::OnceLock<String>);

impl PartialEq for HashCache {
    fn eq(&self, _: &HashCache) -> bool {
        true
    }
}

impl Eq for HashCache {}

impl Default for Catalogue {
    fn default() -> Self {
        // build.rs and the tests read the embedded document; `Display`, not `expect`'s `Debug`,
        // which would link the errors' Debug code into the WebAssembly module for this alone.
        match Catalogue::from_json(DEFAULT_CATALOGUE_JSON) {
            Ok(catalogue) => catalogue,
            Err(e) => panic!("the embedded catalogue is invalid: {e}"),
        }
    }
}

impl Catalogue {
    /// The built-in catalogue, shared: read and hashed once per process. Every `Ledger` made
    /// without a catalogue of its own, every offline copy the client saves and every connect
    /// asks for it; reading and hashing it each time made a new `Ledger` 102 – 104 µs in
    /// WebAssembly instead of 6.4 (`bench/replay.mjs`).
    pub fn builtin() -> std::sync::Arc<Catalogue> {
        static BUILTIN: std::sync::OnceLock<std::sync::Arc<Catalogue>> = std::sync::OnceLock::new();
        std::sync::Arc::clone(BUILTIN.get_or_init(|| {
            let catalogue = Catalogue::default();
            catalogue.content_hash();
            std::sync::Arc::new(catalogue)
        }))
    }

    /// Parses and validates a catalogue document.
    pub fn from_json(text: &str) -> Result<Catalogue, CatalogueError> {
        if text.len() > DOCUMENT_BYTES_MAX {
            return Err(CatalogueError::TooLarge(format!(
                "the document is {} bytes; the limit is {DOCUMENT_BYTES_MAX}",
                text.len()
            )));
        }
        let value: serde_json::Value =
            crate::json::parse(text).map_err(|e| CatalogueError::InvalidJson(e.to_string()))?;
        doc::read(&value)?.validate()
    }

    /// The catalogue as its JSON document.
    pub fn to_json(&self) -> String {
        crate::json::to_text_pretty(self)
    }

    /// The document's content hash: the first 128 bits of the SHA-256 of `to_json()`, in hex.
    /// Checkpoints name the catalogue they were made with by it, and the server sends it as
    /// `/v1/catalogue`'s ETag.
    pub fn content_hash(&self) -> String {
        self.hash
            .0
            .get_or_init(|| {
                use sha2::{Digest, Sha256};
                let digest = Sha256::digest(self.to_json().as_bytes());
                digest[..16].iter().map(|b| format!("{b:02x}")).collect()
            })
            .clone()
    }

    pub fn model(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub fn quick_action(&self, id: &str) -> Option<&QuickAction> {
        self.quick_actions.iter().find(|q| q.id == id)
    }

    pub fn pack(&self, id: &str) -> Option<&PackOffer> {
        self.packs.iter().find(|p| p.id == id)
    }

    /// The provider's display name, or the id itself for an unknown provider.
    pub fn provider_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.provider(id).map_or(id, |p| p.name.as_str())
    }

    /// SPEC §3's message for a provider that refused a call for billing reasons.
    pub fn provider_billing_message(&self, provider: &str) -> String {
        let name = self.provider_name(provider);
        format!(
            "Your {name} account is out of credits or has a billing issue. Top up your {name} \
             account, then try again. (You can switch to {platform} credits in {keys_at} if \
             you'd rather not use your own key.)",
            platform = self.platform_name,
            keys_at = self.connect_keys_at,
        )
    }
}

/// The document as written, before validation.
mod doc {
    use std::collections::HashSet;

    use serde_json::{Map, Value};

    use super::*;

    // The document is read from a JSON tree by hand rather than with derived deserializers:
    // the same checks, a tenth of the WebAssembly (derived code for a dozen types was 50 KB).
    pub(super) struct CatalogueDoc {
        schema: String,
        version: u32,
        source: String,
        platform_name: String,
        buy_packs_at: Option<String>,
        connect_keys_at: Option<String>,
        alerts: Option<AlertSettings>,
        credits_per_usd: u64,
        default_model: String,
        providers: Vec<Provider>,
        models: Vec<ModelDoc>,
        plans: Vec<Plan>,
        estimation: Estimation,
        quick_actions: Vec<QuickAction>,
        packs: Vec<PackOffer>,
    }

    struct ModelDoc {
        id: String,
        tokenizer: String,
        name: String,
        provider: String,
        on_credits: bool,
        tier: Option<CreditTier>,
        best_for: String,
        context_tokens: u64,
        rates: RatesDoc,
        price_tiers: Vec<PriceTierDoc>,
    }

    /// Rates are read as signed integers so a negative rate gets its own error code.
    struct RatesDoc {
        input: i64,
        cached_input: Option<i64>,
        cache_write: Option<i64>,
        output: i64,
    }

    struct PriceTierDoc {
        above_prompt_tokens: u64,
        input: Option<i64>,
        cached_input: Option<i64>,
        cache_write: Option<i64>,
        output: Option<i64>,
    }

    /// One JSON object of the document, read field by field; every field must be one the
    /// format knows (a typo would otherwise be silently ignored).
    struct Obj<'a> {
        map: &'a Map<String, Value>,
        path: String,
    }

    fn invalid(path: &str, what: &str) -> CatalogueError {
        CatalogueError::InvalidValue(format!("`{path}` must be {what}"))
    }

    // Out of line: a copy of these at each of the document's fields was 0.7 KB of the gzipped
    // module (issue 13).
    impl<'a> Obj<'a> {
        #[inline(never)]
        fn new(value: &'a Value, path: String, fields: &[&str]) -> Result<Obj<'a>, CatalogueError> {
            let map = value
                .as_object()
                .ok_or_else(|| invalid(&path, "an object"))?;
            if let Some(unknown) = map.keys().find(|k| !fields.contains(&k.as_str())) {
                return Err(CatalogueError::UnknownField(format!("`{path}.{unknown}`")));
            }
            Ok(Obj { map, path })
        }

        #[inline(never)]
        fn path(&self, key: &str) -> String {
            format!("{}.{key}", self.path)
        }

        #[inline(never)]
        fn get(&self, key: &str) -> Option<&'a Value> {
            self.map.get(key).filter(|v| !v.is_null())
        }

        #[inline(never)]
        fn required(&self, key: &str) -> Result<&'a Value, CatalogueError> {
            self.get(key).ok_or_else(|| {
                CatalogueError::InvalidValue(format!("`{}` is missing", self.path(key)))
            })
        }

        #[inline(never)]
        fn text(&self, key: &str) -> Result<String, CatalogueError> {
            self.required(key)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(&self.path(key), "a string"))
        }

        #[inline(never)]
        fn count(&self, key: &str) -> Result<u64, CatalogueError> {
            self.required(key)?
                .as_u64()
                .ok_or_else(|| invalid(&self.path(key), "a whole number ≥ 0"))
        }

        #[inline(never)]
        fn flag(&self, key: &str) -> Result<bool, CatalogueError> {
            self.required(key)?
                .as_bool()
                .ok_or_else(|| invalid(&self.path(key), "true or false"))
        }

        #[inline(never)]
        fn signed(&self, key: &str) -> Result<Option<i64>, CatalogueError> {
            self.get(key)
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| invalid(&self.path(key), "a whole number"))
                })
                .transpose()
        }

        #[inline(never)]
        fn list<T>(
            &self,
            key: &str,
            mut read: impl FnMut(&'a Value, String) -> Result<T, CatalogueError>,
        ) -> Result<Vec<T>, CatalogueError> {
            let Some(value) = self.get(key) else {
                return Ok(Vec::new());
            };
            let list = value
                .as_array()
                .ok_or_else(|| invalid(&self.path(key), "a list"))?;
            list.iter()
                .enumerate()
                .map(|(i, v)| read(v, format!("{}[{i}]", self.path(key))))
                .collect()
        }

        #[inline(never)]
        fn object(&self, key: &str, fields: &[&str]) -> Result<Obj<'a>, CatalogueError> {
            Obj::new(self.required(key)?, self.path(key), fields)
        }
    }

    fn range(o: &Obj<'_>, key: &str) -> Result<Range, CatalogueError> {
        let r = o.object(key, &["low", "expected", "high"])?;
        Ok(Range {
            low: r.count("low")?,
            expected: r.count("expected")?,
            high: r.count("high")?,
        })
    }

    fn read_model(v: &Value, path: String) -> Result<ModelDoc, CatalogueError> {
        let fields = [
            "id",
            "tokenizer",
            "name",
            "provider",
            "on_credits",
            "tier",
            "best_for",
            "context_tokens",
            "rates",
            "price_tiers",
        ];
        let m = Obj::new(v, path, &fields)?;
        let r = m.object("rates", &["input", "cached_input", "cache_write", "output"])?;
        let required_rate = |key: &str| {
            r.signed(key)?
                .ok_or_else(|| invalid(&r.path(key), "a whole number"))
        };
        let tier = match m.get("tier").map(|t| t.as_str()) {
            None => None,
            Some(Some("lowest")) => Some(CreditTier::Lowest),
            Some(Some("lower")) => Some(CreditTier::Lower),
            Some(Some("higher")) => Some(CreditTier::Higher),
            Some(_) => {
                return Err(invalid(
                    &m.path("tier"),
                    "\"lowest\", \"lower\", \"higher\" or null",
                ));
            }
        };
        Ok(ModelDoc {
            id: m.text("id")?,
            tokenizer: m.text("tokenizer")?,
            name: m.text("name")?,
            provider: m.text("provider")?,
            on_credits: m.flag("on_credits")?,
            tier,
            best_for: m.text("best_for")?,
            context_tokens: m.count("context_tokens")?,
            rates: RatesDoc {
                input: required_rate("input")?,
                cached_input: r.signed("cached_input")?,
                cache_write: r.signed("cache_write")?,
                output: required_rate("output")?,
            },
            price_tiers: m.list("price_tiers", |v, path| {
                let t = Obj::new(
                    v,
                    path,
                    &[
                        "above_prompt_tokens",
                        "input",
                        "cached_input",
                        "cache_write",
                        "output",
                    ],
                )?;
                Ok(PriceTierDoc {
                    above_prompt_tokens: t.count("above_prompt_tokens")?,
                    input: t.signed("input")?,
                    cached_input: t.signed("cached_input")?,
                    cache_write: t.signed("cache_write")?,
                    output: t.signed("output")?,
                })
            })?,
        })
    }

    pub(super) fn read(value: &Value) -> Result<CatalogueDoc, CatalogueError> {
        let fields = [
            "schema",
            "version",
            "source",
            "platform_name",
            "buy_packs_at",
            "connect_keys_at",
            "alerts",
            "credits_per_usd",
            "default_model",
            "providers",
            "models",
            "plans",
            "estimation",
            "quick_actions",
            "packs",
        ];
        let d = Obj::new(value, "catalogue".into(), &fields)?;
        let e = d.object(
            "estimation",
            &[
                "output_tokens",
                "history_samples_min",
                "history_samples_max",
                "agent",
                "task_rounds",
                "prompt_tokens",
            ],
        )?;
        let agent = e.object("agent", &["features", "rounds", "tool_result_tokens"])?;
        let small = |o: &Obj<'_>, key: &str| {
            u32::try_from(o.count(key)?).map_err(|_| invalid(&o.path(key), "at most 4294967295"))
        };
        Ok(CatalogueDoc {
            schema: d.text("schema")?,
            version: small(&d, "version")?,
            source: d.text("source")?,
            platform_name: d.text("platform_name")?,
            buy_packs_at: d
                .get("buy_packs_at")
                .map(|_| d.text("buy_packs_at"))
                .transpose()?,
            connect_keys_at: d
                .get("connect_keys_at")
                .map(|_| d.text("connect_keys_at"))
                .transpose()?,
            alerts: d
                .get("alerts")
                .map(|_| {
                    let a = d.object(
                        "alerts",
                        &["monthly_used_percent", "runway_hours", "pack_expiry_days"],
                    )?;
                    let percents = a.list("monthly_used_percent", |v, path| {
                        v.as_u64()
                            .filter(|p| (1..=100).contains(p))
                            .map(|p| p as u32)
                            .ok_or_else(|| invalid(&path, "a percentage from 1 to 100"))
                    })?;
                    if percents.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(invalid(
                            &a.path("monthly_used_percent"),
                            "ascending, each once",
                        ));
                    }
                    Ok(AlertSettings {
                        monthly_used_percent: percents,
                        runway_hours: small(&a, "runway_hours")?,
                        pack_expiry_days: small(&a, "pack_expiry_days")?,
                    })
                })
                .transpose()?,
            credits_per_usd: d.count("credits_per_usd")?,
            default_model: d.text("default_model")?,
            providers: d.list("providers", |v, path| {
                let p = Obj::new(v, path, &["id", "name", "product", "key_url"])?;
                Ok(Provider {
                    id: p.text("id")?,
                    name: p.text("name")?,
                    product: p.text("product")?,
                    key_url: p.text("key_url")?,
                })
            })?,
            models: d.list("models", read_model)?,
            plans: d.list("plans", |v, path| {
                let p = Obj::new(
                    v,
                    path,
                    &["id", "name", "monthly_credits", "own_keys", "packs"],
                )?;
                Ok(Plan {
                    id: p.text("id")?,
                    name: p.text("name")?,
                    monthly_credits: p.count("monthly_credits")?,
                    own_keys: p.flag("own_keys")?,
                    packs: p.flag("packs")?,
                })
            })?,
            estimation: Estimation {
                output_tokens: range(&e, "output_tokens")?,
                history_samples_min: small(&e, "history_samples_min")?,
                history_samples_max: small(&e, "history_samples_max")?,
                agent: AgentEstimation {
                    features: agent.list("features", |v, path| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| invalid(&path, "a string"))
                    })?,
                    rounds: range(&agent, "rounds")?,
                    tool_result_tokens: agent.count("tool_result_tokens")?,
                },
                task_rounds: match e.get("task_rounds") {
                    Some(_) => range(&e, "task_rounds")?,
                    None => TASK_ROUNDS_DEFAULT,
                },
                prompt_tokens: match e.get("prompt_tokens") {
                    None => SortedMap::new(),
                    Some(value) => {
                        let path = e.path("prompt_tokens");
                        let map = value
                            .as_object()
                            .ok_or_else(|| invalid(&path, "an object of feature: tokens"))?;
                        let mut tokens = SortedMap::new();
                        for (feature, n) in map {
                            let n = n.as_u64().ok_or_else(|| {
                                invalid(&format!("{path}.{feature}"), "a whole number ≥ 0")
                            })?;
                            tokens.insert(feature, n);
                        }
                        tokens
                    }
                },
            },
            quick_actions: d.list("quick_actions", |v, path| {
                let q = Obj::new(
                    v,
                    path,
                    &[
                        "id",
                        "label",
                        "prompt",
                        "feature",
                        "input_tokens",
                        "output_tokens",
                    ],
                )?;
                Ok(QuickAction {
                    id: q.text("id")?,
                    label: q.text("label")?,
                    prompt: q.text("prompt")?,
                    feature: q.text("feature")?,
                    input_tokens: q.count("input_tokens")?,
                    output_tokens: q.count("output_tokens")?,
                })
            })?,
            packs: d.list("packs", |v, path| {
                let p = Obj::new(v, path, &["id", "credits", "price_cents", "valid_months"])?;
                Ok(PackOffer {
                    id: p.text("id")?,
                    credits: p.count("credits")?,
                    price_cents: p.count("price_cents")?,
                    valid_months: small(&p, "valid_months")?,
                })
            })?,
        })
    }

    fn rate(model: &str, field: &str, value: i64) -> Result<u64, CatalogueError> {
        let value = u64::try_from(value).map_err(|_| CatalogueError::NegativeRate {
            model: model.to_owned(),
            field: field.to_owned(),
        })?;
        if value > RATE_MAX {
            return Err(CatalogueError::InvalidValue(format!(
                "model `{model}`: {field} rate {value} is above the limit of {RATE_MAX} millicredits per token"
            )));
        }
        Ok(value)
    }

    fn optional_rate(
        model: &str,
        field: &str,
        value: Option<i64>,
    ) -> Result<Option<u64>, CatalogueError> {
        value.map(|v| rate(model, field, v)).transpose()
    }

    fn check_ids<'a>(
        what: &str,
        ids: impl Iterator<Item = &'a str>,
        limit: usize,
    ) -> Result<(), CatalogueError> {
        let mut seen = HashSet::<_, crate::ledger::IdHasher>::default();
        for id in ids {
            if id.is_empty() || id.len() > ID_BYTES_MAX {
                return Err(CatalogueError::InvalidValue(format!(
                    "a {what} id must be 1 to {ID_BYTES_MAX} bytes long (got `{id}`)"
                )));
            }
            if !seen.insert(id) {
                return Err(CatalogueError::DuplicateId {
                    what: what.to_owned(),
                    id: id.to_owned(),
                });
            }
        }
        if seen.len() > limit {
            return Err(CatalogueError::TooLarge(format!(
                "more than {limit} {what}s"
            )));
        }
        Ok(())
    }

    impl CatalogueDoc {
        pub(super) fn validate(self) -> Result<Catalogue, CatalogueError> {
            if self.schema != CATALOGUE_SCHEMA || self.version != CATALOGUE_VERSION {
                return Err(CatalogueError::UnsupportedVersion {
                    schema: self.schema,
                    version: self.version,
                });
            }
            if self.credits_per_usd == 0 {
                return Err(CatalogueError::InvalidValue(
                    "credits_per_usd must be above 0".into(),
                ));
            }
            check_ids(
                "provider",
                self.providers.iter().map(|p| p.id.as_str()),
                PROVIDERS_MAX,
            )?;
            check_ids(
                "model",
                self.models.iter().map(|m| m.id.as_str()),
                MODELS_MAX,
            )?;
            check_ids("plan", self.plans.iter().map(|p| p.id.as_str()), PLANS_MAX)?;
            check_ids("pack", self.packs.iter().map(|p| p.id.as_str()), PACKS_MAX)?;
            check_ids(
                "quick action",
                self.quick_actions.iter().map(|q| q.id.as_str()),
                QUICK_ACTIONS_MAX,
            )?;
            let e = &self.estimation;
            if !e.output_tokens.is_ordered()
                || !e.agent.rounds.is_ordered()
                || e.agent.rounds.low == 0
            {
                return Err(CatalogueError::InvalidValue(
                    "estimation ranges must be ordered low ≤ expected ≤ high, with at least one agent round".into(),
                ));
            }
            if e.history_samples_min == 0
                || e.history_samples_max < e.history_samples_min
                || e.history_samples_max > HISTORY_SAMPLES_MAX
            {
                return Err(CatalogueError::InvalidValue(format!(
                    "estimation needs 1 ≤ history_samples_min ≤ history_samples_max ≤ {HISTORY_SAMPLES_MAX}"
                )));
            }
            if self.plans.is_empty() {
                return Err(CatalogueError::InvalidValue(
                    "the catalogue needs at least one plan".into(),
                ));
            }
            for pack in &self.packs {
                if pack.credits == 0 || pack.valid_months == 0 {
                    return Err(CatalogueError::InvalidValue(format!(
                        "pack `{}` must have credits and a validity above 0",
                        pack.id
                    )));
                }
            }
            let mut models = Vec::with_capacity(self.models.len());
            for m in self.models {
                if !self.providers.iter().any(|p| p.id == m.provider) {
                    return Err(CatalogueError::UnknownProvider {
                        model: m.id,
                        provider: m.provider,
                    });
                }
                let rates = Rates {
                    input: rate(&m.id, "input", m.rates.input)?,
                    cached_input: optional_rate(&m.id, "cached_input", m.rates.cached_input)?,
                    cache_write: optional_rate(&m.id, "cache_write", m.rates.cache_write)?,
                    output: rate(&m.id, "output", m.rates.output)?,
                };
                let mut price_tiers = Vec::with_capacity(m.price_tiers.len());
                for t in m.price_tiers {
                    if price_tiers
                        .last()
                        .is_some_and(|p: &PriceTier| p.above_prompt_tokens >= t.above_prompt_tokens)
                    {
                        return Err(CatalogueError::InvalidValue(format!(
                            "model `{}`: price tiers must have strictly ascending thresholds",
                            m.id
                        )));
                    }
                    price_tiers.push(PriceTier {
                        above_prompt_tokens: t.above_prompt_tokens,
                        input: optional_rate(&m.id, "tier input", t.input)?,
                        cached_input: optional_rate(&m.id, "tier cached_input", t.cached_input)?,
                        cache_write: optional_rate(&m.id, "tier cache_write", t.cache_write)?,
                        output: optional_rate(&m.id, "tier output", t.output)?,
                    });
                }
                let tokenizer = TokenizerFamily::parse(&m.tokenizer).ok_or_else(|| {
                    CatalogueError::InvalidValue(format!(
                        "model `{}`: unknown tokenizer `{}`",
                        m.id, m.tokenizer
                    ))
                })?;
                models.push(Model {
                    id: m.id,
                    tokenizer,
                    name: m.name,
                    provider: m.provider,
                    on_credits: m.on_credits,
                    tier: m.tier,
                    best_for: m.best_for,
                    context_tokens: m.context_tokens,
                    rates,
                    price_tiers,
                });
            }
            match models.iter().find(|m| m.id == self.default_model) {
                None => return Err(CatalogueError::UnknownDefaultModel(self.default_model)),
                Some(m) if !m.on_credits => {
                    return Err(CatalogueError::DefaultModelNotOnCredits(self.default_model));
                }
                Some(_) => {}
            }
            Ok(Catalogue {
                schema: self.schema,
                version: self.version,
                source: self.source,
                platform_name: self.platform_name,
                buy_packs_at: self
                    .buy_packs_at
                    .unwrap_or_else(|| BUY_PACKS_AT_DEFAULT.to_owned()),
                connect_keys_at: self
                    .connect_keys_at
                    .unwrap_or_else(|| CONNECT_KEYS_AT_DEFAULT.to_owned()),
                alerts: self.alerts.unwrap_or_default(),
                credits_per_usd: self.credits_per_usd,
                default_model: self.default_model,
                providers: self.providers,
                models,
                plans: self.plans,
                estimation: self.estimation,
                quick_actions: self.quick_actions,
                packs: self.packs,
                hash: HashCache::default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_is_read_once_and_shared() {
        // Proves `builtin()` hands out one shared copy, the same catalogue and hash as the embedded document read anew.
        let (first, again) = (Catalogue::builtin(), Catalogue::builtin());
        assert!(std::sync::Arc::ptr_eq(&first, &again));
        let read = Catalogue::from_json(DEFAULT_CATALOGUE_JSON).unwrap();
        assert_eq!(*first, read);
        assert_eq!(first.content_hash(), read.content_hash());
    }
}
