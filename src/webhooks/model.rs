//! Webhook subscribers and deliveries: their states and the retry schedule.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::platform::labelled_enum;

labelled_enum!(
    /// Whether a subscriber is sent to.
    SubscriberState, "subscriber_state" {
        Active => "active", "Active";
        Paused => "paused", "Paused";
        Disabled => "disabled", "Disabled";
    }
);

labelled_enum!(
    /// Where one message to one subscriber is.
    DeliveryState, "delivery_state" {
        Pending => "pending", "Pending";
        Delivered => "delivered", "Delivered";
        Dead => "dead", "Failed for good";
    }
);

/// The waits after each failed attempt: about a day and a half in all, then the delivery
/// has failed for good (8 attempts).
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// A subscriber failing for this long, without a success, is disabled.
pub const DISABLE_AFTER: time::Duration = time::Duration::days(3);

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How long to wait after failed attempt number `attempts` (1-based), with ±20 % jitter so
/// that many deliveries failing together do not come back together; `None` after the last.
/// A `Retry-After` from the receiver replaces the schedule's wait.
pub fn retry_delay(attempts: i32, retry_after: Option<Duration>) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = *RETRY_SCHEDULE.get(index)?;
    if let Some(asked) = retry_after {
        return Some(asked.clamp(Duration::from_secs(1), MAX_RETRY_AFTER));
    }
    let factor = rand::thread_rng().gen_range(0.8..=1.2);
    Some(base.mul_f64(factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_backs_off_with_jitter_and_ends() {
        for (i, base) in RETRY_SCHEDULE.iter().enumerate() {
            let d = retry_delay(i as i32 + 1, None).expect("more attempts");
            assert!(
                d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2),
                "{i}: {d:?}"
            );
        }
        assert_eq!(retry_delay(8, None), None, "eight attempts in all");
        assert_eq!(retry_delay(0, None), None);
    }

    #[test]
    fn retry_after_replaces_the_schedule_within_limits() {
        let asked = Duration::from_secs(120);
        assert_eq!(retry_delay(1, Some(asked)), Some(asked));
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(7 * 24 * 3600))),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            retry_delay(8, Some(asked)),
            None,
            "the last attempt is the last"
        );
    }
}
