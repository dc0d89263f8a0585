//! Component status history as the uptime bars need it, and its daily roll-ups.

use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::components::ComponentStatus;
use crate::status_page::DayBreakdown;

/// Public status changes of every component since `since`, preceded by each component's
/// last one before it (its public status at `since`), in time order per component.
pub async fn history_since(
    db: impl PgExecutor<'_>,
    since: OffsetDateTime,
) -> sqlx::Result<Vec<(Uuid, OffsetDateTime, ComponentStatus)>> {
    sqlx::query_as(
        "SELECT component_id, changed_at, new_status FROM ( \
             SELECT DISTINCT ON (component_id) component_id, changed_at, new_status, id \
             FROM component_status_changes WHERE public AND changed_at < $1 \
             ORDER BY component_id, changed_at DESC, id DESC) before \
         UNION ALL \
         SELECT component_id, changed_at, new_status FROM component_status_changes WHERE public AND changed_at >= $1 \
         ORDER BY 1, 2",
    )
    .bind(since)
    .fetch_all(db)
    .await
}

#[derive(sqlx::FromRow)]
struct DayRow {
    component_id: Uuid,
    day: Date,
    degraded_seconds: i32,
    partial_seconds: i32,
    major_seconds: i32,
    maintenance_seconds: i32,
    tracked_seconds: i32,
    worst_status: ComponentStatus,
}

/// Rolled-up days since `since`.
pub async fn days_since(
    db: impl PgExecutor<'_>,
    since: Date,
) -> sqlx::Result<Vec<(Uuid, Date, DayBreakdown)>> {
    let rows: Vec<DayRow> = sqlx::query_as(
        "SELECT component_id, day, degraded_seconds, partial_seconds, major_seconds, maintenance_seconds, \
                tracked_seconds, worst_status \
         FROM component_uptime_days WHERE day >= $1 ORDER BY component_id, day",
    )
    .bind(since)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let breakdown = DayBreakdown {
                degraded: r.degraded_seconds.into(),
                partial: r.partial_seconds.into(),
                major: r.major_seconds.into(),
                maintenance: r.maintenance_seconds.into(),
                tracked: r.tracked_seconds.into(),
                worst: Some(r.worst_status),
            };
            (r.component_id, r.day, breakdown)
        })
        .collect())
}

/// The newest rolled-up day of each component.
pub async fn last_rolled(
    db: impl PgExecutor<'_>,
) -> sqlx::Result<Vec<(Uuid, Option<Date>, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT c.id, (SELECT max(day) FROM component_uptime_days d WHERE d.component_id = c.id), \
                (SELECT min(changed_at) FROM component_status_changes h WHERE h.component_id = c.id AND h.public) \
         FROM components c WHERE EXISTS (SELECT 1 FROM component_status_changes h WHERE h.component_id = c.id AND h.public)",
    )
    .fetch_all(db)
    .await
}

pub async fn store_day(
    conn: &mut PgConnection,
    component_id: Uuid,
    day: Date,
    b: &DayBreakdown,
) -> sqlx::Result<()> {
    let Some(worst) = b.worst else {
        return Ok(());
    };
    let secs = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    sqlx::query(
        "INSERT INTO component_uptime_days (component_id, day, degraded_seconds, partial_seconds, major_seconds, \
             maintenance_seconds, tracked_seconds, worst_status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (component_id, day) DO UPDATE SET degraded_seconds = $3, partial_seconds = $4, \
             major_seconds = $5, maintenance_seconds = $6, tracked_seconds = $7, worst_status = $8",
    )
    .bind(component_id)
    .bind(day)
    .bind(secs(b.degraded))
    .bind(secs(b.partial))
    .bind(secs(b.major))
    .bind(secs(b.maintenance))
    .bind(secs(b.tracked))
    .bind(worst)
    .execute(conn)
    .await?;
    Ok(())
}
