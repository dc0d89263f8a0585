//! The processor: applies the deliveries the front doors queued, group by group.
//!
//! Safe with any number of processes on one database: a group is applied only under its
//! advisory lock (`pg_try_advisory_xact_lock`; a group locked elsewhere is skipped this
//! round), its pending rows are read again after the lock is taken and applied in id
//! order, each in a savepoint, and the applied rows are deleted in the same transaction.
//! So no row is applied twice or out of order, and the unique index of open groups backs
//! this up. A row that fails is retried with backoff while the rows after it wait; after
//! [`MAX_ATTEMPTS`] it is marked failed (kept, never lost) and the rest go on.
//! Routing rules are read once per round, for all the groups it applies.

use std::time::Duration;

use rand::Rng;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::integrations::{self, IntegrationRow};
use super::routing::{self, CompiledRules};
use super::{grouping, queue};
use crate::platform::live::Wakeup;

/// The channel notified after a round applied something (live views of alerts).
pub const APPLIED_CHANNEL: &str = crate::platform::live::ALERTS;
/// How often queued deliveries are looked for without a notification (retries, a
/// notification missed while the listener reconnected).
const TICK: Duration = Duration::from_secs(1);
/// A delivery that failed this often is marked failed.
pub const MAX_ATTEMPTS: i32 = 10;
/// How many groups one round looks at.
const ROUND_GROUPS: i64 = 200;

/// What one or more rounds did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Deliveries applied (and removed from the queue).
    pub applied: u64,
    /// Deliveries that failed this time (retried later, or marked failed).
    pub failed: u64,
    /// Groups left alone because another process held them.
    pub busy: u64,
}

impl std::ops::AddAssign for Report {
    fn add_assign(&mut self, other: Report) {
        self.applied += other.applied;
        self.failed += other.failed;
        self.busy += other.busy;
    }
}

/// Apply queued deliveries until none is due that this process can take.
pub async fn apply_pending(pool: &PgPool) -> sqlx::Result<Report> {
    let mut total = Report::default();
    loop {
        let round = round(pool).await?;
        total += round;
        if round.applied == 0 && round.failed == 0 {
            return Ok(total);
        }
    }
}

/// One pass over the groups with due deliveries, oldest first.
async fn round(pool: &PgPool) -> sqlx::Result<Report> {
    let due = sqlx::query!(
        r#"SELECT integration_id AS "integration_id!", group_key AS "group_key!"
           FROM alert_intake WHERE state = 'pending' AND next_attempt_at <= now()
           GROUP BY integration_id, group_key ORDER BY min(id) LIMIT $1"#,
        ROUND_GROUPS
    )
    .fetch_all(pool)
    .await?;
    let mut report = Report::default();
    if due.is_empty() {
        return Ok(report);
    }
    // Read once per round: a rule saved meanwhile routes from the next round on.
    let rules = routing::store::load_enabled(pool).await?;
    for group in due {
        report += apply_group(pool, &rules, group.integration_id, &group.group_key).await?;
    }
    if report.applied > 0 {
        sqlx::query!("SELECT pg_notify($1, '')", APPLIED_CHANNEL)
            .execute(pool)
            .await?;
    }
    Ok(report)
}

