//! The bounded windows of history that rules read (SPEC §5.3): the output tokens of recent
//! answers, for estimate calibration, and the credits charged hour by hour over the last days,
//! for the burn rate. The ledger keeps them up to date as events arrive, and a checkpoint
//! carries them as they are, so a ledger restored from a checkpoint and the ledger of the
//! whole log answer from the same numbers by construction.

use std::collections::VecDeque;

use serde::Serialize;

use crate::sorted_map::SortedMap;
use crate::time::Instant;
use crate::units::Credits;

/// Most distinct features, models or feature × model pairs whose samples are kept; when a new
/// one arrives past it, the one used least recently gives way. A bound on what one account
/// can make a checkpoint hold, whatever its callers name their features.
pub const SAMPLE_KEYS_MAX: usize = 64;

/// The burn window: the last this many days, in hourly buckets. The longest window a
/// forecast can ask for.
pub const BURN_DAYS_MAX: u32 = 14;

const MS_PER_HOUR: i64 = 3_600_000;

/// The newest output-token counts of one feature, model or pair, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Samples {
    /// The ledger's sample counter when this key last got one (for least-recently-used order).
    pub last: u64,
    pub output_tokens: VecDeque<u64>,
}

/// Output-token samples of past answers (usages and commits), newest `window` per key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutputSamples {
    /// Samples taken so far (orders keys by recency).
    pub taken: u64,
    pub by_model: SortedMap<Samples>,
    pub by_feature: SortedMap<Samples>,
    /// Keyed `feature` + U+001F + `model` (a separator no id can hold: ids are printable text).
    pub by_feature_model: SortedMap<Samples>,
}

/// Joins a feature and a model into one key of `by_feature_model`.
pub fn pair_key(feature: &str, model: &str) -> String {
    format!("{feature}\u{1f}{model}")
}

impl OutputSamples {
    /// Records the output of one answer, keeping at most `window` per key.
    pub fn record(&mut self, feature: Option<&str>, model: &str, output: u64, window: usize) {
        self.taken += 1;
        let taken = self.taken;
        push(&mut self.by_model, model, output, taken, window);
        if let Some(feature) = feature {
            push(&mut self.by_feature, feature, output, taken, window);
            push(
                &mut self.by_feature_model,
                &pair_key(feature, model),
                output,
                taken,
                window,
            );
        }
    }

    /// Every key's window holds at most `window` samples and no map more than
    /// [`SAMPLE_KEYS_MAX`] keys.
    pub fn is_within(&self, window: usize) -> bool {
        [&self.by_model, &self.by_feature, &self.by_feature_model]
            .iter()
            .all(|m| {
                m.len() <= SAMPLE_KEYS_MAX
                    && m.iter().all(|(_, s)| {
                        s.output_tokens.len() <= window.max(1) && s.last <= self.taken
                    })
            })
    }
}

fn push(map: &mut SortedMap<Samples>, key: &str, output: u64, taken: u64, window: usize) {
    if map.get(key).is_none() && map.len() >= SAMPLE_KEYS_MAX {
        let stalest = map
            .iter()
            .min_by_key(|(_, s)| s.last)
            .map(|(k, _)| k.to_owned());
        if let Some(stalest) = stalest {
            map.remove(&stalest);
        }
    }
    let samples = map.entry_or_default(key);
    samples.last = taken;
    samples.output_tokens.push_back(output);
    while samples.output_tokens.len() > window.max(1) {
        samples.output_tokens.pop_front();
    }
}

/// Credits charged per UTC hour, for the last [`BURN_DAYS_MAX`] days before the ledger's
/// latest event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BurnWindow {
    /// `(hours since the Unix epoch, credits)`, oldest first, no hour twice, no zero.
    buckets: VecDeque<(i64, Credits)>,
}

/// The UTC hour an instant falls in, as hours since the Unix epoch.
pub fn hour_of(t: &Instant) -> i64 {
    t.timestamp_millis().div_euclid(MS_PER_HOUR)
}

