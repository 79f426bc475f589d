//! The ledger of one account: allowance, packs, holds, keys, model selection and the
//! append-only list of entries (SPEC §3).
//!
//! Time only moves forward. Everything that happens by itself as time passes (a new cycle, a
//! pack expiring, a hold lapsing) is a function of the time, applied when an event arrives
//! (`advance_to`) or computed without changing anything for a query at a later instant (`view`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// How the core's maps of ids (events, holds) hash. Natively std's randomly keyed SipHash: ids
/// come from callers, and fixed keys would let one choose ids that collide. In the WebAssembly
/// module, which holds one account in one browser, rustc-hash's Fx hash: less code than SipHash
/// and its random keys, and faster (issue 13).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type IdHasher = std::collections::hash_map::RandomState;
#[cfg(target_arch = "wasm32")]
pub(crate) type IdHasher = rustc_hash::FxBuildHasher;
/// A map keyed by ids.
pub(crate) type IdMap<V> = HashMap<String, V, IdHasher>;
use std::sync::Arc;

use serde::Serialize;

use crate::catalogue::{Catalogue, Model};
use crate::cycle::Cycle;
use crate::error::{RejectCode, Rejection};
use crate::event::{Attribution, Event, EventBody, EventDraft, Tokens};
use crate::keys::{self, BilledTo, KeyRing, KeyState};
use crate::report::CycleUsage;
use crate::time::{Instant, add_months, format_instant};
use crate::units::{Credits, credits_from_millicredits, usd_micros_from_millicredits};
use crate::window::{BurnWindow, OutputSamples};

/// What an account starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub plan: String,
    pub cycle_anchor: Instant,
}

/// A pack the account bought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackHolding {
    /// The purchase event's id.
    pub id: Arc<str>,
    /// The catalogue pack id (`1M`…).
    pub pack: String,
    pub credits: Credits,
    pub price_cents: u64,
    pub purchased_at: Instant,
    pub expires_at: Instant,
    /// Credits left; once expired, this is what was left at expiry (never usable again).
    pub(crate) remaining: Credits,
}

impl PackHolding {
    pub fn is_valid_at(&self, t: &Instant) -> bool {
        self.purchased_at <= *t && *t < self.expires_at
    }

    /// Credits still usable at `t`.
    pub fn remaining_at(&self, t: &Instant) -> Credits {
        if self.is_valid_at(t) {
            self.remaining
        } else {
            0
        }
    }

    /// Credits lost to expiry, as of `t`.
    pub fn expired_at(&self, t: &Instant) -> Credits {
        if *t >= self.expires_at {
            self.remaining
        } else {
            0
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HoldState {
    /// Not committed or released, and holding its credits (before its expiry).
    Active,
    /// Past its expiry without a commit or release: holds nothing, can still close once.
    Lapsed,
    /// Committed or released.
    Closed,
}

#[derive(Clone, Debug)]
pub(crate) struct HoldRecord {
    pub(crate) id: String,
    pub(crate) credits: Credits,
    pub(crate) expires_at: Instant,
    pub(crate) by: Attribution,
    pub(crate) state: HoldState,
}

/// Where a draw took credits from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Monthly,
    /// A pack, by its purchase id.
    Pack(Arc<str>),
}

/// Credits taken from one source by one entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Draw {
    pub source: Source,
    pub credits: Credits,
}

/// What kind of event produced an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Usage,
    Debit,
    Commit,
}

/// One accepted charge: a usage, a debit or a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub at: Instant,
    pub kind: EntryKind,
    pub model: Option<String>,
    pub billed_to: BilledTo,
    /// What it costs (0 when billed to an own key).
    pub credits: Credits,
    /// The part of `credits` that could not be drawn.
    pub unpaid: Credits,
    /// Adds up to `credits - unpaid`; no draw of 0.
    pub draws: Vec<Draw>,
    pub tokens: Option<Tokens>,
    pub by: Attribution,
    /// The hold a commit closed.
    pub hold: Option<String>,
    /// What it would cost on credits, also when billed to an own key.
    pub would_be_credits: Credits,
    /// The would-be AI cost in millionths of a US dollar.
    pub cost_usd_micros: u64,
}

/// An event accepted before the ledger's own history begins, as the store that keeps it
/// answers for it: the event and the entry it made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub event: Event,
    pub entry: Option<Entry>,
}

/// The events accepted before a ledger's history begins: for a ledger restored from a
/// checkpoint, the store that answers idempotency for their ids (SPEC §5.3).
pub trait EarlierEvents {
    /// The accepted event with this id (of a kind that takes part in idempotency).
    fn accepted(&self, id: &str) -> Option<Accepted>;
}

/// No earlier events: a ledger that holds its whole history.
pub struct NoEarlierEvents;

impl EarlierEvents for NoEarlierEvents {
    fn accepted(&self, _: &str) -> Option<Accepted> {
        None
    }
}

