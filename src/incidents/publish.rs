//! Putting an incident on the status page, on purpose: the public name and the moment of
//! publication (its first public update), which also shows customers the component
//! changes held back until then.

use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::{CommandError, IncidentRow};
use crate::accounts::users::UserRow;
use crate::components::ComponentStatus;
use crate::components::{self, Audience, Cause};
use crate::incidents::EventKind;
use crate::platform::text;

/// A public title as customers will read it: trimmed, 1 to 200 characters, one line.
pub fn valid_public_title(raw: &str) -> Result<String, CommandError> {
    let if_empty = "Give customers a title of 1 to 200 characters.";
    Ok(text::TITLE
        .trimmed("public_title", raw, if_empty)?
        .to_owned())
}

/// Lock every component a command on this incident may change (those it names and those
/// the incident affects), in the one order all commands use.
pub(super) async fn lock_components(
    conn: &mut PgConnection,
    incident_id: Uuid,
    named: &[(Uuid, ComponentStatus)],
) -> sqlx::Result<()> {
    let mut ids = sqlx::query_scalar!(
        "SELECT component_id FROM incident_components WHERE incident_id = $1",
        incident_id
    )
    .fetch_all(&mut *conn)
    .await?;
    ids.extend(named.iter().map(|(id, _)| *id));
    components::lock_in_order(conn, &ids).await
}

/// Set the name customers see, logging the change. Does nothing when it is the same.
pub(super) async fn set_public_title(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident: &IncidentRow,
    title: &str,
) -> Result<(), CommandError> {
    let title = valid_public_title(title)?;
    if incident.public_title.as_deref() == Some(title.as_str()) {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE incidents SET public_title = $2 WHERE id = $1",
        incident.id,
        title
    )
    .execute(&mut *conn)
    .await?;
    let old = incident.public_name();
    events::insert(
        conn,
        NewEvent::change(
            incident.id,
            EventKind::TitleChanged,
            actor.id,
            format!("Public title changed from \"{old}\" to \"{title}\"."),
            json!({ "field": "public_title", "old": old, "new": title }),
        ),
    )
    .await?;
    Ok(())
}

/// Publish the incident: from now on the status page, feeds and webhooks show it, under
/// `title` (the internal title when `None`), with every component it changed. Returns
/// the title it is published under, and the components customers see changed by the incident, as Statuspage
/// `affected_components` entries: shown now, or shown early ("show on the status page
/// now"), with what customers saw before as `old_status`.
pub(super) async fn publish(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident: &IncidentRow,
    title: Option<&str>,
) -> Result<(String, Vec<Value>), CommandError> {
    let public_title = valid_public_title(title.unwrap_or(incident.public_name()))?;
    sqlx::query!(
        "UPDATE incidents SET published_at = now(), public_title = $2 WHERE id = $1
         AND published_at IS NULL",
        incident.id,
        public_title
    )
    .execute(&mut *conn)
    .await?;
    // Components in one order everywhere, so concurrent commands cannot deadlock. With
    // each, what customers saw before this incident first showed them a change of it.
    let touched = sqlx::query!(
        r#"SELECT c.id, c.name, (SELECT h.old_status FROM component_status_changes h
                WHERE h.component_id = c.id AND h.incident_id = ic.incident_id AND h.public
                ORDER BY h.id LIMIT 1) AS "shown_early_from?: ComponentStatus"
           FROM incident_components ic JOIN components c ON c.id = ic.component_id
           WHERE ic.incident_id = $1 ORDER BY c.id"#,
        incident.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut affected = Vec::with_capacity(touched.len());
    for row in touched {
        let (component_id, name, shown_early_from) = (row.id, row.name, row.shown_early_from);
        let shown = components::publish_status(
            conn,
            component_id,
            Some(actor.id),
            Cause::Incident(incident.id),
        )
        .await?;
        let change = match (shown, shown_early_from) {
            (Some(change), _) => Some(change),
            (None, Some(old)) => {
                let now = components::find(&mut *conn, component_id)
                    .await?
                    .ok_or(CommandError::NotFound)?
                    .public_status;
                (old != now).then_some((old, now))
            }
            (None, None) => None,
        };
        if let Some((old, new)) = change {
            affected.push(json!({
                "code": component_id,
                "name": name,
                "old_status": old,
                "new_status": new,
            }));
        }
    }
    Ok((public_title, affected))
}

/// Change the status of components the incident affects, outside a public update. Before
/// the incident is on the status page the changes are held back from customers unless
/// `show_now`, which also shows every change the incident held back so far.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn set_components(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    mut changes: Vec<(Uuid, ComponentStatus)>,
    show_now: bool,
) -> Result<IncidentRow, CommandError> {
    let incident = super::lock(conn, incident_id).await?;
    let audience = if show_now || incident.is_on_status_page() {
        Audience::Public
    } else {
        Audience::Responders
    };
    lock_components(conn, incident.id, &changes).await?;
    // What the incident held back so far, shown with the changes when asked.
    let held: Vec<(Uuid, String)> = if show_now {
        sqlx::query!(
            "SELECT c.id, c.name FROM incident_components ic
             JOIN components c ON c.id = ic.component_id
             WHERE ic.incident_id = $1 AND c.status <> c.public_status ORDER BY c.id",
            incident.id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect()
    } else {
        Vec::new()
    };
    // Components in one order everywhere, so concurrent commands cannot deadlock.
    changes.sort_by_key(|(id, _)| *id);
    changes.dedup_by_key(|(id, _)| *id);
    for (component_id, status) in changes {
        super::add_component(conn, actor, &incident, component_id, status, audience).await?;
    }
    if !held.is_empty() {
        for (component_id, _) in &held {
            components::publish_status(
                conn,
                *component_id,
                Some(actor.id),
                Cause::Incident(incident.id),
            )
            .await?;
        }
        let names: Vec<&str> = held.iter().map(|(_, name)| name.as_str()).collect();
        let ids: Vec<Uuid> = held.iter().map(|(id, _)| *id).collect();
        events::insert(
            conn,
            NewEvent::change(
                incident.id,
                EventKind::ComponentChanged,
                actor.id,
                format!(
                    "Held-back component statuses shown on the status page: {}.",
                    names.join(", ")
                ),
                json!({ "shown": ids, "public": true }),
            ),
        )
        .await?;
    }
    super::changed_by(conn, &incident, actor).await?;
    super::find(&mut *conn, incident.id)
        .await?
        .ok_or(CommandError::NotFound)
}