/// The start of an hour counted by [`hour_of`].
pub fn hour_start(hour: i64) -> Option<Instant> {
    chrono::DateTime::from_timestamp_millis(hour.checked_mul(MS_PER_HOUR)?)
}

impl BurnWindow {
    /// A window of these buckets (checked by `is_within` before use).
    pub(crate) fn from_buckets(buckets: VecDeque<(i64, Credits)>) -> BurnWindow {
        BurnWindow { buckets }
    }

    /// Adds `credits` charged at `at` (the ledger's latest time).
    pub fn record(&mut self, at: &Instant, credits: Credits) {
        if credits == 0 {
            return;
        }
        let hour = hour_of(at);
        match self.buckets.back_mut() {
            Some((last, total)) if *last == hour => *total = total.saturating_add(credits),
            _ => self.buckets.push_back((hour, credits)),
        }
    }

    /// Drops the hours that no window ending at or after `now` can reach.
    pub fn forget_before(&mut self, now: &Instant) {
        let oldest = hour_of(now) - i64::from(BURN_DAYS_MAX) * 24;
        while self.buckets.front().is_some_and(|(h, _)| *h < oldest) {
            self.buckets.pop_front();
        }
    }

    /// Credits charged from the start of `from_hour` on.
    pub fn credits_since(&self, from_hour: i64) -> Credits {
        self.buckets
            .iter()
            .rev()
            .take_while(|(h, _)| *h >= from_hour)
            .map(|(_, c)| *c)
            .fold(0, Credits::saturating_add)
    }

    /// Hours strictly increase, credits are positive, and nothing is older than the window
    /// before `now`.
    pub fn is_within(&self, now: Option<&Instant>) -> bool {
        let ordered = self
            .buckets
            .iter()
            .zip(self.buckets.iter().skip(1))
            .all(|(a, b)| a.0 < b.0);
        let bounded = match (now, self.buckets.front(), self.buckets.back()) {
            (_, None, _) => true,
            (Some(now), Some(first), Some(last)) => {
                first.0 >= hour_of(now) - i64::from(BURN_DAYS_MAX) * 24 && last.0 <= hour_of(now)
            }
            _ => false,
        };
        ordered && bounded && self.buckets.iter().all(|(_, c)| *c > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    #[test]
    fn sample_windows_keep_the_newest_and_evict_the_stalest_key() {
        // Proves each key keeps its newest `window` samples and a full map drops the key used
        // least recently.
        let mut s = OutputSamples::default();
        for i in 0..10 {
            s.record(Some("assistant"), "gpt-5", i, 4);
        }
        assert_eq!(
            s.by_model.get("gpt-5").unwrap().output_tokens,
            VecDeque::from(vec![6, 7, 8, 9])
        );
        for i in 0..SAMPLE_KEYS_MAX {
            s.record(Some(&format!("f{i}")), "gpt-5", 1, 4);
        }
        assert_eq!(s.by_feature.len(), SAMPLE_KEYS_MAX);
        assert!(
            s.by_feature.get("assistant").is_none(),
            "the stalest key went"
        );
        assert!(s.is_within(4));
    }

    #[test]
    fn burn_buckets_sum_by_hour_and_forget_past_the_window() {
        // Proves charges in one hour share a bucket and hours older than the window are dropped.
        let mut b = BurnWindow::default();
        let t0 = parse_instant("2026-01-01T10:15:00Z").unwrap();
        b.record(&t0, 5);
        b.record(&parse_instant("2026-01-01T10:45:00Z").unwrap(), 7);
        let t1 = parse_instant("2026-01-20T10:00:00Z").unwrap();
        b.record(&t1, 3);
        assert_eq!(b.credits_since(hour_of(&t0)), 15);
        b.forget_before(&t1);
        assert_eq!(b.credits_since(hour_of(&t0)), 3);
        assert!(b.is_within(Some(&t1)));
    }
}
