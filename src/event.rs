//! Events: what happens to an account, in SPEC §4's JSON language.
//!
//! A JSON event is first read into an [`EventDraft`], which keeps every problem it found
//! instead of failing at once: the ledger reports problems in SPEC §3's check order (time,
//! kind, id, idempotency, values, …), so the reader must not decide which one wins.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{RejectCode, Rejection};
// Values in messages are shown as JSON text through the core's one serializer (`Value`'s
// `Display` would link two more into the WebAssembly module, compact and pretty).
use crate::json::to_text;
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
    /// The counts are the core's estimate, not the provider's report (SPEC §5.4: a call whose
    /// answer reported no usage). Written out only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
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
            if t.estimated {
                o.insert("estimated".into(), true.into());
            }
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDraft {
    pub at: Result<Instant, String>,
    pub kind: Result<EventKind, String>,
    /// The `kind` text when it names no known kind (kept to name the event).
    pub unknown_kind: Option<String>,
    /// A usable id (a non-empty string of at most [`TEXT_BYTES_MAX`] bytes).
    pub id: Option<String>,
    pub body: Result<EventBody, String>,
    pub extra: Map<String, Value>,
}

impl From<Event> for EventDraft {
    fn from(e: Event) -> Self {
        EventDraft {
            at: Ok(e.at),
            kind: Ok(e.body.kind()),
            unknown_kind: None,
            id: e.id,
            body: Ok(e.body),
            extra: e.extra,
        }
    }
}

/// The fields of one JSON event object, borrowed from a parsed value or owned from a stream.
/// Reading takes a field out, so what is left at the end is the fields the kind does not know.
struct Fields<'a> {
    items: Vec<(Cow<'a, str>, Cow<'a, Value>)>,
}

impl<'a> Fields<'a> {
    fn take(&mut self, key: &str) -> Option<Cow<'a, Value>> {
        let i = self.items.iter().position(|(k, _)| k == key)?;
        Some(self.items.swap_remove(i).1)
    }
}

impl EventDraft {
    /// How `rejected` names the event: its id, else its kind, else `event`.
    pub fn name(&self) -> String {
        match (&self.id, &self.kind, &self.unknown_kind) {
            (Some(id), _, _) => id.clone(),
            (None, Ok(kind), _) => kind.as_str().to_owned(),
            (None, Err(_), Some(text)) => text.clone(),
            (None, Err(_), None) => "event".to_owned(),
        }
    }

    /// The well-formed event, when the draft has no problem (an event read back from a store).
    pub fn into_event(self) -> Option<Event> {
        Some(Event {
            at: self.at.ok()?,
            id: self.id,
            body: self.body.ok()?,
            extra: self.extra,
        })
    }

