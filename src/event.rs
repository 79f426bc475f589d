//! Events: what happens to an account, in SPEC §4's JSON language.
//!
//! A JSON event is first read into an [`EventDraft`], which keeps every problem it found
//! instead of failing at once: the ledger reports problems in SPEC §3's check order (time,
//! kind, id, idempotency, values, …), so the reader must not decide which one wins.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::{Instant, format_instant, parse_instant};
use crate::units::{CREDITS_PER_EVENT_MAX, Credits, TOKENS_PER_FIELD_MAX};

/// Longest id, model, feature or member string accepted in an event.
pub const TEXT_BYTES_MAX: usize = 256;

/// What an event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Usage,
    Debit,
    Hold,
    Commit,
    Release,
    PurchasePack,
    ConnectKey,
    KeyInvalid,
    RemoveKey,
    SelectModel,
    ChangePlan,
}

impl EventKind {
    pub const ALL: [EventKind; 11] = [
        EventKind::Usage,
        EventKind::Debit,
        EventKind::Hold,
        EventKind::Commit,
        EventKind::Release,
        EventKind::PurchasePack,
        EventKind::ConnectKey,
        EventKind::KeyInvalid,
        EventKind::RemoveKey,
        EventKind::SelectModel,
        EventKind::ChangePlan,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Usage => "usage",
            EventKind::Debit => "debit",
            EventKind::Hold => "hold",
            EventKind::Commit => "commit",
            EventKind::Release => "release",
            EventKind::PurchasePack => "purchase_pack",
            EventKind::ConnectKey => "connect_key",
            EventKind::KeyInvalid => "key_invalid",
            EventKind::RemoveKey => "remove_key",
            EventKind::SelectModel => "select_model",
            EventKind::ChangePlan => "change_plan",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the kind carries a caller-chosen id that takes part in idempotency.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            EventKind::Usage
                | EventKind::Debit
                | EventKind::Hold
                | EventKind::Commit
                | EventKind::Release
                | EventKind::PurchasePack
        )
    }

    /// The fields this kind reads, besides `at`, `kind` and `id`.
    fn fields(self) -> &'static [&'static str] {
        const USAGE: &[&str] = &[
            "model",
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "output_tokens",
            "feature",
            "member",
        ];
        const COMMIT: &[&str] = &[
            "hold",
            "model",
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "output_tokens",
            "feature",
            "member",
        ];
        match self {
            EventKind::Usage => USAGE,
            EventKind::Debit => &["credits", "feature", "member"],
            EventKind::Hold => &["credits", "expires_at", "feature", "member"],
            EventKind::Commit => COMMIT,
            EventKind::Release => &["hold"],
            EventKind::PurchasePack => &["pack"],
            EventKind::ConnectKey | EventKind::KeyInvalid | EventKind::RemoveKey => &["provider"],
            EventKind::SelectModel => &["model"],
            EventKind::ChangePlan => &["plan"],
        }
    }
}

/// Token counts of one AI call. Reasoning ("thinking") tokens are part of `output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tokens {
    #[serde(rename = "input_tokens", default)]
    pub input: u64,
    #[serde(rename = "cached_input_tokens", default)]
    pub cached_input: u64,
    #[serde(rename = "cache_write_tokens", default)]
    pub cache_write: u64,
    #[serde(rename = "output_tokens", default)]
    pub output: u64,
}

impl Tokens {
    /// Tokens sent to the model: input + cached input + cache writes.
    pub fn prompt_tokens(&self) -> u64 {
        self.input
            .saturating_add(self.cached_input)
            .saturating_add(self.cache_write)
    }

    pub fn total(&self) -> u64 {
        self.prompt_tokens().saturating_add(self.output)
    }
}

/// Who a usage or debit is attributed to, for breakdowns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attribution {
    pub feature: Option<String>,
    pub member: Option<String>,
}

/// A well-formed event body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventBody {
    /// An AI call that happened, to be charged.
    Usage {
        model: String,
        tokens: Tokens,
        by: Attribution,
    },
    /// A charge of whole credits, not tied to a model.
    Debit {
        credits: Credits,
        by: Attribution,
    },
    /// Credits set aside for a message in flight.
    Hold {
        credits: Credits,
        expires_at: Instant,
        by: Attribution,
    },
    /// The actual usage of a held message; frees the hold.
    Commit {
        hold: String,
        model: String,
        tokens: Tokens,
        by: Attribution,
    },
    /// Frees a hold without charging.
    Release {
        hold: String,
    },
    PurchasePack {
        pack: String,
    },
    ConnectKey {
        provider: String,
    },
    KeyInvalid {
        provider: String,
    },
    RemoveKey {
        provider: String,
    },
    SelectModel {
        model: String,
    },
    ChangePlan {
        plan: String,
    },
}

