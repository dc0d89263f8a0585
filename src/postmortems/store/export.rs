//! The postmortem as it is read and downloaded: its body with the action-item table made
//! current, and the Markdown file without Fireline's markers.

use serde::Serialize;
use sqlx::PgExecutor;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

use super::items::{item_lines, ItemRow};
use super::postmortem::PostmortemRow;
use crate::postmortems::{draft, ActionKind, ActionPriority, ActionStatus};

time::serde::format_description!(plain_date, Date, "[year]-[month]-[day]");

/// The body with the action-item table made current.
pub async fn current_body(
    db: impl PgExecutor<'_>,
    postmortem: &PostmortemRow,
) -> sqlx::Result<String> {
    let items = item_lines(db, postmortem.incident_id).await?;
    Ok(draft::refresh_actions(
        &postmortem.body,
        &draft::action_table(&items),
    ))
}

/// A postmortem as a Markdown file, action items included.
#[derive(Debug, Clone)]
pub struct MarkdownFile {
    /// `INC-42-postmortem.md`.
    pub file_name: String,
    pub body: String,
}

impl MarkdownFile {
    /// The response headers that download it under its name.
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            ("content-type", "text/markdown; charset=utf-8".to_owned()),
            (
                "content-disposition",
                format!("attachment; filename=\"{}\"", self.file_name),
            ),
        ]
    }
}

pub async fn markdown_file(
    db: impl PgExecutor<'_>,
    postmortem: &PostmortemRow,
) -> sqlx::Result<MarkdownFile> {
    Ok(MarkdownFile {
        file_name: format!("{}-postmortem.md", postmortem.reference()),
        body: draft::strip_markers(&current_body(db, postmortem).await?),
    })
}

/// An action item as the API returns it and the admin UI exports it.
#[derive(Serialize, ToSchema)]
pub struct ActionItemJson {
    pub id: Uuid,
    pub incident_id: Uuid,
    /// `INC-42`.
    pub incident: String,
    pub title: String,
    pub description: String,
    pub priority: ActionPriority,
    pub kind: ActionKind,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    #[serde(with = "plain_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<Date>,
    pub status: ActionStatus,
    pub overdue: bool,
    pub tracker_url: Option<String>,
    /// The log entry it was made from.
    pub source_event_id: Option<Uuid>,
    pub version: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
}

impl ActionItemJson {
    pub fn from_row(a: ItemRow, today: Date) -> Self {
        ActionItemJson {
            overdue: a.is_overdue(today),
            incident: format!("INC-{}", a.incident_number),
            id: a.id,
            incident_id: a.incident_id,
            title: a.title,
            description: a.description,
            priority: a.priority,
            kind: a.kind,
            owner_id: a.owner_id,
            owner_name: a.owner_name,
            due_on: a.due_on,
            status: a.status,
            tracker_url: a.tracker_url,
            source_event_id: a.source_event_id,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
            completed_at: a.completed_at,
        }
    }
}
