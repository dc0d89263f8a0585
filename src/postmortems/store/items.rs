//! Action items and their change history.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::users::UserRow;
use crate::incidents::{self, CommandError, Found, Rows};
use crate::platform::text;
use crate::postmortems::draft::ItemLine;
use crate::postmortems::{ActionKind, ActionPriority, ActionStatus};

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub incident_number: i64,
    pub incident_title: String,
    pub title: String,
    pub description: String,
    pub priority: ActionPriority,
    pub kind: ActionKind,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub due_on: Option<Date>,
    pub status: ActionStatus,
    pub tracker_url: Option<String>,
    pub source_event_id: Option<Uuid>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

impl ItemRow {
    pub fn is_overdue(&self, today: Date) -> bool {
        crate::postmortems::is_overdue(self.status, self.due_on, today)
    }
}

/// A query for whole action-item rows, checked at compile time: `$rest` follows
/// `SELECT <every column> FROM action_items a JOIN incidents i LEFT JOIN users u`.
macro_rules! item_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ItemRow,
            r#"SELECT a.id, a.incident_id, i.number AS incident_number,
                      i.title AS incident_title, a.title, a.description,
                      a.priority AS "priority: ActionPriority", a.kind AS "kind: ActionKind",
                      a.owner_id, u.name AS "owner_name?", u.email AS "owner_email?", a.due_on,
                      a.status AS "status: ActionStatus", a.tracker_url, a.source_event_id,
                      a.version, a.created_at, a.updated_at, a.completed_at
               FROM action_items a JOIN incidents i ON i.id = a.incident_id
               LEFT JOIN users u ON u.id = a.owner_id "# + $rest
            $(, $arg)*
        )
    };
}

pub async fn item_lines(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<ItemLine> {
    Ok(items_of_many(db, &[incident_id])
        .await?
        .into_iter()
        .map(|(_, line)| line)
        .collect())
}

/// The action items of several incidents at once: `(incident_id, line)`.
pub async fn items_of_many(
    db: impl PgExecutor<'_>,
    incident_ids: &[Uuid],
) -> Rows<(Uuid, ItemLine)> {
    let rows = items_of_all(db, incident_ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let line = ItemLine {
                title: r.title,
                priority: r.priority,
                kind: r.kind,
                owner: r.owner_name,
                due_on: r.due_on,
                status: r.status,
                tracker_url: r.tracker_url,
            };
            (r.incident_id, line)
        })
        .collect())
}

pub async fn items_of(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<ItemRow> {
    items_of_all(db, &[incident_id]).await
}

/// The action items of these incidents, high priority first.
async fn items_of_all(db: impl PgExecutor<'_>, incident_ids: &[Uuid]) -> Rows<ItemRow> {
    item_rows!(
        "WHERE a.incident_id = ANY($1)
         ORDER BY CASE a.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,
             a.due_on NULLS LAST, a.created_at",
        incident_ids
    )
    .fetch_all(db)
    .await
}

pub async fn item(db: impl PgExecutor<'_>, id: Uuid) -> Found<ItemRow> {
    item_rows!("WHERE a.id = $1", id).fetch_optional(db).await
}

/// Filters of the list across incidents.
#[derive(Debug, Default, Clone)]
pub struct ItemFilter {
    pub priority: Option<ActionPriority>,
    pub status: Option<ActionStatus>,
    pub owner_id: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub overdue: bool,
}

pub async fn items(db: impl PgExecutor<'_>, filter: &ItemFilter, today: Date) -> Rows<ItemRow> {
    item_rows!(
        "WHERE ($1::action_priority IS NULL OR a.priority = $1)
           AND ($2::action_status IS NULL OR a.status = $2)
           AND ($3::uuid IS NULL OR a.owner_id = $3)
           AND ($4::uuid IS NULL OR a.incident_id = $4)
           AND (NOT $5 OR (a.status IN ('open', 'in_progress') AND a.due_on < $6))
         ORDER BY CASE a.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,
             a.due_on NULLS LAST, a.created_at LIMIT 5000",
        filter.priority as Option<ActionPriority>,
        filter.status as Option<ActionStatus>,
        filter.owner_id,
        filter.incident_id,
        filter.overdue,
        today
    )
    .fetch_all(db)
    .await
}

/// An action item's fields, as given.
#[derive(Debug, Clone)]
pub struct ItemFields {
    pub title: String,
    pub description: String,
    pub priority: ActionPriority,
    pub kind: ActionKind,
    pub owner_id: Option<Uuid>,
    /// `None`: the priority's default.
    pub due_on: Option<Date>,
    pub status: ActionStatus,
    pub tracker_url: Option<String>,
}

fn check_item(fields: &ItemFields) -> Result<(), CommandError> {
    let texts = [
        fields.title.as_str(),
        fields.description.as_str(),
        fields.tracker_url.as_deref().unwrap_or(""),
    ];
    if texts.iter().any(|t| t.contains('\0')) {
        return Err(CommandError::invalid(
            "title",
            "The text contains a NUL character.",
        ));
    }
    let if_empty = "Give the action item a title of 1 to 300 characters.";
    text::ACTION_TITLE.trimmed("title", &fields.title, if_empty)?;
    text::MARKDOWN.check("description", &fields.description)?;
    if let Some(url) = fields.tracker_url.as_deref().filter(|u| !u.is_empty()) {
        text::URL.check("tracker_url", url)?;
        let ok = url.len() <= 2000
            && url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(CommandError::invalid(
                "tracker_url",
                "The tracker URL must be an http(s) link of at most 2,000 characters.",
            ));
        }
    }
    Ok(())
}

