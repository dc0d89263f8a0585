//! A group's history (`alert_group_events`): append-only, each entry at the source's own
//! time. Everything that changes a group writes its entry through [`record`], so this is
//! where mirroring into an attached incident's log hooks in.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::labelled_enum;

labelled_enum!(
    /// What an entry of a group's history says happened.
    GroupEventKind, "alert_group_event_kind" {
        Opened => "opened", "Opened";
        AlertFired => "alert_fired", "Alert fired";
        AlertRefired => "alert_refired", "Alert fired again";
        AlertResolved => "alert_resolved", "Alert resolved";
        Acknowledged => "acknowledged", "Acknowledged";
        Silenced => "silenced", "Silenced";
        Unsilenced => "unsilenced", "Silence ended";
        Resolved => "resolved", "Resolved";
        Escalated => "escalated", "Escalated";
        Declared => "declared", "Incident declared";
        Attached => "attached", "Attached to an incident";
        ComponentProposed => "component_proposed", "Component status proposed";
        ActionFailed => "action_failed", "Action failed";
    }
);

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewGroupEvent {
    pub kind: GroupEventKind,
    pub alert_id: Option<Uuid>,
    /// `None`: the source or a rule.
    pub actor_id: Option<Uuid>,
    pub body: String,
    pub data: serde_json::Value,
    pub occurred_at: OffsetDateTime,
}

impl NewGroupEvent {
    /// An entry written on the source's behalf.
    pub fn by_source(kind: GroupEventKind, body: String, occurred_at: OffsetDateTime) -> Self {
        NewGroupEvent {
            kind,
            alert_id: None,
            actor_id: None,
            body,
            data: serde_json::json!({}),
            occurred_at,
        }
    }

    /// The same entry, about one alert of the group.
    pub fn about(mut self, alert_id: Uuid) -> Self {
        self.alert_id = Some(alert_id);
        self
    }

    /// The same entry with `data`.
    pub fn with(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Append `event` to the history of `group_id`.
pub async fn record(
    conn: &mut PgConnection,
    group_id: Uuid,
    event: NewGroupEvent,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO alert_group_events (group_id, alert_id, kind, actor_id, body, data, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        group_id,
        event.alert_id,
        event.kind as GroupEventKind,
        event.actor_id,
        event.body,
        event.data,
        event.occurred_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One entry of a group's history as people read it.
#[derive(Debug, Clone)]
pub struct GroupEventRow {
    pub id: i64,
    pub kind: GroupEventKind,
    pub alert_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub body: String,
    pub data: serde_json::Value,
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
}

/// The history of `group_id`, oldest first: at most `limit` entries after `after`
/// (an entry's occurred_at and id).
pub async fn list(
    db: impl sqlx::PgExecutor<'_>,
    group_id: Uuid,
    after: Option<(OffsetDateTime, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<GroupEventRow>> {
    let after_at = after.map(|a| a.0);
    let after_id = after.map(|a| a.1);
    sqlx::query_as!(
        GroupEventRow,
        r#"SELECT e.id, e.kind AS "kind: GroupEventKind", e.alert_id, e.actor_id,
               u.name AS "actor_name?", e.body, e.data, e.occurred_at, e.recorded_at
           FROM alert_group_events e LEFT JOIN users u ON u.id = e.actor_id
           WHERE e.group_id = $1
             AND ($2::timestamptz IS NULL OR (e.occurred_at, e.id) > ($2, $3))
           ORDER BY e.occurred_at, e.id
           LIMIT $4"#,
        group_id,
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await
}
