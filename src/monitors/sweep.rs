//! The heartbeats' timers: every few seconds the job runner turns the heartbeats whose
//! ping is overdue late, and those past their grace time down (raising their alert).
//! Rows are claimed `FOR UPDATE SKIP LOCKED` and every transition is guarded by the
//! state, so two processes never turn one heartbeat down twice.

use sqlx::PgPool;
use time::OffsetDateTime;

use super::heartbeats::{heartbeat_rows, set_timers, HeartbeatRow, HeartbeatState};
use crate::platform::jobs::{HandlerFuture, JobContext};

pub const SWEEP_JOB: &str = "heartbeats.sweep";
/// How often the sweep runs: a heartbeat turns late or down within this of its time.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
const BATCH: i64 = 500;

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub late: usize,
    pub down: usize,
}

/// Turn the heartbeats due by `now` late or down.
pub async fn sweep(pool: &PgPool, now: OffsetDateTime) -> sqlx::Result<Swept> {
    let mut swept = Swept::default();
    loop {
        let mut tx = pool.begin().await?;
        let due: Vec<HeartbeatRow> = heartbeat_rows!(
            "SELECT ",
            "FROM heartbeats WHERE state IN ('up', 'late', 'new') \
               AND least(late_at, down_at) <= $1 \
             ORDER BY least(late_at, down_at) LIMIT $2 FOR UPDATE SKIP LOCKED",
            now,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        let n = due.len();
        for hb in due {
            if hb.down_at.is_some_and(|d| d <= now) {
                let why = match (hb.started_at, hb.last_ping_at) {
                    (Some(started), _) => format!(
                        "A run started at {} and did not finish within its grace time.",
                        crate::platform::time::format_utc(started)
                    ),
                    (None, Some(last)) => {
                        format!("No ping since {}.", crate::platform::time::format_utc(last))
                    }
                    (None, None) => "No ping yet.".to_owned(),
                };
                set_timers(&mut tx, hb.id, HeartbeatState::Down, None, None).await?;
                super::alerting::raise(&mut tx, &hb, why, now).await?;
                swept.down += 1;
            } else if hb.state == HeartbeatState::Up {
                set_timers(&mut tx, hb.id, HeartbeatState::Late, None, hb.down_at).await?;
                swept.late += 1;
            } else {
                // Late already (or a new one with a run started): down comes later.
                sqlx::query!("UPDATE heartbeats SET late_at = NULL WHERE id = $1", hb.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        if n < BATCH as usize {
            return Ok(swept);
        }
    }
}

/// The `heartbeats.sweep` job, run by the runner every [`SWEEP_EVERY`].
pub fn sweep_job(ctx: JobContext, _payload: serde_json::Value) -> HandlerFuture {
    Box::pin(async move {
        sweep(&ctx.pool, OffsetDateTime::now_utc()).await?;
        Ok(())
    })
}
