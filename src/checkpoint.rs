//! Checkpoints (SPEC §5.3): a ledger's state after its first k events, in a versioned document
//! whose size does not grow with k. A ledger restored from it, with the events after k
//! applied, answers every question about instants from the k-th event on exactly as the
//! ledger of all events does: balance, preview, gate, estimates, forecasts, and the report of
//! the k-th event's cycle or a later one. Two things stay with the store that keeps the
//! events: the entries dated before the checkpoint, and idempotency for ids accepted before it
//! (given to `Ledger::apply_after` as [`EarlierEvents`]).
//!
//! What it keeps, and the bounds that keep it small:
//! - the account, the catalogue's content hash, the latest time seen and how many events it
//!   covers;
//! - plan, selected model, key states;
//! - the current cycle: its allowance used and its usage by feature, member and model;
//! - every pack not yet expired, the newest [`EXPIRED_PACKS_KEPT`] expired ones, and the totals
//!   of the expired ones it leaves out;
//! - every active hold, and the newest [`LAPSED_HOLDS_KEPT`] lapsed ones (not committed or
//!   released yet); a commit or release of a lapsed hold it left out is `hold_closed`;
//! - the windows that rules read history through (`window`): output samples and hourly burn.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalogue::Catalogue;
use crate::cycle::Cycle;
use crate::error::CheckpointError;
use crate::event::{Attribution, TEXT_BYTES_MAX};
use crate::keys::{KeyRing, KeyState};
use crate::ledger::{Accepted, Account, EarlierEvents, HoldRecord, HoldState, Ledger, PackHolding};
use crate::report::{Breakdown, CycleUsage, Totals, Usage};
use crate::sorted_map::SortedMap;
use crate::time::{Instant, format_instant, parse_instant};
use crate::units::Credits;
use crate::window::{BurnWindow, OutputSamples, Samples};

/// The `format` value of a checkpoint document.
pub const CHECKPOINT_FORMAT: &str = "ai-credits/checkpoint";
/// The version this build writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;
/// Expired packs a checkpoint lists one by one (the newest); older ones are only counted.
pub const EXPIRED_PACKS_KEPT: usize = 32;
/// Lapsed holds (never committed or released) a checkpoint keeps, the newest.
pub const LAPSED_HOLDS_KEPT: usize = 32;
/// Largest checkpoint document read from text.
pub const CHECKPOINT_BYTES_MAX: usize = 4 << 20;
/// Most packs and holds a checkpoint may list.
const LIST_MAX: usize = 16_384;

/// The account a checkpoint belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountDoc {
    pub plan: String,
    pub cycle_anchor: String,
}

/// The current cycle: which one, the allowance used and what its entries add up to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CycleDoc {
    pub index: i64,
    pub monthly_used: Credits,
    pub usage: CycleUsage,
}

/// A pack, with what is left of it (what was left at expiry, once expired).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackDoc {
    pub id: String,
    pub pack: String,
    pub credits: Credits,
    pub price_cents: u64,
    pub purchased_at: String,
    pub expires_at: String,
    pub remaining: Credits,
}

/// The expired packs a checkpoint does not list one by one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExpiredPacks {
    pub count: u64,
    pub credits: Credits,
    /// Credits they lost to expiry.
    pub expired: Credits,
}

/// A hold not yet committed or released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HoldDoc {
    pub id: String,
    pub credits: Credits,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Past its expiry: holds nothing, can still be committed or released once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lapsed: bool,
}

/// The checkpoint document (`format`: [`CHECKPOINT_FORMAT`], `version`: 1); its JSON schema is
/// `docs/checkpoint.schema.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub format: String,
    pub version: u32,
    /// The content hash of the catalogue it was made with (`Catalogue::content_hash`).
    pub catalogue: String,
    pub account: AccountDoc,
    /// How many accepted events it covers.
    pub sequence: u64,
    /// The latest time seen, if any event passed the time check.
    pub now: Option<String>,
    pub first_event_at: Option<String>,
    pub plan: String,
    pub selected_model: String,
    pub keys: SortedMap<KeyState>,
    pub cycle: CycleDoc,
    pub packs: Vec<PackDoc>,
    pub expired_packs: ExpiredPacks,
    pub holds: Vec<HoldDoc>,
    pub samples: OutputSamples,
    pub burn: BurnWindow,
}

