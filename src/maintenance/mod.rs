//! Scheduled maintenance: the window, its components, its updates and its transitions.

mod happened;
pub use happened::MaintenanceEvent;

mod commands;
pub mod jobs;
mod model;

pub use commands::{
    advance, default_message, lock_version, post_update, reschedule, schedule, transition,
    MaintenanceDraft,
};
pub use model::MaintenanceStatus;

pub use crate::platform::db::{Found, Rows};
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MaintenanceRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: MaintenanceStatus,
    pub scheduled_for: OffsetDateTime,
    pub scheduled_until: OffsetDateTime,
    pub auto_components: bool,
    pub started_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MaintenanceUpdateRow {
    pub id: Uuid,
    pub maintenance_id: Uuid,
    pub status: MaintenanceStatus,
    pub body: String,
    pub notify: bool,
    pub author_name: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A query for whole maintenance rows, checked at compile time: `$rest` follows
/// `SELECT <every column>` (from `FROM ...`, or `INSERT ... RETURNING` via `returning`).
macro_rules! maintenance_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::maintenance::MaintenanceRow,
            r#"SELECT id, title, description, status AS "status: MaintenanceStatus", scheduled_for,
                      scheduled_until, auto_components, started_at, completed_at, version,
                      created_at, updated_at "# + $rest
            $(, $arg)*
        )
    };
}
pub(crate) use maintenance_rows;

/// The job kinds that move a maintenance at its start and end.
pub const START_JOB: &str = "start_maintenance";
pub const END_JOB: &str = "end_maintenance";

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Found<MaintenanceRow> {
    maintenance_rows!("FROM maintenances WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Maintenances, newest window first; `open` limits to scheduled, in progress, verifying.
pub async fn list(db: impl PgExecutor<'_>, open_only: bool, limit: i64) -> Rows<MaintenanceRow> {
    maintenance_rows!(
        "FROM maintenances WHERE NOT $1 OR status IN ('scheduled', 'in_progress', 'verifying') \
         ORDER BY scheduled_for DESC, id LIMIT $2",
        open_only,
        limit
    )
    .fetch_all(db)
    .await
}

/// Maintenances whose window overlaps `[from, to)`, newest first.
pub async fn in_window(
    db: impl PgExecutor<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Rows<MaintenanceRow> {
    maintenance_rows!(
        "FROM maintenances WHERE scheduled_for < $2 AND scheduled_until >= $1 \
         ORDER BY scheduled_for DESC",
        from,
        to
    )
    .fetch_all(db)
    .await
}

pub async fn updates(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Rows<MaintenanceUpdateRow> {
    sqlx::query_as!(
        MaintenanceUpdateRow,
        r#"SELECT m.id, m.maintenance_id, m.status AS "status: MaintenanceStatus", m.body, m.notify,
                  u.name AS "author_name?", m.created_at
           FROM maintenance_updates m LEFT JOIN users u ON u.id = m.author_id
           WHERE m.maintenance_id = ANY($1) ORDER BY m.created_at DESC"#,
        ids
    )
    .fetch_all(db)
    .await
}

/// `(maintenance_id, component_id)` pairs.
pub async fn component_links(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Rows<(Uuid, Uuid)> {
    let links = sqlx::query!(
        "SELECT maintenance_id, component_id FROM maintenance_components WHERE maintenance_id = ANY($1)",
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(links
        .into_iter()
        .map(|l| (l.maintenance_id, l.component_id))
        .collect())
}

/// When subscribers are reminded of a maintenance, in minutes before its start.
pub const DEFAULT_REMINDERS: [i32; 3] = [4320, 1440, 60];

/// The lead times of a maintenance's reminders, in minutes, longest first.
pub async fn reminder_minutes(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Vec<i32>> {
    let minutes = sqlx::query_scalar!(
        "SELECT reminder_minutes FROM maintenances WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(minutes.unwrap_or_default())
}
