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
