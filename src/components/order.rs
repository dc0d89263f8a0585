//! The order of components within their groups, and of the groups.

use sqlx::PgConnection;
use uuid::Uuid;

use super::find;

/// Move a component to `position` (1-based) among its siblings, renumbering them.
pub async fn reposition(conn: &mut PgConnection, id: Uuid, position: i32) -> sqlx::Result<bool> {
    let Some(component) = find(&mut *conn, id).await? else {
        return Ok(false);
    };
    let siblings = sqlx::query_scalar!(
        "SELECT id FROM components WHERE group_id IS NOT DISTINCT FROM $1 \
         ORDER BY position, lower(name) FOR UPDATE",
        component.group_id
    )
    .fetch_all(&mut *conn)
    .await?;
    renumber(conn, "components", siblings, id, position).await?;
    Ok(true)
}

/// Move a group to `position` (1-based), renumbering the others.
pub async fn reposition_group(
    conn: &mut PgConnection,
    id: Uuid,
    position: i32,
) -> sqlx::Result<bool> {
    let groups = sqlx::query_scalar!(
        "SELECT id FROM component_groups ORDER BY position, lower(name) FOR UPDATE"
    )
    .fetch_all(&mut *conn)
    .await?;
    if !groups.contains(&id) {
        return Ok(false);
    }
    renumber(conn, "component_groups", groups, id, position).await?;
    Ok(true)
}

async fn renumber(
    conn: &mut PgConnection,
    table: &'static str,
    mut ordered: Vec<Uuid>,
    moving: Uuid,
    position: i32,
) -> sqlx::Result<()> {
    ordered.retain(|other| *other != moving);
    let index = usize::try_from(position.max(1) - 1)
        .unwrap_or(0)
        .min(ordered.len());
    ordered.insert(index, moving);
    let positions: Vec<i32> = (1..=ordered.len() as i32).collect();
    // Runtime SQL: the same statement serves two tables, named by the two callers above.
    sqlx::query(&format!(
        "UPDATE {table} t SET position = p.position, updated_at = now() \
         FROM unnest($1::uuid[], $2::int[]) AS p(id, position) WHERE t.id = p.id"
    ))
    .bind(&ordered)
    .bind(&positions)
    .execute(conn)
    .await?;
    Ok(())
}