impl EventBody {
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::Usage { .. } => EventKind::Usage,
            EventBody::Debit { .. } => EventKind::Debit,
            EventBody::Hold { .. } => EventKind::Hold,
            EventBody::Commit { .. } => EventKind::Commit,
            EventBody::Release { .. } => EventKind::Release,
            EventBody::PurchasePack { .. } => EventKind::PurchasePack,
            EventBody::ConnectKey { .. } => EventKind::ConnectKey,
            EventBody::KeyInvalid { .. } => EventKind::KeyInvalid,
            EventBody::RemoveKey { .. } => EventKind::RemoveKey,
            EventBody::SelectModel { .. } => EventKind::SelectModel,
            EventBody::ChangePlan { .. } => EventKind::ChangePlan,
        }
    }
}

/// A well-formed event: what the ledger stores once it accepted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: Instant,
    pub id: Option<String>,
    pub body: EventBody,
    /// Fields the kind does not read; kept because they are part of the event's content.
    pub extra: Map<String, Value>,
}

impl Event {
    pub fn new(at: Instant, id: Option<&str>, body: EventBody) -> Event {
        Event {
            at,
            id: id.map(str::to_owned),
            body,
            extra: Map::new(),
        }
    }

    /// The same content, in the idempotency sense: every field but `at`.
    pub fn same_content(&self, body: &EventBody, extra: &Map<String, Value>) -> bool {
        self.body == *body && self.extra == *extra
    }

    /// The event in SPEC §4's JSON language.
    pub fn to_json(&self) -> Value {
        let mut o = self.extra.clone();
        o.insert("at".into(), format_instant(&self.at).into());
        o.insert("kind".into(), self.body.kind().as_str().into());
        if let Some(id) = &self.id {
            o.insert("id".into(), id.clone().into());
        }
        let tokens = |o: &mut Map<String, Value>, t: &Tokens| {
            o.insert("input_tokens".into(), t.input.into());
            o.insert("cached_input_tokens".into(), t.cached_input.into());
            o.insert("cache_write_tokens".into(), t.cache_write.into());
            o.insert("output_tokens".into(), t.output.into());
        };
        let by = |o: &mut Map<String, Value>, b: &Attribution| {
            if let Some(f) = &b.feature {
                o.insert("feature".into(), f.clone().into());
            }
            if let Some(m) = &b.member {
                o.insert("member".into(), m.clone().into());
            }
        };
        match &self.body {
            EventBody::Usage {
                model,
                tokens: t,
                by: b,
            } => {
                o.insert("model".into(), model.clone().into());
                tokens(&mut o, t);
                by(&mut o, b);
            }
            EventBody::Debit { credits, by: b } => {
                o.insert("credits".into(), (*credits).into());
                by(&mut o, b);
            }
            EventBody::Hold {
                credits,
                expires_at,
                by: b,
            } => {
                o.insert("credits".into(), (*credits).into());
                o.insert("expires_at".into(), format_instant(expires_at).into());
                by(&mut o, b);
            }
            EventBody::Commit {
                hold,
                model,
                tokens: t,
                by: b,
            } => {
                o.insert("hold".into(), hold.clone().into());
                o.insert("model".into(), model.clone().into());
                tokens(&mut o, t);
                by(&mut o, b);
            }
            EventBody::Release { hold } => {
                o.insert("hold".into(), hold.clone().into());
            }
            EventBody::PurchasePack { pack } => {
                o.insert("pack".into(), pack.clone().into());
            }
            EventBody::ConnectKey { provider }
            | EventBody::KeyInvalid { provider }
            | EventBody::RemoveKey { provider } => {
                o.insert("provider".into(), provider.clone().into());
            }
            EventBody::SelectModel { model } => {
                o.insert("model".into(), model.clone().into());
            }
            EventBody::ChangePlan { plan } => {
                o.insert("plan".into(), plan.clone().into());
            }
        }
        Value::Object(o)
    }
}

