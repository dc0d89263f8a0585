//! Public updates: what customers read on the status page.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::IncidentEvent;
use super::{changed_by, lock, CommandError, Found, Rows};
use crate::accounts::users::UserRow;
use crate::components::Audience;
use crate::components::ComponentStatus;
use crate::incidents::{EventKind, IncidentStatus, Visibility};
use crate::platform::text;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UpdateRow {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub status: IncidentStatus,
    pub body: String,
    pub notify: bool,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    /// `[{"code", "name", "old_status", "new_status"}]`, or null when none changed.
    pub affected_components: Option<Value>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub display_at: OffsetDateTime,
}

/// A query for whole update rows, checked at compile time: `$rest` follows
/// `SELECT <every column> FROM incident_updates p LEFT JOIN users u ON u.id = p.author_id`.
macro_rules! update_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            UpdateRow,
            r#"SELECT p.id, p.incident_id, p.status AS "status: IncidentStatus", p.body, p.notify,
                      p.author_id, u.name AS "author_name?", p.affected_components, p.created_at,
                      p.updated_at, p.display_at
               FROM incident_updates p LEFT JOIN users u ON u.id = p.author_id "# + $rest
            $(, $arg)*
        )
    };
}

/// The updates of an incident, newest first.
pub async fn list(db: impl PgExecutor<'_>, incident_id: Uuid) -> Rows<UpdateRow> {
    update_rows!(
        "WHERE p.incident_id = $1 ORDER BY p.display_at DESC, p.created_at DESC",
        incident_id
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Found<UpdateRow> {
    update_rows!("WHERE p.id = $1", id).fetch_optional(db).await
}

#[derive(Debug, Clone)]
pub struct NewUpdate {
    pub status: IncidentStatus,
    pub body: String,
    pub components: Vec<(Uuid, ComponentStatus)>,
    pub notify: bool,
    /// The name customers see; the first update publishes under it (the internal title
    /// when `None`), a later one renames.
    pub title: Option<String>,
}

/// Post a public update: the update, the incident's new status, component changes, the
/// log entries for all of them, and the domain event subscribers are notified from.
/// The first update of a public incident puts it on the status page.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn post_update(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    update: NewUpdate,
) -> Result<UpdateRow, CommandError> {
    let incident = lock(conn, incident_id).await?;
    let if_empty = "Write the update customers will read.";
    let body = text::MARKDOWN.trimmed("body", &update.body, if_empty)?;
    let title = update
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(title) = title {
        super::publish::valid_public_title(title)?;
    }
    let publishing = incident.visibility == Visibility::Public && incident.published_at.is_none();
    let audience = if incident.visibility == Visibility::Public {
        Audience::Public
    } else {
        Audience::Responders
    };
    let mut affected = Vec::new();
    let mut components = update.components.clone();
    components.sort_by_key(|(id, _)| *id);
    components.dedup_by_key(|(id, _)| *id);
    super::publish::lock_components(conn, incident.id, &components).await?;
    for (component_id, status) in &components {
        let before = crate::components::find(&mut *conn, *component_id).await?;
        super::add_component(conn, actor, &incident, *component_id, *status, audience).await?;
        if let Some(before) = before.filter(|b| b.public_status != *status && !publishing) {
            if audience == Audience::Public {
                affected.push(json!({
                    "code": component_id,
                    "name": before.name,
                    "old_status": before.public_status,
                    "new_status": status,
                }));
            }
        }
    }
    let mut published_as = None;
    if publishing {
        let (as_title, shown) = super::publish::publish(conn, actor, &incident, title).await?;
        published_as = Some(as_title);
        affected = shown;
    } else if let Some(title) = title.filter(|_| incident.published_at.is_some()) {
        super::publish::set_public_title(conn, actor, &incident, title).await?;
    }
    // Subscribers heard of the incident if an update since its publication notified them.
    let announced = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM incident_updates p JOIN incidents i ON i.id = p.incident_id
           WHERE p.incident_id = $1 AND p.notify AND p.created_at >= i.published_at) AS "x!""#,
        incident.id
    )
    .fetch_one(&mut *conn)
    .await?;
    super::change::set_status(conn, actor, &incident, update.status).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO incident_updates
             (id, incident_id, status, body, notify, author_id, affected_components)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        Uuid::new_v4(),
        incident.id,
        update.status as IncidentStatus,
        body,
        update.notify,
        actor.id,
        (!affected.is_empty()).then(|| Value::Array(affected.clone()))
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE incidents SET last_public_update_at = now() WHERE id = $1",
        incident.id
    )
    .execute(&mut *conn)
    .await?;
    let notified = if update.notify {
        ""
    } else {
        " (subscribers not notified)"
    };
    let published = match &published_as {
        Some(title) => format!(", putting the incident on the status page as \"{title}\""),
        None => String::new(),
    };
    let event_body = format!(
        "Public update posted ({}){notified}{published}:\n\n{body}",
        update.status.label()
    );
    let data = json!({
        "update_id": id,
        "status": update.status,
        "notify": update.notify,
        "components": affected,
        "published": publishing,
        "public_title": published_as,
    });
    events::insert(
        conn,
        NewEvent::change(
            incident.id,
            EventKind::UpdatePosted,
            actor.id,
            event_body,
            data,
        ),
    )
    .await?;
    changed_by(conn, &incident, actor).await?;
    IncidentEvent::UpdatePosted {
        incident_id: incident.id,
        update_id: id,
        public: incident.visibility == Visibility::Public,
        notify: update.notify,
        announces: publishing || !announced,
        resolved: update.status.is_resolved(),
    }
    .record(conn)
    .await?;
    find(&mut *conn, id).await?.ok_or(CommandError::NotFound)
}
