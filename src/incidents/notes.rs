//! Notes, corrections and pins.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::{acknowledge_if_leader, lock, not_in_future, CommandError};
use crate::accounts::users::UserRow;
use crate::incidents::EventKind;
use crate::platform::text;

/// A note someone writes into the log.
#[derive(Debug, Clone, Default)]
pub struct NewNote {
    pub body: String,
    pub workstream_id: Option<Uuid>,
    /// When it happened, if not now (may be in the past).
    pub occurred_at: Option<OffsetDateTime>,
    pub pinned: bool,
    /// The entry this note corrects.
    pub corrects: Option<Uuid>,
}

/// Append a note (or a correction of an earlier entry) to the log.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn add_note(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    note: NewNote,
) -> Result<Uuid, CommandError> {
    let incident = lock(conn, incident_id).await?;
    let body = text::NOTE
        .trimmed("body", &note.body, "Write something first.")?
        .to_owned();
    not_in_future(
        "occurred_at",
        note.occurred_at,
        "A note cannot happen in the future.",
    )?;
    if let Some(ws) = note.workstream_id {
        let belongs = super::workstreams::find(&mut *conn, ws)
            .await?
            .is_some_and(|w| w.incident_id == incident.id);
        if !belongs {
            return Err(CommandError::invalid(
                "workstream_id",
                "That workstream is not part of this incident.",
            ));
        }
    }
    let mut occurred_at = note.occurred_at;
    if let Some(corrected) = note.corrects {
        let original = events::find(&mut *conn, corrected).await?;
        match original {
            Some(original) if original.incident_id == incident.id => {
                // A correction sits where the entry it corrects happened, unless told otherwise.
                occurred_at = occurred_at.or(Some(original.occurred_at));
            }
            _ => {
                return Err(CommandError::invalid(
                    "corrects",
                    "That entry is not part of this incident's log.",
                ))
            }
        }
    }
    let kind = if note.corrects.is_some() {
        EventKind::Correction
    } else {
        EventKind::Note
    };
    let id = events::insert(
        conn,
        NewEvent {
            incident_id: incident.id,
            kind,
            body,
            data: serde_json::json!({}),
            author_id: Some(actor.id),
            workstream_id: note.workstream_id,
            occurred_at,
            pinned: note.pinned,
            corrects: note.corrects,
        },
    )
    .await?;
    acknowledge_if_leader(conn, &incident, actor).await?;
    Ok(id)
}

/// Pin an entry as a key moment for the postmortem, or unpin it.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn set_pinned(
    conn: &mut PgConnection,
    incident_id: Uuid,
    event_id: Uuid,
    pinned: bool,
) -> Result<(), CommandError> {
    if events::set_pinned(conn, incident_id, event_id, pinned).await? {
        Ok(())
    } else {
        Err(CommandError::NotFound)
    }
}
