//! Maintenance commands: schedule, move, post updates and move through the statuses,
//! putting components under maintenance and back, with the domain events subscribers
//! hear of.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{find, MaintenanceEvent, MaintenanceRow, MaintenanceStatus, END_JOB, START_JOB};
use crate::accounts::users::UserRow;
use crate::components::ComponentStatus;
use crate::components::{self, Audience, Cause};
use crate::incidents::CommandError;
use crate::platform::jobs::queue::{self, NewJob};
use crate::platform::text;

#[derive(Debug, Clone)]
pub struct MaintenanceDraft {
    pub title: String,
    pub description: String,
    pub scheduled_for: OffsetDateTime,
    pub scheduled_until: OffsetDateTime,
    pub components: Vec<Uuid>,
    pub auto_components: bool,
    /// When email subscribers are reminded, in minutes before the start; `None`: the
    /// defaults for a new maintenance, unchanged for a moved one.
    pub reminder_minutes: Option<Vec<i32>>,
}

/// Reminders from 5 minutes to 30 days ahead, at most five, each once, longest first.
fn check_reminders(minutes: &[i32]) -> Result<Vec<i32>, CommandError> {
    let mut minutes = minutes.to_vec();
    minutes.sort_unstable_by(|a, b| b.cmp(a));
    minutes.dedup();
    if minutes.len() > 5 {
        return Err(CommandError::invalid(
            "reminder_minutes",
            "Set at most five reminders.",
        ));
    }
    if let Some(bad) = minutes.iter().find(|m| !(5..=43_200).contains(*m)) {
        return Err(CommandError::invalid(
            "reminder_minutes",
            format!("A reminder goes 5 minutes to 30 days (43,200 minutes) ahead, not {bad}."),
        ));
    }
    Ok(minutes)
}

