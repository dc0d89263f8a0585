//! Changing an incident: fields, command, lifecycle timestamps, affected components.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::IncidentEvent;
use super::{acknowledge_if_leader, bump, lock, person, responder, CommandError, IncidentRow};
use crate::accounts::users::UserRow;
use crate::components::ComponentStatus;
use crate::components::{self, Audience, Cause};
use crate::incidents::{EventKind, Impact, IncidentStatus, Milestone, Severity, Visibility};
use crate::platform::text;
use crate::platform::time::rfc3339;

/// What to change; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct IncidentChanges {
    /// The version the change was based on; a different current version is a conflict.
    pub version: Option<i32>,
    pub title: Option<String>,
    /// The name customers see (before publication: the one the first update proposes).
    pub public_title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    pub status: Option<IncidentStatus>,
    /// An explicit impact overrides the one derived from severity.
    pub impact: Option<Impact>,
    /// Go back to the impact derived from severity.
    pub impact_follows_severity: bool,
    pub visibility: Option<Visibility>,
    pub leader_id: Option<Uuid>,
}

/// Apply changes, each recorded as an event with its old and new value.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn update_fields(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    changes: IncidentChanges,
) -> Result<IncidentRow, CommandError> {
    let current = lock(conn, incident_id).await?;
    if let Some(expected) = changes.version {
        if expected != current.version {
            return Err(super::conflict(expected, &current));
        }
    }
    let id = current.id;
    let ev = |kind, body: String, data| NewEvent::change(id, kind, actor.id, body, data);

    if let Some(title) = changes.title.as_deref().map(str::trim) {
        if title.is_empty() {
            return Err(CommandError::invalid(
                "title",
                "The title needs 1 to 200 characters.",
            ));
        }
        text::TITLE.check("title", title)?;
        if title != current.title {
            sqlx::query("UPDATE incidents SET title = $2 WHERE id = $1")
                .bind(id)
                .bind(title)
                .execute(&mut *conn)
                .await?;
            let body = format!("Title changed from \"{}\" to \"{title}\".", current.title);
            events::insert(
                conn,
                ev(
                    EventKind::TitleChanged,
                    body,
                    json!({ "old": current.title, "new": title }),
                ),
            )
            .await?;
        }
    }
    if let Some(public_title) = changes.public_title.as_deref() {
        super::publish::set_public_title(conn, actor, &current, public_title).await?;
    }
    if let Some(summary) = &changes.summary {
        text::SUMMARY.check("summary", summary)?;
    }
    if let Some(summary) = changes.summary.filter(|s| *s != current.summary) {
        sqlx::query("UPDATE incidents SET summary = $2 WHERE id = $1")
            .bind(id)
            .bind(&summary)
            .execute(&mut *conn)
            .await?;
        events::insert(
            conn,
            ev(
                EventKind::TitleChanged,
                "Summary changed.".into(),
                json!({ "field": "summary", "old": current.summary, "new": summary }),
            ),
        )
        .await?;
    }
    let mut impact_overridden = current.impact_overridden;
    if let Some(severity) = changes.severity.filter(|s| *s != current.severity) {
        sqlx::query("UPDATE incidents SET severity = $2 WHERE id = $1")
            .bind(id)
            .bind(severity)
            .execute(&mut *conn)
            .await?;
        let body = format!(
            "Severity changed from {} to {}.",
            current.severity.label(),
            severity.label()
        );
        events::insert(
            conn,
            ev(
                EventKind::SeverityChanged,
                body,
                json!({ "old": current.severity, "new": severity }),
            ),
        )
        .await?;
    }
    let severity = changes.severity.unwrap_or(current.severity);
    let new_impact = match (changes.impact, changes.impact_follows_severity) {
        (Some(impact), _) => {
            impact_overridden = true;
            impact
        }
        (None, true) => {
            impact_overridden = false;
            severity.default_impact()
        }
        (None, false) if !current.impact_overridden => severity.default_impact(),
        (None, false) => current.impact,
    };
    if new_impact != current.impact || impact_overridden != current.impact_overridden {
        sqlx::query("UPDATE incidents SET impact = $2, impact_overridden = $3 WHERE id = $1")
            .bind(id)
            .bind(new_impact)
            .bind(impact_overridden)
            .execute(&mut *conn)
            .await?;
        if new_impact != current.impact {
            let how = if impact_overridden {
                "set by hand"
            } else {
                "follows severity"
            };
            let body = format!(
                "Public impact changed from {} to {} ({how}).",
                current.impact.label(),
                new_impact.label()
            );
            events::insert(conn, ev(EventKind::ImpactChanged, body, json!({ "old": current.impact, "new": new_impact, "overridden": impact_overridden }))).await?;
        }
    }
    if let Some(visibility) = changes.visibility.filter(|v| *v != current.visibility) {
        sqlx::query("UPDATE incidents SET visibility = $2 WHERE id = $1")
            .bind(id)
            .bind(visibility)
            .execute(&mut *conn)
            .await?;
        let body = format!(
            "Visibility changed from {} to {}.",
            current.visibility.label(),
            visibility.label()
        );
        events::insert(
            conn,
            ev(
                EventKind::VisibilityChanged,
                body,
                json!({ "old": current.visibility, "new": visibility }),
            ),
        )
        .await?;
    }
    if let Some(status) = changes.status {
        set_status(conn, actor, &current, status).await?;
    }
    if let Some(leader_id) = changes.leader_id.filter(|l| *l != current.leader_id) {
        change_leader(conn, actor, &current, leader_id).await?;
    }
    acknowledge_if_leader(conn, &current, actor).await?;
    bump(conn, id).await?;
    if changes.visibility == Some(Visibility::Public)
        && current.visibility != Visibility::Public
        && current.published_at.is_some()
    {
        // Subscribers hear of a published incident made public again as they would of a
        // new one; one never published waits for its first public update.
        IncidentEvent::MadePublicAgain { incident_id: id }
            .record(conn)
            .await?;
    }
    super::find(&mut *conn, id)
        .await?
        .ok_or(CommandError::NotFound)
}

