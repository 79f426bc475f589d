//! Forecasts: the burn rate, the runway (when available credits reach zero at that rate) and,
//! for each pack on offer, what buying it now would change and how much of it would expire
//! unused (breakage). Pure functions of the ledger, in integers: consumption up to an instant
//! is `floor(rate_credits × elapsed_ms / window_ms)` from the forecast's start, so segments
//! never drift from one another.

use serde::Serialize;

use crate::error::Rejection;
use crate::ledger::Ledger;
use crate::time::{Instant, add_months};
use crate::units::Credits;
use crate::window::{BURN_DAYS_MAX, hour_of, hour_start};

const MS_PER_DAY: i64 = 86_400_000;

/// Recent consumption: credits charged (billed to credits, unpaid included) in a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BurnRate {
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub window_start: Instant,
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub window_end: Instant,
    pub credits: Credits,
    /// `credits` per 24 hours over the window, rounded down.
    pub credits_per_day: Credits,
}

impl BurnRate {
    fn window_ms(&self) -> i64 {
        (self.window_end - self.window_start).num_milliseconds()
    }

    /// Credits consumed in the first `elapsed_ms` after the forecast's start.
    fn consumed(&self, elapsed_ms: i64) -> u128 {
        let window = self.window_ms();
        if window <= 0 || elapsed_ms <= 0 {
            return 0;
        }
        u128::from(self.credits) * elapsed_ms as u128 / window as u128
    }

    /// The first elapsed time at which consumption reaches `target` credits.
    fn elapsed_to_reach(&self, target: u128) -> Option<i64> {
        if self.credits == 0 || self.window_ms() <= 0 {
            return None;
        }
        let ms = (target * self.window_ms() as u128).div_ceil(u128::from(self.credits));
        i64::try_from(ms).ok()
    }
}

/// When credits run out at the burn rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Runway {
    /// The first instant available credits reach zero; `None` when they last past `horizon`.
    #[serde(serialize_with = "ser_opt_instant")]
    pub exhausted_at: Option<Instant>,
    /// The next monthly reset after that, when sending works again.
    #[serde(serialize_with = "ser_opt_instant")]
    pub refills_at: Option<Instant>,
    /// Pack credits that would expire unused before `horizon`.
    pub breakage: Credits,
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub horizon: Instant,
}

/// What buying one pack now would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackWhatIf {
    pub pack: String,
    pub credits: Credits,
    pub price_cents: u64,
    pub runway: Runway,
    /// Of this pack's credits, how many would expire unused.
    pub breakage: Credits,
}

/// Burn rate, runway now, and a what-if per pack on offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Forecast {
    pub burn: BurnRate,
    pub runway: Runway,
    pub what_if: Vec<PackWhatIf>,
}

fn ser_opt_instant<S: serde::Serializer>(t: &Option<Instant>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => crate::report::ser_instant(t, s),
        None => s.serialize_none(),
    }
}

/// A pack in the simulation: its expiry, what is left, and whether it is the what-if pack.
#[derive(Clone, Copy)]
struct SimPack {
    expires_at: Instant,
    remaining: Credits,
    added: bool,
}

impl Ledger {
    /// Credits charged in the `window_days` before `at` (or since the account's first event,
    /// when that is later), as a rate. The window is counted in whole UTC hours: it starts at
    /// the beginning of the hour its start falls in, and reaches back at most
    /// [`BURN_DAYS_MAX`] days (the history a checkpoint keeps).
    pub fn burn_rate(&self, at: Instant, window_days: u32) -> Result<BurnRate, Rejection> {
        self.check_query_time(&at)?;
        let window = chrono::Duration::days(i64::from(window_days.clamp(1, BURN_DAYS_MAX)));
        let mut start = at.checked_sub_signed(window).unwrap_or(at);
        if let Some(first) = self.first_event_at() {
            start = start.max(first);
        }
        let start_hour = hour_of(&start);
        let start = hour_start(start_hour).unwrap_or(start);
        let credits = self.burn_window().credits_since(start_hour);
        let window_ms = (at - start).num_milliseconds();
        let per_day = if window_ms > 0 {
            u128::from(credits) * MS_PER_DAY as u128 / window_ms as u128
        } else {
            0
        };
        Ok(BurnRate {
            window_start: start,
            window_end: at,
            credits,
            credits_per_day: u64::try_from(per_day).unwrap_or(u64::MAX),
        })
    }