/// What `apply_inner` did: a new event (and the index of the entry it made), or a duplicate
/// (and the original entry).
enum Applied {
    New(Option<usize>),
    Duplicate(Option<Box<Entry>>),
}

/// What `apply` did with an accepted event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The id was accepted before with the same content: nothing changed.
    pub duplicate: bool,
    /// The entry the event produced (for a duplicate, the original one), if it charges.
    pub entry: Option<Entry>,
}

/// Monthly allowance of the current cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Monthly {
    pub allowance: Credits,
    /// Not capped: after a downgrade it may exceed the allowance.
    pub used: Credits,
    pub remaining: Credits,
}

/// The balance of an account at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Balance {
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub at: Instant,
    pub plan: String,
    pub cycle: Cycle,
    pub monthly: Monthly,
    pub purchased_remaining: Credits,
    pub held: Credits,
    pub available: Credits,
    pub can_send: bool,
    pub selected_model: String,
}

/// A charge to preview: a usage of a model, or a debit of whole credits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Charge {
    Usage { model: String, tokens: Tokens },
    Debit { credits: Credits },
}

impl Charge {
    /// Reads `{"kind": "usage", "model", token fields…}` or `{"kind": "debit", "credits"}`
    /// with the same rules as events.
    pub fn from_json(value: &serde_json::Value) -> Result<Charge, Rejection> {
        match EventDraft::from_json(value).body {
            Ok(EventBody::Usage { model, tokens, .. }) => Ok(Charge::Usage { model, tokens }),
            Ok(EventBody::Debit { credits, .. }) => Ok(Charge::Debit { credits }),
            Ok(other) => Err(Rejection::invalid(format!(
                "a preview is of a usage or a debit, not a {}",
                other.kind().as_str()
            ))),
            Err(problem) => Err(Rejection::invalid(problem)),
        }
    }
}

/// What a charge would do if it were applied now, without applying it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub billed_to: BilledTo,
    /// Whether the gate lets it through (own key, or credits available).
    pub allowed: bool,
    /// Why it would be refused, if it would.
    pub rejection: Option<Rejection>,
    pub credits: Credits,
    pub would_be_credits: Credits,
    pub cost_usd_micros: u64,
    pub unpaid: Credits,
    pub draws: Vec<Draw>,
    pub monthly_remaining_after: Credits,
    pub purchased_remaining_after: Credits,
    pub available_after: Credits,
}

/// The account's state seen at one instant, without changing anything.
pub(crate) struct View<'a> {
    ledger: &'a Ledger,
    at: Instant,
    pub(crate) cycle: Cycle,
    monthly_used: Credits,
    pub(crate) held: Credits,
}

impl View<'_> {
    pub(crate) fn allowance(&self) -> Credits {
        self.ledger.plan_allowance()
    }

    pub(crate) fn monthly_remaining(&self) -> Credits {
        self.allowance().saturating_sub(self.monthly_used)
    }

    pub(crate) fn live_packs(&self) -> impl Iterator<Item = (usize, &PackHolding)> {
        let at = self.at;
        self.ledger.packs[self.ledger.live_from..]
            .iter()
            .enumerate()
            .map(|(i, p)| (i + self.ledger.live_from, p))
            .filter(move |(_, p)| p.remaining > 0 && p.is_valid_at(&at))
    }

    pub(crate) fn purchased_remaining(&self) -> Credits {
        self.live_packs()
            .map(|(_, p)| p.remaining)
            .fold(0, Credits::saturating_add)
    }

    fn remaining(&self) -> Credits {
        self.monthly_remaining()
            .saturating_add(self.purchased_remaining())
    }

    pub(crate) fn available(&self) -> Credits {
        self.remaining().saturating_sub(self.held)
    }

    /// Draws for `amount` credits (at most what is available): the monthly allowance first,
    /// then packs, oldest purchase first.
    pub(crate) fn plan_draws(&self, amount: Credits, draws: &mut Vec<(Option<usize>, Credits)>) {
        let mut left = amount;
        let monthly = left.min(self.monthly_remaining());
        if monthly > 0 {
            draws.push((None, monthly));
            left -= monthly;
        }
        for (i, pack) in self.live_packs() {
            if left == 0 {
                break;
            }
            let take = left.min(pack.remaining);
            draws.push((Some(i), take));
            left -= take;
        }
        debug_assert_eq!(left, 0, "draws never exceed what the sources hold");
    }
}

