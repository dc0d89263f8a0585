//! Component groups, components and their status history.

pub mod commands;
pub mod dependencies;
mod happened;
mod model;
mod order;

pub use commands::ComponentName;
pub use happened::ComponentEvent;

pub use model::ComponentStatus;
pub use order::{reposition, reposition_group};

pub use crate::platform::db::{Found, Rows};
use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub position: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ComponentRow {
    pub id: Uuid,
    pub group_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub position: i32,
    /// What responders know.
    pub status: ComponentStatus,
    /// What customers see: differs from `status` while an unpublished incident holds a
    /// change back.
    pub public_status: ComponentStatus,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub start_date: Option<Date>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A query for whole group rows, checked at compile time: every column stands between
/// `$before` (`SELECT`, or `... RETURNING`) and `$after`.
macro_rules! group_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            GroupRow,
            $before + " id, name, description, position, created_at, updated_at " + $after
            $(, $arg)*
        )
    };
}

/// The same for component rows.
macro_rules! component_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ComponentRow,
            $before
                + r#" id, group_id, name, description, position,
                      status AS "status: ComponentStatus",
                      public_status AS "public_status: ComponentStatus", showcase,
                      only_show_if_degraded, start_date, created_at, updated_at "#
                + $after
            $(, $arg)*
        )
    };
}

pub async fn list_groups(db: impl PgExecutor<'_>) -> Rows<GroupRow> {
    group_rows!(
        "SELECT",
        "FROM component_groups ORDER BY position, lower(name)"
    )
    .fetch_all(db)
    .await
}

