//! What a draft is made from: the incident's record as one transaction sees it.

use sqlx::PgConnection;
use uuid::Uuid;

use super::items::item_lines;
use crate::components::ComponentStatus;
use crate::incidents::{self, CommandError};
use crate::postmortems::draft::{Affected, Facts};

/// Everything a draft is made from, as `conn` sees it.
pub async fn facts(conn: &mut PgConnection, incident_id: Uuid) -> Result<Facts, CommandError> {
    let incident = incidents::find(&mut *conn, incident_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let events = incidents::events::all(&mut *conn, incident_id).await?;
    let workstreams = incidents::workstreams::list(&mut *conn, incident_id).await?;
    let tasks = incidents::workstreams::tasks_of(&mut *conn, &[incident_id]).await?;
    // Every component the incident touched, with the worst status it set.
    let touched = sqlx::query!(
        "SELECT c.id, c.name, h.new_status AS \"new_status?: ComponentStatus\" \
         FROM incident_components ic \
         JOIN components c ON c.id = ic.component_id \
         LEFT JOIN component_status_changes h ON h.component_id = c.id AND h.incident_id = ic.incident_id \
         WHERE ic.incident_id = $1 ORDER BY c.position, lower(c.name)",
        incident_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut components: Vec<(Uuid, Affected)> = Vec::new();
    for row in touched {
        let (id, name) = (row.id, row.name);
        let status = row.new_status.unwrap_or(ComponentStatus::Operational);
        match components.iter_mut().find(|(c, _)| *c == id) {
            Some((_, a)) => a.worst = ComponentStatus::worst([a.worst, status]),
            None => components.push((
                id,
                Affected {
                    name,
                    worst: status,
                },
            )),
        }
    }
    let items = item_lines(&mut *conn, incident_id).await?;
    Ok(Facts {
        incident,
        events,
        workstreams,
        tasks,
        components: components.into_iter().map(|(_, a)| a).collect(),
        items,
    })
}
