//! Alerts and incidents: declare an incident from an alert group, or attach a group to
//! an incident that exists. Either way the group's history is copied into the incident's
//! log at the times things happened at the source, and from then on every entry of the
//! group's history is mirrored there (`alerts::history::record`). The incident's
//! lifecycle starts from the first alert, not from the declaration. Nothing public
//! changes: no update is posted and the components' changes stay with responders.
//!
//! Lock order, as everywhere: the group's row, then the incident's.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::commands::reference;
use super::history::{self, GroupEventKind, NewGroupEvent};
use super::process::APPLIED_CHANNEL;
use super::AlertSeverity;
use crate::accounts::users::UserRow;
use crate::components::ComponentStatus;
use crate::incidents::{
    self, format_duration, record_alert_event, AlertEntry, IncidentRow, Milestone, NewIncident,
    Severity, Visibility,
};
use crate::platform::command::CommandError;

/// Why a group could not be declared or attached.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The group belongs to an incident already (409).
    #[error("{group} is attached to {incident} already.")]
    AlreadyAttached {
        group: String,
        incident: String,
        incident_id: Uuid,
    },
    #[error(transparent)]
    Command(#[from] CommandError),
}

impl From<sqlx::Error> for LinkError {
    fn from(err: sqlx::Error) -> Self {
        LinkError::Command(err.into())
    }
}

/// The group as linking reads it, locked.
struct LockedGroup {
    id: Uuid,
    number: i64,
    title: String,
    severity: AlertSeverity,
    first_alert_at: OffsetDateTime,
    opened_at: OffsetDateTime,
    acknowledged_at: Option<OffsetDateTime>,
    alerts_total: i32,
    incident_id: Option<Uuid>,
}

