//! Units and the one place where rounding happens.
//!
//! Credits are whole `u64`. Rates are millicredits per token. A usage is charged
//! `ceil(total_millicredits / 1000)` credits, rounded up once per usage, here and nowhere else.

/// Whole credits, the unit a person sees.
pub type Credits = u64;

/// Thousandths of a credit; only used before the single rounding step.
pub type Millicredits = u128;

/// Largest debit or hold, in credits (SPEC §4: 1 ..= 1,000,000,000,000).
pub const CREDITS_PER_EVENT_MAX: Credits = 1_000_000_000_000;

/// Largest token count in one token field (SPEC §4: 0 ..= 100,000,000).
pub const TOKENS_PER_FIELD_MAX: u64 = 100_000_000;

const MILLICREDITS_PER_CREDIT: u128 = 1000;

/// Integer division rounding up: the only rounding policy in ledger math.
fn div_ceil(numerator: u128, denominator: u128) -> u128 {
    debug_assert!(denominator > 0);
    numerator.div_ceil(denominator)
}

/// Credits charged for a usage: millicredits rounded up to the next whole credit.
pub fn credits_from_millicredits(total: Millicredits) -> Credits {
    saturate(div_ceil(total, MILLICREDITS_PER_CREDIT))
}

/// Would-be AI cost in micro-dollars (millionths of a US dollar), rounded up like credits.
pub fn usd_micros_from_millicredits(total: Millicredits, credits_per_usd: u64) -> u64 {
    // millicredits / (credits_per_usd * 1000) dollars = millicredits * 1000 / credits_per_usd µ$.
    saturate(div_ceil(
        total.saturating_mul(1000),
        u128::from(credits_per_usd.max(1)),
    ))
}

fn saturate(value: u128) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_once_per_usage() {
        // Proves a fraction of a credit costs a whole credit and exact multiples are not bumped.
        assert_eq!(credits_from_millicredits(0), 0);
        assert_eq!(credits_from_millicredits(1), 1);
        assert_eq!(credits_from_millicredits(1000), 1);
        assert_eq!(credits_from_millicredits(1001), 2);
        assert_eq!(credits_from_millicredits(4_860_000), 4860);
    }

    #[test]
    fn usd_micros_follow_the_conversion() {
        // Proves 600,000 credits are one dollar: 600,000,000 millicredits = 1,000,000 µ$.
        assert_eq!(
            usd_micros_from_millicredits(600_000_000, 600_000),
            1_000_000
        );
        assert_eq!(usd_micros_from_millicredits(1, 600_000), 1);
    }
}