/// An event as read, with each problem kept for the ledger to report in check order.
#[derive(Clone, Debug)]
pub struct EventDraft {
    /// How `rejected` names the event: its id, else its kind, else `event`.
    pub name: String,
    pub at: Result<Instant, String>,
    pub kind: Result<EventKind, String>,
    /// A usable id (a non-empty string of at most [`TEXT_BYTES_MAX`] bytes).
    pub id: Option<String>,
    pub body: Result<EventBody, String>,
    pub extra: Map<String, Value>,
}

impl From<Event> for EventDraft {
    fn from(e: Event) -> Self {
        EventDraft {
            name: e
                .id
                .clone()
                .unwrap_or_else(|| e.body.kind().as_str().to_owned()),
            at: Ok(e.at),
            kind: Ok(e.body.kind()),
            id: e.id,
            body: Ok(e.body),
            extra: e.extra,
        }
    }
}

impl EventDraft {
    /// Reads one JSON event. Never fails: problems are kept in the draft.
    pub fn from_json(value: &Value) -> EventDraft {
        let empty = Map::new();
        let o = value.as_object().unwrap_or(&empty);
        let field = |key: &str| o.get(key).filter(|v| !v.is_null());
        let at = match field("at") {
            None => Err("the event has no `at` time".to_owned()),
            Some(Value::String(s)) => {
                parse_instant(s).ok_or_else(|| format!("`at` is not an RFC 3339 time: {s:?}"))
            }
            Some(other) => Err(format!("`at` must be an RFC 3339 string, not {other}")),
        };
        let kind_text = field("kind").and_then(Value::as_str);
        let kind = match kind_text {
            None => Err("the event has no `kind`".to_owned()),
            Some(k) => EventKind::parse(k).ok_or_else(|| format!("unknown event kind {k:?}")),
        };
        let id = field("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= TEXT_BYTES_MAX)
            .map(str::to_owned);
        let name = id
            .clone()
            .or_else(|| kind_text.map(str::to_owned))
            .unwrap_or_else(|| "event".to_owned());
        let (body, extra) = match kind {
            Ok(k) => {
                let known = k.fields();
                let extra = o
                    .iter()
                    .filter(|(key, v)| {
                        !v.is_null()
                            && !matches!(key.as_str(), "at" | "kind" | "id")
                            && !known.contains(&key.as_str())
                    })
                    .map(|(key, v)| (key.clone(), v.clone()))
                    .collect();
                (read_body(k, &field), extra)
            }
            Err(ref e) => (Err(e.clone()), Map::new()),
        };
        EventDraft {
            name,
            at,
            kind,
            id,
            body,
            extra,
        }
    }
}

fn read_body<'a>(
    kind: EventKind,
    field: &impl Fn(&str) -> Option<&'a Value>,
) -> Result<EventBody, String> {
    let text = |key: &str| -> Result<String, String> {
        match field(key) {
            None => Err(format!("a {} event needs `{key}`", kind.as_str())),
            Some(v) => text_value(key, v),
        }
    };
    let optional_text = |key: &str| -> Result<Option<String>, String> {
        field(key).map(|v| text_value(key, v)).transpose()
    };
    let by = || -> Result<Attribution, String> {
        Ok(Attribution {
            feature: optional_text("feature")?,
            member: optional_text("member")?,
        })
    };
    let tokens = || -> Result<Tokens, String> {
        Ok(Tokens {
            input: token_count("input_tokens", field("input_tokens"))?,
            cached_input: token_count("cached_input_tokens", field("cached_input_tokens"))?,
            cache_write: token_count("cache_write_tokens", field("cache_write_tokens"))?,
            output: token_count("output_tokens", field("output_tokens"))?,
        })
    };
    let credits = || credit_count(field("credits"));
    Ok(match kind {
        EventKind::Usage => EventBody::Usage {
            model: text("model")?,
            tokens: tokens()?,
            by: by()?,
        },
        EventKind::Debit => EventBody::Debit {
            credits: credits()?,
            by: by()?,
        },
        EventKind::Hold => {
            let credits = credits()?;
            let expires_at = match field("expires_at") {
                Some(Value::String(s)) => parse_instant(s)
                    .ok_or_else(|| format!("`expires_at` is not an RFC 3339 time: {s:?}"))?,
                Some(_) => return Err("`expires_at` must be an RFC 3339 string".into()),
                None => return Err("a hold needs `expires_at`".into()),
            };
            EventBody::Hold {
                credits,
                expires_at,
                by: by()?,
            }
        }
        EventKind::Commit => EventBody::Commit {
            hold: text("hold")?,
            model: text("model")?,
            tokens: tokens()?,
            by: by()?,
        },
        EventKind::Release => EventBody::Release {
            hold: text("hold")?,
        },
        EventKind::PurchasePack => EventBody::PurchasePack {
            pack: text("pack")?,
        },
        EventKind::ConnectKey => EventBody::ConnectKey {
            provider: text("provider")?,
        },
        EventKind::KeyInvalid => EventBody::KeyInvalid {
            provider: text("provider")?,
        },
        EventKind::RemoveKey => EventBody::RemoveKey {
            provider: text("provider")?,
        },
        EventKind::SelectModel => EventBody::SelectModel {
            model: text("model")?,
        },
        EventKind::ChangePlan => EventBody::ChangePlan {
            plan: text("plan")?,
        },
    })
}