    /// Reads one JSON event. Never fails: problems are kept in the draft.
    pub fn from_json(value: &Value) -> EventDraft {
        let items = value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v)))
                    .collect()
            })
            .unwrap_or_default();
        EventDraft::from_fields(&mut Fields { items })
    }

    /// The refusal of fields the core does not read (a typo such as `inputTokens` would
    /// otherwise be ignored, and the event mean something else than was meant); `None` when
    /// every field is read. The server and the package's `Ledger.apply` both refuse them.
    pub fn unread_fields(&self) -> Option<Rejection> {
        if self.extra.is_empty() {
            return None;
        }
        let names = crate::error::comma_list(self.extra.keys().map(String::as_str));
        Some(Rejection::new(
            RejectCode::InvalidEvent,
            format!(
                "a {} event does not read field(s) {}; remove them (a typo would otherwise be ignored)",
                self.kind.as_ref().map_or("", |k| k.as_str()),
                names
            ),
        ))
    }

    /// Reads a draft from `fields`, leaving them empty (the buffer can be used again).
    fn from_fields(fields: &mut Fields<'_>) -> EventDraft {
        let at = match fields.take("at").as_deref() {
            None => Err("the event has no `at` time".to_owned()),
            Some(Value::String(s)) => {
                parse_instant(s).ok_or_else(|| format!("`at` is not an RFC 3339 time: {s:?}"))
            }
            Some(other) => Err(format!(
                "`at` must be an RFC 3339 string, not {}",
                to_text(other)
            )),
        };
        let kind_value = fields.take("kind");
        let kind_text = kind_value.as_deref().and_then(Value::as_str);
        let kind = match kind_text {
            None => Err("the event has no `kind`".to_owned()),
            Some(k) => EventKind::parse(k).ok_or_else(|| format!("unknown event kind {k:?}")),
        };
        let unknown_kind = match (&kind, kind_text) {
            (Err(_), Some(text)) => Some(text.to_owned()),
            _ => None,
        };
        let id = match fields.take("id") {
            Some(v) => owned_text(v).filter(|s| !s.is_empty() && s.len() <= TEXT_BYTES_MAX),
            None => None,
        };
        let (body, extra) = match kind {
            Ok(k) => {
                let body = read_body(k, fields);
                // A malformed body never matches accepted content, so its extras do not matter.
                // Inserted one by one: collecting into the map sorts the pairs first, and
                // that sort was 2.3 KB gzipped of the WebAssembly module (issue 13).
                let mut extra = Map::new();
                if body.is_ok() {
                    for (k, v) in fields.items.drain(..) {
                        extra.insert(k.into_owned(), v.into_owned());
                    }
                }
                (body, extra)
            }
            Err(ref e) => (Err(e.clone()), Map::new()),
        };
        fields.items.clear();
        EventDraft {
            at,
            kind,
            unknown_kind,
            id,
            body,
            extra,
        }
    }

    /// Reads a draft from an owned tree, its fields moved rather than copied, using `buffer`
    /// (emptied again: one buffer serves a whole list). Anything but an object becomes a
    /// draft that is refused as `invalid_event`.
    fn from_owned(value: Value, buffer: &mut Fields<'_>) -> EventDraft {
        buffer.items.clear();
        if let Value::Object(map) = value {
            for (k, v) in map {
                if !v.is_null() {
                    buffer.items.push((Cow::Owned(k), Cow::Owned(v)));
                }
            }
        }
        EventDraft::from_fields(buffer)
    }

    /// Reads one event from JSON text (how the server stores each accepted event).
    pub fn from_text(text: &str) -> Result<EventDraft, crate::json::ParseError> {
        let value = crate::json::parse(text)?;
        Ok(EventDraft::from_owned(
            value,
            &mut Fields { items: Vec::new() },
        ))
    }

    /// Reads a JSON list of events from text one event at a time, never holding the whole
    /// list as a JSON tree (a year of history is 100,000 events), and each event's fields
    /// straight from the text into one buffer, without a map per event. An item that is not
    /// an object becomes a draft that is refused as `invalid_event`.
    pub fn list_from_json(text: &str) -> Result<Vec<EventDraft>, String> {
        let mut drafts = Vec::new();
        let mut buffer = Fields {
            items: Vec::with_capacity(16),
        };
        let is_list = crate::json::parse_list(text, |item| {
            buffer.items.clear();
            if let crate::json::Item::Object(members) = item {
                for (key, value) in members.drain(..) {
                    // A repeated key keeps its last value, as in a parsed JSON object.
                    buffer.items.retain(|(k, _)| *k != key);
                    if !value.is_null() {
                        buffer.items.push((key, Cow::Owned(value)));
                    }
                }
            }
            drafts.push(EventDraft::from_fields(&mut buffer));
        })
        .map_err(|e| e.to_string())?;
        if !is_list {
            return Err("expected a list of events".to_owned());
        }
        Ok(drafts)
    }
}

