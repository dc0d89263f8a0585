//! What people read about alert groups and alerts: the lists and pages of the API and the
//! admin UI.

use serde_json::Value;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AlertGroupState, AlertSeverity, AlertStatus, AlertUrgency, IntegrationKind};

/// An alert group with the names of what it refers to.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub id: Uuid,
    pub number: i64,
    pub integration_id: Uuid,
    pub integration_name: String,
    pub integration_kind: IntegrationKind,
    pub group_key: String,
    pub source_key: Option<String>,
    pub title: String,
    pub state: AlertGroupState,
    pub severity: AlertSeverity,
    pub urgency: AlertUrgency,
    pub routing_rule_id: Option<Uuid>,
    pub routing_rule_name: Option<String>,
    pub labels: Value,
    pub annotations: Value,
    pub runbook_url: Option<String>,
    pub source_url: Option<String>,
    pub alerts_firing: i32,
    pub alerts_total: i32,
    pub truncated_alerts: i32,
    pub first_alert_at: OffsetDateTime,
    pub opened_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub times_received: i32,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_by_name: Option<String>,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<Uuid>,
    pub resolved_by_name: Option<String>,
    pub version: i32,
    /// The incident it is attached to (id, number).
    pub incident_id: Option<Uuid>,
    pub incident_number: Option<i64>,
    /// The silence that covers it now (id, until, why).
    pub silence_id: Option<Uuid>,
    pub silence_ends_at: Option<OffsetDateTime>,
    pub silence_reason: Option<String>,
    /// Where the group sorts: open groups by urgency (3 critical … 1 low), then resolved
    /// ones (0); the list's keyset with `opened_at` and `id`.
    pub rank: i32,
}

impl GroupView {
    /// How people name the group: `ALR-17`.
    pub fn reference(&self) -> String {
        super::commands::reference(self.number)
    }
}

/// Which groups to list, open ones first by urgency, then the newest.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    /// Empty: any state.
    pub states: Vec<AlertGroupState>,
    pub integration_id: Option<Uuid>,
    pub urgency: Option<AlertUrgency>,
    /// Only the group with this id or number (a page of one).
    pub id: Option<Uuid>,
    pub number: Option<i64>,
    /// After this (rank, opened_at, id) in the list's order.
    pub after: Option<(i32, OffsetDateTime, Uuid)>,
}

/// The groups `filter` names, in the list's order, at most `limit`.
pub async fn list_groups(
    db: impl PgExecutor<'_>,
    filter: &GroupFilter,
    limit: i64,
) -> sqlx::Result<Vec<GroupView>> {
    let after_rank = filter.after.map(|a| a.0);
    let after_at = filter.after.map(|a| a.1);
    let after_id = filter.after.map(|a| a.2);
    sqlx::query_as!(
        GroupView,
        r#"SELECT g.id, g.number, g.integration_id, i.name AS integration_name,
               i.kind AS "integration_kind: IntegrationKind", g.group_key, g.source_key,
               g.title, g.state AS "state: AlertGroupState",
               g.severity AS "severity: AlertSeverity", g.urgency AS "urgency: AlertUrgency",
               g.routing_rule_id, r.name AS "routing_rule_name?", g.labels, g.annotations,
               g.runbook_url, g.source_url, g.alerts_firing, g.alerts_total,
               g.truncated_alerts, g.first_alert_at, g.opened_at, g.last_seen_at,
               g.times_received, g.acknowledged_at, g.acknowledged_by,
               ack.name AS "acknowledged_by_name?", g.resolved_at, g.resolved_by,
               res.name AS "resolved_by_name?", g.version, k.rank AS "rank!",
               g.incident_id, inc.number AS "incident_number?", g.silence_id,
               sil.ends_at AS "silence_ends_at?", sil.reason AS "silence_reason?"
           FROM alert_groups g
           CROSS JOIN LATERAL (SELECT CASE WHEN g.state = 'resolved' THEN 0
               WHEN g.urgency = 'critical' THEN 3 WHEN g.urgency = 'high' THEN 2
               ELSE 1 END AS rank) k
           JOIN integrations i ON i.id = g.integration_id
           LEFT JOIN routing_rules r ON r.id = g.routing_rule_id
           LEFT JOIN users ack ON ack.id = g.acknowledged_by
           LEFT JOIN users res ON res.id = g.resolved_by
           LEFT JOIN incidents inc ON inc.id = g.incident_id
           LEFT JOIN silences sil ON sil.id = g.silence_id
           WHERE (cardinality($1::alert_group_state[]) = 0 OR g.state = ANY($1))
             AND ($2::uuid IS NULL OR g.integration_id = $2)
             AND ($3::alert_urgency IS NULL OR g.urgency = $3)
             AND ($4::uuid IS NULL OR g.id = $4)
             AND ($5::bigint IS NULL OR g.number = $5)
             AND ($6::int IS NULL OR (k.rank, g.opened_at, g.id) < ($6, $7, $8))
           ORDER BY k.rank DESC, g.opened_at DESC, g.id DESC
           LIMIT $9"#,
        &filter.states as &[AlertGroupState],
        filter.integration_id,
        filter.urgency as Option<AlertUrgency>,
        filter.id,
        filter.number,
        after_rank,
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// The group `id`.
pub async fn find_group(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<GroupView>> {
    let filter = GroupFilter {
        id: Some(id),
        ..Default::default()
    };
    Ok(list_groups(db, &filter, 1).await?.pop())
}

/// The group `ALR-{number}`.
pub async fn find_group_by_number(
    db: impl PgExecutor<'_>,
    number: i64,
) -> sqlx::Result<Option<GroupView>> {
    let filter = GroupFilter {
        number: Some(number),
        ..Default::default()
    };
    Ok(list_groups(db, &filter, 1).await?.pop())
}

/// The number of the open group a source keyed `group_key` (a heartbeat's, a check's).
pub async fn open_group_number(
    db: impl PgExecutor<'_>,
    group_key: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT number FROM alert_groups WHERE group_key = $1 AND state <> 'resolved' \
         ORDER BY opened_at DESC LIMIT 1",
        group_key
    )
    .fetch_optional(db)
    .await
}

/// The runbooks of the open groups about a component (their `component` label names it).
pub async fn open_runbooks_of_component(
    db: impl PgExecutor<'_>,
    component: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT runbook_url AS "url!" FROM alert_groups
           WHERE state <> 'resolved' AND runbook_url IS NOT NULL
             AND lower(labels->>'component') = lower($1)
           ORDER BY 1 LIMIT 10"#,
        component
    )
    .fetch_all(db)
    .await
}

/// The component an alert group is about: the one its `component` label names.
pub async fn component_of_group(
    db: impl PgExecutor<'_>,
    group_id: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "SELECT c.id FROM alert_groups g JOIN components c \
             ON lower(c.name) = lower(g.labels->>'component') \
         WHERE g.id = $1 LIMIT 1",
        group_id
    )
    .fetch_optional(db)
    .await
}

