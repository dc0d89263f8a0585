//! Workstreams (recovery, root cause, custom) and their tasks.

use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::IncidentRow;
use super::{changed_by, lock, person, responder, CommandError, Found, Rows};
use crate::accounts::users::UserRow;
use crate::incidents::{EventKind, WorkstreamKind, WorkstreamStatus};
use crate::platform::text;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkstreamRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub kind: WorkstreamKind,
    pub title: String,
    pub lead_id: Option<Uuid>,
    pub lead_name: Option<String>,
    pub objective: String,
    pub status: WorkstreamStatus,
    pub position: i32,
    pub created_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: Uuid,
    pub workstream_id: Uuid,
    pub title: String,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub done_at: Option<OffsetDateTime>,
    pub position: i32,
    pub created_at: OffsetDateTime,
}

/// A query for whole workstream rows, checked at compile time: `$rest` follows
/// `SELECT <every column> FROM workstreams w LEFT JOIN users u ON u.id = w.lead_id`.
macro_rules! workstream_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            WorkstreamRow,
            r#"SELECT w.id, w.incident_id, w.kind AS "kind: WorkstreamKind", w.title, w.lead_id,
                      u.name AS "lead_name?", w.objective, w.status AS "status: WorkstreamStatus",
                      w.position, w.created_at, w.completed_at
               FROM workstreams w LEFT JOIN users u ON u.id = w.lead_id "# + $rest
            $(, $arg)*
        )
    };
}

/// The same for tasks: `$rest` follows `FROM tasks t LEFT JOIN users u`.
macro_rules! task_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            TaskRow,
            r#"SELECT t.id, t.workstream_id, t.title, t.assignee_id, u.name AS "assignee_name?",
                      t.done_at, t.position, t.created_at
               FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id "# + $rest
            $(, $arg)*
        )
    };
}

