//! Demo mode (`serve --demo`): a backend a web app can be shown with, offline.
//!
//! - At start, the account [`ACCOUNT_ID`] is seeded with about a year of plausible history
//!   (unless it exists: a restart keeps whatever the demo did since).
//! - `POST /v1/demo/session` hands out an admin token of that account to anyone who asks. That
//!   is the point of a demo and the reason it must never face the internet.
//! - `POST /v1/accounts/{id}/assistant` stands in for the host application's assistant
//!   backend ([`assistant`]): it calls the model through the gateway as a host app would, and
//!   streams the reply back.
//! - `/demo/providers/{provider}/…` stand in for the providers ([`stand_in`]): their
//!   list-models endpoints (for key tests) and the generation APIs the gateway forwards, in
//!   each provider's own shapes, streams included. A key starting with `demo-` is accepted,
//!   any other gets the provider's own refusal. Calls on credits use the platform key
//!   [`stand_in::PLATFORM_KEY`] unless `AI_CREDITS_PLATFORM_KEY_*` says otherwise.
//!
//! The seeded history is computed with the core `Ledger` while it is generated, so its totals
//! land where they should whatever the day the demo starts; every number the demo later shows
//! comes from the engine like any other account's.

pub mod assistant;
pub mod stand_in;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{Datelike, NaiveTime, TimeDelta, Timelike, Utc, Weekday};
use serde_json::{Map, Value, json};

use ai_credits::time::{Instant, add_months, format_instant};
use ai_credits::units::Credits;
use ai_credits::{Account, Catalogue, EventDraft, Ledger, Rejection};

use crate::engine::{self, Ctx, Engine};
use crate::error::{ApiError, ErrorCode};
use crate::http::auth::{self, Role};
use crate::http::{self, AppState};
use crate::vault::secret::Secret;

/// The demo account's id.
pub const ACCOUNT_ID: &str = "acc_demo";
/// Its plan: 3,000,000 credits a month, own keys allowed.
pub const PLAN: &str = "growth";
/// The member a session is for when the request names none: the account's owner.
pub const OWNER: &str = "maya";
/// Longest member name a session accepts.
pub const MEMBER_CHARS_MAX: usize = 64;
/// Longest message the stand-in assistant reads, in characters.
pub const MESSAGE_CHARS_MAX: usize = 32_000;
/// Tokens the host app's instructions and tools add to each seeded call.
const PROMPT_TOKENS: u64 = 650;
/// The member the assistant backend's service token is issued for.
pub const ASSISTANT_MEMBER: &str = "demo-assistant";
/// How long the stand-in providers "think" and stream unless `AI_CREDITS_DEMO_REPLY_DELAY_MS`
/// says otherwise: long enough for a person to see the reply arrive.
pub const REPLY_DELAY_MS_DEFAULT: u64 = 400;
/// Longest delay the variable may ask for.
const REPLY_DELAY_MS_MAX: u64 = 60_000;
/// Where the stand-in providers are served, under the server's own address.
pub const PROVIDERS_PATH: &str = "/demo/providers";

/// Settings of demo mode that are read once at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSettings {
    /// How long a stand-in provider takes to answer (half before the first words of a stream,
    /// half spread over the rest).
    pub reply_delay: Duration,
}

impl DemoSettings {
    /// `AI_CREDITS_DEMO_REPLY_DELAY_MS` (0 to 60,000), else [`REPLY_DELAY_MS_DEFAULT`].
    pub fn from_env() -> DemoSettings {
        let ms = std::env::var("AI_CREDITS_DEMO_REPLY_DELAY_MS")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|ms| *ms <= REPLY_DELAY_MS_MAX)
            .unwrap_or(REPLY_DELAY_MS_DEFAULT);
        DemoSettings {
            reply_delay: Duration::from_millis(ms),
        }
    }
}

