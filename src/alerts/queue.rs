//! The intake queue (`alert_intake`): the front doors store each delivery here, already
//! read into Fireline's own shape, and answer once it is committed; the processor
//! (`alerts::process`) applies the rows later. The raw body is never kept: a PagerDuty
//! body carries its routing key.
//!
//! The doors store through the [`writer::IntakeWriter`], which batches the rows of
//! concurrent requests into one statement.

pub mod writer;

use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;

use super::intake::Delivery;

/// The channel a stored delivery notifies on, to wake the processors.
pub const CHANNEL: &str = "fireline_alert_intake";

/// The version of the stored shape: a row written by an older build is still read.
const STORED_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StoredDelivery {
    v: u32,
    delivery: Delivery,
}

/// Store one delivery in the caller's transaction, waking the processors at commit:
/// Fireline's own monitors raise their alerts so, with the change that raised them or not
/// at all.
pub async fn store(
    conn: &mut sqlx::PgConnection,
    integration_id: uuid::Uuid,
    delivery: &Delivery,
) -> sqlx::Result<()> {
    let stored = encode(delivery).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let fingerprints: Vec<String> = delivery
        .fingerprints()
        .into_iter()
        .map(str::to_owned)
        .collect();
    sqlx::query!(
        "INSERT INTO alert_intake (integration_id, format, group_key, delivery, digest, \
             fingerprints) \
         VALUES ($1, ($2::text)::alert_format, $3, $4, $5, $6)",
        integration_id,
        delivery.format.as_str(),
        delivery.group_key,
        stored,
        &delivery.digest()[..],
        &fingerprints
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT pg_notify($1, '')", CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// The delivery as stored.
pub fn encode(delivery: &Delivery) -> serde_json::Result<String> {
    serde_json::to_string(&StoredDelivery {
        v: STORED_VERSION,
        delivery: delivery.clone(),
    })
}

/// A stored delivery, read back.
pub fn decode(stored: &str) -> anyhow::Result<Delivery> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let Version { v } = serde_json::from_str(stored)?;
    anyhow::ensure!(
        v == STORED_VERSION,
        "a stored delivery of version {v} cannot be read by this build"
    );
    let stored: StoredDelivery = serde_json::from_str(stored)?;
    Ok(stored.delivery)
}

/// How many deliveries wait for the processor (pending, retries included).
pub async fn backlog(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM alert_intake WHERE state = 'pending'"#)
        .fetch_one(db)
        .await
}

/// How long a delivery that failed for good is kept for people to look at.
pub const FAILED_KEPT: time::Duration = time::Duration::days(7);

/// A delivery the processor gave up on, as its integration's page shows it.
pub struct FailedDelivery {
    pub id: i64,
    pub received_at: time::OffsetDateTime,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub group_key: String,
    /// The delivery as stored (Fireline's reading of what was sent, not the raw body).
    pub stored: String,
}

impl FailedDelivery {
    /// The group title it carried, when this build can read it.
    pub fn title(&self) -> Option<String> {
        decode(&self.stored).ok().map(|d| d.title)
    }
}

/// The newest deliveries of `integration_id` that failed for good, at most `limit`.
pub async fn failed_of(
    db: impl PgExecutor<'_>,
    integration_id: uuid::Uuid,
    limit: i64,
) -> sqlx::Result<Vec<FailedDelivery>> {
    sqlx::query_as!(
        FailedDelivery,
        "SELECT id, received_at, attempts, last_error, group_key, delivery AS stored \
         FROM alert_intake WHERE integration_id = $1 AND state = 'failed' \
         ORDER BY id DESC LIMIT $2",
        integration_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// How many deliveries of `integration_id` wait to be applied (retries included).
pub async fn waiting_of(db: impl PgExecutor<'_>, integration_id: uuid::Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM alert_intake
           WHERE integration_id = $1 AND state = 'pending'"#,
        integration_id
    )
    .fetch_one(db)
    .await
}

/// Vacuum the queue (outside any transaction): its rows live for milliseconds. When
/// another process is vacuuming it, this one skips instead of waiting.
pub async fn vacuum(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::raw_sql("VACUUM (SKIP_LOCKED) alert_intake")
        .execute(pool)
        .await
        .map(|_| ())
}

/// Forget deliveries that failed for good more than `age` ago.
pub async fn prune_failed(db: impl PgExecutor<'_>, age: time::Duration) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM alert_intake WHERE state = 'failed' \
         AND received_at < now() - make_interval(secs => $1)",
        age.as_seconds_f64()
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