async fn check_owner(conn: &mut PgConnection, owner: Option<Uuid>) -> Result<(), CommandError> {
    if let Some(id) = owner {
        let user = crate::accounts::users::find(&mut *conn, id)
            .await?
            .ok_or_else(|| CommandError::invalid("owner_id", "There is no such user."))?;
        if user.is_disabled() {
            return Err(CommandError::invalid(
                "owner_id",
                format!("{} is disabled.", user.name),
            ));
        }
    }
    Ok(())
}

/// The tracker link as stored: trimmed, none when blank.
fn tracker_url(fields: &ItemFields) -> Option<&str> {
    fields
        .tracker_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
}

fn snapshot(row: &ItemRow) -> Value {
    json!({
        "title": row.title, "description": row.description, "priority": row.priority,
        "kind": row.kind, "owner": row.owner_name, "due_on": row.due_on.map(|d| d.to_string()),
        "status": row.status, "tracker_url": row.tracker_url,
    })
}

async fn record_change(
    conn: &mut PgConnection,
    item: Uuid,
    actor: &UserRow,
    changes: Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO action_item_changes (action_item_id, changed_by, changes) VALUES ($1, $2, $3)",
        item,
        actor.id,
        changes
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(incident = %incident_id, actor = %actor.id))]
pub async fn create_item(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    fields: ItemFields,
    source_event_id: Option<Uuid>,
    today: Date,
) -> Result<ItemRow, CommandError> {
    check_item(&fields)?;
    check_owner(conn, fields.owner_id).await?;
    incidents::find(&mut *conn, incident_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if let Some(event) = source_event_id {
        let belongs = sqlx::query_scalar!(
            "SELECT EXISTS (SELECT 1 FROM incident_events WHERE id = $1 AND incident_id = $2) AS \"belongs!\"",
            event,
            incident_id
        )
        .fetch_one(&mut *conn)
        .await?;
        if !belongs {
            return Err(CommandError::invalid(
                "source_event_id",
                "That log entry is not in this incident.",
            ));
        }
    }
    let due = fields.due_on.or(fields.priority.default_due(today));
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO action_items (id, incident_id, title, description, priority, kind, owner_id, \
             due_on, status, tracker_url, source_event_id, created_by, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 CASE WHEN $9::action_status IN ('done', 'wont_do') THEN now() END)",
        id,
        incident_id,
        fields.title.trim(),
        fields.description.trim(),
        fields.priority as ActionPriority,
        fields.kind as ActionKind,
        fields.owner_id,
        due,
        fields.status as ActionStatus,
        tracker_url(&fields),
        source_event_id,
        actor.id
    )
    .execute(&mut *conn)
    .await?;
    let row = item(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    record_change(conn, id, actor, json!({ "created": snapshot(&row) })).await?;
    Ok(row)
}

/// Change an item read at `version`; a stale version is refused with the current row.
#[tracing::instrument(skip_all, fields(item = %id, version = version, actor = %actor.id))]
pub async fn update_item(
    conn: &mut PgConnection,
    actor: &UserRow,
    id: Uuid,
    version: i32,
    fields: ItemFields,
) -> Result<Result<ItemRow, ItemRow>, CommandError> {
    sqlx::query!(
        "SELECT 1 AS one FROM action_items WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let current = item(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    if current.version != version {
        return Ok(Err(current));
    }
    check_item(&fields)?;
    if fields.owner_id != current.owner_id {
        check_owner(conn, fields.owner_id).await?;
    }
    sqlx::query!(
        "UPDATE action_items SET title = $2, description = $3, priority = $4, kind = $5, \
             owner_id = $6, due_on = $7, status = $8, tracker_url = $9, version = version + 1, \
             updated_at = now(), \
             completed_at = CASE WHEN $8::action_status IN ('done', 'wont_do') THEN coalesce(completed_at, now()) END \
         WHERE id = $1",
        id,
        fields.title.trim(),
        fields.description.trim(),
        fields.priority as ActionPriority,
        fields.kind as ActionKind,
        fields.owner_id,
        fields.due_on,
        fields.status as ActionStatus,
        tracker_url(&fields)
    )
    .execute(&mut *conn)
    .await?;
    let row = item(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    let (old, new) = (snapshot(&current), snapshot(&row));
    let mut changes = serde_json::Map::new();
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (field, value) in new {
            if old.get(field) != Some(value) {
                changes.insert(
                    field.clone(),
                    json!({ "old": old.get(field), "new": value }),
                );
            }
        }
    }
    if !changes.is_empty() {
        record_change(conn, id, actor, Value::Object(changes)).await?;
    }
    Ok(Ok(row))
}

#[derive(Debug, Clone)]
pub struct ItemChangeRow {
    pub changed_by_name: Option<String>,
    pub changed_at: OffsetDateTime,
    pub changes: Value,
}

pub async fn item_changes(db: impl PgExecutor<'_>, id: Uuid) -> Rows<ItemChangeRow> {
    sqlx::query_as!(
        ItemChangeRow,
        "SELECT u.name AS \"changed_by_name?\", c.changed_at, c.changes FROM action_item_changes c \
         LEFT JOIN users u ON u.id = c.changed_by WHERE c.action_item_id = $1 ORDER BY c.id DESC",
        id
    )
    .fetch_all(db)
    .await
}
