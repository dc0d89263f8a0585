//! What happened to an alert group, as recorded in the domain-event stream (family
//! `alert_group`). Paging (issue 13) starts from these; no consumer reads them yet.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{AlertSeverity, AlertUrgency};
use crate::platform::events;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AlertGroupEvent {
    /// A group opened (routed: `urgency` says how fast a person must look).
    #[serde(rename = "alert_group.opened")]
    Opened {
        group_id: Uuid,
        integration_id: Uuid,
        urgency: AlertUrgency,
        severity: AlertSeverity,
    },
    /// A later delivery routed the group to a higher urgency (it never falls).
    #[serde(rename = "alert_group.escalated")]
    Escalated {
        group_id: Uuid,
        urgency: AlertUrgency,
    },
    /// The group was acknowledged; `by`: a person, or `None` for the source.
    #[serde(rename = "alert_group.acknowledged")]
    Acknowledged { group_id: Uuid, by: Option<Uuid> },
    /// A silence covers the group: it stays open but asks for nobody's attention.
    #[serde(rename = "alert_group.silenced")]
    Silenced { group_id: Uuid, silence_id: Uuid },
    /// The silence over the group ended (early, or on time).
    #[serde(rename = "alert_group.unsilenced")]
    Unsilenced { group_id: Uuid, silence_id: Uuid },
    /// The group resolved; `by`: a person, or `None` when its last alert resolved.
    #[serde(rename = "alert_group.resolved")]
    Resolved { group_id: Uuid, by: Option<Uuid> },
}

impl AlertGroupEvent {
    /// Record the event in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        events::record(conn, self).await.map(drop)
    }
}
