//! Alerts before credits run out: a pure function of the ledger at an instant and the
//! catalogue's thresholds (`alerts` in the catalogue), so the browser's banner and the
//! server's webhooks name the same alerts with the same ids.
//!
//! - `monthly_used`: the cycle's monthly credits used reached a threshold (default 80% and
//!   100% of the allowance); one per threshold per cycle.
//! - `running_low`: available credits last less than `runway_hours` (default 24) at the
//!   recent pace (the burn rate over [`PACE_WINDOW_DAYS`]); one per cycle.
//! - `pack_expiring`: a pack with credits left expires within `pack_expiry_days` (default 7);
//!   one per pack.
//!
//! An alert's `id` is stable: the same alert of the same cycle (or pack) has the same id at
//! every instant it holds, so a banner dismissed once stays dismissed and a webhook is sent
//! once.

use serde::Serialize;

use crate::error::Rejection;
use crate::ledger::Ledger;
use crate::time::{Instant, format_instant};
use crate::units::Credits;

/// The window of the recent pace `running_low` reads, in days (the forecast's default).
pub const PACE_WINDOW_DAYS: u32 = 14;

const MS_PER_HOUR: i64 = 3_600_000;

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    MonthlyUsed,
    RunningLow,
    PackExpiring,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::MonthlyUsed => "monthly_used",
            AlertKind::RunningLow => "running_low",
            AlertKind::PackExpiring => "pack_expiring",
        }
    }
}

/// One alert that holds at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Stable across instants: `monthly_used:80:<cycle start>`, `running_low:<cycle start>`,
    /// `pack_expiring:<pack purchase id>`.
    pub id: String,
    pub kind: AlertKind,
    /// The threshold crossed: a percentage (`monthly_used`), hours (`running_low`) or days
    /// (`pack_expiring`).
    pub threshold: u32,
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub cycle_start: Instant,
    /// The pack's purchase id (`pack_expiring` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    /// The figure behind it: monthly credits used, credits available, or the pack's credits
    /// left.
    pub credits: Credits,
    /// For a person, in the host app's words.
    pub message: String,
}

/// "1,234,567".
fn grouped(n: Credits) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "Dec 9, 2026": a day of the ledger (UTC), as the web app writes dates.
fn day(t: &Instant) -> String {
    use chrono::Datelike;
    let month = MONTHS[t.month0() as usize % 12];
    format!("{month} {}, {}", t.day(), t.year())
}