impl Checkpoint {
    /// The document as compact JSON.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serializing cannot fail.
        crate::json::to_text(self)
    }

    /// Reads a checkpoint document (not yet checked against a catalogue: see
    /// `Ledger::from_checkpoint`).
    pub fn from_json(text: &str) -> Result<Checkpoint, CheckpointError> {
        if text.len() > CHECKPOINT_BYTES_MAX {
            return Err(CheckpointError::Invalid(format!(
                "the document is {} bytes; the limit is {CHECKPOINT_BYTES_MAX}",
                text.len()
            )));
        }
        let value: Value =
            crate::json::parse(text).map_err(|e| CheckpointError::Invalid(e.to_string()))?;
        Checkpoint::from_value(&value)
    }

    /// Reads a checkpoint from a JSON value: every field, no other field. (Read by hand from
    /// the tree rather than by serde's derived readers, which would add a third to the WASM
    /// package's size.)
    pub fn from_value(value: &Value) -> Result<Checkpoint, CheckpointError> {
        let o = Obj::new(
            value,
            "checkpoint",
            &[
                "format",
                "version",
                "catalogue",
                "account",
                "sequence",
                "now",
                "first_event_at",
                "plan",
                "selected_model",
                "keys",
                "cycle",
                "packs",
                "expired_packs",
                "holds",
                "samples",
                "burn",
            ],
        )?;
        let account = o.obj("account", &["plan", "cycle_anchor"])?;
        let cycle = o.obj("cycle", &["index", "monthly_used", "usage"])?;
        let expired = o.obj("expired_packs", &["count", "credits", "expired"])?;
        let keys = o.map("keys", |v, path| match v.as_str() {
            Some("connected") => Ok(KeyState::Connected),
            Some("invalid") => Ok(KeyState::Invalid),
            _ => Err(invalid(format!("{path} is not a key state"))),
        })?;
        Ok(Checkpoint {
            format: o.text("format")?,
            version: u32::try_from(o.u64("version")?).map_err(|_| invalid("bad version"))?,
            catalogue: o.text("catalogue")?,
            account: AccountDoc {
                plan: account.text("plan")?,
                cycle_anchor: account.text("cycle_anchor")?,
            },
            sequence: o.u64("sequence")?,
            now: o.opt_text("now")?,
            first_event_at: o.opt_text("first_event_at")?,
            plan: o.text("plan")?,
            selected_model: o.text("selected_model")?,
            keys,
            cycle: CycleDoc {
                index: cycle.i64("index")?,
                monthly_used: cycle.u64("monthly_used")?,
                usage: read_cycle_usage(cycle.get("usage")?, "checkpoint.cycle.usage")?,
            },
            packs: o
                .list("packs")?
                .iter()
                .map(|v| {
                    let p = Obj::new(
                        v,
                        "checkpoint.packs[]",
                        &[
                            "id",
                            "pack",
                            "credits",
                            "price_cents",
                            "purchased_at",
                            "expires_at",
                            "remaining",
                        ],
                    )?;
                    Ok(PackDoc {
                        id: p.text("id")?,
                        pack: p.text("pack")?,
                        credits: p.u64("credits")?,
                        price_cents: p.u64("price_cents")?,
                        purchased_at: p.text("purchased_at")?,
                        expires_at: p.text("expires_at")?,
                        remaining: p.u64("remaining")?,
                    })
                })
                .collect::<Result<_, _>>()?,
            expired_packs: ExpiredPacks {
                count: expired.u64("count")?,
                credits: expired.u64("credits")?,
                expired: expired.u64("expired")?,
            },
            holds: o
                .list("holds")?
                .iter()
                .map(|v| {
                    let h = Obj::new(
                        v,
                        "checkpoint.holds[]",
                        &["id", "credits", "expires_at", "feature", "member", "lapsed"],
                    )?;
                    Ok(HoldDoc {
                        id: h.text("id")?,
                        credits: h.u64("credits")?,
                        expires_at: h.text("expires_at")?,
                        feature: h.opt_text("feature")?,
                        member: h.opt_text("member")?,
                        lapsed: h.opt_bool("lapsed")?,
                    })
                })
                .collect::<Result<_, _>>()?,
            samples: read_samples(o.get("samples")?)?,
            burn: read_burn(o.get("burn")?)?,
        })
    }
}

