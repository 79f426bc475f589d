//! Billing cycles: cycle k is `[anchor + k months, anchor + (k+1) months)`, always counted from
//! the anchor, never chained from the previous cycle.

use serde::Serialize;

use crate::time::{Instant, add_months, month_distance};

/// One billing cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cycle {
    /// Months since the anchor (negative before it).
    #[serde(skip)]
    pub index: i64,
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub start: Instant,
    #[serde(serialize_with = "crate::report::ser_instant")]
    pub end: Instant,
}

impl Cycle {
    /// Cycle number `index` of `anchor`, or `None` outside the representable range.
    pub fn nth(anchor: &Instant, index: i64) -> Option<Cycle> {
        Some(Cycle {
            index,
            start: add_months(anchor, index)?,
            end: add_months(anchor, index.checked_add(1)?)?,
        })
    }

    /// The cycle of `anchor` that contains `t`.
    pub fn containing(anchor: &Instant, t: &Instant) -> Option<Cycle> {
        let mut cycle = Cycle::nth(anchor, month_distance(anchor, t))?;
        // The month distance is off by at most one either way (day of month, time of day).
        while cycle.start > *t {
            cycle = Cycle::nth(anchor, cycle.index - 1)?;
        }
        while cycle.end <= *t {
            cycle = Cycle::nth(anchor, cycle.index + 1)?;
        }
        Some(cycle)
    }

    pub fn contains(&self, t: &Instant) -> bool {
        self.start <= *t && *t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn t(s: &str) -> Instant {
        parse_instant(s).expect("valid test instant")
    }

    #[test]
    fn month_end_anchor_is_never_chained() {
        // Proves an anchor of Jan 31 gives Feb 28 then Mar 31, not Mar 28.
        let anchor = t("2026-01-31T09:00:00Z");
        let feb = Cycle::containing(&anchor, &t("2026-03-01T00:00:00Z")).unwrap();
        assert_eq!(
            (feb.start, feb.end),
            (t("2026-02-28T09:00:00Z"), t("2026-03-31T09:00:00Z"))
        );
        assert_eq!(feb.index, 1);
    }

    #[test]
    fn boundary_instant_belongs_to_the_next_cycle() {
        // Proves cycles are half-open: the start instant is in the new cycle.
        let anchor = t("2026-01-31T09:00:00Z");
        let c = Cycle::containing(&anchor, &t("2026-02-28T09:00:00Z")).unwrap();
        assert_eq!(c.index, 1);
        let before = Cycle::containing(&anchor, &t("2026-02-28T08:59:59.999Z")).unwrap();
        assert_eq!(before.index, 0);
    }

    #[test]
    fn before_the_anchor_the_index_is_negative() {
        // Proves cycles extend backwards from the anchor.
        let anchor = t("2026-03-31T09:00:00Z");
        let c = Cycle::containing(&anchor, &t("2026-03-01T00:00:00Z")).unwrap();
        assert_eq!(c.index, -1);
        assert_eq!(
            (c.start, c.end),
            (t("2026-02-28T09:00:00Z"), t("2026-03-31T09:00:00Z"))
        );
    }
}
