//! The outbox of webhook messages and their deliveries, claims by the dispatcher, and
//! the delivery log.

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::webhooks::DeliveryState;

/// Whether any subscriber would get a message about these components (`None`: about
/// everything, such as a test). Checked first, so nobody pays for messages nobody gets.
pub async fn any_interested(db: impl PgExecutor<'_>, components: &[Uuid]) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM subscribers WHERE state <> 'disabled'
               AND (cardinality(component_ids) = 0 OR component_ids && $1)) AS "any!""#,
        components
    )
    .fetch_one(db)
    .await
}

pub struct NewMessage<'a> {
    pub event: &'a str,
    pub subject_id: Option<Uuid>,
    /// The JSON body without `meta`.
    pub payload: &'a str,
    pub base_url: &'a str,
}

/// Write a message and one delivery for every subscriber that wants it: subscribers with
/// no component choice, and those whose choice overlaps `components`. Paused subscribers
/// get theirs when they resume. Returns the message id and the number of deliveries.
pub async fn fan_out(
    conn: &mut PgConnection,
    message: NewMessage<'_>,
    components: &[Uuid],
) -> sqlx::Result<(Uuid, u64)> {
    let id = insert_message(&mut *conn, &message).await?;
    let done = sqlx::query!(
        "INSERT INTO deliveries (message_id, subscriber_id, destination, next_attempt_at) \
         SELECT $1, id, destination, CASE WHEN state = 'paused' THEN NULL ELSE now() END \
         FROM subscribers WHERE state <> 'disabled' \
             AND (cardinality(component_ids) = 0 OR component_ids && $2)",
        id,
        components
    )
    .execute(conn)
    .await?;
    Ok((id, done.rows_affected()))
}

/// Write a message for one subscriber (a test event).
pub async fn send_to(
    conn: &mut PgConnection,
    message: NewMessage<'_>,
    subscriber_id: Uuid,
) -> sqlx::Result<Uuid> {
    let id = insert_message(&mut *conn, &message).await?;
    sqlx::query!(
        "INSERT INTO deliveries (message_id, subscriber_id, destination, next_attempt_at) \
         SELECT $1, id, destination, CASE WHEN state = 'active' THEN now() ELSE NULL END \
         FROM subscribers WHERE id = $2",
        id,
        subscriber_id
    )
    .execute(conn)
    .await?;
    Ok(id)
}

async fn insert_message(conn: &mut PgConnection, message: &NewMessage<'_>) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO webhook_messages (id, event, subject_id, payload, base_url) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        Uuid::new_v4(),
        message.event,
        message.subject_id,
        message.payload,
        message.base_url
    )
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub event: String,
    pub payload: String,
    pub base_url: String,
    pub created_at: OffsetDateTime,
}

pub async fn messages(db: impl PgExecutor<'_>, ids: &[Uuid]) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as!(
        MessageRow,
        "SELECT id, event, payload, base_url, created_at FROM webhook_messages WHERE id = ANY($1)",
        ids
    )
    .fetch_all(db)
    .await
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub message_id: Uuid,
    pub subscriber_id: Uuid,
    /// This attempt's number in the current round (1-based).
    pub attempts: i32,
    pub url: String,
    pub secret: String,
    pub destination: String,
}

