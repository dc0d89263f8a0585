//! The stream of domain events and the machinery that hands each one to every durable
//! consumer exactly once.
//!
//! A command calls [`record`] inside its own transaction; a trigger gives the event one
//! pending row per consumer in `event_consumptions` in that same transaction, and
//! notifies `fireline_domain_events` on commit. [`apply_pending`] takes the oldest pending
//! row of one consumer, runs the consumer on the event and marks the row applied, all in
//! one transaction: a crash before the commit leaves the row pending (it is applied after
//! the restart), and the row lock plus the `applied_at IS NULL` check keep a second
//! process from applying it again. A consumer's work must therefore be database writes
//! in the connection it is given (the webhook fan-out writes deliveries; paging, chat and
//! email write their outbox rows the same way).
//!
//! Events of one consumer are applied in the order they were recorded, one process at a
//! time (an advisory lock per consumer); an event whose consumer fails is retried with
//! backoff and does not hold up the ones after it.

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::live::Wakeup;

/// The channel the trigger notifies on commit of a new event.
pub const CHANNEL: &str = "fireline_domain_events";
/// How often pending events are looked for without a notification (retries, missed
/// notifications while the listener reconnected).
const POLL: Duration = Duration::from_secs(5);
/// Events retried this often and still failing are left alone (and logged).
const MAX_ATTEMPTS: i32 = 20;

/// An event as stored: `kind` is its dotted name (`incident.update_posted`), `payload`
/// the whole serialized event.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    pub occurred_at: OffsetDateTime,
}

/// Record `event` (serialized with a `"type"` tag holding its dotted name) in the
/// caller's transaction.
pub async fn record<E: Serialize>(conn: &mut PgConnection, event: &E) -> sqlx::Result<i64> {
    let payload = serde_json::to_value(event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let kind = payload
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let id = sqlx::query_scalar!(
        "INSERT INTO domain_events (kind, payload) VALUES ($1, $2) RETURNING id",
        kind,
        payload
    )
    .fetch_one(&mut *conn)
    .await?;
    tracing::debug!(event_id = id, kind, "recorded a domain event");
    Ok(id)
}

/// Something that reacts to domain events with database writes.
pub trait Consumer: Send + Sync {
    /// The consumer's row in `event_consumers` (added by the migration that brings it).
    fn name(&self) -> &'static str;

    /// Apply one event inside the transaction `conn`. Events it has no interest in are
    /// simply `Ok`.
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a StoredEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Apply one consumer's pending events until none is due; returns how many were applied.
pub async fn apply_pending(pool: &PgPool, consumer: &dyn Consumer) -> sqlx::Result<u64> {
    let mut applied = 0;
    while let Some(done) = apply_next(pool, consumer).await? {
        applied += u64::from(done);
    }
    Ok(applied)
}

/// `None` when nothing is due; `Some(true)` when an event was applied, `Some(false)` when
/// its consumer failed (and it was put back for later).
#[tracing::instrument(skip_all, fields(consumer = consumer.name()))]
async fn apply_next(pool: &PgPool, consumer: &dyn Consumer) -> sqlx::Result<Option<bool>> {
    let name = consumer.name();
    let mut tx = pool.begin().await?;
    // One process at a time per consumer, so events are applied in order.
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('fireline_consumer'), hashtext($1))",
        name
    )
    .fetch_one(&mut *tx)
    .await?;
    let Some(row) = sqlx::query!(
        r#"SELECT e.id, e.kind, e.payload, e.occurred_at, c.attempts
           FROM event_consumptions c JOIN domain_events e ON e.id = c.event_id
           WHERE c.consumer = $1 AND c.applied_at IS NULL AND c.next_attempt_at <= now()
               AND c.attempts < $2
           ORDER BY c.event_id
           LIMIT 1
           FOR UPDATE OF c"#,
        name,
        MAX_ATTEMPTS
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let event = StoredEvent {
        id: row.id,
        kind: row.kind,
        payload: row.payload,
        occurred_at: row.occurred_at,
    };
    sqlx::query!("SAVEPOINT consumer").execute(&mut *tx).await?;
    match consumer.apply(&mut tx, &event).await {
        Ok(()) => {
            sqlx::query!(
                "UPDATE event_consumptions SET applied_at = now(), attempts = attempts + 1, \
                 last_error = NULL WHERE consumer = $1 AND event_id = $2",
                name,
                event.id
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::debug!(
                event_id = event.id,
                kind = event.kind,
                "applied a domain event"
            );
            Ok(Some(true))
        }
        Err(err) => {
            sqlx::query!("ROLLBACK TO SAVEPOINT consumer")
                .execute(&mut *tx)
                .await?;
            let attempts = row.attempts + 1;
            let delay = 2_f64.powi(attempts.min(12)).min(3600.0);
            sqlx::query!(
                "UPDATE event_consumptions SET attempts = $3, last_error = $4, \
                 next_attempt_at = now() + make_interval(secs => $5) \
                 WHERE consumer = $1 AND event_id = $2",
                name,
                event.id,
                attempts,
                format!("{err:#}"),
                delay
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            let level_error = attempts >= MAX_ATTEMPTS;
            if level_error {
                tracing::error!(event_id = event.id, kind = event.kind, error = %format!("{err:#}"), attempts, "a domain event consumer gave up on an event");
            } else {
                tracing::warn!(event_id = event.id, kind = event.kind, error = %format!("{err:#}"), attempts, "a domain event consumer failed; retrying later");
            }
            Ok(Some(false))
        }
    }
}

/// Forget events every consumer applied more than `age` ago.
pub async fn prune_applied(pool: &PgPool, age: time::Duration) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM domain_events e WHERE e.occurred_at < now() - make_interval(secs => $1) \
         AND NOT EXISTS (SELECT 1 FROM event_consumptions c \
                         WHERE c.event_id = e.id AND c.applied_at IS NULL)",
        age.as_seconds_f64()
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Applies every consumer's events as they are recorded, until `shutdown`.
pub struct ConsumerRunner {
    pool: PgPool,
    consumers: Vec<Arc<dyn Consumer>>,
}

impl ConsumerRunner {
    pub fn new(pool: PgPool, consumers: Vec<Arc<dyn Consumer>>) -> Self {
        ConsumerRunner { pool, consumers }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut wakeup = Wakeup::new(self.pool.clone(), CHANNEL);
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            for consumer in &self.consumers {
                if let Err(err) = apply_pending(&self.pool, consumer.as_ref()).await {
                    tracing::warn!(consumer = consumer.name(), error = %err, "applying domain events failed");
                }
            }
            if !wakeup.wait(POLL, &shutdown).await {
                return;
            }
        }
    }
}