pub async fn list(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<WorkstreamRow> {
    workstream_rows!("WHERE w.incident_id = $1 ORDER BY w.position", incident_id)
        .fetch_all(db)
        .await
}

/// The workstreams of several incidents at once.
pub async fn list_of(db: impl PgExecutor<'_>, incident_ids: &[Uuid]) -> Rows<WorkstreamRow> {
    workstream_rows!(
        "WHERE w.incident_id = ANY($1) ORDER BY w.position",
        incident_ids
    )
    .fetch_all(db)
    .await
}

/// The tasks of several incidents' workstreams at once.
pub async fn tasks_of(db: impl PgExecutor<'_>, incident_ids: &[Uuid]) -> Rows<TaskRow> {
    task_rows!(
        "JOIN workstreams w ON w.id = t.workstream_id
         WHERE w.incident_id = ANY($1) ORDER BY t.position, t.created_at",
        incident_ids
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Found<WorkstreamRow> {
    workstream_rows!("WHERE w.id = $1", id)
        .fetch_optional(db)
        .await
}

/// Every task of the incident's workstreams, in order.
pub async fn tasks(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<TaskRow> {
    task_rows!(
        "JOIN workstreams w ON w.id = t.workstream_id
         WHERE w.incident_id = $1 ORDER BY t.position, t.created_at",
        incident_id
    )
    .fetch_all(db)
    .await
}

pub async fn find_task(db: impl PgExecutor<'_>, id: Uuid) -> Found<TaskRow> {
    task_rows!("WHERE t.id = $1", id).fetch_optional(db).await
}

pub(crate) async fn insert(
    conn: &mut PgConnection,
    incident_id: Uuid,
    kind: WorkstreamKind,
    title: &str,
    lead_id: Option<Uuid>,
    objective: &str,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "INSERT INTO workstreams (id, incident_id, kind, title, lead_id, objective, position)
         VALUES ($1, $2, $3, $4, $5, $6,
                 (SELECT coalesce(max(position), 0) + 1 FROM workstreams WHERE incident_id = $2))
         RETURNING id",
        Uuid::new_v4(),
        incident_id,
        kind as WorkstreamKind,
        title,
        lead_id,
        objective
    )
    .fetch_one(conn)
    .await
}

fn clean_title(raw: &str) -> Result<String, CommandError> {
    let if_empty = "Give it a title of 1 to 200 characters.";
    Ok(text::TITLE.trimmed("title", raw, if_empty)?.to_owned())
}

/// Add a custom workstream.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn add(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    title: &str,
    lead_id: Option<Uuid>,
    objective: &str,
) -> Result<Uuid, CommandError> {
    let incident = lock(conn, incident_id).await?;
    let title = clean_title(title)?;
    text::SUMMARY.check("objective", objective)?;
    let lead = match lead_id {
        Some(id) => Some(responder(conn, id, "lead_id").await?),
        None => None,
    };
    let id = insert(
        conn,
        incident.id,
        WorkstreamKind::Custom,
        &title,
        lead_id,
        objective,
    )
    .await?;
    let body = match &lead {
        Some(lead) => format!("Workstream \"{title}\" added, led by {}.", lead.name),
        None => format!("Workstream \"{title}\" added."),
    };
    events::insert(
        conn,
        NewEvent::change(
            incident.id,
            EventKind::WorkstreamAdded,
            actor.id,
            body,
            json!({ "workstream_id": id, "kind": "custom", "title": title, "lead": lead.as_ref().map(person) }),
        )
        .in_workstream(id),
    )
    .await?;
    changed_by(conn, &incident, actor).await?;
    Ok(id)
}

/// What to change on a workstream; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct WorkstreamChanges {
    pub title: Option<String>,
    pub lead_id: Option<Uuid>,
    pub objective: Option<String>,
    pub status: Option<WorkstreamStatus>,
}

/// Change a workstream. Marking the recovery workstream done sets "mitigated" unless set.
#[tracing::instrument(skip_all, fields(workstream_id = %workstream_id))]
pub async fn change(
    conn: &mut PgConnection,
    actor: &UserRow,
    workstream_id: Uuid,
    changes: WorkstreamChanges,
) -> Result<WorkstreamRow, CommandError> {
    let (incident, before) = lock_workstream(conn, workstream_id).await?;
    let title = match changes.title.as_deref() {
        Some(title) => clean_title(title)?,
        None => before.title.clone(),
    };
    let lead = match changes.lead_id.filter(|id| Some(*id) != before.lead_id) {
        Some(lead_id) => Some(responder(conn, lead_id, "lead_id").await?),
        None => None,
    };
    if let Some(objective) = &changes.objective {
        text::SUMMARY.check("objective", objective)?;
    }
    let objective = changes.objective.as_deref().unwrap_or(&before.objective);
    let status = changes.status.unwrap_or(before.status);
    let ws = before.id;
    // Every field in one statement; what changed is logged below, in field order.
    sqlx::query!(
        "UPDATE workstreams SET title = $2, lead_id = $3, objective = $4, status = $5,
             completed_at = CASE WHEN status = $5 THEN completed_at
                                 WHEN $5 = 'done'::workstream_status THEN now() END
         WHERE id = $1",
        ws,
        title,
        lead.as_ref().map_or(before.lead_id, |l| Some(l.id)),
        objective,
        status as WorkstreamStatus
    )
    .execute(&mut *conn)
    .await?;

    let change = |kind, body: String, data| {
        NewEvent::change(incident.id, kind, actor.id, body, data).in_workstream(ws)
    };
    if title != before.title {
        let body = format!("Workstream \"{}\" renamed to \"{title}\".", before.title);
        let data =
            json!({ "workstream_id": ws, "field": "title", "old": before.title, "new": title });
        events::insert(conn, change(EventKind::WorkstreamChanged, body, data)).await?;
    }
    if let Some(lead) = lead {
        let how = if lead.id == actor.id {
            "took"
        } else {
            "handed"
        };
        let body = if how == "took" {
            format!("{} took the lead of {}.", actor.name, before.title)
        } else {
            format!(
                "{} handed the lead of {} to {}.",
                actor.name, before.title, lead.name
            )
        };
        let old = before
            .lead_id
            .zip(before.lead_name.clone())
            .map(|(id, name)| json!({ "id": id, "name": name }));
        let data = json!({ "role": "workstream", "workstream_id": ws, "old": old, "new": person(&lead), "by": person(actor), "how": how });
        events::insert(conn, change(EventKind::CommandChanged, body, data)).await?;
    }
    if objective != before.objective {
        let body = format!("Objective of {} changed.", before.title);
        let data = json!({ "workstream_id": ws, "field": "objective", "old": before.objective, "new": objective });
        events::insert(conn, change(EventKind::WorkstreamChanged, body, data)).await?;
    }
    if status != before.status {
        let body = match status {
            WorkstreamStatus::Done => format!("{} marked done.", before.title),
            WorkstreamStatus::Active => format!("{} reopened.", before.title),
        };
        let data =
            json!({ "workstream_id": ws, "field": "status", "old": before.status, "new": status });
        events::insert(conn, change(EventKind::WorkstreamChanged, body, data)).await?;
        if status == WorkstreamStatus::Done
            && before.kind == WorkstreamKind::Recovery
            && incident.mitigated_at.is_none()
        {
            super::change::set_milestone_automatically(
                conn,
                &incident,
                actor,
                crate::incidents::Milestone::Mitigated,
                "the recovery workstream was marked done",
            )
            .await?;
        }
    }
    changed_by(conn, &incident, actor).await?;
    find(&mut *conn, ws).await?.ok_or(CommandError::NotFound)
}

/// The workstream with its incident locked, read again under the lock: a concurrent
/// change has finished by now.
async fn lock_workstream(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<(IncidentRow, WorkstreamRow), CommandError> {
    let found = find(&mut *conn, id).await?;
    let incident = lock(conn, found.ok_or(CommandError::NotFound)?.incident_id).await?;
    let ws = find(&mut *conn, id).await?.ok_or(CommandError::NotFound)?;
    Ok((incident, ws))
}

/// Add a task to a workstream.
#[tracing::instrument(skip_all, fields(workstream_id = %workstream_id))]
pub async fn add_task(
    conn: &mut PgConnection,
    actor: &UserRow,
    workstream_id: Uuid,
    title: &str,
    assignee_id: Option<Uuid>,
) -> Result<TaskRow, CommandError> {
    let (incident, ws) = lock_workstream(conn, workstream_id).await?;
    let title = clean_title(title)?;
    let assignee = match assignee_id {
        Some(id) => Some(responder(conn, id, "assignee_id").await?),
        None => None,
    };
    let id = sqlx::query_scalar!(
        "INSERT INTO tasks (id, workstream_id, title, assignee_id, position)
         VALUES ($1, $2, $3, $4,
                 (SELECT coalesce(max(position), 0) + 1 FROM tasks WHERE workstream_id = $2))
         RETURNING id",
        Uuid::new_v4(),
        ws.id,
        title,
        assignee_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let body = match &assignee {
        Some(a) => format!("Task \"{title}\" added for {}.", a.name),
        None => format!("Task \"{title}\" added."),
    };
    let data = json!({ "task_id": id, "title": title, "assignee": assignee.as_ref().map(person) });
    events::insert(
        conn,
        NewEvent::change(incident.id, EventKind::TaskAdded, actor.id, body, data)
            .in_workstream(ws.id),
    )
    .await?;
    changed_by(conn, &incident, actor).await?;
    find_task(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)
}

/// What to change on a task; `assignee_id: Some(None)` unassigns.
#[derive(Debug, Default, Clone)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub assignee_id: Option<Option<Uuid>>,
    pub done: Option<bool>,
}

#[tracing::instrument(skip_all, fields(task_id = %task_id))]
pub async fn change_task(
    conn: &mut PgConnection,
    actor: &UserRow,
    task_id: Uuid,
    changes: TaskChanges,
) -> Result<TaskRow, CommandError> {
    let found = find_task(&mut *conn, task_id).await?;
    let workstream_id = found.ok_or(CommandError::NotFound)?.workstream_id;
    let (incident, ws) = lock_workstream(conn, workstream_id).await?;
    // Read again under the incident's lock: a concurrent change has finished by now.
    let task = find_task(&mut *conn, task_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let title = match changes.title.as_deref() {
        Some(title) => clean_title(title)?,
        None => task.title.clone(),
    };
    let assignee = match changes.assignee_id.filter(|a| *a != task.assignee_id) {
        Some(Some(id)) => Some(Some(responder(conn, id, "assignee_id").await?)),
        Some(None) => Some(None),
        None => None,
    };
    let assignee_id = match &assignee {
        Some(assignee) => assignee.as_ref().map(|a| a.id),
        None => task.assignee_id,
    };
    let done = changes.done.filter(|d| *d != task.done_at.is_some());
    // Every field in one statement; what changed is logged below, in field order.
    sqlx::query!(
        "UPDATE tasks SET title = $2, assignee_id = $3,
             done_at = CASE WHEN $4::bool IS NULL THEN done_at WHEN $4 THEN now() END
         WHERE id = $1",
        task.id,
        title,
        assignee_id,
        done
    )
    .execute(&mut *conn)
    .await?;

    let event = |body: String, data| {
        NewEvent::change(incident.id, EventKind::TaskChanged, actor.id, body, data)
            .in_workstream(ws.id)
    };
    if title != task.title {
        let body = format!("Task \"{}\" renamed to \"{title}\".", task.title);
        let data = json!({ "task_id": task.id, "field": "title", "old": task.title, "new": title });
        events::insert(conn, event(body, data)).await?;
    }
    if let Some(assignee) = assignee {
        let body = match &assignee {
            Some(a) => format!("Task \"{}\" assigned to {}.", task.title, a.name),
            None => format!("Task \"{}\" unassigned.", task.title),
        };
        let old = task
            .assignee_id
            .zip(task.assignee_name.clone())
            .map(|(id, name)| json!({ "id": id, "name": name }));
        let data = json!({ "task_id": task.id, "field": "assignee", "old": old, "new": assignee.as_ref().map(person) });
        events::insert(conn, event(body, data)).await?;
    }
    if let Some(done) = done {
        let body = if done {
            format!("Task \"{}\" done.", task.title)
        } else {
            format!("Task \"{}\" reopened.", task.title)
        };
        let data = json!({ "task_id": task.id, "field": "done", "old": !done, "new": done });
        events::insert(conn, event(body, data)).await?;
    }
    changed_by(conn, &incident, actor).await?;
    find_task(&mut *conn, task.id)
        .await?
        .ok_or(CommandError::NotFound)
}
