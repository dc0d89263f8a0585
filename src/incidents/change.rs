//! Changing an incident: fields, command, lifecycle timestamps, affected components.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::events::{self, NewEvent};
use super::IncidentEvent;
use super::{changed_by, lock, not_in_future, person, responder, CommandError, IncidentRow};
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
    let title = match changes.title.as_deref() {
        Some(title) => {
            text::TITLE.trimmed("title", title, "The title needs 1 to 200 characters.")?
        }
        None => current.title.as_str(),
    };
    if let Some(public_title) = changes.public_title.as_deref() {
        super::publish::valid_public_title(public_title)?;
    }
    if let Some(summary) = &changes.summary {
        text::SUMMARY.check("summary", summary)?;
    }
    let summary = changes.summary.as_deref().unwrap_or(&current.summary);
    let severity = changes.severity.unwrap_or(current.severity);
    let (impact, impact_overridden) = match (changes.impact, changes.impact_follows_severity) {
        (Some(impact), _) => (impact, true),
        (None, true) => (severity.default_impact(), false),
        (None, false) if !current.impact_overridden => (severity.default_impact(), false),
        (None, false) => (current.impact, true),
    };
    let visibility = changes.visibility.unwrap_or(current.visibility);
    let leader = match changes.leader_id.filter(|l| *l != current.leader_id) {
        Some(leader_id) => Some(responder(conn, leader_id, "leader_id").await?),
        None => None,
    };
    let leader_id = leader.as_ref().map_or(current.leader_id, |l| l.id);
    let id = current.id;
    // The plain fields in one statement; what changed is logged below, in field order.
    sqlx::query!(
        "UPDATE incidents SET title = $2, summary = $3, severity = $4, impact = $5,
             impact_overridden = $6, visibility = $7, leader_id = $8
         WHERE id = $1",
        id,
        title,
        summary,
        severity as Severity,
        impact as Impact,
        impact_overridden,
        visibility as Visibility,
        leader_id
    )
    .execute(&mut *conn)
    .await?;

    let ev = |kind, body: String, data| NewEvent::change(id, kind, actor.id, body, data);
    if title != current.title {
        let body = format!("Title changed from \"{}\" to \"{title}\".", current.title);
        let data = json!({ "old": current.title, "new": title });
        events::insert(conn, ev(EventKind::TitleChanged, body, data)).await?;
    }
    if let Some(public_title) = changes.public_title.as_deref() {
        super::publish::set_public_title(conn, actor, &current, public_title).await?;
    }
    if summary != current.summary {
        let data = json!({ "field": "summary", "old": current.summary, "new": summary });
        events::insert(
            conn,
            ev(EventKind::TitleChanged, "Summary changed.".into(), data),
        )
        .await?;
    }
    if severity != current.severity {
        let (old, new) = (current.severity.label(), severity.label());
        let body = format!("Severity changed from {old} to {new}.");
        let data = json!({ "old": current.severity, "new": severity });
        events::insert(conn, ev(EventKind::SeverityChanged, body, data)).await?;
    }
    if impact != current.impact {
        let how = match impact_overridden {
            true => "set by hand",
            false => "follows severity",
        };
        let (old, new) = (current.impact.label(), impact.label());
        let body = format!("Public impact changed from {old} to {new} ({how}).");
        let data = json!({ "old": current.impact, "new": impact, "overridden": impact_overridden });
        events::insert(conn, ev(EventKind::ImpactChanged, body, data)).await?;
    }
    if visibility != current.visibility {
        let (old, new) = (current.visibility.label(), visibility.label());
        let body = format!("Visibility changed from {old} to {new}.");
        let data = json!({ "old": current.visibility, "new": visibility });
        events::insert(conn, ev(EventKind::VisibilityChanged, body, data)).await?;
    }
    if let Some(status) = changes.status {
        set_status(conn, actor, &current, status).await?;
    }
    if let Some(leader) = leader {
        log_leader(conn, actor, &current, &leader).await?;
    }
    changed_by(conn, &current, actor).await?;
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
    sqlx::query!(
        "UPDATE incidents SET status = $2,
             resolved_at = CASE WHEN $2 = 'resolved'::incident_status THEN now() END,
             monitoring_at = CASE WHEN $2 = 'monitoring'::incident_status
                                  THEN coalesce(monitoring_at, now()) ELSE monitoring_at END
         WHERE id = $1",
        current.id,
        status as IncidentStatus
    )
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

/// Log the change of command to `leader` (already written by [`update_fields`]).
async fn log_leader(
    conn: &mut PgConnection,
    actor: &UserRow,
    current: &IncidentRow,
    leader: &UserRow,
) -> Result<(), CommandError> {
    let took = leader.id == actor.id;
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
        "new": person(leader),
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

/// Give the incident's report to `owner` unless it has an owner already; true when it
/// did. The caller logs why (a page reached them).
pub async fn assign_report(
    conn: &mut PgConnection,
    incident_id: Uuid,
    owner: Uuid,
) -> sqlx::Result<bool> {
    let assigned = sqlx::query!(
        "UPDATE incidents SET report_owner_id = $2, updated_at = now() \
         WHERE id = $1 AND report_owner_id IS NULL",
        incident_id,
        owner
    )
    .execute(conn)
    .await?;
    Ok(assigned.rows_affected() == 1)
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
    not_in_future("value", value, "That time is in the future.")?;
    write_milestone(conn, actor, &current, milestone, value, reason, false).await?;
    changed_by(conn, &current, actor).await?;
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
    // The column is the milestone's, so the statement is assembled here; `column()` names
    // one of a fixed set of timestamp columns, never user input.
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
    sqlx::query!(
        "INSERT INTO incident_components (incident_id, component_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
        incident.id,
        component_id
    )
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