/// The ledger of one account.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) account: Account,
    pub(crate) plan: String,
    /// The latest time seen (of any event that passed the time check).
    pub(crate) now: Option<Instant>,
    /// The cycle containing `now` (the anchor's cycle before any event).
    pub(crate) cycle: Cycle,
    /// Allowance used in `cycle`.
    pub(crate) monthly_used: Credits,
    pub(crate) packs: Vec<PackHolding>,
    /// Packs before this index are spent or expired (both happen oldest first), so at `now`
    /// the live packs are exactly `packs[live_from..]`.
    pub(crate) live_from: usize,
    pub(crate) holds: Vec<HoldRecord>,
    pub(crate) hold_ids: IdMap<usize>,
    /// Holds by expiry, soonest first, to lapse them as time passes. Closed holds stay in it
    /// until their expiry comes up (removing them early would cost a search): only `Active`
    /// ones count.
    pub(crate) active_holds: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Credits of the `Active` holds.
    pub(crate) held: Credits,
    pub(crate) keys: KeyRing,
    pub(crate) selected_model: String,
    /// Accepted events before `events[0]` (those a checkpoint covers).
    pub(crate) sequence_base: u64,
    /// When the first accepted event happened.
    pub(crate) first_event_at: Option<Instant>,
    /// What the entries of `cycle` add up to.
    pub(crate) usage: CycleUsage,
    /// Output tokens of recent answers, for estimates.
    pub(crate) samples: OutputSamples,
    /// Credits charged hour by hour, for forecasts.
    pub(crate) burn: BurnWindow,
    /// The entries since the ledger's history begins (all of them, unless it was restored
    /// from a checkpoint).
    pub(crate) entries: Vec<Entry>,
    /// Accepted events since the ledger's history begins, in order.
    pub(crate) events: Vec<Event>,
    /// Idempotency: id → (index in `events`, index in `entries` if it made one).
    pub(crate) ids: IdMap<(usize, Option<usize>)>,
    /// Scratch space for `draw`.
    pub(crate) plan_buffer: Vec<(Option<usize>, Credits)>,
}

impl Ledger {
    /// An empty ledger for `account`; the plan must be in the catalogue.
    pub fn new(catalogue: Arc<Catalogue>, account: Account) -> Result<Ledger, Rejection> {
        if catalogue.plan(&account.plan).is_none() {
            return Err(unknown_plan(&account.plan));
        }
        let cycle = Cycle::nth(&account.cycle_anchor, 0)
            .ok_or_else(|| Rejection::invalid("the cycle anchor is out of range"))?;
        Ok(Ledger {
            plan: account.plan.clone(),
            selected_model: catalogue.default_model.clone(),
            catalogue,
            account,
            now: None,
            cycle,
            monthly_used: 0,
            packs: Vec::new(),
            live_from: 0,
            holds: Vec::new(),
            hold_ids: IdMap::default(),
            active_holds: BinaryHeap::new(),
            held: 0,
            keys: KeyRing::default(),
            sequence_base: 0,
            first_event_at: None,
            usage: CycleUsage::default(),
            samples: OutputSamples::default(),
            burn: BurnWindow::default(),
            entries: Vec::new(),
            events: Vec::new(),
            ids: IdMap::default(),
            plan_buffer: Vec::new(),
        })
    }