/// Apply the pending deliveries of one group, in order, under its lock.
#[tracing::instrument(skip_all, fields(integration_id = %integration_id))]
async fn apply_group(
    pool: &PgPool,
    rules: &CompiledRules,
    integration_id: Uuid,
    group_key: &str,
) -> sqlx::Result<Report> {
    let mut tx = pool.begin().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtext('fireline_alert_group'),
                                            hashtext($1::text || ':' || $2)) AS "locked!""#,
        integration_id.to_string(),
        group_key
    )
    .fetch_one(&mut *tx)
    .await?;
    if !locked {
        return Ok(Report {
            busy: 1,
            ..Report::default()
        });
    }
    // Read after the lock: what another process applied meanwhile is gone.
    let rows = sqlx::query!(
        r#"SELECT id, delivery, received_at, attempts, next_attempt_at <= now() AS "due!"
           FROM alert_intake
           WHERE integration_id = $1 AND group_key = $2 AND state = 'pending'
           ORDER BY id FOR UPDATE"#,
        integration_id,
        group_key
    )
    .fetch_all(&mut *tx)
    .await?;
    let Some(integration) = integrations::find(&mut *tx, integration_id).await? else {
        return Ok(Report::default());
    };
    let mut report = Report::default();
    let mut applied = Vec::new();
    let mut last_received = None;
    for row in rows {
        if !row.due {
            break;
        }
        sqlx::query!("SAVEPOINT intake").execute(&mut *tx).await?;
        match apply_one(&mut tx, &integration, rules, row.received_at, &row.delivery).await {
            Ok(outcome) => {
                tracing::debug!(
                    intake_id = row.id,
                    outcome = outcome.as_str(),
                    "applied a delivery"
                );
                applied.push(row.id);
                last_received = Some(row.received_at);
            }
            Err(err) => {
                sqlx::query!("ROLLBACK TO SAVEPOINT intake")
                    .execute(&mut *tx)
                    .await?;
                report.failed += 1;
                let gave_up = put_back(&mut tx, row.id, row.attempts + 1, &err).await?;
                if !gave_up {
                    // The rows after it wait, so the group's order holds.
                    break;
                }
            }
        }
    }
    sqlx::query!("DELETE FROM alert_intake WHERE id = ANY($1)", &applied)
        .execute(&mut *tx)
        .await?;
    if let Some(at) = last_received {
        integrations::touch(&mut *tx, integration_id, at).await?;
    }
    tx.commit().await?;
    report.applied = applied.len() as u64;
    Ok(report)
}

async fn apply_one(
    conn: &mut PgConnection,
    integration: &IntegrationRow,
    rules: &CompiledRules,
    received_at: time::OffsetDateTime,
    stored: &str,
) -> anyhow::Result<grouping::Outcome> {
    let delivery = queue::decode(stored)?;
    Ok(grouping::apply(conn, integration, rules, received_at, &delivery).await?)
}

/// Record a failed attempt: later again with backoff, or failed for good after the last
/// attempt (returns whether it gave up).
async fn put_back(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    err: &anyhow::Error,
) -> sqlx::Result<bool> {
    let gave_up = attempts >= MAX_ATTEMPTS;
    let jitter: f64 = rand::thread_rng().gen_range(0.0..1.0);
    let delay = 2_f64.powi(attempts.min(9)) + jitter;
    let error = format!("{err:#}");
    sqlx::query!(
        "UPDATE alert_intake SET attempts = $2, last_error = $3, \
             next_attempt_at = now() + make_interval(secs => $4), \
             state = CASE WHEN $5 THEN 'failed'::intake_state ELSE state END \
         WHERE id = $1",
        id,
        attempts,
        error,
        delay,
        gave_up
    )
    .execute(conn)
    .await?;
    if gave_up {
        tracing::error!(
            intake_id = id,
            attempts,
            error,
            "gave up on an alert delivery; it is kept as failed"
        );
    } else {
        tracing::warn!(
            intake_id = id,
            attempts,
            error,
            "applying an alert delivery failed; retrying later"
        );
    }
    Ok(gave_up)
}

/// Applies queued deliveries as they arrive, until shutdown.
pub struct Processor {
    pool: PgPool,
}

impl Processor {
    pub fn new(pool: PgPool) -> Self {
        Processor { pool }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut wakeup = Wakeup::new(self.pool.clone(), queue::CHANNEL);
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            if let Err(err) = apply_pending(&self.pool).await {
                tracing::warn!(error = %err, "applying alert deliveries failed");
            }
            if !wakeup.wait(TICK, &shutdown).await {
                return;
            }
        }
    }
}
