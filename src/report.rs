//! The result document of SPEC §4: an account's state at an instant, as JSON.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::cycle::Cycle;
use crate::error::{RejectCode, Rejection};
use crate::keys::{BilledTo, KeyState};
use crate::ledger::{Draw, Entry, Ledger, Monthly, Source};
use crate::sorted_map::SortedMap;
use crate::time::{Instant, format_instant};
use crate::units::Credits;

pub(crate) fn ser_instant<S: Serializer>(t: &Instant, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_instant(t))
}

/// A pack as the result shows it, at the query instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackReport {
    pub id: String,
    pub pack: String,
    pub credits: Credits,
    #[serde(serialize_with = "ser_instant")]
    pub purchased_at: Instant,
    #[serde(serialize_with = "ser_instant")]
    pub expires_at: Instant,
    pub remaining: Credits,
    pub expired: Credits,
    pub price_cents: u64,
}

/// A refused event, named by its id (or its kind when it has none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedItem {
    pub id: String,
    pub code: RejectCode,
    pub message: String,
}

impl RejectedItem {
    pub fn new(id: impl Into<String>, rejection: Rejection) -> Self {
        RejectedItem {
            id: id.into(),
            code: rejection.code,
            message: rejection.message,
        }
    }
}

/// Usage totals for one feature, member or model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub entries: u64,
    pub credits: Credits,
    pub unpaid: Credits,
    pub tokens: u64,
    pub cost_usd_micros: u64,
}

impl Totals {
    fn add(&mut self, e: &Entry) {
        self.entries += 1;
        self.credits = self.credits.saturating_add(e.credits);
        self.unpaid = self.unpaid.saturating_add(e.unpaid);
        self.tokens = self
            .tokens
            .saturating_add(e.tokens.map_or(0, |t| t.total()));
        self.cost_usd_micros = self.cost_usd_micros.saturating_add(e.cost_usd_micros);
    }
}

/// Usage of one cycle by feature, member and model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub by_feature: SortedMap<Totals>,
    pub by_member: SortedMap<Totals>,
    pub by_model: SortedMap<Totals>,
}

impl Usage {
    fn add(&mut self, e: &Entry) {
        if let Some(f) = &e.by.feature {
            self.by_feature.entry_or_default(f).add(e);
        }
        if let Some(m) = &e.by.member {
            self.by_member.entry_or_default(m).add(e);
        }
        if let Some(m) = &e.model {
            self.by_model.entry_or_default(m).add(e);
        }
    }
}

/// Credit usage and own-key usage of one cycle, shown apart (SPEC §3 rule 11).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    pub credits: Usage,
    pub own_key: Usage,
}

/// What the entries of the ledger's current cycle add up to, kept up to date as they arrive
/// (so a report never reads the history, and a checkpoint carries it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CycleUsage {
    /// Credits billed to credits, by feature and by member (none of 0).
    pub usage_by_feature: SortedMap<Credits>,
    pub usage_by_member: SortedMap<Credits>,
    pub breakdown: Breakdown,
}

impl CycleUsage {
    pub(crate) fn add(&mut self, e: &Entry) {
        match e.billed_to {
            BilledTo::OwnKey => self.breakdown.own_key.add(e),
            BilledTo::Credits => {
                self.breakdown.credits.add(e);
                if e.credits > 0 {
                    if let Some(f) = &e.by.feature {
                        let total = self.usage_by_feature.entry_or_default(f);
                        *total = total.saturating_add(e.credits);
                    }
                    if let Some(m) = &e.by.member {
                        let total = self.usage_by_member.entry_or_default(m);
                        *total = total.saturating_add(e.credits);
                    }
                }
            }
        }
    }
}

/// SPEC §4's result document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    #[serde(serialize_with = "ser_instant")]
    pub at: Instant,
    pub plan: String,
    pub cycle: Cycle,
    pub monthly: Monthly,
    pub packs: Vec<PackReport>,
    pub purchased_remaining: Credits,
    pub held: Credits,
    pub available: Credits,
    pub can_send: bool,
    pub selected_model: String,
    pub keys: SortedMap<KeyState>,
    pub entries: Vec<Entry>,
    pub rejected: Vec<RejectedItem>,
    pub duplicates: Vec<String>,
    pub usage_by_feature: SortedMap<Credits>,
    pub usage_by_member: SortedMap<Credits>,
    pub breakdown: Breakdown,
}

impl Report {
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain data to a String cannot fail.
        crate::json::to_text_pretty(self)
    }
}