    pub fn catalogue(&self) -> &Arc<Catalogue> {
        &self.catalogue
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The latest time seen, if any event passed the time check.
    pub fn now(&self) -> Option<Instant> {
        self.now
    }

    pub fn plan(&self) -> &str {
        &self.plan
    }

    pub fn selected_model(&self) -> &str {
        &self.selected_model
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Accepted events in order since the ledger's history begins; replaying them on the
    /// ledger it began from rebuilds this one.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// How many events the ledger has accepted, those before its history included.
    pub fn sequence(&self) -> u64 {
        self.sequence_base + self.events.len() as u64
    }

    /// Whether `id` was accepted in the ledger's own history (not one a checkpoint left to
    /// the store).
    pub fn knows_id(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// Whether the ledger has a record of hold `id` (open, or closed in its own history).
    pub fn knows_hold(&self, id: &str) -> bool {
        self.hold_ids.contains_key(id)
    }

    /// The member a hold the ledger has a record of was placed for: `None` when the ledger
    /// knows no hold `id`, `Some(None)` for a hold that names no member.
    pub fn hold_member(&self, id: &str) -> Option<Option<&str>> {
        let index = *self.hold_ids.get(id)?;
        Some(self.holds.get(index)?.by.member.as_deref())
    }

    /// Whether events were accepted before the ledger's history begins (it was restored from
    /// a checkpoint): ids it does not know may then be in the store.
    pub fn has_earlier_events(&self) -> bool {
        self.sequence_base > 0
    }

    /// A rough count of the bytes this ledger holds in memory, for caches bounded in bytes.
    pub fn approx_bytes(&self) -> usize {
        const BASE: usize = 2_048;
        const PER_EVENT: usize = 160;
        const PER_ENTRY: usize = 240;
        const PER_HOLD: usize = 120;
        const PER_PACK: usize = 120;
        const PER_SAMPLE: usize = 8;
        let samples: usize = [
            &self.samples.by_model,
            &self.samples.by_feature,
            &self.samples.by_feature_model,
        ]
        .iter()
        .flat_map(|m| m.iter())
        .map(|(k, s)| k.len() + 48 + s.output_tokens.len() * PER_SAMPLE)
        .sum();
        BASE + samples
            + self.events.len() * PER_EVENT
            + self.entries.len() * PER_ENTRY
            + self.holds.len() * PER_HOLD
            + self.packs.len() * PER_PACK
    }

    /// When the first accepted event happened.
    pub fn first_event_at(&self) -> Option<Instant> {
        self.first_event_at
    }

    /// What the entries of `cycle` add up to, when it is the ledger's current cycle.
    pub(crate) fn cycle_usage(&self, cycle: &Cycle) -> Option<&CycleUsage> {
        (cycle.index == self.cycle.index).then_some(&self.usage)
    }

    pub(crate) fn output_samples(&self) -> &OutputSamples {
        &self.samples
    }

    pub(crate) fn burn_window(&self) -> &BurnWindow {
        &self.burn
    }

    /// Replaces the hold records (none closed) and rebuilds their indexes.
    pub(crate) fn set_holds(&mut self, holds: Vec<HoldRecord>) {
        self.hold_ids = holds
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id.clone(), i))
            .collect();
        self.active_holds = holds
            .iter()
            .enumerate()
            .filter(|(_, h)| h.state == HoldState::Active)
            .map(|(i, h)| Reverse((h.expires_at, i)))
            .collect();
        self.held = holds
            .iter()
            .filter(|h| h.state == HoldState::Active)
            .map(|h| h.credits)
            .fold(0, Credits::saturating_add);
        self.holds = holds;
    }

    /// Every pack bought, in purchase order.
    pub fn packs(&self) -> &[PackHolding] {
        &self.packs
    }

    fn plan_allowance(&self) -> Credits {
        self.catalogue
            .plan(&self.plan)
            .map_or(0, |p| p.monthly_credits)
    }

    /// Applies a well-formed event.
    pub fn apply(&mut self, event: Event) -> Result<Outcome, Rejection> {
        self.apply_draft(EventDraft::from(event))
    }

    /// Applies an event as read from JSON, running SPEC §3's checks in order: time, kind, id,
    /// idempotency, values, the hold, the model/plan/pack/provider, availability. A rejected
    /// event changes nothing but the latest time seen (when it passed the time check).
    pub fn apply_draft(&mut self, draft: EventDraft) -> Result<Outcome, Rejection> {
        self.apply_after(draft, &NoEarlierEvents)
    }

    /// `apply_draft` for a ledger whose history begins after `earlier` (one restored from a
    /// checkpoint): ids and holds it does not know are looked up there.
    pub fn apply_after(
        &mut self,
        draft: EventDraft,
        earlier: &dyn EarlierEvents,
    ) -> Result<Outcome, Rejection> {
        Ok(match self.apply_inner(draft, earlier)? {
            Applied::New(entry) => Outcome {
                duplicate: false,
                entry: entry.map(|i| self.entries[i].clone()),
            },
            Applied::Duplicate(entry) => Outcome {
                duplicate: true,
                entry: entry.map(|e| *e),
            },
        })
    }

    /// Applies events that were all accepted before (a snapshot, a server's log); stops at the
    /// first one refused now. Returns how many were applied.
    pub fn replay_drafts(
        &mut self,
        drafts: impl IntoIterator<Item = EventDraft>,
    ) -> Result<usize, Rejection> {
        let drafts = drafts.into_iter();
        // Growing these one push at a time copies a year of history several times over.
        let expected = drafts.size_hint().0;
        self.events.reserve(expected);
        self.entries.reserve(expected);
        self.ids.reserve(expected);
        let mut count = 0;
        for draft in drafts {
            self.apply_inner(draft, &NoEarlierEvents).map_err(|r| {
                Rejection::new(
                    r.code,
                    format!("event {count} was refused on replay: {}", r.message),
                )
            })?;
            count += 1;
        }
        Ok(count)
    }

    /// `apply_draft` without copying the entry out: (duplicate, index of the entry made).
    fn apply_inner(
        &mut self,
        draft: EventDraft,
        earlier: &dyn EarlierEvents,
    ) -> Result<Applied, Rejection> {
        let at = self.advance(draft.at.map_err(Rejection::invalid)?)?;
        let kind = draft.kind.map_err(Rejection::invalid)?;
        let id = if kind.is_idempotent() {
            let Some(id) = draft.id else {
                return Err(Rejection::invalid(format!(
                    "a {} event needs an `id` (a non-empty string) so a retry is not charged twice",
                    kind.as_str()
                )));
            };
            let seen = match self.ids.get(&id) {
                Some(&(event_index, entry_index)) => Some(Accepted {
                    event: self.events[event_index].clone(),
                    entry: entry_index.map(|i| self.entries[i].clone()),
                }),
                None => earlier.accepted(&id),
            };
            if let Some(original) = seen {
                return match &draft.body {
                    Ok(body) if original.event.same_content(body, &draft.extra) => {
                        Ok(Applied::Duplicate(original.entry.map(Box::new)))
                    }
                    _ => Err(Rejection::new(
                        RejectCode::IdempotencyConflict,
                        format!(
                            "id `{id}` was already used for a different {} event; use a new id for a new event",
                            original.event.body.kind().as_str()
                        ),
                    )),
                };
            }
            Some(id)
        } else {
            draft.id
        };
        let body = draft.body.map_err(Rejection::invalid)?;
        let event = Event {
            at,
            id,
            body,
            extra: draft.extra,
        };
        let entry = self.execute(&event, earlier)?;
        let entry_index = entry.map(|e| {
            self.count(&e);
            self.entries.push(e);
            self.entries.len() - 1
        });
        self.first_event_at.get_or_insert(at);
        if let Some(id) = &event.id
            && kind.is_idempotent()
        {
            self.ids
                .insert(id.clone(), (self.events.len(), entry_index));
        }
        self.events.push(event);
        Ok(Applied::New(entry_index))
    }

    /// Adds a new entry to what the cycle, the estimates and the forecasts read.
    fn count(&mut self, entry: &Entry) {
        self.usage.add(entry);
        self.burn.record(&entry.at, entry.credits);
        if entry.kind != EntryKind::Debit
            && let (Some(model), Some(tokens)) = (&entry.model, &entry.tokens)
        {
            let window = self.catalogue.estimation.history_samples_max as usize;
            self.samples
                .record(entry.by.feature.as_deref(), model, tokens.output, window);
        }
    }

    /// The time check of every event: `at` must not be before the latest time seen. When it
    /// passes, the clock moves to `at` (also for an event refused later for another reason).
    pub fn advance(&mut self, at: Instant) -> Result<Instant, Rejection> {
        if let Some(now) = self.now
            && at < now
        {
            return Err(Rejection::invalid(format!(
                "the event is dated {}, before the latest event at {}; events must arrive in time order",
                format_instant(&at),
                format_instant(&now)
            )));
        }
        let cycle = if self.cycle.contains(&at) {
            self.cycle
        } else {
            Cycle::containing(&self.account.cycle_anchor, &at)
                .ok_or_else(|| Rejection::invalid("the event's time is out of range"))?
        };
        self.advance_to(at, cycle);
        Ok(at)
    }

    /// Moves the clock to `at`: a new cycle resets the allowance, lapsed holds stop holding,
    /// spent or expired packs leave the live range.
    fn advance_to(&mut self, at: Instant, cycle: Cycle) {
        if cycle.index != self.cycle.index {
            self.monthly_used = 0;
            self.usage = CycleUsage::default();
        }
        self.burn.forget_before(&at);
        self.cycle = cycle;
        while let Some(&Reverse((expires_at, index))) = self.active_holds.peek() {
            if expires_at > at {
                break;
            }
            self.active_holds.pop();
            let hold = &mut self.holds[index];
            if hold.state == HoldState::Active {
                hold.state = HoldState::Lapsed;
                self.held -= hold.credits;
            }
        }
        while let Some(pack) = self.packs.get(self.live_from) {
            if pack.remaining > 0 && at < pack.expires_at {
                break;
            }
            self.live_from += 1;
        }
        self.now = Some(at);
    }

    /// The checks after the values and the change itself; returns the entry to record.
    fn execute(
        &mut self,
        event: &Event,
        earlier: &dyn EarlierEvents,
    ) -> Result<Option<Entry>, Rejection> {
        let at = event.at;
        // The catalogue is shared and immutable; holding our own handle lets a model borrowed
        // from it live across changes to the ledger.
        let catalogue = Arc::clone(&self.catalogue);
        match &event.body {
            EventBody::Usage { model, tokens, by } => {
                let model = model_for_call(&catalogue, model)?;
                let billed_to = self.route(model)?;
                if billed_to == BilledTo::Credits && self.view(at).available() == 0 {
                    return Err(credits_exhausted(&catalogue));
                }
                Ok(Some(self.charge(
                    event,
                    EntryKind::Usage,
                    model,
                    *tokens,
                    by.clone(),
                    None,
                )))
            }
            EventBody::Debit { credits, by } => {
                if self.view(at).available() == 0 {
                    return Err(credits_exhausted(&catalogue));
                }
                Ok(Some(self.charge_credits(
                    event,
                    EntryKind::Debit,
                    *credits,
                    by.clone(),
                )))
            }
            EventBody::Hold {
                credits,
                expires_at,
                by,
            } => {
                if *expires_at <= at {
                    return Err(Rejection::invalid("a hold must expire after it is placed"));
                }
                let available = self.view(at).available();
                if *credits > available {
                    return Err(Rejection::new(
                        RejectCode::InsufficientCredits,
                        format!(
                            "the hold asks for {credits} credits but only {available} are available; hold less, or buy a credit pack"
                        ),
                    ));
                }
                let index = self.holds.len();
                let id = event.id.clone().unwrap_or_default();
                self.holds.push(HoldRecord {
                    id: id.clone(),
                    credits: *credits,
                    expires_at: *expires_at,
                    by: by.clone(),
                    state: HoldState::Active,
                });
                self.hold_ids.insert(id, index);
                self.active_holds.push(Reverse((*expires_at, index)));
                self.held += credits;
                Ok(None)
            }
            EventBody::Commit {
                hold,
                model,
                tokens,
                by,
            } => {
                let index = self.open_hold(hold, earlier)?;
                let model = model_for_call(&catalogue, model)?;
                self.route(model)?;
                self.close_hold(index);
                let record = &self.holds[index];
                let by = Attribution {
                    feature: record.by.feature.clone().or_else(|| by.feature.clone()),
                    member: record.by.member.clone().or_else(|| by.member.clone()),
                };
                Ok(Some(self.charge(
                    event,
                    EntryKind::Commit,
                    model,
                    *tokens,
                    by,
                    Some(hold.clone()),
                )))
            }
            EventBody::Release { hold } => {
                let index = self.open_hold(hold, earlier)?;
                self.close_hold(index);
                Ok(None)
            }
            EventBody::PurchasePack { pack } => {
                let offer = catalogue.pack(pack).ok_or_else(|| {
                    Rejection::new(
                        RejectCode::UnknownPack,
                        format!(
                            "there is no credit pack `{pack}`; choose one of the packs on offer"
                        ),
                    )
                })?;
                let expires_at = add_months(&at, i64::from(offer.valid_months))
                    .ok_or_else(|| Rejection::invalid("the pack's expiry is out of range"))?;
                self.packs.push(PackHolding {
                    id: Arc::from(event.id.as_deref().unwrap_or_default()),
                    pack: offer.id.clone(),
                    credits: offer.credits,
                    price_cents: offer.price_cents,
                    purchased_at: at,
                    expires_at,
                    remaining: offer.credits,
                });
                Ok(None)
            }
            EventBody::ConnectKey { provider } => {
                self.known_provider(provider)?;
                self.keys.set(provider, KeyState::Connected);
                Ok(None)
            }
            EventBody::KeyInvalid { provider } => {
                self.known_provider(provider)?;
                if self.keys.state(provider) != KeyState::None {
                    self.keys.set(provider, KeyState::Invalid);
                    self.reset_selection_after_key_loss(provider);
                }
                Ok(None)
            }
            EventBody::RemoveKey { provider } => {
                self.known_provider(provider)?;
                if self.keys.state(provider) != KeyState::None {
                    self.keys.set(provider, KeyState::None);
                    self.reset_selection_after_key_loss(provider);
                }
                Ok(None)
            }
            EventBody::SelectModel { model } => {
                let found = model_for_call(&catalogue, model)?;
                self.route(found)?;
                self.selected_model = found.id.clone();
                Ok(None)
            }
            EventBody::ChangePlan { plan } => {
                if self.catalogue.plan(plan).is_none() {
                    return Err(unknown_plan(plan));
                }
                self.plan = plan.clone();
                Ok(None)
            }
        }
    }

    fn known_provider(&self, id: &str) -> Result<(), Rejection> {
        match self.catalogue.provider(id) {
            Some(_) => Ok(()),
            None => Err(Rejection::new(
                RejectCode::UnknownProvider,
                format!(
                    "there is no AI provider `{id}`; choose one of the providers in the catalogue"
                ),
            )),
        }
    }

    /// Who pays for a call to `model` now (SPEC §3 rule 7).
    pub fn billed_to(&self, model: &Model) -> Option<BilledTo> {
        keys::billed_to(model, &self.keys)
    }

    /// Where a call on `model` is billed, or the core's refusal (`model_unavailable`) when it
    /// can be billed nowhere.
    pub fn route(&self, model: &Model) -> Result<BilledTo, Rejection> {
        self.billed_to(model).ok_or_else(|| {
            let provider = self.catalogue.provider_name(&model.provider);
            Rejection::new(
                RejectCode::ModelUnavailable,
                format!(
                    "{} is only available with your own {provider} key; connect one in {}, or choose another model",
                    model.name, self.catalogue.connect_keys_at
                ),
            )
        })
    }

    /// Models that can be picked now: every model on credits, and own-key-only models whose
    /// provider key is connected (SPEC §3 rule 8).
    pub fn available_models(&self) -> impl Iterator<Item = &Model> {
        keys::available_models(&self.catalogue, &self.keys)
    }

    fn reset_selection_after_key_loss(&mut self, provider: &str) {
        let selected = self.catalogue.model(&self.selected_model);
        if selected.is_some_and(|m| m.provider == provider && !m.on_credits) {
            self.selected_model = self.catalogue.default_model.clone();
        }
    }

    fn open_hold(&self, id: &str, earlier: &dyn EarlierEvents) -> Result<usize, Rejection> {
        let closed = || {
            Rejection::new(
                RejectCode::HoldClosed,
                format!("hold `{id}` was already committed or released; a hold closes once"),
            )
        };
        let Some(&index) = self.hold_ids.get(id) else {
            // A hold from before the ledger's history that the history does not carry was
            // closed by then: a checkpoint keeps every hold still open.
            if earlier
                .accepted(id)
                .is_some_and(|a| a.event.body.kind() == crate::event::EventKind::Hold)
            {
                return Err(closed());
            }
            return Err(Rejection::new(
                RejectCode::HoldNotFound,
                format!("there is no hold `{id}`; place a hold before committing or releasing it"),
            ));
        };
        if self.holds[index].state == HoldState::Closed {
            return Err(closed());
        }
        Ok(index)
    }

    fn close_hold(&mut self, index: usize) {
        let record = &mut self.holds[index];
        if record.state == HoldState::Active {
            self.held -= record.credits;
        }
        record.state = HoldState::Closed;
    }

    /// Records a usage or commit of `model` (already routed and, for a usage, gated).
    fn charge(
        &mut self,
        event: &Event,
        kind: EntryKind,
        model: &Model,
        tokens: Tokens,
        by: Attribution,
        hold: Option<String>,
    ) -> Entry {
        let millicredits = model.cost_millicredits(&tokens);
        let would_be_credits = credits_from_millicredits(millicredits);
        let billed_to = self.billed_to(model).unwrap_or(BilledTo::Credits);
        let (credits, unpaid, draws) = match billed_to {
            BilledTo::OwnKey => (0, 0, Vec::new()),
            BilledTo::Credits => {
                let (draws, drawn) = self.draw(event.at, would_be_credits);
                (would_be_credits, would_be_credits - drawn, draws)
            }
        };
        Entry {
            id: event.id.clone().unwrap_or_default(),
            at: event.at,
            kind,
            model: Some(model.id.clone()),
            billed_to,
            credits,
            unpaid,
            draws,
            tokens: Some(tokens),
            by,
            hold,
            would_be_credits,
            cost_usd_micros: usd_micros_from_millicredits(
                millicredits,
                self.catalogue.credits_per_usd,
            ),
        }
    }

    /// Records a debit of whole credits (already gated).
    fn charge_credits(
        &mut self,
        event: &Event,
        kind: EntryKind,
        credits: Credits,
        by: Attribution,
    ) -> Entry {
        let (draws, drawn) = self.draw(event.at, credits);
        Entry {
            id: event.id.clone().unwrap_or_default(),
            at: event.at,
            kind,
            model: None,
            billed_to: BilledTo::Credits,
            credits,
            unpaid: credits - drawn,
            draws,
            tokens: None,
            by,
            hold: None,
            would_be_credits: credits,
            cost_usd_micros: usd_micros_from_millicredits(
                u128::from(credits) * 1000,
                self.catalogue.credits_per_usd,
            ),
        }
    }

    /// Takes up to `amount` credits, never more than is available (credits set aside by
    /// active holds stay put). Returns the draws and what they add up to.
    fn draw(&mut self, at: Instant, amount: Credits) -> (Vec<Draw>, Credits) {
        // The plan goes into a buffer kept between calls: no allocation per event.
        let mut plan = std::mem::take(&mut self.plan_buffer);
        plan.clear();
        let view = self.view(at);
        let take = amount.min(view.available());
        view.plan_draws(take, &mut plan);
        let mut draws = Vec::with_capacity(plan.len());
        for &(pack, credits) in &plan {
            match pack {
                None => {
                    self.monthly_used += credits;
                    draws.push(Draw {
                        source: Source::Monthly,
                        credits,
                    });
                }
                Some(i) => {
                    let pack = &mut self.packs[i];
                    pack.remaining -= credits;
                    draws.push(Draw {
                        source: Source::Pack(Arc::clone(&pack.id)),
                        credits,
                    });
                }
            }
        }
        while self
            .packs
            .get(self.live_from)
            .is_some_and(|p| p.remaining == 0)
        {
            self.live_from += 1;
        }
        self.plan_buffer = plan;
        (draws, take)
    }

    /// The state at `at` (not before the latest event), computed without changing anything.
    pub(crate) fn view(&self, at: Instant) -> View<'_> {
        let (cycle, monthly_used) = if self.cycle.contains(&at) {
            (self.cycle, self.monthly_used)
        } else {
            let cycle = Cycle::containing(&self.account.cycle_anchor, &at).unwrap_or(self.cycle);
            (cycle, 0)
        };
        let held = if self.now == Some(at) {
            self.held
        } else {
            self.active_holds
                .iter()
                .filter(|Reverse((expires_at, i))| {
                    *expires_at > at && self.holds[*i].state == HoldState::Active
                })
                .map(|Reverse((_, i))| self.holds[*i].credits)
                .fold(0, Credits::saturating_add)
        };
        View {
            ledger: self,
            at,
            cycle,
            monthly_used,
            held,
        }
    }

