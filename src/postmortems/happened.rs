//! What happened to a postmortem, as recorded in the domain-event stream.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::platform::events;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PostmortemEvent {
    /// The incident's postmortem summary became public.
    #[serde(rename = "postmortem.published")]
    Published { incident_id: Uuid },
}

impl PostmortemEvent {
    /// Record the event in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        events::record(conn, self).await.map(drop)
    }
}