/// A demo server's own parts.
pub struct Demo {
    pub settings: DemoSettings,
    /// This server's own address, where the assistant backend calls the gateway.
    self_base: String,
    /// The assistant backend's service token of [`ACCOUNT_ID`], as a host app's backend has one.
    service_token: Secret,
    http: reqwest::Client,
}

/// The loopback address of a bound `addr` (an unspecified one, `0.0.0.0` or `::`, is reached
/// on loopback).
fn reachable(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// The base URL the provider adapters use in demo mode when their variables are not set:
/// this server's own stand-ins.
pub fn stand_in_base(addr: std::net::SocketAddr) -> String {
    format!("http://{}{PROVIDERS_PATH}", reachable(addr))
}

/// The demo routes, added to the API only with `--demo`.
pub fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    router
        .route("/v1/demo/session", post(post_session))
        .route(
            "/v1/accounts/{id}/assistant",
            post(assistant::post_assistant),
        )
        .route(
            "/demo/providers/{provider}/v1/models",
            get(stand_in::models_v1),
        )
        .route(
            "/demo/providers/{provider}/v1beta/models",
            get(stand_in::models_v1beta),
        )
        .route(
            "/demo/providers/{provider}/{*path}",
            post(stand_in::generate),
        )
}

// ---------------------------------------------------------------------------------------------
// Seeding

/// The team: the owner first. Later members joined later (the cycle they start in).
const TEAM: [(&str, u64, i64); 4] = [
    ("maya", 35, 0),
    ("ana", 30, 0),
    ("ben", 20, 3),
    ("cy", 15, 7),
];
/// Features by how often they are used.
const FEATURES: [(&str, u64); 4] = [
    ("assistant", 50),
    ("email_drafts", 20),
    ("text_generation", 20),
    ("reports", 10),
];
/// The fixed seed of the history: the same "now" always gives the same events.
const SEED: u64 = 0x5eed_a1c7_ed17_2026;
/// Cycles of history before the current one: the account is about 13 months old.
const PAST_CYCLES: i64 = 13;
/// How long ago the current cycle started (before avoiding anchor days 29–31).
const CYCLE_DAYS_AGO: i64 = 20;
/// The cycle whose usage ran past the allowance and into the 1M pack.
const OVERAGE_CYCLE: i64 = 9;
/// What each cycle used, in permille of the allowance (the overage cycle's is the allowance
/// plus [`OVERAGE_MIN`]..[`OVERAGE_MAX`]). The team grows, so does its use; the current cycle
/// is about 62 % used 20 days in.
const USED_PERMILLE: [u64; 14] = [
    180, 240, 300, 360, 420, 480, 540, 600, 660, 1000, 700, 760, 840, 620,
];
/// Credits the overage cycle drew from the 1M pack (plus at most one call past it).
const OVERAGE_MIN: Credits = 380_000;
const OVERAGE_MAX: Credits = 520_000;
/// The last hours of a cycle's window are kept for topping its usage up to the target.
const TOP_UP_HOURS: i64 = 3;
/// The 1M pack was bought this many days short of 12 months ago: it is nearly expired.
const PACK_1M_EXPIRES_IN_DAYS: i64 = 6;
/// The 2M pack was bought this many days ago, after the overage.
const PACK_2M_DAYS_AGO: i64 = 35;

/// A seeded generator (rand's `StdRng`): the same history for the same seed, made-up usage.
struct Rng(rand::rngs::StdRng);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(rand::SeedableRng::seed_from_u64(seed))
    }

    fn next(&mut self) -> u64 {
        rand::RngCore::next_u64(&mut self.0)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        rand::Rng::random_range(&mut self.0, lo..=hi)
    }

    /// One of `choices` by weight (`None` only when there are none, or all weigh 0).
    fn pick<T: Copy>(&mut self, choices: &[(T, u64)]) -> Option<T> {
        let total: u64 = choices.iter().map(|(_, w)| w).sum();
        let mut roll = self.next() % total.max(1);
        for (choice, weight) in choices {
            if roll < *weight {
                return Some(*choice);
            }
            roll -= weight;
        }
        None
    }
}

