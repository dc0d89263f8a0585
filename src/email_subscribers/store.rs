//! The `email_subscribers` rows.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::model::{EmailState, EmailSubscriberRow};

/// A statement that yields whole subscriber rows, checked at compile time: `$before` and
/// `$after` go either side of the column list.
macro_rules! email_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            EmailSubscriberRow,
            $before
                + r#"id, email, state AS "state: EmailState", component_ids, confirm_sent_at,
                     confirm_expires_at, confirmed_at, bounced_at, bounce_reason, source,
                     created_at, updated_at "#
                + $after
            $(, $arg)*
        )
    };
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<EmailSubscriberRow>> {
    email_rows!("SELECT ", "FROM email_subscribers WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// The subscriber of an address (any case), locked for a change.
pub async fn lock_by_email(
    conn: &mut PgConnection,
    email_key: &str,
) -> sqlx::Result<Option<EmailSubscriberRow>> {
    email_rows!(
        "SELECT ",
        "FROM email_subscribers WHERE email_key = $1 FOR UPDATE",
        email_key
    )
    .fetch_optional(conn)
    .await
}

pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<EmailSubscriberRow>> {
    email_rows!(
        "SELECT ",
        "FROM email_subscribers WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

/// A page of subscribers, newest first, optionally in one state or matching an address.
pub async fn list(
    db: impl PgExecutor<'_>,
    state: Option<EmailState>,
    search: Option<&str>,
    before: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> sqlx::Result<Vec<EmailSubscriberRow>> {
    let (before_at, before_id) = before.unzip();
    email_rows!(
        "SELECT ",
        "FROM email_subscribers
         WHERE ($1::email_subscriber_state IS NULL OR state = $1)
           AND ($2::text IS NULL OR email_key LIKE '%' || lower($2) || '%')
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC LIMIT $5",
        state as Option<EmailState>,
        search,
        before_at,
        before_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// Every subscriber, oldest first (the CSV export).
pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<EmailSubscriberRow>> {
    email_rows!("SELECT ", "FROM email_subscribers ORDER BY created_at, id")
        .fetch_all(db)
        .await
}

/// How many subscribers are in each state.
pub async fn counts(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(EmailState, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT state AS "state: EmailState", count(*) AS "count!"
           FROM email_subscribers GROUP BY state ORDER BY state"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.count)).collect())
}

pub struct NewEmailRow<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub confirmed: bool,
    pub component_ids: &'a [Uuid],
    pub source: &'a str,
    pub created_by: Option<Uuid>,
    pub created_ip: Option<&'a str>,
}

/// Insert a subscriber; `None` when the address is subscribed already.
pub async fn insert(
    conn: &mut PgConnection,
    new: NewEmailRow<'_>,
) -> sqlx::Result<Option<EmailSubscriberRow>> {
    email_rows!(
        "INSERT INTO email_subscribers (id, email, email_key, state, confirmed_at, component_ids,
                                        source, created_by, created_ip)
         VALUES ($1, $2, $3, CASE WHEN $4 THEN 'confirmed' ELSE 'unconfirmed' END::email_subscriber_state,
                 CASE WHEN $4 THEN now() END, $5, $6, $7, $8)
         ON CONFLICT (email_key) DO NOTHING RETURNING ",
        "",
        Uuid::new_v4(),
        new.email,
        new.email_key,
        new.confirmed,
        new.component_ids,
        new.source,
        new.created_by,
        new.created_ip
    )
    .fetch_optional(conn)
    .await
}

/// New confirmation links, valid until `expires`: each is signed over the time it was
/// sent, so any earlier one stops working.
pub async fn set_confirmation(
    conn: &mut PgConnection,
    ids: &[Uuid],
    expires: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE email_subscribers SET confirm_sent_at = now(), confirm_expires_at = $2,
                updated_at = now()
         WHERE id = ANY($1)",
        ids,
        expires
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Confirm (or, after a bounce, confirm again) an address; its link is used up.
pub async fn mark_confirmed(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE email_subscribers SET state = 'confirmed', confirmed_at = now(),
                confirm_expires_at = NULL, bounced_at = NULL,
                bounce_reason = NULL, updated_at = now()
         WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_components(
    conn: &mut PgConnection,
    id: Uuid,
    component_ids: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE email_subscribers SET component_ids = $2, updated_at = now() WHERE id = $1",
        id,
        component_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM email_subscribers WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forget addresses that were never confirmed in time.
pub async fn delete_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM email_subscribers WHERE state = 'unconfirmed' AND confirm_expires_at < now()"
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Count one public attempt under each of `keys` and return the highest count of the
/// last `hours` among them.
pub async fn count_attempt(conn: &mut PgConnection, key: &str, hours: i32) -> sqlx::Result<i64> {
    sqlx::query!(
        "INSERT INTO email_subscribe_attempts (key) VALUES ($1)",
        key
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM email_subscribe_attempts
           WHERE key = $1 AND at > now() - make_interval(hours => $2)"#,
        key,
        hours
    )
    .fetch_one(conn)
    .await
}

/// Forget attempts older than a day.
pub async fn prune_attempts(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done =
        sqlx::query!("DELETE FROM email_subscribe_attempts WHERE at < now() - interval '1 day'")
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}
