//! Whose clock (SPEC §5.2): the server stamps events with its own clock, and that clock must
//! agree with the database's. [`ClockWatch`] compares the two at start and then every
//! `--clock-check-every-s`; beyond `--clock-skew-max-ms` the server refuses to write
//! (503 `clock_skew`) and says why in its log, so one wrong clock cannot move an account's
//! time forward for good. It writes again once the clocks agree.
//!
//! `AI_CREDITS_TEST_CLOCK_SHIFT_MS` shifts this server's clock by that many milliseconds: a
//! test-only setting that stands in for a machine whose clock is wrong.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use crate::error::{ApiError, ErrorCode};
use crate::store::Db;

/// The test-only shift of the server's clock, read once.
fn shift_ms() -> i64 {
    static SHIFT: OnceLock<i64> = OnceLock::new();
    *SHIFT.get_or_init(|| {
        std::env::var("AI_CREDITS_TEST_CLOCK_SHIFT_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    })
}

/// The server's clock, to the millisecond (sub-millisecond digits would only clutter output).
pub fn clock() -> DateTime<Utc> {
    let now = Utc::now();
    let millis = now.timestamp_millis().saturating_add(shift_ms());
    DateTime::from_timestamp_millis(millis).unwrap_or(now)
}

/// Whether this server's clock agrees with the database's.
pub struct ClockWatch {
    bound_ms: i64,
    skewed: AtomicBool,
    /// The last difference measured, server minus database, in milliseconds.
    skew_ms: AtomicI64,
}

impl ClockWatch {
    pub fn new(bound: Duration) -> ClockWatch {
        ClockWatch {
            bound_ms: i64::try_from(bound.as_millis()).unwrap_or(i64::MAX),
            skewed: AtomicBool::new(false),
            skew_ms: AtomicI64::new(0),
        }
    }

    /// Writes are refused while the clocks disagree.
    pub fn check(&self) -> Result<(), ApiError> {
        if !self.skewed.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ClockSkew,
            format!(
                "this server's clock differs from the database's by {} ms (more than {} ms), so it writes nothing until they agree; retry on another server or later",
                self.skew_ms.load(Ordering::Relaxed),
                self.bound_ms
            ),
        ))
    }

    /// Measures the difference once: the database's clock against the middle of the round
    /// trip. A database that cannot be asked changes nothing (its own errors say enough).
    pub async fn measure(&self, db: &Db) {
        let before = clock();
        let Ok(theirs) = db.clock().await else {
            return;
        };
        let after = clock();
        let middle = before + (after - before) / 2;
        let skew_ms = (middle - theirs).num_milliseconds();
        self.skew_ms.store(skew_ms, Ordering::Relaxed);
        let skewed = skew_ms.abs() > self.bound_ms;
        let was = self.skewed.swap(skewed, Ordering::Relaxed);
        if skewed {
            tracing::error!(
                skew_ms,
                bound_ms = self.bound_ms,
                server = %before,
                database = %theirs,
                "clock_skew: this server's clock differs from the database's; refusing writes until they agree (fix the machine's time, e.g. NTP)"
            );
        } else if was {
            tracing::warn!(skew_ms, "clocks agree again: writing");
        }
    }

    /// Measures now and then every `every`, until the runtime stops.
    pub fn start(self: &std::sync::Arc<Self>, db: Db, every: Duration) {
        let watch = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
            tick.tick().await;
            loop {
                tick.tick().await;
                watch.measure(&db).await;
            }
        });
    }
}
