//! What a component depends on, and the trouble upstream of a component: every component
//! it depends on, directly or through others, whose status is not operational. Setting a
//! component's dependencies refuses a cycle; the changes take one advisory lock, so two
//! concurrent changes cannot make one between them.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::ComponentStatus;
use crate::platform::audit::{self, AuditAction};
use crate::platform::command::CommandError;

/// The components `id` depends on directly, by name.
pub async fn of(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    let rows = sqlx::query!(
        "SELECT c.id, c.name FROM component_dependencies d \
         JOIN components c ON c.id = d.depends_on_id \
         WHERE d.component_id = $1 ORDER BY lower(c.name)",
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}

/// Trouble upstream of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    /// The component that depends on it.
    pub component_id: Uuid,
    pub upstream_id: Uuid,
    pub upstream_name: String,
    pub status: ComponentStatus,
}

impl Upstream {
    /// "upstream: cache-dc1 is down (major outage)".
    pub fn words(&self) -> String {
        let how = match self.status {
            ComponentStatus::MajorOutage => "is down (major outage)",
            ComponentStatus::PartialOutage => "has a partial outage",
            ComponentStatus::DegradedPerformance => "has degraded performance",
            ComponentStatus::UnderMaintenance => "is under maintenance",
            ComponentStatus::Operational => "is operational",
        };
        format!("upstream: {} {how}", self.upstream_name)
    }
}

/// The trouble upstream of each of `ids`: components they depend on (through any number
/// of others) whose status responders see is not operational.
pub async fn upstream_trouble(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> sqlx::Result<Vec<Upstream>> {
    let rows = sqlx::query!(
        r#"WITH RECURSIVE up (start, id, depth) AS (
               SELECT component_id, depends_on_id, 1 FROM component_dependencies
               WHERE component_id = ANY($1)
               UNION
               SELECT up.start, d.depends_on_id, up.depth + 1
               FROM up JOIN component_dependencies d ON d.component_id = up.id
               WHERE up.depth < 32)
           SELECT DISTINCT up.start AS "start!", c.id, c.name,
                  c.status AS "status: ComponentStatus"
           FROM up JOIN components c ON c.id = up.id
           WHERE c.status <> 'operational'
           ORDER BY 1, 3"#,
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Upstream {
            component_id: r.start,
            upstream_id: r.id,
            upstream_name: r.name,
            status: r.status,
        })
        .collect())
}

/// Make `id` depend on exactly `depends_on`. Refused: itself, a component that does not
/// exist, or one that depends on `id` already (directly or through others).
pub async fn set(
    conn: &mut PgConnection,
    actor: Option<Uuid>,
    id: Uuid,
    depends_on: &[Uuid],
) -> Result<Vec<(Uuid, String)>, CommandError> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('component_dependencies'))")
        .execute(&mut *conn)
        .await?;
    let name = sqlx::query_scalar!("SELECT name FROM components WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CommandError::NotFound)?;
    let mut wanted = depends_on.to_vec();
    wanted.sort();
    wanted.dedup();
    if wanted.contains(&id) {
        return Err(CommandError::invalid(
            "depends_on",
            format!("{name} cannot depend on itself."),
        ));
    }
    if wanted.len() > 100 {
        return Err(CommandError::invalid(
            "depends_on",
            "A component depends on at most 100 others.",
        ));
    }
    let known = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM components WHERE id = ANY($1)"#,
        &wanted
    )
    .fetch_one(&mut *conn)
    .await?;
    if known != wanted.len() as i64 {
        return Err(CommandError::invalid(
            "depends_on",
            "One of the components chosen does not exist (any more).",
        ));
    }
    // A cycle: one of the new dependencies reaches `id` through the others' edges.
    let back = sqlx::query_scalar!(
        r#"WITH RECURSIVE reach (first, id, depth) AS (
               SELECT dep, dep, 0 FROM unnest($2::uuid[]) AS dep
               UNION
               SELECT reach.first, d.depends_on_id, reach.depth + 1
               FROM reach JOIN component_dependencies d ON d.component_id = reach.id
               WHERE d.component_id <> $1 AND reach.depth < 64)
           SELECT c.name FROM reach JOIN components c ON c.id = reach.first
           WHERE reach.id = $1 LIMIT 1"#,
        id,
        &wanted
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(other) = back {
        return Err(CommandError::invalid(
            "depends_on",
            format!(
                "That would make a cycle: {other} depends on {name} already (directly or through others)."
            ),
        ));
    }
    sqlx::query!(
        "DELETE FROM component_dependencies WHERE component_id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO component_dependencies (component_id, depends_on_id) \
         SELECT $1, unnest($2::uuid[])",
        id,
        &wanted
    )
    .execute(&mut *conn)
    .await?;
    let now = of(&mut *conn, id).await?;
    let action = AuditAction::ComponentDependenciesSet {
        component_id: id,
        depends_on: now.iter().map(|(_, n)| n.clone()).collect(),
    };
    audit::log(&mut *conn, actor, &action).await?;
    Ok(now)
}