/// One made-up AI call: who, what for, which model, how many tokens.
struct Call {
    member: &'static str,
    feature: &'static str,
    model: &'static str,
    input_tokens: u64,
    output_tokens: u64,
}

/// A plausible call of cycle `cycle` (members who had joined by then).
fn make_call(rng: &mut Rng, cycle: i64) -> Call {
    let team: Vec<(&'static str, u64)> = TEAM
        .iter()
        .filter(|(_, _, joined)| *joined <= cycle)
        .map(|(name, weight, _)| (*name, *weight))
        .collect();
    let member = rng.pick(&team).unwrap_or(OWNER);
    let feature = rng.pick(&FEATURES).unwrap_or("assistant");
    let (models, input_tokens, output_tokens): (&[(&'static str, u64)], u64, u64) = match feature {
        "assistant" => (
            &[
                ("claude-sonnet-4-6", 45),
                ("claude-haiku-4-5", 20),
                ("gpt-5.4-mini", 20),
                ("kimi-k2", 15),
            ],
            PROMPT_TOKENS + rng.range(150, 1_200) + rng.range(0, 4_000),
            rng.range(120, 900),
        ),
        "email_drafts" => (
            &[("claude-haiku-4-5", 50), ("gpt-5.4-mini", 50)],
            PROMPT_TOKENS + rng.range(300, 1_500),
            rng.range(180, 650),
        ),
        "text_generation" => (
            &[
                ("gpt-5.4-mini", 40),
                ("claude-sonnet-4-6", 30),
                ("kimi-k2", 30),
            ],
            PROMPT_TOKENS + rng.range(100, 900),
            rng.range(250, 1_100),
        ),
        _ => (
            &[("gpt-5", 60), ("claude-sonnet-4-6", 40)],
            rng.range(5_000, 22_000),
            rng.range(700, 2_500),
        ),
    };
    Call {
        member,
        feature,
        model: rng.pick(models).unwrap_or("claude-sonnet-4-6"),
        input_tokens,
        output_tokens,
    }
}

/// What the seeded account looks like at seeding time, by the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSummary {
    pub cycle_anchor: Instant,
    pub events: usize,
    pub monthly_allowance: Credits,
    pub monthly_used: Credits,
    /// (pack, remaining, expires at), in purchase order.
    pub packs: Vec<(String, Credits, Instant)>,
}

/// The seeded history: the account's anchor and its events in time order, each with the
/// member the engine records it for.
pub struct History {
    pub cycle_anchor: Instant,
    pub events: Vec<(Value, String)>,
    pub summary: SeedSummary,
}

/// The demo account's history as of `now`: the current cycle began about 20 days ago (on a
/// day from 1 to 28, so every cycle starts on the same day of the month), 13 cycles before it.
/// Every event is before `now`, in time order, and accepted by the core (checked here by
/// applying it); refusals would be a bug of this generator, reported as the core's rejection.
pub fn history(catalogue: &Arc<Catalogue>, now: Instant) -> Result<History, Rejection> {
    let out_of_range = || Rejection::invalid("the demo's dates are out of range");
    let started = (now - TimeDelta::days(CYCLE_DAYS_AGO)).date_naive();
    let started = started
        .with_day(started.day().min(28))
        .ok_or_else(out_of_range)?;
    let current_start = started
        .and_time(NaiveTime::from_hms_opt(9, 0, 0).ok_or_else(out_of_range)?)
        .and_utc();
    let anchor = add_months(&current_start, -PAST_CYCLES).ok_or_else(out_of_range)?;
    let mut ledger = Ledger::new(
        Arc::clone(catalogue),
        Account {
            plan: PLAN.to_owned(),
            cycle_anchor: anchor,
        },
    )?;
    let allowance = catalogue.plan(PLAN).map_or(0, |p| p.monthly_credits);
    let mut generator = Generator {
        ledger: &mut ledger,
        events: Vec::new(),
        fixed: fixed_events(now)?.into(),
    };
    for cycle in 0..=PAST_CYCLES {
        let start = add_months(&anchor, cycle).ok_or_else(out_of_range)?;
        let end = add_months(&anchor, cycle + 1).ok_or_else(out_of_range)?;
        let window_start = start + TimeDelta::minutes(30);
        let window_end = end.min(now) - TimeDelta::minutes(15);
        let permille = usize::try_from(cycle)
            .ok()
            .and_then(|c| USED_PERMILLE.get(c))
            .copied()
            .unwrap_or(0);
        let mut target = allowance / 1000 * permille;
        let mut payload = Rng::new(SEED ^ (cycle as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if cycle == OVERAGE_CYCLE {
            target += payload.range(OVERAGE_MIN, OVERAGE_MAX);
        }
        let mut times = Rng::new(SEED.rotate_left(17) ^ (cycle as u64 + 1));
        generator.cycle(
            cycle,
            (window_start, window_end),
            target,
            &mut payload,
            &mut times,
        )?;
    }
    generator.flush_fixed(now)?;
    let events = generator.events;
    let balance = ledger.balance(now)?;
    let packs = ledger
        .packs()
        .iter()
        .map(|p| (p.pack.clone(), p.remaining_at(&now), p.expires_at))
        .collect();
    Ok(History {
        cycle_anchor: anchor,
        summary: SeedSummary {
            cycle_anchor: anchor,
            events: events.len(),
            monthly_allowance: balance.monthly.allowance,
            monthly_used: balance.monthly.used,
            packs,
        },
        events,
    })
}

/// The events that happen once: the packs and the model the owner picked.
fn fixed_events(now: Instant) -> Result<Vec<(Instant, Value)>, Rejection> {
    let minute = |t: Instant| {
        chrono::DateTime::from_timestamp(t.timestamp() / 60 * 60, 0)
            .ok_or_else(|| Rejection::invalid("the demo's dates are out of range"))
    };
    let pack_1m = add_months(&(now + TimeDelta::days(PACK_1M_EXPIRES_IN_DAYS)), -12)
        .ok_or_else(|| Rejection::invalid("the demo's dates are out of range"))?;
    let pack_1m = minute(pack_1m)?;
    let pack_2m = minute(now - TimeDelta::days(PACK_2M_DAYS_AGO))?;
    // Tried GPT-5 for a while about seven months ago, back to Claude three months later.
    let tried = minute(now - TimeDelta::days(212))?;
    let back = minute(now - TimeDelta::days(121))?;
    let mut fixed = vec![
        (
            pack_1m,
            json!({"kind": "purchase_pack", "id": "demo-pack-1M", "pack": "1M"}),
        ),
        (tried, json!({"kind": "select_model", "model": "gpt-5"})),
        (
            back,
            json!({"kind": "select_model", "model": "claude-sonnet-4-6"}),
        ),
        (
            pack_2m,
            json!({"kind": "purchase_pack", "id": "demo-pack-2M", "pack": "2M"}),
        ),
    ];
    fixed.sort_by_key(|(at, _)| *at);
    Ok(fixed)
}

/// Applies generated events to a ledger as it goes.
struct Generator<'a> {
    ledger: &'a mut Ledger,
    events: Vec<(Value, String)>,
    /// Events at fixed times, soonest first, applied when the walk passes them.
    fixed: VecDeque<(Instant, Value)>,
}

impl Generator<'_> {
    /// Applies one event dated `at` (and first the fixed events due by then); the credits of
    /// the entry it made.
    fn apply(&mut self, at: Instant, mut event: Value, member: &str) -> Result<Credits, Rejection> {
        self.flush_fixed(at)?;
        event["at"] = json!(format_instant(&at));
        let outcome = self.ledger.apply_draft(EventDraft::from_json(&event))?;
        self.events.push((event, member.to_owned()));
        Ok(outcome.entry.map_or(0, |e| e.credits))
    }

    fn flush_fixed(&mut self, until: Instant) -> Result<(), Rejection> {
        while self.fixed.front().is_some_and(|(at, _)| *at <= until) {
            if let Some((at, event)) = self.fixed.pop_front() {
                self.apply(at, event, OWNER)?;
            }
        }
        Ok(())
    }

    /// A cycle's usage: calls at working-hour times across `window` but its last
    /// [`TOP_UP_HOURS`], spread so the credits used keep pace with `target`, then topped up in
    /// those last hours if nights and weekends left it short. Lands on `target` plus at most
    /// one call.
    fn cycle(
        &mut self,
        cycle: i64,
        (window_start, window_end): (Instant, Instant),
        target: Credits,
        payload: &mut Rng,
        times: &mut Rng,
    ) -> Result<(), Rejection> {
        let walk_end = window_end - TimeDelta::hours(TOP_UP_HOURS);
        let span = (walk_end - window_start).num_seconds().max(1);
        let mut used: Credits = 0;
        let mut n = 0u32;
        let mut emit = |this: &mut Self, at: Instant| -> Result<Credits, Rejection> {
            let call = make_call(payload, cycle);
            n += 1;
            let event = json!({
                "kind": "usage",
                "id": format!("demo-{cycle:02}-{n:04}"),
                "model": call.model,
                "input_tokens": call.input_tokens,
                "output_tokens": call.output_tokens,
                "feature": call.feature,
                "member": call.member,
            });
            this.apply(at, event, call.member)
        };
        let mut at = window_start;
        loop {
            at = next_working_time(at, times);
            if at >= walk_end || used >= target {
                break;
            }
            let elapsed = (at - window_start).num_seconds().clamp(0, span);
            let pace = u128::from(target) * elapsed.unsigned_abs() as u128 / span as u128;
            if u128::from(used) < pace {
                used += emit(self, at)?;
            }
        }
        // Top-up: a burst before the window's end (someone catching up late). A night and a
        // weekend behind the pace is about 40 calls; these hours hold about 150.
        let mut at = self.ledger.now().unwrap_or(window_start).max(walk_end);
        while used < target {
            at += TimeDelta::seconds(times.range(30, 120) as i64);
            if at >= window_end {
                break;
            }
            used += emit(self, at)?;
        }
        Ok(())
    }
}

/// The next moment someone on the team makes a call: 6 to 50 minutes later, between 07:00 and
/// 19:00 UTC, and mostly not at weekends.
fn next_working_time(at: Instant, rng: &mut Rng) -> Instant {
    let mut at = at + TimeDelta::seconds(rng.range(6 * 60, 50 * 60) as i64);
    let morning = |day: chrono::NaiveDate, rng: &mut Rng| {
        day.and_time(NaiveTime::MIN).and_utc()
            + TimeDelta::seconds((7 * 3600 + rng.range(0, 45 * 60)) as i64)
    };
    // Bounded: at most a few days are skipped, but never loop on a bad date.
    for _ in 0..16 {
        let day = at.date_naive();
        let weekend = matches!(at.weekday(), Weekday::Sat | Weekday::Sun);
        if at.hour() >= 19 || (weekend && rng.range(0, 99) < 70) {
            match day.succ_opt() {
                Some(next) => at = morning(next, rng),
                None => return at,
            }
        } else if at.hour() < 7 {
            at = morning(day, rng);
        } else {
            return at;
        }
    }
    at
}

/// Seeds the demo account unless it exists. `None` when it existed (or another process
/// sharing the database created it first).
///
/// Not atomic: the events are decided in batches like any others, so a crash part-way leaves
/// a partial history that a restart keeps (delete the database to seed afresh). A refused
/// event stops the server from starting.
pub async fn ensure_seeded(
    ctx: &Ctx,
    engine: &Engine,
) -> Result<Option<SeedSummary>, Box<dyn std::error::Error + Send + Sync>> {
    if ctx.db.account_exists(ACCOUNT_ID).await? {
        return Ok(None);
    }
    let history = history(&ctx.catalogue, engine::clock())
        .map_err(|r| format!("demo history: {} ({})", r.message, r.code.as_str()))?;
    let anchor = format_instant(&history.cycle_anchor);
    if let Err(e) = ctx
        .db
        .create_account(ACCOUNT_ID, PLAN, &anchor, &anchor)
        .await
    {
        if ctx.db.account_exists(ACCOUNT_ID).await? {
            return Ok(None);
        }
        return Err(e.into());
    }
    let drafts = history
        .events
        .iter()
        .map(|(event, member)| (EventDraft::from_json(event), member.clone()))
        .collect();
    let answers = engine.submit_at(ACCOUNT_ID, drafts).await;
    if let Some((i, Err(e))) = answers.iter().enumerate().find(|(_, a)| a.is_err()) {
        return Err(format!(
            "demo seed: event {i} was refused: {} ({}); delete the database to seed again",
            e.message, e.code
        )
        .into());
    }
    Ok(Some(history.summary))
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// Whether `name` is a member name a session accepts: 1 to 64 of `a-z`, `0-9`, `_`, `-`.
pub fn valid_member(name: &str) -> bool {
    (1..=MEMBER_CHARS_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `POST /v1/demo/session`: a fresh admin token of the demo account for `member` (default the
/// owner). No credentials: anyone who can reach the server gets one.
async fn post_session(
    State(app): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let member = match body {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => OWNER.to_owned(),
        body => {
            let body = http::json_object(body)?;
            unknown_fields(&body, &["member"])?;
            match body.get("member") {
                None | Some(Value::Null) => OWNER.to_owned(),
                Some(Value::String(name)) if valid_member(name) => name.clone(),
                Some(_) => {
                    return Err(ApiError::bad_request(
                        ErrorCode::InvalidRequest,
                        format!(
                            "`member` must be 1 to {MEMBER_CHARS_MAX} characters of a-z, 0-9, _ and -"
                        ),
                    ));
                }
            }
        }
    };
    // Seeded at every start when missing; only a database changed behind the server's back
    // has no demo account.
    let token = auth::issue_token(&app.ctx.db, ACCOUNT_ID, &member, Role::Admin, None)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!(
                    "the demo account {ACCOUNT_ID} does not exist; restart the server to seed it"
                ),
            )
        })?;
    tracing::info!(account = ACCOUNT_ID, member, "demo session token issued");
    let (token, _) = token;
    Ok(Json(json!({
        "account_id": ACCOUNT_ID,
        "token": token,
        "member": member,
        "role": Role::Admin.as_str(),
    })))
}

// ---------------------------------------------------------------------------------------------
// The stand-in reply

/// FNV-1a: a stable hash, so the same message always gets the same reply (a retry with the
/// same id must charge the same tokens to be a duplicate).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Sentences the stand-in picks from; none pretends to know the business's data.
const REPLY_SENTENCES: [&str; 20] = [
    "In a live setup I would look up your bookings, stock and customers before answering.",
    "A good first step is to check what changed since last week and what is due next.",
    "I would keep the answer short and link to the records it is based on.",
    "If anything is overdue, I would list it first, with who has it and since when.",
    "For a draft, I would match the tone of your recent messages to customers.",
    "Numbers would come from your reports, rounded the way your team reads them.",
    "Where the data is unclear, I would say so rather than guess.",
    "You could ask a follow-up to narrow it down to one location or one product.",
    "For a change to a booking, I would show what would change and ask before saving it.",
    "I would compare this with the same period last month so the trend is clear.",
    "Where a customer has several open bookings, I would group them under their name.",
    "Stock that is booked out on overlapping days would be flagged so nobody double-books it.",
    "Totals would be given with and without tax, as your invoices show them.",
    "If a product needs cleaning or repair between rentals, I would leave time for it.",
    "I would mention anything unusual, such as a booking much longer than the others.",
    "Dates would be read in your business's time zone, not the server's.",
    "For a long list, I would give the first few and say how many more there are.",
    "A reminder to the customer could be drafted next, if you want one.",
    "I would not invent a figure that is not in your records; I would say what is missing.",
    "Prices would come from your current price list, with any discounts you set.",
];

/// The length of a stand-in reply, in characters: about 230 to 600 tokens, so that its usage
/// falls where real answers of the seeded history do (their output is 120 to 900 tokens), more
/// for a longer message.
fn reply_chars(message: &str) -> usize {
    900 + usize::try_from(fnv1a(message) % 900).unwrap_or(0)
        + message.chars().count().min(1_200) / 2
}

/// The demo assistant's reply: says what it is, quotes the first words of the message, and
/// runs to [`reply_chars`] (so the output tokens vary as a real model's would, longer for
/// longer messages), each sentence once.
pub fn stand_in_reply(message: &str, model_name: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    let mut quote = String::new();
    for word in words.iter().take(8) {
        let clean: String = word.chars().filter(|c| !c.is_control()).collect();
        if quote.chars().count() + clean.chars().count() > 80 {
            break;
        }
        if !quote.is_empty() {
            quote.push(' ');
        }
        quote.push_str(&clean);
    }
    let ellipsis = if quote.split(' ').count() < words.len() {
        "…"
    } else {
        ""
    };
    let mut reply = format!(
        "This is the demo assistant answering as {model_name} (a stand-in: no AI model was \
         called). You asked: \"{quote}{ellipsis}\"."
    );
    let start = usize::try_from(fnv1a(message) % REPLY_SENTENCES.len() as u64).unwrap_or(0);
    let target = reply_chars(message);
    for k in 0..REPLY_SENTENCES.len() {
        if reply.len() >= target {
            break;
        }
        reply.push(' ');
        reply.push_str(REPLY_SENTENCES[(start + k) % REPLY_SENTENCES.len()]);
    }
    if words.len() > 1 {
        reply.push_str(&format!(
            " (Your message had {} words; the real assistant would read them all, with your data.)",
            words.len()
        ));
    }
    reply
}

/// A one-line account of a seeding, for the log.
pub fn describe(summary: &SeedSummary) -> String {
    let packs: Vec<String> = summary
        .packs
        .iter()
        .map(|(pack, remaining, expires)| {
            let days = (*expires - Utc::now()).num_days();
            format!("{pack}: {remaining} left, expires in {days} days")
        })
        .collect();
    format!(
        "{} events; this cycle {} of {} credits used; packs: {}",
        summary.events,
        summary.monthly_used,
        summary.monthly_allowance,
        packs.join("; ")
    )
}

/// At start: seeds [`ACCOUNT_ID`] unless it exists, says which it did, and issues the
/// assistant backend's service token (revoking the ones earlier starts issued).
pub async fn seed_at_start(
    ctx: &Ctx,
    engine: &Engine,
) -> Result<Secret, Box<dyn std::error::Error + Send + Sync>> {
    match ensure_seeded(ctx, engine).await? {
        Some(summary) => tracing::info!(
            account = ACCOUNT_ID,
            "demo account seeded: {}",
            describe(&summary)
        ),
        None => tracing::info!(account = ACCOUNT_ID, "demo account exists: kept as it is"),
    }
    for row in ctx.db.tokens(ACCOUNT_ID).await? {
        if row.member == ASSISTANT_MEMBER && row.role == Role::Service.as_str() {
            ctx.db.delete_token(ACCOUNT_ID, &row.id).await?;
        }
    }
    let issued = auth::issue_token(&ctx.db, ACCOUNT_ID, ASSISTANT_MEMBER, Role::Service, None)
        .await
        .map_err(|e| e.message)?
        .ok_or("the demo account is missing")?;
    Ok(Secret::new(issued.0))
}

/// The provider adapters of a demo server: the stand-ins at its own address (known only once
/// bound), unless `AI_CREDITS_PROVIDER_BASE_*` says otherwise.
pub fn stand_in_providers(addr: std::net::SocketAddr) -> crate::vault::providers::Providers {
    let stand_in = stand_in_base(addr);
    tracing::info!(
        stand_in,
        "demo: provider keys are tested against the stand-in providers unless \
         AI_CREDITS_PROVIDER_BASE_* says otherwise (keys starting with demo- are accepted)"
    );
    crate::vault::providers::Providers::from_env_or(Some(&stand_in))
}

/// Calls on credits to a stand-in provider use [`stand_in::PLATFORM_KEY`] unless
/// `AI_CREDITS_PLATFORM_KEY_*` names one. A provider pointed elsewhere gets no default.
pub fn platform_keys(
    gateway: &mut crate::gateway::Gateway,
    providers: &crate::vault::providers::Providers,
    catalogue: &Catalogue,
    addr: std::net::SocketAddr,
) {
    let stand_in = stand_in_base(addr);
    for provider in &catalogue.providers {
        if providers
            .base(&provider.id)
            .is_some_and(|base| base.starts_with(&stand_in))
        {
            gateway.platform_key_or(&provider.id, Secret::new(stand_in::PLATFORM_KEY.to_owned()));
        }
    }
}

/// Switches a server's routes to demo mode, with a warning in the log.
pub fn switch_on(state: AppState, addr: std::net::SocketAddr, service_token: Secret) -> AppState {
    tracing::warn!(
        %addr,
        "demo mode: POST /v1/demo/session hands an admin token of {} to anyone who can \
         reach this address; never expose it to a network you do not trust",
        ACCOUNT_ID
    );
    let demo = Demo {
        settings: DemoSettings::from_env(),
        self_base: format!("http://{}", reachable(addr)),
        service_token,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default(),
    };
    state.with_demo(Arc::new(demo))
}

fn unknown_fields(body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    let unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("unknown field(s): {}", unknown.join(", ")),
        ))
    }
}