/// Claim up to `limit` due deliveries of active subscribers, at most `room` per
/// destination: `busy` lists destinations with their room left (those at 0 are skipped
/// in the due index itself), the others get `per_destination`. A claim pushes the
/// delivery one `lease` ahead, so a worker that dies leaves it due again; the attempt
/// count goes up as it is claimed.
pub async fn claim(
    pool: &PgPool,
    limit: i64,
    per_destination: i64,
    busy: &[(String, i64)],
    lease: Duration,
) -> sqlx::Result<Vec<Claimed>> {
    let (names, rooms): (Vec<String>, Vec<i64>) = busy.iter().cloned().unzip();
    let full: Vec<String> = busy
        .iter()
        .filter(|(_, room)| *room <= 0)
        .map(|(name, _)| name.clone())
        .collect();
    sqlx::query_as!(
        Claimed,
        "WITH room AS (
             SELECT * FROM unnest($1::text[], $2::bigint[]) AS r(destination, room)),
         due AS (
             SELECT id, next_attempt_at, destination FROM deliveries
             WHERE state = 'pending' AND next_attempt_at <= now() AND destination <> ALL($6)
             ORDER BY next_attempt_at, id LIMIT $3::bigint * 4),
         ranked AS (
             SELECT due.id, due.next_attempt_at,
                    row_number() OVER (PARTITION BY due.destination ORDER BY due.next_attempt_at, due.id) AS n,
                    coalesce(room.room, $4) AS room
             FROM due LEFT JOIN room ON room.destination = due.destination),
         picked AS (
             SELECT id FROM ranked WHERE n <= room ORDER BY next_attempt_at, id LIMIT $3),
         locked AS (
             SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.id IN (SELECT id FROM picked)
               AND d.state = 'pending' AND d.next_attempt_at <= now() AND s.state = 'active'
             FOR UPDATE OF d SKIP LOCKED)
         UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $5), attempts = d.attempts + 1
         FROM locked, subscribers s
         WHERE d.id = locked.id AND s.id = d.subscriber_id
         RETURNING d.id, d.message_id, d.subscriber_id, d.attempts, s.url, s.secret, d.destination",
        &names,
        &rooms,
        limit,
        per_destination,
        lease.as_seconds_f64(),
        &full
    )
    .fetch_all(pool)
    .await
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    /// Failed; try again at this time.
    Retry(OffsetDateTime),
    /// Failed, and that was the last attempt.
    Failed,
    /// The endpoint answered 410 Gone: fail, and disable the subscriber.
    Gone,
}

#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub subscriber_id: Uuid,
    pub attempted_at: OffsetDateTime,
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response: Option<String>,
    pub next: Next,
}

/// Record attempts in one statement: the log, the deliveries' new state, and each
/// subscriber's last result — disabling those that answered 410 or have failed for
/// [`crate::webhooks::DISABLE_AFTER`]. Returns the subscribers disabled.
pub async fn record_attempts(pool: &PgPool, attempts: &[AttemptRecord]) -> sqlx::Result<Vec<Uuid>> {
    let mut tx = pool.begin().await?;
    let disabled = record_in(&mut tx, attempts).await?;
    if !disabled.is_empty() {
        fail_pending(&mut tx, &disabled).await?;
    }
    tx.commit().await?;
    Ok(disabled)
}

