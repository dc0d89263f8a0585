//! The email outbox: one `email_messages` row per notice, one `email_deliveries` row per
//! recipient, written in the transaction that decides the mail must go. The mailer claims
//! due deliveries in batches and records a batch's outcomes in one statement.

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::compose::Composed;

/// The channel the mailer listens on.
pub const CHANNEL: &str = "fireline_email";

/// What a message is about, for the log.
pub struct NewMessage<'a> {
    pub kind: &'a str,
    pub subject_id: Option<Uuid>,
    /// Makes the message once only; `None`: every call makes one.
    pub dedupe_key: Option<&'a str>,
    pub composed: &'a Composed,
    pub base_url: &'a str,
}

/// Store a message; `None` when its dedupe key was used already.
async fn insert_message(
    conn: &mut PgConnection,
    message: &NewMessage<'_>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "INSERT INTO email_messages (id, kind, subject_id, dedupe_key, subject, text_body,
                                     html_body, base_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        Uuid::new_v4(),
        message.kind,
        message.subject_id,
        message.dedupe_key,
        message.composed.subject,
        message.composed.text,
        message.composed.html,
        message.base_url
    )
    .fetch_optional(conn)
    .await
}

async fn wake(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_notify($1, '')", CHANNEL)
        .execute(conn)
        .await
        .map(drop)
}

/// Whether any confirmed subscriber wants news of `components`: those who chose nothing
/// get everything, the others what overlaps their choice.
pub async fn any_interested(db: impl PgExecutor<'_>, components: &[Uuid]) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM email_subscribers WHERE state = 'confirmed'
               AND (cardinality(component_ids) = 0 OR component_ids && $1)) AS "any!""#,
        components
    )
    .fetch_one(db)
    .await
}

/// Write a message and one delivery per interested confirmed subscriber, in one
/// statement. Returns how many deliveries were written.
pub async fn fan_out(
    conn: &mut PgConnection,
    message: NewMessage<'_>,
    components: &[Uuid],
) -> sqlx::Result<u64> {
    let Some(id) = insert_message(&mut *conn, &message).await? else {
        return Ok(0);
    };
    let done = sqlx::query!(
        "INSERT INTO email_deliveries (message_id, subscriber_id)
         SELECT $1, id FROM email_subscribers WHERE state = 'confirmed'
             AND (cardinality(component_ids) = 0 OR component_ids && $2)",
        id,
        components
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() > 0 {
        wake(conn).await?;
    }
    Ok(done.rows_affected())
}

/// Write a message for the subscribers named, whatever their state (a confirmation).
pub async fn send_to(
    conn: &mut PgConnection,
    message: NewMessage<'_>,
    subscriber_ids: &[Uuid],
) -> sqlx::Result<()> {
    if subscriber_ids.is_empty() {
        return Ok(());
    }
    if let Some(id) = insert_message(&mut *conn, &message).await? {
        sqlx::query!(
            "INSERT INTO email_deliveries (message_id, subscriber_id)
             SELECT $1, unnest($2::uuid[])",
            id,
            subscriber_ids
        )
        .execute(&mut *conn)
        .await?;
        wake(conn).await?;
    }
    Ok(())
}

/// A delivery claimed for one attempt, with what the mailer needs to address it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub message_id: Uuid,
    pub subscriber_id: Uuid,
    pub email: String,
    pub confirm_sent_at: Option<OffsetDateTime>,
    pub attempts: i32,
}

/// Claim up to `limit` due deliveries for `lease`, in one statement: a worker that dies
/// leaves them due again when the lease ends. Deliveries to bounced addresses wait.
pub async fn claim(pool: &PgPool, limit: i64, lease: Duration) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as!(
        Claimed,
        "WITH picked AS (
             SELECT d.id FROM email_deliveries d JOIN email_subscribers s ON s.id = d.subscriber_id
             WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND s.state <> 'bounced'
             ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
         UPDATE email_deliveries d SET attempts = d.attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
         FROM picked, email_subscribers s
         WHERE d.id = picked.id AND s.id = d.subscriber_id
         RETURNING d.id, d.message_id, d.subscriber_id, s.email, s.confirm_sent_at, d.attempts",
        limit,
        lease.as_seconds_f64()
    )
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub base_url: String,
}

