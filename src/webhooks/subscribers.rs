//! Webhook subscribers: who gets messages, about what, and whether they are active.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::webhooks::deliveries::{fail_pending, wake};
use crate::webhooks::SubscriberState;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriberRow {
    pub id: Uuid,
    pub url: String,
    pub destination: String,
    pub description: String,
    pub component_ids: Vec<Uuid>,
    pub secret: String,
    pub state: SubscriberState,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<OffsetDateTime>,
    pub failing_since: Option<OffsetDateTime>,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_success_at: Option<OffsetDateTime>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A statement that yields whole subscriber rows, checked at compile time: `$before`
/// and `$after` go either side of the column list (`"SELECT "`, `"FROM ..."`, or an
/// `INSERT`/`UPDATE` ending in `"RETURNING "`).
macro_rules! subscriber_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            SubscriberRow,
            $before
                + r#"id, url, destination, description, component_ids, secret,
                     state AS "state: SubscriberState", disabled_reason, disabled_at,
                     failing_since, last_attempt_at, last_status, last_error, last_success_at,
                     created_by, version, created_at, updated_at "#
                + $after
            $(, $arg)*
        )
    };
}

pub struct NewSubscriber<'a> {
    pub url: &'a str,
    pub destination: &'a str,
    pub description: &'a str,
    pub component_ids: &'a [Uuid],
    pub secret: &'a str,
    pub created_by: Option<Uuid>,
    pub created_ip: Option<&'a str>,
}

/// Insert a subscriber; `Ok(None)` when the URL is already subscribed.
pub async fn insert(
    db: impl PgExecutor<'_>,
    new: NewSubscriber<'_>,
) -> sqlx::Result<Option<SubscriberRow>> {
    subscriber_rows!(
        "INSERT INTO subscribers (id, url, destination, description, component_ids, secret, \
             created_by, created_ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (url) DO NOTHING RETURNING ",
        "",
        Uuid::new_v4(),
        new.url,
        new.destination,
        new.description,
        new.component_ids,
        new.secret,
        new.created_by,
        new.created_ip
    )
    .fetch_optional(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<SubscriberRow>> {
    subscriber_rows!("SELECT ", "FROM subscribers WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<SubscriberRow>> {
    subscriber_rows!("SELECT ", "FROM subscribers WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await
}

/// Subscribers, newest first, after the cursor `(created_at, id)`.
pub async fn list(
    db: impl PgExecutor<'_>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<SubscriberRow>> {
    let (at, id) = after.unzip();
    subscriber_rows!(
        "SELECT ",
        "FROM subscribers WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2::uuid) \
         ORDER BY created_at DESC, id DESC LIMIT $3",
        at,
        id,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM subscribers WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Change the description and component choice.
pub async fn update_details(
    conn: &mut PgConnection,
    id: Uuid,
    description: &str,
    component_ids: &[Uuid],
) -> sqlx::Result<SubscriberRow> {
    subscriber_rows!(
        "UPDATE subscribers SET description = $2, component_ids = $3, version = version + 1, \
             updated_at = now() WHERE id = $1 RETURNING ",
        "",
        id,
        description,
        component_ids
    )
    .fetch_one(conn)
    .await
}

/// Pause, resume, re-enable or disable. Pausing holds what is pending (due at
/// NULL, which is never due); resuming makes it due now; disabling fails it.
pub async fn set_state(
    conn: &mut PgConnection,
    id: Uuid,
    state: SubscriberState,
    reason: Option<&str>,
) -> sqlx::Result<SubscriberRow> {
    let row = subscriber_rows!(
        "UPDATE subscribers SET state = $2::subscriber_state, version = version + 1, \
             updated_at = now(), \
             disabled_reason = CASE WHEN $2::subscriber_state = 'disabled' THEN $3 END, \
             disabled_at = CASE WHEN $2::subscriber_state = 'disabled' THEN now() END, \
             failing_since = CASE WHEN $2::subscriber_state = 'disabled' THEN failing_since END \
         WHERE id = $1 RETURNING ",
        "",
        id,
        state as SubscriberState,
        reason
    )
    .fetch_one(&mut *conn)
    .await?;
    match state {
        SubscriberState::Disabled => fail_pending(&mut *conn, &[id]).await?,
        SubscriberState::Active => {
            sqlx::query!(
                "UPDATE deliveries SET next_attempt_at = now() \
                 WHERE subscriber_id = $1 AND state = 'pending' AND next_attempt_at IS NULL",
                id
            )
            .execute(&mut *conn)
            .await?;
            wake(&mut *conn).await?;
        }
        SubscriberState::Paused => {
            sqlx::query!(
                "UPDATE deliveries SET next_attempt_at = NULL \
                 WHERE subscriber_id = $1 AND state = 'pending'",
                id
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(row)
}

/// Count a public subscribe attempt from `ip`; returns the attempts in the last hour,
/// this one included.
pub async fn count_subscribe_attempt(conn: &mut PgConnection, ip: &str) -> sqlx::Result<i64> {
    // One address's attempts are counted one at a time, so parallel requests cannot all
    // slip under the limit.
    sqlx::query!(
        "SELECT true AS locked \
         FROM pg_advisory_xact_lock(hashtextextended('fireline-subscribe:' || $1, 0))",
        ip
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("INSERT INTO subscribe_attempts (ip) VALUES ($1)", ip)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM subscribe_attempts
           WHERE ip = $1 AND at > now() - interval '1 hour'"#,
        ip
    )
    .fetch_one(conn)
    .await
}