async fn record_in(conn: &mut PgConnection, attempts: &[AttemptRecord]) -> sqlx::Result<Vec<Uuid>> {
    let mut ids = Vec::with_capacity(attempts.len());
    let mut subscribers = Vec::with_capacity(attempts.len());
    let mut at = Vec::with_capacity(attempts.len());
    let mut status = Vec::with_capacity(attempts.len());
    let mut latency = Vec::with_capacity(attempts.len());
    let mut error = Vec::with_capacity(attempts.len());
    let mut response = Vec::with_capacity(attempts.len());
    let mut next = Vec::with_capacity(attempts.len());
    let mut retry_at = Vec::with_capacity(attempts.len());
    for a in attempts {
        ids.push(a.delivery_id);
        subscribers.push(a.subscriber_id);
        at.push(a.attempted_at);
        status.push(a.status);
        latency.push(a.latency_ms);
        error.push(a.error.clone());
        response.push(a.response.clone());
        let (word, when) = match a.next {
            Next::Delivered => ("delivered", None),
            Next::Retry(when) => ("retry", Some(when)),
            Next::Failed => ("failed", None),
            Next::Gone => ("gone", None),
        };
        next.push(word);
        retry_at.push(when);
    }
    sqlx::query_scalar!(
        "WITH o AS ( \
             SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::int[], $5::int[], \
                                  $6::text[], $7::text[], $8::text[], $9::timestamptz[]) \
                 AS o(delivery_id, subscriber_id, attempted_at, status, latency_ms, error, response, next, retry_at) \
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.delivery_id)), \
         logged AS ( \
             INSERT INTO delivery_attempts (delivery_id, subscriber_id, attempted_at, status, latency_ms, error, response) \
             SELECT delivery_id, subscriber_id, attempted_at, status, latency_ms, error, response FROM o), \
         moved AS ( \
             UPDATE deliveries d SET \
                 state = CASE o.next WHEN 'delivered' THEN 'delivered' WHEN 'retry' THEN 'pending' ELSE 'dead' END::delivery_state, \
                 next_attempt_at = CASE WHEN s.state = 'paused' THEN NULL \
                                        ELSE coalesce(o.retry_at, d.next_attempt_at) END, \
                 last_attempt_at = o.attempted_at, last_status = o.status, last_error = o.error, \
                 delivered_at = CASE WHEN o.next = 'delivered' THEN o.attempted_at ELSE d.delivered_at END \
             FROM o JOIN subscribers s ON s.id = o.subscriber_id \
             WHERE d.id = o.delivery_id AND d.state = 'pending'), \
         latest AS ( \
             SELECT DISTINCT ON (subscriber_id) subscriber_id, attempted_at, status, error, next \
             FROM o ORDER BY subscriber_id, attempted_at DESC), \
         gone AS ( \
             SELECT subscriber_id, max(attempted_at) AS at FROM o WHERE next = 'gone' GROUP BY subscriber_id), \
         summary AS ( \
             SELECT l.subscriber_id, l.attempted_at, l.status, l.error, l.next = 'delivered' AS ok, g.at AS gone_at \
             FROM latest l LEFT JOIN gone g USING (subscriber_id)), \
         updated AS ( \
             UPDATE subscribers s SET \
                 last_attempt_at = greatest(s.last_attempt_at, m.attempted_at), \
                 last_status = m.status, last_error = m.error, \
                 last_success_at = CASE WHEN m.ok THEN m.attempted_at ELSE s.last_success_at END, \
                 failing_since = CASE WHEN m.ok THEN NULL ELSE coalesce(s.failing_since, m.attempted_at) END, \
                 state = CASE \
                     WHEN s.state <> 'active' THEN s.state \
                     WHEN m.gone_at IS NOT NULL THEN 'disabled' \
                     WHEN NOT m.ok AND coalesce(s.failing_since, m.attempted_at) < now() - $10::interval THEN 'disabled' \
                     ELSE s.state END, \
                 disabled_at = CASE \
                     WHEN s.state = 'active' AND (m.gone_at IS NOT NULL \
                         OR (NOT m.ok AND coalesce(s.failing_since, m.attempted_at) < now() - $10::interval)) THEN now() \
                     ELSE s.disabled_at END, \
                 disabled_reason = CASE \
                     WHEN s.state <> 'active' THEN s.disabled_reason \
                     WHEN m.gone_at IS NOT NULL THEN \
                         'The endpoint answered 410 Gone at ' || to_char(m.gone_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || \
                         ' UTC, which asks senders to stop.' \
                     WHEN NOT m.ok AND coalesce(s.failing_since, m.attempted_at) < now() - $10::interval THEN \
                         'Every delivery failed for three days, since ' || \
                         to_char(coalesce(s.failing_since, m.attempted_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || \
                         ' UTC. The last attempt: ' || coalesce(m.error, 'HTTP ' || m.status::text, 'no answer') || '.' \
                     ELSE s.disabled_reason END \
             FROM summary m WHERE s.id = m.subscriber_id \
             RETURNING s.id, s.state) \
         SELECT u.id AS \"id!\" FROM updated u JOIN subscribers before ON before.id = u.id \
         WHERE u.state = 'disabled' AND before.state = 'active'",
        &ids,
        &subscribers,
        &at,
        &status as _,
        &latency,
        &error as _,
        &response as _,
        &next as _,
        &retry_at as _,
        crate::webhooks::DISABLE_AFTER as _
    )
    .fetch_all(conn)
    .await
}

/// What a resend did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    Queued,
    /// Still pending (perhaps being sent right now): nothing to resend yet.
    StillPending,
    Missing,
}

