//! What happened to a scheduled maintenance, as recorded in the domain-event stream.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::MaintenanceStatus;
use crate::platform::events;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MaintenanceEvent {
    #[serde(rename = "maintenance.scheduled")]
    Scheduled { maintenance_id: Uuid },
    #[serde(rename = "maintenance.rescheduled")]
    Rescheduled { maintenance_id: Uuid },
    /// An update was posted, moving the maintenance `from` one status `to` another (or
    /// keeping it).
    #[serde(rename = "maintenance.update_posted")]
    UpdatePosted {
        maintenance_id: Uuid,
        from: MaintenanceStatus,
        to: MaintenanceStatus,
        notify: bool,
    },
}

impl MaintenanceEvent {
    /// Record the event in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        events::record(conn, self).await.map(drop)
    }
}