/// Move to `status`, keeping `resolved_at` in step; leaving `resolved` is a reopening.
pub(crate) async fn set_status(
    conn: &mut PgConnection,
    actor: &UserRow,
    current: &IncidentRow,
    status: IncidentStatus,
) -> Result<(), CommandError> {
    if status == current.status {
        return Ok(());
    }
    let reopened = current.status.is_resolved();
    sqlx::query(
        "UPDATE incidents SET status = $2, \
             resolved_at = CASE WHEN $2 = 'resolved'::incident_status THEN now() END, \
             monitoring_at = CASE WHEN $2 = 'monitoring'::incident_status \
                                  THEN coalesce(monitoring_at, now()) ELSE monitoring_at END \
         WHERE id = $1",
    )
    .bind(current.id)
    .bind(status)
    .execute(&mut *conn)
    .await?;
    let body = if reopened {
        format!(
            "Reopened: status changed from {} to {}.",
            current.status.label(),
            status.label()
        )
    } else {
        format!(
            "Status changed from {} to {}.",
            current.status.label(),
            status.label()
        )
    };
    let data = json!({ "old": current.status, "new": status, "reopened": reopened });
    events::insert(
        conn,
        NewEvent::change(current.id, EventKind::StatusChanged, actor.id, body, data),
    )
    .await?;
    Ok(())
}

async fn change_leader(
    conn: &mut PgConnection,
    actor: &UserRow,
    current: &IncidentRow,
    leader_id: Uuid,
) -> Result<(), CommandError> {
    let leader = responder(conn, leader_id, "leader_id").await?;
    sqlx::query("UPDATE incidents SET leader_id = $2 WHERE id = $1")
        .bind(current.id)
        .bind(leader_id)
        .execute(&mut *conn)
        .await?;
    let took = leader_id == actor.id;
    let body = if took {
        format!("{} took command from {}.", actor.name, current.leader_name)
    } else if actor.id == current.leader_id {
        format!("{} handed command to {}.", actor.name, leader.name)
    } else {
        format!(
            "{} handed command from {} to {}.",
            actor.name, current.leader_name, leader.name
        )
    };
    let data = json!({
        "role": "incident",
        "old": { "id": current.leader_id, "name": current.leader_name },
        "new": person(&leader),
        "by": person(actor),
        "how": if took { "took" } else { "handed" },
    });
    events::insert(
        conn,
        NewEvent::change(current.id, EventKind::CommandChanged, actor.id, body, data),
    )
    .await?;
    Ok(())
}

/// Take command yourself (`leader_id` = you) or hand it to someone else.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn hand_over(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    leader_id: Uuid,
) -> Result<IncidentRow, CommandError> {
    update_fields(
        conn,
        actor,
        incident_id,
        IncidentChanges {
            leader_id: Some(leader_id),
            ..Default::default()
        },
    )
    .await
}