fn optional_text<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 200 => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("`{key}` must be a non-empty string of at most 200 bytes"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_short_lowercase_words() {
        // Proves the session's member rule: 1-64 of a-z, 0-9, _ and -, nothing else.
        assert!(valid_member("maya"));
        assert!(valid_member("ops_team-2"));
        assert!(valid_member(&"a".repeat(64)));
        assert!(!valid_member(""));
        assert!(!valid_member(&"a".repeat(65)));
        assert!(!valid_member("Maya"));
        assert!(!valid_member("ana bell"));
        assert!(!valid_member("café"));
    }

    #[test]
    fn the_reply_quotes_the_message_and_grows_with_it() {
        // Proves the stand-in reply names itself, quotes the message's first words, is the same for the same message and longer for a longer one.
        let short = stand_in_reply("How many bookings today?", "Claude Sonnet 4.6");
        assert!(short.contains("demo assistant"), "{short}");
        assert!(short.contains("How many bookings today?"), "{short}");
        assert_eq!(
            short,
            stand_in_reply("How many bookings today?", "Claude Sonnet 4.6")
        );
        let long = stand_in_reply(&"Summarise the week for me please. ".repeat(40), "GPT-5");
        assert!(long.len() > short.len() + 200, "{long}");
        assert!(
            long.contains("\"Summarise the week for me please. Summarise the…\""),
            "{long}"
        );
    }
}