    /// The forecast at `at` from the last `window_days` of use, looking 13 months ahead (so a
    /// pack bought now is followed to its expiry).
    pub fn forecast(&self, at: Instant, window_days: u32) -> Result<Forecast, Rejection> {
        let burn = self.burn_rate(at, window_days)?;
        let runway = self.simulate(at, &burn, None).0;
        let what_if = self
            .catalogue()
            .packs
            .iter()
            .map(|offer| {
                let expires_at = add_months(&at, i64::from(offer.valid_months)).unwrap_or(at);
                let added = SimPack {
                    expires_at,
                    remaining: offer.credits,
                    added: true,
                };
                let (runway, breakage) = self.simulate(at, &burn, Some(added));
                PackWhatIf {
                    pack: offer.id.clone(),
                    credits: offer.credits,
                    price_cents: offer.price_cents,
                    runway,
                    breakage,
                }
            })
            .collect();
        Ok(Forecast {
            burn,
            runway,
            what_if,
        })
    }

    /// Runs consumption at `burn` forward from `at`: the allowance first, then packs oldest
    /// first; the allowance refills at each cycle start, packs expire. Returns the runway and
    /// the breakage of the added pack.
    fn simulate(&self, at: Instant, burn: &BurnRate, added: Option<SimPack>) -> (Runway, Credits) {
        let anchor = self.account().cycle_anchor;
        let horizon = add_months(&at, 13).unwrap_or(at);
        let view = self.view(at);
        let allowance = view.allowance();
        let mut monthly = view.monthly_remaining();
        let mut packs: Vec<SimPack> = view
            .live_packs()
            .map(|(_, p)| SimPack {
                expires_at: p.expires_at,
                remaining: p.remaining,
                added: false,
            })
            .chain(added)
            .collect();
        // Credits already set aside by holds are as good as spent.
        let mut held = view.held;
        take(&mut monthly, &mut packs, &mut held);
        let mut cycle_end = view.cycle.end;
        let mut cycle_index = view.cycle.index;
        let (mut t, mut consumed_at_t) = (at, 0u128);
        let (mut exhausted_at, mut refills_at, mut breakage, mut added_breakage) =
            (None, None, 0, 0);
        if monthly == 0 && packs.iter().all(|p| p.remaining == 0) {
            // Nothing is available now, whatever the rate.
            (exhausted_at, refills_at) = (Some(at), Some(cycle_end));
        }
        while t < horizon {
            let next_expiry = packs.iter().map(|p| p.expires_at).filter(|e| *e > t).min();
            let next = [Some(cycle_end), next_expiry, Some(horizon)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(horizon);
            let drawable =
                u128::from(monthly) + packs.iter().map(|p| u128::from(p.remaining)).sum::<u128>();
            let consumed_at_next = burn.consumed((next - at).num_milliseconds());
            let demand = consumed_at_next - consumed_at_t;
            if demand >= drawable && demand > 0 {
                if exhausted_at.is_none() {
                    let reach = burn.elapsed_to_reach(consumed_at_t + drawable).unwrap_or(0);
                    exhausted_at = Some((at + chrono::Duration::milliseconds(reach)).max(t));
                    refills_at = Some(cycle_end);
                }
                monthly = 0;
                packs.iter_mut().for_each(|p| p.remaining = 0);
            } else {
                let mut left = Credits::try_from(demand).unwrap_or(Credits::MAX);
                take(&mut monthly, &mut packs, &mut left);
            }
            t = next;
            consumed_at_t = consumed_at_next;
            packs.retain(|p| {
                if p.expires_at <= t {
                    breakage += p.remaining;
                    if p.added {
                        added_breakage += p.remaining;
                    }
                    return false;
                }
                true
            });
            if t >= cycle_end {
                cycle_index += 1;
                monthly = allowance;
                cycle_end = add_months(&anchor, cycle_index + 1).unwrap_or(horizon);
            }
        }
        (
            Runway {
                exhausted_at,
                refills_at,
                breakage,
                horizon,
            },
            added_breakage,
        )
    }
}

/// Takes `amount` from the allowance, then from packs oldest first; leaves in `amount` what
/// could not be taken.
fn take(monthly: &mut Credits, packs: &mut [SimPack], amount: &mut Credits) {
    let from_monthly = (*amount).min(*monthly);
    *monthly -= from_monthly;
    *amount -= from_monthly;
    for pack in packs.iter_mut() {
        let from_pack = (*amount).min(pack.remaining);
        pack.remaining -= from_pack;
        *amount -= from_pack;
    }
}
