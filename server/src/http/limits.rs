//! Rate limits per token and per account (governor's GCRA): a sustained rate per second and
//! a burst above it, at defaults a real assistant never reaches (`serve --rate-per-token`,
//! `--burst-per-token`, `--rate-per-account`, `--burst-per-account`; 0 switches one off).
//! Past a limit the answer is 429 `rate_limited` with `Retry-After`. The platform's token is
//! not limited: it is the operator's.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// How often limiters forget keys that are back at their full burst.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The server's limiters.
#[derive(Clone, Default)]
pub struct Limits {
    per_token: Option<Arc<DefaultKeyedRateLimiter<[u8; 32]>>>,
    per_account: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    rate: u32,
    burst: u32,
) -> Option<Arc<DefaultKeyedRateLimiter<K>>> {
    let rate = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(burst.max(rate.get())).unwrap_or(rate);
    Some(Arc::new(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    )))
}

impl Limits {
    pub fn new(rate_token: u32, burst_token: u32, rate_account: u32, burst_account: u32) -> Limits {
        Limits {
            per_token: limiter(rate_token, burst_token),
            per_account: limiter(rate_account, burst_account),
        }
    }

    /// Forgets idle keys now and then, so the limiters' memory follows the callers of the
    /// last minute, not every token ever seen. Runs until the runtime stops.
    pub fn start_forgetting(&self) {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FORGET_EVERY);
            loop {
                tick.tick().await;
                if let Some(l) = &limits.per_token {
                    l.retain_recent();
                    l.shrink_to_fit();
                }
                if let Some(l) = &limits.per_account {
                    l.retain_recent();
                    l.shrink_to_fit();
                }
            }
        });
    }

    /// Counts one request of the token hashing to `token` on `account`.
    pub fn check(&self, token: &[u8; 32], account: &str) -> Result<(), ApiError> {
        if let Some(l) = &self.per_token
            && let Err(not_until) = l.check_key(token)
        {
            return Err(refused(
                "this token",
                not_until.wait_time_from(DefaultClock::default().now()),
            ));
        }
        if let Some(l) = &self.per_account
            && let Err(not_until) = l.check_key(&account.to_owned())
        {
            return Err(refused(
                "this account's tokens together",
                not_until.wait_time_from(DefaultClock::default().now()),
            ));
        }
        Ok(())
    }
}

fn refused(who: &str, wait: Duration) -> ApiError {
    // Whole seconds, rounded up: a client that waits that long is let through.
    let retry_after_s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::rate_limited(
        format!("{who} made too many requests; retry after {retry_after_s} s"),
        retry_after_s.max(1),
    )
}
