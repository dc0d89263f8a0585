//! The SQL of alert groups and their alerts, for grouping and the people's commands
//! (what the pages read is in `alerts::queries`).

use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::intake::{Labels, Link, Signal};
use super::{AlertFormat, AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency};

/// An alert group as grouping reads it.
#[derive(Debug, Clone)]
pub struct AlertGroupRow {
    pub id: Uuid,
    pub number: i64,
    pub integration_id: Uuid,
    pub group_key: String,
    pub title: String,
    pub state: AlertGroupState,
    pub severity: AlertSeverity,
    pub urgency: AlertUrgency,
    pub content_hash: Vec<u8>,
    pub first_alert_at: OffsetDateTime,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub silence_id: Option<Uuid>,
    pub resolved_at: Option<OffsetDateTime>,
}

/// One alert of a group as grouping compares it with what arrived.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: Uuid,
    pub fingerprint: String,
    pub format: AlertFormat,
    pub summary: String,
    pub status: AlertStatus,
    pub severity: AlertSeverity,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
}

/// The open group of `group_key` in `integration_id`, locked for the change.
pub async fn lock_open(
    conn: &mut PgConnection,
    integration_id: Uuid,
    group_key: &str,
) -> sqlx::Result<Option<AlertGroupRow>> {
    sqlx::query_as!(
        AlertGroupRow,
        r#"SELECT id, number, integration_id, group_key, title,
               state AS "state: AlertGroupState", severity AS "severity: AlertSeverity",
               urgency AS "urgency: AlertUrgency", content_hash, first_alert_at,
               acknowledged_at, silence_id, resolved_at
           FROM alert_groups
           WHERE integration_id = $1 AND group_key = $2 AND state <> 'resolved'
           FOR UPDATE"#,
        integration_id,
        group_key
    )
    .fetch_optional(conn)
    .await
}

/// The group `id`, whatever its state, locked for a person's change.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<AlertGroupRow>> {
    sqlx::query_as!(
        AlertGroupRow,
        r#"SELECT id, number, integration_id, group_key, title,
               state AS "state: AlertGroupState", severity AS "severity: AlertSeverity",
               urgency AS "urgency: AlertUrgency", content_hash, first_alert_at,
               acknowledged_at, silence_id, resolved_at
           FROM alert_groups WHERE id = $1
           FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// A group about to be inserted.
pub struct NewGroupRow<'a> {
    pub integration_id: Uuid,
    pub group_key: &'a str,
    pub source_key: Option<&'a str>,
    pub title: &'a str,
    pub severity: AlertSeverity,
    pub urgency: AlertUrgency,
    pub routing_rule_id: Option<Uuid>,
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    pub source_url: Option<&'a str>,
    pub runbook_url: Option<&'a str>,
    pub truncated_alerts: i32,
    pub first_alert_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub content_hash: &'a [u8],
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Insert a firing group (its alerts come next; the counts are set by [`save`]).
pub async fn insert(conn: &mut PgConnection, new: NewGroupRow<'_>) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO alert_groups (id, integration_id, group_key, source_key, title, state, \
             severity, urgency, labels, annotations, source_url, runbook_url, alerts_firing, \
             alerts_total, truncated_alerts, first_alert_at, opened_at, last_seen_at, content_hash, \
             routing_rule_id) \
         VALUES ($1, $2, $3, $4, $5, 'firing', $6, $7, $8, $9, $10, $11, 0, 0, $12, $13, $14, $14, $15, \
             $16) \
         RETURNING id",
        Uuid::new_v4(),
        new.integration_id,
        new.group_key,
        new.source_key,
        new.title,
        new.severity as AlertSeverity,
        new.urgency as AlertUrgency,
        to_json(new.labels),
        to_json(new.annotations),
        new.source_url,
        new.runbook_url,
        new.truncated_alerts,
        new.first_alert_at,
        new.received_at,
        new.content_hash,
        new.routing_rule_id
    )
    .fetch_one(conn)
    .await
}

/// The group's state after a delivery was applied.
pub struct GroupChanges<'a> {
    pub state: AlertGroupState,
    pub severity: AlertSeverity,
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    pub source_url: Option<&'a str>,
    pub truncated_alerts: i32,
    pub received_at: OffsetDateTime,
    pub content_hash: &'a [u8],
    pub acknowledged_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    /// Whether the delivery counts as one more received (not for the opening one).
    pub count_received: bool,
}