/// How many groups fire and nobody has acknowledged (the navigation's count).
pub async fn count_firing(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM alert_groups WHERE state = 'firing'"#)
        .fetch_one(db)
        .await
}

/// How many groups there are of each state and urgency (those with none are left out).
pub async fn count_groups(
    db: impl PgExecutor<'_>,
) -> sqlx::Result<Vec<(AlertGroupState, AlertUrgency, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT state AS "state: AlertGroupState", urgency AS "urgency: AlertUrgency",
                  count(*) AS "n!"
           FROM alert_groups GROUP BY state, urgency"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.state, r.urgency, r.n))
        .collect())
}

/// One alert as people read it.
#[derive(Debug, Clone)]
pub struct AlertView {
    pub id: Uuid,
    pub group_id: Uuid,
    pub fingerprint: String,
    pub status: AlertStatus,
    pub severity: AlertSeverity,
    pub summary: String,
    pub description: Option<String>,
    pub labels: Value,
    pub annotations: Value,
    pub links: Value,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
    pub first_seen_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub times_received: i32,
    pub silenced: bool,
    /// The sender's own object for the alert as last received, cut when it was large
    /// (`intake::PAYLOAD_EXCERPT`).
    pub payload: Value,
}

/// Which alerts to list, the newest (by when Fireline first saw them) first.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub group_id: Option<Uuid>,
    pub status: Option<AlertStatus>,
    /// After this (first_seen_at, id).
    pub after: Option<(OffsetDateTime, Uuid)>,
}

pub async fn list_alerts(
    db: impl PgExecutor<'_>,
    filter: &AlertFilter,
    limit: i64,
) -> sqlx::Result<Vec<AlertView>> {
    let (after_at, after_id) = filter.after.unzip();
    sqlx::query_as!(
        AlertView,
        r#"SELECT id, group_id, fingerprint, status AS "status: AlertStatus",
               severity AS "severity: AlertSeverity", summary, description, labels,
               annotations, links, starts_at, ends_at, first_seen_at, last_seen_at,
               times_received, silence_id IS NOT NULL AS "silenced!", payload
           FROM alerts
           WHERE ($1::uuid IS NULL OR group_id = $1)
             AND ($2::alert_status IS NULL OR status = $2)
             AND ($3::timestamptz IS NULL OR (first_seen_at, id) < ($3, $4))
           ORDER BY first_seen_at DESC, id DESC
           LIMIT $5"#,
        filter.group_id,
        filter.status as Option<AlertStatus>,
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}