/// Send a delivered or failed delivery again from its first attempt, keeping its message
/// (and `webhook-id`).
pub async fn resend(
    conn: &mut PgConnection,
    subscriber_id: Uuid,
    delivery_id: i64,
) -> sqlx::Result<Resend> {
    let state = sqlx::query_scalar!(
        r#"SELECT state AS "state: DeliveryState" FROM deliveries
           WHERE id = $1 AND subscriber_id = $2 FOR UPDATE"#,
        delivery_id,
        subscriber_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    match state {
        None => return Ok(Resend::Missing),
        Some(DeliveryState::Pending) => return Ok(Resend::StillPending),
        Some(_) => {}
    }
    sqlx::query!(
        "UPDATE deliveries d SET state = 'pending', attempts = 0, \
             next_attempt_at = CASE WHEN s.state = 'active' THEN now() ELSE NULL END \
         FROM subscribers s WHERE d.id = $1 AND s.id = d.subscriber_id",
        delivery_id
    )
    .execute(&mut *conn)
    .await?;
    wake(&mut *conn).await?;
    Ok(Resend::Queued)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub message_id: Uuid,
    pub event: String,
    pub state: DeliveryState,
    pub attempts: i32,
    /// `None` while held for a paused subscriber.
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A subscriber's deliveries, newest first, below the cursor id.
pub async fn deliveries(
    db: impl PgExecutor<'_>,
    subscriber_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as!(
        DeliveryRow,
        r#"SELECT d.id, d.message_id, m.event, d.state AS "state: DeliveryState", d.attempts,
                  d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error,
                  d.delivered_at, d.created_at
           FROM deliveries d JOIN webhook_messages m ON m.id = d.message_id
           WHERE d.subscriber_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
           ORDER BY d.id DESC LIMIT $3"#,
        subscriber_id,
        before,
        limit
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: OffsetDateTime,
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// The attempts of these deliveries, oldest first.
pub async fn attempts_of(
    db: impl PgExecutor<'_>,
    delivery_ids: &[i64],
) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        "SELECT id, delivery_id, attempted_at, status, latency_ms, error, response \
         FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY id",
        delivery_ids
    )
    .fetch_all(db)
    .await
}

/// Deliveries by state (for `/metrics`).
pub async fn counts_by_state(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT s.state::text AS "state!", count(d.id) AS "count!"
           FROM unnest(enum_range(NULL::delivery_state)) AS s(state)
           LEFT JOIN deliveries d ON d.state = s.state
           GROUP BY s.state ORDER BY s.state"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.count)).collect())
}

/// Per subscriber (all, or only `only`): deliveries delivered, pending and dead
/// (failed for good).
pub async fn counts_per_subscriber(
    db: impl PgExecutor<'_>,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<(Uuid, i64, i64, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT subscriber_id, count(*) FILTER (WHERE state = 'delivered') AS "delivered!",
                  count(*) FILTER (WHERE state = 'pending') AS "pending!",
                  count(*) FILTER (WHERE state = 'dead') AS "dead!"
           FROM deliveries WHERE $1::uuid IS NULL OR subscriber_id = $1 GROUP BY subscriber_id"#,
        only
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.subscriber_id, r.delivered, r.pending, r.dead))
        .collect())
}

/// Forget finished deliveries (and their attempts) older than `age`, messages nobody
/// waits for, and old subscribe attempts.
pub async fn prune(db: &PgPool, age: Duration) -> sqlx::Result<u64> {
    let age = age.as_seconds_f64();
    let deliveries = sqlx::query!(
        "DELETE FROM deliveries WHERE state <> 'pending'
         AND created_at < now() - make_interval(secs => $1)",
        age
    )
    .execute(db)
    .await?
    .rows_affected();
    sqlx::query!(
        "DELETE FROM webhook_messages m WHERE created_at < now() - make_interval(secs => $1)
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id)",
        age
    )
    .execute(db)
    .await?;
    sqlx::query!("DELETE FROM subscribe_attempts WHERE at < now() - interval '1 day'")
        .execute(db)
        .await?;
    Ok(deliveries)
}

/// What is still pending for disabled subscribers will not be sent.
pub(crate) async fn fail_pending(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE deliveries SET state = 'dead', \
             last_error = coalesce(last_error || '; ', '') || 'not sent: the subscriber was disabled' \
         WHERE subscriber_id = ANY($1) AND state = 'pending'",
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Tell the dispatchers there is something to send now.
pub async fn wake(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_notify('fireline_webhooks', '')")
        .execute(db)
        .await?;
    Ok(())
}