pub async fn messages(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as!(
        MessageRow,
        "SELECT id, kind, subject, text_body, html_body, base_url FROM email_messages
         WHERE id = ANY($1)",
        ids
    )
    .fetch_all(db)
    .await
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry {
        at: OffsetDateTime,
        error: String,
    },
    Failed {
        error: String,
    },
    /// The server refused the address for good: the subscriber is marked bounced.
    Bounced {
        error: String,
    },
    /// Not tried: the batch ran out of its lease's time. Due again at once, with its
    /// attempt not counted, before another process may take it for an expired lease.
    NotTried,
}

/// Record a batch of outcomes: the deliveries in one statement, the bounced subscribers
/// in another, in one transaction.
pub async fn record(pool: &PgPool, outcomes: &[(Claimed, Outcome)]) -> sqlx::Result<()> {
    let mut ids = Vec::with_capacity(outcomes.len());
    let mut states = Vec::with_capacity(outcomes.len());
    let mut next = Vec::with_capacity(outcomes.len());
    let mut errors = Vec::with_capacity(outcomes.len());
    let mut tried = Vec::with_capacity(outcomes.len());
    let mut bounced = Vec::new();
    let mut bounce_reasons = Vec::new();
    for (claimed, outcome) in outcomes {
        ids.push(claimed.id);
        tried.push(*outcome != Outcome::NotTried);
        let (state, at, error) = match outcome {
            Outcome::NotTried => ("pending", None, None),
            Outcome::Sent => ("sent", None, None),
            Outcome::Retry { at, error } => ("pending", Some(*at), Some(error.clone())),
            Outcome::Failed { error } => ("failed", None, Some(error.clone())),
            Outcome::Bounced { error } => {
                bounced.push(claimed.subscriber_id);
                bounce_reasons.push(error.clone());
                ("failed", None, Some(error.clone()))
            }
        };
        states.push(state.to_owned());
        next.push(at.unwrap_or_else(OffsetDateTime::now_utc));
        errors.push(error.map(|e| e.chars().take(1000).collect::<String>()));
    }
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE email_deliveries d SET state = o.state::email_delivery_state,
                next_attempt_at = o.next_at,
                last_error = CASE WHEN o.tried THEN o.error ELSE d.last_error END,
                attempts = d.attempts - CASE WHEN o.tried THEN 0 ELSE 1 END,
                sent_at = CASE WHEN o.state = 'sent' THEN now() END
         FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::bool[])
             AS o(id, state, next_at, error, tried)
         WHERE d.id = o.id",
        &ids,
        &states,
        &next,
        &errors as &[Option<String>],
        &tried
    )
    .execute(&mut *tx)
    .await?;
    if !bounced.is_empty() {
        sqlx::query!(
            "UPDATE email_subscribers s SET state = 'bounced', bounced_at = now(),
                    bounce_reason = b.reason, updated_at = now()
             FROM unnest($1::uuid[], $2::text[]) AS b(id, reason)
             WHERE s.id = b.id",
            &bounced,
            &bounce_reasons
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// How the deliveries stand, for the admin page.
pub async fn counts(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT state::text AS "state!", count(*) AS "count!" FROM email_deliveries
           GROUP BY state ORDER BY state"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.count)).collect())
}

/// Forget deliveries finished more than `age` ago, and messages with none left.
pub async fn prune(db: &PgPool, age: Duration) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM email_deliveries WHERE state <> 'pending'
             AND created_at < now() - make_interval(secs => $1)",
        age.as_seconds_f64()
    )
    .execute(db)
    .await?;
    sqlx::query!(
        "DELETE FROM email_messages m WHERE created_at < now() - make_interval(secs => $1)
             AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.message_id = m.id)",
        age.as_seconds_f64()
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