impl Ledger {
    /// The result document at `at` (not before the latest event); `rejected` and `duplicates`
    /// are what the caller saw while applying events.
    pub fn report(
        &self,
        at: Instant,
        rejected: Vec<RejectedItem>,
        duplicates: Vec<String>,
    ) -> Result<Report, Rejection> {
        let balance = self.balance(at)?;
        let packs = self
            .packs()
            .iter()
            .map(|p| PackReport {
                id: p.id.to_string(),
                pack: p.pack.clone(),
                credits: p.credits,
                purchased_at: p.purchased_at,
                expires_at: p.expires_at,
                remaining: p.remaining_at(&at),
                expired: p.expired_at(&at),
                price_cents: p.price_cents,
            })
            .collect();
        let cycle = balance.cycle;
        let usage = self.cycle_usage(&cycle).cloned().unwrap_or_default();
        Ok(Report {
            at,
            plan: balance.plan,
            cycle,
            monthly: balance.monthly,
            packs,
            purchased_remaining: balance.purchased_remaining,
            held: balance.held,
            available: balance.available,
            can_send: balance.can_send,
            selected_model: balance.selected_model,
            keys: self.keys().states().clone(),
            entries: self.entries().to_vec(),
            rejected,
            duplicates,
            usage_by_feature: usage.usage_by_feature,
            usage_by_member: usage.usage_by_member,
            breakdown: usage.breakdown,
        })
    }
}

impl Serialize for Draw {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.source {
            Source::Monthly => m.serialize_entry("source", "monthly")?,
            Source::Pack(id) => {
                m.serialize_entry("source", "pack")?;
                m.serialize_entry("pack", id.as_ref())?;
            }
        }
        m.serialize_entry("credits", &self.credits)?;
        m.end()
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("at", &format_instant(&self.at))?;
        m.serialize_entry("kind", &self.kind)?;
        if let Some(model) = &self.model {
            m.serialize_entry("model", model)?;
        }
        m.serialize_entry("billed_to", &self.billed_to)?;
        m.serialize_entry("credits", &self.credits)?;
        m.serialize_entry("unpaid", &self.unpaid)?;
        m.serialize_entry("draws", &self.draws)?;
        if let Some(hold) = &self.hold {
            m.serialize_entry("hold", hold)?;
        }
        if let Some(f) = &self.by.feature {
            m.serialize_entry("feature", f)?;
        }
        if let Some(member) = &self.by.member {
            m.serialize_entry("member", member)?;
        }
        if let Some(t) = &self.tokens {
            m.serialize_entry("input_tokens", &t.input)?;
            m.serialize_entry("cached_input_tokens", &t.cached_input)?;
            m.serialize_entry("cache_write_tokens", &t.cache_write)?;
            m.serialize_entry("output_tokens", &t.output)?;
            if t.estimated {
                m.serialize_entry("estimated", &true)?;
            }
        }
        m.serialize_entry("would_be_credits", &self.would_be_credits)?;
        m.serialize_entry("cost_usd_micros", &self.cost_usd_micros)?;
        m.end()
    }
}

/// An entry as `Entry`'s JSON writes it (what a store keeps and hands back for a retry).
#[derive(Deserialize)]
struct EntryDoc {
    id: String,
    at: String,
    kind: crate::ledger::EntryKind,
    model: Option<String>,
    billed_to: BilledTo,
    credits: Credits,
    unpaid: Credits,
    draws: Vec<DrawDoc>,
    hold: Option<String>,
    feature: Option<String>,
    member: Option<String>,
    input_tokens: Option<u64>,
    cached_input_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
    output_tokens: Option<u64>,
    #[serde(default)]
    estimated: bool,
    would_be_credits: Credits,
    cost_usd_micros: u64,
}

#[derive(Deserialize)]
struct DrawDoc {
    source: String,
    pack: Option<String>,
    credits: Credits,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let doc = EntryDoc::deserialize(d)?;
        let at = crate::time::parse_instant(&doc.at).ok_or_else(|| D::Error::custom("bad `at`"))?;
        let draws = doc
            .draws
            .into_iter()
            .map(|d| {
                let source = match (d.source.as_str(), d.pack) {
                    ("monthly", None) => Source::Monthly,
                    ("pack", Some(id)) => Source::Pack(id.into()),
                    _ => return Err(D::Error::custom("bad draw")),
                };
                Ok(Draw {
                    source,
                    credits: d.credits,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tokens = doc.input_tokens.map(|input| crate::event::Tokens {
            input,
            cached_input: doc.cached_input_tokens.unwrap_or(0),
            cache_write: doc.cache_write_tokens.unwrap_or(0),
            output: doc.output_tokens.unwrap_or(0),
            estimated: doc.estimated,
        });
        Ok(Entry {
            id: doc.id,
            at,
            kind: doc.kind,
            model: doc.model,
            billed_to: doc.billed_to,
            credits: doc.credits,
            unpaid: doc.unpaid,
            draws,
            tokens,
            by: crate::event::Attribution {
                feature: doc.feature,
                member: doc.member,
            },
            hold: doc.hold,
            would_be_credits: doc.would_be_credits,
            cost_usd_micros: doc.cost_usd_micros,
        })
    }
}