/// A string value, moved out of an owned value.
fn owned_text(value: Cow<'_, Value>) -> Option<String> {
    match value {
        Cow::Owned(Value::String(s)) => Some(s),
        Cow::Borrowed(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn read_body(kind: EventKind, fields: &mut Fields<'_>) -> Result<EventBody, String> {
    // Every field read is taken out of `fields`, so once the body is read what stays there is
    // the fields the kind does not know.
    let f = fields;
    Ok(match kind {
        EventKind::Usage => EventBody::Usage {
            model: required(f, kind, "model")?,
            tokens: tokens(f)?,
            by: by(f)?,
        },
        EventKind::Debit => EventBody::Debit {
            credits: credit_count(f.take("credits").as_deref())?,
            by: by(f)?,
        },
        EventKind::Hold => {
            let credits = credit_count(f.take("credits").as_deref())?;
            let expires_at = match f.take("expires_at").as_deref() {
                Some(Value::String(s)) => parse_instant(s)
                    .ok_or_else(|| format!("`expires_at` is not an RFC 3339 time: {s:?}"))?,
                Some(_) => return Err("`expires_at` must be an RFC 3339 string".into()),
                None => return Err("a hold needs `expires_at`".into()),
            };
            EventBody::Hold {
                credits,
                expires_at,
                by: by(f)?,
            }
        }
        EventKind::Commit => EventBody::Commit {
            hold: required(f, kind, "hold")?,
            model: required(f, kind, "model")?,
            tokens: tokens(f)?,
            by: by(f)?,
        },
        EventKind::Release => EventBody::Release {
            hold: required(f, kind, "hold")?,
        },
        EventKind::PurchasePack => EventBody::PurchasePack {
            pack: required(f, kind, "pack")?,
        },
        EventKind::ConnectKey => EventBody::ConnectKey {
            provider: required(f, kind, "provider")?,
        },
        EventKind::KeyInvalid => EventBody::KeyInvalid {
            provider: required(f, kind, "provider")?,
        },
        EventKind::RemoveKey => EventBody::RemoveKey {
            provider: required(f, kind, "provider")?,
        },
        EventKind::SelectModel => EventBody::SelectModel {
            model: required(f, kind, "model")?,
        },
        EventKind::ChangePlan => EventBody::ChangePlan {
            plan: required(f, kind, "plan")?,
        },
    })
}

fn required(fields: &mut Fields<'_>, kind: EventKind, key: &str) -> Result<String, String> {
    match fields.take(key) {
        None => Err(format!("a {} event needs `{key}`", kind.as_str())),
        Some(v) => text_value(key, v),
    }
}

fn by(fields: &mut Fields<'_>) -> Result<Attribution, String> {
    Ok(Attribution {
        feature: fields
            .take("feature")
            .map(|v| text_value("feature", v))
            .transpose()?,
        member: fields
            .take("member")
            .map(|v| text_value("member", v))
            .transpose()?,
    })
}

/// Token counts: the four token fields, or a raw `provider_usage` payload normalised in
/// `provider_usage` (one or the other, so a usage is never counted twice).
fn tokens(fields: &mut Fields<'_>) -> Result<Tokens, String> {
    let estimated = match fields.take("estimated") {
        None => false,
        Some(v) => v.as_bool().ok_or("`estimated` must be true or false")?,
    };
    if let Some(payload) = fields.take("provider_usage") {
        let given = [
            "input_tokens",
            "cached_input_tokens",
            "cache_write_tokens",
            "output_tokens",
        ];
        if given.iter().any(|k| fields.take(k).is_some()) {
            return Err("give either token fields or `provider_usage`, not both".into());
        }
        return crate::provider_usage::normalize(&payload).map(|t| Tokens { estimated, ..t });
    }
    let mut count = |key: &str| token_count(key, fields.take(key).as_deref());
    Ok(Tokens {
        input: count("input_tokens")?,
        cached_input: count("cached_input_tokens")?,
        cache_write: count("cache_write_tokens")?,
        output: count("output_tokens")?,
        estimated,
    })
}

fn text_value(key: &str, v: Cow<'_, Value>) -> Result<String, String> {
    match v.as_ref() {
        Value::String(s) if s.len() > TEXT_BYTES_MAX => {
            Err(format!("`{key}` is longer than {TEXT_BYTES_MAX} bytes"))
        }
        Value::String(_) => Ok(owned_text(v).unwrap_or_default()),
        other => Err(format!("`{key}` must be a string, not {}", to_text(other))),
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
            "`{key}` must be a whole number from 0 to {TOKENS_PER_FIELD_MAX}, not {}",
            to_text(v)
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
            "`credits` must be a whole number from 1 to {CREDITS_PER_EVENT_MAX}, not {}",
            to_text(v)
        )),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_estimated_usage_says_so_in_its_event_and_entry() {
        // Proves `estimated: true` is read on usages and commits, written back with the event and on its entry only when true, and that anything but a boolean is an invalid event.
        let at = "2026-02-02T10:00:00Z";
        let usage = |extra: serde_json::Value| {
            let mut e = serde_json::json!({"at": at, "kind": "usage", "id": "u1", "model": "gpt-5", "input_tokens": 100, "output_tokens": 20});
            for (k, v) in extra.as_object().unwrap() {
                e[k] = v.clone();
            }
            EventDraft::from_json(&e)
        };
        let marked = usage(serde_json::json!({"estimated": true}))
            .into_event()
            .expect("valid");
        assert_eq!(marked.to_json()["estimated"], true);
        let plain = usage(serde_json::json!({})).into_event().expect("valid");
        assert!(plain.to_json().get("estimated").is_none());
        assert!(usage(serde_json::json!({"estimated": "yes"})).body.is_err());
        let mut ledger = crate::Ledger::new(
            std::sync::Arc::new(crate::Catalogue::default()),
            crate::Account {
                plan: "growth".into(),
                cycle_anchor: crate::time::parse_instant("2026-02-01T00:00:00Z").unwrap(),
            },
        )
        .unwrap();
        let entry = ledger.apply(marked).unwrap().entry.unwrap();
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["estimated"], true);
        let back: crate::Entry = serde_json::from_value(json).unwrap();
        assert!(back.tokens.unwrap().estimated);
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn unread_fields_are_refused_by_name_all_of_them() {
        // Proves a draft with fields the core does not read is an invalid_event naming each of them, comma-separated, and one without any is not refused.
        let d = EventDraft::from_json(&json!({"at": "2026-01-01T00:00:00Z", "kind": "usage",
            "id": "u", "model": "gpt-5", "inputTokens": 5, "outputTokens": 1}));
        let refused = d.unread_fields().expect("refused");
        assert_eq!(refused.code, RejectCode::InvalidEvent);
        assert!(
            refused
                .message
                .contains("a usage event does not read field(s) inputTokens, outputTokens;"),
            "{}",
            refused.message
        );
        let read = EventDraft::from_json(&json!({"at": "2026-01-01T00:00:00Z", "kind": "usage",
            "id": "u", "model": "gpt-5", "input_tokens": 5}));
        assert!(read.unread_fields().is_none());
    }

    #[test]
    fn keeps_every_problem_for_the_ledger_to_order() {
        // Proves a draft with an unknown kind still reports its time and name, not just the first error.
        let d = EventDraft::from_json(&json!({"at": "2026-01-01T00:00:00Z", "kind": "teleport"}));
        assert!(d.at.is_ok());
        assert!(d.kind.is_err());
        assert_eq!(d.name(), "teleport");
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