/// A JSON object with a known set of fields, read field by field with errors that name them.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, path: &'a str, fields: &[&str]) -> Result<Obj<'a>, CheckpointError> {
        let map = value
            .as_object()
            .ok_or_else(|| invalid(format!("{path} is not an object")))?;
        if let Some(unknown) = map.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(invalid(format!("{path} has an unknown field `{unknown}`")));
        }
        Ok(Obj { map, path })
    }

    fn get(&self, key: &str) -> Result<&'a Value, CheckpointError> {
        self.map
            .get(key)
            .ok_or_else(|| invalid(format!("{} has no `{key}`", self.path)))
    }

    fn obj(&self, key: &'a str, fields: &[&str]) -> Result<Obj<'a>, CheckpointError> {
        Obj::new(self.get(key)?, key, fields)
    }

    fn bad(&self, key: &str, what: &str) -> CheckpointError {
        invalid(format!("{}.{key} is not {what}", self.path))
    }

    fn u64(&self, key: &str) -> Result<u64, CheckpointError> {
        self.get(key)?
            .as_u64()
            .ok_or_else(|| self.bad(key, "a whole number ≥ 0"))
    }

    fn i64(&self, key: &str) -> Result<i64, CheckpointError> {
        self.get(key)?
            .as_i64()
            .ok_or_else(|| self.bad(key, "a whole number"))
    }

    fn text(&self, key: &str) -> Result<String, CheckpointError> {
        self.get(key)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.bad(key, "a string"))
    }

    fn opt_text(&self, key: &str) -> Result<Option<String>, CheckpointError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(key, "a string or null")),
        }
    }

    fn opt_bool(&self, key: &str) -> Result<bool, CheckpointError> {
        match self.map.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(key, "true or false")),
        }
    }

    fn list(&self, key: &str) -> Result<&'a Vec<Value>, CheckpointError> {
        let list = self
            .get(key)?
            .as_array()
            .ok_or_else(|| self.bad(key, "a list"))?;
        if list.len() > LIST_MAX {
            return Err(self.bad(key, "a list of a size this core writes"));
        }
        Ok(list)
    }

    fn map<T>(
        &self,
        key: &str,
        read: impl Fn(&Value, &str) -> Result<T, CheckpointError>,
    ) -> Result<SortedMap<T>, CheckpointError> {
        read_map(self.get(key)?, &format!("{}.{key}", self.path), read)
    }
}

fn read_map<T>(
    value: &Value,
    path: &str,
    read: impl Fn(&Value, &str) -> Result<T, CheckpointError>,
) -> Result<SortedMap<T>, CheckpointError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid(format!("{path} is not an object")))?;
    if map.len() > LIST_MAX {
        return Err(invalid(format!("{path} has too many keys")));
    }
    let mut out = SortedMap::new();
    for (k, v) in map {
        out.insert(k, read(v, &format!("{path}.{k}"))?);
    }
    Ok(out)
}

fn read_totals(v: &Value, path: &str) -> Result<Totals, CheckpointError> {
    let t = Obj::new(
        v,
        path,
        &["entries", "credits", "unpaid", "tokens", "cost_usd_micros"],
    )?;
    Ok(Totals {
        entries: t.u64("entries")?,
        credits: t.u64("credits")?,
        unpaid: t.u64("unpaid")?,
        tokens: t.u64("tokens")?,
        cost_usd_micros: t.u64("cost_usd_micros")?,
    })
}

fn read_usage(v: &Value, path: &str) -> Result<Usage, CheckpointError> {
    let u = Obj::new(v, path, &["by_feature", "by_member", "by_model"])?;
    Ok(Usage {
        by_feature: u.map("by_feature", read_totals)?,
        by_member: u.map("by_member", read_totals)?,
        by_model: u.map("by_model", read_totals)?,
    })
}

