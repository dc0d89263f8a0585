//! Housekeeping: forget expired sessions, old sign-in attempts, old finished jobs and
//! webhook deliveries finished and domain events applied more than 30 days ago, and
//! alert deliveries that failed for good more than 7 days ago; check results older than a
//! week (their hourly roll-ups after 90 days) and each heartbeat's pings beyond its latest
//! 1,000; email deliveries finished more than 30 days ago, and email addresses never
//! confirmed in time.

use crate::accounts::login_attempts;
use crate::accounts::sessions;
use crate::webhooks::deliveries;
use serde_json::Value;

use crate::platform::jobs::{HandlerFuture, JobContext, JobError};

pub const KIND: &str = "prune_expired";

pub fn prune_expired(ctx: JobContext, _payload: Value) -> HandlerFuture {
    Box::pin(async move {
        let sessions = sessions::prune(&ctx.pool, ctx.session_idle).await?;
        let attempts = login_attempts::prune(&ctx.pool).await?;
        let jobs =
            crate::platform::jobs::queue::prune_finished(&ctx.pool, time::Duration::days(14))
                .await?;
        let deliveries = deliveries::prune(&ctx.pool, time::Duration::days(30)).await?;
        let events =
            crate::platform::events::prune_applied(&ctx.pool, time::Duration::days(30)).await?;
        let alert_deliveries =
            crate::alerts::queue::prune_failed(&ctx.pool, crate::alerts::queue::FAILED_KEPT)
                .await?;
        let check_results = crate::monitors::history::prune(
            &ctx.pool,
            crate::monitors::runner::RESULTS_KEPT,
            crate::monitors::runner::HOURS_KEPT,
        )
        .await?;
        let pings =
            crate::monitors::pings::prune(&ctx.pool, crate::monitors::pings::KEPT_PER_HEARTBEAT)
                .await?;
        let emails =
            crate::email_subscribers::outbox::prune(&ctx.pool, time::Duration::days(30)).await?;
        let unconfirmed = crate::email_subscribers::store::delete_expired(&ctx.pool).await?;
        crate::email_subscribers::store::prune_attempts(&ctx.pool).await?;
        tracing::info!(
            emails,
            unconfirmed,
            check_results,
            pings,
            sessions,
            attempts,
            jobs,
            deliveries,
            events,
            alert_deliveries,
            "pruned expired rows"
        );
        Ok::<(), JobError>(())
    })
}