    pub(crate) fn check_query_time(&self, at: &Instant) -> Result<(), Rejection> {
        match self.now {
            Some(now) if *at < now => Err(Rejection::invalid(format!(
                "the ledger cannot answer for {}, before its latest event at {}",
                format_instant(at),
                format_instant(&now)
            ))),
            _ => Ok(()),
        }
    }

    /// The balance at `at`, which must not be before the latest event.
    pub fn balance(&self, at: Instant) -> Result<Balance, Rejection> {
        self.check_query_time(&at)?;
        let view = self.view(at);
        let can_send = match self
            .catalogue
            .model(&self.selected_model)
            .and_then(|m| self.billed_to(m))
        {
            Some(BilledTo::OwnKey) => true,
            Some(BilledTo::Credits) => view.available() > 0,
            None => false,
        };
        Ok(Balance {
            at,
            plan: self.plan.clone(),
            cycle: view.cycle,
            monthly: Monthly {
                allowance: view.allowance(),
                used: view.monthly_used,
                remaining: view.monthly_remaining(),
            },
            purchased_remaining: view.purchased_remaining(),
            held: view.held,
            available: view.available(),
            can_send,
            selected_model: self.selected_model.clone(),
        })
    }

    /// What `charge` would do at `at` if it were applied, without applying it. The same
    /// routing, gate and draw order as `apply`.
    pub fn preview(&self, at: Instant, charge: &Charge) -> Result<Preview, Rejection> {
        self.check_query_time(&at)?;
        let view = self.view(at);
        let available = view.available();
        let (routed, millicredits) = match charge {
            Charge::Usage { model, tokens } => match self.catalogue.model(model) {
                None => (Err(unknown_model(model)), 0),
                Some(m) => (self.route(m), m.cost_millicredits(tokens)),
            },
            Charge::Debit { credits } => (Ok(BilledTo::Credits), u128::from(*credits) * 1000),
        };
        let would_be_credits = credits_from_millicredits(millicredits);
        let (billed_to, rejection) = gate(&self.catalogue, routed, available);
        let on_credits = billed_to == BilledTo::Credits;
        let credits = if on_credits { would_be_credits } else { 0 };
        let mut plan = Vec::new();
        if on_credits && rejection.is_none() {
            view.plan_draws(credits.min(available), &mut plan);
        }
        let drawn: Credits = plan.iter().map(|(_, c)| c).sum();
        let from_monthly: Credits = plan
            .iter()
            .filter(|(p, _)| p.is_none())
            .map(|(_, c)| c)
            .sum();
        let draws = self.to_draws(&plan);
        Ok(Preview {
            billed_to,
            allowed: rejection.is_none(),
            rejection,
            credits,
            would_be_credits,
            cost_usd_micros: usd_micros_from_millicredits(
                millicredits,
                self.catalogue.credits_per_usd,
            ),
            unpaid: credits - drawn,
            draws,
            monthly_remaining_after: view.monthly_remaining() - from_monthly,
            purchased_remaining_after: view.purchased_remaining() - (drawn - from_monthly),
            available_after: available - drawn,
        })
    }
}