pub async fn find_group(db: impl PgExecutor<'_>, id: Uuid) -> Found<GroupRow> {
    group_rows!("SELECT", "FROM component_groups WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// Components in display order: ungrouped ones by position, then each group's by position.
pub async fn list(db: impl PgExecutor<'_>) -> Rows<ComponentRow> {
    component_rows!(
        "SELECT",
        "FROM components c
         ORDER BY (SELECT position FROM component_groups g WHERE g.id = c.group_id) NULLS FIRST,
                  position, lower(name)"
    )
    .fetch_all(db)
    .await
}

/// [`list`] as customers see it: `status` is the public status.
pub async fn list_public(db: impl PgExecutor<'_>) -> Rows<ComponentRow> {
    let components = list(db).await?.into_iter();
    Ok(components
        .map(|c| ComponentRow {
            status: c.public_status,
            ..c
        })
        .collect())
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Found<ComponentRow> {
    component_rows!("SELECT", "FROM components WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

/// The component, locked until the transaction ends (read-modify-write without losses).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Found<ComponentRow> {
    component_rows!("SELECT", "FROM components WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(conn)
        .await
}

pub async fn lock_group(conn: &mut PgConnection, id: Uuid) -> Found<GroupRow> {
    group_rows!(
        "SELECT",
        "FROM component_groups WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn find_many(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Rows<ComponentRow> {
    component_rows!(
        "SELECT",
        "FROM components WHERE id = ANY($1) ORDER BY position",
        ids
    )
    .fetch_all(db)
    .await
}

pub async fn insert_group(
    conn: &mut PgConnection,
    name: &str,
    description: Option<&str>,
) -> sqlx::Result<GroupRow> {
    group_rows!(
        "INSERT INTO component_groups (id, name, description, position)
         VALUES ($1, $2, $3, (SELECT coalesce(max(position), 0) + 1 FROM component_groups))
         RETURNING",
        "",
        Uuid::new_v4(),
        name,
        description
    )
    .fetch_one(conn)
    .await
}

pub async fn update_group(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    description: Option<&str>,
) -> Found<GroupRow> {
    group_rows!(
        "UPDATE component_groups SET name = $2, description = $3, updated_at = now()
         WHERE id = $1 RETURNING",
        "",
        id,
        name,
        description
    )
    .fetch_optional(conn)
    .await
}

/// Delete a group; its components stay, ungrouped.
pub async fn delete_group(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM component_groups WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewComponentRow<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub group_id: Option<Uuid>,
    pub status: ComponentStatus,
    pub changed_by: Option<Uuid>,
}

/// Insert a component at the end of its group, recording its first status in the history.
pub async fn insert(
    conn: &mut PgConnection,
    new: NewComponentRow<'_>,
) -> sqlx::Result<ComponentRow> {
    let row = component_rows!(
        "INSERT INTO components (id, group_id, name, description, status, public_status, position)
         VALUES ($1, $2, $3, $4, $5, $5,
                 (SELECT coalesce(max(position), 0) + 1 FROM components
                  WHERE group_id IS NOT DISTINCT FROM $2))
         RETURNING",
        "",
        Uuid::new_v4(),
        new.group_id,
        new.name,
        new.description,
        new.status as ComponentStatus
    )
    .fetch_one(&mut *conn)
    .await?;
    record_change(
        conn,
        row.id,
        None,
        row.status,
        new.changed_by,
        Cause::None,
        true,
    )
    .await?;
    Ok(row)
}

/// Change name, description and group. Moving to another group puts it at the end there.
pub async fn update_details(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    description: Option<&str>,
    group_id: Option<Uuid>,
) -> Found<ComponentRow> {
    component_rows!(
        "UPDATE components SET name = $2, description = $3,
             position = CASE WHEN group_id IS NOT DISTINCT FROM $4 THEN position ELSE
                 (SELECT coalesce(max(position), 0) + 1 FROM components
                  WHERE group_id IS NOT DISTINCT FROM $4) END,
             group_id = $4, updated_at = now()
         WHERE id = $1 RETURNING",
        "",
        id,
        name,
        description,
        group_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM components WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What caused a status change.
#[derive(Debug, Clone, Copy)]
pub enum Cause {
    None,
    Incident(Uuid),
    Maintenance(Uuid),
    /// An active check (its proposal applied, or its recovery).
    Check(Uuid),
    /// A heartbeat gone down, or back up.
    Heartbeat(Uuid),
}

impl Cause {
    pub fn incident(self) -> Option<Uuid> {
        match self {
            Cause::Incident(id) => Some(id),
            _ => None,
        }
    }

    pub fn maintenance(self) -> Option<Uuid> {
        match self {
            Cause::Maintenance(id) => Some(id),
            _ => None,
        }
    }
}

async fn record_change(
    conn: &mut PgConnection,
    component_id: Uuid,
    old: Option<ComponentStatus>,
    new: ComponentStatus,
    by: Option<Uuid>,
    cause: Cause,
    public: bool,
) -> sqlx::Result<()> {
    let (mut incident_id, mut maintenance_id, mut check_id, mut heartbeat_id) =
        (None, None, None, None);
    match cause {
        Cause::None => {}
        Cause::Incident(id) => incident_id = Some(id),
        Cause::Maintenance(id) => maintenance_id = Some(id),
        Cause::Check(id) => check_id = Some(id),
        Cause::Heartbeat(id) => heartbeat_id = Some(id),
    }
    sqlx::query!(
        "INSERT INTO component_status_changes \
             (component_id, old_status, new_status, changed_by, incident_id, maintenance_id, \
              check_id, heartbeat_id, public) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        component_id,
        old as Option<ComponentStatus>,
        new as ComponentStatus,
        by,
        incident_id,
        maintenance_id,
        check_id,
        heartbeat_id,
        public
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Lock these components until the transaction ends, in id order (the order every
/// command takes them in, so that two commands never wait on each other).
pub async fn lock_in_order(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!(
        "SELECT 1 AS one FROM components WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(())
}

/// Who sees a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Responders and customers: the status page, feeds and webhooks show it.
    Public,
    /// Responders only, until someone publishes it (an incident not yet on the page).
    Responders,
}

/// Set a component's status and record the change; for [`Audience::Public`] also its
/// public status, telling webhook subscribers (every status change goes through here).
/// Returns the old status when the known status changed, `None` when it already was
/// `status`.
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: ComponentStatus,
    by: Option<Uuid>,
    cause: Cause,
    audience: Audience,
) -> sqlx::Result<Option<ComponentStatus>> {
    let current = sqlx::query!(
        r#"SELECT status AS "status: ComponentStatus", public_status AS "public_status: ComponentStatus"
           FROM components WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some((old, old_public)) = current.map(|c| (c.status, c.public_status)) else {
        return Err(sqlx::Error::RowNotFound);
    };
    let public = audience == Audience::Public && old_public != status;
    if old == status && !public {
        return Ok(None);
    }
    sqlx::query!(
        "UPDATE components SET status = $2, \
             public_status = CASE WHEN $3 THEN $2 ELSE public_status END, \
             updated_at = CASE WHEN $3 THEN now() ELSE updated_at END \
         WHERE id = $1",
        id,
        status as ComponentStatus,
        public
    )
    .execute(&mut *conn)
    .await?;
    // One row when customers saw what responders knew; otherwise the known change and
    // the public one each have theirs.
    if old != status && !(public && old == old_public) {
        record_change(conn, id, Some(old), status, by, cause, false).await?;
    }
    if public {
        record_change(conn, id, Some(old_public), status, by, cause, true).await?;
        ComponentEvent::PublicStatusChanged {
            component_id: id,
            old: old_public,
            new: status,
            at: OffsetDateTime::now_utc(),
            incident_id: cause.incident(),
            maintenance_id: cause.maintenance(),
        }
        .record(conn)
        .await?;
    }
    Ok((old != status).then_some(old))
}

/// Show customers what responders know of a component: its public status becomes its
/// status. Returns `(old public, new)` when that changed anything.
pub async fn publish_status(
    conn: &mut PgConnection,
    id: Uuid,
    by: Option<Uuid>,
    cause: Cause,
) -> sqlx::Result<Option<(ComponentStatus, ComponentStatus)>> {
    let status = sqlx::query_scalar!(
        r#"SELECT status AS "status: ComponentStatus" FROM components WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let status = status.ok_or(sqlx::Error::RowNotFound)?;
    set_public_status(conn, id, status, by, cause).await
}

/// Set only what customers see of a component (recorded, and sent to subscribers),
/// leaving what responders know as it is. Returns `(old public, new)` when it changed.
pub async fn set_public_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: ComponentStatus,
    by: Option<Uuid>,
    cause: Cause,
) -> sqlx::Result<Option<(ComponentStatus, ComponentStatus)>> {
    let old = sqlx::query_scalar!(
        r#"SELECT public_status AS "public_status: ComponentStatus" FROM components
           WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let old = old.ok_or(sqlx::Error::RowNotFound)?;
    if old == status {
        return Ok(None);
    }
    sqlx::query!(
        "UPDATE components SET public_status = $2, updated_at = now() WHERE id = $1",
        id,
        status as ComponentStatus
    )
    .execute(&mut *conn)
    .await?;
    record_change(conn, id, Some(old), status, by, cause, true).await?;
    ComponentEvent::PublicStatusChanged {
        component_id: id,
        old,
        new: status,
        at: OffsetDateTime::now_utc(),
        incident_id: cause.incident(),
        maintenance_id: cause.maintenance(),
    }
    .record(conn)
    .await?;
    Ok(Some((old, status)))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusChangeRow {
    pub component_id: Uuid,
    pub old_status: Option<ComponentStatus>,
    pub new_status: ComponentStatus,
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<Uuid>,
    pub incident_id: Option<Uuid>,
    pub maintenance_id: Option<Uuid>,
    /// The active check that made it, if one did.
    pub check_id: Option<Uuid>,
    /// The heartbeat that made it, if one did.
    pub heartbeat_id: Option<Uuid>,
    /// A change customers saw (otherwise responders only).
    pub public: bool,
}

/// A component's status history, oldest first.
pub async fn history(db: impl PgExecutor<'_>, component_id: Uuid) -> Rows<StatusChangeRow> {
    sqlx::query_as!(
        StatusChangeRow,
        r#"SELECT component_id, old_status AS "old_status: ComponentStatus",
                  new_status AS "new_status: ComponentStatus", changed_at, changed_by,
                  incident_id, maintenance_id, check_id, heartbeat_id, public
           FROM component_status_changes WHERE component_id = $1 ORDER BY changed_at, id"#,
        component_id
    )
    .fetch_all(db)
    .await
}
