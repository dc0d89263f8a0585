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
    let rows = sqlx::query!(
        r#"SELECT component_id AS "component_id!", changed_at AS "changed_at!",
                  new_status AS "new_status!: ComponentStatus"
           FROM (SELECT DISTINCT ON (component_id) component_id, changed_at, new_status, id
                 FROM component_status_changes WHERE public AND changed_at < $1
                 ORDER BY component_id, changed_at DESC, id DESC) before
           UNION ALL
           SELECT component_id, changed_at, new_status FROM component_status_changes
           WHERE public AND changed_at >= $1
           ORDER BY 1, 2"#,
        since
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.component_id, r.changed_at, r.new_status))
        .collect())
}

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
    let rows = sqlx::query_as!(
        DayRow,
        r#"SELECT component_id, day, degraded_seconds, partial_seconds, major_seconds,
                  maintenance_seconds, tracked_seconds, worst_status AS "worst_status: ComponentStatus"
           FROM component_uptime_days WHERE day >= $1 ORDER BY component_id, day"#,
        since
    )
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
    let rows = sqlx::query!(
        r#"SELECT c.id,
                  (SELECT max(day) FROM component_uptime_days d WHERE d.component_id = c.id) AS last_day,
                  (SELECT min(changed_at) FROM component_status_changes h
                   WHERE h.component_id = c.id AND h.public) AS "first_change!"
           FROM components c
           WHERE EXISTS (SELECT 1 FROM component_status_changes h WHERE h.component_id = c.id AND h.public)"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.last_day, r.first_change))
        .collect())
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
    sqlx::query!(
        "INSERT INTO component_uptime_days (component_id, day, degraded_seconds, partial_seconds,
             major_seconds, maintenance_seconds, tracked_seconds, worst_status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (component_id, day) DO UPDATE SET degraded_seconds = $3, partial_seconds = $4,
             major_seconds = $5, maintenance_seconds = $6, tracked_seconds = $7, worst_status = $8",
        component_id,
        day,
        secs(b.degraded),
        secs(b.partial),
        secs(b.major),
        secs(b.maintenance),
        secs(b.tracked),
        worst as ComponentStatus
    )
    .execute(conn)
    .await?;
    Ok(())
}
