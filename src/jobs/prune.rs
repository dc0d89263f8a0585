//! Housekeeping: forget expired sessions, old sign-in attempts, old finished jobs and
//! webhook deliveries finished more than 30 days ago.

use serde_json::Value;

use super::{HandlerFuture, JobContext, JobError};
use crate::db;

pub const KIND: &str = "prune_expired";

pub fn prune_expired(ctx: JobContext, _payload: Value) -> HandlerFuture {
    Box::pin(async move {
        let sessions = db::sessions::prune(&ctx.pool, ctx.session_idle).await?;
        let attempts = db::login_attempts::prune(&ctx.pool).await?;
        let jobs = super::queue::prune_finished(&ctx.pool, time::Duration::days(14)).await?;
        let deliveries = db::subscribers::prune(&ctx.pool, time::Duration::days(30)).await?;
        tracing::info!(sessions, attempts, jobs, deliveries, "pruned expired rows");
        Ok::<(), JobError>(())
    })
}