async fn lock_group(conn: &mut PgConnection, id: Uuid) -> Result<LockedGroup, LinkError> {
    let group = sqlx::query_as!(
        LockedGroup,
        r#"SELECT id, number, title, severity AS "severity: AlertSeverity", first_alert_at,
               opened_at, acknowledged_at, alerts_total, incident_id
           FROM alert_groups WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    group.ok_or(LinkError::Command(CommandError::NotFound))
}

/// Refuses a group that belongs to an incident.
async fn unattached(conn: &mut PgConnection, group: &LockedGroup) -> Result<(), LinkError> {
    let Some(incident_id) = group.incident_id else {
        return Ok(());
    };
    let incident = incidents::find(&mut *conn, incident_id).await?;
    Err(LinkError::AlreadyAttached {
        group: reference(group.number),
        incident: incident.map_or_else(|| incident_id.to_string(), |i| i.reference()),
        incident_id,
    })
}

/// The status of an affected component for a group of this severity.
pub fn component_status_for(severity: AlertSeverity) -> ComponentStatus {
    match severity {
        AlertSeverity::Critical => ComponentStatus::MajorOutage,
        AlertSeverity::Error => ComponentStatus::PartialOutage,
        AlertSeverity::Warning | AlertSeverity::Info => ComponentStatus::DegradedPerformance,
    }
}

/// What a person (or a rule) chooses when declaring from a group; `None` takes the
/// group's.
#[derive(Debug, Clone, Default)]
pub struct Declaration {
    pub title: Option<String>,
    /// `None`: mapped from the group's severity (`routing::severity_to_incident`).
    pub severity: Option<Severity>,
    /// The affected components, each at the status the group's severity implies.
    pub component_ids: Vec<Uuid>,
    /// Declared by this routing rule (its name) on the actor's behalf.
    pub by_rule: Option<String>,
    /// Who leads it; `None`: the actor (paging names the acknowledger of the group's
    /// page).
    pub leader_id: Option<Uuid>,
}

/// Declare an incident for the group, once: prefilled from the group, started at its
/// first alert, detected when Fireline first received it and acknowledged when the
/// group was. The group's history is copied into the new incident's log.
#[tracing::instrument(skip(conn, actor, declaration))]
pub async fn declare_from_group(
    conn: &mut PgConnection,
    actor: &UserRow,
    group_id: Uuid,
    declaration: Declaration,
) -> Result<IncidentRow, LinkError> {
    let group = lock_group(conn, group_id).await?;
    unattached(conn, &group).await?;
    let severity = declaration
        .severity
        .unwrap_or_else(|| super::routing::severity_to_incident(group.severity));
    let status = component_status_for(group.severity);
    let new = NewIncident {
        title: declaration.title.unwrap_or_else(|| group.title.clone()),
        severity,
        summary: String::new(),
        visibility: Visibility::Public,
        impact: None,
        leader_id: declaration.leader_id,
        components: declaration
            .component_ids
            .iter()
            .map(|id| (*id, status))
            .collect(),
        // A source clock ahead of ours must not make detection precede the start.
        started_at: Some(group.first_alert_at.min(group.opened_at)),
        detected_at: Some(group.opened_at),
        acknowledged_at: group.acknowledged_at,
        declared_by_rule: declaration.by_rule.clone(),
        initial_update: None,
        public_title: None,
        show_components: false,
    };
    let incident = incidents::declare(conn, actor, new).await?;
    let by_person = declaration.by_rule.is_none();
    let body = match &declaration.by_rule {
        Some(rule) => format!("Routing rule \"{rule}\" declared {}.", incident.reference()),
        None => format!("Declared {}.", incident.reference()),
    };
    let data = json!({ "incident_id": incident.id, "number": incident.number });
    let author = by_person.then_some(actor.id);
    let entry = NewGroupEvent {
        actor_id: author,
        ..NewGroupEvent::by_source(GroupEventKind::Declared, body, OffsetDateTime::now_utc())
    };
    history::record(&mut *conn, group.id, entry.with(data)).await?;
    set_incident(conn, &group, &incident).await?;
    let body = format!(
        "Declared from {}: {}.",
        reference(group.number),
        group.title
    );
    joined(conn, &group, &incident, author, body).await?;
    incidents::find(&mut *conn, incident.id)
        .await?
        .ok_or(LinkError::Command(CommandError::NotFound))
}

/// Attach the group to `incident_id`; an incident holds many groups, a group one
/// incident. When the group's first alert came before the incident's detection, the
/// detection moves to it (logged with the reason); the start of impact never moves by
/// itself, but the log says when the first alert began before it. Attaching it to the
/// incident it is attached to changes nothing.
#[tracing::instrument(skip(conn, actor))]
pub async fn attach(
    conn: &mut PgConnection,
    actor: &UserRow,
    group_id: Uuid,
    incident_id: Uuid,
) -> Result<IncidentRow, LinkError> {
    let group = lock_group(conn, group_id).await?;
    if group.incident_id == Some(incident_id) {
        return incidents::find(&mut *conn, incident_id)
            .await?
            .ok_or(LinkError::Command(CommandError::NotFound));
    }
    unattached(conn, &group).await?;
    let incident = match incidents::lock(conn, incident_id).await {
        Err(CommandError::NotFound) => {
            let message = format!("There is no incident {incident_id}.");
            return Err(CommandError::invalid("incident_id", message).into());
        }
        other => other?,
    };
    let body = format!("Attached to {}.", incident.reference());
    let data = json!({ "incident_id": incident.id, "number": incident.number });
    let entry = NewGroupEvent {
        actor_id: Some(actor.id),
        ..NewGroupEvent::by_source(GroupEventKind::Attached, body, OffsetDateTime::now_utc())
    };
    history::record(&mut *conn, group.id, entry.with(data)).await?;
    set_incident(conn, &group, &incident).await?;
    let body = format!("{} attached: {}.", reference(group.number), group.title);
    joined(conn, &group, &incident, Some(actor.id), body).await?;
    if group.first_alert_at < incident.started_at {
        let before = format_duration(incident.started_at - group.first_alert_at);
        let entry = AlertEntry {
            incident_id: incident.id,
            joined: false,
            author_id: None,
            body: format!(
                "The first alert of {} began {before} before the recorded start.",
                reference(group.number)
            ),
            data: json!({
                "group_id": group.id,
                "number": group.number,
                "transition": "began_before_start",
            }),
            occurred_at: group.first_alert_at,
        };
        record_alert_event(conn, entry).await?;
    }
    // Detection without a recorded time counts at the declaration.
    let detected = incident.detected_at.unwrap_or(incident.declared_at);
    if group.opened_at < detected {
        let reason = format!("first alert of {}", reference(group.number));
        incidents::set_milestone(
            conn,
            actor,
            incident.id,
            Milestone::Detected,
            Some(group.opened_at),
            &reason,
        )
        .await?;
    }
    incidents::find(&mut *conn, incident.id)
        .await?
        .ok_or(LinkError::Command(CommandError::NotFound))
}

/// Set the group's incident and copy its history into the incident's log.
async fn set_incident(
    conn: &mut PgConnection,
    group: &LockedGroup,
    incident: &IncidentRow,
) -> Result<(), LinkError> {
    sqlx::query!(
        "UPDATE alert_groups SET incident_id = $2, version = version + 1, updated_at = now() \
         WHERE id = $1",
        group.id,
        incident.id
    )
    .execute(&mut *conn)
    .await?;
    let attached = history::Attached {
        incident_id: incident.id,
        group_id: group.id,
        number: group.number,
        alerts_total: group.alerts_total,
    };
    history::copy_to_incident(conn, &attached).await?;
    sqlx::query!("SELECT pg_notify($1, '')", APPLIED_CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The incident's entry saying the group joined it.
async fn joined(
    conn: &mut PgConnection,
    group: &LockedGroup,
    incident: &IncidentRow,
    author_id: Option<Uuid>,
    body: String,
) -> Result<(), LinkError> {
    let entry = AlertEntry {
        incident_id: incident.id,
        joined: true,
        author_id,
        body,
        data: json!({
            "group_id": group.id,
            "number": group.number,
            "transition": "attached",
        }),
        occurred_at: OffsetDateTime::now_utc(),
    };
    record_alert_event(conn, entry).await?;
    Ok(())
}