/// Edit a lifecycle timestamp, with a reason that is logged.
#[tracing::instrument(skip_all, fields(incident_id = %incident_id))]
pub async fn set_milestone(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident_id: Uuid,
    milestone: Milestone,
    value: Option<OffsetDateTime>,
    reason: &str,
) -> Result<IncidentRow, CommandError> {
    let current = lock(conn, incident_id).await?;
    let reason = reason.trim();
    text::REASON.check("reason", reason)?;
    if reason.is_empty() {
        return Err(CommandError::invalid(
            "reason",
            "Say why the time changes; it goes into the log.",
        ));
    }
    match (milestone, value) {
        (Milestone::Started | Milestone::Declared, None) => {
            return Err(CommandError::invalid(
                "value",
                format!("{} cannot be empty.", milestone.label()),
            ));
        }
        (Milestone::Resolved, _) if !current.status.is_resolved() => {
            return Err(CommandError::invalid(
                "value",
                "Resolve the incident to set its resolved time.",
            ));
        }
        (Milestone::Resolved, None) => {
            return Err(CommandError::invalid(
                "value",
                "A resolved incident keeps its resolved time; reopen it instead.",
            ));
        }
        _ => {}
    }
    if let Some(at) = value {
        if at > OffsetDateTime::now_utc() + time::Duration::minutes(5) {
            return Err(CommandError::invalid(
                "value",
                "That time is in the future.",
            ));
        }
    }
    write_milestone(conn, actor, &current, milestone, value, reason, false).await?;
    acknowledge_if_leader(conn, &current, actor).await?;
    bump(conn, current.id).await?;
    super::find(&mut *conn, current.id)
        .await?
        .ok_or(CommandError::NotFound)
}

/// Set a timestamp the app derives (mitigated when recovery is done).
pub(crate) async fn set_milestone_automatically(
    conn: &mut PgConnection,
    current: &IncidentRow,
    actor: &UserRow,
    milestone: Milestone,
    why: &str,
) -> Result<(), CommandError> {
    write_milestone(
        conn,
        actor,
        current,
        milestone,
        Some(OffsetDateTime::now_utc()),
        why,
        true,
    )
    .await
}

async fn write_milestone(
    conn: &mut PgConnection,
    actor: &UserRow,
    current: &IncidentRow,
    milestone: Milestone,
    value: Option<OffsetDateTime>,
    reason: &str,
    automatic: bool,
) -> Result<(), CommandError> {
    let old = current.milestone(milestone);
    if old == value {
        return Ok(());
    }
    sqlx::query(&format!(
        "UPDATE incidents SET {} = $2 WHERE id = $1",
        milestone.column()
    ))
    .bind(current.id)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    let shown = value
        .map(crate::platform::time::format_utc)
        .unwrap_or_else(|| "not set".into());
    let body = if automatic {
        format!("{} set to {shown}: {reason}.", milestone.label())
    } else {
        format!("{} changed to {shown}. Reason: {reason}", milestone.label())
    };
    let data = json!({
        "milestone": milestone.as_str(),
        "old": old.map(rfc3339),
        "new": value.map(rfc3339),
        "reason": reason,
        "automatic": automatic,
    });
    events::insert(
        conn,
        NewEvent::change(
            current.id,
            EventKind::TimestampChanged,
            actor.id,
            body,
            data,
        ),
    )
    .await?;
    Ok(())
}

/// Mark a component affected by the incident and set its status (recorded in its history
/// and in the log), for `audience`. Returns whether the known status changed.
#[tracing::instrument(skip_all, fields(incident_id = %incident.id, component_id = %component_id))]
pub async fn add_component(
    conn: &mut PgConnection,
    actor: &UserRow,
    incident: &IncidentRow,
    component_id: Uuid,
    status: ComponentStatus,
    audience: Audience,
) -> Result<bool, CommandError> {
    let component = components::find(&mut *conn, component_id)
        .await?
        .ok_or_else(|| {
            CommandError::invalid(
                "components",
                format!("There is no component with the id {component_id}."),
            )
        })?;
    sqlx::query("INSERT INTO incident_components (incident_id, component_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(incident.id)
        .bind(component_id)
        .execute(&mut *conn)
        .await?;
    let Some(old) = components::set_status(
        conn,
        component_id,
        status,
        Some(actor.id),
        Cause::Incident(incident.id),
        audience,
    )
    .await?
    else {
        return Ok(false);
    };
    let held_back = match audience {
        Audience::Public => "",
        Audience::Responders => " (not on the status page)",
    };
    let body = format!(
        "{} changed from {} to {}{held_back}.",
        component.name,
        old.label(),
        status.label()
    );
    let data = json!({
        "component_id": component_id,
        "name": component.name,
        "old": old,
        "new": status,
        "public": audience == Audience::Public,
    });
    events::insert(
        conn,
        NewEvent::change(
            incident.id,
            EventKind::ComponentChanged,
            actor.id,
            body,
            data,
        ),
    )
    .await?;
    Ok(true)
}
