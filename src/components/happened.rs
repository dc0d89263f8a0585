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
    },
}

impl ComponentEvent {
    /// Record the event in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        events::record(conn, self).await.map(drop)
    }
}