impl Ledger {
    /// A draw plan as draws naming their packs.
    pub(crate) fn to_draws(&self, plan: &[(Option<usize>, Credits)]) -> Vec<Draw> {
        plan.iter()
            .map(|&(pack, credits)| Draw {
                source: pack.map_or(Source::Monthly, |i| {
                    Source::Pack(Arc::clone(&self.packs[i].id))
                }),
                credits,
            })
            .collect()
    }
}

fn model_for_call<'a>(catalogue: &'a Catalogue, id: &str) -> Result<&'a Model, Rejection> {
    catalogue.model(id).ok_or_else(|| unknown_model(id))
}

pub(crate) fn unknown_model(id: &str) -> Rejection {
    Rejection::new(
        RejectCode::UnknownModel,
        format!("there is no model `{id}`; choose one of the models in the picker"),
    )
}

fn unknown_plan(id: &str) -> Rejection {
    Rejection::new(
        RejectCode::UnknownPlan,
        format!("there is no plan `{id}`; choose one of the plans on offer"),
    )
}

/// What a preview or an estimate says of a charge: who would pay, and why it would be refused
/// (the model is unavailable, or it is on credits and none are available: SPEC §3 rule 5).
pub(crate) fn gate(
    catalogue: &Catalogue,
    routed: Result<BilledTo, Rejection>,
    available: Credits,
) -> (BilledTo, Option<Rejection>) {
    match routed {
        Err(r) => (BilledTo::Credits, Some(r)),
        Ok(BilledTo::Credits) if available == 0 => {
            (BilledTo::Credits, Some(credits_exhausted(catalogue)))
        }
        Ok(billed_to) => (billed_to, None),
    }
}

pub(crate) fn credits_exhausted(catalogue: &Catalogue) -> Rejection {
    Rejection::new(
        RejectCode::CreditsExhausted,
        format!(
            "your monthly and purchased credits are used up; buy a credit pack in {}, or connect \
             your own AI account, to keep using the assistant",
            catalogue.buy_packs_at
        ),
    )
}
