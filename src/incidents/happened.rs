//! What happened to an incident, as recorded in the domain-event stream for the
//! consumers that react to it (webhook fan-out today; chat and paging next).

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::platform::events;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum IncidentEvent {
    /// An incident published before was made public again.
    #[serde(rename = "incident.made_public_again")]
    MadePublicAgain { incident_id: Uuid },
    /// An update was posted. `public`: the incident was public when it was (an update
    /// of an internal incident reaches no one outside, even if the incident is made public
    /// before the consumers run); `announces`: the first one customers hear of (it
    /// publishes the incident, or the ones before notified nobody).
    #[serde(rename = "incident.update_posted")]
    UpdatePosted {
        incident_id: Uuid,
        update_id: Uuid,
        public: bool,
        notify: bool,
        announces: bool,
        resolved: bool,
    },
}

impl IncidentEvent {
    /// Record the event in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        events::record(conn, self).await.map(drop)
    }
}