impl Ledger {
    /// The alerts that hold at `at`, in a fixed order: monthly thresholds ascending, running
    /// low, then expiring packs oldest first.
    pub fn alerts(&self, at: Instant) -> Result<Vec<Alert>, Rejection> {
        let settings = &self.catalogue().alerts;
        let buy_at = &self.catalogue().buy_packs_at;
        let balance = self.balance(at)?;
        let cycle = balance.cycle;
        let cycle_id = format_instant(&cycle.start);
        let mut alerts = Vec::new();
        let monthly = &balance.monthly;
        if monthly.allowance > 0 {
            for &percent in &settings.monthly_used_percent {
                // used / allowance ≥ percent / 100, in integers.
                if u128::from(monthly.used) * 100
                    < u128::from(monthly.allowance) * u128::from(percent)
                {
                    continue;
                }
                let message = if percent >= 100 {
                    if balance.purchased_remaining > 0 {
                        format!(
                            "This month's {} credits are used up; your credit packs are in use until they refill on {}.",
                            grouped(monthly.allowance),
                            day(&cycle.end)
                        )
                    } else {
                        format!(
                            "This month's {} credits are used up. They refill on {}; to keep using the assistant before then, buy a credit pack in {buy_at}.",
                            grouped(monthly.allowance),
                            day(&cycle.end)
                        )
                    }
                } else {
                    // The share used now (rounded down, so never below the threshold crossed).
                    let used = u128::from(monthly.used) * 100 / u128::from(monthly.allowance);
                    format!(
                        "You have used {used}% of this month's {} credits ({} left). They refill on {}.",
                        grouped(monthly.allowance),
                        grouped(monthly.remaining),
                        day(&cycle.end)
                    )
                };
                alerts.push(Alert {
                    id: format!("monthly_used:{percent}:{cycle_id}"),
                    kind: AlertKind::MonthlyUsed,
                    threshold: percent,
                    cycle_start: cycle.start,
                    pack: None,
                    credits: monthly.used,
                    message,
                });
            }
        }
        if settings.runway_hours > 0 && balance.available > 0 {
            let burn = self.burn_rate(at, PACE_WINDOW_DAYS)?;
            let window_ms = (burn.window_end - burn.window_start).num_milliseconds();
            // available < credits × hours / window, in integers: available × window < credits × hours.
            let needed =
                u128::from(burn.credits) * u128::from(settings.runway_hours) * MS_PER_HOUR as u128;
            if window_ms > 0 && u128::from(balance.available) * (window_ms as u128) < needed {
                alerts.push(Alert {
                    id: format!("running_low:{cycle_id}"),
                    kind: AlertKind::RunningLow,
                    threshold: settings.runway_hours,
                    cycle_start: cycle.start,
                    pack: None,
                    credits: balance.available,
                    message: format!(
                        "At your recent pace (about {} credits a day), your {} available credits last less than {}. Buy a credit pack in {buy_at} so you are not caught off guard.",
                        grouped(burn.credits_per_day),
                        grouped(balance.available),
                        hours_text(settings.runway_hours)
                    ),
                });
            }
        }
        if settings.pack_expiry_days > 0 {
            let within = chrono::Duration::days(i64::from(settings.pack_expiry_days));
            for pack in self.packs() {
                let left = pack.remaining_at(&at);
                if left == 0 || !pack.is_valid_at(&at) || pack.expires_at - at > within {
                    continue;
                }
                alerts.push(Alert {
                    id: format!("pack_expiring:{}", pack.id),
                    kind: AlertKind::PackExpiring,
                    threshold: settings.pack_expiry_days,
                    cycle_start: cycle.start,
                    pack: Some(pack.id.to_string()),
                    credits: left,
                    message: format!(
                        "Your {} credit pack bought {} expires on {} with {} credits left; packs are used only after the monthly credits.",
                        grouped(pack.credits),
                        day(&pack.purchased_at),
                        day(&pack.expires_at),
                        grouped(left)
                    ),
                });
            }
        }
        Ok(alerts)
    }
}

fn hours_text(hours: u32) -> String {
    match hours {
        24 => "a day".to_owned(),
        h if h % 24 == 0 => format!("{} days", h / 24),
        1 => "an hour".to_owned(),
        h => format!("{h} hours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_grouped_by_thousands() {
        // Proves the messages' numbers read 1,234,567 at every length.
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(3_000_000), "3,000,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod message_tests {
    use std::sync::Arc;

    use crate::time::parse_instant;
    use crate::{Account, Catalogue, Ledger};

    #[test]
    fn the_monthly_alert_says_the_share_used_now() {
        // Proves the 80% alert, once passed, names the share used now (85%, rounded down) beside what is left, under the 80% threshold's id.
        let account = Account {
            plan: "growth".into(),
            cycle_anchor: parse_instant("2026-01-01T00:00:00Z").unwrap(),
        };
        let mut ledger = Ledger::new(Arc::new(Catalogue::default()), account).unwrap();
        let debit = serde_json::json!([{"at": "2026-01-02T00:00:00Z", "kind": "debit", "id": "d",
            "credits": 2_559_999}]);
        ledger.replay(debit.as_array().unwrap()).unwrap();
        let alerts = ledger
            .alerts(parse_instant("2026-01-02T01:00:00Z").unwrap())
            .unwrap();
        let eighty = alerts
            .iter()
            .find(|a| a.id.starts_with("monthly_used:80:"))
            .expect("the 80% alert");
        assert!(
            eighty
                .message
                .starts_with("You have used 85% of this month's 3,000,000 credits (440,001 left)."),
            "{}",
            eighty.message
        );
    }
}