fn text_value(key: &str, v: &Value) -> Result<String, String> {
    match v.as_str() {
        Some(s) if s.len() <= TEXT_BYTES_MAX => Ok(s.to_owned()),
        Some(_) => Err(format!("`{key}` is longer than {TEXT_BYTES_MAX} bytes")),
        None => Err(format!("`{key}` must be a string, not {v}")),
    }
}

/// A token count: absent is 0; otherwise an integer written without fraction or exponent,
/// from 0 to 100,000,000.
fn token_count(key: &str, v: Option<&Value>) -> Result<u64, String> {
    let Some(v) = v else { return Ok(0) };
    match v
        .as_number()
        .filter(|n| n.is_u64())
        .and_then(|n| n.as_u64())
    {
        Some(n) if n <= TOKENS_PER_FIELD_MAX => Ok(n),
        _ => Err(format!(
            "`{key}` must be a whole number from 0 to {TOKENS_PER_FIELD_MAX}, not {v}"
        )),
    }
}

/// A debit's or hold's credits: an integer from 1 to 1,000,000,000,000.
fn credit_count(v: Option<&Value>) -> Result<Credits, String> {
    let Some(v) = v else {
        return Err("`credits` is required".into());
    };
    match v
        .as_number()
        .filter(|n| n.is_u64())
        .and_then(|n| n.as_u64())
    {
        Some(n) if (1..=CREDITS_PER_EVENT_MAX).contains(&n) => Ok(n),
        _ => Err(format!(
            "`credits` must be a whole number from 1 to {CREDITS_PER_EVENT_MAX}, not {v}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_every_problem_for_the_ledger_to_order() {
        // Proves a draft with an unknown kind still reports its time and name, not just the first error.
        let d = EventDraft::from_json(&json!({"at": "2026-01-01T00:00:00Z", "kind": "teleport"}));
        assert!(d.at.is_ok());
        assert!(d.kind.is_err());
        assert_eq!(d.name, "teleport");
    }

    #[test]
    fn token_fields_must_be_plain_integers() {
        // Proves fractions, exponents, negatives, booleans, strings and too-large counts are refused.
        for bad in [
            json!(1.5),
            json!(-1),
            json!(true),
            json!("12"),
            json!(100_000_001u64),
        ] {
            assert!(token_count("input_tokens", Some(&bad)).is_err(), "{bad}");
        }
        let exponent: Value = serde_json::from_str("1e3").unwrap();
        assert!(token_count("input_tokens", Some(&exponent)).is_err());
        assert_eq!(token_count("input_tokens", None), Ok(0));
        assert_eq!(
            token_count("input_tokens", Some(&json!(100_000_000))),
            Ok(100_000_000)
        );
    }

    #[test]
    fn null_fields_are_absent_and_round_trip() {
        // Proves null equals absent for content, and to_json reads back to the same event.
        let a = EventDraft::from_json(
            &json!({"at": "2026-01-01T00:00:00Z", "kind": "usage", "id": "u",
            "model": "gpt-5", "input_tokens": 5, "output_tokens": null, "feature": null, "note": null}),
        );
        let b = EventDraft::from_json(
            &json!({"at": "2026-01-02T00:00:00Z", "kind": "usage", "id": "u",
            "model": "gpt-5", "input_tokens": 5}),
        );
        assert_eq!(a.body, b.body);
        assert_eq!(a.extra, b.extra);
        let event = Event {
            at: a.at.unwrap(),
            id: a.id,
            body: a.body.unwrap(),
            extra: a.extra,
        };
        let again = EventDraft::from_json(&event.to_json());
        assert_eq!(again.body.unwrap(), event.body);
    }
}