fn read_cycle_usage(v: &Value, path: &str) -> Result<CycleUsage, CheckpointError> {
    let c = Obj::new(
        v,
        path,
        &["usage_by_feature", "usage_by_member", "breakdown"],
    )?;
    let credits = |v: &Value, path: &str| {
        v.as_u64()
            .ok_or_else(|| invalid(format!("{path} is not a whole number ≥ 0")))
    };
    let b = c.obj("breakdown", &["credits", "own_key"])?;
    Ok(CycleUsage {
        usage_by_feature: c.map("usage_by_feature", credits)?,
        usage_by_member: c.map("usage_by_member", credits)?,
        breakdown: Breakdown {
            credits: read_usage(b.get("credits")?, "breakdown.credits")?,
            own_key: read_usage(b.get("own_key")?, "breakdown.own_key")?,
        },
    })
}

fn read_samples(v: &Value) -> Result<OutputSamples, CheckpointError> {
    let s = Obj::new(
        v,
        "samples",
        &["taken", "by_model", "by_feature", "by_feature_model"],
    )?;
    let window = |v: &Value, path: &str| {
        let w = Obj::new(v, path, &["last", "output_tokens"])?;
        let output_tokens = w
            .list("output_tokens")?
            .iter()
            .map(|n| {
                n.as_u64()
                    .ok_or_else(|| invalid(format!("{path}.output_tokens has a bad count")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Samples {
            last: w.u64("last")?,
            output_tokens,
        })
    };
    Ok(OutputSamples {
        taken: s.u64("taken")?,
        by_model: s.map("by_model", window)?,
        by_feature: s.map("by_feature", window)?,
        by_feature_model: s.map("by_feature_model", window)?,
    })
}

fn read_burn(v: &Value) -> Result<BurnWindow, CheckpointError> {
    let list = v
        .as_array()
        .filter(|l| l.len() <= LIST_MAX)
        .ok_or_else(|| invalid("burn is not a list"))?;
    let buckets = list
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([hour, credits]) => Ok((
                hour.as_i64().ok_or_else(|| invalid("a burn hour is bad"))?,
                credits
                    .as_u64()
                    .ok_or_else(|| invalid("burn credits are bad"))?,
            )),
            _ => Err(invalid("a burn bucket is not [hour, credits]")),
        })
        .collect::<Result<_, _>>()?;
    Ok(BurnWindow::from_buckets(buckets))
}

fn invalid(message: impl Into<String>) -> CheckpointError {
    CheckpointError::Invalid(message.into())
}

fn time(text: &str, what: &str) -> Result<Instant, CheckpointError> {
    parse_instant(text).ok_or_else(|| invalid(format!("{what} {text:?} is not an RFC 3339 time")))
}

fn text_ok(text: &str) -> bool {
    !text.is_empty() && text.len() <= TEXT_BYTES_MAX
}

impl Ledger {
    /// The checkpoint of this ledger as it is now.
    pub fn checkpoint(&self) -> Checkpoint {
        let now = self.now;
        let is_expired = |p: &PackHolding| now.is_some_and(|t| t >= p.expires_at);
        let expired_total = self.packs.iter().filter(|p| is_expired(p)).count();
        let left_out = expired_total.saturating_sub(EXPIRED_PACKS_KEPT);
        let mut expired_packs = ExpiredPacks::default();
        let mut packs = Vec::new();
        let mut expired_seen = 0;
        for p in &self.packs {
            if is_expired(p) {
                expired_seen += 1;
                if expired_seen <= left_out {
                    expired_packs.count += 1;
                    expired_packs.credits = expired_packs.credits.saturating_add(p.credits);
                    expired_packs.expired = expired_packs.expired.saturating_add(p.remaining);
                    continue;
                }
            }
            packs.push(PackDoc {
                id: p.id.to_string(),
                pack: p.pack.clone(),
                credits: p.credits,
                price_cents: p.price_cents,
                purchased_at: format_instant(&p.purchased_at),
                expires_at: format_instant(&p.expires_at),
                remaining: p.remaining,
            });
        }
        Checkpoint {
            format: CHECKPOINT_FORMAT.to_owned(),
            version: CHECKPOINT_VERSION,
            catalogue: self.catalogue.content_hash(),
            account: AccountDoc {
                plan: self.account.plan.clone(),
                cycle_anchor: format_instant(&self.account.cycle_anchor),
            },
            sequence: self.sequence(),
            now: now.map(|t| format_instant(&t)),
            first_event_at: self.first_event_at.map(|t| format_instant(&t)),
            plan: self.plan.clone(),
            selected_model: self.selected_model.clone(),
            keys: self.keys.states().clone(),
            cycle: CycleDoc {
                index: self.cycle.index,
                monthly_used: self.monthly_used,
                usage: self.usage.clone(),
            },
            packs,
            expired_packs,
            holds: kept_holds(&self.holds)
                .map(|h| HoldDoc {
                    id: h.id.clone(),
                    credits: h.credits,
                    expires_at: format_instant(&h.expires_at),
                    feature: h.by.feature.clone(),
                    member: h.by.member.clone(),
                    lapsed: h.state == HoldState::Lapsed,
                })
                .collect(),
            samples: self.samples.clone(),
            burn: self.burn.clone(),
        }
    }

    /// The ledger a checkpoint describes, with no history of its own: events after it are
    /// applied with `apply_after`, given the store of the events before it. Every value is
    /// checked; a document this core did not make is refused, never trusted.
    pub fn from_checkpoint(
        catalogue: Arc<Catalogue>,
        checkpoint: &Checkpoint,
    ) -> Result<Ledger, CheckpointError> {
        let cp = checkpoint;
        if cp.format != CHECKPOINT_FORMAT || cp.version != CHECKPOINT_VERSION {
            return Err(invalid(format!(
                "format `{}` version {}; this build reads `{CHECKPOINT_FORMAT}` version {CHECKPOINT_VERSION}",
                cp.format, cp.version
            )));
        }
        let found = catalogue.content_hash();
        if cp.catalogue != found {
            return Err(CheckpointError::CatalogueMismatch {
                expected: cp.catalogue.clone(),
                found,
            });
        }
        let account = Account {
            plan: cp.account.plan.clone(),
            cycle_anchor: time(&cp.account.cycle_anchor, "cycle_anchor")?,
        };
        let mut ledger =
            Ledger::new(Arc::clone(&catalogue), account).map_err(|r| invalid(r.message))?;
        let now = cp.now.as_deref().map(|t| time(t, "now")).transpose()?;
        let first = cp
            .first_event_at
            .as_deref()
            .map(|t| time(t, "first_event_at"))
            .transpose()?;
        if first.is_some() && (now.is_none() || first > now) {
            return Err(invalid("first_event_at is after the latest time"));
        }
        if catalogue.plan(&cp.plan).is_none() {
            return Err(invalid(format!("unknown plan `{}`", cp.plan)));
        }
        if catalogue.model(&cp.selected_model).is_none() {
            return Err(invalid(format!("unknown model `{}`", cp.selected_model)));
        }
        let mut keys = KeyRing::default();
        for (provider, state) in cp.keys.iter() {
            if catalogue.provider(provider).is_none() || *state == KeyState::None {
                return Err(invalid(format!("bad key entry `{provider}`")));
            }
            keys.set(provider, *state);
        }
        let cycle = Cycle::nth(&ledger.account.cycle_anchor, cp.cycle.index)
            .ok_or_else(|| invalid("the cycle is out of range"))?;
        if now.is_some_and(|t| !cycle.contains(&t)) || (now.is_none() && cp.cycle.index != 0) {
            return Err(invalid("the cycle does not contain the latest time"));
        }
        if cp.packs.len() > LIST_MAX || cp.holds.len() > LIST_MAX {
            return Err(invalid("too many packs or holds"));
        }
        let mut packs = Vec::with_capacity(cp.packs.len());
        for p in &cp.packs {
            let offer = catalogue
                .pack(&p.pack)
                .ok_or_else(|| invalid(format!("unknown pack `{}`", p.pack)))?;
            let purchased_at = time(&p.purchased_at, "purchased_at")?;
            let expires_at = time(&p.expires_at, "expires_at")?;
            if !text_ok(&p.id)
                || p.credits != offer.credits
                || p.remaining > p.credits
                || expires_at <= purchased_at
                || now.is_none_or(|t| purchased_at > t)
            {
                return Err(invalid(format!("pack `{}` is not consistent", p.id)));
            }
            packs.push(PackHolding {
                id: Arc::from(p.id.as_str()),
                pack: p.pack.clone(),
                credits: p.credits,
                price_cents: p.price_cents,
                purchased_at,
                expires_at,
                remaining: p.remaining,
            });
        }
        if packs
            .windows(2)
            .any(|w| w[0].purchased_at > w[1].purchased_at)
        {
            return Err(invalid("packs are not in purchase order"));
        }
        let mut holds = Vec::with_capacity(cp.holds.len());
        for h in &cp.holds {
            let expires_at = time(&h.expires_at, "a hold's expires_at")?;
            let lapsed_by_time = now.is_some_and(|t| expires_at <= t);
            let attribution_ok = [&h.feature, &h.member]
                .iter()
                .all(|v| v.as_deref().is_none_or(text_ok));
            if !text_ok(&h.id)
                || h.credits == 0
                || lapsed_by_time != h.lapsed
                || now.is_none()
                || !attribution_ok
            {
                return Err(invalid(format!("hold `{}` is not consistent", h.id)));
            }
            holds.push(HoldRecord {
                id: h.id.clone(),
                credits: h.credits,
                expires_at,
                by: Attribution {
                    feature: h.feature.clone(),
                    member: h.member.clone(),
                },
                state: if h.lapsed {
                    HoldState::Lapsed
                } else {
                    HoldState::Active
                },
            });
        }
        let window = catalogue.estimation.history_samples_max as usize;
        if !cp.samples.is_within(window) || !cp.burn.is_within(now.as_ref()) {
            return Err(invalid("the history windows are out of bounds"));
        }
        ledger.plan = cp.plan.clone();
        ledger.selected_model = cp.selected_model.clone();
        ledger.keys = keys;
        ledger.now = now;
        ledger.first_event_at = first;
        ledger.cycle = cycle;
        ledger.monthly_used = cp.cycle.monthly_used;
        ledger.usage = cp.cycle.usage.clone();
        ledger.packs = packs;
        ledger.set_holds(holds);
        let unique_holds = ledger.hold_ids.len() == ledger.holds.len();
        let held_ok = ledger
            .holds
            .iter()
            .filter(|h| h.state == HoldState::Active)
            .try_fold(0u64, |sum, h| sum.checked_add(h.credits))
            .is_some();
        if !unique_holds || !held_ok {
            return Err(invalid("holds repeat an id or add up past the limit"));
        }
        ledger.samples = cp.samples.clone();
        ledger.burn = cp.burn.clone();
        ledger.sequence_base = cp.sequence;
        if let Some(now) = now {
            // Spent and expired packs leave the live range, oldest first, as `advance` does.
            ledger.advance(now).map_err(|r| invalid(r.message))?;
        }
        Ok(ledger)
    }

    /// Forgets the history (entries, events, ids): what a checkpoint leaves to the store.
    /// Afterwards the ledger is exactly the one its checkpoint restores.
    pub fn forget_history(&mut self) {
        let checkpoint = self.checkpoint();
        if let Ok(restored) = Ledger::from_checkpoint(Arc::clone(&self.catalogue), &checkpoint) {
            *self = restored;
        }
    }
}

/// The holds a checkpoint keeps: every active one and the newest lapsed ones, in the order
/// they were placed.
fn kept_holds(holds: &[HoldRecord]) -> impl Iterator<Item = &HoldRecord> {
    let lapsed = holds
        .iter()
        .filter(|h| h.state == HoldState::Lapsed)
        .count();
    let mut skip = lapsed.saturating_sub(LAPSED_HOLDS_KEPT);
    holds.iter().filter(move |h| match h.state {
        HoldState::Active => true,
        HoldState::Closed => false,
        HoldState::Lapsed if skip > 0 => {
            skip -= 1;
            false
        }
        HoldState::Lapsed => true,
    })
}

/// An in-memory store of accepted events by id: what a server's database answers for the
/// events before a checkpoint. The conformance runners and the browser use it.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    by_id: crate::ledger::IdMap<Accepted>,
}

impl EventLog {
    /// Adds every idempotent event of the ledger's history, with the entry it made.
    pub fn extend_from(&mut self, ledger: &Ledger) {
        for (id, &(event, entry)) in &ledger.ids {
            self.by_id.insert(
                id.clone(),
                Accepted {
                    event: ledger.events[event].clone(),
                    entry: entry.map(|i| ledger.entries[i].clone()),
                },
            );
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl EarlierEvents for EventLog {
    fn accepted(&self, id: &str) -> Option<Accepted> {
        self.by_id.get(id).cloned()
    }
}