/// Write the group's new state, with its alert counts recounted from its alerts.
pub async fn save(conn: &mut PgConnection, id: Uuid, c: GroupChanges<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE alert_groups g SET state = $2, severity = $3, labels = $4, annotations = $5, \
             source_url = coalesce($6, g.source_url), truncated_alerts = $7, last_seen_at = $8, \
             times_received = g.times_received + CASE WHEN $12 THEN 1 ELSE 0 END, \
             content_hash = $9, acknowledged_at = $10, resolved_at = $11, \
             alerts_firing = counts.firing, alerts_total = counts.total, \
             first_alert_at = least(g.first_alert_at, counts.first), \
             version = g.version + 1, updated_at = now() \
         FROM (SELECT count(*) FILTER (WHERE status = 'firing')::int AS firing, \
                      count(*)::int AS total, min(starts_at) AS first \
               FROM alerts WHERE group_id = $1) counts \
         WHERE g.id = $1",
        id,
        c.state as AlertGroupState,
        c.severity as AlertSeverity,
        to_json(c.labels),
        to_json(c.annotations),
        c.source_url,
        c.truncated_alerts,
        c.received_at,
        c.content_hash,
        c.acknowledged_at,
        c.resolved_at,
        c.count_received
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Route the group to `urgency` by the rule `routing_rule_id` (none: the default route).
pub async fn set_route(
    conn: &mut PgConnection,
    id: Uuid,
    urgency: AlertUrgency,
    routing_rule_id: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE alert_groups SET urgency = $2, routing_rule_id = $3, updated_at = now() \
         WHERE id = $1",
        id,
        urgency as AlertUrgency,
        routing_rule_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An identical re-send: only "last seen" and the counts of the group and the alerts
/// it names change.
pub async fn repeat(
    conn: &mut PgConnection,
    id: Uuid,
    fingerprints: &[&str],
    received_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE alert_groups SET last_seen_at = $2, times_received = times_received + 1 \
         WHERE id = $1",
        id,
        received_at
    )
    .execute(&mut *conn)
    .await?;
    if !fingerprints.is_empty() {
        sqlx::query!(
            "UPDATE alerts SET last_seen_at = $3, times_received = times_received + 1 \
             WHERE group_id = $1 AND fingerprint = ANY($2)",
            id,
            fingerprints as &[&str],
            received_at
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A re-send known by its digest alone: when the open group of `group_key` still has
/// that digest, it is a repeat, and only "last seen" and the counts of the group and of
/// the alerts it names change, in one statement. Returns whether it was.
pub async fn repeat_if_unchanged(
    conn: &mut PgConnection,
    integration_id: Uuid,
    group_key: &str,
    digest: &[u8],
    fingerprints: &[String],
    received_at: OffsetDateTime,
) -> sqlx::Result<bool> {
    let repeated = sqlx::query_scalar!(
        r#"WITH grp AS (
               UPDATE alert_groups SET last_seen_at = $4, times_received = times_received + 1
               WHERE integration_id = $1 AND group_key = $2 AND state <> 'resolved'
                 AND content_hash = $3
               RETURNING id),
           listed AS (
               UPDATE alerts SET last_seen_at = $4, times_received = times_received + 1
               WHERE group_id = (SELECT id FROM grp) AND fingerprint = ANY($5))
           SELECT id AS "id!" FROM grp"#,
        integration_id,
        group_key,
        digest,
        received_at,
        fingerprints
    )
    .fetch_optional(conn)
    .await?;
    Ok(repeated.is_some())
}

/// Every alert of a group.
pub async fn alerts_of(conn: &mut PgConnection, group_id: Uuid) -> sqlx::Result<Vec<AlertRow>> {
    sqlx::query_as!(
        AlertRow,
        r#"SELECT id, fingerprint, format AS "format: AlertFormat", summary,
               status AS "status: AlertStatus", severity AS "severity: AlertSeverity",
               starts_at, ends_at
           FROM alerts WHERE group_id = $1 ORDER BY starts_at, fingerprint"#,
        group_id
    )
    .fetch_all(conn)
    .await
}

/// How an alert stands after a signal about it.
pub struct AlertState {
    pub status: AlertStatus,
    pub severity: AlertSeverity,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
}

fn links_json(links: &[Link]) -> Value {
    to_json(&links)
}

/// Store `signal` as the alert of `group_id` with its fingerprint: a new one (of
/// `format`), or the one the group has brought up to date. Returns its id.
pub async fn save_alert(
    conn: &mut PgConnection,
    group_id: Uuid,
    format: AlertFormat,
    signal: &Signal,
    state: &AlertState,
    received_at: OffsetDateTime,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO alerts (id, group_id, fingerprint, format, status, severity, summary, \
             description, labels, annotations, links, starts_at, ends_at, first_seen_at, \
             last_seen_at, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) \
         ON CONFLICT (group_id, fingerprint) DO UPDATE SET status = excluded.status, \
             severity = excluded.severity, summary = excluded.summary, \
             description = excluded.description, labels = excluded.labels, \
             annotations = excluded.annotations, links = excluded.links, \
             starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
             last_seen_at = excluded.last_seen_at, \
             times_received = alerts.times_received + 1, payload = excluded.payload \
         RETURNING id",
        Uuid::new_v4(),
        group_id,
        signal.fingerprint,
        format as AlertFormat,
        state.status as AlertStatus,
        state.severity as AlertSeverity,
        signal.summary,
        signal.description,
        to_json(&signal.labels),
        to_json(&signal.annotations),
        links_json(&signal.links),
        state.starts_at,
        state.ends_at,
        received_at,
        signal.payload
    )
    .fetch_one(conn)
    .await
}

/// Resolve an alert at `at` without news of it (absent from a complete payload, or the
/// whole group resolved by the source).
pub async fn resolve_alert(
    conn: &mut PgConnection,
    id: Uuid,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE alerts SET status = 'resolved', ends_at = greatest($2, starts_at) WHERE id = $1",
        id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}
