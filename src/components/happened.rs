//! What happened to a component, as recorded in the domain-event stream.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ComponentStatus;
use crate::platform::events;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ComponentEvent {
    /// The status customers see changed (whatever the cause).
    #[serde(rename = "component.public_status_changed")]
    PublicStatusChanged {
        component_id: Uuid,
        old: ComponentStatus,
        new: ComponentStatus,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// The incident or maintenance that changed it, whose own notice tells of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maintenance_id: Option<Uuid>,
    },
}

impl ComponentEvent {
    /// Record the event in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        events::record(conn, self).await.map(drop)
    }
}