async fn set_reminders(
    conn: &mut PgConnection,
    id: Uuid,
    minutes: Option<&[i32]>,
) -> Result<(), CommandError> {
    if let Some(minutes) = minutes {
        let minutes = check_reminders(minutes)?;
        sqlx::query!(
            "UPDATE maintenances SET reminder_minutes = $2 WHERE id = $1",
            id,
            &minutes
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

fn validate(draft: &MaintenanceDraft) -> Result<String, CommandError> {
    let if_empty = "Give the maintenance a title of 1 to 200 characters.";
    let title = text::TITLE.trimmed("title", &draft.title, if_empty)?;
    text::MARKDOWN.check("description", &draft.description)?;
    if draft.scheduled_until <= draft.scheduled_for {
        return Err(CommandError::invalid(
            "scheduled_until",
            "The window must end after it starts.",
        ));
    }
    Ok(title.to_owned())
}

/// Enqueue the jobs that start and end the window (idempotent: a stale job finds the
/// maintenance moved on and does nothing).
async fn schedule_jobs(conn: &mut PgConnection, m: &MaintenanceRow) -> sqlx::Result<()> {
    for (kind, at) in [(START_JOB, m.scheduled_for), (END_JOB, m.scheduled_until)] {
        let mut job = NewJob::new(kind, json!({ "maintenance_id": m.id }));
        job.run_at = Some(at);
        job.dedupe_key = Some(format!("{kind}:{}:{}", m.id, at.unix_timestamp()));
        queue::enqueue(&mut *conn, job).await?;
    }
    Ok(())
}

async fn set_components(
    conn: &mut PgConnection,
    id: Uuid,
    components: &[Uuid],
) -> Result<(), CommandError> {
    sqlx::query!(
        "DELETE FROM maintenance_components WHERE maintenance_id = $1 AND NOT component_id = ANY($2)",
        id,
        components
    )
    .execute(&mut *conn)
    .await?;
    for component in components {
        let inserted = sqlx::query!(
            "INSERT INTO maintenance_components (maintenance_id, component_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
            id,
            component
        )
        .execute(&mut *conn)
        .await;
        if let Err(err) = inserted {
            if err
                .as_database_error()
                .is_some_and(|e| e.is_foreign_key_violation())
            {
                return Err(CommandError::invalid(
                    "components",
                    format!("There is no component with the id {component}."),
                ));
            }
            return Err(err.into());
        }
    }
    Ok(())
}

/// Schedule a maintenance; its start and end are queued as jobs in the same transaction.
pub async fn schedule(
    conn: &mut PgConnection,
    actor: &UserRow,
    draft: MaintenanceDraft,
) -> Result<MaintenanceRow, CommandError> {
    let title = validate(&draft)?;
    let row = sqlx::query_as!(
        MaintenanceRow,
        r#"INSERT INTO maintenances (id, title, description, scheduled_for, scheduled_until,
                                     auto_components, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id, title, description, status AS "status: MaintenanceStatus", scheduled_for,
                     scheduled_until, auto_components, started_at, completed_at, version,
                     created_at, updated_at"#,
        Uuid::new_v4(),
        title,
        draft.description.trim(),
        draft.scheduled_for,
        draft.scheduled_until,
        draft.auto_components,
        actor.id
    )
    .fetch_one(&mut *conn)
    .await?;
    set_components(conn, row.id, &draft.components).await?;
    set_reminders(conn, row.id, draft.reminder_minutes.as_deref()).await?;
    schedule_jobs(conn, &row).await?;
    MaintenanceEvent::Scheduled {
        maintenance_id: row.id,
    }
    .record(conn)
    .await?;
    Ok(row)
}

/// Change the plan of a maintenance that has not finished.
pub async fn reschedule(
    conn: &mut PgConnection,
    id: Uuid,
    version: i32,
    draft: MaintenanceDraft,
) -> Result<MaintenanceRow, CommandError> {
    let current = lock_version(conn, id, version).await?;
    if !current.status.is_open() {
        return Err(CommandError::invalid(
            "status",
            "A finished maintenance cannot be changed.",
        ));
    }
    let title = validate(&draft)?;
    let row = sqlx::query_as!(
        MaintenanceRow,
        r#"UPDATE maintenances SET title = $2, description = $3, scheduled_for = $4,
               scheduled_until = $5, auto_components = $6, version = version + 1, updated_at = now()
           WHERE id = $1
           RETURNING id, title, description, status AS "status: MaintenanceStatus", scheduled_for,
                     scheduled_until, auto_components, started_at, completed_at, version,
                     created_at, updated_at"#,
        id,
        title,
        draft.description.trim(),
        draft.scheduled_for,
        draft.scheduled_until,
        draft.auto_components
    )
    .fetch_one(&mut *conn)
    .await?;
    set_components(conn, id, &draft.components).await?;
    set_reminders(conn, id, draft.reminder_minutes.as_deref()).await?;
    schedule_jobs(conn, &row).await?;
    MaintenanceEvent::Rescheduled { maintenance_id: id }
        .record(conn)
        .await?;
    Ok(row)
}

/// Lock the maintenance for a change made from what was read at `version`: a stale
/// version is refused, so no one's change is overwritten unseen.
pub async fn lock_version(
    conn: &mut PgConnection,
    id: Uuid,
    version: i32,
) -> Result<MaintenanceRow, CommandError> {
    let current = lock(conn, id).await?;
    CommandError::unless_version(version, current.version)?;
    Ok(current)
}

async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<MaintenanceRow, CommandError> {
    super::maintenance_rows!("FROM maintenances WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await?
        .ok_or(CommandError::NotFound)
}

/// The words of the update posted when a maintenance moves to `status` on its own.
pub fn default_message(status: MaintenanceStatus) -> &'static str {
    match status {
        MaintenanceStatus::Scheduled => "The maintenance is scheduled.",
        MaintenanceStatus::InProgress => "The scheduled maintenance is now in progress.",
        MaintenanceStatus::Verifying => {
            "The maintenance work is done; we are verifying that everything works."
        }
        MaintenanceStatus::Completed => "The scheduled maintenance has been completed.",
        MaintenanceStatus::Cancelled => "The scheduled maintenance has been cancelled.",
    }
}

/// Move a maintenance to `status` with an update (`body`, or the default words). Starting
/// puts its components under maintenance (when asked); finishing restores them.
pub async fn transition(
    conn: &mut PgConnection,
    actor: Option<&UserRow>,
    id: Uuid,
    status: MaintenanceStatus,
    body: Option<&str>,
    notify: bool,
) -> Result<MaintenanceRow, CommandError> {
    if let Some(body) = body {
        text::MARKDOWN.check("body", body)?;
    }
    let current = lock(conn, id).await?;
    let allowed = match (current.status, status) {
        (from, to) if from == to => to != MaintenanceStatus::Scheduled,
        (MaintenanceStatus::Scheduled, _) => true,
        (
            MaintenanceStatus::InProgress,
            MaintenanceStatus::Verifying
            | MaintenanceStatus::Completed
            | MaintenanceStatus::Cancelled,
        ) => true,
        (
            MaintenanceStatus::Verifying,
            MaintenanceStatus::InProgress
            | MaintenanceStatus::Completed
            | MaintenanceStatus::Cancelled,
        ) => true,
        _ => false,
    };
    if !allowed {
        return Err(CommandError::invalid(
            "status",
            format!(
                "A maintenance that is {} cannot become {}.",
                current.status.label().to_lowercase(),
                status.label().to_lowercase()
            ),
        ));
    }
    let by = actor.map(|a| a.id);
    if status != current.status {
        sqlx::query!(
            "UPDATE maintenances SET status = $2::maintenance_status, version = version + 1, \
                 updated_at = now(), \
                 started_at = CASE WHEN $2::maintenance_status IN ('in_progress', 'verifying') \
                     THEN coalesce(started_at, now()) ELSE started_at END, \
                 completed_at = CASE WHEN $2::maintenance_status IN ('completed', 'cancelled') \
                     THEN now() ELSE completed_at END \
             WHERE id = $1",
            id,
            status as MaintenanceStatus
        )
        .execute(&mut *conn)
        .await?;
        if current.auto_components {
            if status.is_active() && !current.status.is_active() {
                put_under_maintenance(conn, id, by).await?;
            } else if !status.is_open() && current.status.is_active() {
                restore(conn, id, by).await?;
            }
        }
    }
    let body = body
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or(default_message(status));
    sqlx::query!(
        "INSERT INTO maintenance_updates (id, maintenance_id, status, body, notify, author_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        Uuid::new_v4(),
        id,
        status as MaintenanceStatus,
        body,
        notify,
        by
    )
    .execute(&mut *conn)
    .await?;
    MaintenanceEvent::UpdatePosted {
        maintenance_id: id,
        from: current.status,
        to: status,
        notify,
    }
    .record(conn)
    .await?;
    find(&mut *conn, id).await?.ok_or(CommandError::NotFound)
}

async fn put_under_maintenance(
    conn: &mut PgConnection,
    id: Uuid,
    by: Option<Uuid>,
) -> Result<(), CommandError> {
    let members = sqlx::query_scalar!(
        "SELECT component_id FROM maintenance_components WHERE maintenance_id = $1 \
         ORDER BY component_id",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    for component in members {
        let before = sqlx::query!(
            r#"SELECT status AS "status: ComponentStatus", public_status AS "public_status: ComponentStatus"
               FROM components WHERE id = $1 FOR UPDATE"#,
            component
        )
        .fetch_one(&mut *conn)
        .await?;
        let before = (before.status, before.public_status);
        let old = components::set_status(
            conn,
            component,
            ComponentStatus::UnderMaintenance,
            by,
            Cause::Maintenance(id),
            Audience::Public,
        )
        .await?;
        if old.is_some() || before.1 != ComponentStatus::UnderMaintenance {
            sqlx::query!(
                "UPDATE maintenance_components SET previous_status = $3, previous_public_status = $4 \
                 WHERE maintenance_id = $1 AND component_id = $2",
                id,
                component,
                before.0 as ComponentStatus,
                before.1 as ComponentStatus
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Give components back the status they had, what customers saw and what responders
/// knew each, unless someone changed it meanwhile.
async fn restore(conn: &mut PgConnection, id: Uuid, by: Option<Uuid>) -> Result<(), CommandError> {
    let members = sqlx::query!(
        r#"SELECT mc.component_id, mc.previous_status AS "previous_status: ComponentStatus",
                  mc.previous_public_status AS "previous_public_status: ComponentStatus",
                  c.status AS "status: ComponentStatus", c.public_status AS "public_status: ComponentStatus"
           FROM maintenance_components mc JOIN components c ON c.id = mc.component_id
           WHERE mc.maintenance_id = $1 ORDER BY mc.component_id"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let members = members.into_iter().map(|m| {
        (
            m.component_id,
            m.previous_status,
            m.previous_public_status,
            m.status,
            m.public_status,
        )
    });
    let cause = Cause::Maintenance(id);
    let maintenance = ComponentStatus::UnderMaintenance;
    for (component, previous, previous_public, known, public) in members {
        if known == maintenance && public == maintenance && previous == previous_public {
            if let Some(previous) = previous {
                components::set_status(conn, component, previous, by, cause, Audience::Public)
                    .await?;
            }
            continue;
        }
        if let (Some(previous_public), true) = (previous_public, public == maintenance) {
            components::set_public_status(conn, component, previous_public, by, cause).await?;
        }
        if let (Some(previous), true) = (previous, known == maintenance) {
            components::set_status(conn, component, previous, by, cause, Audience::Responders)
                .await?;
        }
    }
    Ok(())
}

/// Post an update without changing anything else.
pub async fn post_update(
    conn: &mut PgConnection,
    actor: &UserRow,
    id: Uuid,
    status: MaintenanceStatus,
    body: &str,
    notify: bool,
) -> Result<MaintenanceRow, CommandError> {
    if body.trim().is_empty() {
        return Err(CommandError::invalid(
            "body",
            "Write the update customers will read.",
        ));
    }
    transition(conn, Some(actor), id, status, Some(body), notify).await
}

/// What the start/end jobs do: start at the window's start, complete at its end, unless
/// a person already moved it (or moved the window).
pub async fn advance(
    conn: &mut PgConnection,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<MaintenanceStatus>, CommandError> {
    let Some(current) = find(&mut *conn, id).await? else {
        return Ok(None);
    };
    let next = match current.status {
        MaintenanceStatus::Scheduled if now >= current.scheduled_until => {
            Some(MaintenanceStatus::Completed)
        }
        MaintenanceStatus::Scheduled if now >= current.scheduled_for => {
            Some(MaintenanceStatus::InProgress)
        }
        MaintenanceStatus::InProgress | MaintenanceStatus::Verifying
            if now >= current.scheduled_until =>
        {
            Some(MaintenanceStatus::Completed)
        }
        _ => None,
    };
    if let Some(status) = next {
        if current.status == MaintenanceStatus::Scheduled && status == MaintenanceStatus::Completed
        {
            // The window passed while nobody ran it (e.g. the server was down): start, then end.
            transition(conn, None, id, MaintenanceStatus::InProgress, None, false).await?;
        }
        transition(conn, None, id, status, None, true).await?;
    }
    Ok(next)
}
