//! What the history pages and the single incident or maintenance pages read when the
//! snapshot does not hold it.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::data::{self, public_incidents, without_details, PublicIncident, PublicMaintenance};
use crate::maintenance;

/// One public incident with its updates, components and postmortem.
pub async fn incident(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<PublicIncident>> {
    let found = public_incidents!("WHERE id = $1", id)
        .fetch_all(pool)
        .await?;
    let found = without_details(found).pop();
    let Some(found) = found else {
        return Ok(None);
    };
    let mut one = [found];
    data::attach_details(&mut *pool.acquire().await?, &mut one).await?;
    let [found] = one;
    Ok(Some(found))
}

/// One maintenance with its updates and components.
pub async fn maintenance(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<PublicMaintenance>> {
    let Some(row) = maintenance::find(pool, id).await? else {
        return Ok(None);
    };
    Ok(data::with_details(&mut *pool.acquire().await?, vec![row])
        .await?
        .pop())
}

/// Incidents declared and maintenances scheduled in `[from, until)`, newest first.
pub struct Window {
    pub incidents: Vec<PublicIncident>,
    pub maintenances: Vec<PublicMaintenance>,
    /// Whether anything is older than `from` (another page follows).
    pub older: bool,
}

pub async fn window(
    pool: &PgPool,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> sqlx::Result<Window> {
    let rows = public_incidents!(
        "WHERE declared_at >= $1 AND declared_at < $2 ORDER BY declared_at DESC LIMIT 500",
        from,
        until
    )
    .fetch_all(pool)
    .await?;
    let mut incidents = without_details(rows);
    data::attach_details(&mut *pool.acquire().await?, &mut incidents).await?;
    let windows = maintenance::in_window(pool, from, until).await?;
    let maintenances = data::with_details(&mut *pool.acquire().await?, windows).await?;
    let older = sqlx::query_scalar!(
        r#"SELECT (EXISTS (SELECT 1 FROM public_incidents WHERE declared_at < $1)
               OR EXISTS (SELECT 1 FROM maintenances WHERE scheduled_for < $1)) AS "older!""#,
        from
    )
    .fetch_one(pool)
    .await?;
    Ok(Window {
        incidents,
        maintenances,
        older,
    })
}
